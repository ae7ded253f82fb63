//! The conntrack table: entries, the tuple hash, lookups, confirmation and expiry.
//!
//! Mirrors `net/netfilter/nf_conntrack_core.c`: `__nf_conntrack_find_get` (an expired entry is
//! never found, and is collected on the way), `__nf_conntrack_confirm`, `__nf_conntrack_alloc`
//! with `nf_conntrack_max` (`early_drop` / "table full, dropping packet", see
//! `Conntrack::make_room`) and the garbage collector `gc_worker` (expired entries are freed;
//! see [`Conntrack::gc`]), so memory follows the live connections, not the capture's length.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::tcp::TcpCt;
use super::*;

/// Per-protocol tracker state of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtoState {
    Tcp(Box<TcpCt>),
    /// `stream_ts`: jiffies after which a replied flow is promoted to "stream".
    Udp {
        stream_ts: u64,
    },
    Icmp,
    Sctp(super::sctp::SctpCt),
    Generic,
}

/// One connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtEntry {
    /// `[ORIGINAL, REPLY]` tuples.
    pub tuple: [Tuple; 2],
    pub status: u32,
    /// Expiry in jiffies once confirmed; the relative timeout while unconfirmed.
    pub timeout: u64,
    /// Where in its jiffy (in billionths of one) the packet that last set `timeout` fell on
    /// the capture's clock: with the kernel's tick phase unknown, a later packet within one
    /// jiffy of `timeout` may find the connection alive or expired ([`Conntrack::lookup`]).
    pub(crate) timeout_phase: u32,
    pub mark: u32,
    pub zone: u16,
    pub proto: ProtoState,
    /// Capture frame that created the entry.
    pub(crate) created_frame: u64,
    /// Sequence number of creation, for deterministic iteration.
    pub(crate) serial: u64,
    /// `--zone-orig` / `--zone-reply`: the one direction `zone` applies to (`None`: both).
    pub(crate) zone_only: Option<CtDir>,
    /// Killed (`nf_ct_kill`): no longer findable, freed once its current packet is done.
    pub(crate) dying: bool,
    /// The connection's helper and its data (`nfct_help`), from a `CT --helper` template.
    pub help: Option<Box<super::helper::Help>>,
    /// For an EXPECTED connection: its master's helper (what `-m helper` compares).
    pub(crate) master_helper: Option<super::helper::HelperId>,
}

impl CtEntry {
    pub fn orig(&self) -> &Tuple {
        &self.tuple[0]
    }
    pub fn reply(&self) -> &Tuple {
        &self.tuple[1]
    }
    pub(crate) fn is_confirmed(&self) -> bool {
        self.status & status::CONFIRMED != 0
    }
    pub fn tcp(&self) -> Option<&TcpCt> {
        match &self.proto {
            ProtoState::Tcp(t) => Some(t),
            _ => None,
        }
    }
}

/// One direction's counters of a connection (`struct nf_conn_counter`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Acct {
    pub packets: u64,
    pub bytes: u64,
}

/// The table of connections.
#[derive(Debug, Clone, Default)]
pub struct Conntrack {
    slots: Vec<Option<CtEntry>>,
    free: Vec<u32>,
    /// Confirmed entries by tuple, both directions: each item is `slot << 1 | direction`, its
    /// key the entry's own tuple, as the kernel's hash chains link the
    /// `nf_conntrack_tuple_hash` embedded in `nf_conn` (4 bytes an item, not a copy of the
    /// tuple; a lookup reads the entry it finds, which it needs anyway). At most one item
    /// per tuple: [`Conntrack::confirm`] refuses a clash.
    map: hashbrown::HashTable<u32>,
    /// The seed of `map`'s hash (per process, as foldhash's maps).
    hasher: foldhash::fast::RandomState,
    next_serial: u64,
    confirmed_count: usize,
    /// Accounting (`net.netfilter.nf_conntrack_acct`) is on: entries created now get counters.
    acct_on: bool,
    /// A NAT binding was ever set ([`Conntrack::translated`]).
    translated: bool,
    /// Each slot's counters (`nf_conn_acct`), `None` for an entry created while accounting was
    /// off; empty until accounting is first switched on (it costs nothing per entry before).
    acct: Vec<Option<[Acct; 2]>>,
    /// Expiry queue: `(deadline, slot, serial)`, one live item per confirmed entry, checked
    /// lazily (a refreshed entry is re-queued when its old deadline comes).
    expiry: BinaryHeap<Reverse<(u64, u32, u64)>>,
    /// Per slot: expired but still held, as the kernel holds it until its collector passes.
    held: Vec<bool>,
    /// Number of `held` entries.
    expired_held: usize,
    /// Entries in creation order that may still be unassured (`early_drop`'s candidates);
    /// assured and freed ones are dropped from the front as they are met.
    unassured: VecDeque<(u32, u64)>,
    /// `conntrack_gc_work.early_drop`: the table was full once; the collector now early-drops
    /// on the kernel's own clock while the table is at 95 % of `nf_conntrack_max`.
    gc_early_drop: bool,
    /// Statistics: `early_drop` evictions and "table full" drops.
    pub stats: TableStats,
    /// Expectations announced by helpers (`nf_ct_expect_hash`).
    pub(super) expect: super::expect::Expectations,
    /// Counts every event that can end a live connection or bring its end closer: removal,
    /// kill, a timeout lowered, a TCP connection entering TIME_WAIT or CLOSE. While it stays
    /// the same, connections seen alive stay alive until their timeouts (connlimit's fast path).
    pub deaths: u64,
    /// The tuples of the entries the last [`ENDINGS_KEPT`] such events touched, oldest first;
    /// `endings_base` is the number of the first. Connlimit asks which of its listed
    /// connections changed since it last looked ([`Conntrack::endings_since`]).
    endings: VecDeque<[Tuple; 2]>,
    endings_base: u64,
    /// TCP connections whose SYN the capture showed and whose entry is gone — its verdict
    /// discarded it, or it expired or was killed — (the last [`SYN_DISCARDED_KEPT`]): a later
    /// segment of one, picked up mid-stream, cannot belong to a connection the kernel tracked
    /// before the capture began.
    syn_discarded: foldhash::HashSet<Tuple>,
    syn_discarded_order: VecDeque<Tuple>,
    /// Where the current packet's time falls within its jiffy (billionths), on a capture's
    /// clock, whose ticks' phase against the kernel's is unknown; `None` on a clock that is
    /// the kernel's own (the kernel comparison).
    phase: Option<u32>,
    /// See [`Conntrack::set_own_clock`].
    own_clock: Option<(u64, u32)>,
    /// See [`Conntrack::take_behind_doubt`].
    behind_doubt: bool,
    /// A lookup since [`Conntrack::take_expiry_doubt`] met a connection whose timeout falls
    /// within one jiffy of the current packet, on the side that depends on the kernel's phase.
    expiry_doubt: bool,
    /// A TCP entry a SYN reopened (`-NF_REPEAT`) left this, for the entry that SYN creates
    /// next: the frame, and the highest sequence end the capture showed each side sending,
    /// the SYN's sender first (see [`TcpCt::held_end`](super::proto::tcp::TcpCt)).
    reopened: Option<(u64, [u32; 2])>,
}

/// How many ending events the table remembers for [`Conntrack::endings_since`] (about 1.3 MB);
/// a reader further behind walks in full.
const ENDINGS_KEPT: usize = 16_384;

/// How many TCP connections whose SYN was seen and discarded the table remembers (about
/// 1 MB); an older one's later segments are taken as a possible older connection.
const SYN_DISCARDED_KEPT: usize = 16_384;

/// What the table did at its bound (`/proc/net/stat/nf_conntrack` `early_drop`, `drop`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    pub early_drop: u64,
    pub table_full: u64,
    /// Most entries held at once (live, expired-not-yet-collected and in flight).
    pub peak: usize,
}

/// `NF_CT_EVICTION_RANGE`: buckets `early_drop` scans from the new tuple's bucket.
pub(crate) const EVICTION_RANGE: u32 = 8;

/// How long an expired entry may still be held (and counted against `nf_conntrack_max`)
/// before the kernel's collector has freed it: one `GC_SCAN_INTERVAL_MAX` (60 s) cycle plus a
/// second of scanning.
pub(crate) const GC_GRACE_SECS: u64 = 61;

/// The outcome of [`Conntrack::make_room`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Room {
    /// Below `nf_conntrack_max`: allocate. `uncertain` when the kernel may still be counting
    /// expired entries its collector has not freed.
    Free { uncertain: Option<&'static str> },
    /// Full: `early_drop` evicted an unassured entry (uncertain: which buckets it scans
    /// depends on the kernel's random hash seed).
    Evicted {
        victim: CtId,
        uncertain: &'static str,
    },
    /// Full and nothing evicted: "nf_conntrack: table full, dropping packet".
    Full { uncertain: Option<&'static str> },
}

/// The direction bit of a hash item.
fn dir_of(v: u32) -> CtDir {
    if v & 1 == 0 {
        CtDir::Original
    } else {
        CtDir::Reply
    }
}

impl Conntrack {
    pub fn new() -> Self {
        Conntrack::default()
    }

    /// An empty table, with accounting on if `acct` ([`Conntrack::enable_acct`]).
    pub(crate) fn with_acct(acct: bool) -> Self {
        Conntrack {
            acct_on: acct,
            ..Conntrack::default()
        }
    }

    /// The entry and direction whose tuple is `t`, expired or not.
    fn hashed(&self, t: &Tuple) -> Option<(CtId, CtDir)> {
        use std::hash::BuildHasher;
        let slots = &self.slots;
        self.map
            .find(self.hasher.hash_one(t), |&v| {
                slots[(v >> 1) as usize]
                    .as_ref()
                    .is_some_and(|e| e.tuple[(v & 1) as usize] == *t)
            })
            .map(|&v| (CtId(v >> 1), dir_of(v)))
    }

    /// Hash entry `id` under both its tuples (once when they are equal: the reply's, which
    /// `__nf_conntrack_hash_insert` adds last, at the head of the chain; kernel-checked in
    /// `tests/kernel_ct_hash.rs`).
    fn hash_in(&mut self, id: CtId) {
        use std::hash::BuildHasher;
        let tuples = self.slots[id.0 as usize]
            .as_ref()
            .expect("a live entry")
            .tuple;
        let dirs: &[CtDir] = if tuples[0] == tuples[1] {
            &[CtDir::Reply]
        } else {
            &[CtDir::Original, CtDir::Reply]
        };
        for &d in dirs {
            let (slots, hasher) = (&self.slots, &self.hasher);
            self.map.insert_unique(
                hasher.hash_one(tuples[d as usize]),
                id.0 << 1 | d as u32,
                |&v| {
                    let e = slots[(v >> 1) as usize]
                        .as_ref()
                        .expect("hashed entries live");
                    hasher.hash_one(e.tuple[(v & 1) as usize])
                },
            );
        }
    }

    /// Unhash entry `id`, whose tuples are `tuples` (it may already be out of its slot).
    fn hash_out(&mut self, id: CtId, tuples: &[Tuple; 2]) {
        use std::hash::BuildHasher;
        for d in [CtDir::Original, CtDir::Reply] {
            let v = id.0 << 1 | d as u32;
            if let Ok(item) = self
                .map
                .find_entry(self.hasher.hash_one(tuples[d as usize]), |&x| x == v)
            {
                item.remove();
            }
        }
    }

    /// Give entry `id` a new reply tuple (NAT's binding); a confirmed entry is rehashed.
    pub(crate) fn set_reply(&mut self, id: CtId, r: Tuple) {
        let Some(e) = self.get(id) else { return };
        let (confirmed, tuples) = (e.is_confirmed() && !e.dying, e.tuple);
        if confirmed {
            self.hash_out(id, &tuples);
        }
        self.get_mut(id).expect("checked").tuple[1] = r;
        if confirmed {
            self.hash_in(id);
        }
        self.translated |= super::invert(&tuples[0]) != Some(r);
    }

    /// Some connection was ever given a translated reply tuple (NAT): only then can a packet
    /// be another one's translated form ([`crate::engine`]'s `nat::as_sent`).
    pub(crate) fn translated(&self) -> bool {
        self.translated
    }

    /// An event that can end the entry holding `tuples` or bring its end closer: counted in
    /// `deaths` and remembered for [`Conntrack::endings_since`].
    pub(crate) fn ending(&mut self, tuples: [Tuple; 2]) {
        self.deaths += 1;
        if self.endings.len() == ENDINGS_KEPT {
            self.endings.pop_front();
            self.endings_base += 1;
        }
        self.endings.push_back(tuples);
    }

    /// The tuples of the entries every ending event after the first `since` touched, or `None`
    /// when the table no longer remembers all of them (or `deaths` was moved by hand).
    pub(crate) fn endings_since(&self, since: u64) -> Option<impl Iterator<Item = &Tuple>> {
        let end = self.endings_base + self.endings.len() as u64;
        if since < self.endings_base || since > end || end != self.deaths {
            return None;
        }
        let skip = (since - self.endings_base) as usize;
        Some(self.endings.range(skip..).flatten())
    }

    pub fn get(&self, id: CtId) -> Option<&CtEntry> {
        self.slots.get(id.0 as usize).and_then(|s| s.as_ref())
    }

    pub(crate) fn get_mut(&mut self, id: CtId) -> Option<&mut CtEntry> {
        self.slots.get_mut(id.0 as usize).and_then(|s| s.as_mut())
    }

    /// Number of confirmed entries (live or not yet garbage-collected).
    pub fn len(&self) -> usize {
        self.confirmed_count
    }

    pub fn is_empty(&self) -> bool {
        self.confirmed_count == 0
    }

    /// Confirmed entries in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (CtId, &CtEntry)> {
        let mut v: Vec<(CtId, &CtEntry)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .filter(|e| e.is_confirmed())
                    .map(|e| (CtId(i as u32), e))
            })
            .collect();
        v.sort_by_key(|(_, e)| e.serial);
        v.into_iter()
    }

    /// Find a confirmed, unexpired entry by tuple; expired entries are removed on the way.
    /// A connection whose timeout lies within one jiffy of `now` on the side that depends on
    /// the kernel's tick phase is noted for `nf_conntrack_in` (which makes the packet uncertain).
    pub fn lookup(&mut self, t: &Tuple, now: u64) -> Option<(CtId, CtDir)> {
        let (id, dir) = self.hashed(t)?;
        let (expired, doubt, apart) = self
            .get(id)
            .map(|e| {
                let expired = time_after_eq(now, e.timeout);
                let edge = self.phase.is_some_and(|p| edge_at(e, now, p));
                // A packet stamped before an earlier frame runs at that frame's time; the
                // kernel handled it at its own: the answer must be the same at both.
                let apart = self.own_clock.is_some_and(|(j, p)| {
                    time_after_eq(j, e.timeout) != expired || edge_at(e, j, p)
                });
                (expired, edge, apart)
            })
            .unwrap_or((true, false, false));
        self.expiry_doubt |= doubt;
        self.behind_doubt |= apart;
        if expired {
            self.remove(id);
            return None;
        }
        Some((id, dir))
    }

    /// The confirmed entry holding tuple `t` in either direction, expired or not (a read-only
    /// look at the hash, as `nf_conntrack_tuple_taken` takes it).
    pub fn find(&self, t: &Tuple) -> Option<CtId> {
        self.hashed(t).map(|(id, _)| id)
    }

    /// [`Conntrack::find`], with the direction whose tuple `t` is.
    pub(crate) fn find_dir(&self, t: &Tuple) -> Option<(CtId, CtDir)> {
        self.hashed(t)
    }

    /// `nf_conntrack_find_get` / `resolve_normal_ct` for a packet whose template is `tmpl`: the
    /// tuple is looked up with the template's zone id for the original direction, then, if that
    /// differs and nothing was found, for the reply direction; a hit counts only if the entry
    /// is in the packet's zone in the direction it was found in (`nf_ct_zone_equal`), which
    /// matters when a zone is limited to one direction.
    pub(crate) fn lookup_zoned(
        &mut self,
        t: &Tuple,
        tmpl: super::Template,
        now: u64,
    ) -> Option<(CtId, CtDir)> {
        let ids = [tmpl.zone_id(CtDir::Original), tmpl.zone_id(CtDir::Reply)];
        let tries = if ids[0] == ids[1] { 1 } else { 2 };
        for &zone in &ids[..tries] {
            let key = Tuple { zone, ..*t };
            let Some((id, dir)) = self.lookup(&key, now) else {
                continue;
            };
            let e = self.get(id)?;
            if super::zone_id(e.zone, e.zone_only, dir) == tmpl.zone_id(dir) {
                return Some((id, dir));
            }
        }
        None
    }

    /// Allocate an unconfirmed entry (not findable until [`Conntrack::confirm`]).
    pub(crate) fn alloc(&mut self, mut e: CtEntry) -> CtId {
        e.serial = self.next_serial;
        self.next_serial += 1;
        e.status &= !status::CONFIRMED;
        let id = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(e);
                self.held[i as usize] = false;
                CtId(i)
            }
            None => {
                self.slots.push(Some(e));
                self.held.push(false);
                CtId(self.slots.len() as u32 - 1)
            }
        };
        // nf_ct_acct_ext_add at creation: only while accounting is on.
        if self.acct_on || !self.acct.is_empty() {
            let i = id.0 as usize;
            if self.acct.len() <= i {
                self.acct.resize(i + 1, None);
            }
            self.acct[i] = self.acct_on.then(<[Acct; 2]>::default);
        }
        self.stats.peak = self.stats.peak.max(self.occupied());
        id
    }

    /// Entries the kernel would count in `nf_conntrack_count`: live, expired but not yet
    /// collected, and those held by the packet in flight.
    pub fn occupied(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Entries that are live (confirmed, unexpired) — what `conntrack -L` lists.
    pub fn live(&self) -> usize {
        self.confirmed_count - self.expired_held
    }

    /// `__nf_conntrack_alloc`'s bound, before a new entry is allocated at time `now`:
    /// `nf_conntrack_max` (`max`, 0 = none) against the entries held, then `early_drop` — which
    /// evicts the unassured entries of the first of [`EVICTION_RANGE`] hash buckets (from the
    /// new tuple's, of `buckets`) that holds one. The buckets come from a hash with a random
    /// seed, so whether an eviction happens when unassured entries exist is uncertain; the
    /// likelier outcome is emulated (each entry hashes into 2 buckets: P(none in range) =
    /// (1 - 8/buckets)^(2 * candidates)), the victim being the oldest unassured entry.
    pub(crate) fn make_room(&mut self, max: u32, buckets: u32, now: u64, hz: u32) -> Room {
        self.gc(now, hz);
        if max == 0 {
            return Room::Free { uncertain: None };
        }
        let max = max as usize;
        let occupied = self.occupied();
        if occupied < max {
            return Room::Free { uncertain: None };
        }
        let held = occupied - self.expired_held;
        if held < max {
            return Room::Free {
                uncertain: Some(
                    "nf_conntrack_max: the kernel may still count expired connections its \
                     garbage collector has not freed yet (table full?)",
                ),
            };
        }
        let gc_note = self.gc_early_drop;
        self.gc_early_drop = true;
        let candidates = self.unassured_candidates(now);
        let Some(victim) = candidates.0 else {
            self.stats.table_full += 1;
            return Room::Full {
                uncertain: gc_note.then_some(
                    "nf_conntrack_max: table full; the kernel's garbage collector early-drops \
                     closing TCP connections on its own clock once the table has been full",
                ),
            };
        };
        let n = candidates.1 as f64;
        let b = buckets.max(1) as f64;
        let p_none = (1.0 - (EVICTION_RANGE as f64 / b).min(1.0)).powf(2.0 * n);
        if p_none >= 0.5 {
            self.stats.table_full += 1;
            Room::Full {
                uncertain: Some(
                    "nf_conntrack_max: table full; early_drop may have evicted an unassured \
                     connection (the buckets it scans depend on the kernel's hash seed)",
                ),
            }
        } else {
            self.stats.early_drop += 1;
            self.remove(victim);
            Room::Evicted {
                victim,
                uncertain: "nf_conntrack_max: table full, early_drop evicted an unassured \
                            connection (which one depends on the kernel's hash seed)",
            }
        }
    }

    /// The oldest unassured live entry and (an upper bound of) how many there are.
    fn unassured_candidates(&mut self, now: u64) -> (Option<CtId>, usize) {
        while let Some(&(slot, serial)) = self.unassured.front() {
            let keep = self
                .slots
                .get(slot as usize)
                .and_then(|s| s.as_ref())
                .is_some_and(|e| {
                    e.serial == serial
                        && e.is_confirmed()
                        && !e.dying
                        && e.status & status::ASSURED == 0
                        && !time_after_eq(now, e.timeout)
                });
            if keep {
                return (Some(CtId(slot)), self.unassured.len());
            }
            self.unassured.pop_front();
        }
        (None, 0)
    }

    /// The kernel's garbage collection as far as it affects verdicts and memory: entries whose
    /// timeout passed are no longer found (see [`Conntrack::lookup`]) and are freed once
    /// `GC_GRACE_SECS` have passed, counting against `nf_conntrack_max` until then.
    /// Amortised O(log n) per entry and refresh; never a sweep of the table.
    pub fn gc(&mut self, now: u64, hz: u32) {
        let grace = GC_GRACE_SECS * hz as u64;
        while let Some(&Reverse((deadline, slot, serial))) = self.expiry.peek() {
            if deadline > now {
                break;
            }
            self.expiry.pop();
            let Some(e) = self.slots.get(slot as usize).and_then(|s| s.as_ref()) else {
                continue;
            };
            if e.serial != serial || !e.is_confirmed() || e.dying {
                continue;
            }
            let timeout = e.timeout;
            let id = CtId(slot);
            if !time_after_eq(now, timeout) {
                if self.held[slot as usize] {
                    self.held[slot as usize] = false;
                    self.expired_held -= 1;
                }
                self.expiry.push(Reverse((timeout, slot, serial)));
            } else if now >= timeout.saturating_add(grace) {
                self.remove(id);
            } else {
                if !self.held[slot as usize] {
                    self.held[slot as usize] = true;
                    self.expired_held += 1;
                }
                self.expiry
                    .push(Reverse((timeout.saturating_add(grace), slot, serial)));
            }
        }
        // Stale items (entries removed before their deadline) are dropped by a rebuild once
        // they outnumber the live ones.
        let live_items = self.confirmed_count;
        if self.expiry.len() > 2 * live_items + 1024 {
            let items: Vec<_> = self
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    s.as_ref()
                        .filter(|e| e.is_confirmed() && !e.dying)
                        .map(|e| Reverse((e.timeout, i as u32, e.serial)))
                })
                .collect();
            self.expiry = BinaryHeap::from(items);
        }
        if self.unassured.len() > 2 * self.occupied() + 1024 {
            let slots = &self.slots;
            self.unassured.retain(|&(slot, serial)| {
                slots
                    .get(slot as usize)
                    .and_then(|s| s.as_ref())
                    .is_some_and(|e| e.serial == serial && e.status & status::ASSURED == 0)
            });
        }
    }

    /// Insert an unconfirmed entry into the hash; its relative timeout starts now.
    /// Returns false (and frees it) when a clashing entry exists.
    pub fn confirm(&mut self, id: CtId, now: u64) -> bool {
        self.confirm_or_clash(id, now).is_ok()
    }

    /// [`Conntrack::confirm`], saying on failure which live entry holds one of `id`'s tuples
    /// (`None`: `id` was gone or dying).
    pub(crate) fn confirm_or_clash(&mut self, id: CtId, now: u64) -> Result<(), Option<CtId>> {
        let Some(e) = self.get(id) else {
            return Err(None);
        };
        if e.is_confirmed() {
            return Ok(());
        }
        if e.dying {
            return Err(None);
        }
        let (o, r) = (e.tuple[0], e.tuple[1]);
        let clash = |t: &Tuple| self.hashed(t).is_some_and(|(other, _)| other != id);
        if clash(&o) || clash(&r) {
            // Only possible with stale (expired) entries in a sequential replay: evict them.
            for t in [o, r] {
                if let Some((other, _)) = self.hashed(&t) {
                    if self
                        .get(other)
                        .is_some_and(|x| time_after_eq(now, x.timeout))
                    {
                        self.remove(other);
                    } else {
                        self.discard(id);
                        return Err(Some(other));
                    }
                }
            }
        }
        let phase = self.phase_now();
        let e = self.get_mut(id).expect("checked");
        e.timeout = now.wrapping_add(e.timeout);
        e.timeout_phase = phase;
        e.status |= status::CONFIRMED;
        let (timeout, serial, assured) = (e.timeout, e.serial, e.status & status::ASSURED != 0);
        self.hash_in(id);
        self.confirmed_count += 1;
        self.expiry.push(Reverse((timeout, id.0, serial)));
        if !assured {
            self.unassured.push_back((id.0, serial));
        }
        Ok(())
    }

    /// Free an unconfirmed entry (its packet was dropped).
    pub fn discard(&mut self, id: CtId) {
        if let Some(e) = self.get(id) {
            if !e.is_confirmed() {
                if e.tcp().is_some_and(|t| !t.picked_up_mid_stream()) {
                    let t = e.tuple[0];
                    self.remember_syn(t);
                }
                self.slots[id.0 as usize] = None;
                self.free.push(id.0);
            }
        }
    }

    /// Remember TCP connection `t` as one whose SYN the capture showed and whose entry is gone.
    fn remember_syn(&mut self, t: Tuple) {
        if self.syn_discarded.insert(t) {
            self.syn_discarded_order.push_back(t);
            if self.syn_discarded_order.len() > SYN_DISCARDED_KEPT {
                let old = self.syn_discarded_order.pop_front().expect("kept");
                self.syn_discarded.remove(&old);
            }
        }
    }

    /// Whether the capture showed the SYN of TCP connection `t` (either direction), whose
    /// entry is gone: its verdict discarded it ([`Conntrack::discard`]), or it expired or was
    /// killed ([`Conntrack::remove`]); the latest [`SYN_DISCARDED_KEPT`] kept.
    pub(crate) fn syn_seen(&self, t: &Tuple) -> bool {
        let back = Tuple {
            src: t.dst,
            dst: t.src,
            sport: t.dport,
            dport: t.sport,
            ..*t
        };
        self.syn_discarded.contains(t) || self.syn_discarded.contains(&back)
    }

    /// `nf_ct_kill`: unhash the entry so lookups no longer find it; the packet holding it keeps
    /// it until [`Conntrack::release`].
    pub fn kill(&mut self, id: CtId) {
        let Some(e) = self.slots.get_mut(id.0 as usize).and_then(|s| s.as_mut()) else {
            return;
        };
        if e.dying {
            return;
        }
        e.dying = true;
        let tuples = e.tuple;
        self.ending(tuples);
        let e = self.slots[id.0 as usize].as_ref().expect("present");
        if e.status & status::CONFIRMED != 0 {
            self.hash_out(id, &tuples);
            self.confirmed_count -= 1;
            if std::mem::take(&mut self.held[id.0 as usize]) {
                self.expired_held -= 1;
            }
        }
    }

    /// The packet holding `id` is done: free it if it was killed or never confirmed.
    pub fn release(&mut self, id: CtId) {
        if let Some(e) = self.get(id) {
            if e.dying || !e.is_confirmed() {
                self.slots[id.0 as usize] = None;
                self.free.push(id.0);
            }
        }
    }

    /// Delete an entry (confirmed or not) at once.
    pub(crate) fn remove(&mut self, id: CtId) {
        let Some(e) = self.slots.get_mut(id.0 as usize).and_then(|s| s.take()) else {
            return;
        };
        // A TCP connection the capture showed from its SYN, gone (expired, killed): a later
        // segment of it is picked up mid-stream in the kernel too.
        if e.tcp().is_some_and(|t| !t.picked_up_mid_stream()) {
            self.remember_syn(e.tuple[0]);
        }
        self.ending(e.tuple);
        if e.is_confirmed() && !e.dying {
            self.hash_out(id, &e.tuple);
            self.confirmed_count -= 1;
        }
        if std::mem::take(&mut self.held[id.0 as usize]) {
            self.expired_held -= 1;
        }
        self.free.push(id.0);
    }

    /// `nf_ct_refresh_acct`: [`Conntrack::refresh`], and the packet (`skb->len` bytes, in
    /// direction `dir`) counted when the entry has accounting. Every tracker's accepting path
    /// calls it where the kernel's does (not a TCP SYN retransmission, nor a segment the window
    /// check ignores).
    pub(crate) fn refresh_acct(&mut self, id: CtId, dir: CtDir, len: u32, extra: u64, now: u64) {
        self.refresh(id, extra, now);
        self.account(id, dir, len);
    }

    /// `nf_ct_acct_update`: count a packet of `len` bytes in direction `dir`, if the entry
    /// has accounting (it was created while accounting was on).
    #[inline]
    pub(crate) fn account(&mut self, id: CtId, dir: CtDir, len: u32) {
        if let Some(Some(a)) = self.acct.get_mut(id.0 as usize) {
            let a = &mut a[dir as usize];
            a.packets += 1;
            a.bytes += len as u64;
        }
    }

    /// Switch accounting on (`nf_ct_set_acct`, as loading a `connbytes` rule does): entries
    /// created from now on carry counters; older ones never do.
    pub(crate) fn enable_acct(&mut self) {
        self.acct_on = true;
    }

    /// The packet and byte counters of entry `id` (`nf_conn_acct`), `[ORIGINAL, REPLY]`, if it
    /// has accounting.
    pub fn acct(&self, id: CtId) -> Option<[Acct; 2]> {
        self.acct.get(id.0 as usize).copied().flatten()
    }

    /// Refresh the timeout as `__nf_ct_refresh_acct`: absolute once confirmed, relative before.
    pub(crate) fn refresh(&mut self, id: CtId, extra: u64, now: u64) {
        let phase = self.phase_now();
        if let Some(e) = self.get_mut(id) {
            let t = if e.is_confirmed() { now + extra } else { extra };
            let lowered = t < e.timeout;
            e.timeout = t;
            e.timeout_phase = phase;
            if lowered {
                let tuples = e.tuple;
                self.ending(tuples);
            }
        }
    }

    /// Remaining lifetime of a confirmed entry, in jiffies (0 when expired).
    pub(crate) fn remaining(&self, id: CtId, now: u64) -> u64 {
        self.get(id)
            .map(|e| {
                if e.is_confirmed() {
                    e.timeout.saturating_sub(now)
                } else {
                    e.timeout
                }
            })
            .unwrap_or(0)
    }

    /// The remaining lifetime (jiffies) the kernel may find instead of
    /// [`Conntrack::remaining`]'s, when how many ticks passed since the timeout was set
    /// depends on the kernel's tick phase: one less when this packet lies later in its
    /// jiffy than the one that set it, one more when earlier.
    pub(crate) fn remaining_other(&self, id: CtId, now: u64) -> Option<u64> {
        let e = self.get(id).filter(|e| e.is_confirmed())?;
        let p = self.phase?;
        let left = e.timeout.checked_sub(now)?;
        match p.cmp(&e.timeout_phase) {
            std::cmp::Ordering::Equal => None,
            std::cmp::Ordering::Greater => left.checked_sub(1),
            std::cmp::Ordering::Less => Some(left + 1),
        }
    }

    /// Set the current packet's position within its jiffy (billionths of one), `None` when
    /// the clock is the kernel's own.
    pub(crate) fn set_phase(&mut self, phase: Option<u32>) {
        self.phase = phase;
    }

    /// The current packet's phase on a capture's clock (`None`: the kernel's own jiffies).
    pub(crate) fn phase(&self) -> Option<u32> {
        self.phase
    }

    /// The current packet's phase, as recorded with a timeout it sets.
    pub(crate) fn phase_now(&self) -> u32 {
        self.phase.unwrap_or(0)
    }

    /// The time (jiffies, phase) a packet stamped before an earlier frame was handled at by
    /// the kernel, while it runs at the later time: [`Conntrack::lookup`] says uncertain when
    /// the connection's expiry is not the same at both. `None` for every other packet.
    pub(crate) fn set_own_clock(&mut self, own: Option<(u64, u32)>) {
        self.own_clock = own;
    }

    /// A deadline (an expectation's) reached at `now` but perhaps not at the packet's own
    /// time (see [`Conntrack::set_own_clock`]), or the other way: the packet is uncertain.
    pub(crate) fn note_own_deadline(&mut self, deadline: u64, now: u64) {
        if self
            .own_clock
            .is_some_and(|(j, _)| time_after_eq(j, deadline) != time_after_eq(now, deadline))
        {
            self.behind_doubt = true;
        }
    }

    /// A TCP entry reopened by frame `frame`'s SYN is removed; `held` (the SYN's sender
    /// first) passes to the entry the SYN creates next ([`Conntrack::take_reopened`]).
    pub(crate) fn set_reopened(&mut self, frame: u64, held: [u32; 2]) {
        self.reopened = Some((frame, held));
    }

    /// What [`Conntrack::set_reopened`] left for frame `frame`'s new entry, if anything.
    pub(crate) fn take_reopened(&mut self, frame: u64) -> Option<[u32; 2]> {
        self.reopened
            .take()
            .filter(|&(f, _)| f == frame)
            .map(|(_, h)| h)
    }

    /// Whether a lookup since the last call met a timeout that differs between the packet's
    /// own time and the later one it runs at ([`Conntrack::set_own_clock`]); clears the note.
    pub(crate) fn take_behind_doubt(&mut self) -> bool {
        std::mem::take(&mut self.behind_doubt)
    }

    /// Whether a lookup since the last call met a connection at its expiry edge (see
    /// [`Conntrack::lookup`]); clears the note.
    pub(crate) fn take_expiry_doubt(&mut self) -> bool {
        std::mem::take(&mut self.expiry_doubt)
    }

    /// Drop every expired entry (garbage collection).
    pub fn expire(&mut self, now: u64) {
        let dead: Vec<CtId> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .filter(|e| e.is_confirmed() && time_after_eq(now, e.timeout))
                    .map(|_| CtId(i as u32))
            })
            .collect();
        for id in dead {
            self.remove(id);
        }
    }
}

/// Whether `e`'s expiry at `now`, phase `p`, depends on the kernel's tick phase: the time
/// since its timeout was set is within one jiffy of the timeout, so it spans that many ticks
/// or one fewer (`nf_ct_is_expired`: `(s32)(ct->timeout - nfct_time_stamp) <= 0`).
fn edge_at(e: &CtEntry, now: u64, p: u32) -> bool {
    e.is_confirmed()
        && ((now + 1 == e.timeout && p > e.timeout_phase)
            || (now == e.timeout && p < e.timeout_phase))
}

/// `time_after_eq(a, b)` on a 64-bit jiffies clock (no wrap in practice).
#[inline]
pub(crate) fn time_after_eq(a: u64, b: u64) -> bool {
    a >= b
}

#[cfg(test)]
mod tests {
    use super::super::track::{conntrack_in, CtHook};
    use super::*;
    use crate::packet::build::{build, L4Spec, PacketSpec};
    use crate::packet::decode::{decode_ip, FrameMeta};
    use crate::packet::{LinkInfo, Packet, Timestamp};

    fn udp(sport: u16, dport: u16, reply: bool) -> Packet {
        let (a, b): (std::net::IpAddr, std::net::IpAddr) = (
            "203.0.113.10".parse().unwrap(),
            "192.0.2.1".parse().unwrap(),
        );
        let (src, dst, sp, dp) = if reply {
            (b, a, dport, sport)
        } else {
            (a, b, sport, dport)
        };
        let s = PacketSpec::new(
            src,
            dst,
            L4Spec::Udp {
                sport: sp,
                dport: dp,
            },
        );
        let f = build(&s, 1, Timestamp(0), LinkInfo::default());
        let meta = FrameMeta {
            frame: 1,
            ts: Timestamp(0),
            linktype: 101,
            interface: 0,
            wire_len: 0,
        };
        decode_ip(&meta, LinkInfo::default(), &f.data, f.data.len(), None).unwrap()
    }

    fn run(ct: &mut Conntrack, p: &Params, pkt: &Packet, now: u64) -> CtOutcome {
        let o = conntrack_in(
            ct,
            pkt,
            CtHook::PreRouting,
            Attach::None,
            Template::default(),
            p,
            now,
            1,
        );
        if let Some(id) = o.new {
            ct.confirm(id, now);
        }
        if let Attach::Ct { id, .. } = o.attach {
            ct.release(id);
        }
        o
    }

    fn params(max: u32) -> Params {
        Params {
            ct_max: max,
            ..Params::default()
        }
    }

    /// `__nf_conntrack_alloc`: with `max` assured entries, a new connection finds nothing to
    /// early-drop and is dropped ("table full"), with certainty; its existing connections go on.
    #[test]
    fn full_table_of_assured_entries_drops_new_connections() {
        let p = params(3);
        let mut ct = Conntrack::new();
        let hz = p.hz as u64;
        for port in 1..=3 {
            assert!(run(&mut ct, &p, &udp(1000, port, false), 1000)
                .drop
                .is_none());
            run(&mut ct, &p, &udp(1000, port, true), 1000);
            // A packet after the 2 s stream delay makes the connection assured.
            run(&mut ct, &p, &udp(1000, port, false), 1000 + 3 * hz);
        }
        assert_eq!(ct.live(), 3);
        let o = run(&mut ct, &p, &udp(1000, 4, false), 1000 + 4 * hz);
        assert_eq!(o.drop, Some("nf_conntrack: table full, dropping packet"));
        assert_eq!(o.uncertain, None);
        assert_eq!(ct.stats.table_full, 1);
        let o = run(&mut ct, &p, &udp(1000, 2, true), 1000 + 4 * hz);
        assert_eq!(o.attach.info(), Some(CtInfo::EstablishedReply));
        assert_eq!(o.drop, None);
        // A second full-table drop: the collector's own early drop now runs on the kernel's
        // clock, so the verdict is no longer certain.
        let o = run(&mut ct, &p, &udp(1000, 5, false), 1000 + 5 * hz);
        assert!(o.drop.is_some() && o.uncertain.is_some());
    }

    /// Unassured entries are early_drop candidates: whether the kernel finds one in the 8
    /// buckets it scans depends on its hash seed — uncertain either way. With few buckets the
    /// eviction is the likelier outcome and is emulated (oldest unassured entry goes).
    #[test]
    fn unassured_entries_make_the_outcome_uncertain() {
        let mut p = params(2);
        let mut ct = Conntrack::new();
        run(&mut ct, &p, &udp(1000, 1, false), 1000);
        run(&mut ct, &p, &udp(1000, 2, false), 1000);
        let o = run(&mut ct, &p, &udp(1000, 3, false), 1001);
        assert!(o.drop.is_some() && o.uncertain.is_some(), "{o:?}");
        p.ct_buckets = 8;
        let o = run(&mut ct, &p, &udp(1000, 3, false), 1002);
        assert!(o.drop.is_none() && o.uncertain.is_some(), "{o:?}");
        assert_eq!(ct.stats.early_drop, 1);
        // The oldest (port 1) was evicted: its next packet is NEW again (and the table full).
        assert_eq!(ct.live(), 2);
        assert!(ct.iter().all(|(_, e)| e.orig().dport != 1));
    }

    /// A packet stamped before an earlier frame runs at that frame's time: its connection's
    /// expiry must read the same at its own time, else the answer is uncertain (a `tcpdump -i
    /// any` stamp a microsecond out of order far from any timeout stays certain).
    #[test]
    fn a_late_stamp_is_doubted_only_where_the_expiry_lies_between() {
        let p = params(0);
        let hz = p.hz as u64;
        let expiry = 1000 + 30 * hz; // an unreplied UDP flow's 30 s
        for (own, now, doubt) in [
            // Expired at the time it runs at, alive at its own.
            (expiry - 2, expiry + 2, true),
            // Alive at both, far from the timeout.
            (1000 + 5 * hz, 1000 + 5 * hz + 1, false),
            // Expired at both, far past it.
            (expiry + 100, expiry + 101, false),
        ] {
            let mut ct = Conntrack::new();
            run(&mut ct, &p, &udp(1000, 1, false), 1000);
            ct.set_own_clock(Some((own, 0)));
            let o = run(&mut ct, &p, &udp(1000, 1, false), now);
            assert_eq!(o.uncertain.is_some(), doubt, "{own} {now}: {o:?}");
            ct.set_own_clock(None);
        }
    }

    /// Expired entries are never found, are freed by the collector (memory follows the live
    /// connections), and count against the max only while the kernel may still hold them.
    #[test]
    fn expired_entries_are_freed_and_counted_only_within_the_grace() {
        let p = params(2);
        let hz = p.hz as u64;
        let mut ct = Conntrack::new();
        run(&mut ct, &p, &udp(1000, 1, false), 1000);
        run(&mut ct, &p, &udp(1000, 2, false), 1000);
        // 31 s later both expired (UDP 30 s) but may be held: the new one passes, uncertain.
        let o = run(&mut ct, &p, &udp(1000, 3, false), 1000 + 31 * hz);
        assert!(o.drop.is_none() && o.uncertain.is_some(), "{o:?}");
        assert_eq!(ct.live(), 1);
        // After the grace they are gone; a new flow is certain.
        let o = run(&mut ct, &p, &udp(1000, 4, false), 1000 + 100 * hz);
        assert_eq!(o.drop, None);
        assert_eq!(o.uncertain, None);
        assert_eq!(ct.occupied(), 2);
        // 100,000 short flows one second apart never hold more than ~91 entries.
        let mut ct = Conntrack::new();
        let p = params(0);
        for i in 0..100_000u64 {
            run(
                &mut ct,
                &p,
                &udp(1 + (i % 60000) as u16, 53, false),
                1000 + i * hz,
            );
        }
        assert!(
            ct.occupied() <= 30 + GC_GRACE_SECS as usize + 1,
            "{}",
            ct.occupied()
        );
        assert!(ct.stats.peak <= 30 + GC_GRACE_SECS as usize + 2);
        assert!(ct.expiry.len() < 2048 && ct.slots.len() < 200);
    }
}
