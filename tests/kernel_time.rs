//! W009's claim against the kernel: `-m time --datestop 1970-01-01T00:00:00` and
//! `--monthdays 0` load, and never match (`time_mt`: every packet is after the epoch; no day of
//! the month is 0). fwcheck, judging the same packets at a present-day capture time, agrees —
//! while the form iptables-save prints for these rules would match (see W009).
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::engine::{Engine, SimEnv, SimOptions, Verdict};
use fwcheck::lint::load_str;
use fwcheck::oracle::{self, OracleConfig};
use fwcheck::packet::Family;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const RULES: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p tcp --dport 1 -m time --datestop 1970-01-01T00:00:00 -j DROP\n\
-A INPUT -p tcp --dport 2 -m time --monthdays 0 -j DROP\n\
-A INPUT -p tcp --dport 3 -m time --monthdays 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31 -j DROP\n\
COMMIT\n";

fn never_matching_time_rules() {
    let (h, c) = (HOST, CLIENT);
    let pkts: Vec<Vec<u8>> = (1..=3u16)
        .map(|p| tcp4(c, h, 40000 + p, p, 1000, 0, SYN, p))
        .collect();
    // The kernel: ports 1 and 2 pass (their DROP never matches), port 3 is dropped (every day).
    let cfg = OracleConfig::new(RULES, Family::V4, host());
    let out = oracle::replay(&cfg, frames(pkts.clone())).expect("kernel replay");
    assert_eq!(verdicts(&out), vec![A, A, D], "{}", dump(&out));
    // fwcheck, at a present-day capture time (the frames' 2023 time stamps).
    let loaded = load_str("time.rules", RULES, ParseOptions::default());
    assert!(!loaded.has_errors());
    assert_eq!(
        loaded
            .diagnostics
            .iter()
            .filter(|d| d.code == "W009")
            .count(),
        2
    );
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
    let got: Vec<_> = decoded_at(&pkts, 1_700_000_000_000_000_000)
        .into_iter()
        .map(|p| e.process(&p.unwrap()).verdict)
        .collect();
    assert_eq!(
        got,
        vec![
            Some(Verdict::Accept),
            Some(Verdict::Accept),
            Some(Verdict::Drop)
        ]
    );
}

kernel_tests!(never_matching_time_rules);
