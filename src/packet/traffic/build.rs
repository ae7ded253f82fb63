//! Packet building: wire bytes (IPv4/IPv6 + TCP/UDP/ICMP/ICMPv6, correct checksums) from a
//! small [`PacketSpec`], and the matching decoded [`Packet`] computed from the spec itself (not
//! by decoding the bytes), so that round-trip tests compare two independent derivations.
//!
//! Owns: serialisation used by the synthetic generator ([`crate::packet::gen`]), the flow-spec builder
//! ([`crate::packet::flowspec`]) and test fixtures, plus IPv4/IPv6 fragmentation of built packets.

use std::net::IpAddr;

use crate::packet::checksum;
use crate::packet::SharedBytes;
use crate::packet::{
    proto, Anomalies, Family, FragInfo, IcmpInfo, InnerPacket, LinkInfo, Packet, TcpInfo,
    TcpOptions, Timestamp, UdpInfo, L4,
};

/// One TCP option to serialise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOpt {
    Nop,
    Mss(u16),
    WScale(u8),
    SackPerm,
    Sack(Vec<(u32, u32)>),
    Timestamp(u32, u32),
}

/// Upper layer of a packet to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L4Spec {
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        options: Vec<TcpOpt>,
    },
    Udp {
        sport: u16,
        dport: u16,
    },
    /// ICMP (IPv4) or ICMPv6 (IPv6), chosen by the address family. `id`/`seq` fill bytes 4..8.
    /// For error types, `quote` is the offending packet's IP bytes (already cut to size) and
    /// `inner` what a decoder must find in it.
    Icmp {
        icmp_type: u8,
        code: u8,
        id: u16,
        seq: u16,
        quote: Option<(Vec<u8>, InnerPacket)>,
    },
    /// Any other protocol: the payload follows the IP header directly.
    Raw {
        proto: u8,
    },
}

/// An IPv6 extension header to insert before the upper layer (zero-filled body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtHdr {
    /// 0 hop-by-hop, 43 routing, 60 destination options, 51 AH.
    pub kind: u8,
    /// Total length in bytes (multiple of 8; for AH a multiple of 4, at least 12).
    pub len: usize,
}

/// Everything needed to build one IP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketSpec {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub tos: u8,
    /// IPv4 identification.
    pub ip_id: u16,
    pub(crate) dont_fragment: bool,
    /// IPv6 extension headers (ignored for IPv4).
    pub ext: Vec<ExtHdr>,
    pub l4: L4Spec,
    pub payload: Vec<u8>,
}

impl PacketSpec {
    pub fn new(src: IpAddr, dst: IpAddr, l4: L4Spec) -> Self {
        PacketSpec {
            src,
            dst,
            ttl: 64,
            tos: 0,
            ip_id: 0,
            dont_fragment: false,
            ext: Vec::new(),
            l4,
            payload: Vec::new(),
        }
    }

    pub fn family(&self) -> Family {
        match self.src {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    fn l4_proto(&self) -> u8 {
        match &self.l4 {
            L4Spec::Tcp { .. } => proto::TCP,
            L4Spec::Udp { .. } => proto::UDP,
            L4Spec::Icmp { .. } => match self.family() {
                Family::V4 => proto::ICMP,
                Family::V6 => proto::ICMPV6,
            },
            L4Spec::Raw { proto } => *proto,
        }
    }
}

fn tcp_options_bytes(opts: &[TcpOpt]) -> (Vec<u8>, TcpOptions) {
    let mut b = Vec::with_capacity(40);
    let mut o = TcpOptions::default();
    for opt in opts {
        match opt {
            TcpOpt::Nop => {
                b.push(1);
                o.set_kind(1);
            }
            TcpOpt::Mss(m) => {
                b.extend_from_slice(&[2, 4]);
                b.extend_from_slice(&m.to_be_bytes());
                o.set_kind(2);
                o.mss = Some(*m);
            }
            TcpOpt::WScale(w) => {
                b.extend_from_slice(&[3, 3, *w]);
                o.set_kind(3);
                o.wscale = Some(*w);
            }
            TcpOpt::SackPerm => {
                b.extend_from_slice(&[4, 2]);
                o.set_kind(4);
                o.sack_perm = true;
            }
            TcpOpt::Sack(blocks) => {
                let blocks = &blocks[..blocks.len().min(4)];
                b.extend_from_slice(&[5, (2 + 8 * blocks.len()) as u8]);
                for (l, r) in blocks {
                    b.extend_from_slice(&l.to_be_bytes());
                    b.extend_from_slice(&r.to_be_bytes());
                }
                o.set_kind(5);
                o.sack = blocks.to_vec();
            }
            TcpOpt::Timestamp(v, e) => {
                b.extend_from_slice(&[8, 10]);
                b.extend_from_slice(&v.to_be_bytes());
                b.extend_from_slice(&e.to_be_bytes());
                o.set_kind(8);
                o.timestamp = Some((*v, *e));
            }
        }
    }
    while b.len() % 4 != 0 {
        b.push(1);
        o.set_kind(1);
    }
    (b, o)
}

/// Builds the IP packet bytes and the decoded [`Packet`] that describes them.
pub fn build(spec: &PacketSpec, frame: u64, ts: Timestamp, link: LinkInfo) -> Packet {
    let family = spec.family();
    let l4proto = spec.l4_proto();
    // Upper layer bytes (checksum filled later) and its decoded form.
    let mut seg: Vec<u8> = Vec::with_capacity(60 + spec.payload.len());
    let (l4, hdr_len) = match &spec.l4 {
        L4Spec::Tcp {
            sport,
            dport,
            seq,
            ack,
            flags,
            window,
            options,
        } => {
            let (ob, o) = tcp_options_bytes(options);
            let doff = ((20 + ob.len()) / 4) as u8;
            seg.extend_from_slice(&sport.to_be_bytes());
            seg.extend_from_slice(&dport.to_be_bytes());
            seg.extend_from_slice(&seq.to_be_bytes());
            seg.extend_from_slice(&ack.to_be_bytes());
            seg.push(doff << 4);
            seg.push(*flags);
            seg.extend_from_slice(&window.to_be_bytes());
            seg.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent
            seg.extend_from_slice(&ob);
            (
                L4::Tcp(TcpInfo {
                    sport: *sport,
                    dport: *dport,
                    seq: *seq,
                    ack: *ack,
                    flags: *flags,
                    window: *window,
                    doff,
                    urgent: 0,
                    options: o,
                }),
                doff as usize * 4,
            )
        }
        L4Spec::Udp { sport, dport } => {
            let len = (8 + spec.payload.len()) as u16;
            seg.extend_from_slice(&sport.to_be_bytes());
            seg.extend_from_slice(&dport.to_be_bytes());
            seg.extend_from_slice(&len.to_be_bytes());
            seg.extend_from_slice(&[0, 0]);
            (
                L4::Udp(UdpInfo {
                    sport: *sport,
                    dport: *dport,
                    length: len,
                    checksum: 0, // filled below
                }),
                8,
            )
        }
        L4Spec::Icmp {
            icmp_type,
            code,
            id,
            seq,
            quote,
        } => {
            seg.extend_from_slice(&[*icmp_type, *code, 0, 0]);
            seg.extend_from_slice(&id.to_be_bytes());
            seg.extend_from_slice(&seq.to_be_bytes());
            if let Some((q, _)) = quote {
                seg.extend_from_slice(q);
            }
            let info = IcmpInfo {
                icmp_type: *icmp_type,
                code: *code,
                id: *id,
                seq: *seq,
                inner: quote.as_ref().map(|(_, i)| Box::new(i.clone())),
            };
            (
                match family {
                    Family::V4 => L4::Icmp(info),
                    Family::V6 => L4::Icmpv6(info),
                },
                8,
            )
        }
        L4Spec::Raw { .. } => (L4::Other, 0),
    };
    seg.extend_from_slice(&spec.payload);
    // Checksums.
    let ck = match &spec.l4 {
        L4Spec::Tcp { .. } | L4Spec::Udp { .. } => {
            let c = checksum::compute_l4(spec.src, spec.dst, l4proto, &seg);
            // UDP: a computed 0 is sent as 0xffff.
            let c = if l4proto == proto::UDP && c == 0 {
                0xffff
            } else {
                c
            };
            let at = if l4proto == proto::TCP { 16 } else { 6 };
            seg[at..at + 2].copy_from_slice(&c.to_be_bytes());
            Some(c)
        }
        L4Spec::Icmp { .. } => {
            let c = match family {
                Family::V4 => checksum::compute(&seg),
                Family::V6 => checksum::compute_l4(spec.src, spec.dst, proto::ICMPV6, &seg),
            };
            seg[2..4].copy_from_slice(&c.to_be_bytes());
            Some(c)
        }
        L4Spec::Raw { .. } => None,
    };
    let l4 = match l4 {
        L4::Udp(mut u) => {
            u.checksum = ck.unwrap_or(0);
            L4::Udp(u)
        }
        other => other,
    };
    let payload_len = (seg.len() - hdr_len) as u32;
    // IP header.
    let mut data: Vec<u8> = Vec::with_capacity(40 + seg.len() + 64);
    let ip_hdr_len = match (spec.src, spec.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let tot = (20 + seg.len()) as u16;
            data.extend_from_slice(&[0x45, spec.tos]);
            data.extend_from_slice(&tot.to_be_bytes());
            data.extend_from_slice(&spec.ip_id.to_be_bytes());
            data.extend_from_slice(&(if spec.dont_fragment { 0x4000u16 } else { 0 }).to_be_bytes());
            data.extend_from_slice(&[spec.ttl, l4proto, 0, 0]);
            data.extend_from_slice(&s.octets());
            data.extend_from_slice(&d.octets());
            let c = checksum::compute(&data[..20]);
            data[10..12].copy_from_slice(&c.to_be_bytes());
            20
        }
        (s, d) => {
            let to6 = |a: IpAddr| match a {
                IpAddr::V6(a) => a.octets(),
                IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            };
            let ext_len: usize = spec.ext.iter().map(|e| e.len).sum();
            let plen = (ext_len + seg.len()) as u16;
            let first_nh = spec.ext.first().map(|e| e.kind).unwrap_or(l4proto);
            data.extend_from_slice(&[0x60 | (spec.tos >> 4), spec.tos << 4, 0, 0]);
            data.extend_from_slice(&plen.to_be_bytes());
            data.extend_from_slice(&[first_nh, spec.ttl]);
            data.extend_from_slice(&to6(s));
            data.extend_from_slice(&to6(d));
            for (i, e) in spec.ext.iter().enumerate() {
                let next = spec.ext.get(i + 1).map(|e| e.kind).unwrap_or(l4proto);
                let lenbyte = if e.kind == proto::AH {
                    (e.len / 4).saturating_sub(2)
                } else {
                    (e.len / 8).saturating_sub(1)
                };
                data.push(next);
                data.push(lenbyte as u8);
                data.extend(std::iter::repeat_n(0u8, e.len.saturating_sub(2)));
            }
            40 + ext_len
        }
    };
    data.extend_from_slice(&seg);
    let ip_len = data.len() as u32;
    Packet {
        frame,
        ts,
        link,
        family,
        src: spec.src,
        dst: spec.dst,
        proto: l4proto,
        ttl: spec.ttl,
        tos: spec.tos,
        ip_len,
        ip_hdr_len: ip_hdr_len as u16,
        frag: FragInfo {
            id: if family == Family::V4 {
                spec.ip_id as u32
            } else {
                0
            },
            offset: 0,
            more_fragments: false,
            dont_fragment: family == Family::V4 && spec.dont_fragment,
            reassembled: false,
            fragments: 0,
            max_fragment: 0,
            v6_header: false,
        },
        ip_checksum_ok: true,
        l4,
        l4_checksum_ok: ck.map(|_| true),
        payload_len,
        data: SharedBytes::from(data),
        anomalies: Anomalies::empty(),
        reassembled_from: None,
        frag_bounds: None,
    }
}

/// Splits an IPv4 packet (bytes from the IP header on) into fragments whose payload is at most
/// `max_payload` bytes (rounded down to a multiple of 8). Returns the fragments' bytes, in
/// order. A packet that fits is returned whole.
pub fn fragment_v4(ip: &[u8], max_payload: usize) -> Vec<Vec<u8>> {
    let Some(&b0) = ip.first() else {
        return vec![ip.to_vec()];
    };
    let hl = ((b0 & 0x0f) as usize * 4).min(ip.len());
    let step = (max_payload / 8).max(1) * 8;
    let payload = &ip[hl..];
    if payload.len() <= step {
        return vec![ip.to_vec()];
    }
    let mut out = Vec::new();
    let mut off = 0;
    while off < payload.len() {
        let end = (off + step).min(payload.len());
        let mf = end < payload.len();
        out.push(v4_fragment_bytes(&ip[..hl], &payload[off..end], off, mf));
        off = end;
    }
    out
}

/// One IPv4 fragment: `hdr` (the original header) with payload `part` at byte offset `off`.
pub fn v4_fragment_bytes(hdr: &[u8], part: &[u8], off: usize, mf: bool) -> Vec<u8> {
    let mut f = Vec::with_capacity(hdr.len() + part.len());
    f.extend_from_slice(hdr);
    f.extend_from_slice(part);
    if f.len() < 20 {
        return f;
    }
    let tot = f.len() as u16;
    f[2..4].copy_from_slice(&tot.to_be_bytes());
    let df = u16::from_be_bytes([f[6], f[7]]) & 0x4000;
    let fo = df | if mf { 0x2000 } else { 0 } | ((off / 8) as u16 & 0x1fff);
    f[6..8].copy_from_slice(&fo.to_be_bytes());
    f[10] = 0;
    f[11] = 0;
    let c = checksum::compute(&f[..hdr.len()]);
    f[10..12].copy_from_slice(&c.to_be_bytes());
    f
}

/// Splits an IPv6 packet (no extension headers of its own) into fragments with a Fragment
/// header (identification `id`), payload at most `max_payload` bytes per fragment.
pub fn fragment_v6(ip: &[u8], id: u32, max_payload: usize) -> Vec<Vec<u8>> {
    if ip.len() < 40 {
        return vec![ip.to_vec()];
    }
    let step = (max_payload / 8).max(1) * 8;
    let payload = &ip[40..];
    let mut out = Vec::new();
    let mut off = 0;
    loop {
        let end = (off + step).min(payload.len());
        let mf = end < payload.len();
        out.push(v6_fragment_bytes(
            &ip[..40],
            &payload[off..end],
            off,
            mf,
            id,
        ));
        off = end;
        if off >= payload.len() {
            break;
        }
    }
    out
}

/// One IPv6 fragment: base header `hdr` (40 bytes; its next-header is the fragmentable part's
/// first header) + Fragment header + `part` at byte offset `off`.
pub(crate) fn v6_fragment_bytes(hdr: &[u8], part: &[u8], off: usize, mf: bool, id: u32) -> Vec<u8> {
    let mut f = Vec::with_capacity(48 + part.len());
    f.extend_from_slice(&hdr[..40.min(hdr.len())]);
    if f.len() < 40 {
        return f;
    }
    let nh = f[6];
    f[6] = proto::IPV6_FRAG;
    let plen = (8 + part.len()) as u16;
    f[4..6].copy_from_slice(&plen.to_be_bytes());
    let fo = ((off / 8) as u16) << 3 | mf as u16;
    f.extend_from_slice(&[nh, 0]);
    f.extend_from_slice(&fo.to_be_bytes());
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(part);
    f
}

/// What a decoder finds in `quote` (the quoted packet's IP bytes, possibly cut).
pub(crate) fn inner_of(quote: &[u8]) -> InnerPacket {
    let v6 = quote.first().is_some_and(|b| b >> 4 == 6);
    let (family, hl, src, dst, proto, frag_offset) = if v6 && quote.len() >= 40 {
        let mut s = [0u8; 16];
        let mut d = [0u8; 16];
        s.copy_from_slice(&quote[8..24]);
        d.copy_from_slice(&quote[24..40]);
        (
            Family::V6,
            40,
            IpAddr::from(s),
            IpAddr::from(d),
            quote[6],
            0,
        )
    } else if quote.len() >= 20 {
        let hl = (quote[0] & 0x0f) as usize * 4;
        (
            Family::V4,
            hl,
            IpAddr::from([quote[12], quote[13], quote[14], quote[15]]),
            IpAddr::from([quote[16], quote[17], quote[18], quote[19]]),
            quote[9],
            u16::from_be_bytes([quote[6], quote[7]]) & 0x1fff,
        )
    } else {
        let z = IpAddr::from([0u8, 0, 0, 0]);
        (Family::V4, 20, z, z, 0, 0)
    };
    let l4 = quote.get(hl..).unwrap_or(&[]);
    let ports = (matches!(proto, proto::TCP | proto::UDP) && l4.len() >= 4 && frag_offset == 0)
        .then(|| {
            (
                u16::from_be_bytes([l4[0], l4[1]]),
                u16::from_be_bytes([l4[2], l4[3]]),
            )
        });
    let icmp = (matches!(proto, proto::ICMP | proto::ICMPV6) && l4.len() >= 8 && frag_offset == 0)
        .then(|| (l4[0], l4[1], u16::from_be_bytes([l4[4], l4[5]])));
    let tcp_seq = (proto == proto::TCP && l4.len() >= 8 && frag_offset == 0)
        .then(|| u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]));
    InnerPacket {
        family,
        src,
        dst,
        proto,
        frag_offset,
        ports,
        icmp,
        tcp_seq,
        l4_len: l4.len().min(u16::MAX as usize) as u16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::decode::{decode_ip, FrameMeta};

    fn meta() -> FrameMeta {
        FrameMeta {
            frame: 7,
            ts: Timestamp(5),
            linktype: 101,
            interface: 0,
            wire_len: 0,
        }
    }

    #[test]
    fn built_packets_decode_to_the_same_fields() {
        let specs = vec![
            PacketSpec::new(
                "198.51.100.7".parse().unwrap(),
                "203.0.113.10".parse().unwrap(),
                L4Spec::Tcp {
                    sport: 40000,
                    dport: 22,
                    seq: 1,
                    ack: 0,
                    flags: 2,
                    window: 64240,
                    options: vec![
                        TcpOpt::Mss(1460),
                        TcpOpt::SackPerm,
                        TcpOpt::Timestamp(1, 0),
                        TcpOpt::Nop,
                        TcpOpt::WScale(7),
                    ],
                },
            ),
            PacketSpec::new(
                "2001:db8::1".parse().unwrap(),
                "2001:db8::2".parse().unwrap(),
                L4Spec::Udp {
                    sport: 5353,
                    dport: 53,
                },
            ),
            PacketSpec::new(
                "192.0.2.1".parse().unwrap(),
                "203.0.113.10".parse().unwrap(),
                L4Spec::Icmp {
                    icmp_type: 8,
                    code: 0,
                    id: 9,
                    seq: 1,
                    quote: None,
                },
            ),
        ];
        for mut s in specs {
            s.payload = b"hello world".to_vec();
            let p = build(&s, 7, Timestamp(5), LinkInfo::default());
            let d = decode_ip(&meta(), LinkInfo::default(), &p.data, p.data.len(), None).unwrap();
            assert_eq!(p, d);
        }
    }

    #[test]
    fn v4_fragments_have_valid_headers() {
        let mut s = PacketSpec::new(
            "192.0.2.1".parse().unwrap(),
            "203.0.113.10".parse().unwrap(),
            L4Spec::Udp { sport: 1, dport: 2 },
        );
        s.payload = vec![7u8; 100];
        let p = build(&s, 1, Timestamp(0), LinkInfo::default());
        let fr = fragment_v4(&p.data, 40);
        assert_eq!(fr.len(), 3);
        for f in &fr {
            assert!(checksum::verify(&f[..20]));
        }
    }
}
