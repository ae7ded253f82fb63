//! `-m pkttype --pkt-type unicast|broadcast|multicast|otherhost` (libxt_pkttype.c / kernel
//! `xt_pkttype.c` `pkttype_mt`): the link layer's `skb->pkt_type`, XOR `!`.
//!
//! Offline, `skb->pkt_type` is derived as the kernel sets it: locally generated packets
//! (OUTPUT, and POSTROUTING of local packets) are `PACKET_HOST` ("unicast"); received packets
//! take the capture's link-layer type (Ethernet destination class, Linux cooked capture packet
//! type; `PACKET_HOST` for a frame a bridge port received for another link address, as the
//! bridge makes it before IP's hooks: `SimEnv::hook_pkt_type`). A capture without link-layer addresses (raw IP) is classified from the destination
//! address as `eth_type_trans` would see the frame an Ethernet sender builds for it: multicast
//! addresses → multicast, 255.255.255.255 and the broadcast address of a `--host` network →
//! broadcast, anything else → unicast.

use std::any::Any;
use std::net::IpAddr;

use super::{bad, missing};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::packet::PktType;

/// `PACKET_*` values.
pub const HOST: u8 = 0;
pub const BROADCAST: u8 = 1;
pub const MULTICAST: u8 = 2;
pub(crate) const OTHERHOST: u8 = 3;

const NAMES: &[(&str, u8)] = &[
    ("unicast", HOST),
    ("broadcast", BROADCAST),
    ("multicast", MULTICAST),
    ("otherhost", OTHERHOST),
    ("bcast", BROADCAST),
    ("mcast", MULTICAST),
    ("host", HOST),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pkttype {
    pub pkttype: u8,
    pub invert: bool,
    pub given: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Pkttype {
        pkttype: 0,
        invert: false,
        given: false,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("pkt-type", 1, Arg::One).inv()];

/// Is `a` a broadcast address for this host: 255.255.255.255 or the directed broadcast of one
/// of its IPv4 networks (prefix shorter than /31).
pub(crate) fn is_broadcast(cx: &EvalCtx<'_>, a: IpAddr) -> bool {
    let IpAddr::V4(v4) = a else { return false };
    let x = u32::from(v4);
    if x == u32::MAX {
        return true;
    }
    cx.env.networks.iter().any(|(n, len)| match n {
        IpAddr::V4(n) if *len < 31 => {
            let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
            x == (u32::from(*n) & mask) | !mask
        }
        _ => false,
    })
}

/// `skb->pkt_type` of the packet at this hook, as described in the module docs.
pub(crate) fn skb_pkt_type(cx: &EvalCtx<'_>) -> u8 {
    if cx.is_local_out() {
        return HOST;
    }
    let link = &cx.pkt.link;
    if link.dst_mac.is_none() && link.src_mac.is_none() && link.pkt_type == PktType::Host {
        let d = cx.pkt.dst;
        return if d.is_multicast() {
            MULTICAST
        } else if is_broadcast(cx, d) {
            BROADCAST
        } else {
            HOST
        };
    }
    match cx.env.hook_pkt_type(cx.pkt) {
        // The host's own frame met on the way in: the copy of a broadcast or multicast the
        // kernel loops back (`PACKET_LOOPBACK`, which `pkttype_mt` calls multicast for a
        // multicast destination, broadcast otherwise), or a packet to itself, which lo
        // receives as `PACKET_HOST`.
        PktType::Outgoing if cx.pkt.dst.is_multicast() => MULTICAST,
        PktType::Outgoing if is_broadcast(cx, cx.pkt.dst) => BROADCAST,
        PktType::Host | PktType::Outgoing => HOST,
        PktType::Broadcast => BROADCAST,
        PktType::Multicast => MULTICAST,
        PktType::OtherHost => OTHERHOST,
    }
}

impl Match for Pkttype {
    fn name(&self) -> &'static str {
        "pkttype"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        let a = &args[0];
        let Some((_, t)) = NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(a.text)) else {
            return Err(bad(
                a.span,
                format!("bad packet type `{}`", a.text),
                "unicast, broadcast, multicast or otherhost",
            ));
        };
        self.pkttype = *t;
        self.invert = invert;
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(
                cx,
                "-m pkttype requires --pkt-type",
                "--pkt-type unicast|broadcast|multicast|otherhost",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --pkt-type ");
        match NAMES.iter().find(|(_, t)| *t == self.pkttype) {
            Some((n, _)) => out.push_str(n),
            None => out.push_str(&self.pkttype.to_string()),
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        MatchResult::from_bool((skb_pkt_type(cx) == self.pkttype) != self.invert)
    }
    fn facets(&self) -> Facets {
        Facets {
            pure: true,
            ..Facets::default()
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
