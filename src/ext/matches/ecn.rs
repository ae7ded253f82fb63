//! `-m ecn [!] --ecn-tcp-cwr [!] --ecn-tcp-ece [!] --ecn-ip-ect N` (libxt_ecn.c / kernel
//! `xt_ecn.c`): the two ECN bits of the IPv4 TOS byte / IPv6 traffic class equal N (0–3), and
//! the TCP CWR/ECE flags set (or, negated, clear). The TCP tests need `-p tcp` (not negated); a
//! TCP header that is not there makes them false. The TOS byte is the packet's at this hook
//! (`cx.skb.tos`).

use std::any::Any;
use std::fmt::Write;

use super::missing;
use crate::diag::codes as code;
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};

pub const ECE: u8 = 1;
pub const CWR: u8 = 2;
pub const IP: u8 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ecn {
    pub(crate) operation: u8,
    pub invert: u8,
    pub(crate) ip_ect: u8,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Ecn {
        operation: 0,
        invert: 0,
        ip_ect: 0,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("ecn-tcp-cwr", CWR, Arg::None).inv(),
    OptSpec::new("ecn-tcp-ece", ECE, Arg::None).inv(),
    OptSpec::new("ecn-ip-ect", IP, Arg::One)
        .ty(XtType::Uint { min: 0, max: 3 })
        .inv(),
];

impl Match for Ecn {
    fn name(&self) -> &'static str {
        "ecn"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        _args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        if opt.id == IP {
            self.ip_ect = cx.val.uint() as u8;
        }
        self.operation |= opt.id;
        if invert {
            self.invert |= opt.id;
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.operation == 0 {
            return Err(missing(
                cx,
                "-m ecn requires an option",
                "--ecn-tcp-cwr, --ecn-tcp-ece or --ecn-ip-ect N",
            ));
        }
        if self.operation & (ECE | CWR) != 0 && cx.proto != Some((6, false)) {
            return Err(Diagnostic::error(
                code::CONTEXT,
                cx.span,
                "cannot match TCP ECN bits of non-TCP packets",
            )
            .expected("-p tcp (not negated) with --ecn-tcp-cwr/--ecn-tcp-ece"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        for (f, name) in [(ECE, "--ecn-tcp-ece"), (CWR, "--ecn-tcp-cwr")] {
            if self.operation & f != 0 {
                if self.invert & f != 0 {
                    out.push_str(" !");
                }
                let _ = write!(out, " {name}");
            }
        }
        if self.operation & IP != 0 {
            if self.invert & IP != 0 {
                out.push_str(" !");
            }
            let _ = write!(out, " --ecn-ip-ect {}", self.ip_ect);
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        if self.operation & IP != 0 && ((cx.skb.tos & 3) == self.ip_ect) == (self.invert & IP != 0)
        {
            return MatchResult::No;
        }
        if self.operation & (ECE | CWR) != 0 {
            if let Some(flags) = cx.skb.tcp_flags {
                // As the `ECN` target left them.
                return self.tcp_bits(flags);
            }
            let p = cx.pkt;
            let off = p.ip_hdr_len as usize;
            if (p.ip_len as usize) < off + 20 {
                return MatchResult::No;
            }
            let Some(&flags) = p.data.get(off + 13) else {
                return match p.tcp() {
                    Some(t) => self.tcp_bits(t.flags),
                    None => MatchResult::Unknown("TCP header cut off by the capture's snap length"),
                };
            };
            return self.tcp_bits(flags);
        }
        MatchResult::Yes
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Ecn {
    fn tcp_bits(&self, flags: u8) -> MatchResult {
        for (f, bit) in [(ECE, 0x40u8), (CWR, 0x80u8)] {
            if self.operation & f != 0 && (flags & bit != 0) == (self.invert & f != 0) {
                return MatchResult::No;
            }
        }
        MatchResult::Yes
    }
}
