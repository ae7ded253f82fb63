//! `-m connlimit --connlimit-upto N | --connlimit-above N [--connlimit-mask LEN]
//! [--connlimit-saddr|--connlimit-daddr]` (libxt_connlimit.c rev 1 / kernel `xt_connlimit.c` with
//! `nf_conncount.c`). `!` swaps upto and above; saved always with the mask and the side.
//!
//! The kernel counts, per rule and per key (the packet's source, or destination, address masked
//! to LEN bits, and the zone), the connections this rule has seen (`nf_conncount.c` as in
//! current stable kernels, with the `sk_buff` API). The packet's connection is its conntrack
//! entry (or, without one, the confirmed entry its tuple finds), named by the original tuple.
//!
//! * A key seen for the first time starts a list holding this connection (count 1).
//! * The packet's connection is confirmed and ASSURED: nothing is added; the list is garbage
//!   collected (unless that already happened in this jiffy) and its length is the count.
//! * Otherwise, if the connection is not confirmed yet, the list was collected in this jiffy and
//!   fewer than 64 connections were added since, the connection is appended without looking
//!   (within one jiffy a connection can be counted twice).
//! * Otherwise the list is walked: entries whose conntrack entry is gone or is a TCP connection
//!   in TIME_WAIT/CLOSE are dropped (the walk stops after more than 64 drops); finding the
//!   packet's own connection ends the walk without adding it; else the jiffy and length are
//!   remembered and the connection is appended.
//!
//! The result is `(count > N)`, inverted for `--connlimit-upto`; a count of 0 (possible when the
//! collection emptied the list) hot-drops the packet, as `connlimit_mt` does.
//!
//! On a capture's clock the kernel's tick phase is unknown: a walk that meets connections
//! within one jiffy of their timeout (`Conntrack::take_expiry_doubt`; connections one tick from
//! it are looked up for that) may have found them otherwise in the kernel, so until the next
//! walk the kernel's count is within that many of this one, and the answer is unknown where
//! that range reaches across the limit (or down to 0). The same for a collection (or the
//! shortcut that skips one) less than a jiffy after the last: whether the kernel ticked
//! between them is not known, so its count is within what the walk drops, or would have, of
//! this one (`gc_jiffy_doubt`). Doubt an earlier uncertain packet raised on the key's
//! address reaches the lists only when the rule's `-p` lets that packet's protocol through
//! (`ip_packet_match` runs before any match: no other packet is ever added to them). Pinned against the
//! running kernel by `pcaps/rt-connlimit.pcap` with `fixtures/kernel/connlimit.rules.v4` and
//! `stateful.rules.v4`.
//!
//! The per-rule lists live in the instance's state slot and look connections up in the
//! emulated conntrack table (`cx.conntrack`). The single-CPU view is taken (the oracle pins its
//! replay to one CPU): an entry not found is dropped at once (the kernel spares entries another
//! CPU added less than two jiffies ago). Not modelled: when a key is seen for the first time the
//! kernel also garbage-collects the lists of other keys it passes in the same slot of its hash
//! table (seeded randomly at boot), which can only drop entries sooner.

use std::any::Any;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::fmt::Write;
use std::net::IpAddr;

use super::{conflict, missing};
use crate::conntrack::table::time_after_eq;
use crate::conntrack::tcp::TcpState;
use crate::conntrack::{status, Attach, Conntrack, CtDir, Tuple};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{parse_num, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};
use crate::netfilter::Family;
use crate::packet::L4;

/// `CONNCOUNT_GC_MAX_COLLECT`.
const GC_MAX_COLLECT: usize = 64;

/// Why a count near connections at their expiry edge is not known.
const EXPIRY_EDGE: &str = "a connection this rule counts has its timeout within one jiffy of \
     this packet: whether the kernel still counted it depends on where its clock's ticks fell, \
     which the capture does not tell, and the count's answer changes with it";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Connlimit {
    pub limit: u32,
    pub invert: bool,
    pub mask: u8,
    pub daddr: bool,
    pub v6: bool,
    given: bool,
    side_given: bool,
    /// The packets the rule's `-p` lets reach this match (`rule_proto_bits`):
    /// its lists hold only their connections, so only their doubt reaches them.
    protos: u8,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Connlimit {
        limit: 0,
        invert: false,
        mask: 0,
        daddr: false,
        v6: false,
        given: false,
        side_given: false,
        protos: u8::MAX,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("connlimit-upto", 1, Arg::One)
        .ty(XtType::U32)
        .inv(),
    OptSpec::new("connlimit-above", 2, Arg::One)
        .ty(XtType::U32)
        .inv(),
    OptSpec::new("connlimit-mask", 3, Arg::One),
    OptSpec::new("connlimit-saddr", 4, Arg::None),
    OptSpec::new("connlimit-daddr", 5, Arg::None),
];

/// The connections counted for one key (`struct nf_conncount_list`).
///
/// The kernel walks the whole list on every new connection (unless it already did in this
/// jiffy). The walk's answer for a listed connection changes only when its conntrack entry
/// ends, closes or has its timeout cut (the table logs those events, see
/// [`Conntrack::endings_since`](crate::conntrack::Conntrack)), when its timeout passes, or
/// when it was added after the last walk. So a listed connection is a *suspect* in exactly
/// those cases, and a walk visits the suspects in list order: the same removals, the same
/// stop at the packet's own connection and the same stop after `GC_MAX_COLLECT` removals as
/// the kernel's walk, in O(changes · log n) instead of O(n). Not the kernel's structure; the
/// kernel's answers (`connlimit_shortcut_equals_the_full_walk` compares the two).
#[derive(Debug, Clone)]
pub(crate) struct KeyList {
    /// The list in order: place → (connection, the timeout it had when a walk last saw it
    /// alive; 0 before that).
    conns: BTreeMap<u64, (Tuple, u64)>,
    /// The place the next connection appended gets.
    next: u64,
    /// `(connection, place)` for every listed connection: where a tuple sits (twice when one
    /// jiffy counted it twice).
    places: BTreeSet<(Tuple, u64)>,
    /// The places whose answer the next walk must compute.
    suspects: BTreeSet<u64>,
    /// `(timeout, place)` of connections seen alive; a stale item (the place gone or seen
    /// again with another timeout) is skipped.
    expiry: BinaryHeap<Reverse<(u64, u64)>>,
    /// The conntrack table's event count up to which events were taken into `suspects`.
    seen: u64,
    /// Jiffies of the last garbage collection (`last_gc`, 32 bits in the kernel).
    last_gc: u32,
    /// Length of the list at the last collection (`last_gc_count`).
    last_gc_count: usize,
    /// Where in its jiffy the last collection fell, on fwcheck's clock (see
    /// [`gc_jiffy_doubt`]).
    last_gc_phase: u32,
    /// How far the kernel's count may be from this one until the next walk because a
    /// collection ran, or did not, in a jiffy the kernel's ticks may have put otherwise
    /// ([`gc_jiffy_doubt`]): what it dropped, or would have.
    gc_doubt: usize,
    /// Connections the latest walk met within one jiffy of their timeout (kept or dropped as
    /// fwcheck's clock has them): a kernel whose ticks fell otherwise may have done the
    /// opposite, so its count may differ by up to this many until the next walk.
    edges: usize,
}

/// What a walk does with one listed connection.
enum Step {
    Keep,
    Drop,
    /// The packet's own connection, alive: `__nf_conncount_add` stops here.
    Own,
}

impl KeyList {
    fn new(first: Tuple, now: u64, phase: u32, seen: u64) -> Self {
        let mut l = KeyList {
            conns: BTreeMap::new(),
            next: 0,
            places: BTreeSet::new(),
            suspects: BTreeSet::new(),
            expiry: BinaryHeap::new(),
            seen,
            last_gc: now as u32,
            last_gc_count: 0,
            last_gc_phase: phase,
            gc_doubt: 0,
            edges: 0,
        };
        l.push(first);
        l
    }

    fn len(&self) -> usize {
        self.conns.len()
    }

    fn push(&mut self, t: Tuple) {
        let at = self.next;
        self.next += 1;
        self.conns.insert(at, (t, 0));
        self.places.insert((t, at));
        self.suspects.insert(at);
    }

    fn remove(&mut self, at: u64) {
        if let Some((t, _)) = self.conns.remove(&at) {
            self.places.remove(&(t, at));
        }
        self.suspects.remove(&at);
    }

    /// Take the conntrack events since the last walk and the timeouts passed by `now` (or
    /// ending within the next tick) into `suspects`; when the table no longer holds every
    /// event since (or they outnumber the list), every connection is a suspect: a full walk.
    /// A walk begins here: its `edges` start from none.
    fn update(&mut self, now: u64, ct: &Conntrack) {
        let pending = ct.deaths.wrapping_sub(self.seen);
        match ct.endings_since(self.seen) {
            Some(tuples) if pending <= self.conns.len() as u64 => {
                for t in tuples {
                    let from = (*t, 0);
                    let to = (*t, u64::MAX);
                    self.suspects
                        .extend(self.places.range(from..=to).map(|&(_, at)| at));
                }
            }
            _ => {
                self.suspects.extend(self.conns.keys().copied());
                self.expiry.clear();
            }
        }
        self.seen = ct.deaths;
        self.edges = 0;
        // Up to one jiffy ahead: a connection fwcheck's clock has alive for one more tick may
        // be gone for a kernel whose ticks fell earlier; its lookup tells (`step`).
        while let Some(&Reverse((timeout, at))) = self.expiry.peek() {
            if !time_after_eq(now + 1, timeout) {
                break;
            }
            self.expiry.pop();
            if self.conns.get(&at).is_some_and(|&(_, t)| t == timeout) {
                self.suspects.insert(at);
            }
        }
        if self.expiry.len() > 2 * self.conns.len() + 64 {
            let live = self
                .conns
                .iter()
                .filter(|(at, (_, t))| *t != 0 && !self.suspects.contains(at))
                .map(|(&at, &(_, t))| Reverse((t, at)));
            self.expiry = live.collect();
        }
    }

    /// `find_or_evict` and `already_closed` for the suspect at `at`, with `own` the packet's
    /// connection (`None` in a collection, which looks for none).
    fn step(&mut self, at: u64, own: Option<&Tuple>, now: u64, cx: &mut EvalCtx<'_>) -> Step {
        let t = self.conns[&at].0;
        let found = find(&t, now, cx);
        self.edges += cx.conntrack.take_expiry_doubt() as usize;
        match found {
            Some(_) if own == Some(&t) => Step::Own,
            None | Some((true, _)) => {
                self.remove(at);
                Step::Drop
            }
            Some((false, timeout)) => {
                self.suspects.remove(&at);
                self.conns.insert(at, (t, timeout));
                self.expiry.push(Reverse((timeout, at)));
                Step::Keep
            }
        }
    }

    /// How many listed connections a collection would drop now (gone, or TCP closed),
    /// looked up without dropping them (the events since the last walk are taken in without
    /// beginning one: that walk's `edges` stay).
    fn dead_now(&mut self, now: u64, cx: &mut EvalCtx<'_>) -> usize {
        let edges = self.edges;
        self.update(now, cx.conntrack);
        self.edges = edges;
        let dead = self
            .suspects
            .iter()
            .filter(|at| matches!(find(&self.conns[at].0, now, cx), None | Some((true, _))))
            .count();
        cx.conntrack.take_expiry_doubt();
        dead
    }

    /// The place of the first listed copy of `t`.
    fn first_place(&self, t: &Tuple) -> Option<u64> {
        self.places
            .range((*t, 0)..=(*t, u64::MAX))
            .next()
            .map(|&(_, at)| at)
    }
}

/// Per-rule accounting: key → listed connections.
#[derive(Debug, Default, Clone)]
pub(crate) struct Lists {
    pub lists: HashMap<(u128, u16), KeyList>,
}

fn packet_tuple(cx: &EvalCtx<'_>) -> Option<Tuple> {
    let p = cx.pkt;
    let (sport, dport) = match &p.l4 {
        L4::Icmp(i) | L4::Icmpv6(i) => (i.id, (i.icmp_type as u16) << 8 | i.code as u16),
        _ => p.ports().unwrap_or((0, 0)),
    };
    Some(Tuple {
        src: p.src,
        dst: p.dst,
        proto: p.proto,
        sport,
        dport,
        zone: crate::conntrack::zone_id(cx.skb.zone, cx.skb.zone_only, CtDir::Original),
    })
}

/// What the packet's connection is to the accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    /// Not (yet) in the confirmed table.
    New,
    Confirmed {
        assured: bool,
    },
}

/// The listed connection `t` as the kernel finds it: `None` when gone (not in the confirmed
/// table), else whether it is a closed TCP connection (TIME_WAIT, CLOSE: dropped from the list
/// too) and its timeout.
fn find(t: &Tuple, now: u64, cx: &mut EvalCtx<'_>) -> Option<(bool, u64)> {
    let (id, _) = cx.conntrack.lookup(t, now)?;
    let e = cx.conntrack.get(id)?;
    let closed = e
        .tcp()
        .is_some_and(|c| matches!(c.state, TcpState::TimeWait | TcpState::Close));
    Some((closed, e.timeout))
}

/// Whether a kernel whose ticks fell otherwise than fwcheck's clock has them may find `now` in
/// the last collection's jiffy where fwcheck does not, or the other way round: on a capture's
/// clock (the tick phase unknown), less than a jiffy since the last collection, not at the
/// same instant. On the kernel's own jiffies (the oracle's, no phase) never.
fn gc_jiffy_doubt(list: &KeyList, now: u64, cx: &EvalCtx<'_>) -> bool {
    let Some(p) = cx.conntrack.phase() else {
        return false;
    };
    match (now as u32).wrapping_sub(list.last_gc) {
        0 => p != list.last_gc_phase,
        1 => p < list.last_gc_phase,
        _ => false,
    }
}

/// `nf_conncount_gc_list` (single CPU): every connection is looked at; one found gone or
/// closed is dropped; after more than `GC_MAX_COLLECT` drops the walk stops at the next
/// connection it keeps. Collected at most once a jiffy: where the kernel may have decided
/// otherwise ([`gc_jiffy_doubt`]), its count may differ by what the collection drops (or
/// might have dropped), added to the list's `edges`.
fn gc_list(list: &mut KeyList, now: u64, cx: &mut EvalCtx<'_>) {
    let now32 = now as u32;
    let doubt = gc_jiffy_doubt(list, now, cx);
    if now32 == list.last_gc {
        if doubt {
            list.gc_doubt = list.gc_doubt.max(list.dead_now(now, cx));
        }
        return;
    }
    list.update(now, cx.conntrack);
    let before = list.len();
    let mut collected = 0;
    let mut from = 0;
    while let Some(at) = list.suspects.range(from..).next().copied() {
        from = at + 1;
        match list.step(at, None, now, cx) {
            Step::Drop => collected += 1,
            Step::Keep | Step::Own => {}
        }
        if collected > GC_MAX_COLLECT {
            // The walk goes on only through dropped connections: up to the next one kept,
            // which is a connection between here and the next suspect, or that suspect.
            while let Some(next) = list.suspects.range(from..).next().copied() {
                if list.conns.range(from..next).next().is_some() {
                    break;
                }
                from = next + 1;
                if !matches!(list.step(next, None, now, cx), Step::Drop) {
                    break;
                }
            }
            break;
        }
    }
    list.last_gc = now32;
    list.last_gc_phase = cx.conntrack.phase_now();
    list.gc_doubt = if doubt { before - list.len() } else { 0 };
}

/// `__nf_conncount_add` on one key's list (single CPU). `Err(())` is `-EEXIST` (an assured
/// connection: nothing added).
#[allow(clippy::result_unit_err)]
fn add(
    list: &mut KeyList,
    tuple: Tuple,
    conn: Conn,
    now: u64,
    cx: &mut EvalCtx<'_>,
) -> Result<(), ()> {
    let now32 = now as u32;
    // The shortcut below rests on the jiffy: where the kernel's may differ, its count may
    // differ by what a walk drops (or would have), and the packet's own connection.
    let shortcut_doubt = conn == Conn::New
        && list.len().saturating_sub(list.last_gc_count) < GC_MAX_COLLECT
        && gc_jiffy_doubt(list, now, cx);
    match conn {
        Conn::Confirmed { assured: true } => return Err(()),
        Conn::Confirmed { assured: false } => {}
        Conn::New => {
            if now32 == list.last_gc
                && list.len().saturating_sub(list.last_gc_count) < GC_MAX_COLLECT
            {
                if shortcut_doubt {
                    // A walk would drop the dead, and stop at this connection if listed.
                    let own = list.first_place(&tuple).is_some() as usize;
                    list.gc_doubt = list.gc_doubt.max(list.dead_now(now, cx) + own);
                }
                list.push(tuple);
                return Ok(());
            }
        }
    }
    list.update(now, cx.conntrack);
    let before = list.len();
    // The kernel may have appended it without this walk: what the walk dropped, and this
    // connection where the walk found it (nothing appended).
    let shortcut_edges = |list: &mut KeyList, own: usize| {
        list.gc_doubt = if shortcut_doubt {
            before.saturating_sub(list.len()) + own
        } else {
            0
        };
    };
    // A copy of the packet's own connection that is not a suspect is alive: the walk ends
    // there, so only the suspects before it are looked at.
    let own = list.first_place(&tuple);
    let stop = own
        .filter(|at| !list.suspects.contains(at))
        .unwrap_or(u64::MAX);
    let mut collect = 0;
    let mut from = 0;
    while let Some(at) = list.suspects.range(from..stop).next().copied() {
        if collect > GC_MAX_COLLECT {
            break;
        }
        from = at + 1;
        match list.step(at, Some(&tuple), now, cx) {
            // Already counted: nothing added, the jiffy of the last collection stays.
            Step::Own => {
                shortcut_edges(list, 1);
                return Ok(());
            }
            Step::Drop => collect += 1,
            Step::Keep => {}
        }
    }
    if stop != u64::MAX && collect <= GC_MAX_COLLECT {
        shortcut_edges(list, 1);
        return Ok(());
    }
    list.last_gc = now32;
    list.last_gc_phase = cx.conntrack.phase_now();
    list.last_gc_count = list.len();
    shortcut_edges(list, 0);
    list.push(tuple);
    Ok(())
}

impl Match for Connlimit {
    fn name(&self) -> &'static str {
        "connlimit"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        if !self.given && self.mask == 0 {
            self.v6 = cx.family == Family::V6;
            self.mask = if self.v6 { 128 } else { 32 };
        }
        match opt.id {
            1 | 2 => {
                if self.given {
                    return Err(conflict(
                        cx,
                        "--connlimit-upto and --connlimit-above cannot be used together",
                        "one of --connlimit-upto or --connlimit-above",
                    ));
                }
                self.limit = cx.val.uint() as u32;
                self.invert = (opt.id == 1) != invert;
                self.given = true;
            }
            3 => {
                let max = if self.v6 { 128 } else { 32 };
                self.mask = parse_num(&args[0], 0, max, "prefix length")? as u8;
            }
            4 | 5 => {
                if self.side_given {
                    return Err(conflict(
                        cx,
                        "--connlimit-saddr and --connlimit-daddr cannot be used together",
                        "one of --connlimit-saddr or --connlimit-daddr",
                    ));
                }
                self.side_given = true;
                self.daddr = opt.id == 5;
            }
            _ => {}
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(
                cx,
                "-m connlimit requires --connlimit-upto or --connlimit-above",
                "--connlimit-above N or --connlimit-upto N",
            ));
        }
        self.protos = crate::ext::rule_proto_bits(cx.proto);
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let _ = write!(
            out,
            " --connlimit-{} {} --connlimit-mask {} --connlimit-{}",
            if self.invert { "upto" } else { "above" },
            self.limit,
            self.mask,
            if self.daddr { "daddr" } else { "saddr" }
        );
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        // From here, a lookup says whether it met a connection at its expiry edge.
        cx.conntrack.take_expiry_doubt();
        // get_ct_or_tuple_from_skb: the packet's entry, or the confirmed one its tuple finds.
        let (tuple, zone, conn) = match (cx.skb.ct, cx.ct()) {
            (Attach::Ct { .. }, Some(e)) => (
                e.tuple[0],
                e.zone,
                if e.is_confirmed() {
                    Conn::Confirmed {
                        assured: e.status & status::ASSURED != 0,
                    }
                } else {
                    Conn::New
                },
            ),
            _ => match packet_tuple(cx) {
                Some(t) => {
                    let now = cx.now;
                    let tmpl = crate::conntrack::Template {
                        zone: cx.skb.zone,
                        zone_only: cx.skb.zone_only,
                        helper: None,
                    };
                    match cx
                        .conntrack
                        .lookup_zoned(&t, tmpl, now)
                        .and_then(|(id, _)| cx.conntrack.get(id))
                    {
                        Some(e) => (
                            e.tuple[0],
                            cx.skb.zone,
                            Conn::Confirmed {
                                assured: e.status & status::ASSURED != 0,
                            },
                        ),
                        None => (t, cx.skb.zone, Conn::New),
                    }
                }
                None => return MatchResult::HotDrop,
            },
        };
        // The packet's own connection at its edge: new or confirmed depends on the phase.
        let own_edge = cx.conntrack.take_expiry_doubt() as usize;
        let a = if self.daddr { cx.pkt.dst } else { cx.pkt.src };
        let key = match a {
            IpAddr::V4(x) => {
                let m = if self.mask == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.mask.min(32) as u32)
                };
                (u32::from(x) & m) as u128
            }
            IpAddr::V6(x) => {
                let m = if self.mask == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.mask.min(128) as u32)
                };
                u128::from(x) & m
            }
        };
        let now = cx.now;
        let existing = {
            let st = cx.ext.slot(cx.slot, Lists::default);
            st.lists.remove(&(key, zone))
        };
        let list = match existing {
            // insert_tree: a new list holding this connection, stamped with this jiffy.
            None => KeyList::new(tuple, now, cx.conntrack.phase_now(), cx.conntrack.deaths),
            Some(mut list) => {
                let was_empty = list.len() == 0;
                if add(&mut list, tuple, conn, now, cx).is_err() && !was_empty {
                    // The add was skipped: count_tree collects the list to update the count.
                    gc_list(&mut list, now, cx);
                }
                list
            }
        };
        let (count, edges) = (list.len(), list.edges + own_edge + list.gc_doubt);
        cx.ext
            .slot(cx.slot, Lists::default)
            .lists
            .insert((key, zone), list);
        // Connections at their expiry edge: the kernel's count is within `edges` of this one.
        let above = |n: usize| (n as u64 > self.limit as u64) != self.invert;
        if edges > 0 && (count <= edges || above(count - edges) != above(count + edges)) {
            return MatchResult::Unknown(EXPIRY_EDGE);
        }
        if count == 0 {
            // connlimit_mt: "kmalloc failed or tuple couldn't be found, drop it entirely".
            return MatchResult::HotDrop;
        }
        let mask = crate::ext::Doubt::prefix_mask(a.is_ipv4(), self.mask);
        if cx.ext.doubt.covers_but(a, mask, None, self.protos) {
            return MatchResult::Unknown(
                "this key's connection count depends on an earlier uncertain verdict",
            );
        }
        MatchResult::from_bool((count as u64 > self.limit as u64) != self.invert)
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
    fn stateful(&self) -> bool {
        true
    }
    fn rate_guard(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
