//! `-m helper [!] --helper NAME` (libxt_helper.c / kernel `xt_helper.c` `helper_mt`): the
//! packet's connection was created by an expectation of a master connection whose helper's name
//! starts… precisely: `strncmp(helper->name, NAME, strlen(helper->name)) == 0`; `--helper ""`
//! matches any helper. Without a connection, a master or a helper the result is `!`'s value.
//!
//! An EXPECTED connection carries its master's helper (see `conntrack::expect`): FTP's and
//! TFTP's data connections are decided; a master with a userspace helper is `Unknown`.

use std::any::Any;

use super::missing;
use crate::conntrack::helper::HelperId;
use crate::conntrack::status;
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::netfilter::save_string;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Helper {
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
        let Some(ct) = cx.ct() else {
            return MatchResult::from_bool(self.invert);
        };
        if ct.status & status::EXPECTED == 0 {
            return MatchResult::from_bool(self.invert);
        }
        let Some(helper) = ct.master_helper else {
            return MatchResult::Unknown("the master connection's helper is not known");
        };
        if helper == HelperId::USERSPACE {
            return MatchResult::Unknown("the master connection's helper is a userspace helper");
        }
        let want = self.name.as_deref().unwrap_or("");
        // strncmp(helper->name, NAME, strlen(helper->name)): NAME starts with the helper's name.
        let hit = want.is_empty() || want.as_bytes().starts_with(helper.name().as_bytes());
        MatchResult::from_bool(hit != self.invert)
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
