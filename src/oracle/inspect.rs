//! Just enough IP parsing to replay a frame: which way it goes, what a delivered copy looks
//! like, whether it is a fragment, and which header defects the kernel's receive path
//! (`ip_rcv_core` / `ipv6_rcv`) will drop it for before netfilter ever sees it.
//!
//! This never decides a verdict — the kernel does. The defects found here only explain a drop
//! in the frame's note. All functions take arbitrary bytes and never panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::packet::Family;

/// Internet checksum (RFC 1071) of `data`, folded, not complemented, starting from `sum`.
pub(crate) fn ones_sum(data: &[u8], mut sum: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum = sum.wrapping_add(u16::from_be_bytes([c[0], c[1]]) as u32);
    }
    if let [b] = chunks.remainder() {
        sum = sum.wrapping_add((*b as u32) << 8);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum
}

/// True when `data` (a header including its checksum field) sums to 0xffff.
pub(crate) fn checksum_ok(data: &[u8]) -> bool {
    ones_sum(data, 0) == 0xffff
}

/// `(csum_start, csum_offset)` for writing `ip` as a packet whose transport checksum was
/// offloaded (`CHECKSUM_PARTIAL`), under `mode` (see [`super::OracleConfig::rx_checksums`]);
/// `None` = write it plainly. Only whole, unfragmented TCP/UDP (and under `Ignore` ICMP and
/// ICMPv6) segments directly after the IP header(s) qualify; a UDP tunnel's outer checksum
/// made by local checksum offload is offloaded at the encapsulated packet's partial checksum
/// (`csum_start` there, [`crate::packet::ingest::decode::lco_inner_checksum`]).
pub(crate) fn offload_slot(
    ip: &[u8],
    ins: &Inspected,
    mode: crate::packet::ChecksumMode,
) -> Option<(u16, u16)> {
    use crate::packet::ChecksumMode;
    if mode == ChecksumMode::Verify || ins.frag.is_some() {
        return None;
    }
    let end = ins.declared_len?;
    let seg = ip.get(ins.l4_offset..end)?;
    let field_at = match ins.proto {
        6 => 16,
        17 => 6,
        1 | 58 if mode == ChecksumMode::Ignore => 2,
        _ => return None,
    };
    if seg.len() < field_at + 2 {
        return None;
    }
    if mode == ChecksumMode::Auto {
        // The field holds exactly the folded pseudo-header sum (`~tcp_v4_check(len, ...)`).
        let mut pseudo = Vec::with_capacity(40);
        for a in [ins.src, ins.dst] {
            match a {
                IpAddr::V4(a) => pseudo.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => pseudo.extend_from_slice(&a.octets()),
            }
        }
        pseudo.extend_from_slice(&(seg.len() as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, ins.proto]);
        let field = be16(seg, field_at) as u32;
        if checksum_ok(seg) {
            return None;
        }
        if ones_sum(&pseudo, 0) != field {
            // A UDP tunnel's outer checksum local checksum offload made: the skb is
            // CHECKSUM_PARTIAL at the encapsulated packet's checksum, as a veth delivers it.
            let inner = if ins.proto == 17 {
                crate::packet::ingest::decode::lco_inner_checksum(ins.src, ins.dst, seg)
            } else {
                None
            };
            let (start, offset) = inner?;
            return Some(((ins.l4_offset + start) as u16, offset as u16));
        }
    }
    Some((ins.l4_offset as u16, field_at as u16))
}

/// Identity of a fragmented datagram, as the kernel's reassembly queue keys it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    /// IPv4 protocol (part of the IPv4 key); 0 for IPv6.
    pub proto: u8,
}

/// What the replay needs to know about one IP packet.
#[derive(Debug, Clone)]
pub(crate) struct Inspected {
    pub family: Family,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 header protocol, or for IPv6 the upper-layer protocol found after the extension
    /// headers (the protocol a raw socket must be bound to to see the delivered packet).
    pub proto: u8,
    /// Offset of that protocol's header (IPv6 raw sockets return the packet from here on).
    pub(crate) l4_offset: usize,
    /// Length the packet declares (IPv4 total length, IPv6 40 + payload length), when sane.
    pub(crate) declared_len: Option<usize>,
    /// IPv4 identification (0 for IPv6 unless fragmented, then the fragment id).
    pub ip_id: u32,
    /// Set when this packet is a fragment (IPv4 MF/offset, IPv6 Fragment header).
    pub frag: Option<FragKey>,
    /// Defects for which the kernel drops the packet on receive, before PREROUTING.
    pub(crate) rx_defects: Vec<String>,
    /// ICMPv6 with a wrong checksum (IPv6 raw ICMPv6 sockets never receive those).
    pub(crate) icmp6_bad_checksum: bool,
    /// An ICMP message shorter than 8 bytes (ICMPv6: 4): raw ICMP sockets filter it out
    /// (`icmp_filter`/`icmpv6_filter` read that many bytes), so its delivery is only visible
    /// in the IP counters.
    pub(crate) icmp_short: bool,
    /// Reasons the routing decision (after PREROUTING) may discard the packet on input.
    pub(crate) route_hints: Vec<String>,
    /// IPv6 extension headers (routing 43, fragment 44, AH 51, destination options 60) in
    /// order. The kernel handles them after INPUT, offering the packet to raw sockets of each.
    pub(crate) ext_chain: Vec<u8>,
}

impl Inspected {
    /// Bytes to put on the wire for an *outbound* replay: trailing link-layer padding removed.
    /// `None` when the packet claims more bytes than were captured.
    pub(crate) fn send_len(&self, available: usize) -> Option<usize> {
        match self.declared_len {
            Some(n) if n <= available => Some(n),
            Some(_) => None,
            None => Some(available),
        }
    }
}

/// Result of looking at a frame's bytes.
#[derive(Debug)]
pub enum Parsed {
    /// Not replayable; the string says why.
    Skip(String),
    Ip(Box<Inspected>),
}

fn be16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

fn be32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Parse the IP header(s) of `ip`.
pub fn parse(ip: &[u8]) -> Parsed {
    if ip.is_empty() {
        return Parsed::Skip("empty IP packet".into());
    }
    match ip[0] >> 4 {
        4 => parse_v4(ip),
        6 => parse_v6(ip),
        v => Parsed::Skip(format!("not an IP packet (version nibble {v})")),
    }
}

fn parse_v4(ip: &[u8]) -> Parsed {
    if ip.len() < 20 {
        return Parsed::Skip(format!("too short for an IPv4 header ({} bytes)", ip.len()));
    }
    let src = IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]));
    let ihl = (ip[0] & 0x0f) as usize * 4;
    let tot = be16(ip, 2) as usize;
    let mut defects = Vec::new();
    if ihl < 20 {
        defects.push(format!("IPv4 header length {ihl} < 20"));
    } else if ihl > ip.len() {
        defects.push(format!(
            "IPv4 header length {ihl} > {} bytes available",
            ip.len()
        ));
    } else if !checksum_ok(&ip[..ihl]) {
        defects.push(format!("bad IPv4 header checksum 0x{:04x}", be16(ip, 10)));
    }
    if tot > ip.len() {
        defects.push(format!(
            "truncated: IPv4 total length {tot} > {} bytes available",
            ip.len()
        ));
    } else if tot < ihl.max(20) {
        defects.push(format!("IPv4 total length {tot} < header length {ihl}"));
    }
    let declared_len = if tot >= ihl.max(20) { Some(tot) } else { None };
    let frag_field = be16(ip, 6);
    let offset = frag_field & 0x1fff;
    let more = frag_field & 0x2000 != 0;
    let proto = ip[9];
    let id = be16(ip, 4) as u32;
    let frag = (more || offset != 0).then_some(FragKey {
        src,
        dst,
        id,
        proto,
    });
    let icmp_short = proto == 1
        && frag.is_none()
        && declared_len.is_some_and(|n| n >= ihl.max(20) && n - ihl.max(20) < 8);
    Parsed::Ip(Box::new(Inspected {
        family: Family::V4,
        src,
        dst,
        proto,
        l4_offset: ihl.max(20),
        declared_len,
        ip_id: id,
        frag,
        icmp_short,
        rx_defects: defects,
        icmp6_bad_checksum: false,
        route_hints: v4_route_hints(&src),
        ext_chain: Vec::new(),
    }))
}

fn v4_route_hints(src: &IpAddr) -> Vec<String> {
    let IpAddr::V4(s) = src else {
        return Vec::new();
    };
    let why = if s.is_multicast() {
        "multicast"
    } else if s.is_broadcast() {
        "limited broadcast"
    } else if s.is_unspecified() {
        "0.0.0.0"
    } else {
        return Vec::new();
    };
    vec![format!(
        "martian source address ({why}): the input routing decision after PREROUTING \
         discards it, whatever netfilter says"
    )]
}

fn parse_v6(ip: &[u8]) -> Parsed {
    if ip.len() < 40 {
        return Parsed::Skip(format!("too short for an IPv6 header ({} bytes)", ip.len()));
    }
    let mut s = [0u8; 16];
    s.copy_from_slice(&ip[8..24]);
    let src = Ipv6Addr::from(s);
    let mut d = [0u8; 16];
    d.copy_from_slice(&ip[24..40]);
    let dst = Ipv6Addr::from(d);
    let plen = be16(ip, 4) as usize;
    let mut defects = Vec::new();
    let declared_len = if plen == 0 && ip[6] == 0 {
        None // possibly a jumbogram; send what we have
    } else {
        Some(40 + plen)
    };
    if 40 + plen > ip.len() && declared_len.is_some() {
        defects.push(format!(
            "truncated: IPv6 payload length {plen} > {} bytes available",
            ip.len() - 40
        ));
    }
    if src.is_multicast() {
        defects.push("IPv6 source address is multicast".into());
    }
    if dst.is_multicast() && dst.segments()[0] & 0x000f <= 1 {
        defects.push("IPv6 multicast destination with interface-local or reserved scope".into());
    }
    // Walk the extension headers to the upper-layer protocol.
    let end = declared_len.unwrap_or(ip.len()).min(ip.len());
    let mut nh = ip[6];
    let mut off = 40usize;
    let mut frag = None;
    let mut first_fragment = true;
    let mut id = 0u32;
    let mut ext_chain = Vec::new();
    loop {
        if matches!(nh, 43 | 60 | 51 | 44) && ext_chain.len() < 16 {
            ext_chain.push(nh);
        }
        match nh {
            0 | 43 | 60 => {
                if off + 2 > end {
                    break;
                }
                let len = (ip[off + 1] as usize + 1) * 8;
                nh = ip[off];
                off += len;
            }
            51 => {
                if off + 2 > end {
                    break;
                }
                let len = (ip[off + 1] as usize + 2) * 4;
                nh = ip[off];
                off += len;
            }
            44 => {
                if off + 8 > end {
                    break;
                }
                let fo = be16(ip, off + 2);
                id = be32(ip, off + 4);
                frag = Some(FragKey {
                    src: IpAddr::V6(src),
                    dst: IpAddr::V6(dst),
                    id,
                    proto: 0,
                });
                first_fragment = fo & 0xfff8 == 0;
                nh = ip[off];
                off += 8;
                if !first_fragment {
                    break;
                }
            }
            _ => break,
        }
    }
    let icmp6_bad_checksum = nh == 58
        && first_fragment
        && frag.is_none()
        && off + 4 <= end
        && !icmpv6_checksum_ok(&src, &dst, &ip[off..end]);
    let icmp_short = nh == 58 && first_fragment && frag.is_none() && off <= end && end - off < 4;
    Parsed::Ip(Box::new(Inspected {
        family: Family::V6,
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst),
        proto: nh,
        l4_offset: off.min(ip.len()),
        declared_len,
        ip_id: id,
        frag,
        icmp_short,
        rx_defects: defects,
        icmp6_bad_checksum,
        route_hints: Vec::new(),
        ext_chain,
    }))
}

fn icmpv6_checksum_ok(src: &Ipv6Addr, dst: &Ipv6Addr, msg: &[u8]) -> bool {
    let mut sum = ones_sum(&src.octets(), 0);
    sum = ones_sum(&dst.octets(), sum);
    let len = msg.len() as u32;
    sum = ones_sum(&len.to_be_bytes(), sum);
    sum = ones_sum(&[0, 0, 0, 58], sum);
    ones_sum(msg, sum) == 0xffff
}

/// Loopback addresses are never replayed (the kernel would not accept them from eth0 either).
pub fn is_loopback(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.is_loopback(),
        IpAddr::V6(v) => v.is_loopback() || v.to_ipv4_mapped().is_some_and(|m| m.is_loopback()),
    }
}

/// IPv6 destinations that need a scope id on `sendto`.
pub(crate) fn needs_scope(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(_) => false,
        IpAddr::V6(v) => v.is_multicast() || (v.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// A compact description of how a packet that left or was delivered differs from what was
/// injected (NAT, mangle), or `None` when it is the same packet. `got` is a full IP packet.
pub(crate) fn describe_changes(sent: &[u8], ins: &Inspected, got: &[u8]) -> Option<String> {
    let mut changes = Vec::new();
    match ins.family {
        Family::V4 => {
            if got.len() < 20 || got[0] >> 4 != 4 {
                return Some("a different packet".into());
            }
            let gsrc = IpAddr::V4(Ipv4Addr::new(got[12], got[13], got[14], got[15]));
            let gdst = IpAddr::V4(Ipv4Addr::new(got[16], got[17], got[18], got[19]));
            if gsrc != ins.src {
                changes.push(format!("src {}->{}", ins.src, gsrc));
            }
            if gdst != ins.dst {
                changes.push(format!("dst {}->{}", ins.dst, gdst));
            }
            if sent.len() >= 20 {
                if got[1] != sent[1] {
                    changes.push(format!("tos 0x{:02x}->0x{:02x}", sent[1], got[1]));
                }
                if got[8] != sent[8] {
                    changes.push(format!("ttl {}->{}", sent[8], got[8]));
                }
                if got[4..6] != sent[4..6] {
                    changes.push(format!("id {}->{}", be16(sent, 4), be16(got, 4)));
                }
            }
            let gl4 = ((got[0] & 0x0f) as usize * 4).min(got.len());
            let sl4 = ins.l4_offset.min(sent.len());
            if got[gl4..] != sent[sl4..] {
                changes.push(l4_change(&sent[sl4..], &got[gl4..]));
            }
        }
        Family::V6 => {
            if got.len() < 40 || got[0] >> 4 != 6 {
                return Some("a different packet".into());
            }
            if got[8..24] != sent[8..24] {
                let mut a = [0u8; 16];
                a.copy_from_slice(&got[8..24]);
                changes.push(format!("src {}->{}", ins.src, Ipv6Addr::from(a)));
            }
            if got[24..40] != sent[24..40] {
                let mut a = [0u8; 16];
                a.copy_from_slice(&got[24..40]);
                changes.push(format!("dst {}->{}", ins.dst, Ipv6Addr::from(a)));
            }
            if got[7] != sent[7] {
                changes.push(format!("hop limit {}->{}", sent[7], got[7]));
            }
            if got[..2] != sent[..2] {
                changes.push("traffic class changed".into());
            }
            if got[40..] != sent[40.min(sent.len())..] {
                changes.push(l4_change(&sent[40.min(sent.len())..], &got[40..]));
            }
        }
    }
    (!changes.is_empty()).then(|| changes.join(", "))
}

/// Describe a difference between two transport-layer byte strings.
pub(crate) fn l4_change(sent: &[u8], got: &[u8]) -> String {
    if sent.len() != got.len() {
        return format!("transport length {}->{}", sent.len(), got.len());
    }
    let mut ports = Vec::new();
    if sent.len() >= 4 {
        let (sp, gp) = (be16(sent, 0), be16(got, 0));
        if sp != gp {
            ports.push(format!("sport {sp}->{gp}"));
        }
        let (sp, gp) = (be16(sent, 2), be16(got, 2));
        if sp != gp {
            ports.push(format!("dport {sp}->{gp}"));
        }
    }
    if ports.is_empty() {
        "transport header/payload modified".into()
    } else {
        ports.join(", ")
    }
}

/// Which way a frame goes, decided from the host address list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Way {
    In,
    Out,
    Forward,
}

/// Inbound if the destination is a host address, else outbound if the source is, else
/// inbound when the namespace keeps the destination (`keeps`: a multicast group, a
/// broadcast), else forwarded when the namespace is a router, else `None`.
pub fn direction(
    ins: &Inspected,
    hosts: &[IpAddr],
    router: bool,
    keeps: impl Fn(IpAddr) -> bool,
) -> Option<Way> {
    if hosts.contains(&ins.dst) {
        Some(Way::In)
    } else if hosts.contains(&ins.src) {
        Some(Way::Out)
    } else if keeps(ins.dst) {
        Some(Way::In)
    } else if router {
        Some(Way::Forward)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678u32;
        for len in 0..200usize {
            for _ in 0..50 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        (seed >> 16) as u8
                    })
                    .collect();
                let mut b = bytes.clone();
                if !b.is_empty() {
                    b[0] = (b[0] & 0x0f) | if len % 2 == 0 { 0x40 } else { 0x60 };
                }
                if let Parsed::Ip(ins) = parse(&b) {
                    let _ = describe_changes(&b, &ins, &bytes);
                    let _ = ins.send_len(b.len());
                }
                let _ = parse(&bytes);
            }
        }
    }

    #[test]
    fn v4_header_checks() {
        let mut p = vec![
            0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
        ];
        p.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
        let c = !ones_sum(&p[..20], 0) as u16;
        p[10..12].copy_from_slice(&c.to_be_bytes());
        match parse(&p) {
            Parsed::Ip(i) => {
                assert!(i.rx_defects.is_empty(), "{:?}", i.rx_defects);
                assert_eq!(i.proto, 17);
                assert!(i.frag.is_none());
            }
            Parsed::Skip(s) => panic!("{s}"),
        }
        p[10] ^= 1;
        match parse(&p) {
            Parsed::Ip(i) => assert!(i.rx_defects[0].contains("checksum")),
            Parsed::Skip(s) => panic!("{s}"),
        }
    }
}
