//! The binary's `steps`, `diff`, `--what-if` and `--reload-at`: exit codes, messages, JSON.

use std::process::Command;

fn fwcheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const G0: &str = "fixtures/guides/guide-000-webserver.rules.v4";
const G1: &str = "fixtures/guides/guide-001-apache.rules.v4";

#[test]
fn steps_exit_codes_and_json() {
    let (c, out, _) = fwcheck(&["steps", "fixtures/guides/guide-000-commands.sh"]);
    assert_eq!(c, 0, "{out}");
    assert!(out.contains("every step is safe"), "{out}");
    let (c, out, _) = fwcheck(&["steps", "fixtures/guides/guide-001-commands.sh"]);
    assert_eq!(c, 1);
    assert!(out.contains(
        "error[FW001]: step 1 `sudo iptables -P INPUT DROP` (fixtures/guides/guide-001-commands.sh:4) cuts the established tcp/22 session"
    ), "{out}");
    let (c, out, _) = fwcheck(&[
        "steps",
        "fixtures/guides/guide-001-commands.sh",
        "--format",
        "json",
    ]);
    assert_eq!(c, 1);
    let recs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.iter().filter(|r| r["type"] == "step").count(), 11);
    let cut = recs.iter().find(|r| r["type"] == "cut").unwrap();
    assert_eq!(cut["step"], 1);
    assert_eq!(cut["works_again_after"], 6);
    let summary = recs.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["exit"], 1);
    // A command that does not apply: its place in the script.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.sh");
    std::fs::write(
        &bad,
        "iptables -P INPUT DROP\niptables -A INPUT -p tcp --dport x -j ACCEPT\n",
    )
    .unwrap();
    // A shell script goes on after a command iptables refuses: that step changes nothing.
    let (c, out, err) = fwcheck(&["steps", bad.to_str().unwrap()]);
    assert_eq!(c, 1, "{out}{err}");
    assert!(
        err.contains("bad.sh:2:34: invalid port/service `x`")
            && err.contains("iptables refuses this command; the script goes on without it"),
        "{err}"
    );
    assert!(out.contains("(refused: not applied)"), "{out}");
    // With `set -e` the shell stops there: nothing is simulated past the error.
    std::fs::write(
        &bad,
        "set -e\niptables -P INPUT DROP\niptables -A INPUT -p tcp --dport x -j ACCEPT\n",
    )
    .unwrap();
    let (c, _, err) = fwcheck(&["steps", bad.to_str().unwrap()]);
    assert_eq!(c, 3, "{err}");
    assert!(
        err.contains("bad.sh:3:34: invalid port/service `x`"),
        "{err}"
    );
    // Restore input is refused whole, as iptables-restore refuses it.
    let restore = dir.path().join("bad.rules");
    std::fs::write(
        &restore,
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport x -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let (c, _, err) = fwcheck(&["steps", restore.to_str().unwrap()]);
    assert_eq!(c, 3, "{err}");
}

#[test]
fn steps_resting_on_an_unknown_set_are_possible_cuts() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.sh");
    std::fs::write(
        &script,
        "iptables -A INPUT -m set --match-set admins src -j ACCEPT\n\
         iptables -P INPUT DROP\n\
         iptables -A INPUT -p tcp --dport 22 -j ACCEPT\n",
    )
    .unwrap();
    let s = script.to_str().unwrap();
    // Unknown contents: a possible cut, a warning; exit 0 unless --fail-on warning.
    let (c, out, _) = fwcheck(&["steps", s]);
    assert_eq!(c, 0, "{out}");
    assert!(
        out.contains("warning[FW001]: step 2 `iptables -P INPUT DROP`"),
        "{out}"
    );
    assert!(
        out.contains("may cut the established tcp/22 session"),
        "{out}"
    );
    assert!(out.contains("  = not certain: data admin → host (established session): filter INPUT #1 (line 1): ipset contents are not known offline"), "{out}");
    assert!(out.contains("CUT?: "), "{out}");
    assert!(out.contains("┆ ok "), "{out}");
    assert!(!out.contains("every step is safe"), "{out}");
    let (c, _, _) = fwcheck(&["steps", s, "--fail-on", "warning"]);
    assert_eq!(c, 1);
    let (c, out, _) = fwcheck(&["steps", s, "--format", "json"]);
    assert_eq!(c, 0);
    let recs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cut = recs.iter().find(|r| r["type"] == "cut").unwrap();
    assert_eq!(cut["certain"], false);
    // Step 3 passes whatever the set holds, and the rules track no state to carry the doubt.
    assert_eq!(cut["works_again_after"], 3);
    let summary = recs.last().unwrap();
    assert_eq!(
        (summary["cuts"].clone(), summary["possible_cuts"].clone()),
        (0.into(), 1.into())
    );
    // The set's contents decide it both ways: holding the admin, every step passes; not
    // holding them, step 2 certainly cuts.
    let holds = |admin: &str| {
        let f = dir.path().join(format!("{admin}.ipset"));
        std::fs::write(
            &f,
            format!("create admins hash:ip family inet hashsize 1024 maxelem 65536\nadd admins {admin}\n"),
        )
        .unwrap();
        f
    };
    let with = holds("198.51.100.77");
    let (c, out, _) = fwcheck(&["steps", s, "--ipset", with.to_str().unwrap()]);
    assert_eq!(c, 0, "{out}");
    assert!(out.contains("every step is safe"), "{out}");
    let without = holds("192.0.2.9");
    let (c, out, _) = fwcheck(&["steps", s, "--ipset", without.to_str().unwrap()]);
    assert_eq!(c, 1, "{out}");
    assert!(
        out.contains("error[FW001]: step 2 `iptables -P INPUT DROP`"),
        "{out}"
    );
    assert!(out.contains("cuts the established tcp/22 session"), "{out}");
    assert!(
        out.contains("the session works again after step 3"),
        "{out}"
    );
}

#[test]
fn what_if_edits_and_errors() {
    let (c, _, err) = fwcheck(&[
        G0,
        "--what-if",
        "-D INPUT 3",
        "--what-if",
        "-I INPUT 9 -j DROP",
    ]);
    assert_eq!(c, 2);
    assert!(
        err.contains(
            "fwcheck: --what-if #2:1:10: index of insertion too big: chain INPUT has 7 rules"
        ),
        "{err}"
    );
    // Guide 001 with ESTABLISHED accepted first in both directions no longer locks out.
    let (c, out, _) = fwcheck(&[
        G1,
        "--what-if",
        "-I OUTPUT 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "--what-if",
        "iptables -I INPUT 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "--format",
        "json",
    ]);
    assert_eq!(c, 0, "{out}");
    assert!(out.contains(r#""check":"tcp/22","passed":true"#), "{out}");
}

#[test]
fn diff_exit_codes() {
    let flow = "tcp 192.0.2.9:40001 > 203.0.113.10:21";
    let (c, out, _) = fwcheck(&["diff", G0, G1, "--flow", flow]);
    assert_eq!(c, 1);
    assert!(
        out.contains("accepts 6 packets in 1 flows that were dropped"),
        "{out}"
    );
    let (c, _, _) = fwcheck(&["diff", G0, G1, "--flow", flow, "--allow-change"]);
    assert_eq!(c, 0);
    let (c, out, _) = fwcheck(&["diff", G0, G0, "--flow", flow, "--format", "json"]);
    assert_eq!(c, 0, "{out}");
    let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(summary["changed_packets"], 0);
}

#[test]
fn reload_at_switches_rules_mid_capture() {
    let (c, out, err) = fwcheck(&[
        G0,
        "--pcap",
        "pcaps/webserver.pcap",
        "--reload-at",
        "frame:100",
        G1,
        "--format",
        "json",
    ]);
    assert!(c == 0 || c == 1, "{err}");
    assert!(err.contains("is loaded at frame 100"), "{err}");
    let recs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r["type"] == "packet")
        .collect();
    // Frame 102 (the web server's FIN) passed guide 000's OUTPUT #1 without the reload; with
    // it, guide 001's OUTPUT policy drops it.
    let f = |n: u64| recs.iter().find(|r| r["frame"] == n).unwrap();
    assert_eq!(f(2)["verdict"], "ACCEPT");
    assert_eq!(f(102)["verdict"], "DROP", "{}", f(102));
    let (c, _, err) = fwcheck(&[
        G0,
        "--pcap",
        "pcaps/webserver.pcap",
        "--reload-at",
        "soon",
        G1,
    ]);
    assert_eq!(c, 2);
    assert!(
        err.contains("--reload-at `soon`: expected frame:N"),
        "{err}"
    );
}

fn sarif_schema() -> serde_json::Value {
    // The vendored schema, with the erratum tests/analysis.rs applies (the original
    // `run.language` pattern is not a valid regular expression; fwcheck never emits it).
    let text = include_str!("data/sarif-schema-2.1.0.json").replace(
        r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#,
        r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#,
    );
    serde_json::from_str(&text).expect("schema")
}

/// `diff --format sarif|github|junit`: a changed flow is reported at the rule deciding it in
/// the new ruleset, or at the old ruleset's rule when a policy decides in the new one.
#[test]
fn diff_ci_formats_point_at_the_deciding_rule() {
    let flow = "tcp 192.0.2.9:40001 > 203.0.113.10:21";
    // Guide 001 accepts tcp/21 at line 8; guide 000 drops it by the INPUT policy.
    let (c, out, err) = fwcheck(&["diff", G0, G1, "--flow", flow, "--format", "sarif"]);
    assert_eq!(c, 1, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("SARIF is JSON");
    let schema = sarif_schema();
    let validator = jsonschema::validator_for(&schema).expect("compile schema");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "SARIF does not validate: {errors:?}");
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let changed: Vec<&serde_json::Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "verdict-change")
        .collect();
    let first = changed
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with("tcp 192.0.2.9:40001 → 203.0.113.10:21: now accepted")
        })
        .expect("the inbound flow is a result");
    let loc = &first["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], G1);
    assert_eq!(loc["region"]["startLine"], 8);
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let i = first["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[i]["id"], "verdict-change");
    // New findings of guide 001 come along (its FW001 lockout).
    assert!(results.iter().any(|r| r["ruleId"] == "FW001"), "{out}");

    // The other way round the new decision is guide 000's policy: the old rule is the place.
    let (c, out, _) = fwcheck(&["diff", G1, G0, "--flow", flow, "--format", "github"]);
    assert_eq!(c, 1);
    let line = out
        .lines()
        .find(|l| l.contains("203.0.113.10:21: now dropped"))
        .expect("an annotation for the inbound flow");
    assert!(
        line.starts_with(&format!("::error file={G1},line=8,title=verdict-change::")),
        "{line}"
    );

    let (c, out, _) = fwcheck(&["diff", G0, G1, "--flow", flow, "--format", "junit"]);
    assert_eq!(c, 1);
    assert!(out.starts_with("<?xml"), "{out}");
    assert!(
        out.contains("<testsuite name=\"verdicts\" tests=\"2\" failures=\"2\">"),
        "{out}"
    );
    assert!(out.contains(&format!("at: {G1}:8</failure>")), "{out}");

    // No change: a passing verdicts case, exit 0.
    let (c, out, _) = fwcheck(&["diff", G0, G0, "--flow", flow, "--format", "junit"]);
    assert_eq!(c, 0, "{out}");
    assert!(
        out.contains(
            "<testcase classname=\"fwcheck.diff.verdicts\" name=\"no flow changes its verdict\"/>"
        ),
        "{out}"
    );
    assert!(out.contains("failures=\"0\""), "{out}");
}

#[test]
fn steps_refuses_a_capture_as_the_script() {
    let (c, _, err) = fwcheck(&["steps", "pcaps/webserver.pcap"]);
    assert_eq!(c, 2, "{err}");
    assert!(
        err.contains("pcaps/webserver.pcap is a pcap capture, not a ruleset"),
        "{err}"
    );
    assert!(!err.contains("--pcap"), "steps has no --pcap: {err}");
}

#[test]
fn trace_applies_what_if_edits_before_tracing() {
    let rules = "fixtures/guides/guide-000-webserver.rules.v4";
    let spec = "tcp 198.51.100.7:40000 > 203.0.113.10:22 flags S";
    let (code, out, _) = fwcheck(&["trace", rules, spec]);
    assert_eq!(code, 0);
    assert!(out.contains("verdict: ACCEPT"), "{out}");
    let (code, out, err) = fwcheck(&[
        "trace",
        rules,
        spec,
        "--what-if",
        "-I INPUT 1 -p tcp --dport 22 -j DROP",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("INPUT #1 (line 23) matches: -A INPUT -p tcp -m tcp --dport 22 -j DROP"),
        "{out}"
    );
    assert!(out.contains("verdict: DROP by filter INPUT #1"), "{out}");
    let (code, _, err) = fwcheck(&["trace", rules, spec, "--what-if", "-D INPUT 99"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--what-if #1:1:10: chain INPUT has no rule 99"),
        "{err}"
    );
}
