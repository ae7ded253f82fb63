//! `-m helper [!] --helper NAME` (libxt_helper.c / kernel `xt_helper.c` `helper_mt`): the
//! packet's connection was created by an expectation of a master connection whose helper's name
//! starts… precisely: `strncmp(helper->name, NAME, strlen(helper->name)) == 0`; `--helper ""`
//! matches any helper. Without a connection, a master or a helper the result is `!`'s value.
//!
//! The emulated conntrack does not keep expectations' masters: a connection that is not
//! EXPECTED decides (no master); an EXPECTED one is `Unknown`.

use std::any::Any;

use super::missing;
use crate::conntrack::status;
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::netfilter::save_string;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper {
    pub name: Option<String>,
    pub invert: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Helper {
        name: None,
        invert: false,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("helper", 1, Arg::One).inv()];

impl Match for Helper {
    fn name(&self) -> &'static str {
        "helper"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        let n = args[0].text;
        if n.len() > 29 {
            return Err(super::bad(
                args[0].span,
                format!("helper name `{n}` is too long"),
                "at most 29 characters",
            ));
        }
        self.name = Some(n.to_string());
        self.invert = invert;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.name.is_none() {
            return Err(missing(cx, "-m helper requires --helper", "--helper NAME"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --helper");
        save_string(out, self.name.as_deref().unwrap_or(""));
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        match cx.ct() {
            Some(ct) if ct.status & status::EXPECTED != 0 => MatchResult::Unknown(
                "the master connection's helper of an expected connection is not tracked",
            ),
            _ => MatchResult::from_bool(self.invert),
        }
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
