//! IPv4/IPv6 fragment reassembly as the kernel does it before conntrack (`nf_defrag_ipv4` →
//! `ip_defrag`, `nf_defrag_ipv6` → `nf_ct_frag6_gather`), for the engine to use when the
//! ruleset makes conntrack active.
//!
//! Kernel facts implemented (mainline `net/ipv4/ip_fragment.c` `ip_frag_queue`,
//! `net/ipv4/inet_fragment.c` `inet_frag_queue_insert`, `net/ipv6/netfilter/nf_conntrack_reasm.c`):
//!
//! * Queue keys: IPv4 (src, dst, protocol, id); IPv6 (src, dst, id, and the interface only
//!   when the destination is multicast or link-local).
//! * Timeouts from the queue's creation (not refreshed per fragment): 30 s IPv4
//!   (`ipfrag_time`), 60 s IPv6 (`nf_conntrack_frag6_timeout`), counted with capture time
//!   stamps. Expired trains are reported ([`DefragEvent::TimedOut`]).
//! * Overlap (RFC 5722 style, both families): a fragment that overlaps queued data without
//!   being wholly inside one contiguous run discards the whole queue; a fragment wholly inside
//!   a run is a duplicate and only that fragment is dropped.
//! * IPv4: a last fragment ending before queued data or disagreeing with an earlier last
//!   fragment, data beyond a known end, and empty fragments discard the queue; non-last
//!   fragments are trimmed to a multiple of 8; `ipfrag_max_dist` (64): when more than 64 other
//!   fragments from the same source arrived since this queue's previous fragment, the queue is
//!   purged and restarted; a datagram over 65535 bytes fails.
//! * IPv6: the same errors only drop the offending fragment (the queue stays); a non-last
//!   fragment whose length is not a multiple of 8 kills the queue and itself passes through
//!   un-reassembled; so does a first fragment that does not contain the whole upper-layer
//!   header (RFC 8200 §4.5), and a packet with payload length 0 (jumbogram).
//!
//! * Memory (`inet_frag_find`): each family's fragments count against its own limit
//!   (`net.ipv4.ipfrag_high_thresh`, `net.netfilter.nf_conntrack_frag6_high_thresh`, 4 MiB): a
//!   queue costs its `struct ipq`, a fragment its `skb->truesize`; while the total is above the
//!   limit every fragment is dropped, for new and existing queues alike, until queues complete
//!   or time out (`low_thresh` no longer evicts anything since Linux 4.17). `truesize` depends
//!   on the receiving driver, so fwcheck estimates it (a linear kmalloc'd skb) and marks what
//!   happens between half and twice the limit as uncertain (`Defragmenter::take_uncertain`).
//! * Expiry by timer: an expiry queue ordered by deadline, O(log n) per queue, never a scan of
//!   every queue per packet.
//!
//! * ECN (`ip_frag_ecn_table`, RFC 3168 §5.3, both families): a datagram whose fragments mix
//!   Not-ECT with ECT or CE is dropped when it completes; one mixing CE with ECT is reassembled
//!   with CE (`iph->tos |= ecn`, `ipv6_change_dsfield`). Kernel-checked in
//!   `tests/kernel_frag_mem.rs` (found by `kernel_random`).
//!
//! Not modelled: per-VRF keys.
//!
//! Use: feed every packet that reached PREROUTING (or LOCAL_OUT) in capture order to
//! [`Defragmenter::push`]; it returns the packet to continue with (non-fragments unchanged,
//! completed datagrams reassembled) or `None` while a fragment is held or dropped. Drain
//! [`Defragmenter::drain_events`] for drops and timeouts; call [`Defragmenter::finish`] at the
//! end of the capture to report trains still incomplete.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::IpAddr;
use std::sync::Arc;

use crate::packet::decode::{decode_ip, ipv6_skip_exthdr, walk_ipv6_ext, FrameMeta};
use crate::packet::{checksum, proto, Anomalies, Family, LinkInfo, Packet, SharedBytes, Timestamp};

/// Why a fragment or queue was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// Wholly inside data already queued (`IPFRAG_DUP`).
    Duplicate,
    /// Overlaps queued data (`IPFRAG_OVERLAP`): the whole queue is discarded.
    Overlap,
    /// A last fragment inconsistent with the data or the last fragment already seen.
    BadLastFragment,
    /// Data beyond the end fixed by the last fragment.
    BeyondEnd,
    /// A fragment with no data.
    Empty,
    /// The reassembled datagram would exceed 65535 bytes.
    Oversize,
    /// `ipfrag_max_dist` exceeded: the queue was purged and restarted.
    TooFar,
    /// A fragment whose data is not where its header says (IPv4 header/length problems).
    Malformed,
    /// Fragment memory above `ipfrag_high_thresh` (`inet_frag_find` returns nothing).
    MemoryLimit,
    /// The fragments mix Not-ECT with ECT or CE (`ip_frag_ecn_table`, RFC 3168 §5.3): the
    /// completed datagram is dropped.
    EcnMismatch,
    /// An IPv6 fragment header the datagram ends inside of (`nf_ct_frag6_gather`: its
    /// `pskb_may_pull` fails, `ipv6_defrag` drops the packet).
    CutHeader,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Duplicate => "duplicate fragment",
            DropReason::Overlap => "overlapping fragment",
            DropReason::BadLastFragment => "inconsistent last fragment",
            DropReason::BeyondEnd => "fragment data beyond the datagram end",
            DropReason::Empty => "empty fragment",
            DropReason::Oversize => "reassembled datagram larger than 65535 bytes",
            DropReason::TooFar => {
                "too many fragments from this source in between (ipfrag_max_dist)"
            }
            DropReason::Malformed => "malformed fragment",
            DropReason::MemoryLimit => {
                "fragment memory above ipfrag_high_thresh (estimated skb sizes: uncertain near \
                 the limit)"
            }
            DropReason::EcnMismatch => {
                "the fragments mix Not-ECT with ECT or CE codepoints (RFC 3168): the kernel drops \
                 the datagram"
            }
            DropReason::CutHeader => {
                "IPv6 fragment header cut off by the end of the datagram (nf_ct_frag6_gather)"
            }
        }
    }
}

/// What the defragmenter did besides returning packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefragEvent {
    /// One fragment was dropped; its queue (if any) goes on.
    FragmentDropped { frame: u64, reason: DropReason },
    /// A whole queue was discarded because of fragment `frame`: `frames` lists every fragment
    /// lost with it (including `frame`).
    QueueDiscarded {
        frame: u64,
        frames: Vec<u64>,
        reason: DropReason,
    },
    /// An IPv6 fragment the kernel lets through un-reassembled (`reason` says why).
    PassedThrough { frame: u64, reason: &'static str },
    /// An incomplete train timed out (`at_end`: still incomplete when the capture ended).
    TimedOut {
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        id: u32,
        frames: Vec<u64>,
        first_ts: Timestamp,
        at_end: bool,
    },
}

/// Timeouts and limits (kernel defaults by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DefragConfig {
    /// `net.ipv4.ipfrag_time`, nanoseconds (30 s).
    pub(crate) ipv4_timeout: u64,
    /// `net.netfilter.nf_conntrack_frag6_timeout`, nanoseconds (60 s).
    pub(crate) ipv6_timeout: u64,
    /// `net.ipv4.ipfrag_max_dist` (64; 0 disables the check).
    pub(crate) ipv4_max_dist: u32,
    /// `net.ipv4.ipfrag_high_thresh` (4 MiB; 0: every fragment is dropped).
    pub(crate) ipv4_high_thresh: usize,
    /// `net.netfilter.nf_conntrack_frag6_high_thresh` (4 MiB).
    pub(crate) ipv6_high_thresh: usize,
    /// Queue IPv6 atomic fragments too, as conntrack's defragmentation does
    /// (`nf_ct_frag6_gather` has no shortcut for them, unlike `ipv6_frag_rcv`): the queue is
    /// complete at once and the "reassembled" datagram has lost its Fragment header.
    pub(crate) v6_atomic: bool,
}

/// Kernel default of both `*high_thresh` sysctls (`4 * 1024 * 1024`).
pub const DEFAULT_HIGH_THRESH: usize = 4 << 20;

/// Estimated `sizeof(struct ipq)` / `struct frag_queue` charged per queue.
pub const QUEUE_COST: usize = 192;

/// Estimated `skb->truesize` of a received frame of `frame_len` bytes on a driver that
/// allocates a linear skb: `NET_SKB_PAD` (64) + data, cache-aligned, plus `skb_shared_info`
/// (320), rounded to the kmalloc size class, plus the `sk_buff` (256). 1,514 bytes → 2,304,
/// 100 → 768, as commonly measured; page-fragment drivers differ.
pub fn truesize_estimate(frame_len: usize) -> usize {
    let data = (64 + frame_len + 63) & !63;
    (data + 320).next_power_of_two() + 256
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            ipv4_timeout: 30_000_000_000,
            ipv6_timeout: 60_000_000_000,
            ipv4_max_dist: 64,
            ipv4_high_thresh: DEFAULT_HIGH_THRESH,
            ipv6_high_thresh: DEFAULT_HIGH_THRESH,
            v6_atomic: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    family: Family,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    id: u32,
    iif: u32,
}

#[derive(Debug, Clone)]
struct Frag {
    off: usize,
    end: usize,
    /// The fragment's IP bytes and where its fragmentable data starts.
    data: SharedBytes,
    start: usize,
    frame: u64,
}

#[derive(Debug, Clone)]
struct Run {
    off: usize,
    end: usize,
    frags: Vec<Frag>,
}

#[derive(Debug, Clone)]
struct Queue {
    first_ts: Timestamp,
    deadline: Timestamp,
    runs: Vec<Run>,
    len: usize,
    first_in: bool,
    last_in: bool,
    meat: usize,
    max_size: usize,
    max_df_size: usize,
    rid: u32,
    cap_truncated: bool,
    /// Identity in the expiry queue.
    seq: u64,
    /// Memory charged (estimate): the queue and its fragments' truesize.
    mem: usize,
    /// A fragment was accepted while memory was near the limit.
    near_limit: bool,
    /// The ECN codepoints of its fragments, one bit each (`ipq->ecn`, `IPFRAG_ECN_*`).
    ecn: u8,
}

/// `ip_frag_ecn_table`: the ECN bits the reassembled datagram gets from its fragments' set of
/// codepoints (`IPFRAG_ECN_NOT_ECT` 1, `_ECT_1` 2, `_ECT_0` 4, `_CE` 8); 0xff: drop it.
const ECN_TABLE: [u8; 16] = {
    let mut t = [0u8; 16];
    t[0x08 | 0x04] = 3;
    t[0x08 | 0x02] = 3;
    t[0x08 | 0x04 | 0x02] = 3;
    let mut i = 0;
    while i < 16 {
        if i & 0x01 != 0 && i & 0x0e != 0 {
            t[i] = 0xff;
        }
        i += 1;
    }
    t
};

/// `ip4_frag_ecn` / `ip6_frag_ecn`: a fragment's codepoint as its `IPFRAG_ECN_*` bit.
fn ecn_bit(tos: u8) -> u8 {
    1 << (tos & 3)
}

impl Queue {
    fn new(ts: Timestamp, timeout: u64) -> Self {
        Queue {
            first_ts: ts,
            deadline: Timestamp(ts.0.saturating_add(timeout)),
            runs: Vec::new(),
            len: 0,
            first_in: false,
            last_in: false,
            meat: 0,
            max_size: 0,
            max_df_size: 0,
            rid: 0,
            cap_truncated: false,
            seq: 0,
            mem: QUEUE_COST,
            near_limit: false,
            ecn: 0,
        }
    }

    fn frames(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .runs
            .iter()
            .flat_map(|r| r.frags.iter().map(|f| f.frame))
            .collect();
        v.sort_unstable();
        v
    }

    fn has_frags(&self) -> bool {
        !self.runs.is_empty()
    }

    /// `inet_frag_queue_insert`: Ok, Err(Duplicate) or Err(Overlap).
    fn insert(&mut self, f: Frag) -> Result<(), DropReason> {
        let (off, end) = (f.off, f.end);
        let Some(last) = self.runs.last_mut() else {
            self.runs.push(Run {
                off,
                end,
                frags: vec![f],
            });
            return Ok(());
        };
        if last.end < end {
            if off < last.end {
                return Err(DropReason::Overlap);
            }
            if off == last.end {
                last.end = end;
                last.frags.push(f);
            } else {
                self.runs.push(Run {
                    off,
                    end,
                    frags: vec![f],
                });
            }
            return Ok(());
        }
        let mut pos = self.runs.len();
        for (i, r) in self.runs.iter().enumerate() {
            if end <= r.off {
                pos = pos.min(i);
                continue;
            }
            if off >= r.end {
                continue;
            }
            if off >= r.off && end <= r.end {
                return Err(DropReason::Duplicate);
            }
            return Err(DropReason::Overlap);
        }
        self.runs.insert(
            pos,
            Run {
                off,
                end,
                frags: vec![f],
            },
        );
        Ok(())
    }

    fn reset(&mut self, ts: Timestamp, timeout: u64) {
        let (rid, seq, near) = (self.rid, self.seq, self.near_limit);
        *self = Queue::new(ts, timeout);
        self.rid = rid;
        self.seq = seq;
        self.near_limit = near;
    }
}

/// The reassembler. Deterministic: queues live in ordered maps.
#[derive(Debug, Clone, Default)]
pub struct Defragmenter {
    cfg: DefragConfig,
    queues: BTreeMap<Key, Queue>,
    /// `(deadline, queue seq, key)`; stale items (queues gone or re-armed) are skipped.
    expiry: BinaryHeap<Reverse<(Timestamp, u64, Key)>>,
    next_seq: u64,
    /// Memory charged per family (IPv4, IPv6), as `fqdir->mem`.
    mem: [usize; 2],
    /// Set when the datagram just returned was reassembled near the memory limit.
    uncertain: Option<&'static str>,
    /// Most memory charged at once, per family.
    pub peak_mem: [usize; 2],
    peers: BTreeMap<IpAddr, u32>,
    events: Vec<DefragEvent>,
    /// The time of the fragment being pushed.
    now: Timestamp,
}

/// Minimum bytes of an upper-layer header the IPv6 first fragment must contain
/// (`ipv6frag_thdr_truncated`).
/// Why the IPv6 stack's own reassembly refuses a fragment that reaches local delivery
/// without conntrack's having reassembled it (`ipv6_frag_rcv`, after INPUT: the tables passed
/// it, the stack drops it with `Ip6InHdrErrors` and a parameter problem): a first fragment
/// without its whole upper-layer header (RFC 8200 §4.5, `ipv6frag_thdr_truncated`), or a
/// fragment other than the last whose length is not a multiple of 8 (`ip6_frag_queue`, which
/// also discards the datagram's queue). Conntrack's defragmentation lets both through
/// (`nf_ct_frag6_gather`), as without conntrack each fragment crosses the tables alone.
/// `None` also where the capture cut off the bytes the test reads.
pub(crate) fn ipv6_frag_rcv_refuses(pkt: &Packet) -> Option<&'static str> {
    let data: &[u8] = &pkt.data;
    let len = pkt.ip_len as usize;
    if pkt.family != Family::V6 || data.len() < 40 || len < 40 {
        return None;
    }
    let w = walk_ipv6_ext(data, data[6], 40, len);
    let (units, mf, _, fh) = w.frag?;
    if units == 0 && !mf {
        // An atomic fragment: `ipv6_frag_rcv` takes it as it is.
        return None;
    }
    if units == 0 {
        let after = walk_ipv6_ext(data, data[fh], fh + 8, len);
        // `ipv6_skip_exthdr` failing (a header beyond the packet) is not "truncated".
        if !after.overrun && after.offset + v6_upper_min(after.proto) > len {
            return Some(
                "first fragment without its whole upper-layer header: the IPv6 stack's \
                 reassembly discards it after INPUT (RFC 8200 §4.5, ipv6_frag_rcv)",
            );
        }
    }
    let end = units as usize * 8 + len.saturating_sub(fh + 8);
    if mf && end & 7 != 0 {
        return Some(
            "fragment other than the last whose length is not a multiple of 8: the IPv6 \
             stack's reassembly discards it, and its queue, after INPUT (ip6_frag_queue)",
        );
    }
    None
}

/// `nf_ct_frag6_gather` on a datagram whose extension header chain runs past its end
/// ([`Anomalies::IPV6_BAD_EXT`], payload length not 0): `find_prev_fhdr` finds a fragment
/// header that starts within the datagram, `ipv6frag_thdr_truncated` does not let it pass as
/// a first fragment without its upper-layer header, and the fragment header's 8 bytes are not
/// all there: `pskb_may_pull` fails, the packet is dropped before any table (kernel-checked:
/// ipv6-cut-exthdr).
fn frag_header_cut(pkt: &Packet) -> bool {
    let data: &[u8] = &pkt.data;
    let len = (pkt.ip_len as usize).min(data.len());
    if len < 40 || data.len() < pkt.ip_len as usize || data[4..6] == [0, 0] {
        return false;
    }
    // find_prev_fhdr
    let mut nh = data[6];
    let mut start = 40usize;
    while nh != proto::IPV6_FRAG {
        if !matches!(
            nh,
            proto::HOPOPTS | proto::IPV6_ROUTE | proto::AH | proto::IPV6_OPTS
        ) || start + 2 > len
        {
            return false;
        }
        let hdrlen = if nh == proto::AH {
            (data[start + 1] as usize + 2) << 2
        } else {
            (data[start + 1] as usize + 1) << 3
        };
        nh = data[start];
        start += hdrlen;
    }
    if start > len {
        return false;
    }
    // ipv6frag_thdr_truncated
    if let Some((nh, off, fo)) = ipv6_skip_exthdr(data, proto::IPV6_FRAG, start, len) {
        if fo & !7 == 0 && off + v6_upper_min(nh) > len {
            return false;
        }
    }
    start + 8 > len
}

fn v6_upper_min(nh: u8) -> usize {
    match nh {
        proto::TCP => 20,
        proto::UDP => 8,
        proto::ICMPV6 => 8,
        _ => 1,
    }
}

fn is_v6_ll_or_mcast(a: &IpAddr) -> bool {
    match a {
        IpAddr::V6(a) => a.is_multicast() || (a.segments()[0] & 0xffc0) == 0xfe80,
        IpAddr::V4(_) => false,
    }
}

impl Defragmenter {
    pub fn new() -> Self {
        Self::with_config(DefragConfig::default())
    }

    pub(crate) fn with_config(cfg: DefragConfig) -> Self {
        Defragmenter {
            cfg,
            ..Default::default()
        }
    }

    /// Number of incomplete trains held.
    pub fn pending(&self) -> usize {
        self.queues.len()
    }

    /// Whether the IPv4 queue of (`src`, `dst`, `proto`, `id`) holds its first fragment;
    /// `None` when no such queue is held (it completed, was discarded or expired, or never
    /// began).
    pub(crate) fn v4_first_in(&self, src: IpAddr, dst: IpAddr, proto: u8, id: u32) -> Option<bool> {
        let key = Key {
            family: Family::V4,
            src,
            dst,
            proto,
            id,
            iif: 0,
        };
        self.queues.get(&key).map(|q| q.first_in)
    }

    /// Events since the last drain, in the order they happened.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, DefragEvent> {
        self.events.drain(..)
    }

    /// Expires queues whose timeout passed at time `now`.
    pub fn expire(&mut self, now: Timestamp) {
        let mut expired: Vec<Key> = Vec::new();
        while self
            .expiry
            .peek()
            .is_some_and(|Reverse((d, _, _))| *d <= now)
        {
            let Some(Reverse((_, seq, k))) = self.expiry.pop() else {
                break;
            };
            if self
                .queues
                .get(&k)
                .is_some_and(|q| q.seq == seq && now >= q.deadline)
            {
                expired.push(k);
            }
        }
        if self.expiry.len() > 2 * self.queues.len() + 1024 {
            self.expiry = self
                .queues
                .iter()
                .map(|(k, q)| Reverse((q.deadline, q.seq, k.clone())))
                .collect();
        }
        if self.peers.len() > 2 * self.queues.len() + 1024 {
            // A source's fragment counter only matters relative to its live queues.
            let live: std::collections::BTreeSet<IpAddr> =
                self.queues.keys().map(|k| k.src).collect();
            self.peers.retain(|a, _| live.contains(a));
        }
        expired.sort();
        for k in expired {
            if let Some(q) = self.remove_queue(&k).filter(|q| q.has_frags()) {
                self.events.push(DefragEvent::TimedOut {
                    family: k.family,
                    src: k.src,
                    dst: k.dst,
                    id: k.id,
                    frames: q.frames(),
                    first_ts: q.first_ts,
                    at_end: false,
                });
            }
        }
    }

    /// Removes a queue and uncharges its memory.
    fn remove_queue(&mut self, k: &Key) -> Option<Queue> {
        let q = self.queues.remove(k)?;
        let m = &mut self.mem[k.family as usize];
        *m = m.saturating_sub(q.mem);
        Some(q)
    }

    /// Memory charged now for `family`'s fragments (estimate, bytes).
    pub fn memory(&self, family: Family) -> usize {
        self.mem[family as usize]
    }

    /// Why the datagram [`Defragmenter::push`] just returned is not certain (reassembled while
    /// the fragment memory was near `ipfrag_high_thresh`); cleared by the call.
    pub(crate) fn take_uncertain(&mut self) -> Option<&'static str> {
        self.uncertain.take()
    }

    /// `inet_frag_find`'s memory check for a fragment of `frame_len` bytes: `Err` drops it.
    /// Marks `near` when the estimate is too close to the limit to be sure either way.
    fn admit(&mut self, family: Family, frame: u64) -> Result<bool, ()> {
        let high = match family {
            Family::V4 => self.cfg.ipv4_high_thresh,
            Family::V6 => self.cfg.ipv6_high_thresh,
        };
        let m = self.mem[family as usize];
        let near = high > 0 && m > high / 2 && m <= high.saturating_mul(2);
        if high == 0 || m > high {
            // Near the limit the real skb sizes may have kept the memory below it.
            if near {
                self.uncertain = Some(DropReason::MemoryLimit.as_str());
            }
            self.drop_frag(frame, DropReason::MemoryLimit);
            return Err(());
        }
        Ok(near)
    }

    /// Charges a queued fragment.
    /// `ip_frag_queue` / `nf_ct_frag6_queue` once the fragment's place is checked: insert it
    /// (a duplicate is dropped alone, an overlap discards the queue), count its bytes and ECN
    /// bits, and charge its frame. `false` when it was dropped (its event recorded).
    fn enqueue(&mut self, key: &Key, f: Frag, pkt: &Packet, frame_len: usize, near: bool) -> bool {
        let Some(q) = self.queues.get_mut(key) else {
            return false;
        };
        if pkt.anomalies.has(Anomalies::CAP_TRUNCATED) {
            q.cap_truncated = true;
        }
        let (off, end, frame) = (f.off, f.end, f.frame);
        match q.insert(f) {
            Ok(()) => {}
            Err(DropReason::Duplicate) => {
                self.drop_frag(frame, DropReason::Duplicate);
                return false;
            }
            Err(r) => {
                self.discard(key, frame, r);
                return false;
            }
        }
        q.meat += end - off;
        q.ecn |= ecn_bit(pkt.tos);
        if off == 0 {
            q.first_in = true;
        }
        self.charge(key, frame_len, near);
        true
    }

    fn charge(&mut self, key: &Key, frame_len: usize, near: bool) {
        let t = truesize_estimate(frame_len);
        let f = key.family as usize;
        if let Some(q) = self.queues.get_mut(key) {
            q.mem += t;
            q.near_limit |= near;
        }
        self.mem[f] += t;
        self.peak_mem[f] = self.peak_mem[f].max(self.mem[f]);
    }

    /// A new queue for `key`, charged and armed.
    fn create_queue(&mut self, key: &Key, ts: Timestamp, timeout: u64) {
        let mut q = Queue::new(ts, timeout);
        q.seq = self.next_seq;
        self.next_seq += 1;
        self.expiry.push(Reverse((q.deadline, q.seq, key.clone())));
        let f = key.family as usize;
        self.mem[f] += q.mem;
        self.peak_mem[f] = self.peak_mem[f].max(self.mem[f]);
        self.queues.insert(key.clone(), q);
    }

    /// Reports every train still incomplete (end of capture) and empties the reassembler.
    pub fn finish(&mut self) -> Vec<DefragEvent> {
        let queues = std::mem::take(&mut self.queues);
        self.expiry.clear();
        self.mem = [0; 2];
        for (k, q) in queues.into_iter().filter(|(_, q)| q.has_frags()) {
            self.events.push(DefragEvent::TimedOut {
                family: k.family,
                src: k.src,
                dst: k.dst,
                id: k.id,
                frames: q.frames(),
                first_ts: q.first_ts,
                at_end: true,
            });
        }
        self.events.drain(..).collect()
    }

    /// Feeds one packet (capture order). Returns the packet to continue with: unchanged when
    /// it is not a fragment (or the kernel lets it through as is), the reassembled datagram
    /// when this fragment completed one, `None` while held or when dropped.
    pub fn push(&mut self, pkt: Packet) -> Option<Packet> {
        let ts = pkt.ts;
        self.push_at(pkt, ts)
    }

    /// Whether `pkt` goes into a queue: a fragment, or with `DefragConfig::v6_atomic` an
    /// IPv6 atomic fragment.
    pub fn takes(&self, pkt: &Packet) -> bool {
        pkt.frag.is_fragment()
            || (self.cfg.v6_atomic && pkt.frag.v6_header)
            || pkt.anomalies.has(Anomalies::IPV6_BAD_EXT)
    }

    /// [`Defragmenter::push`] on another clock than the capture's: `now` (monotone, any
    /// origin) decides creation and expiry of queues — e.g. the time a real kernel saw the
    /// fragment, when fwcheck is compared with one.
    pub fn push_at(&mut self, pkt: Packet, now: Timestamp) -> Option<Packet> {
        self.now = now;
        self.uncertain = None;
        self.expire(now);
        if !self.takes(&pkt) || pkt.kernel_drop_reason().is_some() {
            return Some(pkt);
        }
        match pkt.family {
            Family::V4 => self.push_v4(pkt),
            Family::V6 => self.push_v6(pkt),
        }
    }

    fn discard(&mut self, key: &Key, frame: u64, reason: DropReason) {
        let mut frames = self
            .remove_queue(key)
            .map(|q| q.frames())
            .unwrap_or_default();
        frames.push(frame);
        frames.sort_unstable();
        frames.dedup();
        self.events.push(DefragEvent::QueueDiscarded {
            frame,
            frames,
            reason,
        });
    }

    /// The ECN bits the completed queue `q` gives its datagram (`ip_frag_ecn_table`); `None`,
    /// with the queue discarded, when its fragments mix Not-ECT with ECT or CE.
    fn ecn_of(&mut self, q: &Queue, frame: u64) -> Option<u8> {
        let ecn = ECN_TABLE[q.ecn as usize];
        if ecn == 0xff {
            self.events.push(DefragEvent::QueueDiscarded {
                frame,
                frames: q.frames(),
                reason: DropReason::EcnMismatch,
            });
            return None;
        }
        Some(ecn)
    }

    fn drop_frag(&mut self, frame: u64, reason: DropReason) {
        self.events
            .push(DefragEvent::FragmentDropped { frame, reason });
    }

    fn push_v4(&mut self, pkt: Packet) -> Option<Packet> {
        let hl = pkt.ip_hdr_len as usize;
        let key = Key {
            family: Family::V4,
            src: pkt.src,
            dst: pkt.dst,
            proto: pkt.proto,
            id: pkt.frag.id,
            iif: 0,
        };
        let timeout = self.cfg.ipv4_timeout;
        let ts = self.now;
        let frame = pkt.frame;
        // inet_frag_find: the memory limit, before the queue is found or made.
        let near = self.admit(Family::V4, frame).ok()?;
        // ip_frag_too_far: per-source fragment counter.
        let max_dist = self.cfg.ipv4_max_dist;
        let peer_rid = if max_dist > 0 {
            let c = self.peers.entry(pkt.src).or_insert(0);
            *c = c.wrapping_add(1);
            Some(*c)
        } else {
            None
        };
        if !self.queues.contains_key(&key) {
            self.create_queue(&key, ts, timeout);
        }
        let q = self.queues.get_mut(&key)?;
        if let Some(end_rid) = peer_rid {
            let start = q.rid;
            q.rid = end_rid;
            if q.has_frags() && end_rid.wrapping_sub(start) > max_dist {
                let purged = q.frames();
                // ip_frag_reinit: the fragments are uncharged, the queue re-armed.
                let freed = q.mem - QUEUE_COST;
                q.reset(ts, timeout);
                q.seq = self.next_seq;
                self.next_seq += 1;
                let item = Reverse((q.deadline, q.seq, key.clone()));
                self.expiry.push(item);
                self.mem[0] = self.mem[0].saturating_sub(freed);
                self.events.push(DefragEvent::QueueDiscarded {
                    frame,
                    frames: purged,
                    reason: DropReason::TooFar,
                });
            }
        }
        let q = self.queues.get_mut(&key)?;
        let off = pkt.frag.offset as usize * 8;
        let mut end = off + (pkt.ip_len as usize).saturating_sub(hl);
        if !pkt.frag.more_fragments {
            if end < q.len || (q.last_in && end != q.len) {
                self.discard(&key, frame, DropReason::BadLastFragment);
                return None;
            }
            q.last_in = true;
            q.len = end;
        } else {
            end &= !7;
            if end > q.len {
                if q.last_in {
                    self.discard(&key, frame, DropReason::BeyondEnd);
                    return None;
                }
                q.len = end;
            }
        }
        if end == off {
            self.discard(&key, frame, DropReason::Empty);
            return None;
        }
        let f = Frag {
            off,
            end,
            // Kept until the datagram completes: its own copy, not a share of a read buffer.
            data: pkt.data.detached(),
            start: hl,
            frame,
        };
        if !self.enqueue(&key, f, &pkt, pkt.data.len() + 14, near) {
            return None;
        }
        let q = self.queues.get_mut(&key)?;
        let fragsize = end - off + hl;
        q.max_size = q.max_size.max(fragsize);
        if pkt.frag.dont_fragment {
            q.max_df_size = q.max_df_size.max(fragsize);
        }
        if !(q.first_in && q.last_in && q.meat == q.len) {
            return None;
        }
        let q = self.remove_queue(&key)?;
        if q.near_limit {
            self.uncertain = Some(DropReason::MemoryLimit.as_str());
        }
        let ecn = self.ecn_of(&q, frame)?;
        let head = q.runs.first()?.frags.first()?.clone();
        let ihl = head.start;
        let total = ihl + q.len;
        if total > 65535 {
            self.events.push(DefragEvent::QueueDiscarded {
                frame,
                frames: q.frames(),
                reason: DropReason::Oversize,
            });
            return None;
        }
        let mut buf = vec![0u8; total];
        buf[..ihl].copy_from_slice(head.data.get(..ihl)?);
        let mut n = 0u16;
        for r in &q.runs {
            for f in &r.frags {
                n = n.saturating_add(1);
                copy_part(&mut buf, ihl + f.off, &f.data, f.start, f.end - f.off);
            }
        }
        buf[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        let fo: u16 = if q.max_df_size == q.max_size {
            0x4000
        } else {
            0
        };
        buf[6..8].copy_from_slice(&fo.to_be_bytes());
        buf[1] |= ecn;
        buf[10] = 0;
        buf[11] = 0;
        let c = checksum::compute(&buf[..ihl]);
        buf[10..12].copy_from_slice(&c.to_be_bytes());
        finish_packet(&pkt, buf, Some(Family::V4), &q, n, ihl)
    }

    fn push_v6(&mut self, pkt: Packet) -> Option<Packet> {
        let frame = pkt.frame;
        let ts = self.now;
        if !pkt.frag.v6_header && !pkt.frag.is_fragment() {
            // Taken for its cut extension header chain only (no fragment header read).
            if frag_header_cut(&pkt) {
                self.drop_frag(frame, DropReason::CutHeader);
                return None;
            }
            return Some(pkt);
        }
        let data = pkt.data.clone();
        if data.len() < 40 || data[4..6] == [0, 0] {
            self.events.push(DefragEvent::PassedThrough {
                frame,
                reason: "IPv6 payload length 0 (jumbogram)",
            });
            return Some(pkt);
        }
        let w = walk_ipv6_ext(&data, data[6], 40, data.len());
        let Some((units, mf, id, fh)) = w.frag else {
            return Some(pkt);
        };
        let off = units as usize * 8;
        let start = fh + 8;
        if off == 0 {
            // ipv6frag_thdr_truncated: the first fragment must hold the upper-layer header.
            let after = walk_ipv6_ext(&data, data[fh], start, data.len());
            let need = after.offset + v6_upper_min(after.proto);
            if after.overrun || need > data.len() {
                self.events.push(DefragEvent::PassedThrough {
                    frame,
                    reason: "first fragment does not contain the upper-layer header",
                });
                return Some(pkt);
            }
        }
        let plen = (pkt.ip_len as usize).saturating_sub(40);
        let end = off + plen.saturating_sub(start - 40);
        if end > 65535 {
            self.drop_frag(frame, DropReason::Oversize);
            return None;
        }
        let iif = if is_v6_ll_or_mcast(&pkt.dst) {
            pkt.link.interface
        } else {
            0
        };
        let key = Key {
            family: Family::V6,
            src: pkt.src,
            dst: pkt.dst,
            proto: 0,
            id,
            iif,
        };
        let timeout = self.cfg.ipv6_timeout;
        let near = self.admit(Family::V6, frame).ok()?;
        if !self.queues.contains_key(&key) {
            self.create_queue(&key, ts, timeout);
        }
        let q = self.queues.get_mut(&key)?;
        if !mf {
            if end < q.len || (q.last_in && end != q.len) {
                self.drop_frag(frame, DropReason::BadLastFragment);
                return None;
            }
            q.last_in = true;
            q.len = end;
        } else {
            if end & 7 != 0 {
                let frames = q.frames();
                self.remove_queue(&key);
                if !frames.is_empty() {
                    self.events.push(DefragEvent::QueueDiscarded {
                        frame,
                        frames,
                        reason: DropReason::Malformed,
                    });
                }
                self.events.push(DefragEvent::PassedThrough {
                    frame,
                    reason: "non-last fragment length not a multiple of 8",
                });
                return Some(pkt);
            }
            if end > q.len {
                if q.last_in {
                    self.drop_frag(frame, DropReason::BeyondEnd);
                    return None;
                }
                q.len = end;
            }
        }
        if end == off {
            self.drop_frag(frame, DropReason::Empty);
            return None;
        }
        let f = Frag {
            off,
            end,
            data: data.detached(),
            start,
            frame,
        };
        if !self.enqueue(&key, f, &pkt, data.len() + 14, near) {
            return None;
        }
        let q = self.queues.get_mut(&key)?;
        // nf_ct_frag6_queue: the largest fragment's payload (frag_max_size adds the header).
        q.max_size = q.max_size.max(pkt.ip_len as usize);
        if !(q.first_in && q.last_in && q.meat == q.len) {
            return None;
        }
        let q = self.remove_queue(&key)?;
        if q.near_limit {
            self.uncertain = Some(DropReason::MemoryLimit.as_str());
        }
        let ecn = self.ecn_of(&q, frame)?;
        let head = q.runs.first()?.frags.first()?.clone();
        // Unfragmentable part of the head: everything before its Fragment header.
        let hfh = head.start - 8;
        let unfrag = hfh;
        let payload_len = (unfrag - 40) + q.len;
        if payload_len > 65535 {
            self.events.push(DefragEvent::QueueDiscarded {
                frame,
                frames: q.frames(),
                reason: DropReason::Oversize,
            });
            return None;
        }
        let mut buf = vec![0u8; unfrag + q.len];
        buf[..unfrag].copy_from_slice(head.data.get(..unfrag)?);
        // The header before the Fragment header now points at what followed it.
        let prev_nh_pos = prev_next_header_pos(&head.data, hfh);
        let frag_next = *head.data.get(hfh)?;
        if let Some(slot) = buf.get_mut(prev_nh_pos) {
            *slot = frag_next;
        }
        buf[4..6].copy_from_slice(&(payload_len as u16).to_be_bytes());
        // ipv6_change_dsfield(…, 0xff, ecn): the traffic class's low bits.
        buf[1] |= ecn << 4;
        let mut n = 0u16;
        for r in &q.runs {
            for f in &r.frags {
                n = n.saturating_add(1);
                copy_part(&mut buf, unfrag + f.off, &f.data, f.start, f.end - f.off);
            }
        }
        finish_packet(&pkt, buf, Some(Family::V6), &q, n, unfrag)
    }
}

/// Offset of the next-header byte that names the header at `target` (6 for the base header).
fn prev_next_header_pos(data: &[u8], target: usize) -> usize {
    let mut pos = 6;
    let mut off = 40;
    let mut nh = data.get(6).copied().unwrap_or(0);
    while off < target {
        let Some(&lenb) = data.get(off + 1) else {
            break;
        };
        let len = if nh == proto::AH {
            (lenb as usize + 2) * 4
        } else {
            (lenb as usize + 1) * 8
        };
        pos = off;
        nh = data.get(off).copied().unwrap_or(0);
        off += len;
    }
    pos
}

fn copy_part(buf: &mut [u8], at: usize, src: &[u8], start: usize, len: usize) {
    let avail = src.len().saturating_sub(start).min(len);
    if avail == 0 || at >= buf.len() {
        return;
    }
    let n = avail.min(buf.len() - at);
    buf[at..at + n].copy_from_slice(&src[start..start + n]);
}

fn finish_packet(
    last: &Packet,
    buf: Vec<u8>,
    family: Option<Family>,
    q: &Queue,
    n: u16,
    hdr: usize,
) -> Option<Packet> {
    let meta = FrameMeta {
        frame: last.frame,
        ts: last.ts,
        linktype: last.link.linktype,
        interface: last.link.interface,
        wire_len: buf.len() as u32,
    };
    let link: LinkInfo = last.link.clone();
    let len = buf.len();
    let mut p = decode_ip(&meta, link, &buf, len, family).ok()?;
    p.frag.reassembled = true;
    p.frag.fragments = n;
    // IP6CB / IPCB(skb)->frag_max_size: what the forwarding path checks against the MTU.
    p.frag.max_fragment = q.max_size.max(q.max_df_size) as u32;
    if family == Some(Family::V6) {
        // The datagram no longer has a Fragment header; keep its identification.
        p.frag.id = last.frag.id;
    }
    if q.cap_truncated {
        p.anomalies.set(Anomalies::CAP_TRUNCATED);
        p.l4_checksum_ok = None;
    }
    p.reassembled_from = Some(Arc::from(q.frames()));
    let mut bounds: Vec<u32> = q
        .runs
        .iter()
        .flat_map(|r| r.frags.iter().map(|f| f.off))
        .filter(|&off| off > 0)
        .map(|off| (hdr + off) as u32)
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    p.frag_bounds = Some(Arc::from(bounds));
    Some(p)
}
