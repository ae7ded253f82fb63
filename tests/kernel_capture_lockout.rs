//! The packet verdicts FW001-from-a-capture reasons about, against the Linux kernel: the
//! captures of `capture_lockout.rs` replayed through fwcheck and through the kernel oracle
//! (every frame injected as an independent packet, so fwcheck's recognition of the host's own
//! answers is off) must get the same verdict frame by frame. This pins what the lockout
//! analysis builds on: a `recent` guard refuses the fourth and later attempts; a ruleset that
//! admits SSH only as NEW passes the handshake and drops the session's first ACK; a capture
//! that starts mid-session loses only its first segments under a `--syn` ruleset; a stray
//! out-of-window segment is dropped and the session goes on; XMAS, NULL and FIN probes are
//! dropped. Needs root, iptables and network namespaces.

#[macro_use]
mod kernel_harness;
mod lockout_captures;

use fwcheck::analysis::synth::Synth;
use fwcheck::engine::{Engine, SimEnv, SimOptions, Verdict};
use fwcheck::ext::Backend;
use fwcheck::oracle::{self, KernelVerdict, OracleConfig, OracleError, OracleFrame};
use fwcheck::packet::Packet;
use fwcheck::ruleset::Family;
use lockout_captures::*;

struct Case {
    name: &'static str,
    rules: &'static str,
    packets: fn(&mut Synth) -> Vec<Packet>,
    /// (frame, kernel verdict) pairs the case is about, checked on top of the comparison.
    expect: &'static [(u64, KernelVerdict)],
}

fn cut_session(sy: &mut Synth) -> Vec<Packet> {
    Conv::new(ADMIN, 50_000, HOST, 22).session(sy, 3)
}

fn cases() -> Vec<Case> {
    use KernelVerdict::{Accept as A, Drop as D};
    vec![
        Case {
            name: "recent guard, six attempts",
            rules: GUARDED,
            packets: six_attempts,
            // Attempt 1 (frames 1-7) passes; attempt 4's SYN (frame 22) is refused.
            expect: &[(1, A), (2, A), (3, A), (22, D)],
        },
        Case {
            name: "SSH accepted only as NEW",
            rules: NEW_ONLY,
            packets: cut_session,
            expect: &[(1, A), (2, A), (3, D), (4, D), (5, A)],
        },
        Case {
            name: "capture starting mid-session, --syn ruleset",
            rules: SYN_ONLY,
            packets: mid_session,
            expect: &[(1, D), (2, A), (3, A)],
        },
        Case {
            name: "an out-of-window segment mid-session",
            rules: GUARDED,
            packets: stray_invalid_segment,
            expect: &[(7, A), (8, D), (9, A), (10, A)],
        },
        Case {
            name: "XMAS, NULL, FIN probes and strays",
            rules: GUARDED,
            packets: scans,
            expect: &[(1, D), (2, D), (3, D)],
        },
    ]
}

fn capture_verdicts_match_the_kernel() {
    let mut failures = Vec::new();
    for backend in [Backend::Nft, Backend::Legacy] {
        for case in cases() {
            let name = format!("{} [{backend:?}]", case.name);
            let l = rules(case.rules);
            let pkts = (case.packets)(&mut Synth::default());
            let opts = SimOptions {
                env: SimEnv {
                    hosts: vec![ip(HOST)],
                    backend,
                    // The oracle's namespace starts with an empty conntrack table.
                    conntrack_empty_at_start: true,
                    ..SimEnv::default()
                },
                recognise_answers: false,
                ..SimOptions::default()
            };
            let mut e = Engine::new(&l.ruleset, opts);
            let mine: Vec<(u64, Option<Verdict>)> = pkts
                .iter()
                .map(|p| (p.frame, e.process(p).verdict))
                .collect();
            let mut cfg = OracleConfig::new(case.rules, Family::V4, vec![ip(HOST)]);
            cfg.backend = backend;
            let frames = pkts.iter().map(|p| OracleFrame {
                frame: p.frame,
                ts: p.ts,
                ip: Some(p.data.to_vec()),
            });
            let kernel = match oracle::replay(&cfg, frames) {
                Ok(k) => k,
                Err(OracleError::Unavailable(why)) if backend == Backend::Legacy => {
                    eprintln!("SKIP: {name}: {why}");
                    continue;
                }
                Err(e) => panic!("{name}: kernel replay: {e}"),
            };
            let k = |frame: u64| {
                kernel
                    .iter()
                    .find(|o| o.frame == frame)
                    .and_then(|o| o.verdict)
            };
            for (frame, v) in &mine {
                let fv = match v {
                    Some(Verdict::Accept) => Some(KernelVerdict::Accept),
                    Some(Verdict::Drop | Verdict::Reject) => Some(KernelVerdict::Drop),
                    None => None,
                };
                if k(*frame) != fv {
                    failures.push(format!(
                        "{name}: frame {frame}: kernel {:?}, fwcheck {fv:?}",
                        k(*frame)
                    ));
                }
            }
            for (frame, v) in case.expect {
                assert_eq!(k(*frame), Some(*v), "{name}: frame {frame}: {kernel:?}");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "fwcheck differs from the kernel:\n{}",
        failures.join("\n")
    );
}

kernel_tests!(capture_verdicts_match_the_kernel,);
