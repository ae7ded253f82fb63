//! Kernel oracle: conntrack behaviour the oracle must reproduce exactly.

#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::IpAddr;

use fwcheck::oracle::{self, GuardKind, OracleConfig, ReplayOptions, ReplayReport};
use fwcheck::packet::Family;
use oracle_common::*;

fn run(rules: &str, packets: Vec<Vec<u8>>) -> ReplayReport {
    run_with(
        OracleConfig::new(rules, Family::V4, host()),
        ReplayOptions::default(),
        packets,
    )
}

fn run_with(cfg: OracleConfig, opts: ReplayOptions, packets: Vec<Vec<u8>>) -> ReplayReport {
    let r = oracle::replay_with(&cfg, &opts, frames(packets)).unwrap();
    assert_eq!(
        r.late_deliveries,
        0,
        "late deliveries:\n{}",
        dump(&r.outcomes)
    );
    assert!(r.anomalies.is_empty(), "anomalies: {:?}", r.anomalies);
    r
}

const SSH: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT
-A OUTPUT -p tcp --sport 22 -m conntrack --ctstate ESTABLISHED -j ACCEPT
COMMIT
";

fn ssh_packets() -> Vec<Vec<u8>> {
    vec![
        tcp4(CLIENT, HOST, 50000, 22, 1000, 0, SYN, 1),
        tcp4(HOST, CLIENT, 22, 50000, 5000, 1001, SYN | ACK, 2),
        tcp4(CLIENT, HOST, 50000, 22, 1001, 5001, ACK, 3),
        // A SYN/ACK for a connection nobody opened: INVALID, so not ESTABLISHED.
        tcp4(HOST, CLIENT, 22, 50001, 7000, 2001, SYN | ACK, 4),
    ]
}

fn ssh_handshake_established_and_unsolicited_synack_dropped() {
    let r = run(SSH, ssh_packets());
    assert_eq!(
        verdicts(&r.outcomes),
        vec![A, A, A, D],
        "{}",
        dump(&r.outcomes)
    );
    assert!(r.outcomes[3]
        .note
        .as_deref()
        .unwrap_or("")
        .contains("EPERM"));
    // The stack answered the delivered SYN and ACK with RSTs (no listener on port 22): the
    // guard must have eaten them, and they did not disturb the connection.
    assert!(
        r.own_packets_suppressed.unwrap_or(0) >= 2,
        "{:?}",
        r.own_packets_suppressed
    );
    assert_eq!(r.conntrack_count_end, Some(1));
}

fn ssh_with_iptables_fallback_guard() {
    let opts = ReplayOptions {
        guard: GuardKind::Iptables,
        ..Default::default()
    };
    let r = run_with(
        OracleConfig::new(SSH, Family::V4, host()),
        opts,
        ssh_packets(),
    );
    assert_eq!(r.guard, GuardKind::Iptables);
    assert_eq!(
        verdicts(&r.outcomes),
        vec![A, A, A, D],
        "{}",
        dump(&r.outcomes)
    );
    assert!(
        r.own_packets_suppressed.unwrap_or(0) >= 2,
        "{:?}",
        r.own_packets_suppressed
    );
}

fn dropped_first_packet_leaves_no_entry() {
    let opts = ReplayOptions {
        record_conntrack_count: true,
        ..Default::default()
    };
    let r = run_with(
        OracleConfig::new(SSH, Family::V4, host()),
        opts,
        vec![
            tcp4(CLIENT, HOST, 50000, 23, 1000, 0, SYN, 1),
            tcp4(HOST, CLIENT, 23, 50000, 5000, 1001, SYN | ACK, 2),
        ],
    );
    assert_eq!(verdicts(&r.outcomes), vec![D, D], "{}", dump(&r.outcomes));
    assert_eq!(r.details[0].conntrack_count, Some(0));
    assert_eq!(r.conntrack_count_end, Some(0));
}

const REJECT: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A INPUT -p tcp --dport 80 -j REJECT --reject-with tcp-reset
-A INPUT -p udp --dport 53 -j REJECT --reject-with icmp-port-unreachable
-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
COMMIT
";

fn reject_is_drop_and_its_reply_creates_no_state() {
    let opts = ReplayOptions {
        record_conntrack_count: true,
        ..Default::default()
    };
    let r = run_with(
        OracleConfig::new(REJECT, Family::V4, host()),
        opts,
        vec![
            tcp4(CLIENT, HOST, 40000, 80, 1000, 0, SYN, 1),
            // Would pass OUTPUT only if the rejected SYN (or its RST) had left state behind.
            tcp4(HOST, CLIENT, 80, 40000, 5000, 1001, SYN | ACK, 2),
            // Would be ESTABLISHED (accepted) only with state.
            tcp4(CLIENT, HOST, 40000, 80, 1001, 5001, ACK, 3),
            udp4(CLIENT, HOST, 40053, 53, 4, b"query"),
            udp4(HOST, CLIENT, 53, 40053, 5, b"answer"),
        ],
    );
    assert_eq!(
        verdicts(&r.outcomes),
        vec![D, D, D, D, D],
        "{}",
        dump(&r.outcomes)
    );
    // Two REJECT replies (RST for frames 1 and 3, ICMP for frame 4) were generated and eaten.
    assert!(
        r.own_packets_suppressed.unwrap_or(0) >= 3,
        "{:?}",
        r.own_packets_suppressed
    );
    assert!(
        r.details.iter().all(|d| d.conntrack_count == Some(0)),
        "{:?}",
        r.details
    );
}

fn limit_burst_then_drop() {
    let rules = "*filter
:INPUT DROP [0:0]
-A INPUT -p icmp --icmp-type echo-request -m limit --limit 1/s --limit-burst 3 -j ACCEPT
COMMIT
";
    let pings = (1..=6).map(|s| ping4(CLIENT, HOST, false, s)).collect();
    let r = run(rules, pings);
    assert_eq!(
        verdicts(&r.outcomes),
        vec![A, A, A, D, D, D],
        "{}",
        dump(&r.outcomes)
    );
    // echo replies were generated for the 3 delivered requests, and suppressed.
    assert!(r.own_packets_suppressed.unwrap_or(0) >= 3);
}

fn syn_fin_is_invalid() {
    let with = "*filter
:INPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
COMMIT
";
    let without = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    let pk = || {
        vec![
            tcp4(CLIENT, HOST, 40000, 80, 1, 0, SYN | FIN, 1),
            tcp4(CLIENT, HOST, 40001, 80, 1, 0, SYN, 2),
        ]
    };
    let r = run(with, pk());
    assert_eq!(verdicts(&r.outcomes), vec![D, A], "{}", dump(&r.outcomes));
    // The stack itself delivers SYN+FIN: the drop above is conntrack's INVALID.
    let r = run(without, pk());
    assert_eq!(verdicts(&r.outcomes), vec![A, A], "{}", dump(&r.outcomes));
}

fn raw_notrack_makes_untracked() {
    let rules = "*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp --dport 53 -j CT --notrack
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT
-A OUTPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT
COMMIT
";
    let opts = ReplayOptions {
        record_conntrack_count: true,
        ..Default::default()
    };
    let r = run_with(
        OracleConfig::new(rules, Family::V4, host()),
        opts,
        vec![
            udp4(CLIENT, HOST, 40000, 53, 1, b"q"),
            udp4(CLIENT, HOST, 40000, 54, 2, b"q"),
            udp4(HOST, CLIENT, 53, 40000, 3, b"a"),
        ],
    );
    assert_eq!(
        verdicts(&r.outcomes),
        vec![A, D, D],
        "{}",
        dump(&r.outcomes)
    );
    assert_eq!(r.details[0].conntrack_count, Some(0));
}

fn bad_ip_checksum_dropped_before_netfilter() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    let good = udp4(CLIENT, HOST, 40000, 9, 1, b"x");
    let mut bad = udp4(CLIENT, HOST, 40000, 9, 2, b"x");
    bad[10] ^= 0x55;
    let mut short = udp4(CLIENT, HOST, 40000, 9, 3, b"xyz");
    short.truncate(short.len() - 2); // total length says 2 bytes more than there are
    let r = run(rules, vec![good, bad, short]);
    assert_eq!(
        verdicts(&r.outcomes),
        vec![A, D, D],
        "{}",
        dump(&r.outcomes)
    );
    let n1 = r.outcomes[1].note.clone().unwrap_or_default();
    assert!(
        n1.contains("not by netfilter") && n1.contains("InCsumErrors"),
        "{n1}"
    );
    let n2 = r.outcomes[2].note.clone().unwrap_or_default();
    assert!(
        n2.contains("InTruncatedPkts") && n2.contains("truncated"),
        "{n2}"
    );
}

fn be_liberal_sysctl_changes_window_tracking() {
    let rules = "*filter
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
COMMIT
";
    let pk = vec![
        tcp4(CLIENT, HOST, 50000, 22, 1000, 0, SYN, 1),
        tcp4(HOST, CLIENT, 22, 50000, 5000, 1001, SYN | ACK, 2),
        tcp4(CLIENT, HOST, 50000, 22, 1001, 5001, ACK, 3),
        // Far beyond the receiver's window: INVALID unless be_liberal.
        tcp4(
            CLIENT,
            HOST,
            50000,
            22,
            1001 + 50_000_000,
            5001,
            ACK | PSH,
            4,
        ),
    ];
    let strict = OracleConfig::new(rules, Family::V4, host());
    let mut liberal = strict.clone();
    liberal.sysctls = vec![(
        "net.netfilter.nf_conntrack_tcp_be_liberal".into(),
        "1".into(),
    )];
    // Run both at once: namespaces (and their sysctls) are per thread and must not mix.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run_with(strict, ReplayOptions::default(), pk.clone()));
        let b = s.spawn(|| run_with(liberal, ReplayOptions::default(), pk.clone()));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(
        verdicts(&a.outcomes),
        vec![A, A, A, D],
        "{}",
        dump(&a.outcomes)
    );
    assert_eq!(
        verdicts(&b.outcomes),
        vec![A, A, A, A],
        "{}",
        dump(&b.outcomes)
    );
    // The initial namespace is untouched.
    let init = std::fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal")
        .unwrap_or_default();
    assert_ne!(
        init.trim(),
        "1",
        "the liberal setting leaked into the initial namespace"
    );
}

fn outbound_drop_in_output_and_postrouting_is_eperm() {
    let rules = "*mangle
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -p udp --dport 1002 -j DROP
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -p udp --dport 1003 -j SNAT --to-source 192.0.2.99
COMMIT
*filter
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p udp --dport 1001 -j DROP
COMMIT
";
    let r = run(
        rules,
        vec![
            udp4(HOST, CLIENT, 5000, 1000, 1, b"ok"),
            udp4(HOST, CLIENT, 5000, 1001, 2, b"filter"),
            udp4(HOST, CLIENT, 5000, 1002, 3, b"mangle"),
            udp4(HOST, CLIENT, 5000, 1003, 4, b"snat"),
        ],
    );
    assert_eq!(
        verdicts(&r.outcomes),
        vec![A, D, D, A],
        "{}",
        dump(&r.outcomes)
    );
    assert_eq!(r.outcomes[0].note, None);
    for i in [1, 2] {
        assert!(r.outcomes[i].note.as_deref().unwrap().contains("EPERM"));
    }
    let n = r.outcomes[3].note.as_deref().unwrap_or("");
    assert!(n.contains("src 192.0.2.10->192.0.2.99"), "{n}");
}

fn dnat_to_another_host_address_is_delivered() {
    let rules = "*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 192.0.2.11:80
COMMIT
*filter
:INPUT DROP [0:0]
-A INPUT -d 192.0.2.11 -p tcp --dport 80 -j ACCEPT
COMMIT
";
    let mut cfg = OracleConfig::new(rules, Family::V4, host());
    cfg.hosts.push(IpAddr::from([192, 0, 2, 11]));
    let r = run_with(
        cfg,
        ReplayOptions::default(),
        vec![
            tcp4(CLIENT, HOST, 40000, 8080, 1, 0, SYN, 1),
            tcp4(CLIENT, HOST, 40001, 80, 1, 0, SYN, 2),
        ],
    );
    assert_eq!(verdicts(&r.outcomes), vec![A, D], "{}", dump(&r.outcomes));
    let n = r.outcomes[0].note.as_deref().unwrap_or("");
    assert!(
        n.contains("dst 192.0.2.10->192.0.2.11") && n.contains("dport 8080->80"),
        "{n}"
    );
}

kernel_tests!(
    ssh_handshake_established_and_unsolicited_synack_dropped,
    ssh_with_iptables_fallback_guard,
    dropped_first_packet_leaves_no_entry,
    reject_is_drop_and_its_reply_creates_no_state,
    limit_burst_then_drop,
    syn_fin_is_invalid,
    raw_notrack_makes_untracked,
    bad_ip_checksum_dropped_before_netfilter,
    be_liberal_sysctl_changes_window_tracking,
    outbound_drop_in_output_and_postrouting_is_eperm,
    dnat_to_another_host_address_is_delivered,
);
