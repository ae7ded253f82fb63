//! The packet REJECT sends back (`nf_send_reset` / `nf_send_unreach` / `icmp_send`), built so the
//! engine can run it through the host's OUTPUT path.

use crate::ext::RejectReply;
use crate::packet::{
    tcp_flags as F, ChecksumMode, Family, FragInfo, IcmpInfo, InnerPacket, LinkInfo, Packet,
    TcpInfo, TcpOptions, L4,
};

/// Whether the kernel answers `orig` at all (`nf_send_unreach`, `nf_send_reset` and their IPv6
/// twins): never a fragment after the first; over IPv6 never a packet without transport bytes
/// (`reject6_csum_ok`: `thoff >= skb->len`, or no next header); and, unless the transport
/// checksum is known good without looking (an offloaded one, `skb_csum_unnecessary`; or
/// `--checksums ignore`), only a packet whose checksum verifies over the bytes REJECT sees —
/// every protocol but a UDP checksum 0 and GRE, ESP, AH, SCTP, UDP-Lite
/// (`nf_reject_verify_csum`), computed as `nf_ip_checksum` / `nf_ip6_checksum` do: with the
/// pseudo-header for TCP and UDP (IPv4) or every protocol (IPv6), over the packet's own
/// transport bytes — a first fragment's alone, which its datagram's checksum does not cover
/// (the decoder's answer for a whole datagram). A capture that cut the bytes is taken as good (see the README's "Not yet modelled").
fn answerable(orig: &Packet, checksums: ChecksumMode) -> bool {
    if orig.frag.offset != 0 {
        return false;
    }
    let hdr = orig.ip_hdr_len as usize;
    let end = orig.ip_len as usize;
    if orig.family == Family::V6 && (orig.proto == 59 || end <= hdr) {
        return false;
    }
    let unchecked = matches!(&orig.l4, L4::Udp(u) if u.checksum == 0)
        || matches!(orig.proto, 47 | 50 | 51 | 132 | 136);
    let known_good = match checksums {
        ChecksumMode::Ignore => true,
        ChecksumMode::Auto => orig
            .anomalies
            .has(crate::packet::Anomalies::L4_CSUM_PARTIAL),
        ChecksumMode::Verify => false,
    };
    if unchecked || known_good {
        return true;
    }
    // Decoded from the whole datagram (before any NAT, whose changes the kernel folds into
    // the checksum: it still verifies).
    if let Some(ok) = orig.l4_checksum_ok {
        return ok;
    }
    let Some(seg) = orig.data.get(hdr..end) else {
        return true;
    };
    use crate::packet::checksum;
    match orig.family {
        Family::V4 if matches!(orig.proto, 6 | 17) => {
            checksum::verify_l4(orig.src, orig.dst, orig.proto, seg)
        }
        // No pseudo-header; the IP header, in the sum too, adds nothing (it sums to 0xffff),
        // so a payload summing to either zero verifies.
        Family::V4 => matches!(checksum::fold(checksum::sum(seg, 0)), 0 | 0xffff),
        Family::V6 => checksum::verify_l4(orig.src, orig.dst, orig.proto, seg),
    }
}

/// The reply to `orig`, or `None` when the kernel sends nothing (non-first fragment, a RST
/// answering a RST, an ICMP error answering an ICMP error, a bad transport checksum, a
/// broadcast or multicast destination).
/// `checksums` says whether the kernel verifies `orig`'s checksum (`nf_ip_checksum`).
pub(crate) fn build_reply(
    orig: &Packet,
    reply: RejectReply,
    src: std::net::IpAddr,
    checksums: ChecksumMode,
) -> Option<Packet> {
    if !answerable(orig, checksums) {
        return None;
    }
    // Neither a reset (`nf_send_reset`: a broadcast or multicast input route;
    // `nf_send_reset6`: a destination that is not unicast) nor an ICMP error answers a
    // packet to a broadcast or multicast address.
    let multicast = match orig.dst {
        std::net::IpAddr::V4(a) => a.is_multicast() || a.is_broadcast(),
        std::net::IpAddr::V6(a) => a.is_multicast(),
    };
    if multicast {
        return None;
    }
    let hdr: u32 = if orig.family == Family::V4 { 20 } else { 40 };
    let mut p = Packet {
        frame: orig.frame,
        ts: orig.ts,
        // The reply leaves through the interface the packet it answers came in on.
        link: LinkInfo {
            ifname: orig.link.ifname.clone(),
            ..LinkInfo::default()
        },
        family: orig.family,
        src,
        dst: orig.src,
        proto: 0,
        ttl: 64,
        tos: 0,
        ip_len: 0,
        ip_hdr_len: hdr as u16,
        frag: FragInfo::default(),
        ip_checksum_ok: true,
        l4: L4::Other,
        l4_checksum_ok: Some(true),
        payload_len: 0,
        data: Default::default(),
        ..Packet::default()
    };
    match reply {
        RejectReply::TcpReset => {
            let th = orig.tcp()?;
            if th.flags & F::RST != 0 {
                return None;
            }
            let payload = orig
                .ip_len
                .saturating_sub(orig.ip_hdr_len as u32 + th.doff as u32 * 4);
            let (seq, ack, flags) = if th.flags & F::ACK != 0 {
                (th.ack, 0, F::RST)
            } else {
                let ack = th
                    .seq
                    .wrapping_add(payload)
                    .wrapping_add(u32::from(th.flags & F::SYN != 0))
                    .wrapping_add(u32::from(th.flags & F::FIN != 0));
                (0, ack, F::RST | F::ACK)
            };
            p.proto = 6;
            p.ip_len = hdr + 20;
            p.l4 = L4::Tcp(TcpInfo {
                sport: th.dport,
                dport: th.sport,
                seq,
                ack,
                flags,
                window: 0,
                doff: 5,
                urgent: 0,
                options: TcpOptions::default(),
            });
        }
        RejectReply::Icmp { icmp_type, code } | RejectReply::Icmpv6 { icmp_type, code } => {
            let v6 = orig.family == Family::V6;
            if let Some(ic) = orig.icmp() {
                let is_err = if v6 {
                    ic.icmp_type < 128
                } else {
                    matches!(ic.icmp_type, 3 | 4 | 5 | 11 | 12) || ic.icmp_type > 18
                };
                if is_err {
                    return None;
                }
            }
            let limit: u32 = if v6 { 1280 } else { 576 };
            p.proto = if v6 { 58 } else { 1 };
            p.ip_len = (hdr + 8 + orig.ip_len).min(limit);
            let inner = InnerPacket {
                family: orig.family,
                src: orig.src,
                dst: orig.dst,
                proto: orig.proto,
                frag_offset: orig.frag.offset,
                ports: orig.ports(),
                icmp: orig.icmp().map(|i| (i.icmp_type, i.code, i.id)),
                tcp_seq: orig.tcp().map(|t| t.seq),
                l4_len: (p.ip_len - hdr - 8)
                    .saturating_sub(u32::from(orig.ip_hdr_len))
                    .min(u32::from(u16::MAX)) as u16,
            };
            let info = IcmpInfo {
                icmp_type,
                code,
                id: 0,
                seq: 0,
                inner: Some(Box::new(inner)),
            };
            p.l4 = if v6 { L4::Icmpv6(info) } else { L4::Icmp(info) };
        }
    }
    Some(p)
}
