//! `-j TCPMSS` (libxt_TCPMSS.c; kernel xt_TCPMSS.c): rewrite (or add) the MSS option of TCP SYN
//! packets. Any table; needs `-p tcp` (not negated; `xt_target.proto`). Always XT_CONTINUE.
//!
//! - `--set-mss N` (0–65515 for IPv4, 0–65495 for IPv6) or `--clamp-mss-to-pmtu`; one is
//!   required; given both, the last one wins. Saved as `--set-mss N` / `--clamp-mss-to-pmtu`.
//! - `tcpmss_tg4_check`: clamping to the PMTU is only possible from FORWARD, OUTPUT and
//!   POSTROUTING. The kernel checks the hook mask it is given; iptables-nft gives one only for
//!   rules written directly in a built-in chain (user chains are not checked), iptables-legacy
//!   for every chain a built-in chain reaches. fwcheck checks rules in built-in chains.
//! - iptables-legacy also refuses a TCPMSS rule without a `tcp` match that requires SYN
//!   (`--syn` or `--tcp-flags … SYN`); the kernel skips that check for iptables-nft. Not
//!   checked here (it needs the rule's matches).
//! - `tcpmss_mangle_packet`: not on a later fragment; a TCP header shorter than 20 bytes or than
//!   its data offset drops the packet; an MSS option (found by the same walk as `-m tcpmss`)
//!   larger than the new MSS is lowered (never raised); without one, and with no data after
//!   the header and room in `doff`, one is added (4 bytes, `min(mss, 536)` for IPv4, `1220`
//!   for IPv6). Clamping reads the path MTU, which fwcheck does not know. The new TCP header
//!   bytes are not part of the packet model: the packet is marked rewritten (`-m tcpmss` and
//!   `--tcp-option` after it read the MSS when `--set-mss` makes it known; `u32` and `string`
//!   cannot read the TCP header) and, when an option was added, 4 bytes longer (`-m length`,
//!   byte counters, and the IP header's length and checksum, updated as `tcpmss_tg4` does).

use std::any::Any;
use std::fmt::Write;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{builtin_hook, context_err, err, missing};
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, XtType};
use crate::netfilter::{Family, Hook};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tcpmss {
    /// `None`: clamp to the path MTU.
    pub(crate) mss: Option<u16>,
    given: bool,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Tcpmss {
        mss: None,
        given: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("set-mss", 1, Arg::One).ty(XtType::U16),
    OptSpec::new("clamp-mss-to-pmtu", 2, Arg::None),
];

impl Target for Tcpmss {
    fn name(&self) -> &'static str {
        "TCPMSS"
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
        self.mss = match opt.id {
            1 => {
                let max = match cx.family {
                    Family::V4 => 65535 - 20,
                    Family::V6 => 65535 - 40,
                };
                // libxt_TCPMSS: an MSS that leaves no room for the IP header is refused.
                let v = cx.val.uint();
                if v > max {
                    return Err(err(
                        args[0].span,
                        format!("bad value `{}` for option --{}", args[0].text, opt.name),
                        format!("a number from 0 to {max}"),
                    ));
                }
                Some(v as u16)
            }
            _ => None,
        };
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(
                cx.span,
                "TCPMSS",
                "--set-mss or --clamp-mss-to-pmtu",
            ));
        }
        if !matches!(cx.proto, Some((6, false))) {
            return Err(context_err(
                cx.span,
                "target TCPMSS is only valid with -p tcp",
                "-p tcp in the rule (not negated)",
            ));
        }
        if self.mss.is_none() {
            if let Some(h) = builtin_hook(cx) {
                if !matches!(h, Hook::Forward | Hook::Output | Hook::Postrouting) {
                    return Err(context_err(
                        cx.span,
                        format!("TCPMSS --clamp-mss-to-pmtu is not possible in {h}"),
                        "--clamp-mss-to-pmtu in FORWARD, OUTPUT or POSTROUTING, or --set-mss",
                    ));
                }
            }
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        match self.mss {
            Some(m) => {
                let _ = write!(out, " --set-mss {m}");
            }
            None => out.push_str(" --clamp-mss-to-pmtu"),
        }
    }
    fn rewrote(&self, pkt: &crate::packet::Packet) -> Option<&'static [&'static str]> {
        let mss = pkt.tcp()?.options.mss?;
        self.mss
            .is_none_or(|m| m == mss)
            .then_some(&["tcpmss", "u32", "string"][..])
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        let p = cx.pkt;
        if p.proto != 6 || p.frag.offset != 0 {
            return TargetVerdict::Continue;
        }
        if cx.skb.tcp_rewritten {
            // A second TCPMSS sees the option the first one left.
            cx.skb.tcp_mss = match (cx.skb.tcp_mss, self.mss) {
                (Some(old), Some(new)) => Some(old.min(new)),
                _ => None,
            };
            return TargetVerdict::Continue;
        }
        let thoff = p.ip_hdr_len as usize;
        let (ip_len, data) = (p.ip_len as usize, &p.data);
        let (rewritten, grown) = match crate::ext::matches::tcpmss::find_mss(data, ip_len, thoff) {
            // A header shorter than 20 bytes or than its data offset: NF_DROP.
            Err(true) => return TargetVerdict::Drop,
            // Bytes the capture cut: perhaps rewritten, perhaps grown.
            Err(false) => (true, false),
            Ok(Some(old)) => (self.mss.is_none_or(|new| old > new), false),
            Ok(None) => {
                let doff = data.get(thoff + 12).map_or(5, |b| (b >> 4) as usize);
                let add = ip_len == thoff + doff * 4 && doff < 15;
                (add, add)
            }
        };
        if rewritten {
            // The value the option now holds: the new MSS (an added one capped at the
            // default MSS, 536 / 1220); unknown when clamping to the path MTU.
            let cap = if p.family == Family::V4 { 536 } else { 1220 };
            cx.skb.tcp_mss = self.mss.map(|m| if grown { m.min(cap) } else { m });
        }
        cx.skb.tcp_rewritten |= rewritten;
        if grown {
            cx.skb.grow_mss_option(p);
        }
        TargetVerdict::Continue
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
