//! The fragment memory limit against the kernel (`inet_frag_find` in
//! `net/ipv4/inet_fragment.c`): once the fragments held exceed `ipfrag_high_thresh`, every
//! fragment is dropped — the last fragment of a datagram already queued too, and the
//! fragments of a new datagram — until queues complete or time out. Below the limit
//! reassembly works. The namespace's `ipfrag_high_thresh` is set to 8 KiB (per-netns sysctl);
//! the flood of first fragments takes the memory well past it whatever the skb sizes are.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const RULES: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
COMMIT\n";

/// The two fragments of a UDP datagram with 1,000 + 8 payload bytes (id `id`).
fn datagram(id: u16) -> (Vec<u8>, Vec<u8>) {
    let seg = udp_seg(CLIENT.into(), HOST.into(), 5000, 9, &[0x5a; 1000]);
    let first = ipv4_frag(CLIENT, HOST, 17, id, 0x2000, &seg[..1000]);
    let last = ipv4_frag(CLIENT, HOST, 17, id, 1000 / 8, &seg[1000..]);
    (first, last)
}

fn fragments_are_dropped_above_high_thresh() {
    let mut pkts = Vec::new();
    let (c1, c2) = datagram(1);
    pkts.push(c1);
    pkts.push(c2); // 2: completes datagram 1 — under the limit: delivered
    let (a1, a2) = datagram(2);
    pkts.push(a1);
    for id in 100..116 {
        pkts.push(datagram(id).0); // never completed: memory grows past the limit
    }
    pkts.push(a2); // 20: would complete datagram 2 — dropped
    let (e1, e2) = datagram(3);
    pkts.push(e1);
    pkts.push(e2); // 22: a new datagram — dropped too

    let loaded = load_str("frag.rules", RULES, ParseOptions::default());
    assert!(!loaded.has_errors());
    let sim = SimOptions {
        env: SimEnv {
            hosts: host(),
            ..SimEnv::default()
        },
        frag_high_thresh: 8192,
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(&pkts), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let f = |n: usize| &cmp.frames[n - 1];
    assert_eq!(f(2).kernel, Some("ACCEPT"), "{}", cmp.render(true));
    assert_eq!(f(2).fwcheck, Some("ACCEPT"), "{}", cmp.render(true));
    for n in [20, 22] {
        assert_ne!(
            f(n).kernel,
            Some("ACCEPT"),
            "frame {n}: {}",
            cmp.render(true)
        );
        assert_ne!(
            f(n).fwcheck,
            Some("ACCEPT"),
            "frame {n}: {}",
            cmp.render(true)
        );
    }
}

kernel_tests!(fragments_are_dropped_above_high_thresh);
