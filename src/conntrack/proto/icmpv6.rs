//! The ICMPv6 tracker, after `nf_conntrack_proto_icmpv6.c`: `icmpv6_error` (types conntrack
//! never tracks — MLD, NDP, MRD — are UNTRACKED; error messages and a link-local redirect
//! are RELATED to the connection they quote through [`super::icmp`]'s
//! `nf_conntrack_inet_error`), the echo and node information `invmap`, and
//! `nf_conntrack_icmpv6_packet` (refreshed to `nf_conntrack_icmpv6_timeout`).

use std::net::IpAddr;

use super::super::{Attach, Conntrack, CtOutcome, ProtoState, TimeoutSlot, Tuple};
use super::icmp::{
    header_and_checksum, icmp_packet, icmp_to_tuple, inet_error, invert_icmp, quoted_icmp,
};
use super::{Cx, EntryCx, L4Tracker, L4Verdict, TimeoutDef};
use crate::packet::{Family, InnerPacket, Packet};

/// The ICMPv6 timeout.
pub(crate) const TIMEOUTS: &[TimeoutDef] = &[TimeoutDef {
    name: "icmpv6",
    sysctl: "net.netfilter.nf_conntrack_icmpv6_timeout",
    default: 30,
    doc: "an ICMPv6 echo or node information query and its reply",
}];

pub(crate) const TIMEOUT_ICMPV6: TimeoutSlot = TimeoutSlot::named("icmpv6");

/// ICMPv6 `invmap`.
fn icmpv6_invert(t: u8) -> Option<u8> {
    match t {
        128 => Some(129),
        129 => Some(128),
        139 => Some(140),
        140 => Some(139),
        _ => None,
    }
}

/// ICMPv6 types conntrack never tracks (`noct_valid_new`): MLD, NDP, MRD.
fn icmpv6_untracked(t: u8) -> bool {
    matches!(t, 130..=136 | 143 | 151 | 152)
}

fn is_link_local(a: IpAddr) -> bool {
    match a {
        IpAddr::V6(v) => v.segments()[0] & 0xffc0 == 0xfe80,
        IpAddr::V4(_) => false,
    }
}

/// The ICMPv6 tracker (`nf_conntrack_l4proto_icmpv6`).
#[derive(Debug)]
pub struct Icmpv6;

/// The one [`Icmpv6`].
pub(crate) static ICMPV6: Icmpv6 = Icmpv6;

impl L4Tracker for Icmpv6 {
    fn name(&self) -> &'static str {
        "icmpv6"
    }

    fn timeouts(&self) -> &'static [TimeoutDef] {
        TIMEOUTS
    }

    /// `icmpv6_error`: a short header or a bad checksum is INVALID, MLD/NDP/MRD UNTRACKED, an
    /// error message (type below 128) or a link-local redirect quoting a packet RELATED to
    /// the connection it quotes (or INVALID).
    fn error(&self, ct: &mut Conntrack, cx: &Cx<'_>) -> Option<CtOutcome> {
        let ic = match header_and_checksum(cx) {
            Ok(ic) => ic,
            Err(o) => return Some(o),
        };
        let pkt = cx.pkt;
        if icmpv6_untracked(ic.icmp_type) {
            return Some(CtOutcome {
                attach: Attach::Untracked,
                ..CtOutcome::default()
            });
        }
        if ic.icmp_type == 137
            && ic.code == 0
            && pkt.ttl == 255
            && is_link_local(pkt.src)
            && ic.inner.is_some()
        {
            return Some(inet_error(ct, pkt, ic.inner.as_deref(), cx.tmpl, cx.now));
        }
        if ic.icmp_type >= 128 {
            return None;
        }
        Some(inet_error(ct, pkt, ic.inner.as_deref(), cx.tmpl, cx.now))
    }

    fn pkt_to_tuple(&self, pkt: &Packet, t: &mut Tuple) -> Result<(), CtOutcome> {
        icmp_to_tuple(pkt, t)
    }

    fn quoted_tuple(&self, inner: &InnerPacket, t: &mut Tuple) -> bool {
        quoted_icmp(inner, t)
    }

    fn invert_tuple(&self, t: &Tuple) -> Option<Tuple> {
        invert_icmp(t, icmpv6_invert)
    }

    fn new_state(&self, _cx: &Cx<'_>) -> ProtoState {
        ProtoState::Icmp
    }

    /// Echo and node information queries start connections.
    fn packet(&self, ct: &mut Conntrack, cx: &Cx<'_>, e: EntryCx) -> L4Verdict {
        let valid_new = |f, ty| f == Family::V6 && matches!(ty, 128 | 139);
        icmp_packet(ct, cx, e, valid_new, TIMEOUT_ICMPV6)
    }
}
