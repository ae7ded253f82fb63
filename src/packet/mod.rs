//! Packets in: the compact decoded [`Packet`] every other part of fwcheck consumes.
//!
//! This module owns capture reading (`pcap`/`pcapng`), link-layer and IP decoding, IPv4/IPv6
//! fragment reassembly and synthetic traffic. The engine never looks at raw link-layer bytes:
//! decoding happens once, into a plain owned value (smoltcp's "repr" style).

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

/// Address family of a packet or ruleset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn number(self) -> u8 {
        match self {
            Family::V4 => 4,
            Family::V6 => 6,
        }
    }
}

/// Time stamp of a captured packet, nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn from_secs_nanos(secs: u64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(nanos as u64),
        )
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    pub fn secs(self) -> u64 {
        self.0 / 1_000_000_000
    }
    pub fn subsec_nanos(self) -> u32 {
        (self.0 % 1_000_000_000) as u32
    }
}

/// What the link layer says about who the frame was for (Linux `skb->pkt_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PktType {
    /// Addressed to the capturing host (unicast), or unknown link layer (raw IP).
    #[default]
    Host,
    Broadcast,
    Multicast,
    /// Unicast to another host (seen in promiscuous mode).
    OtherHost,
    /// Sent by the capturing host (SLL/SLL2 "outgoing").
    Outgoing,
}

/// Link-layer facts kept after decoding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkInfo {
    /// DLT / LINKTYPE of the capture the frame came from.
    pub linktype: u32,
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    pub pkt_type: PktType,
    /// Outermost 802.1Q VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// pcapng interface id (0 for classic pcap).
    pub interface: u32,
}

/// IPv4 fragment facts (or IPv6 Fragment header facts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FragInfo {
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Fragment offset in 8-byte units (`frag_off & IP_OFFSET`).
    pub offset: u16,
    pub more_fragments: bool,
    pub dont_fragment: bool,
    /// True when this packet was put back together from several fragments.
    pub reassembled: bool,
    /// Number of fragments it was reassembled from (0 when not reassembled).
    pub fragments: u16,
}

impl FragInfo {
    /// A fragment is any packet with MF set or a non-zero offset.
    pub fn is_fragment(&self) -> bool {
        self.more_fragments || self.offset != 0
    }
}

/// TCP flag bits as in byte 13 of the TCP header.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// The TCP options conntrack and the `tcp`/`tcpmss` matches care about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Bitmap of option kinds present (bit `k` of `kinds[k / 8]`), for `--tcp-option`.
    pub kinds: [u8; 32],
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_perm: bool,
    /// SACK blocks (left, right edges), at most 4.
    pub sack: Vec<(u32, u32)>,
    pub timestamp: Option<(u32, u32)>,
    /// Options area could not be walked completely (bad length byte).
    pub malformed: bool,
}

impl TcpOptions {
    pub fn has_kind(&self, kind: u8) -> bool {
        self.kinds[(kind / 8) as usize] & (1 << (kind % 8)) != 0
    }
    pub fn set_kind(&mut self, kind: u8) {
        self.kinds[(kind / 8) as usize] |= 1 << (kind % 8);
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpInfo {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// Full flags byte (FIN..CWR), see [`tcp_flags`].
    pub flags: u8,
    pub window: u16,
    /// Data offset in 32-bit words.
    pub doff: u8,
    pub urgent: u16,
    pub options: TcpOptions,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpInfo {
    pub sport: u16,
    pub dport: u16,
    /// UDP length field.
    pub length: u16,
    pub checksum: u16,
}

/// ICMP or ICMPv6 header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IcmpInfo {
    pub icmp_type: u8,
    pub code: u8,
    /// Echo identifier (also for other query types: bytes 4..6 of the header).
    pub id: u16,
    pub seq: u16,
    /// For ICMP error messages: the header of the packet they quote.
    pub inner: Option<Box<InnerPacket>>,
}

/// The packet quoted inside an ICMP/ICMPv6 error (what conntrack needs to find RELATED).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerPacket {
    pub family: Family,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    /// Inner IPv4 fragment offset (non-zero: conntrack cannot build a tuple).
    pub frag_offset: u16,
    /// Source/destination ports (TCP, UDP, UDP-Lite, SCTP, DCCP), when at least 4 L4 bytes were quoted.
    pub ports: Option<(u16, u16)>,
    /// For quoted ICMP: type, code, id.
    pub icmp: Option<(u8, u8, u16)>,
    /// For quoted TCP: sequence number, when quoted.
    pub tcp_seq: Option<u32>,
}

/// Upper-layer header of a packet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum L4 {
    Tcp(TcpInfo),
    Udp(UdpInfo),
    Icmp(IcmpInfo),
    Icmpv6(IcmpInfo),
    /// SCTP, DCCP, UDP-Lite: only ports decoded.
    Ports {
        sport: u16,
        dport: u16,
    },
    /// Any other protocol, or a non-first fragment.
    #[default]
    Other,
    /// The header is cut short (protocol claims a header that is not all there).
    Truncated,
}

/// One decoded IP packet, owned and compact. Produced by the capture reader, the synthetic
/// generator and the flow-spec parser alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// 1-based frame number in the capture (as tcpdump and Wireshark count). For a reassembled
    /// datagram: the frame that completed it.
    pub frame: u64,
    pub ts: Timestamp,
    pub link: LinkInfo,
    pub family: Family,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Upper-layer protocol number (after IPv6 extension headers).
    pub proto: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 TOS byte or IPv6 traffic class.
    pub tos: u8,
    /// IPv4 total length, or IPv6 payload length + 40 (after reassembly: the whole datagram).
    /// This is `skb->len` as netfilter counts it.
    pub ip_len: u32,
    /// Length of the IP header(s): IPv4 IHL*4, or IPv6 40 + extension headers.
    pub ip_hdr_len: u16,
    pub frag: FragInfo,
    /// IPv4 header checksum verifies (always true for IPv6).
    pub ip_checksum_ok: bool,
    pub l4: L4,
    /// L4 checksum verifies: `None` when it could not be checked (truncated capture, fragment,
    /// protocol without checksum), `Some(true)` also for UDP checksum 0 over IPv4.
    pub l4_checksum_ok: Option<bool>,
    /// L4 payload length in bytes (after the TCP/UDP/ICMP header).
    pub payload_len: u32,
    /// The IP packet bytes (from the IP header on), as captured (possibly shorter than
    /// `ip_len` when the capture was truncated). Used by payload-inspecting matches
    /// (`u32`, `string`) and by analyses (ICMP payload entropy).
    pub data: Arc<[u8]>,
}

impl Packet {
    pub fn tcp(&self) -> Option<&TcpInfo> {
        match &self.l4 {
            L4::Tcp(t) => Some(t),
            _ => None,
        }
    }
    pub fn udp(&self) -> Option<&UdpInfo> {
        match &self.l4 {
            L4::Udp(u) => Some(u),
            _ => None,
        }
    }
    pub fn icmp(&self) -> Option<&IcmpInfo> {
        match &self.l4 {
            L4::Icmp(i) | L4::Icmpv6(i) => Some(i),
            _ => None,
        }
    }
    /// Source and destination port for protocols that have them.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match &self.l4 {
            L4::Tcp(t) => Some((t.sport, t.dport)),
            L4::Udp(u) => Some((u.sport, u.dport)),
            L4::Ports { sport, dport } => Some((*sport, *dport)),
            _ => None,
        }
    }
    /// Bytes of captured payload after the L4 header, if present in `data`.
    pub fn payload(&self) -> &[u8] {
        let hdr = self.ip_hdr_len as usize
            + match &self.l4 {
                L4::Tcp(t) => t.doff as usize * 4,
                L4::Udp(_) => 8,
                L4::Icmp(_) | L4::Icmpv6(_) => 8,
                _ => 0,
            };
        let end = (self.ip_len as usize).min(self.data.len());
        if hdr >= end {
            &[]
        } else {
            &self.data[hdr..end]
        }
    }
}

/// IP protocol numbers used throughout.
pub mod proto {
    pub const ICMP: u8 = 1;
    pub const IGMP: u8 = 2;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6_ROUTE: u8 = 43;
    pub const IPV6_FRAG: u8 = 44;
    pub const GRE: u8 = 47;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const IPV6_NONXT: u8 = 59;
    pub const IPV6_OPTS: u8 = 60;
    pub const SCTP: u8 = 132;
    pub const UDPLITE: u8 = 136;
    pub const DCCP: u8 = 33;
    pub const HOPOPTS: u8 = 0;
}
