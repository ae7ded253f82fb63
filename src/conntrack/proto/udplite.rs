//! The UDP-Lite tracker, after `nf_conntrack_proto_udp.c` (`udplite_error`,
//! `nf_conntrack_udplite_packet`): coverage and checksum checks, UDP's timeouts, no stream
//! delay — ASSURED on any packet once a reply was seen.

use super::super::track::{invalid, uncertain, CtHook};
use super::super::{Conntrack, CtOutcome, Tuple};
use super::udp::{TIMEOUT_REPLIED, TIMEOUT_UNREPLIED};
use super::{ports_to_tuple, quoted_ports, Cx, EntryCx, L4Tracker, L4Verdict};
use crate::packet::{proto, ChecksumMode, InnerPacket, Packet};

/// The UDP-Lite tracker (`nf_conntrack_l4proto_udplite`). Its timeouts are UDP's.
#[derive(Debug)]
pub(crate) struct Udplite;

/// The one [`Udplite`].
pub(crate) static UDPLITE: Udplite = Udplite;

impl L4Tracker for Udplite {
    fn name(&self) -> &'static str {
        "udplite"
    }

    /// `udplite_error`: coverage, mandatory checksum, and (at PREROUTING) the checksum — which
    /// the kernel verifies with protocol 17 (UDP) in the pseudo header
    /// (`nf_checksum_partial(…, IPPROTO_UDP, …)`), so an RFC 3828 checksum (protocol 136)
    /// makes the packet INVALID.
    fn error(&self, _ct: &mut Conntrack, cx: &Cx<'_>) -> Option<CtOutcome> {
        let (pkt, p) = (cx.pkt, cx.p);
        let hl = pkt.ip_hdr_len as usize;
        let udplen = (pkt.ip_len as usize).saturating_sub(hl);
        if udplen < 8 {
            return Some(invalid("short UDP-Lite packet"));
        }
        let end = (pkt.ip_len as usize).min(pkt.data.len());
        let seg = pkt.data.get(hl..end).unwrap_or(&[]);
        if seg.len() < 8 {
            return Some(uncertain("UDP-Lite header cut off by the capture"));
        }
        let cov = u16::from_be_bytes([seg[4], seg[5]]) as usize;
        let cscov = if cov == 0 { udplen } else { cov };
        if cscov < 8 || cscov > udplen {
            return Some(invalid("UDP-Lite: invalid checksum coverage"));
        }
        if seg[6] == 0 && seg[7] == 0 {
            return Some(invalid("UDP-Lite: checksum missing"));
        }
        if cx.hook == CtHook::PreRouting && p.checksum && p.checksums != ChecksumMode::Ignore {
            if seg.len() < cscov {
                return Some(uncertain(
                    "UDP-Lite checksum coverage cut off by the capture",
                ));
            }
            let mut covered = seg[..cscov].to_vec();
            covered.resize(udplen, 0);
            if !crate::packet::checksum::verify_l4(pkt.src, pkt.dst, proto::UDP, &covered) {
                return Some(invalid("UDP-Lite: bad checksum"));
            }
        }
        None
    }

    fn pkt_to_tuple(&self, pkt: &Packet, t: &mut Tuple) -> Result<(), CtOutcome> {
        ports_to_tuple(pkt, t)
    }

    fn quoted_tuple(&self, inner: &InnerPacket, t: &mut Tuple) -> bool {
        quoted_ports(inner, t)
    }

    /// `nf_conntrack_udplite_packet`: no stream delay, assured on any packet after a reply
    /// was seen.
    fn packet(&self, ct: &mut Conntrack, cx: &Cx<'_>, e: EntryCx) -> L4Verdict {
        super::refresh_by_reply(ct, cx, e, TIMEOUT_REPLIED, TIMEOUT_UNREPLIED)
    }
}
