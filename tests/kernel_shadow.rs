//! FW006/FW007 (a rule shadowed or made redundant by one earlier rule) against the kernel: a
//! rule fwcheck calls redundant takes no packet in the kernel — deleting it, as the finding
//! advises, changes no verdict — and a rule whose deletion changes what the kernel does is
//! never called redundant. The cases are the ones where the same clause on two rules does not
//! test the same thing: a `MARK` (in a called chain) between them, per-rule token buckets and
//! counters (`limit`, `statistic --mode nth`), and `--ctstate DNAT`, which admits every state
//! of a DNATed connection. Needs root, iptables and network namespaces; elsewhere reported
//! ignored.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::{IpAddr, Ipv4Addr};

use fwcheck::analysis::shadow;
use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const FAR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 5);

/// The kernel's verdict for each frame (fwcheck must agree on every certain one).
fn kernel(rules: &str, frames: &[Vec<u8>], router: bool) -> Vec<&'static str> {
    let loaded = load_str("shadow.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec![IpAddr::V4(HOST)],
            tcp_loose: true,
            ..SimEnv::default()
        },
        router,
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}\n{rules}", cmp.render(true));
    cmp.frames.iter().map(|f| f.kernel.unwrap_or("-")).collect()
}

/// The FW006/FW007 findings on `rules`: (code, line).
fn findings(rules: &str) -> Vec<(&'static str, usize)> {
    let loaded = load_str("shadow.rules", rules, ParseOptions::default());
    shadow::check(&loaded.ruleset)
        .iter()
        .map(|f| (f.code, f.line.unwrap_or(0)))
        .collect()
}

/// `rules` without its line `line` (1-based).
fn without(rules: &str, line: usize) -> String {
    rules
        .lines()
        .enumerate()
        .filter(|(i, _)| i + 1 != line)
        .map(|(_, l)| format!("{l}\n"))
        .collect()
}

/// Line `line` of `rules` is not flagged, and the kernel needs it: deleting it changes verdicts.
fn needed(rules: &str, line: usize, frames: &[Vec<u8>], router: bool) {
    let f = findings(rules);
    assert!(
        f.iter().all(|&(_, l)| l != line),
        "line {line} flagged: {f:?}\n{rules}"
    );
    let (with, deleted) = (
        kernel(rules, frames, router),
        kernel(&without(rules, line), frames, router),
    );
    assert_ne!(
        with, deleted,
        "line {line} changes nothing in the kernel\n{rules}"
    );
}

/// Line `line` of `rules` is flagged `code`, and deleting it changes no kernel verdict.
fn redundant(rules: &str, line: usize, code: &str, frames: &[Vec<u8>], router: bool) {
    let f = findings(rules);
    assert!(
        f.iter().any(|&(c, l)| c == code && l == line),
        "{f:?}\n{rules}"
    );
    assert_eq!(
        kernel(rules, frames, router),
        kernel(&without(rules, line), frames, router),
        "{rules}"
    );
}

const HEAD: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n";

fn syn(dport: u16, id: u16) -> Vec<u8> {
    tcp4(CLIENT, HOST, 40000 + dport, dport, 1, 0, SYN, id)
}

/// A mark test repeated after a called chain that sets the mark: the second one takes the SSH
/// SYN (Calico's "host endpoint policy accepted packet" rules have this shape).
fn mark_set_between_identical_rules() {
    let rules = format!(
        "{}:hep - [0:0]\n\
         -A INPUT -m mark --mark 0x10000/0x10000 -j ACCEPT\n\
         -A INPUT -j MARK --set-xmark 0x0/0xf0000\n\
         -A INPUT -j hep\n\
         -A INPUT -m mark --mark 0x10000/0x10000 -j ACCEPT\n\
         -A hep -p tcp -m tcp --dport 22 -j MARK --set-xmark 0x10000/0x10000\nCOMMIT\n",
        HEAD
    );
    let frames = [syn(22, 1), syn(80, 2)];
    needed(&rules, 9, &frames, false);
    // Control: the called chain only logs, nothing sets the mark: the second test is redundant.
    let logs = rules
        .replace("-j MARK --set-xmark 0x0/0xf0000", "-j LOG")
        .replace("-j MARK --set-xmark 0x10000/0x10000", "-j LOG");
    redundant(&logs, 9, "FW007", &frames, false);
}

/// Two identical `limit` rules have a token bucket each, two identical `nth` rules a counter
/// each: the second rule takes what the first let through.
fn identical_stateful_rules_are_not_redundant() {
    let rules = format!(
        "{HEAD}-A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 1/hour --limit-burst 2 -j ACCEPT\n\
         -A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 1/hour --limit-burst 2 -j ACCEPT\n\
         -A INPUT -p udp -m udp --dport 53 -m statistic --mode nth --every 2 --packet 0 -j ACCEPT\n\
         -A INPUT -p udp -m udp --dport 53 -m statistic --mode nth --every 2 --packet 0 -j ACCEPT\nCOMMIT\n"
    );
    let pings: Vec<Vec<u8>> = (1..=6).map(|s| ping4(CLIENT, HOST, false, s)).collect();
    needed(&rules, 6, &pings, false);
    let dns: Vec<Vec<u8>> = (0..4)
        .map(|i| udp4(CLIENT, HOST, 41000 + i, 53, 100 + i, b"q"))
        .collect();
    needed(&rules, 8, &dns, false);
    // Control: a stateless repeat is redundant.
    let plain = format!(
        "{HEAD}-A INPUT -p icmp -m icmp --icmp-type 8 -m length --length 0:100 -j ACCEPT\n\
         -A INPUT -p icmp -m icmp --icmp-type 8 -m length --length 0:100 -j ACCEPT\nCOMMIT\n"
    );
    redundant(&plain, 6, "FW007", &pings, false);
}

/// `--ctstate DNAT` after `--ctstate RELATED,ESTABLISHED`: the first packet of a DNATed
/// connection is NEW, and DNAT; only the second rule takes it (Shorewall writes such rules).
fn ctstate_dnat_admits_new_connections() {
    let to = Ipv4Addr::new(203, 0, 113, 9);
    let rules = format!(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         :POSTROUTING ACCEPT [0:0]\n\
         -A PREROUTING -p udp -m udp --dport 2222 -j DNAT --to-destination {to}:22\nCOMMIT\n\
         {HEAD}-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A FORWARD -m conntrack --ctstate DNAT -j ACCEPT\nCOMMIT\n"
    );
    let frames = [
        udp4(CLIENT, FAR, 40000, 2222, 1, b"x"),
        udp4(CLIENT, FAR, 40001, 2223, 2, b"x"),
    ];
    needed(&rules, 13, &frames, true);
    // Control: every state named, DNAT adds nothing.
    let all = rules.replace(
        "--ctstate RELATED,ESTABLISHED -j",
        "--ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED -j",
    );
    redundant(&all, 13, "FW007", &frames, true);
}

kernel_tests!(
    mark_set_between_identical_rules,
    identical_stateful_rules_are_not_redundant,
    ctstate_dnat_admits_new_connections
);
