//! `-j MARK` (libxt_MARK.c revision 2; kernel xt_mark.c `mark_tg`): change the packet mark
//! `skb->mark` and continue. Any table, any hook (revision 2 has no table restriction).
//!
//! Every form is stored as a `(mark, mask)` pair and applied as
//! `skb->mark = (skb->mark & ~mask) ^ mark`:
//!
//! | option | mark | mask |
//! |---|---|---|
//! | `--set-xmark v[/m]` | v | m (default 0xffffffff) |
//! | `--set-mark v[/m]` | v | v \| m |
//! | `--and-mark v` | 0 | ~v |
//! | `--or-mark v` | v | v |
//! | `--xor-mark v` | v | 0 |
//!
//! The options exclude each other; one is required. `iptables-save` always prints
//! `--set-xmark 0xMARK/0xMASK`.

use std::any::Any;
use std::fmt::Write;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{conflict, missing};
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, OptVal, ParseCtx, Target, TargetVerdict, XtType};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mark {
    pub mark: u32,
    pub mask: u32,
    /// The option that set the pair, for exclusion errors.
    given: Option<&'static str>,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Mark {
        mark: 0,
        mask: 0,
        given: None,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("set-xmark", 1, Arg::One).ty(XtType::MarkMask),
    OptSpec::new("set-mark", 2, Arg::One).ty(XtType::MarkMask),
    OptSpec::new("and-mark", 3, Arg::One).ty(XtType::U32),
    OptSpec::new("or-mark", 4, Arg::One).ty(XtType::U32),
    OptSpec::new("xor-mark", 5, Arg::One).ty(XtType::U32),
];

/// The kernel's arithmetic.
pub(crate) fn apply_mark(old: u32, mark: u32, mask: u32) -> u32 {
    (old & !mask) ^ mark
}

/// `(mark, mask)` for one of the five MARK/CONNMARK operations (`id` as in `OPTS`), from the
/// option's converted value.
pub(crate) fn mark_op(id: u8, val: &OptVal) -> (u32, u32) {
    match id {
        1 => val.mark_mask(),
        2 => {
            let (v, m) = val.mark_mask();
            (v, v | m)
        }
        _ => {
            let v = val.uint() as u32;
            match id {
                3 => (0, !v),
                4 => (v, v),
                _ => (v, 0),
            }
        }
    }
}

impl Target for Mark {
    fn name(&self) -> &'static str {
        "MARK"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        _invert: bool,
        _args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        if let Some(prev) = self.given {
            return Err(conflict(cx.span, "MARK", opt.name, prev));
        }
        let (mark, mask) = mark_op(opt.id, &cx.val);
        self.mark = mark;
        self.mask = mask;
        self.given = Some(opt.name);
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.given.is_none() {
            return Err(missing(
                cx.span,
                "MARK",
                "one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let _ = write!(out, " --set-xmark {:#x}/{:#x}", self.mark, self.mask);
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        cx.skb.mark = apply_mark(cx.skb.mark, self.mark, self.mask);
        TargetVerdict::Continue
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    fn op(id: u8, t: &str) -> (u32, u32) {
        let arg = OptArg {
            text: t,
            span: Span::new(0, t.len()),
        };
        let val = match OPTS[usize::from(id) - 1].ty {
            XtType::MarkMask => {
                let (v, m) = crate::ext::parse_val_mask(&arg, "x").unwrap();
                OptVal::MarkMask(v, m)
            }
            _ => OptVal::Uint(crate::ext::xt_uint(t, 0, u64::from(u32::MAX)).unwrap()),
        };
        mark_op(id, &val)
    }

    #[test]
    fn forms_and_arithmetic() {
        assert_eq!(op(1, "0x1"), (1, 0xffff_ffff));
        assert_eq!(op(1, "0x10/0xf0"), (0x10, 0xf0));
        assert_eq!(op(2, "0x1/0x2"), (1, 3));
        assert_eq!(op(3, "0xff"), (0, 0xffff_ff00));
        assert_eq!(op(4, "0x4"), (4, 4));
        assert_eq!(op(5, "0x4"), (4, 0));
        // set: replaces everything
        assert_eq!(apply_mark(0xdead_beef, 1, 0xffff_ffff), 1);
        // set with mask: only masked bits change
        let (m, k) = op(2, "0x1/0xf");
        assert_eq!(apply_mark(0xabcd_0012, m, k), 0xabcd_0011);
        // set-xmark: clear mask then xor
        assert_eq!(apply_mark(0xff, 0x0f, 0xf0), 0x0f ^ 0x0f);
        let (m, k) = op(3, "0x0f");
        assert_eq!(apply_mark(0xff, m, k), 0x0f);
        let (m, k) = op(4, "0x100");
        assert_eq!(apply_mark(0xff, m, k), 0x1ff);
        let (m, k) = op(5, "0x0f");
        assert_eq!(apply_mark(0xff, m, k), 0xf0);
    }
}
