//! `-j ULOG` (libipt_ULOG.c, IPv4 only): iptables 1.8 still parses it (`--ulog-nlgroup`,
//! `--ulog-prefix`, `--ulog-cprange`, `--ulog-qthreshold`), but the kernel target `ipt_ULOG`
//! was removed in Linux 3.17, so every current kernel refuses the rule (iptables-restore:
//! "Extension ULOG revision 0 not supported, missing kernel module?", then ENOENT). fwcheck
//! parses the options and reports the rule as not loadable; NFLOG is the replacement.

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::targets::common::context_err;
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ulog;

pub fn new() -> Box<dyn Target> {
    Box::new(Ulog)
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("ulog-nlgroup", 1, Arg::One),
    OptSpec::new("ulog-prefix", 2, Arg::One),
    OptSpec::new("ulog-cprange", 3, Arg::One),
    OptSpec::new("ulog-qthreshold", 4, Arg::One),
];

impl Target for Ulog {
    fn name(&self) -> &'static str {
        "ULOG"
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
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        Err(context_err(
            cx.span,
            "target ULOG no longer exists in the kernel (removed in Linux 3.17)",
            "-j NFLOG (--ulog-nlgroup N becomes --nflog-group N)",
        ))
    }
    fn save(&self, _out: &mut String) {}
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Unknown("ULOG cannot be loaded")
    }
    fn observes_only(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
