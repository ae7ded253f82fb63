//! SNAT port choice against the kernel (`get_unique_tuple`, `nf_nat_used_tuple`): two inside
//! hosts open connections from the same source port through one MASQUERADE address. The first
//! keeps its port; the second's tuple is taken, so the kernel gives it another port, picked at
//! random: fwcheck accepts it, uncertain which port, never certain of a port it cannot know.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::{compare, Comparison};
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const RULES: &str = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE\nCOMMIT\n\
*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A FORWARD -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT\nCOMMIT\n";

/// `frames` through `rules` on a router, beside the kernel: no certain verdict differs, and
/// the kernel forwards all three frames.
fn through_the_router(name: &str, rules: &str, frames: &[Vec<u8>]) -> Comparison {
    let loaded = load_str(name, rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: host(),
            ..SimEnv::default()
        },
        router: true,
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<_> = cmp.frames.iter().map(|f| f.kernel.unwrap_or("-")).collect();
    assert_eq!(
        kernel,
        ["ACCEPT", "ACCEPT", "ACCEPT"],
        "{}",
        cmp.render(false)
    );
    cmp
}

fn a_taken_source_port_is_replaced() {
    let server = CLIENT;
    let frames = [
        tcp4(
            "10.0.0.1".parse().unwrap(),
            server,
            40000,
            80,
            1000,
            0,
            SYN,
            1,
        ),
        tcp4(
            "10.0.0.2".parse().unwrap(),
            server,
            40000,
            80,
            2000,
            0,
            SYN,
            2,
        ),
        // The server answers the first: un-NATed to 10.0.0.1.
        tcp4(server, HOST, 80, 40000, 5000, 1001, SYN | ACK, 3),
    ];
    let cmp = through_the_router("masq.rules", RULES, &frames);
    let f = &cmp.frames;
    assert!(
        f[0].fwcheck_certain && f[2].fwcheck_certain,
        "{}",
        cmp.render(false)
    );
    assert!(!f[1].fwcheck_certain, "{}", f[1].line());
    assert!(
        f[1].fwcheck_reason
            .as_deref()
            .unwrap_or("")
            .contains("port"),
        "{}",
        f[1].line()
    );
    // The kernel kept the first port and changed the second.
    let note = |i: usize| f[i].kernel_note.clone().unwrap_or_default();
    eprintln!("kernel notes: {:?} / {:?}", note(0), note(1));
    assert!(
        !note(0).contains(":40000 ->") || note(0).contains("40000"),
        "{}",
        note(0)
    );
    assert!(
        note(1).contains("sport") || note(1).contains("port"),
        "{}",
        note(1)
    );
}

/// Doubt through NAT bindings. The first inside host's SYN passes a rule fwcheck cannot decide
/// (`-m statistic --mode random --probability 0.99999999`: the kernel lets it through, all but
/// once in 10^8); fwcheck drops it, uncertain. The second inside host then opens a connection
/// from the same port: fwcheck keeps the port, but the kernel's binding for the first holds it,
/// so the kernel picks another. The server's answer to that port is the first connection's in
/// the kernel (to 10.0.0.1, accepted) and the second's in fwcheck (to 10.0.0.2, which a rule
/// drops): before, a wrong certain DROP; now the binding is in doubt and so is the answer.
fn a_port_an_uncertain_packet_may_hold_is_in_doubt() {
    let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE\nCOMMIT\n\
*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A FORWARD -d 10.0.0.1/32 -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
-A FORWARD -s 10.0.0.1/32 -m statistic --mode random --probability 0.99999999 -j ACCEPT\n\
-A FORWARD -s 10.0.0.2/32 -j ACCEPT\nCOMMIT\n";
    let server = CLIENT;
    let frames = [
        tcp4(
            "10.0.0.1".parse().unwrap(),
            server,
            40000,
            80,
            1000,
            0,
            SYN,
            1,
        ),
        tcp4(
            "10.0.0.2".parse().unwrap(),
            server,
            40000,
            80,
            2000,
            0,
            SYN,
            2,
        ),
        tcp4(server, HOST, 80, 40000, 5000, 1001, SYN | ACK, 3),
    ];
    let cmp = through_the_router("masq-doubt.rules", rules, &frames);
    let f = &cmp.frames;
    assert!(!f[0].fwcheck_certain, "{}", f[0].line());
    assert!(!f[1].fwcheck_certain, "{}", f[1].line());
    assert!(
        f[1].fwcheck_reason
            .as_deref()
            .unwrap_or("")
            .contains("may hold this port"),
        "{}",
        f[1].line()
    );
    assert!(!f[2].fwcheck_certain, "{}", f[2].line());
}

/// The null binding (`nf_nat_alloc_null_binding`): with a nat table loaded, a connection no
/// rule binds still gets a reply tuple the table does not hold. A client's connection to the
/// router's port 8080 is DNATed to an inside server; the router itself then sends from its
/// port 8080 to that client's port — whose reply tuple is the first connection's original one.
/// The kernel gives the router's packet another source port, picked at random (found by
/// `kernel_random`, seed 30930): fwcheck accepts it, uncertain, and the answer to it too.
fn the_null_binding_makes_the_reply_unique() {
    let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        :POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 198.51.100.8:80\nCOMMIT\n\
        *filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let c: std::net::Ipv4Addr = "203.0.113.5".parse().unwrap();
    let frames = [
        tcp4(c, HOST, 40001, 8080, 1000, 0, SYN, 1),
        tcp4(HOST, c, 8080, 40001, 300, 0, SYN, 2),
        tcp4(c, HOST, 40001, 8080, 900, 301, SYN | ACK, 3),
    ];
    let cmp = through_the_router("null.rules", rules, &frames);
    let f = &cmp.frames;
    assert!(f[0].fwcheck_certain, "{}", f[0].line());
    assert!(!f[1].fwcheck_certain, "{}", f[1].line());
    assert!(
        f[1].fwcheck_reason
            .as_deref()
            .unwrap_or("")
            .contains("unique reply"),
        "{}",
        f[1].line()
    );
    assert!(
        f[1].kernel_note
            .as_deref()
            .unwrap_or("")
            .contains("sport 8080->"),
        "the kernel kept the port: {}",
        f[1].line()
    );
}

/// ICMP echo through MASQUERADE: the id stands for the port (`nf_nat_l4proto_unique_tuple`).
/// Two inside hosts ping the server with one id: the first keeps it, the second's tuple is
/// taken and the kernel gives it a random id — uncertain in fwcheck (before, it kept the id
/// and judged the server's reply to the kernel's id as nobody's). The server's reply with the
/// first's id is the first connection's, certain: the kernel never hands a tuple in use.
fn a_taken_icmp_id_is_replaced() {
    let server = CLIENT;
    let frames = [
        ping4("10.0.0.1".parse().unwrap(), server, false, 1),
        ping4("10.0.0.2".parse().unwrap(), server, false, 2),
        ping4(server, HOST, true, 1),
    ];
    let cmp = through_the_router("masq-icmp.rules", RULES, &frames);
    let f = &cmp.frames;
    assert!(f[0].fwcheck_certain, "{}", f[0].line());
    assert!(!f[1].fwcheck_certain, "{}", f[1].line());
    let why = f[1].fwcheck_reason.as_deref().unwrap_or("");
    assert!(why.contains("ICMP id"), "{}", f[1].line());
    assert!(f[2].fwcheck_certain, "{}", f[2].line());
}

/// A one-port MASQUERADE range (`--to-ports 50000`) against the kernel. The first inside host's
/// connection takes the port and closes (TIME_WAIT). A second host's SYN from another port
/// (outside the range: `nf_nat_l4proto_unique_tuple`, whose last tries may evict a closing
/// connection, `nf_nat_used_tuple_harder`) with a sequence number behind the old connection's
/// gets the taken port: its connection clashes at confirmation and the kernel drops it. A SYN
/// past the old sequence evicts the TIME_WAIT entry and takes the port (the server's answer is
/// un-NATed to it). A third host's SYN from port 50000 itself keeps it (in the range, one port:
/// no search, no eviction) and clashes with that live connection: dropped. Before, fwcheck
/// called every port of the range random (uncertain), and accepted the clashing SYNs, certain.
fn a_one_port_range_evicts_or_clashes() {
    let server = CLIENT;
    let a: std::net::Ipv4Addr = "10.0.0.1".parse().unwrap();
    let (b, c): (std::net::Ipv4Addr, std::net::Ipv4Addr) =
        ("10.0.0.2".parse().unwrap(), "10.0.0.3".parse().unwrap());
    let frames = [
        tcp4(a, server, 40000, 80, 1000, 0, SYN, 1),
        tcp4(server, HOST, 80, 50000, 5000, 1001, SYN | ACK, 2),
        tcp4(a, server, 40000, 80, 1001, 5001, ACK, 3),
        tcp4(a, server, 40000, 80, 1001, 5001, FIN | ACK, 4),
        tcp4(server, HOST, 80, 50000, 5001, 1002, FIN | ACK, 5),
        tcp4(a, server, 40000, 80, 1002, 5002, ACK, 6),
        tcp4(b, server, 40001, 80, 500, 0, SYN, 7),
        tcp4(b, server, 40002, 80, 900_000, 0, SYN, 8),
        tcp4(server, HOST, 80, 50000, 7000, 900_001, SYN | ACK, 9),
        tcp4(c, server, 50000, 80, 3000, 0, SYN, 10),
    ];
    let rules = RULES.replace("-j MASQUERADE", "-p tcp -j MASQUERADE --to-ports 50000");
    let loaded = load_str("masq-one-port.rules", &rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: host(),
            ..SimEnv::default()
        },
        router: true,
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(&frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<_> = cmp.frames.iter().map(|f| f.kernel.unwrap_or("-")).collect();
    let expected = [
        "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "DROP", "ACCEPT",
    ];
    assert_eq!(kernel[..8], expected, "{}", cmp.render(false));
    assert_eq!(kernel[8..], ["ACCEPT", "DROP"], "{}", cmp.render(false));
    for f in &cmp.frames {
        assert!(f.fwcheck_certain, "{}", f.line());
    }
}

/// The clash is only as certain as the connection clashed with: the first inside host's SYN
/// passes a DROP rule fwcheck cannot decide (`-m statistic --mode random --probability
/// 0.00000001`: the kernel lets it through, all but once in 10^8); fwcheck accepts it,
/// uncertain, and binds the one port of the range to it. The second host's SYN from that port
/// keeps it and clashes at confirmation: the kernel drops it, and fwcheck's DROP is uncertain
/// (had the kernel dropped the first SYN, the second would have passed).
fn a_clash_with_an_uncertain_connection_is_uncertain() {
    let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.0.0.0/8 -p tcp -j MASQUERADE --to-ports 50000\n\
COMMIT\n*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A FORWARD -s 10.0.0.1/32 -m statistic --mode random --probability 0.00000001 -j DROP\nCOMMIT\n";
    let server = CLIENT;
    let frames = [
        tcp4(
            "10.0.0.1".parse().unwrap(),
            server,
            50000,
            80,
            1000,
            0,
            SYN,
            1,
        ),
        tcp4(
            "10.0.0.2".parse().unwrap(),
            server,
            50000,
            80,
            2000,
            0,
            SYN,
            2,
        ),
        tcp4(server, HOST, 80, 50000, 5000, 1001, SYN | ACK, 3),
    ];
    let loaded = load_str("masq-clash-doubt.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: host(),
            ..SimEnv::default()
        },
        router: true,
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(&frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<_> = cmp.frames.iter().map(|f| f.kernel.unwrap_or("-")).collect();
    assert_eq!(
        kernel,
        ["ACCEPT", "DROP", "ACCEPT"],
        "{}",
        cmp.render(false)
    );
    let f = &cmp.frames;
    assert!(
        !f[0].fwcheck_certain && !f[1].fwcheck_certain,
        "{}",
        cmp.render(false)
    );
    let why = f[1].fwcheck_reason.as_deref().unwrap_or("");
    assert!(why.contains("clashes"), "{}", f[1].line());
}

/// A two-port MASQUERADE range whose first port went to a connection fwcheck is unsure of
/// (its SYN met an undecidable match): when both ports are taken, the third connection's clash
/// rests on that guess — had the kernel dropped the first SYN, a port would be free — so
/// fwcheck's DROP is uncertain, not a certain clash; the kernel drops it.
fn a_full_range_held_by_an_uncertain_connection_is_uncertain() {
    let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.0.0.0/8 -p tcp -j MASQUERADE --to-ports 50000-50001\n\
COMMIT\n*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A FORWARD -s 10.0.0.1/32 -m statistic --mode random --probability 0.00000001 -j DROP\nCOMMIT\n";
    let server = CLIENT;
    let syn = |src: &str, isn: u32, id: u16| {
        tcp4(src.parse().unwrap(), server, 40000, 80, isn, 0, SYN, id)
    };
    let frames = [
        syn("10.0.0.1", 1000, 1),
        syn("10.0.0.2", 2000, 2),
        syn("10.0.0.3", 3000, 3),
    ];
    let loaded = load_str("masq-full-doubt.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: host(),
            ..SimEnv::default()
        },
        router: true,
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(&frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<_> = cmp.frames.iter().map(|f| f.kernel.unwrap_or("-")).collect();
    assert_eq!(
        kernel,
        ["ACCEPT", "ACCEPT", "DROP"],
        "{}",
        cmp.render(false)
    );
    assert!(!cmp.frames[2].fwcheck_certain, "{}", cmp.render(false));
}

kernel_tests!(
    a_clash_with_an_uncertain_connection_is_uncertain,
    a_full_range_held_by_an_uncertain_connection_is_uncertain,
    a_one_port_range_evicts_or_clashes,
    a_taken_icmp_id_is_replaced,
    a_taken_source_port_is_replaced,
    a_port_an_uncertain_packet_may_hold_is_in_doubt,
    the_null_binding_makes_the_reply_unique
);
