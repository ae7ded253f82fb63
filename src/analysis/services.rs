//! Services as a whole conversation, not one packet:
//!
//! * FW011 — a service INPUT opens is dead because its replies are dropped: for every port an
//!   INPUT rule accepts new connections to, a client's whole session (SYN, SYN/ACK, ACK, data
//!   both ways, close; for UDP request and reply) goes through the engine; when the first packet
//!   is accepted by that rule but the host's answer is dropped on the way out, the service can
//!   never answer anyone.
//! * FW014 — ICMP errors about the host's own connections are dropped: a working connection,
//!   then a router's fragmentation-needed (IPv6: packet-too-big) quoting the host's data packet.
//!   Conntrack labels it RELATED; a ruleset that accepts ESTABLISHED but not RELATED (and no
//!   ICMP errors) drops it: path MTU discovery fails (a PMTU black hole), and port or host
//!   unreachable errors are lost with it.
//!
//! * FW020 — FTP works but its passive data connections are dropped: a whole passive session
//!   (login greeting, PASV and its 227 reply; EPSV/229 over IPv6) on the FTP port INPUT opens,
//!   then the client's SYN to the port the reply announced. Without the ftp conntrack helper
//!   (`CT --helper ftp` in the raw table) that SYN is NEW; with it RELATED (see
//!   `conntrack::helper`); a ruleset that opens neither drops it.
//!
//! Fixes are verified as FW001's are: the proposed rule is inserted into a copy of the ruleset,
//! before the rule or policy that dropped the packet, and the scenario is run again; only a fix
//! after which it passes is offered as verified.

use std::net::IpAddr;

use super::lockout::{describe_packet, insertion_point, with_rule};
use super::synth::{self, Step, Synth};
use super::*;
use crate::diag::codes;
use crate::engine::{CtLabel, Decision, Direction};
use crate::packet::{tcp_flags as F, Side};
use crate::ruleset::printer::rule_text;
use crate::ruleset::{Action, Rule, TableKind};

/// Destination ports a rule accepts (first port of each range; at most 8).
pub(crate) fn dports(r: &Rule) -> Vec<u16> {
    let mut v = Vec::new();
    for m in r.matches.iter() {
        let f = m.module.facets();
        for set in [f.dport, f.either_port].into_iter().flatten() {
            if !set.invert {
                v.extend(set.ranges.iter().map(|r| r.0));
            }
        }
    }
    v.dedup();
    v.truncate(8);
    v
}

/// An address inside a rule's (non-inverted) address match: the address of a host match, the
/// first host of a network.
pub(crate) fn addr_in(a: &AddrMask) -> IpAddr {
    match a.prefix_len() {
        Some(32) | Some(128) => a.addr(),
        Some(0) | None => a.addr(),
        Some(_) => from_bits(a.addr().is_ipv4(), bits(a.addr()) + 1),
    }
}

/// Where to insert `body` so it is tried before what dropped `failed`, as text, and the ruleset
/// with it inserted.
pub(crate) fn insert_before(
    rs: &Ruleset,
    current: &Ruleset,
    d: &Decision,
    body: &str,
) -> Option<(String, Ruleset)> {
    let at = insertion_point(current, d)?;
    let next = with_rule(current, at, body)?;
    let t = current.table(at.0)?;
    let chain = &t.chains[at.1];
    let tflag = if at.0 == TableKind::Filter {
        String::new()
    } else {
        format!(" -t {}", at.0)
    };
    let text = rule_text(&chain.name, &next.table(at.0)?.chains[at.1].rules[at.2]);
    let program = rs.family.program();
    let place = match chain.rules.get(at.2) {
        Some(r) => format!(
            "before line {} (rule #{} of {} {}), i.e. `{program}{tflag} -I {} {} {body}`",
            rs.line_of(r.span),
            at.2 + 1,
            at.0,
            chain.name,
            chain.name,
            at.2 + 1,
        ),
        None => format!(
            "at the end of {} {}, before its policy, i.e. `{program}{tflag} -A {} {body}`",
            at.0, chain.name, chain.name,
        ),
    };
    Some((format!("add `{text}` {place}"), next))
}

/// Insert `body` before whatever drops the first failing step, rerun, repeat (at most 3
/// times). The insertions as text, and whether the scenario then passes.
pub(crate) fn fix_by_insertion(
    rs: &Ruleset,
    first: &StepResult,
    body: &str,
    rerun: impl Fn(&Ruleset) -> Option<StepResult>,
) -> Option<(Vec<String>, bool)> {
    let mut current = rs.clone();
    let mut failing = first.clone();
    let mut steps = Vec::new();
    for _ in 0..3 {
        let d = failing.outcome.decision?;
        let (text, next) = insert_before(rs, &current, &d, body)?;
        steps.push(text);
        current = next;
        match rerun(&current) {
            None => return Some((steps, true)),
            Some(f) => failing = f,
        }
    }
    Some((steps, false))
}

/// A client session to `host:port`: TCP (handshake, data both ways, close) or a UDP exchange.
fn session(client: IpAddr, host: IpAddr, proto: u8, port: u16) -> Vec<Step> {
    let mut sy = Synth::default();
    if proto == 6 {
        synth::tcp_session(&mut sy, (client, 41_000), (host, port), "client", "host")
    } else {
        synth::udp_exchange(&mut sy, (client, 41_000), (host, port), "client", "host")
    }
}

/// At most this many services are checked for FW011 (each is a session through the engine).
const MAX_SERVICES: usize = 64;

/// A working connection FW014 can test ICMP errors with.
struct Working {
    client: IpAddr,
    host: IpAddr,
    proto: u8,
    port: u16,
}

pub fn check(rs: &Ruleset, opts: &CheckOptions) -> Vec<Finding> {
    let family = rs.family;
    let v4 = family == Family::V4;
    let (host, o) = for_host(rs, opts);
    let file = rs.source.name.clone();
    let mut out = Vec::new();
    let mut working: Option<Working> = None;
    let mut seen: Vec<(u8, u16)> = Vec::new();
    let mut tried = 0usize;
    // Past the bound: not checked, named in a note (sorted, each once).
    let mut left_out: std::collections::BTreeSet<(u8, u16)> = Default::default();
    let mut layout: Option<crate::engine::SlotLayout> = None;
    let mut ftp: Option<(IpAddr, IpAddr, CheckOptions)> = None;

    // FW011: services whose answers never leave.
    if let Some(t) = rs.table(TableKind::Filter) {
        if let Some(ci) = t.chains.iter().position(|c| c.name == "INPUT") {
            for (ri, r) in t.chains[ci].rules.iter().enumerate() {
                if !matches!(r.action, Action::Accept) || r.iniface.is_some() {
                    continue;
                }
                let Some((proto @ (6 | 17), false)) = r.proto else {
                    continue;
                };
                let client = match &r.src {
                    Some((a, false)) if a.addr().is_ipv4() == v4 => addr_in(a),
                    Some(_) => continue,
                    None => outside(v4)[0],
                };
                let mut oo = o.clone();
                let h = match &r.dst {
                    Some((a, false)) if a.prefix_len() == Some(if v4 { 32 } else { 128 }) => {
                        if !oo.env.hosts.contains(&a.addr()) {
                            oo.env.hosts.push(a.addr());
                        }
                        a.addr()
                    }
                    Some(_) => continue,
                    None => host,
                };
                for port in dports(r) {
                    if seen.contains(&(proto, port)) {
                        continue;
                    }
                    if tried >= MAX_SERVICES {
                        left_out.insert((proto, port));
                        continue;
                    }
                    tried += 1;
                    let steps = session(client, h, proto, port);
                    // One slot layout for the many sessions run over `rs`.
                    let l = layout.get_or_insert_with(|| crate::engine::slot_layout(rs));
                    let res = run_scenario_with(rs, &oo, &steps, Some(l));
                    let opened = res[0].passed()
                        && res[0].outcome.decision
                            == Some(Decision::Rule(crate::engine::RuleRef {
                                table: TableKind::Filter,
                                chain: ci,
                                rule: ri,
                            }));
                    if !opened {
                        continue;
                    }
                    seen.push((proto, port));
                    let Some(bad) = res.iter().find(|s| !s.passed()) else {
                        if proto == 6 && port == 21 && ftp.is_none() {
                            ftp = Some((client, h, oo.clone()));
                        }
                        if working.is_none() {
                            working = Some(Working {
                                client,
                                host: h,
                                proto,
                                port,
                            });
                        }
                        continue;
                    };
                    // The answer dies on the way out; a management port is FW001's business.
                    let svc = Service { proto, port };
                    if bad.outcome.direction != Direction::Out || opts.mgmt.contains(&svc) {
                        continue;
                    }
                    out.push(dead_service(rs, &oo, &file, (ci, ri), svc, client, h, bad));
                }
            }
        }
    }
    // A port tried and not opened by its rule may be opened by a later one past the bound.
    left_out.retain(|p| !seen.contains(p));
    if !left_out.is_empty() {
        let left: Vec<(u8, u16)> = left_out.into_iter().collect();
        out.push(super::ports_left_out(
            codes::DEAD_SERVICE,
            format!(
                "only the first {MAX_SERVICES} ports INPUT accepts (in rule order) were checked \
                 for answers that never leave: {} more were not",
                left.len()
            ),
            &left,
            &file,
            "check the ports not checked with an `--expect` file (`[[expect]]` entries with \
             `proto`, `port` and `verdict = \"accept\"`: a whole session, by default)",
        ));
    }

    // FW020: FTP's passive data connections.
    if let Some((client, h, oo)) = &ftp {
        out.extend(ftp_data(rs, oo, &file, *client, *h));
    }

    // FW014: ICMP errors about the host's connections.
    if working.is_none() {
        // The management session, if it works.
        for svc in opts.mgmt.iter().filter(|s| s.proto == 6) {
            let client = outside(v4)[0];
            let steps = session(client, host, 6, svc.port);
            if run_scenario(rs, &o, &[], &steps).iter().all(|s| s.passed()) {
                working = Some(Working {
                    client,
                    host,
                    proto: 6,
                    port: svc.port,
                });
                break;
            }
        }
    }
    if let Some(w) = working {
        let mut oo = o.clone();
        if !oo.env.hosts.contains(&w.host) {
            oo.env.hosts.push(w.host);
        }
        if let Some(f) = pmtu(rs, &oo, &file, &w) {
            out.push(f);
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn dead_service(
    rs: &Ruleset,
    o: &CheckOptions,
    file: &str,
    (ci, ri): (usize, usize),
    svc: Service,
    client: IpAddr,
    host: IpAddr,
    bad: &StepResult,
) -> Finding {
    let opener = crate::engine::describe::rule_info(
        rs,
        &Decision::Rule(crate::engine::RuleRef {
            table: TableKind::Filter,
            chain: ci,
            rule: ri,
        }),
    );
    let killer = decided_by(rs, &bad.outcome);
    let open_line = opener.as_ref().and_then(|r| r.line).unwrap_or(0);
    let who = killer
        .as_ref()
        .map(|r| r.short())
        .unwrap_or_else(|| "the IP stack".into());
    let mut f = Finding::new(
        codes::DEAD_SERVICE,
        format!(
            "dead service: {} is accepted by line {open_line} but can never answer: {} is {} by {who}",
            svc.name(),
            describe_packet(bad),
            bad.outcome.verdict.map(|v| v.as_str()).unwrap_or("not judged"),
        ),
        file,
    )
    .at_rule(opener.clone());
    f.packet = Some(describe_packet(bad));
    if let Some(r) = &opener {
        f.details.push(format!(
            "opened by line {open_line}: {}",
            r.text.clone().unwrap_or_default()
        ));
    }
    if let Some(k) = &killer {
        f.details.push(format!(
            "reply dropped by {}{}",
            k.short(),
            k.text
                .as_ref()
                .map(|t| format!(": {t}"))
                .unwrap_or_default()
        ));
    }
    f.details.push(format!(
        "checked with a {} session from {client} to {host}:{}",
        if svc.proto == 6 { "TCP" } else { "UDP" },
        svc.port,
    ));
    let rerun = |cand: &Ruleset| {
        run_scenario(cand, o, &[], &session(client, host, svc.proto, svc.port))
            .into_iter()
            .find(|s| !s.passed())
    };
    if let Some((steps, ok)) = fix_by_insertion(
        rs,
        bad,
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        rerun,
    ) {
        f.fix = Some(format!(
            "{}{}",
            steps.join("; then "),
            if ok {
                format!(
                    " (verified: with this, a whole {} session passes)",
                    svc.name()
                )
            } else {
                " (partial: the session still fails after these rules)".into()
            }
        ));
    }
    f
}

/// The packets of FW014's scenario: a working session up to the host's data, then the router's
/// error quoting that data packet.
fn pmtu_steps(w: &Working, v4: bool) -> Vec<Step> {
    let mut steps = session(w.client, w.host, w.proto, w.port);
    // TCP: SYN, SYN/ACK, ACK, data in, data out. UDP: request, reply.
    let upto = if w.proto == 6 { 5 } else { 2 };
    steps.truncate(upto);
    let quoted = steps[upto - 1].pkt.clone();
    let mut sy = Synth::at(quoted.ts.0);
    sy.frame = quoted.frame;
    let router: IpAddr = if v4 {
        "192.0.2.1".parse().expect("a")
    } else {
        "2001:db8:ffff::1".parse().expect("a")
    };
    let (t, c, what) = if v4 {
        (3, 4, "fragmentation-needed (mtu 1400)")
    } else {
        (2, 0, "packet-too-big (mtu 1280)")
    };
    let mtu = if v4 { 1400 } else { 1280 };
    steps.push(Step {
        what: format!("ICMP {what} from a router about the host's reply"),
        pkt: sy.icmp_error(router, t, c, mtu, &quoted),
    });
    steps
}

/// A scenario whose last step alone fails: that step, the rule that decided it, and how to
/// name what did (FW014, FW020).
fn only_last_fails(
    rs: &Ruleset,
    o: &CheckOptions,
    steps: &[Step],
) -> Option<(
    StepResult,
    Option<crate::engine::describe::RuleInfo>,
    String,
)> {
    let mut res = run_scenario(rs, o, &[], steps);
    let last = res.pop()?;
    if !res.iter().all(|s| s.passed()) || last.passed() {
        return None;
    }
    let rule = decided_by(rs, &last.outcome);
    let who = rule
        .as_ref()
        .map(|r| r.short())
        .unwrap_or_else(|| "the IP stack".into());
    Some((last, rule, who))
}

fn pmtu(rs: &Ruleset, o: &CheckOptions, file: &str, w: &Working) -> Option<Finding> {
    let v4 = rs.family == Family::V4;
    let steps = pmtu_steps(w, v4);
    let (last, rule, who) = only_last_fails(rs, o, &steps)?;
    let last = &last;
    if last.outcome.ctstate != Some(CtLabel::Related) {
        return None;
    }
    let svc = Service {
        proto: w.proto,
        port: w.port,
    };
    let mut f = Finding::new(
        codes::ICMP_ERRORS_DROPPED,
        format!(
            "ICMP errors about the host's own connections are dropped: an {} (RELATED to the {} connection the ruleset accepts) is {} by {who}; path MTU discovery fails (large answers stall: a PMTU black hole) and unreachable errors are lost too",
            if v4 { "ICMP fragmentation-needed" } else { "ICMPv6 packet-too-big" },
            svc.name(),
            last.outcome.verdict.map(|v| v.as_str()).unwrap_or("not judged"),
        ),
        file,
    )
    .at_rule(rule);
    f.packet = Some(describe_packet(last));
    f.details.push(format!(
        "checked with a {} session {} → {} and an error from a router quoting the host's data packet",
        svc.name(),
        w.client,
        w.host
    ));
    let body = if v4 {
        "-p icmp -m conntrack --ctstate RELATED -j ACCEPT"
    } else {
        "-p ipv6-icmp -m conntrack --ctstate RELATED -j ACCEPT"
    };
    let rerun = |cand: &Ruleset| {
        run_scenario(cand, o, &[], &steps)
            .into_iter()
            .find(|s| !s.passed())
    };
    if let Some((steps, ok)) = fix_by_insertion(rs, last, body, rerun) {
        f.fix = Some(format!(
            "{}{}",
            steps.join("; then "),
            if ok {
                " (verified: with this, the error reaches the host; or add RELATED to the rule that accepts ESTABLISHED)"
            } else {
                " (partial: the error is still dropped after these rules)"
            }
        ));
    }
    Some(f)
}

/// FW014's scenario for one connection, for tests: the session's packets and the error.
pub fn pmtu_scenario(client: IpAddr, host: IpAddr, proto: u8, port: u16) -> Vec<Step> {
    pmtu_steps(
        &Working {
            client,
            host,
            proto,
            port,
        },
        host.is_ipv4(),
    )
}

/// The data port a passive reply announces in FW020's scenario.
const FTP_DATA_PORT: u16 = 50_000;

/// FW020's scenario: a passive FTP session up to the reply announcing the data port (227, or
/// 229 over IPv6), then the client's SYN to that port.
pub fn ftp_passive_scenario(client: IpAddr, host: IpAddr) -> Vec<Step> {
    let mut sy = Synth::default();
    let (c, h) = ((client, 41_000), (host, 21));
    // The session's handshake; the rest of its packets are not sent (their frame numbers and
    // times stay used, as they always were).
    let mut steps = synth::tcp_session(&mut sy, c, h, "client", "host");
    steps.truncate(3);
    let mut cv = Synth::conversation(c, h, 1_000, 5_000);
    cv.handshake();
    let greet = b"220 FTP server ready\r\n";
    let pasv: &[u8] = if host.is_ipv4() {
        b"PASV\r\n"
    } else {
        b"EPSV\r\n"
    };
    let reply = match host {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!(
                "227 Entering Passive Mode ({},{},{},{},{},{}).\r\n",
                o[0],
                o[1],
                o[2],
                o[3],
                FTP_DATA_PORT >> 8,
                FTP_DATA_PORT & 0xff
            )
        }
        IpAddr::V6(_) => format!("229 Entering Extended Passive Mode (|||{FTP_DATA_PORT}|)\r\n"),
    };
    steps.push(Step {
        what: "the host's greeting (220)".into(),
        pkt: sy.packet(cv.send_payload(Side::Server, F::PSH | F::ACK, greet)),
    });
    steps.push(Step {
        what: format!("the client's {}", String::from_utf8_lossy(&pasv[..4])),
        pkt: sy.packet(cv.send_payload(Side::Client, F::PSH | F::ACK, pasv)),
    });
    steps.push(Step {
        what: format!("the host's reply announcing port {FTP_DATA_PORT}"),
        pkt: sy.packet(cv.send_payload(Side::Server, F::PSH | F::ACK, reply.as_bytes())),
    });
    steps.push(Step {
        what: format!("the client's data connection (SYN to port {FTP_DATA_PORT})"),
        pkt: sy.tcp((client, 41_001), (host, FTP_DATA_PORT), F::SYN, 9_000, 0, 0),
    });
    steps
}

/// `rs` with `-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp` in the raw table
/// (created if absent), as text through the parser; `None` if that does not load.
fn with_ftp_helper(rs: &Ruleset) -> Option<Ruleset> {
    let text = crate::ruleset::printer::print_ruleset(rs, Default::default());
    let line = "-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp\n";
    let text = match text.find("*raw\n") {
        Some(at) => {
            let commit = at + text[at..].find("COMMIT\n")?;
            format!("{}{line}{}", &text[..commit], &text[commit..])
        }
        None => {
            format!("{text}*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{line}COMMIT\n")
        }
    };
    let parsed = crate::ruleset::parse_str(
        &rs.source.name,
        &text,
        crate::ruleset::ParseOptions {
            family: rs.family,
            format: crate::ruleset::InputFormat::Restore,
            backend: rs.backend,
            ipsets: None,
        },
    );
    let errors = parsed
        .diagnostics
        .iter()
        .any(|d| d.severity == crate::diag::Severity::Error);
    (!errors).then_some(parsed.ruleset)
}

/// FW020 for an FTP service whose control session works.
fn ftp_data(
    rs: &Ruleset,
    o: &CheckOptions,
    file: &str,
    client: IpAddr,
    host: IpAddr,
) -> Option<Finding> {
    let steps = ftp_passive_scenario(client, host);
    let (last, rule, who) = only_last_fails(rs, o, &steps)?;
    let last = &last;
    let related = last.outcome.ctstate == Some(CtLabel::Related);
    let mut f = Finding::new(
        codes::FTP_DATA_BLOCKED,
        format!(
            "passive FTP cannot work: the data connection a {} reply announces ({}) is {} and {} by {who}{}",
            if host.is_ipv4() { "227" } else { "229" },
            describe_packet(last),
            if related { "RELATED" } else { "NEW" },
            match last.outcome.verdict {
                Some(crate::engine::Verdict::Reject) => "rejected",
                _ => "dropped",
            },
            if related {
                ""
            } else {
                ": no ftp conntrack helper is attached to the control connection"
            },
        ),
        file,
    )
    .at_rule(rule);
    f.packet = Some(describe_packet(last));
    f.details.push(format!(
        "checked with a passive session {client} → {host}:21 (greeting, {}, the reply) and the data connection's SYN",
        if host.is_ipv4() { "PASV" } else { "EPSV" }
    ));
    let rerun = |cand: &Ruleset| {
        run_scenario(cand, o, &[], &steps)
            .into_iter()
            .find(|s| !s.passed())
    };
    let mut fix: Vec<String> = Vec::new();
    let mut current = rs.clone();
    let mut failing = Some(last.clone());
    if !related {
        if let Some(cand) = with_ftp_helper(rs) {
            fix.push(format!(
                "attach the helper: `{} -t raw -A PREROUTING -p tcp --dport 21 -j CT --helper ftp`",
                rs.family.program()
            ));
            failing = rerun(&cand);
            current = cand;
        }
    }
    let ok = match &failing {
        None => true,
        Some(fl) => match fix_by_insertion(
            &current,
            fl,
            "-m conntrack --ctstate RELATED -m helper --helper ftp -j ACCEPT",
            rerun,
        ) {
            Some((more, ok)) => {
                fix.extend(more);
                ok
            }
            None => false,
        },
    };
    if !fix.is_empty() {
        f.fix = Some(format!(
            "{}{}",
            fix.join("; then "),
            if ok {
                " (verified: with this, the passive session's data connection is RELATED and accepted)"
            } else {
                " (partial: the data connection is still dropped after these changes)"
            }
        ));
    }
    Some(f)
}

/// FW011's scenario for one service, for tests.
pub fn service_scenario(client: IpAddr, host: IpAddr, proto: u8, port: u16) -> Vec<Step> {
    session(client, host, proto, port)
}
