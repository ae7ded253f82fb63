//! Issue 5: lockout detection, findings, expectations and the CI formats. Lockout cases are
//! built from real rule shapes and checked through the simulator.

use fwcheck::analysis::expect::{self, ExpectResult};
use fwcheck::analysis::lockout::{self, LockoutResult};
use fwcheck::analysis::{self, CheckOptions, Finding, Net, Service};
use fwcheck::lint::{load_str, Loaded};
use fwcheck::report::ci;
use fwcheck::ruleset::ParseOptions;

fn rules(text: &str) -> Loaded {
    let l = load_str("rules.v4", text, ParseOptions::default());
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    l
}

fn guide(name: &str) -> Loaded {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/guides")
        .join(name);
    rules(&std::fs::read_to_string(path).expect("fixture"))
}

fn opts() -> CheckOptions {
    CheckOptions::default()
}

fn lockout_of(l: &Loaded, o: &CheckOptions) -> Option<Finding> {
    lockout::check(&l.ruleset, o)
        .into_iter()
        .find(|f| f.code == "FW001")
}

fn codes(fs: &[Finding]) -> Vec<&'static str> {
    let mut v: Vec<&str> = fs.iter().map(|f| f.code).collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn guide_001_is_a_lockout_and_guide_000_is_not() {
    let l = guide("guide-001-apache.rules.v4");
    let f = lockout_of(&l, &opts()).expect("guide 001 (OUTPUT policy DROP) locks the admin out");
    assert_eq!(f.line, Some(4), "blames `:OUTPUT DROP` on line 4: {f:?}");
    assert!(f.message.contains("established"), "{}", f.message);
    let fix = f.fix.expect("a fix");
    assert!(
        fix.contains("-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
            && fix.contains("verified"),
        "{fix}"
    );
    assert!(lockout_of(&guide("guide-000-webserver.rules.v4"), &opts()).is_none());
}

const HEAD: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n";

#[test]
fn policy_drop_before_the_accepts() {
    let l = rules(&format!(
        "{HEAD}-A INPUT -j DROP\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    ));
    let f = lockout_of(&l, &opts()).expect("lockout");
    assert_eq!(f.line, Some(5), "the DROP rule is responsible");
    let fix = f.fix.expect("fix");
    assert!(
        fix.contains("before line 5") && fix.contains("verified"),
        "{fix}"
    );
}

#[test]
fn missing_established_on_output() {
    let l = rules(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
         -A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT\n\
         -A OUTPUT -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT\nCOMMIT\n",
    );
    let f = lockout_of(&l, &opts()).expect("lockout");
    assert!(
        f.message.contains("host → admin"),
        "the host's replies are dropped: {}",
        f.message
    );
    assert!(f
        .fix
        .unwrap()
        .contains("-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"));
}

#[test]
fn new_only_rule_breaks_the_session_in_use() {
    // SSH accepted only as NEW: the session the admin is typing in (ESTABLISHED) dies.
    let l = rules(&format!(
        "{HEAD}-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n"
    ));
    let f = lockout_of(&l, &opts()).expect("lockout");
    assert!(f.message.contains("established"), "{}", f.message);
    assert!(f.fix.unwrap().contains("verified"));
}

#[test]
fn loopback_missing_is_a_warning_not_a_lockout() {
    let l = rules(&format!(
        "{HEAD}-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    ));
    let all = lockout::check(&l.ruleset, &opts());
    assert_eq!(codes(&all), vec!["FW009"]);
    let with_lo = rules(&format!(
        "{HEAD}-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    ));
    assert!(lockout::check(&with_lo.ruleset, &opts()).is_empty());
}

#[test]
fn ssh_moved_to_another_port() {
    let l = rules(&format!(
        "{HEAD}-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 2222 -j ACCEPT\nCOMMIT\n"
    ));
    assert!(
        lockout_of(&l, &opts()).is_some(),
        "the default tcp/22 is closed"
    );
    let moved = CheckOptions {
        mgmt: vec![Service::parse("tcp/2222").unwrap()],
        ..opts()
    };
    assert!(lockout_of(&l, &moved).is_none(), "tcp/2222 is open");
}

#[test]
fn admin_only_cidr() {
    let l = rules(&format!(
        "{HEAD}-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    ));
    // From anywhere, some address (the admin network's) gets in.
    assert!(lockout_of(&l, &opts()).is_none());
    let inside = CheckOptions {
        admin: vec![Net::parse("192.0.2.0/24").unwrap()],
        ..opts()
    };
    assert!(lockout_of(&l, &inside).is_none());
    let outside = CheckOptions {
        admin: vec![Net::parse("198.51.100.0/24").unwrap()],
        ..opts()
    };
    let f = lockout_of(&l, &outside).expect("the admin's network is not allowed");
    let fix = f.fix.unwrap();
    assert!(
        fix.contains("-s 198.51.100.0/24") && fix.contains("verified"),
        "{fix}"
    );
}

#[test]
fn udp_management_service() {
    let l = rules(&format!(
        "{HEAD}-A INPUT -p udp -m udp --dport 1194 -j ACCEPT\nCOMMIT\n"
    ));
    let vpn = CheckOptions {
        mgmt: vec![Service::parse("udp/1194").unwrap()],
        ..opts()
    };
    assert!(
        lockout_of(&l, &vpn).is_none(),
        "stateless accept of udp/1194 with OUTPUT ACCEPT works"
    );
    let l = rules("*filter\n:INPUT DROP [0:0]\n:OUTPUT DROP [0:0]\n-A INPUT -p udp -m udp --dport 1194 -j ACCEPT\nCOMMIT\n");
    assert!(lockout_of(&l, &vpn).is_some(), "the replies cannot leave");
}

#[test]
fn probes_find_exposures() {
    let g0 = analysis::static_findings(&guide("guide-000-webserver.rules.v4"), &opts());
    assert!(
        codes(&g0).contains(&"FW002"),
        "guide 000 lets ICMP tunnels through: {:?}",
        codes(&g0)
    );
    let l = rules(&format!(
        "{HEAD}-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
         -A INPUT -p udp -m udp --sport 53 -j ACCEPT\nCOMMIT\n"
    ));
    let fs = analysis::static_findings(&l, &opts());
    let f = fs
        .iter()
        .find(|f| f.code == "FW003")
        .expect("--sport 53 without a state check");
    assert_eq!(f.line, Some(8));
    // Port 22 is accepted statelessly: XMAS, NULL and SYN+FIN probes pass.
    assert!(codes(&fs).contains(&"FW004"));
    assert!(
        codes(&fs).contains(&"FW005"),
        "OUTPUT ACCEPT lets the host connect anywhere"
    );
    let tight = rules(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
         -A OUTPUT -o lo -j ACCEPT\n-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n",
    );
    assert!(
        analysis::static_findings(&tight, &opts()).is_empty(),
        "{:?}",
        analysis::static_findings(&tight, &opts())
    );
}

#[test]
fn the_icmp_tunnel_fix_fits_what_accepts_the_requests() {
    let fw002 = |l: &Loaded| {
        analysis::static_findings(l, &opts())
            .into_iter()
            .find(|f| f.code == "FW002")
            .expect("FW002")
    };
    // A rule accepts every echo request: the limited rule replaces it.
    let f = fw002(&guide("guide-000-webserver.rules.v4"));
    let fix = f.fix.as_deref().unwrap();
    assert!(fix.ends_with("in place of the unrestricted rule"), "{fix}");
    // The policy accepts them: a limited ACCEPT alone changes nothing, the rest must be dropped.
    let f = fw002(&rules(
        "*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
    ));
    assert!(
        f.message.contains("filter INPUT policy ACCEPT"),
        "{}",
        f.message
    );
    let fix = f.fix.as_deref().unwrap();
    assert!(
        fix.contains("followed by `-A INPUT -p icmp -m icmp --icmp-type 8 -j DROP`"),
        "{fix}"
    );
}

#[test]
fn shadowed_and_redundant_rules() {
    let l = rules(&format!(
        "{HEAD}-A INPUT -p tcp -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j DROP\n\
         -A INPUT -s 10.0.0.0/8 -j DROP\n-A INPUT -s 10.1.0.0/16 -p udp -j DROP\n\
         -A INPUT -s 172.16.1.0/24 -j DROP\n-A INPUT -s 172.16.0.0/16 -j ACCEPT\n\
         -A INPUT -p udp -m multiport --dports 1,2 -j ACCEPT\n-A INPUT -s 192.0.2.1 -p udp -m multiport --dports 1,2 -j REJECT\n\
         -A INPUT -p udp -m multiport --dports 5,6 -j ACCEPT\n-A INPUT -p udp -m multiport --dports 5,7 -j DROP\nCOMMIT\n"
    ));
    let fs = fwcheck::analysis::shadow::check(&l.ruleset);
    let got: Vec<(&str, Option<usize>)> = fs.iter().map(|f| (f.code, f.line)).collect();
    assert_eq!(
        got,
        vec![("FW006", Some(6)), ("FW007", Some(8)), ("FW006", Some(12))],
        "{fs:#?}"
    );
}

/// A line of address lists loads a rule per address pair: the rules of one line covered by
/// the rules of another are one finding, which says how many of the line's rules are covered.
#[test]
fn the_rules_one_line_loads_are_reported_together() {
    let srcs = (1..=30).map(|i| format!("192.0.2.{i}")).collect::<Vec<_>>();
    let dsts = "198.51.100.1,198.51.100.2";
    let l = rules(&format!(
        "{HEAD}-A INPUT -s {} -d {dsts} -j DROP\n-A INPUT -s {} -d {dsts} -j DROP\n\
         -A INPUT -s {} -d {dsts} -j REJECT\n-A INPUT -s 192.0.2.1 -d 198.51.100.2 -p tcp -j ACCEPT\nCOMMIT\n",
        srcs.join(","),
        srcs.join(","),
        srcs[..3].join(",") + ",203.0.113.9"
    ));
    let fs = fwcheck::analysis::shadow::check(&l.ruleset);
    let got: Vec<(&str, Option<usize>)> = fs.iter().map(|f| (f.code, f.line)).collect();
    assert_eq!(
        got,
        vec![("FW007", Some(6)), ("FW006", Some(7)), ("FW006", Some(8))],
        "{fs:#?}"
    );
    assert!(
        fs[0]
            .message
            .contains("#61–#120 (all 60 rules line 6 loads)")
            && fs[0].message.contains("#1–#60 (line 5)"),
        "{}",
        fs[0].message
    );
    assert_eq!(fs[0].fix.as_deref(), Some("delete line 6"));
    assert!(
        fs[1]
            .message
            .contains("#121–#126 (6 of the 8 rules line 7 loads)"),
        "{}",
        fs[1].message
    );
    assert_eq!(
        fs[1].fix.as_deref(),
        Some("narrow line 7: 6 of the 8 rules it loads are covered by line 5")
    );
    assert!(fs[2]
        .message
        .contains("shadowed rule: INPUT #129 (line 8) can never match: #2 (line 5)"));
    // The same findings as every pair compared.
    let pw = fwcheck::analysis::shadow::check_pairwise(&l.ruleset);
    let msgs = |v: &[Finding]| v.iter().map(|f| f.message.clone()).collect::<Vec<_>>();
    assert_eq!(msgs(&fs), msgs(&pw));
}

/// One rule of a line of addresses covered: the fix narrows the line, it does not delete it.
#[test]
fn one_covered_rule_of_a_line_narrows_it() {
    let l = rules(&format!(
        "{HEAD}-A INPUT -s 192.0.2.1 -j DROP\n-A INPUT -s 192.0.2.1,203.0.113.5 -j DROP\nCOMMIT\n"
    ));
    let fs = fwcheck::analysis::shadow::check(&l.ruleset);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert!(fs[0]
        .message
        .starts_with("redundant rule: INPUT #2 (line 6) is already covered by #1 (line 5)"));
    assert_eq!(
        fs[0].fix.as_deref(),
        Some("narrow line 6: 1 of the 2 rules it loads are covered by line 5")
    );
}

/// FW012 on a line of sources is one finding for the line, each earlier line named once.
#[test]
fn a_blocklist_line_behind_its_accepts_is_one_finding() {
    let l = rules(&format!(
        "{HEAD}-A INPUT -s 192.0.2.1,192.0.2.2,192.0.2.3 -d 198.51.100.1,198.51.100.2 -p tcp --dport 80 -j ACCEPT\n\
         -A INPUT -s 192.0.2.1,192.0.2.2,192.0.2.3 -j DROP\nCOMMIT\n"
    ));
    let fs: Vec<Finding> = fwcheck::analysis::placement::check(&l.ruleset, &opts())
        .into_iter()
        .filter(|f| f.code == "FW012")
        .collect();
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert!(
        fs[0].message.starts_with(
            "DROP rule partly without effect: line 6 never drops what line 5 accepts first"
        ),
        "{}",
        fs[0].message
    );
    let fix = fs[0].fix.as_deref().unwrap();
    assert!(
        fix.starts_with("move line 6 (the 3 rules its address lists load) above line 5"),
        "{fix}"
    );
}

#[test]
fn expectations_are_evaluated() {
    let toml = r#"
[[expect]]
name = "https is open"
proto = "tcp"
port = 443
verdict = "accept"

[[expect]]
name = "unsolicited DNS replies are dropped"
proto = "udp"
sport = 53
port = 33333
traffic = "packet"
verdict = "drop"

[[expect]]
name = "big pings are dropped"
proto = "icmp"
size = 1200
verdict = "drop"

[[expect]]
name = "no outbound SMTP"
proto = "tcp"
from = "host"
to = "198.51.100.25"
port = 25
verdict = "blocked"
"#;
    let list = expect::parse(toml).expect("parse");
    let r: Vec<ExpectResult> = expect::evaluate(
        &guide("guide-000-webserver.rules.v4").ruleset,
        &opts(),
        &list,
    );
    let passed: Vec<bool> = r.iter().map(|x| x.passed).collect();
    assert_eq!(passed, vec![true, true, false, true], "{r:#?}");
    assert_eq!(r[2].got, "accept");
    assert_eq!(r[2].rule.as_ref().and_then(|x| x.line), Some(8));
    let err = expect::parse("[[expect]]\nproto = \"tcp\"\nport = \"x\"\nverdict = \"accept\"\n")
        .unwrap_err();
    assert_eq!((err.line, err.column), (3, 8), "{}", err.message);
    assert!(expect::parse("[[expect]]\nproto = \"sctp\"\nverdict = \"accept\"\n").is_err());
}

#[test]
fn expectations_of_the_other_family_fail_and_say_why() {
    // An IPv6 client never meets iptables rules: no mixed-family packet is made up.
    let toml =
        "[[expect]]\nproto = \"tcp\"\nfrom = \"2001:db8:1::7\"\nport = 443\nverdict = \"accept\"\n";
    let list = expect::parse(toml).expect("parse");
    let r = expect::evaluate(
        &guide("guide-000-webserver.rules.v4").ruleset,
        &opts(),
        &list,
    );
    assert!(!r[0].passed, "{r:#?}");
    assert!(r[0].got.contains("IPv6 address"), "{}", r[0].got);
    assert_eq!(r[0].from, None);
}

fn sarif_schema() -> serde_json::Value {
    // The official schema, vendored with its notice in tests/data/README.md.
    let text = include_str!("data/sarif-schema-2.1.0.json");
    // SARIF 2.1.0 erratum: the `run.language` pattern of the original schema is not a valid
    // regular expression (`…{2}]?$`); errata01 corrects it to `^[a-zA-Z]{2}(-[a-zA-Z]{2})?$`.
    // fwcheck does not emit `language`, so this only lets the validator compile the schema.
    let text = text.replace(
        r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#,
        r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#,
    );
    serde_json::from_str(&text).expect("schema")
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let l = guide("guide-001-apache.rules.v4");
    let o = opts();
    let findings = analysis::static_findings(&l, &o);
    let results = expect::evaluate(
        &l.ruleset,
        &o,
        &expect::parse("[[expect]]\nproto = \"tcp\"\nport = 80\nverdict = \"accept\"\n").unwrap(),
    );
    let doc = ci::sarif(&findings, &results, "rules.v4");
    let schema = sarif_schema();
    let validator = jsonschema::validator_for(&schema).expect("compile schema");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}",
        errors.join("\n")
    );
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "FW001"
        && r["locations"][0]["physicalLocation"]["region"]["startLine"] == 4));
    assert!(results.iter().any(|r| r["ruleId"] == "FW010"));
    // A document that breaks the schema is caught (the test can fail).
    let mut bad = doc.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&bad));
}

#[test]
fn junit_and_github_formats() {
    let l = guide("guide-001-apache.rules.v4");
    let o = opts();
    let lock: Vec<LockoutResult> = lockout::evaluate(&l.ruleset, &o);
    // Guide 001 accepts port 80 in but its replies cannot leave: the session fails.
    let results = expect::evaluate(&l.ruleset, &o, &expect::parse("[[expect]]\nname = \"web <open> & well\"\nproto = \"tcp\"\nport = 80\nverdict = \"accept\"\n").unwrap());
    let xml = ci::junit(&lock, &results);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures) = (0, 0);
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"testcase" => cases += 1,
                    b"failure" => failures += 1,
                    _ => {}
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(cases, lock.len() + 1);
    assert_eq!(
        failures, 3,
        "tcp/22 lockout, loopback, and the failed expectation:\n{xml}"
    );
    let gh = ci::github(&analysis::static_findings(&l, &o), &results, "rules.v4");
    assert!(
        gh.lines()
            .any(|x| x.starts_with("::error file=rules.v4,line=4,title=FW001 lockout::")),
        "{gh}"
    );
}

#[test]
fn cli_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_fwcheck");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run")
            .status
            .code()
    };
    assert_eq!(
        run(&["fixtures/guides/guide-001-apache.rules.v4"]),
        Some(1),
        "lockout"
    );
    assert_eq!(
        run(&[
            "fixtures/guides/guide-001-apache.rules.v4",
            "--fail-on",
            "never"
        ]),
        Some(0)
    );
    assert_eq!(
        run(&["fixtures/guides/guide-000-webserver.rules.v4"]),
        Some(0)
    );
    assert_eq!(
        run(&[
            "fixtures/guides/guide-000-webserver.rules.v4",
            "--fail-on",
            "warning"
        ]),
        Some(1),
        "FW002 is a warning"
    );
    assert_eq!(run(&["fixtures/invalid/missing-target.v4"]), Some(3));
    assert_eq!(
        run(&[
            "fixtures/guides/guide-000-webserver.rules.v4",
            "--mgmt",
            "sctp/9"
        ]),
        Some(2)
    );
    assert_eq!(
        run(&[
            "fixtures/guides/guide-000-webserver.rules.v4",
            "--pcap",
            "pcaps/webserver.pcap",
            "--format",
            "json"
        ]),
        Some(0)
    );
    assert_eq!(run(&["--no-such-flag"]), Some(2));
}

#[test]
fn a_ruleset_that_does_not_load_still_gives_complete_ci_documents() {
    // Two errors and a warning: every format carries them, at their file:line:column.
    let text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 99999 -j ACCEPT\n\
                -A INPUT -s 'x' -j ACCEPT\n-A NOPE -j ACCEPT\nCOMMIT\n";
    let l = fwcheck::lint::load_str("bad.rules", text, ParseOptions::default());
    assert!(l.has_errors());
    let located: Vec<_> = l
        .diagnostics
        .iter()
        .map(|d| d.locate(&l.ruleset.source))
        .collect();
    let errors = located
        .iter()
        .filter(|d| d.severity == fwcheck::diag::Severity::Error)
        .count();
    assert!(errors >= 2, "{located:?}");
    let doc = ci::sarif_diagnostics(&located);
    let schema = sarif_schema();
    let validator = jsonschema::validator_for(&schema).expect("compile schema");
    let problems: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), located.len());
    let first = &located[0];
    let r0 = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(r0["artifactLocation"]["uri"], "bad.rules");
    assert_eq!(r0["region"]["startLine"], first.line);
    assert_eq!(r0["region"]["startColumn"], first.column);
    // JUnit: well-formed, one failing case per error.
    let xml = ci::junit_diagnostics(&located);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut failures = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) if e.name().as_ref() == b"failure" => failures += 1,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(failures, errors);
    // GitHub: one annotation per diagnostic.
    assert_eq!(
        ci::github_diagnostics(&located).lines().count(),
        located.len()
    );
    // The binary writes them too, for the main command and for lint, exit 3.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.rules");
    std::fs::write(&path, text).unwrap();
    for args in [
        vec!["--synthetic", "--format", "sarif"],
        vec!["--synthetic", "--format", "json"],
        vec!["--synthetic", "--format", "junit"],
        vec!["lint", "--format", "sarif"],
        vec!["lint", "--format", "github"],
    ] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fwcheck"));
        if args[0] == "lint" {
            cmd.arg("lint").arg(&path).args(&args[1..]);
        } else {
            cmd.arg(&path).args(&args);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains("E1"), "{args:?}: {stdout}");
        if args.contains(&"sarif") {
            let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            assert!(validator.is_valid(&v), "{args:?}");
        }
        if args.contains(&"json") {
            let last: serde_json::Value =
                serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
            assert_eq!(last["type"], "summary");
            assert_eq!(last["valid"], false);
            assert_eq!(last["errors"], errors);
        }
    }
}

/// The same clause on two rules tests the same thing only when nothing between them can change
/// what it reads and the match keeps no state of its own (kernel-checked in kernel_shadow.rs).
#[test]
fn shadowing_needs_the_same_test_at_both_rules() {
    let lines = |text: &str| -> Vec<(&'static str, Option<usize>)> {
        let l = rules(text);
        fwcheck::analysis::shadow::check(&l.ruleset)
            .iter()
            .map(|f| (f.code, f.line))
            .collect()
    };
    let mark = "-m mark --mark 0x1 -j ACCEPT\n";
    // A chain that only logs changes nothing; one that sets a mark (two calls deep) does.
    let logs = format!(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:a - [0:0]\n:b - [0:0]\n\
         -A INPUT {mark}-A INPUT -j a\n-A INPUT {mark}-A a -j b\n-A b -j LOG\nCOMMIT\n"
    );
    assert_eq!(lines(&logs), vec![("FW007", Some(9))]);
    let marks = logs.replace("-A b -j LOG", "-A b -j MARK --set-mark 0x1");
    assert_eq!(lines(&marks), vec![]);
    // Stateful and unknown matches: never the same test twice.
    for clause in [
        "-m recent --rcheck --name x",
        "-m hashlimit --hashlimit-upto 1/sec --hashlimit-name h",
        "-m statistic --mode random --probability 0.5",
        "-m quota --quota 1000",
        "-m connlimit --connlimit-above 2",
        "-m set --match-set s src --packets-gt 3",
    ] {
        let text = format!(
            "{HEAD}-A INPUT -p tcp {clause} -j ACCEPT\n-A INPUT -p tcp {clause} -j ACCEPT\nCOMMIT\n"
        );
        assert_eq!(lines(&text), vec![], "{clause}");
    }
    let set = format!(
        "{HEAD}-A INPUT -m set --match-set s src -j DROP\n-A INPUT -m set --match-set s src -j DROP\nCOMMIT\n"
    );
    assert_eq!(lines(&set).len(), 1);
    // --ctstate SNAT/DNAT: any state of a NATed connection.
    let ct = |a: &str, b: &str| {
        lines(&format!(
            "{HEAD}-A INPUT -m conntrack --ctstate {a} -j ACCEPT\n-A INPUT -m conntrack --ctstate {b} -j ACCEPT\nCOMMIT\n"
        ))
        .len()
    };
    assert_eq!(ct("RELATED,ESTABLISHED", "SNAT"), 0);
    assert_eq!(ct("RELATED,ESTABLISHED", "DNAT"), 0);
    assert_eq!(ct("ESTABLISHED,DNAT", "DNAT"), 1);
    assert_eq!(ct("INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED", "DNAT"), 1);
    assert_eq!(ct("RELATED,ESTABLISHED", "ESTABLISHED"), 1);
    assert_eq!(ct("NEW", "NEW,DNAT"), 0);
    // An ECN target between two ECE tests: a packet without ECE at the first rule has it at
    // the second.
    let mangle = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
         -A PREROUTING -p tcp -m ecn --ecn-tcp-ece -j DROP\n\
         -A PREROUTING -p tcp -j ECN --ecn-tcp-ece 1\n\
         -A PREROUTING -p tcp -m ecn --ecn-tcp-ece -j DROP\nCOMMIT\n";
    assert_eq!(lines(mangle), vec![]);
    // In raw, CT --notrack between two state tests makes the packet UNTRACKED.
    let raw = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A PREROUTING -m conntrack --ctstate UNTRACKED -j DROP\n\
         -A PREROUTING -p udp -j CT --notrack\n\
         -A PREROUTING -m conntrack --ctstate UNTRACKED -j DROP\nCOMMIT\n";
    assert_eq!(lines(raw), vec![]);
    assert_eq!(lines(&raw.replace("-j CT --notrack", "-j TRACE")).len(), 1);
}

/// A lockout that rests on an uncertain verdict is a possible lockout: FW001 at warning level,
/// with what fwcheck could not decide, never a certain error (here the admin rule tests an
/// ipset whose contents are not known offline).
#[test]
fn a_lockout_resting_on_an_unknown_is_only_possible() {
    let l = rules(&format!(
        "{HEAD}-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A INPUT -p tcp -m tcp --dport 22 -m set --match-set admins src -j ACCEPT\n\
         -A OUTPUT -o lo -j ACCEPT\nCOMMIT\n"
    ));
    let results = lockout::evaluate(&l.ruleset, &opts());
    let ssh = results.iter().find(|r| r.check == "tcp/22").unwrap();
    let f = ssh.finding.as_ref().expect("a possible lockout");
    assert_eq!(f.code, "FW001");
    assert_eq!(f.severity, fwcheck::analysis::Level::Warning, "{f:?}");
    assert!(f.message.starts_with("possible lockout"), "{}", f.message);
    assert!(f.details.iter().any(|d| d.contains("ipset")), "{f:?}");
    assert!(ssh.doubt.is_some());
    // The same ruleset without the set test: a certain pass.
    let open = rules(&format!(
        "{HEAD}-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A OUTPUT -o lo -j ACCEPT\nCOMMIT\n"
    ));
    let results = lockout::evaluate(&open.ruleset, &opts());
    assert!(
        results
            .iter()
            .all(|r| r.finding.is_none() && r.doubt.is_none()),
        "{results:?}"
    );
    // A blocklist set before the admin rule: the admin gets in unless listed; not certain.
    let listed = rules(&format!(
        "{HEAD}-A INPUT -i lo -j ACCEPT\n-A INPUT -m set --match-set banned src -j DROP\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A OUTPUT -o lo -j ACCEPT\nCOMMIT\n"
    ));
    let results = lockout::evaluate(&listed.ruleset, &opts());
    let ssh = results.iter().find(|r| r.check == "tcp/22").unwrap();
    assert!(
        ssh.finding
            .as_ref()
            .is_none_or(|f| f.severity != fwcheck::analysis::Level::Error),
        "{ssh:?}"
    );
    assert!(ssh.doubt.is_some(), "{ssh:?}");
}

/// The earlier rules are not known, so neither is whether conntrack tracked the admin's
/// session: rules that refuse a mid-stream segment seen NEW cut it only on a host that tracked
/// nothing before (both worlds are kernel-checked in `tests/kernel_lockout.rs`). Not told, FW001
/// says "possible", with the world it depends on and a fix that works in both; told the table
/// was empty (`--conntrack-start empty`), it is certain, and told conntrack tracked it
/// (`--conntrack-start tracked`) there is none. A session both worlds refuse, or that
/// a new connection cannot replace, stays a certain lockout.
#[test]
fn the_session_tracked_or_not_before_the_rules() {
    let l = rules(&format!(
        "{HEAD}-A INPUT -i lo -j ACCEPT\n\
         -A INPUT -p tcp ! --syn -m conntrack --ctstate NEW -j DROP\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n"
    ));
    let f = lockout_of(&l, &opts()).expect("a possible lockout");
    assert_eq!(f.severity, fwcheck::analysis::Level::Warning, "{f:?}");
    assert!(f.message.contains("established"), "{}", f.message);
    assert!(
        f.details
            .iter()
            .any(|d| d.contains("did not track the session")),
        "{f:?}"
    );
    let fix = f.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("--dport 22 -j ACCEPT") && fix.contains("verified"),
        "{fix}"
    );
    let mut empty = opts();
    empty.env.conntrack_empty_at_start = true;
    let f = lockout_of(&l, &empty).expect("a lockout");
    assert_eq!(f.severity, fwcheck::analysis::Level::Error, "{f:?}");
    // Told conntrack tracked it (`--conntrack-start tracked`): the session lives on, certain.
    let mut tracked = opts();
    tracked.env.conntrack_tracked_at_start = true;
    assert!(lockout_of(&l, &tracked).is_none());
    // No SSH rule at all: a tracked session would live on, but no new one gets in.
    let l = rules(&format!(
        "{HEAD}-A INPUT -i lo -j ACCEPT\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n"
    ));
    let f = lockout_of(&l, &opts()).expect("a lockout");
    assert_eq!(f.severity, fwcheck::analysis::Level::Error, "{f:?}");
    assert!(f.message.contains("new tcp/22 session"), "{}", f.message);
}
