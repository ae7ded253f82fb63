//! `-j AUDIT` (libxt_AUDIT.c; kernel xt_AUDIT.c): write an audit record and continue. Any table,
//! any hook. `--type accept|drop|reject` (mandatory, any case; saved lower case). The record
//! is not simulated; always XT_CONTINUE.

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{err, missing};
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict};

const TYPES: [&str; 3] = ["accept", "drop", "reject"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Audit {
    pub kind: Option<usize>,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Audit { kind: None })
}

static OPTS: &[OptSpec] = &[OptSpec::new("type", 1, Arg::One)];

impl Target for Audit {
    fn name(&self) -> &'static str {
        "AUDIT"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        _invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        let t = args[0].text;
        self.kind = Some(
            TYPES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(t))
                .ok_or_else(|| {
                    err(
                        args[0].span,
                        format!("bad action type value `{t}`"),
                        "accept, drop or reject",
                    )
                })?,
        );
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.kind.is_none() {
            return Err(missing(cx.span, "AUDIT", "--type"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if let Some(k) = self.kind {
            out.push_str(" --type ");
            out.push_str(TYPES[k]);
        }
    }
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Continue
    }
    fn observes_only(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
