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

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::lockout::endpoint;
use super::services::dports;
use super::*;
use crate::engine::{Decision, Direction, RuleRef, TraceEvent};
use crate::ext::NatKind;
use crate::packet::tcp_flags as F;
use crate::ruleset::printer::rule_text;
use crate::ruleset::{Action, Rule, TableKind};

/// At most this many published ports are probed (FW016); the rest are named in a note.
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
            let mut ports = dports(r);
            if ports.is_empty() {
                let callers = callers.get_or_insert_with(|| Callers::of(t));
                ports = callers.ports_leading_to(t, ci, proto);
            }
            for port in ports {
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
        if self.0.get(chain).is_none_or(|c| c.is_empty()) {
            return ports; // nothing jumps there (a DNAT in PREROUTING itself)
        }
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

/// The interface a forwarded packet left by, from its trace (FORWARD's hook event).
fn forward_outdev(trace: &[TraceEvent]) -> Option<&str> {
    trace.iter().find_map(|e| match e {
        TraceEvent::Hook {
            hook: "FORWARD",
            outdev,
            ..
        } => Some(outdev.as_str()),
        _ => None,
    })
}

/// The DNAT rule a forwarded packet went through (from its trace; else `fallback`) and where
/// it sends the packet: its `--to-destination` address and port (`port` when it keeps it).
fn dnat_of(
    rs: &Ruleset,
    pubs: &[Published],
    o: &Outcome,
    fallback: Option<RuleRef>,
    port: u16,
) -> Option<(RuleRef, Option<(IpAddr, u16)>)> {
    let dnat = dnat_in_trace(rs, &o.trace, pubs).or(fallback)?;
    let to = pubs
        .iter()
        .find(|q| q.rule == dnat)
        .and_then(|q| q.to)
        .map(|(a, p)| (a, p.unwrap_or(port)));
    Some((dnat, to))
}

/// INPUT's answer to `pkt` had no DNAT sent it elsewhere: the packet run on `no_nat` (the
/// ruleset without its nat table) goes to INPUT and is dropped or rejected. `Some` with the
/// deciding rule or policy as "drop it (RULE)" or "reject it (RULE)", and whether that verdict
/// is certain; `None` when INPUT would let it in.
fn input_denies(
    rs: &Ruleset,
    no_nat: &Ruleset,
    opts: &CheckOptions,
    iface: &str,
    pkt: &crate::packet::Packet,
) -> Option<(String, bool)> {
    let direct = run(no_nat, opts, iface, pkt);
    if direct.direction != Direction::In
        || !matches!(direct.verdict, Some(Verdict::Drop | Verdict::Reject))
    {
        return None;
    }
    let by = direct
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
    let verb = if direct.verdict == Some(Verdict::Reject) {
        "reject"
    } else {
        "drop"
    };
    Some((format!("{verb} it ({by})"), direct.certain))
}

/// The FORWARD rule or policy that accepted `o`, in words.
fn let_through_by(rs: &Ruleset, o: &Outcome) -> String {
    o.decision
        .as_ref()
        .and_then(|d| match d {
            Decision::Rule(r) => Some(name_of(rs, *r)),
            Decision::Policy { .. } => Some("filter FORWARD policy ACCEPT".to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "no FORWARD rule".to_string())
}

/// Whether the rule that let a forwarded packet through accepts it *as* a port forward to
/// another machine: an ACCEPT reading `--ctstate DNAT` (OpenWrt fw3's "Accept port forwards",
/// a router's own rule), which says the DNAT is meant to reach past INPUT, for a packet that
/// leaves by an interface no container tool names its bridges so (a container's published
/// port stays an error even where such a rule accepts it: firewalld's FORWARD accepts every
/// DNATed connection, Docker's included). Such a port is a note, not an error.
fn accepts_port_forwards(rs: &Ruleset, o: &Outcome, path: &Path) -> bool {
    if BRIDGE_PREFIXES.iter().any(|p| path.outdev.starts_with(p)) {
        return false;
    }
    let Some(Decision::Rule(r)) = o.decision else {
        return false;
    };
    let Some(text) = rule_info(rs, &Decision::Rule(r)).and_then(|i| i.text) else {
        return false;
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(2).enumerate().any(|(i, w)| {
        matches!(w[0], "--ctstate" | "--state")
            && (i == 0 || words[i - 1] != "!")
            && w[1].split(',').any(|s| s == "DNAT")
            && words.last() == Some(&"ACCEPT")
    })
}

/// The path of a published port's packet: `PREROUTING DNAT nat DOCKER #2 -> FORWARD ->
/// docker0 -> 172.17.0.2:80`, the output interface and the destination after DNAT.
struct Path {
    text: String,
    outdev: String,
    to: String,
}

fn path_of(
    rs: &Ruleset,
    opts: &CheckOptions,
    o: &Outcome,
    dnat: RuleRef,
    to: Option<(IpAddr, u16)>,
) -> Path {
    let outdev = forward_outdev(&o.trace)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .or_else(|| {
            to.and_then(|(a, _)| opts.env.host.route(a))
                .map(|(d, _)| d.to_string())
        })
        .unwrap_or_else(|| "?".to_string());
    let to = to.map_or("?".to_string(), |(a, tp)| endpoint(a, Some(tp)));
    Path {
        text: format!(
            "PREROUTING DNAT {} -> FORWARD -> {outdev} -> {to}",
            name_of(rs, dnat)
        ),
        outdev,
        to,
    }
}

/// What every FW016 says under its message: the DNAT rule, why INPUT never sees the packet,
/// and the assumption about forwarding.
fn explain(rs: &Ruleset, opts: &CheckOptions, dnat: RuleRef, path: &Path, f: &mut Finding) {
    if let Some(r) = rule_at(rs, dnat) {
        let c = &rs.table(TableKind::Nat).expect("nat").chains[dnat.chain];
        f.details.push(format!("DNAT: `{}`", rule_text(&c.name, r)));
    }
    f.details.push(format!(
        "INPUT never sees it: after DNAT the destination {} is not one of the host's \
         addresses, so the packet is routed to {} through FORWARD",
        path.to, path.outdev
    ));
    if !opts.router {
        f.details.push(
            match rs.family {
                Family::V4 => "assumed: the host forwards (net.ipv4.ip_forward=1, which dockerd sets)",
                Family::V6 => {
                    "assumed: the host forwards (net.ipv6.conf.all.forwarding=1, which dockerd sets \
                     with ip6tables)"
                }
            }
            .into(),
        );
    }
}

/// FW016's fix: drop the packet where the operator's FORWARD rules go (DOCKER-USER, else
/// FORWARD: the top of FORWARD when a DOCKER-USER rule would not stop it, e.g. FORWARD does
/// not jump there), by the port the client used, which conntrack keeps — verified by running
/// `pkt` (`what`: "the probe", "frame 1") again on the ruleset with the rule inserted.
fn fix_for(
    rs: &Ruleset,
    opts: &CheckOptions,
    iface: &str,
    (proto, port): (u8, u16),
    pkt: &crate::packet::Packet,
    what: &str,
) -> Option<String> {
    let filter = rs.table(TableKind::Filter)?;
    let proto = if proto == 6 { "tcp" } else { "udp" };
    let body = format!(
        "-i {iface} -p {proto} -m conntrack --ctorigdstport {port} --ctdir ORIGINAL -j DROP"
    );
    // (chain, verified) for DOCKER-USER, then FORWARD, stopping at the first that works.
    let mut tried: Option<(String, bool)> = None;
    for name in ["DOCKER-USER", "FORWARD"] {
        let Some(ci) = filter.chains.iter().position(|c| c.name == name) else {
            continue;
        };
        let fixed = lockout::with_rule(rs, (TableKind::Filter, ci, 0), &body)?;
        let again = run(&fixed, opts, iface, pkt);
        let ok = matches!(again.verdict, Some(Verdict::Drop | Verdict::Reject));
        tried = Some((name.to_string(), ok));
        if ok {
            break;
        }
    }
    let (cname, ok) = tried?;
    let mut fix = format!("{} -I {cname} {body}", rs.family.program());
    if ok {
        fix.push_str(&format!(" (verified: {what} is then dropped)"));
    } else {
        fix.push_str(&format!(" (NOT verified: {what} still passes)"));
    }
    if cname == "DOCKER-USER" {
        fix.push_str(match rs.family {
            Family::V4 => {
                "; or publish the port on the loopback address only \
                 (`-p 127.0.0.1:HOSTPORT:CONTAINERPORT`)"
            }
            Family::V6 => {
                "; or publish the port on the loopback address only \
                 (`-p [::1]:HOSTPORT:CONTAINERPORT`)"
            }
        });
    }
    Some(fix)
}

/// The ruleset as INPUT would judge a published port's packet: without its nat table.
fn without_nat(rs: &Ruleset) -> Ruleset {
    let mut no_nat = rs.clone();
    no_nat.tables.retain(|t| t.kind != TableKind::Nat);
    no_nat
}

pub fn check(rs: &Ruleset, opts: &CheckOptions) -> Vec<Finding> {
    if !opts.env.host.is_empty() {
        return check_with(rs, opts);
    }
    // No host configuration: the one the ruleset makes evident, said in every finding.
    let Some((host, assumed)) = evident_host(rs, opts) else {
        return Vec::new();
    };
    let mut o = opts.clone();
    o.env.apply_host(&host);
    let mut found = check_with(rs, &o);
    for f in &mut found {
        f.details.push(assumed.clone());
    }
    found
}

/// Without a host configuration, the interfaces a container tool's masquerade rule makes
/// evident: `-A POSTROUTING -s NET ! -o BRIDGE -j MASQUERADE` (what dockerd writes for each
/// bridge network) says BRIDGE holds NET (its first address), and the host's address (as the
/// other checks take it) is on the interface packets are seen on (`--iface`, eth0), with the
/// default route. `None` when no such rule is found; else the configuration and the sentence
/// saying what was assumed.
pub fn evident_host(
    rs: &Ruleset,
    opts: &CheckOptions,
) -> Option<(crate::host::HostConfig, String)> {
    use crate::host::{HostConfig, IfAddr};
    let nat = rs.table(TableKind::Nat)?;
    let post = nat.chains.iter().find(|c| c.name == "POSTROUTING")?;
    let outside = opts.env.iface.as_str();
    let mut h = HostConfig::default();
    let mut said = Vec::new();
    for r in &post.rules {
        let (Some((net, false)), Some(o), Action::Target(tg)) = (&r.src, &r.outiface, &r.action)
        else {
            continue;
        };
        if !o.invert || o.name.ends_with('+') || o.name == outside || tg.name() != "MASQUERADE" {
            continue;
        }
        let (first, len) = match *net {
            crate::netfilter::AddrMask::V4 { addr, mask } if mask.leading_ones() < 31 => (
                IpAddr::from(std::net::Ipv4Addr::from(addr | 1)),
                mask.leading_ones() as u8,
            ),
            crate::netfilter::AddrMask::V6 { addr, mask } if mask.leading_ones() < 127 => (
                IpAddr::from(std::net::Ipv6Addr::from(addr | 1)),
                mask.leading_ones() as u8,
            ),
            _ => continue,
        };
        h.add_addr(IfAddr {
            dev: o.name.clone(),
            addr: first,
            len,
        });
        said.push(format!(
            "{} holds {first}/{len} (`{}`, line {})",
            o.name,
            rule_text("POSTROUTING", r),
            rs.line_of(r.span)
        ));
    }
    if said.is_empty() {
        return None;
    }
    let (host, _) = super::host_for(rs, &opts.env, rs.family);
    let len = if host.is_ipv4() { 24 } else { 64 };
    h.add_addr(IfAddr {
        dev: outside.to_string(),
        addr: host,
        len,
    });
    let default = if host.is_ipv4() { "0.0.0.0/0" } else { "::/0" };
    h.add_route(crate::host::HostConfig::parse_route(&format!("{default} dev {outside}")).ok()?);
    let assumed = format!(
        "assumed, no host configuration given: {}, and the host's {host} is on {outside} with \
         the default route (give --host-config with the host's `ip -j addr` and `ip -j route`)",
        said.join(", ")
    );
    Some((h, assumed))
}

fn check_with(rs: &Ruleset, opts: &CheckOptions) -> Vec<Finding> {
    let host = &opts.env.host;
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
    let no_nat = without_nat(rs);

    let mut out = Vec::new();
    let mut dead_reported: Vec<RuleRef> = Vec::new();
    let mut seen: Vec<(u8, u16)> = Vec::new();
    // Past the bound: not probed, named in a note (sorted, each once).
    let mut left_out: BTreeSet<(u8, u16)> = BTreeSet::new();
    for p in &pubs {
        if seen.contains(&(p.proto, p.port)) {
            continue;
        }
        if seen.len() == MAX_PORTS {
            left_out.insert((p.proto, p.port));
            continue;
        }
        seen.push((p.proto, p.port));
        let pkt = probe(client, host_addr, p.proto, p.port);
        let o = run(rs, opts, &outside_if, &pkt);
        if o.direction != Direction::Forward {
            continue;
        }
        let proto = if p.proto == 6 { "tcp" } else { "udp" };
        let (dnat, to) = dnat_of(rs, &pubs, &o, Some(p.rule), p.port).expect("a DNAT rule");
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
                "{proto} {} > {} on {outside_if}",
                endpoint(client, Some(41000)),
                endpoint(host_addr, Some(p.port))
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
        let Some((denied_by, _)) = input_denies(rs, &no_nat, opts, &outside_if, &pkt) else {
            continue;
        };
        let path = path_of(rs, opts, &o, dnat, to);
        let mut f = Finding::new(
            crate::diag::codes::PUBLISHED_PORT_BYPASSES_INPUT,
            format!(
                "{proto}/{} on {host_addr} ({outside_if}) is reachable from outside through {}, \
                 although INPUT would {denied_by}; let through by {}",
                p.port,
                path.text,
                let_through_by(rs, &o)
            ),
            &file,
        )
        .at_rule(o.decision.as_ref().and_then(|d| rule_info(rs, d)));
        if accepts_port_forwards(rs, &o, &path) {
            f.severity = Level::Note;
            f.message
                .push_str(" (a port forward: that rule accepts DNATed connections)");
        }
        f.packet = Some(format!(
            "{proto} {} > {} on {outside_if}",
            endpoint(client, Some(41000)),
            endpoint(host_addr, Some(p.port))
        ));
        explain(rs, opts, dnat, &path, &mut f);
        f.fix = fix_for(rs, opts, &outside_if, (p.proto, p.port), &pkt, "the probe");
        out.push(f);
    }
    if !left_out.is_empty() {
        let left: Vec<(u8, u16)> = left_out.into_iter().collect();
        out.push(super::ports_left_out(
            crate::diag::codes::PUBLISHED_PORT_BYPASSES_INPUT,
            format!(
                "only the first {MAX_PORTS} ports the nat table publishes (in rule order) were \
                 probed from outside: {} more were not",
                left.len()
            ),
            &left,
            &file,
            "check the ports not probed with an `--expect` file (`[[expect]]` entries with \
             `proto`, `port` and `verdict`: from anywhere, by default)",
        ));
    }
    out
}

/// Interface names container tools give their bridges and veth ends (dockerd `docker0` and
/// `br-…`, Podman `podman…` and `cni-podman…`, CNI `cni0`, libvirt `virbr…`, LXC/LXD
/// `lxcbr…`/`lxdbr…`, Calico `cali…`, Flannel `flannel…`, Weave `weave`, kube-router
/// `kube-bridge`, Cilium `cilium_…`).
const BRIDGE_PREFIXES: &[&str] = &[
    "docker",
    "br-",
    "podman",
    "cni",
    "veth",
    "virbr",
    "lxcbr",
    "lxdbr",
    "cali",
    "flannel",
    "weave",
    "kube-bridge",
    "cilium",
];

/// The interfaces on the containers' side of the host: those the routes give for the ruleset's
/// DNAT destinations, and those named as container tools name their bridges. A packet that
/// comes in on one is not from outside.
pub(crate) fn container_side(rs: &Ruleset, host: &crate::host::HostConfig) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for p in published(rs) {
        if let Some((dev, _)) = p.to.and_then(|(a, _)| host.route(a)) {
            if !v.iter().any(|d| d == dev) {
                v.push(dev.to_string());
            }
        }
    }
    for n in &host.names {
        if BRIDGE_PREFIXES.iter().any(|p| n.starts_with(p)) && !v.contains(n) {
            v.push(n.clone());
        }
    }
    v
}

/// Whether `iface` is on the containers' side ([`container_side`], or named like a bridge).
pub(crate) fn is_container_side(sides: &[String], iface: &str) -> bool {
    sides.iter().any(|s| s == iface) || BRIDGE_PREFIXES.iter().any(|p| iface.starts_with(p))
}

/// A published port a replayed capture showed reached from outside: packets from a remote
/// address, on an interface that is not on the containers' side, for one of the host's
/// addresses, that opened a connection the replay DNATed in PREROUTING and accepted in
/// FORWARD (`analysis::capture` collects them).
#[derive(Debug, Clone)]
pub(crate) struct SeenPort {
    pub(crate) proto: u8,
    pub(crate) port: u16,
    /// The interface the first one came in on.
    pub(crate) iface: String,
    /// The first such packet, and the replay's outcome for it.
    pub(crate) first: crate::packet::Packet,
    pub(crate) outcome: Outcome,
    /// Connections (client address and port) seen so; `more` when some were not counted.
    pub(crate) connections: usize,
    pub(crate) more: bool,
    /// Their first packets' frames (at most [`SEEN_FRAMES`]).
    pub(crate) frames: Vec<u64>,
}

/// Frames listed per published port seen in a capture.
pub(crate) const SEEN_FRAMES: usize = 10;

/// FW016 from a capture: for each published port [`SeenPort`], one finding — if the engine
/// confirms it. The first packet is run again through the same engine as the static check
/// (fresh state, traced: the DNAT rule and the output interface of the path), and against the
/// ruleset without its nat table: only when INPUT would certainly drop or reject it is it an
/// exposure. The fix is the static FW016's, verified on that packet.
pub(crate) fn seen_in_capture(
    rs: &Ruleset,
    opts: &CheckOptions,
    seen: &[SeenPort],
) -> Vec<Finding> {
    if seen.is_empty() {
        return Vec::new();
    }
    let file = rs.source.name.clone();
    let pubs = published(rs);
    let no_nat = without_nat(rs);
    let mut out = Vec::new();
    for s in seen {
        let pkt = &s.first;
        let o = run(rs, opts, &s.iface, pkt);
        if o.direction != Direction::Forward || o.verdict != Some(Verdict::Accept) || !o.certain {
            continue;
        }
        let Some((dnat, to)) = dnat_of(rs, &pubs, &o, None, s.port) else {
            continue;
        };
        let path = path_of(rs, opts, &o, dnat, to);
        if path.outdev == s.iface {
            // Forwarded back out of the interface it came in on: not another interface.
            continue;
        }
        // Only a certain drop: a verdict is certain only if nothing unknown influenced it.
        let Some((denied_by, true)) = input_denies(rs, &no_nat, opts, &s.iface, pkt) else {
            continue;
        };
        let proto = if s.proto == 6 { "tcp" } else { "udp" };
        let conns = format!(
            "{}{} connection{}",
            if s.more { "more than " } else { "" },
            s.connections,
            if s.connections == 1 && !s.more {
                ""
            } else {
                "s"
            }
        );
        let mut f = Finding::new(
            crate::diag::codes::PUBLISHED_PORT_BYPASSES_INPUT,
            format!(
                "{proto}/{} on {} ({}) was reached from outside in the capture: {conns}, the \
                 first at frame {}, through {}, although INPUT would {denied_by}; let \
                 through by {}",
                s.port,
                pkt.dst,
                s.iface,
                s.outcome.frame,
                path.text,
                let_through_by(rs, &s.outcome)
            ),
            &file,
        )
        .at_rule(s.outcome.decision.as_ref().and_then(|d| rule_info(rs, d)));
        if accepts_port_forwards(rs, &s.outcome, &path) {
            f.severity = Level::Note;
            f.message
                .push_str(" (a port forward: that rule accepts DNATed connections)");
        }
        f.frame = Some(s.outcome.frame);
        f.packet = Some(format!(
            "frame {}: {} on {}",
            s.outcome.frame,
            crate::engine::trace::describe_packet(pkt),
            s.iface
        ));
        let list: Vec<String> = s.frames.iter().map(u64::to_string).collect();
        f.details.push(format!(
            "{} in frame{} {}{}",
            if s.connections == 1 && !s.more {
                "the connection was opened"
            } else {
                "the connections were opened"
            },
            if list.len() == 1 { "" } else { "s" },
            list.join(","),
            if s.connections > s.frames.len() || s.more {
                ",…"
            } else {
                ""
            }
        ));
        explain(rs, opts, dnat, &path, &mut f);
        f.fix = fix_for(
            rs,
            opts,
            &s.iface,
            (s.proto, s.port),
            pkt,
            &format!("frame {}", s.outcome.frame),
        );
        out.push(f);
    }
    out
}

/// One cell of the "reachable from outside" matrix ([`matrix`]): what the first packet of a
/// new connection from an outside address, arriving on `iface`, gets for `proto`/`port` on the
/// host's address of that interface.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reach {
    pub iface: String,
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// The rules file that decided.
    pub file: String,
    pub proto: &'static str,
    pub port: u16,
    /// The host's address the probe went to.
    pub addr: IpAddr,
    /// The verdict: `ACCEPT`, `DROP`, `REJECT` (`null`: not judged).
    pub verdict: Option<&'static str>,
    /// False when something fwcheck cannot know offline could change the verdict.
    pub certain: bool,
    /// `INPUT` for the host itself, else the forwarded path (`PREROUTING DNAT nat DOCKER #2 ->
    /// FORWARD -> docker0 -> 172.17.0.2:80`).
    pub via: String,
    /// The rule or policy that decided, as reports name it.
    pub decided_by: String,
}

/// At most this many ports per interface and family in the matrix (the lowest; the rest are
/// [`not_probed`]).
pub const MATRIX_PORTS: usize = 64;

/// The ports the matrix would probe, ascending: those the ruleset opens in INPUT, publishes by
/// DNAT, the usual services and the canary.
fn matrix_ports(rs: &Ruleset, pubs: &[Published]) -> BTreeSet<(u8, u16)> {
    let mut ports: BTreeSet<(u8, u16)> = BTreeSet::new();
    super::parity::opened(rs, &mut ports);
    ports.extend(pubs.iter().map(|p| (p.proto, p.port)));
    ports.extend([(6, 22), (6, 80), (6, 443)]);
    ports.extend([(6, super::parity::CANARY), (17, super::parity::CANARY)]);
    ports
}

/// The ports [`matrix`] leaves out, past its bound of the 64 lowest: (protocol, port),
/// ascending.
pub fn not_probed(rs: &Ruleset) -> Vec<(u8, u16)> {
    matrix_ports(rs, &published(rs))
        .into_iter()
        .skip(MATRIX_PORTS)
        .collect()
}

/// The "reachable from outside" matrix of `rs` (issue 14's port matrix): for each interface of
/// the host that is not on the containers' side (with no interfaces configured: the one
/// interface every packet is seen on), and each port the ruleset opens in INPUT, publishes by
/// DNAT, the usual services (tcp 22, 80, 443) and one port nothing names
/// ([`super::parity::CANARY`], tcp and udp: the default), the verdict of a new connection from
/// outside, run through the same engine as every other check (forwarding on, as FW016's
/// probes). Deterministic: interfaces in the host's order, ports ascending.
pub fn matrix(rs: &Ruleset, opts: &CheckOptions) -> Vec<Reach> {
    let v4 = rs.family == Family::V4;
    let host = &opts.env.host;
    let client = outside(v4)[0];
    // The interfaces and the host's address of this family on each.
    let ifaces: Vec<(String, IpAddr)> = if host.is_empty() {
        let (addr, _) = host_for(rs, &opts.env, rs.family);
        vec![(opts.env.iface.clone(), addr)]
    } else {
        let sides = container_side(rs, host);
        let mut v: Vec<(String, IpAddr)> = Vec::new();
        for a in &host.addrs {
            if a.addr.is_ipv4() != v4
                || a.addr.is_loopback()
                || is_container_side(&sides, &a.dev)
                || v.iter().any(|(d, _)| *d == a.dev)
            {
                continue;
            }
            v.push((a.dev.clone(), a.addr));
        }
        v
    };
    let pubs = published(rs);
    let ports = matrix_ports(rs, &pubs);
    let mut out = Vec::new();
    for (iface, addr) in &ifaces {
        let mut o = opts.clone();
        if !o.env.hosts.contains(addr) {
            o.env.hosts.push(*addr);
        }
        for &(proto, port) in ports.iter().take(MATRIX_PORTS) {
            let pkt = probe(client, *addr, proto, port);
            let oc = run(rs, &o, iface, &pkt);
            let via = if oc.direction == Direction::Forward {
                match dnat_of(rs, &pubs, &oc, None, port) {
                    Some((dnat, to)) => path_of(rs, &o, &oc, dnat, to).text,
                    None => "FORWARD".to_string(),
                }
            } else {
                "INPUT".to_string()
            };
            out.push(Reach {
                iface: iface.clone(),
                family: if v4 { "ipv4" } else { "ipv6" },
                file: rs.source.name.clone(),
                proto: if proto == 6 { "tcp" } else { "udp" },
                port,
                addr: *addr,
                verdict: oc.verdict.map(|v| v.as_str()),
                certain: oc.certain,
                via,
                decided_by: oc
                    .decision
                    .as_ref()
                    .and_then(|d| rule_info(rs, d))
                    .map(|ri| ri.short())
                    .unwrap_or_else(|| oc.reason.clone().unwrap_or_default()),
            });
        }
    }
    out
}
