//! Targets whose outcome depends on what the capture cannot show, against the kernel:
//! `TPROXY` (a transparent socket takes the packet, or NF_DROP) and `SYNPROXY` (a SYN is
//! answered with a cookie and consumed; an ACK is consumed, opening the connection to the
//! server only with a valid cookie). The oracle's namespace has no transparent socket and
//! fwcheck cannot forge a cookie: the kernel's verdicts are the ones fwcheck takes (TPROXY's
//! DROP and SYNPROXY's ACK uncertain, SYNPROXY's SYN certain), and the alternative fwcheck
//! computes for TPROXY is the marked ACCEPT. And `TCPMSS`, whose rewrite later rules read.
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
        judged(&cmp),
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
        judged(&cmp),
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

/// A SYN with TCP options `opts` (a multiple of 4 bytes) and `payload`.
fn syn_with(dport: u16, opts: &[u8], payload: &[u8], id: u16) -> Vec<u8> {
    let (src, dst) = (CLIENT.into(), HOST.into());
    let seg = tcp_seg_opts(src, dst, 41000 + dport, dport, 1, 0, SYN, opts, payload);
    ipv4(CLIENT, HOST, 6, id, &seg)
}

/// TCPMSS in PREROUTING lowers an MSS option (never raises one) and adds one (at most 536)
/// to a SYN without options and without data; the rules after it read the new packet:
/// `-m tcpmss`, `--tcp-option 2`, `-m length` (4 bytes longer).
fn tcpmss_rewrites_what_later_rules_read() {
    let rules = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
        :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1200\nCOMMIT\n\
        *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A INPUT -p tcp -m tcp --dport 80 -m tcpmss --mss 1200 -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 81 --tcp-option 2 -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 82 -m length --length 44 -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 83 -m tcpmss --mss 536 -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 84 --tcp-option 2 -j DROP\nCOMMIT\n";
    let mss = |v: u16| {
        let b = v.to_be_bytes();
        vec![2, 4, b[0], b[1]]
    };
    let frames = vec![
        syn_with(80, &mss(1460), &[], 1), // lowered to 1200: DROP
        syn_with(80, &mss(1000), &[], 2), // never raised: 1000, ACCEPT
        syn_with(81, &[], &[], 3),        // an MSS option added: DROP
        syn_with(82, &[], &[], 4),        // 40 + 4 bytes: DROP
        syn_with(83, &[], &[], 5),        // added as min(1200, 536): DROP
        syn_with(84, &[], b"data", 6),    // data after the header: nothing added, ACCEPT
    ];
    let (cmp, _) = run(rules, &frames, true);
    assert_eq!(
        judged(&cmp),
        [
            ("DROP", true, "DROP"),
            ("ACCEPT", true, "ACCEPT"),
            ("DROP", true, "DROP"),
            ("DROP", true, "DROP"),
            ("DROP", true, "DROP"),
            ("ACCEPT", true, "ACCEPT"),
        ],
        "{}",
        cmp.render(false)
    );
}

/// `NFQUEUE` hands the packet to a userspace listener, which the capture does not show. The
/// oracle's namespace has none: `nf_queue` fails, the packet is dropped, or with
/// `--queue-bypass` accepted — for the table: the hook goes on with the next table, not with
/// the next rule (the DROP after it is not reached). fwcheck takes those answers, uncertain,
/// and forks a listener's other verdict.
fn nfqueue_without_a_listener() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A INPUT -p udp -m udp --dport 1 -j NFQUEUE --queue-num 3\n\
        -A INPUT -p udp -m udp --dport 2 -j NFQUEUE --queue-balance 4:7 --queue-bypass\n\
        -A INPUT -p udp -m udp --dport 2 -j DROP\nCOMMIT\n";
    let frames = vec![
        udp4(CLIENT, HOST, 4000, 1, 1, b"q"),
        udp4(CLIENT, HOST, 4000, 2, 2, b"q"),
        udp4(CLIENT, HOST, 4000, 3, 3, b"q"),
    ];
    let (cmp, alts) = run(rules, &frames, true);
    assert_eq!(
        judged(&cmp),
        [
            ("DROP", false, "DROP"),
            ("ACCEPT", false, "ACCEPT"),
            ("ACCEPT", true, "ACCEPT"),
        ],
        "{}",
        cmp.render(false)
    );
    assert!(
        cmp.frames[0]
            .fwcheck_reason
            .as_deref()
            .is_some_and(|r| r.contains("listener")),
        "{:?}",
        cmp.frames[0]
    );
    // Had a listener taken them: its ACCEPT, and behind --queue-bypass its DROP.
    assert_eq!(alts, ["ACCEPT", "DROP", ""]);
}

kernel_tests!(
    nfqueue_without_a_listener,
    tproxy_without_a_transparent_socket_drops,
    synproxy_consumes_syns_and_acks,
    tcpmss_rewrites_what_later_rules_read
);
