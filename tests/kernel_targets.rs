//! Targets whose outcome depends on what the capture cannot show, against the kernel:
//! `TPROXY` (a transparent socket takes the packet, or NF_DROP) and `SYNPROXY` (a SYN is
//! answered with a cookie and consumed; an ACK is consumed, opening the connection to the
//! server only with a valid cookie). The oracle's namespace has no transparent socket and
//! fwcheck cannot forge a cookie: the kernel's verdicts are the ones fwcheck takes (TPROXY's
//! DROP and SYNPROXY's ACK uncertain, SYNPROXY's SYN certain), and the alternative fwcheck
//! computes for TPROXY is the marked ACCEPT.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::{compare, Comparison};
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use fwcheck::trace::trace_packets;
use oracle_common::*;

fn run(rules: &str, frames: &[Vec<u8>], loose: bool) -> (Comparison, Vec<String>) {
    let loaded = load_str("targets.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: host(),
            tcp_loose: loose,
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let packets: Vec<_> = decoded(frames).into_iter().map(|p| p.unwrap()).collect();
    let traced = trace_packets(&loaded.ruleset, sim.clone(), packets);
    let alts = traced
        .iter()
        .map(|t| {
            t.record
                .alternatives
                .iter()
                .map(|a| a.verdict.unwrap_or("-"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    let cmp = compare(&loaded, decoded(frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    (cmp, alts)
}

/// What the kernel did, whether fwcheck was certain, and fwcheck's verdict, per frame.
fn summary(cmp: &Comparison) -> Vec<(&'static str, bool, &'static str)> {
    cmp.frames
        .iter()
        .map(|f| {
            (
                f.kernel.unwrap_or("-"),
                f.fwcheck_certain,
                f.fwcheck.unwrap_or("-"),
            )
        })
        .collect()
}

fn tproxy_without_a_transparent_socket_drops() {
    let rules = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
        :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -p tcp -m tcp --dport 80 -j TPROXY --on-port 3128 --on-ip 0.0.0.0 \
        --tproxy-mark 0x1/0x1\nCOMMIT\n\
        *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let frames = vec![
        tcp4(CLIENT, HOST, 40000, 80, 1, 0, SYN, 1),
        tcp4(CLIENT, HOST, 40001, 22, 1, 0, SYN, 2),
    ];
    let (cmp, alts) = run(rules, &frames, true);
    assert_eq!(
        summary(&cmp),
        [("DROP", false, "DROP"), ("ACCEPT", true, "ACCEPT")],
        "{}",
        cmp.render(false)
    );
    assert!(
        cmp.frames[0]
            .fwcheck_reason
            .as_deref()
            .is_some_and(|r| r.contains("transparent socket")),
        "{:?}",
        cmp.frames[0]
    );
    // Had a transparent socket taken it: accepted.
    assert_eq!(alts, ["ACCEPT", ""]);
}

fn synproxy_consumes_syns_and_acks() {
    let rules = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A PREROUTING -p tcp -m tcp --dport 80 --tcp-flags FIN,SYN,RST,ACK SYN -j CT --notrack\n\
        COMMIT\n\
        *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A INPUT -p tcp -m tcp --dport 80 -m conntrack --ctstate INVALID,UNTRACKED \
        -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460\n\
        -A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";
    let frames = vec![
        // Answered with a cookie, consumed.
        tcp4(CLIENT, HOST, 40000, 80, 1000, 0, SYN, 1),
        // An ACK with no valid cookie: dropped (with one: consumed all the same).
        tcp4(CLIENT, HOST, 40000, 80, 1001, 777, ACK, 2),
        // A FIN goes on to the next rule: INVALID, dropped — uncertain, as the connection may
        // exist had the ACK carried a valid cookie.
        tcp4(CLIENT, HOST, 40000, 80, 1001, 777, FIN | ACK, 3),
        // Another port: no SYNPROXY.
        tcp4(CLIENT, HOST, 40001, 22, 1, 0, SYN, 4),
    ];
    let (cmp, alts) = run(rules, &frames, false);
    assert_eq!(
        summary(&cmp),
        [
            ("DROP", true, "DROP"),
            ("DROP", false, "DROP"),
            ("DROP", false, "DROP"),
            ("ACCEPT", true, "ACCEPT"),
        ],
        "{}",
        cmp.render(false)
    );
    assert_eq!(alts, ["", "DROP", "DROP", ""]);
}

kernel_tests!(
    tproxy_without_a_transparent_socket_drops,
    synproxy_consumes_syns_and_acks
);
