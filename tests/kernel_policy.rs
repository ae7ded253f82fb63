//! `-m policy` (IPsec) against the kernel: a packet that no xfrm state decapsulated has no
//! `sec_path` (`--dir in`), and one routed without an xfrm policy has no `dst->xfrm`
//! (`--dir out`), so `--pol none` matches and `--pol ipsec` does not — whatever the element
//! options say, negated (`!`) or not. fwcheck must give the kernel's verdict, certain.
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
-A INPUT -p tcp --dport 1 -m policy --dir in --pol none -j ACCEPT\n\
-A INPUT -p tcp --dport 2 -m policy --dir in --pol ipsec -j ACCEPT\n\
-A INPUT -p tcp --dport 3 -m policy --dir in --pol ipsec ! --proto esp ! --reqid 9 -j ACCEPT\n\
-A INPUT -p tcp --dport 4 -m policy --dir in --pol ipsec --strict ! --mode tunnel --next ! --spi 0x10 -j ACCEPT\n\
-A OUTPUT -p tcp --sport 1 -m policy --dir out --pol none -j ACCEPT\n\
-A OUTPUT -p tcp --sport 2 -m policy --dir out --pol ipsec -j ACCEPT\n\
-A OUTPUT -p tcp --sport 3 -m policy --dir out --pol ipsec ! --proto ah ! --mode transport -j ACCEPT\n\
-A OUTPUT -p tcp --sport 4 -m policy --dir out --pol ipsec --strict ! --reqid 1 -j ACCEPT\n\
COMMIT\n";

fn policy_without_ipsec_state() {
    let (h, c) = (HOST, CLIENT);
    let mut frames = Vec::new();
    for p in 1..=4u16 {
        frames.push(tcp4(c, h, 40000 + p, p, 1000, 0, SYN, 1));
    }
    for p in 1..=4u16 {
        frames.push(tcp4(h, c, p, 41000 + p, 1000, 0, SYN, 1));
    }
    let decoded = decoded(&frames);
    let loaded = load_str("policy.rules", RULES, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec![h.into()],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded, sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<_> = cmp.frames.iter().map(|f| f.kernel).collect();
    let want = [
        Some("ACCEPT"),
        Some("DROP"),
        Some("DROP"),
        Some("DROP"),
        Some("ACCEPT"),
        Some("DROP"),
        Some("DROP"),
        Some("DROP"),
    ];
    assert_eq!(kernel, want, "{}", cmp.render(true));
    for f in &cmp.frames {
        assert!(
            f.fwcheck_certain,
            "frame {} uncertain: {}",
            f.frame,
            f.line()
        );
        assert_ne!(f.status, Status::Uncertain, "{}", f.line());
    }
}

kernel_tests!(policy_without_ipsec_state);
