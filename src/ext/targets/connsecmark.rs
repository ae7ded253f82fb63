//! `-j CONNSECMARK` (libxt_CONNSECMARK.c; kernel xt_CONNSECMARK.c): copy the security mark
//! from the packet to its connection (`--save`) or back (`--restore`). Only in tables mangle and
//! security (`connsecmark_tg_check`); needs conntrack. `--save` and `--restore` exclude each
//! other, one is required; saved as given. Always XT_CONTINUE; security marks are not simulated.

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{conflict, missing, require_tables};
use crate::ext::targets::secmark::TABLES;
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Connsecmark {
    /// `Some(true)`: save, `Some(false)`: restore.
    pub save: Option<bool>,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Connsecmark { save: None })
}

static COPTS: &[OptSpec] = &[
    OptSpec::new("save", 1, Arg::None),
    OptSpec::new("restore", 2, Arg::None),
];

impl Target for Connsecmark {
    fn name(&self) -> &'static str {
        "CONNSECMARK"
    }
    fn options(&self) -> &'static [OptSpec] {
        COPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        _invert: bool,
        _args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        if self.save.is_some() {
            let other = if opt.id == 1 { "restore" } else { "save" };
            return Err(conflict(cx.span, "CONNSECMARK", opt.name, other));
        }
        self.save = Some(opt.id == 1);
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.save.is_none() {
            return Err(missing(cx.span, "CONNSECMARK", "--save or --restore"));
        }
        require_tables(cx, "CONNSECMARK", TABLES)
    }
    fn save(&self, out: &mut String) {
        match self.save {
            Some(true) => out.push_str(" --save"),
            Some(false) => out.push_str(" --restore"),
            None => {}
        }
    }
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Continue
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
