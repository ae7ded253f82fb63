//! State shared by name between rules, against the kernel: a `hashlimit` table takes its
//! parameters from the rule *loaded* first (not the first evaluated), and load order depends on
//! the backend — nf_tables adds rules in the order the file gives them, legacy loads each table
//! as a blob laid out built-in chains first, then user chains by name. A
//! `--hashlimit-htable-max` below the table size is raised to the size.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::Ipv4Addr;

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::ext::Backend;
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

/// The user chain's rule (burst 5) comes first in the file; the INPUT rule (burst 1) is loaded
/// first by legacy. Packets to 1000 are judged by the user chain's rule only.
const SHARED: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:zzz - [0:0]\n\
-A zzz -m hashlimit --hashlimit-upto 1/hour --hashlimit-burst 5 --hashlimit-mode srcip --hashlimit-name shared -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 1000 -j zzz\n\
-A INPUT -p udp -m udp --dport 2000 -m hashlimit --hashlimit-upto 1/hour --hashlimit-burst 1 --hashlimit-mode srcip --hashlimit-name shared -j ACCEPT\n\
COMMIT\n";

/// Two user chains: `zzz` (burst 5) comes first in the file, `aaa` (burst 1) first by name,
/// which is the order of legacy's blob.
const BY_NAME: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:zzz - [0:0]\n:aaa - [0:0]\n\
-A zzz -m hashlimit --hashlimit-upto 1/hour --hashlimit-burst 5 --hashlimit-mode srcip --hashlimit-name shared -j ACCEPT\n\
-A aaa -m hashlimit --hashlimit-upto 1/hour --hashlimit-burst 1 --hashlimit-mode srcip --hashlimit-name shared -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 1000 -j zzz\n\
-A INPUT -p udp -m udp --dport 2000 -j aaa\n\
COMMIT\n";

/// Size 4, max 2: the kernel raises the max to 4, so a fifth source is the first refused.
const RAISED: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p udp -m udp --dport 1000 -m hashlimit --hashlimit-upto 100/sec --hashlimit-burst 5 --hashlimit-mode srcip --hashlimit-name small --hashlimit-htable-size 4 --hashlimit-htable-max 2 -j ACCEPT\n\
COMMIT\n";

fn run(rules: &str, backend: Backend, frames: &[Vec<u8>]) -> Option<Vec<&'static str>> {
    let opts = ParseOptions {
        backend,
        ..ParseOptions::default()
    };
    let loaded = load_str("shared.rules", rules, opts);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: host(),
            backend,
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let cmp = match compare(&loaded, decoded(frames), sim, Pacing::AsFastAsPossible) {
        Ok(c) => c,
        Err(e) if backend == Backend::Legacy => {
            eprintln!("SKIP: iptables-legacy: {e}");
            return None;
        }
        Err(e) => panic!("compare: {e}"),
    };
    assert_eq!(cmp.mismatches, 0, "{backend:?}\n{}", cmp.render(true));
    for f in &cmp.frames {
        assert!(f.fwcheck_certain, "{backend:?}: {}", f.line());
    }
    Some(cmp.frames.iter().map(|f| f.kernel.unwrap_or("-")).collect())
}

fn hashlimit_parameters_come_from_the_rule_loaded_first() {
    let frames: Vec<Vec<u8>> = (0..4)
        .map(|i| udp4(CLIENT, HOST, 40000 + i, 1000, i + 1, b"x"))
        .collect();
    let (a, d) = ("ACCEPT", "DROP");
    assert_eq!(run(SHARED, Backend::Nft, &frames).unwrap(), [a, a, a, a]);
    if let Some(v) = run(SHARED, Backend::Legacy, &frames) {
        assert_eq!(v, [a, d, d, d]);
    }
}

fn legacy_loads_user_chains_by_name() {
    let frames: Vec<Vec<u8>> = (0..4)
        .map(|i| udp4(CLIENT, HOST, 40000 + i, 1000, i + 1, b"x"))
        .collect();
    let (a, d) = ("ACCEPT", "DROP");
    assert_eq!(run(BY_NAME, Backend::Nft, &frames).unwrap(), [a, a, a, a]);
    if let Some(v) = run(BY_NAME, Backend::Legacy, &frames) {
        assert_eq!(v, [a, d, d, d]);
    }
}

fn htable_max_is_never_below_the_size() {
    let frames: Vec<Vec<u8>> = (0..5u8)
        .map(|i| {
            let src = Ipv4Addr::new(198, 51, 100, 20 + i);
            udp4(src, HOST, 40000, 1000, i as u16 + 1, b"x")
        })
        .collect();
    let (a, d) = ("ACCEPT", "DROP");
    for backend in [Backend::Nft, Backend::Legacy] {
        if let Some(v) = run(RAISED, backend, &frames) {
            assert_eq!(v, [a, a, a, a, d], "{backend:?}");
        }
    }
}

kernel_tests!(
    hashlimit_parameters_come_from_the_rule_loaded_first,
    legacy_loads_user_chains_by_name,
    htable_max_is_never_below_the_size
);
