//! Streaming capture reader: classic pcap (micro/nanosecond, either byte order) and pcapng
//! (several interfaces, per-interface link type and `if_tsresol`/`if_tsoffset`), detected by
//! magic number — never by file extension. A pcapng packet carries the `if_name` of the
//! interface it was captured on ([`crate::packet::LinkInfo::ifname`], one `Arc<str>` per
//! interface); [`CaptureReader::interfaces`] lists the interfaces and SLL2 interface indexes.
//!
//! Owns: opening a capture, framing records, frame numbering (1-based, every record counts),
//! timestamps, per-frame decoding through [`super::decode`], and read statistics. Memory stays
//! constant whatever the file size: pcap-file's reader keeps one fixed 1 MB buffer and each
//! packet is decoded straight out of it; [`CaptureReader::open`] adds a read-ahead thread
//! ([`ReadAhead`]) holding at most six 1 MB chunks.
//!
//! A capture cut in the middle of a record yields one [`ProblemKind::TruncatedRecord`] problem
//! after every complete record, then the iterator ends. Nothing here panics on any input.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;
use std::sync::Arc;

use pcap_file::pcap::PcapError;
use pcap_file::pcap::{PcapReadError, PcapReader};
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::blocks::{
    ENHANCED_PACKET_BLOCK, PACKET_BLOCK, SECTION_HEADER_BLOCK, SIMPLE_PACKET_BLOCK,
};
use pcap_file::pcapng::PcapNgState;
use pcap_file::pcapng::{Block, PcapNgReadError, PcapNgReader};
use pcap_file::Endianness;
use serde::Serialize;

use super::decode::{decode_frame, is_supported_linktype, linktype_label, FrameMeta};
use super::problem::{PacketProblem, ProblemKind};
use super::{Packet, Timestamp};

/// Errors that prevent reading a capture at all.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot read capture: {0}")]
    Io(#[from] io::Error),
    #[error("not a pcap or pcapng file (magic number 0x{0:08x})")]
    NotACapture(u32),
    #[error("not a pcap or pcapng file: {0}")]
    TooShort(String),
    #[error("unsupported link type {0}")]
    UnsupportedLinkType(String),
    #[error("corrupt capture header: {0}")]
    Format(String),
}

/// What kind of capture is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CaptureFormat {
    Pcap {
        linktype: u32,
        nanosecond: bool,
        big_endian: bool,
        snaplen: u32,
    },
    PcapNg,
}

/// Counters kept while reading.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReadStats {
    /// Capture records (frames) seen, complete or not.
    pub frames: u64,
    /// Frames that decoded into a packet.
    pub packets: u64,
    /// Non-IP frames skipped.
    pub skipped: u64,
    /// Problems by kind (skips included under `NonIp`).
    pub problems: BTreeMap<ProblemKind, u64>,
    /// Skipped non-IP frames by ethertype / link protocol.
    pub non_ip_ethertypes: BTreeMap<u16, u64>,
}

/// An interface of a pcapng capture (an Interface Description Block that packets refer to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureInterface {
    /// Section of the file (0 for the first; interface ids start again in each section).
    pub section: u32,
    /// The interface id packets of its section give.
    pub id: u32,
    pub linktype: u32,
    /// The `if_name` option as recorded, if any.
    pub recorded_name: Option<String>,
    /// The name its packets carry (`LinkInfo::ifname`): the recorded name when it is a Linux
    /// interface name (see [`usable_ifname`]), else `None`.
    pub name: Option<Arc<str>>,
    /// IP packets decoded from frames captured on it.
    pub packets: u64,
    /// Its addresses as the capture declares them (`if_IPv4addr`, `if_IPv6addr`).
    pub addrs: Vec<std::net::IpAddr>,
}

/// Whether a recorded `if_name` can be what `-i`/`-o` see: a name the Linux kernel accepts for
/// a device (`dev_valid_name`: 1 to 15 bytes, not `.` or `..`, no `/`, `:` or white space) and
/// not `any`, libpcap's pseudo-device capturing on every interface at once.
pub fn usable_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && name != "any"
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
}

/// The interfaces a capture's packets referred to, and the SLL2 interface indexes they carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureInterfaces {
    /// pcapng interfaces in the order their first packet appeared (empty for classic pcap).
    pub interfaces: Vec<CaptureInterface>,
    /// Interface indexes of Linux cooked v2 (SLL2) headers of packets without an interface
    /// name, with packet counts, in order of first appearance.
    pub ifindexes: Vec<(u32, u64)>,
}

impl CaptureInterfaces {
    /// Whether any packet carries an interface name.
    pub fn named(&self) -> bool {
        self.interfaces
            .iter()
            .any(|i| i.name.is_some() && i.packets > 0)
    }

    fn note_ifindex(&mut self, ix: u32) {
        match self.ifindexes.iter_mut().find(|(i, _)| *i == ix) {
            Some((_, n)) => *n += 1,
            None => self.ifindexes.push((ix, 1)),
        }
    }
}

/// The index in `table` of interface `id` of the current section, created from the section's
/// Interface Description Block the first time a packet refers to it; `None` for an id the
/// section does not declare.
fn resolve_interface(
    table: &mut CaptureInterfaces,
    section_map: &mut Vec<u32>,
    section: u32,
    id: u32,
    state: &PcapNgState,
) -> Option<usize> {
    if let Some(&g) = section_map.get(id as usize) {
        if g != u32::MAX {
            return Some(g as usize);
        }
    }
    let idb = state.interfaces().get(id as usize)?;
    let recorded = idb.options.iter().find_map(|o| match o {
        InterfaceDescriptionOption::IfName(n) => Some(n.to_string()),
        _ => None,
    });
    let name = recorded
        .as_deref()
        .filter(|n| usable_ifname(n))
        .map(Arc::<str>::from);
    let addrs = idb
        .options
        .iter()
        .filter_map(|o| match o {
            InterfaceDescriptionOption::IfIpv4Addr(b) => <[u8; 4]>::try_from(b.get(..4)?)
                .ok()
                .map(std::net::IpAddr::from),
            InterfaceDescriptionOption::IfIpv6Addr(b) => <[u8; 16]>::try_from(b.get(..16)?)
                .ok()
                .map(std::net::IpAddr::from),
            _ => None,
        })
        .collect();
    let g = table.interfaces.len();
    table.interfaces.push(CaptureInterface {
        section,
        id,
        linktype: u32::from(idb.linktype),
        recorded_name: recorded,
        name,
        packets: 0,
        addrs,
    });
    if section_map.len() <= id as usize {
        section_map.resize(id as usize + 1, u32::MAX);
    }
    section_map[id as usize] = g as u32;
    Some(g)
}

type Src<R> = io::Chain<Cursor<[u8; 4]>, Counting<R>>;

/// Counts the bytes read from a capture (so a broken record can be placed by byte offset).
pub struct Counting<R> {
    inner: R,
    n: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n
            .fetch_add(k as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(k)
    }
}

enum Inner<R: Read> {
    Pcap {
        reader: PcapReader<Src<R>>,
        linktype: u32,
        nanos: bool,
    },
    PcapNg {
        reader: Box<PcapNgReader<Src<R>>>,
    },
}

/// Iterator over the frames of a pcap or pcapng capture: `Ok(Packet)` or `Err(PacketProblem)`
/// per frame (see the module docs of [`crate::packet`] for the contract).
pub struct CaptureReader<R: Read> {
    inner: Inner<R>,
    format: CaptureFormat,
    frame: u64,
    last_ts: Timestamp,
    done: bool,
    stats: ReadStats,
    ifaces: CaptureInterfaces,
    /// Classic pcap: byte offset of the next record (24-byte file header, then 16-byte record
    /// headers and their data).
    next_record: u64,
    /// Bytes read from the source so far (the whole file once reading hit its end).
    consumed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// pcapng: the current section (counted from 0) and, per interface id of that section,
    /// its index in `ifaces.interfaces` (`u32::MAX`: not yet referred to).
    section: u32,
    section_map: Vec<u32>,
}

const PCAP_MAGICS: [u32; 4] = [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1];
const PCAPNG_MAGIC: u32 = 0x0a0d0d0a;

/// Read buffer size: large enough for any record (snap lengths go up to 262144), small enough
/// to stay in the CPU cache while the records in it are decoded.
const READ_BUFFER: usize = 1 << 20;

impl CaptureReader<ReadAhead> {
    /// Opens a capture file. The file is read by a helper thread one 1 MB chunk ahead of the
    /// decoder (at most 4 chunks in flight), so that the kernel's copy overlaps decoding.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let f = File::open(path)?;
        CaptureReader::new(ReadAhead::new(f))
    }
}

const CHUNK: usize = 1 << 20;

/// A reader that reads its source on a helper thread, a few fixed-size chunks ahead.
/// Memory is bounded (4 chunks in flight plus 2 recycled); the thread stops when the reader is
/// dropped or the source ends.
pub struct ReadAhead {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    recycle: std::sync::mpsc::SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl ReadAhead {
    pub fn new<R: Read + Send + 'static>(mut src: R) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(4);
        let (recycle, back) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        std::thread::spawn(move || loop {
            let mut b = back.try_recv().unwrap_or_default();
            b.resize(CHUNK, 0);
            let mut got = 0;
            let res = loop {
                match src.read(&mut b[got..]) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        got += n;
                        if got == b.len() {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            b.truncate(got);
            let last = got == 0 || res.is_err();
            let msg = match res {
                Ok(()) => Ok(b),
                Err(e) => Err(e),
            };
            if tx.send(msg).is_err() || last {
                return;
            }
        });
        ReadAhead {
            rx,
            recycle,
            cur: Vec::new(),
            pos: 0,
            eof: false,
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.cur.len() {
            if self.eof {
                return Ok(0);
            }
            let old = std::mem::take(&mut self.cur);
            if old.capacity() > 0 {
                let _ = self.recycle.try_send(old);
            }
            match self.rx.recv() {
                Ok(Ok(v)) if !v.is_empty() => {
                    self.cur = v;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.eof = true;
                    return Err(e);
                }
                _ => {
                    self.eof = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn read_magic<R: Read>(r: &mut R) -> io::Result<([u8; 4], usize)> {
    let mut m = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut m[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((m, got))
}

fn is_eof(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof
}

impl<R: Read> CaptureReader<R> {
    /// Starts reading a capture from any byte stream (buffered internally).
    pub fn new(reader: R) -> Result<Self, CaptureError> {
        let consumed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut reader = Counting {
            inner: reader,
            n: consumed.clone(),
        };
        let (magic, got) = read_magic(&mut reader)?;
        if got < 4 {
            return Err(CaptureError::TooShort(format!("{got} bytes")));
        }
        let be = u32::from_be_bytes(magic);
        let src = Cursor::new(magic).chain(reader);
        if PCAP_MAGICS.contains(&be) {
            let r = PcapReader::with_capacity(src, READ_BUFFER).map_err(|e| match e {
                PcapReadError::Io(e) if is_eof(&e) => {
                    CaptureError::TooShort("pcap file header cut short".into())
                }
                PcapReadError::Io(e) => CaptureError::Io(e),
                other => CaptureError::Format(PcapError::from(other).to_string()),
            })?;
            let h = r.header();
            let linktype = u32::from(h.datalink);
            if !is_supported_linktype(linktype) {
                return Err(CaptureError::UnsupportedLinkType(linktype_label(linktype)));
            }
            let nanos = h.ts_resolution == pcap_file::pcap::PcapTsResolution::NanoSecond;
            let format = CaptureFormat::Pcap {
                linktype,
                nanosecond: nanos,
                big_endian: h.endianness == Endianness::Big,
                snaplen: h.snaplen,
            };
            Ok(CaptureReader {
                inner: Inner::Pcap {
                    reader: r,
                    linktype,
                    nanos,
                },
                format,
                frame: 0,
                last_ts: Timestamp(0),
                done: false,
                stats: ReadStats::default(),
                ifaces: CaptureInterfaces::default(),
                section: 0,
                section_map: Vec::new(),
                next_record: 24,
                consumed: consumed.clone(),
            })
        } else if be == PCAPNG_MAGIC {
            let r = PcapNgReader::with_capacity(src, READ_BUFFER).map_err(|e| match e {
                PcapNgReadError::Io(e) if is_eof(&e) => {
                    CaptureError::TooShort("pcapng section header cut short".into())
                }
                PcapNgReadError::Io(e) => CaptureError::Io(e),
                other => CaptureError::Format(other.to_string()),
            })?;
            Ok(CaptureReader {
                inner: Inner::PcapNg {
                    reader: Box::new(r),
                },
                format: CaptureFormat::PcapNg,
                frame: 0,
                last_ts: Timestamp(0),
                done: false,
                stats: ReadStats::default(),
                ifaces: CaptureInterfaces::default(),
                section: 0,
                section_map: Vec::new(),
                next_record: 24,
                consumed: consumed.clone(),
            })
        } else {
            Err(CaptureError::NotACapture(be))
        }
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Counters so far (complete once the iterator returned `None`).
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// The interfaces packets referred to so far, with their names (complete once the
    /// iterator returned `None`).
    pub fn interfaces(&self) -> &CaptureInterfaces {
        &self.ifaces
    }

    fn account(&mut self, r: &Result<Packet, PacketProblem>) {
        match r {
            Ok(_) => self.stats.packets += 1,
            Err(p) => {
                *self.stats.problems.entry(p.kind).or_default() += 1;
                if p.kind.is_skip() {
                    self.stats.skipped += 1;
                    if let Some(et) = p.ethertype {
                        *self.stats.non_ip_ethertypes.entry(et).or_default() += 1;
                    }
                }
            }
        }
    }

    fn stop(&mut self, kind: ProblemKind, reason: String) -> Option<Result<Packet, PacketProblem>> {
        self.done = true;
        // A record that could not be read still counts as a frame.
        self.frame += 1;
        self.stats.frames += 1;
        let mut p = PacketProblem::new(self.frame, kind, reason);
        p.ts = Some(self.last_ts);
        Some(Err(p))
    }

    fn next_item(&mut self) -> Option<Result<Packet, PacketProblem>> {
        if self.done {
            return None;
        }
        loop {
            match &mut self.inner {
                Inner::Pcap {
                    reader,
                    linktype,
                    nanos,
                } => {
                    let lt = *linktype;
                    let mult: u64 = if *nanos { 1 } else { 1000 };
                    return match reader.next_raw_packet() {
                        None => {
                            self.done = true;
                            None
                        }
                        Some(Err(PcapReadError::Io(e))) if is_eof(&e) => {
                            // Everything was read: the file's size is what the counter saw.
                            let total = self.consumed.load(std::sync::atomic::Ordering::Relaxed);
                            let at = self.next_record;
                            let left = total.saturating_sub(at);
                            let snaplen = match self.format {
                                CaptureFormat::Pcap { snaplen, .. } if snaplen > 0 => snaplen,
                                _ => 262_144,
                            } as u64;
                            if left > 16 + snaplen {
                                // A valid record (at most snaplen bytes) would have fit: its
                                // header claims more, as tcpdump says "invalid packet capture
                                // length ..., bigger than snaplen".
                                self.stop(
                                    ProblemKind::CorruptRecord,
                                    format!(
                                        "the record at byte offset {at} claims more bytes than \
                                         the snaplen of {snaplen} ({left} bytes of the file \
                                         left): corrupt record header; the rest of the capture \
                                         cannot be read"
                                    ),
                                )
                            } else {
                                self.stop(
                                    ProblemKind::TruncatedRecord,
                                    format!(
                                        "capture file ends in the middle of a record (byte \
                                         offset {at}, {left} bytes left): cut short"
                                    ),
                                )
                            }
                        }
                        Some(Err(e)) => self.stop(
                            ProblemKind::CaptureFormat,
                            format!("cannot read record: {}", PcapError::from(e)),
                        ),
                        Some(Ok(raw)) => {
                            self.frame += 1;
                            self.stats.frames += 1;
                            self.next_record += 16 + raw.data.len() as u64;
                            let ts = Timestamp(
                                (raw.ts_sec as u64)
                                    .saturating_mul(1_000_000_000)
                                    .saturating_add((raw.ts_frac as u64).saturating_mul(mult)),
                            );
                            self.last_ts = ts;
                            let meta = FrameMeta {
                                frame: self.frame,
                                ts,
                                linktype: lt,
                                interface: 0,
                                wire_len: raw.orig_len,
                            };
                            let r = decode_frame(&meta, &raw.data);
                            if let Ok(p) = &r {
                                if let Some(ix) = p.link.ifindex {
                                    self.ifaces.note_ifindex(ix);
                                }
                            }
                            self.account(&r);
                            Some(r)
                        }
                    };
                }
                Inner::PcapNg { reader } => {
                    let (raw, state) = match reader.next_raw_block() {
                        None => {
                            self.done = true;
                            return None;
                        }
                        Some(Err(PcapNgReadError::Io(e))) if is_eof(&e) => {
                            return self.stop(
                                ProblemKind::TruncatedRecord,
                                "capture file ends in the middle of a block".into(),
                            )
                        }
                        Some(Err(e)) => {
                            return self.stop(
                                ProblemKind::CaptureFormat,
                                format!("cannot read block: {e}"),
                            )
                        }
                        Some(Ok(x)) => x,
                    };
                    if raw.type_ == SECTION_HEADER_BLOCK {
                        // A new section: its interface ids start again from 0.
                        self.section += 1;
                        self.section_map.clear();
                        continue;
                    }
                    if !matches!(
                        raw.type_,
                        ENHANCED_PACKET_BLOCK | PACKET_BLOCK | SIMPLE_PACKET_BLOCK
                    ) {
                        continue;
                    }
                    self.frame += 1;
                    self.stats.frames += 1;
                    let frame = self.frame;
                    let block = match raw.try_into_block(state) {
                        Ok(b) => b,
                        Err(e) => {
                            let mut p = PacketProblem::new(
                                frame,
                                ProblemKind::CaptureFormat,
                                format!("bad packet block: {e}"),
                            );
                            p.ts = Some(self.last_ts);
                            let r = Err(p);
                            self.account(&r);
                            return Some(r);
                        }
                    };
                    let (iface, ts, wire_len, data) = match &block {
                        Block::EnhancedPacket(b) => (
                            b.interface_id,
                            Some(b.timestamp),
                            b.original_len,
                            &b.data[..],
                        ),
                        Block::Packet(b) => (
                            b.interface_id as u32,
                            Some(b.timestamp),
                            b.original_len,
                            &b.data[..],
                        ),
                        Block::SimplePacket(b) => (0, None, b.original_len, &b.data[..]),
                        _ => continue,
                    };
                    let ts = match ts {
                        Some(d) => Timestamp(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
                        // Simple packet blocks carry no time stamp: keep time monotonic.
                        None => self.last_ts,
                    };
                    self.last_ts = ts;
                    let gi = resolve_interface(
                        &mut self.ifaces,
                        &mut self.section_map,
                        self.section,
                        iface,
                        state,
                    );
                    let lt = gi.map(|g| self.ifaces.interfaces[g].linktype);
                    let mut r = match lt {
                        None => {
                            let mut p = PacketProblem::new(
                                frame,
                                ProblemKind::CaptureFormat,
                                format!("packet refers to unknown interface {iface}"),
                            );
                            p.ts = Some(ts);
                            Err(p)
                        }
                        Some(lt) => {
                            let meta = FrameMeta {
                                frame,
                                ts,
                                linktype: lt,
                                interface: iface,
                                wire_len,
                            };
                            decode_frame(&meta, data)
                        }
                    };
                    if let (Ok(p), Some(g)) = (&mut r, gi) {
                        let entry = &mut self.ifaces.interfaces[g];
                        entry.packets += 1;
                        p.link.ifname.clone_from(&entry.name);
                        if let (Some(ix), None) = (p.link.ifindex, &p.link.ifname) {
                            self.ifaces.note_ifindex(ix);
                        }
                    }
                    self.account(&r);
                    return Some(r);
                }
            }
        }
    }
}

impl<R: Read> Iterator for CaptureReader<R> {
    type Item = Result<Packet, PacketProblem>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_item()
    }
}

/// Reads a whole capture into memory (tests, small files). Prefer iterating a
/// [`CaptureReader`] for anything large.
pub fn read_all(
    path: impl AsRef<Path>,
) -> Result<(Vec<Packet>, Vec<PacketProblem>, ReadStats), CaptureError> {
    let mut r = CaptureReader::open(path)?;
    let mut pk = Vec::new();
    let mut pr = Vec::new();
    for item in &mut r {
        match item {
            Ok(p) => pk.push(p),
            Err(p) => pr.push(p),
        }
    }
    Ok((pk, pr, r.stats().clone()))
}
