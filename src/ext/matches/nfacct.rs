//! `-m nfacct --nfacct-name NAME` (libxt_nfacct.c / kernel `xt_nfacct.c` `nfacct_mt`): counts
//! the packet in the extended accounting object NAME (`nfacct add NAME`) and matches unless
//! the object has a quota it is still under (`nfnl_acct_overquota`: an object without a
//! quota, `NFACCT_NO_QUOTA`, always matches). kube-proxy (1.29 and later) counts localhost
//! NodePort packets this way.
//!
//! The objects are not in the ruleset, so whether one has a quota is unknown: the match is
//! undecidable offline, and a verdict it could change is uncertain (README, "What cannot be
//! decided offline"); its rule's counters are bounds. (kube-proxy makes them without a quota.)

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::netfilter::save_string;

/// `NFACCT_NAME_MAX`.
const NAME_SIZE: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Nfacct {
    name: Option<String>,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Nfacct { name: None })
}

static OPTS: &[OptSpec] = &[OptSpec::new("nfacct-name", 1, Arg::One)];

impl Match for Nfacct {
    fn name(&self) -> &'static str {
        "nfacct"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        _invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        crate::ext::xtopt::nonempty(&args[0], "nfacct-name")?;
        self.name = Some(crate::ext::xtopt::fixed_string(
            &args[0],
            "nfacct-name",
            NAME_SIZE,
            cx,
        ));
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.name.is_none() {
            return Err(Diagnostic::error(
                crate::diag::codes::MISSING_VALUE,
                cx.span.after(),
                "-m nfacct requires --nfacct-name",
            )
            .expected("--nfacct-name NAME"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if let Some(n) = &self.name {
            // `nfacct_save`: " --nfacct-name " and then `xtables_save_string`'s own space.
            out.push_str(" --nfacct-name ");
            save_string(out, n);
        }
    }
    fn explain(&self, _cx: &EvalCtx<'_>, _held: bool) -> Option<String> {
        Some(format!(
            "counted in nfacct object {}: holds unless the object has a quota not yet reached, \
             which the ruleset does not say",
            self.name.as_deref().unwrap_or("")
        ))
    }
    fn eval(&self, _cx: &mut EvalCtx<'_>) -> MatchResult {
        MatchResult::Unknown(
            "-m nfacct: whether its accounting object has a quota (under it the match fails) is \
             not in the ruleset",
        )
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
