//! The UDP tracker, after `nf_conntrack_proto_udp.c`: `udp_error` (length and, at
//! PREROUTING, a non-zero checksum) and `nf_conntrack_udp_packet` — unreplied and replied
//! flows refreshed to `nf_conntrack_udp_timeout`, a flow still alive 2 s after its first
//! packet with a reply seen promoted to "stream" (`nf_conntrack_udp_timeout_stream`, ASSURED).

use super::super::track::invalid;
use super::super::{status, Conntrack, CtOutcome, ProtoState, Tuple};
use super::{
    checksum_bad, ports_to_tuple, quoted_ports, Cx, EntryCx, L4Tracker, L4Verdict, TimeoutDef,
    TimeoutSlot,
};
use crate::packet::{InnerPacket, Packet, L4};

/// The UDP timeouts (`udp_timeouts[]`: `UDP_CT_UNREPLIED`, `UDP_CT_REPLIED`), UDP-Lite's too.
pub(crate) const TIMEOUTS: &[TimeoutDef] = &[
    TimeoutDef {
        name: "udp",
        sysctl: "net.netfilter.nf_conntrack_udp_timeout",
        default: 30,
        doc: "UDP and UDP-Lite: no reply yet, or not yet a stream",
    },
    TimeoutDef {
        name: "udp_stream",
        sysctl: "net.netfilter.nf_conntrack_udp_timeout_stream",
        default: 120,
        doc:
            "UDP replied and still seen 2 s after its first packet (ASSURED); UDP-Lite once replied",
    },
];

/// `UDP_CT_UNREPLIED`.
pub(crate) const TIMEOUT_UNREPLIED: TimeoutSlot = TimeoutSlot::named("udp");
/// `UDP_CT_REPLIED`.
pub(crate) const TIMEOUT_REPLIED: TimeoutSlot = TimeoutSlot::named("udp_stream");

/// The UDP tracker (`nf_conntrack_l4proto_udp`).
#[derive(Debug)]
pub struct Udp;

/// The one [`Udp`].
pub static UDP: Udp = Udp;

impl L4Tracker for Udp {
    fn name(&self) -> &'static str {
        "udp"
    }

    fn timeouts(&self) -> &'static [TimeoutDef] {
        TIMEOUTS
    }

    /// `udp_error`: a length field beyond the datagram or below the header, a bad non-zero
    /// checksum (PREROUTING).
    fn error(&self, _ct: &mut Conntrack, cx: &Cx<'_>) -> Option<CtOutcome> {
        let L4::Udp(u) = &cx.pkt.l4 else {
            return None;
        };
        let udplen = cx.pkt.ip_len.saturating_sub(cx.pkt.ip_hdr_len as u32);
        if (u.length as u32) > udplen || u.length < 8 {
            return Some(invalid("truncated/malformed UDP packet"));
        }
        if u.checksum != 0 && checksum_bad(cx) {
            return Some(invalid("bad UDP checksum"));
        }
        None
    }

    fn pkt_to_tuple(&self, pkt: &Packet, t: &mut Tuple) -> Result<(), CtOutcome> {
        ports_to_tuple(pkt, t)
    }

    fn quoted_tuple(&self, inner: &InnerPacket, t: &mut Tuple) -> bool {
        quoted_ports(inner, t)
    }

    /// The stream deadline (`ct->proto.udp.stream_ts`): 2 s after the first packet.
    fn new_state(&self, cx: &Cx<'_>) -> ProtoState {
        ProtoState::Udp {
            stream_ts: cx.now + 2 * cx.p.hz as u64,
        }
    }

    /// `nf_conntrack_udp_packet`.
    fn packet(&self, ct: &mut Conntrack, cx: &Cx<'_>, e: EntryCx) -> L4Verdict {
        let (p, now) = (cx.p, cx.now);
        let hz = p.hz as u64;
        let entry = ct.get_mut(e.id).expect("entry");
        let ProtoState::Udp { stream_ts } = &mut entry.proto else {
            unreachable!("UDP entry")
        };
        if entry.status & status::CONFIRMED == 0 {
            *stream_ts = now + 2 * hz;
        }
        let stream_ts = *stream_ts;
        if entry.status & status::SEEN_REPLY != 0 {
            let mut extra = p.timeouts.get(TIMEOUT_UNREPLIED) * hz;
            let mut stream = false;
            if now > stream_ts {
                extra = p.timeouts.get(TIMEOUT_REPLIED) * hz;
                stream = entry.status & status::ASSURED == 0;
            }
            ct.refresh_acct(e.id, e.dir, cx.pkt.ip_len, extra, now);
            if stream {
                ct.get_mut(e.id).expect("entry").status |= status::ASSURED;
            }
        } else {
            ct.refresh_acct(
                e.id,
                e.dir,
                cx.pkt.ip_len,
                p.timeouts.get(TIMEOUT_UNREPLIED) * hz,
                now,
            );
        }
        L4Verdict::Accept
    }
}
