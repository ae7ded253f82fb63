//! The library session behind the CLI (`fwcheck::session`): its steps called one by one, the
//! report it returns, the exit code it decides, and totals that count failed expectations as
//! errors in every format; and the CLI writing into a pipe closed early (`| head`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fwcheck::engine::Verdict;
use fwcheck::ext::Backend;
use fwcheck::ruleset::InputFormat;
use fwcheck::session::{self, Collect, Config, Exit, Only, RulesSource, Session, TrafficSpec};
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn source(rel: &str) -> RulesSource {
    RulesSource {
        path: root().join(rel),
        family: None,
        format: InputFormat::Auto,
        backend: Backend::Nft,
        ipsets: None,
    }
}

const GUIDE0: &str = "fixtures/guides/guide-000-webserver.rules.v4";

/// Two expectations on guide 000: HTTPS is open (passes), big pings are dropped (fails: the
/// guide accepts every echo request).
const EXPECT: &str = r#"
[[expect]]
name = "https is open"
proto = "tcp"
port = 443
verdict = "accept"

[[expect]]
name = "big pings are dropped"
proto = "icmp"
size = 1200
verdict = "drop"
"#;

fn expect_file(dir: &Path) -> PathBuf {
    let p = dir.join("expect.toml");
    std::fs::write(&p, EXPECT).unwrap();
    p
}

#[test]
fn the_steps_called_one_by_one_give_one_report() {
    let rules = session::load_rules(&source(GUIDE0)).expect("load");
    assert!(rules.is_valid());
    let traffic = session::traffic(
        TrafficSpec::Capture(root().join("pcaps/webserver.pcap")),
        &[],
        false,
    )
    .expect("traffic");
    let config = Config::default();
    let hosts = session::choose_hosts(&config.host.hosts, Some(&traffic)).expect("host");
    assert_eq!(
        hosts.hosts,
        vec!["203.0.113.10".parse::<std::net::IpAddr>().unwrap()]
    );
    assert!(hosts.inferred);
    let session = Session::new(config, rules, hosts);
    let mut rows = Collect::default();
    let report = session.run(Some(&traffic), &mut rows).expect("run");
    let replay = report.replay.as_ref().expect("replayed");
    // Every frame reaches the sink, in order, and the counts agree with the rows.
    assert_eq!(rows.records.len() as u64, replay.summary.frames);
    assert_eq!(replay.summary.frames, 272);
    let dropped = rows
        .records
        .iter()
        .filter(|r| r.verdict == Some(Verdict::Drop.as_str()))
        .count() as u64;
    assert_eq!(dropped, replay.summary.dropped);
    assert!(replay.hits.iter().any(|h| h.packets > 0));
    // The same traffic again, through the same session: the same verdicts (a `diff` runs two
    // sessions over one `Traffic`).
    let mut again = Collect::default();
    let report2 = session.run(Some(&traffic), &mut again).expect("run again");
    let verdicts = |c: &Collect| c.records.iter().map(|r| r.verdict).collect::<Vec<_>>();
    assert_eq!(verdicts(&rows), verdicts(&again));
    assert_eq!(report.findings.len(), report2.findings.len());
    // Guide 000 passes the gate.
    assert_eq!(report.exit(), Exit::Ok);
    assert!(report.lockout.iter().all(|l| l.finding.is_none()));
}

#[test]
fn only_filters_on_typed_verdicts() {
    let rules = session::load_rules(&source(GUIDE0)).unwrap();
    let traffic = session::traffic(
        TrafficSpec::Capture(root().join("pcaps/webserver.pcap")),
        &[],
        false,
    )
    .unwrap();
    let run = |only| {
        let config = Config {
            only,
            ..Config::default()
        };
        let hosts = session::choose_hosts(&[], Some(&traffic)).unwrap();
        let mut rows = Collect::default();
        let report = Session::new(config, rules.clone(), hosts)
            .run(Some(&traffic), &mut rows)
            .unwrap();
        (rows.records, report)
    };
    let (blocked, report) = run(Some(Only::Blocked));
    let s = &report.replay.as_ref().unwrap().summary;
    assert_eq!(blocked.len() as u64, s.dropped + s.rejected);
    assert!(!blocked.is_empty());
    let (accepted, _) = run(Some(Only::Accepted));
    assert_eq!(accepted.len() as u64, s.accepted);
    assert!(accepted.iter().all(|r| r.verdict == Some("ACCEPT")));
    assert!(Only::Unjudged.keeps(None, true));
    assert!(!Only::Unjudged.keeps(Some(Verdict::Drop), true));
    assert!(Only::Blocked.keeps(Some(Verdict::Reject), true));
    assert!(Only::Uncertain.keeps(Some(Verdict::Accept), false));
    assert!(!Only::Uncertain.keeps(Some(Verdict::Accept), true));
}

#[test]
fn errors_carry_their_exit_code() {
    let e = session::load_rules(&source("pcaps/webserver.pcap")).unwrap_err();
    assert_eq!(e.exit, Exit::Usage);
    assert!(e.message.contains("did you mean --pcap"), "{e}");
    let e = session::traffic(TrafficSpec::Capture("-".into()), &[], true).unwrap_err();
    assert_eq!(e.exit, Exit::Usage);
    let invalid = session::load_rules(&source("fixtures/invalid/bad-address.v4")).unwrap();
    assert!(!invalid.is_valid());
    assert_eq!(invalid.invalid_error().exit, Exit::Invalid);
    let t = session::traffic(
        TrafficSpec::Capture(root().join("pcaps/does-not-exist.pcap")),
        &[],
        false,
    )
    .unwrap();
    assert_eq!(
        session::choose_hosts(&[], Some(&t)).unwrap_err().exit,
        Exit::Invalid
    );
    let e = session::parse_flows(&["tcp 1.2.3.4:1 x 5.6.7.8:2".into()]).unwrap_err();
    assert!(e.message.starts_with("--flow '"), "{e}");
}

#[test]
fn failed_expectations_are_errors_in_the_library_totals() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.gate.expectations = session::read_expectations(&expect_file(dir.path())).unwrap();
    config.gate.fail_on = None;
    let rules = session::load_rules(&source(GUIDE0)).unwrap();
    let hosts = session::choose_hosts(&[], None).unwrap();
    let report = Session::new(config, rules, hosts)
        .run(None, &mut Collect::default())
        .unwrap();
    let t = report.totals();
    assert_eq!((t.expectations_passed, t.expectations_failed), (1, 1));
    let error_findings = report
        .findings
        .iter()
        .filter(|f| f.severity == fwcheck::analysis::Level::Error)
        .count();
    assert_eq!(t.errors, error_findings + 1);
    // `--fail-on never` still fails on a failed expectation.
    assert_eq!(report.exit(), Exit::Findings);
}

fn fwcheck(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run fwcheck")
}

#[test]
fn failed_expectations_count_as_errors_in_table_and_json_totals() {
    let dir = tempfile::tempdir().unwrap();
    let exp = expect_file(dir.path());
    let exp = exp.to_str().unwrap();
    let table = fwcheck(&[GUIDE0, "--expect", exp]);
    assert_eq!(table.status.code(), Some(1));
    let text = String::from_utf8(table.stdout).unwrap();
    let last = text.lines().last().unwrap();
    // Guide 000 has no error finding: the one error is the failed expectation.
    assert!(
        last.starts_with("1 error(s), ") && last.ends_with("expectations: 1 passed, 1 failed"),
        "{last}"
    );
    let json = fwcheck(&[GUIDE0, "--expect", exp, "--format", "json"]);
    let summary: Value = String::from_utf8(json.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "summary")
        .unwrap();
    assert_eq!(summary["findings"]["error"], 1, "{summary}");
    assert_eq!(summary["expectations"]["failed"], 1);
    assert_eq!(summary["exit"], 1);
    // SARIF and GitHub say the same: one error result / annotation.
    let sarif: Value =
        serde_json::from_slice(&fwcheck(&[GUIDE0, "--expect", exp, "--format", "sarif"]).stdout)
            .unwrap();
    let errors = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"] == "error")
        .count();
    assert_eq!(errors, 1);
    let gh = fwcheck(&[GUIDE0, "--expect", exp, "--format", "github"]);
    let gh = String::from_utf8(gh.stdout).unwrap();
    assert_eq!(
        gh.lines().filter(|l| l.starts_with("::error")).count(),
        1,
        "{gh}"
    );
}

/// `fwcheck ... | head -n 1` through a real pipe: fwcheck stops writing quietly (no panic, no
/// error message), with the exit code its report decided.
#[test]
fn a_pipe_closed_early_ends_the_output_quietly() {
    let cases: &[(&[&str], i32)] = &[
        (
            &[
                GUIDE0,
                "--pcap",
                "pcaps/webserver.pcap",
                "--format",
                "json",
                "--host",
                "203.0.113.10",
            ],
            0,
        ),
        (
            &[
                GUIDE0,
                "--pcap",
                "pcaps/webserver.pcap",
                "--limit",
                "0",
                "--host",
                "203.0.113.10",
            ],
            0,
        ),
        (
            &[
                "fixtures/guides/guide-001-apache.rules.v4",
                "--format",
                "sarif",
            ],
            1,
        ),
        (
            &[
                "lint",
                "fixtures/real/kube-proxy.rules.v4",
                "--format",
                "json",
            ],
            0,
        ),
        (&["fmt", "fixtures/real/kube-proxy.rules.v4"], 0),
        (&["gen", "webserver", "--flows", "3000"], 0),
    ];
    for (args, code) in cases {
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        let script = format!(
            "'{}' {} | head -c 100 >/dev/null; echo \"status=${{PIPESTATUS[0]}}\"",
            env!("CARGO_BIN_EXE_fwcheck"),
            quoted.join(" ")
        );
        let out = Command::new("bash")
            .args(["-c", &script])
            .current_dir(root())
            .output()
            .expect("bash");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stdout.trim(),
            format!("status={code}"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
    // The reader gone before anything is written: the same.
    let mut child = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args([
            GUIDE0,
            "--pcap",
            "pcaps/webserver.pcap",
            "--format",
            "json",
            "--host",
            "203.0.113.10",
        ])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}
