//! `-j CHECKSUM` (libxt_CHECKSUM.c; kernel xt_CHECKSUM.c): fill in a missing checksum of packets
//! whose checksum is left to the hardware (`CHECKSUM_PARTIAL`). Table mangle only.
//! `--checksum-fill` is mandatory. Saved as `--checksum-fill`. Always XT_CONTINUE (the packet
//! model has no partial checksums, so nothing changes).

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::targets::common::missing;
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict};
use crate::netfilter::TableKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    fill: bool,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Checksum { fill: false })
}

static OPTS: &[OptSpec] = &[OptSpec::new("checksum-fill", 1, Arg::None)];

impl Target for Checksum {
    fn name(&self) -> &'static str {
        "CHECKSUM"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _: &OptSpec,
        _: bool,
        _: &[OptArg<'_>],
        _: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        self.fill = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.fill {
            return Err(missing(cx.span, "CHECKSUM", "--checksum-fill"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        out.push_str(" --checksum-fill");
    }
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Continue
    }
    fn table(&self) -> Option<TableKind> {
        Some(TableKind::Mangle)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
