//! `-j TRACE` (libxt_TRACE.c; kernel xt_TRACE.c, and with iptables-nft the native
//! `meta nftrace set 1`): mark the packet for rule tracing and continue. No options.
//!
//! Table: the kernel's xt_TRACE is raw only, so iptables-legacy refuses TRACE elsewhere, but
//! iptables-nft does not use xt_TRACE at all — it writes `meta nftrace set 1`, valid in every
//! table. fwcheck follows nft (the default) and warns outside raw.
//!
//! `apply` sets `skb.trace` (`skb->nf_trace`); tracing output is not simulated.

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::targets::common::W_BACKEND;
use crate::ext::EvalCtx;
use crate::ext::{OptArg, OptSpec, ParseCtx, Target, TargetVerdict};
use crate::netfilter::TableKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace;

pub fn new() -> Box<dyn Target> {
    Box::new(Trace)
}

impl Target for Trace {
    fn name(&self) -> &'static str {
        "TRACE"
    }
    fn options(&self) -> &'static [OptSpec] {
        &[]
    }
    fn parse(
        &mut self,
        _: &OptSpec,
        _: bool,
        _: &[OptArg<'_>],
        _: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if cx.table != TableKind::Raw {
            cx.warn(
                Diagnostic::warning(
                    W_BACKEND,
                    cx.span,
                    format!(
                        "iptables-legacy accepts TRACE only in table raw, not {}",
                        cx.table
                    ),
                )
                .note("iptables-nft (the default) accepts it in every table"),
            );
        }
        Ok(())
    }
    fn save(&self, _out: &mut String) {}
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        cx.skb.trace = true;
        TargetVerdict::Continue
    }
    fn observes_only(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
