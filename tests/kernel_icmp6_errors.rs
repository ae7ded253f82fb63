//! ICMPv6 error messages against the kernel. Every ICMPv6 type below 128 is an error message
//! to conntrack (`nf_conntrack_icmpv6_error` hands it to `nf_conntrack_inet_error`), so one
//! of an unassigned type quoting a packet of a tracked connection is RELATED, like
//! destination unreachable — fwcheck called types 0 and 5–127 INVALID. And REJECT answers a
//! UDP datagram with checksum 0 in IPv6 too (`nf_reject_verify_csum` does not verify it),
//! where fwcheck sent nothing. Needs root, ip6tables and network namespaces.

#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::{IpAddr, Ipv6Addr};

use fwcheck::oracle::{self, OracleConfig, ReplayOptions};
use fwcheck::packet::Family;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

fn sim6() -> fwcheck::engine::SimOptions {
    fwcheck::engine::SimOptions {
        env: fwcheck::engine::SimEnv {
            hosts: host6(),
            ..fwcheck::engine::SimEnv::default()
        },
        ..fwcheck::engine::SimOptions::default()
    }
}

fn load6(rules: &str) -> fwcheck::lint::Loaded {
    let l = fwcheck::lint::load_str(
        "rules.v6",
        rules,
        ParseOptions {
            family: Family::V6,
            ..ParseOptions::default()
        },
    );
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    l
}

/// An ICMPv6 message of `ty` from the client quoting `quoted` (an IPv6 packet).
fn icmp6_error(ty: u8, quoted: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(quoted);
    let c = l4_csum(IpAddr::V6(CLIENT6), IpAddr::V6(HOST6), 58, &m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    ipv6(CLIENT6, HOST6, 58, &m)
}

fn udp6(src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16) -> Vec<u8> {
    ipv6(
        src,
        dst,
        17,
        &udp_seg(IpAddr::V6(src), IpAddr::V6(dst), sport, dport, b"ping"),
    )
}

fn unassigned_error_types_are_related() {
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 -A INPUT -p ipv6-icmp -m conntrack --ctstate RELATED -j ACCEPT\nCOMMIT\n";
    // The host's datagram out (its connection), then messages of types 100, 0 and 4
    // (parameter problem, the known kind) quoting it, and 100 quoting a packet of no
    // connection (INVALID: dropped).
    let out = udp6(HOST6, CLIENT6, 40000, 5000);
    let stranger = udp6(HOST6, CLIENT6, 40001, 5001);
    let frames = vec![
        out.clone(),
        icmp6_error(100, &out),
        icmp6_error(0, &out),
        icmp6_error(4, &out),
        icmp6_error(100, &stranger),
    ];
    let cmp = fwcheck::compare::compare(
        &load6(rules),
        decoded(&frames),
        sim6(),
        fwcheck::oracle::Pacing::AsFastAsPossible,
    )
    .expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let got: Vec<_> = cmp
        .frames
        .iter()
        .map(|f| (f.kernel, f.fwcheck_certain))
        .collect();
    assert_eq!(
        got,
        [
            (Some("ACCEPT"), true),
            (Some("ACCEPT"), true),
            (Some("ACCEPT"), true),
            (Some("ACCEPT"), true),
            (Some("DROP"), true),
        ],
        "{}",
        cmp.render(true)
    );
}

fn reject_answers_a_zero_udp_checksum() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 -A INPUT -p udp --dport 7020 -j REJECT --reject-with icmp6-port-unreachable\n\
                 COMMIT\n";
    let mut zero = udp6(CLIENT6, HOST6, 41005, 7020);
    zero[46..48].copy_from_slice(&[0, 0]);
    let mut bad = udp6(CLIENT6, HOST6, 41006, 7020);
    bad[46] ^= 0x5a;
    for (pkt, answered) in [(zero, true), (bad, false)] {
        let cfg = OracleConfig::new(rules, Family::V6, host6());
        let r = oracle::replay_with(&cfg, &ReplayOptions::default(), frames(vec![pkt.clone()]))
            .expect("kernel replay");
        let kernel_sent = r.own_packets_suppressed.unwrap_or(0) > 0;
        assert_eq!(kernel_sent, answered, "kernel: {}", dump(&r.outcomes));
        let loaded = load6(rules);
        let sim = fwcheck::engine::SimOptions {
            simulate_replies: true,
            ..sim6()
        };
        let mut e = fwcheck::engine::Engine::new(&loaded.ruleset, sim);
        let p = decoded([&pkt]).remove(0).expect("decoded");
        let o = e.process(&p);
        assert_eq!(o.verdict, Some(fwcheck::engine::Verdict::Reject), "{o:?}");
        assert_eq!(o.reject.and_then(|r| r.sent), Some(answered), "{o:?}");
    }
}

kernel_tests!(
    unassigned_error_types_are_related,
    reject_answers_a_zero_udp_checksum
);
