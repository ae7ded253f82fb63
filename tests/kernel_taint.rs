//! Uncertainty through connection state, against the kernel: a verdict that depends on an
//! earlier uncertain one must not be reported certain.
//!
//! The host opens a connection from a socket fwcheck cannot know the owner of (`-m owner`):
//! the SYN's verdict is uncertain. The SYN/ACK that answers it is judged by conntrack state the
//! SYN left behind, so it is uncertain too — before, fwcheck said a *certain* DROP (INVALID, a
//! new connection without SYN). The kernel's oracle sends outbound packets from a root socket,
//! so there the owner rule matches, the SYN leaves and the SYN/ACK is ESTABLISHED and
//! accepted: a certain DROP would have been wrong.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::{compare, Status};
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A OUTPUT -p tcp -m owner --uid-owner 0 -j ACCEPT\n\
COMMIT\n";

fn uncertainty_follows_the_connection() {
    let (h, c) = (HOST, CLIENT);
    let frames = [
        tcp4(h, c, 40000, 443, 1000, 0, SYN, 1),
        tcp4(c, h, 443, 40000, 5000, 1001, SYN | ACK, 2),
        tcp4(h, c, 40000, 443, 1001, 5001, ACK, 3),
    ];
    let decoded = decoded(&frames);
    let loaded = load_str("owner.rules", RULES, ParseOptions::default());
    assert!(!loaded.has_errors());
    let sim = host_sim();
    let cmp = compare(&loaded, decoded, sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    // The kernel: every packet passes (owner uid 0 matched the oracle's root socket).
    let kernel: Vec<_> = cmp.frames.iter().map(|f| f.kernel).collect();
    assert_eq!(kernel, [Some("ACCEPT"); 3], "{}", cmp.render(true));
    // fwcheck: none of them certain, and the SYN/ACK names frame 1 as the cause.
    for f in &cmp.frames {
        assert!(
            !f.fwcheck_certain,
            "frame {} claimed certain: {}",
            f.frame,
            f.line()
        );
        assert_eq!(f.status, Status::Uncertain, "{}", f.line());
    }
    let why = cmp.frames[1].fwcheck_reason.as_deref().unwrap_or("");
    assert!(why.contains("frame 1 was uncertain"), "{why}");
    assert!(why.contains("owner"), "{why}");
}

/// `--socket-owner 0` tells fwcheck what the capture cannot: the oracle's raw socket is root's,
/// and with that every verdict is certain and the kernel's.
fn socket_owner_makes_owner_exact() {
    let (h, c) = (HOST, CLIENT);
    let frames = [
        tcp4(h, c, 40000, 443, 1000, 0, SYN, 1),
        tcp4(c, h, 443, 40000, 5000, 1001, SYN | ACK, 2),
        tcp4(h, c, 40000, 443, 1001, 5001, ACK, 3),
    ];
    let decoded: Vec<_> = decoded(&frames);
    let loaded = load_str("owner.rules", RULES, ParseOptions::default());
    for spec in ["0", "0:0", "tcp */443=0"] {
        let sim = SimOptions {
            env: SimEnv {
                hosts: vec![h.into()],
                socket_owners: vec![fwcheck::engine::SocketOwner::parse(spec).unwrap()],
                ..SimEnv::default()
            },
            ..SimOptions::default()
        };
        let cmp =
            compare(&loaded, decoded.clone(), sim, Pacing::AsFastAsPossible).expect("compare");
        assert_eq!(cmp.mismatches, 0, "{spec}: {}", cmp.render(true));
        for f in &cmp.frames {
            assert!(f.fwcheck_certain, "{spec}: frame {}: {}", f.frame, f.line());
            assert_eq!(f.status, Status::Match, "{spec}: {}", f.line());
        }
    }
}

/// Doubt travels through address-keyed state too: the host's DNS query goes out by an `-m
/// owner` rule fwcheck cannot decide, so whether the next rule's `recent --set` ran is
/// uncertain (in the kernel the owner rule matched the oracle's root socket and it did not).
/// The verdict of the query is ACCEPT either way (certain), but the answer's `--rcheck` of
/// that list is not: before, fwcheck said a certain ACCEPT where the kernel drops.
fn uncertainty_follows_recent_lists() {
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p udp -m recent --rcheck --name out --rsource -j ACCEPT\n\
-A OUTPUT -p udp -m owner --uid-owner 0 -j ACCEPT\n\
-A OUTPUT -p udp -m recent --set --name out --rdest -j ACCEPT\nCOMMIT\n";
    let (h, c) = (HOST, CLIENT);
    let frames = [
        udp4(h, c, 40000, 53, 1, b"query"),
        udp4(c, h, 5353, 41000, 2, b"unrelated"),
        udp4(ip4("198.51.100.8"), h, 5353, 41000, 3, b"another peer"),
    ];
    let loaded = load_str("recent-owner.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors());
    let sim = host_sim();
    let cmp = compare(&loaded, decoded(&frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<_> = cmp.frames.iter().map(|f| f.kernel).collect();
    assert_eq!(
        kernel,
        [Some("ACCEPT"), Some("DROP"), Some("DROP")],
        "{}",
        cmp.render(false)
    );
    assert!(cmp.frames[0].fwcheck_certain, "{}", cmp.frames[0].line());
    assert!(!cmp.frames[1].fwcheck_certain, "{}", cmp.frames[1].line());
    let why = cmp.frames[1].fwcheck_reason.as_deref().unwrap_or("");
    assert!(why.contains("recent"), "{why}");
    // A peer the query never named is certain.
    assert!(cmp.frames[2].fwcheck_certain, "{}", cmp.frames[2].line());
}

/// Doubt travels through `limit` buckets: a packet that met a match fwcheck could not decide
/// may have left, in the kernel, a token the model took (here the root socket makes the owner
/// rule match, so the first datagram never reaches the limit). The next datagram, which meets
/// no undecidable match, is then uncertain where it was a wrong certain DROP; once the bucket
/// has refilled in every world, the third is certain again. Replayed in real time (10/s, burst
/// 1: a token every 100 ms).
fn uncertainty_follows_limit_buckets() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
-A OUTPUT -d 198.51.100.7/32 -p udp -m owner --uid-owner 0 -j ACCEPT\n\
-A OUTPUT -p udp -m limit --limit 10/sec --limit-burst 1 -j ACCEPT\nCOMMIT\n";
    let h = HOST;
    let frames: [(u64, Vec<u8>); 3] = [
        (0, udp4(h, ip4("198.51.100.7"), 40000, 53, 1, b"a")),
        (20_000_000, udp4(h, ip4("198.51.100.8"), 40001, 53, 2, b"b")),
        (
            600_000_000,
            udp4(h, ip4("198.51.100.9"), 40002, 53, 3, b"c"),
        ),
    ];
    let base = 1_700_000_000_000_000_000u64;
    let mut packets = decoded(frames.iter().map(|f| &f.1));
    for (p, (t, _)) in packets.iter_mut().zip(&frames) {
        if let Ok(p) = p {
            p.ts = fwcheck::packet::Timestamp(base + t);
        }
    }
    let loaded = load_str("limit-owner.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors());
    let sim = host_sim();
    let cmp = compare(&loaded, packets, sim, Pacing::Realtime { speed: 1.0 }).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<_> = cmp.frames.iter().map(|f| f.kernel).collect();
    assert_eq!(
        kernel,
        [Some("ACCEPT"), Some("ACCEPT"), Some("ACCEPT")],
        "{}",
        cmp.render(false)
    );
    assert!(cmp.frames[0].fwcheck_certain, "{}", cmp.frames[0].line());
    assert!(!cmp.frames[1].fwcheck_certain, "{}", cmp.frames[1].line());
    let why = cmp.frames[1].fwcheck_reason.as_deref().unwrap_or("");
    assert!(why.contains("limit"), "{why}");
    assert!(cmp.frames[2].fwcheck_certain, "{}", cmp.frames[2].line());
}

/// `statistic --mode nth` counters: the first datagram is accepted either way (by `-m owner`,
/// which fwcheck cannot decide, or by the nth rule), but only in one world does it advance the
/// nth counter. The kernel's owner rule matches (a root socket), so its counter starts at the
/// second datagram: ACCEPT, then DROP. Before, fwcheck said a certain DROP, then a certain
/// ACCEPT — both wrong; the counter is unknown from then on.
fn uncertainty_follows_nth_counters() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A OUTPUT -d 198.51.100.7/32 -p udp -m owner --uid-owner 0 -j ACCEPT\n\
-A OUTPUT -p udp -m statistic --mode nth --every 2 --packet 0 -j ACCEPT\n\
-A OUTPUT -p udp -j DROP\nCOMMIT\n";
    let h = HOST;
    let frames = [
        udp4(h, ip4("198.51.100.7"), 40000, 53, 1, b"a"),
        udp4(h, ip4("198.51.100.8"), 40001, 53, 2, b"b"),
        udp4(h, ip4("198.51.100.9"), 40002, 53, 3, b"c"),
    ];
    let loaded = load_str("nth-owner.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors());
    let sim = host_sim();
    let cmp = compare(&loaded, decoded(&frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<_> = cmp.frames.iter().map(|f| f.kernel).collect();
    assert_eq!(
        kernel,
        [Some("ACCEPT"), Some("ACCEPT"), Some("DROP")],
        "{}",
        cmp.render(false)
    );
    let certain: Vec<_> = cmp.frames.iter().map(|f| f.fwcheck_certain).collect();
    assert_eq!(certain, [true, false, false], "{}", cmp.render(false));
    let why = cmp.frames[1].fwcheck_reason.as_deref().unwrap_or("");
    assert!(why.contains("nth"), "{why}");
}

/// The same through an ICMP echo: the host's ping leaves by an owner rule fwcheck cannot
/// decide; the reply carries the request's id, finds its connection (ESTABLISHED in the
/// kernel) and must inherit the doubt (before, fwcheck keyed the doubt by the request's id on
/// one end only, and called the reply a certain DROP: a reply without a request, NEW).
fn uncertainty_follows_an_echo() {
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A OUTPUT -p icmp -m owner --uid-owner 0 -j ACCEPT\n\
COMMIT\n";
    let frames = [ping4(HOST, CLIENT, false, 1), ping4(CLIENT, HOST, true, 1)];
    let loaded = load_str("echo.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors());
    let cmp = compare(
        &loaded,
        decoded(&frames),
        host_sim(),
        Pacing::AsFastAsPossible,
    )
    .expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<_> = cmp.frames.iter().map(|f| f.kernel).collect();
    assert_eq!(kernel, [Some("ACCEPT"); 2], "{}", cmp.render(true));
    for f in &cmp.frames {
        assert_eq!(f.status, Status::Uncertain, "{}", f.line());
    }
    let why = cmp.frames[1].fwcheck_reason.as_deref().unwrap_or("");
    assert!(why.contains("frame 1 was uncertain"), "{why}");
}

fn ip4(s: &str) -> std::net::Ipv4Addr {
    s.parse().unwrap()
}

kernel_tests!(
    uncertainty_follows_the_connection,
    socket_owner_makes_owner_exact,
    uncertainty_follows_recent_lists,
    uncertainty_follows_limit_buckets,
    uncertainty_follows_nth_counters,
    uncertainty_follows_an_echo
);
