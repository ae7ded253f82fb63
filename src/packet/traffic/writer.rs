//! Capture writing: classic pcap (what `fwcheck gen` produces: LINKTYPE_ETHERNET, microsecond
//! time stamps, little-endian), plus the general writers the test fixtures use (any supported
//! link type, nanosecond or big-endian pcap, pcapng with several interfaces and chosen
//! `if_tsresol`), and link-layer framing of a [`Packet`]'s IP bytes.
//!
//! Everything here is deterministic: the same packets give the same bytes.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::packet::decode::linktype;
use crate::packet::{Family, Packet, PktType, Timestamp};

/// Locally administered MAC used when a packet has none (the "host").
pub(crate) const DEFAULT_HOST_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
/// Locally administered MAC used when a packet has none (the "gateway").
pub(crate) const DEFAULT_PEER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

/// Classic pcap header choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcapOptions {
    pub linktype: u32,
    pub nanosecond: bool,
    pub big_endian: bool,
    pub snaplen: u32,
}

impl Default for PcapOptions {
    fn default() -> Self {
        PcapOptions {
            linktype: linktype::ETHERNET,
            nanosecond: false,
            big_endian: false,
            snaplen: 262_144,
        }
    }
}

/// One record to write: time stamp, captured bytes (link layer included), wire length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub ts: Timestamp,
    pub data: Vec<u8>,
    pub(crate) orig_len: u32,
    /// pcapng interface id (ignored by the classic pcap writer).
    pub interface: u32,
}

impl Record {
    pub fn new(ts: Timestamp, data: Vec<u8>) -> Self {
        let orig_len = data.len() as u32;
        Record {
            ts,
            data,
            orig_len,
            interface: 0,
        }
    }
}

fn u32b(v: u32, be: bool) -> [u8; 4] {
    if be {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

fn u16b(v: u16, be: bool) -> [u8; 2] {
    if be {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

/// Writes the 24-byte classic pcap file header.
pub fn write_pcap_header<W: Write>(w: &mut W, o: &PcapOptions) -> io::Result<()> {
    let magic: u32 = if o.nanosecond { 0xa1b23c4d } else { 0xa1b2c3d4 };
    w.write_all(&u32b(magic, o.big_endian))?;
    w.write_all(&u16b(2, o.big_endian))?;
    w.write_all(&u16b(4, o.big_endian))?;
    w.write_all(&[0u8; 8])?;
    w.write_all(&u32b(o.snaplen, o.big_endian))?;
    w.write_all(&u32b(o.linktype, o.big_endian))
}

/// Writes one classic pcap record.
pub fn write_pcap_record<W: Write>(w: &mut W, o: &PcapOptions, r: &Record) -> io::Result<()> {
    let frac = if o.nanosecond {
        r.ts.subsec_nanos()
    } else {
        r.ts.subsec_nanos() / 1000
    };
    let secs = u32::try_from(r.ts.secs()).unwrap_or(u32::MAX);
    w.write_all(&u32b(secs, o.big_endian))?;
    w.write_all(&u32b(frac, o.big_endian))?;
    w.write_all(&u32b(r.data.len() as u32, o.big_endian))?;
    w.write_all(&u32b(r.orig_len.max(r.data.len() as u32), o.big_endian))?;
    w.write_all(&r.data)
}

/// Writes a classic pcap with the given header options and records.
pub fn write_pcap_records<W: Write>(w: W, o: &PcapOptions, records: &[Record]) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 16, w);
    write_pcap_header(&mut w, o)?;
    for r in records {
        write_pcap_record(&mut w, o, r)?;
    }
    w.flush()
}

/// Frames a packet's IP bytes for a link type. Ethernet uses the packet's MACs (defaults when
/// absent) and its VLAN id as one 802.1Q tag; SLL/SLL2 encode `pkt_type` and the source MAC;
/// NULL uses little-endian AF values (2 / 24), LOOP big-endian.
pub fn frame_packet(lt: u32, p: &Packet) -> Vec<u8> {
    let mut f = Vec::with_capacity(p.data.len() + 24);
    let et: u16 = match p.family {
        Family::V4 => 0x0800,
        Family::V6 => 0x86dd,
    };
    let src = p.link.src_mac.unwrap_or(DEFAULT_PEER_MAC);
    let sll_type: u8 = match p.link.pkt_type {
        PktType::Host => 0,
        PktType::Broadcast => 1,
        PktType::Multicast => 2,
        PktType::OtherHost => 3,
        PktType::Outgoing => 4,
    };
    match lt {
        linktype::ETHERNET => {
            f.extend_from_slice(&p.link.dst_mac.unwrap_or(DEFAULT_HOST_MAC));
            f.extend_from_slice(&src);
            if let Some(v) = p.link.vlan {
                f.extend_from_slice(&0x8100u16.to_be_bytes());
                f.extend_from_slice(&(v & 0x0fff).to_be_bytes());
            }
            f.extend_from_slice(&et.to_be_bytes());
        }
        linktype::LINUX_SLL => {
            f.extend_from_slice(&(sll_type as u16).to_be_bytes());
            f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
            f.extend_from_slice(&6u16.to_be_bytes());
            f.extend_from_slice(&src);
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&et.to_be_bytes());
        }
        linktype::LINUX_SLL2 => {
            f.extend_from_slice(&et.to_be_bytes());
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&2u32.to_be_bytes()); // ifindex
            f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
            f.push(sll_type);
            f.push(6);
            f.extend_from_slice(&src);
            f.extend_from_slice(&[0, 0]);
        }
        linktype::NULL => {
            let af: u32 = if p.family == Family::V4 { 2 } else { 24 };
            f.extend_from_slice(&af.to_le_bytes());
        }
        linktype::LOOP => {
            let af: u32 = if p.family == Family::V4 { 2 } else { 24 };
            f.extend_from_slice(&af.to_be_bytes());
        }
        _ => {} // raw IP (12, 14, 101, 228, 229)
    }
    f.extend_from_slice(&p.data);
    f
}

/// Writes packets as a classic pcap: LINKTYPE_ETHERNET, microsecond time stamps,
/// little-endian. This is the format `fwcheck gen` produces; tcpdump and Wireshark read it.
pub fn write_pcap<W: Write>(w: W, packets: &[Packet]) -> io::Result<()> {
    let o = PcapOptions::default();
    let mut w = BufWriter::with_capacity(1 << 16, w);
    write_pcap_header(&mut w, &o)?;
    for p in packets {
        let f = frame_packet(linktype::ETHERNET, p);
        let r = Record {
            ts: p.ts,
            orig_len: f.len() as u32,
            data: f,
            interface: 0,
        };
        write_pcap_record(&mut w, &o, &r)?;
    }
    w.flush()
}

/// [`write_pcap`] to a file path (created or truncated).
pub fn write_pcap_file(path: impl AsRef<Path>, packets: &[Packet]) -> io::Result<()> {
    write_pcap(File::create(path)?, packets)
}

/// A pcapng interface to declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NgInterface {
    pub linktype: u16,
    /// `if_tsresol` byte (None: option absent, default 6 = microseconds). High bit set: power
    /// of two.
    pub tsresol: Option<u8>,
    pub name: String,
    /// `if_IPv4addr` / `if_IPv6addr` options: the interface's addresses with prefix lengths.
    pub addrs: Vec<(std::net::IpAddr, u8)>,
}

fn ng_block<W: Write>(w: &mut W, kind: u32, body: &[u8]) -> io::Result<()> {
    let pad = (4 - body.len() % 4) % 4;
    let len = (12 + body.len() + pad) as u32;
    w.write_all(&kind.to_le_bytes())?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(body)?;
    w.write_all(&[0u8; 3][..pad])?;
    w.write_all(&len.to_le_bytes())
}

fn ng_opt(b: &mut Vec<u8>, code: u16, val: &[u8]) {
    b.extend_from_slice(&code.to_le_bytes());
    b.extend_from_slice(&(val.len() as u16).to_le_bytes());
    b.extend_from_slice(val);
    let pad = (4 - val.len() % 4) % 4;
    b.extend_from_slice(&[0u8; 3][..pad]);
}

/// Time stamp units per second for an `if_tsresol` byte.
fn ticks(tsresol: Option<u8>, ts: Timestamp) -> u64 {
    let r = tsresol.unwrap_or(6);
    let n = ts.0 as u128;
    let t = if r & 0x80 != 0 {
        (n << (r & 0x7f)) / 1_000_000_000
    } else {
        let p = 10u128.pow((r as u32).min(9));
        n * p / 1_000_000_000
    };
    t as u64
}

/// Writes a little-endian pcapng: one section, the given interfaces, one Enhanced Packet
/// Block per record (its `interface` selects the IDB and thereby the time stamp resolution).
pub fn write_pcapng<W: Write>(
    w: W,
    interfaces: &[NgInterface],
    records: &[Record],
) -> io::Result<()> {
    let mut w = BufWriter::new(w);
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    ng_block(&mut w, 0x0a0d0d0a, &shb)?;
    for i in interfaces {
        let mut b = Vec::new();
        b.extend_from_slice(&i.linktype.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes()); // snaplen: unlimited
        ng_opt(&mut b, 2, i.name.as_bytes());
        if let Some(r) = i.tsresol {
            ng_opt(&mut b, 9, &[r]);
        }
        for (a, len) in &i.addrs {
            match a {
                std::net::IpAddr::V4(a) => {
                    let mask = u32::MAX
                        .checked_shl(32 - u32::from((*len).min(32)))
                        .unwrap_or(0);
                    let mut v = a.octets().to_vec();
                    v.extend_from_slice(&mask.to_be_bytes());
                    ng_opt(&mut b, 4, &v);
                }
                std::net::IpAddr::V6(a) => {
                    let mut v = a.octets().to_vec();
                    v.push(*len);
                    ng_opt(&mut b, 5, &v);
                }
            }
        }
        ng_opt(&mut b, 0, &[]);
        ng_block(&mut w, 1, &b)?;
    }
    for r in records {
        let res = interfaces.get(r.interface as usize).and_then(|i| i.tsresol);
        let t = ticks(res, r.ts);
        let mut b = Vec::with_capacity(20 + r.data.len() + 3);
        b.extend_from_slice(&r.interface.to_le_bytes());
        b.extend_from_slice(&((t >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(t as u32).to_le_bytes());
        b.extend_from_slice(&(r.data.len() as u32).to_le_bytes());
        b.extend_from_slice(&r.orig_len.max(r.data.len() as u32).to_le_bytes());
        b.extend_from_slice(&r.data);
        let pad = (4 - r.data.len() % 4) % 4;
        b.extend_from_slice(&[0u8; 3][..pad]);
        ng_block(&mut w, 6, &b)?;
    }
    w.flush()
}
