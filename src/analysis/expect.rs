//! Expectations (`--expect FILE`): declarative checks written in TOML, each evaluated by
//! synthesising its traffic through the engine and reported as pass/fail with the deciding rule.
//!
//! ```toml
//! [[expect]]
//! name = "HTTPS is open to everyone"
//! proto = "tcp"          # tcp | udp | icmp
//! from = "anywhere"      # "anywhere" (default), an address, a CIDR, or "host"
//! to = "host"            # "host" (default), an address or a CIDR
//! port = 443             # destination port (tcp, udp)
//! sport = 40000          # source port (optional)
//! traffic = "session"    # session | packet | established | echo   (defaults: tcp session,
//!                        #   udp packet, icmp echo)
//! size = 1200            # payload bytes (udp, icmp)
//! verdict = "accept"     # accept | drop | reject | blocked (drop or reject)
//! ```
//!
//! `session` is a complete TCP session: it counts as accepted when every packet is, otherwise
//! the first packet that is not accepted gives the verdict (a session whose replies cannot
//! leave is a dropped session); `packet` a single packet with no connection behind it (a
//! SYN for TCP, a datagram for UDP: "unsolicited"); `established` traffic both ways of a
//! connection that already exists; `echo` an echo request. For "anywhere" and CIDRs several
//! addresses are tried and all must give the expected verdict.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::synth::{self, Step, Synth};
use super::*;
use crate::packet::tcp_flags as F;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectFile {
    #[serde(default)]
    pub expect: Vec<Expectation>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub name: Option<String>,
    pub proto: String,
    #[serde(default = "anywhere")]
    pub from: String,
    #[serde(default = "host")]
    pub to: String,
    pub port: Option<u16>,
    pub sport: Option<u16>,
    pub traffic: Option<String>,
    pub size: Option<usize>,
    pub verdict: String,
}

fn anywhere() -> String {
    "anywhere".into()
}
fn host() -> String {
    "host".into()
}

/// The result of one expectation.
#[derive(Debug, Clone, Serialize)]
pub struct ExpectResult {
    pub name: String,
    pub passed: bool,
    pub expected: String,
    /// What happened (for the address that decided the outcome).
    pub got: String,
    pub from: Option<IpAddr>,
    pub to: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet: Option<String>,
}

/// A parse error of the expectations file, with its position.
#[derive(Debug, Clone)]
pub struct ExpectError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parse an expectations file; errors carry line and column.
pub fn parse(text: &str) -> Result<Vec<Expectation>, ExpectError> {
    let f: ExpectFile = toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|s| {
                let before = &text[..s.start.min(text.len())];
                (
                    before.matches('\n').count() + 1,
                    before
                        .rsplit('\n')
                        .next()
                        .map(|l| l.chars().count() + 1)
                        .unwrap_or(1),
                )
            })
            .unwrap_or((1, 1));
        ExpectError {
            line,
            column,
            message: e.message().to_string(),
        }
    })?;
    for (i, x) in f.expect.iter().enumerate() {
        validate(x).map_err(|m| ExpectError {
            line: 0,
            column: 0,
            message: format!(
                "expectation #{} ({}): {m}",
                i + 1,
                x.name.clone().unwrap_or_default()
            ),
        })?;
    }
    Ok(f.expect)
}

fn validate(x: &Expectation) -> Result<(), String> {
    if !matches!(x.proto.as_str(), "tcp" | "udp" | "icmp") {
        return Err(format!("proto `{}`: expected tcp, udp or icmp", x.proto));
    }
    if !matches!(x.verdict.as_str(), "accept" | "drop" | "reject" | "blocked") {
        return Err(format!(
            "verdict `{}`: expected accept, drop, reject or blocked",
            x.verdict
        ));
    }
    if x.proto != "icmp" && x.port.is_none() {
        return Err("port is required for tcp and udp".into());
    }
    // An IPv4 packet is at most 65,535 bytes: 20 of IP header and 8 of UDP/ICMP header leave
    // 65,507 for the payload (IPv6's 40-byte header is outside its payload length: more room).
    if let Some(n) = x.size.filter(|&n| n > 65_507) {
        return Err(format!(
            "size {n}: an IP packet is at most 65,535 bytes, so a payload at most 65,507"
        ));
    }
    if let Some(t) = &x.traffic {
        if !matches!(t.as_str(), "session" | "packet" | "established" | "echo") {
            return Err(format!(
                "traffic `{t}`: expected session, packet, established or echo"
            ));
        }
    }
    for side in [&x.from, &x.to] {
        if side != "anywhere" && side != "host" {
            Net::parse(side)?;
        }
    }
    Ok(())
}

/// Addresses one side of an expectation stands for.
fn side(spec: &str, host: IpAddr, v4: bool) -> Vec<IpAddr> {
    match spec {
        "host" => vec![host],
        "anywhere" => outside(v4),
        s => Net::parse(s).map(|n| n.samples()).unwrap_or_default(),
    }
}

fn traffic(
    x: &Expectation,
    from: IpAddr,
    to: IpAddr,
    i: u16,
) -> (Vec<crate::packet::Packet>, Vec<Step>) {
    let mut sy = Synth::default();
    let sport = x.sport.unwrap_or(40_000 + i);
    let port = x.port.unwrap_or(0);
    let kind = x.traffic.clone().unwrap_or_else(|| match x.proto.as_str() {
        "tcp" => "session".into(),
        "udp" => "packet".into(),
        _ => "echo".into(),
    });
    let st = |what: &str, pkt| Step {
        what: what.into(),
        pkt,
    };
    match (x.proto.as_str(), kind.as_str()) {
        ("tcp", "session") => (
            Vec::new(),
            synth::tcp_session(&mut sy, (from, sport), (to, port), "client", "server"),
        ),
        ("tcp", "established") => {
            synth::tcp_established(&mut sy, (from, sport), (to, port), "client", "server")
        }
        ("tcp", _) => (
            Vec::new(),
            vec![st(
                "SYN",
                sy.tcp((from, sport), (to, port), F::SYN, 1, 0, 0),
            )],
        ),
        ("udp", "established") => {
            synth::udp_established(&mut sy, (from, sport), (to, port), "client", "server")
        }
        ("udp", "session") => (
            Vec::new(),
            synth::udp_exchange(&mut sy, (from, sport), (to, port), "client", "server"),
        ),
        ("udp", _) => (
            Vec::new(),
            vec![st(
                "datagram",
                sy.udp((from, sport), (to, port), x.size.unwrap_or(60)),
            )],
        ),
        _ => {
            let (req, _) = synth::echo_types(from.is_ipv6());
            let payload = synth::noise(x.size.unwrap_or(56), 7);
            (
                Vec::new(),
                vec![st("echo request", sy.icmp(from, to, req, 777, 1, payload))],
            )
        }
    }
}

/// Evaluate every expectation.
pub fn evaluate(rs: &Ruleset, opts: &CheckOptions, list: &[Expectation]) -> Vec<ExpectResult> {
    let v4 = rs.family == Family::V4;
    let (host, o) = for_host(rs, opts);
    list.iter()
        .enumerate()
        .map(|(n, x)| {
            let name = x.name.clone().unwrap_or_else(|| {
                format!(
                    "{} {} → {} {} ({})",
                    x.proto,
                    x.from,
                    x.to,
                    x.port.map(|p| p.to_string()).unwrap_or_default(),
                    x.verdict
                )
            });
            let mut result = ExpectResult {
                name,
                passed: true,
                expected: x.verdict.clone(),
                got: String::new(),
                from: None,
                to: None,
                rule: None,
                packet: None,
            };
            // An address of the other family can never meet this ruleset (iptables rules
            // never see IPv6 packets): a failure that says so, not a silent skip.
            let other = [&x.from, &x.to]
                .into_iter()
                .filter_map(|s| Net::parse(s).ok())
                .find(|n| n.addr.is_ipv4() != v4);
            if let Some(n) = other {
                result.passed = false;
                result.got =
                    format!(
                    "not judged: {} is an {} address, and this is an {} ruleset (put it in the \
                     expectations checked against {})",
                    n.addr,
                    if v4 { "IPv6" } else { "IPv4" },
                    if v4 { "iptables (IPv4)" } else { "ip6tables (IPv6)" },
                    if v4 { "the IPv6 rules" } else { "the IPv4 rules" },
                );
                return result;
            }
            'pairs: for (i, from) in side(&x.from, host, v4).into_iter().enumerate() {
                for to in side(&x.to, host, v4) {
                    let (warm, steps) = traffic(x, from, to, (n * 8 + i) as u16);
                    let res = run_scenario(rs, &o, &warm, &steps);
                    // A session is accepted when every packet is; otherwise its first
                    // non-accepted packet tells what happened.
                    let decisive = res.iter().find(|r| !r.passed()).or(res.first());
                    let Some(d) = decisive else { continue };
                    let got = match d.outcome.verdict {
                        Some(v) => v.as_str().to_ascii_lowercase(),
                        None => "not judged".into(),
                    };
                    let ok = match x.verdict.as_str() {
                        "blocked" => got == "drop" || got == "reject",
                        v => got == v,
                    };
                    result.got = got;
                    result.from = Some(from);
                    result.to = Some(to);
                    result.rule = decided_by(rs, &d.outcome);
                    result.packet = Some(super::lockout::describe_packet(d));
                    if !ok {
                        result.passed = false;
                        break 'pairs;
                    }
                }
            }
            result
        })
        .collect()
}
