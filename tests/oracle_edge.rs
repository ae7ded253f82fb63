//! Kernel oracle: edge cases of detection (unobservable protocols, NFQUEUE, IPv6 extension
//! headers, fragments, broadcast).

#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::oracle::{self, OracleConfig, ReplayOptions, ReplayReport};
use fwcheck::packet::Family;
use oracle_common::*;

fn run(cfg: OracleConfig, packets: Vec<Vec<u8>>) -> ReplayReport {
    let r = oracle::replay_with(&cfg, &ReplayOptions::default(), frames(packets)).unwrap();
    assert_eq!(r.late_deliveries, 0, "{}", dump(&r.outcomes));
    assert!(
        r.anomalies.is_empty(),
        "anomalies: {:?}\n{}",
        r.anomalies,
        dump(&r.outcomes)
    );
    r
}

fn note(r: &ReplayReport, i: usize) -> String {
    r.outcomes[i].note.clone().unwrap_or_default()
}

fn protocol_without_raw_socket_uses_counters() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 198.51.100.8 -j DROP\nCOMMIT\n";
    let r = run(
        OracleConfig::new(rules, Family::V4, host()),
        vec![
            ipv4(CLIENT, HOST, 0, 1, b"protocol zero"),
            ipv4([198, 51, 100, 8].into(), HOST, 0, 2, b"protocol zero"),
        ],
    );
    assert_eq!(verdicts(&r.outcomes), vec![A, D], "{}", dump(&r.outcomes));
    assert!(note(&r, 0).contains("counters"));
}

fn nfqueue_without_listener_sendto_succeeds_but_nothing_leaves() {
    let rules = "*filter
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp --dport 1 -j NFQUEUE --queue-num 3
-A INPUT -p udp --dport 2 -j NFQUEUE --queue-num 3 --queue-bypass
-A OUTPUT -p udp --dport 1 -j NFQUEUE --queue-num 3
-A OUTPUT -p udp --dport 2 -j NFQUEUE --queue-num 3 --queue-bypass
-A OUTPUT -p udp --dport 3 -j REJECT
COMMIT
";
    let r = run(
        OracleConfig::new(rules, Family::V4, host()),
        vec![
            udp4(CLIENT, HOST, 9, 1, 1, b"q"),
            udp4(CLIENT, HOST, 9, 2, 2, b"q"),
            udp4(HOST, CLIENT, 9, 1, 3, b"q"),
            udp4(HOST, CLIENT, 9, 2, 4, b"q"),
            udp4(HOST, CLIENT, 9, 3, 5, b"q"),
        ],
    );
    assert_eq!(
        verdicts(&r.outcomes),
        vec![D, A, D, A, D],
        "{}",
        dump(&r.outcomes)
    );
    // NF_QUEUE with no listener frees the packet but reports success to the sender.
    assert!(
        note(&r, 2).contains("sendto succeeded but nothing left"),
        "{}",
        note(&r, 2)
    );
    assert!(note(&r, 4).contains("EPERM"));
}

fn ipv6_extension_header_discard_after_input() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    let r = run(
        OracleConfig::new(rules, Family::V6, host6()),
        vec![
            // Destination options with an unknown option whose type says "discard".
            ipv6(CLIENT6, HOST6, 60, &[59, 0, 0xbe, 4, 0, 0, 0, 0]),
            // Same with "skip over" (type 0x3e): processed, then "no next header".
            ipv6(CLIENT6, HOST6, 60, &[59, 0, 0x3e, 4, 0, 0, 0, 0]),
        ],
    );
    // The first passed every INPUT table (netfilter accepted it) before extension header
    // processing discarded it: ACCEPT, with a note saying so.
    assert_eq!(verdicts(&r.outcomes), vec![A, A], "{}", dump(&r.outcomes));
    assert!(note(&r, 0).contains("passed INPUT"), "{}", note(&r, 0));
    let drop = "*filter\n:INPUT DROP [0:0]\nCOMMIT\n";
    let r = run(
        OracleConfig::new(drop, Family::V6, host6()),
        vec![ipv6(CLIENT6, HOST6, 60, &[59, 0, 0xbe, 4, 0, 0, 0, 0])],
    );
    assert_eq!(verdicts(&r.outcomes), vec![D], "{}", dump(&r.outcomes));
}

/// ICMP messages shorter than 8 bytes never reach raw ICMP sockets (`icmp_filter` reads the
/// 8-byte header); their delivery past INPUT is read from the IP counters.
fn short_icmp_delivery_seen_in_counters() {
    let short = ipv4(CLIENT, HOST, 1, 7, &[8, 0, 0xf7, 0xff]);
    let accept = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    let r = run(
        OracleConfig::new(accept, Family::V4, host()),
        vec![short.clone()],
    );
    assert_eq!(verdicts(&r.outcomes), vec![A], "{}", dump(&r.outcomes));
    assert!(note(&r, 0).contains("counters"), "{}", note(&r, 0));
    let drop = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p icmp -j DROP\nCOMMIT\n";
    let r = run(OracleConfig::new(drop, Family::V4, host()), vec![short]);
    assert_eq!(verdicts(&r.outcomes), vec![D], "{}", dump(&r.outcomes));
}

fn ipv4_fragments_with_and_without_conntrack() {
    let payload: Vec<u8> = (0..64u8).collect();
    let udp = udp_seg(CLIENT.into(), HOST.into(), 1234, 9, &payload);
    let f1 = ipv4_frag(CLIENT, HOST, 17, 77, 0x2000, &udp[..40]);
    let f2 = ipv4_frag(CLIENT, HOST, 17, 77, 5, &udp[40..]);
    let lone = ipv4_frag(CLIENT, HOST, 17, 78, 0x2000, &udp[..40]);
    let plain = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    let tracked =
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";
    // Without conntrack IPv4 reassembles in ip_local_deliver, i.e. before INPUT too, so a rule
    // matching fragments (-f) never sees them on a local host.
    let frag_rule = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -f -j DROP\nCOMMIT\n";
    for rules in [plain, tracked, frag_rule] {
        let r = run(
            OracleConfig::new(rules, Family::V4, host()),
            vec![f1.clone(), f2.clone(), lone.clone(), f2.clone()],
        );
        assert_eq!(
            verdicts(&r.outcomes),
            vec![D, A, D, D],
            "{rules}\n{}",
            dump(&r.outcomes)
        );
        assert!(
            note(&r, 0).contains("held for reassembly")
                && note(&r, 0).contains("completed by frame 2")
        );
        assert!(note(&r, 1).contains("completes the reassembly"));
        assert!(note(&r, 2).contains("never completed"), "{}", note(&r, 2));
    }
    // The completed datagram is dropped by INPUT: the completing fragment carries that DROP.
    let drop9 = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 9 -j DROP\nCOMMIT\n";
    let tracked_drop9 = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 9 -m conntrack --ctstate NEW -j DROP\nCOMMIT\n";
    for rules in [drop9, tracked_drop9] {
        let r = run(
            OracleConfig::new(rules, Family::V4, host()),
            vec![f1.clone(), f2.clone()],
        );
        assert_eq!(
            verdicts(&r.outcomes),
            vec![D, D],
            "{rules}\n{}",
            dump(&r.outcomes)
        );
        assert!(
            note(&r, 0).contains("completed by frame 2"),
            "{}",
            note(&r, 0)
        );
        assert!(note(&r, 1).contains("not delivered"), "{}", note(&r, 1));
    }
}

fn outbound_broadcast_and_multicast() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let r = run(
        OracleConfig::new(rules, Family::V4, host()),
        vec![
            udp4(HOST, [224, 0, 0, 251].into(), 5353, 5353, 1, b"mdns"),
            udp4(HOST, [255, 255, 255, 255].into(), 68, 67, 2, b"dhcp"),
        ],
    );
    assert_eq!(verdicts(&r.outcomes), vec![A, A], "{}", dump(&r.outcomes));
    assert!(note(&r, 1).contains("looped back"), "{}", note(&r, 1));
}

fn ipv4_fragments_traverse_prerouting_individually_only_without_conntrack() {
    let payload: Vec<u8> = (0..64u8).collect();
    let udp = udp_seg(CLIENT.into(), HOST.into(), 1234, 9, &payload);
    let f1 = ipv4_frag(CLIENT, HOST, 17, 77, 0x2000, &udp[..40]);
    let f2 = ipv4_frag(CLIENT, HOST, 17, 77, 5, &udp[40..]);
    // -f matches non-first fragments. Without conntrack, raw PREROUTING sees the fragments.
    let untracked = "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -f -j DROP\nCOMMIT\n";
    let r = run(
        OracleConfig::new(untracked, Family::V4, host()),
        vec![f1.clone(), f2.clone()],
    );
    assert_eq!(verdicts(&r.outcomes), vec![D, D], "{}", dump(&r.outcomes));
    assert!(note(&r, 0).contains("never completed"));
    // With conntrack, defrag (priority -400) reassembles before raw (-300) looks.
    let tracked = "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -f -j DROP\nCOMMIT\n\
                   *filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";
    let r = run(OracleConfig::new(tracked, Family::V4, host()), vec![f1, f2]);
    assert_eq!(verdicts(&r.outcomes), vec![D, A], "{}", dump(&r.outcomes));
}

fn outbound_redirected_to_a_local_address() {
    let rules = "*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p udp --dport 7 -j DNAT --to-destination 192.0.2.10\nCOMMIT\n\
                 *filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let r = run(
        OracleConfig::new(rules, Family::V4, host()),
        vec![
            udp4(HOST, CLIENT, 9, 7, 1, b"x"),
            udp4(HOST, CLIENT, 9, 8, 2, b"x"),
        ],
    );
    assert_eq!(verdicts(&r.outcomes), vec![A, A], "{}", dump(&r.outcomes));
    assert!(
        note(&r, 0).contains("delivered to the local stack"),
        "{}",
        note(&r, 0)
    );
    assert_eq!(r.outcomes[1].note, None);
}

/// Removes the named network namespace when dropped.
struct NetnsGuard(String);

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

/// fwcheck's default conntrack timeouts are the kernel's: every knob of
/// `conntrack::Timeouts` read back from a fresh namespace with connection tracking loaded.
fn conntrack_timeout_defaults_are_the_kernels() {
    let ns = format!("fwcheck-tdef-{}", std::process::id());
    let ok = std::process::Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip netns add {ns}");
    let _guard = NetnsGuard(ns.clone());
    let load = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns,
            "iptables",
            "-A",
            "INPUT",
            "-m",
            "conntrack",
        ])
        .args(["--ctstate", "INVALID", "-j", "DROP"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(load, "loading a conntrack rule in {ns}");
    for (name, key, secs) in fwcheck::conntrack::Timeouts::default().entries() {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &ns, "cat", &path])
            .output()
            .expect("ip netns exec cat");
        if !out.status.success() && key.contains("frag6") {
            // nf_defrag_ipv6 is loaded only by IPv6 conntrack.
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.trim().parse::<u64>().ok(),
            Some(secs),
            "{name} ({key}): kernel says {text:?}"
        );
    }
}

kernel_tests!(
    protocol_without_raw_socket_uses_counters,
    nfqueue_without_listener_sendto_succeeds_but_nothing_leaves,
    ipv6_extension_header_discard_after_input,
    short_icmp_delivery_seen_in_counters,
    ipv4_fragments_with_and_without_conntrack,
    outbound_broadcast_and_multicast,
    ipv4_fragments_traverse_prerouting_individually_only_without_conntrack,
    outbound_redirected_to_a_local_address,
    conntrack_timeout_defaults_are_the_kernels,
);
