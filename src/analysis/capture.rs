//! Findings from a replayed capture: every dropped packet of a management flow (FW001), ICMP
//! echo traffic that looks like a tunnel (FW002), and rules the capture never hit (FW008).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::*;
use crate::packet::{Packet, L4};

#[derive(Debug, Default)]
struct MgmtFlow {
    svc: Option<Service>,
    frames: Vec<u64>,
    first: Option<Outcome>,
    first_pkt: Option<Packet>,
}

/// Collects what a capture shows while it is replayed.
#[derive(Debug, Default)]
pub struct CaptureAnalyzer {
    hosts: Vec<IpAddr>,
    mgmt: Vec<Service>,
    admin: Vec<Net>,
    flows: BTreeMap<(IpAddr, u16, u8), MgmtFlow>,
    tunnel_in: Vec<u64>,
    tunnel_out: Vec<u64>,
    /// What accepted the first tunnel-like echo request.
    tunnel_rule: Option<Outcome>,
}

impl CaptureAnalyzer {
    pub fn new(opts: &CheckOptions, hosts: &[IpAddr]) -> CaptureAnalyzer {
        CaptureAnalyzer {
            hosts: hosts.to_vec(),
            mgmt: opts.mgmt.clone(),
            admin: opts.admin.clone(),
            ..CaptureAnalyzer::default()
        }
    }

    pub fn observe(&mut self, pkt: &Packet, o: &Outcome) {
        let Some(v) = o.verdict else { return };
        // Management flows: the host side uses a management port.
        if let Some((sp, dp)) = pkt.ports() {
            let inbound = self.hosts.contains(&pkt.dst);
            let (remote, remote_port, host_port) = if inbound {
                (pkt.src, sp, dp)
            } else {
                (pkt.dst, dp, sp)
            };
            let svc = self
                .mgmt
                .iter()
                .find(|s| s.proto == pkt.proto && s.port == host_port)
                .copied();
            let admin_ok = self.admin.is_empty() || self.admin.iter().any(|n| n.contains(remote));
            if let (Some(svc), true) = (svc, admin_ok) {
                if v != Verdict::Accept {
                    let f = self
                        .flows
                        .entry((remote, remote_port, pkt.proto))
                        .or_default();
                    f.svc = Some(svc);
                    if f.first.is_none() {
                        f.first = Some(o.clone());
                        f.first_pkt = Some(pkt.clone());
                    }
                    f.frames.push(o.frame);
                }
            }
        }
        // ICMP tunnels: big, high-entropy echo payloads accepted.
        if let L4::Icmp(i) | L4::Icmpv6(i) = &pkt.l4 {
            let payload = pkt.payload();
            if v == Verdict::Accept && payload.len() >= 512 && synth::entropy(payload) > 7.0 {
                match i.icmp_type {
                    8 | 128 => {
                        self.tunnel_in.push(o.frame);
                        self.tunnel_rule.get_or_insert_with(|| o.clone());
                    }
                    0 | 129 => self.tunnel_out.push(o.frame),
                    _ => {}
                }
            }
        }
    }

    /// Findings, given the engine's counters after the replay.
    pub fn finish(self, loaded: &Loaded, engine: &Engine<'_>) -> Vec<Finding> {
        let rs = &loaded.ruleset;
        let file = rs.source.name.clone();
        let mut out = Vec::new();
        for ((remote, port, _), f) in &self.flows {
            let (Some(svc), Some(o), Some(p)) = (f.svc, &f.first, &f.first_pkt) else {
                continue;
            };
            let rule = decided_by(rs, o);
            let who = rule
                .as_ref()
                .map(|r| r.short())
                .unwrap_or_else(|| "the IP stack".into());
            let list: Vec<String> = f.frames.iter().take(10).map(|x| x.to_string()).collect();
            let mut finding = Finding::new(
                "FW001",
                format!(
                    "lockout seen in the capture: {} packet(s) of the {} session from {remote}:{port} are not accepted (frames {}{}), first by {who}",
                    f.frames.len(),
                    svc.name(),
                    list.join(","),
                    if f.frames.len() > 10 { ",…" } else { "" }
                ),
                &file,
            )
            .at_rule(rule);
            finding.frame = Some(o.frame);
            finding.packet = Some(format!(
                "frame {}: {} → {} {}",
                o.frame,
                p.src,
                p.dst,
                crate::report::proto_name(p.proto)
            ));
            out.push(finding);
        }
        if !self.tunnel_in.is_empty() && !self.tunnel_out.is_empty() {
            let mut f = Finding::new(
                "FW002",
                format!(
                    "ICMP tunnel exposure seen in the capture: {} large high-entropy echo requests accepted inbound and {} replies outbound",
                    self.tunnel_in.len(),
                    self.tunnel_out.len()
                ),
                &file,
            );
            f.frame = self.tunnel_in.first().copied();
            if let Some(o) = &self.tunnel_rule {
                f = f.at_rule(decided_by(rs, o));
            }
            f.details.push(format!(
                "requests: frames {:?}",
                &self.tunnel_in[..self.tunnel_in.len().min(10)]
            ));
            f.details.push(format!(
                "replies: frames {:?}",
                &self.tunnel_out[..self.tunnel_out.len().min(10)]
            ));
            out.push(f);
        }
        // Rules never hit, in chains the traffic could reach.
        for (ti, t) in rs.tables.iter().enumerate() {
            let graph = loaded.graph.table(t.kind);
            for (ci, c) in t.chains.iter().enumerate() {
                if graph.is_some_and(|g| g.reach[ci].is_empty()) {
                    continue;
                }
                let dead_after = c
                    .rules
                    .iter()
                    .position(|r| r.is_unconditional() && r.action.is_terminal())
                    .map(|p| p + 1)
                    .unwrap_or(usize::MAX);
                for (ri, r) in c.rules.iter().enumerate() {
                    if ri >= dead_after || engine.rule_counters(ti, ci, ri).packets > 0 {
                        continue;
                    }
                    let mut f = Finding::new(
                        "FW008",
                        format!(
                            "rule never hit by the capture: {} {} #{}",
                            t.kind,
                            c.name,
                            ri + 1
                        ),
                        &file,
                    );
                    f.line = Some(rs.line_of(r.span));
                    f.details
                        .push(crate::ruleset::printer::rule_text(&c.name, r));
                    out.push(f);
                }
            }
        }
        out
    }
}
