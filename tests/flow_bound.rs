//! The replay's flow summary keeps at most `--max-flows` flows (issue 15): packets of later
//! flows are counted exactly by verdict in one bucket, the number of such flows is estimated
//! in fixed memory, and captures under the bound report exactly as before.

use std::process::Command;

use serde_json::Value;

const RULES: &str = "fixtures/guides/guide-000-webserver.rules.v4";

fn run(args: &[&str]) -> (Vec<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run fwcheck");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let json = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (json, text)
}

fn of_type<'a>(v: &'a [Value], t: &str) -> Vec<&'a Value> {
    v.iter().filter(|r| r["type"] == t).collect()
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// A port scan: one flow per probe, thousands of them.
fn scan() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("scan.pcap");
    let st = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(["gen", "scan", "--flows", "300", "--output"])
        .arg(&p)
        .status()
        .unwrap();
    assert!(st.success());
    let p = p.to_str().unwrap().to_string();
    (dir, p)
}

#[test]
fn flows_beyond_the_bound_are_folded_with_exact_totals() {
    let (_dir, pcap) = scan();
    let base = [
        RULES,
        "--pcap",
        pcap.as_str(),
        "--flows",
        "--format",
        "json",
    ];
    let (all, _) = run(&base);
    let all_flows = of_type(&all, "flow");
    assert!(all_flows.len() > 1000, "{} flows", all_flows.len());
    assert!(of_type(&all, "flows_not_listed").is_empty());

    let mut bounded_args = base.to_vec();
    bounded_args.extend(["--max-flows", "100"]);
    let (bounded, _) = run(&bounded_args);
    let flows = of_type(&bounded, "flow");
    assert_eq!(flows.len(), 100);
    let folded = of_type(&bounded, "flows_not_listed");
    assert_eq!(folded.len(), 1);
    let folded = folded[0];
    assert_eq!(n(folded, "max_flows"), 100);

    // The summary is the same, and listed + folded packets add up to it, verdict by verdict.
    let s_all = of_type(&all, "summary")[0];
    let s_bounded = of_type(&bounded, "summary")[0];
    for k in ["frames", "accepted", "dropped", "rejected", "uncertain"] {
        assert_eq!(n(s_all, k), n(s_bounded, k), "{k}");
    }
    for (k, total) in [
        ("packets", n(s_all, "judged")),
        ("accepted", n(s_all, "accepted")),
        ("dropped", n(s_all, "dropped")),
        ("rejected", n(s_all, "rejected")),
    ] {
        let listed: u64 = flows.iter().map(|f| n(f, k)).sum();
        assert_eq!(listed + n(folded, k), total, "{k}");
    }
    // The kept flows are the first 100 seen, with their exact counts.
    let mut first: Vec<&Value> = all_flows.clone();
    first.sort_by_key(|f| n(f, "first_frame"));
    let mut kept: Vec<&Value> = flows.clone();
    kept.sort_by_key(|f| n(f, "first_frame"));
    assert_eq!(kept, first[..100].to_vec());
    // The folded flows are counted within the estimator's error (HyperLogLog, 4096 registers).
    let want = (all_flows.len() - 100) as f64;
    let est = n(folded, "flows_estimate") as f64;
    assert!(
        (est - want).abs() <= want * 0.05,
        "estimate {est}, exact {want}"
    );
}

#[test]
fn the_terminal_says_how_many_flows_were_not_listed() {
    let (_dir, pcap) = scan();
    let (_, text) = run(&[RULES, "--pcap", &pcap, "--max-flows", "100"]);
    let line = text
        .lines()
        .find(|l| l.starts_with("… and about "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("not listed: only the first 100 flows are kept (--max-flows)"),
        "{line}"
    );
    assert!(text.contains("--flows lists every kept flow"), "{text}");
    let (_, text) = run(&[RULES, "--pcap", &pcap, "--flows", "--max-flows", "100"]);
    assert!(text.contains("… and about "), "{text}");
    // Under the bound nothing changes.
    let (_, text) = run(&[RULES, "--pcap", "pcaps/webserver.pcap"]);
    assert!(!text.contains("not listed"), "{text}");
    assert!(!text.contains("kept flow"), "{text}");
}

#[test]
fn a_zero_bound_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args([RULES, "--pcap", "pcaps/webserver.pcap", "--max-flows", "0"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-flows"));
}
