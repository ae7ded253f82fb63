//! Published ports that bypass INPUT: a DNAT in PREROUTING (Docker's `-p 8080:80`, any
//! port forward) sends a packet for one of the host's addresses through FORWARD to another
//! interface, so INPUT's policy and rules never see it (net/ipv4/ip_input.c `ip_rcv_finish`
//! routes after PREROUTING; `ip_forward` runs FORWARD for a destination that is not local).
//!
//! * FW016 — a port reachable from outside through a DNAT and FORWARD although INPUT would
//!   deny it: the path, the rule that lets it through, and a fix that the same probe, re-run
//!   with it, shows dropped.
//! * FW017 — a FORWARD-side rule (DOCKER-USER…) that matches the published host port: FORWARD
//!   sees the packet after DNAT, with the container's port, so the rule never fires for it.
//!
//! Probes are built from the DNAT rules (one without a port match of its own, as kube-proxy's
//! `KUBE-SEP-…`, takes the ports of the rules that jump to its chain) and run through the same
//! engine as everything else, with the host's interfaces and routes (`--iface-addr`, `--route`,
//! `--host-config`): without them the host has one interface and no packet can leave by
//! another.

use std::net::IpAddr;

use super::services::dports;
use super::*;
use crate::engine::{Decision, Direction, RuleRef, TraceEvent};
use crate::ext::NatKind;
use crate::packet::tcp_flags as F;
use crate::ruleset::printer::rule_text;
use crate::ruleset::{Action, Rule, TableKind};

/// At most this many published ports are probed.
const MAX_PORTS: usize = 64;

/// One published port: a DNAT rule and where it sends the probe.
struct Published {
    proto: u8,
    port: u16,
    /// The DNAT rule (`nat` table).
    rule: RuleRef,
    to: Option<(IpAddr, Option<u16>)>,
}

fn published(rs: &Ruleset) -> Vec<Published> {
    let mut v = Vec::new();
    let Some(t) = rs.table(TableKind::Nat) else {
        return v;
    };
    // Built once, when a DNAT rule has no port of its own.
    let mut callers: Option<Callers> = None;
    for (ci, c) in t.chains.iter().enumerate() {
        // DNAT in OUTPUT concerns the host's own packets; PREROUTING and user chains may
        // serve inbound ones.
        if c.name == "OUTPUT" || c.name == "POSTROUTING" || c.name == "INPUT" {
            continue;
        }
        for (ri, r) in c.rules.iter().enumerate() {
            let Action::Target(tg) = &r.action else {
                continue;
            };
            let Some(nat) = tg.nat_spec() else {
                continue;
            };
            if nat.kind != NatKind::Dnat {
                continue;
            }
            let proto = match r.proto {
                Some((p @ (6 | 17), false)) => p,
                _ => continue,
            };
            let to = nat.addr.map(|(min, _)| (min, nat.ports.map(|(lo, _)| lo)));
            if v.len() >= MAX_PORTS {
                return v;
            }
            let mut ports = dports(r);
            if ports.is_empty() {
                let callers = callers.get_or_insert_with(|| Callers::of(t));
                ports = callers.ports_leading_to(t, ci, proto);
            }
            for port in ports {
                if v.len() < MAX_PORTS {
                    v.push(Published {
                        proto,
                        port,
                        rule: RuleRef {
                            table: TableKind::Nat,
                            chain: ci,
                            rule: ri,
                        },
                        to,
                    });
                }
            }
        }
    }
    v
}

/// The rules that jump or go to each chain of a table (the inbound hooks' side: not from
/// OUTPUT, POSTROUTING or INPUT), as (chain, rule) indices.
struct Callers(Vec<Vec<(usize, usize)>>);

impl Callers {
    fn of(t: &crate::ruleset::Table) -> Callers {
        let mut into = vec![Vec::new(); t.chains.len()];
        for (ci, c) in t.chains.iter().enumerate() {
            if matches!(c.name.as_str(), "OUTPUT" | "POSTROUTING" | "INPUT") {
                continue;
            }
            for (ri, r) in c.rules.iter().enumerate() {
                if let Action::Jump(to) | Action::Goto(to) = &r.action {
                    if let Some(v) = into.get_mut(to.index) {
                        v.push((ci, ri));
                    }
                }
            }
        }
        Callers(into)
    }

    /// The ports a DNAT rule without a port match of its own serves: those of the rules that
    /// lead to its chain, the nearest first (kube-proxy: `KUBE-NODEPORTS --dport 30080 -j
    /// KUBE-EXT-…` -> `KUBE-SVC-…` -> `KUBE-SEP-… -j DNAT`, and the cluster IP's
    /// `KUBE-SERVICES -d … --dport 80`), up to 8 chains up. Rules of another protocol do not
    /// lead there. Each step visits only the rules that jump into the level's chains.
    fn ports_leading_to(&self, t: &crate::ruleset::Table, chain: usize, proto: u8) -> Vec<u16> {
        let mut ports = Vec::new();
        let mut level = vec![chain];
        let mut seen = vec![false; t.chains.len()];
        seen[chain] = true;
        for _ in 0..8 {
            let mut next = Vec::new();
            for &to in &level {
                for &(ci, ri) in &self.0[to] {
                    let r = &t.chains[ci].rules[ri];
                    if r.proto.is_some_and(|(p, inv)| inv || p != proto) {
                        continue;
                    }
                    let here = dports(r);
                    if here.is_empty() && !seen[ci] {
                        seen[ci] = true;
                        next.push(ci);
                    }
                    for p in here {
                        if !ports.contains(&p) {
                            ports.push(p);
                        }
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            level = next;
        }
        ports
    }
}

fn probe(client: IpAddr, host: IpAddr, proto: u8, port: u16) -> crate::packet::Packet {
    let mut sy = synth::Synth::default();
    if proto == 6 {
        sy.tcp((client, 41_000), (host, port), F::SYN, 1_000, 0, 0)
    } else {
        sy.udp((client, 41_000), (host, port), 32)
    }
}

/// Run one probe through `rs` on interface `iface`, forwarding on, every rule traced.
fn run(rs: &Ruleset, opts: &CheckOptions, iface: &str, pkt: &crate::packet::Packet) -> Outcome {
    let mut env = opts.env.clone();
    env.iface = iface.to_string();
    env.iface_from_capture = false;
    let mut e = Engine::new(
        rs,
        SimOptions {
            env,
            router: true,
            recognise_answers: false,
            simulate_replies: false,
            trace: true,
            ct_timeouts: opts.ct_timeouts,
            ..SimOptions::default()
        },
    );
    e.process(pkt)
}

fn rule_at(rs: &Ruleset, r: RuleRef) -> Option<&Rule> {
    rs.table(r.table)?.chains.get(r.chain)?.rules.get(r.rule)
}

fn name_of(rs: &Ruleset, r: RuleRef) -> String {
    let chain = rs
        .table(r.table)
        .and_then(|t| t.chains.get(r.chain))
        .map_or("?", |c| c.name.as_str());
    format!("{} {chain} #{}", r.table, r.rule + 1)
}

/// The DNAT rule the probe went through in PREROUTING (from the trace).
fn dnat_in_trace(rs: &Ruleset, trace: &[TraceEvent], candidates: &[Published]) -> Option<RuleRef> {
    tried(rs, trace)
        .filter(|t| t.matched && t.rule.table == TableKind::Nat)
        .map(|t| t.rule)
        .find(|r| candidates.iter().any(|p| p.rule == *r))
}

/// A rule the trace shows was tried.
struct Tried {
    rule: RuleRef,
    matched: bool,
    /// It could not be decided offline.
    unknown: bool,
}

/// The rules a trace tried, in order, as references into `rs`.
fn tried<'a>(rs: &'a Ruleset, trace: &'a [TraceEvent]) -> impl Iterator<Item = Tried> + 'a {
    trace.iter().filter_map(move |e| {
        let TraceEvent::Rule {
            table,
            chain,
            rule,
            matched,
            unknown,
            ..
        } = e
        else {
            return None;
        };
        let kind = TableKind::from_name(table)?;
        let chain = rs
            .table(kind)?
            .chains
            .iter()
            .position(|c| &c.name == chain)?;
        Some(Tried {
            rule: RuleRef {
                table: kind,
                chain,
                rule: rule.checked_sub(1)?,
            },
            matched: *matched,
            unknown: unknown.is_some(),
        })
    })
}

pub fn check(rs: &Ruleset, opts: &CheckOptions) -> Vec<Finding> {
    let host = &opts.env.host;
    if host.is_empty() {
        return Vec::new();
    }
    let v4 = rs.family == Family::V4;
    let file = rs.source.name.clone();
    let pubs = published(rs);
    if pubs.is_empty() {
        return Vec::new();
    }
    let client = outside(v4)[0];
    // The outside interface: the one the route back to an outside client uses.
    let Some((outside_if, _)) = host.route(client) else {
        return Vec::new();
    };
    let outside_if = outside_if.to_string();
    let Some(host_addr) = host
        .addrs
        .iter()
        .find(|a| a.dev == outside_if && a.addr.is_ipv4() == v4)
        .map(|a| a.addr)
    else {
        return Vec::new();
    };
    // The same host without NAT: where INPUT's rules decide.
    let mut no_nat = rs.clone();
    no_nat.tables.retain(|t| t.kind != TableKind::Nat);

    let mut out = Vec::new();
    let mut dead_reported: Vec<RuleRef> = Vec::new();
    let mut seen: Vec<(u8, u16)> = Vec::new();
    for p in &pubs {
        if seen.contains(&(p.proto, p.port)) {
            continue;
        }
        seen.push((p.proto, p.port));
        let pkt = probe(client, host_addr, p.proto, p.port);
        let o = run(rs, opts, &outside_if, &pkt);
        if o.direction != Direction::Forward {
            continue;
        }
        let proto = if p.proto == 6 { "tcp" } else { "udp" };
        let dnat = dnat_in_trace(rs, &o.trace, &pubs).unwrap_or(p.rule);
        let to = pubs
            .iter()
            .find(|q| q.rule == dnat)
            .and_then(|q| q.to)
            .map(|(a, port)| (a, port.unwrap_or(p.port)));
        // FW017: FORWARD-side rules on the host port, tried and never matched.
        for s in tried(rs, &o.trace) {
            if s.rule.table != TableKind::Filter || s.matched || s.unknown {
                continue;
            }
            let Some(r) = rule_at(rs, s.rule) else {
                continue;
            };
            let conntrack = r.matches.iter().any(|m| m.module.facets().reads_conntrack);
            if conntrack
                || r.proto.map(|x| x.0) != Some(p.proto)
                || !dports(r).contains(&p.port)
                || to.is_some_and(|(_, tp)| tp == p.port)
                || dead_reported.contains(&s.rule)
            {
                continue;
            }
            dead_reported.push(s.rule);
            let chain = &rs.table(TableKind::Filter).expect("filter").chains[s.rule.chain];
            let after = to.map_or(String::new(), |(a, tp)| format!(" ({a}:{tp})"));
            let mut f = Finding::new(
                crate::diag::codes::FORWARD_RULE_ON_PRE_DNAT_PORT,
                format!(
                    "{} matches --dport {}, the published host port: FORWARD sees the packet \
                     after DNAT{after}, so this rule never fires for {proto}/{}",
                    name_of(rs, s.rule),
                    p.port,
                    p.port
                ),
                &file,
            )
            .at_rule(rule_info(rs, &Decision::Rule(s.rule)));
            f.packet = Some(format!(
                "{proto} {client}:41000 > {host_addr}:{} on {outside_if}",
                p.port
            ));
            f.fix = Some(format!(
                "match the port the client used, kept by conntrack: `-A {} ... -p {proto} -m \
                 conntrack --ctorigdstport {} --ctdir ORIGINAL ...` instead of `--dport {}` \
                 (rule now: `{}`)",
                chain.name,
                p.port,
                p.port,
                rule_text(&chain.name, r)
            ));
            out.push(f);
        }
        if o.verdict != Some(Verdict::Accept) {
            continue;
        }
        // Would INPUT deny it, had it been for the host?
        let direct = run(&no_nat, opts, &outside_if, &pkt);
        if direct.direction != Direction::In || direct.verdict == Some(Verdict::Accept) {
            continue;
        }
        let outdev = to
            .and_then(|(a, _)| host.route(a))
            .map_or("?".to_string(), |(d, _)| d.to_string());
        let to_s = to.map_or("?".to_string(), |(a, tp)| format!("{a}:{tp}"));
        let nat_rule = rule_at(rs, dnat);
        let path = format!(
            "PREROUTING DNAT {} -> FORWARD -> {outdev} -> {to_s}",
            name_of(rs, dnat)
        );
        let via = o
            .decision
            .as_ref()
            .and_then(|d| match d {
                Decision::Rule(r) => Some(name_of(rs, *r)),
                Decision::Policy { .. } => Some("filter FORWARD policy ACCEPT".to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "no FORWARD rule".to_string());
        let denied_by = direct
            .decision
            .as_ref()
            .and_then(|d| rule_info(rs, d))
            .map_or_else(
                || "INPUT".to_string(),
                |ri| match ri.number {
                    Some(n) => format!("{} {} #{n}", ri.table, ri.chain),
                    None => format!("{} {} policy", ri.table, ri.chain),
                },
            );
        let mut f = Finding::new(
            crate::diag::codes::PUBLISHED_PORT_BYPASSES_INPUT,
            format!(
                "{proto}/{} on {host_addr} ({outside_if}) is reachable from outside through {path}, \
                 although INPUT would drop it ({denied_by}); let through by {via}",
                p.port
            ),
            &file,
        )
        .at_rule(o.decision.as_ref().and_then(|d| rule_info(rs, d)));
        f.packet = Some(format!(
            "{proto} {client}:41000 > {host_addr}:{} on {outside_if}",
            p.port
        ));
        if let Some(r) = nat_rule {
            let c = &rs.table(TableKind::Nat).expect("nat").chains[dnat.chain];
            f.details.push(format!("DNAT: `{}`", rule_text(&c.name, r)));
        }
        f.details.push(format!(
            "INPUT never sees it: after DNAT the destination {to_s} is not one of the host's \
             addresses, so the packet is routed to {outdev} through FORWARD"
        ));
        if !opts.router {
            f.details.push(
                "assumed: the host forwards (net.ipv4.ip_forward=1, which dockerd sets)".into(),
            );
        }
        // The fix: drop it where the operator's FORWARD rules go, by the original port.
        let filter = rs.table(TableKind::Filter);
        let chain = filter.and_then(|t| {
            t.chains
                .iter()
                .position(|c| c.name == "DOCKER-USER")
                .or_else(|| t.chains.iter().position(|c| c.name == "FORWARD"))
        });
        if let Some(ci) = chain {
            let cname = filter.expect("filter").chains[ci].name.clone();
            let body = format!(
                "-i {outside_if} -p {proto} -m conntrack --ctorigdstport {} --ctdir ORIGINAL -j DROP",
                p.port
            );
            if let Some(fixed) = lockout::with_rule(rs, (TableKind::Filter, ci, 0), &body) {
                let again = run(&fixed, opts, &outside_if, &pkt);
                let ok = matches!(again.verdict, Some(Verdict::Drop | Verdict::Reject));
                let mut fix = format!("iptables -I {cname} {body}");
                if ok {
                    fix.push_str(" (verified: the probe is then dropped)");
                } else {
                    fix.push_str(" (NOT verified: the probe still passes)");
                }
                if cname == "DOCKER-USER" {
                    fix.push_str(
                        "; or publish the port on the loopback address only \
                         (`-p 127.0.0.1:HOSTPORT:CONTAINERPORT`)",
                    );
                }
                f.fix = Some(fix);
            }
        }
        out.push(f);
    }
    out
}
