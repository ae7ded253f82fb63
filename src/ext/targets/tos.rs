//! `-j TOS` (libxt_TOS.c revision 1; kernel xt_DSCP.c `tos_tg`/`tos_tg6`): change the IPv4 TOS
//! byte / IPv6 traffic class. Table mangle only. Always XT_CONTINUE.
//!
//! - `--set-tos VALUE[/MASK]`: a number (base 0, ≤ 0xff) with the mask defaulting to 0xff, or
//!   a symbolic name (Minimize-Delay 0x10, Maximize-Throughput 0x08, Maximize-Reliability 0x04,
//!   Minimize-Cost 0x02, Normal-Service 0x00; any case) with mask 0x3f.
//! - `--and-tos V` (value 0, mask ~V), `--or-tos V` (V/V), `--xor-tos V` (V/0); 8-bit.
//! - The options exclude each other; one is required. Saved as `--set-tos 0xVV/0xMM`.
//! - Kernel arithmetic: `new = (old & ~mask) ^ value` on the whole byte (the ECN bits
//!   included — a numeric `--set-tos` clears them).

use std::any::Any;
use std::fmt::Write;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{conflict, err, missing};
use crate::ext::EvalCtx;
use crate::ext::{
    sub_span, xt_uint_prefix, Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, XtType,
};
use crate::netfilter::TableKind;

const SYMBOLS: &[(&str, u8)] = &[
    ("Minimize-Delay", 0x10),
    ("Maximize-Throughput", 0x08),
    ("Maximize-Reliability", 0x04),
    ("Minimize-Cost", 0x02),
    ("Normal-Service", 0x00),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tos {
    pub value: u8,
    pub mask: u8,
    given: Option<&'static str>,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Tos {
        value: 0,
        mask: 0,
        given: None,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("set-tos", 1, Arg::One),
    OptSpec::new("and-tos", 2, Arg::One).ty(XtType::U8),
    OptSpec::new("or-tos", 3, Arg::One).ty(XtType::U8),
    OptSpec::new("xor-tos", 4, Arg::One).ty(XtType::U8),
];

/// `XTTYPE_TOSMASK` with `.max = 0x3f` (revision 1).
pub(crate) fn parse_tosmask(arg: &OptArg<'_>) -> Result<(u8, u8), Diagnostic> {
    let t = arg.text;
    let expected = "VALUE[/MASK] (numbers up to 0xff) or a name: Minimize-Delay, Maximize-Throughput, Maximize-Reliability, Minimize-Cost, Normal-Service";
    if let Some((v, rest)) = xt_uint_prefix(t, 0, 255) {
        if rest.is_empty() {
            return Ok((v as u8, 0xff));
        }
        if let Some(m) = rest.strip_prefix('/') {
            if let Some((mask, "")) = xt_uint_prefix(m, 0, 255) {
                return Ok((v as u8, mask as u8));
            }
        }
        return Err(err(
            sub_span(arg, t.len() - rest.len(), t.len()),
            format!("illegal value `{t}`"),
            expected,
        ));
    }
    SYMBOLS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(t))
        .map(|(_, v)| (*v, 0x3f))
        .ok_or_else(|| {
            err(
                arg.span,
                format!("symbolic name `{t}` is unknown"),
                expected,
            )
        })
}

/// The kernel's arithmetic.
pub(crate) fn apply_tos(old: u8, value: u8, mask: u8) -> u8 {
    (old & !mask) ^ value
}

impl Target for Tos {
    fn name(&self) -> &'static str {
        "TOS"
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
        if let Some(prev) = self.given {
            return Err(conflict(cx.span, "TOS", opt.name, prev));
        }
        let (v, m) = match opt.id {
            1 => parse_tosmask(&args[0])?,
            id => {
                let v = cx.val.uint() as u8;
                match id {
                    2 => (0, !v),
                    3 => (v, v),
                    _ => (v, 0),
                }
            }
        };
        self.value = v;
        self.mask = m;
        self.given = Some(opt.name);
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.given.is_none() {
            return Err(missing(
                cx.span,
                "TOS",
                "one of --set-tos, --and-tos, --or-tos, --xor-tos",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let _ = write!(out, " --set-tos {:#04x}/{:#04x}", self.value, self.mask);
    }
    fn rewrote(&self, _pkt: &crate::packet::Packet) -> Option<&'static [&'static str]> {
        Some(&["tos", "dscp", "ecn", "u32"])
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        let new = apply_tos(cx.skb.tos, self.value, self.mask);
        if new != cx.skb.tos {
            cx.skb.change_dsfield(cx.pkt, new);
        }
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
    use crate::diag::Span;

    fn p(t: &str) -> Option<(u8, u8)> {
        parse_tosmask(&OptArg {
            text: t,
            span: Span::new(0, t.len()),
        })
        .ok()
    }

    #[test]
    fn values_and_arithmetic() {
        assert_eq!(p("0x10"), Some((0x10, 0xff)));
        assert_eq!(p("0x1f/0x1f"), Some((0x1f, 0x1f)));
        assert_eq!(p("minimize-delay"), Some((0x10, 0x3f)));
        assert_eq!(p("Normal-Service"), Some((0, 0x3f)));
        assert_eq!(p("0x100"), None);
        assert_eq!(p("0x10/0x100"), None);
        assert_eq!(p("0x10x"), None);
        assert_eq!(p("Fast"), None);
        // numeric set clears ECN
        assert_eq!(apply_tos(0x03, 0x10, 0xff), 0x10);
        // symbolic names (mask 0x3f) keep the two top bits only
        assert_eq!(apply_tos(0xe3, 0x10, 0x3f), 0xd0);
        // and/or/xor
        assert_eq!(apply_tos(0xff, 0, !0x12), 0x12);
        assert_eq!(apply_tos(0x01, 0x12, 0x12), 0x13);
        assert_eq!(apply_tos(0x13, 0x12, 0), 0x01);
    }
}
