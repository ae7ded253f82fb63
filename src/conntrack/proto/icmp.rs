//! The ICMP tracker, after `nf_conntrack_proto_icmp.c`: `icmp_error` (short header, bad
//! checksum, unknown type; an error message is RELATED to the connection it quotes —
//! `nf_conntrack_inet_error`, shared with ICMPv6), the id and type/code as tuple with the
//! query/reply `invmap`, and `nf_conntrack_icmp_packet` (only a query starts a connection;
//! refreshed to `nf_conntrack_icmp_timeout`).

use super::super::track::{invalid, uncertain};
use super::super::{
    Attach, Conntrack, CtDir, CtInfo, CtOutcome, ProtoState, Template, TimeoutSlot, Tuple,
};
use super::{
    checksum_bad, header_short, invert, swapped, tracker, Cx, EntryCx, L4Tracker, L4Verdict,
    TimeoutDef,
};
use crate::packet::{Anomalies, Family, IcmpInfo, InnerPacket, Packet};

/// The ICMP timeout.
pub(crate) const TIMEOUTS: &[TimeoutDef] = &[TimeoutDef {
    name: "icmp",
    sysctl: "net.netfilter.nf_conntrack_icmp_timeout",
    default: 30,
    doc: "an ICMP query (echo, timestamp, information, address mask) and its reply",
}];

pub(crate) const TIMEOUT_ICMP: TimeoutSlot = TimeoutSlot::named("icmp");

/// ICMP `invmap`: the reply type of a query type, if any.
fn icmp_invert(t: u8) -> Option<u8> {
    match t {
        8 => Some(0),
        0 => Some(8),
        13 => Some(14),
        14 => Some(13),
        15 => Some(16),
        16 => Some(15),
        17 => Some(18),
        18 => Some(17),
        _ => None,
    }
}

/// The checks `icmp_error` and `icmpv6_error` start with: a whole header (else no tuple) and,
/// at PREROUTING, a good checksum.
pub(super) fn header_and_checksum<'a>(cx: &Cx<'a>) -> Result<&'a IcmpInfo, CtOutcome> {
    let Some(ic) = cx.pkt.icmp() else {
        return Err(
            if cx.pkt.anomalies.has(Anomalies::CAP_TRUNCATED)
                && cx.pkt.ip_len >= cx.pkt.ip_hdr_len as u32 + 8
            {
                uncertain("ICMP header cut off by the capture")
            } else {
                invalid("short ICMP packet")
            },
        );
    };
    if checksum_bad(cx) {
        return Err(invalid("bad ICMP checksum"));
    }
    Ok(ic)
}

/// Tuple of the packet quoted in an ICMP error (`nf_ct_get_tuplepr`).
pub(crate) fn inner_tuple(inner: &InnerPacket, zone: u16) -> Option<Tuple> {
    if inner.frag_offset != 0 {
        return None;
    }
    let mut t = Tuple {
        src: inner.src,
        dst: inner.dst,
        proto: inner.proto,
        sport: 0,
        dport: 0,
        zone,
    };
    tracker(inner.proto)
        .quoted_tuple(inner, &mut t)
        .then_some(t)
}

/// `nf_conntrack_inet_error`: an ICMP error is RELATED to the confirmed connection it quotes.
pub(super) fn inet_error(
    ct: &mut Conntrack,
    pkt: &Packet,
    inner: Option<&InnerPacket>,
    tmpl: Template,
    now: u64,
) -> CtOutcome {
    let outer_dst = pkt.dst;
    // The kernel read the whole message; what the capture's snap length cut off is unknown.
    let cut = || pkt.anomalies.has(Anomalies::CAP_TRUNCATED);
    let Some(inner) = inner else {
        if cut() {
            return uncertain(
                "ICMP error: the quoted packet was cut off by the capture's snap length",
            );
        }
        return invalid("ICMP error without a usable quoted packet");
    };
    let Some(orig) = inner_tuple(inner, tmpl.zone_id(CtDir::Original)) else {
        if cut() && inner.frag_offset == 0 {
            return uncertain(
                "ICMP error: the quoted packet's ports were cut off by the capture's snap length",
            );
        }
        return invalid("ICMP error quotes a fragment or too few bytes");
    };
    let Some(inv) = invert(&orig) else {
        return invalid("ICMP error quotes a packet that cannot be inverted");
    };
    let Some((id, dir)) = ct.lookup_zoned(&inv, tmpl, now) else {
        return invalid("ICMP error for an unknown connection");
    };
    let e = ct.get(id).expect("found entry");
    if e.tuple[dir as usize].dst != outer_dst {
        return invalid("ICMP error: outer destination differs from the connection's");
    }
    CtOutcome {
        attach: Attach::Ct {
            id,
            info: if dir == CtDir::Reply {
                CtInfo::RelatedReply
            } else {
                CtInfo::Related
            },
        },
        ..CtOutcome::default()
    }
}

/// The tuple of an ICMP or ICMPv6 message: `sport` holds the id, `dport` `type << 8 | code`.
pub(super) fn icmp_to_tuple(pkt: &Packet, t: &mut Tuple) -> Result<(), CtOutcome> {
    let Some(i) = pkt.icmp() else {
        return Err(header_short(pkt, 8));
    };
    t.sport = i.id;
    t.dport = (i.icmp_type as u16) << 8 | i.code as u16;
    Ok(())
}

/// The tuple of a quoted ICMP or ICMPv6 message.
pub(super) fn quoted_icmp(inner: &InnerPacket, t: &mut Tuple) -> bool {
    let Some((ty, code, id)) = inner.icmp else {
        return false;
    };
    t.sport = id;
    t.dport = (ty as u16) << 8 | code as u16;
    true
}

/// The reply tuple of an ICMP or ICMPv6 query: the id stays in the source part, the type
/// becomes its reply type (`invmap`).
pub(super) fn invert_icmp(t: &Tuple, invmap: fn(u8) -> Option<u8>) -> Option<Tuple> {
    let inv = invmap(t.icmp_type())?;
    Some(Tuple {
        sport: t.sport,
        dport: (inv as u16) << 8 | t.icmp_code() as u16,
        ..swapped(t)
    })
}

/// `nf_conntrack_icmp_packet` / `nf_conntrack_icmpv6_packet`: a connection whose original
/// type is not a query (`valid_new`) is INVALID; otherwise refreshed to `timeout`.
pub(super) fn icmp_packet(
    ct: &mut Conntrack,
    cx: &Cx<'_>,
    e: EntryCx,
    valid_new: fn(Family, u8) -> bool,
    timeout: TimeoutSlot,
) -> L4Verdict {
    let ty = ct.get(e.id).expect("entry").tuple[0].icmp_type();
    if !valid_new(cx.pkt.family, ty) {
        return L4Verdict::Invalid("ICMP type cannot start a connection (reply without request)");
    }
    ct.refresh_acct(
        e.id,
        e.dir,
        cx.pkt.ip_len,
        cx.p.timeouts.get(timeout) * cx.p.hz as u64,
        cx.now,
    );
    L4Verdict::Accept
}

/// The ICMP tracker (`nf_conntrack_l4proto_icmp`).
#[derive(Debug)]
pub struct Icmp;

/// The one [`Icmp`].
pub static ICMP: Icmp = Icmp;

impl L4Tracker for Icmp {
    fn name(&self) -> &'static str {
        "icmp"
    }

    fn timeouts(&self) -> &'static [TimeoutDef] {
        TIMEOUTS
    }

    /// `icmp_error`: a short header, a bad checksum, a type above 18 are INVALID; an error
    /// message (destination unreachable, source quench, redirect, time exceeded, parameter
    /// problem) is RELATED to the connection it quotes, or INVALID.
    fn error(&self, ct: &mut Conntrack, cx: &Cx<'_>) -> Option<CtOutcome> {
        let ic = match header_and_checksum(cx) {
            Ok(ic) => ic,
            Err(o) => return Some(o),
        };
        if ic.icmp_type > 18 {
            return Some(invalid("invalid ICMP type"));
        }
        if matches!(ic.icmp_type, 3 | 4 | 5 | 11 | 12) {
            let inner = ic.inner.as_deref();
            return Some(inet_error(ct, cx.pkt, inner, cx.tmpl, cx.now));
        }
        None
    }

    fn pkt_to_tuple(&self, pkt: &Packet, t: &mut Tuple) -> Result<(), CtOutcome> {
        icmp_to_tuple(pkt, t)
    }

    fn quoted_tuple(&self, inner: &InnerPacket, t: &mut Tuple) -> bool {
        quoted_icmp(inner, t)
    }

    fn invert_tuple(&self, t: &Tuple) -> Option<Tuple> {
        invert_icmp(t, icmp_invert)
    }

    fn new_state(&self, _cx: &Cx<'_>) -> ProtoState {
        ProtoState::Icmp
    }

    /// Echo, timestamp, information and address mask requests start connections.
    fn packet(&self, ct: &mut Conntrack, cx: &Cx<'_>, e: EntryCx) -> L4Verdict {
        let valid_new = |f, ty| f == Family::V4 && matches!(ty, 8 | 13 | 15 | 17);
        icmp_packet(ct, cx, e, valid_new, TIMEOUT_ICMP)
    }
}
