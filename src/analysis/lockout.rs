//! FW001 — would this ruleset lock the administrator out? — and FW009 (loopback blocked).
//!
//! For each management service and each candidate administrator address, two scenarios go
//! through the engine: (1) the session the admin is typing in while loading the rules must keep
//! passing both ways — ESTABLISHED if conntrack tracked it under the earlier rules, picked up
//! mid-stream (NEW) if nothing tracked it; which one is not known (the earlier rules are not
//! given), so a ruleset that treats the two differently gets an uncertain answer unless
//! `--conntrack-start empty` says nothing was tracked; (2) a new session must complete
//! (SYN in, SYN/ACK out, ACK in, data both ways, FIN close). With `--admin`, every candidate in
//! the admin networks must pass; without it ("anywhere"), at least one address must get in.
//!
//! A failure names the packet, the rule or policy that dropped it (file:line), and a fix: the
//! rule(s) to insert and where, found by inserting them into a copy of the ruleset and running
//! the scenario again until it passes.
//!
//! Certain means certain: when a step's verdict was uncertain (a match fwcheck cannot decide
//! offline, such as an ipset's contents, or a traversal that hit fwcheck's step limit), a
//! failure is reported as a *possible* lockout (FW001 at warning level, with the reason), and
//! a pass as an uncertain pass ([`LockoutResult::doubt`]), never as a certain answer.

use std::net::IpAddr;

use super::synth::{self, Synth};
use super::*;
use crate::diag::codes;
use crate::engine::{CtLabel, Decision, Direction};
use crate::ruleset::parser::parse_rule_in;
use crate::ruleset::TableKind;

/// Why a scenario failed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// "established" (the session in use while loading) or "new".
    pub case: &'static str,
    pub step: StepResult,
}

/// The first step of `results` that did not pass, with [`doubt_of`] them.
fn first_failure(results: Vec<StepResult>) -> (Option<StepResult>, Option<String>) {
    let doubt = doubt_of(&results);
    (results.into_iter().find(|s| !s.passed()), doubt)
}

/// The first step of `results` (up to and including the first failure) whose verdict was
/// uncertain, as `what: why`.
pub(crate) fn doubt_of(results: &[StepResult]) -> Option<String> {
    let upto = results
        .iter()
        .position(|s| !s.passed())
        .map_or(results.len(), |i| i + 1);
    results[..upto]
        .iter()
        .find(|s| !s.outcome.certain)
        .map(|s| {
            let why = s
                .outcome
                .reason
                .as_deref()
                .unwrap_or("a verdict fwcheck cannot decide");
            format!("{}: {why}", s.what)
        })
}

/// Run both scenarios for one admin address: the first failure, if any, and why the answer is
/// not certain (the first uncertain step up to the failure, or of both scenarios when they
/// pass).
pub fn session_check(
    rs: &Ruleset,
    opts: &CheckOptions,
    admin: IpAddr,
    host: IpAddr,
    svc: Service,
    seed: u16,
) -> (Option<Failure>, Option<String>) {
    let mut sy = Synth::default();
    let (warm, est) = if svc.proto == 6 {
        synth::tcp_established(
            &mut sy,
            (admin, 50_000 + seed),
            (host, svc.port),
            "admin",
            "host",
        )
    } else {
        synth::udp_established(
            &mut sy,
            (admin, 50_000 + seed),
            (host, svc.port),
            "admin",
            "host",
        )
    };
    // The earlier rules are not known. If they used conntrack, it tracked the session: the
    // ruleset sees it ESTABLISHED. If nothing did (no hooks registered), the ruleset picks it
    // up mid-stream, NEW (`nf_conntrack_tcp_loose`), and the conntrack table is empty. Both
    // worlds run unless `--conntrack-start empty` or `tracked` says which; an answer they
    // disagree on is not certain.
    let untracked = || {
        let mut o = opts.clone();
        o.env.conntrack_empty_at_start = true;
        o.env.conntrack_tracked_at_start = false;
        let results = run_scenario_loading(rs, &o, &warm, &est);
        first_failure(results)
    };
    let (failed, doubt) = if opts.env.conntrack_empty_at_start {
        untracked()
    } else {
        let results = run_scenario(rs, opts, &warm, &est);
        let tracked = first_failure(results);
        // `--conntrack-start tracked` says which world: the one where conntrack tracked it.
        if !crate::engine::conntrack_active(rs) || opts.env.conntrack_tracked_at_start {
            tracked
        } else {
            match (tracked, untracked()) {
                ((Some(f), d1), (Some(_), d2)) => (Some(f), d1.or(d2)),
                ((None, d1), (None, d2)) => (None, d1.or(d2)),
                ((f1, d1), (f2, d2)) => {
                    let world = if f1.is_some() {
                        "if conntrack tracked the session under the earlier rules (they used \
                         it), it is ESTABLISHED"
                    } else {
                        "if conntrack did not track the session under the earlier rules (none \
                         used it), these rules pick it up mid-stream, NEW"
                    };
                    let (f, own) = match (f1, f2) {
                        (Some(f), _) => (f, d1),
                        (_, f) => (f.expect("one world failed"), d2),
                    };
                    let why = format!(
                        "{}: {world}, and only then it is not accepted{}; which world the host \
                         is in is not known (--conntrack-start empty: nothing tracked it; \
                         tracked: conntrack did)",
                        f.what,
                        own.map(|d| format!(" (and even then not certainly: {d})"))
                            .unwrap_or_default()
                    );
                    (Some(f), Some(why))
                }
            }
        }
    };
    let established = failed.map(|step| Failure {
        case: "established",
        step,
    });
    if established.is_some() && doubt.is_none() {
        return (established, doubt);
    }
    let mut sy = Synth::default();
    let steps = if svc.proto == 6 {
        synth::tcp_session(
            &mut sy,
            (admin, 40_000 + seed),
            (host, svc.port),
            "admin",
            "host",
        )
    } else {
        synth::udp_exchange(
            &mut sy,
            (admin, 40_000 + seed),
            (host, svc.port),
            "admin",
            "host",
        )
    };
    let results = run_scenario(rs, opts, &[], &steps);
    let (new, new_doubt) = first_failure(results);
    let new = new.map(|step| Failure { case: "new", step });
    match (established, new) {
        // The established session's failure is not certain, a new session's is.
        (Some(_), Some(n)) if new_doubt.is_none() => (Some(n), None),
        (Some(e), _) => (Some(e), doubt),
        (None, n) => (n, doubt.or(new_doubt)),
    }
}

/// Where to insert a rule so that it is tried before what dropped the packet.
pub(crate) fn insertion_point(rs: &Ruleset, d: &Decision) -> Option<(TableKind, usize, usize)> {
    match *d {
        Decision::Rule(r) => Some((r.table, r.chain, r.rule)),
        Decision::Policy { table, chain } => {
            let t = rs.table(table)?;
            Some((table, chain, t.chains[chain].rules.len()))
        }
        _ => None,
    }
}

/// The rule body that lets the failing packet through: the service's port for a new session's
/// first packet, and for any packet when `by_port` (a connection state rule did not help: an
/// established session picked up mid-stream is NEW); otherwise the connection's state.
fn proposal(f: &Failure, svc: Service, admin_net: Option<&Net>, by_port: bool) -> String {
    let p = &f.step.outcome;
    let pkt_in = p.direction == Direction::In;
    let first = f.case == "new"
        && f.step
            .what
            .starts_with(if svc.proto == 6 { "SYN " } else { "UDP admin" });
    let proto = if svc.proto == 6 { "tcp" } else { "udp" };
    // The established session seen NEW (picked up by rules that begin tracking it).
    let by_port = by_port || (f.case == "established" && p.ctstate == Some(CtLabel::New));
    if pkt_in && (first || by_port) {
        let src = admin_net.map(|n| format!("-s {n} ")).unwrap_or_default();
        format!("{src}-p {proto} -m {proto} --dport {} -j ACCEPT", svc.port)
    } else if by_port {
        let dst = admin_net.map(|n| format!("-d {n} ")).unwrap_or_default();
        format!("{dst}-p {proto} -m {proto} --sport {} -j ACCEPT", svc.port)
    } else {
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".to_string()
    }
}

/// Insert `body` into `rs` at (table, chain, index); `None` if it does not parse.
pub(crate) fn with_rule(
    rs: &Ruleset,
    at: (TableKind, usize, usize),
    body: &str,
) -> Option<Ruleset> {
    let (table, chain, idx) = at;
    let t = rs.table(table)?;
    let name = t.chains[chain].name.clone();
    let rule = parse_rule_in(rs, table, &name, body, crate::ext::Backend::Nft).ok()?;
    let mut copy = rs.clone();
    let tt = copy.tables.iter_mut().find(|t| t.kind == table)?;
    let rules = &mut tt.chains[chain].rules;
    rules.insert(idx.min(rules.len()), rule);
    Some(copy)
}

/// A fix for `f`, verified by simulation: the insertions (as text) and whether the scenarios
/// then pass.
#[allow(clippy::too_many_arguments)]
fn find_fix(
    rs: &Ruleset,
    opts: &CheckOptions,
    admin: IpAddr,
    host: IpAddr,
    svc: Service,
    admin_net: Option<&Net>,
    f: &Failure,
) -> Option<(Vec<String>, bool)> {
    let mut current = rs.clone();
    let mut failure = f.clone();
    let mut steps: Vec<String> = Vec::new();
    let mut last_body: Option<String> = None;
    for _ in 0..4 {
        let d = failure.step.outcome.decision?;
        let mut body = proposal(&failure, svc, admin_net, false);
        if last_body.as_ref() == Some(&body) {
            body = proposal(&failure, svc, admin_net, true);
        }
        last_body = Some(body.clone());
        let (text, next) = super::services::insert_before(rs, &current, &d, &body)?;
        steps.push(text);
        current = next;
        match session_check(&current, opts, admin, host, svc, 7).0 {
            None => return Some((steps, true)),
            Some(nf) => failure = nf,
        }
    }
    Some((steps, false))
}

/// `SYN admin → host (198.51.100.77:40000 → 203.0.113.10:22)`.
pub(crate) fn describe_packet(s: &StepResult) -> String {
    let p = &s.pkt;
    format!(
        "{} ({} → {})",
        s.what,
        endpoint(p.src, p.ports().map(|x| x.0)),
        endpoint(p.dst, p.ports().map(|x| x.1))
    )
}

pub(crate) use crate::packet::endpoint;

/// The lockout verdict for one management service (or the loopback check).
#[derive(Debug, Clone)]
pub struct LockoutResult {
    /// `tcp/22`, or `loopback`.
    pub check: String,
    /// The ruleset's family, when a run checks both families' files (`--rules6`, `--parity`).
    pub family: Option<Family>,
    pub finding: Option<Finding>,
    /// Why the result (a pass, or the finding) is not certain: a verdict it rests on was
    /// uncertain. A finding that is not certain is a possible lockout, at warning level.
    pub doubt: Option<String>,
}

impl LockoutResult {
    /// `tcp/22`, with the family when the run has both: `tcp/22 (IPv6)`.
    pub fn name(&self) -> String {
        match self.family {
            None => self.check.clone(),
            Some(Family::V4) => format!("{} (IPv4)", self.check),
            Some(Family::V6) => format!("{} (IPv6)", self.check),
        }
    }
}

pub fn check(rs: &Ruleset, opts: &CheckOptions) -> Vec<Finding> {
    evaluate(rs, opts)
        .into_iter()
        .filter_map(|r| r.finding)
        .collect()
}

/// Every lockout check with its result (one per management service, plus loopback).
pub fn evaluate(rs: &Ruleset, opts: &CheckOptions) -> Vec<LockoutResult> {
    let mut out = Vec::new();
    let family = rs.family;
    let (host, given) = host_for(rs, &opts.env, family);
    let mut o = opts.clone();
    if !given {
        o.env.hosts.push(host);
    }
    let file = rs.source.name.clone();
    let admin_nets: Vec<Net> = opts
        .admin
        .iter()
        .filter(|n| n.addr.is_ipv4() == (family == Family::V4))
        .copied()
        .collect();
    let anywhere = admin_nets.is_empty();
    let candidates = admin_candidates(rs, &admin_nets, family);
    for svc in &opts.mgmt {
        // The first failure, certain ones first; a pass's doubt.
        let mut certain_failure: Option<(IpAddr, Failure)> = None;
        let mut uncertain_failure: Option<(IpAddr, Failure, String)> = None;
        let mut pass_doubt: Option<String> = None;
        let mut failed = 0usize;
        let mut passed = 0usize;
        let mut passed_certainly = false;
        for (i, a) in candidates.iter().enumerate() {
            match session_check(rs, &o, *a, host, *svc, i as u16) {
                (None, doubt) => {
                    passed += 1;
                    passed_certainly |= doubt.is_none();
                    if pass_doubt.is_none() {
                        pass_doubt = doubt;
                    }
                }
                (Some(f), None) => {
                    failed += 1;
                    certain_failure.get_or_insert((*a, f));
                }
                (Some(f), Some(why)) => {
                    failed += 1;
                    uncertain_failure.get_or_insert((*a, f, why));
                }
            }
            if anywhere && passed_certainly {
                break;
            }
        }
        // Anywhere: locked out when no address gets in — certainly when every address fails
        // certainly. With --admin: when any admin address fails — certainly when one does.
        let (failure, doubt) = if anywhere {
            if passed_certainly {
                (None, None)
            } else if passed == 0 && uncertain_failure.is_none() {
                (certain_failure, None)
            } else {
                let why = pass_doubt
                    .clone()
                    .or(uncertain_failure.as_ref().map(|u| u.2.clone()));
                let f = certain_failure.or(uncertain_failure.map(|(a, f, _)| (a, f)));
                (f, why)
            }
        } else if let Some(cf) = certain_failure {
            (Some(cf), None)
        } else if let Some((a, f, why)) = uncertain_failure {
            (Some((a, f)), Some(why))
        } else {
            (None, pass_doubt.clone())
        };
        let Some((admin, f)) = failure else {
            out.push(LockoutResult {
                check: svc.name(),
                family: None,
                finding: None,
                doubt,
            });
            continue;
        };
        let rule = decided_by(rs, &f.step.outcome);
        let verdict = f
            .step
            .outcome
            .verdict
            .map(|v| v.as_str())
            .unwrap_or("not judged");
        let who = match &rule {
            Some(r) => r.short(),
            None => "the IP stack".into(),
        };
        let what = if f.case == "established" {
            format!(
                "the established {} session the administrator is using would break",
                svc.name()
            )
        } else {
            format!(
                "a new {} session from the administrator cannot complete",
                svc.name()
            )
        };
        let mut finding = Finding::new(
            codes::LOCKOUT,
            format!(
                "{}: {what}: {} is {verdict}{} by {who}",
                if doubt.is_some() {
                    "possible lockout"
                } else {
                    "lockout"
                },
                describe_packet(&f.step),
                if doubt.is_some() { "?" } else { "" }
            ),
            &file,
        )
        .at_rule(rule);
        if let Some(why) = &doubt {
            // Not certain: a warning, with what fwcheck could not decide.
            finding.severity = Level::Warning;
            finding.details.push(format!(
                "not certain: {why} (the kernel may decide otherwise)"
            ));
        }
        finding.packet = Some(describe_packet(&f.step));
        finding.details.push(format!(
            "checked with host {host}{} and administrator {admin}{}",
            if given { "" } else { " (assumed; use --host)" },
            if anywhere {
                format!(" ({} candidate addresses tried, none got in; use --admin CIDR to name the admin network)", candidates.len())
            } else {
                format!(" (in --admin {}; {failed} of {} candidate addresses fail)", admin_nets.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","), candidates.len())
            }
        ));
        let admin_net = admin_nets.iter().find(|n| n.contains(admin));
        if let Some((steps, verified)) = find_fix(rs, &o, admin, host, *svc, admin_net, &f) {
            finding.fix = Some(format!(
                "{}{}",
                steps.join("; then "),
                if verified {
                    " (verified: with this, both the established and a new session pass)"
                } else {
                    " (partial: the scenario still fails after these rules)"
                }
            ));
        }
        out.push(LockoutResult {
            check: svc.name(),
            family: None,
            finding: Some(finding),
            doubt,
        });
    }
    if family == Family::V6 {
        let (finding, doubt) = neighbour_discovery(rs, &o, host, &file);
        out.push(LockoutResult {
            check: "neighbour discovery".into(),
            family: None,
            finding,
            doubt,
        });
    }
    let (finding, doubt) = loopback(rs, &o, &file);
    out.push(LockoutResult {
        check: "loopback".into(),
        family: None,
        finding,
        doubt,
    });
    out
}

/// The on-link router the administrator's packets come through (and the host's go out by).
pub const ND_ROUTER: &str = "fe80::1";
/// The host's link-local address, when the host configuration does not give one.
pub const ND_HOST_LINK_LOCAL: &str = "fe80::5054:ff:fe00:10";

/// The neighbour discovery an IPv6 host needs before any session (RFC 4861): the router's
/// solicitation of the host's address and the host's advertisement, the host's solicitation
/// of the router and the router's advertisement — ICMPv6 135/136, hop limit 255, which
/// conntrack leaves UNTRACKED (no `--ctstate ESTABLISHED` rule covers them).
/// With `unicast`, the router's solicitation goes to the host's own address (the form
/// neighbour unreachability detection uses) instead of its solicited-node group.
pub fn nd_steps(host: IpAddr, host_ll: IpAddr, unicast: bool) -> Vec<Step> {
    use crate::packet::traffic::build::{L4Spec, PacketSpec};
    let router: IpAddr = ND_ROUTER.parse().expect("an address");
    let solicited = |a: IpAddr| -> IpAddr {
        let IpAddr::V6(v) = a else { return a };
        let o = v.octets();
        std::net::Ipv6Addr::new(
            0xff02,
            0,
            0,
            0,
            0,
            1,
            0xff00 | o[13] as u16,
            (o[14] as u16) << 8 | o[15] as u16,
        )
        .into()
    };
    let target = |a: IpAddr| match a {
        IpAddr::V6(v) => v.octets().to_vec(),
        IpAddr::V4(v) => v.octets().to_vec(),
    };
    let mut sy = Synth::default();
    let mut nd = |src: IpAddr, dst: IpAddr, ty: u8, flags: u16, about: IpAddr, what: &str| {
        // Type-specific word (NA flags), the target, a link-layer address option.
        let mut payload = target(about);
        payload.extend_from_slice(&[if ty == 135 { 1 } else { 2 }, 1, 2, 0, 0, 0, 0, 1]);
        let mut spec = PacketSpec::new(
            src,
            dst,
            L4Spec::Icmp {
                icmp_type: ty,
                code: 0,
                id: flags,
                seq: 0,
                quote: None,
            },
        );
        spec.ttl = 255;
        spec.payload = payload;
        Step {
            what: what.to_string(),
            pkt: sy.packet(spec),
        }
    };
    vec![
        nd(
            router,
            if unicast { host } else { solicited(host) },
            135,
            0,
            host,
            "neighbour solicitation router → host (who has the host's address?)",
        ),
        nd(
            host,
            router,
            136,
            0x6000,
            host,
            "neighbour advertisement host → router",
        ),
        nd(
            host_ll,
            solicited(router),
            135,
            0,
            router,
            "neighbour solicitation host → router (who has the router's address?)",
        ),
        nd(
            router,
            host_ll,
            136,
            0xe000,
            router,
            "neighbour advertisement router → host",
        ),
    ]
}

/// FW001 for IPv6: a ruleset that drops neighbour discovery locks everyone out, SSH
/// included, though every session rule looks right (kernel lab: INPUT DROP with
/// `RELATED,ESTABLISHED` and tcp/22 accepted, no ICMPv6 rule: ssh fails "No route to host").
fn neighbour_discovery(
    rs: &Ruleset,
    opts: &CheckOptions,
    host: IpAddr,
    file: &str,
) -> (Option<Finding>, Option<String>) {
    // The link-local address of the device the checks' packets are on (a link-local
    // destination is the host's only on the device holding it: `received_for_host`).
    let link_local = |a: &&crate::host::IfAddr| matches!(a.addr, IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80);
    let addrs = &opts.env.host.addrs;
    let host_ll = addrs
        .iter()
        .filter(link_local)
        .find(|a| a.dev == opts.env.iface)
        .or_else(|| addrs.iter().find(link_local))
        .map(|a| a.addr)
        .unwrap_or_else(|| ND_HOST_LINK_LOCAL.parse().expect("an address"));
    let mut o = opts.clone();
    if !o.env.hosts.contains(&host_ll) {
        o.env.hosts.push(host_ll);
    }
    let opts = &o;
    let steps = nd_steps(host, host_ll, false);
    let results = run_scenario(rs, opts, &[], &steps);
    let doubt = doubt_of(&results);
    let Some(bad) = results.iter().find(|s| !s.passed()) else {
        return (None, doubt);
    };
    let (rule, who) = decider(rs, &bad.outcome);
    let mut f = Finding::new(
        codes::LOCKOUT,
        format!(
            "{}: IPv6 neighbour discovery is dropped, so no neighbour can reach the host (nor \
             the host its router), SSH included: {} is {}{} by {who}",
            if doubt.is_some() {
                "possible lockout"
            } else {
                "lockout"
            },
            bad.what,
            bad.outcome
                .verdict
                .map(|v| v.as_str())
                .unwrap_or("not judged"),
            if doubt.is_some() { "?" } else { "" }
        ),
        file,
    )
    .at_rule(rule);
    if let Some(why) = &doubt {
        f.severity = Level::Warning;
        f.details.push(format!(
            "not certain: {why} (the kernel may decide otherwise)"
        ));
    }
    f.packet = Some(format!("{} ({} → {})", bad.what, bad.pkt.src, bad.pkt.dst));
    f.details.push(
        "neighbour solicitations and advertisements (ICMPv6 135/136) are UNTRACKED: a \
         RELATED,ESTABLISHED rule does not let them through"
            .into(),
    );
    // The fix: accept both types with hop limit 255 where each direction was dropped.
    let mut fixed = rs.clone();
    let mut texts = Vec::new();
    for (chain, types) in [("INPUT", [135u8, 136]), ("OUTPUT", [135, 136])] {
        if !results
            .iter()
            .any(|s| !s.passed() && (s.outcome.direction == Direction::In) == (chain == "INPUT"))
        {
            continue;
        }
        for ty in types {
            let name = if ty == 135 {
                "neighbour-solicitation"
            } else {
                "neighbour-advertisement"
            };
            let body =
                format!("-p ipv6-icmp -m icmp6 --icmpv6-type {name} -m hl --hl-eq 255 -j ACCEPT");
            let Some(t) = fixed.table(TableKind::Filter) else {
                continue;
            };
            let Some(ci) = t.chains.iter().position(|c| c.name == chain) else {
                continue;
            };
            if let Some(next) = with_rule(&fixed, (TableKind::Filter, ci, 0), &body) {
                fixed = next;
                texts.push(format!("`ip6tables -I {chain} 1 {body}`"));
            }
        }
    }
    if !texts.is_empty() {
        let passes = run_scenario(&fixed, opts, &[], &steps)
            .iter()
            .all(|s| s.passed());
        f.fix = Some(format!(
            "accept neighbour discovery at the top: {}{}",
            texts.join(", "),
            if passes {
                " (verified: with these, every neighbour discovery packet passes)"
            } else {
                " (partial: some still does not pass)"
            }
        ));
    }
    (Some(f), doubt)
}

/// The rule or policy that decided `o`, and how a message names it.
fn decider(rs: &Ruleset, o: &crate::engine::Outcome) -> (Option<RuleInfo>, String) {
    let rule = decided_by(rs, o);
    let who = rule
        .as_ref()
        .map(|r| r.short())
        .unwrap_or_else(|| "the IP stack".into());
    (rule, who)
}

/// FW009: a local TCP session over lo must work; with why the answer is not certain.
fn loopback(rs: &Ruleset, opts: &CheckOptions, file: &str) -> (Option<Finding>, Option<String>) {
    let lo: IpAddr = if rs.family == Family::V4 {
        "127.0.0.1".parse().expect("a")
    } else {
        "::1".parse().expect("a")
    };
    let mut sy = Synth::default();
    let steps = synth::tcp_session(
        &mut sy,
        (lo, 45_000),
        (lo, 5432),
        "local client",
        "local service",
    );
    let results = run_scenario(rs, opts, &[], &steps);
    let (bad, doubt) = first_failure(results);
    let Some(bad) = bad else {
        return (None, doubt);
    };
    let (rule, who) = decider(rs, &bad.outcome);
    let mut f = Finding::new(
        codes::LOOPBACK_BLOCKED,
        format!(
            "loopback traffic {}: {} over lo is dropped{} by {who}",
            if doubt.is_some() {
                "may be blocked"
            } else {
                "is blocked"
            },
            bad.what,
            if doubt.is_some() { "?" } else { "" }
        ),
        file,
    )
    .at_rule(rule);
    if let Some(why) = &doubt {
        f.details.push(format!(
            "not certain: {why} (the kernel may decide otherwise)"
        ));
    }
    f.packet = Some(format!("{} ({lo}:45000 ↔ {lo}:5432)", bad.what));
    f.fix = Some("add `-A INPUT -i lo -j ACCEPT` and `-A OUTPUT -o lo -j ACCEPT` at the top of INPUT and OUTPUT".into());
    (Some(f), doubt)
}
