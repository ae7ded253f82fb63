//! `xt_recent`'s bound against the kernel: a list holds `ip_list_tot` (100) addresses; adding a
//! 101st first drops the least recently used one (`recent_entry_init` → `recent_entry_reap`
//! of the LRU head), so a flood of sources never grows the list — and the oldest source is
//! forgotten. fwcheck keeps the same 100 and forgets the same one.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::Ipv4Addr;

use fwcheck::engine::{Engine, SimEnv, SimOptions, Verdict};
use fwcheck::lint::load_str;
use fwcheck::oracle::{self, OracleConfig};
use fwcheck::packet::Family;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const RULES: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p udp --dport 1 -m recent --name flood --set\n\
-A INPUT -p udp --dport 2 -m recent --name flood --rcheck -j DROP\n\
COMMIT\n";

fn source(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, i)
}

fn recent_list_keeps_the_last_100_sources() {
    let mut pkts = Vec::new();
    // 101 sources are added, 1 first.
    for i in 1..=101u8 {
        pkts.push(udp4(source(i), HOST, 5000, 1, i as u16, b"set"));
    }
    // Source 1 was the least recently used: dropped from the list. 2 and 101 are still in it.
    for i in [1u8, 2, 101] {
        pkts.push(udp4(source(i), HOST, 5000, 2, 200 + i as u16, b"check"));
    }
    let cfg = OracleConfig::new(RULES, Family::V4, host());
    let out = oracle::replay(&cfg, frames(pkts.clone())).expect("kernel replay");
    let kernel = verdicts(&out);
    assert!(kernel[..101].iter().all(|v| *v == A), "{}", dump(&out));
    assert_eq!(kernel[101..], [A, D, D], "{}", dump(&out));

    let loaded = load_str("recent.rules", RULES, ParseOptions::default());
    assert!(!loaded.has_errors());
    let mut e = Engine::new(
        &loaded.ruleset,
        SimOptions {
            env: SimEnv {
                hosts: host(),
                ..SimEnv::default()
            },
            ..SimOptions::default()
        },
    );
    let got: Vec<_> = decoded(&pkts)
        .into_iter()
        .map(|p| e.process(&p.unwrap()))
        .collect();
    for (i, o) in got.iter().enumerate() {
        let want = if kernel[i] == A {
            Verdict::Accept
        } else {
            Verdict::Drop
        };
        assert_eq!(o.verdict, Some(want), "frame {}: {o:?}", i + 1);
        assert!(o.certain, "frame {}: {o:?}", i + 1);
    }
}

kernel_tests!(recent_list_keeps_the_last_100_sources);
