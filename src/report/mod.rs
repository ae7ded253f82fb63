//! Reports built from replay outcomes: the record types (serialised as JSON Lines, one object
//! per line with a `"type"`), per-rule hit counters, summaries by verdict and by flow, and every
//! output format: the terminal tables, JSON, SARIF, JUnit and GitHub annotations of a check
//! ([`check`], from one [`outcome::Report`]), the per-frame rows ([`rows`]), and `lint`'s
//! formats ([`lint`]).

pub mod chains;
pub mod check;
pub mod ci;
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
use crate::ext::RejectReply;
use crate::packet::{Packet, PacketProblem, L4};
use crate::replay::{HostChoice, ReplayStats};
use crate::ruleset::printer::rule_text;

// Describing a decision and a packet's flags/protocol lives below the analyses that use it.
pub use crate::engine::describe::{
    proto_label, proto_name, rule_info, tcp_flags, RuleInfo, RuleInfos,
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
    pub tcp_flags: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    pub ctstate: Option<&'static str>,
    pub verdict: Option<&'static str>,
    pub certain: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Arc<RuleInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject: Option<RejectRecord>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fragments: Vec<u64>,
    /// REJECT's reply to this frame, captured (judged once, when REJECT sent it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reply_to: Option<u64>,
    /// The host would never send this packet: it answers `answers_frame`, a request the
    /// ruleset drops.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub would_not_be_sent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers_frame: Option<u64>,
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
            tcp_flags: pkt.tcp().map(|t| tcp_flags(t.flags)),
            icmp_type: icmp.map(|i| i.icmp_type),
            icmp_code: icmp.map(|i| i.code),
            length: Some(pkt.ip_len),
            ctstate: o.ctstate.map(|c| c.as_str()),
            verdict: o.verdict.map(|v| v.as_str()),
            certain: o.certain,
            rule: o.decision.as_ref().and_then(|d| rules.get(d)),
            reason: o.reason.clone(),
            reject: o.reject.map(|r| RejectRecord {
                sends: match r.reply {
                    RejectReply::TcpReset => "tcp-reset".into(),
                    RejectReply::Icmp { icmp_type, code } => format!("icmp {icmp_type}/{code}"),
                    RejectReply::Icmpv6 { icmp_type, code } => format!("icmpv6 {icmp_type}/{code}"),
                },
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
        }
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
}

/// Every rule's and policy's counters, in table/chain/rule order.
pub fn rule_hits(engine: &Engine<'_>) -> Vec<RuleHits> {
    let rs = engine.ruleset();
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
                });
            }
        }
    }
    v
}

/// A connection as the report groups packets: protocol and the two endpoints, with the
/// initiator (the first packet's source) first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FlowKey {
    pub proto: String,
    pub a: IpAddr,
    pub a_port: Option<u16>,
    pub b: IpAddr,
    pub b_port: Option<u16>,
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
    pub blocked_frames: Vec<u64>,
}

/// One flow in JSON output.
#[derive(Debug, Serialize)]
pub struct FlowRecord<'a> {
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
    pub not_judged: BTreeMap<String, u64>,
    pub by_direction: BTreeMap<&'static str, [u64; 3]>,
    /// Flows in order of first appearance; [`Summary::flows`] sorts them.
    flow_list: Vec<(FlowKey, FlowStats)>,
    /// Canonical (unordered) endpoints → index in `flow_list`.
    flow_index: foldhash::HashMap<(u8, IpAddr, u16, IpAddr, u16), usize>,
    pub track_flows: bool,
}

impl Summary {
    pub fn new(track_flows: bool) -> Summary {
        Summary {
            track_flows,
            ..Summary::default()
        }
    }

    /// The flows as JSON records (`"type": "flow"`), sorted.
    pub fn flow_records(&self) -> Vec<FlowRecord<'_>> {
        self.flows()
            .into_iter()
            .map(|(key, stats)| FlowRecord {
                kind: "flow",
                key,
                stats,
            })
            .collect()
    }

    pub fn flow_count(&self) -> usize {
        self.flow_list.len()
    }

    /// Flows with at least one packet dropped or rejected.
    pub fn blocked_flow_count(&self) -> usize {
        self.flow_list
            .iter()
            .filter(|(_, f)| f.dropped + f.rejected > 0)
            .count()
    }

    /// The flows seen (when tracked), sorted by protocol and endpoints.
    pub fn flows(&self) -> Vec<(&FlowKey, &FlowStats)> {
        let mut v: Vec<_> = self.flow_list.iter().map(|(k, f)| (k, f)).collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }

    pub fn add(&mut self, pkt: Option<&Packet>, o: &Outcome) {
        self.frames += 1;
        let Some(v) = o.verdict else {
            let reason = o.reason.clone().unwrap_or_default();
            let key = reason.split(':').next().unwrap_or("").to_string();
            *self.not_judged.entry(key).or_default() += 1;
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
        if !o.certain {
            self.uncertain += 1;
        }
        self.by_direction.entry(o.direction.as_str()).or_default()[slot] += 1;
        if let (true, Some(p)) = (self.track_flows, pkt) {
            let (sp, dp) = flow_ports(p);
            let (lo, hi) = if (p.src, sp) <= (p.dst, dp) {
                ((p.src, sp), (p.dst, dp))
            } else {
                ((p.dst, dp), (p.src, sp))
            };
            let canon = (p.proto, lo.0, lo.1, hi.0, hi.1);
            let list = &mut self.flow_list;
            let i = *self.flow_index.entry(canon).or_insert_with(|| {
                list.push((
                    FlowKey {
                        proto: proto_name(p.proto),
                        a: p.src,
                        a_port: (sp != 0 || p.ports().is_some()).then_some(sp),
                        b: p.dst,
                        b_port: (dp != 0 || p.ports().is_some()).then_some(dp),
                    },
                    FlowStats {
                        first_frame: o.frame,
                        ..FlowStats::default()
                    },
                ));
                list.len() - 1
            });
            let f = &mut self.flow_list[i].1;
            f.last_frame = o.frame;
            f.packets += 1;
            match v {
                Verdict::Accept => f.accepted += 1,
                Verdict::Drop => f.dropped += 1,
                Verdict::Reject => f.rejected += 1,
            }
            if !o.certain {
                f.uncertain += 1;
            }
            if v != Verdict::Accept && f.blocked_frames.len() < 20 {
                f.blocked_frames.push(o.frame);
            }
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
    pub not_judged: &'a BTreeMap<String, u64>,
    pub hosts: &'a [IpAddr],
    pub host_inferred: bool,
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
