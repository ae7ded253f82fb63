//! The packet REJECT sends back (`nf_send_reset` / `nf_send_unreach` / `icmp_send`), built so the
//! engine can run it through the host's OUTPUT path.

use crate::ext::RejectReply;
use crate::packet::{
    tcp_flags as F, ChecksumMode, Family, FragInfo, IcmpInfo, InnerPacket, LinkInfo, Packet,
    TcpInfo, TcpOptions, L4,
};

/// `orig` as an ICMP error or an IPv6 redirect quotes it, `bytes` of it held: its addresses,
/// protocol, ports, ICMP type and TCP sequence, and how much of its transport header is there.
fn quoted(orig: &Packet, bytes: u32) -> InnerPacket {
    InnerPacket {
        family: orig.family,
        src: orig.src,
        dst: orig.dst,
        proto: orig.proto,
        frag_offset: orig.frag.offset,
        ports: orig.ports(),
        icmp: orig.icmp().map(|i| (i.icmp_type, i.code, i.id)),
        tcp_seq: orig.tcp().map(|t| t.seq),
        l4_len: bytes
            .saturating_sub(u32::from(orig.ip_hdr_len))
            .min(u32::from(u16::MAX)) as u16,
    }
}

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
            // `__icmp_send` echoes the packet's options into the error's own header
            // (`__ip_options_echo`), which the quote's room shrinks by; an option it cannot
            // echo sends nothing.
            let hdr = if v6 {
                hdr
            } else {
                let opts = orig.data.get(20..orig.ip_hdr_len as usize).unwrap_or(&[]);
                hdr + ipv4_options_echo_len(opts)?
            };
            p.ip_hdr_len = hdr as u16;
            p.proto = if v6 { 58 } else { 1 };
            p.ip_len = (hdr + 8 + orig.ip_len).min(limit);
            let inner = quoted(orig, p.ip_len - hdr - 8);
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

/// `__ip_options_echo` on a received IPv4 packet's options (as captured, before
/// `ip_options_compile` recorded the host's address and advanced the pointers): the length of
/// the options `icmp_send` puts in its error's header — the record route and timestamp options
/// the compile accepted, copied whole and padded to 4 bytes (a router alert, a security option
/// are not echoed; after an option the compile refuses, which sends a parameter problem,
/// nothing more is) — or `None` when the echo refuses them (-EINVAL: a record route or
/// timestamp with room for the compile's entry but not for the answer's; the kernel sends no
/// error). A source route is never answered here (`ip_rcv_options` dropped its packet:
/// `accept_source_route`), nor CIPSO (refused without a DOI). A pre-specified timestamp's
/// address is taken as not the host's (no time recorded).
pub(crate) fn ipv4_options_echo_len(opts: &[u8]) -> Option<u32> {
    let (mut len, mut rr, mut ts, mut srr) = (0u32, false, false, false);
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&l) = opts.get(i + 1) else { break };
        let l = usize::from(l);
        if l < 2 || i + l > opts.len() {
            break;
        }
        let o = &opts[i..i + l];
        let ptr = usize::from(o.get(2).copied().unwrap_or(0));
        match o[0] {
            // IPOPT_RR: the compile records an address (pointer + 4) when there is room; the
            // echo then needs room for one more.
            7 => {
                if rr || l < 3 || ptr < 4 || (ptr <= l && ptr + 3 > l) {
                    break;
                }
                rr = true;
                if ptr + 4 <= l && ptr + 7 > l {
                    return None;
                }
                len += l as u32;
            }
            // IPOPT_TIMESTAMP: tsonly takes 4 bytes, tsandaddr 8, at the compile and again
            // at the echo; a full one counts its overflow.
            0x44 => {
                if ts || l < 4 || ptr < 5 {
                    break;
                }
                let flags = o[3] & 0xf;
                let step = if ptr <= l {
                    if ptr + 3 > l || (matches!(flags, 1 | 3) && ptr + 7 > l) {
                        break;
                    }
                    match flags {
                        0 => 4,
                        1 => 8,
                        _ => 0,
                    }
                } else if o[3] >> 4 == 15 {
                    break;
                } else {
                    0
                };
                ts = true;
                if step > 0 && ptr + step <= l && ptr + 2 * step - 1 > l {
                    return None;
                }
                len += l as u32;
            }
            // IPOPT_SSRR, IPOPT_LSRR, IPOPT_RA, IPOPT_CIPSO: what the compile refuses.
            0x83 | 0x89 => {
                if srr || l < 3 || ptr < 4 {
                    break;
                }
                srr = true;
            }
            0x94 if l < 4 => break,
            0x86 => break,
            _ => {}
        }
        i += l;
    }
    Some((len + 3) & !3)
}

/// The redirect an IPv6 router sends the source of `orig`, a packet it forwards back out of
/// the interface it came in on (`ndisc_send_redirect`): from `from` (its link-local address
/// there) with hop limit 255 (its body names the better first hop and `orig`'s destination); a target link-layer address option first when the router's neighbour entry
/// for the target is valid (`tlla`), then the Redirected Header option quoting `orig` within
/// the minimum MTU (`rd_len`, a multiple of 8). Conntrack reads the quoted packet only from
/// the first option (`nf_conntrack_icmpv6_redirect`): `inner` is none behind a target
/// link-layer address.
pub(crate) fn ndisc_redirect(orig: &Packet, from: std::net::IpAddr, tlla: bool) -> Packet {
    let optlen: u32 = if tlla { 8 } else { 0 };
    let rd_len = (1280 - 40 - 40 - optlen).min(orig.ip_len + 8) & !7;
    let ip_len = 40 + 40 + optlen + rd_len;
    let inner = (!tlla).then(|| Box::new(quoted(orig, rd_len - 8)));
    Packet {
        frame: orig.frame,
        ts: orig.ts,
        link: LinkInfo {
            ifname: orig.link.ifname.clone(),
            ..LinkInfo::default()
        },
        family: Family::V6,
        src: from,
        dst: orig.src,
        proto: 58,
        ttl: 255,
        tos: 0,
        ip_len,
        ip_hdr_len: 40,
        frag: FragInfo::default(),
        ip_checksum_ok: true,
        l4: L4::Icmpv6(IcmpInfo {
            icmp_type: 137,
            code: 0,
            id: 0,
            seq: 0,
            inner,
        }),
        l4_checksum_ok: Some(true),
        payload_len: ip_len - 48,
        data: Default::default(),
        ..Packet::default()
    }
}

#[cfg(test)]
mod tests {
    use super::ipv4_options_echo_len as echo;

    #[test]
    fn options_echoed_in_icmp_errors() {
        let rr = [&[7u8, 39, 4][..], &[0; 36], &[0]].concat();
        assert_eq!(echo(&rr), Some(40));
        assert_eq!(echo(&[0x94, 4, 0, 0]), Some(0));
        assert_eq!(
            echo(&[&[0x44u8, 40, 5, 0][..], &[0; 36]].concat()),
            Some(40)
        );
        // Room for the arrival's entry, not the echo's: no error at all.
        assert_eq!(echo(&[7, 10, 4, 0, 0, 0, 0, 0, 0, 0, 1, 1]), None);
        assert_eq!(echo(&[0x44, 12, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        // Refused by the compile (bad pointer, overflow 15): the parameter problem carries
        // nothing.
        assert_eq!(echo(&[7, 7, 3, 0, 0, 0, 0, 1]), Some(0));
        assert_eq!(echo(&[0x44, 8, 9, 0xf0, 0, 0, 0, 0]), Some(0));
        assert_eq!(echo(&[0x44, 8, 9, 0xe0, 0, 0, 0, 0]), Some(8));
        assert_eq!(echo(&[7, 7, 4, 0, 0, 0, 0, 1]), Some(8));
    }
}
