//! `-j DSCP` (libxt_DSCP.c; kernel xt_DSCP.c `dscp_tg`/`dscp_tg6`): set the DiffServ code point
//! (the upper 6 bits of the TOS byte / traffic class), keeping the 2 ECN bits. Table mangle
//! only. Always XT_CONTINUE.
//!
//! - `--set-dscp N` (0–0x3f) or `--set-dscp-class NAME` (CS0–CS7, BE, AF11–AF43, EF; matched
//!   case-insensitively by prefix of the class name, as libxt's `class_to_dscp` does, so
//!   `ef-foo` is EF). They exclude each other; one is required.
//! - Saved as `--set-dscp 0xNN`.
//! - Kernel: `if (tos >> 2 != dscp) tos = (tos & 3) | dscp << 2`.

use std::any::Any;
use std::fmt::Write;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{conflict, err, missing};
use crate::ext::EvalCtx;
use crate::ext::{class_to_dscp, Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, XtType};
use crate::netfilter::TableKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dscp {
    pub dscp: u8,
    given: Option<&'static str>,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Dscp {
        dscp: 0,
        given: None,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("set-dscp", 1, Arg::One).ty(XtType::Uint { min: 0, max: 0x3f }),
    OptSpec::new("set-dscp-class", 2, Arg::One),
];

/// The kernel's arithmetic.
pub(crate) fn apply_dscp(tos: u8, dscp: u8) -> u8 {
    if tos >> 2 != dscp {
        (tos & 3) | (dscp << 2)
    } else {
        tos
    }
}

impl Target for Dscp {
    fn name(&self) -> &'static str {
        "DSCP"
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
            return Err(conflict(cx.span, "DSCP", opt.name, prev));
        }
        self.dscp = match opt.id {
            1 => cx.val.uint() as u8,
            _ => class_to_dscp(args[0].text).ok_or_else(|| {
                err(
                    args[0].span,
                    format!("invalid DSCP class `{}`", args[0].text),
                    "CS0-CS7, BE, AF11-AF13, AF21-AF23, AF31-AF33, AF41-AF43 or EF",
                )
            })?,
        };
        self.given = Some(opt.name);
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.given.is_none() {
            return Err(missing(cx.span, "DSCP", "--set-dscp or --set-dscp-class"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let _ = write!(out, " --set-dscp {:#04x}", self.dscp);
    }
    fn rewrote(&self, pkt: &crate::packet::Packet) -> Option<&'static [&'static str]> {
        (pkt.tos >> 2 == self.dscp).then_some(&["tos", "dscp", "u32"][..])
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        let new = apply_dscp(cx.skb.tos, self.dscp);
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

    #[test]
    fn classes_and_arithmetic() {
        assert_eq!(class_to_dscp("EF"), Some(0x2e));
        assert_eq!(class_to_dscp("ef"), Some(0x2e));
        assert_eq!(class_to_dscp("af41"), Some(0x22));
        assert_eq!(class_to_dscp("CS0x"), Some(0));
        assert_eq!(class_to_dscp("AF"), None);
        assert_eq!(class_to_dscp("XX"), None);
        assert_eq!(apply_dscp(0x03, 0x2e), 0xbb);
        assert_eq!(apply_dscp(0xb9, 0x2e), 0xb9);
        assert_eq!(apply_dscp(0xff, 0), 0x03);
    }
}
