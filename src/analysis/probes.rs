//! Exposure probes: synthetic packets that ask the ruleset pointed questions.
//!
//! * FW002 — does an ICMP tunnel pass? A 1200-byte high-entropy echo request from outside, and
//!   the host's echo reply carrying it back.
//! * FW003 — is unsolicited inbound traffic accepted by a rule that looks like a reply rule (it
//!   matches a source port such as `--sport 53` without a state check)?
//! * FW004 — are INVALID packets accepted (impossible flag combinations, a SYN/ACK or ACK of no
//!   connection)?
//! * FW005 — may the host open new connections to arbitrary destinations, and on which ports?

use std::net::IpAddr;

use super::synth::{self, Step, Synth};
use super::*;
use crate::diag::codes;
use crate::engine::CtLabel;
use crate::packet::tcp_flags as F;
use crate::ruleset::Rule;

fn step(what: impl Into<String>, pkt: crate::packet::Packet) -> Step {
    Step {
        what: what.into(),
        pkt,
    }
}

/// Does the deciding rule look like a reply rule: a source-port match and no state check?
fn reply_like(rule: &Rule) -> bool {
    let mut sport = false;
    let mut state = false;
    for m in rule.matches.iter() {
        let f = m.module.facets();
        sport |= f.sport.is_some() || f.either_port.is_some();
        state |= f.reads_conntrack;
    }
    sport && !state
}

fn rule_of<'a>(rs: &'a Ruleset, o: &Outcome) -> Option<&'a Rule> {
    match o.decision? {
        crate::engine::Decision::Rule(r) => {
            rs.table(r.table).map(|t| &t.chains[r.chain].rules[r.rule])
        }
        _ => None,
    }
}

pub fn check(rs: &Ruleset, opts: &CheckOptions) -> Vec<Finding> {
    let family = rs.family;
    let v4 = family == Family::V4;
    let (host, o) = for_host(rs, opts);
    let file = rs.source.name.clone();
    let ext: IpAddr = outside(v4)[0];
    let mut out = Vec::new();

    // FW002: ICMP tunnel.
    let (req, rep) = synth::echo_types(!v4);
    let mut sy = Synth::default();
    let payload = synth::noise(1200, 0x5eed);
    let steps = vec![
        step(
            "1200-byte high-entropy echo request from outside",
            sy.icmp(ext, host, req, 4242, 1, payload.clone()),
        ),
        step(
            "the host's echo reply carrying it back",
            sy.icmp(host, ext, rep, 4242, 1, payload),
        ),
    ];
    let r = run_scenario(rs, &o, &[], &steps);
    if r.iter().all(|s| s.passed()) {
        let inbound = decided_by(rs, &r[0].outcome);
        let outbound = decided_by(rs, &r[1].outcome);
        let by_rule = inbound.as_ref().is_some_and(|i| i.number.is_some());
        let mut f = Finding::new(
            codes::ICMP_TUNNEL,
            format!(
                "ICMP tunnel exposure: a 1200-byte high-entropy echo request is accepted inbound ({}) and its reply outbound ({})",
                inbound.as_ref().map(|r| r.short()).unwrap_or_else(|| "no table filters it".into()),
                outbound.as_ref().map(|r| r.short()).unwrap_or_else(|| "no table filters it".into())
            ),
            &file,
        )
        .at_rule(inbound);
        f.packet = Some(format!(
            "echo request {ext} → {host}, 1200 bytes of random payload"
        ));
        let (p, t) = if v4 {
            ("icmp", "icmp-type")
        } else {
            ("ipv6-icmp", "icmpv6-type")
        };
        let limited = format!(
            "-A INPUT -p {p} -m {p} --{t} {req} -m length --length 0:128 -m limit --limit 5/second -j ACCEPT"
        );
        // A rule accepts them: replace it. A policy (or no table at all) does: the limited
        // rule alone changes nothing, the rest must be dropped after it.
        f.fix = Some(if by_rule {
            format!(
                "limit echo requests by size and rate, e.g. `{limited}` in place of the unrestricted rule"
            )
        } else {
            format!(
                "limit echo requests by size and rate, e.g. `{limited}` followed by `-A INPUT -p {p} -m {p} --{t} {req} -j DROP` (nothing refuses them now)"
            )
        });
        out.push(f);
    }

    // FW003: unsolicited "replies".
    let mut sy = Synth::default();
    let probes = vec![
        step(
            "unsolicited UDP from port 53 (no query was sent)",
            sy.udp((ext, 53), (host, 33_333), 80),
        ),
        step(
            "unsolicited UDP from port 123",
            sy.udp((ext, 123), (host, 33_334), 48),
        ),
        step(
            "unsolicited TCP SYN from port 80",
            sy.tcp((ext, 80), (host, 40_100), F::SYN, 1, 0, 0),
        ),
        step(
            "unsolicited TCP SYN from port 443",
            sy.tcp((ext, 443), (host, 40_101), F::SYN, 1, 0, 0),
        ),
        step(
            "unsolicited TCP SYN from port 20 (ftp-data)",
            sy.tcp((ext, 20), (host, 40_102), F::SYN, 1, 0, 0),
        ),
    ];
    for s in probes {
        let r = run_scenario(rs, &o, &[], std::slice::from_ref(&s));
        let res = &r[0];
        let fresh = matches!(
            res.outcome.ctstate,
            Some(CtLabel::New) | Some(CtLabel::Invalid) | None
        );
        if res.passed() && fresh && rule_of(rs, &res.outcome).is_some_and(reply_like) {
            let info = decided_by(rs, &res.outcome);
            let mut f = Finding::new(
                    codes::UNSOLICITED_INBOUND,
                    format!("unsolicited inbound accepted: {} is accepted as {} by {}, which matches a source port without a state check", s.what, res.outcome.ctstate.map(|c| c.as_str()).unwrap_or("untracked"), info.as_ref().map(|i| i.short()).unwrap_or_default()),
                    &file,
                )
                .at_rule(info.clone());
            f.packet = Some(super::lockout::describe_packet(res));
            if let Some(i) = &info {
                f.fix = Some(format!(
                    "add `-m conntrack --ctstate ESTABLISHED` to {} (line {})",
                    i.text.clone().unwrap_or_default(),
                    i.line.unwrap_or(0)
                ));
            }
            out.push(f);
        }
    }

    // FW004: INVALID accepted.
    let mut sy = Synth::default();
    let probes = vec![
        step(
            "XMAS scan probe (FIN,PSH,URG)",
            sy.tcp((ext, 41_000), (host, 22), F::FIN | F::PSH | F::URG, 1, 0, 0),
        ),
        step(
            "NULL scan probe (no flags)",
            sy.tcp((ext, 41_001), (host, 22), 0, 1, 0, 0),
        ),
        step(
            "SYN+FIN probe",
            sy.tcp((ext, 41_002), (host, 22), F::SYN | F::FIN, 1, 0, 0),
        ),
        step(
            "SYN/ACK of no connection",
            sy.tcp((ext, 443), (host, 41_003), F::SYN | F::ACK, 1, 77, 0),
        ),
    ];
    let mut accepted = Vec::new();
    for s in probes {
        let r = run_scenario(rs, &o, &[], std::slice::from_ref(&s));
        let res = r.into_iter().next().expect("one step");
        if res.passed() && res.outcome.ctstate.is_none_or(|c| c == CtLabel::Invalid) {
            accepted.push(res);
        }
    }
    if let Some(first) = accepted.first() {
        let info = decided_by(rs, &first.outcome);
        let conntrack = first.outcome.ctstate.is_some();
        let mut f = Finding::new(
            codes::INVALID_ACCEPTED,
            format!(
                "INVALID packets accepted: {} accepted by {}",
                accepted
                    .iter()
                    .map(|a| a.what.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                info.as_ref()
                    .map(|i| i.short())
                    .unwrap_or_else(|| "no rule".into())
            ),
            &file,
        )
        .at_rule(info);
        f.packet = Some(super::lockout::describe_packet(first));
        f.fix = Some(if conntrack {
            "add `-A INPUT -m conntrack --ctstate INVALID -j DROP` at the top of INPUT".into()
        } else {
            "the ruleset does not track connections; add `-A INPUT -m conntrack --ctstate INVALID -j DROP` at the top of INPUT (and accept RELATED,ESTABLISHED next)".into()
        });
        out.push(f);
    }

    // FW005: outbound exposure.
    let dest: IpAddr = outside(v4)[1];
    let tcp_ports: [u16; 11] = [22, 25, 53, 80, 443, 587, 3389, 4444, 6667, 8080, 31337];
    let udp_ports: [u16; 5] = [53, 123, 443, 1194, 51820];
    let mut open = Vec::new();
    for (i, p) in tcp_ports.iter().enumerate() {
        let mut sy = Synth::default();
        let s = step(
            format!("tcp/{p}"),
            sy.tcp((host, 45_000 + i as u16), (dest, *p), F::SYN, 1, 0, 0),
        );
        if run_scenario(rs, &o, &[], std::slice::from_ref(&s))[0].passed() {
            open.push(s.what);
        }
    }
    for (i, p) in udp_ports.iter().enumerate() {
        let mut sy = Synth::default();
        let s = step(
            format!("udp/{p}"),
            sy.udp((host, 46_000 + i as u16), (dest, *p), 40),
        );
        if run_scenario(rs, &o, &[], std::slice::from_ref(&s))[0].passed() {
            open.push(s.what);
        }
    }
    if !open.is_empty() {
        let all = open.len() == tcp_ports.len() + udp_ports.len();
        let mut f = Finding::new(
            codes::OUTBOUND_EXPOSURE,
            if all {
                format!("outbound exposure: the host may open new connections to any address on any port tried ({})", open.join(", "))
            } else {
                format!(
                    "outbound exposure: the host may open new connections to any address on {}",
                    open.join(", ")
                )
            },
            &file,
        );
        f.packet = Some(format!("new connections from {host} to {dest}"));
        out.push(f);
    }
    out
}
