//! `trace`'s alternatives against the kernel. A match fwcheck cannot decide (here `-m set`
//! without `--ipset`) is taken as not matching, and the verdict is uncertain; each alternative
//! is the packet run again on a fork of the state, with that match taken as matching. The kernel
//! decides the same packets twice: with the set empty (the match fails: the traced verdict) and
//! with the set holding the source (the match holds: the alternative).
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::Ipv4Addr;
use std::sync::Arc;

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::ext::ipset::IpSets;
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use fwcheck::trace::{trace_packets, TracedPacket};
use oracle_common::*;

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:WATCH - [0:0]\n\
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n\
-A INPUT -m set --match-set trusted src -j WATCH\n\
-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT\n\
-A WATCH -p tcp -m tcp --dport 22 -j ACCEPT\n\
-A WATCH -p tcp -m tcp --dport 443 -j DROP\n\
COMMIT\n";

fn kernel_verdicts(loaded: &fwcheck::lint::Loaded, frames: &[Vec<u8>], sets: &str) -> Vec<String> {
    let sim = SimOptions {
        env: SimEnv {
            hosts: host(),
            ipsets: Some(Arc::new(IpSets::parse(sets).expect("sets"))),
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let cmp = compare(
        loaded,
        decoded(frames.iter()),
        sim,
        Pacing::AsFastAsPossible,
    )
    .expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    cmp.frames
        .iter()
        .map(|f| f.kernel.unwrap_or("-").to_string())
        .collect()
}

/// `rules` loaded, and `frames` traced through them in order (alternatives included).
fn traced(rules: &str, frames: &[Vec<u8>]) -> (fwcheck::lint::Loaded, Vec<TracedPacket>) {
    let loaded = load_str("alternatives.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let opts = SimOptions {
        env: SimEnv {
            hosts: host(),
            // The oracle's namespace starts with an empty conntrack table.
            conntrack_empty_at_start: true,
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let packets: Vec<_> = decoded(frames.iter())
        .into_iter()
        .map(|p| p.expect("decodes"))
        .collect();
    let traced = trace_packets(&loaded.ruleset, opts, packets);
    (loaded, traced)
}

fn alternatives_are_the_kernels_other_answer() {
    let src: Ipv4Addr = "198.51.100.7".parse().unwrap();
    let h = HOST;
    let frames = vec![
        tcp4(src, h, 40000, 22, 1, 0, SYN, 1),
        tcp4(src, h, 40001, 443, 1, 0, SYN, 2),
        tcp4(src, h, 40002, 80, 1, 0, SYN, 3),
        udp4(src, h, 40003, 53, 4, b"q"),
    ];
    let (loaded, traced) = traced(RULES, &frames);
    assert_eq!(traced.len(), frames.len());

    let empty = "create trusted hash:ip family inet hashsize 1024 maxelem 65536\n";
    let holds = format!("{empty}add trusted {src}\n");
    let without = kernel_verdicts(&loaded, &frames, empty);
    let with = kernel_verdicts(&loaded, &frames, &holds);

    for (i, t) in traced.iter().enumerate() {
        let main = t.record.verdict.unwrap_or("-");
        assert_eq!(main, without[i], "frame {}: the traced verdict", i + 1);
        if t.record.certain {
            // The set was never consulted: no alternative, and the kernel agrees either way.
            assert!(t.record.alternatives.is_empty(), "frame {}", i + 1);
            assert_eq!(with[i], without[i], "frame {}", i + 1);
            continue;
        }
        assert_eq!(t.record.alternatives.len(), 1, "frame {}", i + 1);
        let a = &t.record.alternatives[0];
        assert!(a.certain, "frame {}: nothing else is unknown", i + 1);
        assert_eq!(
            a.verdict.unwrap_or("-"),
            with[i],
            "frame {}: the alternative is the kernel's verdict when the set holds the source",
            i + 1
        );
        assert_eq!(
            a.rule.as_ref().and_then(|r| r.number),
            Some(2),
            "frame {}",
            i + 1
        );
    }
    // The cases the ruleset was written for.
    let verdicts: Vec<(&str, Vec<&str>)> = traced
        .iter()
        .map(|t| {
            (
                t.record.verdict.unwrap_or("-"),
                t.record
                    .alternatives
                    .iter()
                    .map(|a| a.verdict.unwrap_or("-"))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        vec![
            ("DROP", vec!["ACCEPT"]),
            ("ACCEPT", vec!["DROP"]),
            ("ACCEPT", vec![]),
            ("DROP", vec!["DROP"]),
        ]
    );
}

/// Doubt through state: the SYN's verdict hinges on the set; the client's ACK that completes
/// the handshake is ESTABLISHED only if the SYN was accepted. The ACK is uncertain through its
/// connection (frame 1's doubt), and its alternative is what it gets in the timeline where
/// frame 1's set match held: the kernel with the set holding the client.
const STATE_RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
-A INPUT -p tcp --syn -m set --match-set trusted src -j ACCEPT\n\
COMMIT\n";

fn alternatives_through_state_are_the_kernels() {
    let c: Ipv4Addr = "198.51.100.7".parse().unwrap();
    let h = HOST;
    let frames = vec![
        tcp4(c, h, 40000, 22, 1, 0, SYN, 1),
        tcp4(h, c, 22, 40000, 5000, 2, SYN | ACK, 2),
        tcp4(c, h, 40000, 22, 2, 5001, ACK, 3),
        // Another client's connection: nothing to do with frame 1, certain.
        tcp4(
            "198.51.100.8".parse().unwrap(),
            h,
            40001,
            22,
            2,
            5001,
            ACK,
            4,
        ),
    ];
    let (loaded, traced) = traced(STATE_RULES, &frames);
    let empty = "create trusted hash:ip family inet hashsize 1024 maxelem 65536\n";
    let holds = format!("{empty}add trusted {c}\n");
    let without = kernel_verdicts(&loaded, &frames, empty);
    let with = kernel_verdicts(&loaded, &frames, &holds);
    assert_eq!(without, ["DROP", "ACCEPT", "DROP", "DROP"]);
    assert_eq!(with, ["ACCEPT", "ACCEPT", "ACCEPT", "DROP"]);
    for (i, t) in traced.iter().enumerate() {
        let r = &t.record;
        assert_eq!(r.verdict.unwrap_or("-"), without[i], "frame {}", i + 1);
        if i == 3 {
            assert!(r.certain && r.alternatives.is_empty(), "frame 4: {r:?}");
            continue;
        }
        assert!(!r.certain, "frame {}", i + 1);
        assert_eq!(r.alternatives.len(), 1, "frame {}: {r:?}", i + 1);
        let a = &r.alternatives[0];
        assert_eq!(a.verdict.unwrap_or("-"), with[i], "frame {}", i + 1);
        assert!(a.certain, "frame {}: {a:?}", i + 1);
        assert_eq!(a.rule.as_ref().and_then(|r| r.number), Some(2));
        // The first frame's doubt is its own; the others' comes through the connection.
        assert_eq!(a.frame, (i > 0).then_some(1), "frame {}", i + 1);
    }
}

kernel_tests!(
    alternatives_are_the_kernels_other_answer,
    alternatives_through_state_are_the_kernels
);
