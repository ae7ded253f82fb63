//! `-j TTL` (libipt_TTL.c, IPv4) and `-j HL` (libip6t_HL.c, IPv6); kernel xt_HL.c `ttl_tg` /
//! `hl_tg6`: change the TTL / hop limit. Table mangle only. Always XT_CONTINUE.
//!
//! - `--ttl-set N` (0–255), `--ttl-inc N`, `--ttl-dec N` (1–255); for HL `--hl-set`,
//!   `--hl-inc`, `--hl-dec`. Mutually exclusive; one is required. Saved as `--ttl-set N` etc.
//! - Kernel arithmetic: set; increment saturating at 255; decrement saturating at 0 (a TTL of
//!   0 set here does not drop the packet by itself).

use std::any::Any;
use std::fmt::Write;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{conflict, missing};
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, XtType};
use crate::netfilter::TableKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Set,
    Inc,
    Dec,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ttl {
    /// `true`: the IPv6 `HL` target.
    pub hl: bool,
    pub mode: Mode,
    pub value: u8,
    given: Option<&'static str>,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Ttl {
        hl: false,
        mode: Mode::Set,
        value: 0,
        given: None,
    })
}

pub(crate) fn new_hl() -> Box<dyn Target> {
    Box::new(Ttl {
        hl: true,
        mode: Mode::Set,
        value: 0,
        given: None,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("ttl-set", 1, Arg::One).ty(XtType::Uint { min: 0, max: 255 }),
    OptSpec::new("ttl-dec", 2, Arg::One).ty(XtType::Uint { min: 1, max: 255 }),
    OptSpec::new("ttl-inc", 3, Arg::One).ty(XtType::Uint { min: 1, max: 255 }),
];

static OPTS6: &[OptSpec] = &[
    OptSpec::new("hl-set", 1, Arg::One).ty(XtType::Uint { min: 0, max: 255 }),
    OptSpec::new("hl-dec", 2, Arg::One).ty(XtType::Uint { min: 1, max: 255 }),
    OptSpec::new("hl-inc", 3, Arg::One).ty(XtType::Uint { min: 1, max: 255 }),
];

/// The kernel's arithmetic.
pub(crate) fn apply_ttl(old: u8, mode: Mode, v: u8) -> u8 {
    match mode {
        Mode::Set => v,
        Mode::Inc => old.saturating_add(v),
        Mode::Dec => old.saturating_sub(v),
    }
}

impl Target for Ttl {
    fn name(&self) -> &'static str {
        if self.hl {
            "HL"
        } else {
            "TTL"
        }
    }
    fn options(&self) -> &'static [OptSpec] {
        if self.hl {
            OPTS6
        } else {
            OPTS
        }
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        _invert: bool,
        _args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        if let Some(prev) = self.given {
            return Err(conflict(cx.span, self.name(), opt.name, prev));
        }
        let mode = match opt.id {
            1 => Mode::Set,
            2 => Mode::Dec,
            _ => Mode::Inc,
        };
        self.value = cx.val.uint() as u8;
        self.mode = mode;
        self.given = Some(opt.name);
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.given.is_none() {
            let p = if self.hl { "hl" } else { "ttl" };
            return Err(missing(
                cx.span,
                self.name(),
                &format!("one of --{p}-set, --{p}-inc, --{p}-dec"),
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let p = if self.hl { "hl" } else { "ttl" };
        let m = match self.mode {
            Mode::Set => "set",
            Mode::Inc => "inc",
            Mode::Dec => "dec",
        };
        let _ = write!(out, " --{p}-{m} {}", self.value);
    }
    fn rewrote(&self, pkt: &crate::packet::Packet) -> Option<&'static [&'static str]> {
        (self.mode != Mode::Set || pkt.ttl == self.value).then_some(&["ttl", "hl", "u32"][..])
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        let new = apply_ttl(cx.skb.ttl, self.mode, self.value);
        cx.skb.set_ttl(cx.pkt, new);
        TargetVerdict::Continue
    }
    fn table(&self) -> Option<TableKind> {
        Some(TableKind::Mangle)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturating_arithmetic() {
        assert_eq!(apply_ttl(64, Mode::Set, 3), 3);
        assert_eq!(apply_ttl(64, Mode::Inc, 10), 74);
        assert_eq!(apply_ttl(250, Mode::Inc, 10), 255);
        assert_eq!(apply_ttl(255, Mode::Inc, 255), 255);
        assert_eq!(apply_ttl(5, Mode::Dec, 10), 0);
        assert_eq!(apply_ttl(64, Mode::Dec, 1), 63);
        assert_eq!(apply_ttl(0, Mode::Dec, 1), 0);
    }
}
