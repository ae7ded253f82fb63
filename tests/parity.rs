//! `--parity`: FW018 for each service reachable over one family and not the other, located in
//! the checked file, with the other file's decision; one finding when the defaults differ; the
//! wrong file refused.

use std::process::Command;

fn fwcheck(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("fwcheck runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn fw018(json: &str) -> Vec<serde_json::Value> {
    json.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "finding" && v["code"] == "FW018")
        .collect()
}

const V4: &str = "fixtures/parity/web.rules.v4";
const V6: &str = "fixtures/parity/web.rules.v6";

#[test]
fn each_port_open_on_one_side_only_is_reported() {
    let (out, err, code) = fwcheck(&[V4, "--parity", V6, "--format", "json"]);
    assert_eq!(code, 0, "warnings only: {err}");
    let f = fw018(&out);
    let msgs: Vec<&str> = f.iter().map(|v| v["message"].as_str().unwrap()).collect();
    assert_eq!(msgs.len(), 3, "{msgs:#?}");
    assert!(msgs[0].starts_with("tcp/80 is reachable over IPv6 but not over IPv4"));
    assert!(msgs[1].starts_with("tcp/443 is reachable over IPv4 but not over IPv6"));
    assert!(msgs[2].starts_with("udp/53 is reachable over IPv4 but not over IPv6"));
    // Located in the checked file: the policy that refuses tcp/80, the rules that open the others.
    let lines: Vec<u64> = f.iter().map(|v| v["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 8, 9]);
    assert!(f[0]["packet"]
        .as_str()
        .unwrap()
        .contains("ACCEPT by filter INPUT #5 (line 9) in fixtures/parity/web.rules.v6"));
    // From the other side, the same three, located in rules.v6.
    let (out, _, _) = fwcheck(&[V6, "--parity", V4, "--format", "json"]);
    let lines: Vec<u64> = fw018(&out)
        .iter()
        .map(|v| v["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [9, 2, 2]);
}

#[test]
fn a_different_default_is_one_finding() {
    let (out, _, _) = fwcheck(&[
        V4,
        "--parity",
        "fixtures/parity/open.rules.v6",
        "--format",
        "json",
    ]);
    let f = fw018(&out);
    assert_eq!(f.len(), 1, "{f:#?}");
    let m = f[0]["message"].as_str().unwrap();
    assert!(m.contains("an arbitrary tcp port"), "{m}");
    assert!(m.contains("reachable over IPv6 but not over IPv4"), "{m}");
    assert!(f[0]["fix"].as_str().unwrap().contains(":INPUT DROP"));
}

#[test]
fn identical_files_have_no_finding_and_the_same_family_is_refused() {
    let same = fwcheck(&[V4, "--parity", V4]);
    assert_eq!(same.2, 2, "{}", same.1);
    assert!(
        same.1.contains("give the other family's file"),
        "{}",
        same.1
    );
    // A v6 copy of the v4 policy and ports: nothing differs.
    let dir = tempfile::tempdir().unwrap();
    let v6 = dir.path().join("same.rules.v6");
    std::fs::write(
        &v6,
        std::fs::read_to_string(format!("{}/{V4}", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap();
    let (out, err, code) = fwcheck(&[V4, "--parity", v6.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(fw018(&out).is_empty(), "{out}");
}

/// FW019: a dual-stack capture through an IPv4 ruleset: the IPv6 packets are counted, from the
/// first of them, with how to check them; an IPv4-only capture has none.
#[test]
fn packets_of_the_other_family_are_counted() {
    let (out, err, code) = fwcheck(&[
        "fixtures/guides/guide-000-webserver.rules.v4",
        "--pcap",
        "pcaps/webserver-dual.pcap",
        "--format",
        "json",
    ]);
    assert!(code <= 1, "{err}");
    let f: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "finding" && v["code"] == "FW019")
        .collect();
    assert_eq!(f.len(), 1, "{out}");
    let m = f[0]["message"].as_str().unwrap();
    // Every IPv6 frame of the capture, and no other, is counted.
    let v6 = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "packet" && v["family"] == 6)
        .count();
    assert!(v6 > 0);
    assert!(
        m.starts_with(&format!("the capture has {v6} IPv6 packets")),
        "{m} ({v6} IPv6 packet records)"
    );
    let first = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["type"] == "packet" && v["family"] == 6)
        .unwrap();
    assert_eq!(f[0]["frame"], first["frame"]);
    let (out, _, _) = fwcheck(&[
        "fixtures/guides/guide-000-webserver.rules.v4",
        "--pcap",
        "pcaps/webserver.pcap",
        "--format",
        "json",
    ]);
    assert!(!out.contains("\"FW019\""), "an IPv4 capture has no FW019");
}
