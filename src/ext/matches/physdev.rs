//! `-m physdev` (libxt_physdev.c / kernel `xt_physdev.c` `physdev_mt`): bridge port tests
//! `[!] --physdev-in NAME`, `[!] --physdev-out NAME`, `[!] --physdev-is-in`, `[!] --physdev-is-out`,
//! `[!] --physdev-is-bridged`.
//!
//! A packet without bridge information (`nf_bridge_info_exists` false) gets the kernel's "not a
//! bridged packet" answer: the match holds exactly when every given option is negated. That is
//! every packet the host sends, every packet of a host whose configuration lists no bridge, and
//! with `bridge-nf-call-iptables=0` / `-ip6tables=0` (`--sysctl`) every bridge's frame.
//! A frame that came in through a port of a bridge the host configuration lists, captured on
//! that port in a capture of every port (else it may be a copy the bridge sent out of it),
//! carries the ports with `br_netfilter`: `br_nf_pre_routing` stores the input port,
//! `br_nf_forward_ip` the port the bridge forwards it to, before FORWARD and POSTROUTING (none
//! for a packet IP routes: `PhysOut`, which the engine sets from the flooded
//! copy's port or the bridge's learnt forwarding entries). Where the output port is not known,
//! or the frame was captured on the bridge alone (or a bond's port), the answer is unknown
//! (recorded lab `bridge6-nf`; a kernel hunt found `--physdev-in` rules missed, certain, when
//! fwcheck answered "not bridged" there).
//! (`--physdev-out`/`--physdev-is-out` are refused in OUTPUT unless the rule also has a
//! non-negated `--physdev-is-bridged`, as the kernel's check does.)

use std::any::Any;

use super::missing;
use crate::diag::codes as code;
use crate::diag::Diagnostic;
use crate::ext::{check_iface, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::ext::{EvalCtx, PhysOut};
use crate::netfilter::Hook;

pub(crate) const IN: u8 = 1;
pub(crate) const OUT: u8 = 2;
pub(crate) const BRIDGED: u8 = 4;
pub(crate) const ISIN: u8 = 8;
pub(crate) const ISOUT: u8 = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Physdev {
    pub(crate) indev: String,
    pub(crate) outdev: String,
    pub(crate) bitmask: u8,
    pub invert: u8,
}

impl Physdev {
    /// `physdev_mt` for a packet with bridge information: it came in by port `indev`, and
    /// leaves by port `outdev` (`None`: not bridged to a port, or before FORWARD).
    fn bridged(&self, indev: &str, outdev: Option<&str>) -> bool {
        let has = |b: u8| self.bitmask & b != 0;
        let inv = |b: u8| self.invert & b != 0;
        // `--physdev-in eth+`: a prefix (`ifname_compare_aligned` with the mask iptables sets).
        let name_is = |dev: &str, pat: &str| match pat.strip_suffix('+') {
            Some(prefix) => dev.starts_with(prefix),
            None => dev == pat,
        };
        if has(BRIDGED) && (outdev.is_some() == inv(BRIDGED)) {
            return false;
        }
        // `physindev` is set: `--physdev-is-in` holds.
        if has(ISIN) && inv(ISIN) {
            return false;
        }
        if has(ISOUT) && (outdev.is_none() != inv(ISOUT)) {
            return false;
        }
        if has(IN) && name_is(indev, &self.indev) == inv(IN) {
            return false;
        }
        if !has(OUT) {
            return true;
        }
        // No output port: false, negated or not (`if (!outdev) return false`).
        outdev.is_some_and(|o| name_is(o, &self.outdev) != inv(OUT))
    }
}

pub fn new() -> Box<dyn Match> {
    Box::new(Physdev {
        indev: String::new(),
        outdev: String::new(),
        bitmask: 0,
        invert: 0,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("physdev-in", IN, Arg::One).inv(),
    OptSpec::new("physdev-out", OUT, Arg::One).inv(),
    OptSpec::new("physdev-is-in", ISIN, Arg::None).inv(),
    OptSpec::new("physdev-is-out", ISOUT, Arg::None).inv(),
    OptSpec::new("physdev-is-bridged", BRIDGED, Arg::None).inv(),
];

impl Match for Physdev {
    fn name(&self) -> &'static str {
        "physdev"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        match opt.id {
            IN | OUT => {
                check_iface(&args[0])?;
                if opt.id == IN {
                    self.indev = args[0].text.to_string();
                } else {
                    self.outdev = args[0].text.to_string();
                }
            }
            _ => {}
        }
        self.bitmask |= opt.id;
        if invert {
            self.invert |= opt.id;
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.bitmask == 0 {
            return Err(missing(
                cx,
                "-m physdev requires an option",
                "--physdev-in, --physdev-out, --physdev-is-in, --physdev-is-out or --physdev-is-bridged",
            ));
        }
        let bridged = self.bitmask & BRIDGED != 0 && self.invert & BRIDGED == 0;
        if self.bitmask & (OUT | ISOUT) != 0 && !bridged && cx.chain == "OUTPUT" {
            return Err(Diagnostic::error(
                code::CONTEXT,
                cx.span,
                "--physdev-out and --physdev-is-out are only supported in FORWARD and POSTROUTING with bridged traffic",
            )
            .expected("--physdev-out in FORWARD or POSTROUTING, or with --physdev-is-bridged"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let inv = |out: &mut String, f: u8| {
            if self.invert & f != 0 {
                out.push_str(" !");
            }
        };
        if self.bitmask & ISIN != 0 {
            inv(out, ISIN);
            out.push_str(" --physdev-is-in");
        }
        if self.bitmask & IN != 0 {
            inv(out, IN);
            out.push_str(" --physdev-in ");
            out.push_str(&self.indev);
        }
        if self.bitmask & ISOUT != 0 {
            inv(out, ISOUT);
            out.push_str(" --physdev-is-out");
        }
        if self.bitmask & OUT != 0 {
            inv(out, OUT);
            out.push_str(" --physdev-out ");
            out.push_str(&self.outdev);
        }
        if self.bitmask & BRIDGED != 0 {
            inv(out, BRIDGED);
            out.push_str(" --physdev-is-bridged");
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let not_bridged = MatchResult::from_bool(self.bitmask & !self.invert == 0);
        let host = &cx.env.host;
        if cx.is_local_out() || host.links.is_empty() {
            return not_bridged;
        }
        let captured = cx.env.captured_on(cx.pkt);
        let v6 = cx.pkt.family == crate::packet::Family::V6;
        // With `bridge-nf-call-iptables=0` (`--sysctl`) `br_nf_pre_routing` stores no bridge
        // information: a bridge's frame is "not bridged" to the match (a bond's is unknown).
        if host.rx_bridge(captured).is_some() && !host.bridge_nf_calls(v6) {
            return not_bridged;
        }
        // Captured on the bridge port it came in by: `nf_bridge->physinif` is that port;
        // `physoutdev` is unset before FORWARD, and after it the port `br_nf_forward_ip` chose
        // for a bridged frame, none for a routed one (the engine says which).
        let own_frame = cx.pkt.link.src_mac.is_some_and(|m| host.macs.contains(&m));
        if !own_frame
            && host
                .rx_bridge(captured)
                .is_some_and(|b| b != captured && host.captures_every_port(b))
        {
            let outdev = match cx.hook {
                Hook::Prerouting | Hook::Input | Hook::Output => Some(None),
                Hook::Forward | Hook::Postrouting => match &cx.skb.physout {
                    PhysOut::Routed => Some(None),
                    PhysOut::Port(p) => Some(Some(&**p)),
                    PhysOut::Unset => None,
                },
            };
            let needs_out = self.bitmask & (OUT | ISOUT | BRIDGED) != 0;
            return match outdev {
                Some(out) => MatchResult::from_bool(self.bridged(captured, out)),
                None if !needs_out => MatchResult::from_bool(self.bridged(captured, None)),
                None => MatchResult::Unknown(
                    "-m physdev: the bridge port the frame leaves by is not known (the bridge \
                     had not seen its destination link address come in, or the capture keeps \
                     none)",
                ),
            };
        }
        if host.ip_master(captured).is_some() || host.has_port_of(captured) {
            return MatchResult::Unknown(
                "-m physdev: the frame came in through a bridge (or bond) port the capture does \
                 not tell (captured on the bridge itself, or on some of its ports: it may have \
                 come in by another and left by this one), or a bond's",
            );
        }
        not_bridged
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(indev: &str, outdev: &str, bitmask: u8, invert: u8) -> Physdev {
        Physdev {
            indev: indev.into(),
            outdev: outdev.into(),
            bitmask,
            invert,
        }
    }

    /// `physdev_mt` on a packet with bridge information (kernel xt_physdev.c).
    #[test]
    fn bridged_frames_answer_as_physdev_mt() {
        // In by h0: before FORWARD (no output port) and bridged to h2.
        assert!(m("h0", "", IN, 0).bridged("h0", None));
        assert!(!m("h0", "", IN, IN).bridged("h0", None));
        assert!(m("h+", "", IN, 0).bridged("h0", None));
        assert!(m("h0", "h2", IN | OUT, 0).bridged("h0", Some("h2")));
        assert!(!m("h0", "h2", IN | OUT, 0).bridged("h0", Some("h0")));
        // No output port: `--physdev-out` is false, negated or not.
        assert!(!m("", "h2", OUT, 0).bridged("h0", None));
        assert!(!m("", "h2", OUT, OUT).bridged("h0", None));
        assert!(m("", "h2", OUT, OUT).bridged("h0", Some("h0")));
        // `--physdev-is-bridged` holds only with an output port (FORWARD, POSTROUTING).
        assert!(m("", "", BRIDGED, 0).bridged("h0", Some("h2")));
        assert!(!m("", "", BRIDGED, 0).bridged("h0", None));
        assert!(m("", "", BRIDGED, BRIDGED).bridged("h0", None));
        assert!(m("", "", ISIN, 0).bridged("h0", None));
        assert!(!m("", "", ISIN, ISIN).bridged("h0", None));
        assert!(!m("", "", ISOUT, 0).bridged("h0", None));
        assert!(m("", "", ISOUT, ISOUT).bridged("h0", None));
    }
}
