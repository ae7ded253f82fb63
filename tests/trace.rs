//! `fwcheck trace`: snapshots of both guides' rulesets, and the trace checked against the
//! engine's own decisions — with tracing on, every shipped capture replays to the same verdicts
//! as without, and each packet's recorded steps agree with its verdict and deciding rule.

use std::path::Path;

use fwcheck::engine::{Decision, Outcome, SimEnv, SimOptions, TraceEvent};
use fwcheck::lint::{load_str, Loaded};
use fwcheck::packet::{flowspec, gen::GenOptions};
use fwcheck::replay::{self, Item, Source};
use fwcheck::ruleset::ParseOptions;

fn load(path: &str) -> Loaded {
    let text = std::fs::read_to_string(path).expect("fixture");
    let l = load_str(path, &text, ParseOptions::default());
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    l
}

fn opts(hosts: Vec<std::net::IpAddr>, router: bool) -> SimOptions {
    SimOptions {
        env: SimEnv {
            hosts,
            ..SimEnv::default()
        },
        router,
        ..SimOptions::default()
    }
}

fn trace_spec(rules: &str, spec: &str) -> String {
    let l = load(rules);
    let specs = flowspec::parse_many(spec).expect("spec");
    let pkts = flowspec::build(&specs, &GenOptions::default());
    let hosts = vec!["203.0.113.10".parse().unwrap()];
    let t = fwcheck::trace::trace_packets(&l.ruleset, opts(hosts, false), pkts);
    fwcheck::report::trace::text(&t)
}

#[test]
fn guide_000_ssh_syn_snapshot() {
    let got = trace_spec(
        "fixtures/guides/guide-000-webserver.rules.v4",
        "tcp 198.51.100.7:40000 > 203.0.113.10:22 flags S",
    );
    let want = "\
frame 1: tcp 198.51.100.7:40000 > 203.0.113.10:22 [S] len 44 (in)
  hook PREROUTING [in eth0]  tcp 198.51.100.7:40000 > 203.0.113.10:22 [S] len 44
    conntrack: none → NEW
      original tcp 198.51.100.7:40000 > 203.0.113.10:22 / reply tcp 203.0.113.10:22 > 198.51.100.7:40000, tcp state SYN_SENT
      a new connection (confirmed if the packet survives)
  hook INPUT [in eth0]  tcp 198.51.100.7:40000 > 203.0.113.10:22 [S] len 44
    table filter, chain INPUT
      INPUT #1 (line 5) no match: -A INPUT -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT
        ✓ -p tcp  — -p tcp = tcp
        ✗ -m tcp --dport 80  — dport 22 ≠ 80
      INPUT #2 (line 6) no match: -A INPUT -p tcp -m tcp --dport 443 -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT
        ✓ -p tcp  — -p tcp = tcp
        ✗ -m tcp --dport 443  — dport 22 ≠ 443
      INPUT #3 (line 7) matches: -A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT
        ✓ -p tcp  — -p tcp = tcp
        ✓ -m tcp --dport 22  — dport 22 = 22
        ✓ -m conntrack --ctstate NEW,ESTABLISHED  — ctstate NEW ∈ {NEW,ESTABLISHED}
        → ACCEPT
verdict: ACCEPT by filter INPUT #3 (line 7)
";
    assert_eq!(got, want, "\n{got}");
}

#[test]
fn guide_001_blocked_source_and_policy_snapshot() {
    let got = trace_spec(
        "fixtures/guides/guide-001-apache.rules.v4",
        "tcp 198.51.100.7:40000 > 203.0.113.10:8080 flags S; udp 192.0.2.9:5000 > 203.0.113.10:9",
    );
    // The SYN to 8080 passes rules 1-5 (each failure named) and the blocked source drops it.
    assert!(
        got.contains("✗ -m tcp --dport 80  — dport 8080 ≠ 80"),
        "{got}"
    );
    assert!(
        got.contains("✗ -m state --state ESTABLISHED  — state NEW ∉ {ESTABLISHED}"),
        "{got}"
    );
    assert!(
        got.contains("✓ -s 198.51.100.7/32  — -s 198.51.100.7 ∈ 198.51.100.7/32"),
        "{got}"
    );
    assert!(
        got.contains("verdict: DROP by filter INPUT #6 (line 10)"),
        "{got}"
    );
    // The UDP datagram fails every rule and meets the INPUT policy.
    assert!(got.contains("✗ -p tcp  — -p udp ≠ tcp"), "{got}");
    assert!(got.contains("end of INPUT: policy DROP"), "{got}");
    assert!(
        got.contains("verdict: DROP by filter INPUT policy DROP"),
        "{got}"
    );
}

/// The chain/rule a decision names, as the trace writes them.
fn decided_by(l: &Loaded, d: &Decision) -> Option<(&'static str, String, Option<usize>)> {
    match *d {
        Decision::Rule(r) => {
            let t = l.ruleset.table(r.table)?;
            Some((
                r.table.name(),
                t.chains[r.chain].name.clone(),
                Some(r.rule + 1),
            ))
        }
        Decision::Policy { table, chain } => {
            let t = l.ruleset.table(table)?;
            Some((table.name(), t.chains[chain].name.clone(), None))
        }
        _ => None,
    }
}

/// The trace of one packet agrees with the engine's decision for it.
fn check_consistent(l: &Loaded, o: &Outcome, what: &str) {
    let mut last_matched_terminal: Option<(&str, &str, usize)> = None;
    let mut last_policy: Option<(&str, &str)> = None;
    for ev in &o.trace {
        match ev {
            TraceEvent::Rule {
                table,
                chain,
                rule,
                checks,
                matched,
                hotdrop,
                unknown,
                action,
                ..
            } => {
                // Every clause before the last held; the last decided the rule.
                if let Some((last, before)) = checks.split_last() {
                    for c in before {
                        assert_eq!(c.held, Some(true), "{what}: {c:?} in {ev:?}");
                    }
                    if *matched {
                        assert_eq!(last.held, Some(true), "{what}: {ev:?}");
                    } else if unknown.is_none() && !hotdrop {
                        assert_ne!(last.held, Some(true), "{what}: {ev:?}");
                    }
                } else {
                    assert!(*matched, "{what}: a rule without clauses always matches");
                }
                assert_eq!(*matched || *hotdrop, action.is_some(), "{what}: {ev:?}");
                if *hotdrop {
                    last_matched_terminal = Some((table, chain, *rule));
                }
                if *matched {
                    let a = action.as_deref().unwrap_or("");
                    let terminal = a == "ACCEPT"
                        || a == "DROP"
                        || a.starts_with("QUEUE")
                        || a.contains(": ACCEPT")
                        || a.contains(": DROP")
                        || a.contains(": REJECT")
                        || a.contains(": NAT")
                        || a.contains(": queue");
                    if terminal {
                        last_matched_terminal = Some((table, chain, *rule));
                    }
                }
            }
            TraceEvent::Policy { table, chain, .. } => {
                last_policy = Some((table, chain));
            }
            _ => {}
        }
    }
    if o.answer_to.is_some() {
        // The host's own answer recognised in the capture: judged when it was sent.
        return;
    }
    let Some(d) = &o.decision else { return };
    match (decided_by(l, d), d) {
        (Some((t, c, Some(n))), Decision::Rule(_)) => {
            // A rule decided: the trace shows it matching (or hot-dropping).
            let found = o.trace.iter().any(|ev| {
                matches!(ev, TraceEvent::Rule { table, chain, rule, matched, hotdrop, .. }
                    if *table == t && *chain == c && *rule == n && (*matched || *hotdrop))
            });
            assert!(
                found,
                "{what}: decision {t} {c} #{n} not in the trace {:#?}",
                o.trace
            );
            if o.verdict != Some(fwcheck::engine::Verdict::Accept) {
                assert_eq!(
                    last_matched_terminal,
                    Some((t, c.as_str(), n)),
                    "{what}: {:#?}",
                    o.trace
                );
            }
        }
        (Some((t, c, None)), Decision::Policy { .. }) => {
            let found = o.trace.iter().any(|ev| {
                matches!(ev, TraceEvent::Policy { table, chain, .. } if *table == t && *chain == c)
            });
            assert!(
                found,
                "{what}: policy {t} {c} not in the trace {:#?}",
                o.trace
            );
            if o.verdict != Some(fwcheck::engine::Verdict::Accept) {
                assert_eq!(last_policy, Some((t, c.as_str())), "{what}");
            }
        }
        _ => {}
    }
}

fn outcomes(l: &Loaded, o: SimOptions, pcap: &Path) -> Vec<Outcome> {
    let mut v = Vec::new();
    replay::replay(&l.ruleset, o, Source::Capture(pcap.into()), |i| {
        if let Item::Packet(_, o) = i {
            v.push(o.clone());
        }
    })
    .expect("replay");
    v
}

/// Tracing changes nothing, and every traced packet's steps agree with its verdict: every
/// shipped capture through rulesets with jumps, returns, NAT, recent and limit.
#[test]
fn traces_agree_with_the_engine_on_every_shipped_capture() {
    let rulesets = [
        ("fixtures/guides/guide-000-webserver.rules.v4", false),
        ("fixtures/guides/guide-001-apache.rules.v4", false),
        ("fixtures/kernel/hardened.rules.v4", false),
        ("fixtures/kernel/knock.rules.v4", false),
        ("fixtures/kernel/router.rules.v4", true),
        ("fixtures/real/ufw.rules.v4", false),
        ("fixtures/real/docker.rules.v4", true),
    ];
    let mut pcaps: Vec<_> = std::fs::read_dir("pcaps")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    pcaps.sort();
    let mut traced_packets = 0usize;
    let mut rule_steps = 0usize;
    for (rules, router) in rulesets {
        let l = load(rules);
        if l.ruleset.family != fwcheck::packet::Family::V4 {
            continue;
        }
        for pcap in &pcaps {
            let src = Source::Capture(pcap.clone());
            let Ok(hosts) = replay::choose_hosts(&[], &src) else {
                continue;
            };
            let plain = outcomes(&l, opts(hosts.hosts.clone(), router), pcap);
            let mut o = opts(hosts.hosts.clone(), router);
            o.trace = true;
            let traced = outcomes(&l, o, pcap);
            assert_eq!(plain.len(), traced.len());
            for (a, b) in plain.iter().zip(&traced) {
                let what = format!("{rules} × {} frame {}", pcap.display(), a.frame);
                assert_eq!(
                    (a.verdict, a.decision, a.certain, a.ctstate),
                    (b.verdict, b.decision, b.certain, b.ctstate),
                    "{what}: tracing changed the outcome"
                );
                assert!(a.trace.is_empty());
                check_consistent(&l, b, &what);
                traced_packets += 1;
                rule_steps += b
                    .trace
                    .iter()
                    .filter(|e| matches!(e, TraceEvent::Rule { .. }))
                    .count();
            }
        }
    }
    assert!(traced_packets > 1000, "{traced_packets}");
    assert!(rule_steps > traced_packets, "{rule_steps}");
}

/// `--pcap F --frame N` sees the state frames 1..N-1 built: the same verdict as the replay.
#[test]
fn frame_trace_equals_the_replay_of_that_frame() {
    let l = load("fixtures/kernel/knock.rules.v4");
    let pcap = Path::new("pcaps/knock.pcap");
    let src = Source::Capture(pcap.into());
    let hosts = replay::choose_hosts(&[], &src).unwrap().hosts;
    let plain = outcomes(&l, opts(hosts.clone(), false), pcap);
    assert!(plain.len() > 4);
    for o in &plain {
        if o.frame as usize > 40 {
            break;
        }
        let t = fwcheck::trace::trace_frame(&l.ruleset, opts(hosts.clone(), false), pcap, o.frame)
            .unwrap();
        let Some(last) = t.last() else {
            continue;
        };
        assert_eq!(
            last.record.verdict,
            o.verdict.map(|v| v.as_str()),
            "frame {}",
            o.frame
        );
        assert_eq!(last.record.certain, o.certain, "frame {}", o.frame);
    }
    let e = fwcheck::trace::trace_frame(&l.ruleset, opts(hosts, false), pcap, 100_000).unwrap_err();
    assert!(e.to_string().contains("there is no frame 100000"), "{e}");
}

/// A ruleset whose chains call each other three times over, 15 levels deep (legal: the kernel
/// walks its 14 million rule visits): the trace keeps at most 4,096 events and says where it
/// was cut (it used to grow to gigabytes); the verdict is uncertain, fwcheck's traversal limit
/// being hit.
#[test]
fn traces_of_huge_traversals_are_cut() {
    let mut rules =
        String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for d in 0..15 {
        rules.push_str(&format!(":d{d} - [0:0]\n"));
    }
    rules.push_str("-A INPUT -j d0\n");
    for d in 0..14 {
        for _ in 0..3 {
            rules.push_str(&format!("-A d{d} -j d{}\n", d + 1));
        }
    }
    rules.push_str("-A d14 -p udp -j DROP\nCOMMIT\n");
    let l = load_str("fanout.v4", &rules, ParseOptions::default());
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    let specs = flowspec::parse_many("tcp 198.51.100.7:40000 > 203.0.113.10:22").unwrap();
    let pkts = flowspec::build(&specs, &GenOptions::default());
    let hosts = vec!["203.0.113.10".parse().unwrap()];
    let t = fwcheck::trace::trace_packets(&l.ruleset, opts(hosts, false), pkts);
    let steps = &t[0].steps;
    assert!(steps.len() <= 4096 + 16, "{} events", steps.len());
    assert!(
        steps.iter().any(|e| matches!(e, TraceEvent::Note { text } if text.starts_with("trace cut after 4096 events"))),
        "no cut note"
    );
    assert!(fwcheck::report::trace::text(&t).contains("(uncertain)"));
}
