//! `fwcheck diff`: guide 000 vs guide 001 on the same capture. The changes are exactly the
//! frames whose verdicts differ between two independent replays, grouped by flow, with the
//! expected flows and counts; and the findings' new/resolved split.

use std::collections::HashMap;
use std::path::Path;

use fwcheck::analysis::CheckOptions;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_file;
use fwcheck::replay::{replay_file, Source};
use fwcheck::ruleset::ParseOptions;

fn path(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

#[test]
fn guide_000_to_guide_001_on_the_webserver_capture() {
    let old = load_file(
        &path("fixtures/guides/guide-000-webserver.rules.v4"),
        ParseOptions::default(),
    )
    .unwrap();
    let new = load_file(
        &path("fixtures/guides/guide-001-apache.rules.v4"),
        ParseOptions::default(),
    )
    .unwrap();
    let pcap = path("pcaps/webserver.pcap");
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec!["203.0.113.10".parse().unwrap()],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let check = CheckOptions {
        env: sim.env.clone(),
        ..CheckOptions::default()
    };
    let d = fwcheck::diff::diff(
        &old,
        &new,
        sim.clone(),
        &check,
        Source::Capture(pcap.clone()),
    )
    .unwrap();
    // The changed frames are exactly where two separate replays disagree.
    let verdicts = |l: &fwcheck::lint::Loaded| -> HashMap<u64, Option<&'static str>> {
        replay_file(&l.ruleset, sim.clone(), &pcap)
            .unwrap()
            .iter()
            .map(|o| (o.frame, o.verdict.map(|v| v.as_str())))
            .collect()
    };
    let (vo, vn) = (verdicts(&old), verdicts(&new));
    let mut expected: Vec<u64> = vo.keys().copied().filter(|f| vo[f] != vn[f]).collect();
    expected.sort();
    let got: Vec<u64> = d.changed.iter().map(|c| c.frame).collect();
    assert_eq!(got, expected);
    assert_eq!(d.frames, 272);
    assert_eq!(d.changed.len(), 135);
    assert_eq!((d.dropped_packets, d.dropped_flows), (112, 22));
    assert_eq!((d.accepted_packets, d.accepted_flows), (4, 2));
    assert_eq!(
        d.headline(),
        "this change drops 112 packets in 22 flows that were accepted; accepts 4 packets in 2 \
         flows that were dropped; changes 19 more packets otherwise (of 272 frames)"
    );
    // Guide 001 opens FTP (line 8) and any tcp/80 packet (line 5)...
    let accepted: Vec<(&str, &[u64], Option<&str>)> = d
        .flows
        .iter()
        .filter(|f| f.change == "now accepted")
        .map(|f| (f.flow.as_str(), &f.frames[..], f.new.rule.as_deref()))
        .collect();
    assert_eq!(
        accepted,
        [
            (
                "tcp 192.0.2.99:44514 → 203.0.113.10:21",
                &[189][..],
                Some("filter INPUT #4 (line 8)")
            ),
            (
                "tcp 198.51.100.200:43461 → 203.0.113.10:80",
                &[249, 250, 253][..],
                Some("filter INPUT #1 (line 5)")
            ),
        ]
    );
    // ...and drops every answer the host sends (OUTPUT policy DROP, no accept), e.g. the SSH
    // sessions guide 000 answered by OUTPUT #3 (line 15).
    let ssh: Vec<&fwcheck::diff::FlowChange> = d
        .flows
        .iter()
        .filter(|f| f.flow.starts_with("tcp 203.0.113.10:22 "))
        .collect();
    assert_eq!(ssh.len(), 3);
    for f in ssh {
        assert_eq!(f.change, "now dropped");
        assert_eq!(f.old.rule.as_deref(), Some("filter OUTPUT #3 (line 15)"));
        assert_eq!(f.new.rule.as_deref(), Some("filter OUTPUT policy DROP"));
    }
    // Findings: the lockout is new, guide 000's FW014 is resolved (001 drops the tcp/80
    // answers anyway), nothing is shared.
    let codes = |v: &[fwcheck::analysis::Finding]| {
        let mut c: Vec<&str> = v.iter().map(|f| f.code).collect();
        c.sort();
        c
    };
    assert_eq!(
        codes(&d.findings.new),
        [
            "FW001", "FW004", "FW009", "FW011", "FW011", "FW011", "FW012", "FW012", "FW012",
            "FW015"
        ]
    );
    assert_eq!(codes(&d.findings.resolved), ["FW002", "FW005", "FW014"]);
    assert!(d.findings.unchanged.is_empty());
    assert!(d.changes_anything());
}

#[test]
fn a_ruleset_against_itself_changes_nothing() {
    let rs = load_file(
        &path("fixtures/guides/guide-000-webserver.rules.v4"),
        ParseOptions::default(),
    )
    .unwrap();
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec!["203.0.113.10".parse().unwrap()],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let check = CheckOptions {
        env: sim.env.clone(),
        ..CheckOptions::default()
    };
    let d = fwcheck::diff::diff(
        &rs,
        &rs,
        sim,
        &check,
        Source::Capture(path("pcaps/webserver.pcap")),
    )
    .unwrap();
    assert!(d.changed.is_empty() && d.flows.is_empty());
    assert!(!d.changes_anything());
    assert!(d.findings.new.is_empty() && d.findings.resolved.is_empty());
    assert!(!d.findings.unchanged.is_empty());
}
