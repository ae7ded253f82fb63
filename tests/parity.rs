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
    assert!(fw018(&out).is_empty(), "{out}");
    // The copy has no ICMPv6 rule: IPv6 neighbour discovery is dropped (FW001, exit 1), which
    // no IPv4 ruleset needs.
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("neighbour discovery is dropped"), "{out}");
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

fn records(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .collect()
}

/// With `--parity` and a capture, every frame is judged by its family's ruleset in one replay:
/// IPv6 frames by rules.v6 (their records name its rules and file), the rule counters of both
/// files, the host's address of each family, the capture's findings per file, no FW019.
#[test]
fn a_dual_capture_is_judged_by_each_familys_ruleset() {
    const GUIDE: &str = "fixtures/guides/guide-000-webserver.rules.v4";
    let (out, err, code) = fwcheck(&[
        GUIDE,
        "--pcap",
        "pcaps/webserver-dual.pcap",
        "--parity",
        V6,
        "--format",
        "json",
    ]);
    assert!(code <= 1, "{err}");
    assert!(
        err.contains("host inferred as 203.0.113.10 (in 272 of 272 IPv4 packets), 2001:db8::10 (in 270 of 270 IPv6 packets)"),
        "{err}"
    );
    let recs = records(&out);
    let packets: Vec<&serde_json::Value> = recs.iter().filter(|v| v["type"] == "packet").collect();
    assert_eq!(packets.len(), 542);
    let mut judged = [0, 0];
    for p in &packets {
        assert!(
            !p["reason"].as_str().unwrap_or("").contains("never sees it"),
            "{p}"
        );
        let Some(file) = p["rule"]["file"].as_str() else {
            continue;
        };
        let six = p["family"] == 6;
        assert_eq!(file, if six { V6 } else { GUIDE }, "{p}");
        judged[usize::from(six)] += 1;
    }
    assert!(judged[0] > 200 && judged[1] > 200, "{judged:?}");
    // The same HTTPS connection over both families: IPv4 accepts it, rules.v6 has no tcp/443.
    assert_eq!(packets[0]["verdict"], "ACCEPT");
    assert_eq!(packets[1]["family"], 6);
    assert_eq!(packets[1]["verdict"], "DROP");
    assert_eq!(packets[1]["rule"]["policy"], "DROP");
    let hits: Vec<&serde_json::Value> = recs
        .iter()
        .filter(|v| v["type"] == "rule" || v["type"] == "policy")
        .collect();
    for f in [GUIDE, V6] {
        assert!(hits.iter().any(|h| h["file"] == f), "no counters of {f}");
    }
    let v6_port22 = hits
        .iter()
        .find(|h| h["file"] == V6 && h["line"] == 8)
        .unwrap();
    assert!(v6_port22["packets"].as_u64().unwrap() > 0, "{v6_port22}");
    let findings: Vec<&serde_json::Value> =
        recs.iter().filter(|v| v["type"] == "finding").collect();
    assert!(!findings.iter().any(|f| f["code"] == "FW019"), "{out}");
    // Never hit: rules.v6's `-i lo` rule (line 5), located in rules.v6.
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == "FW008" && f["file"] == V6 && f["line"] == 5),
        "{out}"
    );
    let summary = recs.last().unwrap();
    assert_eq!(summary["frames"], 542);
    assert_eq!(
        summary["hosts"],
        serde_json::json!(["203.0.113.10", "2001:db8::10"])
    );

    // --host naming the IPv4 address only: the IPv6 one is still inferred.
    let (out, err, _) = fwcheck(&[
        GUIDE,
        "--pcap",
        "pcaps/webserver-dual.pcap",
        "--parity",
        V6,
        "--host",
        "203.0.113.10",
        "--format",
        "json",
    ]);
    assert!(
        err.contains(
            "host inferred as 203.0.113.10 (--host), 2001:db8::10 (in 270 of 270 IPv6 packets)"
        ),
        "{err}"
    );
    let summary = records(&out).pop().unwrap();
    assert_eq!(
        summary["hosts"],
        serde_json::json!(["203.0.113.10", "2001:db8::10"])
    );

    // Without --parity nothing names a file: single-family output is unchanged.
    let (out, _, _) = fwcheck(&[
        GUIDE,
        "--pcap",
        "pcaps/webserver-dual.pcap",
        "--format",
        "json",
    ]);
    assert!(records(&out)
        .iter()
        .all(|v| v["file"].is_null() || v["type"] == "finding"));
    assert!(records(&out).iter().all(|v| v["rule"]["file"].is_null()));
}

/// `--rules6` / `--rules4`: `--parity` naming the family; the wrong family is refused (exit 2),
/// and `rules.v6 --rules4 rules.v4` replays a dual capture like `rules.v4 --parity rules.v6`.
#[test]
fn rules6_and_rules4_name_the_family() {
    let (_, err, code) = fwcheck(&[V4, "--rules6", V4]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--rules6 fixtures/parity/web.rules.v4: an IPv4 ruleset"),
        "{err}"
    );
    let (_, err, code) = fwcheck(&[V6, "--rules4", V6]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--rules4 fixtures/parity/web.rules.v6: an IPv6 ruleset"),
        "{err}"
    );
    let (_, _, code) = fwcheck(&[V4, "--rules6", V6, "--parity", V6]);
    assert_eq!(code, 2);
    let verdicts = |args: &[&str]| -> Vec<(u64, String, String)> {
        let (out, err, code) = fwcheck(args);
        assert!(code <= 1, "{err}");
        records(&out)
            .into_iter()
            .filter(|v| v["type"] == "packet")
            .map(|v| {
                (
                    v["frame"].as_u64().unwrap(),
                    v["verdict"].to_string(),
                    v["rule"]["file"].to_string(),
                )
            })
            .collect()
    };
    let dual = ["--pcap", "pcaps/webserver-dual.pcap", "--format", "json"];
    let a = verdicts(&[&[V4, "--parity", V6][..], &dual].concat());
    let b = verdicts(&[&[V6, "--rules4", V4][..], &dual].concat());
    let c = verdicts(&[&[V4, "--rules6", V6][..], &dual].concat());
    assert_eq!(a.len(), 542);
    assert_eq!(a, b);
    assert_eq!(a, c);
}

/// FW001 per family: the IPv6 SSH sessions of the dual capture are refused by a rules.v6
/// without tcp/22; the lockout is found in that file (at its INPUT policy), the IPv4 sessions
/// (accepted by rules.v4) are not reported, and the gate fails.
#[test]
fn a_lockout_over_one_family_is_found_in_its_file() {
    const NO_SSH: &str = "fixtures/parity/no-ssh.rules.v6";
    let (out, err, code) = fwcheck(&[
        "fixtures/guides/guide-000-webserver.rules.v4",
        "--pcap",
        "pcaps/webserver-dual.pcap",
        "--rules6",
        NO_SSH,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{err}");
    let lockouts: Vec<serde_json::Value> = records(&out)
        .into_iter()
        .filter(|v| v["type"] == "finding" && v["code"] == "FW001")
        .collect();
    // The static lockout check of the IPv6 file, and the two SSH sessions its capture shows.
    assert_eq!(lockouts.len(), 3, "{out}");
    for f in &lockouts {
        assert_eq!(f["file"], NO_SSH, "{f}");
        assert_eq!(f["line"], 2, "{f}");
    }
    let (from_capture, static_): (Vec<_>, Vec<_>) =
        lockouts.iter().partition(|f| f["frame"].is_u64());
    assert_eq!((from_capture.len(), static_.len()), (2, 1), "{out}");
    for f in &from_capture {
        let m = f["message"].as_str().unwrap();
        assert!(m.contains("from 2001:db8:"), "{m}");
    }
    // Its fix is an ip6tables command, and the lockout checks are named by family.
    let fix = static_[0]["fix"].as_str().unwrap();
    assert!(
        fix.contains("`ip6tables -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT`"),
        "{fix}"
    );
    let checks: Vec<(String, u64, bool)> = records(&out)
        .into_iter()
        .filter(|v| v["type"] == "lockout")
        .map(|v| {
            (
                v["check"].as_str().unwrap().to_string(),
                v["family"].as_u64().unwrap(),
                v["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        checks,
        [
            ("tcp/22".to_string(), 4, true),
            ("loopback".to_string(), 4, true),
            ("tcp/22".to_string(), 6, false),
            ("neighbour discovery".to_string(), 6, true),
            ("loopback".to_string(), 6, true),
        ],
        "{out}"
    );
}

/// What the two-family replay cannot model is not claimed certain: the kernel's one conntrack
/// table for both families (a small `--ct-max` is reached by the two tables together), and a
/// `recent` list both files name (the kernel keeps one; the replay is refused).
#[test]
fn state_the_families_share_in_the_kernel_is_never_certain() {
    let base = [
        "fixtures/guides/guide-000-webserver.rules.v4",
        "--pcap",
        "pcaps/webserver-dual.pcap",
        "--rules6",
        "fixtures/parity/web.rules.v6",
        "--format",
        "json",
    ];
    let shared = |r: &&serde_json::Value| {
        r["reason"]
            .as_str()
            .is_some_and(|s| s.contains("together reached nf_conntrack_max"))
    };
    let (out, err, _) = fwcheck(&base);
    let recs = records(&out);
    assert!(recs.iter().any(|r| r["type"] == "packet"), "{err}");
    assert!(!recs.iter().any(|r| shared(&r)), "{err}");
    let mut small = base.to_vec();
    small.extend(["--ct-max", "8"]);
    let (out, err, _) = fwcheck(&small);
    let packets: Vec<serde_json::Value> = records(&out)
        .into_iter()
        .filter(|r| r["type"] == "packet")
        .collect();
    let doubted: Vec<&serde_json::Value> = packets.iter().filter(shared).collect();
    assert!(!doubted.is_empty(), "{err}");
    assert!(doubted.iter().all(|r| r["certain"] == false));
    assert!(doubted[0]["reason"].as_str().unwrap().contains("(8)"));
    // Before the two tables meet the limit, verdicts stay certain.
    assert_eq!(packets[0]["certain"], true, "{}", packets[0]);

    let dir = tempfile::tempdir().unwrap();
    let v4 = dir.path().join("r.v4");
    let v6 = dir.path().join("r.v6");
    std::fs::write(
        &v4,
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m recent --name seen --set\nCOMMIT\n",
    )
    .unwrap();
    std::fs::write(
        &v6,
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m recent --name seen --rcheck -j DROP\nCOMMIT\n",
    )
    .unwrap();
    let (_, err, code) = fwcheck(&[
        v4.to_str().unwrap(),
        "--pcap",
        "pcaps/webserver-dual.pcap",
        "--rules6",
        v6.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("recent list `seen`"), "{err}");
}

/// Without traffic too, the other family's file gets every static check (lockout, FW003–FW017)
/// in its own lines, and the text report names the lockout checks by family.
#[test]
fn the_other_familys_file_gets_the_static_checks() {
    const NO_SSH: &str = "fixtures/parity/no-ssh.rules.v6";
    let (out, err, code) = fwcheck(&[
        "fixtures/guides/guide-000-webserver.rules.v4",
        "--parity",
        NO_SSH,
        "--host",
        "203.0.113.10",
        "--host",
        "2001:db8::10",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("error[FW001]"), "{out}");
    assert!(out.contains(&format!("--> {NO_SSH}:2:1")), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("no lockout via tcp/22 (IPv4) ") && l.contains("┆ pass ")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("no lockout via tcp/22 (IPv6) ") && l.contains("┆ FAIL ")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("loopback traffic (lo) (IPv6) ") && l.contains("┆ pass ")),
        "{out}"
    );
    // Alone, the IPv4 file passes: the error is the IPv6 file's.
    let (out, err, code) = fwcheck(&[
        "fixtures/guides/guide-000-webserver.rules.v4",
        "--host",
        "203.0.113.10",
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

/// Only the 64 lowest ports the rulesets open are probed in both families; the rest are named
/// in a note, never dropped silently (an audit found a gap at the 70th port unreported).
#[test]
fn ports_past_the_bound_are_named_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, head: &str, ports: std::ops::Range<u16>| {
        let mut t = format!(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n{head}"
        );
        for p in ports {
            t.push_str(&format!("-A INPUT -p tcp -m tcp --dport {p} -j ACCEPT\n"));
        }
        t.push_str("COMMIT\n");
        let path = dir.path().join(name);
        std::fs::write(&path, t).unwrap();
        path.to_string_lossy().into_owned()
    };
    let v4 = write(
        "many.v4",
        "-A INPUT -s 192.0.2.0/24 -j ACCEPT\n",
        1000..1070,
    );
    let v6 = write(
        "many.v6",
        "-A INPUT -s 2001:db8::/32 -j ACCEPT\n",
        1000..1069,
    );
    let (out, err, _) = fwcheck(&[&v4, "--parity", &v6, "--format", "json"]);
    let f = fw018(&out);
    let note = f
        .iter()
        .find(|v| v["severity"] == "note")
        .unwrap_or_else(|| panic!("{out}{err}"));
    let msg = note["message"].as_str().unwrap();
    assert!(msg.contains("only the 64 lowest of the 70 ports"), "{msg}");
    assert!(msg.contains("from tcp/1064 up"), "{msg}");
    assert!(note["details"].to_string().contains("tcp/1069"), "{note}");
    // With as many ports as the bound, no note.
    let v4 = write("few.v4", "", 1000..1064);
    let v6 = write("few.v6", "", 1000..1064);
    let (out, _, _) = fwcheck(&[&v4, "--parity", &v6, "--format", "json"]);
    assert!(fw018(&out).iter().all(|v| v["severity"] != "note"), "{out}");
}
