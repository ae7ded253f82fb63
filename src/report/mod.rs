//! Reports built from replay outcomes: the record types (serialised as JSON Lines, one object
//! per line with a `"type"`), per-rule hit counters, summaries by verdict and by flow, and every
//! output format: the terminal tables, JSON, SARIF, JUnit and GitHub annotations of a check
//! ([`check`], from one [`outcome::Report`]), the per-frame rows ([`rows`]), and `lint`'s
//! formats ([`lint`]).

pub(crate) mod batched;
pub mod chains;
pub mod check;
pub mod ci;
pub mod fleet;
pub mod lint;
pub mod outcome;
pub mod rows;
pub mod table;
pub mod trace;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::engine::{AnswerTo, Engine, Outcome, Verdict};
use crate::packet::{Packet, PacketProblem, L4};
use crate::replay::{HostChoice, ReplayStats};
use crate::ruleset::printer::rule_text;

// Describing a decision and a packet's flags/protocol lives below the analyses that use it.
pub use crate::engine::describe::{
    proto_label, proto_name, rule_info, tcp_flags, tcp_flags_label, RuleInfo, RuleInfos,
};

/// What REJECT sent, as in the kernel's terms.
#[derive(Debug, Clone, Serialize)]
pub struct RejectRecord {
    /// `tcp-reset`, or `icmp 3/3`, `icmpv6 1/4`.
    pub sends: String,
    /// Whether the host's own OUTPUT path let the reply out (absent when not simulated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<bool>,
}

/// An IPv4 address as its `Display` writes it, made without the formatting machinery (which
/// took a tenth of a replay that prints every packet).
pub(crate) struct Ipv4Text {
    buf: [u8; 15],
    len: usize,
}

impl Ipv4Text {
    pub(crate) fn new(a: std::net::Ipv4Addr) -> Ipv4Text {
        let mut t = Ipv4Text {
            buf: [0; 15],
            len: 0,
        };
        for (i, o) in a.octets().into_iter().enumerate() {
            if i > 0 {
                t.buf[t.len] = b'.';
                t.len += 1;
            }
            let mut digits = itoa::Buffer::new();
            let d = digits.format(o).as_bytes();
            t.buf[t.len..t.len + d.len()].copy_from_slice(d);
            t.len += d.len();
        }
        t
    }

    pub(crate) fn as_str(&self) -> &str {
        // Digits and dots only.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// One JSON Lines record per frame.
#[derive(Debug, Clone, Serialize)]
pub struct PacketRecord {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub frame: u64,
    pub time: f64,
    pub direction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<Cow<'static, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sport: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dport: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<Cow<'static, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) icmp_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    pub ctstate: Option<&'static str>,
    pub verdict: Option<&'static str>,
    pub certain: bool,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "rule_as_cached_json"
    )]
    pub rule: Option<Arc<RuleInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject: Option<RejectRecord>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fragments: Vec<u64>,
    /// REJECT's reply to this frame, captured (judged once, when REJECT sent it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reject_reply_to: Option<u64>,
    /// The host would never send this packet: it answers `answers_frame`, a request the
    /// ruleset drops.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) would_not_be_sent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) answers_frame: Option<u64>,
    /// The router's outgoing copy of this frame, forwarded (judged when it came in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) copy_of: Option<u64>,
    /// For an uncertain verdict: what each match fwcheck could not decide would have led to
    /// had it matched (`trace`, or `--alternatives`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<AlternativeRecord>,
}

/// A record's rule, as the JSON its [`RuleInfo`] made once (the same bytes `RuleInfo`'s own
/// serialisation gives).
fn rule_as_cached_json<S: serde::Serializer>(
    rule: &Option<Arc<RuleInfo>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match rule {
        Some(r) => r.json().serialize(s),
        None => s.serialize_none(),
    }
}

/// One alternative of an uncertain verdict: the packet run again on a fork of the state it
/// met, with one undecided match taken as matching.
#[derive(Debug, Clone, Serialize)]
pub struct AlternativeRecord {
    /// The verdict in that case (`null`: the packet would not have been judged).
    pub verdict: Option<&'static str>,
    /// The condition, in words: `filter OUTPUT #2 (line 7) matches`, or for a packet
    /// uncertain through its connection's state, `frame 3: filter OUTPUT #2 (line 7) matches`.
    #[serde(rename = "if")]
    pub condition: String,
    /// The earlier frame whose undecided match this is (the doubt came through state).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    /// Why fwcheck could not decide that match.
    pub why: &'static str,
    /// False when another unknown could still change the verdict in that case.
    pub certain: bool,
    /// The rule of the undecided match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Arc<RuleInfo>>,
    /// What would have decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Arc<RuleInfo>>,
}

impl AlternativeRecord {
    fn new(rules: &mut RuleInfos<'_>, a: &crate::engine::Alternative) -> AlternativeRecord {
        let rule = rules.get(&crate::engine::Decision::Rule(a.rule));
        let at = a.frame.map(|f| format!("frame {f}: ")).unwrap_or_default();
        AlternativeRecord {
            verdict: a.verdict.map(|v| v.as_str()),
            condition: rule.as_ref().map_or_else(
                || format!("{at}the rule matches"),
                |r| format!("{at}{} matches", r.short()),
            ),
            frame: a.frame,
            why: a.why,
            certain: a.certain,
            rule,
            decided_by: a.decision.as_ref().and_then(|d| rules.get(d)),
        }
    }

    /// `ACCEPT if OUTPUT #2`, for the table.
    pub fn brief(&self) -> String {
        let what = self.verdict.unwrap_or("not judged");
        let q = if self.certain { "" } else { "?" };
        let at = self
            .frame
            .map(|f| format!("frame {f} "))
            .unwrap_or_default();
        match &self.rule {
            Some(r) => match r.number {
                Some(n) => format!("{what}{q} if {at}{} #{n}", r.chain),
                None => format!("{what}{q} if {at}{}", r.chain),
            },
            None => format!("{what}{q} otherwise"),
        }
    }
}

impl PacketRecord {
    pub fn new(rules: &mut RuleInfos<'_>, pkt: &Packet, o: &Outcome) -> PacketRecord {
        let (sport, dport) = match pkt.ports() {
            Some((s, d)) => (Some(s), Some(d)),
            None => (None, None),
        };
        let icmp = pkt.icmp();
        PacketRecord {
            kind: "packet",
            frame: o.frame,
            time: pkt.ts.as_secs_f64(),
            direction: o.direction.as_str(),
            family: Some(pkt.family.number()),
            src: Some(pkt.src),
            dst: Some(pkt.dst),
            proto: Some(proto_label(pkt.proto)),
            sport,
            dport,
            tcp_flags: pkt.tcp().map(|t| tcp_flags_label(t.flags).into()),
            icmp_type: icmp.map(|i| i.icmp_type),
            icmp_code: icmp.map(|i| i.code),
            length: Some(pkt.ip_len),
            ctstate: o.ctstate.map(|c| c.as_str()),
            verdict: o.verdict.map(|v| v.as_str()),
            certain: o.certain,
            rule: o.decision.as_ref().and_then(|d| rules.get(d)),
            reason: o.reason.clone(),
            reject: o.reject.map(|r| RejectRecord {
                sends: r.reply.to_string(),
                sent: r.sent,
            }),
            fragments: o.fragments.clone(),
            reject_reply_to: match o.answer_to {
                Some(AnswerTo::RejectReply(f)) => Some(f),
                _ => None,
            },
            would_not_be_sent: matches!(o.answer_to, Some(AnswerTo::NotSent(_))),
            answers_frame: match o.answer_to {
                Some(AnswerTo::NotSent(f)) => Some(f),
                _ => None,
            },
            copy_of: match o.answer_to {
                Some(AnswerTo::ForwardedCopy(f)) => Some(f),
                _ => None,
            },
            alternatives: o
                .alternatives
                .iter()
                .map(|a| AlternativeRecord::new(rules, a))
                .collect(),
        }
    }

    /// Appends the record as one JSON object: the bytes `serde_json::to_writer` gives (pinned
    /// by `hand_written_json_is_serdes`), without serde's per-field machinery, which was a
    /// quarter of a `--format json` replay. Numbers go through `itoa`, floats and the rarer
    /// nested records through serde_json itself, strings through its escaping.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        fn int(out: &mut Vec<u8>, key: &[u8], n: impl itoa::Integer) {
            out.extend_from_slice(key);
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        }
        fn string(out: &mut Vec<u8>, key: &[u8], s: &str) {
            out.extend_from_slice(key);
            // Writing into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, s);
        }
        fn opt_int<N: itoa::Integer>(out: &mut Vec<u8>, key: &[u8], n: Option<N>) {
            if let Some(n) = n {
                int(out, key, n);
            }
        }
        fn nullable(out: &mut Vec<u8>, key: &[u8], s: Option<&str>) {
            match s {
                Some(s) => string(out, key, s),
                None => {
                    out.extend_from_slice(key);
                    out.extend_from_slice(b"null");
                }
            }
        }
        fn ip(out: &mut Vec<u8>, key: &[u8], a: Option<IpAddr>) {
            use std::io::Write;
            let Some(a) = a else { return };
            out.extend_from_slice(key);
            match a {
                IpAddr::V4(v4) => {
                    out.push(b'"');
                    out.extend_from_slice(Ipv4Text::new(v4).as_str().as_bytes());
                    out.push(b'"');
                }
                IpAddr::V6(_) => {
                    let _ = write!(out, "\"{a}\"");
                }
            }
        }
        string(out, b"{\"type\":", self.kind);
        int(out, b",\"frame\":", self.frame);
        out.extend_from_slice(b",\"time\":");
        let _ = serde_json::to_writer(&mut *out, &self.time);
        string(out, b",\"direction\":", self.direction);
        opt_int(out, b",\"family\":", self.family);
        ip(out, b",\"src\":", self.src);
        ip(out, b",\"dst\":", self.dst);
        if let Some(p) = &self.proto {
            string(out, b",\"proto\":", p);
        }
        opt_int(out, b",\"sport\":", self.sport);
        opt_int(out, b",\"dport\":", self.dport);
        if let Some(f) = &self.tcp_flags {
            string(out, b",\"tcp_flags\":", f);
        }
        opt_int(out, b",\"icmp_type\":", self.icmp_type);
        opt_int(out, b",\"icmp_code\":", self.icmp_code);
        opt_int(out, b",\"length\":", self.length);
        nullable(out, b",\"ctstate\":", self.ctstate);
        nullable(out, b",\"verdict\":", self.verdict);
        out.extend_from_slice(if self.certain {
            b",\"certain\":true"
        } else {
            b",\"certain\":false"
        });
        if let Some(r) = &self.rule {
            out.extend_from_slice(b",\"rule\":");
            out.extend_from_slice(r.json().get().as_bytes());
        }
        if let Some(r) = &self.reason {
            string(out, b",\"reason\":", r);
        }
        if let Some(r) = &self.reject {
            out.extend_from_slice(b",\"reject\":");
            let _ = serde_json::to_writer(&mut *out, r);
        }
        if !self.fragments.is_empty() {
            out.extend_from_slice(b",\"fragments\":[");
            for (i, f) in self.fragments.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(itoa::Buffer::new().format(*f).as_bytes());
            }
            out.push(b']');
        }
        opt_int(out, b",\"reject_reply_to\":", self.reject_reply_to);
        if self.would_not_be_sent {
            out.extend_from_slice(b",\"would_not_be_sent\":true");
        }
        opt_int(out, b",\"answers_frame\":", self.answers_frame);
        opt_int(out, b",\"copy_of\":", self.copy_of);
        if !self.alternatives.is_empty() {
            out.extend_from_slice(b",\"alternatives\":");
            let _ = serde_json::to_writer(&mut *out, &self.alternatives);
        }
        out.push(b'}');
    }

    /// A frame that did not decode into an IP packet.
    pub fn problem(p: &PacketProblem) -> PacketRecord {
        PacketRecord {
            kind: "packet",
            frame: p.frame,
            time: p.ts.map(|t| t.as_secs_f64()).unwrap_or(0.0),
            direction: "none",
            family: None,
            src: p.addrs.map(|a| a.0),
            dst: p.addrs.map(|a| a.1),
            proto: None,
            sport: None,
            dport: None,
            tcp_flags: None,
            icmp_type: None,
            icmp_code: None,
            length: None,
            ctstate: None,
            verdict: None,
            certain: true,
            rule: None,
            reason: Some(if p.kind.is_skip() {
                format!("not IP: {}", p.reason)
            } else {
                format!("malformed: {}", p.reason)
            }),
            reject: None,
            fragments: Vec::new(),
            reject_reply_to: None,
            would_not_be_sent: false,
            answers_frame: None,
            copy_of: None,
            alternatives: Vec::new(),
        }
    }
}

/// Hit counters of one rule or policy, like `iptables -L -vn --line-numbers`.
#[derive(Debug, Clone, Serialize)]
pub struct RuleHits {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub table: &'static str,
    pub chain: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<&'static str>,
    pub packets: u64,
    pub bytes: u64,
    /// The counters are lower bounds: a match fwcheck could not decide (`-m owner`,
    /// `-m socket`…) was taken as not matching in a rule that only observes (no verdict
    /// rests on it), or whose target would have ended the table as it ended anyway, so the
    /// kernel may have counted more. Absent when exact.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub at_least: bool,
    /// The counters are upper bounds: a match fwcheck could not decide was taken as not
    /// matching where its rule would have ended the table the same way (the verdict is
    /// certain), so the kernel may have counted the packet at that rule instead of at this
    /// one. Absent when exact.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub at_most: bool,
    /// The rules file, when a replay judges with two rulesets (IPv4 and IPv6 side by side);
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Arc<str>>,
}

/// Every rule's and policy's counters, in table/chain/rule order; `with_file`: each names its
/// rules file ([`RuleHits::file`]).
pub(crate) fn rule_hits(engine: &Engine<'_>, with_file: bool) -> Vec<RuleHits> {
    let rs = engine.ruleset();
    let file: Option<Arc<str>> = with_file.then(|| Arc::from(rs.source.name.as_str()));
    let mut v = Vec::new();
    for (ti, t) in rs.tables.iter().enumerate() {
        for (ci, c) in t.chains.iter().enumerate() {
            for (ri, r) in c.rules.iter().enumerate() {
                let ct = engine.rule_counters(ti, ci, ri);
                v.push(RuleHits {
                    kind: "rule",
                    table: t.kind.name(),
                    chain: c.name.clone(),
                    number: Some(ri + 1),
                    line: Some(rs.line_of(r.span)),
                    text: Some(rule_text(&c.name, r)),
                    policy: None,
                    packets: ct.packets,
                    bytes: ct.bytes,
                    at_least: engine.rule_counter_doubt(ti, ci, ri),
                    at_most: engine.rule_counter_over(ti, ci, ri),
                    file: file.clone(),
                });
            }
            if let Some(p) = c.policy {
                let ct = engine.policy_counters(ti, ci);
                v.push(RuleHits {
                    kind: "policy",
                    table: t.kind.name(),
                    chain: c.name.clone(),
                    number: None,
                    line: c.declared.then(|| rs.line_of(c.span)),
                    text: None,
                    policy: Some(p.name()),
                    packets: ct.packets,
                    bytes: ct.bytes,
                    at_least: engine.policy_counter_doubt(ti, ci),
                    at_most: engine.policy_counter_over(ti, ci),
                    file: file.clone(),
                });
            }
        }
    }
    v
}

/// A flow's protocol: its number, shown and ordered by its name ([`proto_label`]: `tcp`,
/// `udp`, `icmpv6`, a number without one). One byte in the flow table instead of a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowProto(pub u8);

impl FlowProto {
    pub fn label(self) -> Cow<'static, str> {
        proto_label(self.0)
    }
}

impl std::fmt::Display for FlowProto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl Ord for FlowProto {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.label().cmp(&other.label())
    }
}

impl PartialOrd for FlowProto {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for FlowProto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.label())
    }
}

/// A connection as the report groups packets: protocol and the two endpoints, with the
/// initiator (the first packet's source) first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FlowKey {
    pub proto: FlowProto,
    pub a: IpAddr,
    pub(crate) a_port: Option<u16>,
    pub b: IpAddr,
    pub(crate) b_port: Option<u16>,
}

/// Per-flow counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowStats {
    pub first_frame: u64,
    pub last_frame: u64,
    pub packets: u64,
    pub accepted: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub uncertain: u64,
    /// Frames of this flow that were not accepted.
    pub(crate) blocked_frames: Vec<u64>,
}

/// One flow in JSON output.
#[derive(Debug, Serialize)]
pub(crate) struct FlowRecord<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub key: &'a FlowKey,
    #[serde(flatten)]
    pub stats: &'a FlowStats,
}

/// Running summary of a replay.
#[derive(Debug, Default)]
pub struct Summary {
    pub frames: u64,
    pub accepted: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub uncertain: u64,
    pub(crate) not_judged: BTreeMap<String, u64>,
    /// Accepted, dropped, rejected per [`Direction`] (its discriminant).
    by_direction: [[u64; 3]; 5],
    /// Flows in order of first appearance; [`Summary::flows`] sorts them.
    flow_list: Segments<FlowSlot>,
    /// Index in `flow_list` by the flow's canonical endpoints ([`Canon`]); the keys are the
    /// slots' own, not a copy.
    flow_index: hashbrown::HashTable<u32>,
    pub track_flows: bool,
    /// At most this many flows are kept (0 = [`DEFAULT_MAX_FLOWS`]); later flows are folded.
    max_flows: usize,
    /// Packets of flows first seen after the table was full, counted exactly by verdict.
    folded: FoldedFlows,
}

/// Flows kept by the replay's flow summary unless `--max-flows` says otherwise: 100,000 flows
/// take about 20 MB; packets of further flows are counted in [`FoldedFlows`], not per flow.
pub const DEFAULT_MAX_FLOWS: usize = 100_000;

/// A flow's endpoints without their order: protocol, then the lower and the higher
/// (address, port).
type Canon = (u8, IpAddr, u16, IpAddr, u16);

fn canon(proto: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> Canon {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    (proto, lo.0, lo.1, hi.0, hi.1)
}

/// The hash of the flow index and of the folded flows' distinct count (fixed, so a folded
/// count does not change from run to run).
fn canon_hash(c: &Canon) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x5eed).hash_one(c)
}

/// One kept flow.
#[derive(Debug)]
struct FlowSlot {
    key: FlowKey,
    stats: FlowStats,
}

impl FlowSlot {
    fn canon(&self) -> Canon {
        let k = &self.key;
        canon(
            k.proto.0,
            (k.a, k.a_port.unwrap_or(0)),
            (k.b, k.b_port.unwrap_or(0)),
        )
    }
}

/// A list grown in fixed segments: pushing never moves what is stored, and the memory held
/// is the items' plus at most one segment, never a doubled copy (a flow table of 100,000
/// entries in a `Vec` peaks at 1.5 × 131,072 slots while it grows).
#[derive(Debug)]
struct Segments<T> {
    segs: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Segments<T> {
    fn default() -> Self {
        Segments {
            segs: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Segments<T> {
    const SEG: usize = 4096;

    fn len(&self) -> usize {
        self.len
    }

    /// Stores `x` and returns its index.
    fn push(&mut self, x: T) -> usize {
        if self.len.is_multiple_of(Self::SEG) {
            self.segs
                .push(Vec::with_capacity(Self::SEG.min(64.max(self.len))));
        }
        let seg = self.segs.last_mut().expect("a segment was just pushed");
        seg.push(x);
        self.len += 1;
        self.len - 1
    }

    fn get(&self, i: usize) -> &T {
        &self.segs[i / Self::SEG][i % Self::SEG]
    }

    fn get_mut(&mut self, i: usize) -> &mut T {
        &mut self.segs[i / Self::SEG][i % Self::SEG]
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.segs.iter().flatten()
    }

    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.segs.iter().map(Vec::capacity).sum()
    }
}

/// Packets of the flows that did not fit in the flow table: exact totals by verdict, and the
/// number of distinct such flows estimated in fixed memory (HyperLogLog, 4 KiB, about 1.6 %
/// standard error; exact enough for small counts through linear counting).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FoldedFlows {
    pub packets: u64,
    pub accepted: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub uncertain: u64,
    #[serde(skip)]
    registers: Vec<u8>,
}

const HLL_BITS: u32 = 12;

impl FoldedFlows {
    fn insert(&mut self, hash: u64) {
        if self.registers.is_empty() {
            self.registers = vec![0; 1 << HLL_BITS];
        }
        let i = (hash >> (64 - HLL_BITS)) as usize;
        let rest = (hash << HLL_BITS) | (1 << (HLL_BITS - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if rank > self.registers[i] {
            self.registers[i] = rank;
        }
    }

    /// Estimated number of distinct folded flows (0 when none was folded).
    pub fn flows_estimate(&self) -> u64 {
        if self.registers.is_empty() {
            return 0;
        }
        let m = self.registers.len() as f64;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        let sum: f64 = self.registers.iter().map(|&r| 2f64.powi(-(r as i32))).sum();
        let raw = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
        let est = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        (est.round() as u64).clamp(1, self.packets.max(1))
    }
}

/// The folded flows in JSON output (only written when flows were folded).
#[derive(Debug, Serialize)]
pub(crate) struct FoldedRecord<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub flows_estimate: u64,
    pub max_flows: usize,
    #[serde(flatten)]
    pub stats: &'a FoldedFlows,
}

impl Summary {
    pub fn new(track_flows: bool) -> Summary {
        Summary {
            track_flows,
            ..Summary::default()
        }
    }

    /// A summary keeping at most `max_flows` flows (0 = [`DEFAULT_MAX_FLOWS`]).
    pub(crate) fn with_max_flows(track_flows: bool, max_flows: usize) -> Summary {
        Summary {
            track_flows,
            max_flows,
            ..Summary::default()
        }
    }

    /// The bound on kept flows.
    pub fn max_flows(&self) -> usize {
        if self.max_flows == 0 {
            DEFAULT_MAX_FLOWS
        } else {
            self.max_flows
        }
    }

    /// Packets of the flows not kept because the table was full.
    pub fn folded(&self) -> &FoldedFlows {
        &self.folded
    }

    /// The JSON record of the folded flows, if any flow was folded.
    pub(crate) fn folded_record(&self) -> Option<FoldedRecord<'_>> {
        (self.folded.packets > 0).then(|| FoldedRecord {
            kind: "flows_not_listed",
            flows_estimate: self.folded.flows_estimate(),
            max_flows: self.max_flows(),
            stats: &self.folded,
        })
    }

    /// The flows as JSON records (`"type": "flow"`), sorted.
    pub(crate) fn flow_records(&self) -> Vec<FlowRecord<'_>> {
        self.flows()
            .into_iter()
            .map(|(key, stats)| FlowRecord {
                kind: "flow",
                key,
                stats,
            })
            .collect()
    }

    pub(crate) fn flow_count(&self) -> usize {
        self.flow_list.len()
    }

    /// Flows with at least one packet dropped or rejected.
    pub(crate) fn blocked_flow_count(&self) -> usize {
        self.blocked_flows().count()
    }

    /// The flows with a packet dropped or rejected, in order of first appearance.
    pub(crate) fn blocked_flows(&self) -> impl Iterator<Item = (&FlowKey, &FlowStats)> {
        self.flow_list
            .iter()
            .filter(|f| f.stats.dropped + f.stats.rejected > 0)
            .map(|f| (&f.key, &f.stats))
    }

    /// The flows seen (when tracked), sorted by protocol and endpoints.
    pub fn flows(&self) -> Vec<(&FlowKey, &FlowStats)> {
        let mut v: Vec<_> = self.flow_list.iter().map(|f| (&f.key, &f.stats)).collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Accepted, dropped and rejected packets per direction, for the directions that had
    /// any, by name.
    pub(crate) fn by_direction(&self) -> Vec<(&'static str, [u64; 3])> {
        use crate::engine::Direction as D;
        let mut v: Vec<_> = [D::In, D::Out, D::Forward, D::Local, D::None]
            .into_iter()
            .map(|d| (d.as_str(), self.by_direction[d as usize]))
            .filter(|(_, c)| c.iter().sum::<u64>() > 0)
            .collect();
        v.sort_unstable_by_key(|&(name, _)| name);
        v
    }

    pub fn add(&mut self, pkt: Option<&Packet>, o: &Outcome) {
        self.count(Counted::of(pkt, o, self.track_flows));
    }

    /// Counts one frame's [`Counted`].
    pub(crate) fn count(&mut self, c: Counted) {
        self.frames += 1;
        let Some(v) = c.verdict else {
            let key = c.not_judged.as_deref().unwrap_or_default();
            match self.not_judged.get_mut(key) {
                Some(n) => *n += 1,
                None => {
                    self.not_judged.insert(key.to_string(), 1);
                }
            }
            return;
        };
        let slot = match v {
            Verdict::Accept => {
                self.accepted += 1;
                0
            }
            Verdict::Drop => {
                self.dropped += 1;
                1
            }
            Verdict::Reject => {
                self.rejected += 1;
                2
            }
        };
        if !c.certain {
            self.uncertain += 1;
        }
        self.by_direction[c.direction as usize][slot] += 1;
        let (frame, certain) = (c.frame, c.certain);
        let (true, Some(p)) = (self.track_flows, c.flow) else {
            return;
        };
        let (sp, dp) = (p.sport, p.dport);
        let c = canon(p.proto, (p.src, sp), (p.dst, dp));
        let h = canon_hash(&c);
        // The index holds u32s: a bound past 2^32 flows is 2^32.
        let max = self.max_flows().min(u32::MAX as usize);
        let list = &mut self.flow_list;
        let i = match self
            .flow_index
            .find(h, |&i| list.get(i as usize).canon() == c)
        {
            Some(&i) => i as usize,
            None if list.len() >= max => {
                let f = &mut self.folded;
                f.insert(h);
                f.packets += 1;
                tally(
                    v,
                    certain,
                    [&mut f.accepted, &mut f.dropped, &mut f.rejected],
                    &mut f.uncertain,
                );
                return;
            }
            None => {
                let i = list.push(FlowSlot {
                    key: FlowKey {
                        proto: FlowProto(p.proto),
                        a: p.src,
                        a_port: (sp != 0 || p.has_ports).then_some(sp),
                        b: p.dst,
                        b_port: (dp != 0 || p.has_ports).then_some(dp),
                    },
                    stats: FlowStats {
                        first_frame: frame,
                        ..FlowStats::default()
                    },
                });
                // `i < max <= u32::MAX`.
                self.flow_index
                    .insert_unique(h, i as u32, |&j| canon_hash(&list.get(j as usize).canon()));
                i
            }
        };
        let f = &mut self.flow_list.get_mut(i).stats;
        f.last_frame = frame;
        f.packets += 1;
        tally(
            v,
            certain,
            [&mut f.accepted, &mut f.dropped, &mut f.rejected],
            &mut f.uncertain,
        );
        if v != Verdict::Accept && f.blocked_frames.len() < 20 {
            f.blocked_frames.push(frame);
        }
    }
}

/// Counts a verdict into its counter (accepted, dropped, rejected) and an uncertain one.
fn tally(v: Verdict, certain: bool, by_verdict: [&mut u64; 3], uncertain: &mut u64) {
    let [accepted, dropped, rejected] = by_verdict;
    *match v {
        Verdict::Accept => accepted,
        Verdict::Drop => dropped,
        Verdict::Reject => rejected,
    } += 1;
    if !certain {
        *uncertain += 1;
    }
}

/// What the summary counts of one frame: taken from the packet and its outcome on the replay's
/// thread, counted on the summary's ([`SummaryCounter`]).
#[derive(Debug)]
pub(crate) struct Counted {
    frame: u64,
    verdict: Option<Verdict>,
    certain: bool,
    direction: crate::engine::Direction,
    /// For a frame not judged: its reason up to the first colon.
    not_judged: Option<String>,
    /// The flow, when flows are tracked.
    flow: Option<FlowSeen>,
}

/// A frame's flow as [`Summary`] groups it.
#[derive(Debug)]
struct FlowSeen {
    proto: u8,
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    /// The protocol has ports (TCP, UDP, SCTP, …), even when they are 0.
    has_ports: bool,
}

impl Counted {
    pub(crate) fn of(pkt: Option<&Packet>, o: &Outcome, track_flows: bool) -> Counted {
        let not_judged = o.verdict.is_none().then(|| {
            let reason = o.reason.as_deref().unwrap_or_default();
            reason.split(':').next().unwrap_or("").to_string()
        });
        let flow = match pkt {
            Some(p) if track_flows && o.verdict.is_some() => {
                let (sport, dport) = flow_ports(p);
                Some(FlowSeen {
                    proto: p.proto,
                    src: p.src,
                    sport,
                    dst: p.dst,
                    dport,
                    has_ports: p.ports().is_some(),
                })
            }
            _ => None,
        };
        Counted {
            frame: o.frame,
            verdict: o.verdict,
            certain: o.certain,
            direction: o.direction,
            not_judged,
            flow,
        }
    }
}

/// A [`Summary`] counted on a second thread when there is one ([`batched::Batched`]): the
/// same counts, in the same order, as [`Summary::add`] inline.
pub(crate) struct SummaryCounter {
    frames: u64,
    track_flows: bool,
    how: Counting,
}

enum Counting {
    Inline(Box<Summary>),
    Worker(batched::Batched<Counted, Summary>),
}

impl SummaryCounter {
    pub(crate) fn new(summary: Summary) -> SummaryCounter {
        let track_flows = summary.track_flows;
        let how = if batched::second_core() {
            Counting::Worker(batched::Batched::start(summary, |s: &mut Summary, c| {
                s.count(c)
            }))
        } else {
            Counting::Inline(Box::new(summary))
        };
        SummaryCounter {
            frames: 0,
            track_flows,
            how,
        }
    }

    pub(crate) fn add(&mut self, pkt: Option<&Packet>, o: &Outcome) {
        self.frames += 1;
        let c = Counted::of(pkt, o, self.track_flows);
        match &mut self.how {
            Counting::Inline(s) => s.count(c),
            Counting::Worker(w) => w.push(c),
        }
    }

    /// Frames counted so far.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    /// The summary, every frame counted.
    pub(crate) fn finish(self) -> Summary {
        match self.how {
            Counting::Inline(s) => *s,
            Counting::Worker(w) => w.finish().expect("the summary's counting does not panic"),
        }
    }
}

/// Ports for flow grouping: TCP/UDP ports, or the ICMP echo id on both sides.
fn flow_ports(p: &Packet) -> (u16, u16) {
    if let Some(ps) = p.ports() {
        return ps;
    }
    match &p.l4 {
        L4::Icmp(i) | L4::Icmpv6(i) if matches!(i.icmp_type, 0 | 8 | 128 | 129) => (i.id, i.id),
        _ => (0, 0),
    }
}

/// The final JSON record.
#[derive(Debug, Serialize)]
pub struct SummaryRecord<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub frames: u64,
    pub judged: u64,
    pub accepted: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub uncertain: u64,
    pub(crate) not_judged: &'a BTreeMap<String, u64>,
    pub hosts: &'a [IpAddr],
    pub(crate) host_inferred: bool,
    pub conntrack: bool,
    pub stats: &'a ReplayStats,
}

impl Summary {
    pub fn record<'a>(
        &'a self,
        hosts: &'a HostChoice,
        conntrack: bool,
        stats: &'a ReplayStats,
    ) -> SummaryRecord<'a> {
        SummaryRecord {
            kind: "summary",
            frames: self.frames,
            judged: self.accepted + self.dropped + self.rejected,
            accepted: self.accepted,
            dropped: self.dropped,
            rejected: self.rejected,
            uncertain: self.uncertain,
            not_judged: &self.not_judged,
            hosts: &hosts.hosts,
            host_inferred: hosts.inferred,
            conntrack,
            stats,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Direction;
    use crate::packet::build::{build, L4Spec, PacketSpec};
    use crate::packet::decode::{decode_ip, FrameMeta};
    use crate::packet::{LinkInfo, Timestamp};

    fn udp(i: u32) -> Packet {
        let src = IpAddr::from([198, 51, 100, (i >> 8) as u8]);
        let dst: IpAddr = "203.0.113.10".parse().unwrap();
        let s = PacketSpec::new(
            src,
            dst,
            L4Spec::Udp {
                sport: 1024 + (i & 0xff) as u16,
                dport: 53,
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

    fn outcome(frame: u64, v: Verdict) -> Outcome {
        Outcome {
            verdict: Some(v),
            ..Outcome::empty(frame, Direction::In)
        }
    }

    /// 20,000 distinct flows, two packets each, through a table of 100: 100 records are kept,
    /// the rest is counted exactly in the fixed-size bucket.
    #[test]
    fn flows_beyond_the_bound_keep_no_record() {
        let mut s = Summary::with_max_flows(true, 100);
        let mut frame = 0;
        for round in 0..2 {
            for i in 0..20_000u32 {
                frame += 1;
                let v = if (i + round) % 3 == 0 {
                    Verdict::Drop
                } else {
                    Verdict::Accept
                };
                s.add(Some(&udp(i)), &outcome(frame, v));
            }
        }
        assert_eq!(s.flow_count(), 100);
        assert_eq!(s.flow_index.len(), 100);
        assert!(s.flow_list.capacity() <= 256);
        assert!(s.flow_index.capacity() <= 256);
        assert_eq!(s.flow_list.segs.len(), 1);
        assert_eq!(s.folded.registers.len(), 1 << HLL_BITS);
        let listed: u64 = s.flows().iter().map(|(_, f)| f.packets).sum();
        assert_eq!(listed, 200);
        assert_eq!(s.folded.packets, 40_000 - 200);
        let listed_drop: u64 = s.flows().iter().map(|(_, f)| f.dropped).sum();
        assert_eq!(listed_drop + s.folded.dropped, s.dropped);
        assert_eq!(s.accepted + s.dropped, 40_000);
        let est = s.folded.flows_estimate() as f64;
        assert!((est - 19_900.0).abs() < 19_900.0 * 0.05, "{est}");
        let r = s.folded_record().unwrap();
        assert_eq!(r.max_flows, 100);
    }

    /// 10,000 flows span three segments of the flow list; every flow's second packet finds
    /// the first's record through the index, and the per-direction counts are by name.
    #[test]
    fn flows_across_segments_are_found_again() {
        let mut s = Summary::new(true);
        let mut frame = 0;
        for _ in 0..2 {
            for i in 0..10_000u32 {
                frame += 1;
                s.add(Some(&udp(i)), &outcome(frame, Verdict::Accept));
            }
        }
        assert_eq!(s.flow_count(), 10_000);
        assert_eq!(s.flow_list.segs.len(), 3);
        assert!(s.flows().iter().all(|(_, f)| f.packets == 2));
        let first: Vec<u64> = s.flow_list.iter().map(|f| f.stats.first_frame).collect();
        assert_eq!(first, (1..=10_000).collect::<Vec<u64>>());
        let mut o = outcome(frame + 1, Verdict::Drop);
        o.direction = Direction::Out;
        s.add(None, &o);
        assert_eq!(
            s.by_direction(),
            vec![("in", [20_000, 0, 0]), ("out", [0, 1, 0])]
        );
    }

    /// `PacketRecord::write_json` writes exactly what serde_json makes of the record: every
    /// optional field present or absent, strings with quotes, escapes, control characters and
    /// non-ASCII, floats whole, fractional, huge and not finite, both families, rules of every
    /// kind (a rule with a comment that needs escaping, a policy, the stack, conntrack),
    /// rejects and alternatives.
    #[test]
    fn hand_written_json_is_serdes() {
        use crate::engine::{Decision, RuleRef};
        use crate::ruleset::{parse_str, ParseOptions, TableKind};
        use proptest::prelude::*;
        let parsed = parse_str(
            "r.v4",
            "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -p tcp -m tcp --dport 22 -m comment --comment \"ssh \\\"admin\\\" \u{e9}\" -j ACCEPT\n\
             COMMIT\n",
            ParseOptions::default(),
        );
        assert!(!parsed.has_errors());
        let rs = parsed.ruleset;
        let mut infos = RuleInfos::new(&rs);
        let decisions = [
            Decision::Rule(RuleRef {
                table: TableKind::Filter,
                chain: 0,
                rule: 0,
            }),
            Decision::Policy {
                table: TableKind::Filter,
                chain: 0,
            },
            Decision::Stack("bad IP header checksum"),
            Decision::Conntrack("invalid"),
        ];
        let rules: Vec<Option<Arc<RuleInfo>>> = std::iter::once(None)
            .chain(decisions.iter().map(|d| infos.get(d)))
            .collect();
        assert!(rules.iter().skip(1).all(Option::is_some));
        let text = || {
            prop_oneof![
                Just(String::new()),
                "[ -~]{0,12}",
                Just("quote \" back \\ slash".to_string()),
                Just("ctl \u{1}\u{8}\t\n\r\u{1f}\u{7f} é ✓ 🦀".to_string()),
            ]
        };
        let addr = prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from),
        ];
        let time = prop_oneof![
            Just(0.0),
            Just(1_700_000_000.000_179),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(1e300),
            any::<f64>(),
            (0u64..4_000_000_000u64).prop_map(|us| us as f64 / 1e6),
        ];
        let state = prop_oneof![Just(None), Just(Some("NEW")), Just(Some("ESTABLISHED"))];
        let verdict = prop_oneof![Just(None), Just(Some("ACCEPT")), Just(Some("DROP"))];
        let alternative = (text(), any::<Option<u64>>(), any::<bool>(), verdict.clone()).prop_map(
            |(condition, frame, certain, verdict)| AlternativeRecord {
                verdict,
                condition,
                frame,
                why: "the kernel's random hash seed",
                certain,
                rule: None,
                decided_by: None,
            },
        );
        let header = (
            any::<u64>(),
            time,
            prop_oneof![Just("in"), Just("out"), Just("none")],
            any::<Option<u8>>(),
            proptest::option::of(addr.clone()),
            proptest::option::of(addr),
            proptest::option::of(text()),
            any::<Option<u16>>(),
            any::<Option<u16>>(),
            proptest::option::of(text()),
        );
        let body = (
            any::<Option<u8>>(),
            any::<Option<u8>>(),
            any::<Option<u32>>(),
            state,
            verdict,
            any::<bool>(),
            0..rules.len(),
            proptest::option::of(text()),
            proptest::option::of((text(), any::<Option<bool>>())),
            proptest::collection::vec(any::<u64>(), 0..4),
            (
                any::<Option<u64>>(),
                any::<bool>(),
                any::<Option<u64>>(),
                any::<Option<u64>>(),
            ),
            proptest::collection::vec(alternative, 0..3),
        );
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        runner
            .run(&(header, body), |(h, b)| {
                let rec = PacketRecord {
                    kind: "packet",
                    frame: h.0,
                    time: h.1,
                    direction: h.2,
                    family: h.3,
                    src: h.4,
                    dst: h.5,
                    proto: h.6.map(Cow::Owned),
                    sport: h.7,
                    dport: h.8,
                    tcp_flags: h.9.map(Cow::Owned),
                    icmp_type: b.0,
                    icmp_code: b.1,
                    length: b.2,
                    ctstate: b.3,
                    verdict: b.4,
                    certain: b.5,
                    rule: rules[b.6].clone(),
                    reason: b.7,
                    reject: b.8.map(|(sends, sent)| RejectRecord { sends, sent }),
                    fragments: b.9,
                    reject_reply_to: b.10 .0,
                    would_not_be_sent: b.10 .1,
                    answers_frame: b.10 .2,
                    copy_of: b.10 .3,
                    alternatives: b.11,
                };
                let mut hand = Vec::new();
                rec.write_json(&mut hand);
                let serde = serde_json::to_vec(&rec).expect("serialises");
                prop_assert_eq!(
                    String::from_utf8_lossy(&hand),
                    String::from_utf8_lossy(&serde)
                );
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn ipv4_text_is_display() {
        for a in [
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            [192, 0, 2, 10],
            [10, 100, 9, 199],
        ] {
            let a = std::net::Ipv4Addr::from(a);
            assert_eq!(Ipv4Text::new(a).as_str(), a.to_string());
        }
        for n in (0..=u32::MAX).step_by(65_537) {
            let a = std::net::Ipv4Addr::from(n);
            assert_eq!(Ipv4Text::new(a).as_str(), a.to_string());
        }
    }

    #[test]
    fn under_the_bound_nothing_is_folded() {
        let mut s = Summary::new(true);
        assert_eq!(s.max_flows(), DEFAULT_MAX_FLOWS);
        for i in 0..500u32 {
            s.add(Some(&udp(i)), &outcome(u64::from(i) + 1, Verdict::Accept));
        }
        assert_eq!(s.flow_count(), 500);
        assert!(s.folded_record().is_none());
        assert!(s.folded.registers.is_empty());
    }
}
