//! The walk memo: how a table ended for a packet of an established connection, remembered by
//! the *classes* of the few header fields that decided it.
//!
//! The kernel's `ipt_do_table` walks the rules for every packet, and fwcheck does too, first
//! ([`super::traverse`]). A walk in which every step was decided by the packet's addresses,
//! interfaces, protocol, transport ports, TCP flags and connection state is remembered, as its
//! ending and the counters it bumped, under a key of those fields' classes: the elementary
//! intervals that all the table's address masks and port ranges cut each field into, which of
//! the table's interface patterns each device name matches, the TCP flags the table's rules
//! test. A later packet with the same key would take every step the same way, so it takes the
//! remembered ending and bumps the same counters by its own length. This is Open vSwitch's
//! megaflow cache in front of its classifier, with classes instead of wildcards.
//!
//! What makes a step "decided by the key":
//! * the rule's `ip_packet_match` part (addresses, interfaces, protocol, fragment flag);
//! * a match that keeps no state and whose [`Facets`](crate::ext::Facets) are *complete*
//!   (`tcp`/`udp` ports and flags, `icmp`, `conntrack --ctstate`, `comment`): by the facet
//!   contract its answer is a function of the facets' fields (a *plain* match, [`build`]);
//! * a plain ending or jump (`ACCEPT`, `DROP`, `RETURN`, a jump, a goto, no target).
//!
//! A walk that evaluated any other match, took an extension target or `QUEUE` (a listener
//! the capture does not show decides: uncertain), or met an undecidable
//! match or a doubt is not remembered. Only packets whose walk can depend on nothing else are
//! looked up: a TCP or UDP header present and not a later fragment (so `tcp`/`udp` read ports
//! and flags, and never hot-drop or doubt), the connection confirmed and the packet
//! ESTABLISHED in either direction (no picked-up worlds for `conntrack` to weigh), nothing
//! uncertain about the packet so far, no trace and no fork. A table whose lookups find a
//! remembered walk less than a quarter of the time (its walks take extension targets, its keys
//! do not repeat) stops using the memo. `tests/walk_memo.rs` compares every outcome and counter
//! with the memo on and off, on random rulesets and conversations.

use super::traverse::{TableResult, POLICY};
use crate::netfilter::AddrMask;
use crate::ruleset::model::{IfaceMatch, Rule, Table};

/// Counters a remembered walk may have bumped (rules and the policy); longer walks are not
/// remembered.
const MAX_PATH: usize = 8;
/// Walks remembered per table; past it the table's memo starts again (bounded memory).
const MAX_WALKS: usize = 4096;
/// Candidate packets a table sees before its classes are built, besides two per rule (building
/// reads every rule): the static analyses' many short-lived engines never pay for them.
const BUILD_AFTER: usize = 64;
/// Lookups over which a table's hits are counted: a table that answers fewer than a quarter of
/// them from the memo stops using it.
const WINDOW: u32 = 4096;
/// Address tests whose mask is not a prefix, per direction, the key holds (a bit each).
const MAX_ODD: usize = 8;
/// Address classes the key holds (the cuts of 4 million prefixes).
const MAX_CLASSES: usize = 1 << 24;
/// Interface patterns per direction the key holds (a bit each, in half a word).
const MAX_IFACES: usize = 32;

/// The classes of a packet's fields, for one table at one hook, packed in four words:
/// the hook, the family, the protocol, what `-p` compares, the TCP flags the table's rules test
/// and the `xt_conntrack` state bits (with the SNAT/DNAT virtual states); the source and
/// destination address classes (the interval, and which non-prefix masks hold); the port
/// classes; which of the table's `-i` and `-o` patterns the devices match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key([u64; 4]);

impl Key {
    /// A multiply-xor hash of the four words (the table is in memory the memo alone fills).
    fn hash(&self) -> u64 {
        let [a, b, c, d] = self.0;
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let h = (a ^ b.rotate_left(17)).wrapping_mul(K) ^ (c ^ d.rotate_left(29));
        (h ^ h >> 31).wrapping_mul(K) ^ (h >> 29)
    }
}

/// A remembered ending: the table's result and the counters the walk bumped, in order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Walk {
    pub(crate) result: TableResult,
    len: u8,
    /// `(chain, rule)`; `u32::MAX` for the chain's policy.
    path: [(u32, u32); MAX_PATH],
}

impl Walk {
    /// The counters the walk bumped: `(chain, rule)`, [`POLICY`] for a policy.
    pub(crate) fn counted(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.path[..self.len as usize]
            .iter()
            .map(|&(c, r)| (c as usize, if r == u32::MAX { POLICY } else { r as usize }))
    }
}

/// Where a table's rules cut each field: the start of every elementary interval, sorted; and
/// the address tests whose mask is not a prefix (a class of their own: which of them hold).
#[derive(Debug, Default)]
struct Cuts {
    src: Vec<u128>,
    dst: Vec<u128>,
    src_odd: Vec<AddrMask>,
    dst_odd: Vec<AddrMask>,
    sport: Vec<u32>,
    dport: Vec<u32>,
    flags: u8,
    indevs: Vec<IfaceMatch>,
    outdevs: Vec<IfaceMatch>,
}

/// The interval `[lo, hi]` of the addresses a prefix accepts (`None` when it accepts none:
/// `addr` has bits outside `mask`).
fn interval(m: &AddrMask) -> Option<(u128, u128)> {
    let (addr, mask, full) = match *m {
        AddrMask::V4 { addr, mask } => (addr as u128, mask as u128, u32::MAX as u128),
        AddrMask::V6 { addr, mask } => (addr, mask, u128::MAX),
    };
    (addr & !mask & full == 0).then_some((addr, addr | (!mask & full)))
}

fn cut_interval(cuts: &mut Vec<u128>, (lo, hi): (u128, u128)) {
    cuts.push(lo);
    if let Some(next) = hi.checked_add(1) {
        cuts.push(next);
    }
}

fn cut_ports(cuts: &mut Vec<u32>, ps: &crate::ext::PortSet) {
    for &(lo, hi) in &ps.ranges {
        cuts.push(lo as u32);
        cuts.push(hi as u32 + 1);
    }
}

fn pattern(list: &mut Vec<IfaceMatch>, i: &Option<IfaceMatch>) {
    if let Some(i) = i {
        let p = IfaceMatch {
            name: i.name.clone(),
            invert: false,
        };
        if !list.contains(&p) {
            list.push(p);
        }
    }
}

impl Cuts {
    /// Sorted and checked (the cuts of every rule of a table — all its chains: a superset of
    /// any hook's only refines the classes). `None` when the key cannot hold the classes: too
    /// many interface patterns or non-prefix masks, too many address cuts.
    fn finish(mut self) -> Option<Cuts> {
        if self.indevs.len() > MAX_IFACES
            || self.outdevs.len() > MAX_IFACES
            || self.src.len() >= MAX_CLASSES
            || self.dst.len() >= MAX_CLASSES
        {
            return None;
        }
        for v in [&mut self.src, &mut self.dst] {
            v.sort_unstable();
            v.dedup();
        }
        for v in [&mut self.sport, &mut self.dport] {
            v.sort_unstable();
            v.dedup();
        }
        Some(self)
    }

    /// The cuts of rule `r`; `plain` hears, match by match, whether it is plain ([`build`]).
    fn add(&mut self, r: &Rule, plain: &mut impl FnMut(bool)) -> Option<()> {
        for (a, cuts, odd) in [
            (&r.src, &mut self.src, &mut self.src_odd),
            (&r.dst, &mut self.dst, &mut self.dst_odd),
        ] {
            match a {
                Some((m, _)) if m.prefix_len().is_some() => {
                    if let Some(iv) = interval(m) {
                        cut_interval(cuts, iv);
                    }
                }
                Some((m, _)) if !odd.contains(m) => odd.push(*m),
                _ => {}
            }
        }
        pattern(&mut self.indevs, &r.iniface);
        pattern(&mut self.outdevs, &r.outiface);
        if self.indevs.len() > MAX_IFACES || self.outdevs.len() > MAX_IFACES {
            return None;
        }
        for m in r.matches.iter() {
            if m.module.stateful() {
                // Never part of a remembered walk: its fields need no class.
                plain(false);
                continue;
            }
            let f = m.module.facets();
            plain(f.complete);
            if !f.complete {
                continue;
            }
            for ps in [&f.sport, &f.either_port].into_iter().flatten() {
                cut_ports(&mut self.sport, ps);
            }
            for ps in [&f.dport, &f.either_port].into_iter().flatten() {
                cut_ports(&mut self.dport, ps);
            }
            if let Some((mask, _, _)) = f.tcp_flags {
                self.flags |= mask;
            }
        }
        (self.src_odd.len() <= MAX_ODD && self.dst_odd.len() <= MAX_ODD).then_some(())
    }
}

/// A table's classes ([`Cuts::finish`]) and, by extension slot from the first, whether a match is
/// *plain* — one a remembered walk may have evaluated: it keeps no state, and its facets say
/// all it tests (`bases`: each rule's first slot, `[chain][rule]`; a rule's own slot follows
/// its matches). One pass: a match's facets are asked once.
fn build(t: &Table, bases: &[Vec<usize>]) -> (Option<Cuts>, usize, Vec<bool>) {
    let first = bases.iter().flatten().copied().min().unwrap_or(0);
    let mut plain_at = Vec::new();
    let mut c = Cuts::default();
    for (ch, b) in t.chains.iter().zip(bases) {
        for (r, &base) in ch.rules.iter().zip(b) {
            let mut i = base - first;
            let added = c.add(r, &mut |p| {
                if plain_at.len() <= i {
                    plain_at.resize(i + 1, false);
                }
                plain_at[i] = p;
                i += 1;
            });
            if added.is_none() {
                return (None, 0, Vec::new());
            }
        }
    }
    (c.finish(), first, plain_at)
}

/// Which elementary interval of `cuts` holds `v` (the number of cuts at or below it).
fn class<T: Ord + Copy>(cuts: &[T], v: T) -> u64 {
    if cuts.len() <= 16 {
        let mut n = 0;
        for &c in cuts {
            n += (c <= v) as u64;
        }
        n
    } else {
        cuts.partition_point(|&c| c <= v) as u64
    }
}

fn odd_bits(odd: &[AddrMask], a: std::net::IpAddr) -> u64 {
    odd.iter()
        .enumerate()
        .fold(0, |b, (i, m)| b | (m.contains(a) as u64) << i)
}

fn bits(pats: &[IfaceMatch], dev: &str) -> u64 {
    pats.iter()
        .enumerate()
        .fold(0, |b, (i, p)| b | (p.matches(dev) as u64) << i)
}

/// A remembered walk under its key.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Key,
    walk: Walk,
}

/// One table's memo.
#[derive(Debug, Default)]
struct TableMemo {
    /// Candidate packets met before the classes are built, and how many it takes.
    seen: usize,
    build_at: usize,
    /// `Some(None)`: the table's rules cannot be classed (see [`Cuts::finish`]).
    cuts: Option<Option<Cuts>>,
    /// By extension slot from `first`: a match a remembered walk may have evaluated
    /// ([`build`]); built with the classes.
    plain: Vec<bool>,
    first: usize,
    walks: hashbrown::HashTable<Entry>,
    /// Lookups and hits since the last [`WINDOW`] lookups.
    lookups: u32,
    hits: u32,
}

/// The walk memo of one engine, per table (`Ruleset::tables` order).
#[derive(Debug, Default)]
pub(crate) struct WalkMemo {
    pub(crate) off: bool,
    tables: Vec<TableMemo>,
}

/// What a candidate packet shows the key (the caller has checked it is one).
pub(crate) struct Fields<'a> {
    pub(crate) hook: crate::ruleset::model::Hook,
    pub(crate) pkt: &'a crate::packet::Packet,
    pub(crate) l4: Option<u8>,
    pub(crate) state: u32,
    pub(crate) indev: &'a str,
    pub(crate) outdev: &'a str,
}

impl WalkMemo {
    /// An empty memo, on or off as this one.
    pub(crate) fn fresh(&self) -> WalkMemo {
        WalkMemo {
            off: self.off,
            tables: Vec::new(),
        }
    }

    /// Whether table `ti` takes no memo lookups: the memo is off, or the table's rules cannot
    /// be classed, or the table stopped using it.
    #[inline]
    pub(crate) fn closed(&self, ti: usize) -> bool {
        self.off
            || self
                .tables
                .get(ti)
                .is_some_and(|t| matches!(t.cuts, Some(None)))
    }

    /// Walks remembered, over every table.
    pub(crate) fn len(&self) -> usize {
        self.tables.iter().map(|t| t.walks.len()).sum()
    }

    /// Whether the match in extension slot `slot` of table `ti` may be part of a remembered
    /// walk (`false` before the table's classes are built: no walk is remembered then).
    #[inline]
    pub(crate) fn plain(&self, ti: usize, slot: usize) -> bool {
        self.tables.get(ti).is_some_and(|t| {
            slot.checked_sub(t.first)
                .and_then(|i| t.plain.get(i))
                .is_some_and(|&p| p)
        })
    }

    /// The key of a candidate packet in table `ti` (whose rules' first extension slots are
    /// `bases`, `[chain][rule]`), once the table's classes are built.
    pub(crate) fn key(
        &mut self,
        table: &Table,
        bases: &[Vec<usize>],
        ti: usize,
        f: Fields<'_>,
    ) -> Option<Key> {
        if self.tables.len() <= ti {
            self.tables.resize_with(ti + 1, TableMemo::default);
        }
        let tm = &mut self.tables[ti];
        if tm.cuts.is_none() {
            if tm.seen == 0 {
                // Building reads every rule: it waits until as many packets could have used it.
                tm.build_at = BUILD_AFTER + 2 * bases.iter().map(Vec::len).sum::<usize>();
            }
            tm.seen += 1;
            if tm.seen < tm.build_at {
                return None;
            }
            let (cuts, first, plain) = build(table, bases);
            (tm.cuts, tm.first, tm.plain) = (Some(cuts), first, plain);
        }
        if tm.lookups >= WINDOW {
            if tm.hits < tm.lookups / 4 {
                // The table's walks are rarely remembered or met again (extension targets,
                // stateful matches, keys that do not repeat): the key costs more than it saves.
                *tm = TableMemo {
                    cuts: Some(None),
                    ..TableMemo::default()
                };
                return None;
            }
            (tm.lookups, tm.hits) = (0, 0);
        }
        let c = tm.cuts.as_ref()?.as_ref()?;
        let p = f.pkt;
        let (sport, dport) = p.ports()?;
        let addr = |a: std::net::IpAddr| match a {
            std::net::IpAddr::V4(a) => u32::from(a) as u128,
            std::net::IpAddr::V6(a) => u128::from(a),
        };
        let l4 = f.l4.map_or(0, |p| 0x100 | p as u64);
        let flags = p.tcp().map_or(0, |t| t.flags & c.flags) as u64;
        Some(Key([
            f.hook as u64
                | (p.src.is_ipv6() as u64) << 4
                | (p.proto as u64) << 8
                | l4 << 16
                | flags << 32
                | (f.state as u64) << 40,
            class(&c.src, addr(p.src))
                | odd_bits(&c.src_odd, p.src) << 24
                | (class(&c.dst, addr(p.dst)) | odd_bits(&c.dst_odd, p.dst) << 24) << 32,
            class(&c.sport, sport as u32) | class(&c.dport, dport as u32) << 32,
            bits(&c.indevs, f.indev) | bits(&c.outdevs, f.outdev) << 32,
        ]))
    }

    /// The remembered walk of `k` in table `ti`.
    pub(crate) fn get(&mut self, ti: usize, k: &Key) -> Option<&Walk> {
        let tm = self.tables.get_mut(ti)?;
        tm.lookups += 1;
        let w = tm.walks.find(k.hash(), |e| e.key == *k).map(|e| &e.walk);
        tm.hits += w.is_some() as u32;
        w
    }

    /// Remember a walk of table `ti` that ended with `result` having bumped `counted`
    /// (`(table, chain, rule)` as the engine lists them).
    pub(crate) fn put(
        &mut self,
        ti: usize,
        k: Key,
        result: TableResult,
        counted: &[(usize, usize, usize)],
    ) {
        if counted.len() > MAX_PATH {
            return;
        }
        let mut w = Walk {
            result,
            len: counted.len() as u8,
            path: [(0, 0); MAX_PATH],
        };
        for (slot, &(t, c, r)) in w.path.iter_mut().zip(counted) {
            debug_assert_eq!(t, ti);
            *slot = (c as u32, if r == POLICY { u32::MAX } else { r as u32 });
        }
        let walks = &mut self.tables[ti].walks;
        if walks.len() >= MAX_WALKS {
            walks.clear();
        }
        match walks.entry(k.hash(), |e| e.key == k, |e| e.key.hash()) {
            hashbrown::hash_table::Entry::Occupied(mut o) => o.get_mut().walk = w,
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(Entry { key: k, walk: w });
            }
        }
    }
}
