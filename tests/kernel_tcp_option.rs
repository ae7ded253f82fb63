//! `-m tcp --tcp-option N` on option lists whatever their bytes say, against the kernel:
//! `tcp_find_option` walks on past an end-of-list, counts a zero length as one byte and jumps
//! by any other length, so an option is found (or not) where a well-formed parse would say
//! otherwise. Each list goes to ports with `--tcp-option 8`, `! --tcp-option 8` and `--tcp-option 2`;
//! fwcheck must give the kernel's verdict, certain, for both.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::IpAddr;

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p tcp -m tcp --dport 1001 --tcp-option 8 -j ACCEPT\n\
-A INPUT -p tcp -m tcp --dport 1002 ! --tcp-option 8 -j ACCEPT\n\
-A INPUT -p tcp -m tcp --dport 1003 --tcp-option 2 -j ACCEPT\nCOMMIT\n";

/// A SYN whose options area holds exactly `opts` (a multiple of 4 bytes).
fn syn_with(dport: u16, opts: &[u8], id: u16) -> Vec<u8> {
    assert_eq!(opts.len() % 4, 0);
    let (src, dst) = (IpAddr::V4(CLIENT), IpAddr::V4(HOST));
    let seg = tcp_seg_opts(src, dst, 40000 + id, dport, 1000, 0, SYN, opts, &[]);
    ipv4(CLIENT, HOST, 6, id, &seg)
}

fn option_walk_matches_the_kernel() {
    let lists: &[(&[u8], &str)] = &[
        (
            &[2, 4, 5, 180, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1],
            "well-formed MSS, timestamps",
        ),
        (
            &[0, 0, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
            "end of list, then a timestamp",
        ),
        (&[2, 0, 8, 0], "MSS with length 0 (one byte), then kind 8"),
        (&[2, 40, 8, 10], "a length past the end hides kind 8"),
        (&[3, 3, 1, 8], "window scale, then kind 8 in the last byte"),
        (&[5, 1, 8, 1], "SACK with length 1 (one byte), then kind 8"),
        (
            &[1, 1, 1, 9],
            "NOPs, then a kind whose length byte is past the end",
        ),
        (&[1, 1, 1, 1], "NOPs only"),
    ];
    let mut frames = Vec::new();
    let mut id = 1;
    for (opts, _) in lists {
        for port in [1001, 1002, 1003] {
            frames.push(syn_with(port, opts, id));
            id += 1;
        }
    }
    let loaded = load_str("tcp-option.rules", RULES, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: host(),
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(&frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    for (i, f) in cmp.frames.iter().enumerate() {
        let (_, what) = lists[i / 3];
        assert!(f.fwcheck_certain, "{what}: {}", f.line());
    }
    // The kernel finds kind 8 after an end-of-list and after a zero length, not behind a
    // length that jumps past it.
    let kernel: Vec<&str> = cmp.frames.iter().map(|f| f.kernel.unwrap_or("-")).collect();
    #[rustfmt::skip]
    let want = [
        "ACCEPT", "DROP", "ACCEPT",
        "ACCEPT", "DROP", "DROP",
        "ACCEPT", "DROP", "ACCEPT",
        "DROP", "ACCEPT", "ACCEPT",
        "ACCEPT", "DROP", "DROP",
        "ACCEPT", "DROP", "DROP",
        "DROP", "ACCEPT", "DROP",
        "DROP", "ACCEPT", "DROP",
    ];

    assert_eq!(kernel, want, "{}", cmp.render(false));
}

kernel_tests!(option_walk_matches_the_kernel);
