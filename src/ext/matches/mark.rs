//! `-m mark --mark VALUE[/MASK]` (libxt_mark.c rev 1 / kernel `xt_mark.c` `mark_mt`):
//! `(skb->mark & mask) == value`, XOR `!`. The mark is the packet's `skb->mark` as set so far
//! by `MARK` targets (`cx.skb.mark`). Always decidable offline.

use std::any::Any;

use super::missing;
use crate::diag::Diagnostic;
use crate::engine::EvalCtx;
use crate::ext::{
    fmt_val_mask, parse_val_mask, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub mark: u32,
    pub mask: u32,
    pub invert: bool,
    pub given: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Mark {
        mark: 0,
        mask: u32::MAX,
        invert: false,
        given: false,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("mark", 1, Arg::One).inv()];

impl Match for Mark {
    fn name(&self) -> &'static str {
        "mark"
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
        (self.mark, self.mask) = parse_val_mask(&args[0], "mark")?;
        self.invert = invert;
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(
                cx,
                "-m mark requires --mark",
                "--mark VALUE[/MASK]",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --mark");
        fmt_val_mask(out, self.mark, self.mask);
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        MatchResult::from_bool(((cx.skb.mark & self.mask) == self.mark) != self.invert)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
