//! FW018 — IPv4/IPv6 parity: a service reachable over one family and not the other.
//!
//! `rules.v4` and `rules.v6` are loaded by two different programs (`iptables-restore`,
//! `ip6tables-restore`) and drift apart: a port opened in one file only, an `ip6tables` INPUT
//! left at policy ACCEPT beside a default-deny IPv4 ruleset. Given the other family's ruleset
//! (`--parity FILE`), the same new connections are offered to both — a TCP SYN (or a UDP
//! datagram) from an outside address to the host's address of each family — for every port
//! either ruleset opens in INPUT, the usual services (22, 80, 443), and one port no ruleset
//! names (what each does *by default*). Each goes through the engine of its own family, as a
//! capture's packet would. A port accepted on one side and dropped or rejected on the other is
//! reported once, at the rule or policy of the checked ruleset that decided it, with the other
//! file's decision beside it. A verdict that is not certain on either side is not compared.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::synth::{Step, Synth};
use super::*;
use crate::diag::codes;
use crate::engine::Decision;
use crate::packet::tcp_flags as F;
use crate::ruleset::{Action, TableKind};

/// At most this many ports are compared (those the rulesets open, in order, then the usual ones).
const MAX_PORTS: usize = 64;
/// A port no ruleset is expected to name: what each family does with "any other port".
pub const CANARY: u16 = 33_333;

/// Ports (proto, port) the filter INPUT path of `rs` accepts explicitly.
pub(crate) fn opened(rs: &Ruleset, out: &mut BTreeSet<(u8, u16)>) {
    let Some(t) = rs.table(TableKind::Filter) else {
        return;
    };
    for c in &t.chains {
        if c.name == "OUTPUT" || c.name == "FORWARD" {
            continue;
        }
        for r in c
            .rules
            .iter()
            .filter(|r| matches!(r.action, Action::Accept))
        {
            let proto = match r.proto {
                Some((p @ (6 | 17), false)) => p,
                _ => continue,
            };
            for port in super::services::dports(r) {
                out.insert((proto, port));
            }
        }
    }
}

/// The first packet of a new connection to `port` on `rs`'s host (from an outside address of
/// the ruleset's family), with the options to judge it (the host added when not given) and
/// the host's address.
pub fn probe_step(
    rs: &Ruleset,
    opts: &CheckOptions,
    proto: u8,
    port: u16,
) -> (Step, CheckOptions, IpAddr) {
    let v4 = rs.family == Family::V4;
    let (host, o) = for_host(rs, opts);
    let ext = outside(v4)[0];
    let mut sy = Synth::default();
    let pkt = if proto == 6 {
        sy.tcp((ext, 41_000), (host, port), F::SYN, 1, 0, 0)
    } else {
        sy.udp((ext, 41_000), (host, port), 32)
    };
    let what = format!("{} to {port}", if proto == 6 { "SYN" } else { "datagram" });
    (Step { what, pkt }, o, host)
}

/// The verdict of [`probe_step`]'s packet.
fn probe(rs: &Ruleset, opts: &CheckOptions, proto: u8, port: u16) -> (StepResult, IpAddr) {
    let (step, o, host) = probe_step(rs, opts, proto, port);
    let mut r = run_scenario(rs, &o, &[], std::slice::from_ref(&step));
    (r.remove(0), host)
}

fn family_name(rs: &Ruleset) -> &'static str {
    if rs.family == Family::V4 {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// What decided `r`, as "DROP by filter INPUT policy DROP in rules.v6 (line 2)".
fn decided(rs: &Ruleset, r: &StepResult) -> String {
    let verdict = r
        .outcome
        .verdict
        .map(|v| v.as_str())
        .unwrap_or("not judged");
    let file = &rs.source.name;
    match decided_by(rs, &r.outcome) {
        Some(i) if i.number.is_some() => format!("{verdict} by {} in {file}", i.short()),
        Some(i) => match i.line {
            Some(l) => format!("{verdict} by {} in {file} (line {l})", i.short()),
            None => format!("{verdict} by {} in {file}", i.short()),
        },
        None => format!("{verdict} in {file}"),
    }
}

/// FW018 for `rs` (the checked ruleset) against `other` (the other family's).
pub fn check(rs: &Ruleset, other: &Ruleset, opts: &CheckOptions) -> Vec<Finding> {
    if rs.family == other.family {
        return Vec::new();
    }
    let mut ports = BTreeSet::new();
    opened(rs, &mut ports);
    opened(other, &mut ports);
    // Ports past the bound are not compared: said in a note, never silently.
    let left_out: Vec<(u8, u16)> = ports.iter().skip(MAX_PORTS).copied().collect();
    let mut list: Vec<(u8, u16)> = ports.into_iter().take(MAX_PORTS).collect();
    for usual in [(6, 22), (6, 80), (6, 443)] {
        if !list.contains(&usual) {
            list.push(usual);
        }
    }
    list.insert(0, (6, CANARY));
    let file = rs.source.name.clone();
    let mut out = Vec::new();
    // When the defaults differ, the ports decided the same way as the arbitrary port (by the
    // policies, or one catch-all rule) are that one finding, not one each.
    let mut default_differs: Option<(Option<Decision>, Option<Decision>)> = None;
    for (proto, port) in list {
        let (a, host_a) = probe(rs, opts, proto, port);
        let (b, host_b) = probe(other, opts, proto, port);
        if !a.outcome.certain || !b.outcome.certain {
            continue;
        }
        let (acc_a, acc_b) = (a.passed(), b.passed());
        if acc_a == acc_b {
            continue;
        }
        let decisions = (a.outcome.decision, b.outcome.decision);
        if port == CANARY {
            default_differs = Some(decisions);
        } else if default_differs == Some(decisions) {
            continue;
        }
        let p = if proto == 6 { "tcp" } else { "udp" };
        let what = if port == CANARY {
            format!("an arbitrary {p} port ({p}/{port}, standing for any port no rule opens)")
        } else {
            format!("{p}/{port}")
        };
        let (open, closed) = if acc_a { (rs, other) } else { (other, rs) };
        let message = format!(
            "{what} is reachable over {} but not over {}: {} in {}, {} in {}",
            family_name(open),
            family_name(closed),
            if acc_a { "accepted" } else { "refused" },
            rs.source.name,
            if acc_b { "accepted" } else { "refused" },
            other.source.name,
        );
        let mut f =
            Finding::new(codes::FAMILY_PARITY, message, &file).at_rule(decided_by(rs, &a.outcome));
        f.packet = Some(format!(
            "{p} {} > {host_a}:{port} ({}); {p} {} > {host_b}:{port} ({})",
            outside(rs.family == Family::V4)[0],
            decided(rs, &a),
            outside(other.family == Family::V4)[0],
            decided(other, &b),
        ));
        f.fix = Some(if port == CANARY {
            format!(
                "give both families the same default: the {} INPUT chain accepts what the {} one refuses \
                 (a policy ACCEPT, or no final DROP); set `:INPUT DROP` (and keep the rules for \
                 loopback, ESTABLISHED,RELATED and ICMPv6 neighbour discovery) in the more open file",
                family_name(open),
                family_name(closed)
            )
        } else {
            let accepting = if acc_a { &a } else { &b };
            let rule = decided_by(open, &accepting.outcome)
                .filter(|i| i.number.is_some())
                .and_then(|i| Some((i.text?, i.line?)));
            match rule {
                Some((text, line)) => format!(
                    "if {what} should be reachable over both, add `{text}` ({} line {line}) to {} \
                     (before what refuses it there); if over neither, remove it from {}",
                    open.source.name, closed.source.name, open.source.name
                ),
                None => format!(
                    "open {what} in {} as {} does, or close it in {}",
                    closed.source.name, open.source.name, open.source.name
                ),
            }
        });
        out.push(f);
    }
    if !left_out.is_empty() {
        out.push(crate::analysis::ports_left_out(
            codes::FAMILY_PARITY,
            format!(
                "only the {MAX_PORTS} lowest of the {} ports the two rulesets open were compared \
                 across families: {} more were not, from {} up",
                MAX_PORTS + left_out.len(),
                left_out.len(),
                crate::analysis::port_name(left_out[0]),
            ),
            &left_out,
            &file,
            "check the ports not compared with an `--expect` file (`[[expect]]` entries with \
             `proto`, `port` and `verdict`) run against each family's rules",
        ));
    }
    out
}
