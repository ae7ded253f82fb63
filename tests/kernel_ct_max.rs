//! `nf_conntrack_max` against the kernel (`__nf_conntrack_alloc` / `early_drop` in
//! `net/netfilter/nf_conntrack_core.c`): with the table full of *assured* connections,
//! `early_drop` finds nothing to evict and a new connection's packet is dropped ("nf_conntrack:
//! table full, dropping packet"), while packets of the tracked connections go on.
//!
//! `nf_conntrack_max` is a global sysctl: writable only in the initial network namespace
//! (read-only in every other one, checked on 6.18). The test lowers it for the few hundred
//! milliseconds of one replay and restores it (also on failure); only namespaces holding more
//! than [`MAX`] connections at that moment could notice.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::engine::{Decision, Engine, SimEnv, SimOptions, Verdict};
use fwcheck::lint::load_str;
use fwcheck::oracle::{self, OracleConfig};
use fwcheck::packet::Family;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const MAX: u32 = 64;
const KEY: &str = "/proc/sys/net/netfilter/nf_conntrack_max";

const RULES: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
COMMIT\n";

/// Restores the global `nf_conntrack_max` when dropped.
struct GlobalMax(String);
impl GlobalMax {
    fn set(v: u32) -> GlobalMax {
        let old = std::fs::read_to_string(KEY).expect("nf_conntrack_max readable");
        std::fs::write(KEY, v.to_string()).expect("nf_conntrack_max writable in init_net");
        GlobalMax(old.trim().to_string())
    }
}
impl Drop for GlobalMax {
    fn drop(&mut self) {
        let _ = std::fs::write(KEY, &self.0);
    }
}

fn table_full_of_assured_connections_drops_new_ones() {
    let (h, c) = (HOST, CLIENT);
    let mut pkts = Vec::new();
    // MAX handshakes: SYN in, SYN/ACK out, ACK in — each connection ESTABLISHED and ASSURED.
    for i in 0..MAX as u16 {
        let sp = 20000 + i;
        pkts.push(tcp4(c, h, sp, 22, 1000, 0, SYN, i));
        pkts.push(tcp4(h, c, 22, sp, 5000, 1001, SYN | ACK, i));
        pkts.push(tcp4(c, h, sp, 22, 1001, 5001, ACK, i));
    }
    let n = pkts.len();
    // A new connection: the table is full and nothing can be early-dropped.
    pkts.push(tcp4(c, h, 30000, 22, 1000, 0, SYN, 1));
    // Tracked connections go on, both ways.
    pkts.push(tcp4(c, h, 20005, 22, 1001, 5001, ACK | PSH, 2));
    pkts.push(tcp4(h, c, 22, 20006, 5001, 1001, ACK, 3));
    // A UDP flow cannot get in either.
    pkts.push(udp4(c, h, 30001, 53, 4, b"x"));

    let cfg = OracleConfig::new(RULES, Family::V4, host());
    let out = {
        let _guard = GlobalMax::set(MAX);
        oracle::replay(&cfg, frames(pkts.clone())).expect("kernel replay")
    };
    let kernel = verdicts(&out);
    assert!(kernel[..n].iter().all(|v| *v == A), "{}", dump(&out));
    assert_eq!(kernel[n..], [D, A, A, D], "{}", dump(&out));

    let loaded = load_str("ctmax.rules", RULES, ParseOptions::default());
    assert!(!loaded.has_errors());
    let mut e = Engine::new(
        &loaded.ruleset,
        SimOptions {
            env: SimEnv {
                hosts: host(),
                ..SimEnv::default()
            },
            ct_max: MAX,
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
    }
    // The first "table full" drop is certain and says why; the others are certain too until
    // the collector's own early drop could matter (UDP is never early-dropped once assured,
    // but fwcheck does not tell the protocols apart there).
    let full = &got[n];
    assert!(full.certain, "{full:?}");
    assert_eq!(
        full.decision,
        Some(Decision::Conntrack(
            "nf_conntrack: table full, dropping packet"
        ))
    );
    assert!(got[n + 1].certain && got[n + 2].certain);
}

kernel_tests!(table_full_of_assured_connections_drops_new_ones);
