//! FW001's "established session" check against the Linux kernel. The administrator's SSH
//! session is built in a private network namespace under a permissive ruleset that tracks
//! connections; then the ruleset under test is applied with `iptables-restore` — as an admin
//! does on a live host, so the session stays in the conntrack table — and the session continues.
//! fwcheck's lockout scenario (the very packets `fwcheck` checks, built by the same code) must
//! get the kernel's verdict for every packet, and FW001 must fire exactly when the kernel cuts
//! the session. The same session built under no rules at all (conntrack tracks nothing, so the
//! ruleset picks the session up mid-stream, NEW) must get the kernel's verdicts there when
//! fwcheck is told the table was empty (`--conntrack-start empty`); not told, FW001 is certain
//! only where both worlds agree. Needs root, iptables and network namespaces; elsewhere
//! reported ignored.

#[macro_use]
mod kernel_harness;

use std::net::IpAddr;

use fwcheck::analysis::lockout::session_check;
use fwcheck::analysis::synth::{self, Synth};
use fwcheck::analysis::{run_scenario, run_scenario_loading, CheckOptions, Service};
use fwcheck::engine::{SimEnv, Verdict};
use fwcheck::ext::Backend;
use fwcheck::lint::load_str;
use fwcheck::oracle::{self, KernelVerdict, OracleConfig, OracleError, OracleFrame, Reload};
use fwcheck::ruleset::{Family, ParseOptions};

/// Accepts everything but loads connection tracking, so the session exists before the switch.
fn warm_ruleset() -> &'static str {
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
     -A INPUT -m conntrack --ctstate INVALID -j ACCEPT\nCOMMIT\n"
}

/// Accepts everything and tracks nothing: the session exists, conntrack never saw it.
fn untracked_ruleset() -> &'static str {
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
}

#[derive(Clone)]
struct Case {
    name: &'static str,
    rules: String,
    family: Family,
    /// The kernel (and so fwcheck) must cut the established session.
    cut: bool,
}

fn guide(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/guides")
            .join(name),
    )
    .expect("guide")
}

fn cases() -> Vec<Case> {
    let head = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n";
    let v4 = |name, body: &str, cut| Case {
        name,
        rules: format!("{head}{body}COMMIT\n"),
        family: Family::V4,
        cut,
    };
    vec![
        Case {
            name: "guide 001 (OUTPUT policy DROP, no ESTABLISHED on OUTPUT)",
            rules: guide("guide-001-apache.rules.v4"),
            family: Family::V4,
            cut: true,
        },
        Case {
            name: "guide 000",
            rules: guide("guide-000-webserver.rules.v4"),
            family: Family::V4,
            cut: false,
        },
        v4(
            "DROP before the SSH accept",
            "-A INPUT -j DROP\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n",
            true,
        ),
        v4(
            "SSH accepted only as NEW",
            "-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT\n",
            true,
        ),
        v4(
            "state module, ESTABLISHED first",
            "-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -m state --state NEW -j ACCEPT\n",
            false,
        ),
        v4(
            "stateless SSH accept (no conntrack in the new ruleset)",
            "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n",
            false,
        ),
        v4(
            "mid-stream segments refused as NEW",
            "-A INPUT -p tcp ! --syn -m conntrack --ctstate NEW -j DROP\n\
             -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
             -A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT\n",
            false,
        ),
        v4(
            "SSH moved to 2222",
            "-A INPUT -m conntrack --ctstate NEW -p tcp -m tcp --dport 2222 -j ACCEPT\n",
            true,
        ),
        Case {
            name: "missing ESTABLISHED on OUTPUT",
            rules: "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
                    -A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT\n\
                    -A OUTPUT -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT\nCOMMIT\n"
                .into(),
            family: Family::V4,
            cut: true,
        },
        Case {
            name: "IPv6, SSH accepted only as NEW",
            rules: "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                    -A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n"
                .into(),
            family: Family::V6,
            cut: true,
        },
        Case {
            name: "IPv6, ESTABLISHED accepted",
            rules: "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
                    -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
                    -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
                    -A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n"
                .into(),
            family: Family::V6,
            cut: false,
        },
    ]
}

fn established_session_verdicts_match_the_kernel() {
    let ssh = Service { proto: 6, port: 22 };
    let mut failures = Vec::new();
    let mut runs = 0;
    for (case, backend) in cases()
        .into_iter()
        .flat_map(|c| [(c.clone(), Backend::Nft), (c, Backend::Legacy)])
    {
        let (host, admin): (IpAddr, IpAddr) = match case.family {
            Family::V4 => (
                "203.0.113.10".parse().unwrap(),
                "198.51.100.77".parse().unwrap(),
            ),
            Family::V6 => (
                "2001:db8::10".parse().unwrap(),
                "2001:db8:77::7".parse().unwrap(),
            ),
        };
        let name = if case.family == Family::V6 {
            "rules.v6"
        } else {
            "rules.v4"
        };
        let loaded = load_str(
            name,
            &case.rules,
            ParseOptions {
                family: case.family,
                ..ParseOptions::default()
            },
        );
        assert!(
            !loaded.has_errors(),
            "{}: {}",
            case.name,
            loaded.render_diagnostics(false)
        );
        let opts = CheckOptions {
            env: SimEnv {
                hosts: vec![host],
                backend,
                ..SimEnv::default()
            },
            ..CheckOptions::default()
        };
        // The same packets the lockout check sends (session_check, seed 0).
        let mut sy = Synth::default();
        let (warm, steps) =
            synth::tcp_established(&mut sy, (admin, 50_000), (host, ssh.port), "admin", "host");
        let mine = run_scenario(&loaded.ruleset, &opts, &warm, &steps);

        let frames: Vec<OracleFrame> = warm
            .iter()
            .chain(steps.iter().map(|s| &s.pkt))
            .map(|p| OracleFrame {
                frame: p.frame,
                ts: p.ts,
                ip: Some(p.data.to_vec()),
            })
            .collect();
        let kernel_from = |warm_rules: &str| {
            let mut cfg = OracleConfig::new(warm_rules, case.family, vec![host]);
            cfg.backend = backend;
            cfg.reload = Some(Reload {
                before_frame: steps[0].pkt.frame,
                ruleset: case.rules.clone(),
            });
            oracle::replay(&cfg, frames.clone())
        };
        let kernel = match kernel_from(warm_ruleset()) {
            Ok(k) => k,
            Err(OracleError::Unavailable(why)) if backend == Backend::Legacy => {
                eprintln!("SKIP: {} under iptables-legacy: {why}", case.name);
                continue;
            }
            Err(e) => panic!("{}: kernel replay: {e}", case.name),
        };
        let kernel_untracked = kernel_from(untracked_ruleset())
            .unwrap_or_else(|e| panic!("{}: kernel replay (untracked): {e}", case.name));
        runs += 1;
        let name = format!("{} [{backend:?}]", case.name);

        let verdict_in = |kernel: &[oracle::KernelOutcome], frame: u64| {
            kernel
                .iter()
                .find(|o| o.frame == frame)
                .and_then(|o| o.verdict)
        };
        let k = |frame: u64| verdict_in(&kernel, frame);
        for p in &warm {
            assert_eq!(
                k(p.frame),
                Some(KernelVerdict::Accept),
                "{}: warm-up frame {} must pass the permissive ruleset",
                name,
                p.frame
            );
        }
        let mut cut = false;
        for s in &mine {
            let kv = k(s.pkt.frame);
            let fv = match s.outcome.verdict {
                Some(Verdict::Accept) => Some(KernelVerdict::Accept),
                Some(Verdict::Drop | Verdict::Reject) => Some(KernelVerdict::Drop),
                None => None,
            };
            if kv != Some(KernelVerdict::Accept) {
                cut = true;
            }
            if kv != fv {
                failures.push(format!(
                    "{}: {} (frame {}): kernel {:?}, fwcheck {:?} ({:?})",
                    name, s.what, s.pkt.frame, kv, fv, s.outcome.decision
                ));
            }
        }
        assert_eq!(cut, case.cut, "{}: the kernel's verdicts: {kernel:?}", name);

        // The untracked world: told the table was empty, fwcheck gives the kernel's verdicts.
        let empty_opts = CheckOptions {
            env: SimEnv {
                conntrack_empty_at_start: true,
                ..opts.env.clone()
            },
            ..opts.clone()
        };
        let fresh = run_scenario_loading(&loaded.ruleset, &empty_opts, &warm, &steps);
        let mut cut_untracked = false;
        for s in &fresh {
            let kv = verdict_in(&kernel_untracked, s.pkt.frame);
            cut_untracked |= kv != Some(KernelVerdict::Accept);
            let fv = match s.outcome.verdict {
                Some(Verdict::Accept) => Some(KernelVerdict::Accept),
                Some(Verdict::Drop | Verdict::Reject) => Some(KernelVerdict::Drop),
                None => None,
            };
            if kv != fv || !s.outcome.certain {
                failures.push(format!(
                    "{} (untracked): {} (frame {}): kernel {:?}, fwcheck {:?} certain {} ({:?})",
                    name, s.what, s.pkt.frame, kv, fv, s.outcome.certain, s.outcome.decision
                ));
            }
        }
        if case.name == "SSH accepted only as NEW" {
            // The picked-up segment is NEW and passes (the next one, ESTABLISHED, does not):
            // this world really is another one.
            let first = steps[0].pkt.frame;
            assert_eq!(
                (k(first), verdict_in(&kernel_untracked, first)),
                (Some(KernelVerdict::Drop), Some(KernelVerdict::Accept)),
                "{name}: {kernel_untracked:?}"
            );
        }
        let (f, doubt) = session_check(&loaded.ruleset, &empty_opts, admin, host, ssh, 0);
        assert_eq!(
            doubt, None,
            "{name}: told the table was empty, FW001 is certain"
        );
        assert_eq!(
            f.as_ref().is_some_and(|f| f.case == "established"),
            cut_untracked,
            "{name} (untracked): lockout check says {:?}",
            f.map(|f| f.step.what)
        );

        // Not told which world: FW001 is certain only with both worlds' answer.
        let (f, doubt) = session_check(&loaded.ruleset, &opts, admin, host, ssh, 0);
        let fw001_established = f.as_ref().is_some_and(|f| f.case == "established");
        if doubt.is_none() {
            assert_eq!(
                (fw001_established, fw001_established),
                (cut, cut_untracked),
                "{}: lockout check says {:?}, certain",
                name,
                f.map(|f| f.step.what)
            );
        } else {
            assert_ne!(
                cut, cut_untracked,
                "{name}: uncertain where the worlds agree: {doubt:?}"
            );
        }
    }
    assert!(
        runs >= cases().len(),
        "every case ran at least under nf_tables"
    );
    assert!(
        failures.is_empty(),
        "fwcheck differs from the kernel:\n{}",
        failures.join("\n")
    );
}

kernel_tests!(established_session_verdicts_match_the_kernel,);
