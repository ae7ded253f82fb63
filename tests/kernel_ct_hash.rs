//! The conntrack hash against the kernel, where fwcheck's table (`src/conntrack/table.rs`:
//! 4-byte items keyed by the entries' own tuples) has a choice to make: a connection whose
//! original and reply tuples are the same (a datagram from an address and port to itself)
//! is hashed under one tuple twice, and `__nf_conntrack_hash_insert` adds the reply's node
//! last, at the head of the chain, so a lookup finds the connection in the reply direction.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::{IpAddr, Ipv4Addr};

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

/// A router forwards UDP 198.51.100.7:5000 → 198.51.100.7:5000 three times: the first is NEW;
/// the next ones find the connection in the reply direction (`--ctdir REPLY`, dropped).
fn a_tuple_equal_to_its_reply_is_found_as_the_reply() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A FORWARD -p udp -m conntrack --ctstate ESTABLISHED --ctdir REPLY -j DROP\n\
        -A FORWARD -p udp -m conntrack --ctstate ESTABLISHED --ctdir ORIGINAL -j REJECT\nCOMMIT\n";
    let loaded = load_str("self.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let me = Ipv4Addr::new(198, 51, 100, 7);
    let frames: Vec<Vec<u8>> = (1..=3)
        .map(|id| udp4(me, me, 5000, 5000, id, b"x"))
        .collect();
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec![IpAddr::V4(HOST)],
            ..SimEnv::default()
        },
        router: true,
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(&frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let got: Vec<_> = cmp
        .frames
        .iter()
        .map(|f| (f.kernel.unwrap_or("-"), f.fwcheck_certain))
        .collect();
    assert_eq!(
        got,
        [("ACCEPT", true), ("DROP", true), ("DROP", true)],
        "{}",
        cmp.render(false)
    );
}

kernel_tests!(a_tuple_equal_to_its_reply_is_found_as_the_reply);
