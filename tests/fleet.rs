//! `fwcheck fleet MANIFEST.toml` (src/cli/fleet.rs, src/session/fleet.rs, src/report/fleet.rs):
//! every host is judged exactly as a single `fwcheck RULES ...` run of it (summary, findings,
//! exit code), the merged report does not depend on the number of threads, shards partition
//! the hosts, a host that cannot be checked is a line of the report (not the end of the run),
//! and every format holds one part per host (SARIF validated against the schema, JUnit parsed).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const MANIFEST: &str = "fixtures/fleet/fleet.toml";

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fwcheck"));
    c.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run fwcheck")
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The manifest's hosts as `fwcheck` arguments, from the repository root (where tests run).
fn manifest_hosts() -> Vec<(String, Vec<String>)> {
    let m = fwcheck::session::fleet::Manifest::read(Path::new(MANIFEST)).expect("manifest");
    m.hosts
        .iter()
        .map(|h| {
            // Files relative to the manifest: the rules, --pcap, --host-config.
            let mut args = m.args(h);
            for i in 0..args.len() {
                let is_file = i == 0 || matches!(args[i - 1].as_str(), "--pcap" | "--host-config");
                if is_file {
                    args[i] = m.resolve(Path::new(&args[i])).display().to_string();
                }
            }
            (h.name.clone(), args)
        })
        .collect()
}

#[test]
fn each_host_is_judged_as_a_single_run_would_judge_it() {
    let fleet = run(&["fleet", MANIFEST, "--format", "json"], &[]);
    let records = json_lines(&fleet);
    let hosts = manifest_hosts();
    assert_eq!(records.len(), hosts.len() + 1);
    let mut worst = 0;
    for ((name, args), rec) in hosts.iter().zip(&records) {
        assert_eq!(rec["type"], "host");
        assert_eq!(&rec["host"], name);
        let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
        a.extend(["--format", "json"]);
        let single = run(&a, &[]);
        let lines = json_lines(&single);
        let summary = lines.last().expect("summary");
        assert_eq!(&rec["summary"], summary, "{name}: {a:?}");
        let findings: Vec<&Value> = lines.iter().filter(|l| l["type"] == "finding").collect();
        let fleet_findings: Vec<Value> = rec["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let mut f = f.clone();
                f["type"] = "finding".into();
                f
            })
            .collect();
        assert_eq!(
            fleet_findings.iter().collect::<Vec<_>>(),
            findings,
            "{name}"
        );
        assert_eq!(rec["exit"], single.status.code().unwrap(), "{name}");
        worst = worst.max(single.status.code().unwrap());
    }
    let last = records.last().unwrap();
    assert_eq!(last["type"], "fleet");
    assert_eq!(last["exit"], worst);
    assert_eq!(fleet.status.code(), Some(worst));
    // The shipped fleet has hosts that pass and hosts that fail their gate.
    assert!(last["passed"].as_u64().unwrap() > 0, "{last}");
    assert!(!last["failing"].as_array().unwrap().is_empty(), "{last}");
}

#[test]
fn the_report_does_not_depend_on_the_number_of_threads() {
    for format in ["table", "json", "sarif", "junit", "github"] {
        let one = run(&["fleet", MANIFEST, "--format", format, "--jobs", "1"], &[]);
        let two = run(&["fleet", MANIFEST, "--format", format, "--jobs", "2"], &[]);
        let env = run(
            &["fleet", MANIFEST, "--format", format],
            &[("RAYON_NUM_THREADS", "1")],
        );
        assert!(!one.stdout.is_empty());
        assert_eq!(one.stdout, two.stdout, "{format}");
        assert_eq!(one.stdout, env.stdout, "{format}");
        assert_eq!(one.stderr, two.stderr, "{format}");
        assert_eq!(one.status.code(), two.status.code());
    }
}

#[test]
fn shards_check_every_host_once() {
    let all = json_lines(&run(&["fleet", MANIFEST, "--format", "json"], &[]));
    let mut hosts: Vec<Value> = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let lines = json_lines(&run(
            &["fleet", MANIFEST, "--format", "json", "--shard", &shard],
            &[],
        ));
        hosts.extend(lines.into_iter().filter(|l| l["type"] == "host"));
    }
    let key = |v: &Value| v["host"].as_str().unwrap().to_string();
    hosts.sort_by_key(key);
    let mut want: Vec<Value> = all.into_iter().filter(|l| l["type"] == "host").collect();
    want.sort_by_key(key);
    assert_eq!(hosts, want);
    let bad = run(&["fleet", MANIFEST, "--shard", "4/3"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("K/N"));
}

/// A manifest in a temporary directory, beside copies of the shipped files it names.
fn temp_fleet(manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (from, to) in [
        ("fixtures/guides/guide-000-webserver.rules.v4", "good.v4"),
        ("fixtures/invalid/bad-address.v4", "invalid.v4"),
        ("pcaps/webserver.pcap", "web.pcap"),
    ] {
        std::fs::copy(root.join(from), dir.path().join(to)).expect("copy");
    }
    // A capture whose last record header claims 4 GiB: a corrupt record, not a short frame.
    let mut corrupt = std::fs::read(root.join("pcaps/webserver.pcap")).expect("read");
    corrupt.extend_from_slice(&[0; 8]);
    corrupt.extend_from_slice(&u32::MAX.to_le_bytes());
    corrupt.extend_from_slice(&60u32.to_le_bytes());
    std::fs::write(dir.path().join("corrupt.pcap"), corrupt).expect("write");
    std::fs::write(dir.path().join("fleet.toml"), manifest).expect("write");
    dir
}

const MIXED: &str = r#"
[[host]]
name = "good"
rules = "good.v4"
pcap = "web.pcap"

[[host]]
name = "invalid"
rules = "invalid.v4"

[[host]]
name = "missing"
rules = "nowhere.v4"

[[host]]
name = "badopt"
rules = "good.v4"
options = ["--no-such-option"]

[[host]]
name = "corrupt"
rules = "good.v4"
pcap = "corrupt.pcap"
"#;

#[test]
fn a_host_that_cannot_be_checked_is_a_line_of_the_report() {
    let dir = temp_fleet(MIXED);
    let manifest = dir.path().join("fleet.toml");
    let m = manifest.to_str().unwrap();
    let out = run(&["fleet", m, "--format", "json"], &[]);
    let lines = json_lines(&out);
    let by_name = |n: &str| {
        lines
            .iter()
            .find(|l| l["host"] == n)
            .unwrap_or_else(|| panic!("{n}: {lines:?}"))
            .clone()
    };
    assert_eq!(by_name("good")["exit"], 0, "{lines:?}");
    let invalid = by_name("invalid");
    assert_eq!(invalid["exit"], 3);
    assert!(
        invalid["diagnostics"][0]["line"].as_u64().unwrap() > 0,
        "{invalid}"
    );
    let missing = by_name("missing");
    assert_eq!(missing["exit"], 2);
    assert!(
        missing["error"].as_str().unwrap().contains("nowhere.v4"),
        "{missing}"
    );
    let badopt = by_name("badopt");
    assert_eq!(badopt["exit"], 2);
    let e = badopt["error"].as_str().unwrap();
    assert!(
        e.contains("fleet.toml:15:1") && e.contains("--no-such-option"),
        "{e}"
    );
    // A corrupt capture record: exit 3, as a single run without --keep-going.
    let corrupt = by_name("corrupt");
    assert_eq!(corrupt["exit"], 3, "{corrupt}");
    let single = run(
        &[
            dir.path().join("good.v4").to_str().unwrap(),
            "--pcap",
            dir.path().join("corrupt.pcap").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(single.status.code(), Some(3));
    assert_eq!(lines.last().unwrap()["exit"], 3);
    assert_eq!(out.status.code(), Some(3));

    // The table: one row per host, a line for what each failure was, the totals.
    let table = run(&["fleet", m], &[]);
    let text = String::from_utf8_lossy(&table.stdout);
    for name in ["good", "invalid", "missing", "badopt", "corrupt"] {
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with(&format!("│ {name} ")))
                .count(),
            1,
            "{name}\n{text}"
        );
    }
    assert!(text.contains("invalid: error[E"), "{text}");
    assert!(
        text.contains("5 host(s): 1 passed, 0 failed the gate, 4 could not be checked"),
        "{text}"
    );

    // JUnit: each host's gate case fails as its exit code says.
    let junit = run(&["fleet", m, "--format", "junit"], &[]);
    let xml = String::from_utf8_lossy(&junit.stdout).to_string();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut gates = Vec::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event().expect("well-formed JUnit") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.name().as_ref() == b"testcase" =>
            {
                let attr = |k: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == k)
                        .map(|a| String::from_utf8_lossy(&a.value).to_string())
                        .unwrap_or_default()
                };
                if attr(b"name") == "gate" {
                    current = Some(attr(b"classname"));
                    gates.push((attr(b"classname"), false));
                } else {
                    current = None;
                }
            }
            quick_xml::events::Event::Start(e) if e.name().as_ref() == b"failure" => {
                if let (Some(c), Some(last)) = (&current, gates.last_mut()) {
                    if &last.0 == c {
                        last.1 = true;
                    }
                }
            }
            _ => {}
        }
    }
    assert_eq!(
        gates,
        [
            ("fwcheck.good".to_string(), false),
            ("fwcheck.invalid".to_string(), true),
            ("fwcheck.missing".to_string(), true),
            ("fwcheck.badopt".to_string(), true),
            ("fwcheck.corrupt".to_string(), true),
        ]
    );
}

#[test]
fn sarif_has_one_valid_run_per_host() {
    let dir = temp_fleet(MIXED);
    let m = dir.path().join("fleet.toml");
    let out = run(&["fleet", m.to_str().unwrap(), "--format", "sarif"], &[]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("SARIF JSON");
    let text = include_str!("data/sarif-schema-2.1.0.json").replace(
        r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#,
        r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#,
    );
    let schema: Value = serde_json::from_str(&text).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("compile schema");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let runs = doc["runs"].as_array().unwrap();
    let ids: Vec<&str> = runs
        .iter()
        .map(|r| r["automationDetails"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "fleet/good",
            "fleet/invalid",
            "fleet/missing",
            "fleet/badopt",
            "fleet/corrupt"
        ]
    );
    assert_eq!(runs[0]["invocations"][0]["executionSuccessful"], true);
    assert_eq!(runs[2]["invocations"][0]["executionSuccessful"], false);
    // The invalid ruleset's run holds its errors at their file:line:column.
    assert!(
        runs[1]["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"]
            .as_u64()
            .is_some()
    );
}

#[test]
fn manifest_errors_name_the_position() {
    for (text, want) in [
        ("[[host]]\nname = \"a\"\n", "fleet.toml:1:1"),
        (
            "[[host]]\nname = \"a\"\nrules = \"good.v4\"\nfrobnicate = 1\n",
            "fleet.toml:4:1",
        ),
        (
            "[[host]]\nname = \"a\"\nrules = \"good.v4\"\noptions = [\"--format\", \"json\"]\n",
            "--format",
        ),
        (
            "[[host]]\nname = \"a\"\nrules = \"good.v4\"\npcap = \"-\"\n",
            "must name a file",
        ),
        ("[[host]\n", "fleet.toml:1:"),
    ] {
        let dir = temp_fleet(text);
        let m = dir.path().join("fleet.toml");
        let out = run(&["fleet", m.to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{text}: {err}");
        assert!(out.stdout.is_empty());
    }
    let out = run(&["fleet", "no/such/fleet.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
}
