//! `-m mark --mark VALUE[/MASK]` and `-m connmark --mark VALUE[/MASK]` (libxt_mark.c /
//! libxt_connmark.c rev 1; kernel `xt_mark.c` `mark_mt`, `xt_connmark.c` `connmark_mt`): one
//! unit for both, they differ only in whose mark they read.
//!
//! - mark: `(skb->mark & mask) == value`, XOR `!`. The mark is the packet's `skb->mark` as set
//!   so far by `MARK` targets (`cx.skb.mark`). Always decidable offline.
//! - connmark: no conntrack entry → no match (whatever `!`); else `(ct->mark & mask) == value`,
//!   XOR `!`. The entry's mark is the emulated conntrack's (`CONNMARK` targets change it).

use std::any::Any;

use super::missing;
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{fmt_val_mask, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mark {
    /// `-m connmark` (the connection's mark) rather than `-m mark` (the packet's).
    pub(crate) conn: bool,
    pub mark: u32,
    pub mask: u32,
    pub invert: bool,
    pub given: bool,
}

fn with(conn: bool) -> Box<dyn Match> {
    Box::new(Mark {
        conn,
        mark: 0,
        mask: u32::MAX,
        invert: false,
        given: false,
    })
}

/// `-m mark`.
pub fn new() -> Box<dyn Match> {
    with(false)
}

/// `-m connmark`.
pub fn connmark() -> Box<dyn Match> {
    with(true)
}

static OPTS: &[OptSpec] = &[OptSpec::new("mark", 1, Arg::One).ty(XtType::MarkMask).inv()];

impl Match for Mark {
    fn name(&self) -> &'static str {
        if self.conn {
            "connmark"
        } else {
            "mark"
        }
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        invert: bool,
        _args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        (self.mark, self.mask) = cx.val.mark_mask();
        self.invert = invert;
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            let what = format!("-m {} requires --mark", self.name());
            return Err(missing(cx, &what, "--mark VALUE[/MASK]"));
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
    fn explain(&self, cx: &EvalCtx<'_>, _held: bool) -> Option<String> {
        let what = if self.conn { "connmark" } else { "mark" };
        let mark = if self.conn {
            match cx.ct() {
                None if cx.ct_template() => cx.template_mark(),
                None => return Some("no connection: connmark fails".into()),
                Some(ct) => ct.mark,
            }
        } else {
            cx.skb.mark
        };
        let eq = (mark & self.mask) == self.mark;
        Some(format!(
            "{what} {mark:#x} & {:#x} = {:#x} {} {:#x}{}",
            self.mask,
            mark & self.mask,
            if eq { "=" } else { "≠" },
            self.mark,
            if self.invert { " (negated)" } else { "" }
        ))
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let mark = if self.conn {
            match cx.ct() {
                None if cx.ct_template() => cx.template_mark(),
                None => return MatchResult::No,
                Some(ct) => ct.mark,
            }
        } else {
            cx.skb.mark
        };
        MatchResult::from_bool(((mark & self.mask) == self.mark) != self.invert)
    }
    fn needs_conntrack(&self) -> bool {
        self.conn
    }
    fn facets(&self) -> Facets {
        Facets {
            pure: true,
            ..Facets::default()
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
