//! Proof against the Linux kernel: every fixture ruleset × every fixture capture is replayed
//! through a real kernel in a private network namespace and through fwcheck, and the verdicts
//! must be identical frame by frame. Needs root, iptables and network namespaces; elsewhere each
//! test prints a visible SKIP line (CI runs them as root).

use std::path::{Path, PathBuf};

use fwcheck::compare::{compare_capture, Status};
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_file;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::{Family, ParseOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn available() -> bool {
    match fwcheck::oracle::available() {
        Ok(()) => true,
        Err(why) => {
            eprintln!("SKIP: kernel comparison not run: {why}");
            false
        }
    }
}

/// Replay `capture` through `rules` in the kernel and in fwcheck; panic with a readable diff
/// on any mismatch. Returns (compared, uncertain).
fn check(rules: &str, capture: &str, hosts: &[&str]) -> (usize, usize) {
    let rules_path = root().join(rules);
    let family = if rules.ends_with('6') {
        Family::V6
    } else {
        Family::V4
    };
    let loaded = load_file(
        &rules_path,
        ParseOptions {
            family,
            ..ParseOptions::default()
        },
    )
    .expect("ruleset");
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let env = SimEnv {
        hosts: hosts.iter().map(|h| h.parse().expect("host")).collect(),
        ..SimEnv::default()
    };
    let sim = SimOptions {
        env,
        ..SimOptions::default()
    };
    let cmp = compare_capture(
        &loaded,
        &root().join(capture),
        sim,
        Pacing::AsFastAsPossible,
    )
    .expect("comparison");
    assert!(
        cmp.mismatches == 0,
        "{rules} × {capture}: fwcheck differs from the kernel\n{}",
        cmp.render(true)
    );
    let unc = cmp
        .frames
        .iter()
        .filter(|f| f.status == Status::Uncertain)
        .count();
    eprintln!(
        "{rules} × {capture}: {} frames identical to the kernel, {unc} uncertain",
        cmp.matches
    );
    (cmp.compared, unc)
}

const H: &[&str] = &["203.0.113.10"];

fn captures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("pcaps"))
        .expect("pcaps")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .map(|p| {
            format!(
                "pcaps/{}",
                p.file_name().and_then(|n| n.to_str()).unwrap_or_default()
            )
        })
        .collect();
    v.sort();
    v
}

fn all_captures_against(rules: &str) {
    if !available() {
        return;
    }
    let mut total = 0;
    for cap in captures() {
        if Path::new(&cap)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains("mixed-linktypes"))
        {
            continue;
        }
        total += check(rules, &cap, H).0;
    }
    assert!(total > 0, "{rules}: nothing compared");
}

#[test]
fn guide_000_matches_the_kernel_on_every_capture() {
    all_captures_against("fixtures/guides/guide-000-webserver.rules.v4");
}

#[test]
fn guide_001_matches_the_kernel_on_every_capture() {
    all_captures_against("fixtures/guides/guide-001-apache.rules.v4");
}
