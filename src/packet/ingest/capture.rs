//! Streaming capture reader: classic pcap (micro/nanosecond, either byte order) and pcapng
//! (several interfaces, per-interface link type and `if_tsresol`/`if_tsoffset`), detected by
//! magic number — never by file extension. A pcapng packet carries the `if_name` of the
//! interface it was captured on ([`crate::packet::LinkInfo::ifname`], one `Arc<str>` per
//! interface); [`CaptureReader::interfaces`] lists the interfaces and SLL2 interface indexes.
//!
//! Owns: opening a capture, framing records, frame numbering (1-based, every record counts),
//! timestamps, per-frame decoding through [`crate::packet::decode`], and read statistics. Memory stays
//! constant whatever the file size: classic pcap records are framed here (pcap-file reads the
//! file header) in a 256 KiB buffer (a fresh one while packets still share the last), pcapng
//! blocks by pcap-file's reader in another, and each packet is decoded straight out of it;
//! [`CaptureReader::open`] adds a read-ahead thread ([`ReadAhead`]) holding at most six 256 KiB
//! chunks. The replay decodes on a second core ([`crate::packet::ahead`]).
//!
//! A capture cut in the middle of a record yields one [`ProblemKind::TruncatedRecord`] problem
//! ("cut short") after every complete record, then the iterator ends. A record that makes the
//! rest unreadable — a classic pcap caplen above the snaplen (or `MAX_RECORD`), checked before
//! anything is read or allocated; a pcapng block that cannot be parsed or an unrepresentable
//! `if_tsresol` — yields one [`ProblemKind::CorruptRecord`] naming the frame or block and its
//! byte offset, then the iterator ends. A pcapng packet naming an interface its section does
//! not declare is one [`ProblemKind::CaptureFormat`] problem; reading continues. Nothing here
//! panics on any input.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;

use crate::host::CapturedDevices;
use std::sync::Arc;

use pcap_file::pcap::{PcapHeader, PcapParseError};
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::blocks::{
    ENHANCED_PACKET_BLOCK, PACKET_BLOCK, SECTION_HEADER_BLOCK, SIMPLE_PACKET_BLOCK,
};
use pcap_file::pcapng::PcapNgState;
use pcap_file::pcapng::{Block, ContentValidationError, PcapNgReadError, PcapNgReader};
use pcap_file::Endianness;
use serde::Serialize;

use crate::packet::decode::{
    decode_frame, decode_shared_frame, is_supported_linktype, linktype_label, FrameMeta,
};
use crate::packet::problem::{PacketProblem, ProblemKind};
use crate::packet::SharedBytes;
use crate::packet::{Packet, Timestamp};

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

/// Which of the host's devices capture file `path` shows (`One` when it cannot be read: the
/// replay reports why): every device for a Linux cooked capture (`tcpdump -i any`), the
/// interfaces a pcapng's Interface Description Blocks name before its first packet.
pub fn captured_devices(path: &Path) -> CapturedDevices {
    let Ok(mut reader) = CaptureReader::open(path) else {
        return CapturedDevices::One;
    };
    let cooked = |lt: u32| lt == 113 || lt == 276;
    match reader.format() {
        CaptureFormat::Pcap { linktype, .. } if cooked(linktype) => CapturedDevices::All,
        CaptureFormat::Pcap { .. } => CapturedDevices::One,
        CaptureFormat::PcapNg => {
            let _ = reader.next();
            let idbs = reader.described_interfaces();
            if idbs.iter().any(|i| cooked(i.linktype)) {
                return CapturedDevices::All;
            }
            let names: Vec<String> = idbs
                .iter()
                .filter_map(|i| Some(i.name.as_deref()?.to_string()))
                .collect();
            if names.len() > 1 {
                CapturedDevices::Named(names)
            } else {
                CapturedDevices::One
            }
        }
    }
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
    /// Its addresses as the capture declares them (`if_IPv4addr` with its netmask,
    /// `if_IPv6addr` with its prefix length), each with the prefix length (a netmask that is
    /// not a prefix, or none, gives /32 or /128).
    pub addrs: Vec<(std::net::IpAddr, u8)>,
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
    let g = table.interfaces.len();
    table.interfaces.push(describe(idb, section, id));
    if section_map.len() <= id as usize {
        section_map.resize(id as usize + 1, u32::MAX);
    }
    section_map[id as usize] = g as u32;
    Some(g)
}

/// Interface `id` of `section` as its Interface Description Block describes it (no packets
/// counted yet).
fn describe(
    idb: &pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock<'_>,
    section: u32,
    id: u32,
) -> CaptureInterface {
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
            InterfaceDescriptionOption::IfIpv4Addr(b) => {
                let a = <[u8; 4]>::try_from(b.get(..4)?).ok()?;
                let len = b
                    .get(4..8)
                    .and_then(|m| <[u8; 4]>::try_from(m).ok())
                    .map(u32::from_be_bytes)
                    .filter(|m| m.leading_ones() + m.trailing_zeros() == 32)
                    .map_or(32, |m| m.leading_ones() as u8);
                Some((std::net::IpAddr::from(a), len))
            }
            InterfaceDescriptionOption::IfIpv6Addr(b) => {
                let a = <[u8; 16]>::try_from(b.get(..16)?).ok()?;
                let len = b.get(16).copied().filter(|&l| l <= 128).unwrap_or(128);
                Some((std::net::IpAddr::from(a), len))
            }
            _ => None,
        })
        .collect();
    CaptureInterface {
        section,
        id,
        linktype: u32::from(idb.linktype),
        recorded_name: recorded,
        name,
        packets: 0,
        addrs,
    }
}

type Src<R> = io::Chain<Cursor<Vec<u8>>, Counting<R>>;

/// Counts the bytes read from a capture (so a broken record can be placed by byte offset).
pub(crate) struct Counting<R> {
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

/// The largest record any capture can hold: libpcap's `MAXIMUM_SNAPLEN` (256 KiB). A classic
/// pcap snaplen of 0 or above it is bogus, and records are checked against this cap instead.
pub(crate) const MAX_RECORD: u32 = 262_144;

/// Classic pcap records, framed here rather than by pcap-file so that every record header is
/// checked before its data is read: one buffer (grown only for a record bigger than it, which
/// the caplen check bounds), each record handed out as a shared range of it ([`SharedBytes`]:
/// no copy). The buffer is refilled in place when no packet refers to it any more; while one
/// does, the unread rest moves to another buffer and the old one goes with its last packet.
struct PcapRecords<R> {
    src: R,
    buf: Arc<[u8]>,
    /// Buffers handed out before `buf` (at most [`SPARE_BUFFERS`]): one that no packet holds
    /// any more is read into again instead of a freshly zeroed one (zeroing a buffer per 256
    /// KiB read was 4.6 % of a replay's instructions).
    spare: Vec<Arc<[u8]>>,
    /// Buffers allocated so far (what the tests count).
    made: usize,
    /// Start of unread data in `buf`, and its end.
    pos: usize,
    len: usize,
    eof: bool,
    big_endian: bool,
}

/// A classic pcap record header.
struct RecordHeader {
    ts_sec: u32,
    ts_frac: u32,
    caplen: u32,
    orig_len: u32,
}

impl<R: Read> PcapRecords<R> {
    fn new(src: R, big_endian: bool) -> Self {
        PcapRecords {
            src,
            buf: zeroed(READ_BUFFER),
            spare: Vec::new(),
            made: 1,
            pos: 0,
            len: 0,
            eof: false,
            big_endian,
        }
    }

    /// A buffer of at least `n` bytes that nothing else holds: a spare one no packet refers
    /// to any more (its stale bytes are never read: only what is read into it is handed out),
    /// or a new one.
    fn unshared_buffer(&mut self, n: usize) -> Arc<[u8]> {
        match (self.spare.iter_mut()).position(|b| b.len() >= n && Arc::get_mut(b).is_some()) {
            Some(i) => self.spare.swap_remove(i),
            None => {
                self.made += 1;
                zeroed(n)
            }
        }
    }

    /// Bytes buffered and not handed out yet.
    fn available(&self) -> usize {
        self.len - self.pos
    }

    /// Makes at least `need` unread bytes available; `Ok(false)` when the source ends first.
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        if self.available() >= need {
            return Ok(true);
        }
        // Room to read into. While packets share the buffer, only its unread bytes move, to a
        // fresh buffer (the old one goes with its last packet: a reader that keeps every packet
        // holds each byte once); otherwise they move to its front when the end is too near.
        let (pos, len) = (self.pos, self.len);
        let shared = Arc::get_mut(&mut self.buf).is_none();
        if shared || self.buf.len() - pos < need {
            match Arc::get_mut(&mut self.buf) {
                Some(b) if b.len() >= need => b.copy_within(pos..len, 0),
                _ => {
                    let mut fresh = self.unshared_buffer(self.buf.len().max(need));
                    Arc::get_mut(&mut fresh).expect("unshared")[..len - pos]
                        .copy_from_slice(&self.buf[pos..len]);
                    let old = std::mem::replace(&mut self.buf, fresh);
                    // Kept while packets hold it (they keep it alive anyway), for reuse.
                    if self.spare.len() == SPARE_BUFFERS {
                        self.spare.remove(0);
                    }
                    self.spare.push(old);
                }
            }
            self.len -= pos;
            self.pos = 0;
        }
        let buf = Arc::get_mut(&mut self.buf).expect("not shared: moved to a fresh buffer");
        // A fresh buffer because packets are kept: filled up, so that what they keep is not
        // mostly empty buffer.
        while (self.len - self.pos < need || shared && self.len < buf.len()) && !self.eof {
            match self.src.read(&mut buf[self.len..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.available() >= need)
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b: [u8; 4] = self.buf[at..at + 4].try_into().expect("4 bytes");
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    /// The next record header, without consuming it (`Ok(None)`: fewer than 16 bytes left;
    /// see [`Self::available`]).
    fn header(&mut self) -> io::Result<Option<RecordHeader>> {
        if !self.fill(16)? {
            return Ok(None);
        }
        let at = self.pos;
        Ok(Some(RecordHeader {
            ts_sec: self.u32_at(at),
            ts_frac: self.u32_at(at + 4),
            caplen: self.u32_at(at + 8),
            orig_len: self.u32_at(at + 12),
        }))
    }

    /// The data of the record whose header [`Self::header`] returned (`caplen` bytes), consuming
    /// the record; `Ok(None)` when the file ends first.
    fn data(&mut self, caplen: u32) -> io::Result<Option<SharedBytes>> {
        let total = 16 + caplen as usize;
        if !self.fill(total)? {
            return Ok(None);
        }
        let start = self.pos + 16;
        self.pos += total;
        Ok(Some(SharedBytes::range_of(
            &self.buf,
            start..start + caplen as usize,
        )))
    }
}

enum Inner<R: Read> {
    Pcap {
        reader: PcapRecords<Counting<R>>,
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
    /// Byte offset of the next record (classic pcap: 24-byte file header, then 16-byte record
    /// headers and their data) or block (pcapng).
    next_record: u64,
    /// pcapng: blocks read so far (the section header block is block 1).
    blocks: u64,
    /// pcapng: the current section (counted from 0) and, per interface id of that section,
    /// its index in `ifaces.interfaces` (`u32::MAX`: not yet referred to).
    section: u32,
    section_map: Vec<u32>,
    /// Bytes read from the source so far (ahead of what is decoded: buffered).
    read_bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

const PCAP_MAGICS: [u32; 4] = [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1];
const PCAPNG_MAGIC: u32 = 0x0a0d0d0a;

/// The pcapng reader's buffer: the largest block it can hold, as libpcap's 16 MiB cap on a
/// block (a name resolution block of every host name, an interface block with many options).
/// Memory is touched only as far as blocks reach: the reader refills from the start.
const PCAPNG_BUFFER: usize = 16 << 20;

/// Read buffer size: a few hundred records, small enough to stay in the CPU cache while they
/// are decoded, and to be little memory when packets in flight (decoded ahead, see
/// [`crate::packet::ahead`]) keep a few buffers alive. A bigger record (snap lengths go up to
/// 262144) gets a buffer of its size.
const READ_BUFFER: usize = 1 << 18;

/// Buffers a reader keeps for reuse: enough for the packets in flight between the decoder and
/// the engine (a few batches), so that in a replay every buffer is reused.
const SPARE_BUFFERS: usize = 8;

/// A buffer of `n` zero bytes, allocated once (no `Vec` copied into an `Arc`).
fn zeroed(n: usize) -> Arc<[u8]> {
    std::iter::repeat_n(0u8, n).collect()
}

impl CaptureReader<ReadAhead> {
    /// Opens a capture file. The file is read by a helper thread one 256 KiB chunk ahead of
    /// the decoder (at most 4 chunks in flight), so that the kernel's copy overlaps decoding.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let f = File::open(path)?;
        CaptureReader::new(ReadAhead::new(f))
    }
}

const CHUNK: usize = 1 << 18;

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
            self.pos = 0;
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
    let got = read_upto(r, &mut m)?;
    Ok((m, got))
}

/// Reads until `buf` is full or the source ends; returns the bytes read.
fn read_upto<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// What made a block that updates the section's state (a section header or interface
/// description) unreadable, when it is an option or a field value: `(tsresol, description)`,
/// `tsresol` when an `if_tsresol` cannot be represented.
fn bad_state_block(e: &PcapNgReadError) -> Option<(bool, String)> {
    use pcap_file::pcapng::{
        BlockContentParseError as C, OptionEntryError as E, OptionParseError as O,
        StateUpdateError as S,
    };
    let PcapNgReadError::StateUpdate(S::BlockConversion(bce)) = e else {
        return None;
    };
    Some(match &*bce.source {
        C::Option(O::InvalidEntry { code, name, source }) => match &**source {
            E::Validation(ContentValidationError::InvalidTsResolution(enc, is_bin, resol)) => {
                let base = if *is_bin { 2 } else { 10 };
                (
                    true,
                    format!(
                        "option if_tsresol 0x{enc:02x} (units of {base}^-{resol} s), which \
                         cannot be represented (fwcheck reads 10^-0 to 10^-9 and 2^-0 to 2^-29)"
                    ),
                )
            }
            other => (false, format!("option {name} (code {code}): {other}")),
        },
        other => (false, other.to_string()),
    })
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
        if PCAP_MAGICS.contains(&be) {
            let mut head = [0u8; 24];
            head[..4].copy_from_slice(&magic);
            let got = read_upto(&mut reader, &mut head[4..])?;
            if got < 20 {
                return Err(CaptureError::TooShort("pcap file header cut short".into()));
            }
            let (_, h) = PcapHeader::from_slice(&head).map_err(|e| match e {
                PcapParseError::IncompleteBuffer(..) => {
                    CaptureError::TooShort("pcap file header cut short".into())
                }
                other => CaptureError::Format(other.to_string()),
            })?;
            let linktype = u32::from(h.datalink);
            if !is_supported_linktype(linktype) {
                return Err(CaptureError::UnsupportedLinkType(linktype_label(linktype)));
            }
            let nanos = h.ts_resolution == pcap_file::pcap::PcapTsResolution::NanoSecond;
            let big_endian = h.endianness == Endianness::Big;
            let format = CaptureFormat::Pcap {
                linktype,
                nanosecond: nanos,
                big_endian,
                snaplen: h.snaplen,
            };
            Ok(CaptureReader {
                inner: Inner::Pcap {
                    reader: PcapRecords::new(reader, big_endian),
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
                read_bytes: consumed.clone(),
                next_record: 24,
                blocks: 0,
            })
        } else if be == PCAPNG_MAGIC {
            // The section header's length (bytes 4..8, in the byte order of bytes 8..12): the
            // reader consumes that block itself, and later blocks are placed by byte offset.
            let mut head = vec![0u8; 12];
            head[..4].copy_from_slice(&magic);
            let got = read_upto(&mut reader, &mut head[4..])?;
            head.truncate(4 + got);
            let shb_len = match (head.get(4..8), head.get(8..12)) {
                (Some(l), Some(bom)) => {
                    let l: [u8; 4] = l.try_into().expect("4 bytes");
                    if bom == [0x1a, 0x2b, 0x3c, 0x4d] {
                        u32::from_be_bytes(l)
                    } else {
                        u32::from_le_bytes(l)
                    }
                }
                _ => 0,
            };
            let src = Cursor::new(head).chain(reader);
            let r = PcapNgReader::with_capacity(src, PCAPNG_BUFFER).map_err(|e| match e {
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
                read_bytes: consumed.clone(),
                next_record: u64::from(shb_len),
                blocks: 1,
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

    /// Every interface the current pcapng section has described so far — its Interface
    /// Description Blocks, whether a packet referred to them yet or not (after the first
    /// packet: the ones written before it, which is where tcpdump and dumpcap write them all).
    /// Empty for a classic pcap.
    pub fn described_interfaces(&self) -> Vec<CaptureInterface> {
        match &self.inner {
            Inner::PcapNg { reader } => reader
                .interfaces()
                .iter()
                .enumerate()
                .map(|(id, idb)| describe(idb, self.section, id as u32))
                .collect(),
            _ => Vec::new(),
        }
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
                    let at = self.next_record;
                    let frame = self.frame + 1;
                    let hdr = match reader.header() {
                        Err(e) => {
                            return self.stop(
                                ProblemKind::CaptureFormat,
                                format!("cannot read the record at byte offset {at}: {e}"),
                            )
                        }
                        Ok(None) if reader.available() == 0 => {
                            self.done = true;
                            return None;
                        }
                        Ok(None) => {
                            let left = reader.available();
                            return self.stop(
                                ProblemKind::TruncatedRecord,
                                format!(
                                    "capture file ends in the middle of the header of the record \
                                     at byte offset {at} ({left} of its 16 bytes): cut short"
                                ),
                            );
                        }
                        Ok(Some(h)) => h,
                    };
                    let snaplen = match self.format {
                        CaptureFormat::Pcap { snaplen, .. } => snaplen,
                        CaptureFormat::PcapNg => 0,
                    };
                    // As libpcap (`pcap_next_packet`): a record longer than the snaplen but
                    // within the largest record a capture can hold is read (tools write records
                    // past a small snaplen, e.g. GSO frames); beyond that the header is corrupt.
                    // Checked before anything reads or allocates that many bytes.
                    if hdr.caplen > MAX_RECORD {
                        return self.stop(
                            ProblemKind::CorruptRecord,
                            format!(
                                "the record header at byte offset {at} claims a captured length \
                                 of {} bytes, bigger than the maximum of {MAX_RECORD} (the \
                                 file's snaplen is {snaplen}): corrupt record header (tcpdump: \
                                 invalid packet capture length); the rest of the capture cannot \
                                 be read",
                                hdr.caplen
                            ),
                        );
                    }
                    let data = match reader.data(hdr.caplen) {
                        Ok(Some(d)) => d,
                        Ok(None) => {
                            let left = reader.available();
                            return self.stop(
                                ProblemKind::TruncatedRecord,
                                format!(
                                    "capture file ends in the middle of the record at byte offset \
                                     {at} ({left} of its {} bytes): cut short",
                                    16 + u64::from(hdr.caplen)
                                ),
                            );
                        }
                        Err(e) => {
                            return self.stop(
                                ProblemKind::CaptureFormat,
                                format!("cannot read the record at byte offset {at}: {e}"),
                            )
                        }
                    };
                    let lt = *linktype;
                    let mult: u64 = if *nanos { 1 } else { 1000 };
                    let ts = Timestamp(
                        u64::from(hdr.ts_sec)
                            .saturating_mul(1_000_000_000)
                            .saturating_add(u64::from(hdr.ts_frac).saturating_mul(mult)),
                    );
                    let meta = FrameMeta {
                        frame,
                        ts,
                        linktype: lt,
                        interface: 0,
                        wire_len: hdr.orig_len,
                    };
                    let r = decode_shared_frame(&meta, &data);
                    self.frame = frame;
                    self.stats.frames += 1;
                    self.next_record += 16 + u64::from(hdr.caplen);
                    self.last_ts = ts;
                    if let Ok(p) = &r {
                        if let Some(ix) = p.link.ifindex {
                            self.ifaces.note_ifindex(ix);
                        }
                    }
                    self.account(&r);
                    return Some(r);
                }
                Inner::PcapNg { reader } => {
                    let declared = reader.interfaces().len();
                    let (block, at) = (self.blocks + 1, self.next_record);
                    let (raw, state) = match reader.next_raw_block() {
                        None => {
                            self.done = true;
                            return None;
                        }
                        Some(Err(PcapNgReadError::Io(e)))
                            if is_eof(&e)
                                && self.read_bytes.load(std::sync::atomic::Ordering::Relaxed)
                                    >= at + PCAPNG_BUFFER as u64 =>
                        {
                            // The reader's buffer is full of this block: it is bigger.
                            return self.stop(
                                ProblemKind::CorruptRecord,
                                format!(
                                    "block {block} (byte offset {at}) is larger than \
                                     {} MiB, the most fwcheck (and libpcap) read: corrupt or \
                                     unsupported block; the rest of the capture cannot be read",
                                    PCAPNG_BUFFER >> 20
                                ),
                            );
                        }
                        Some(Err(PcapNgReadError::Io(e))) if is_eof(&e) => {
                            return self.stop(
                                ProblemKind::TruncatedRecord,
                                format!(
                                    "capture file ends in the middle of block {block} (byte \
                                     offset {at}): cut short"
                                ),
                            )
                        }
                        Some(Err(e)) => {
                            let what = match bad_state_block(&e) {
                                Some((true, what)) => format!(
                                    "describes interface id {declared} of section {} with {what}: \
                                     its packets' time stamps cannot be read",
                                    self.section
                                ),
                                Some((false, what)) => format!("cannot be read: {what}"),
                                None => format!("cannot be read: {e}"),
                            };
                            return self.stop(
                                ProblemKind::CorruptRecord,
                                format!(
                                    "block {block} (byte offset {at}) {what}; the rest of the \
                                     capture cannot be read"
                                ),
                            );
                        }
                        Some(Ok(x)) => x,
                    };
                    self.blocks = block;
                    self.next_record += u64::from(raw.initial_len);
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
                    // The interface a packet block names, checked here so that an id its
                    // section does not declare is reported as such (the frame is malformed;
                    // the blocks after it are still read).
                    let named = match raw.type_ {
                        ENHANCED_PACKET_BLOCK => raw.body.get(..4).map(|b| {
                            let b: [u8; 4] = b.try_into().expect("4 bytes");
                            match state.endianness() {
                                Endianness::Big => u32::from_be_bytes(b),
                                Endianness::Little => u32::from_le_bytes(b),
                            }
                        }),
                        PACKET_BLOCK => raw.body.get(..2).map(|b| {
                            let b: [u8; 2] = b.try_into().expect("2 bytes");
                            u32::from(match state.endianness() {
                                Endianness::Big => u16::from_be_bytes(b),
                                Endianness::Little => u16::from_le_bytes(b),
                            })
                        }),
                        _ => None,
                    };
                    if let Some(id) = named.filter(|&id| id as usize >= state.interfaces().len()) {
                        let n = state.interfaces().len();
                        let kind = if raw.type_ == PACKET_BLOCK {
                            "packet block"
                        } else {
                            "enhanced packet block"
                        };
                        let mut p = PacketProblem::new(
                            frame,
                            ProblemKind::CaptureFormat,
                            format!(
                                "block {block} ({kind} at byte offset {at}) names interface id \
                                 {id}, which section {} does not declare ({n} interface{} \
                                 declared): malformed frame, skipped; reading continues",
                                self.section,
                                if n == 1 { "" } else { "s" }
                            ),
                        );
                        p.ts = Some(self.last_ts);
                        let r = Err(p);
                        self.account(&r);
                        return Some(r);
                    }
                    let decoded = match raw.try_into_block(state) {
                        Ok(b) => b,
                        Err(e) => {
                            let mut p = PacketProblem::new(
                                frame,
                                ProblemKind::CaptureFormat,
                                format!(
                                    "block {block} (byte offset {at}): bad packet block: {e}; \
                                     malformed frame, skipped; reading continues"
                                ),
                            );
                            p.ts = Some(self.last_ts);
                            let r = Err(p);
                            self.account(&r);
                            return Some(r);
                        }
                    };
                    let (iface, ts, wire_len, data) = match &decoded {
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
    super::gso::mark_trains(&mut pk);
    Ok((pk, pr, r.stats().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that gives at most 4 KiB per read (a pipe, the read-ahead's chunk ends).
    struct Trickle(Cursor<Vec<u8>>);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(4096);
            self.0.read(&mut buf[..n])
        }
    }

    /// A reader whose packets are all kept (`read_all`, the kernel comparison) holds each
    /// captured byte about once: every read buffer is filled before packets share it, and
    /// only the unread rest moves to the next one.
    #[test]
    fn kept_packets_hold_each_byte_once() {
        let mut f = Vec::new();
        f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
        f.extend_from_slice(&2u16.to_le_bytes());
        f.extend_from_slice(&4u16.to_le_bytes());
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&65535u32.to_le_bytes());
        f.extend_from_slice(&101u32.to_le_bytes());
        let mut ip = vec![0u8; 200];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&200u16.to_be_bytes());
        ip[8] = 64;
        ip[9] = 253;
        let n = 20_000;
        for _ in 0..n {
            for v in [1u32, 0, 200, 200] {
                f.extend_from_slice(&v.to_le_bytes());
            }
            f.extend_from_slice(&ip);
        }
        let total = f.len();
        let r = CaptureReader::new(Trickle(Cursor::new(f))).unwrap();
        let kept: Vec<Packet> = r.filter_map(Result::ok).collect();
        assert_eq!(kept.len(), n);
        let mut buffers: Vec<(usize, usize)> = kept.iter().map(|p| p.data.buffer()).collect();
        buffers.sort_unstable();
        buffers.dedup();
        let held: usize = buffers.iter().map(|b| b.1).sum();
        assert!(
            held <= total + 2 * READ_BUFFER,
            "{held} bytes of buffers for {total} bytes of capture"
        );
    }

    /// A reader whose packets are dropped a few hundred records later (the replay: decoded
    /// batches in flight to the engine) reads into the same few buffers again, instead of
    /// zeroing a new one per buffer's worth of capture; their stale bytes never show.
    #[test]
    fn buffers_are_reused_once_their_packets_are_gone() {
        let n = 20_000u32;
        let mut f = Vec::new();
        for i in 0..n {
            let caplen = 100 + i % 150;
            for v in [i, 0, caplen, caplen] {
                f.extend_from_slice(&v.to_le_bytes());
            }
            f.extend((0..caplen).map(|b| (i as u8).wrapping_add(b as u8)));
        }
        let total = f.len();
        let mut r = PcapRecords::new(Trickle(Cursor::new(f)), false);
        let mut in_flight = std::collections::VecDeque::new();
        let mut seen = 0u32;
        while let Some(h) = r.header().unwrap() {
            let d = r.data(h.caplen).unwrap().expect("whole record");
            let i = h.ts_sec;
            assert_eq!(i, seen);
            assert_eq!(d.len(), h.caplen as usize);
            let want = (0..h.caplen).map(|b| (i as u8).wrapping_add(b as u8));
            assert!(d.iter().copied().eq(want), "record {i} read back wrong");
            in_flight.push_back(d);
            if in_flight.len() > 500 {
                in_flight.pop_front();
            }
            seen += 1;
        }
        assert_eq!(seen, n);
        assert!(total > 12 * READ_BUFFER);
        assert!(
            r.made <= SPARE_BUFFERS,
            "{} buffers made for {total} bytes",
            r.made
        );
    }
}
