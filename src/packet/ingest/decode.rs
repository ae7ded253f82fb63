//! Frame decoding: link layer → IP → upper layer, into one owned [`Packet`].
//!
//! Owns: link-type handling (Ethernet with 802.1Q/802.1ad/QinQ tags, Linux cooked SLL and
//! SLL2, raw IPv4/IPv6 (101, 228, 229 and the DLT_RAW values 12/14), BSD NULL and OpenBSD LOOP),
//! IPv4 and IPv6 (with the extension-header walk pnet does not do), TCP (with options), UDP,
//! ICMP/ICMPv6 (with the packet quoted in error messages), SCTP/DCCP/UDP-Lite ports, and
//! checksum verification (with a UDP tunnel's outer checksum local checksum offload made,
//! `lco_inner_checksum`). pnet_packet provides the fixed header views; everything is
//! bounds-checked, nothing panics on any input.
//!
//! Cost per packet: one allocation (`Packet::data`), plus one for a quoted ICMP inner header
//! and one for TCP SACK blocks when present.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pnet_packet::ethernet::EthernetPacket;
use pnet_packet::icmp::IcmpPacket;
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::Ipv6Packet;
use pnet_packet::tcp::TcpPacket;
use pnet_packet::udp::UdpPacket;

use crate::packet::checksum;
use crate::packet::problem::{ethertype_name, PacketProblem, ProblemKind};
use crate::packet::SharedBytes;
use crate::packet::{
    proto, Anomalies, Family, FragInfo, IcmpInfo, InnerPacket, LinkInfo, Packet, PktType, TcpInfo,
    TcpOptions, Timestamp, UdpInfo, L4,
};

/// LINKTYPE_/DLT_ values fwcheck decodes.
pub mod linktype {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    /// DLT_RAW as most platforms number it (libpcap maps it to LINKTYPE_RAW).
    pub(crate) const DLT_RAW_12: u32 = 12;
    /// DLT_RAW on OpenBSD.
    pub(crate) const DLT_RAW_14: u32 = 14;
    pub(crate) const RAW: u32 = 101;
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub(crate) const LOOP: u32 = 108;
    pub(crate) const LINUX_SLL: u32 = 113;
    pub(crate) const IPV4: u32 = 228;
    pub(crate) const IPV6: u32 = 229;
    pub(crate) const LINUX_SLL2: u32 = 276;

    pub const SUPPORTED: [u32; 10] = [
        NULL, ETHERNET, DLT_RAW_12, DLT_RAW_14, RAW, LOOP, LINUX_SLL, IPV4, IPV6, LINUX_SLL2,
    ];
}

/// True when frames of this link type can be decoded.
pub(crate) fn is_supported_linktype(lt: u32) -> bool {
    linktype::SUPPORTED.contains(&lt)
}

/// `"NUMBER (NAME)"` for a link type, with the tcpdump.org name when known.
pub(crate) fn linktype_label(lt: u32) -> String {
    let name = match lt {
        linktype::DLT_RAW_12 | linktype::DLT_RAW_14 => "RAW".to_string(),
        linktype::IPV4 => "IPV4".to_string(),
        linktype::IPV6 => "IPV6".to_string(),
        linktype::LINUX_SLL2 => "LINUX_SLL2".to_string(),
        _ => match pcap_file::DataLink::from(lt) {
            pcap_file::DataLink::Unknown(_) => "unknown".to_string(),
            d => format!("{d:?}"),
        },
    };
    format!("{lt} ({name})")
}

/// Where a frame came from: everything the decoder needs besides the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameMeta {
    /// 1-based frame number.
    pub frame: u64,
    pub ts: Timestamp,
    pub linktype: u32,
    /// pcapng interface id (0 for classic pcap).
    pub interface: u32,
    /// Length of the frame on the wire (`orig_len`); the captured bytes may be fewer.
    pub wire_len: u32,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

fn mac(b: &[u8], at: usize) -> Option<[u8; 6]> {
    let s = b.get(at..at + 6)?;
    Some([s[0], s[1], s[2], s[3], s[4], s[5]])
}

fn problem(meta: &FrameMeta, kind: ProblemKind, reason: String) -> PacketProblem {
    PacketProblem {
        frame: meta.frame,
        kind,
        reason,
        ts: Some(meta.ts),
        addrs: None,
        ethertype: None,
        arp: None,
    }
}

const ETH_ARP: u16 = 0x0806;

/// An IPv4-over-Ethernet ARP request or reply at `off` (RFC 826: htype 1, ptype 0x0800,
/// hlen 6, plen 4).
fn arp_info(frame: &[u8], off: usize, link: &LinkInfo) -> Option<super::problem::ArpInfo> {
    let a = frame.get(off..off + 28)?;
    if a[..6] != [0, 1, 8, 0, 6, 4] {
        return None;
    }
    let ip = |i: usize| std::net::Ipv4Addr::new(a[i], a[i + 1], a[i + 2], a[i + 3]);
    Some(super::problem::ArpInfo {
        op: u16::from_be_bytes([a[6], a[7]]),
        sender: ip(14),
        target: ip(24),
        src_mac: link.src_mac,
        pkt_type: link.pkt_type,
    })
}

/// A skipped non-IP frame of ethertype `et` at `off`, with what an ARP frame says.
fn non_ip_at(
    meta: &FrameMeta,
    et: u16,
    what: &str,
    frame: &[u8],
    off: usize,
    link: &LinkInfo,
) -> PacketProblem {
    let mut p = non_ip(meta, et, what);
    if et == ETH_ARP {
        p.arp = arp_info(frame, off, link);
    }
    p
}

fn non_ip(meta: &FrameMeta, et: u16, what: &str) -> PacketProblem {
    let reason = match ethertype_name(et) {
        Some(n) => format!("non-IP {what} 0x{et:04x} ({n}) skipped"),
        None => format!("non-IP {what} 0x{et:04x} skipped"),
    };
    let mut p = problem(meta, ProblemKind::NonIp, reason);
    p.ethertype = Some(et);
    p
}

fn pkt_type_from_dst(dst: &[u8; 6]) -> PktType {
    if dst == &[0xff; 6] {
        PktType::Broadcast
    } else if dst[0] & 1 != 0 {
        PktType::Multicast
    } else {
        PktType::Host
    }
}

fn pkt_type_from_sll(t: u16) -> PktType {
    match t {
        1 => PktType::Broadcast,
        2 => PktType::Multicast,
        3 => PktType::OtherHost,
        4 => PktType::Outgoing,
        _ => PktType::Host,
    }
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;

fn is_vlan_tpid(et: u16) -> bool {
    matches!(et, 0x8100 | 0x88a8 | 0x9100)
}

/// Follows VLAN tags starting at `off` (where the tag's TCI begins, `et` being the TPID that
/// announced it). Returns the final ethertype and offset of the network header.
fn skip_vlan_tags(
    meta: &FrameMeta,
    b: &[u8],
    mut et: u16,
    mut off: usize,
    link: &mut LinkInfo,
) -> Result<(u16, usize), PacketProblem> {
    let mut tags = 0;
    while is_vlan_tpid(et) {
        let (Some(tci), Some(next)) = (be16(b, off), be16(b, off + 2)) else {
            return Err(problem(
                meta,
                ProblemKind::LinkTruncated,
                format!("VLAN tag cut short ({} bytes captured)", b.len()),
            ));
        };
        // The id the kernel delivers by: the first tag's, unless it is 0 (a priority tag,
        // cleared; `__netif_receive_skb_core` untags again and looks at the next).
        if matches!(link.vlan, None | Some(0)) {
            link.vlan = Some(tci & 0x0fff);
        }
        et = next;
        off += 4;
        tags += 1;
        if tags > 8 {
            return Err(problem(
                meta,
                ProblemKind::LinkTruncated,
                "more than 8 stacked VLAN tags".to_string(),
            ));
        }
    }
    Ok((et, off))
}

/// Decodes one captured frame of link type `meta.linktype`.
pub fn decode_frame(meta: &FrameMeta, frame: &[u8]) -> Result<Packet, PacketProblem> {
    decode_frame_in(meta, frame, None)
}

/// [`decode_frame`] of a frame held in a shared capture buffer: the packet's bytes are a range
/// of that buffer, not a copy.
pub(crate) fn decode_shared_frame(
    meta: &FrameMeta,
    frame: &SharedBytes,
) -> Result<Packet, PacketProblem> {
    decode_frame_in(meta, frame, Some(frame))
}

/// The packet's bytes: a range of `owner` when it holds them, else a copy.
fn packet_bytes(owner: Option<&SharedBytes>, bytes: &[u8]) -> SharedBytes {
    match owner {
        Some(o) => o.slice_ref(bytes),
        None => SharedBytes::copy_from(bytes),
    }
}

fn decode_frame_in(
    meta: &FrameMeta,
    frame: &[u8],
    owner: Option<&SharedBytes>,
) -> Result<Packet, PacketProblem> {
    let mut link = LinkInfo {
        linktype: meta.linktype,
        interface: meta.interface,
        ..LinkInfo::default()
    };
    let (family, off): (Option<Family>, usize) = match meta.linktype {
        linktype::ETHERNET => {
            let Some(eth) = EthernetPacket::new(frame) else {
                return Err(problem(
                    meta,
                    ProblemKind::LinkTruncated,
                    format!("Ethernet frame of {} bytes, need 14", frame.len()),
                ));
            };
            let dst = eth.get_destination().octets();
            link.dst_mac = Some(dst);
            link.src_mac = Some(eth.get_source().octets());
            link.pkt_type = pkt_type_from_dst(&dst);
            let et = eth.get_ethertype().0;
            let (et, off) = skip_vlan_tags(meta, frame, et, 14, &mut link)?;
            match et {
                ETH_IPV4 => (Some(Family::V4), off),
                ETH_IPV6 => (Some(Family::V6), off),
                x if x < 0x0600 => {
                    let mut p = problem(
                        meta,
                        ProblemKind::NonIp,
                        format!("IEEE 802.3 frame (length field {x}, LLC) skipped"),
                    );
                    p.ethertype = Some(x);
                    return Err(p);
                }
                x => return Err(non_ip_at(meta, x, "ethertype", frame, off, &link)),
            }
        }
        linktype::LINUX_SLL => {
            // Read by hand: pnet_packet 0.35's SLLPacket view indexes past short buffers
            // (found by the fuzz tests).
            if frame.len() < 16 {
                return Err(problem(
                    meta,
                    ProblemKind::LinkTruncated,
                    format!("Linux cooked (SLL) frame of {} bytes, need 16", frame.len()),
                ));
            }
            link.pkt_type = pkt_type_from_sll(u16::from_be_bytes([frame[0], frame[1]]));
            if u16::from_be_bytes([frame[4], frame[5]]) == 6 {
                link.src_mac = mac(frame, 6);
            }
            let et = u16::from_be_bytes([frame[14], frame[15]]);
            let (et, off) = skip_vlan_tags(meta, frame, et, 16, &mut link)?;
            match et {
                ETH_IPV4 => (Some(Family::V4), off),
                ETH_IPV6 => (Some(Family::V6), off),
                x => return Err(non_ip_at(meta, x, "protocol", frame, off, &link)),
            }
        }
        linktype::LINUX_SLL2 => {
            if frame.len() < 20 {
                return Err(problem(
                    meta,
                    ProblemKind::LinkTruncated,
                    format!(
                        "Linux cooked v2 (SLL2) frame of {} bytes, need 20",
                        frame.len()
                    ),
                ));
            }
            let et = u16::from_be_bytes([frame[0], frame[1]]);
            link.ifindex = be32(frame, 4);
            link.pkt_type = pkt_type_from_sll(frame[10] as u16);
            if frame[11] == 6 {
                link.src_mac = mac(frame, 12);
            }
            let (et, off) = skip_vlan_tags(meta, frame, et, 20, &mut link)?;
            match et {
                ETH_IPV4 => (Some(Family::V4), off),
                ETH_IPV6 => (Some(Family::V6), off),
                x => return Err(non_ip_at(meta, x, "protocol", frame, off, &link)),
            }
        }
        linktype::RAW | linktype::DLT_RAW_12 | linktype::DLT_RAW_14 => (None, 0),
        linktype::IPV4 => (Some(Family::V4), 0),
        linktype::IPV6 => (Some(Family::V6), 0),
        linktype::NULL | linktype::LOOP => {
            let Some(raw) = frame.get(..4) else {
                return Err(problem(
                    meta,
                    ProblemKind::LinkTruncated,
                    format!("loopback frame of {} bytes, need 4", frame.len()),
                ));
            };
            let be = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
            let af = if meta.linktype == linktype::LOOP {
                be
            } else {
                // Host byte order of the capturing machine: the family is small, so a value
                // with high bits set was written in the other order.
                let le = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
                if le <= 0xffff {
                    le
                } else {
                    be
                }
            };
            match af {
                2 => (Some(Family::V4), 4),
                10 | 24 | 28 | 30 => (Some(Family::V6), 4),
                x => {
                    let mut p = problem(
                        meta,
                        ProblemKind::NonIp,
                        format!("loopback address family {x} skipped"),
                    );
                    p.ethertype = u16::try_from(x).ok();
                    return Err(p);
                }
            }
        }
        other => {
            return Err(problem(
                meta,
                ProblemKind::UnsupportedLinkType,
                format!("unsupported link type {}", linktype_label(other)),
            ))
        }
    };
    let l3 = frame.get(off..).unwrap_or(&[]);
    let wire = (meta.wire_len as usize)
        .max(frame.len())
        .saturating_sub(off);
    decode_ip_in(meta, link, l3, wire, family, owner)
}

/// Decodes an IP packet starting at `bytes[0]`. `wire_len` is the number of IP-layer bytes the
/// frame had on the wire (≥ `bytes.len()`); `family` is what the link layer announced (`None`
/// for raw IP: decided by the version nibble).
pub fn decode_ip(
    meta: &FrameMeta,
    link: LinkInfo,
    bytes: &[u8],
    wire_len: usize,
    family: Option<Family>,
) -> Result<Packet, PacketProblem> {
    decode_ip_in(meta, link, bytes, wire_len, family, None)
}

/// [`decode_ip`] of bytes that `owner`, when given, holds (see [`packet_bytes`]).
pub(crate) fn decode_ip_in(
    meta: &FrameMeta,
    link: LinkInfo,
    bytes: &[u8],
    wire_len: usize,
    family: Option<Family>,
    owner: Option<&SharedBytes>,
) -> Result<Packet, PacketProblem> {
    let wire_len = wire_len.max(bytes.len());
    let Some(&first) = bytes.first() else {
        return Err(problem(
            meta,
            ProblemKind::IpTruncated,
            "no IP header bytes captured".to_string(),
        ));
    };
    let version = first >> 4;
    let fam = match (family, version) {
        (Some(Family::V4), 4) | (None, 4) => Family::V4,
        (Some(Family::V6), 6) | (None, 6) => Family::V6,
        (Some(f), v) => {
            return Err(problem(
                meta,
                ProblemKind::IpVersion,
                format!("link layer says IPv{} but IP version is {v}", f.number()),
            ))
        }
        (None, v) => {
            return Err(problem(
                meta,
                ProblemKind::IpVersion,
                format!("raw IP frame with IP version {v}"),
            ))
        }
    };
    match fam {
        Family::V4 => decode_v4(meta, link, bytes, wire_len, owner),
        Family::V6 => decode_v6(meta, link, bytes, wire_len, owner),
    }
}

fn with_addrs(mut p: PacketProblem, src: IpAddr, dst: IpAddr) -> PacketProblem {
    p.addrs = Some((src, dst));
    p
}

fn ipv4_options_malformed(opts: &[u8]) -> bool {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => return false,
            1 => i += 1,
            _ => {
                let Some(&l) = opts.get(i + 1) else {
                    return true;
                };
                if l < 2 || i + l as usize > opts.len() {
                    return true;
                }
                i += l as usize;
            }
        }
    }
    false
}

fn decode_v4(
    meta: &FrameMeta,
    link: LinkInfo,
    bytes: &[u8],
    wire_len: usize,
    owner: Option<&SharedBytes>,
) -> Result<Packet, PacketProblem> {
    let Some(ip) = Ipv4Packet::new(bytes) else {
        return Err(problem(
            meta,
            ProblemKind::IpTruncated,
            format!(
                "IPv4 header cut short: {} bytes captured, need 20",
                bytes.len()
            ),
        ));
    };
    let src = IpAddr::V4(ip.get_source());
    let dst = IpAddr::V4(ip.get_destination());
    let ihl = ip.get_header_length() as usize;
    if ihl < 5 {
        return Err(with_addrs(
            problem(
                meta,
                ProblemKind::IpBadHeader,
                format!("IPv4 header length {ihl} words < 5"),
            ),
            src,
            dst,
        ));
    }
    let hl = ihl * 4;
    let tot = ip.get_total_length() as usize;
    if tot < hl {
        return Err(with_addrs(
            problem(
                meta,
                ProblemKind::IpBadHeader,
                format!("IPv4 total length {tot} < header length {hl}"),
            ),
            src,
            dst,
        ));
    }
    if bytes.len() < hl {
        return Err(with_addrs(
            problem(
                meta,
                ProblemKind::IpTruncated,
                format!(
                    "IPv4 header with options cut short: {} bytes captured, header is {hl}",
                    bytes.len()
                ),
            ),
            src,
            dst,
        ));
    }
    let mut anomalies = Anomalies::empty();
    if wire_len < tot {
        anomalies.set(Anomalies::IP_TRUNCATED);
    } else if bytes.len() < tot {
        anomalies.set(Anomalies::CAP_TRUNCATED);
    }
    if wire_len > tot {
        anomalies.set(Anomalies::IP_PADDED);
    }
    if hl > 20 && ipv4_options_malformed(&bytes[20..hl]) {
        anomalies.set(Anomalies::IP_BAD_OPTIONS);
    }
    let data_end = bytes.len().min(tot);
    let data = packet_bytes(owner, &bytes[..data_end]);
    let ip_checksum_ok = checksum::verify(&bytes[..hl]);
    let flags = ip.get_flags();
    let frag = FragInfo {
        id: ip.get_identification() as u32,
        offset: ip.get_fragment_offset(),
        more_fragments: flags & 1 != 0,
        dont_fragment: flags & 2 != 0,
        reassembled: false,
        fragments: 0,
        max_fragment: 0,
        v6_header: false,
    };
    let protocol = ip.get_next_level_protocol().0;
    let mut pkt = Packet {
        frame: meta.frame,
        ts: meta.ts,
        link,
        family: Family::V4,
        src,
        dst,
        proto: protocol,
        ttl: ip.get_ttl(),
        tos: bytes[1],
        ip_len: tot as u32,
        ip_hdr_len: hl as u16,
        frag,
        ip_checksum_ok,
        l4: L4::Other,
        l4_checksum_ok: None,
        payload_len: 0,
        data,
        anomalies,
        reassembled_from: None,
        frag_bounds: None,
    };
    fill_l4(&mut pkt, &bytes[..data_end]);
    Ok(pkt)
}

/// Result of walking an IPv6 extension header chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExtWalk {
    /// Upper-layer protocol (or the header where the walk stopped).
    pub proto: u8,
    /// Offset of the upper-layer header from the start of the IPv6 header.
    pub offset: usize,
    /// Fragment header facts: (offset in 8-byte units, more fragments, identification) and the
    /// offset of the fragment header itself.
    pub frag: Option<(u16, bool, u32, usize)>,
    /// The chain ran past `limit`.
    pub(crate) overrun: bool,
}

/// Walks extension headers (hop-by-hop 0, routing 43, fragment 44, destination options 60,
/// AH 51) from `start` in `b`, up to `limit` bytes. ESP (50), no-next-header (59) and any
/// upper-layer protocol end the walk; so does a non-first fragment (its payload is not a
/// header).
pub(crate) fn walk_ipv6_ext(b: &[u8], first: u8, start: usize, limit: usize) -> ExtWalk {
    let limit = limit.min(b.len());
    let mut nh = first;
    let mut off = start;
    let mut frag = None;
    loop {
        match nh {
            proto::HOPOPTS | proto::IPV6_ROUTE | proto::IPV6_OPTS | proto::AH => {
                if off + 2 > limit {
                    return ExtWalk {
                        proto: nh,
                        offset: off,
                        frag,
                        overrun: true,
                    };
                }
                let len = if nh == proto::AH {
                    (b[off + 1] as usize + 2) * 4
                } else {
                    (b[off + 1] as usize + 1) * 8
                };
                if off + len > limit {
                    return ExtWalk {
                        proto: nh,
                        offset: off,
                        frag,
                        overrun: true,
                    };
                }
                nh = b[off];
                off += len;
            }
            proto::IPV6_FRAG => {
                if off + 8 > limit {
                    return ExtWalk {
                        proto: nh,
                        offset: off,
                        frag,
                        overrun: true,
                    };
                }
                let fo = u16::from_be_bytes([b[off + 2], b[off + 3]]);
                let id = u32::from_be_bytes([b[off + 4], b[off + 5], b[off + 6], b[off + 7]]);
                let unit_off = fo >> 3;
                if frag.is_none() {
                    frag = Some((unit_off, fo & 1 != 0, id, off));
                }
                nh = b[off];
                off += 8;
                if unit_off != 0 {
                    return ExtWalk {
                        proto: nh,
                        offset: off,
                        frag,
                        overrun: false,
                    };
                }
            }
            _ => {
                return ExtWalk {
                    proto: nh,
                    offset: off,
                    frag,
                    overrun: false,
                }
            }
        }
    }
}

/// `ipv6_skip_exthdr` (net/ipv6/exthdrs_core.c) over `b[..len]`, as conntrack's
/// `get_l4proto` and the defragmenter's `ipv6frag_thdr_truncated` call it: from `start`, with
/// header `first` there, skips hop-by-hop, routing, fragment (a first one), AH and destination
/// options, reading only each header's first two bytes (a fragment header's first four), so
/// the offset it returns may lie past `len` where the last header it skipped claims more
/// bytes than the datagram has. `None` where it gives up: no next header, or a header whose
/// first bytes are missing. Returns the header it stopped at, its offset and the last
/// fragment header's offset field (0 without one). For the rare datagram whose chain
/// [`walk_ipv6_ext`] could not walk ([`Anomalies::IPV6_BAD_EXT`]).
pub(crate) fn ipv6_skip_exthdr(
    b: &[u8],
    first: u8,
    start: usize,
    len: usize,
) -> Option<(u8, usize, u16)> {
    let len = len.min(b.len());
    let mut nh = first;
    let mut off = start;
    let mut frag_off = 0u16;
    while matches!(
        nh,
        proto::HOPOPTS
            | proto::IPV6_ROUTE
            | proto::IPV6_FRAG
            | proto::AH
            | proto::IPV6_NONXT
            | proto::IPV6_OPTS
    ) {
        if nh == proto::IPV6_NONXT || off + 2 > len {
            return None;
        }
        let hdrlen = match nh {
            proto::IPV6_FRAG => {
                if off + 4 > len {
                    return None;
                }
                frag_off = u16::from_be_bytes([b[off + 2], b[off + 3]]);
                if frag_off & !7 != 0 {
                    break;
                }
                8
            }
            proto::AH => (b[off + 1] as usize + 2) << 2,
            _ => (b[off + 1] as usize + 1) << 3,
        };
        nh = b[off];
        off += hdrlen;
    }
    Some((nh, off, frag_off))
}

fn decode_v6(
    meta: &FrameMeta,
    link: LinkInfo,
    bytes: &[u8],
    wire_len: usize,
    owner: Option<&SharedBytes>,
) -> Result<Packet, PacketProblem> {
    let Some(ip) = Ipv6Packet::new(bytes) else {
        return Err(problem(
            meta,
            ProblemKind::IpTruncated,
            format!(
                "IPv6 header cut short: {} bytes captured, need 40",
                bytes.len()
            ),
        ));
    };
    let src = IpAddr::V6(ip.get_source());
    let dst = IpAddr::V6(ip.get_destination());
    let ip_len = 40 + ip.get_payload_length() as usize;
    let mut anomalies = Anomalies::empty();
    if wire_len < ip_len {
        anomalies.set(Anomalies::IP_TRUNCATED);
    } else if bytes.len() < ip_len {
        anomalies.set(Anomalies::CAP_TRUNCATED);
    }
    if wire_len > ip_len {
        anomalies.set(Anomalies::IP_PADDED);
    }
    let data_end = bytes.len().min(ip_len);
    let data = packet_bytes(owner, &bytes[..data_end]);
    let tc = ((bytes[0] & 0x0f) << 4) | (bytes[1] >> 4);
    let walk = walk_ipv6_ext(&data, ip.get_next_header().0, 40, data.len());
    let mut frag = FragInfo::default();
    if let Some((off, mf, id, _)) = walk.frag {
        frag.offset = off;
        frag.more_fragments = mf;
        frag.id = id;
        frag.v6_header = true;
    }
    let mut pkt = Packet {
        frame: meta.frame,
        ts: meta.ts,
        link,
        family: Family::V6,
        src,
        dst,
        proto: walk.proto,
        ttl: ip.get_hop_limit(),
        tos: tc,
        ip_len: ip_len as u32,
        ip_hdr_len: walk.offset.min(ip_len).min(u16::MAX as usize) as u16,
        frag,
        ip_checksum_ok: true,
        l4: L4::Other,
        l4_checksum_ok: None,
        payload_len: 0,
        data,
        anomalies,
        reassembled_from: None,
        frag_bounds: None,
    };
    if walk.overrun {
        // The chain does not fit in what we have. If it does not fit in the datagram either,
        // the packet itself is malformed; otherwise the capture cut it.
        let ext_end_fits_datagram = pkt.data.len() >= ip_len;
        if ext_end_fits_datagram {
            pkt.anomalies.set(Anomalies::IPV6_BAD_EXT);
        }
        pkt.l4 = L4::Truncated;
        pkt.payload_len = 0;
        return Ok(pkt);
    }
    fill_l4(&mut pkt, &bytes[..data_end]);
    Ok(pkt)
}

/// Decodes the upper layer of `pkt` (IP fields already set), setting `l4`, `l4_checksum_ok`,
/// `payload_len` and L4 anomalies.
fn fill_l4(pkt: &mut Packet, data: &[u8]) {
    let hl = pkt.ip_hdr_len as usize;
    let l4_len = pkt.ip_len.saturating_sub(pkt.ip_hdr_len as u32);
    if pkt.frag.offset != 0 {
        // Non-first fragment: no header here.
        pkt.l4 = L4::Other;
        pkt.payload_len = l4_len;
        return;
    }
    let seg = data.get(hl..).unwrap_or(&[]);
    let complete = seg.len() as u32 >= l4_len && !pkt.frag.more_fragments;
    let seg_full = &seg[..seg.len().min(l4_len as usize)];
    let fam = pkt.family;
    match (pkt.proto, fam) {
        (proto::TCP, _) => decode_tcp(pkt, seg, seg_full, l4_len, complete),
        (proto::UDP, _) => decode_udp(pkt, seg, seg_full, l4_len, complete),
        (proto::ICMP, Family::V4) | (proto::ICMPV6, Family::V6) => {
            decode_icmp(pkt, seg, seg_full, l4_len, complete)
        }
        (proto::SCTP | proto::DCCP | proto::UDPLITE, _) => {
            if l4_len < 4 {
                pkt.l4 = L4::Truncated;
                pkt.anomalies.set(Anomalies::L4_SHORT);
            } else if let (Some(sport), Some(dport)) = (be16(seg, 0), be16(seg, 2)) {
                pkt.l4 = L4::Ports { sport, dport };
            } else {
                pkt.l4 = L4::Truncated;
            }
            pkt.payload_len = l4_len;
        }
        _ => {
            pkt.l4 = L4::Other;
            pkt.payload_len = l4_len;
        }
    }
}

fn short(pkt: &mut Packet, seg: &[u8], need: usize, l4_len: u32) -> bool {
    if (l4_len as usize) < need {
        pkt.l4 = L4::Truncated;
        pkt.anomalies.set(Anomalies::L4_SHORT);
        pkt.payload_len = 0;
        return true;
    }
    if seg.len() < need {
        pkt.l4 = L4::Truncated;
        pkt.payload_len = l4_len.saturating_sub(need as u32);
        return true;
    }
    false
}

fn decode_tcp(pkt: &mut Packet, seg: &[u8], seg_full: &[u8], l4_len: u32, complete: bool) {
    if short(pkt, seg, 20, l4_len) {
        return;
    }
    let Some(t) = TcpPacket::new(seg) else {
        pkt.l4 = L4::Truncated;
        return;
    };
    let doff = t.get_data_offset();
    let hdr = doff as usize * 4;
    if doff < 5 || hdr as u32 > l4_len {
        pkt.anomalies.set(Anomalies::TCP_BAD_DOFF);
    }
    let options = if hdr > 20 {
        let end = hdr.min(seg_full.len());
        let mut o = parse_tcp_options(seg_full.get(20..end).unwrap_or(&[]));
        o.cut = seg_full.len() < hdr && (hdr as u32) <= l4_len;
        o
    } else {
        TcpOptions::default()
    };
    pkt.l4 = L4::Tcp(TcpInfo {
        sport: t.get_source(),
        dport: t.get_destination(),
        seq: t.get_sequence(),
        ack: t.get_acknowledgement(),
        flags: t.get_flags(),
        window: t.get_window(),
        doff,
        urgent: t.get_urgent_ptr(),
        options,
    });
    pkt.payload_len = l4_len.saturating_sub(hdr.max(20) as u32);
    if complete {
        let ok = checksum::verify_l4(pkt.src, pkt.dst, proto::TCP, seg_full);
        pkt.l4_checksum_ok = Some(ok);
        if !ok {
            mark_partial(pkt, proto::TCP, l4_len, t.get_checksum());
        }
    }
}

fn decode_udp(pkt: &mut Packet, seg: &[u8], seg_full: &[u8], l4_len: u32, complete: bool) {
    if short(pkt, seg, 8, l4_len) {
        return;
    }
    let Some(u) = UdpPacket::new(seg) else {
        pkt.l4 = L4::Truncated;
        return;
    };
    let length = u.get_length();
    if length < 8 || length as u32 > l4_len {
        pkt.anomalies.set(Anomalies::UDP_BAD_LEN);
    }
    let ck = u.get_checksum();
    pkt.l4 = L4::Udp(UdpInfo {
        sport: u.get_source(),
        dport: u.get_destination(),
        length,
        checksum: ck,
    });
    pkt.payload_len = l4_len - 8;
    if complete {
        let ok = if ck == 0 {
            // "no checksum": allowed over IPv4, invalid over IPv6 (RFC 8200 §8.1).
            pkt.family == Family::V4
        } else {
            checksum::verify_l4(pkt.src, pkt.dst, proto::UDP, seg_full)
        };
        pkt.l4_checksum_ok = Some(ok);
        if !ok && ck != 0 {
            mark_partial(pkt, proto::UDP, l4_len, ck);
            if !pkt.anomalies.has(Anomalies::L4_CSUM_PARTIAL)
                && lco_inner_checksum(pkt.src, pkt.dst, seg_full).is_some()
            {
                pkt.anomalies.set(Anomalies::L4_CSUM_PARTIAL);
            }
        }
    }
}

/// Flags a checksum that fails verification but holds the pseudo-header sum: offloaded by the
/// sender (`CHECKSUM_PARTIAL`), see [`Anomalies::L4_CSUM_PARTIAL`].
fn mark_partial(pkt: &mut Packet, proto: u8, l4_len: u32, field: u16) {
    if checksum::is_partial_l4(pkt.src, pkt.dst, proto, l4_len, field) {
        pkt.anomalies.set(Anomalies::L4_CSUM_PARTIAL);
    }
}

/// UDP destination ports of the encapsulations whose outer checksum [`lco_inner_checksum`]
/// recognises: VXLAN (IANA's 4789, and 8472, Linux's old default), Geneve (6081).
const VXLAN_PORTS: [u16; 2] = [4789, 8472];
const GENEVE_PORT: u16 = 6081;

/// Offset in `b` of the network header inside an Ethernet frame starting at `at` (802.1Q,
/// 802.1ad tags skipped, 8 at most), and its ethertype.
fn inner_ethernet(b: &[u8], at: usize) -> Option<(u16, usize)> {
    let mut et = be16(b, at + 12)?;
    let mut off = at + 14;
    let mut tags = 0;
    while is_vlan_tpid(et) {
        tags += 1;
        if tags > 8 {
            return None;
        }
        et = be16(b, off + 2)?;
        off += 4;
    }
    Some((et, off))
}

/// Local checksum offload (LCO) of a UDP tunnel's outer checksum. A tunnel device (VXLAN,
/// Geneve) encapsulating a packet whose TCP/UDP checksum is left for offload
/// (`CHECKSUM_PARTIAL`: the field holds the inner pseudo-header seed) computes the outer UDP
/// checksum without summing the inner segment (`udp_set_csum` / `udp6_set_csum`, with
/// `skb->ip_summed == CHECKSUM_PARTIAL`):
///
/// ```text
/// uh->check = 0;
/// uh->check = udp_v4_check(len, saddr, daddr, lco_csum(skb));
/// // lco_csum (include/linux/skbuff.h): the outer bytes up to the inner checksum's segment,
/// // plus the complement of the inner seed, which is what the inner segment sums to once
/// // its checksum is filled in
/// partial = ~csum_unfold(*(__sum16 *)(csum_start + skb->csum_offset));
/// return csum_partial(l4_hdr, csum_start - l4_hdr, partial);  // skb_checksum_start_offset
/// ```
///
/// The outer checksum is thus right only once the inner one is completed (by the NIC, or by
/// `skb_checksum_help` on a path without offload); a capture on the sending host, a veth or a
/// bridge shows it before. Such an skb stays `CHECKSUM_PARTIAL` across a veth, and the
/// receiving kernel verifies neither checksum (`nf_ip_checksum`, `nf_ip6_checksum`).
///
/// Given the outer UDP segment `seg` (header included, whole, between `src` and `dst`) whose
/// checksum failed: when it is VXLAN (UDP port 4789 or 8472, 8-byte header, an Ethernet frame
/// maybe VLAN-tagged) or Geneve (6081, options, an Ethernet frame or an IP packet) around an
/// unfragmented IPv4/IPv6 TCP/UDP packet whose checksum holds its pseudo-header seed, and the
/// outer checksum verifies once that inner checksum is completed (computed over the inner
/// segment with its pseudo-header), returns where the inner checksum lies: the offset in `seg`
/// of the inner transport header (`csum_start`) and of the field in it (`csum_offset`).
/// `None` otherwise (the inner packet not whole in `seg` among them). Runs only for a checksum
/// that already failed; costs a sum over the inner segment and one over `seg`.
pub(crate) fn lco_inner_checksum(src: IpAddr, dst: IpAddr, seg: &[u8]) -> Option<(usize, usize)> {
    let dport = be16(seg, 2)?;
    let (et, l3) = if VXLAN_PORTS.contains(&dport) {
        inner_ethernet(seg, 16)?
    } else if dport == GENEVE_PORT {
        let b0 = *seg.get(8)?;
        if b0 >> 6 != 0 {
            return None; // version 0 only
        }
        let at = 16 + (b0 & 0x3f) as usize * 4;
        match be16(seg, 10)? {
            0x6558 => inner_ethernet(seg, at)?, // transparent Ethernet bridging
            et => (et, at),
        }
    } else {
        return None;
    };
    let v = *seg.get(l3)? >> 4;
    let (isrc, idst, proto, l4, end) = match (et, v) {
        (ETH_IPV4, 4) => {
            let h = seg.get(l3..l3 + 20)?;
            let ihl = (h[0] & 0x0f) as usize * 4;
            let total = u16::from_be_bytes([h[2], h[3]]) as usize;
            if ihl < 20 || total < ihl || u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0 {
                return None; // a fragment is never CHECKSUM_PARTIAL
            }
            let a = |i: usize| IpAddr::V4(Ipv4Addr::new(h[i], h[i + 1], h[i + 2], h[i + 3]));
            (a(12), a(16), h[9], l3 + ihl, l3 + total)
        }
        (ETH_IPV6, 6) => {
            let h = seg.get(l3..l3 + 40)?;
            let end = l3 + 40 + u16::from_be_bytes([h[4], h[5]]) as usize;
            let w = walk_ipv6_ext(seg, h[6], l3 + 40, end);
            if w.overrun || w.frag.is_some() {
                return None;
            }
            let a = |i: usize| {
                let o: [u8; 16] = h[i..i + 16].try_into().unwrap_or_default();
                IpAddr::V6(Ipv6Addr::from(o))
            };
            (a(8), a(24), w.proto, w.offset, end)
        }
        _ => return None,
    };
    let field_at = match proto {
        proto::TCP => 16,
        proto::UDP => 6,
        _ => return None,
    };
    let inner = seg.get(l4..end)?;
    let field = be16(inner, field_at)?;
    if inner.len() < if proto == proto::TCP { 20 } else { 8 }
        || !checksum::is_partial_l4(isrc, idst, proto, inner.len() as u32, field)
    {
        return None;
    }
    // The inner checksum completed: its segment summed with the field taken out.
    let pseudo = checksum::pseudo_header(isrc, idst, proto, inner.len() as u32);
    let completed = !checksum::fold(checksum::sum(inner, pseudo) + u64::from(!field));
    // The outer sum with the field's bytes replaced by the completed value. Every header
    // before it has an even length, so the field is a word of the outer sum (`lco_csum`
    // relies on that too).
    if l4 % 2 != 0 {
        return None;
    }
    let outer = checksum::sum(
        seg,
        checksum::pseudo_header(src, dst, proto::UDP, seg.len() as u32),
    );
    (checksum::fold(outer + u64::from(!field) + u64::from(completed)) == 0xffff)
        .then_some((l4, field_at))
}

/// ICMP types whose body quotes the offending packet: IPv4's `icmp_is_err` list, and for
/// ICMPv6 every type below 128 (RFC 4443's error messages: `nf_conntrack_icmpv6_error` hands
/// each of them, known or not, to `nf_conntrack_inet_error`).
pub(crate) fn icmp_is_error(family: Family, icmp_type: u8) -> bool {
    match family {
        Family::V4 => matches!(icmp_type, 3 | 4 | 5 | 11 | 12),
        Family::V6 => icmp_type < 128,
    }
}

fn decode_icmp(pkt: &mut Packet, seg: &[u8], seg_full: &[u8], l4_len: u32, complete: bool) {
    if short(pkt, seg, 8, l4_len) {
        return;
    }
    let Some(ic) = IcmpPacket::new(seg) else {
        pkt.l4 = L4::Truncated;
        return;
    };
    let icmp_type = ic.get_icmp_type().0;
    let code = ic.get_icmp_code().0;
    let fam = pkt.family;
    let inner = if icmp_is_error(fam, icmp_type) {
        parse_inner(fam, seg_full.get(8..).unwrap_or(&[]))
    } else if fam == Family::V6 && icmp_type == 137 {
        redirect_inner(seg_full)
    } else {
        None
    };
    let info = IcmpInfo {
        icmp_type,
        code,
        id: be16(seg, 4).unwrap_or(0),
        seq: be16(seg, 6).unwrap_or(0),
        inner,
    };
    pkt.l4 = match fam {
        Family::V4 => L4::Icmp(info),
        Family::V6 => L4::Icmpv6(info),
    };
    pkt.payload_len = l4_len - 8;
    if complete {
        pkt.l4_checksum_ok = Some(match fam {
            Family::V4 => checksum::verify(seg_full),
            Family::V6 => checksum::verify_l4(pkt.src, pkt.dst, proto::ICMPV6, seg_full),
        });
    }
}

/// ICMPv6 redirect: the quoted packet is in the Redirected Header option, if it is the first
/// option (what conntrack looks at).
fn redirect_inner(seg: &[u8]) -> Option<Box<InnerPacket>> {
    // 8 bytes header + 16 target + 16 destination, then options.
    let opt = seg.get(40..)?;
    if *opt.first()? != 4 {
        return None;
    }
    let len = *opt.get(1)? as usize * 8;
    let body = opt.get(8..len.max(8).min(opt.len()))?;
    parse_inner(Family::V6, body)
}

/// ICMPv6 redirect (`seg`: from its ICMPv6 header): the packet quoted in its Redirected
/// Header option wherever it stands among the options (`ndisc_send_redirect` puts a target
/// link-layer address option first, which conntrack stops at, see [`redirect_inner`]): what
/// recognises a captured redirect as the one the router made.
pub(crate) fn redirect_quoted(seg: &[u8]) -> Option<Box<InnerPacket>> {
    let mut opt = seg.get(40..)?;
    while opt.len() >= 8 {
        let len = usize::from(opt[1]) * 8;
        if len == 0 {
            return None;
        }
        if opt[0] == 4 {
            return parse_inner(Family::V6, opt.get(8..len.min(opt.len()))?);
        }
        opt = opt.get(len..)?;
    }
    None
}

/// Parses the header of a packet quoted in an ICMP error (`b` starts at the quoted IP header).
pub(crate) fn parse_inner(outer: Family, b: &[u8]) -> Option<Box<InnerPacket>> {
    let version = *b.first()? >> 4;
    let (family, src, dst, protocol, frag_offset, l4): (Family, IpAddr, IpAddr, u8, u16, &[u8]) =
        match (outer, version) {
            (Family::V4, 4) => {
                let h = b.get(..20)?;
                let ihl = (h[0] & 0x0f) as usize * 4;
                if ihl < 20 {
                    return None;
                }
                let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
                let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
                let fo = u16::from_be_bytes([h[6], h[7]]) & 0x1fff;
                (
                    Family::V4,
                    src.into(),
                    dst.into(),
                    h[9],
                    fo,
                    b.get(ihl..).unwrap_or(&[]),
                )
            }
            (Family::V6, 6) => {
                let h = b.get(..40)?;
                let mut s = [0u8; 16];
                let mut d = [0u8; 16];
                s.copy_from_slice(&h[8..24]);
                d.copy_from_slice(&h[24..40]);
                let w = walk_ipv6_ext(b, h[6], 40, b.len());
                let fo = w.frag.map(|f| f.0).unwrap_or(0);
                let l4 = if w.overrun {
                    &[][..]
                } else {
                    b.get(w.offset..).unwrap_or(&[])
                };
                (
                    Family::V6,
                    Ipv6Addr::from(s).into(),
                    Ipv6Addr::from(d).into(),
                    w.proto,
                    fo,
                    l4,
                )
            }
            _ => return None,
        };
    let first = frag_offset == 0;
    let ports = match protocol {
        proto::TCP | proto::UDP | proto::UDPLITE | proto::SCTP | proto::DCCP if first => {
            match (be16(l4, 0), be16(l4, 2)) {
                (Some(s), Some(d)) => Some((s, d)),
                _ => None,
            }
        }
        _ => None,
    };
    let is_icmp = match family {
        Family::V4 => protocol == proto::ICMP,
        Family::V6 => protocol == proto::ICMPV6,
    };
    let icmp = if is_icmp && first && l4.len() >= 8 {
        Some((l4[0], l4[1], u16::from_be_bytes([l4[4], l4[5]])))
    } else {
        None
    };
    let tcp_seq = if protocol == proto::TCP && first {
        be32(l4, 4)
    } else {
        None
    };
    Some(Box::new(InnerPacket {
        family,
        src,
        dst,
        proto: protocol,
        frag_offset,
        ports,
        icmp,
        tcp_seq,
        l4_len: l4.len().min(u16::MAX as usize) as u16,
    }))
}

/// Parses a TCP options area. `kinds` follows the kernel's `tcp_find_option` walk (xt_tcpudp:
/// kinds 0 and 1 are one byte, other kinds jump by their length byte, EOL does not stop it);
/// the values follow `tcp_parse_options` (EOL stops; a bad length ends the walk and sets
/// `malformed`; a value is taken only when its length is the expected one).
pub(crate) fn parse_tcp_options(opts: &[u8]) -> TcpOptions {
    // Everything is gathered in locals (kept in registers) and the struct is built once at
    // the end: byte-wise updates of the struct followed by its copy-out stall store
    // forwarding on this hot path.
    let (mut k0, mut k1, mut k2, mut k3) = (0u64, 0u64, 0u64, 0u64);
    let mut mss = None;
    let mut wscale = None;
    let mut sack_perm = false;
    let mut sack = Vec::new();
    let mut timestamp = None;
    let mut malformed = false;
    // One pass does both walks: they advance identically except that the value walk stops
    // for good at EOL or at the first bad length.
    let mut values = true;
    let mut i = 0;
    while i < opts.len() {
        let k = opts[i];
        let bit = 1u64 << (k & 63);
        match k >> 6 {
            0 => k0 |= bit,
            1 => k1 |= bit,
            2 => k2 |= bit,
            _ => k3 |= bit,
        }
        if k < 2 {
            if k == 0 {
                values = false;
            }
            i += 1;
            continue;
        }
        let l = opts.get(i + 1).copied().unwrap_or(0) as usize;
        if values {
            if l < 2 || i + l > opts.len() {
                malformed = true;
                values = false;
            } else {
                let v = &opts[i + 2..i + l];
                match (k, l) {
                    (2, 4) => mss = Some(u16::from_be_bytes([v[0], v[1]])),
                    (3, 3) => wscale = Some(v[0]),
                    (4, 2) => sack_perm = true,
                    (5, _) if l >= 10 && (l - 2).is_multiple_of(8) => {
                        for b in v.chunks_exact(8).take(4) {
                            sack.push((
                                u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                                u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                            ));
                        }
                    }
                    (8, 10) => {
                        timestamp = Some((
                            u32::from_be_bytes([v[0], v[1], v[2], v[3]]),
                            u32::from_be_bytes([v[4], v[5], v[6], v[7]]),
                        ))
                    }
                    _ => {}
                }
            }
        }
        i += if l == 0 { 1 } else { l };
    }
    let mut kinds = [0u8; 32];
    for (w, chunk) in [k0, k1, k2, k3].iter().zip(kinds.chunks_exact_mut(8)) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    TcpOptions {
        kinds,
        mss,
        wscale,
        sack_perm,
        sack,
        timestamp,
        malformed,
        cut: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(lt: u32, len: usize) -> FrameMeta {
        FrameMeta {
            frame: 1,
            ts: Timestamp(0),
            linktype: lt,
            interface: 0,
            wire_len: len as u32,
        }
    }

    #[test]
    fn tcp_option_walks() {
        // MSS 1460, SACK-perm, TS, NOP, wscale 7
        let o = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7,
        ];
        let t = parse_tcp_options(&o);
        assert_eq!(t.mss, Some(1460));
        assert!(t.sack_perm);
        assert_eq!(t.timestamp, Some((1, 2)));
        assert_eq!(t.wscale, Some(7));
        assert!(!t.malformed);
        for k in [1, 2, 3, 4, 8] {
            assert!(t.has_kind(k), "kind {k}");
        }
        assert!(!t.has_kind(5));
        // Bad length byte.
        let t = parse_tcp_options(&[2, 1, 5, 0xb4]);
        assert!(t.malformed);
        assert_eq!(t.mss, None);
        // After EOL: no values, but the kernel's --tcp-option walk still sees the kinds.
        let t = parse_tcp_options(&[0, 2, 4, 5, 0xb4]);
        assert_eq!(t.mss, None);
        assert!(t.has_kind(0) && t.has_kind(2));
        // SACK blocks
        let t = parse_tcp_options(&[1, 1, 5, 10, 0, 0, 0, 10, 0, 0, 0, 20]);
        assert_eq!(t.sack, vec![(10, 20)]);
    }

    #[test]
    fn ext_walk_hop_by_hop_and_frag() {
        // IPv6 header stub (40 bytes) + HBH (8) + Frag (8) + TCP
        let mut b = vec![0u8; 40];
        b.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]); // HBH -> frag
        b.extend_from_slice(&[6, 0, 0, 1, 0, 0, 0x12, 0x34]); // frag -> TCP, off 0, M=1
        b.extend_from_slice(&[0u8; 20]);
        let w = walk_ipv6_ext(&b, 0, 40, b.len());
        assert_eq!(w.proto, 6);
        assert_eq!(w.offset, 56);
        assert_eq!(w.frag, Some((0, true, 0x1234, 48)));
        assert!(!w.overrun);
        // AH: length in 4-byte units + 2
        let mut b = vec![0u8; 40];
        b.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // AH len 1 → 12 bytes
        b.extend_from_slice(&[0u8; 8]);
        let w = walk_ipv6_ext(&b, 51, 40, b.len());
        assert_eq!((w.proto, w.offset), (17, 52));
        // Overrun
        let w = walk_ipv6_ext(&b, 0, 40, 41);
        assert!(w.overrun);
    }

    #[test]
    fn icmpv6_redirect_quotes_through_the_redirected_header_option() {
        use crate::packet::build::{build, L4Spec, PacketSpec};
        let mut inner = PacketSpec::new(
            "2001:db8::10".parse().unwrap(),
            "2001:db8:5::1".parse().unwrap(),
            L4Spec::Udp {
                sport: 4000,
                dport: 53,
            },
        );
        inner.payload = vec![0; 8];
        let inner = build(&inner, 0, Timestamp(0), LinkInfo::default());
        let mut body = vec![0u8; 32]; // target + destination
        let opt_len = 8 + inner.data.len();
        let units = opt_len.div_ceil(8);
        body.extend_from_slice(&[4, units as u8, 0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(&inner.data);
        body.resize(32 + units * 8, 0);
        let mut r = PacketSpec::new(
            "fe80::1".parse().unwrap(),
            "2001:db8::10".parse().unwrap(),
            L4Spec::Icmp {
                icmp_type: 137,
                code: 0,
                id: 0,
                seq: 0,
                quote: None,
            },
        );
        r.ttl = 255;
        r.payload = body;
        let p = build(&r, 0, Timestamp(0), LinkInfo::default());
        let d = decode_ip(
            &meta(101, 0),
            LinkInfo::default(),
            &p.data,
            p.data.len(),
            None,
        )
        .unwrap();
        let i = d
            .icmp()
            .unwrap()
            .inner
            .as_ref()
            .expect("inner header found");
        assert_eq!(i.ports, Some((4000, 53)));
        assert_eq!(i.proto, 17);
        assert_eq!(d.l4_checksum_ok, Some(true));
    }

    #[test]
    fn partial_checksums_are_recognised_as_offloaded() {
        use crate::packet::build::{build, L4Spec, PacketSpec};
        use crate::packet::ChecksumMode;
        for (src, dst, l4) in [
            (
                "198.51.100.7",
                "192.0.2.10",
                L4Spec::Tcp {
                    sport: 40000,
                    dport: 22,
                    flags: 0x02,
                    seq: 1,
                    ack: 0,
                    window: 64240,
                    options: Vec::new(),
                },
            ),
            (
                "2001:db8::7",
                "2001:db8::10",
                L4Spec::Udp {
                    sport: 5353,
                    dport: 53,
                },
            ),
        ] {
            let mut s = PacketSpec::new(src.parse().unwrap(), dst.parse().unwrap(), l4);
            s.payload = b"payload".to_vec();
            let p = build(&s, 0, Timestamp(0), LinkInfo::default());
            let off = p.ip_hdr_len as usize;
            let at = off + if p.proto == proto::TCP { 16 } else { 6 };
            let len = p.data.len() - off;
            let partial =
                checksum::fold(checksum::pseudo_header(p.src, p.dst, p.proto, len as u32));
            let dec = |field: u16| {
                let mut b = p.data.to_vec();
                b[at..at + 2].copy_from_slice(&field.to_be_bytes());
                decode_ip(&meta(101, 0), LinkInfo::default(), &b, b.len(), None).unwrap()
            };
            let d = dec(partial);
            assert_eq!(d.l4_checksum_ok, Some(false));
            assert!(d.anomalies.has(Anomalies::L4_CSUM_PARTIAL), "{src}");
            assert!(d.l4_checksum_bad(ChecksumMode::Verify));
            assert!(!d.l4_checksum_bad(ChecksumMode::Auto));
            assert!(!d.l4_checksum_bad(ChecksumMode::Ignore));
            let d = dec(partial ^ 0x0101);
            assert!(!d.anomalies.has(Anomalies::L4_CSUM_PARTIAL), "{src}");
            assert!(d.l4_checksum_bad(ChecksumMode::Verify));
            assert!(d.l4_checksum_bad(ChecksumMode::Auto));
            assert!(!d.l4_checksum_bad(ChecksumMode::Ignore));
            assert!(!dec(p.data[at] as u16 * 256 + p.data[at + 1] as u16)
                .anomalies
                .has(Anomalies::L4_CSUM_PARTIAL));
        }
    }

    /// A UDP tunnel packet `src` → `dst` to `dport`: tunnel header `hdr`, then `l2` (an inner
    /// Ethernet header, or nothing), then `inner` (an IP packet, its transport checksum
    /// partial when `partial`). The outer UDP checksum is what the kernel's `udp_set_csum`
    /// writes for it: local checksum offload (`lco_csum`) when the inner one is partial.
    /// Returns the packet and the offset of its outer UDP checksum.
    fn tunnel(
        dport: u16,
        hdr: &[u8],
        l2: &[u8],
        inner: &Packet,
        partial: bool,
    ) -> (Vec<u8>, usize) {
        use crate::packet::build::{build, L4Spec, PacketSpec};
        let mut ip = inner.data.to_vec();
        let ihl = inner.ip_hdr_len as usize;
        let field_at = ihl + if inner.proto == proto::TCP { 16 } else { 6 };
        let seed = checksum::fold(checksum::pseudo_header(
            inner.src,
            inner.dst,
            inner.proto,
            (ip.len() - ihl) as u32,
        ));
        if partial {
            ip[field_at..field_at + 2].copy_from_slice(&seed.to_be_bytes());
        }
        let mut s = PacketSpec::new(
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            L4Spec::Udp {
                sport: 51289,
                dport,
            },
        );
        s.payload = [hdr, l2, &ip].concat();
        let p = build(&s, 0, Timestamp(0), LinkInfo::default());
        let mut b = p.data.to_vec();
        let l4 = p.ip_hdr_len as usize;
        if partial {
            // udp_set_csum: uh->check = 0; uh->check = udp_v4_check(len, saddr, daddr,
            // lco_csum(skb)), lco_csum summing the outer bytes up to csum_start from
            // ~(inner field).
            b[l4 + 6..l4 + 8].copy_from_slice(&[0, 0]);
            let csum_start = l4 + 8 + hdr.len() + l2.len() + ihl;
            let lco = checksum::sum(&b[l4..csum_start], u64::from(!seed));
            let len = (b.len() - l4) as u32;
            let mut c = !checksum::fold(lco + checksum::pseudo_header(p.src, p.dst, 17, len));
            if c == 0 {
                c = 0xffff; // CSUM_MANGLED_0
            }
            b[l4 + 6..l4 + 8].copy_from_slice(&c.to_be_bytes());
        }
        (b, l4 + 6)
    }

    fn inner_tcp() -> Packet {
        use crate::packet::build::{build, L4Spec, PacketSpec};
        let mut s = PacketSpec::new(
            "10.77.0.2".parse().unwrap(),
            "10.77.0.1".parse().unwrap(),
            L4Spec::Tcp {
                sport: 40000,
                dport: 80,
                flags: 0x18,
                seq: 1,
                ack: 1,
                window: 502,
                options: Vec::new(),
            },
        );
        s.payload = b"GET / HTTP/1.0\r\n\r\n odd length".to_vec();
        build(&s, 0, Timestamp(0), LinkInfo::default())
    }

    fn inner_udp6() -> Packet {
        use crate::packet::build::{build, L4Spec, PacketSpec};
        let mut s = PacketSpec::new(
            "2001:db8:77::2".parse().unwrap(),
            "2001:db8:77::1".parse().unwrap(),
            L4Spec::Udp {
                sport: 5353,
                dport: 53,
            },
        );
        s.payload = b"q0!".to_vec();
        build(&s, 0, Timestamp(0), LinkInfo::default())
    }

    const VXLAN: [u8; 8] = [0x08, 0, 0, 0, 0, 0, 42, 0];

    fn eth(tags: &[u16], et: u16) -> Vec<u8> {
        let mut e = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        for t in tags {
            e.extend_from_slice(&0x8100u16.to_be_bytes());
            e.extend_from_slice(&t.to_be_bytes());
        }
        e.extend_from_slice(&et.to_be_bytes());
        e
    }

    fn dec_v4(b: &[u8]) -> Packet {
        decode_ip(&meta(101, 0), LinkInfo::default(), b, b.len(), None).unwrap()
    }

    /// VXLAN/Geneve with a partial inner checksum and the outer one local checksum offload
    /// computed: offloaded, as a partial checksum; with the outer corrupted, or not a tunnel
    /// port, or the inner packet cut: bad, as before.
    #[test]
    fn tunnel_outer_checksums_by_local_checksum_offload_are_offloaded() {
        use crate::packet::ChecksumMode;
        let geneve_opts = [
            0x02, 0, 0x65, 0x58, 0, 0, 42, 0, 0x01, 0x02, 0x03, 0x01, 1, 2, 3, 4,
        ];
        let geneve_ip6 = [0x00, 0, 0x86, 0xdd, 0, 0, 42, 0];
        let cases: [(u16, &[u8], Vec<u8>, Packet); 5] = [
            (4789, &VXLAN, eth(&[], 0x0800), inner_tcp()),
            (8472, &VXLAN, eth(&[7], 0x0800), inner_tcp()),
            (4789, &VXLAN, eth(&[5, 9], 0x86dd), inner_udp6()),
            (6081, &geneve_opts, eth(&[], 0x0800), inner_tcp()),
            (6081, &geneve_ip6, Vec::new(), inner_udp6()),
        ];
        for (dport, hdr, l2, inner) in &cases {
            let what = format!("port {dport}, {:?} inner", inner.family);
            let (b, at) = tunnel(*dport, hdr, l2, inner, true);
            let d = dec_v4(&b);
            assert_eq!(d.l4_checksum_ok, Some(false), "{what}");
            assert!(d.anomalies.has(Anomalies::L4_CSUM_PARTIAL), "{what}");
            assert!(d.l4_checksum_bad(ChecksumMode::Verify), "{what}");
            assert!(!d.l4_checksum_bad(ChecksumMode::Auto), "{what}");
            assert!(d.l4_checksum_offloaded(ChecksumMode::Auto), "{what}");
            let seg = &b[at - 6..];
            let (start, off) = lco_inner_checksum(d.src, d.dst, seg).expect("recognised");
            assert_eq!(start, 8 + hdr.len() + l2.len() + inner.ip_hdr_len as usize);
            assert_eq!(off, if inner.proto == proto::TCP { 16 } else { 6 });
            // The outer checksum corrupted: bad.
            let mut c = b.clone();
            c[at + 1] ^= 0x01;
            let d = dec_v4(&c);
            assert_eq!(d.l4_checksum_ok, Some(false), "{what}");
            assert!(!d.anomalies.has(Anomalies::L4_CSUM_PARTIAL), "{what}");
            assert!(d.l4_checksum_bad(ChecksumMode::Auto), "{what}");
            // The inner seed altered (and the outer checksum still made from the old one): bad.
            let mut c = b.clone();
            c[at - 6 + start + off] ^= 0x10;
            assert!(dec_v4(&c).l4_checksum_bad(ChecksumMode::Auto), "{what}");
            // A complete inner checksum and the outer computed over the bytes: good, as before.
            let (b, _) = tunnel(*dport, hdr, l2, inner, false);
            let d = dec_v4(&b);
            assert_eq!(d.l4_checksum_ok, Some(true), "{what}");
            assert!(d.anomalies.is_empty(), "{what}");
        }
        // Not a tunnel port: the same bytes stay bad.
        let (b, _) = tunnel(4790, &VXLAN, &eth(&[], 0x0800), &inner_tcp(), true);
        let d = dec_v4(&b);
        assert!(!d.anomalies.has(Anomalies::L4_CSUM_PARTIAL));
        assert!(d.l4_checksum_bad(ChecksumMode::Auto));
        // The inner packet claims more bytes than the datagram holds: left as it is.
        let (mut b, at) = tunnel(4789, &VXLAN, &eth(&[], 0x0800), &inner_tcp(), true);
        let inner_ip = at - 6 + 8 + 8 + 14;
        let total = u16::from_be_bytes([b[inner_ip + 2], b[inner_ip + 3]]) + 1;
        b[inner_ip + 2..inner_ip + 4].copy_from_slice(&total.to_be_bytes());
        assert!(lco_inner_checksum(d.src, d.dst, &b[at - 6..]).is_none());
        assert!(dec_v4(&b).l4_checksum_bad(ChecksumMode::Auto));
        // A cut tunnel header: no panic, nothing recognised.
        for n in 0..b.len() - at + 6 {
            let _ = lco_inner_checksum(d.src, d.dst, &b[at - 6..at - 6 + n]);
        }
    }

    #[test]
    fn unsupported_linktype_is_named() {
        let e = decode_frame(&meta(105, 10), &[0u8; 10]).unwrap_err();
        assert_eq!(e.kind, ProblemKind::UnsupportedLinkType);
        assert!(e.reason.contains("105"), "{}", e.reason);
        assert!(e.reason.contains("IEEE802_11"), "{}", e.reason);
    }

    #[test]
    fn arp_is_skipped_with_ethertype() {
        let mut f = vec![0xffu8; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        f.extend_from_slice(&[0u8; 28]);
        let e = decode_frame(&meta(1, f.len()), &f).unwrap_err();
        assert_eq!(e.kind, ProblemKind::NonIp);
        assert!(e.kind.is_skip());
        assert_eq!(e.ethertype, Some(0x0806));
        assert!(e.reason.contains("ARP"));
    }
}
