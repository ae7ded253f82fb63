//! `-j NOTRACK` (libxt_CT.c alias of CT revision 2 with `XT_CT_NOTRACK_ALIAS`; kernel xt_CT.c
//! `notrack_tg`): mark the packet untracked so conntrack leaves it alone. Table raw only; no
//! options (`--notrack` is refused after `-j NOTRACK`). Saved as `-j NOTRACK`.
//!
//! `apply`: if the packet already carries conntrack state (`skb->_nfct != 0`, e.g. a loopback
//! packet or an earlier CT template), nothing happens; otherwise it becomes untracked. Always
//! XT_CONTINUE (spec §1.5).

use std::any::Any;

use crate::conntrack::Attach;
use crate::diag::Diagnostic;
use crate::ext::targets::ct::nfct_set;
use crate::ext::EvalCtx;
use crate::ext::{OptArg, OptSpec, ParseCtx, Target, TargetVerdict};
use crate::netfilter::TableKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notrack;

pub fn new() -> Box<dyn Target> {
    Box::new(Notrack)
}

impl Target for Notrack {
    fn name(&self) -> &'static str {
        "NOTRACK"
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
    fn save(&self, _out: &mut String) {}
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        if !nfct_set(cx) {
            cx.skb.ct = Attach::Untracked;
        }
        TargetVerdict::Continue
    }
    fn table(&self) -> Option<TableKind> {
        Some(TableKind::Raw)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
