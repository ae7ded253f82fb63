//! Certain disagreements a kernel hunt found (`kernel_random`'s generator extended with
//! fragment plans and rulesets without conntrack), each shrunk to a ruleset and a capture in
//! `tests/data/hunt/`, replayed through the kernel and fwcheck: no certain verdict may differ,
//! and each frame that differed is now the kernel's answer, certain, or uncertain where the
//! kernel's answer cannot be known offline.
//!
//! * `A-unknown-then-hotdrop` (IPv6 router): `! --syn` cannot be decided on a later fragment
//!   (iptables-nft's payload load, see `tests/kernel_frag6.rs`), `-m tcpmss` after it
//!   hot-drops, `-m multiport` after that says no. The kernel stops at the hot drop: a later
//!   match's "no" settles the rule only if nothing before it ends it first. Uncertain.
//! * `B-nft-ports-tinygram` (IPv4 and IPv6 routers), `B-nft-flags-tinygram16`: a first
//!   fragment holding 8 (16) bytes of TCP header; iptables-nft's loads read the ports (the
//!   flags at byte 13) where they are, where `xt_tcpudp` would want 20 bytes. DROP, certain.
//! * `B-tcpmss-target-seed9100228` (IPv4 host): the flags match such a fragment in mangle
//!   PREROUTING, and `TCPMSS` drops it (a TCP header shorter than 20 bytes): the datagram
//!   never completes.
//! * `C-hashlimit-v6-later-frag`: hashlimit's ports of an IPv6 later fragment are 0 and 0
//!   (`ipv6_skip_exthdr` stops at its Fragment header): it shares a bucket with another
//!   datagram's later fragment, over the limit.
//! * `D-tcp-fragoff-units` (IPv4 and IPv6 routers; found by `kernel_random` seed 8600280 with
//!   the widened generator): a TCP datagram's tail at byte 8 meets `-p tcp --tcp-option 4`
//!   (the whole match through `xt_tcpudp`'s `tcp_mt`, which hot-drops `fragoff == 1`). IPv4's
//!   `fragoff` counts 8-byte units: DROP. IPv6's counts bytes (`ipv6_find_hdr`), 8: no match,
//!   the policy forwards it.
//! * `E-ipset-timeout-subsecond` (IPv4 host, real time; found by `kernel_random`'s real-time
//!   IPv4 test, seed 9700002, with ipsets in the generator): `-j SET --add-set` into a set
//!   with `timeout 1` half a second into the capture; 0.8 s later the element is still there
//!   (`ip_set_timeout_expired` compares jiffies: it lives `timeout·HZ` jiffies from its
//!   addition), 1.2 s later gone. fwcheck counted whole seconds since the capture began and
//!   had it gone at 0.8 s, certain.
//! * `F-ecn-dead-head` (IPv4 host without conntrack; found by `kernel_random`'s fragments test,
//!   seed 91000060): a first fragment with ECT(0) and a last one Not-ECT complete a datagram
//!   the kernel discards (`ip_frag_ecn_table`: mixed codepoints); the same datagram again,
//!   both fragments Not-ECT, is reassembled with its own head's header and meets `-m ecn !
//!   --ecn-ip-ect 0` with ECT 0: no match, ACCEPT. fwcheck kept the discarded queue's head
//!   (ECT(0)) for the second datagram and REJECTed it, certain.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::IpAddr;
use std::path::Path;

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::packet::capture::CaptureReader;
use fwcheck::ruleset::ParseOptions;

/// Replays `tests/data/hunt/{rules}` with `{pcap}` through the kernel and fwcheck; returns
/// each frame's (kernel, fwcheck, fwcheck certain).
fn run(
    rules: &str,
    pcap: &str,
    host: &str,
    router: bool,
) -> Vec<(Option<&'static str>, Option<&'static str>, bool)> {
    run_with(rules, pcap, host, router, None, Pacing::AsFastAsPossible)
}

/// [`run`] with the host's ipsets (`tests/data/hunt/{ipsets}`, `ipset save` text) and a pacing.
fn run_with(
    rules: &str,
    pcap: &str,
    host: &str,
    router: bool,
    ipsets: Option<&str>,
    pacing: Pacing,
) -> Vec<(Option<&'static str>, Option<&'static str>, bool)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hunt");
    let text = std::fs::read_to_string(dir.join(rules)).expect("rules");
    let family = if rules.ends_with(".v6") {
        fwcheck::netfilter::Family::V6
    } else {
        fwcheck::netfilter::Family::V4
    };
    let opts = ParseOptions {
        family,
        ..ParseOptions::default()
    };
    let loaded = load_str(rules, &text, opts);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let packets: Vec<_> = CaptureReader::open(dir.join(pcap)).expect("pcap").collect();
    let ipsets = ipsets.map(|f| {
        let text = std::fs::read_to_string(dir.join(f)).expect("ipsets");
        std::sync::Arc::new(fwcheck::ext::ipset::IpSets::parse(&text).expect("ipsets"))
    });
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec![host.parse::<IpAddr>().unwrap()],
            ipsets,
            ..SimEnv::default()
        },
        router,
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, packets, sim, pacing).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{rules}: {}", cmp.render(true));
    cmp.frames
        .iter()
        .map(|f| (f.kernel, f.fwcheck, f.fwcheck_certain))
        .collect()
}

fn an_undecided_match_then_a_hot_drop_is_not_settled() {
    let got = run(
        "A-unknown-then-hotdrop.rules.v6",
        "A-unknown-then-hotdrop.pcap",
        "2001:db8:a::a",
        true,
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, Some("DROP"), "{got:?}");
    assert!(!got[0].2, "uncertain: {got:?}");
}

fn nft_loads_read_a_short_tcp_header_where_it_is() {
    for (rules, pcap, host) in [
        (
            "B-nft-ports-tinygram.rules.v4",
            "B-nft-ports-tinygram.v4.pcap",
            "192.0.2.10",
        ),
        (
            "B-nft-ports-tinygram.rules.v6",
            "B-nft-ports-tinygram.v6.pcap",
            "2001:db8:a::a",
        ),
        (
            "B-nft-flags-tinygram16.rules.v4",
            "B-nft-flags-tinygram16.v4.pcap",
            "192.0.2.10",
        ),
    ] {
        let got = run(rules, pcap, host, true);
        assert_eq!(got, [(Some("DROP"), Some("DROP"), true)], "{rules}");
    }
    let got = run(
        "B-tcpmss-target-seed9100228.rules.v4",
        "B-tcpmss-target-seed9100228.pcap",
        "192.0.2.10",
        false,
    );
    // The first fragment: the flags match, TCPMSS drops it, certain. (The later ones meet
    // the flags match as later fragments: uncertain, see `tests/kernel_frag6.rs`; none
    // completes a datagram.)
    assert_eq!(got[0], (Some("DROP"), Some("DROP"), true), "{got:?}");
    assert!(got.iter().all(|f| f.0 == Some("DROP")), "{got:?}");
}

fn hashlimit_ports_of_an_ipv6_later_fragment_are_zero() {
    let got = run(
        "C-hashlimit-v6-later-frag.rules.v6",
        "C-hashlimit-v6-later-frag.pcap",
        "2001:db8:a::a",
        true,
    );
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2], (Some("DROP"), Some("DROP"), true), "{got:?}");
}

fn tcp_hot_drops_a_fragment_at_offset_one_in_ipv4_units_only() {
    let v4 = run(
        "D-tcp-fragoff-units.rules.v4",
        "D-tcp-fragoff-units.v4.pcap",
        "192.0.2.10",
        true,
    );
    assert_eq!(v4, [(Some("DROP"), Some("DROP"), true)]);
    let v6 = run(
        "D-tcp-fragoff-units.rules.v6",
        "D-tcp-fragoff-units.v6.pcap",
        "2001:db8:a::a",
        true,
    );
    assert_eq!(v6, [(Some("ACCEPT"), Some("ACCEPT"), true)]);
}

fn an_ipset_element_lives_its_timeout_from_when_it_was_added() {
    let got = run_with(
        "E-ipset-timeout-subsecond.rules.v4",
        "E-ipset-timeout-subsecond.pcap",
        "192.0.2.10",
        false,
        Some("E-ipset-timeout-subsecond.ipset"),
        Pacing::Realtime { speed: 1.0 },
    );
    assert_eq!(
        got,
        [
            (Some("DROP"), Some("DROP"), true),     // 0 s: not in the set
            (Some("ACCEPT"), Some("ACCEPT"), true), // 0.5 s: --add-set, timeout 1
            (Some("ACCEPT"), Some("ACCEPT"), true), // 1.3 s: still there
            (Some("DROP"), Some("DROP"), true),     // 1.7 s: gone
        ]
    );
}

fn a_discarded_queue_leaves_no_head_to_the_next_datagram() {
    let got = run(
        "F-ecn-dead-head.rules.v4",
        "F-ecn-dead-head.pcap",
        "192.0.2.10",
        false,
    );
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[3], (Some("ACCEPT"), Some("ACCEPT"), true), "{got:?}");
}

kernel_tests!(
    a_discarded_queue_leaves_no_head_to_the_next_datagram,
    an_ipset_element_lives_its_timeout_from_when_it_was_added,
    tcp_hot_drops_a_fragment_at_offset_one_in_ipv4_units_only,
    an_undecided_match_then_a_hot_drop_is_not_settled,
    nft_loads_read_a_short_tcp_header_where_it_is,
    hashlimit_ports_of_an_ipv6_later_fragment_are_zero
);
