//! `fwcheck diff OLD NEW`: the same traffic through two rulesets, side by side — every packet
//! whose verdict changes, grouped by flow with the deciding rule on each side, and the
//! findings (lockout included) of both with what is new, resolved or unchanged.
//!
//! Both rulesets run on the one engine ([`Replayer`]), fed the same packets in lockstep, each
//! with its own conntrack table (two hosts, one loaded with OLD, one with NEW, seeing the same
//! traffic).

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::analysis::lockout::endpoint;
use crate::analysis::{static_findings, CheckOptions, Finding};
use crate::engine::{Outcome, SimOptions};
use crate::lint::Loaded;
use crate::packet::ahead::DecodeAhead;
use crate::packet::capture::CaptureError;
use crate::packet::{Packet, L4};
use crate::replay::{Item, Replayer, Source};
use crate::report::rule_info;
use crate::ruleset::Ruleset;

/// One side of a changed packet: its verdict and what decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    /// `ACCEPT`, `DROP`, `REJECT`, or `not judged`.
    pub verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub certain: bool,
    /// The deciding rule's line in its file (a declared chain's line for a policy).
    #[serde(skip)]
    pub line: Option<usize>,
    /// A rule decided (not a policy, the stack or conntrack).
    #[serde(skip)]
    pub by_rule: bool,
}

/// A packet whose verdict differs.
#[derive(Debug, Clone, Serialize)]
pub struct ChangedPacket {
    pub frame: u64,
    pub packet: String,
    pub flow: String,
    pub old: Side,
    pub new: Side,
}

/// The changed packets of one flow (connection, as conntrack groups them) with one pair of
/// verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct FlowChange {
    pub flow: String,
    #[serde(skip)]
    key: Option<FlowKey>,
    /// `now dropped` (was accepted), `now accepted` (was dropped or rejected), `changed`.
    pub change: &'static str,
    pub packets: u64,
    pub first_frame: u64,
    /// The first frames (at most 10).
    pub frames: Vec<u64>,
    pub old: Side,
    pub new: Side,
}

/// Findings of both rulesets, matched by code, rule text and packet.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FindingsDiff {
    pub new: Vec<Finding>,
    pub resolved: Vec<Finding>,
    pub unchanged: Vec<Finding>,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub frames: u64,
    pub changed: Vec<ChangedPacket>,
    pub flows: Vec<FlowChange>,
    pub dropped_packets: u64,
    pub dropped_flows: u64,
    pub accepted_packets: u64,
    pub accepted_flows: u64,
    pub findings: FindingsDiff,
}

impl DiffReport {
    pub fn changes_anything(&self) -> bool {
        !self.changed.is_empty()
            || !self.findings.new.is_empty()
            || !self.findings.resolved.is_empty()
    }

    /// "this change drops 1,204 packets in 37 flows that were accepted; accepts 12 packets in
    /// 3 flows that were dropped".
    pub fn headline(&self) -> String {
        let other = self.changed.len() as u64 - self.dropped_packets - self.accepted_packets;
        let mut parts = vec![
            format!(
                "drops {} packets in {} flows that were accepted",
                thousands(self.dropped_packets),
                thousands(self.dropped_flows)
            ),
            format!(
                "accepts {} packets in {} flows that were dropped",
                thousands(self.accepted_packets),
                thousands(self.accepted_flows)
            ),
        ];
        if other > 0 {
            parts.push(format!(
                "changes {} more packets otherwise",
                thousands(other)
            ));
        }
        format!(
            "this change {} (of {} frames)",
            parts.join("; "),
            thousands(self.frames)
        )
    }
}

/// `1204` → `1,204`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn side(rs: &Ruleset, o: &Outcome) -> Side {
    let info = o.decision.as_ref().and_then(|d| rule_info(rs, d));
    Side {
        verdict: o.verdict.map(|v| v.as_str()).unwrap_or("not judged"),
        rule: info.as_ref().map(|r| r.short()),
        certain: o.certain,
        line: info.as_ref().and_then(|r| r.line),
        by_rule: info.as_ref().is_some_and(|r| r.number.is_some()),
    }
}

fn ports(p: &Packet) -> (Option<u16>, Option<u16>) {
    match p.ports() {
        Some((s, d)) => (Some(s), Some(d)),
        None => (None, None),
    }
}

fn proto_name(p: &Packet) -> String {
    match &p.l4 {
        L4::Tcp(_) => "tcp".into(),
        L4::Udp(_) => "udp".into(),
        L4::Icmp(_) => "icmp".into(),
        L4::Icmpv6(_) => "icmpv6".into(),
        _ => format!("proto {}", p.proto),
    }
}

fn describe(p: &Packet) -> String {
    let (s, d) = ports(p);
    format!(
        "{} {} → {}",
        proto_name(p),
        endpoint(p.src, s),
        endpoint(p.dst, d)
    )
}

type FlowKey = (u8, (IpAddr, u16), (IpAddr, u16));

fn flow_key(p: &Packet) -> FlowKey {
    let (s, d) = ports(p);
    let a = (p.src, s.unwrap_or(0));
    let b = (p.dst, d.unwrap_or(0));
    if a <= b {
        (p.proto, a, b)
    } else {
        (p.proto, b, a)
    }
}

fn blocked(v: &str) -> bool {
    matches!(v, "DROP" | "REJECT")
}

/// Replay `source` through `old` and `new` and compare.
pub fn diff(
    old: &Loaded,
    new: &Loaded,
    sim: SimOptions,
    check: &CheckOptions,
    source: Source,
) -> Result<DiffReport, CaptureError> {
    let (ro, rn) = (&old.ruleset, &new.ruleset);
    let mut sim = sim;
    if let Source::Capture(path) = &source {
        sim.for_capture(path);
    }
    let mut a = Replayer::new(ro, sim.clone());
    let mut b = Replayer::new(rn, sim);
    let mut frames = 0u64;
    let mut changed: Vec<ChangedPacket> = Vec::new();
    // Flow key and verdict pair → index in `flows`.
    let mut index: HashMap<(FlowKey, &'static str, &'static str), usize> = HashMap::new();
    let mut flows: Vec<FlowChange> = Vec::new();
    let mut step = |p: &Packet, a: &mut Replayer<'_>, b: &mut Replayer<'_>| {
        let mut oa: Option<(Packet, Outcome)> = None;
        let mut ob: Option<(Packet, Outcome)> = None;
        a.feed(p, None, &mut |i| {
            if let Item::Packet(p, o) = i {
                oa = Some((p.clone(), o.clone()));
            }
        });
        b.feed(p, None, &mut |i| {
            if let Item::Packet(p, o) = i {
                ob = Some((p.clone(), o.clone()));
            }
        });
        let (Some((pa, oa)), Some((_, ob))) = (oa, ob) else {
            return;
        };
        let (sa, sb) = (side(ro, &oa), side(rn, &ob));
        if sa.verdict == sb.verdict {
            return;
        }
        let key = flow_key(&pa);
        let flow = describe(&pa);
        let i = *index
            .entry((key, sa.verdict, sb.verdict))
            .or_insert_with(|| {
                let change = match (sa.verdict, sb.verdict) {
                    ("ACCEPT", n) if blocked(n) => "now dropped",
                    (o, "ACCEPT") if blocked(o) => "now accepted",
                    _ => "changed",
                };
                flows.push(FlowChange {
                    flow: flow.clone(),
                    key: Some(key),
                    change,
                    packets: 0,
                    first_frame: oa.frame,
                    frames: Vec::new(),
                    old: sa.clone(),
                    new: sb.clone(),
                });
                flows.len() - 1
            });
        let f = &mut flows[i];
        f.packets += 1;
        if f.frames.len() < 10 {
            f.frames.push(oa.frame);
        }
        changed.push(ChangedPacket {
            frame: oa.frame,
            packet: flow,
            flow: flows[i].flow.clone(),
            old: sa,
            new: sb,
        });
    };
    match source {
        Source::Packets(mut pkts) => {
            crate::packet::ingest::gso::mark_trains(&mut pkts);
            for p in pkts {
                frames += 1;
                step(&p, &mut a, &mut b);
            }
        }
        Source::Capture(path) => {
            let mut reader = DecodeAhead::open(&path)?;
            while let Some(item) = reader.next_ref() {
                frames += 1;
                if let Ok(p) = item {
                    step(p, &mut a, &mut b);
                }
            }
        }
    }
    let count = |kind: &str| -> (u64, u64) {
        let fl: Vec<&FlowChange> = flows.iter().filter(|f| f.change == kind).collect();
        let mut keys: Vec<FlowKey> = fl.iter().filter_map(|f| f.key).collect();
        keys.sort();
        keys.dedup();
        (fl.iter().map(|f| f.packets).sum(), keys.len() as u64)
    };
    let (dropped_packets, dropped_flows) = count("now dropped");
    let (accepted_packets, accepted_flows) = count("now accepted");
    let findings = findings_diff(static_findings(old, check), static_findings(new, check));
    Ok(DiffReport {
        frames,
        changed,
        flows,
        dropped_packets,
        dropped_flows,
        accepted_packets,
        accepted_flows,
        findings,
    })
}

/// What identifies a finding across two files: its code, the rule's text (not its line) or
/// the policy, and the packet.
fn finding_key(f: &Finding) -> String {
    let rule = f
        .rule
        .as_ref()
        .map(|r| {
            r.text
                .clone()
                .unwrap_or_else(|| format!("{} {} {:?}", r.table, r.chain, r.policy))
        })
        .unwrap_or_default();
    format!(
        "{}|{rule}|{}",
        f.code,
        f.packet.as_deref().unwrap_or_default()
    )
}

fn findings_diff(old: Vec<Finding>, new: Vec<Finding>) -> FindingsDiff {
    let old_keys: Vec<String> = old.iter().map(finding_key).collect();
    let new_keys: Vec<String> = new.iter().map(finding_key).collect();
    let mut d = FindingsDiff::default();
    for (f, k) in new.into_iter().zip(&new_keys) {
        if old_keys.contains(k) {
            d.unchanged.push(f);
        } else {
            d.new.push(f);
        }
    }
    for (f, k) in old.into_iter().zip(&old_keys) {
        if !new_keys.contains(k) {
            d.resolved.push(f);
        }
    }
    d
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(1204), "1,204");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }
}
