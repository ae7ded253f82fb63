//! Problems met while reading a capture: [`PacketProblem`] (one per frame that did not yield a
//! [`Packet`](crate::packet::Packet)) and its stable [`ProblemKind`]s.
//!
//! Kinds are stable identifiers (their [`ProblemKind::as_str`] names appear in reports and JSON
//! output and must not change). Skipped non-IP frames are reported with the same type but are
//! not errors ([`ProblemKind::is_skip`]).

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::packet::Timestamp;

/// Stable classification of a frame that did not decode into an IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// Not an IP frame (ARP, LLDP, STP, 802.3 LLC, ...): skipped, not an error.
    NonIp,
    /// The capture file ends in the middle of a record; reading stops there.
    TruncatedRecord,
    /// A record or block that makes the rest of the capture unreadable: a classic pcap record
    /// header claiming more bytes than the snaplen (or than 256 KiB when the snaplen is 0 or
    /// bogus), a pcapng block that cannot be parsed, an `if_tsresol` that cannot be represented.
    /// An error (exit 3 unless `--keep-going`), unlike a capture merely cut short.
    CorruptRecord,
    /// One frame's record is malformed (a pcapng packet block naming an interface its section
    /// does not declare, a bad packet block): that frame is skipped, reading continues.
    CaptureFormat,
    /// The frame's link type is not one fwcheck decodes.
    UnsupportedLinkType,
    /// The frame is shorter than its link-layer header.
    LinkTruncated,
    /// Fewer bytes than a fixed IP header (20 / 40) were captured.
    IpTruncated,
    /// The IP version nibble does not match the link layer's protocol (or is neither 4 nor 6).
    IpVersion,
    /// IPv4 header unusable: `ihl < 5`, or total length smaller than the header. Dropped by the
    /// kernel in `ip_rcv_core`.
    IpBadHeader,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 9] = [
        ProblemKind::NonIp,
        ProblemKind::TruncatedRecord,
        ProblemKind::CorruptRecord,
        ProblemKind::CaptureFormat,
        ProblemKind::UnsupportedLinkType,
        ProblemKind::LinkTruncated,
        ProblemKind::IpTruncated,
        ProblemKind::IpVersion,
        ProblemKind::IpBadHeader,
    ];

    /// Stable name (kebab-case), as used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::NonIp => "non-ip",
            ProblemKind::TruncatedRecord => "truncated-record",
            ProblemKind::CorruptRecord => "corrupt-record",
            ProblemKind::CaptureFormat => "capture-format",
            ProblemKind::UnsupportedLinkType => "unsupported-linktype",
            ProblemKind::LinkTruncated => "link-truncated",
            ProblemKind::IpTruncated => "ip-truncated",
            ProblemKind::IpVersion => "ip-version",
            ProblemKind::IpBadHeader => "ip-bad-header",
        }
    }

    /// True for frames that are skipped by design (non-IP), not errors.
    pub fn is_skip(self) -> bool {
        self == ProblemKind::NonIp
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A frame that did not yield a packet: where (frame number, 1-based), what (stable kind), why
/// (human reason) and, when the fixed IP header was readable, the addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("frame {frame}: {kind}: {reason}{}", Addrs(*addrs))]
pub struct PacketProblem {
    pub frame: u64,
    pub kind: ProblemKind,
    pub reason: String,
    /// Capture timestamp of the frame, when the record header was readable.
    pub ts: Option<Timestamp>,
    /// Source and destination address, when the IP header was readable enough.
    pub addrs: Option<(IpAddr, IpAddr)>,
    /// Ethertype (or link protocol) of a skipped non-IP frame.
    pub ethertype: Option<u16>,
    /// An Ethernet/IPv4 ARP request or reply: what the replay needs of it to see a
    /// neighbour that never answered the host ([`ArpInfo`]).
    #[serde(skip)]
    pub arp: Option<ArpInfo>,
}

/// An IPv4-over-Ethernet ARP frame (RFC 826) the capture holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpInfo {
    /// 1: request, 2: reply.
    pub op: u16,
    pub sender: std::net::Ipv4Addr,
    pub target: std::net::Ipv4Addr,
    /// The frame's link source, when the link header holds it.
    pub src_mac: Option<[u8; 6]>,
    /// Sent by the capturing host (a cooked capture says so), else as the link header reads.
    pub pkt_type: crate::packet::PktType,
}

impl PacketProblem {
    pub fn new(frame: u64, kind: ProblemKind, reason: impl Into<String>) -> Self {
        PacketProblem {
            frame,
            kind,
            reason: reason.into(),
            ts: None,
            addrs: None,
            ethertype: None,
            arp: None,
        }
    }
}

/// ` (SRC > DST)` when the addresses are known.
struct Addrs(Option<(IpAddr, IpAddr)>);

impl fmt::Display for Addrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some((s, d)) => write!(f, " ({s} > {d})"),
            None => Ok(()),
        }
    }
}

/// Human name of a well-known ethertype, for skip reports.
pub(crate) fn ethertype_name(et: u16) -> Option<&'static str> {
    Some(match et {
        0x0806 => "ARP",
        0x8035 => "RARP",
        0x88cc => "LLDP",
        0x888e => "EAPOL",
        0x8847 | 0x8848 => "MPLS",
        0x8863 => "PPPoE discovery",
        0x8864 => "PPPoE session",
        0x88f7 => "PTP",
        0x8809 => "slow protocols (LACP)",
        0x8808 => "Ethernet flow control",
        0x22f0 => "AVTP",
        0x893a => "IEEE 1905",
        0x9000 => "loopback (CTP)",
        0x88e5 => "MACsec",
        0x8100 | 0x88a8 | 0x9100 => "VLAN tag",
        _ => return None,
    })
}
