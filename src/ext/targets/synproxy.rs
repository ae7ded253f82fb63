//! `-j SYNPROXY` (libxt_SYNPROXY.c; kernel xt_SYNPROXY.c `synproxy_tg4`/`synproxy_tg6`): answer
//! TCP handshakes with SYN cookies before the server sees them. Any table; hooks INPUT and
//! FORWARD; `synproxy_tg4_check` requires `-p tcp` (not negated); needs conntrack.
//!
//! - `--sack-perm`, `--timestamp`, `--wscale N`, `--mss N`, `--ecn`. `--wscale` and `--mss` are
//!   read as 32-bit numbers and stored in 8 and 16 bits: 300 becomes 44, 70000 becomes 4464
//!   (fwcheck warns). Save order: sack-perm, timestamp, wscale, mss, ecn.
//! - `apply`: a pure SYN is answered with a SYN-ACK cookie and consumed (NF_STOLEN): never
//!   delivered, DROP, certain. A pure ACK is consumed too: with a valid cookie SYNPROXY opens
//!   the connection to the server (NF_STOLEN), else NF_DROP; either way the ACK is not
//!   delivered (DROP), but whether the connection then exists depends on the cookie (a secret
//!   of the host's), so the verdict is uncertain and the flow's later packets inherit the doubt.
//!   Any other TCP packet (FIN, RST, …) continues (XT_CONTINUE). Kernel-checked in
//!   `tests/kernel_targets.rs` (a SYN, an ACK without a valid cookie).

use std::any::Any;
use std::fmt::Write;

use crate::diag::codes as code;
use crate::diag::Diagnostic;
use crate::ext::targets::common::context_err;
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, Taken, Target, TargetVerdict, XtType};
use crate::netfilter::{Hook, HookMask};
use crate::packet::tcp_flags;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Synproxy {
    pub(crate) sack_perm: bool,
    pub timestamp: bool,
    pub(crate) wscale: Option<u8>,
    pub(crate) mss: Option<u16>,
    pub(crate) ecn: bool,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Synproxy {
        sack_perm: false,
        timestamp: false,
        wscale: None,
        mss: None,
        ecn: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("sack-perm", 1, Arg::None),
    OptSpec::new("timestamp", 2, Arg::None),
    OptSpec::new("wscale", 3, Arg::One).ty(XtType::U32),
    OptSpec::new("mss", 4, Arg::One).ty(XtType::U32),
    OptSpec::new("ecn", 5, Arg::None),
];

fn truncated(a: &OptArg<'_>, opt: &str, v: u64, kept: u64, cx: &mut ParseCtx<'_>) {
    if v != kept {
        cx.warn(
            Diagnostic::warning(
                code::IGNORED,
                a.span,
                format!("--{opt} {v} is stored as {kept}"),
            )
            .note("iptables keeps only the low bits of the value"),
        );
    }
}

impl Target for Synproxy {
    fn name(&self) -> &'static str {
        "SYNPROXY"
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
            1 => self.sack_perm = true,
            2 => self.timestamp = true,
            3 => {
                let v = cx.val.uint();
                truncated(&args[0], opt.name, v, v & 0xff, cx);
                self.wscale = Some(v as u8);
            }
            4 => {
                let v = cx.val.uint();
                truncated(&args[0], opt.name, v, v & 0xffff, cx);
                self.mss = Some(v as u16);
            }
            _ => self.ecn = true,
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !matches!(cx.proto, Some((6, false))) {
            return Err(context_err(
                cx.span,
                "target SYNPROXY is only valid with -p tcp",
                "-p tcp in the rule (not negated)",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.sack_perm {
            out.push_str(" --sack-perm");
        }
        if self.timestamp {
            out.push_str(" --timestamp");
        }
        if let Some(w) = self.wscale {
            let _ = write!(out, " --wscale {w}");
        }
        if let Some(m) = self.mss {
            let _ = write!(out, " --mss {m}");
        }
        if self.ecn {
            out.push_str(" --ecn");
        }
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        let Some(t) = cx.pkt.tcp() else {
            return TargetVerdict::Unknown("SYNPROXY on a packet without a TCP header");
        };
        let f = t.flags;
        let other = tcp_flags::FIN | tcp_flags::RST;
        if f & tcp_flags::SYN != 0 && f & (tcp_flags::ACK | other) == 0 {
            // Answered with a cookie SYN-ACK, consumed.
            TargetVerdict::Drop
        } else if f & tcp_flags::ACK != 0 && f & (tcp_flags::SYN | other) == 0 {
            TargetVerdict::Undecided {
                why: "SYNPROXY consumes the ACK; only with a valid SYN cookie (a secret of the \
                      host's) does it open the connection to the server",
                taken: Taken::Drop,
            }
        } else {
            TargetVerdict::Continue
        }
    }
    /// A valid cookie: the ACK is consumed all the same (the connection to the server that
    /// SYNPROXY then opens is not modelled: the flow stays uncertain).
    fn forced(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Drop
    }
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Input, Hook::Forward])
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
