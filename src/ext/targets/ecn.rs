//! `-j ECN` (libipt_ECN.c; kernel ipt_ECN.c `ecn_tg`): rewrite the ECN bits of the IPv4 TOS
//! byte and the TCP ECE/CWR flags. IPv4 only, table mangle only. XT_CONTINUE, or NF_DROP when
//! the TCP header is not there to rewrite.
//!
//! - `--ecn-tcp-remove` clears ECE and CWR; `--ecn-tcp-ece 0|1` and `--ecn-tcp-cwr 0|1` set
//!   one flag (neither goes with `--ecn-tcp-remove`); `--ecn-ip-ect 0–3` sets the ECT
//!   codepoint. One is required; each at most once.
//! - Saved as `--ecn-tcp-remove` when the operation is exactly "ECE and CWR to 0", otherwise as
//!   `--ecn-tcp-ece N --ecn-tcp-cwr N --ecn-ip-ect N`, each when set, in that order.
//! - `ecn_tg_check`: a TCP operation needs `-p tcp` (not negated).
//! - `set_ect_ip`: when the ECT bits differ, they are replaced and the header checksum
//!   updated (`csum_replace2`). `set_ect_tcp` (TCP packets only): when a flag to set differs,
//!   the flags are rewritten and the TCP checksum updated in place — by an update that
//!   depends on checksum offload, so rules reading that checksum later cannot be decided
//!   ([`crate::ext::Skb::bytes`]); a datagram too short for a TCP header is dropped.
//!   Conntrack saw the flags before (it runs at a lower priority); the rules after read the
//!   new ones (`-m ecn`, `u32`, `string`; `--tcp-flags` has no names for ECE and CWR).

use std::any::Any;
use std::fmt::Write;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{conflict, context_err, missing};
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, XtType};
use crate::netfilter::TableKind;

/// `IPT_ECN_OP_SET_IP`, `IPT_ECN_OP_SET_ECE`, `IPT_ECN_OP_SET_CWR`.
const SET_IP: u8 = 0x01;
const SET_ECE: u8 = 0x10;
const SET_CWR: u8 = 0x20;

/// The TCP flag bits.
const ECE_BIT: u8 = 0x40;
const CWR_BIT: u8 = 0x80;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ecn {
    operation: u8,
    ip_ect: u8,
    ece: bool,
    cwr: bool,
    /// `--ecn-tcp-remove` was given (it excludes `--ecn-tcp-ece` and `--ecn-tcp-cwr`).
    remove: bool,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Ecn {
        operation: 0,
        ip_ect: 0,
        ece: false,
        cwr: false,
        remove: false,
    })
}

const REMOVE: u8 = 1;
const CWR: u8 = 2;
const ECE: u8 = 3;
const IP_ECT: u8 = 4;

static OPTS: &[OptSpec] = &[
    OptSpec::new("ecn-tcp-remove", REMOVE, Arg::None),
    OptSpec::new("ecn-tcp-cwr", CWR, Arg::One).ty(XtType::Uint { min: 0, max: 1 }),
    OptSpec::new("ecn-tcp-ece", ECE, Arg::One).ty(XtType::Uint { min: 0, max: 1 }),
    OptSpec::new("ecn-ip-ect", IP_ECT, Arg::One).ty(XtType::Uint { min: 0, max: 3 }),
];

impl Target for Ecn {
    fn name(&self) -> &'static str {
        "ECN"
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
        let flag_given = |op: u8, name: &str| (op != 0).then(|| name.to_string());
        match opt.id {
            REMOVE => {
                let other = flag_given(self.operation & SET_CWR, "ecn-tcp-cwr")
                    .or_else(|| flag_given(self.operation & SET_ECE, "ecn-tcp-ece"));
                if let Some(other) = other {
                    return Err(conflict(cx.span, "ECN", "ecn-tcp-remove", &other));
                }
                self.remove = true;
                self.operation |= SET_ECE | SET_CWR;
                self.ece = false;
                self.cwr = false;
            }
            CWR | ECE if self.remove => {
                return Err(conflict(cx.span, "ECN", "ecn-tcp-remove", opt.name));
            }
            CWR => {
                self.operation |= SET_CWR;
                self.cwr = cx.val.uint() == 1;
            }
            ECE => {
                self.operation |= SET_ECE;
                self.ece = cx.val.uint() == 1;
            }
            _ => {
                self.operation |= SET_IP;
                self.ip_ect = cx.val.uint() as u8;
            }
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.operation == 0 {
            return Err(missing(
                cx.span,
                "ECN",
                "--ecn-tcp-remove, --ecn-tcp-ece, --ecn-tcp-cwr or --ecn-ip-ect",
            ));
        }
        if self.operation & (SET_ECE | SET_CWR) != 0 && !matches!(cx.proto, Some((6, false))) {
            return Err(context_err(
                cx.span,
                "ECN's TCP operations are only valid with -p tcp (the kernel refuses the rule)",
                "-p tcp in the rule (not negated), or only --ecn-ip-ect",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.operation == SET_ECE | SET_CWR && !self.ece && !self.cwr {
            out.push_str(" --ecn-tcp-remove");
            return;
        }
        if self.operation & SET_ECE != 0 {
            let _ = write!(out, " --ecn-tcp-ece {}", u8::from(self.ece));
        }
        if self.operation & SET_CWR != 0 {
            let _ = write!(out, " --ecn-tcp-cwr {}", u8::from(self.cwr));
        }
        if self.operation & SET_IP != 0 {
            let _ = write!(out, " --ecn-ip-ect {}", self.ip_ect);
        }
    }
    fn rewrote(&self, _pkt: &crate::packet::Packet) -> Option<&'static [&'static str]> {
        Some(&["ecn", "tos", "dscp", "tcp", "u32"])
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        if self.operation & SET_IP != 0 && cx.skb.tos & 3 != self.ip_ect {
            let new = (cx.skb.tos & !3) | self.ip_ect;
            cx.skb.set_ect(cx.pkt, new);
        }
        if self.operation & (SET_ECE | SET_CWR) == 0 || cx.pkt.proto != 6 {
            return TargetVerdict::Continue;
        }
        let p = cx.pkt;
        // `skb_header_pointer(skb, ip_hdrlen(skb), sizeof(struct tcphdr))`.
        if (p.ip_len as usize) < p.ip_hdr_len as usize + 20 {
            return TargetVerdict::Drop;
        }
        if p.frag.offset != 0 {
            return TargetVerdict::Unknown("ECN rewrites bytes of a later fragment");
        }
        let Some(flags) = cx.skb.tcp_flags.or(p.tcp().map(|t| t.flags)) else {
            return TargetVerdict::Unknown("TCP header cut off by the capture's snap length");
        };
        let mut new = flags;
        if self.operation & SET_ECE != 0 {
            new = (new & !ECE_BIT) | if self.ece { ECE_BIT } else { 0 };
        }
        if self.operation & SET_CWR != 0 {
            new = (new & !CWR_BIT) | if self.cwr { CWR_BIT } else { 0 };
        }
        if new != flags {
            cx.skb.set_tcp_flags(new);
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
