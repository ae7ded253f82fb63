//! `-j CONNMARK` (libxt_CONNMARK.c revision 2; kernel xt_connmark.c `connmark_tg_shift`):
//! copy marks between the packet (`skb->mark`) and its connection (`ct->mark`), or change the
//! connection mark. Any table, any hook; needs conntrack (`nf_ct_netns_get`).
//!
//! Operations (mutually exclusive, one required):
//! - `--set-xmark v[/m]`, `--set-mark v[/m]` (mask `v | m`), `--and-mark`, `--or-mark`,
//!   `--xor-mark`: `ct->mark = ((ct->mark & ~ctmask) ^ ctmark) <<|>> shift`;
//! - `--save-mark`: `ct->mark = (ct->mark & ~ctmask) ^ ((skb->mark & nfmask) <<|>> shift)`;
//! - `--restore-mark`: `skb->mark = (skb->mark & ~nfmask) ^ ((ct->mark & ctmask) <<|>> shift)`.
//!
//! `--nfmask`/`--ctmask` (default 0xffffffff) or `--mask` (both; excludes the other two) apply
//! to save/restore; `--left-shift-mark N`/`--right-shift-mark N` (0–31 for the kernel, 32 is
//! refused by `connmark_tg_check_v2`) shift. Without a connection (`nf_ct_get_real` is NULL:
//! no conntrack or untracked) nothing changes. Always XT_CONTINUE.
//!
//! Save forms: `--set-xmark 0xV/0xM`, `--save-mark --nfmask 0xN --ctmask 0xC`,
//! `--restore-mark --nfmask 0xN --ctmask 0xC`, then ` --left-shift-mark N` or
//! ` --right-shift-mark N` when N is not 0.

use std::any::Any;
use std::fmt::Write;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{conflict, missing};
use crate::ext::targets::mark::mark_op;
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, XtType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Set,
    Save,
    Restore,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Connmark {
    pub mode: Mode,
    pub(crate) ctmark: u32,
    pub(crate) ctmask: u32,
    pub(crate) nfmask: u32,
    /// `true`: right shift.
    pub(crate) shift_right: bool,
    pub(crate) shift_bits: u8,
    op: Option<&'static str>,
    mask_opt: Option<&'static str>,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Connmark {
        mode: Mode::Set,
        ctmark: 0,
        ctmask: u32::MAX,
        nfmask: u32::MAX,
        shift_right: false,
        shift_bits: 0,
        op: None,
        mask_opt: None,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("set-xmark", 1, Arg::One).ty(XtType::MarkMask),
    OptSpec::new("set-mark", 2, Arg::One).ty(XtType::MarkMask),
    OptSpec::new("and-mark", 3, Arg::One).ty(XtType::U32),
    OptSpec::new("or-mark", 4, Arg::One).ty(XtType::U32),
    OptSpec::new("xor-mark", 5, Arg::One).ty(XtType::U32),
    OptSpec::new("save-mark", 6, Arg::None),
    OptSpec::new("restore-mark", 7, Arg::None),
    OptSpec::new("left-shift-mark", 8, Arg::One).ty(XtType::Uint { min: 0, max: 32 }),
    OptSpec::new("right-shift-mark", 9, Arg::One).ty(XtType::Uint { min: 0, max: 32 }),
    OptSpec::new("ctmask", 10, Arg::One).ty(XtType::U32),
    OptSpec::new("nfmask", 11, Arg::One).ty(XtType::U32),
    OptSpec::new("mask", 12, Arg::One).ty(XtType::U32),
];

fn shift(v: u32, right: bool, bits: u8) -> u32 {
    // `bits` is at most 31 once loaded (the kernel refuses 32).
    if right {
        v.checked_shr(bits.into()).unwrap_or(0)
    } else {
        v.checked_shl(bits.into()).unwrap_or(0)
    }
}

impl Connmark {
    /// `connmark_tg_shift`: the new `(skb mark, ct mark)`.
    pub fn compute(&self, skb_mark: u32, ct_mark: u32) -> (u32, u32) {
        match self.mode {
            Mode::Set => {
                let m = (ct_mark & !self.ctmask) ^ self.ctmark;
                (skb_mark, shift(m, self.shift_right, self.shift_bits))
            }
            Mode::Save => {
                let t = shift(skb_mark & self.nfmask, self.shift_right, self.shift_bits);
                (skb_mark, (ct_mark & !self.ctmask) ^ t)
            }
            Mode::Restore => {
                let t = shift(ct_mark & self.ctmask, self.shift_right, self.shift_bits);
                ((skb_mark & !self.nfmask) ^ t, ct_mark)
            }
        }
    }
}

impl Target for Connmark {
    fn name(&self) -> &'static str {
        "CONNMARK"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        _invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        match opt.id {
            1..=7 => {
                if let Some(prev) = self.op {
                    return Err(conflict(cx.span, "CONNMARK", opt.name, prev));
                }
                self.op = Some(opt.name);
                match opt.id {
                    6 => self.mode = Mode::Save,
                    7 => self.mode = Mode::Restore,
                    id => {
                        let (v, m) = mark_op(id, &cx.val);
                        self.mode = Mode::Set;
                        self.ctmark = v;
                        self.ctmask = m;
                    }
                }
            }
            8 | 9 => {
                self.shift_bits = cx.val.uint() as u8;
                self.shift_right = opt.id == 9;
                if self.shift_bits == 32 {
                    return Err(crate::ext::targets::common::err(
                        args[0].span,
                        "the kernel refuses a mark shift of 32 bits",
                        "a shift from 0 to 31",
                    ));
                }
            }
            _ => {
                let v = cx.val.uint() as u32;
                let excl = match (opt.id, self.mask_opt) {
                    (12, Some(p)) => Some(p),
                    (10 | 11, Some("mask")) => Some("mask"),
                    _ => None,
                };
                if let Some(p) = excl {
                    return Err(conflict(cx.span, "CONNMARK", opt.name, p));
                }
                match opt.id {
                    10 => self.ctmask = v,
                    11 => self.nfmask = v,
                    _ => {
                        self.ctmask = v;
                        self.nfmask = v;
                    }
                }
                self.mask_opt = Some(opt.name);
            }
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.op.is_none() {
            return Err(missing(
                cx.span,
                "CONNMARK",
                "an operation (--set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark, --save-mark or --restore-mark)",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        match self.mode {
            Mode::Set => {
                let _ = write!(out, " --set-xmark {:#x}/{:#x}", self.ctmark, self.ctmask);
            }
            Mode::Save | Mode::Restore => {
                let _ = write!(
                    out,
                    " --{} --nfmask {:#x} --ctmask {:#x}",
                    if self.mode == Mode::Save {
                        "save-mark"
                    } else {
                        "restore-mark"
                    },
                    self.nfmask,
                    self.ctmask
                );
            }
        }
        if self.shift_bits != 0 {
            let _ = write!(
                out,
                " --{}-shift-mark {}",
                if self.shift_right { "right" } else { "left" },
                self.shift_bits
            );
        }
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        let skb_mark = cx.skb.mark;
        if let (true, Some(slot)) = (cx.ct_template(), cx.skb.ct_template) {
            let (nf, c) = self.compute(skb_mark, cx.template_mark());
            cx.ext.template_marks.insert(slot, c);
            cx.skb.mark = nf;
            return TargetVerdict::Continue;
        }
        let Some(ct) = cx.ct_mut() else {
            return TargetVerdict::Continue;
        };
        let (nf, c) = self.compute(skb_mark, ct.mark);
        ct.mark = c;
        cx.skb.mark = nf;
        TargetVerdict::Continue
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(mode: Mode, ctmark: u32, ctmask: u32, nfmask: u32) -> Connmark {
        Connmark {
            mode,
            ctmark,
            ctmask,
            nfmask,
            shift_right: false,
            shift_bits: 0,
            op: None,
            mask_opt: None,
        }
    }

    #[test]
    fn kernel_arithmetic() {
        // --save-mark: ct = nf
        assert_eq!(cm(Mode::Save, 0, !0, !0).compute(0x12, 0x99), (0x12, 0x12));
        // --restore-mark: nf = ct
        assert_eq!(
            cm(Mode::Restore, 0, !0, !0).compute(0x12, 0x99),
            (0x99, 0x99)
        );
        // --save-mark --mask 0xff: only low byte copied
        assert_eq!(
            cm(Mode::Save, 0, 0xff, 0xff).compute(0x1234, 0xab00),
            (0x1234, 0xab34)
        );
        // --restore-mark --nfmask 0xf0 --ctmask 0x0f: mismatched masks xor
        assert_eq!(
            cm(Mode::Restore, 0, 0x0f, 0xf0).compute(0xffff, 0x0003),
            (0xff0f ^ 0x03, 0x03)
        );
        // --set-xmark 0x1/0xf
        assert_eq!(cm(Mode::Set, 1, 0xf, !0).compute(7, 0x1f), (7, 0x11));
        // shifts
        let mut c = cm(Mode::Save, 0, 0xff00, 0xff);
        c.shift_bits = 8;
        assert_eq!(c.compute(0x12, 0), (0x12, 0x1200));
        let mut c = cm(Mode::Restore, 0, 0xff00, 0xff);
        c.shift_bits = 8;
        c.shift_right = true;
        assert_eq!(c.compute(0xabcd, 0x3400), (0xab34, 0x3400));
        let mut c = cm(Mode::Set, 0x1, !0, !0);
        c.shift_bits = 4;
        assert_eq!(c.compute(0, 0xfff), (0, 0x10));
    }
}
