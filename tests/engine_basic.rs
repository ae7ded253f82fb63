//! Engine behaviour on the guides' rulesets and small rulesets, packet by packet. The expected
//! verdicts follow the kernel (spec references in each test); the kernel harness
//! (`tests/kernel_*.rs`) checks the same kind of traffic against a real kernel.

mod common;
use common::*;

const GUIDE_000: &str = include_str!("../fixtures/guides/guide-000-webserver.rules.v4");
const GUIDE_001: &str = include_str!("../fixtures/guides/guide-001-apache.rules.v4");
const C: &str = "198.51.100.20";
/// INVALID dropped, replies accepted, new connections to port 80 only.
const STRICT_80: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
     -A INPUT -m conntrack --ctstate INVALID -j DROP\n\
     -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
     -A INPUT -p tcp --dport 80 -j ACCEPT\nCOMMIT\n";

#[test]
fn guide_000_web_session_is_accepted_both_ways() {
    let l = rules(GUIDE_000);
    let mut e = engine(&l);
    let o = e.process(&tcp(1, 0, (C, 40000), (HOST, 80), "S", 1000, 0, 0));
    assert_eq!((v(&o), st(&o)), ("ACCEPT", "NEW"));
    let o = e.process(&tcp(2, 20, (HOST, 80), (C, 40000), "SA", 5000, 1001, 0));
    assert_eq!((v(&o), st(&o)), ("ACCEPT", "ESTABLISHED"));
    let o = e.process(&tcp(3, 40, (C, 40000), (HOST, 80), "A", 1001, 5001, 0));
    assert_eq!((v(&o), st(&o)), ("ACCEPT", "ESTABLISHED"));
    let o = e.process(&tcp(4, 41, (C, 40000), (HOST, 80), "PA", 1001, 5001, 100));
    assert_eq!(v(&o), "ACCEPT");
    let o = e.process(&tcp(5, 60, (HOST, 80), (C, 40000), "PA", 5001, 1101, 1000));
    assert_eq!(v(&o), "ACCEPT");
    let o = e.process(&tcp(6, 80, (C, 40000), (HOST, 80), "FA", 1101, 6001, 0));
    assert_eq!(v(&o), "ACCEPT");
    let o = e.process(&tcp(7, 100, (HOST, 80), (C, 40000), "FA", 6001, 1102, 0));
    assert_eq!(v(&o), "ACCEPT");
    let o = e.process(&tcp(8, 120, (C, 40000), (HOST, 80), "A", 1102, 6002, 0));
    assert_eq!(v(&o), "ACCEPT");
}

#[test]
fn dropped_syn_leaves_no_entry() {
    // Spec §1.4: the unconfirmed entry dies with the dropped packet, so the host's SYN/ACK is
    // the first packet of a flow, which TCP conntrack calls INVALID (§4.3).
    let l = rules(GUIDE_000);
    let mut e = engine(&l);
    let o = e.process(&tcp(1, 0, (C, 40000), (HOST, 8080), "S", 1000, 0, 0));
    assert_eq!(v(&o), "DROP");
    assert_eq!(e.conntrack.len(), 0);
    let o = e.process(&tcp(2, 20, (HOST, 8080), (C, 40000), "SA", 5000, 1001, 0));
    assert_eq!((v(&o), st(&o)), ("DROP", "INVALID"));
}

#[test]
fn guide_001_drops_every_reply() {
    // OUTPUT policy DROP and nothing accepted outbound: the SSH session cannot get a SYN/ACK out.
    let l = rules(GUIDE_001);
    let mut e = engine(&l);
    let o = e.process(&tcp(1, 0, (C, 40000), (HOST, 22), "S", 1000, 0, 0));
    assert_eq!(v(&o), "ACCEPT");
    let o = e.process(&tcp(2, 20, (HOST, 22), (C, 40000), "SA", 5000, 1001, 0));
    assert_eq!(v(&o), "DROP");
    match o.decision {
        Some(fwcheck::engine::Decision::Policy { chain, .. }) => {
            assert_eq!(l.ruleset.tables[0].chains[chain].name, "OUTPUT")
        }
        d => panic!("expected OUTPUT policy, got {d:?}"),
    }
}

#[test]
fn dns_replies_need_a_query() {
    let l = rules(GUIDE_000);
    let mut e = engine(&l);
    let r = "192.0.2.53";
    let o = e.process(&udp(1, 0, (HOST, 33333), (r, 53), 40));
    assert_eq!((v(&o), st(&o)), ("ACCEPT", "NEW"));
    let o = e.process(&udp(2, 30, (r, 53), (HOST, 33333), 80));
    assert_eq!((v(&o), st(&o)), ("ACCEPT", "ESTABLISHED"));
    // Unsolicited "reply" from port 53: NEW, and the INPUT rule wants ESTABLISHED.
    let o = e.process(&udp(3, 40, (r, 53), (HOST, 44444), 80));
    assert_eq!((v(&o), st(&o)), ("DROP", "NEW"));
}

#[test]
fn udp_reply_after_unreplied_timeout_is_new() {
    // §3.3: an unreplied UDP flow lives 30 s.
    let l = rules(GUIDE_000);
    let mut e = engine(&l);
    let r = "192.0.2.53";
    assert_eq!(
        v(&e.process(&udp(1, 0, (HOST, 33333), (r, 53), 40))),
        "ACCEPT"
    );
    let o = e.process(&udp(2, 31_000, (r, 53), (HOST, 33333), 80));
    assert_eq!((v(&o), st(&o)), ("DROP", "NEW"));
}

#[test]
fn pings_and_replies() {
    let l = rules(GUIDE_000);
    let mut e = engine(&l);
    let o = e.process(&icmp(1, 0, C, HOST, 8, 0, 77, None));
    assert_eq!((v(&o), st(&o)), ("ACCEPT", "NEW"));
    let o = e.process(&icmp(2, 1, HOST, C, 0, 0, 77, None));
    assert_eq!((v(&o), st(&o)), ("ACCEPT", "ESTABLISHED"));
    // An echo reply nobody asked for is INVALID (§3.4) — but guide 000 accepts any type 0 out.
    let o = e.process(&icmp(3, 2, HOST, C, 0, 0, 99, None));
    assert_eq!((v(&o), st(&o)), ("ACCEPT", "INVALID"));
}

#[test]
fn invalid_flag_combinations() {
    let l = rules(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n",
    );
    let mut e = engine(&l);
    for (i, f) in ["SF", "", "FPU", "F", "SR"].iter().enumerate() {
        let o = e.process(&tcp(
            i as u64 + 1,
            0,
            (C, 40000 + i as u16),
            (HOST, 80),
            f,
            1,
            0,
            0,
        ));
        assert_eq!((v(&o), st(&o)), ("DROP", "INVALID"), "flags {f:?}");
    }
    // A mid-stream ACK is picked up (tcp_loose=1) as NEW.
    let o = e.process(&tcp(9, 0, (C, 41000), (HOST, 80), "A", 1, 1, 0));
    assert_eq!((v(&o), st(&o)), ("ACCEPT", "NEW"));
}

#[test]
fn icmp_error_is_related_to_the_quoted_flow() {
    let l = rules("*filter\n:INPUT DROP [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n");
    let mut e = engine(&l);
    let r = "192.0.2.53";
    assert_eq!(
        v(&e.process(&udp(1, 0, (HOST, 33333), (r, 53), 40))),
        "ACCEPT"
    );
    let inner = quoted_query(r);
    let o = e.process(&icmp(2, 5, r, HOST, 3, 3, 0, Some(inner.clone())));
    assert_eq!((v(&o), st(&o)), ("ACCEPT", "RELATED"));
    // The same error quoting a flow that never existed is INVALID.
    let mut bogus = inner;
    bogus.ports = Some((1, 53));
    let o = e.process(&icmp(3, 6, r, HOST, 3, 3, 0, Some(bogus)));
    assert_eq!((v(&o), st(&o)), ("DROP", "INVALID"));
}

#[test]
fn jumps_gotos_and_returns() {
    let l = rules(
        "*filter\n:INPUT DROP [0:0]\n:A - [0:0]\n:B - [0:0]\n\
         -A INPUT -p tcp -j A\n-A INPUT -p udp -g B\n-A INPUT -j ACCEPT\n\
         -A A -p tcp --dport 22 -j RETURN\n-A A -p tcp --dport 23 -j DROP\n\
         -A B -p udp --dport 53 -j ACCEPT\nCOMMIT\n",
    );
    let mut e = engine(&l);
    // RETURN from A continues after the jump: rule 3 accepts.
    assert_eq!(
        v(&e.process(&tcp(1, 0, (C, 1), (HOST, 22), "S", 1, 0, 0))),
        "ACCEPT"
    );
    assert_eq!(
        v(&e.process(&tcp(2, 0, (C, 2), (HOST, 23), "S", 1, 0, 0))),
        "DROP"
    );
    // The end of A is an implicit RETURN.
    assert_eq!(
        v(&e.process(&tcp(3, 0, (C, 3), (HOST, 80), "S", 1, 0, 0))),
        "ACCEPT"
    );
    // B was reached by goto: its end returns to INPUT's caller, i.e. the policy.
    assert_eq!(v(&e.process(&udp(4, 0, (C, 4), (HOST, 53), 10))), "ACCEPT");
    let o = e.process(&udp(5, 0, (C, 5), (HOST, 54), 10));
    assert_eq!(v(&o), "DROP");
    assert!(matches!(
        o.decision,
        Some(fwcheck::engine::Decision::Policy { .. })
    ));
}

#[test]
fn unknown_match_makes_verdict_uncertain() {
    let l = rules("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m frobnicate --level 3 -j DROP\n-A INPUT -p udp -m frobnicate --level 3 -j LOG\nCOMMIT\n");
    let mut e = engine(&l);
    let o = e.process(&tcp(1, 0, (C, 1), (HOST, 22), "S", 1, 0, 0));
    assert_eq!(v(&o), "ACCEPT");
    assert!(
        !o.certain,
        "an unknown match in front of DROP makes the verdict uncertain"
    );
    // Not TCP: the rule cannot match whatever the module says.
    let o = e.process(&udp(2, 0, (C, 1), (HOST, 53), 1));
    assert!(
        o.certain,
        "LOG in front does not change the verdict: {:?}",
        o.reason
    );
}

/// `-m nfacct` fails while its accounting object is under a quota, which the ruleset does not
/// say: a verdict it decides is uncertain.
#[test]
fn nfacct_decides_nothing_for_certain() {
    let l = rules("*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m nfacct --nfacct-name  web -j ACCEPT\nCOMMIT\n");
    let mut e = engine(&l);
    let o = e.process(&tcp(1, 0, (C, 1), (HOST, 80), "S", 1, 0, 0));
    assert!(!o.certain, "{o:?}");
}

#[test]
fn reject_reply_leaves_only_if_output_allows_it() {
    // Spec §7.1: the RST carries the original connection as RELATED and crosses OUTPUT.
    let base = "*filter\n:INPUT DROP [0:0]\n:OUTPUT DROP [0:0]\n-A INPUT -p tcp --dport 23 -j REJECT --reject-with tcp-reset\n";
    let l = rules(&format!("{base}COMMIT\n"));
    let mut e = engine(&l);
    let o = e.process(&tcp(1, 0, (C, 40000), (HOST, 23), "S", 1000, 0, 0));
    assert_eq!(v(&o), "REJECT");
    assert_eq!(
        o.reject.map(|r| r.sent),
        Some(Some(false)),
        "OUTPUT policy DROP swallows the reset"
    );
    let l = rules(&format!(
        "{base}-A OUTPUT -m conntrack --ctstate RELATED -j ACCEPT\nCOMMIT\n"
    ));
    let mut e = engine(&l);
    let o = e.process(&tcp(1, 0, (C, 40000), (HOST, 23), "S", 1000, 0, 0));
    assert_eq!(o.reject.map(|r| r.sent), Some(Some(true)));
    // The OUTPUT rule counted the reset.
    let t = &l.ruleset.tables[0];
    let out = t.chain_index("OUTPUT").unwrap();
    assert_eq!(e.rule_counters(0, out, 0).packets, 1);
    // No reset for a reset.
    let o = e.process(&tcp(2, 0, (C, 40001), (HOST, 23), "R", 1000, 0, 0));
    assert_eq!(v(&o), "REJECT");
    assert_eq!(o.reject.map(|r| r.sent), Some(Some(false)));
}

#[test]
fn counters_count_packets_and_bytes() {
    let l = rules(GUIDE_000);
    let mut e = engine(&l);
    e.process(&tcp(1, 0, (C, 40000), (HOST, 80), "S", 1000, 0, 0));
    e.process(&tcp(2, 1, (C, 40000), (HOST, 80), "S", 1000, 0, 0));
    e.process(&tcp(3, 2, (C, 40001), (HOST, 9999), "S", 1000, 0, 0));
    assert_eq!(e.rule_counters(0, 0, 0).packets, 2);
    assert_eq!(e.rule_counters(0, 0, 0).bytes, 80);
    assert_eq!(e.policy_counters(0, 0).packets, 1);
}

#[test]
fn tcp_state_machine_close_and_reopen() {
    // §4.4/§4.7: after a full close the entry is in TIME_WAIT; a new SYN on the same ports
    // kills it and starts a new connection (NEW).
    let l = rules("*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate NEW -j LOG\nCOMMIT\n");
    let mut e = engine(&l);
    let seq = [
        tcp(1, 0, (C, 40000), (HOST, 80), "S", 100, 0, 0),
        tcp(2, 10, (HOST, 80), (C, 40000), "SA", 500, 101, 0),
        tcp(3, 20, (C, 40000), (HOST, 80), "A", 101, 501, 0),
        tcp(4, 30, (C, 40000), (HOST, 80), "FA", 101, 501, 0),
        tcp(5, 40, (HOST, 80), (C, 40000), "A", 501, 102, 0),
        tcp(6, 50, (HOST, 80), (C, 40000), "FA", 501, 102, 0),
        tcp(7, 60, (C, 40000), (HOST, 80), "A", 102, 502, 0),
    ];
    let states: Vec<&str> = seq.iter().map(|p| st(&e.process(p))).collect();
    assert_eq!(
        states,
        [
            "NEW",
            "ESTABLISHED",
            "ESTABLISHED",
            "ESTABLISHED",
            "ESTABLISHED",
            "ESTABLISHED",
            "ESTABLISHED"
        ]
    );
    let o = e.process(&tcp(8, 1000, (C, 40000), (HOST, 80), "S", 9000, 0, 0));
    assert_eq!(st(&o), "NEW");
}

#[test]
fn rst_before_any_reply_deletes_the_entry() {
    // §4.6: "If only reply is a RST" the entry is deleted at once; the next SYN is NEW again.
    let l =
        rules("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate NEW -j LOG\nCOMMIT\n");
    let mut e = engine(&l);
    assert_eq!(
        st(&e.process(&tcp(1, 0, (HOST, 40000), (C, 81), "S", 100, 0, 0))),
        "NEW"
    );
    let o = e.process(&tcp(2, 5, (C, 81), (HOST, 40000), "RA", 0, 101, 0));
    assert_eq!(st(&o), "ESTABLISHED");
    assert_eq!(e.conntrack.len(), 0);
    assert_eq!(
        st(&e.process(&tcp(3, 1000, (HOST, 40000), (C, 81), "S", 100, 0, 0))),
        "NEW"
    );
}

#[test]
fn loopback_traffic_uses_lo() {
    let l = rules("*filter\n:INPUT DROP [0:0]\n:OUTPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A OUTPUT -o lo -j ACCEPT\nCOMMIT\n");
    let mut e = engine(&l);
    let o = e.process(&tcp(
        1,
        0,
        ("127.0.0.1", 40000),
        ("127.0.0.1", 5432),
        "S",
        1,
        0,
        0,
    ));
    assert_eq!((v(&o), o.direction.as_str()), ("ACCEPT", "local"));
    let o = e.process(&tcp(2, 0, (HOST, 40000), (HOST, 5432), "S", 1, 0, 0));
    assert_eq!((v(&o), o.direction.as_str()), ("ACCEPT", "local"));
}

/// Every frame on lo was sent by the host, whatever its source: REJECT's reset for the host's
/// SYN to another host comes from that host's address over lo, and crossed OUTPUT (recorded
/// lab `lo-output-reject`). A Linux cooked capture tells lo by index 1 (SLL2) or its all-zero
/// link address (SLL); a tunnel's frame, with no link address, is received.
#[test]
fn every_frame_on_lo_is_the_hosts_own() {
    let l = rules("*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n");
    let e = engine(&l);
    let from_peer = |linktype: u32, ifindex: Option<u32>, src_mac: Option<[u8; 6]>| {
        let mut p = tcp(1, 0, (C, 25), (HOST, 40000), "RA", 0, 1, 0);
        p.link.linktype = linktype;
        p.link.ifindex = ifindex;
        p.link.src_mac = src_mac;
        e.classify(&p).map(|d| d.as_str())
    };
    // SLL2 (`tcpdump -i any`): lo is index 1; SLL: lo's all-zero link address.
    assert_eq!(from_peer(276, Some(1), None), Ok("local"));
    assert_eq!(from_peer(113, None, Some([0; 6])), Ok("local"));
    // A tunnel's frame has no link address; an Ethernet device's has its own.
    assert_eq!(from_peer(113, None, None), Ok("in"));
    assert_eq!(from_peer(276, Some(2), Some([2, 0, 0, 0, 0, 9])), Ok("in"));
}

#[test]
fn martian_sources_are_refused_by_the_input_route() {
    // Kernel facts (proto-edge.pcap scenario 7, ipv6-edge.pcap scenario 7): after PREROUTING,
    // ip_route_input refuses multicast, limited-broadcast and 0.0.0.0/8 sources; 240.0.0.1
    // passes. An IPv6 multicast source is dropped before netfilter (ip6_rcv_core).
    let l = rules(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n",
    );
    let mut e = engine(&l);
    for (i, src) in ["0.0.0.0", "224.0.0.5", "255.255.255.255"]
        .iter()
        .enumerate()
    {
        let o = e.process(&udp(i as u64 + 1, 0, (src, 5400), (HOST, 53), 20));
        assert_eq!(v(&o), "DROP", "{src}");
        assert!(
            matches!(o.decision, Some(fwcheck::engine::Decision::Stack(_))),
            "{src}: {:?}",
            o.decision
        );
    }
    assert_eq!(e.conntrack.len(), 0, "the entries died with the packets");
    let o = e.process(&udp(4, 0, ("240.0.0.1", 5400), (HOST, 53), 20));
    assert_eq!(v(&o), "ACCEPT");
}

/// A router (`--router`), as `ip_forward` works (kernel-checked by `router_forwarding` in
/// `tests/kernel_compare.rs` on `pcaps/forward-edge.pcap`): the TTL is decremented before
/// FORWARD, TTL 1 expires before any FORWARD rule, multicast is not routed, the limited
/// broadcast goes to INPUT.
#[test]
fn router_forwarding_follows_ip_forward() {
    let l = rules(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p udp -m udp --dport 5001 -j ACCEPT\n\
         -A FORWARD -p icmp -m ttl --ttl-eq 63 -j DROP\n\
         -A FORWARD -j ACCEPT\nCOMMIT\n",
    );
    let env = fwcheck::engine::SimEnv {
        hosts: vec![ip(HOST)],
        ..fwcheck::engine::SimEnv::default()
    };
    let mut e = fwcheck::engine::Engine::new(
        &l.ruleset,
        fwcheck::engine::SimOptions {
            env,
            router: true,
            ..fwcheck::engine::SimOptions::default()
        },
    );
    let inside = "192.0.2.50";
    let ping = |frame: u64, ttl: u8| {
        let mut p = icmp(frame, frame * 10, C, inside, 8, 0, 7, None);
        p.ttl = ttl;
        p
    };
    // TTL 64 shows 63 in FORWARD: dropped by the ttl rule; TTL 10 passes.
    let o = e.process(&ping(1, 64));
    assert_eq!(v(&o), "DROP");
    assert!(matches!(
        o.decision,
        Some(fwcheck::engine::Decision::Rule { .. })
    ));
    let o = e.process(&ping(2, 10));
    assert_eq!(v(&o), "ACCEPT");
    assert_eq!(o.direction, fwcheck::engine::Direction::Forward);
    // TTL 1 expires before FORWARD (no rule decides).
    let o = e.process(&ping(3, 1));
    assert_eq!(v(&o), "DROP");
    assert!(matches!(
        o.decision,
        Some(fwcheck::engine::Decision::Stack(_))
    ));
    // Multicast is not routed; the limited broadcast is delivered (INPUT).
    let o = e.process(&udp(4, 40, (C, 5000), ("239.1.2.3", 5001), 20));
    assert_eq!(v(&o), "DROP");
    assert!(matches!(
        o.decision,
        Some(fwcheck::engine::Decision::Stack(_))
    ));
    let o = e.process(&udp(5, 50, (C, 5000), ("255.255.255.255", 5001), 20));
    assert_eq!(
        (v(&o), o.direction),
        ("ACCEPT", fwcheck::engine::Direction::In)
    );
    // A TTL-1 packet for the router itself is not forwarded, so it does not expire.
    let mut own = udp(6, 60, (C, 5000), (HOST, 5001), 20);
    own.ttl = 1;
    assert_eq!(v(&e.process(&own)), "ACCEPT");
}

/// iptables rules never see IPv6 packets: an IPv4 ruleset leaves IPv6 frames unjudged.
#[test]
fn a_ruleset_judges_only_its_own_family() {
    let l = rules(GUIDE_000);
    let env = fwcheck::engine::SimEnv {
        hosts: vec![ip(HOST), ip("2001:db8::10")],
        ..fwcheck::engine::SimEnv::default()
    };
    let mut e = fwcheck::engine::Engine::new(
        &l.ruleset,
        fwcheck::engine::SimOptions {
            env,
            ..fwcheck::engine::SimOptions::default()
        },
    );
    let o = e.process(&tcp(
        1,
        0,
        ("2001:db8:1::7", 40000),
        ("2001:db8::10", 80),
        "S",
        1,
        0,
        0,
    ));
    assert_eq!(o.verdict, None);
    assert!(
        o.reason.as_deref().unwrap_or("").contains("IPv6 packet"),
        "{o:?}"
    );
}

#[test]
fn hitting_the_traversal_limit_is_never_a_certain_verdict() {
    // 15 chains, each jumping three times to the next: 3^14 ≈ 4.8 M rule visits for one
    // packet, past fwcheck's safety net (the kernel would walk them all and ACCEPT).
    let mut text =
        String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for i in 1..=15 {
        text.push_str(&format!(":c{i} - [0:0]\n"));
    }
    text.push_str("-A INPUT -j c1\n");
    for i in 1..15 {
        for _ in 0..3 {
            text.push_str(&format!("-A c{i} -j c{}\n", i + 1));
        }
    }
    text.push_str("COMMIT\n");
    let l = rules(&text);
    let mut e = engine(&l);
    let o = e.process(&tcp(1, 0, (C, 40000), (HOST, 80), "S", 1000, 0, 0));
    assert!(!o.certain, "{o:?}");
    assert!(
        o.reason
            .as_deref()
            .unwrap_or("")
            .contains("traversal limit"),
        "{o:?}"
    );
}

/// `-m rpfilter` looks the source up in the host's routes: without them (no `--iface-addr`,
/// `--route` or `--host-config`) the answer is unknown and the verdict uncertain, never the
/// single-interface model's guess. With them, the same packet is decided (kernel-checked in
/// `tests/kernel_rpfilter.rs`).
#[test]
fn rpfilter_without_routes_is_uncertain() {
    let l = rules(
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A PREROUTING -m rpfilter --invert -j DROP\nCOMMIT\n",
    );
    let syn = tcp(1, 0, (C, 40000), (HOST, 22), "S", 1000, 0, 0);
    let mut e = engine(&l);
    let o = e.process(&syn);
    assert_eq!(v(&o), "ACCEPT");
    assert!(!o.certain);
    assert!(o
        .reason
        .as_deref()
        .unwrap()
        .contains("-m rpfilter: the host's routes are not known"));
    // The host's interfaces and routes: the route back to C leaves by eth0, the packet's.
    use fwcheck::host::HostConfig;
    let judge = |h: &HostConfig| {
        let mut env = fwcheck::engine::SimEnv {
            hosts: vec![ip(HOST)],
            ..fwcheck::engine::SimEnv::default()
        };
        env.apply_host(h);
        let opts = fwcheck::engine::SimOptions {
            env,
            ..fwcheck::engine::SimOptions::default()
        };
        fwcheck::engine::Engine::new(&l.ruleset, opts).process(&syn)
    };
    let mut h = HostConfig::default();
    h.add_addr(HostConfig::parse_iface_addr("eth0=203.0.113.10/24").unwrap());
    h.add_route(HostConfig::parse_route("default via 203.0.113.1 dev eth0").unwrap());
    let o = judge(&h);
    assert_eq!(v(&o), "ACCEPT");
    assert!(o.certain, "{:?}", o.reason);
    // A route back by another interface: strict rpfilter fails, the inverted rule drops.
    h.add_addr(HostConfig::parse_iface_addr("eth1=198.51.100.1/24").unwrap());
    let o = judge(&h);
    assert_eq!(v(&o), "DROP");
    assert!(o.certain);
}

#[test]
fn a_connection_to_a_local_dnat_target_may_have_been_translated() {
    // Docker's nat: OUTPUT jumps to DOCKER for the host's own addresses, which DNATs 8080 to a
    // container. A capture shows the host's connection after nat OUTPUT, so one to
    // 172.17.0.2:80 may be one the host made to its own :8080 (the kernel then counts the
    // DNAT and calls it --ctstate DNAT): uncertain, and so is the rest of that connection. A
    // connection to another port, or the loopback traffic, is certain.
    let l = rules(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         :POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n\
         -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER\n\
         -A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n\
         COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m conntrack --ctstate DNAT -j DROP\nCOMMIT\n",
    );
    let mut e = engine(&l);
    let c = "172.17.0.2";
    let o = e.process(&tcp(1, 0, (HOST, 40000), (c, 80), "S", 1000, 0, 0));
    assert_eq!(v(&o), "ACCEPT");
    assert!(!o.certain, "{o:?}");
    assert!(o.reason.as_deref().unwrap().contains("(line 8)"), "{o:?}");
    let o = e.process(&tcp(2, 10, (c, 80), (HOST, 40000), "SA", 5000, 1001, 0));
    assert!(!o.certain, "the connection's answer rests on it too: {o:?}");
    let o = e.process(&tcp(3, 20, (HOST, 40001), (c, 81), "S", 1000, 0, 0));
    assert_eq!(v(&o), "ACCEPT");
    assert!(o.certain, "{o:?}");
}

#[test]
fn an_undecidable_match_in_a_counting_rule_makes_its_counter_a_lower_bound() {
    // `-m owner` cannot be decided offline. In a rule without a target no verdict rests on
    // it (certain), but the kernel may have counted the packet: the counter is a lower bound.
    // A rule whose owner match is settled by a later match that fails stays exact.
    let l = rules(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A OUTPUT -m owner --uid-owner 0\n\
         -A OUTPUT -m owner --uid-owner 0 -p udp\nCOMMIT\n",
    );
    let mut e = engine(&l);
    let o = e.process(&tcp(1, 0, (HOST, 40000), (C, 80), "S", 1000, 0, 0));
    assert_eq!(v(&o), "ACCEPT");
    assert!(o.certain, "{o:?}");
    assert!(e.rule_counter_doubt(0, 2, 0));
    assert!(!e.rule_counter_doubt(0, 2, 1));
    assert_eq!(e.rule_counters(0, 2, 0).packets, 0);
}

/// `tcpdump -i any` on a router shows each forwarded packet twice; the outgoing copy is
/// recognised by what the packet is as it left — including its TCP flags and acknowledgment,
/// so an ACK that arrives next to a FIN-ACK with the same length and sequence number is not
/// taken for the FIN-ACK's copy (seen in a router lab: the real copy was then judged again).
#[test]
fn a_forwarded_copy_is_told_by_its_flags() {
    let l = rules(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A FORWARD -j ACCEPT\nCOMMIT\n",
    );
    let mut e = fwcheck::engine::Engine::new(
        &l.ruleset,
        fwcheck::engine::SimOptions {
            env: fwcheck::engine::SimEnv {
                hosts: vec![ip(HOST)],
                ..fwcheck::engine::SimEnv::default()
            },
            router: true,
            ..fwcheck::engine::SimOptions::default()
        },
    );
    let inside = "192.0.2.50";
    let seg = |frame: u64, flags: &str, ttl: u8| {
        let mut p = tcp(frame, frame, (C, 40000), (inside, 80), flags, 100, 200, 0);
        p.ttl = ttl;
        p
    };
    let copy = |o: &fwcheck::engine::Outcome| match o.answer_to {
        Some(fwcheck::engine::AnswerTo::ForwardedCopy(f)) => Some(f),
        _ => None,
    };
    let fin = e.process(&seg(1, "FA", 64));
    assert_eq!(
        (v(&fin), fin.direction),
        ("ACCEPT", fwcheck::engine::Direction::Forward)
    );
    // An ACK with the FIN-ACK's length and sequence, as it would leave: not its copy.
    let ack = e.process(&seg(2, "A", 63));
    assert_eq!(copy(&ack), None, "{ack:?}");
    // The FIN-ACK's copy is still recognised.
    let out = e.process(&seg(3, "FA", 63));
    assert_eq!(copy(&out), Some(1), "{out:?}");
}

/// A scan REJECTed with resets faster than fwcheck's table of replies holds them (65,536
/// within a second): the captured reset answering one the table pushed out may be that reply,
/// which the kernel counted once, when REJECT sent it — uncertain, never judged a second time
/// for certain; a reset of a conversation REJECT never answered is judged as before, and so
/// is the pushed-out reply two seconds later.
#[test]
fn a_reject_reply_past_the_table_is_uncertain() {
    let l = rules(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset\n\
         -A OUTPUT -p tcp -m tcp --tcp-flags RST RST -j ACCEPT\nCOMMIT\n",
    );
    // `engine()`, recognising the host's answers in the capture.
    let mut e = fwcheck::engine::Engine::new(
        &l.ruleset,
        fwcheck::engine::SimOptions {
            env: fwcheck::engine::SimEnv {
                hosts: vec![ip(HOST)],
                conntrack_empty_at_start: true,
                ..fwcheck::engine::SimEnv::default()
            },
            ..fwcheck::engine::SimOptions::default()
        },
    );
    let n = 65_537u64;
    let peer = |i: u64| {
        (
            format!("198.51.100.{}", 1 + i % 250),
            1024 + (i / 250) as u16,
        )
    };
    let at = |p: &mut fwcheck::packet::Packet, us: u64| p.ts.0 = us * 1_000;
    for i in 0..n {
        let (a, port) = peer(i);
        let mut syn = tcp(i + 1, 0, (&a, port), (HOST, 22), "S", 7, 0, 0);
        at(&mut syn, i * 10);
        assert_eq!(v(&e.process(&syn)), "REJECT");
    }
    let reset = |frame: u64, i: u64, us: u64| {
        let (a, port) = peer(i);
        let mut r = tcp(frame, 0, (HOST, 22), (&a, port), "RA", 0, 8, 0);
        at(&mut r, us);
        r
    };
    // The newest reply is still held: recognised, judged when REJECT sent it.
    let last = e.process(&reset(n + 1, n - 1, 700_000));
    assert!(
        matches!(last.answer_to, Some(fwcheck::engine::AnswerTo::RejectReply(f)) if f == n),
        "{last:?}"
    );
    // The first was pushed out within its second: it may be that reply.
    let first = e.process(&reset(n + 2, 0, 700_001));
    assert_eq!(first.answer_to, None, "{first:?}");
    assert!(!first.certain, "{first:?}");
    assert!(
        first
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("65,536 replies"),
        "{first:?}"
    );
    // A reset REJECT never sent: an ordinary packet, certain.
    let mut other = tcp(n + 3, 0, (HOST, 22), ("203.0.113.99", 5555), "RA", 0, 8, 0);
    at(&mut other, 700_002);
    let other = e.process(&other);
    assert_eq!((v(&other), other.certain), ("ACCEPT", true), "{other:?}");
    // Two seconds on, the pushed-out reply's window is over: the reset is what the table of
    // dropped requests makes of it (an answer to a REJECTed SYN, never sent), certain.
    let late = e.process(&reset(n + 4, 1, 3_000_000));
    assert_eq!(
        (late.answer_to, late.certain),
        (Some(fwcheck::engine::AnswerTo::NotSent(2)), true),
        "{late:?}"
    );
}

/// 127.0.0.0/8 received on another interface than lo is martian after PREROUTING
/// (`ip_route_input_slow`, `route_localnet` off): no INPUT rule sees it and REJECT sends
/// nothing (kernel lab: a spoofed 127.0.0.1 UDP and SYN to REJECT ports on a host's veth; the
/// kernel's REJECT counters did not move).
#[test]
fn loopback_source_from_outside_is_martian() {
    let l = rules(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p udp -m udp --dport 7020 -j REJECT --reject-with icmp-port-unreachable\n\
         COMMIT\n",
    );
    let mut e = engine(&l);
    let mut p = udp(1, 0, ("127.0.0.1", 41000), (HOST, 7020), 1);
    p.link.linktype = 113; // Linux cooked capture
    p.link.src_mac = Some([2, 0, 0, 0, 0, 2]);
    p.link.pkt_type = fwcheck::packet::PktType::Host;
    let o = e.process(&p);
    assert_eq!(v(&o), "DROP", "{o:?}");
    assert!(
        matches!(o.decision, Some(fwcheck::engine::Decision::Stack(why)) if why.contains("martian")),
        "{o:?}"
    );
    assert!(o.certain);
    // The same datagram from a real outside address meets the REJECT.
    let mut q = udp(2, 10, ("198.51.100.7", 41000), (HOST, 7020), 1);
    q.link = p.link.clone();
    assert_eq!(v(&e.process(&q)), "REJECT");
}

/// IPv6 hop-by-hop options are parsed before PREROUTING (`ip6_rcv_core` →
/// `ipv6_parse_hopopts`): an option of an unknown type whose two high bits are not 00 drops
/// the packet there (kernel lab: options 0x5e, 0x9e, 0xde never reached INPUT, 0x9e and 0xde
/// drew a parameter problem the kernel's conntrack called INVALID); 00 and known options
/// (router alert) pass on to the rules.
#[test]
fn unknown_hop_by_hop_options_drop_before_netfilter() {
    use fwcheck::packet::decode::{decode_ip, FrameMeta};
    let mut opts = fwcheck::engine::SimOptions::default();
    opts.env.hosts = vec![ip("2001:db8::10")];
    let l6 = fwcheck::lint::load_str(
        "rules.v6",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp\nCOMMIT\n",
        fwcheck::ruleset::ParseOptions {
            family: fwcheck::ruleset::Family::V6,
            ..Default::default()
        },
    );
    let packet = |opt: u8| {
        // IPv6 header, next header 0 (hop-by-hop), then UDP 40000 → 5353.
        let mut p = vec![0x60, 0, 0, 0, 0, 16, 0, 64];
        p.extend_from_slice(
            &"2001:db8::2"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        p.extend_from_slice(
            &"2001:db8::10"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        // Hop-by-hop: next header UDP, length 0 (8 bytes): the option (type, len 2, 2 bytes),
        // then PadN of 2.
        p.extend_from_slice(&[17, 0, opt, 2, 0, 0, 1, 0]);
        p.extend_from_slice(&[0x9c, 0x40, 0x14, 0xe9, 0, 8, 0, 0]);
        let meta = FrameMeta {
            frame: 1,
            ts: fwcheck::packet::Timestamp(1_000_000),
            linktype: 101,
            interface: 0,
            wire_len: p.len() as u32,
        };
        let mut link = fwcheck::packet::LinkInfo::default();
        link.linktype = 101;
        decode_ip(&meta, link, &p, p.len(), None).expect("decodes")
    };
    for (opt, dropped) in [
        (0x5e, true),
        (0x9e, true),
        (0xde, true),
        (0x1e, false),
        (5, false),
    ] {
        let mut e = fwcheck::engine::Engine::new(&l6.ruleset, opts.clone());
        let o = e.process(&packet(opt));
        let by_stack = matches!(o.decision, Some(fwcheck::engine::Decision::Stack(_)));
        assert_eq!(
            (v(&o), by_stack),
            (if dropped { "DROP" } else { "ACCEPT" }, dropped),
            "option {opt:#x}: {o:?}"
        );
    }
}

/// The host's ICMP echo replies and errors leave from the kernel's own ICMP socket, which has
/// no file: `--uid-owner` never matches them, `! --uid-owner` does, `--socket-exists` does —
/// certain without `--socket-owner`, and whatever it names (kernel lab: the host's port
/// unreachable matched `! --uid-owner 0-65535` and not `! --socket-exists`). The host's own
/// echo request comes from a user's socket: its owner stays unknown.
#[test]
fn kernel_icmp_has_a_socket_without_owner() {
    let l = rules(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A OUTPUT -p icmp -m owner ! --socket-exists -j DROP\n\
         -A OUTPUT -p icmp -m owner --uid-owner 0 -j DROP\n\
         -A OUTPUT -p icmp -m owner ! --uid-owner 0-65535 -j REJECT\nCOMMIT\n",
    );
    let mut e = engine(&l);
    let reply = icmp(1, 0, HOST, C, 0, 0, 7, None);
    let o = e.process(&reply);
    assert_eq!((v(&o), o.certain), ("REJECT", true), "{o:?}");
    let unreachable = icmp(2, 10, HOST, C, 3, 3, 0, None);
    let o = e.process(&unreachable);
    assert_eq!((v(&o), o.certain), ("REJECT", true), "{o:?}");
    let request = icmp(3, 20, HOST, C, 8, 0, 9, None);
    assert!(!e.process(&request).certain);
}

/// The host's reset to a SYN no socket took (RST|ACK with sequence 0: a closed port) leaves
/// from the kernel's per-CPU TCP control socket, which has no file: `--uid-owner` never matches
/// it and `! --uid-owner 0-65535` does, whatever `--socket-owner` says (kernel hunt `owner-rst`:
/// counted on `! --uid-owner 0-65535`); a reset of a live connection is its socket's. The
/// host's last ACK of a connection it closed first (conntrack's TIME_WAIT) comes from a
/// timewait socket (no socket) if the application closed its socket, else from the full one:
/// unknown.
#[test]
fn the_kernels_tcp_answers_under_owner() {
    let l = rules(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m conntrack --ctstate INVALID -j DROP\n\
         -A OUTPUT -p tcp -m owner --uid-owner 0 -j DROP\n\
         -A OUTPUT -p tcp -m owner ! --uid-owner 0-65535 -j REJECT\nCOMMIT\n",
    );
    let env = fwcheck::engine::SimEnv {
        hosts: vec![ip(HOST)],
        conntrack_empty_at_start: true,
        socket_owners: vec![fwcheck::engine::SocketOwner::parse("0").unwrap()],
        ..fwcheck::engine::SimEnv::default()
    };
    let opts = fwcheck::engine::SimOptions {
        env,
        recognise_answers: false,
        ..fwcheck::engine::SimOptions::default()
    };
    let mut e = fwcheck::engine::Engine::new(&l.ruleset, opts);
    let syn = tcp(1, 0, (C, 40000), (HOST, 23), "S", 1000, 0, 0);
    assert_eq!(v(&e.process(&syn)), "ACCEPT");
    let rst = tcp(2, 1, (HOST, 23), (C, 40000), "RA", 0, 1001, 0);
    let o = e.process(&rst);
    assert_eq!((v(&o), o.certain), ("REJECT", true), "{o:?}");
    // A connection the host closes first: its last ACK is in TIME_WAIT.
    let frames = [
        tcp(3, 10, (C, 40001), (HOST, 80), "S", 1000, 0, 0),
        tcp(4, 11, (HOST, 80), (C, 40001), "SA", 5000, 1001, 0),
        tcp(5, 12, (C, 40001), (HOST, 80), "A", 1001, 5001, 0),
        tcp(6, 13, (HOST, 80), (C, 40001), "FA", 5001, 1001, 0),
        tcp(7, 14, (C, 40001), (HOST, 80), "A", 1001, 5002, 0),
        tcp(8, 15, (C, 40001), (HOST, 80), "FA", 1001, 5002, 0),
    ];
    for p in &frames {
        let o = e.process(p);
        assert!(o.certain, "{o:?}");
        // The host's own packets are its socket's (uid 0): dropped.
        if p.src == ip(HOST) {
            assert_eq!(v(&o), "DROP", "{o:?}");
        }
    }
    let last_ack = tcp(9, 16, (HOST, 80), (C, 40001), "A", 5002, 1002, 0);
    let o = e.process(&last_ack);
    assert!(!o.certain, "{o:?}");
}

/// A connection's timeout that ends within one jiffy of a packet: how many of the kernel's
/// ticks passed since the timeout was set depends on where the ticks fell (a gap of 7,499.5
/// jiffies of time spans 7,499 or 7,500 ticks), which a capture's time stamps do not tell.
/// `nf_ct_is_expired` calls the connection expired at 7,500, so the reply may find it alive
/// (ESTABLISHED, accepted) or gone (NEW, dropped): uncertain. Kernel lab (hunt7/e
/// udptimeout-edge, `--ct-timeout udp=5`): gaps 1,249–1,250 jiffies went both ways.
#[test]
fn a_reply_within_a_jiffy_of_the_timeout_is_uncertain() {
    let l = rules(GUIDE_000);
    let r = "192.0.2.53";
    // The query at the start of a jiffy (fwcheck's clock starts at the first frame).
    for (ms, verdict, certain) in [
        (29_996, "ACCEPT", true), // 7,499 jiffies exactly: alive for every phase
        (29_998, "ACCEPT", false),
        (30_000, "DROP", true),
    ] {
        let mut e = engine(&l);
        assert_eq!(
            v(&e.process(&udp(1, 0, (HOST, 33333), (r, 53), 40))),
            "ACCEPT"
        );
        let o = e.process(&udp(2, ms, (r, 53), (HOST, 33333), 80));
        assert_eq!((v(&o), o.certain), (verdict, certain), "{ms} ms: {o:?}");
        if !certain {
            assert!(o
                .reason
                .as_deref()
                .unwrap_or("")
                .contains("within one jiffy"));
        }
    }
    // The query half-way through a jiffy: 29.999 s later fwcheck's clock has passed the
    // timeout, a kernel whose tick fell between may not have.
    for (ms, verdict, certain) in [(30_001, "DROP", false), (30_003, "DROP", true)] {
        let mut e = engine(&l);
        e.process(&icmp(1, 0, C, HOST, 8, 0, 7, None));
        assert_eq!(
            v(&e.process(&udp(2, 2, (HOST, 33333), (r, 53), 40))),
            "ACCEPT"
        );
        let o = e.process(&udp(3, ms, (r, 53), (HOST, 33333), 80));
        assert_eq!((v(&o), o.certain), (verdict, certain), "{ms} ms: {o:?}");
    }
}

/// `-m connlimit` counts the connections of its list that conntrack still finds: one whose
/// timeout ends within one jiffy of the packet may be gone for a kernel whose ticks fell
/// otherwise (see the test above), so the count may be one lower: uncertain where that changes
/// the answer, whether the list's walk meets the connection for the first time or knew it
/// alive from an earlier walk; certain where it does not.
#[test]
fn connlimit_counting_a_connection_at_its_expiry_edge_is_uncertain() {
    let rules_above = |n: u32| {
        rules(&format!(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -p udp -m udp --dport 53 -m connlimit --connlimit-above {n} \
             --connlimit-mask 32 --connlimit-saddr -j DROP\nCOMMIT\n"
        ))
    };
    let l = rules_above(1);
    let q = |frame: u64, ms: u64, port: u16| udp(frame, ms, (C, port), (HOST, 53), 40);
    // The first query's connection, first met by the walk of the second (30 s unreplied).
    for (ms, verdict) in [
        (29_996, Some("DROP")),   // alive for every phase: two connections
        (29_998, None),           // one or two
        (30_000, Some("ACCEPT")), // gone for every phase: one
    ] {
        let mut e = engine(&l);
        assert_eq!(v(&e.process(&q(1, 0, 1111))), "ACCEPT");
        let o = e.process(&q(2, ms, 2222));
        assert_eq!(o.certain, verdict.is_some(), "{ms} ms: {o:?}");
        match verdict {
            Some(verdict) => assert_eq!(v(&o), verdict, "{ms} ms: {o:?}"),
            None => assert!(
                o.reason
                    .as_deref()
                    .unwrap_or("")
                    .contains("within one jiffy"),
                "{o:?}"
            ),
        }
    }
    // Known alive since a walk at 10 s (whose own connection it dropped): at 29.998 s the
    // next walk meets it again, one tick before its timeout on fwcheck's clock.
    for (ms, certain) in [(29_996, true), (29_998, false)] {
        let mut e = engine(&l);
        assert_eq!(v(&e.process(&q(1, 0, 1111))), "ACCEPT");
        assert_eq!(v(&e.process(&q(2, 10_000, 2222))), "DROP");
        let o = e.process(&q(3, ms, 3333));
        assert_eq!(o.certain, certain, "{ms} ms: {o:?}");
        if certain {
            assert_eq!(v(&o), "DROP", "{ms} ms: {o:?}");
        }
    }
    // Above 5: one connection more or less does not change the answer for a second one.
    let l5 = rules_above(5);
    let mut e = engine(&l5);
    assert_eq!(v(&e.process(&q(1, 0, 1111))), "ACCEPT");
    let o = e.process(&q(2, 29_998, 2222));
    assert_eq!((v(&o), o.certain), ("ACCEPT", true), "{o:?}");
}

/// `--ctexpire` reads `(timeout - jiffies) / HZ` of the connection (an ICMP error does not
/// refresh its master): one tick more or fewer since the timeout was set moves a time left of
/// 7,250 jiffies (29 s) to 7,249 (28 s). The verdict stays certain when every rule the answer
/// could pick accepts; the counters of the rules that could have matched are then bounds, and
/// the packet's `reason` says the deciding rule is not known. Kernel lab (hunt7/e
/// ctexpire-edge): gaps of 250–251 jiffies counted at `--ctexpire 29` or `28` by phase.
#[test]
fn ctexpire_within_a_jiffy_of_a_second_bounds_the_counters() {
    let l = rules(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p icmp -m conntrack --ctstate RELATED -m conntrack --ctexpire 29 -j ACCEPT\n\
         -A INPUT -p icmp -m conntrack --ctstate RELATED -m conntrack --ctexpire 28 -j DROP\n\
         -A INPUT -p icmp -m conntrack --ctstate RELATED -m conntrack --ctexpire 0:27 -j ACCEPT\n\
         COMMIT\n",
    );
    let r = "192.0.2.53";
    let inner = quoted_query(r);
    // 1,000 ms (250 jiffies exactly): 29 s left for every phase; 1,002 ms (250.5): 29 or
    // 28, and the rules for 29 and 28 disagree: uncertain; 1,006 ms (251.5): 28 certain.
    for (ms, verdict, certain) in [
        (1_000, "ACCEPT", true),
        (1_002, "ACCEPT", false),
        (1_006, "DROP", true),
    ] {
        let mut e = engine(&l);
        e.process(&udp(1, 0, (HOST, 33333), (r, 53), 40));
        let o = e.process(&icmp(2, ms, r, HOST, 3, 3, 0, Some(inner.clone())));
        assert_eq!(
            (v(&o), st(&o), o.certain),
            (verdict, "RELATED", certain),
            "{ms} ms: {o:?}"
        );
    }
    // When 29 and 28 both accept, the verdict is certain but not the rule.
    let l = rules(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p icmp -m conntrack --ctstate RELATED -m conntrack --ctexpire 29 -j ACCEPT\n\
         -A INPUT -p icmp -m conntrack --ctstate RELATED -m conntrack --ctexpire 28 -j ACCEPT\n\
         COMMIT\n",
    );
    let mut e = engine(&l);
    e.process(&udp(1, 0, (HOST, 33333), (r, 53), 40));
    let o = e.process(&icmp(2, 1_002, r, HOST, 3, 3, 0, Some(inner)));
    assert_eq!((v(&o), o.certain), ("ACCEPT", true), "{o:?}");
    assert!(
        o.reason
            .as_deref()
            .unwrap_or("")
            .contains("the rule deciding it is not"),
        "{o:?}"
    );
    // Rules 1 and 2 may have counted it (lower bounds), the policy may not have (upper).
    assert!(e.rule_counter_doubt(0, 0, 0) && e.rule_counter_doubt(0, 0, 1));
    assert!(e.policy_counter_over(0, 0));
    assert_eq!(e.policy_counters(0, 0).packets, 1);
    // A packet whose time left is certain leaves exact counters behind it.
    assert!(!e.rule_counter_over(0, 0, 0));
}

/// A capture that starts while the host is busy holds answers to requests sent before it: a
/// DNS reply, an echo reply. With `--conntrack-start unknown` (the default) the kernel may
/// have tracked their requests (ESTABLISHED) or not (NEW, INVALID): where a conntrack rule
/// answers the two differently the verdict is uncertain — within the connection's longest
/// timeout of the capture's start (UDP `udp_stream` 120 s, ICMP 30 s), for packets read from a
/// capture file; constructed traffic and `--conntrack-start empty` start fresh, certain.
#[test]
fn replies_at_the_start_of_a_capture_may_answer_requests_before_it() {
    use fwcheck::engine::{Engine, SimEnv, SimOptions};
    let l = rules(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
    );
    let run = |capture_file: bool, empty: bool| {
        let mut e = Engine::new(
            &l.ruleset,
            SimOptions {
                env: SimEnv {
                    hosts: vec![ip(HOST)],
                    conntrack_empty_at_start: empty,
                    ..SimEnv::default()
                },
                recognise_answers: false,
                capture_file,
                ..SimOptions::default()
            },
        );
        let r = "192.0.2.53";
        [
            e.process(&udp(1, 0, (r, 53), (HOST, 40000), 40)),
            e.process(&icmp(2, 100, r, HOST, 0, 0, 9, None)),
            // A request seen in the capture: its reply is certain.
            e.process(&icmp(3, 200, HOST, r, 8, 0, 10, None)),
            e.process(&icmp(4, 300, r, HOST, 0, 0, 10, None)),
            // Past the timeouts nothing from before the capture is left.
            e.process(&icmp(5, 31_000, r, HOST, 0, 0, 11, None)),
            e.process(&udp(6, 121_000, (r, 53), (HOST, 40001), 40)),
        ]
        .map(|o| (v(&o), st(&o), o.certain))
    };
    assert_eq!(
        run(true, false),
        [
            ("DROP", "NEW", false),
            ("DROP", "INVALID", false),
            ("ACCEPT", "NEW", true),
            ("ACCEPT", "ESTABLISHED", true),
            ("DROP", "INVALID", true),
            ("DROP", "NEW", true),
        ]
    );
    for (capture_file, empty) in [(false, false), (true, true)] {
        let got = run(capture_file, empty);
        assert!(got.iter().all(|g| g.2), "{capture_file} {empty}: {got:?}");
        assert_eq!((got[0].0, got[1].0), ("DROP", "DROP"));
    }
}

/// A capture with a short snap length (`tcpdump -s 68`, the old default) cuts a Linux SYN's
/// options before its window scale: fwcheck then tracks the connection's windows unscaled
/// (the narrowest), and finds data the kernel, with the scale, takes in window "over the
/// window". Out-of-window answers of such a connection are uncertain (kernel hunt: a `-s 68`
/// capture of a busy server gave 2,213 certain INVALID where the kernel saw none); with the
/// options whole, the same segment is a certain INVALID.
#[test]
fn a_syn_whose_options_the_capture_cut_leaves_the_windows_unknown() {
    let l = rules(STRICT_80);
    let run = |cut: bool| {
        let mut e = engine(&l);
        let with = |mut p: fwcheck::packet::Packet, window: u16| {
            if let fwcheck::packet::L4::Tcp(t) = &mut p.l4 {
                if t.flags & fwcheck::packet::tcp_flags::SYN != 0 {
                    t.doff = 10;
                    t.options.cut = cut;
                    p.ip_len += 20;
                }
                t.window = window;
            }
            p
        };
        let syn = with(tcp(1, 0, (C, 40000), (HOST, 80), "S", 1000, 0, 0), 64240);
        let synack = with(tcp(2, 1, (HOST, 80), (C, 40000), "SA", 5000, 1001, 0), 100);
        let ack = with(tcp(3, 2, (C, 40000), (HOST, 80), "A", 1001, 5001, 0), 502);
        let d1 = with(
            tcp(4, 3, (C, 40000), (HOST, 80), "PA", 1001, 5001, 1000),
            502,
        );
        let d2 = with(
            tcp(5, 4, (C, 40000), (HOST, 80), "PA", 2001, 5001, 1000),
            502,
        );
        for p in [syn, synack, ack, d1] {
            let o = e.process(&p);
            assert_eq!(v(&o), "ACCEPT", "{o:?}");
        }
        let o = e.process(&d2);
        (v(&o), st(&o), o.certain)
    };
    assert_eq!(run(false), ("DROP", "INVALID", true));
    assert_eq!(run(true), ("DROP", "INVALID", false));
}

/// A capture that missed a frame (tcpdump drops frames under load: "packets dropped by
/// kernel") shows the peer acknowledging data it does not hold. The kernel saw that data and
/// took the ACK; fwcheck cannot tell a missed frame from a forged ACK, so the ACK is uncertain,
/// not a certain INVALID (kernel hunt: a `-i any` capture that dropped 983 frames gave 46
/// certain INVALID drops the kernel never made). With the frame in the capture, the ACK is
/// ESTABLISHED, certain.
#[test]
fn an_ack_of_data_the_capture_missed_is_uncertain() {
    let l = rules(STRICT_80);
    let run = |missed: bool| {
        let mut e = engine(&l);
        let mut frames = vec![
            tcp(1, 0, (C, 40000), (HOST, 80), "S", 1000, 0, 0),
            tcp(2, 1, (HOST, 80), (C, 40000), "SA", 5000, 1001, 0),
            tcp(3, 2, (C, 40000), (HOST, 80), "A", 1001, 5001, 0),
            tcp(4, 3, (HOST, 80), (C, 40000), "A", 5001, 1001, 1000),
        ];
        if !missed {
            frames.push(tcp(5, 4, (HOST, 80), (C, 40000), "PA", 6001, 1001, 1000));
        }
        for p in &frames {
            let o = e.process(p);
            assert_eq!((v(&o), o.certain), ("ACCEPT", true), "{o:?}");
        }
        let ack = tcp(6, 5, (C, 40000), (HOST, 80), "A", 1001, 7001, 0);
        let o = e.process(&ack);
        (v(&o), st(&o), o.certain)
    };
    assert_eq!(run(false), ("ACCEPT", "ESTABLISHED", true));
    let (_, state, certain) = run(true);
    assert!(!certain, "the ACK of the missed data: {state}, certain");
}

/// `tcpdump -s 54` keeps an ICMP "fragmentation needed" message's own header but not the
/// packet it quotes: the kernel read the whole message and found the connection (RELATED);
/// fwcheck cannot, and says so instead of calling it INVALID for certain (kernel hunt: path
/// MTU messages reported dropped by `--ctstate INVALID -j DROP`). A message that really
/// quotes nothing usable stays a certain INVALID.
#[test]
fn an_icmp_error_whose_quote_the_capture_cut_is_uncertain() {
    let l = rules(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m conntrack --ctstate INVALID -j DROP\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n",
    );
    let r = "192.0.2.53";
    for cut in [false, true] {
        let mut e = engine(&l);
        e.process(&udp(1, 0, (HOST, 33333), (r, 53), 40));
        let mut err = icmp(2, 5, r, HOST, 3, 4, 0, None);
        if cut {
            err.anomalies = fwcheck::packet::Anomalies::CAP_TRUNCATED;
        }
        let o = e.process(&err);
        assert_eq!(
            (v(&o), st(&o), o.certain),
            ("DROP", "INVALID", !cut),
            "{o:?}"
        );
    }
}

/// A TCP connection whose SYN the capture showed cannot have been tracked before the capture:
/// after its entry is gone (here reset, then 10 s in CLOSE), a later segment is picked up
/// mid-stream in the kernel as here — certain, not "may have been tracked already" (a kernel
/// hunt's zero-window lab had 678 of 838 frames uncertain that way, every one agreeing with
/// the kernel under `--conntrack-start empty`).
#[test]
fn a_connection_whose_syn_was_seen_is_never_older_than_the_capture() {
    use fwcheck::engine::{Engine, SimEnv, SimOptions};
    let l = rules(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p tcp ! --syn -m conntrack --ctstate NEW -j DROP\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
    );
    let mut e = Engine::new(
        &l.ruleset,
        SimOptions {
            env: SimEnv {
                hosts: vec![ip(HOST)],
                ..SimEnv::default()
            },
            recognise_answers: false,
            ..SimOptions::default()
        },
    );
    let c = (C, 40000);
    for p in [
        tcp(1, 0, c, (HOST, 22), "S", 1000, 0, 0),
        tcp(2, 1, (HOST, 22), c, "SA", 5000, 1001, 0),
        tcp(3, 2, c, (HOST, 22), "A", 1001, 5001, 0),
        tcp(4, 3, c, (HOST, 22), "R", 1001, 0, 0),
    ] {
        let o = e.process(&p);
        assert!(o.certain, "{o:?}");
    }
    let o = e.process(&tcp(5, 11_000, c, (HOST, 22), "PA", 1001, 5001, 10));
    assert_eq!((v(&o), st(&o), o.certain), ("DROP", "NEW", true), "{o:?}");
}

/// The quote of the host's DNS query from port 33333 to `r` in an ICMP error about it.
fn quoted_query(r: &str) -> fwcheck::packet::InnerPacket {
    fwcheck::packet::InnerPacket {
        family: fwcheck::packet::Family::V4,
        src: ip(HOST),
        dst: ip(r),
        proto: 17,
        frag_offset: 0,
        ports: Some((33333, 53)),
        icmp: None,
        tcp_seq: None,
        l4_len: 8,
    }
}

/// `-j QUEUE` (queue 0) and `-j NFQUEUE` hand the packet to a userspace listener the capture
/// does not show: without one the kernel drops it (`--queue-bypass`: accepts it for the
/// table), which fwcheck takes, uncertain, with the listener's other answer as the alternative
/// (`tests/kernel_targets.rs` checks the no-listener answers against the kernel).
#[test]
fn queued_packets_are_uncertain() {
    let l = rules(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p tcp --dport 22 -j QUEUE\n\
         -A INPUT -p tcp --dport 80 -j NFQUEUE --queue-num 5\n\
         -A INPUT -p tcp --dport 443 -j NFQUEUE --queue-num 5 --queue-bypass\n\
         -A INPUT -p tcp --dport 443 -j DROP\nCOMMIT\n",
    );
    let packets = vec![
        tcp(1, 0, (C, 40000), (HOST, 22), "S", 1000, 0, 0),
        tcp(2, 10, (C, 40001), (HOST, 80), "S", 1000, 0, 0),
        tcp(3, 20, (C, 40002), (HOST, 443), "S", 1000, 0, 0),
        tcp(4, 30, (C, 40003), (HOST, 25), "S", 1000, 0, 0),
    ];
    let mut e = engine(&l);
    let got: Vec<_> = packets
        .iter()
        .map(|p| {
            let o = e.process(p);
            (
                v(&o),
                o.certain,
                o.reason.unwrap_or_default().contains("listener"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("DROP", false, true),
            ("DROP", false, true),
            ("ACCEPT", false, true),
            ("ACCEPT", true, false),
        ]
    );
    let sim = fwcheck::engine::SimOptions {
        env: fwcheck::engine::SimEnv {
            hosts: vec![ip(HOST)],
            ..Default::default()
        },
        ..Default::default()
    };
    let traced = fwcheck::trace::trace_packets(&l.ruleset, sim, packets);
    let alts: Vec<Vec<_>> = traced
        .iter()
        .map(|t| t.record.alternatives.iter().map(|a| a.verdict).collect())
        .collect();
    assert_eq!(
        alts,
        [
            vec![Some("ACCEPT")],
            vec![Some("ACCEPT")],
            vec![Some("DROP")],
            vec![]
        ]
    );
}

/// A DNS flood from fresh source ports into `-m hashlimit --hashlimit-above 10/sec
/// --hashlimit-burst 10` behind an ESTABLISHED accept, each accepted query answered by the host:
/// near each refill the answer depends on the kernel's clock phase (uncertain), and the host's
/// answer to such a query inherits its connection's doubt. The answer leaves through an OUTPUT
/// that meets no state, so it raises no doubt of its own on the client's address: the bucket
/// (kept per clock phase) still decides the queries between refills (DROP) and the one after a
/// long pause (ACCEPT, the bucket full in every phase) for certain. With a stateful rule on the
/// way out the answer's doubt is the client's address's again, and the later queries are
/// uncertain. Kernel hunt (recorded lab `guide-bruteforce`): 40 queries 5 ms apart, 12
/// accepted; fwcheck had left 33 verdicts uncertain, the last ones 14 s later.
#[test]
fn a_hashlimit_answer_echoed_by_the_host_leaves_later_queries_certain() {
    let ruleset = |output: &str| {
        rules(&format!(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\n\
             -A INPUT -p udp --dport 53 -m hashlimit --hashlimit-mode srcip --hashlimit-above \
             10/sec --hashlimit-burst 10 --hashlimit-name dns -j DROP\n\
             -A INPUT -p udp --dport 53 -j ACCEPT\n{output}COMMIT\n"
        ))
    };
    // Time stamps in microseconds: 40 queries 5.2 ms apart, one 14 s later.
    let at = |p: fwcheck::packet::Packet, us: u64| fwcheck::packet::Packet {
        ts: fwcheck::packet::Timestamp(1_700_000_000_000_000_000 + us * 1000),
        ..p
    };
    let run = |l: &fwcheck::lint::Loaded| {
        let mut e = engine(l);
        let (mut frame, mut out) = (0u64, Vec::new());
        let times = (0..40u64).map(|i| i * 5_200).chain([14_000_000]);
        for (i, us) in times.enumerate() {
            frame += 1;
            let port = 30_000 + i as u16;
            let o = e.process(&at(udp(frame, 0, (C, port), (HOST, 53), 40), us));
            // The server answers what it received (on an uncertain verdict, fwcheck's guess).
            if v(&o) == "ACCEPT" {
                frame += 1;
                e.process(&at(udp(frame, 0, (HOST, 53), (C, port), 60), us + 100));
            }
            out.push((us / 1000, v(&o), o.certain));
        }
        out
    };
    let quiet = run(&ruleset(""));
    let undecided: Vec<_> = quiet.iter().filter(|q| !q.2).collect();
    assert!(!undecided.is_empty() && undecided.len() <= 6, "{quiet:?}");
    // The burst, then drops until the first refill (100 ms): certain.
    assert!(
        quiet[..10].iter().all(|q| q.1 == "ACCEPT" && q.2),
        "{quiet:?}"
    );
    assert!(
        quiet[10..18].iter().all(|q| q.1 == "DROP" && q.2),
        "{quiet:?}"
    );
    // Between the refills (about 100 ms and 200 ms) every phase drops.
    assert!(
        quiet[24..36].iter().all(|q| q.1 == "DROP" && q.2),
        "{quiet:?}"
    );
    assert_eq!(quiet[40], (14_000, "ACCEPT", true));
    // A limit in OUTPUT: the answer's own path may differ in the kernel; doubt reaches the
    // client's bucket, and its later queries are uncertain.
    let stateful = run(&ruleset("-A OUTPUT -m limit --limit 100/sec -j ACCEPT\n"));
    assert!(!stateful[40].2, "{stateful:?}");
}
