//! `-m comment --comment TEXT` (xt_comment.c): always matches.

use std::any::Any;
use std::fmt::Write as _;

use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::netfilter::save_string;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comment {
    pub text: Option<String>,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Comment { text: None })
}

static OPTS: &[OptSpec] = &[OptSpec::new("comment", 1, Arg::One)];

impl Match for Comment {
    fn name(&self) -> &'static str {
        "comment"
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
        // `char comment[XT_MAX_COMMENT_LEN]` (256): iptables keeps 255 bytes and drops the
        // rest (checked with iptables 1.8.9, nft and legacy: restore succeeds, save prints
        // the first 255).
        self.text = Some(crate::ext::xtopt::fixed_string(
            &args[0], "comment", 256, cx,
        ));
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.text.is_none() {
            return Err(Diagnostic::error(
                crate::diag::codes::MISSING_VALUE,
                cx.span.after(),
                "-m comment requires --comment",
            )
            .expected("--comment TEXT"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if let Some(t) = &self.text {
            out.push_str(" --comment");
            save_string(out, t);
        }
    }
    fn explain(&self, _cx: &EvalCtx<'_>, _held: bool) -> Option<String> {
        Some("a comment: always holds".into())
    }
    fn eval(&self, _cx: &mut EvalCtx<'_>) -> MatchResult {
        MatchResult::Yes
    }
    fn always_true(&self) -> bool {
        true
    }
    fn listing(&self, out: &mut String) {
        let _ = write!(out, " /* {} */", self.text.as_deref().unwrap_or(""));
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
