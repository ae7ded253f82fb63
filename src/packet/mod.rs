//! Packets in: the compact decoded [`Packet`] every other part of fwcheck consumes.
//!
//! This module owns capture reading (`pcap`/`pcapng`), link-layer and IP decoding, IPv4/IPv6
//! fragment reassembly and synthetic traffic. The engine never looks at raw link-layer bytes:
//! decoding happens once, into a plain owned value (smoltcp's "repr" style).
//!
//! Sub-modules, in two halves (each sub-module is also reachable by its own name,
//! `packet::capture`, …):
//! * `ingest` — packets in from captures:
//!   * [`capture`] — streaming pcap/pcapng reader ([`capture::CaptureReader`]), auto-detected by
//!     magic number; yields `Result<Packet, PacketProblem>` in constant memory.
//!   * [`decode`] — link layer (Ethernet/VLAN, SLL, SLL2, raw IP, NULL/LOOP) and IP/L4 decoding.
//!   * [`problem`] — [`PacketProblem`] and its stable [`ProblemKind`]s.
//!   * [`defrag`] — [`defrag::Defragmenter`], the kernel's pre-conntrack reassembly.
//! * [`traffic`] — packets made and written:
//!   * [`build`] — builds wire bytes (IP + L4, correct checksums) for synthetic packets.
//!   * [`conversation`] — [`conversation::Conversation`], the one TCP conversation builder
//!     (handshake, data, closes, RSTs, raw segments) of the generator, synthesis and tests.
//!   * [`writer`] — classic pcap / pcapng writers and link-layer framing.
//!   * [`gen`] — synthetic traffic profiles (`fwcheck gen`).
//!   * [`flowspec`] — the ad-hoc what-if flow grammar (`--flow`).
//! * [`checksum`] — Internet checksum helpers, the one implementation both halves use.
//! * [`shared`] — [`SharedBytes`], a packet's bytes as a range of the capture buffer it was
//!   read from.
//!
//! # The decoding contract (what the engine can rely on)
//!
//! A capture frame turns into exactly one of:
//!
//! * `Ok(Packet)` — an IP packet was found. This includes packets the kernel would drop before
//!   netfilter (bad IPv4 header checksum, total length beyond what was on the wire, frame not
//!   addressed to the host): they are still decoded as far as possible and
//!   [`Packet::kernel_drop_reason`] says why the kernel drops them in `ip_rcv_core`. Malformed
//!   upper layers are *not* errors either: the packet carries [`L4::Truncated`] and/or
//!   [`Anomalies`] flags (`TCP_BAD_DOFF`, `UDP_BAD_LEN`, ...) so that conntrack can mark it
//!   INVALID and matches can hotdrop exactly as the kernel does.
//! * `Err(PacketProblem)` with [`ProblemKind::NonIp`] — a non-IP frame (ARP, LLDP, ...), skipped
//!   and counted, not an error ([`ProblemKind::is_skip`]).
//! * `Err(PacketProblem)` with another kind — no IP packet could be decoded (cut capture record,
//!   IPv4 `ihl < 5`, version mismatch, fewer bytes than an IP header, unsupported link type).
//!   The problem carries the frame number, a stable kind, a human reason and, when the fixed
//!   IP header was readable, the addresses. For the kernel these frames are all "dropped before
//!   netfilter".
//!
//! Frame numbers are 1-based and count every record of the capture (as tcpdump and Wireshark
//! do), whatever became of it. Decoding never panics on any input.

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

pub use crate::netfilter::Family;

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
    pub(crate) fn subsec_nanos(self) -> u32 {
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
    pub(crate) dst_mac: Option<[u8; 6]>,
    pub pkt_type: PktType,
    /// The 802.1Q VLAN id the kernel delivers the frame by, if tagged: the outermost tag's,
    /// or, when that is 0 (a priority tag), the first non-zero one's within.
    pub vlan: Option<u16>,
    /// pcapng interface id (0 for classic pcap).
    pub interface: u32,
    /// The name of the interface the frame was captured on (pcapng `if_name`), when the
    /// capture records a usable Linux interface name: what `-i`/`-o` see for this packet
    /// unless `--iface` is given (`SimEnv::iface_of` of the extension ABI). One allocation per
    /// capture interface, shared by its packets.
    pub ifname: Option<Arc<str>>,
    /// The interface index a Linux cooked v2 (SLL2) header carries.
    pub ifindex: Option<u32>,
}

/// IPv4 fragment facts (or IPv6 Fragment header facts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FragInfo {
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Fragment offset in 8-byte units (`frag_off & IP_OFFSET`).
    pub offset: u16,
    pub(crate) more_fragments: bool,
    pub(crate) dont_fragment: bool,
    /// IPv6: a Fragment header is present (an atomic fragment has one with offset 0 and M
    /// clear, and is no fragment by [`FragInfo::is_fragment`]).
    pub(crate) v6_header: bool,
    /// True when this packet was put back together from several fragments.
    pub reassembled: bool,
    /// Number of fragments it was reassembled from (0 when not reassembled).
    pub fragments: u16,
    /// For a reassembled datagram, the length of its largest fragment (`frag_max_size`).
    pub max_fragment: u32,
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

    /// TCP flags as `tcpdump` letters (`S`, `S.`, `F.`, `R`, `P.`), `none` for no flag.
    pub fn tcpdump(f: u8) -> String {
        let mut s = String::new();
        for (bit, c) in [
            (FIN, 'F'),
            (SYN, 'S'),
            (RST, 'R'),
            (PSH, 'P'),
            (URG, 'U'),
            (ECE, 'E'),
            (CWR, 'W'),
        ] {
            if f & bit != 0 {
                s.push(c);
            }
        }
        if f & ACK != 0 {
            s.push('.');
        }
        if s.is_empty() {
            s.push_str("none");
        }
        s
    }
}

/// The TCP options conntrack and the `tcp`/`tcpmss` matches care about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Bitmap of option kinds present (bit `k` of `kinds[k / 8]`), for `--tcp-option`.
    pub kinds: [u8; 32],
    pub(crate) mss: Option<u16>,
    pub(crate) wscale: Option<u8>,
    pub(crate) sack_perm: bool,
    /// SACK blocks (left, right edges), at most 4.
    pub sack: Vec<(u32, u32)>,
    pub timestamp: Option<(u32, u32)>,
    /// Options area could not be walked completely (bad length byte).
    pub malformed: bool,
    /// The capture's snap length cut the options area off (in part): options missing here
    /// may have been on the wire.
    pub cut: bool,
}

impl TcpOptions {
    pub(crate) fn has_kind(&self, kind: u8) -> bool {
        self.kinds[(kind / 8) as usize] & (1 << (kind % 8)) != 0
    }
    pub(crate) fn set_kind(&mut self, kind: u8) {
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
    /// Bytes of the quoted packet's transport header (and beyond) the error holds, at most
    /// `u16::MAX`: NAT rewrites a quoted header only when all of it is there.
    pub l4_len: u16,
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
    pub data: SharedBytes,
    /// Decoding findings: truncation, malformed headers (see [`Anomalies`]). Empty for a clean
    /// packet.
    pub anomalies: Anomalies,
    /// For a reassembled datagram: the frame numbers of all fragments it was built from, in
    /// ascending order (the last one is usually `frame`). `None` for ordinary packets.
    pub reassembled_from: Option<Arc<[u64]>>,
    /// A reassembled datagram: where each fragment after the first begins, in bytes from the
    /// IP header (the kernel's reassembled skb keeps each fragment in a buffer of its own).
    pub frag_bounds: Option<Arc<[u32]>>,
}

/// Bit set of decoding findings on a [`Packet`]. Cheap to copy; test with [`Anomalies::has`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Anomalies(pub u16);

impl Anomalies {
    /// The capture's snap length cut the frame: `data` ends before `ip_len`. Not a property of
    /// the packet on the wire (the kernel saw it whole); L4 checksums cannot be checked.
    pub const CAP_TRUNCATED: Anomalies = Anomalies(1 << 0);
    /// The IP header claims more bytes (IPv4 total length / IPv6 payload length) than the frame
    /// carried on the wire. The kernel drops it before netfilter (`ip_rcv_core`, `ipv6_rcv`).
    pub const IP_TRUNCATED: Anomalies = Anomalies(1 << 1);
    /// The frame carried bytes after the IP datagram (Ethernet padding); they were trimmed, as
    /// the kernel does (`pskb_trim_rcsum`).
    pub const IP_PADDED: Anomalies = Anomalies(1 << 2);
    /// The upper-layer header is shorter than its minimum (TCP < 20, UDP < 8, ICMP < 8 bytes)
    /// in the datagram itself (not merely in the capture). `l4` is [`L4::Truncated`].
    pub const L4_SHORT: Anomalies = Anomalies(1 << 3);
    /// TCP data offset < 5, or data offset beyond the TCP segment (`tcp_error`: INVALID).
    pub const TCP_BAD_DOFF: Anomalies = Anomalies(1 << 4);
    /// UDP length field < 8 or larger than the UDP segment (`udp_error`: INVALID).
    pub const UDP_BAD_LEN: Anomalies = Anomalies(1 << 5);
    /// The IPv6 extension header chain runs past the end of the packet.
    pub(crate) const IPV6_BAD_EXT: Anomalies = Anomalies(1 << 6);
    /// The IPv4 options area is malformed (an option length runs past the header).
    pub(crate) const IP_BAD_OPTIONS: Anomalies = Anomalies(1 << 7);
    /// The TCP/UDP checksum does not verify but holds exactly the pseudo-header sum: the
    /// sender's stack left it for the NIC to complete (`CHECKSUM_PARTIAL`; `tcp_v4_send_check`,
    /// `udp4_hwcsum`, their IPv6 twins). Captured on the sending host, a veth, a VM or a
    /// container; the receiving kernel never verifies such a checksum (see [`ChecksumMode`]).
    /// Also set for a UDP tunnel's outer checksum local checksum offload computed, which
    /// verifies once the encapsulated packet's partial checksum is completed
    /// (`decode::lco_inner_checksum`).
    pub(crate) const L4_CSUM_PARTIAL: Anomalies = Anomalies(1 << 8);
    /// The frame captured next may continue this one as the next segment of one GSO packet
    /// the stack cut after POSTROUTING (same flow, back to back, sequence or size continuing:
    /// `packet::ingest::gso`), which OUTPUT saw whole.
    pub const GSO_CONTINUED: Anomalies = Anomalies(1 << 9);

    pub const fn empty() -> Self {
        Anomalies(0)
    }
    pub const fn has(self, other: Anomalies) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }
    pub fn set(&mut self, other: Anomalies) {
        self.0 |= other.0;
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Stable names of the flags that are set, for reports.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        const NAMES: [&str; 10] = [
            "cap-truncated",
            "ip-truncated",
            "ip-padded",
            "l4-short",
            "tcp-bad-doff",
            "udp-bad-len",
            "ipv6-bad-ext",
            "ip-bad-options",
            "l4-csum-partial",
            "gso-continued",
        ];
        NAMES
            .into_iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| n)
    }
}

/// How the transport checksums of a capture map to what the receiving kernel verifies
/// (`skb->ip_summed`, `--checksums`).
///
/// The kernel verifies a TCP/UDP/ICMP checksum (in conntrack at PREROUTING, `nf_checksum`, and
/// in REJECT, `nf_ip_checksum`) only when nothing vouched for it: `CHECKSUM_NONE`. A packet
/// whose checksum was offloaded (`CHECKSUM_PARTIAL`: built by a local stack for a NIC to
/// finish, as on a veth, a tap, a VM's virtio NIC) or already checked by the NIC
/// (`CHECKSUM_UNNECESSARY`) is never verified, so its checksum field cannot make it INVALID.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumMode {
    /// Every checksum is verified, as for packets from a NIC without receive offload
    /// (`CHECKSUM_NONE`): a partial checksum is a bad one.
    Verify,
    /// Partial checksums (`Anomalies::L4_CSUM_PARTIAL`) are offloaded and never verified;
    /// any other checksum is verified. What a capture taken on a real host needs, and the default.
    #[default]
    Auto,
    /// No transport checksum is verified (`CHECKSUM_UNNECESSARY` for every packet, or
    /// `nf_conntrack_checksum=0` plus a NIC that checked them all).
    Ignore,
}

impl Packet {
    /// The kernel verifies this packet's transport checksum and finds it bad, under `mode`.
    #[inline]
    pub(crate) fn l4_checksum_bad(&self, mode: ChecksumMode) -> bool {
        self.l4_checksum_ok == Some(false)
            && match mode {
                ChecksumMode::Verify => true,
                ChecksumMode::Auto => !self.anomalies.has(Anomalies::L4_CSUM_PARTIAL),
                ChecksumMode::Ignore => false,
            }
    }

    /// The kernel verifies this packet's transport checksum (under a mode that verifies any)
    /// but the capture's snap length cut off bytes it covers: whether it was good is not known.
    /// (TCP, UDP with a checksum, ICMP and ICMPv6, their header captured: UDP-Lite and SCTP
    /// say so themselves.)
    #[inline]
    pub(crate) fn l4_checksum_cut(&self) -> bool {
        self.l4_checksum_ok.is_none()
            && self.anomalies.has(Anomalies::CAP_TRUNCATED)
            && match &self.l4 {
                L4::Tcp(_) | L4::Icmp(_) | L4::Icmpv6(_) => true,
                L4::Udp(u) => u.checksum != 0,
                _ => false,
            }
    }

    /// The checksum field is not what the wire would carry but the kernel does not verify it
    /// under `mode`: the frames a summary counts as "checksum offloaded".
    #[inline]
    pub(crate) fn l4_checksum_offloaded(&self, mode: ChecksumMode) -> bool {
        self.l4_checksum_ok == Some(false) && !self.l4_checksum_bad(mode)
    }
}

impl std::ops::BitOr for Anomalies {
    type Output = Anomalies;
    fn bitor(self, rhs: Anomalies) -> Anomalies {
        Anomalies(self.0 | rhs.0)
    }
}

impl Default for Packet {
    /// An empty IPv4 packet (0.0.0.0 → 0.0.0.0, no payload); handy with `..Default::default()`.
    fn default() -> Self {
        let any = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        Packet {
            frame: 0,
            ts: Timestamp::default(),
            link: LinkInfo::default(),
            family: Family::V4,
            src: any,
            dst: any,
            proto: 0,
            ttl: 0,
            tos: 0,
            ip_len: 0,
            ip_hdr_len: 0,
            frag: FragInfo::default(),
            ip_checksum_ok: true,
            l4: L4::Other,
            l4_checksum_ok: None,
            payload_len: 0,
            data: SharedBytes::default(),
            anomalies: Anomalies::empty(),
            reassembled_from: None,
            frag_bounds: None,
        }
    }
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

    /// Why the kernel drops this packet before any netfilter hook sees it (`ip_rcv_core` /
    /// `ipv6_rcv`), or `None` when it reaches PREROUTING. See the spec §1.2 and §8.
    pub fn kernel_drop_reason(&self) -> Option<&'static str> {
        if self.link.pkt_type == PktType::OtherHost {
            return Some("frame not addressed to this host (PACKET_OTHERHOST)");
        }
        self.kernel_drop_reason_past_link()
    }

    /// [`Packet::kernel_drop_reason`] but for the link layer's "not addressed to this host".
    pub(crate) fn kernel_drop_reason_past_link(&self) -> Option<&'static str> {
        if self.family == Family::V4 && !self.ip_checksum_ok {
            return Some("bad IP header checksum");
        }
        if let IpAddr::V6(s) = self.src {
            // ip6_rcv_core, RFC 4291 2.7.
            if s.is_multicast() {
                return Some("IPv6 multicast source address");
            }
        }
        if let IpAddr::V6(d) = self.dst {
            // ip6_rcv_core: a multicast destination of interface-local scope (1) arriving on a
            // network device, or of the reserved scope 0 (kernel-checked: forward-edge.pcap).
            if d.is_multicast() && d.segments()[0] & 0x000f <= 1 {
                return Some("IPv6 multicast destination of interface-local or reserved scope");
            }
        }
        if let Some(why) = self.hop_by_hop_refused() {
            return Some(why);
        }
        if self.anomalies.has(Anomalies::IP_TRUNCATED) {
            return Some(match self.family {
                Family::V4 => "IP total length exceeds the frame (truncated packet)",
                Family::V6 => "IPv6 payload length exceeds the frame (truncated packet)",
            });
        }
        None
    }

    /// `ipv6_parse_hopopts` in `ip6_rcv_core`, before PREROUTING: an option the kernel does
    /// not know is handled by the two high bits of its type (`ip6_tlvopt_unknown`): 00 skip,
    /// 01 drop, 10 drop with a parameter problem, 11 the same unless the destination is
    /// multicast (dropped either way). Known: Pad1, PadN, Router Alert, CALIPSO, IOAM, Jumbo.
    fn hop_by_hop_refused(&self) -> Option<&'static str> {
        if self.family != Family::V6 || self.data.get(6) != Some(&crate::packet::proto::HOPOPTS) {
            return None;
        }
        // Its first 8 bytes, then its whole length, must be in the datagram (`pskb_may_pull`),
        // else it is freed (kernel-checked: ipv6-cut-exthdr). Not where the capture cut it.
        if self.anomalies.has(Anomalies::IPV6_BAD_EXT) {
            let ip_len = self.ip_len as usize;
            let cut = ip_len < 48 || ip_len < 40 + (*self.data.get(41)? as usize + 1) * 8;
            if cut && self.data.len() >= ip_len {
                return Some(
                    "IPv6 hop-by-hop header cut off by the end of the datagram \
                     (ipv6_parse_hopopts, before PREROUTING)",
                );
            }
        }
        let len = (*self.data.get(41)? as usize + 1) * 8;
        let opts = self.data.get(42..40 + len)?;
        let mut i = 0;
        while i < opts.len() {
            let t = opts[i];
            if t == 0 {
                i += 1;
                continue;
            }
            let l = *opts.get(i + 1)? as usize;
            if !matches!(t, 1 | 5 | 7 | 0x31 | 0xc2) && t >> 6 != 0 {
                return Some(
                    "IPv6 hop-by-hop option of an unknown type whose high bits say discard \
                     (ipv6_parse_hopopts, before PREROUTING)",
                );
            }
            i += 2 + l;
        }
        None
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

pub mod checksum;
pub(crate) mod ingest;
pub mod shared;
pub mod traffic;

// The sub-modules by their own names, as the rest of the crate uses them.
pub use ingest::{ahead, capture, decode, defrag, problem};
pub use traffic::{build, conversation, flowspec, gen, writer};

pub use capture::{CaptureError, CaptureFormat, CaptureReader, ReadStats};
pub use conversation::{Conversation, Endpoint, Side};
pub use defrag::{DefragEvent, Defragmenter};
pub use problem::{PacketProblem, ProblemKind};
pub use shared::SharedBytes;
pub use writer::write_pcap;

/// IP protocol numbers used throughout.
pub mod proto {
    pub const ICMP: u8 = 1;
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

/// An address with its port as iptables users write it: `192.0.2.1:80`, `[2001:db8::1]:80`
/// (the address alone without a port).
pub(crate) fn endpoint(a: std::net::IpAddr, port: Option<u16>) -> String {
    match (a, port) {
        (std::net::IpAddr::V6(v), Some(p)) => format!("[{v}]:{p}"),
        (a, Some(p)) => format!("{a}:{p}"),
        (a, None) => a.to_string(),
    }
}
