//! Kernel oracle: IPv6 (ip6tables-restore, raw IPv6 sockets).

#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::oracle::{self, OracleConfig, ReplayOptions, ReplayReport};
use fwcheck::packet::Family;
use oracle_common::*;

fn run6(rules: &str, packets: Vec<Vec<u8>>) -> ReplayReport {
    let cfg = OracleConfig::new(rules, Family::V6, host6());
    let r = oracle::replay_with(&cfg, &ReplayOptions::default(), frames(packets)).unwrap();
    assert_eq!(r.late_deliveries, 0, "{}", dump(&r.outcomes));
    assert!(r.anomalies.is_empty(), "anomalies: {:?}", r.anomalies);
    r
}

const PING6: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
-A INPUT -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A OUTPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT
COMMIT
";

fn echo_request_in_reply_out_established_only() {
    let r = run6(
        PING6,
        vec![
            ping6(CLIENT6, HOST6, false, 1),
            ping6(HOST6, CLIENT6, true, 1),
            // A reply nobody asked for (other sequence is the same id: use another client).
            ping6(HOST6, "2001:db8:c::8".parse().unwrap(), true, 1),
            tcp6(CLIENT6, HOST6, 40000, 22, 1, 0, SYN),
            tcp6(CLIENT6, HOST6, 40000, 23, 1, 0, SYN),
        ],
    );
    assert_eq!(
        verdicts(&r.outcomes),
        vec![A, A, D, A, D],
        "{}",
        dump(&r.outcomes)
    );
    // The kernel's own echo reply for frame 1 (and RST for frame 4) never left.
    assert!(
        r.own_packets_suppressed.unwrap_or(0) >= 2,
        "{:?}",
        r.own_packets_suppressed
    );
}

fn ipv6_bad_icmpv6_checksum_still_detected() {
    let accept = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    let drop = "*filter\n:INPUT DROP [0:0]\nCOMMIT\n";
    let mut bad = ping6(CLIENT6, HOST6, false, 2);
    bad[42] ^= 0xff; // ICMPv6 checksum
    let r = run6(accept, vec![bad.clone()]);
    assert_eq!(verdicts(&r.outcomes), vec![A], "{}", dump(&r.outcomes));
    assert!(r.outcomes[0]
        .note
        .as_deref()
        .unwrap_or("")
        .contains("Icmp6InMsgs"));
    let r = run6(drop, vec![bad]);
    assert_eq!(verdicts(&r.outcomes), vec![D], "{}", dump(&r.outcomes));
}

fn ipv6_fragments_without_and_with_conntrack() {
    // A UDP datagram in two fragments.
    let payload: Vec<u8> = (0..96u8).collect();
    let udp = {
        let mut u = Vec::new();
        u.extend_from_slice(&1234u16.to_be_bytes());
        u.extend_from_slice(&9u16.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(&payload);
        // checksum over the pseudo header
        let mut s = 0u32;
        for c in CLIENT6.octets().chunks(2).chain(HOST6.octets().chunks(2)) {
            s += u16::from_be_bytes([c[0], c[1]]) as u32;
        }
        s += u.len() as u32 + 17;
        let c = csum(&u, s);
        u[6..8].copy_from_slice(&c.to_be_bytes());
        u
    };
    let frag = |off: usize, data: &[u8], more: bool| {
        let mut fh = vec![17u8, 0];
        let fo = ((off / 8) as u16) << 3 | more as u16;
        fh.extend_from_slice(&fo.to_be_bytes());
        fh.extend_from_slice(&0xabcdu32.to_be_bytes());
        fh.extend_from_slice(data);
        ipv6(CLIENT6, HOST6, 44, &fh)
    };
    let f1 = frag(0, &udp[..56], true);
    let f2 = frag(56, &udp[56..], false);
    let plain = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    let tracked =
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";
    for rules in [plain, tracked] {
        let r = run6(rules, vec![f1.clone(), f2.clone()]);
        assert_eq!(
            verdicts(&r.outcomes),
            vec![D, A],
            "{rules}\n{}",
            dump(&r.outcomes)
        );
        let n0 = r.outcomes[0].note.as_deref().unwrap_or("");
        assert!(n0.contains("fragment held for reassembly"), "{n0}");
        let n1 = r.outcomes[1].note.as_deref().unwrap_or("");
        assert!(n1.contains("completes the reassembly"), "{n1}");
    }
    // Without conntrack, IPv6 fragments traverse INPUT one by one before reassembly:
    let frag_drop = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m frag --fraglast -j DROP\nCOMMIT\n";
    let r = run6(frag_drop, vec![f1.clone(), f2.clone()]);
    assert_eq!(verdicts(&r.outcomes), vec![D, D], "{}", dump(&r.outcomes));
    assert!(r.outcomes[0]
        .note
        .as_deref()
        .unwrap_or("")
        .contains("passed INPUT"));
}

kernel_tests!(
    echo_request_in_reply_out_established_only,
    ipv6_bad_icmpv6_checksum_still_detected,
    ipv6_fragments_without_and_with_conntrack,
);
