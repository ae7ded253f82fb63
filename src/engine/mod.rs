//! The simulation engine: which hooks a packet traverses, tables in kernel priority order at
//! each hook, connection tracking between raw and mangle, NAT bindings for the first packet of
//! a connection, confirmation last — and the context ([`EvalCtx`]) extensions evaluate against.
//!
//! One [`Engine`] replays packets in capture order; its state (conntrack table, limit buckets,
//! recent lists, counters) evolves exactly as the kernel's would.

mod answers;
mod classify;
pub mod describe;
pub(crate) mod forgotten;
pub(crate) mod icmp_limit;
mod memo;
mod nat;
pub mod outcome;
mod reject;
mod taint;
pub mod trace;
mod traverse;

use std::borrow::Cow;
use std::net::IpAddr;

/// The extension ABI lives in `ext`; re-exported here for callers that name it from the engine.
pub use crate::ext::ctx;
pub use crate::ext::ctx::*;
pub use classify::ClassifierMode;
pub use outcome::*;
pub use trace::{Check, TraceEvent};
pub use traverse::{TableResult, TableVerdict};

use crate::conntrack::{self, Attach, Conntrack, CtHook, CtInfo, CtOutcome, Params};
use crate::packet::Packet;
use crate::ruleset::model::{Counters, Hook, Ruleset, TableKind};

/// Options of a simulation run.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub env: SimEnv,
    /// Forward packets that are neither to nor from the host (`--router`).
    pub router: bool,
    /// Run REJECT's reply through the host's OUTPUT path to see whether it leaves.
    pub simulate_replies: bool,
    /// The packets are a capture taken on the host: recognise the host's own answers in it —
    /// REJECT's replies (judged once, when REJECT sent them) and answers to requests the
    /// ruleset drops (never sent). Off for constructed traffic and for the kernel comparison,
    /// whose oracle injects every frame as an independent packet.
    pub recognise_answers: bool,
    /// Record every rule tried (for `trace`).
    pub trace: bool,
    /// `nf_conntrack_tcp_ignore_invalid_rst`.
    pub tcp_ignore_invalid_rst: bool,
    /// Conntrack timeouts (`net.netfilter.nf_conntrack_*timeout*`), kernel defaults unless set.
    pub ct_timeouts: crate::conntrack::Timeouts,
    /// `net.netfilter.nf_conntrack_max` (0: unlimited) and `nf_conntrack_buckets`.
    pub ct_max: u32,
    pub ct_buckets: u32,
    /// `net.ipv4.ipfrag_high_thresh` and `net.netfilter.nf_conntrack_frag6_high_thresh`.
    pub frag_high_thresh: usize,
    /// Track connections even if no rule needs it (as when something else on the host loaded
    /// conntrack); used to build connections that already exist when a ruleset is loaded.
    pub force_conntrack: bool,
    /// Capture time (ns) that maps to the engine's first jiffy; by default the first packet's.
    /// Engines that must share one clock (a warm-up and the real run) set the same origin.
    pub time_origin: Option<u64>,
    /// How many packets a replay gives alternatives ([`Outcome::alternatives`]; 0: none).
    pub alternatives: u64,
    /// The packets are read from a capture file, which may begin in the middle of its
    /// connections: unless `env.conntrack_empty_at_start`, a UDP answer or an ICMP query reply
    /// first seen within its conntrack timeout of the capture's start may belong to one the
    /// kernel tracked before (`Skb::may_predate`), as a TCP segment without its SYN may. Constructed
    /// traffic (`--flows`, profiles, probes, `trace` of a described packet) starts fresh.
    pub capture_file: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            env: SimEnv::default(),
            router: false,
            simulate_replies: true,
            recognise_answers: true,
            trace: false,
            tcp_ignore_invalid_rst: false,
            ct_timeouts: crate::conntrack::Timeouts::default(),
            ct_max: crate::conntrack::DEFAULT_CT_MAX,
            ct_buckets: crate::conntrack::DEFAULT_CT_MAX,
            frag_high_thresh: crate::packet::defrag::DEFAULT_HIGH_THRESH,
            force_conntrack: false,
            time_origin: None,
            alternatives: 0,
            capture_file: false,
        }
    }
}

impl SimOptions {
    /// Options for replaying capture file `path`: its packets may belong to connections older
    /// than it (`capture_file`), and which devices it shows decides which of a bridge's copies
    /// are judged (`HostConfig::captured`).
    pub(crate) fn for_capture(&mut self, path: &std::path::Path) {
        self.capture_file = true;
        self.env.host.captured = crate::packet::ingest::capture::captured_devices(path);
    }
}

/// The redirect a router sends about a packet it forwards back out of the interface it came
/// in on ([`Engine::redirect_for`]).
#[derive(Debug, Clone, Copy)]
enum Redirect {
    V4,
    /// `from`: the router's link-local address there; `sends`: `ndisc_send_redirect`'s
    /// conditions hold (otherwise only the destination's rate limit is spent); `tlla`: whether
    /// it carries the target's link-layer address (the router's neighbour entry for the
    /// target valid), `None` when that is not known.
    V6 {
        from: IpAddr,
        sends: bool,
        tlla: Option<bool>,
    },
}

/// A device a packet comes in or goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dev {
    /// No device at this hook (`""` to `-i`/`-o`).
    None,
    /// The capture's interface: the one the packet was captured on, else `--iface`
    /// ([`SimEnv::iface_of`]).
    Iface,
    Lo,
    /// An interface of the host configuration (index into [`crate::host::HostConfig::names`]),
    /// chosen by a route.
    Named(u16),
}

impl Dev {
    pub fn name<'a>(self, iface: &'a str, env: &'a SimEnv) -> &'a str {
        match self {
            Dev::None => "",
            Dev::Iface => iface,
            Dev::Lo => "lo",
            Dev::Named(i) => env.host.names.get(i as usize).map_or("", |n| n.as_str()),
        }
    }
}

/// Per-packet state while it crosses the hooks.
pub(crate) struct HookCtx {
    pub(crate) indev: Dev,
    pub(crate) outdev: Dev,
    pub now: u64,
    pub(crate) now_ns: u64,

    pub skb: Skb,
    pub(crate) trace_on: bool,
    pub trace: Vec<TraceEvent>,
    /// Why the verdict is uncertain (the first cause met), set through the methods below.
    why_uncertain: Option<String>,
    /// What made it uncertain, for the address doubt the packet leaves (see
    /// [`crate::ext::DoubtSource`]): `None` while it is certain.
    doubt_src: Option<crate::ext::DoubtSource>,
    /// The decision to report if the packet is accepted: filter's, else the last table's.
    pub accepted: Option<TableResult>,
    /// A connection created for this packet, confirmed if it survives.
    pub(crate) ct_new: Option<conntrack::CtId>,
    /// Undecidable matches met so far (the next one's number).
    pub(crate) unknowns: u32,
    /// The undecidable match this packet takes as matching (a fork, [`Engine::force_unknown`]).
    pub(crate) force: Option<u32>,
    /// The undecidable matches whose other answer could have changed how a table ended.
    pub(crate) undecided: Vec<Undecided>,
    /// The ICMP error the stack sends for a packet it drops before FORWARD (`icmp_send` /
    /// `icmpv6_send` in `ip_forward` / `ip6_forward`), with the packet's connection attached.
    pub(crate) stack_error: Option<crate::ext::RejectReply>,
    /// A certain verdict whose deciding rule is not: an undecidable match's rule would have
    /// ended a table the same way (the first such, for the outcome's `reason`).
    pub(crate) path_doubt: Option<String>,
    /// The host sent the packet and it may be a segment of one GSO packet, cut after
    /// POSTROUTING ([`crate::packet::ingest::gso`]): what reads its length, payload or counts
    /// packets is undecided ([`gso_reads`]).
    pub(crate) gso: bool,
    /// The packet's time stamp is this many nanoseconds before an earlier frame's: it runs at
    /// that later time (the kernel's clock never goes back), which only what reads the clock
    /// can tell apart ([`HookCtx::note_behind`]).
    pub(crate) behind: Option<u64>,
}

impl HookCtx {
    /// A packet's walk at time `now` (jiffies; `now_ns` its nanoseconds) from kernel state
    /// `skb`: no device yet, nothing met, no trace.
    fn fresh(now: u64, now_ns: u64, skb: Skb, behind: Option<u64>) -> HookCtx {
        HookCtx {
            indev: Dev::None,
            outdev: Dev::None,
            now,
            now_ns,
            skb,
            trace_on: false,
            trace: Vec::new(),
            why_uncertain: None,
            doubt_src: None,
            accepted: None,
            ct_new: None,
            unknowns: 0,
            force: None,
            undecided: Vec::new(),
            stack_error: None,
            path_doubt: None,
            gso: false,
            behind,
        }
    }

    /// The verdict is uncertain because of rule `r`: `why`.
    fn uncertain(&mut self, rs: &Ruleset, r: RuleRef, why: &str) {
        self.uncertain_from(rs, r, why, crate::ext::DoubtSource::Any);
    }

    /// The verdict is uncertain because of rule `r` (`src`: the match whose answer fwcheck
    /// could not decide, when that is all).
    fn uncertain_from(
        &mut self,
        rs: &Ruleset,
        r: RuleRef,
        why: &str,
        src: crate::ext::DoubtSource,
    ) {
        self.note_uncertain(src, || format!("{}: {why}", rule_label(rs, r)));
    }

    /// The verdict is uncertain: `why` (kept if it is the first cause).
    fn note_uncertain(&mut self, src: crate::ext::DoubtSource, why: impl FnOnce() -> String) {
        self.why_uncertain.get_or_insert_with(why);
        self.doubt_src = Some(match self.doubt_src {
            None => src,
            Some(s) => s.and(src),
        });
    }

    fn is_uncertain(&self) -> bool {
        self.why_uncertain.is_some()
    }

    /// A packet stamped before an earlier frame (`behind`) met something that reads the
    /// clock — a rate, a time window, a timeout at its edge, the ICMP rate limit: run at the
    /// later time, its answer may not be the kernel's.
    pub(crate) fn note_behind(&mut self) {
        if let Some(ns) = self.behind {
            self.note_uncertain(DoubtSource::Any, || behind_reason(ns));
        }
    }
}

/// Whether match `m` can answer a GSO packet and each of its segments differently: it reads
/// the length (`length`, `connbytes`), the payload (`string`, `u32`, `bpf`), counts packets or
/// time (`stateful`: `limit`, `hashlimit`, `recent`, `quota`, `statistic`, `connlimit`), or is
/// not understood.
pub(crate) fn gso_reads(m: &dyn crate::ext::Match) -> bool {
    m.stateful()
        || m.is_unknown()
        || matches!(m.name(), "length" | "connbytes" | "string" | "u32" | "bpf")
}

/// Why a reply the host sent itself over lo is uncertain when the packet it answers, rebuilt,
/// is not rejected by OUTPUT here ([`Engine::rejected_before_lo`]).
const NOT_REJECTED_HERE: &str = "a reply the host sent itself over lo to a packet of its own \
     that the capture does not hold: OUTPUT rejected that packet in the kernel, and here it \
     does not";

/// Why a packet stamped `ns` before an earlier frame is uncertain.
fn behind_reason(ns: u64) -> String {
    format!(
        "its time stamp is {:.6} s before an earlier frame's: run at that later time, not when \
         the host handled it, and it met what reads the clock (a rate, a timeout at its edge)",
        ns as f64 / 1e9
    )
}

/// `filter INPUT #3 (line 12)`.
fn rule_label(rs: &Ruleset, r: RuleRef) -> String {
    let t = &rs.tables.iter().find(|t| t.kind == r.table).expect("table");
    let c = &t.chains[r.chain];
    format!(
        "{} {} #{} (line {})",
        r.table,
        c.name,
        r.rule + 1,
        rs.line_of(c.rules[r.rule].span)
    )
}

/// How much of the inbound path [`Engine::process_staged`] runs. Without connection tracking
/// the kernel reassembles IPv4 fragments between PREROUTING and INPUT (`ip_local_deliver`):
/// each fragment crosses PREROUTING, the reassembled datagram crosses INPUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// PREROUTING, routing, INPUT (or FORWARD…): the usual.
    Whole,
    /// Only PREROUTING (a verdict of ACCEPT means "went on to be reassembled").
    PreroutingOnly,
    /// Only INPUT (for a datagram reassembled after PREROUTING); no receive checks.
    FromInput,
}

/// The time a packet is processed at: jiffies (conntrack timeouts, `xt_limit`, `recent`) and
/// nanoseconds (nftables expressions such as the `limit` iptables-nft installs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub jiffies: u64,
    pub ns: u64,
    /// Where `ns` falls within its jiffy (billionths of one) when the jiffies were derived
    /// from a capture's time stamps, whose ticks' phase against the kernel's is unknown;
    /// `None` when they are the kernel's own (the kernel comparison).
    pub phase: Option<u32>,
}

/// Jiffies at the first packet: away from zero so that `now - x` never underflows.
const JIFFIES_BASE: u64 = 1 << 32;

/// How many of the host's ARP and neighbour discovery targets `Engine::neighbour_solicited`
/// looks up in conntrack.
pub const NEIGH_LOOKUPS: u32 = 64;

/// What an engine carries from one ruleset to the next ([`Engine::suspend`],
/// [`Engine::resume`], [`Engine::reload`]): conntrack, the named state of `recent`/`hashlimit`
/// and the like, the stack's answers and ICMP rate limits, the taint of unknowns, the clock's
/// origin, the choice of indexes, and the neighbours that never answered the host.
pub struct Carried {
    opts: SimOptions,
    conntrack: Conntrack,
    named: std::collections::HashMap<String, Box<dyn crate::ext::State>>,
    doubt: crate::ext::Doubt,
    answers: answers::Answers,
    icmp_limit: icmp_limit::IcmpLimiter,
    taint: taint::Taint,
    classifier_mode: ClassifierMode,
    memo_off: bool,
    neigh_unanswered: std::collections::BTreeSet<IpAddr>,
    neigh_checked: u32,
}

/// A host bridge's forwarding database as the capture teaches it (net/bridge/br_fdb.c
/// `br_fdb_update`, called by `br_handle_frame_finish` for every frame a port receives): the
/// port behind which each source link address was last seen. An entry idle past the bridge's
/// default ageing time (300 s, `br_fdb_cleanup`) is gone: the bridge floods an unknown
/// destination to every port, whose copies fwcheck does not make, so such a frame's output
/// port stays unknown. Frames the capture does not hold (ARP, other protocols) teach the
/// kernel entries fwcheck lacks: unknown too, never a wrong port. Bounded: past
/// [`BridgeFdb::MAX`] addresses, new ones are not learnt.
#[derive(Debug, Clone, Default)]
pub(crate) struct BridgeFdb {
    /// bridge → link address → (port, when last seen, ns): looked up by the bridge's name
    /// without building a key a frame.
    map: std::collections::HashMap<Box<str>, FdbEntries>,
    /// Entries over every bridge.
    len: usize,
}

/// One bridge's [`BridgeFdb`] entries: link address → (port, when last seen, ns).
type FdbEntries = std::collections::HashMap<[u8; 6], (Box<str>, u64)>;

impl BridgeFdb {
    const MAX: usize = 1 << 16;
    const AGEING_NS: u64 = 300_000_000_000;

    fn learn(&mut self, bridge: &str, mac: [u8; 6], port: &str, now_ns: u64) {
        if mac[0] & 1 == 1 {
            return;
        }
        if !self.map.contains_key(bridge) {
            self.map.insert(bridge.into(), Default::default());
        }
        let entries = self.map.get_mut(bridge).expect("inserted above");
        if let Some(e) = entries.get_mut(&mac) {
            if &*e.0 != port {
                e.0 = port.into();
            }
            e.1 = now_ns;
        } else if self.len < Self::MAX {
            entries.insert(mac, (port.into(), now_ns));
            self.len += 1;
        }
    }

    /// The port `bridge` forwards a frame for `mac` to, if it learnt one within the ageing
    /// time.
    fn port(&self, bridge: &str, mac: [u8; 6], now_ns: u64) -> Option<&str> {
        self.map
            .get(bridge)?
            .get(&mac)
            .filter(|(_, t)| now_ns.saturating_sub(*t) <= Self::AGEING_NS)
            .map(|(p, _)| &**p)
    }
}

/// [`Engine::rx_bridge_port`] on the environment alone (beside a borrow of the engine's state).
fn bridge_port_of<'a>(env: &'a SimEnv, pkt: &'a Packet) -> Option<&'a str> {
    if env.host.links.is_empty() || pkt.link.src_mac.is_some_and(|m| env.host.macs.contains(&m)) {
        return None;
    }
    env.host.rx_bridge(env.captured_on(pkt))
}

/// The packet simulator.
pub struct Engine<'r> {
    pub(crate) rs: &'r Ruleset,
    pub(crate) env: SimEnv,
    opts: SimOptions,
    params: Params,
    /// Index into `rs.tables` per `TableKind`.
    pub(crate) table_index: [Option<usize>; 5],
    /// First extension state slot of each rule: `[table][chain][rule]`.
    pub(crate) slot_base: SlotLayout,
    /// Rule and policy counters, and which of them the packet being processed bumped.
    pub(crate) tally: traverse::Tally,
    pub conntrack: Conntrack,
    pub(crate) ext: ExtState,
    ct_active: bool,
    origin: Option<u64>,
    /// The latest capture time stamp run so far: the clock only moves forward.
    latest_ts: u64,
    /// Set by [`Engine::jiffies`] for a time stamp earlier than `latest_ts`: by how many ns.
    /// The packet then runs at `latest_ts`, a time it was not really handled at (taken by the
    /// next packet processed: the one `jiffies` was asked for): what reads the clock for it
    /// says uncertain ([`HookCtx::note_behind`]).
    behind: Option<u64>,
    /// `behind` of the packet being processed (for its REJECT reply's ICMP rate limit).
    packet_behind: Option<u64>,
    /// The next packet processed may be a segment of one GSO packet ([`Engine::gso_next`]).
    gso_next: bool,
    answers: answers::Answers,
    /// The kernel's ICMP error rate limits (`icmp_limit`): whether a REJECT's or the stack's
    /// ICMP error leaves.
    icmp_limit: icmp_limit::IcmpLimiter,
    pub(crate) taint: taint::Taint,
    /// The host bridges' learnt forwarding entries ([`BridgeFdb`]): the port a bridged frame
    /// leaves by, for `-m physdev`.
    fdb: BridgeFdb,
    /// Candidate-rule indexes of long chains (`classify`).
    pub(crate) classifier: classify::Classifier,
    /// Which undecidable match of the next packet to take as matching (counted from 0 in the
    /// order the traversal meets them): a fork evaluating the other branch.
    force_unknown: Option<u32>,
    /// The nat table's destination NATs a connection the host makes may take
    /// ([`nat::LocalDnat`]), found when the first such connection is met.
    local_dnat: std::sync::OnceLock<Vec<nat::LocalDnat>>,
    /// Rules on the host's way out (OUTPUT, POSTROUTING, user chains) whose target rewrites
    /// headers that a match of the ruleset reads, with those matches' names
    /// ([`Engine::rewritten_on_the_way_out`]); found when the first outbound packet is met.
    egress_rewrites: std::sync::OnceLock<EgressRewrites>,
    /// Whether mangle sets marks (MARK, CONNMARK), which may reroute a packet after OUTPUT
    /// ([`Engine::left_by_another_route`]); found when first needed.
    sets_marks: std::sync::OnceLock<bool>,
    /// Whether the ruleset reads, where the host's own packets go, what one GSO packet and
    /// its segments differ in ([`Engine::gso_sensitive`]), once asked.
    gso_sensitive: std::sync::OnceLock<bool>,
    /// Whether a rule of OUTPUT's path may REJECT ([`Engine::orphan_reply`]), once asked.
    rejects_out: std::sync::OnceLock<bool>,
    /// Rules whose counters are lower bounds: a match of theirs fwcheck could not decide was
    /// taken as not matching where the rule's target only observes (a counting rule, `LOG`)
    /// or would have ended the table as it ended anyway (see `counter_over`), so the verdict
    /// stayed certain but the kernel may have counted the packet
    /// (`[table][chain][rule]` as for `counters`).
    pub(crate) counter_doubt: std::collections::BTreeSet<(usize, usize, usize)>,
    /// Counters that are upper bounds (a policy's as rule [`traverse::POLICY`]): a match
    /// fwcheck could not decide was taken as not matching where its rule would have ended the
    /// table the same way; the verdict stayed certain, but the kernel may have counted the
    /// packet at that rule and not at these.
    pub(crate) counter_over: std::collections::BTreeSet<(usize, usize, usize)>,
    /// Why the next packet is uncertain whatever the tables say, given by the replay in front
    /// of the engine ([`Engine::doubt_next`]).
    next_doubt: Option<String>,
    /// The NAT binding [`nat::setup`] just made took a source port (ICMP id) the kernel
    /// chose at random, and nothing else in it is in doubt ([`answers::Pick`]).
    pub(crate) nat_pick: Option<answers::Pick>,
    /// This packet's such binding, with the doubt in words: its outgoing copy may settle it.
    pick_doubt: Option<(answers::Pick, String)>,
    /// Neighbours the host asked for by ARP or neighbour discovery, that had sent it packets,
    /// and that have not answered ([`Engine::neighbour_solicited`]).
    neigh_unanswered: std::collections::BTreeSet<IpAddr>,
    /// How many ARP and neighbour discovery targets of the host's were looked up in conntrack
    /// ([`Engine::neighbour_solicited`]).
    neigh_checked: u32,
    /// A `TEE` clone was sent by a route the host configuration does not give: the counters
    /// of OUTPUT's and POSTROUTING's chains are lower bounds ([`Engine::send_tee_clones`]).
    tee_unrouted: bool,
    /// A `TEE` clone was made of a packet the host sent: the counters of OUTPUT's and
    /// POSTROUTING's chains are bounds either way ([`Engine::send_tee_clones`]).
    tee_local: bool,
    /// Tables' endings remembered by the classes of the fields that decided them ([`memo`]).
    memo: memo::WalkMemo,
    /// Scratch for [`Engine::run_table`]: whether the walk so far is one the memo may keep.
    walk_plain: bool,
}

/// The rules that rewrite headers on the host's way out (`[table][chain][rule]`), and the
/// names of the ruleset's matches, sorted ([`Engine::rewritten_on_the_way_out`]).
type EgressRewrites = (Vec<(usize, usize, usize)>, Vec<&'static str>);

/// A fork: the same state, to run a packet another way. The classifier's indexes and the walk
/// memo are not copied (they only save time; a fork walks the chains rule by rule until it
/// builds its own).
impl Clone for Engine<'_> {
    fn clone(&self) -> Self {
        let mut classifier = classify::Classifier::new(&self.rs.tables);
        classifier.mode = self.classifier.mode;
        Engine {
            rs: self.rs,
            env: self.env.clone(),
            opts: self.opts.clone(),
            params: self.params,
            table_index: self.table_index,
            slot_base: self.slot_base.clone(),
            tally: self.tally.clone(),
            conntrack: self.conntrack.clone(),
            ext: self.ext.clone(),
            ct_active: self.ct_active,
            origin: self.origin,
            latest_ts: self.latest_ts,
            behind: self.behind,
            packet_behind: None,
            gso_next: false,
            answers: self.answers.clone(),
            icmp_limit: self.icmp_limit.clone(),
            fdb: self.fdb.clone(),
            taint: self.taint.clone(),
            classifier,
            force_unknown: self.force_unknown,
            local_dnat: self.local_dnat.clone(),
            counter_doubt: self.counter_doubt.clone(),
            counter_over: self.counter_over.clone(),
            next_doubt: None,
            nat_pick: None,
            pick_doubt: None,
            egress_rewrites: self.egress_rewrites.clone(),
            sets_marks: self.sets_marks.clone(),
            gso_sensitive: self.gso_sensitive.clone(),
            rejects_out: self.rejects_out.clone(),
            neigh_unanswered: self.neigh_unanswered.clone(),
            neigh_checked: self.neigh_checked,
            tee_unrouted: self.tee_unrouted,
            tee_local: self.tee_local,
            memo: self.memo.fresh(),
            walk_plain: false,
        }
    }
}

impl<'r> Engine<'r> {
    pub fn new(rs: &'r Ruleset, opts: SimOptions) -> Engine<'r> {
        Engine::with_layout(rs, opts, slot_layout(rs))
    }

    /// [`Engine::new`] with the slot layout of `rs` computed beforehand ([`slot_layout`]), for
    /// callers that run many fresh engines over one ruleset (the static analyses): the layout
    /// is the only O(rules) part of a fresh engine. `layout` must be `slot_layout(rs)`.
    pub(crate) fn with_layout(rs: &'r Ruleset, opts: SimOptions, layout: SlotLayout) -> Engine<'r> {
        let mut table_index = [None; 5];
        for (i, t) in rs.tables.iter().enumerate() {
            table_index[t.kind as usize] = Some(i);
        }
        let slot_base = layout.clone();
        let counters = rs
            .tables
            .iter()
            .map(|t| t.chains.iter().map(|_| Vec::new()).collect())
            .collect();
        let policy_counters = rs
            .tables
            .iter()
            .map(|t| vec![Counters::default(); t.chains.len()])
            .collect();
        let ct_active = opts.force_conntrack || conntrack_active(rs);
        let params = Params {
            hz: opts.env.hz,
            tcp_loose: opts.env.tcp_loose,
            tcp_be_liberal: opts.env.tcp_be_liberal,
            tcp_ignore_invalid_rst: opts.tcp_ignore_invalid_rst,
            tcp_max_retrans: 3,
            checksum: opts.env.ct_checksum,
            checksums: opts.env.checksums,
            timeouts: opts.ct_timeouts,
            ct_max: opts.ct_max,
            ct_buckets: opts.ct_buckets,
            tracked_at_start: opts.env.conntrack_tracked_at_start,
        };
        let origin = opts.time_origin;
        let mut ext = ExtState::default();
        layout.load(rs, &mut ext);
        Engine {
            rs,
            env: opts.env.clone(),
            opts,
            params,
            table_index,
            slot_base,
            tally: traverse::Tally {
                rules: counters,
                policies: policy_counters,
                ..Default::default()
            },
            conntrack: Conntrack::with_acct(layout.0.acct),
            ext,
            ct_active,
            origin,
            latest_ts: 0,
            behind: None,
            packet_behind: None,
            gso_next: false,
            answers: answers::Answers::default(),
            icmp_limit: icmp_limit::IcmpLimiter::default(),
            fdb: BridgeFdb::default(),
            taint: taint::Taint::default(),
            classifier: classify::Classifier::new(&rs.tables),
            force_unknown: None,
            local_dnat: std::sync::OnceLock::new(),
            counter_doubt: Default::default(),
            counter_over: Default::default(),
            next_doubt: None,
            nat_pick: None,
            pick_doubt: None,
            neigh_unanswered: Default::default(),
            neigh_checked: 0,
            tee_unrouted: false,
            tee_local: false,
            memo: memo::WalkMemo::default(),
            walk_plain: false,
            egress_rewrites: std::sync::OnceLock::new(),
            sets_marks: std::sync::OnceLock::new(),
            gso_sensitive: std::sync::OnceLock::new(),
            rejects_out: std::sync::OnceLock::new(),
        }
    }

    /// Take undecidable match number `k` of the next packet processed (counted from 0 in the
    /// order its traversal meets them, [`Undecided::k`]) as matching: run on a fork (a clone)
    /// to see where the other answer leads. Applies to one packet.
    /// The next packet is uncertain for a reason outside the engine (`why`): its verdict,
    /// its connection's later packets (the taint) and the counters it bumps say so.
    pub(crate) fn doubt_next(&mut self, why: String) {
        self.next_doubt = Some(why);
    }

    pub fn force_unknown(&mut self, k: Option<u32>) {
        self.force_unknown = k;
    }

    /// Choose the classifier's index kind (tests force each in turn; see [`ClassifierMode`]).
    pub fn set_classifier_mode(&mut self, mode: ClassifierMode) {
        self.classifier.mode = mode;
    }

    /// Switch the walk memo (`engine/memo.rs`: tables' endings remembered by the classes of the
    /// fields that decided them) off or on; tests compare the two. On by default.
    pub fn set_walk_memo(&mut self, on: bool) {
        self.memo.off = !on;
    }

    /// Walks the memo holds (tests check that it engages).
    pub fn walk_memo_len(&self) -> usize {
        self.memo.len()
    }

    /// Bytes held by the classifier's indexes (0 before a long chain was indexed).
    pub fn classifier_bytes(&self) -> usize {
        self.classifier.bytes()
    }

    /// Turn recording of [`Outcome::trace`] on or off (e.g. after replaying the frames before
    /// the one to trace).
    pub(crate) fn set_trace(&mut self, on: bool) {
        self.opts.trace = on;
    }

    /// A conntrack attachment's label for `trace` (`none` before conntrack saw the packet).
    fn ct_label_of(&self, a: Attach) -> String {
        match a {
            Attach::None => "none".into(),
            Attach::Untracked => "UNTRACKED".into(),
            Attach::Ct { info, .. } => match info.dir() {
                conntrack::CtDir::Original => label(a).as_str().to_string(),
                _ => format!("{} (reply direction)", label(a).as_str()),
            },
        }
    }

    /// The connection a packet is attached to, for `trace`: both tuples and the TCP state.
    fn ct_entry_text(&self, a: Attach) -> Option<String> {
        let Attach::Ct { id, .. } = a else {
            return None;
        };
        let e = self.conntrack.get(id)?;
        let t = |t: &conntrack::Tuple| {
            // An ICMP tuple holds the identifier and the type and code (`icmp_pkt_to_tuple`),
            // which `conntrack -L` prints by name.
            if matches!(t.proto, 1 | 58) {
                return format!(
                    "{} {} > {} type={} code={} id={}",
                    trace::proto_label(t.proto),
                    t.src,
                    t.dst,
                    t.dport >> 8,
                    t.dport & 0xff,
                    t.sport
                );
            }
            format!(
                "{} {} > {}",
                trace::proto_label(t.proto),
                crate::packet::endpoint(t.src, Some(t.sport)),
                crate::packet::endpoint(t.dst, Some(t.dport))
            )
        };
        let mut s = format!("original {} / reply {}", t(&e.tuple[0]), t(&e.tuple[1]));
        if let conntrack::ProtoState::Tcp(tcp) = &e.proto {
            s.push_str(&format!(", tcp state {}", tcp.state.name()));
        }
        Some(s)
    }

    /// Load `rs` in place of the current ruleset, as `iptables-restore` does on a running host
    /// (`xt_replace_table` / an nf_tables transaction): the conntrack table stays, and so do
    /// the named stores of matches that keep them per network namespace by name (`recent`
    /// lists, `hashlimit` tables: `recent_mt_check` and `hashlimit_mt_check_common` find the
    /// existing one by name and take a reference before the old rule is destroyed). State held
    /// per rule instance (`limit` buckets, `statistic --mode nth` counters, `connlimit` lists)
    /// and the rule counters start afresh with the new rules. The clock keeps running.
    /// `tests/kernel_reload.rs` pins conntrack, `recent`, `hashlimit`, `limit` and `statistic`
    /// against the kernel (nf_tables and legacy).
    pub fn reload(&mut self, rs: &'r Ruleset) {
        let carried = self.carry_out();
        *self = Engine::resume(rs, carried);
    }

    /// This engine's state apart from its rules, to go on later under another ruleset with
    /// [`Engine::resume`] (as [`Engine::reload`] does in place). The two need not share a
    /// lifetime: `fwcheck steps` builds each step's ruleset, runs it and drops it, so that a
    /// script of thousands of commands never holds more than one.
    pub fn suspend(mut self) -> Carried {
        self.carry_out()
    }

    /// An engine for `rs` carrying the state [`Engine::suspend`] kept; see [`Engine::reload`].
    pub fn resume(rs: &'r Ruleset, c: Carried) -> Engine<'r> {
        Engine::resume_with(rs, c, slot_layout(rs))
    }

    /// [`Engine::resume`] with the slot layout of `rs` computed beforehand ([`slot_layout`]),
    /// for a caller that also runs fresh engines over `rs` (`fwcheck steps`).
    pub(crate) fn resume_with(rs: &'r Ruleset, c: Carried, layout: SlotLayout) -> Engine<'r> {
        let mut fresh = Engine::with_layout(rs, c.opts, layout);
        fresh.conntrack = c.conntrack;
        if fresh.slot_base.0.acct {
            // Accounting, once on, stays on for the rules loaded after (`nf_ct_set_acct`).
            fresh.conntrack.enable_acct();
        }
        // The new rules join the lists and tables that exist (their parameters stay).
        fresh.ext.named = c.named;
        fresh.ext.doubt = c.doubt;
        let layout = fresh.slot_base.clone();
        layout.load(rs, &mut fresh.ext);
        fresh.answers = c.answers;
        fresh.icmp_limit = c.icmp_limit;
        fresh.taint = c.taint;
        // Indexes are of the old rules; the choice of index kind stays.
        fresh.classifier.mode = c.classifier_mode;
        fresh.memo.off = c.memo_off;
        // Neighbours that never answered stay so: packets to them may still go unseen.
        fresh.neigh_unanswered = c.neigh_unanswered;
        fresh.neigh_checked = c.neigh_checked;
        fresh
    }

    fn carry_out(&mut self) -> Carried {
        let mut opts = self.opts.clone();
        opts.time_origin = self.origin;
        Carried {
            opts,
            conntrack: std::mem::take(&mut self.conntrack),
            named: std::mem::take(&mut self.ext.named),
            doubt: std::mem::take(&mut self.ext.doubt),
            answers: std::mem::take(&mut self.answers),
            icmp_limit: std::mem::take(&mut self.icmp_limit),
            taint: std::mem::take(&mut self.taint),
            classifier_mode: self.classifier.mode,
            memo_off: self.memo.off,
            neigh_unanswered: std::mem::take(&mut self.neigh_unanswered),
            neigh_checked: self.neigh_checked,
        }
    }

    /// Whether the ruleset makes the kernel track connections (and defragment).
    pub(crate) fn conntrack_active(&self) -> bool {
        self.ct_active
    }

    /// The packets are a capture taken on the host (`SimOptions::recognise_answers`), not
    /// frames injected one by one or built conversations.
    pub(crate) fn captured_on_host(&self) -> bool {
        self.opts.recognise_answers
    }

    pub fn ruleset(&self) -> &'r Ruleset {
        self.rs
    }

    /// Counters of rule `r`.
    pub fn rule_counters(&self, table: usize, chain: usize, rule: usize) -> Counters {
        self.tally.rules[table][chain]
            .get(rule)
            .copied()
            .unwrap_or_default()
    }

    /// Whether rule `r`'s counters may be below the kernel's (see `counter_doubt`).
    pub fn rule_counter_doubt(&self, table: usize, chain: usize, rule: usize) -> bool {
        self.counter_doubt.contains(&(table, chain, rule))
    }

    /// Whether rule `r`'s counters may be above the kernel's (see `counter_over`).
    pub fn rule_counter_over(&self, table: usize, chain: usize, rule: usize) -> bool {
        self.counter_over.contains(&(table, chain, rule))
    }

    /// Whether a built-in chain's policy counters may be above the kernel's.
    pub fn policy_counter_over(&self, table: usize, chain: usize) -> bool {
        self.counter_over
            .contains(&(table, chain, traverse::POLICY))
    }

    /// Whether a policy's counters may be below the kernel's: a packet with an uncertain
    /// verdict ended there, and another may have in the kernel.
    pub fn policy_counter_doubt(&self, table: usize, chain: usize) -> bool {
        self.counter_doubt
            .contains(&(table, chain, traverse::POLICY))
    }

    /// An ARP frame of the capture: the host's request for a neighbour
    /// (`Engine::neighbour_solicited`), or a reply that answers it.
    pub fn arp_seen(&mut self, a: &crate::packet::problem::ArpInfo) {
        match a.op {
            1 if self.is_local(IpAddr::V4(a.sender))
                && (a.pkt_type == crate::packet::PktType::Outgoing
                    || a.src_mac.is_some_and(|m| self.env.host.macs.contains(&m))) =>
            {
                self.neighbour_solicited(IpAddr::V4(a.target));
            }
            2 => {
                self.neigh_unanswered.remove(&IpAddr::V4(a.sender));
            }
            _ => {}
        }
    }

    /// A neighbour discovery message of the capture (ICMPv6, taken only when `pkt.proto` is
    /// 58): the host's neighbour solicitation (`ndisc_solicit` -> `ndisc_send_ns`: to the
    /// target's solicited-node group, then unicast probes, from the packet's source when it is
    /// an address of the output device, else from the device's link-local address; sent
    /// through `ndisc_send_skb`, so it crosses OUTPUT and POSTROUTING and is judged as any
    /// packet of the host's) asks for its target ([`Engine::neighbour_solicited`]); a
    /// neighbour advertisement for the target answers it (`ndisc_recv_na`).
    fn nd_seen(&mut self, pkt: &Packet, direction: Direction) {
        let crate::packet::L4::Icmpv6(i) = &pkt.l4 else {
            return;
        };
        if !matches!(i.icmp_type, 135 | 136) || i.code != 0 {
            return;
        }
        let at = pkt.ip_hdr_len as usize + 8;
        let Some(t) = pkt.data.get(at..at + 16) else {
            return;
        };
        let mut target = [0u8; 16];
        target.copy_from_slice(t);
        let target = IpAddr::V6(std::net::Ipv6Addr::from(target));
        match (i.icmp_type, direction) {
            (135, Direction::Out) => self.neighbour_solicited(target),
            (136, Direction::In | Direction::Forward) => {
                self.neigh_unanswered.remove(&target);
            }
            _ => {}
        }
    }

    /// The host asked for a neighbour (an ARP request, a neighbour solicitation). The host
    /// resolves a neighbour while the packets for it wait in the neighbour's queue, after
    /// OUTPUT and POSTROUTING (`neigh_resolve_output` -> `__neigh_event_send`, NUD_INCOMPLETE:
    /// `arp_solicit` / `ndisc_solicit`); when no answer comes (`neigh_timer_handler` ->
    /// `neigh_invalidate`), `arp_error_report` / `ndisc_error_report` (`dst_link_failure`)
    /// drops them unsent — never in the capture — and answers each with a "host unreachable" /
    /// "address unreachable" to the host over lo, which fwcheck rebuilds the packet from
    /// (`unsent_original`), except for an ICMP error (`icmp_send` / `icmp6_send` answer no
    /// error): the host's error to a neighbour that sent it something and is not reachable back
    /// (its route leads elsewhere) crossed OUTPUT and POSTROUTING with no trace. Such a
    /// neighbour — a target of the host's that is the source of a connection fwcheck tracks,
    /// or the gateway of the host's route to one — is kept until it answers (kernel hunts: lab
    /// `tailscale-host`, a CGNAT source on eth0 routed back via tailscale0, the host's port
    /// unreachables counted in OUTPUT and never captured; lab `nd-unanswered`, its IPv6 twin,
    /// an address of a peer on t0 routed back out t1; lab `nd-gateway-unanswered`, a source
    /// routed back via a next hop on t1 that no one holds).
    ///
    /// Whether the target sent the host something is a walk of the conntrack table: it is
    /// taken for the first [`NEIGH_LOOKUPS`] targets only (a host scanning its subnet asks for
    /// thousands); past them any unanswered target counts, which only widens the bounds.
    fn neighbour_solicited(&mut self, target: IpAddr) {
        // (Not the host's own address: duplicate address detection, a gratuitous ARP.)
        if self.neigh_unanswered.contains(&target) || self.is_local(target) {
            return;
        }
        let sent_us = self.neigh_checked >= NEIGH_LOOKUPS || {
            self.neigh_checked += 1;
            // The source itself, or the gateway the host's route to it goes through (a
            // route lookup for each connection only when some route names that gateway).
            let host = &self.env.host;
            let gateway = host.routes.iter().any(|r| r.via == Some(target));
            self.conntrack.iter().any(|(_, e)| {
                let s = e.tuple[0].src;
                s == target
                    || gateway
                        && s.is_ipv4() == target.is_ipv4()
                        && host.route(s).is_some_and(|(_, via)| via == Some(target))
            })
        };
        if sent_us {
            self.neigh_unanswered.insert(target);
        }
    }

    /// End of the capture: a neighbour that never answered (`Engine::neighbour_solicited`) may have
    /// had the host's packets cross OUTPUT and POSTROUTING unseen, so every counter on their
    /// way (the hooks' policies, the rules of the chains they reach) is a lower bound.
    pub fn settle_neighbours(&mut self) {
        if self.neigh_unanswered.is_empty() {
            return;
        }
        self.out_path_bounds(false);
    }

    /// Every counter of a chain OUTPUT or POSTROUTING reaches becomes a lower bound, and with
    /// `over` an upper bound too: packets crossed them that fwcheck did not follow
    /// ([`Engine::settle_neighbours`], a `TEE` clone whose output device is not known), or
    /// followed by another device ([`Engine::send_tee_clones`]).
    fn out_path_bounds(&mut self, over: bool) {
        let (graph, _) = crate::ruleset::graph::build(self.rs);
        let out = crate::netfilter::HookMask::of(&[Hook::Output, Hook::Postrouting]);
        for (ti, t) in self.rs.tables.iter().enumerate() {
            let Some(g) = graph.table(t.kind) else {
                continue;
            };
            for (ci, c) in t.chains.iter().enumerate() {
                if g.reach[ci].0 & out.0 == 0 {
                    continue;
                }
                let all = (0..c.rules.len())
                    .chain(c.hook.map(|_| traverse::POLICY))
                    .map(|ri| (ti, ci, ri));
                self.counter_doubt.extend(all.clone());
                if over {
                    self.counter_over.extend(all);
                }
            }
        }
    }

    /// Counters of a built-in chain's policy.
    pub fn policy_counters(&self, table: usize, chain: usize) -> Counters {
        self.tally.policies[table][chain]
    }

    /// Why `pkt`'s connection state (`ctstate`, as the replay found it) may not be the
    /// kernel's, if it may not: an earlier uncertain packet of its flow, or — for a packet of
    /// no connection fwcheck knows — a NAT binding whose port the kernel chose at random
    /// between the same endpoints.
    fn state_doubt(&self, pkt: &Packet, ctstate: Option<CtLabel>) -> Option<(&str, Option<u64>)> {
        self.taint.cause(pkt).or_else(|| {
            matches!(ctstate, None | Some(CtLabel::New | CtLabel::Invalid))
                .then(|| self.taint.any_port_cause(pkt))
                .flatten()
        })
    }

    /// The current time in jiffies for a capture time stamp.
    pub fn jiffies(&mut self, ts_ns: u64) -> u64 {
        // The kernel's clock never goes back: a frame stamped earlier than one before it (a
        // merged capture, another interface's clock) was still handled after it, so it runs
        // at the latest time seen (CaptureAnalyzer reports such frames: FW021). When it was
        // handled is not known, so what depended on elapsed time is not certain.
        self.behind = (ts_ns < self.latest_ts).then(|| self.latest_ts - ts_ns);
        let ts_ns = ts_ns.max(self.latest_ts);
        self.latest_ts = ts_ns;
        let origin = *self.origin.get_or_insert(ts_ns);
        JIFFIES_BASE + self.env.jiffies(ts_ns.saturating_sub(origin))
    }

    fn is_local(&self, a: IpAddr) -> bool {
        self.env.is_local(a)
    }

    /// Whether the input route delivers a packet to `a` here: an address of the host, or, on
    /// an IPv6 router, one of its subnet-router anycast addresses
    /// ([`SimEnv::is_subnet_router_anycast`]; found by a kernel hunt: pings to it were
    /// forwarded, certain, where the kernel answered them).
    fn delivered_to(&self, a: IpAddr) -> bool {
        self.is_local(a) || (self.opts.router && self.env.is_subnet_router_anycast(a))
    }

    /// [`Engine::delivered_to`] for a packet received on its capture's device: an IPv6
    /// link-local destination is looked up on that device only (`ip6_route_input`:
    /// `rt6_need_strict`), so another interface's link-local address is not the host's there
    /// — the packet is routed on the link it came from (kernel hunt: a router delivered to
    /// INPUT what the kernel forwarded back out, with a redirect). Where the configuration
    /// does not say which device holds the address, it is the host's.
    #[inline]
    fn received_for_host(&self, pkt: &Packet) -> bool {
        match pkt.dst {
            IpAddr::V6(d) if d.is_unicast_link_local() => {}
            a => return self.delivered_to(a),
        }
        if !self.delivered_to(pkt.dst) {
            return false;
        }
        let dev = self.env.iface_of(pkt);
        let mut held = self.env.host.addrs.iter().filter(|a| a.addr == pkt.dst);
        let first = held.next();
        first.is_none() || first.into_iter().chain(held).any(|a| a.dev == dev)
    }

    /// The output interface of a packet to `dst` that is not local: the capture's interface
    /// without a host configuration; with one, the route's (`Err`: no route, dropped by
    /// `ip_route_input` with an ICMP unreachable the simulation does not send; with only the
    /// capture's interfaces, unknown routes leave by the capture's interface).
    fn route_dev(&self, dst: IpAddr) -> Result<Dev, TableResult> {
        // A link-local destination is reached on the link the packet is on (its scope): the
        // interface it was captured on, whatever `fe80::/64` route each device holds.
        if matches!(dst, IpAddr::V6(v) if v.is_unicast_link_local()) {
            return Ok(Dev::Iface);
        }
        if self.env.host.is_empty() {
            return Ok(Dev::Iface);
        }
        match self.env.host.route(dst) {
            Some((name, _)) => Ok(self
                .env
                .host
                .index(name)
                .map_or(Dev::Iface, |i| Dev::Named(i as u16))),
            // The capture's interfaces alone: beyond their subnets, as without a configuration;
            // so too a family the configuration gives no route of (`ip -j route` lists IPv4
            // alone: an IPv6 default route may exist).
            None if self.env.host.from_capture || !self.env.host.knows_routes_for(dst) => {
                Ok(Dev::Iface)
            }
            None => Err(TableResult {
                verdict: TableVerdict::Drop,
                decision: Decision::Stack(
                    "no route to the destination (ip_route_input: unreachable)",
                ),
            }),
        }
    }

    /// The input routing decision for a packet the host keeps, after PREROUTING: a multicast
    /// group must be joined on the input interface (net/ipv4/route.c `ip_route_input_rcu`:
    /// `ip_check_mc_rcu`, else -EINVAL; net/ipv6/ip6_input.c `ip6_mc_input`:
    /// `ipv6_chk_mcast_addr`, else freed), then reverse-path filtering applies. `Some` when the
    /// stack drops the packet. Whether the host joined a group it was not told about is
    /// unknown: taken as not joined (what a host nobody configured does), never certain.
    fn route_local_in(&self, pkt: &Packet, hc: &mut HookCtx) -> Option<TableResult> {
        if pkt.dst.is_multicast() {
            let dev = hc.indev.name(self.env.iface_of(pkt), &self.env);
            // Captured without a link layer (raw IP: a tun or WireGuard device): no ARP/ND.
            let noarp = matches!(pkt.link.linktype, 12 | 14 | 101 | 228 | 229);
            let joined =
                self.env
                    .host
                    .joined(dev, pkt.dst, &self.env.hosts, self.opts.router, noarp);
            if joined != crate::host::Joined::Yes {
                if joined == crate::host::Joined::Unknown {
                    hc.note_uncertain(DoubtSource::Any, || {
                        format!(
                            "whether the host joined {} on {dev} is unknown, taken as not joined \
                         (say --join {dev}={} or --join none, or give `ip -j maddr` in \
                         --host-config)",
                            pkt.dst, pkt.dst
                        )
                    });
                }
                if hc.trace_on {
                    hc.trace.push(TraceEvent::Note {
                        text: format!("routing: multicast group {} not joined on {dev}", pkt.dst),
                    });
                }
                return Some(TableResult {
                    verdict: TableVerdict::Drop,
                    decision: Decision::Stack(
                        "multicast group not joined on the input interface: the input route \
                         drops it after PREROUTING (ip_check_mc_rcu / ipv6_chk_mcast_addr)",
                    ),
                });
            }
        }
        self.rp_filter(pkt, hc)
    }

    /// Reverse-path filtering in the input routing decision, after PREROUTING
    /// ([`crate::host::HostConfig`]'s `rp_filter_drop`): `Some` when it drops the packet. Not a
    /// netfilter verdict: PREROUTING's rules have counted the packet, and the connection it
    /// created is never confirmed (the kernel frees the skb with its unconfirmed entry).
    fn rp_filter(&self, pkt: &Packet, hc: &mut HookCtx) -> Option<TableResult> {
        let indev = hc.indev.name(self.env.iface_of(pkt), &self.env);
        let why = self.env.host.rp_filter_drop(pkt.src, indev)?;
        if hc.trace_on {
            hc.trace.push(TraceEvent::Note {
                text: format!("routing: {why}"),
            });
        }
        Some(TableResult {
            verdict: TableVerdict::Drop,
            decision: Decision::Stack(why),
        })
    }

    /// `ip_exceeds_mtu` / `ip6_pkt_too_big` in `ip_forward` / `ip6_forward`, after the TTL
    /// and source checks and before FORWARD: a packet longer than the output interface's MTU
    /// that may not be fragmented (IPv4 with DF; IPv6 always, 1280 at least) is dropped and
    /// the router answers "fragmentation needed" / "packet too big" (never rate-limited). A
    /// GRO super-packet (longer than its input interface's MTU) is cut into its segments and
    /// passes if they fit (`skb_gso_validate_network_len`): they fit when the input MTU is at
    /// most the output one, or, for TCP, when the largest segment the receiver's MSS allows
    /// does ([`crate::conntrack::proto::tcp::TcpCt::segment_bound`]: GRO's `gso_size` is the
    /// first wire segment's, which the sender cut to that MSS); otherwise, or with the input
    /// MTU unknown, the segments' size is not in the capture and the verdict is uncertain.
    /// An output interface whose MTU the configuration does not give is not checked
    /// (`--mtu`, `ip -j addr` in `--host-config`).
    fn mtu_check(&self, pkt: &Packet, hc: &mut HookCtx) -> Option<TableResult> {
        let iface = self.env.iface_of(pkt);
        let host = &self.env.host;
        let mtu = host.mtu(hc.outdev.name(iface, &self.env))?;
        let v6 = pkt.family == crate::packet::Family::V6;
        let mtu = if v6 { mtu.max(1280) } else { mtu };
        if pkt.ip_len <= mtu || (!v6 && !pkt.frag.dont_fragment) {
            return None;
        }
        if pkt.frag.reassembled {
            // Conntrack's reassembly keeps an IPv4 datagram's DF only when its largest fragment
            // had it (`ip_frag_reasm`; kernel hunt: such a datagram was forwarded where the
            // kernel sent "fragmentation needed"), and both families compare the largest
            // fragment (`frag_max_size`: `ip_exceeds_mtu`, `ip6_pkt_too_big`). IPv6 lets a
            // datagram whose fragments fit be fragmented again (`ignore_df`); for IPv4 that
            // case is not pinned.
            if pkt.frag.max_fragment <= mtu {
                if !v6 {
                    hc.note_uncertain(DoubtSource::Any, || {
                        "reassembled with DF, longer than the output interface's MTU though \
                         its largest fragment fits: whether the kernel fragments it again or \
                         sends \"fragmentation needed\" is not pinned"
                            .into()
                    });
                }
                return None;
            }
        } else {
            match host.mtu(hc.indev.name(iface, &self.env)) {
                Some(in_mtu) if pkt.ip_len > in_mtu && in_mtu <= mtu => return None,
                Some(in_mtu) if pkt.ip_len <= in_mtu => {}
                _ if self.tcp_segments_fit(pkt, hc, mtu) => return None,
                _ => {
                    hc.note_uncertain(DoubtSource::Any, || {
                        "longer than the output interface's MTU: a GRO super-packet whose \
                         segments may fit, or a packet the router refuses (the input \
                         interface's MTU and the segment size are not known)"
                            .into()
                    });
                    return None;
                }
            }
        }
        hc.stack_error = Some(if v6 {
            crate::ext::RejectReply::Icmpv6 {
                icmp_type: 2,
                code: 0,
            }
        } else {
            crate::ext::RejectReply::Icmp {
                icmp_type: 3,
                code: 4,
            }
        });
        Some(TableResult {
            verdict: TableVerdict::Drop,
            decision: Decision::Stack(if v6 {
                "packet too big for the output interface's MTU (ip6_forward: before FORWARD)"
            } else {
                "longer than the output interface's MTU with DF set (ip_forward: fragmentation \
                 needed, before FORWARD)"
            }),
        })
    }

    /// A TCP packet of a connection whose receiver announced an MSS in a SYN the capture
    /// showed whole, small enough that every segment its sender cut fits `mtu`: a GRO
    /// super-packet of it is forwarded (kernel hunt: a router's LAN-to-WireGuard traffic,
    /// `router-wireguard`).
    fn tcp_segments_fit(&self, pkt: &Packet, hc: &HookCtx, mtu: u32) -> bool {
        let Attach::Ct { id, info } = hc.skb.ct else {
            return false;
        };
        pkt.proto == 6
            && self
                .conntrack
                .get(id)
                .and_then(|e| e.tcp())
                .and_then(|t| t.segment_bound(info.dir(), pkt.ip_hdr_len))
                .is_some_and(|b| b <= mtu)
    }

    /// The capture shows `pkt` arriving from outside: a Linux cooked header's packet type
    /// (anything but "outgoing"), or an Ethernet source that is none of the host's own link
    /// addresses (`ip -j addr` in `--host-config`). Without either, a packet's direction follows
    /// its addresses.
    fn arrived_from_outside(&self, pkt: &Packet) -> bool {
        if let Some(t) = cooked_type(&pkt.link) {
            return t.is_some_and(|t| t != crate::packet::PktType::Outgoing);
        }
        let macs = &self.env.host.macs;
        !macs.is_empty()
            && pkt.link.src_mac.is_some_and(|m| !macs.contains(&m))
            && !self.looped_back(pkt)
    }

    /// The capture shows the host sending `pkt`: a Linux cooked header's "outgoing", or an
    /// Ethernet source that is one of the host's own link addresses (`ip -j addr` in
    /// `--host-config`), lo's frames apart. Asked only of a packet whose source is no address
    /// (0.0.0.0, `::`), which its addresses cannot place.
    fn sent_from_here(&self, pkt: &Packet) -> bool {
        if let Some(t) = cooked_type(&pkt.link) {
            return t == Some(crate::packet::PktType::Outgoing);
        }
        let macs = &self.env.host.macs;
        pkt.link.src_mac.is_some_and(|m| macs.contains(&m)) && !self.looped_back(pkt)
    }

    /// The frame was addressed to the host (a Linux cooked header's PACKET_HOST, or one of the
    /// host's own link addresses from `ip -j addr`): the host received it, so PREROUTING sees it
    /// even when its IP destination is elsewhere and the host does not forward (then the input
    /// route drops it).
    fn delivered_here(&self, pkt: &Packet) -> bool {
        if let Some(t) = cooked_type(&pkt.link) {
            return t == Some(crate::packet::PktType::Host);
        }
        let macs = &self.env.host.macs;
        !macs.is_empty()
            && pkt.link.dst_mac.is_some_and(|m| macs.contains(&m))
            && !self.looped_back(pkt)
    }

    /// A frame of the loopback device (`tcpdump -i lo`: Ethernet-framed, both link addresses
    /// zero, lo's own; or a capture interface named `lo`, by the capture or `--iface`): the
    /// host sent it to itself, once through OUTPUT and once through INPUT, whatever the link
    /// addresses the host configuration lists.
    fn looped_back(&self, pkt: &Packet) -> bool {
        let l = &pkt.link;
        (l.src_mac == Some([0; 6]) && l.dst_mac == Some([0; 6])) || self.env.iface_of(pkt) == "lo"
    }

    /// A frame of lo: [`Engine::looped_back`]'s, or a Linux cooked capture's of lo (index 1 in
    /// every namespace; or, in the first version of the header, which has no index, lo's
    /// all-zero link address — a tunnel's frames have none, and are not lo's).
    fn on_lo(&self, pkt: &Packet) -> bool {
        let l = &pkt.link;
        match l.src_mac {
            // Another device's link address (asked of every received packet: first, cheap).
            Some(m) if m != [0; 6] => false,
            _ => {
                (cooked_type(l).is_some() && (l.ifindex == Some(1) || l.src_mac.is_some()))
                    || self.looped_back(pkt)
            }
        }
    }

    /// A capture shows what the host sends as it leaves, after OUTPUT and POSTROUTING: a
    /// header a `TTL`, `HL`, `TOS`, `DSCP`, `TCPMSS` or `ECN` rule on that way rewrote shows
    /// its new value, while the rules before it read the old one, which the capture does not
    /// keep. `Some(why)` when such a rule may have made `pkt` (its protocol fits and the
    /// value it sets is the packet's) and a match of the ruleset reads that header.
    /// The capture names the device `pkt` was captured on (a pcapng `if_name`, a cooked
    /// capture's index the host configuration names), not `--iface` or the default.
    fn names_its_device(&self, pkt: &Packet) -> bool {
        self.env.iface_from_capture
            && (pkt.link.ifname.is_some()
                || pkt
                    .link
                    .ifindex
                    .is_some_and(|ix| self.env.host.ifname_of(ix).is_some()))
    }

    /// For a packet the host sends that the capture shows leaving by another device than the
    /// route `--host-config` gives (`ip -j route` is the main table): `Some(marks)`, where
    /// `marks` says whether mangle sets marks (MARK, CONNMARK). The kernel routed it by a
    /// policy rule (`fib_rules_lookup`: by destination, source, user…), which OUTPUT saw too,
    /// or, after a mark set in mangle OUTPUT, rerouted it (`ip_route_me_harder`): OUTPUT then
    /// saw the first route. POSTROUTING saw the device it left by.
    fn left_by_another_route(&self, pkt: &Packet) -> Option<bool> {
        if self.env.host.is_empty()
            || self.env.host.from_capture
            || self.delivered_to(pkt.dst)
            || !self.names_its_device(pkt)
        {
            return None;
        }
        let dev = self.env.iface_of(pkt);
        let routed = match self.route_dev(pkt.dst).ok()? {
            Dev::Named(i) => self.env.host.names.get(i as usize)?.as_str(),
            _ => return None,
        };
        if routed == dev {
            return None;
        }
        Some(self.mangle_sets_marks())
    }

    /// Whether a GSO packet the host sent and its segments, each judged alone, can fare
    /// differently in OUTPUT or POSTROUTING ([`crate::packet::ingest::gso`]): a rule of those
    /// chains, or of a user chain, reads the length (`length`, `connbytes`), the payload
    /// (`string`, `u32`, `bpf`) or counts packets or time (`limit`, `hashlimit`, `recent`,
    /// `quota`, `statistic`, `connlimit`), or is not understood.
    pub(crate) fn gso_sensitive(&self) -> bool {
        use crate::netfilter::Hook;
        let rs = self.rs;
        *self.gso_sensitive.get_or_init(|| {
            rs.tables
                .iter()
                .flat_map(|t| &t.chains)
                .filter(|c| matches!(c.hook, None | Some(Hook::Output | Hook::Postrouting)))
                .flat_map(|c| &c.rules)
                .flat_map(|r| r.matches.iter())
                .any(|m| gso_reads(&*m.module))
        })
    }

    /// Why a reset or ICMP destination-unreachable error the host sent itself over lo, which
    /// conntrack found no connection for (INVALID), may be RELATED in the kernel: REJECT's
    /// reply to a packet of the host's that OUTPUT rejected — never on lo, so never in the
    /// capture — carries that packet's unconfirmed connection (`nf_send_reset`,
    /// `nf_send_unreach`; `nf_ct_attach`), kept over lo (kernel hunt, lab `lo-output-reject`;
    /// asked only when a rule of OUTPUT's path can REJECT); and the stack's "host unreachable" /
    /// "address unreachable" for a packet that waited for a neighbour that never answered
    /// carries that packet's connection (lab `neighbour-unreachable`).
    fn orphan_reply(&self, pkt: &Packet) -> Option<&'static str> {
        use crate::netfilter::Hook;
        use crate::packet::L4;
        let neigh = match &pkt.l4 {
            L4::Tcp(t) if t.flags & crate::packet::tcp_flags::RST != 0 => false,
            L4::Icmp(i) if i.icmp_type == 3 => i.code == 1,
            L4::Icmpv6(i) if i.icmp_type == 1 => i.code == 3,
            _ => return None,
        };
        let rs = self.rs;
        let rejects = || {
            *self.rejects_out.get_or_init(|| {
                rs.tables
                    .iter()
                    .flat_map(|t| &t.chains)
                    .filter(|c| matches!(c.hook, None | Some(Hook::Output)))
                    .flat_map(|c| &c.rules)
                    .any(|r| matches!(&r.action, crate::ruleset::model::Action::Target(t) if t.reject_reply().is_some()))
            })
        };
        (neigh || rejects()).then_some(
            "a reply the host sent itself over lo with no connection: it may answer a packet of \
             the host's that the capture does not hold (OUTPUT's REJECT, or a neighbour that \
             never answered), and carry that packet's connection: RELATED",
        )
    }

    /// For a reset or an ICMP "destination unreachable" the host sent itself over lo, when no
    /// connection explains it: the packet of the host's it answers, which the capture does not
    /// hold, rebuilt — when a rule on OUTPUT's path can REJECT (`nf_send_unreach` quotes the
    /// whole packet when it is short; a reset with ACK and sequence 0 answers a segment
    /// without ACK, taken as the connection's SYN with Linux's options, and `Some(doubt)` says
    /// so: its length, options, TTL and TOS are not in the capture), or when the error is
    /// "host unreachable" / "address unreachable" (`neigh`: the stack's, for a packet that
    /// left and waited for a neighbour that never answered: never captured, since the capture
    /// tap comes after the neighbour, so rebuilt even when its connection is known — a second
    /// ping of the same identifier). Never a reset or an ICMP error
    /// itself, so never rebuilt again. Kernel hunts, labs `lo-output-reject` (REJECT in
    /// OUTPUT of the host's own packets) and `neighbour-unreachable`.
    fn unsent_original(&self, pkt: &Packet) -> Option<(Packet, Option<&'static str>, bool)> {
        use crate::packet::{tcp_flags as F, L4};
        let v6 = pkt.family == crate::packet::Family::V6;
        let (orig, doubt, neigh) = match &pkt.l4 {
            L4::Icmp(i) | L4::Icmpv6(i) if i.icmp_type == if v6 { 1 } else { 3 } => {
                let start = pkt.ip_hdr_len as usize + 8;
                let quote = pkt.data.get(start..pkt.ip_len as usize)?;
                let meta = crate::packet::ingest::decode::FrameMeta {
                    frame: pkt.frame,
                    ts: pkt.ts,
                    linktype: 101,
                    interface: 0,
                    wire_len: quote.len() as u32,
                };
                let o = crate::packet::ingest::decode::decode_ip(
                    &meta,
                    crate::packet::LinkInfo::default(),
                    quote,
                    quote.len(),
                    Some(pkt.family),
                )
                .ok()?;
                // The whole packet, or its length and bytes are not known.
                if o.ip_len as usize != quote.len() || o.frag.offset != 0 || o.frag.more_fragments {
                    return None;
                }
                (o, None, i.code == if v6 { 3 } else { 1 })
            }
            L4::Tcp(t) if t.flags == F::RST | F::ACK && t.seq == 0 => {
                use crate::packet::traffic::build::{build, L4Spec, PacketSpec, TcpOpt};
                let mss = if v6 { 65476 } else { 65495 };
                let mut spec = PacketSpec::new(
                    pkt.dst,
                    pkt.src,
                    L4Spec::Tcp {
                        sport: t.dport,
                        dport: t.sport,
                        seq: t.ack.wrapping_sub(1),
                        ack: 0,
                        flags: F::SYN,
                        window: 65495,
                        options: vec![
                            TcpOpt::Mss(mss),
                            TcpOpt::SackPerm,
                            TcpOpt::Timestamp(0, 0),
                            TcpOpt::Nop,
                            TcpOpt::WScale(7),
                        ],
                    },
                );
                spec.ttl = 64;
                let o = build(&spec, pkt.frame, pkt.ts, crate::packet::LinkInfo::default());
                (
                    o,
                    Some(
                        "REJECT's reset to a packet of the host's that OUTPUT rejected (not in \
                         the capture): taken as a SYN with Linux's options; its length, \
                         options, TTL and TOS are not known",
                    ),
                    false,
                )
            }
            _ => return None,
        };
        let answer = matches!(&orig.l4, L4::Tcp(t) if t.flags & F::RST != 0)
            || matches!(&orig.l4, L4::Icmp(i) | L4::Icmpv6(i)
                if crate::packet::ingest::decode::icmp_is_error(orig.family, i.icmp_type));
        (!answer
            && orig.src == pkt.dst
            && self.is_local(orig.src)
            && (neigh
                || self.orphan_reply(pkt).is_some() && !conntrack::knows(&self.conntrack, &orig)))
        .then_some((orig, doubt, neigh))
    }

    /// The next packet processed, if the host sent it, may be a segment of one GSO packet
    /// ([`HookCtx::gso`]). Applies to one packet.
    pub(crate) fn gso_next(&mut self) {
        self.gso_next = true;
    }

    /// Whether the mangle table sets marks (`MARK`, `CONNMARK`): what policy routing by mark
    /// (`ip rule fwmark`) is set up with, which fwcheck does not know.
    fn mangle_sets_marks(&self) -> bool {
        use crate::ruleset::model::Action;
        let rs = self.rs;
        *self.sets_marks.get_or_init(|| {
            rs.tables
                .iter()
                .filter(|t| t.kind == TableKind::Mangle)
                .flat_map(|t| &t.chains)
                .flat_map(|c| &c.rules)
                .any(|r| {
                    matches!(&r.action, Action::Target(t) if matches!(t.name(), "MARK" | "CONNMARK"))
                })
        })
    }

    fn rewritten_on_the_way_out(&self, pkt: &Packet) -> Option<String> {
        use crate::ruleset::model::Action;
        let rs = self.rs;
        let (rules, readers) = self.egress_rewrites.get_or_init(|| {
            let mut rules = Vec::new();
            for (ti, t) in rs.tables.iter().enumerate() {
                for (ci, c) in t.chains.iter().enumerate() {
                    if c.hook
                        .is_some_and(|h| !matches!(h, Hook::Output | Hook::Postrouting))
                    {
                        continue;
                    }
                    for (ri, r) in c.rules.iter().enumerate() {
                        if let Action::Target(t) = &r.action {
                            if matches!(t.name(), "TTL" | "HL" | "TOS" | "DSCP" | "TCPMSS" | "ECN")
                            {
                                rules.push((ti, ci, ri));
                            }
                        }
                    }
                }
            }
            // The ruleset's few module names, each once (a long ruleset repeats them); only
            // asked when some rule rewrites.
            let mut readers: Vec<&'static str> = Vec::new();
            if !rules.is_empty() {
                for m in rs
                    .tables
                    .iter()
                    .flat_map(|t| &t.chains)
                    .flat_map(|c| &c.rules)
                    .flat_map(|r| r.matches.iter())
                {
                    let name = m.module.name();
                    if !readers.contains(&name) {
                        readers.push(name);
                    }
                }
                readers.sort_unstable();
            }
            (rules, readers)
        });
        for &(ti, ci, ri) in rules {
            let (t, c) = (&rs.tables[ti], &rs.tables[ti].chains[ci]);
            let r = &c.rules[ri];
            let Action::Target(target) = &r.action else {
                continue;
            };
            if r.proto.is_some_and(|(p, inv)| (p == pkt.proto) == inv) {
                continue;
            }
            let Some(read_by) = target.rewrote(pkt) else {
                continue;
            };
            if let Some(m) = read_by.iter().find(|m| readers.binary_search(m).is_ok()) {
                return Some(format!(
                    "sent by the host and captured as it left: {} {}'s {} (line {}) may have \
                     rewritten what -m {m} reads, and the rules before it saw the value it \
                     had, which the capture does not keep",
                    t.kind,
                    c.name,
                    target.name(),
                    rs.line_of(r.span)
                ));
            }
        }
        None
    }

    /// The device a received packet came in on: lo only where the capture says so (a packet
    /// from outside to 127.0.0.0/8 on another interface is a martian destination, kernel
    /// hunt: frames to 127.0.0.1 crafted on the wire were taken as lo's, and `-i lo`
    /// accepted them where the kernel dropped them after PREROUTING).
    fn input_dev(&self, pkt: &Packet) -> Dev {
        if pkt.dst.is_loopback() && self.env.iface_of(pkt) == "lo" {
            Dev::Lo
        } else {
            Dev::Iface
        }
    }

    /// A router that cannot route a packet answers with the stack's error, which carries the
    /// packet's connection (RELATED): IPv4 `ip_error` through its own bucket first
    /// ([`icmp_limit::IcmpLimiter::ip_error`]) — "net unreachable" for no route (or a main-table
    /// `throw`), "host unreachable" for an unreachable route, "communication administratively
    /// prohibited" for a prohibit route —, IPv6 `ip6_pkt_discard` "no route" and
    /// `ip6_pkt_prohibit` "administratively prohibited"; a blackhole answers nothing. Kernel
    /// hunts: the captured errors were taken for INVALID packets of the host.
    fn no_route_error(&mut self, pkt: &Packet, hc: &mut HookCtx) {
        use crate::host::DropRoute;
        let Some(kind) = self.env.host.unrouted(pkt.dst) else {
            return;
        };
        let v6 = pkt.family == crate::packet::Family::V6;
        let code = match (kind, v6) {
            (Some(DropRoute::Blackhole), _) => return,
            (None | Some(DropRoute::Throw), false) => 0,
            (Some(DropRoute::Unreachable), false) => 1,
            (Some(DropRoute::Prohibit), false) => 13,
            (Some(DropRoute::Prohibit), true) => 1,
            (_, true) => 0,
        };
        hc.stack_error = Some(if v6 {
            crate::ext::RejectReply::Icmpv6 { icmp_type: 1, code }
        } else {
            match self
                .icmp_limit
                .ip_error(pkt.src, hc.now, self.params.hz as u64)
            {
                icmp_limit::Allow::No => return,
                _ => crate::ext::RejectReply::Icmp { icmp_type: 3, code },
            }
        });
    }

    /// The redirect a router's forwarding path makes for `pkt` before FORWARD, where it goes
    /// back out of the interface it came in on. Only where `--host-config` gives the
    /// interfaces' addresses; `None`: no redirect at all.
    ///
    /// * IPv4 (`__mkroute_input`: `out_dev == in_dev`, `send_redirects` on as by default): its
    ///   source on that interface's link (`fib_validate_source` found it directly connected)
    ///   and so its next hop (`inet_addr_onlink`); `ip_forward` → `ip_rt_send_redirect`.
    /// * IPv6 (`ip6_forward`: `IP6CB(skb)->iif == dst->dev->ifindex`, no source route, no
    ///   IPsec; no `send_redirects` sysctl, forwarding alone): always the destination's rate
    ///   limit; then `ndisc_send_redirect` sends only with a link-local address of the
    ///   router's on the interface (the redirect's source: `ipv6_get_lladdr`, the first the
    ///   configuration lists), a target (the route's gateway, else the destination) that is the
    ///   destination or link-local unicast, and the packet's source a neighbour (the route
    ///   back to it, on that interface, has no gateway) — `sends: false` otherwise.
    fn redirect_for(&self, pkt: &Packet, hc: &mut HookCtx) -> Option<Redirect> {
        if self.env.host.addrs.is_empty() {
            return None;
        }
        let iface = self.env.iface_of(pkt);
        let dev = hc.indev.name(iface, &self.env);
        if dev != hc.outdev.name(iface, &self.env) {
            return None;
        }
        // In and out by a bridge, from a cooked capture's port that called the frame
        // `PACKET_OTHERHOST` for a reason it does not show ([`Engine::bridged_past_host`]):
        // bridged (no redirect), or routed by the bridge's address (a redirect).
        if pkt.link.pkt_type == crate::packet::PktType::OtherHost
            && self.cooked_port_otherhost(pkt).is_some()
        {
            hc.note_uncertain(DoubtSource::Any, || {
                "a Linux cooked capture's frame for another link address on a bridge port: \
                 bridged (no ICMP redirect) or routed by the bridge's address (a redirect), \
                 which the capture does not tell"
                    .into()
            });
            return None;
        }
        let on_link = |a: IpAddr| {
            self.env
                .host
                .addrs
                .iter()
                .any(|x| x.dev == dev && crate::host::contains(x.addr, x.len, a))
        };
        let gw = match self.env.host.route(pkt.dst) {
            Some((_, gw)) => gw,
            None => None,
        };
        match pkt.family {
            crate::packet::Family::V4 => {
                (on_link(pkt.src) && gw.is_none_or(on_link)).then_some(Redirect::V4)
            }
            crate::packet::Family::V6 => {
                let ll = |a: IpAddr| matches!(a, IpAddr::V6(v) if v.is_unicast_link_local());
                let from = self
                    .env
                    .host
                    .addrs
                    .iter()
                    .find(|x| x.dev == dev && ll(x.addr))
                    .map(|x| x.addr);
                let target = gw.unwrap_or(pkt.dst);
                let neighbour = ll(pkt.src)
                    || matches!(self.env.host.route(pkt.src), Some((d, None)) if d == dev);
                let sends = from.is_some() && (target == pkt.dst || ll(target)) && neighbour;
                // `dst_neigh_lookup`: the option only where the device has link-layer
                // addresses and the entry is valid — certain for a permanent entry the
                // configuration lists (`ip -j neigh`), otherwise not known.
                let host = &self.env.host;
                let tlla = if host.noarp.iter().any(|d| d == dev) {
                    Some(false)
                } else if host
                    .neigh_permanent
                    .as_ref()
                    .is_some_and(|n| n.iter().any(|(d, a)| d == dev && *a == target))
                {
                    Some(true)
                } else {
                    None
                };
                Some(Redirect::V6 {
                    from: from.unwrap_or(pkt.dst),
                    sends,
                    tlla,
                })
            }
        }
    }

    /// The redirect [`Engine::redirect_for`] finds, sent if its rate limit lets it
    /// ([`icmp_limit::IcmpLimiter::redirect`], [`icmp_limit::IcmpLimiter::redirect6`]): it
    /// crosses OUTPUT and POSTROUTING now, before the packet's FORWARD. IPv4's `icmp_send`
    /// carries this packet's connection (`icmp_glue_bits` → `nf_ct_attach`: RELATED,
    /// unconfirmed for a first packet, whatever FORWARD then does; recorded labs
    /// `router-redirect-related`, `router-redirect-nat`); IPv6's `ndisc_send_skb` attaches
    /// nothing (conntrack calls a redirect INVALID) and sends it from the router's link-local
    /// address with hop limit 255 (recorded labs `router-redirect-related`,
    /// `router6-redirect`).
    fn forward_redirect(&mut self, pkt: &Packet, hc: &mut HookCtx) {
        let Some(redirect) = self.redirect_for(pkt, hc) else {
            return;
        };
        let hz = self.params.hz as u64;
        let allow = match redirect {
            Redirect::V4 => self.icmp_limit.redirect(pkt.src, hc.now, hz),
            Redirect::V6 { sends, .. } => {
                self.icmp_limit
                    .redirect6(pkt.dst, sends.then_some(pkt.src), hc.now, hz)
            }
        };
        if let icmp_limit::Allow::Maybe(why) = allow {
            // Not sent here; its counters in OUTPUT are not known either.
            hc.note_uncertain(DoubtSource::Any, || {
                format!("the router may send an ICMP redirect about it: {why}")
            });
        }
        if allow != icmp_limit::Allow::Yes || !self.opts.simulate_replies {
            return;
        }
        let clock = Clock {
            jiffies: hc.now,
            ns: hc.now_ns,
            phase: None,
        };
        let (_, doubt) = match redirect {
            Redirect::V4 => {
                let reply = crate::ext::RejectReply::Icmp {
                    icmp_type: 5,
                    code: 1,
                };
                self.reject_reply(pkt, reply, hc.skb.ct, clock, pkt.frame, true)
            }
            Redirect::V6 { from, tlla, .. } => {
                // Whether it carries the target's link-layer address decides its length and
                // its conntrack state: where fwcheck does not know, it does not make it (its
                // captured copy is judged as the host's packet; see "Not yet modelled").
                let Some(tlla) = tlla else {
                    return;
                };
                let reply = crate::ext::RejectReply::Icmpv6 {
                    icmp_type: 137,
                    code: 0,
                };
                let rp = reject::ndisc_redirect(pkt, from, tlla);
                let sig = answers::ReplySig::IcmpError {
                    src: rp.src,
                    dst: rp.dst,
                    kind: (137, 0),
                    quoted: (pkt.src, pkt.dst, pkt.proto, pkt.ports()),
                };
                self.send_reply(
                    pkt,
                    rp,
                    reply,
                    Attach::None,
                    clock,
                    pkt.frame,
                    true,
                    Some(sig),
                )
            }
        };
        if let Some(why) = doubt {
            hc.note_uncertain(DoubtSource::Any, || {
                format!("the ICMP redirect it causes may not leave: {why}")
            });
        }
    }

    /// The capture shows a forwarded packet leaving, not arriving: the host sent the frame (a
    /// Linux cooked header's "outgoing", or an Ethernet source that is one of the host's own
    /// link addresses), and the copy that came in — on another device, or the same — is not
    /// in the capture (a capture of one interface). Kernel hunt: a router captured on its
    /// uplink alone; the answers it forwarded there were taken for frames received on the
    /// uplink.
    fn leaving_copy(&self, pkt: &Packet) -> bool {
        if let Some(t) = cooked_type(&pkt.link) {
            return t == Some(crate::packet::PktType::Outgoing);
        }
        pkt.link
            .src_mac
            .is_some_and(|m| self.env.host.macs.contains(&m))
            && !self.looped_back(pkt)
    }

    /// A packet received with one of the host's own addresses as source, after PREROUTING:
    /// IPv4's input route refuses it (`fib_validate_source`: a local source is martian unless
    /// `accept_local`); what IPv6 does with it is not modelled, so its verdict is uncertain.
    fn martian_local_source(&self, pkt: &Packet, hc: &mut HookCtx) -> Option<TableResult> {
        if hc.indev == Dev::Lo {
            return None;
        }
        // `ip_route_input_slow`: 127.0.0.0/8 on another interface than lo is martian, as a
        // source or a destination (`net.ipv4.conf.*.route_localnet` is 0 by default).
        let loopback = |a: std::net::IpAddr| a.is_ipv4() && a.is_loopback();
        if loopback(pkt.src) || loopback(pkt.dst) {
            return Some(TableResult {
                verdict: TableVerdict::Drop,
                decision: Decision::Stack(if loopback(pkt.src) {
                    "martian source: 127.0.0.0/8 received on an interface other than lo \
                     (ip_route_input_slow, after PREROUTING; route_localnet off)"
                } else {
                    "martian destination: 127.0.0.0/8 received on an interface other than lo \
                     (ip_route_input_slow, after PREROUTING; route_localnet off)"
                }),
            });
        }
        if !self.is_local(pkt.src) || pkt.src.is_loopback() {
            return None;
        }
        if pkt.family == crate::packet::Family::V6 {
            hc.note_uncertain(DoubtSource::Any, || {
                "an IPv6 packet from one of the host's own addresses, received from outside: \
                 what the input route does with it is not modelled"
                    .into()
            });
            return None;
        }
        Some(TableResult {
            verdict: TableVerdict::Drop,
            decision: Decision::Stack(
                "martian source: one of the host's own addresses, received from outside \
                 (fib_validate_source, after PREROUTING)",
            ),
        })
    }

    /// `ip_rcv_options`, after the input route: options `ip_options_compile` refuses drop the
    /// packet with an ICMP parameter problem (`icmp_send` from `ip_options_compile`, RELATED
    /// to the packet's connection like REJECT's, and rate-limited; kernel hunt: the error for
    /// a malformed record-route option left RELATED where fwcheck had it INVALID); a source
    /// route (`accept_source_route` 0) is dropped without one.
    fn ip_options(&self, pkt: &Packet, hc: &mut HookCtx) -> Option<TableResult> {
        if pkt.family != crate::packet::Family::V4 || pkt.ip_hdr_len <= 20 {
            return None;
        }
        let opts = pkt.data.get(20..pkt.ip_hdr_len as usize)?;
        let why = ipv4_options_refused(opts)?;
        if why != SOURCE_ROUTE_REFUSED {
            hc.stack_error = Some(crate::ext::RejectReply::Icmp {
                icmp_type: 12,
                code: 0,
            });
        }
        Some(TableResult {
            verdict: TableVerdict::Drop,
            decision: Decision::Stack(why),
        })
    }

    /// Which way the packet goes (`None` with a reason when it is not judged).
    pub fn classify(&self, pkt: &Packet) -> Result<Direction, &'static str> {
        if let Some(why) = self.env.parent_copy(pkt) {
            return Err(why);
        }
        if pkt.family != self.rs.family {
            // iptables rules never see IPv6 packets, nor ip6tables rules IPv4 ones.
            return Err(match pkt.family {
                crate::packet::Family::V6 => {
                    "IPv6 packet: an iptables (IPv4) ruleset never sees it (check it against \
                     the ip6tables ruleset, e.g. rules.v6)"
                }
                crate::packet::Family::V4 => {
                    "IPv4 packet: an ip6tables (IPv6) ruleset never sees it (check it against \
                     the iptables ruleset, e.g. rules.v4)"
                }
            });
        }
        // A packet with one of the host's addresses as source that the capture shows arriving
        // from outside (a spoofed source) is received, not sent: PREROUTING sees it, then the
        // input route refuses it (`martian_check`).
        // So is one from no address (IPv6 `::`: duplicate address detection's neighbour
        // solicitations, MLD reports before the link-local address is ready, both sent
        // through OUTPUT by `ndisc_send_skb` / `mld_sendpack`; IPv4 0.0.0.0: a DHCP client's)
        // that the capture shows the host sending.
        if self.bridged_past_host(pkt) {
            // `br_nf_pre_routing` returns at once when `bridge-nf-call-iptables` is 0 (or the
            // host has no br_netfilter): the bridge forwards the frame, no iptables hook sees it.
            if !self.bridge_nf_calls(pkt) {
                return Err(
                    "bridged, not for this host: a frame on a bridge port for a link address no \
                     device of the host has is forwarded by the bridge (br_handle_frame_finish), \
                     and with bridge-nf-call-iptables=0 (--sysctl) no iptables hook sees it",
                );
            }
            return if self.opts.router {
                Ok(Direction::Forward)
            } else {
                Err(
                    "not for this host: a frame on a bridge port for a link address no device of \
                     the host has is bridged, never passed up (br_handle_frame_finish); with \
                     br_netfilter its FORWARD and POSTROUTING are judged with --router",
                )
            };
        }
        let from_host =
            self.is_local(pkt.src) || (pkt.src.is_unspecified() && self.sent_from_here(pkt));
        let src_local = from_host && !self.arrived_from_outside(pkt);
        // A broadcast or a multicast group is delivered to the host (if it joined the group:
        // the input route decides after PREROUTING) — or sent by it, when the source is its.
        let dst_here = if from_host {
            self.delivered_to(pkt.dst)
        } else {
            self.received_for_host(pkt)
        };
        let to_many = !dst_here && (pkt.dst.is_multicast() || self.env.is_broadcast(pkt.dst));
        let dst_local = dst_here || to_many;
        Ok(match (src_local, dst_local) {
            (true, true) if to_many => Direction::Out,
            (true, true) => Direction::Local,
            // Everything on lo the host sent itself, whatever its source: REJECT's reset for
            // its packet to another host comes from that host's address (`nf_send_reset`) and
            // crosses OUTPUT before lo (kernel hunt, lab `lo-output-reject`).
            (false, true) if self.on_lo(pkt) => Direction::Local,
            (false, true) => Direction::In,
            (true, false) => Direction::Out,
            (false, false) if self.opts.router || self.delivered_here(pkt) => Direction::Forward,
            (false, false) => {
                return Err("not for this host (neither source nor destination is a host address)")
            }
        })
    }

    /// Replay one packet through the ruleset, at the time of its capture time stamp.
    pub fn process(&mut self, pkt: &Packet) -> Outcome {
        let clock = self.capture_clock(pkt.ts);
        self.process_at(pkt, clock)
    }

    /// A rate-limited ICMP error the host sent, which fwcheck did not make (not REJECT's, not
    /// the stack's about a packet fwcheck dropped: those were recognised before): the stack's
    /// own (a closed UDP port's port unreachable…) took its token from the peer's bucket in
    /// `icmpv4_xrlim_allow` / `icmpv6_xrlim_allow`, which REJECT's errors to that peer share.
    fn stack_icmp_error_sent(&mut self, pkt: &Packet, now: u64) {
        let (crate::packet::L4::Icmp(i) | crate::packet::L4::Icmpv6(i)) = &pkt.l4 else {
            return;
        };
        let v6 = pkt.family == crate::packet::Family::V6;
        if !icmp_limit::limited(v6, i.icmp_type, i.code) || self.is_local(pkt.dst) {
            return;
        }
        let hz = self.params.hz as u64;
        let interval = if v6 { hz / 10 } else { hz };
        self.icmp_limit.sent(pkt.dst, now, interval.max(1), hz);
    }

    /// Whether `pkt`, if it is a UDP or ICMP flow's first, may belong to a connection the
    /// kernel tracked before the capture began ([`SimOptions::capture_file`]): its time since
    /// the capture's first frame is within the longest timeout such an entry can have (UDP:
    /// `udp_stream`, refreshed by the last packet before the capture; ICMP: `icmp`).
    fn may_predate(&self, pkt: &Packet, clock: Clock) -> bool {
        if !self.opts.capture_file || self.opts.env.conntrack_empty_at_start {
            return false;
        }
        use crate::conntrack::proto::{icmp, icmpv6, udp};
        let slot = match pkt.proto {
            crate::packet::proto::UDP => udp::TIMEOUT_REPLIED,
            crate::packet::proto::ICMP => icmp::TIMEOUT_ICMP,
            crate::packet::proto::ICMPV6 => icmpv6::TIMEOUT_ICMPV6,
            _ => return false,
        };
        clock.ns < self.params.timeouts.get(slot).saturating_mul(1_000_000_000)
    }

    /// The clock of a capture time stamp (what [`Engine::process`] runs a packet at).
    pub fn capture_clock(&mut self, ts: crate::packet::Timestamp) -> Clock {
        let now = self.jiffies(ts.0);
        let ns = ts.0.saturating_sub(self.origin.unwrap_or(ts.0));
        // The phase of the time the packet runs at (a frame stamped before an earlier one
        // runs at the later time, see `jiffies`).
        let at = self.latest_ts - self.origin.unwrap_or(self.latest_ts);
        Clock {
            jiffies: now,
            ns,
            phase: Some(self.phase_at(at)),
        }
    }

    /// Where a time `at` ns after the capture's first frame falls within its jiffy, in
    /// billionths of one (`at · HZ mod 10⁹`, computed without overflow).
    fn phase_at(&self, at: u64) -> u32 {
        ((at % 1_000_000_000) * self.env.hz as u64 % 1_000_000_000) as u32
    }

    /// Replay one packet at an explicit time (e.g. the clock a real kernel had when it saw
    /// the packet). Times must not go backwards.
    pub fn process_at(&mut self, pkt: &Packet, clock: Clock) -> Outcome {
        self.process_staged(pkt, clock, Stage::Whole)
    }

    /// [`Engine::process_at`] for part of the inbound path (see [`Stage`]). For a packet that
    /// is not inbound (or a router's), the whole path runs whatever the stage.
    pub(crate) fn process_staged(&mut self, pkt: &Packet, clock: Clock, stage: Stage) -> Outcome {
        // Filled in place: an outcome returned through the layers below was copied at each.
        let mut out = Outcome::empty(pkt.frame, Direction::None);
        self.process_into(pkt, clock, stage, None, &mut out);
        out
    }

    /// [`Engine::process_staged`] starting from the kernel state `skb` carries (marks, TOS/TTL
    /// changes…) instead of a fresh packet's, returning the state the packet ended with. Used
    /// for a datagram reassembled between PREROUTING and INPUT, which keeps what its first
    /// fragment got in PREROUTING (`skb_morph` onto the head fragment).
    pub(crate) fn process_with_skb(
        &mut self,
        pkt: &Packet,
        clock: Clock,
        stage: Stage,
        skb: Option<Skb>,
    ) -> (Outcome, Skb) {
        let mut out = Outcome::empty(pkt.frame, Direction::None);
        let skb = self.process_into(pkt, clock, stage, skb, &mut out);
        (out, skb)
    }

    /// [`Engine::process_with_skb`] writing the outcome into `out` (whatever it held is
    /// replaced), returning the packet's final kernel state.
    pub(crate) fn process_into(
        &mut self,
        pkt: &Packet,
        clock: Clock,
        stage: Stage,
        skb: Option<Skb>,
        out: &mut Outcome,
    ) -> Skb {
        self.tally.in_packet.clear();
        let skb = self.process_with_skb_counted(pkt, clock, stage, skb, out);
        self.gso_next = false;
        // Ended before its hooks (recognised, dropped by the stack): still in doubt.
        if let Some(why) = self.next_doubt.take() {
            if out.certain {
                out.certain = false;
                out.reason = Some(why);
            }
        }
        if !out.certain {
            self.counter_doubt
                .extend(self.tally.in_packet.iter().copied());
            self.counter_over
                .extend(self.tally.in_packet.iter().copied());
        }
        skb
    }

    /// The body of [`Engine::process_into`] (which then marks the counters an uncertain packet
    /// bumped).
    fn process_with_skb_counted(
        &mut self,
        pkt: &Packet,
        clock: Clock,
        stage: Stage,
        skb: Option<Skb>,
        out: &mut Outcome,
    ) -> Skb {
        let now = clock.jiffies;
        self.conntrack.set_phase(clock.phase);
        let behind = self.behind.take();
        // Stamped before an earlier frame: conntrack's expiry must read the same at the time
        // the kernel handled it (its own time stamp, `clock.ns`) as at the time it runs at.
        let own = behind.map(|_| {
            let j = JIFFIES_BASE + self.env.jiffies(clock.ns);
            (j, self.phase_at(clock.ns))
        });
        self.conntrack.set_own_clock(own);
        self.packet_behind = behind;
        let direction = match self.classify(pkt) {
            Ok(d) => d,
            Err(why) => {
                *out = Outcome::unjudged(pkt.frame, why);
                return Skb::default();
            }
        };
        *out = Outcome::empty(pkt.frame, direction);
        if pkt.proto == 58 {
            self.nd_seen(pkt, direction);
        }
        let recognise = self.opts.recognise_answers && stage == Stage::Whole;
        // A table of answers that pushed out what this packet may be: judged, uncertain.
        let mut maybe_answer = None;
        if recognise {
            match self.answers.forwarded_copy(pkt, clock.ns) {
                Some(answers::Recognised::ForwardedCopy(f)) => {
                    out.answer_to = Some(AnswerTo::ForwardedCopy(f));
                    out.reason = Some(
                        "the router's outgoing copy of a forwarded packet: judged when it came \
                         in (the kernel counts it once)"
                            .into(),
                    );
                    return Skb::default();
                }
                Some(answers::Recognised::TeeClone(f)) => {
                    out.answer_to = Some(AnswerTo::ForwardedCopy(f));
                    out.reason = Some(format!(
                        "TEE's clone of an earlier packet: of frame {f}, judged when TEE sent \
                         it through OUTPUT and POSTROUTING, untracked (the kernel counts it once)"
                    ));
                    return Skb::default();
                }
                Some(answers::Recognised::ForwardedSegment(f)) => {
                    out.answer_to = Some(AnswerTo::ForwardedCopy(f));
                    out.reason = Some(
                        "a segment of a GSO packet the router forwarded whole and cut on its way \
                         out (its output device does not segment): judged when it came in (the \
                         kernel counts it once)"
                            .into(),
                    );
                    return Skb::default();
                }
                Some(answers::Recognised::PickedCopy { pick, src, port }) => {
                    let frame = pick.frame;
                    out.answer_to = Some(AnswerTo::ForwardedCopy(frame));
                    out.reason = Some(if nat::settle_pick(self, pick, (src, port), now) {
                        format!(
                            "the router's outgoing copy of a forwarded packet: judged when it came \
                             in (the kernel counts it once); it shows the source the kernel's \
                             SNAT chose for frame {frame}'s connection, {src} and port (ICMP \
                             id) {port}"
                        )
                    } else {
                        "the router's outgoing copy of a forwarded packet: judged when it came \
                         in (the kernel counts it once)"
                            .into()
                    });
                    return Skb::default();
                }
                Some(answers::Recognised::Maybe(why)) => maybe_answer = Some(why),
                _ => {}
            }
            // The host's own packet as a capture on the host shows it, after a NATed
            // connection's translation (a locally DNATed or REDIRECTed connection's replies
            // leave with the port the client asked for): run it as its socket sent it.
            // On a router such a reply leaves with the address the client asked for, not one
            // of the host's (kernel hunt: a transparent proxy's answers were taken for
            // forwarded packets, and the connection for INVALID).
            if matches!(direction, Direction::Out | Direction::Forward)
                && self.conntrack.translated()
            {
                // (Not an ICMP error fwcheck sent itself, which it recognises as it is.)
                let own_error = matches!(
                    pkt.l4,
                    crate::packet::L4::Icmp(_) | crate::packet::L4::Icmpv6(_)
                ) && self.answers.holds_reply(pkt);
                let sent = (!own_error)
                    .then(|| nat::as_sent(&mut self.conntrack, pkt, now))
                    .flatten();
                if let Some(sent) = sent {
                    if direction == Direction::Out || self.is_local(sent.src) {
                        self.behind = behind;
                        let skb = self.process_into(&sent, clock, stage, skb, out);
                        // Reported as captured (an ICMP error as sent is addressed to the
                        // host's own translated address: it left).
                        out.direction = direction;
                        return skb;
                    }
                }
            }
        }
        // A reply to the host's own packet over lo (REJECT in INPUT of a packet to itself)
        // crossed the whole loop when REJECT sent it, its connection attached (RELATED) and
        // kept on lo: the captured copy is that packet (kernel hunt, lab `lo-self-reject`: it
        // was judged a second time, INVALID in OUTPUT and INPUT).
        if recognise && direction != Direction::In && direction != Direction::None {
            let recognised = if direction == Direction::Out {
                self.answers.outbound(pkt, clock.ns, self.ct_active)
            } else {
                self.answers.reject_reply(pkt, clock.ns)
            };
            match recognised {
                Some(answers::Recognised::RejectReply(r)) => {
                    out.verdict = Some(r.verdict);
                    out.decision = r.decision;
                    out.ctstate = r.ctstate;
                    out.certain = r.certain;
                    out.answer_to = Some(AnswerTo::RejectReply(r.to_frame));
                    out.reason = Some(if r.by_stack {
                        format!(
                            "the stack's ICMP error about frame {}: judged when the stack sent it \
                             (the kernel counts it once)",
                            r.to_frame
                        )
                    } else {
                        format!(
                            "REJECT's reply to frame {}: judged when REJECT sent it (the kernel \
                             counts it once)",
                            r.to_frame
                        )
                    });
                    return Skb::default();
                }
                Some(answers::Recognised::NotSent { to_frame }) => {
                    out.answer_to = Some(AnswerTo::NotSent(to_frame));
                    out.reason = Some(format!(
                        "would not be sent: it answers frame {to_frame}, a request the ruleset \
                         drops"
                    ));
                    return Skb::default();
                }
                Some(answers::Recognised::Maybe(why)) => maybe_answer = Some(why),
                Some(
                    answers::Recognised::ForwardedCopy(_)
                    | answers::Recognised::PickedCopy { .. }
                    | answers::Recognised::ForwardedSegment(_)
                    | answers::Recognised::TeeClone(_),
                )
                | None => {}
            }
        }
        // REJECT's reply to a packet of the host's that OUTPUT rejected: the packet is not in
        // the capture, its reply is (over lo). Rebuilt, the packet crosses OUTPUT as in the
        // kernel, and REJECT's reply it causes is this one.
        if recognise && direction == Direction::Local && maybe_answer.is_none() {
            if let Some((orig, doubt, neigh)) = self.unsent_original(pkt) {
                if let Some(why) = doubt {
                    self.next_doubt = Some(why.to_string());
                }
                self.behind = behind;
                let o = self.process_with_skb(&orig, clock, stage, None);
                self.tally.in_packet.clear();
                match self.answers.reject_reply(pkt, clock.ns) {
                    Some(answers::Recognised::RejectReply(r)) => {
                        out.verdict = Some(r.verdict);
                        out.decision = r.decision;
                        out.ctstate = r.ctstate;
                        out.certain = r.certain && o.0.certain;
                        if self.opts.trace {
                            // `trace`: the rebuilt packet's way, then this reply.
                            out.trace.push(TraceEvent::Note {
                                text: format!(
                                    "not in the capture: the host's packet this answers, \
                                     rebuilt from it: {}",
                                    trace::describe_packet(&orig)
                                ),
                            });
                            out.trace.extend(o.0.trace);
                            out.trace.push(TraceEvent::Note {
                                text: "this frame is that REJECT's reply (RELATED to the \
                                       rejected packet's connection), judged when it was sent"
                                    .into(),
                            });
                        }
                        if !out.certain {
                            out.reason = o.0.reason.clone();
                        }
                        out.reason.get_or_insert_with(|| {
                            "REJECT's reply to the host's own packet, which OUTPUT rejected \
                             (so it never reached lo and is not in the capture): rebuilt from \
                             the reply and judged first; the reply carries its connection \
                             (RELATED)"
                                .into()
                        });
                        return Skb::default();
                    }
                    // `arp_error_report` / `ndisc_error_report`: the packet left OUTPUT and
                    // POSTROUTING (its connection confirmed) and waited for a neighbour that
                    // never answered; the stack's error carries that connection (RELATED).
                    _ if neigh
                        && o.0.verdict == Some(Verdict::Accept)
                        && o.0.direction == Direction::Out => {}
                    _ => maybe_answer = Some(NOT_REJECTED_HERE),
                }
            }
        }
        if direction == Direction::Out {
            self.stack_icmp_error_sent(pkt, now);
        }
        // ip_rcv_core / ipv6_rcv: some received packets never reach netfilter.
        let received = matches!(direction, Direction::In | Direction::Forward);
        if received && stage != Stage::FromInput {
            let stacked = !self.env.host.links.is_empty() || pkt.link.vlan.is_some();
            let why = match stacked.then(|| self.env.vlan_rx(pkt)).flatten() {
                Some(crate::host::VlanRx::NoDevice) => Some(
                    "802.1Q tag whose VLAN id no VLAN device of the capture's interface carries \
                     (vlan_do_receive finds none: PACKET_OTHERHOST)",
                ),
                // A bridge port takes frames for any link address (the bridge passes up
                // those for its own, forwards the rest): "not addressed to this port" is not
                // a drop there.
                _ if stacked
                    && pkt.link.pkt_type == crate::packet::PktType::OtherHost
                    && self.env.host.ip_master(self.env.captured_on(pkt)).is_some() =>
                {
                    pkt.kernel_drop_reason_past_link()
                }
                // An Ethernet frame for another host's link address (the capture's own
                // `pkt_type` says so in a Linux cooked capture): kernel hunt, a promiscuous
                // capture's frames for another MAC were judged, their replies invented.
                // (Not a frame the host sent itself: kernel hunt, a router's outgoing copies of
                // forwarded packets, captured on their way out, were taken for such frames.)
                // The device is known when the capture names it or `--iface` does.
                _ if stacked
                    && pkt.link.pkt_type == crate::packet::PktType::Host
                    && cooked_type(&pkt.link).is_none()
                    && !pkt
                        .link
                        .src_mac
                        .is_some_and(|m| self.env.host.macs.contains(&m))
                    && pkt.link.dst_mac.is_some_and(|m| {
                        let named = !self.env.iface_from_capture
                            || pkt.link.ifname.is_some()
                            || pkt.link.ifindex.is_some();
                        let dev = named.then(|| self.env.captured_on(pkt));
                        self.env.host.other_host(dev, m)
                    }) =>
                {
                    Some(
                        "frame for another host's link address (PACKET_OTHERHOST: a \
                         promiscuous capture shows it; ip_rcv_core drops it)",
                    )
                }
                _ => pkt.kernel_drop_reason(),
            };
            // ip6_rcv_core (RFC 4291 2.5.3): ::1 as source or destination on a device other
            // than lo.
            let why = why.or_else(|| {
                (pkt.family == crate::packet::Family::V6
                    && (pkt.src.is_loopback() || pkt.dst.is_loopback())
                    && self.input_dev(pkt) != Dev::Lo)
                    .then_some("IPv6 loopback address received on a device other than lo")
            });
            if let Some(why) = why {
                out.verdict = Some(Verdict::Drop);
                out.decision = Some(Decision::Stack(why));
                out.reason = Some(format!("dropped by the IP stack before netfilter: {why}"));
                return Skb::default();
            }
        }
        let skb = skb.unwrap_or(Skb {
            tos: pkt.tos,
            ttl: pkt.ttl,
            ..Skb::default()
        });
        self.pick_doubt = None;
        // Built in place, not through `HookCtx::fresh`: once per packet, and the moved
        // struct measured slower on the replay's thread.
        let mut hc = HookCtx {
            indev: Dev::None,
            outdev: Dev::None,
            now,
            now_ns: clock.ns,
            skb,
            trace_on: self.opts.trace,
            trace: Vec::new(),
            why_uncertain: None,
            doubt_src: None,
            accepted: None,
            ct_new: None,
            unknowns: 0,
            force: self.force_unknown.take(),
            undecided: Vec::new(),
            stack_error: None,
            path_doubt: None,
            gso: std::mem::take(&mut self.gso_next) && direction == Direction::Out,
            behind,
        };
        hc.skb.may_predate = self.may_predate(pkt, clock);
        // A packet from a neighbour that has not answered the host: its connection may have a
        // reply of the host's waiting unseen (the conntrack match weighs that world; kernel
        // hunt, lab `nd-unanswered`: a ping's second request ESTABLISHED, fwcheck had NEW).
        hc.skb.neigh_wait =
            !self.neigh_unanswered.is_empty() && self.neigh_unanswered.contains(&pkt.src);
        if let Some(why) = self.next_doubt.take() {
            hc.note_uncertain(DoubtSource::Any, || why);
        }
        if let Some(why) = maybe_answer {
            hc.note_uncertain(DoubtSource::Any, || why.to_string());
        }
        if let Some(crate::host::VlanRx::Unknown | crate::host::VlanRx::NoDevice) = pkt
            .link
            .vlan
            .is_some()
            .then(|| self.env.vlan_rx(pkt))
            .flatten()
        {
            // (`NoDevice` here: sent by the host, which then has a VLAN device the
            // configuration does not show.)
            hc.note_uncertain(DoubtSource::Any, || {
                format!(
                    "its 802.1Q tag (VLAN id {}) on {}: which VLAN device carries that id — \
                     the interface the rules see, or none, and the kernel drops it before \
                     netfilter — is not known (give --host-config with `ip -d -j addr`)",
                    pkt.link.vlan.unwrap_or(0),
                    self.env.captured_on(pkt)
                )
            });
        }
        if direction == Direction::Out
            && pkt.family == crate::packet::Family::V4
            && pkt.src.is_unspecified()
        {
            // A DHCP client sends its DISCOVER and REQUEST from 0.0.0.0 through a packet
            // socket (dhclient, udhcpc, systemd-networkd, NetworkManager: `packet_snd` →
            // `dev_queue_xmit`), which no hook sees; a raw or UDP socket of a host without an
            // IPv4 address (`inet_select_addr` finds none) sends the same through OUTPUT.
            hc.note_uncertain(DoubtSource::Any, || {
                "sent from 0.0.0.0: a DHCP client's packet socket skips netfilter (the kernel \
                 counts it nowhere), a raw or UDP socket crosses OUTPUT; the capture cannot \
                 tell which"
                    .to_string()
            });
        }
        if matches!(direction, Direction::Out | Direction::Local) && !hc.is_uncertain() {
            if let Some(why) = self.rewritten_on_the_way_out(pkt) {
                hc.note_uncertain(DoubtSource::Any, || why);
            }
        }
        let mut cur = Cow::Borrowed(pkt);
        let end = if direction == Direction::In && stage != Stage::Whole {
            hc.indev = self.input_dev(pkt);
            match stage {
                Stage::PreroutingOnly => self
                    .hook(Hook::Prerouting, &mut cur, &mut hc, out)
                    .or_else(|| martian_addresses(&cur))
                    .or_else(|| self.ip_options(&cur, &mut hc))
                    .or_else(|| self.route_local_in(&cur, &mut hc)),
                _ => self.hook(Hook::Input, &mut cur, &mut hc, out),
            }
        } else {
            self.traverse(direction, &mut cur, &mut hc, out)
        };
        if let Some(why) = hc.skb.pickup_doubt {
            hc.note_uncertain(DoubtSource::Any, || why.to_string());
        }
        if out.direction == Direction::Local && out.ctstate == Some(CtLabel::Invalid) {
            if let Some(why) = self.orphan_reply(pkt) {
                hc.note_uncertain(DoubtSource::Any, || why.to_string());
            }
        }
        out.trace = std::mem::take(&mut hc.trace);
        out.undecided = std::mem::take(&mut hc.undecided);
        // A forwarded packet's SNAT port (ICMP id) the kernel chose at random: nothing after
        // the nat table's source manipulation reads it, so the packet's own verdict and
        // counters stand; its connection's later packets are in doubt until the packet's
        // outgoing copy shows the choice. Elsewhere (no copy to come) the packet is in doubt.
        let pick = match self.pick_doubt.take() {
            Some(p) if recognise && out.direction == Direction::Forward => Some(p),
            Some((_, why)) => {
                hc.note_uncertain(DoubtSource::Any, || why);
                None
            }
            None => None,
        };
        if let Some(u) = hc.why_uncertain.take() {
            out.certain = false;
            out.reason = Some(u);
        } else if let Some(n) = hc.path_doubt.take() {
            out.reason.get_or_insert(n);
        }
        let result = end.or(hc.accepted).unwrap_or(TableResult {
            verdict: TableVerdict::Accept,
            decision: Decision::NoRules,
        });
        out.decision = Some(result.decision);
        let mut reply_doubt = None;
        out.verdict = Some(match result.verdict {
            TableVerdict::Accept | TableVerdict::Nat(_) => Verdict::Accept,
            TableVerdict::Drop => Verdict::Drop,
            TableVerdict::Reject(r) => {
                let sent;
                (sent, reply_doubt) =
                    self.reject_reply(&cur, r, hc.skb.ct, clock, pkt.frame, false);
                out.reject = Some(RejectInfo { reply: r, sent });
                Verdict::Reject
            }
        });
        // The stack's own error for a packet it dropped before FORWARD leaves like REJECT's
        // (`icmp_glue_bits` attaches the dropped packet's connection: RELATED).
        if let Some(error) = hc.stack_error.take() {
            reply_doubt = self
                .reject_reply(&cur, error, hc.skb.ct, clock, pkt.frame, true)
                .1;
        }
        // nf_confirm: the connection's helper reads the accepted packet (and may drop it, or
        // rewrite it), then the sequence numbers are adjusted.
        if stage != Stage::PreroutingOnly {
            self.run_helper(&mut cur, &mut hc, out);
        }
        // Confirm the new connection if the packet survived; otherwise it dies with it.
        // `__nf_conntrack_confirm`: a connection whose tuple another one already holds in the
        // table, in either direction (NAT kept or picked a taken port: a one-port range, every
        // port of a range in use), is a clash `nf_ct_resolve_clash` does not resolve for TCP
        // (no `allow_clash`, which UDP, ICMP and GRE have): the packet is dropped after every
        // hook counted it.
        let mut confirmed = None;
        if let Some(id) = hc.ct_new {
            if out.verdict == Some(Verdict::Accept) {
                match self.conntrack.confirm_or_clash(id, now) {
                    Ok(()) => confirmed = Some(id),
                    Err(clash) if stage != Stage::PreroutingOnly && cur.proto == 6 => {
                        out.verdict = Some(Verdict::Drop);
                        out.decision = Some(Decision::Conntrack(
                            "its connection clashes with one already tracked \
                             (nf_conntrack_confirm: insert failed)",
                        ));
                        // The connection it clashes with may not be the kernel's.
                        let doubt = clash.and_then(|o| self.conntrack.get(o)).and_then(|e| {
                            e.tuple
                                .iter()
                                .find_map(|t| self.taint.tuple_cause(t))
                                .map(|(why, _)| why.to_string())
                        });
                        if let Some(why) = doubt {
                            hc.doubt_src = Some(DoubtSource::Any);
                            if out.certain {
                                out.certain = false;
                                out.reason = Some(format!(
                                    "its connection clashes with one whose state depends \
                                     on an earlier guess: {why}"
                                ));
                            }
                        }
                    }
                    Err(_) => {}
                }
            } else {
                self.conntrack.discard(id);
            }
        }
        // A forwarded packet's copy on its output interface, if the capture has it, is this one.
        if recognise && out.direction == Direction::Forward && out.verdict == Some(Verdict::Accept)
        {
            let sig = answers::CopySig::of(&cur, hc.skb.ttl);
            match &pick {
                Some((p, _)) if out.certain => self.answers.picked(sig, *p, clock.ns),
                _ => self.answers.forwarded(sig, pkt.frame, clock.ns),
            }
            self.answers
                .forwarded_train(&cur, hc.skb.ttl, pkt.frame, clock.ns);
            // Out by the bridge it came in on: with `br_netfilter` the bridge forwarded it
            // between two of its ports (`br_nf_pre_routing_finish_bridge`), its TTL whole.
            let dev = self.env.iface_of(pkt);
            let (i, o) = (
                hc.indev.name(dev, &self.env),
                hc.outdev.name(dev, &self.env),
            );
            if i == o && self.env.host.has_port_of(i) {
                self.answers
                    .forwarded(answers::CopySig::of(&cur, pkt.ttl), pkt.frame, clock.ns);
            }
        }
        // What the reply did (OUTPUT's counters, its captured copy) rests on the kernel's ICMP
        // rate limit, whose state was uncertain.
        if let Some(why) = reply_doubt {
            hc.doubt_src = Some(DoubtSource::Any);
            if out.certain {
                out.certain = false;
                out.reason = Some(format!("the ICMP error it causes may not leave: {why}"));
            }
        }
        if let Attach::Ct { id, .. } = hc.skb.ct {
            self.conntrack.release(id);
        }
        // What put an uncertain packet in doubt, for the address-keyed state below: only one
        // match's undecided answers, or more (the connection's state, left uncertain by an
        // earlier packet, too: then it may not even have reached that match in the kernel).
        let doubt_src = match hc.doubt_src {
            Some(s @ DoubtSource::Match(_))
                if !(self.ct_active && self.state_doubt(pkt, out.ctstate).is_some()) =>
            {
                s
            }
            _ => DoubtSource::Any,
        };
        // Uncertainty through state: an uncertain verdict leaves its connection's state
        // uncertain, and every later packet of it inherits the doubt, with the original cause.
        if self.ct_active {
            if !out.certain {
                let why = out.reason.as_deref().unwrap_or("unknown");
                self.taint.mark(pkt, why);
                // Through NAT the replies carry the binding's tuple: it shares the doubt.
                if let Some(e) = confirmed.and_then(|id| self.conntrack.get(id)) {
                    if conntrack::invert(&e.tuple[0]).is_some_and(|r| r != e.tuple[1]) {
                        let reply = e.tuple[1];
                        self.taint.mark_tuple(&reply, pkt.frame, why);
                    }
                }
                // Dropped here, perhaps accepted in the kernel: with SNAT there, its source
                // port may be bound in the kernel and not here.
                if confirmed.is_none()
                    && self.table_index[TableKind::Nat as usize].is_some()
                    && matches!(direction, Direction::Forward | Direction::Out)
                {
                    self.taint.mark_port(pkt);
                }
            } else if let Some(((_, why), id)) = pick.as_ref().zip(confirmed) {
                // The pick's doubt on the connection, both ways, until its copy settles it.
                self.taint.mark(pkt, why);
                if let Some(e) = self.conntrack.get(id) {
                    let reply = e.tuple[1];
                    self.taint.mark_tuple(&reply, pkt.frame, why);
                }
            } else if let Some((cause, frame)) = self.state_doubt(pkt, out.ctstate) {
                let cause = cause.to_string();
                // Its own flow carries the doubt on (when it came through a NAT port the
                // kernel chose, the flow itself was not marked).
                self.taint.adopt(pkt, frame, &cause);
                out.certain = false;
                out.tainted_by = frame;
                out.reason = Some(match out.reason.take() {
                    Some(r) => {
                        format!("connection state depends on an earlier guess: {cause}; {r}")
                    }
                    None => format!("connection state depends on an earlier guess: {cause}"),
                });
            }
        }
        // An uncertain verdict: what this packet did to address-keyed state is uncertain too —
        // unless the host sent it, decided every match on its way, and no way out meets any
        // state: its doubt is its connection's (an answer to a request whose verdict was
        // uncertain), and whether sent or not, by whichever path, it changed no state.
        // (Marking its addresses for any cause would make a `hashlimit` rule's own undecided
        // answer, echoed by the host's answer to it, doubt every later packet of the address.)
        let quiet = direction == Direction::Out
            && hc.unknowns == 0
            && hc.doubt_src.is_none()
            && self.slot_base.quiet_on_the_way_out();
        if !out.certain && self.slot_base.has_stateful() && !quiet {
            let protos = crate::ext::proto_bit(pkt.proto);
            self.ext.doubt.mark_from(pkt.src, doubt_src, protos);
            self.ext.doubt.mark_from(pkt.dst, doubt_src, protos);
            // And so is what it did to `limit` buckets, unless the traversal already said so
            // when it met the match it could not decide.
            if hc.unknowns == 0 {
                self.ext.doubt.mark_limits(now, clock.ns, None, pkt.frame);
            }
        }
        // IPsec reached the host (ESP, AH, IPcomp, ESP in UDP) through its INPUT, or perhaps
        // did: xfrm may decapsulate later packets on that interface (`-m policy --dir in`).
        if direction == Direction::In
            && stage != Stage::PreroutingOnly
            && (out.verdict == Some(Verdict::Accept) || !out.certain)
            && crate::ext::matches::policy::ipsec_carrier(pkt)
        {
            let dev = self.env.iface_of(pkt);
            if !self.ext.ipsec_ifaces.iter().any(|i| i == dev) {
                self.ext.ipsec_ifaces.push(dev.to_string());
            }
        }
        // After the taint: a request whose fate is uncertain does not make its answers unsent.
        if self.opts.recognise_answers
            && direction == Direction::In
            && stage != Stage::PreroutingOnly
        {
            // With conntrack, only the packet that would have created its connection
            // (`ct_new`) takes its conversation's answers with it when dropped.
            let first = self.ct_active.then_some(hc.ct_new.is_some());
            self.answers
                .inbound(pkt, out.verdict, out.certain, out.ctstate, first);
        }
        hc.skb
    }

    /// Walk the hooks of `direction`, routing between them. `Some` = the packet ended (dropped,
    /// rejected, or refused by routing); `None` = it made it through.
    fn traverse(
        &mut self,
        direction: Direction,
        pkt: &mut Cow<'_, Packet>,
        hc: &mut HookCtx,
        out: &mut Outcome,
    ) -> Option<TableResult> {
        match direction {
            Direction::In | Direction::Forward => {
                if let Some(why) = self.cooked_maybe_bridged(pkt, direction) {
                    hc.note_uncertain(DoubtSource::Any, || why.into());
                }
                hc.indev = self.input_dev(pkt);
                // `br_fdb_update`: the bridge learns the source behind the port.
                if let (Some(b), Some(mac)) = (bridge_port_of(&self.env, pkt), pkt.link.src_mac) {
                    let port = self.env.captured_on(pkt);
                    if port != b && self.env.host.captures_every_port(b) {
                        self.fdb.learn(b, mac, port, hc.now_ns);
                    }
                }
                // Captured leaving: it came in by the route back to its source, its TTL one
                // more than the capture shows (`ip_forward` decremented it).
                if direction == Direction::Forward && self.leaving_copy(pkt) {
                    if let Ok(d) = self.route_dev(pkt.src) {
                        hc.indev = d;
                    }
                    hc.skb.ttl = pkt.ttl.saturating_add(1);
                }
                // What PREROUTING's DNAT (or a reply's de-SNAT) may change (br_netfilter's
                // `nf_bridge->ipv4_daddr`, saved by `br_validate_ipv4`).
                let pre_dst = pkt.dst;
                if let Some(end) = self.hook(Hook::Prerouting, pkt, hc, out) {
                    return Some(end);
                }
                // br_netfilter: a frame the bridge forwards to another port (for a link
                // address none of the host's devices has) is not routed: after PREROUTING
                // (`br_nf_pre_routing`), `br_handle_frame_finish` forwards it, and
                // `br_nf_forward_ip` and `br_nf_post_routing` run FORWARD and POSTROUTING,
                // in and out by the bridge, whatever its IP destination and `ip_forward`
                // (recorded lab `bridge-nf-otherhost`).
                if direction == Direction::Forward && self.bridged_past_host(pkt) {
                    out.direction = Direction::Forward;
                    hc.outdev = Dev::Iface;
                    hc.skb.physout = self.fdb_port(pkt, hc.now_ns);
                    if let Some(end) = self.hook(Hook::Forward, pkt, hc, out) {
                        return Some(end);
                    }
                    return self.hook(Hook::Postrouting, pkt, hc, out);
                }
                if let Some(end) = martian_addresses(pkt) {
                    return Some(end);
                }
                if let Some(end) = self.martian_local_source(pkt, hc) {
                    return Some(end);
                }
                if let Some(end) = self.ip_options(pkt, hc) {
                    return Some(end);
                }
                // Routing decision, after a possible DNAT: an address of the host, a broadcast
                // or a multicast group (never forwarded: no multicast routing) stay here.
                if self.received_for_host(pkt)
                    || self.env.is_broadcast(pkt.dst)
                    || pkt.dst.is_multicast()
                {
                    out.direction = Direction::In;
                    // `br_handle_frame_finish` floods a group frame to the bridge's other
                    // ports, and passes it up, before IP's input route looks at it: a group
                    // the host did not join (another host's solicited-node group) still
                    // crosses FORWARD and POSTROUTING on its copies (lab `bridge6-nf`).
                    if let Some(ports) = self.group_frame_floods(pkt) {
                        self.bridge_local_in(pkt, hc, ports);
                    }
                    if let Some(end) = self.route_local_in(pkt, hc) {
                        return Some(end);
                    }
                    self.hook(Hook::Input, pkt, hc, out)
                } else if self.opts.router {
                    out.direction = Direction::Forward;
                    // ip_route_input: the output interface, from the routes when given.
                    hc.outdev = match self.route_dev(pkt.dst) {
                        Ok(d) => d,
                        Err(end) => {
                            self.no_route_error(pkt, hc);
                            return Some(end);
                        }
                    };
                    // The input route lookup reads the mark PREROUTING set (`fib_rules_lookup`
                    // with `flowi4_mark`): a policy rule (`ip rule fwmark`) fwcheck does not
                    // know may send it out by another device than the main table's (kernel
                    // hunt: a router routing marked LAN traffic by a second uplink). Marks for
                    // routing are set in mangle; one only nat set (kube-proxy's masquerade
                    // mark) is taken as routing nothing, as with OUTPUT's reroute.
                    let mark = hc.skb.mark;
                    if mark != 0
                        && self.mangle_sets_marks()
                        && self
                            .env
                            .host
                            .mark_may_route(pkt.family == crate::packet::Family::V6, mark)
                    {
                        hc.note_uncertain(DoubtSource::Any, || {
                            format!(
                                "its mark {mark:#x}, set before the routing decision, may route it \
                                 by a policy rule (`ip rule fwmark`), which fwcheck does not \
                                 know: its output device may not be the main table's \
                                 (--host-config with the host's `ip -j rule` as `\"rule\"`, \
                                 `ip -6 -j rule` as `\"rule6\"`, tells)"
                            )
                        });
                    }
                    // __mkroute_input validates the source once the route is found.
                    if let Some(end) = self.rp_filter(pkt, hc) {
                        return Some(end);
                    }
                    let iface = self.env.iface_of(pkt);
                    // br_netfilter's bridged DNAT (`br_nf_pre_routing_finish`): a frame that
                    // came in through a bridge port, whose IPv4 destination PREROUTING changed
                    // and whose new route leaves by that bridge, is bridged to it
                    // (`br_nf_pre_routing_finish_bridge`), FORWARD and POSTROUTING run by the
                    // bridge's hooks, never by `ip_forward`: no TTL decrement or time exceeded,
                    // no ICMP redirect. Kernel hunt, lab `kube-proxy-single`: a pod's
                    // connection to a ClusterIP served on its own node made fwcheck send a
                    // redirect per packet through OUTPUT (counted there, certain), whose rate
                    // limit then kept REJECT's "port unreachable" from leaving.
                    let bridged_dnat = pkt.family == crate::packet::Family::V4
                        && pkt.dst != pre_dst
                        && self.rx_bridge(pkt).is_some_and(|b| {
                            hc.indev.name(iface, &self.env) == b
                                && hc.outdev.name(iface, &self.env) == b
                        });
                    let other_dev =
                        || hc.indev.name(iface, &self.env) != hc.outdev.name(iface, &self.env);
                    if !bridged_dnat {
                        if let Some((end, error)) = forward_check(pkt, other_dev, &mut hc.skb) {
                            hc.stack_error = error;
                            return Some(end);
                        }
                    }
                    let v6 = pkt.family == crate::packet::Family::V6;
                    // ip_forward sends its redirect after the MTU check, ip6_forward before.
                    if v6 {
                        self.forward_redirect(pkt, hc);
                    }
                    if let Some(end) = self.mtu_check(pkt, hc) {
                        return Some(end);
                    }
                    if !v6 && !bridged_dnat {
                        self.forward_redirect(pkt, hc);
                    }
                    // Routed by IP: no output port (`nf_bridge->physoutdev` unset); one
                    // bridged back by the DNAT above leaves by a port fwcheck does not follow.
                    hc.skb.physout = if bridged_dnat {
                        crate::ext::PhysOut::Unset
                    } else {
                        crate::ext::PhysOut::Routed
                    };
                    if let Some(end) = self.hook(Hook::Forward, pkt, hc, out) {
                        return Some(end);
                    }
                    self.hook(Hook::Postrouting, pkt, hc, out)
                } else {
                    // IPv6 routes before it asks whether the host forwards: a destination no
                    // route covers gets the null entry, whose `ip6_pkt_discard` answers "no
                    // route" (RELATED, as a router's: [`Engine::no_route_error`]); a routed one
                    // reaches `ip6_forward`, which drops it silently (forwarding 0). IPv4's
                    // `ip_route_input_slow` calls both EHOSTUNREACH and `ip_error` sends nothing
                    // when the interface does not forward. Kernel hunt: lab `host-icmp-odd`.
                    // (Only where the configuration gives IPv6 routes: `route_dev`.)
                    if pkt.family == crate::packet::Family::V6 {
                        if let Err(end) = self.route_dev(pkt.dst) {
                            self.no_route_error(pkt, hc);
                            return Some(end);
                        }
                    }
                    Some(TableResult {
                        verdict: TableVerdict::Drop,
                        decision: Decision::Stack(
                            "not forwarded: the host is not a router (use --router)",
                        ),
                    })
                }
            }
            Direction::Out | Direction::Local => {
                // Captured leaving by another device than the main table's route: without
                // marks set on the way out, a policy route OUTPUT saw too; with them, taken as
                // the reroute a mark causes after OUTPUT, which saw the first route.
                let left_by = self.left_by_another_route(pkt);
                hc.outdev = if self.delivered_to(pkt.dst) {
                    Dev::Lo
                } else if left_by == Some(false) {
                    Dev::Iface
                } else {
                    self.route_dev(pkt.dst).unwrap_or(Dev::Iface)
                };
                let mark_before = hc.skb.mark;
                let end = self.hook(Hook::Output, pkt, hc, out);
                if left_by == Some(true) && hc.skb.mark == mark_before {
                    hc.note_uncertain(DoubtSource::Any, || {
                        format!(
                            "captured leaving by {}, not by the route --host-config gives, and \
                             OUTPUT set no mark that would reroute it: a policy route (`ip \
                             rule`), which OUTPUT's -o saw too",
                            self.env.iface_of(pkt)
                        )
                    });
                }
                if let Some(end) = end {
                    return Some(end);
                }
                // Rerouted after OUTPUT (a DNAT or mark may have changed the destination);
                // the interface the capture shows it leaving by is where POSTROUTING saw it.
                let local = self.delivered_to(pkt.dst);
                hc.outdev = if local {
                    Dev::Lo
                } else if self.names_its_device(pkt) {
                    Dev::Iface
                } else {
                    self.route_dev(pkt.dst).unwrap_or(Dev::Iface)
                };
                // `ip_mc_output` clones an IPv4 broadcast or multicast before POSTROUTING;
                // `ip6_finish_output2` a multicast after it.
                let looped = if local {
                    None
                } else {
                    self.loops_back(pkt, hc)
                };
                let v4 = pkt.family == crate::packet::Family::V4;
                if let (Some(maybe), true) = (looped, v4) {
                    self.looped_copy(pkt, hc, maybe);
                }
                if let Some(end) = self.hook(Hook::Postrouting, pkt, hc, out) {
                    return Some(end);
                }
                if let (Some(maybe), false) = (looped, v4) {
                    self.looped_copy(pkt, hc, maybe);
                }
                if local {
                    // Looped back: the packet comes in again on lo, keeping its conntrack.
                    out.direction = Direction::Local;
                    hc.indev = Dev::Lo;
                    hc.outdev = Dev::None;
                    if let Some(end) = self.hook(Hook::Prerouting, pkt, hc, out) {
                        return Some(end);
                    }
                    self.hook(Hook::Input, pkt, hc, out)
                } else {
                    None
                }
            }
            Direction::None => None,
        }
    }

    /// The bridge a received frame came in through a port of (`br_handle_frame`), with
    /// `br_netfilter`, whose hooks fwcheck takes a host bridge to run (as Docker, Kubernetes
    /// and libvirt hosts load it): `None` for a frame the host sent itself, or a device that
    /// is no bridge and no bridge's port.
    fn rx_bridge<'a>(&'a self, pkt: &'a Packet) -> Option<&'a str> {
        if !self.bridge_nf_calls(pkt) {
            return None;
        }
        self.rx_bridge_port(pkt)
    }

    /// Whether `br_netfilter` runs iptables (ip6tables) for a bridged frame of `pkt`'s family
    /// (`brnf_call_iptables` / `brnf_call_ip6tables`; `--sysctl`, `"sysctl"` in
    /// `--host-config`). Off, `br_nf_pre_routing`, `br_nf_forward_ip`, `br_nf_post_routing`
    /// and `br_nf_local_in` return `NF_ACCEPT` at once: a bridged frame crosses no iptables
    /// hook, one passed up is IP's like any other device's (confirmed at INPUT's end), and
    /// `nf_send_reset` finds no bridge information (`nf_bridge_info_exists`) and routes its
    /// reset through OUTPUT. Recorded lab `bridge-nf-off`.
    fn bridge_nf_calls(&self, pkt: &Packet) -> bool {
        self.env
            .host
            .bridge_nf_calls(pkt.family == crate::packet::Family::V6)
    }

    /// The bridge a received frame came in through a port of (`br_handle_frame`), whether
    /// `br_netfilter` runs iptables for it or not.
    fn rx_bridge_port<'a>(&'a self, pkt: &'a Packet) -> Option<&'a str> {
        bridge_port_of(&self.env, pkt)
    }

    /// A frame captured on a bridge port for a unicast link address no device of the host has
    /// (`ip -j addr` lists them all, with the bridge's and its ports' addresses:
    /// [`crate::host::HostConfig::bridges_past`]): `br_handle_frame_finish` finds no local FDB entry for it
    /// (the bridge's and its ports' addresses are the local ones) and forwards it, never
    /// passing it up — unless the bridge is promiscuous, and then `ip_rcv_core` drops the
    /// passed-up copy (`PACKET_OTHERHOST`) after `br_nf_local_in` dropped its connection.
    /// A Linux cooked capture keeps no destination address, but its packet type is the
    /// port's `eth_type_trans`: `PACKET_OTHERHOST` on a port whose link address is also the
    /// bridge's (a bridge takes its first port's) says the frame is for neither, so not for
    /// the host (the bridge passes up only frames for its own address as `PACKET_HOST`; one
    /// for another port's address, passed up `PACKET_OTHERHOST`, `ip_rcv_core` drops: taken
    /// as bridged too). On a port with an address of its own, `PACKET_OTHERHOST` may be a
    /// frame for the bridge's address as well: not told (recorded lab `veth-csum-any`,
    /// `tcpdump -i any` on a host whose containers sit behind a bridge's veth ports).
    fn bridged_past_host(&self, pkt: &Packet) -> bool {
        let Some(dst) = pkt.link.dst_mac else {
            return pkt.link.pkt_type == crate::packet::PktType::OtherHost
                && self.cooked_port_otherhost(pkt) == Some(true);
        };
        self.env.host.links_known
            && cooked_type(&pkt.link).is_none()
            && self.rx_bridge_port(pkt).is_some_and(|b| {
                b != self.env.captured_on(pkt) && self.env.host.bridges_past(b, dst)
            })
    }

    /// A frame of a Linux cooked capture (`tcpdump -i any`: no destination link address) on a
    /// bridge port that the port did not take as its own (`PACKET_OTHERHOST`, which
    /// `eth_type_trans` sets against the port's address), on a port whose address is not the
    /// bridge's ([`Engine::bridged_past_host`] settles the others), that fwcheck takes through
    /// the router with `bridge-nf-call-iptables=0`: bridged between two ports, it crossed no
    /// iptables hook; sent to the bridge's address, it was routed. Uncertain (recorded lab
    /// `bridge-nf-off`'s `any.pcap`). Frames for the host's addresses on such a port (a Docker
    /// veth: every frame to docker0 is `PACKET_OTHERHOST` there) stay the host's (README: "Not
    /// yet modelled").
    fn cooked_maybe_bridged(&self, pkt: &Packet, direction: Direction) -> Option<&'static str> {
        if cooked_type(&pkt.link) != Some(Some(crate::packet::PktType::OtherHost))
            || !self.env.host.links_known
        {
            return None;
        }
        let port = self.env.captured_on(pkt);
        self.rx_bridge_port(pkt).filter(|&b| b != port)?;
        (direction == Direction::Forward && !self.bridge_nf_calls(pkt)).then_some(
            "bridged between two ports of its bridge (to a link address not the bridge's), it \
             crossed no iptables hook (bridge-nf-call-iptables=0); routed, it did: a Linux \
             cooked capture keeps no destination link address",
        )
    }

    /// A Linux cooked capture's `PACKET_OTHERHOST` frame received on a bridge port (not on the
    /// bridge itself): `Some(true)` where the port's link address is the bridge's (the frame is
    /// bridged past the host), `Some(false)` where it is not known or differs (bridged, or
    /// routed by the bridge's address); `None` for any other frame. Cold: only such frames.
    #[cold]
    fn cooked_port_otherhost(&self, pkt: &Packet) -> Option<bool> {
        if !self.env.host.links_known
            || cooked_type(&pkt.link) != Some(Some(crate::packet::PktType::OtherHost))
        {
            return None;
        }
        let dev = self.env.captured_on(pkt);
        let bridge = self.rx_bridge_port(pkt).filter(|b| *b != dev)?;
        let mac = |d: &str| {
            self.env
                .host
                .links
                .iter()
                .find(|l| l.dev == d)
                .and_then(|l| l.mac)
        };
        Some(mac(dev).is_some() && mac(dev) == mac(bridge))
    }

    /// For a broadcast or multicast frame that came in through a bridge port, which the bridge
    /// both floods to its other ports and passes up to the host (`br_handle_frame_finish`):
    /// how many ports it floods it to.
    fn group_frame_floods(&self, pkt: &Packet) -> Option<usize> {
        let group = match pkt.link.dst_mac {
            Some(m) => m[0] & 1 == 1,
            None => matches!(
                pkt.link.pkt_type,
                crate::packet::PktType::Broadcast | crate::packet::PktType::Multicast
            ),
        };
        if !group {
            return None;
        }
        let bridge = self.rx_bridge(pkt)?;
        Some(self.env.host.flood_ports(bridge, self.env.captured_on(pkt)))
    }

    /// The ports [`Engine::group_frame_floods`] counts, by name, in the host configuration's
    /// order (`br_flood` walks the port list; only the names matter to `-m physdev`).
    fn flood_port_names(&self, pkt: &Packet) -> Vec<String> {
        let Some(bridge) = self.rx_bridge(pkt) else {
            return Vec::new();
        };
        let from = self.env.captured_on(pkt);
        self.env
            .host
            .bridge_ports_up(bridge)
            .filter(|l| l.dev != from)
            .map(|l| l.dev.clone())
            .collect()
    }

    /// The port a unicast frame bridged past the host leaves by (`br_fdb_find_rcu` on its
    /// destination link address), as the capture taught the bridge ([`BridgeFdb`]); unknown
    /// when the bridge had not learnt it (it floods), or the capture keeps no destination.
    fn fdb_port(&self, pkt: &Packet, now_ns: u64) -> crate::ext::PhysOut {
        let port = self
            .rx_bridge(pkt)
            .zip(pkt.link.dst_mac)
            .and_then(|(b, mac)| {
                let from = self.env.captured_on(pkt);
                self.fdb.port(b, mac, now_ns).filter(|p| *p != from)
            });
        match port {
            Some(p) => crate::ext::PhysOut::Port(p.into()),
            None => crate::ext::PhysOut::Unset,
        }
    }

    /// A broadcast or multicast frame that came in through a bridge port, on its way up
    /// to the host, with `br_netfilter`:
    /// * `br_flood` first sends a clone to every other port (`ports`), each through
    ///   the bridge's FORWARD (`br_nf_forward_ip`: FORWARD in and out by the bridge) and
    ///   POST_ROUTING (`br_nf_post_routing`: POSTROUTING, where the clone's connection — the
    ///   frame's own — gets its source NAT binding and is confirmed). Like a looped copy, a
    ///   clone makes no outcome of its own but bumps counters.
    /// * then `br_pass_frame_up`: `br_nf_local_in` confirms the connection of a frame not
    ///   addressed to the host alone (`pkt_type` not `PACKET_HOST`), before IP's INPUT, so
    ///   nat INPUT cannot bind it (`nf_nat_setup_info` sets nothing up on a confirmed
    ///   connection) and walks every later packet of that unanswered connection again; a
    ///   packet filter INPUT drops leaves it confirmed.
    ///
    /// Recorded lab `bridge-nf-broadcast` (a VM's `ping -b`, with and without a second port).
    fn bridge_local_in(&mut self, pkt: &Packet, hc: &mut HookCtx, ports: usize) {
        // Multicast snooping (`br_multicast_rcv`, on by default) sends a group's frames only
        // to the ports that joined it, unless the group is link-local (IPv4 224.0.0.0/24,
        // IPv6's all-nodes ff02::1) or no port joined it: which did is not in the capture.
        let snooped = pkt.dst.is_multicast()
            && match pkt.dst {
                IpAddr::V4(a) => a.octets()[..3] != [224, 0, 0],
                IpAddr::V6(a) => a.segments() != [0xff02, 0, 0, 0, 0, 0, 0, 1],
            };
        if ports > 0 && snooped {
            hc.note_uncertain(DoubtSource::Any, || {
                "a multicast frame through a bridge port: which other ports the bridge sends \
                 it to (and through FORWARD and POSTROUTING) rests on the groups its multicast \
                 snooping saw them join"
                    .into()
            });
        }
        let names = self.flood_port_names(pkt);
        for i in 0..ports {
            let mut copy = Cow::Borrowed(pkt);
            let mut skb = hc.skb.clone();
            skb.physout = match names.get(i) {
                Some(p) if names.len() == ports => crate::ext::PhysOut::Port(p.as_str().into()),
                _ => crate::ext::PhysOut::Unset,
            };
            let mut chc = HookCtx {
                indev: Dev::Iface,
                outdev: Dev::Iface,
                ..HookCtx::fresh(hc.now, hc.now_ns, skb, hc.behind)
            };
            let mut o = Outcome::unjudged(pkt.frame, "");
            let first = self.tally.in_packet.len();
            let ended = self
                .hook(Hook::Forward, &mut copy, &mut chc, &mut o)
                .or_else(|| self.hook(Hook::Postrouting, &mut copy, &mut chc, &mut o));
            if ended.is_none() {
                if let Some(id) = hc.ct_new.take() {
                    self.conntrack.confirm(id, hc.now);
                }
            }
            if let Some(why) = chc.why_uncertain.take() {
                let bumped = &self.tally.in_packet[first..];
                self.counter_doubt.extend(bumped.iter().copied());
                self.counter_over.extend(bumped.iter().copied());
                hc.note_uncertain(DoubtSource::Any, || {
                    format!("its copy the bridge floods to another port: {why}")
                });
            }
        }
        // A bridge promiscuous (`tcpdump -i br0` without `-p`: the capture shows the bridge
        // itself) passes a group frame up with `BR_INPUT_SKB_CB(skb)->promisc` set, and
        // `br_nf_local_in` drops its connection (`nf_reset_ct`) instead of confirming it:
        // IP's INPUT sees no conntrack (`--ctstate INVALID`, a neighbour solicitation's
        // UNTRACKED too; `ip_sabotage_in` keeps PREROUTING's conntrack from running again),
        // and a connection no flooded copy confirmed is freed. Whether the capture was taken
        // promiscuous is not in it: the verdict is uncertain (lab `bridge6-nf-promisc`).
        let promisc = self
            .rx_bridge(pkt)
            .is_some_and(|b| match &self.env.host.captured {
                crate::host::CapturedDevices::Named(n) => n.iter().any(|d| d == b),
                crate::host::CapturedDevices::One => self.env.captured_on(pkt) == b,
                crate::host::CapturedDevices::All => false,
            });
        if promisc {
            if let Attach::Ct { id, .. } = hc.skb.ct {
                self.conntrack.release(id);
            }
            hc.ct_new = None;
            hc.skb.ct = Attach::None;
            hc.note_uncertain(DoubtSource::Any, || {
                "a group frame the bridge passes up while a capture of the bridge itself ran: \
                 promiscuous (tcpdump's default), br_nf_local_in drops its connection and \
                 INPUT sees it INVALID (taken so); captured with -p, it keeps it"
                    .into()
            });
        } else if let Some(id) = hc.ct_new.take() {
            self.conntrack.confirm(id, hc.now);
        }
    }

    /// Whether the kernel loops back a copy of the host's own packet `pkt`, leaving by
    /// `hc.outdev` (`Some(maybe)`: `maybe` when that rests on what the capture cannot show):
    /// * an IPv4 broadcast (`RTCF_BROADCAST`: the limited broadcast or a broadcast address of
    ///   its subnets), always (`ip_mc_output`);
    /// * a multicast to a group the output interface joined (`RTCF_LOCAL`, whose route's
    ///   output is `ip_mc_output`; `ip6_finish_output2`'s `ipv6_chk_mcast_addr`), when the
    ///   sending socket keeps `IP_MULTICAST_LOOP` / `IPV6_MULTICAST_LOOP` on — the default,
    ///   which a capture does not show, so the copy is `maybe`; certain for IGMP (the kernel's
    ///   reports have no socket: `sk_mc_loop(NULL)`), never for MLD and neighbour discovery
    ///   other than router advertisements, neighbour advertisements and redirects (the
    ///   kernel's `ndisc` and `igmp6` sockets turn the loop off; a daemon sends those three);
    ///   `maybe` too when whether the interface joined the group is unknown.
    ///
    /// Kernel hunt (the `multicast-loop` lab): a group joined, loop on or off, a group not
    /// joined, IGMPv2 reports, both families.
    fn loops_back(&self, pkt: &Packet, hc: &HookCtx) -> Option<bool> {
        if pkt.family == crate::packet::Family::V4 && self.env.is_broadcast(pkt.dst) {
            return Some(false);
        }
        if !pkt.dst.is_multicast() {
            return None;
        }
        let socket_maybe = match &pkt.l4 {
            _ if pkt.proto == 2 && pkt.family == crate::packet::Family::V4 => false,
            crate::packet::L4::Icmpv6(i) if matches!(i.icmp_type, 134 | 136 | 137) => true,
            crate::packet::L4::Icmpv6(i) if matches!(i.icmp_type, 130..=137 | 143) => return None,
            _ => true,
        };
        let dev = hc.outdev.name(self.env.iface_of(pkt), &self.env);
        let noarp = matches!(pkt.link.linktype, 12 | 14 | 101 | 228 | 229);
        match self
            .env
            .host
            .joined(dev, pkt.dst, &self.env.hosts, self.opts.router, noarp)
        {
            crate::host::Joined::No => None,
            crate::host::Joined::Yes => Some(socket_maybe),
            crate::host::Joined::Unknown => Some(true),
        }
    }

    /// The copy [`Engine::loops_back`] said the kernel makes: it crosses POSTROUTING, then comes
    /// back in on the output device (`dev_loopback_xmit`, `PACKET_LOOPBACK`, which packet
    /// sockets never see: no capture shows it) through PREROUTING and INPUT, keeping the
    /// original's connection (conntrack skips a packet that has one). It makes no outcome of
    /// its own, but bumps counters and meets stateful matches. A copy that may not exist
    /// (`maybe`) leaves the counters it bumped at most the kernel's, and what it did to
    /// address-keyed state in doubt; where it meets a doubt, its counters may be off either
    /// way. Kernel hunt: the host's replies to a spoofed broadcast source were counted by
    /// INPUT's ESTABLISHED rule.
    fn looped_copy(&mut self, pkt: &Packet, hc: &HookCtx, maybe: bool) {
        let mut copy = Cow::Borrowed(pkt);
        let mut chc = HookCtx {
            outdev: hc.outdev,
            ..HookCtx::fresh(hc.now, hc.now_ns, hc.skb.clone(), hc.behind)
        };
        let mut o = Outcome::unjudged(pkt.frame, "");
        let first = self.tally.in_packet.len();
        if self
            .hook(Hook::Postrouting, &mut copy, &mut chc, &mut o)
            .is_none()
        {
            chc.indev = Dev::Iface;
            chc.outdev = Dev::None;
            if self
                .hook(Hook::Prerouting, &mut copy, &mut chc, &mut o)
                .is_none()
            {
                self.hook(Hook::Input, &mut copy, &mut chc, &mut o);
            }
        }
        let met_doubt = chc.is_uncertain() || chc.path_doubt.is_some();
        if met_doubt || maybe {
            let bumped = &self.tally.in_packet[first..];
            if met_doubt {
                self.counter_doubt.extend(bumped.iter().copied());
            }
            self.counter_over.extend(bumped.iter().copied());
            if self.slot_base.meets_state_on_the_way_in(self.rs) {
                let protos = crate::ext::proto_bit(pkt.proto);
                self.ext.doubt.mark_from(pkt.src, DoubtSource::Any, protos);
                self.ext.doubt.mark_from(pkt.dst, DoubtSource::Any, protos);
                self.ext
                    .doubt
                    .mark_limits(hc.now, hc.now_ns, None, pkt.frame);
            }
        }
    }

    /// The clones `TEE` made in the table that just ran (`nf_dup_ipv4` / `nf_dup_ipv6`; see
    /// [`crate::ext::TeeClone`]): each is routed to its gateway and crosses OUTPUT and
    /// POSTROUTING untracked (conntrack and nat let it by), meeting every other table and
    /// stateful match there, before the original goes on. The kernel sends it at the rule,
    /// the engine when the rule's table returns: a stateful match later in that same table
    /// meets the original before the clone. No route to the gateway (from `--host-config`),
    /// or an `--oif` the host has no device of: no clone. A route the configuration does not
    /// give leaves the output device unknown, and the counters the clone bumped in doubt. A
    /// clone that leaves is remembered, so that its copy in the capture is recognised as it
    /// (judged here, counted once) instead of taken for a packet arriving.
    ///
    /// Kernel hunt, lab `tee-clone`: a router's mangle TEE of echo requests (PREROUTING) and
    /// DNS (FORWARD) to a LAN neighbour, the clones counted by raw, mangle and filter OUTPUT
    /// and mangle POSTROUTING as UNTRACKED, their TTL one less in PREROUTING, nat OUTPUT and
    /// POSTROUTING never walked, one dropped by filter OUTPUT's policy.
    fn send_tee_clones(&mut self, frame: u64, hc: &mut HookCtx) {
        // Made in OUTPUT or in POSTROUTING of a packet the host sends.
        let local = hc.indev == Dev::None;
        for c in std::mem::take(&mut self.ext.tee) {
            let configured = !self.env.host.is_empty() && !self.env.host.from_capture;
            let dev = if !c.oif.is_empty() {
                self.env.host.index(&c.oif).map(|i| Dev::Named(i as u16))
            } else {
                self.env
                    .host
                    .route(c.gateway)
                    .and_then(|(name, _)| self.env.host.index(name))
                    .map(|i| Dev::Named(i as u16))
            };
            let known = dev.is_some()
                || (configured && (!c.oif.is_empty() || self.env.host.knows_routes_for(c.gateway)));
            let outdev = match dev {
                Some(d) => d,
                // `tee_tg4`: no device of that name (`oif` -1), no clone; `nf_dup_ipv4_route`:
                // no route, the clone is freed.
                None if known => continue,
                None => Dev::Iface,
            };
            let mut chc = HookCtx {
                outdev,
                ..HookCtx::fresh(hc.now, hc.now_ns, c.skb, hc.behind)
            };
            let gateway = c.gateway;
            let mut copy = Cow::Owned(c.pkt);
            let mut o = Outcome::unjudged(frame, "");
            let first = self.tally.in_packet.len();
            let left = self
                .hook(Hook::Output, &mut copy, &mut chc, &mut o)
                .is_none()
                && self
                    .hook(Hook::Postrouting, &mut copy, &mut chc, &mut o)
                    .is_none();
            let doubt = !known || chc.is_uncertain() || chc.path_doubt.is_some();
            if doubt {
                self.counter_doubt
                    .extend(self.tally.in_packet[first..].iter().copied());
            }
            if !known {
                // Walked with the capture's interface for its output device: the rules it
                // met may have counted it or not, whatever they read of the device.
                self.counter_over
                    .extend(self.tally.in_packet[first..].iter().copied());
                if !self.tee_unrouted {
                    self.tee_unrouted = true;
                    self.out_path_bounds(false);
                }
            }
            if local && !self.tee_local {
                // The clone of the host's own packet leaves first, and the capture shows it
                // before the packet: the first frame is judged as the packet and the second
                // recognised as the clone, which counts the same but for the device each
                // left by (a capture naming its devices makes the clone's frame look policy
                // routed).
                self.tee_local = true;
                self.out_path_bounds(true);
            }
            if left && self.opts.recognise_answers {
                self.answers
                    .cloned(answers::CopySig::of(&copy, chc.skb.ttl), frame, hc.now_ns);
            }
            if hc.trace_on {
                hc.trace.push(TraceEvent::Note {
                    text: format!(
                        "TEE's clone to {gateway} crossed OUTPUT{} untracked: {}{}",
                        if left { " and POSTROUTING" } else { "" },
                        if left { "sent" } else { "dropped" },
                        if doubt {
                            " (uncertain: its output device or a match on its way)"
                        } else {
                            ""
                        }
                    ),
                });
            }
        }
    }

    /// Run every table registered at `hook`, with conntrack between raw and mangle at
    /// PREROUTING/OUTPUT. `None` when the packet goes on; otherwise how it ended.
    fn hook(
        &mut self,
        hook: Hook,
        pkt: &mut Cow<'_, Packet>,
        hc: &mut HookCtx,
        out: &mut Outcome,
    ) -> Option<TableResult> {
        if hc.trace_on {
            let dev = self.env.iface_of(pkt);
            hc.trace.push(TraceEvent::Hook {
                hook: hook.chain_name(),
                indev: hc.indev.name(dev, &self.env).to_string(),
                outdev: hc.outdev.name(dev, &self.env).to_string(),
                packet: trace::describe_packet(pkt),
            });
        }
        for &kind in tables_at(hook) {
            if kind == TableKind::Mangle && matches!(hook, Hook::Prerouting | Hook::Output) {
                if let Some(end) = self.conntrack_hook(pkt, hook, hc, out) {
                    return Some(end);
                }
            }
            if self.table_index[kind as usize].is_none() {
                continue;
            }
            let r = if kind == TableKind::Nat {
                self.nat_hook(hook, pkt, hc)
            } else {
                self.run_table(kind, hook, pkt, hc)
            };
            if !self.ext.tee.is_empty() {
                self.send_tee_clones(pkt.frame, hc);
            }
            let Some(r) = r else { continue };
            match r.verdict {
                TableVerdict::Accept | TableVerdict::Nat(_) => {
                    let filter_decided = matches!(
                        hc.accepted.map(|a| a.decision),
                        Some(
                            Decision::Rule(RuleRef {
                                table: TableKind::Filter,
                                ..
                            }) | Decision::Policy {
                                table: TableKind::Filter,
                                ..
                            }
                        )
                    );
                    if kind == TableKind::Filter || !filter_decided {
                        hc.accepted = Some(r);
                    }
                }
                _ => return Some(r),
            }
        }
        None
    }

    /// The nat table: consulted only while a connection's binding for this manipulation is not
    /// set up (its first packet, NEW or RELATED), then the packet is rewritten per the binding
    /// (`nf_nat_inet_fn` + `nf_nat_packet`). A RELATED ICMP or ICMPv6 packet (an error about a
    /// connection: the host's REJECT or stack answer, or one it receives or forwards) never
    /// walks the table: `nf_nat_ipv4_fn`/`nf_nat_ipv6_fn` translate it after the connection's
    /// bindings (`nf_nat_icmp_reply_translation`) and accept it, bound or not.
    fn nat_hook(
        &mut self,
        hook: Hook,
        pkt: &mut Cow<'_, Packet>,
        hc: &mut HookCtx,
    ) -> Option<TableResult> {
        self.table_index[TableKind::Nat as usize]?;
        let Attach::Ct { id, info } = hc.skb.ct else {
            return None;
        };
        let manip = nat::Manip::of(hook);
        let done = self
            .conntrack
            .get(id)
            .is_some_and(|e| e.status & manip.done_bit() != 0);
        let mut result = None;
        let related_icmp = matches!(info, CtInfo::Related | CtInfo::RelatedReply)
            && matches!(
                (pkt.family, pkt.proto),
                (crate::packet::Family::V4, 1) | (crate::packet::Family::V6, 58)
            );
        // `nf_nat_icmp_reply_translation`: "Redirects on non-null nats must be dropped": an
        // ICMP redirect whose connection's NAT is not finished (a first packet's, which the
        // router sends before FORWARD: POSTROUTING has not bound it yet) or not null (recorded
        // lab `router-redirect-nat`: raw and mangle OUTPUT count it, nothing after).
        if related_icmp
            && pkt.family == crate::packet::Family::V4
            && pkt.icmp().is_some_and(|i| i.icmp_type == 5)
        {
            let status = self.conntrack.get(id).map_or(0, |e| e.status);
            let done = conntrack::status::SRC_NAT_DONE | conntrack::status::DST_NAT_DONE;
            let nat = conntrack::status::SRC_NAT | conntrack::status::DST_NAT;
            if status & done != done || status & nat != 0 {
                return Some(TableResult {
                    verdict: TableVerdict::Drop,
                    decision: Decision::Stack(
                        "nat: an ICMP redirect about a connection whose NAT is not finished \
                         or not null (nf_nat_icmp_reply_translation)",
                    ),
                });
            }
        }
        if !done
            && !related_icmp
            && matches!(info, CtInfo::New | CtInfo::Related | CtInfo::RelatedReply)
        {
            let r = self.run_table(TableKind::Nat, hook, pkt, hc)?;
            // The capture shows the host's new connection after nat OUTPUT: to a DNAT's
            // target, its socket may have addressed it elsewhere.
            if hook == Hook::Output && info == CtInfo::New && !hc.is_uncertain() {
                let local_dnat = self.local_dnat.get_or_init(|| nat::LocalDnat::of(self.rs));
                if let Some(d) = local_dnat.iter().find(|d| d.covers(pkt)) {
                    hc.note_uncertain(DoubtSource::Any, || {
                        format!(
                            "the host's connection to {}, where nat OUTPUT's DNAT (line {}) sends \
                         connections addressed elsewhere (a published port on one of its own \
                         addresses): a capture shows it after that translation, so what its \
                         socket addressed, and what the nat rules and --ctstate DNAT saw, is \
                         not known",
                            pkt.dst,
                            d.line()
                        )
                    });
                }
            }
            let iface = self.env.iface_of(pkt);
            let dev = match manip {
                nat::Manip::Src => hc.outdev.name(iface, &self.env),
                nat::Manip::Dst => hc.indev.name(iface, &self.env),
            }
            .to_string();
            // `nf_nat_setup_info` does nothing to a confirmed connection (one tracked before a
            // nat table was loaded): no binding, not done, so its later NEW packets walk the
            // table again.
            let confirmed = self.conntrack.get(id).is_some_and(|e| e.is_confirmed());
            match r.verdict {
                TableVerdict::Nat(_) | TableVerdict::Accept if confirmed => {}
                TableVerdict::Nat(spec) => {
                    if let Err(why) = nat::setup(self, id, spec, manip, hook, pkt, &dev, hc.now) {
                        match self.nat_pick.take() {
                            Some(p) => self.pick_doubt = Some((p, format!("NAT: {why}"))),
                            None => hc.note_uncertain(DoubtSource::Any, || format!("NAT: {why}")),
                        }
                    }
                }
                // nf_nat_alloc_null_binding: no rule bound it, yet a source manipulation
                // (POSTROUTING, INPUT) still makes the reply tuple unique; one taken by another
                // connection (a DNATed flow's original tuple, say) gets a port the kernel picks.
                TableVerdict::Accept if manip == nat::Manip::Src => {
                    let null = crate::ext::NatSpec {
                        kind: crate::ext::NatKind::Snat,
                        addr: None,
                        ports: None,
                        base_port: None,
                        random: false,
                        persistent: false,
                    };
                    if let Err(why) = nat::setup(self, id, null, manip, hook, pkt, &dev, hc.now) {
                        hc.note_uncertain(DoubtSource::Any, || {
                            format!("NAT (no rule, a unique reply): {why}")
                        });
                    }
                }
                TableVerdict::Accept => {}
                _ => return Some(r),
            }
            if !confirmed {
                if let Some(e) = self.conntrack.get_mut(id) {
                    e.status |= manip.done_bit();
                }
            }
            result = Some(r);
        }
        if related_icmp {
            if let Some(n) = nat::quote_too_short(&self.conntrack, id, info.dir(), manip, pkt) {
                if pkt.anomalies.has(crate::packet::Anomalies::CAP_TRUNCATED) {
                    hc.note_uncertain(DoubtSource::Any, || {
                        format!(
                            "the capture cut the ICMP error: NAT drops it if it quotes fewer \
                             than 8 bytes of the packet's header, and the capture shows {n}"
                        )
                    });
                } else {
                    return Some(TableResult {
                        verdict: TableVerdict::Drop,
                        decision: Decision::Stack(
                            "NAT cannot translate the packet the ICMP error quotes: its \
                             transport header is cut short (nf_nat_icmp_reply_translation)",
                        ),
                    });
                }
            }
        }
        let before = hc.trace_on.then(|| trace::describe_packet(pkt));
        nat::manip_packet(&self.conntrack, id, info.dir(), manip, pkt, &mut hc.skb);
        if let Some(before) = before {
            let after = trace::describe_packet(pkt);
            if after != before {
                hc.trace.push(TraceEvent::Nat {
                    hook: hook.chain_name(),
                    before,
                    after,
                });
            }
        }
        result
    }

    /// `nf_confirm`'s `helper->help()` for a packet the ruleset accepted; its `NF_DROP` turns
    /// the verdict into DROP. A packet of a helper's connection whose own verdict is uncertain
    /// leaves what the helper expects uncertain, whichever way it went.
    fn run_helper(&mut self, cur: &mut Cow<'_, Packet>, hc: &mut HookCtx, out: &mut Outcome) {
        let Attach::Ct { id, info } = hc.skb.ct else {
            return;
        };
        if self.conntrack.get(id).is_none_or(|e| e.help.is_none()) {
            return;
        }
        let pkt: &Packet = cur;
        // The packet's own doubt, or its connection's (the taint is applied to the verdict
        // after this): whatever the helper expects from it is no more certain.
        let doubt = if out.certain {
            self.taint.cause(pkt).map(|(c, _)| c.to_string())
        } else {
            Some(out.reason.clone().unwrap_or_default())
        };
        if out.verdict != Some(Verdict::Accept) {
            if let Some(why) = doubt {
                conntrack::helper::doubt_unhelped(&mut self.conntrack, id, pkt, hc.now, &why);
            }
            return;
        }
        let forwarded = out.direction == Direction::Forward;
        let h = conntrack::helper::help(
            &mut self.conntrack,
            id,
            info,
            pkt,
            hc.now,
            &self.params,
            doubt.as_deref(),
            forwarded,
        );
        if let Some(note) = h.note {
            if hc.trace_on {
                out.trace.push(TraceEvent::Note { text: note });
            }
        }
        if let Some(why) = h.uncertain {
            hc.doubt_src = Some(DoubtSource::Any);
            if out.certain {
                out.certain = false;
                out.reason = Some(format!("conntrack helper: {why}"));
            }
        }
        if let Some(why) = h.drop {
            out.verdict = Some(Verdict::Drop);
            out.decision = Some(Decision::Conntrack(why));
            return;
        }
        if !forwarded || info == CtInfo::RelatedReply {
            return;
        }
        // __nf_nat_mangle_tcp_packet: the payload as it leaves.
        if let Some(m) = h.mangle {
            let p = cur.to_mut();
            let hdr = p.ip_len as usize - p.payload_len as usize;
            let (start, end) = (hdr + m.off, hdr + m.off + m.len);
            if end <= p.data.len() {
                let mut bytes = Vec::with_capacity(p.data.len() + m.rep.len());
                bytes.extend_from_slice(&p.data[..start]);
                bytes.extend_from_slice(&m.rep);
                bytes.extend_from_slice(&p.data[end..]);
                let grow = m.rep.len() as i64 - m.len as i64;
                p.ip_len = (p.ip_len as i64 + grow) as u32;
                p.payload_len = (p.payload_len as i64 + grow) as u32;
                p.data = crate::packet::SharedBytes::from(bytes);
            }
        }
        // nf_ct_seq_adjust.
        if let crate::packet::L4::Tcp(th) = &cur.l4 {
            let ack = (th.flags & crate::packet::tcp_flags::ACK != 0).then_some(th.ack);
            if let Some((seq, ack)) =
                conntrack::helper::seq_adjust(&self.conntrack, id, info.dir(), th.seq, ack)
            {
                if let crate::packet::L4::Tcp(t) = &mut cur.to_mut().l4 {
                    t.seq = seq;
                    if t.flags & crate::packet::tcp_flags::ACK != 0 {
                        t.ack = ack;
                    }
                }
            }
        }
    }

    /// `nf_conntrack_in`; `Some` when conntrack itself drops the packet (table full).
    fn conntrack_hook(
        &mut self,
        pkt: &Packet,
        hook: Hook,
        hc: &mut HookCtx,
        out: &mut Outcome,
    ) -> Option<TableResult> {
        if !self.ct_active {
            return None;
        }
        let cthook = if hook == Hook::Output {
            CtHook::LocalOut
        } else {
            CtHook::PreRouting
        };
        let before = hc.trace_on.then(|| self.ct_label_of(hc.skb.ct));
        let r: CtOutcome = conntrack::conntrack_in(
            &mut self.conntrack,
            pkt,
            cthook,
            hc.skb.ct,
            conntrack::Template {
                zone: hc.skb.zone,
                zone_only: hc.skb.zone_only,
                helper: hc.skb.helper,
            },
            &self.params,
            hc.now,
            pkt.frame,
        );
        hc.skb.ct = r.attach;
        // `nf_conntrack_in` detaches a template first: a packet it leaves with no connection
        // (INVALID) carries nothing, and meets a `CT` rule again when it loops back in (kernel
        // hunt: `CT --notrack` on lo after an INVALID reply in another zone).
        hc.skb.ct_template = None;
        hc.skb.checksum_doubt = r.maybe_invalid;
        let (doubt, related) = (self.conntrack.take_doubt(), self.conntrack.take_related());
        if let Some(id) = r.new {
            // (Set only with a new connection; `find_expectation` clears it first.)
            let follow = self.conntrack.take_follow();
            hc.ct_new = r.new;
            if let Some(why) = doubt {
                hc.note_uncertain(DoubtSource::Any, || format!("conntrack: {why}"));
            }
            // init_conntrack: the expectation's `expectfn` (nf_nat_follow_master).
            if let Some(f) = follow {
                if let Err(why) = nat::follow_master(self, id, f, pkt, hc.now) {
                    hc.note_uncertain(DoubtSource::Any, || {
                        format!("NAT (nf_nat_follow_master): {why}")
                    });
                }
            }
        }
        out.ctstate = Some(label(r.attach));
        if let Some(before) = before {
            hc.trace.push(TraceEvent::Conntrack {
                hook: hook.chain_name(),
                before,
                after: self.ct_label_of(r.attach),
                entry: self.ct_entry_text(r.attach),
                note: r
                    .uncertain
                    .map(|w| format!("uncertain: {w}"))
                    .or(r.maybe_invalid.map(|w| {
                        format!("tracked, or INVALID in the kernel (the rules weigh both): {w}")
                    }))
                    .or(r.invalid.map(|w| format!("INVALID: {w}")))
                    .or(related.map(|(h, frame)| {
                        format!(
                            "a new connection expected by the {} helper (frame {frame}): \
                             RELATED (confirmed if the packet survives)",
                            h.name()
                        )
                    }))
                    .or(r
                        .new
                        .map(|_| "a new connection (confirmed if the packet survives)".into())),
            });
        }
        if let Some(why) = r.uncertain {
            hc.note_uncertain(DoubtSource::Any, || format!("conntrack: {why}"));
        } else if let Some(why) = r.invalid {
            out.reason
                .get_or_insert_with(|| format!("conntrack: INVALID ({why})"));
        }
        r.drop.map(|why| TableResult {
            verdict: TableVerdict::Drop,
            decision: Decision::Conntrack(why),
        })
    }

    /// REJECT: the reply is built (`nf_send_reset` / `nf_send_unreach`), carries the original's
    /// connection as RELATED, and leaves through the host's OUTPUT/POSTROUTING like any local
    /// packet (`by_stack`: the stack's own ICMP error for a packet dropped before FORWARD,
    /// which `icmp_send` builds and attaches the same way). A TCP reset also moves a confirmed connection to CLOSE. Returns whether the reply
    /// left (`None` when not simulated).
    fn reject_reply(
        &mut self,
        orig: &Packet,
        reply: crate::ext::RejectReply,
        ct: Attach,
        clock: Clock,
        frame: u64,
        by_stack: bool,
    ) -> (Option<bool>, Option<&'static str>) {
        let now = clock.jiffies;
        if reply == crate::ext::RejectReply::TcpReset {
            if let Attach::Ct { id, .. } = ct {
                nat::set_closing(
                    &mut self.conntrack,
                    id,
                    self.params.hz,
                    self.params.timeouts.get(conntrack::tcp::TIMEOUT_CLOSE),
                    now,
                );
            }
        }
        if !self.opts.simulate_replies {
            return (None, None);
        }
        // A reset comes from the packet's destination, whoever that is (`nf_reject_iphdr_put`,
        // `nf_reject_ip6hdr_put`: even in FORWARD). `__icmp_send`: the packet's own
        // destination when it was for the host (`icmp6_send`: an address of the device it came
        // in on, or a subnet-router anycast address there); otherwise the address the route
        // back to the sender gives (the first host address without routes).
        let src = if self.received_for_host(orig) || reply == crate::ext::RejectReply::TcpReset {
            orig.dst
        } else {
            match self.env.host.source_for(orig.src) {
                Some(a) => a,
                None => match self
                    .env
                    .hosts
                    .iter()
                    .find(|h| h.is_ipv4() == orig.dst.is_ipv4())
                {
                    Some(a) => *a,
                    None => return (None, None),
                },
            }
        };
        // No answer to a packet the input route called a broadcast: `__icmp_send`, and
        // `nf_send_reset` (`RTCF_BROADCAST`; kernel hunt: a SYN to a subnet broadcast under
        // `REJECT --reject-with tcp-reset` got no reset).
        if self.env.is_broadcast(orig.dst) {
            return (Some(false), None);
        }
        // `__icmp_send` / `icmp6_send`: "no replies to physical multicast/broadcast" (a
        // packet received for a link-layer broadcast or multicast address, `pkt_type` not
        // `PACKET_HOST`), whatever its IP destination; a frame bridged under `br_netfilter`
        // is `PACKET_HOST` there (`SimEnv::hook_pkt_type`). A reset has no such test.
        if reply != crate::ext::RejectReply::TcpReset
            && matches!(
                self.env.hook_pkt_type(orig),
                crate::packet::PktType::Broadcast
                    | crate::packet::PktType::Multicast
                    | crate::packet::PktType::OtherHost
            )
        {
            return (Some(false), None);
        }
        let Some(rp) = reject::build_reply(orig, reply, src, self.env.checksums) else {
            return (Some(false), None);
        };
        self.send_reply(orig, rp, reply, ct, clock, frame, by_stack, None)
    }

    /// Sends `rp`, the reply or error the host makes for `orig` (a REJECT's, the stack's), through
    /// OUTPUT and POSTROUTING (with `ct`'s connection attached as RELATED, if any), where the
    /// ICMP rate limits let it go, and records it so its captured copy is recognised (by `sig`
    /// when given, else by what `rp` quotes). Returns whether it leaves (`None`: not
    /// simulated), and why that may not be so.
    #[allow(clippy::too_many_arguments)]
    fn send_reply(
        &mut self,
        orig: &Packet,
        rp: Packet,
        reply: crate::ext::RejectReply,
        ct: Attach,
        clock: Clock,
        frame: u64,
        by_stack: bool,
        sig: Option<answers::ReplySig>,
    ) -> (Option<bool>, Option<&'static str>) {
        let (now, clock_ns) = (clock.jiffies, clock.ns);
        // No route back to the sender (`ip_route_output` / `ip6_route_output` fail in
        // `icmp_send`, `icmpv6_xrlim_allow`, `nf_send_reset`): nothing leaves.
        if self.env.host.reachable(rp.dst) == Some(false) {
            return (Some(false), None);
        }
        // `nf_send_reset` / `nf_send_reset6` with `br_netfilter`: the reset to a packet that
        // came in through a bridge port (`nf_bridge_info_exists`) is sent straight out of that
        // port (`dev_queue_xmit`, the rejected frame's link addresses swapped): no OUTPUT, no
        // POSTROUTING (recorded lab `bridge-nf-reset`).
        if reply == crate::ext::RejectReply::TcpReset && self.rx_bridge(orig).is_some() {
            if let Some(sig) = self
                .opts
                .recognise_answers
                .then(|| answers::ReplySig::of(&rp))
                .flatten()
            {
                self.answers.sent_reply(
                    sig,
                    clock_ns,
                    answers::SentReply {
                        to_frame: frame,
                        by_stack,
                        verdict: Verdict::Accept,
                        decision: Some(Decision::Stack(
                            "REJECT's reset to a packet that came in through a bridge port \
                             leaves by that port, seen by no hook (nf_send_reset, br_netfilter)",
                        )),
                        ctstate: None,
                        certain: true,
                    },
                );
            }
            return (Some(true), None);
        }
        let mut doubt = None;
        // `icmpv4_global_allow` / `icmpv4_xrlim_allow` (IPv6: `icmpv6_xrlim_allow`): a limited
        // error to a peer off the host, kept or refused.
        if let crate::packet::L4::Icmp(i) | crate::packet::L4::Icmpv6(i) = &rp.l4 {
            let v6 = rp.family == crate::packet::Family::V6;
            if icmp_limit::limited(v6, i.icmp_type, i.code) && !self.is_local(rp.dst) {
                let hz = self.params.hz as u64;
                // `icmp_ratelimit` 1 s; `net.ipv6.icmp.ratelimit` 100 ms, no longer scaled
                // by the route's prefix (upstream 0201eedb69b2; measured on 6.18: the scaled
                // interval of older kernels let errors out that the kernel refused).
                let interval = if v6 { hz / 10 } else { hz };
                match self.icmp_limit.allow(rp.dst, now, interval.max(1), hz) {
                    _ if self.packet_behind.is_some() => {
                        // Run at a later frame's time: the bucket's tokens are not the
                        // kernel's at the time it handled the packet.
                        doubt = Some(
                            "the packet's time stamp is before an earlier frame's, and the \
                             ICMP rate limit reads the clock",
                        )
                    }
                    icmp_limit::Allow::Yes => {}
                    icmp_limit::Allow::No => return (Some(false), None),
                    icmp_limit::Allow::Maybe(why) => doubt = Some(why),
                }
            }
        }
        let attach = match ct {
            Attach::Ct { id, info } => Attach::Ct {
                id,
                info: if info.dir() == conntrack::CtDir::Original {
                    CtInfo::RelatedReply
                } else {
                    CtInfo::Related
                },
            },
            _ => Attach::None,
        };
        let skb = Skb {
            tos: rp.tos,
            ttl: rp.ttl,
            ct: attach,
            // `nf_conntrack_attach` copies an untracked packet's null connection as RELATED.
            nfct_null: ct == Attach::Untracked,
            // `nf_send_reset`: no socket owns the reset (`icmp_send`'s errors have the
            // ICMP socket, which the owner match recognises by their type).
            no_socket: reply == crate::ext::RejectReply::TcpReset,
            ..Skb::default()
        };
        let mut hc = HookCtx::fresh(now, clock_ns, skb, self.packet_behind);
        let mut scratch = Outcome::unjudged(orig.frame, "");
        let mut cur = Cow::Owned(rp);
        let ended = self.traverse(Direction::Out, &mut cur, &mut hc, &mut scratch);
        // As it leaves, NAT's translation done (a reply to a DNATed packet leaves from the
        // address the client asked for; an ICMP error's quoted packet is translated too).
        let sig = self
            .opts
            .recognise_answers
            .then(|| sig.or_else(|| answers::ReplySig::of(&cur)))
            .flatten()
            .map(|sig| match (sig, attach) {
                (
                    answers::ReplySig::IcmpError {
                        src,
                        dst,
                        kind,
                        quoted,
                    },
                    Attach::Ct { id, info },
                ) => answers::ReplySig::IcmpError {
                    src,
                    dst,
                    kind,
                    quoted: nat::quoted_as_sent(&self.conntrack, id, info.dir(), quoted),
                },
                (sig, _) => sig,
            });
        if let Some(id) = hc.ct_new {
            if ended.is_none() {
                self.conntrack.confirm(id, now);
            } else {
                self.conntrack.discard(id);
            }
        }
        if let Some(sig) = sig {
            let decision = ended
                .or(hc.accepted)
                .map_or(Decision::NoRules, |r| r.decision);
            self.answers.sent_reply(
                sig,
                clock_ns,
                answers::SentReply {
                    to_frame: frame,
                    by_stack,
                    verdict: if ended.is_none() {
                        Verdict::Accept
                    } else {
                        Verdict::Drop
                    },
                    decision: Some(decision),
                    ctstate: scratch.ctstate,
                    certain: !hc.is_uncertain(),
                },
            );
        }
        (Some(ended.is_none()), doubt)
    }
}

/// For a Linux cooked capture (SLL, SLL2: `tcpdump -i any`), the packet type its header gives
/// (`None` for loopback's frames, both copies of which it keeps: they carry no link address);
/// `None` for other link types, whose frames say nothing of their way.
fn cooked_type(link: &crate::packet::LinkInfo) -> Option<Option<crate::packet::PktType>> {
    use crate::packet::decode::linktype::{LINUX_SLL, LINUX_SLL2};
    if !matches!(link.linktype, LINUX_SLL | LINUX_SLL2) {
        return None;
    }
    let looped = link.ifindex == Some(1) || link.src_mac.is_none_or(|m| m == [0; 6]);
    Some((!looped).then_some(link.pkt_type))
}

/// What `ip_rcv_finish`'s input route lookup does to a received IPv4 packet after
/// PREROUTING: `ip_route_input_slow` refuses martian sources (multicast, limited broadcast,
/// and 0.0.0.0 unless sent to the limited broadcast) and the destination 0.0.0.0. (The
/// options come after the route: [`Engine::ip_options`].)
fn martian_addresses(pkt: &Packet) -> Option<TableResult> {
    let std::net::IpAddr::V4(src) = pkt.src else {
        return None;
    };
    let drop = |why| {
        Some(TableResult {
            verdict: TableVerdict::Drop,
            decision: Decision::Stack(why),
        })
    };
    let to_lbcast = pkt.dst == std::net::IpAddr::V4(std::net::Ipv4Addr::BROADCAST);
    if src.is_multicast() || src.is_broadcast() {
        return drop("martian source address (multicast or broadcast): the input route refuses it");
    }
    // `ipv4_is_zeronet` is `addr == 0` since Linux 5.3 (0.0.0.0/8 is otherwise unicast).
    if src.is_unspecified() && !to_lbcast {
        return drop("martian source address (0.0.0.0): the input route refuses it");
    }
    if pkt.dst == std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED) {
        return drop("martian destination address (0.0.0.0): the input route refuses it");
    }
    None
}

/// What `ip_forward` / `ip6_forward` do before the FORWARD hook (multicast never gets here:
/// the input route keeps or drops it, see `Engine::route_local_in`): a packet that came in a
/// link-layer broadcast or multicast frame (`skb->pkt_type != PACKET_HOST`) is dropped first,
/// silently, whatever its TTL ("that should never happen"; `PACKET_OTHERHOST` never gets this
/// far, `ip_rcv_core` dropped it); a TTL/hop limit of 1 or
/// less expires (time exceeded, dropped); an IPv6 packet from a link-local source leaving by
/// another interface than it came in on (`other_dev`, asked only then) is dropped ("This check is security
/// critical": link-local addresses mean nothing beyond their link; back out of the same
/// interface it is forwarded, with a redirect), and so, silently, is one from `::`. Each drop comes with the ICMP error the stack
/// sends (time exceeded; IPv6 destination unreachable "beyond scope"); otherwise the TTL is
/// decremented — FORWARD
/// and POSTROUTING see the decremented value.
fn forward_check(
    pkt: &Packet,
    other_dev: impl FnOnce() -> bool,
    skb: &mut Skb,
) -> Option<(TableResult, Option<crate::ext::RejectReply>)> {
    use crate::ext::RejectReply;
    let drop = |why, error| {
        Some((
            TableResult {
                verdict: TableVerdict::Drop,
                decision: Decision::Stack(why),
            },
            error,
        ))
    };
    let (src, dst) = (pkt.src, pkt.dst);
    // Kernel hunt: a router forwarded unicast IP sent to the link-layer broadcast address.
    if matches!(
        pkt.link.pkt_type,
        crate::packet::PktType::Broadcast | crate::packet::PktType::Multicast
    ) {
        return drop(
            if dst.is_ipv4() {
                "not forwarded: it came in a link-layer broadcast or multicast frame (ip_forward \
                 drops what is not PACKET_HOST, before FORWARD)"
            } else {
                "not forwarded: it came in a link-layer broadcast or multicast frame \
                 (ip6_forward drops what is not PACKET_HOST, before FORWARD)"
            },
            None,
        );
    }
    if skb.ttl <= 1 {
        return if dst.is_ipv4() {
            drop(
                "TTL expired in transit (ip_forward: time exceeded, before FORWARD)",
                Some(RejectReply::Icmp {
                    icmp_type: 11,
                    code: 0,
                }),
            )
        } else {
            drop(
                "hop limit expired in transit (ip6_forward: time exceeded, before FORWARD)",
                Some(RejectReply::Icmpv6 {
                    icmp_type: 3,
                    code: 0,
                }),
            )
        };
    }
    if let std::net::IpAddr::V6(s) = src {
        // "This check is security critical": the unspecified source too, silently (kernel
        // hunt: packets from :: were forwarded).
        if (s.is_unspecified() || s.is_unicast_link_local()) && other_dev() {
            return if s.is_unspecified() {
                drop(
                    "unspecified source (::) routed to another interface (ip6_forward: not \
                     forwarded, before FORWARD)",
                    None,
                )
            } else {
                drop(
                    "link-local source routed to another interface (ip6_forward: not \
                     forwarded beyond its link, before FORWARD)",
                    Some(RejectReply::Icmpv6 {
                        icmp_type: 1,
                        code: 2,
                    }),
                )
            };
        }
    }
    skb.decrease_ttl(pkt);
    None
}

/// The state label of an attachment.
pub fn label(a: Attach) -> CtLabel {
    match a {
        Attach::None => CtLabel::Invalid,
        Attach::Untracked => CtLabel::Untracked,
        Attach::Ct { info, .. } => match info {
            CtInfo::New => CtLabel::New,
            CtInfo::Established | CtInfo::EstablishedReply => CtLabel::Established,
            CtInfo::Related | CtInfo::RelatedReply => CtLabel::Related,
        },
    }
}

/// Tables registered at a hook, in priority order (raw -300, mangle -150, nat -100 (DNAT) or
/// 100 (SNAT), filter 0, security 50).
pub(crate) fn tables_at(hook: Hook) -> &'static [TableKind] {
    use TableKind::*;
    match hook {
        Hook::Prerouting => &[Raw, Mangle, Nat],
        Hook::Input => &[Mangle, Filter, Security, Nat],
        Hook::Forward => &[Mangle, Filter, Security],
        Hook::Output => &[Raw, Mangle, Nat, Filter, Security],
        Hook::Postrouting => &[Mangle, Nat],
    }
}

/// First extension state slot of each rule, `[table][chain][rule]`, and the rules with
/// stateful matches in load order (shared between engines).
#[derive(Debug, Clone)]
pub(crate) struct SlotLayout(std::sync::Arc<LayoutInner>);

#[derive(Debug)]
struct LayoutInner {
    base: Vec<Vec<Vec<usize>>>,
    /// `(table, chain, rule)` of the rules with a stateful match, in `Ruleset::load_order`.
    loads: Vec<(usize, usize, usize)>,
    /// A match switches conntrack accounting on when loaded ([`crate::ext::Match::enables_acct`]).
    acct: bool,
    /// A packet the host sends meets no stateful match and no target that acts beyond the
    /// verdict (REJECT's looped error, NAT, SET, TEE, …) on its way out: in the OUTPUT and
    /// POSTROUTING chains of every table, and the user chains they reach ([`quiet_way_out`]).
    quiet_out: bool,
}

impl std::ops::Deref for SlotLayout {
    type Target = Vec<Vec<Vec<usize>>>;
    fn deref(&self) -> &Self::Target {
        &self.0.base
    }
}

impl SlotLayout {
    /// Whether some rule has a stateful match (its state may remember a packet).
    pub(crate) fn has_stateful(&self) -> bool {
        !self.0.loads.is_empty()
    }

    /// Whether a packet the host sends meets no stateful match and no target that acts
    /// beyond the verdict on its way out, whatever path it takes there
    /// ([`quiet_way_out`]): then what it does to the matches' state does not depend on its
    /// connection's state, nor on whether it was sent at all.
    pub(crate) fn quiet_on_the_way_out(&self) -> bool {
        self.0.quiet_out
    }

    /// Whether a stateful match sits where a packet coming back in may meet it: in a user
    /// chain or a built-in chain other than OUTPUT's and FORWARD's (what a looped copy
    /// crosses: POSTROUTING, PREROUTING, INPUT).
    pub(crate) fn meets_state_on_the_way_in(&self, rs: &Ruleset) -> bool {
        self.0.loads.iter().any(|&(t, c, _)| {
            !matches!(
                rs.tables[t].chains[c].hook,
                Some(Hook::Output | Hook::Forward)
            )
        })
    }

    /// The layout of a copy of the ruleset whose chain `ci` of table `ti` was edited (rules
    /// moved or removed): `relayout` makes the same edit to a vector with one entry per rule.
    pub(crate) fn edited(
        &self,
        ti: usize,
        ci: usize,
        relayout: impl Fn(&mut Vec<usize>),
    ) -> SlotLayout {
        let mut base = self.0.base.clone();
        relayout(&mut base[ti][ci]);
        let touched = self.0.loads.iter().any(|l| (l.0, l.1) == (ti, ci));
        let loads = if touched {
            let old = self.0.base[ti][ci].len();
            let mut idx: Vec<usize> = (0..old).collect();
            relayout(&mut idx);
            let mut pos = vec![None; old];
            for (p, &o) in idx.iter().enumerate() {
                pos[o] = Some(p);
            }
            self.0
                .loads
                .iter()
                .filter_map(|&(t, c, r)| {
                    if (t, c) == (ti, ci) {
                        pos[r].map(|p| (t, c, p))
                    } else {
                        Some((t, c, r))
                    }
                })
                .collect()
        } else {
            self.0.loads.clone()
        };
        // Rules moved or removed: no chain becomes reachable, no rule appears.
        SlotLayout(std::sync::Arc::new(LayoutInner {
            base,
            loads,
            acct: self.0.acct,
            quiet_out: self.0.quiet_out,
        }))
    }

    /// Run every stateful match's `Match::load` in load order: the named state the kernel
    /// creates when the rules are loaded (see [`Engine::reload`] for a reload).
    fn load(&self, rs: &Ruleset, ext: &mut ExtState) {
        for &(t, c, r) in &self.0.loads {
            for m in rs.tables[t].chains[c].rules[r].matches.iter() {
                m.module.load(ext);
            }
        }
    }
}

/// The slot layout of `rs`: every match of every rule, and every rule, gets its own slot.
pub(crate) fn slot_layout(rs: &Ruleset) -> SlotLayout {
    let mut next = 0usize;
    let mut stateful = false;
    let mut acct = false;
    let base = rs
        .tables
        .iter()
        .map(|t| {
            t.chains
                .iter()
                .map(|c| {
                    c.rules
                        .iter()
                        .map(|r| {
                            stateful |= r.matches.iter().any(|m| m.module.stateful());
                            acct |= r.matches.iter().any(|m| m.module.enables_acct());
                            let b = next;
                            next += r.matches.len() + 1;
                            b
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let loads = if stateful {
        rs.load_order()
            .into_iter()
            .filter(|&(t, c, r)| {
                rs.tables[t].chains[c].rules[r]
                    .matches
                    .iter()
                    .any(|m| m.module.stateful())
            })
            .collect()
    } else {
        Vec::new()
    };
    let quiet_out = quiet_way_out(rs);
    SlotLayout(std::sync::Arc::new(LayoutInner {
        base,
        loads,
        acct,
        quiet_out,
    }))
}

/// Whether every rule a locally generated packet may meet (the OUTPUT and POSTROUTING chains
/// of every table, and the user chains they jump or go to) has no stateful match and ends in
/// ACCEPT, DROP, RETURN, a jump, nothing, or a target that only observes (LOG, NFLOG, …):
/// whichever way such a packet goes, and whether it is sent at all, it changes no `recent`
/// list, `hashlimit` or `limit` bucket, `connlimit` list, set, and sends nothing back in.
fn quiet_way_out(rs: &Ruleset) -> bool {
    use crate::ruleset::model::Action;
    for table in &rs.tables {
        let mut seen = vec![false; table.chains.len()];
        let mut todo: Vec<usize> = (0..table.chains.len())
            .filter(|&c| matches!(table.chains[c].hook, Some(Hook::Output | Hook::Postrouting)))
            .collect();
        while let Some(c) = todo.pop() {
            if std::mem::replace(&mut seen[c], true) {
                continue;
            }
            for r in &table.chains[c].rules {
                if r.matches.iter().any(|m| m.module.stateful()) {
                    return false;
                }
                match &r.action {
                    Action::None | Action::Accept | Action::Drop | Action::Return => {}
                    Action::Jump(to) | Action::Goto(to) => todo.push(to.index),
                    Action::Target(t) if t.observes_only() => {}
                    Action::Target(_) | Action::Queue => return false,
                }
            }
        }
    }
    true
}

/// Whether a rule of the ruleset registers the conntrack hooks in the host's namespace:
/// `nf_ct_netns_get`, called by the `checkentry` of the matches and targets that read or
/// make connections (`conntrack`, `state`, `CT`, `MASQUERADE`, `SNAT`, `DNAT`, `connmark`…).
/// A nat table alone does not: neither `iptable_nat`/`ip6table_nat` nor nf_tables' nat chain
/// type (`nf_nat_register_fn`) takes conntrack, and without it `nf_nat_inet_fn` finds no
/// connection on the packet and accepts it without walking the table — libvirt's IPv6 nat
/// table (a jump to an empty `LIBVIRT_PRT`) counts nothing (recorded lab `libvirt-nat`).
pub(crate) fn conntrack_active(rs: &Ruleset) -> bool {
    rs.tables.iter().any(|t| {
        t.chains.iter().flat_map(|c| &c.rules).any(|r| {
            r.matches.iter().any(|m| m.module.needs_conntrack())
                || matches!(&r.action, crate::ruleset::model::Action::Target(t) if t.needs_conntrack())
        })
    })
}

/// `ip_rcv_options` (called by `ip_rcv_finish` after PREROUTING and the route lookup): why the
/// IPv4 stack discards a received packet for its options, if it does. `__ip_options_compile`
/// on the receive path refuses malformed options (lengths, pointers, a second source route, a
/// full timestamp whose overflow counter is 15) and CIPSO without a configured DOI; a source
/// route is refused because `accept_source_route` is 0 by default.
pub(crate) fn ipv4_options_refused(opts: &[u8]) -> Option<&'static str> {
    const MALFORMED: &str = "malformed IPv4 options (ip_options_compile)";
    let mut srr = false;
    let (mut rr, mut ts) = (false, false);
    let mut i = 0;
    while i < opts.len() {
        let o = &opts[i..];
        match o[0] {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        if o.len() < 2 {
            return Some(MALFORMED);
        }
        let optlen = o[1] as usize;
        if optlen < 2 || optlen > o.len() {
            return Some(MALFORMED);
        }
        match o[0] {
            // SSRR, LSRR
            0x89 | 0x83 => {
                if optlen < 3 || o[2] < 4 || srr {
                    return Some(MALFORMED);
                }
                srr = true;
            }
            // Record route
            7 => {
                if rr || optlen < 3 || o[2] < 4 {
                    return Some(MALFORMED);
                }
                if o[2] as usize <= optlen && o[2] as usize + 3 > optlen {
                    return Some(MALFORMED);
                }
                rr = true;
            }
            // Timestamp
            0x44 => {
                if ts || optlen < 4 || o[2] < 5 {
                    return Some(MALFORMED);
                }
                let ptr = o[2] as usize;
                let flag = o[3] & 0x0f;
                if ptr <= optlen {
                    if ptr + 3 > optlen {
                        return Some(MALFORMED);
                    }
                    // Time stamp and address, or prespecified addresses: 8 bytes per entry.
                    if (flag == 1 || flag == 3) && ptr + 7 > optlen {
                        return Some(MALFORMED);
                    }
                } else if flag != 3 && o[3] >> 4 == 15 {
                    return Some(MALFORMED);
                }
                ts = true;
            }
            // Router alert
            0x94 if optlen < 4 => return Some(MALFORMED),
            // CIPSO: validated against the configured DOIs, of which there are none by default.
            0x86 => return Some("CIPSO option without a configured DOI (cipso_v4_validate)"),
            _ => {}
        }
        i += optlen;
    }
    srr.then_some(SOURCE_ROUTE_REFUSED)
}

/// [`ipv4_options_refused`]'s answer for a source route, which `ip_rcv_options` drops without
/// an ICMP error.
const SOURCE_ROUTE_REFUSED: &str = "IPv4 source route option refused (accept_source_route is 0)";
#[cfg(test)]
mod options_tests {
    use super::ipv4_options_refused;

    /// Kernel facts (proto-edge.pcap, scenario 6): router alert, timestamp and record route
    /// pass; a loose source route and a malformed option are discarded after PREROUTING.
    #[test]
    fn ipv4_options_on_the_receive_path() {
        assert_eq!(ipv4_options_refused(&[0x94, 4, 0, 0]), None);
        assert_eq!(
            ipv4_options_refused(&[0x44, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            None
        );
        assert_eq!(ipv4_options_refused(&[7, 7, 4, 0, 0, 0, 0, 1]), None);
        assert_eq!(ipv4_options_refused(&[1, 1, 0, 0xff]), None);
        assert!(ipv4_options_refused(&[0x83, 7, 4, 203, 0, 113, 10, 1]).is_some());
        assert!(ipv4_options_refused(&[0x44, 1, 0, 0]).is_some());
        assert!(ipv4_options_refused(&[7, 7, 3, 0, 0, 0, 0, 0]).is_some());
        assert!(ipv4_options_refused(&[0x94, 2, 0, 0]).is_some());
        // A full timestamp option whose overflow counter saturated.
        assert!(ipv4_options_refused(&[0x44, 8, 9, 0xf0, 0, 0, 0, 0]).is_some());
    }
}
