//! Formats for CI systems: SARIF 2.1.0 (code scanning), JUnit XML (one test case per lockout
//! check and per expectation), and GitHub workflow annotation lines.

use serde_json::{json, Value};

use crate::analysis::expect::ExpectResult;
use crate::analysis::lockout::LockoutResult;
use crate::analysis::{code_info, Finding, Level, CODES};
use crate::diag::codes;
use crate::diag::{LocatedDiagnostic, Severity};

fn sarif_level(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "note",
    }
}

/// A SARIF 2.1.0 log: one result per finding (and per failed expectation, rule FW010), rule
/// ids are the stable codes, locations point at the rules file line.
pub fn sarif(findings: &[Finding], expectations: &[ExpectResult], rules_file: &str) -> Value {
    sarif_log(vec![sarif_run(findings, expectations, rules_file)])
}

/// A SARIF 2.1.0 log of `runs`.
pub(crate) fn sarif_log(runs: Vec<Value>) -> Value {
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": runs,
    })
}

/// The one run of [`sarif`]'s log.
pub(crate) fn sarif_run(
    findings: &[Finding],
    expectations: &[ExpectResult],
    rules_file: &str,
) -> Value {
    let rules: Vec<Value> = CODES
        .iter()
        .map(|c| {
            json!({
                "id": c.code,
                "name": c.name,
                "shortDescription": { "text": c.title },
                "fullDescription": { "text": c.means },
                "help": { "text": c.help() },
                "defaultConfiguration": { "level": sarif_level(c.severity) },
            })
        })
        .collect();
    let index = |code: &str| CODES.iter().position(|c| c.code == code);
    let location = |file: &str, line: Option<usize>| {
        let mut phys = json!({ "artifactLocation": { "uri": file } });
        if let Some(l) = line.filter(|l| *l > 0) {
            phys["region"] = json!({ "startLine": l });
        }
        json!([{ "physicalLocation": phys }])
    };
    let mut results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut text = f.message.clone();
            if let Some(fix) = &f.fix {
                text.push_str(&format!(" Fix: {fix}"));
            }
            let mut r = json!({
                "ruleId": f.code,
                "level": sarif_level(f.severity),
                "message": { "text": text },
                "locations": location(&f.file, f.line),
            });
            if let Some(i) = index(f.code) {
                r["ruleIndex"] = json!(i);
            }
            r
        })
        .collect();
    for e in expectations.iter().filter(|e| !e.passed) {
        let mut r = json!({
            "ruleId": codes::EXPECTATION_FAILED,
            "level": "error",
            "message": { "text": format!("expectation failed: {}: expected {}, got {}{}", e.name, e.expected, e.got, e.rule.as_ref().map(|r| format!(" ({})", r.short())).unwrap_or_default()) },
            "locations": location(rules_file, e.rule.as_ref().and_then(|r| r.line)),
        });
        if let Some(i) = index(codes::EXPECTATION_FAILED) {
            r["ruleIndex"] = json!(i);
        }
        results.push(r);
    }
    json!({
        "tool": { "driver": { "name": "fwcheck", "version": env!("CARGO_PKG_VERSION"), "rules": rules } },
        "results": results,
    })
}

fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => o.push(c),
        }
    }
    o
}

/// One JUnit test case: passed, or failed with a message, a type and a body.
#[derive(Debug)]
pub(crate) struct Case {
    pub class: String,
    pub name: String,
    pub failure: Option<Failure>,
}

/// Why a [`Case`] failed.
#[derive(Debug)]
pub(crate) struct Failure {
    pub message: String,
    pub kind: String,
    pub body: String,
}

impl Case {
    pub(crate) fn passed(class: impl Into<String>, name: impl Into<String>) -> Case {
        Case {
            class: class.into(),
            name: name.into(),
            failure: None,
        }
    }

    pub(crate) fn failed(
        class: impl Into<String>,
        name: impl Into<String>,
        message: impl Into<String>,
        kind: impl Into<String>,
        body: impl Into<String>,
    ) -> Case {
        Case {
            class: class.into(),
            name: name.into(),
            failure: Some(Failure {
                message: message.into(),
                kind: kind.into(),
                body: body.into(),
            }),
        }
    }
}

/// A JUnit test suite.
#[derive(Debug)]
pub(crate) struct Suite {
    pub name: String,
    pub cases: Vec<Case>,
}

/// The one JUnit XML writer: `<testsuites name=…>` with the suites, their counts derived
/// from their cases.
pub(crate) fn junit_doc<S: std::borrow::Borrow<Suite>>(name: &str, suites: &[S]) -> String {
    let failed = |s: &Suite| s.cases.iter().filter(|c| c.failure.is_some()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\">\n",
        xml(name),
        suites.iter().map(|s| s.borrow().cases.len()).sum::<usize>(),
        suites.iter().map(|s| failed(s.borrow())).sum::<usize>()
    ));
    for s in suites {
        let s: &Suite = s.borrow();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n",
            xml(&s.name),
            s.cases.len(),
            failed(s)
        ));
        for c in &s.cases {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(&c.class),
                xml(&c.name)
            ));
            match &c.failure {
                None => out.push_str("/>\n"),
                Some(f) => out.push_str(&format!(
                    ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                    xml(&f.message),
                    xml(&f.kind),
                    xml(&f.body)
                )),
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// JUnit XML: a `lockout` suite (one case per management service and loopback) and an
/// `expectations` suite (one case per expectation).
pub fn junit(lockout: &[LockoutResult], expectations: &[ExpectResult]) -> String {
    junit_doc("fwcheck", &junit_suites("", lockout, expectations))
}

/// [`junit`]'s suites, their names and classes prefixed with `prefix` (a fleet's host).
pub(crate) fn junit_suites(
    prefix: &str,
    lockout: &[LockoutResult],
    expectations: &[ExpectResult],
) -> Vec<Suite> {
    let lockout = lockout
        .iter()
        .map(|l| match &l.finding {
            None => Case::passed(format!("fwcheck.{prefix}lockout"), l.name()),
            Some(f) => {
                let mut body = f.message.clone();
                if let Some(fix) = &f.fix {
                    body.push_str(&format!("\nfix: {fix}"));
                }
                for d in &f.details {
                    body.push_str(&format!("\n{d}"));
                }
                Case::failed(
                    format!("fwcheck.{prefix}lockout"),
                    l.name(),
                    &f.message,
                    f.code,
                    body,
                )
            }
        })
        .collect();
    let expectations = expectations
        .iter()
        .map(|e| {
            let class = format!("fwcheck.{prefix}expectations");
            if e.passed {
                return Case::passed(class, &e.name);
            }
            let msg = format!("expected {}, got {}", e.expected, e.got);
            let body = format!(
                "{msg}\npacket: {}\ndecided by: {}",
                e.packet.clone().unwrap_or_default(),
                e.rule
                    .as_ref()
                    .map(|r| r.short())
                    .unwrap_or_else(|| "no rule".into())
            );
            Case::failed(class, &e.name, msg, codes::EXPECTATION_FAILED, body)
        })
        .collect();
    vec![
        Suite {
            name: format!("{prefix}lockout"),
            cases: lockout,
        },
        Suite {
            name: format!("{prefix}expectations"),
            cases: expectations,
        },
    ]
}

pub(crate) fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub(crate) fn gh_prop(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands (`::error file=…,line=…,title=…::message`).
pub fn github(findings: &[Finding], expectations: &[ExpectResult], rules_file: &str) -> String {
    github_with("", findings, expectations, rules_file)
}

/// [`github`] with each title prefixed by `prefix` (a fleet's host).
pub(crate) fn github_with(
    prefix: &str,
    findings: &[Finding],
    expectations: &[ExpectResult],
    rules_file: &str,
) -> String {
    let mut out = String::new();
    for f in findings {
        let cmd = match f.severity {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "notice",
        };
        let name = code_info(f.code).map(|c| c.name).unwrap_or("");
        let mut props = format!("file={}", gh_prop(&f.file));
        if let Some(l) = f.line {
            props.push_str(&format!(",line={l}"));
        }
        props.push_str(&format!(
            ",title={}",
            gh_prop(&format!("{prefix}{} {name}", f.code))
        ));
        let mut msg = f.message.clone();
        if let Some(fix) = &f.fix {
            msg.push_str(&format!("\nFix: {fix}"));
        }
        out.push_str(&format!("::{cmd} {props}::{}\n", gh_data(&msg)));
    }
    for e in expectations.iter().filter(|e| !e.passed) {
        let mut props = format!("file={}", gh_prop(rules_file));
        if let Some(l) = e.rule.as_ref().and_then(|r| r.line) {
            props.push_str(&format!(",line={l}"));
        }
        props.push_str(&format!(
            ",title={}",
            gh_prop(&format!("{prefix}FW010 expectation-failed"))
        ));
        out.push_str(&format!(
            "::error {props}::{}\n",
            gh_data(&format!(
                "{}: expected {}, got {}",
                e.name, e.expected, e.got
            ))
        ));
    }
    out
}

// A ruleset's own diagnostics (parse errors and warnings, `lint`): the same formats, so a CI
// job uploading SARIF or reading JUnit never gets an empty file when the ruleset does not load.

fn diag_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// SARIF 2.1.0 with one result per diagnostic, at its file:line:column (rule ids are the
/// diagnostic codes, E1xx/W1xx).
pub fn sarif_diagnostics(diags: &[LocatedDiagnostic]) -> Value {
    sarif_log(vec![sarif_diagnostics_run(diags)])
}

/// The one run of [`sarif_diagnostics`]' log.
pub(crate) fn sarif_diagnostics_run(diags: &[LocatedDiagnostic]) -> Value {
    let mut codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    codes.sort_unstable();
    codes.dedup();
    let rules: Vec<Value> = codes.iter().map(|c| json!({ "id": c })).collect();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(e) = &d.expected {
                text.push_str(&format!(" (expected {e})"));
            }
            json!({
                "ruleId": d.code,
                "ruleIndex": codes.iter().position(|c| *c == d.code),
                "level": diag_level(d.severity),
                "message": { "text": text },
                "locations": [{ "physicalLocation": {
                    "artifactLocation": { "uri": d.file },
                    "region": {
                        "startLine": d.line.max(1),
                        "startColumn": d.column.max(1),
                        "endLine": d.end_line.max(d.line).max(1),
                        "endColumn": d.end_column.max(1),
                    },
                }}],
            })
        })
        .collect();
    json!({
        "tool": { "driver": { "name": "fwcheck", "version": env!("CARGO_PKG_VERSION"), "rules": rules } },
        "results": results,
    })
}

/// JUnit XML with a `ruleset` suite: one failing case per error (warnings are not failures).
pub fn junit_diagnostics(diags: &[LocatedDiagnostic]) -> String {
    junit_doc("fwcheck", &[junit_diagnostics_suite("", diags)])
}

/// [`junit_diagnostics`]' suite, its name and class prefixed with `prefix`.
pub(crate) fn junit_diagnostics_suite(prefix: &str, diags: &[LocatedDiagnostic]) -> Suite {
    let class = format!("fwcheck.{prefix}ruleset");
    let mut cases: Vec<Case> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            let at = format!("{}:{}:{}", d.file, d.line, d.column);
            Case::failed(
                &class,
                format!("{} {at}", d.code),
                &d.message,
                d.code,
                format!(
                    "{at}: {}{}",
                    d.message,
                    d.expected
                        .as_ref()
                        .map(|e| format!(" (expected {e})"))
                        .unwrap_or_default()
                ),
            )
        })
        .collect();
    if cases.is_empty() {
        cases.push(Case::passed(&class, "the ruleset loads"));
    }
    Suite {
        name: format!("{prefix}ruleset"),
        cases,
    }
}

/// GitHub workflow annotations, one per diagnostic.
pub fn github_diagnostics(diags: &[LocatedDiagnostic]) -> String {
    github_diagnostics_with("", diags)
}

/// [`github_diagnostics`] with each title prefixed by `prefix`.
pub(crate) fn github_diagnostics_with(prefix: &str, diags: &[LocatedDiagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let cmd = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        out.push_str(&format!(
            "::{cmd} file={},line={},col={},title={}::{}\n",
            gh_prop(&d.file),
            d.line,
            d.column,
            gh_prop(&format!("{prefix}{}", d.code)),
            gh_data(&d.message)
        ));
    }
    out
}

// `fwcheck diff`: a verdict that changes between two rulesets, in the same CI formats.

/// The SARIF rule id (and JUnit failure type, GitHub title) of a changed verdict.
pub(crate) const VERDICT_CHANGE: &str = "verdict-change";

/// A flow whose verdict changes, located at the rule that decides it (`fwcheck diff`: the new
/// ruleset's rule, or the old one's when a policy decides in the new ruleset).
#[derive(Debug, Clone)]
pub struct VerdictChange {
    /// The flow, as the diff report names it.
    pub flow: String,
    /// What changes: `flow: now dropped (3 packets …): old …, new …`.
    pub message: String,
    pub file: String,
    pub line: Option<usize>,
}

/// SARIF 2.1.0 of a diff: one result per changed flow (rule `VERDICT_CHANGE`) and one per
/// new finding of the new ruleset (as [`sarif`]).
pub fn sarif_diff(changes: &[VerdictChange], new_findings: &[Finding]) -> Value {
    let mut doc = sarif(new_findings, &[], "");
    let run = &mut doc["runs"][0];
    let index = run["tool"]["driver"]["rules"]
        .as_array()
        .map(|r| r.len())
        .unwrap_or(0);
    if let Some(rules) = run["tool"]["driver"]["rules"].as_array_mut() {
        rules.push(json!({
            "id": VERDICT_CHANGE,
            "name": "verdict-change",
            "shortDescription": { "text": "A flow's verdict changes between the two rulesets" },
            "fullDescription": { "text": "The same traffic replayed through the old and the new ruleset gets another verdict; the location is the rule that decides it in the new ruleset (the old ruleset's rule when a policy decides in the new one)." },
            "defaultConfiguration": { "level": "error" },
        }));
    }
    if let Some(results) = run["results"].as_array_mut() {
        for c in changes {
            let mut phys = json!({ "artifactLocation": { "uri": c.file } });
            if let Some(l) = c.line.filter(|l| *l > 0) {
                phys["region"] = json!({ "startLine": l });
            }
            results.push(json!({
                "ruleId": VERDICT_CHANGE,
                "ruleIndex": index,
                "level": "error",
                "message": { "text": c.message },
                "locations": [{ "physicalLocation": phys }],
            }));
        }
    }
    doc
}

/// JUnit XML of a diff: a `verdicts` suite (one failed case per changed flow, or one passing
/// case when none changes) and a `findings` suite (one failed case per new finding, or one
/// passing case).
pub fn junit_diff(changes: &[VerdictChange], new_findings: &[Finding]) -> String {
    let suite = |name: &str, mut cases: Vec<Case>, ok: &str| {
        if cases.is_empty() {
            cases.push(Case::passed(format!("fwcheck.diff.{name}"), ok));
        }
        Suite {
            name: name.to_string(),
            cases,
        }
    };
    let at = |file: &str, line: Option<usize>| match line {
        Some(l) => format!("{file}:{l}"),
        None => file.to_string(),
    };
    let verdicts = changes
        .iter()
        .map(|c| {
            Case::failed(
                "fwcheck.diff.verdicts",
                &c.flow,
                &c.message,
                VERDICT_CHANGE,
                format!("{}\nat: {}", c.message, at(&c.file, c.line)),
            )
        })
        .collect();
    let findings = new_findings
        .iter()
        .map(|f| {
            let mut body = format!("{}\nat: {}", f.message, at(&f.file, f.line));
            if let Some(fix) = &f.fix {
                body.push_str(&format!("\nfix: {fix}"));
            }
            Case::failed(
                "fwcheck.diff.findings",
                format!("{} {}", f.code, f.message),
                &f.message,
                f.code,
                body,
            )
        })
        .collect();
    junit_doc(
        "fwcheck diff",
        &[
            suite("verdicts", verdicts, "no flow changes its verdict"),
            suite("findings", findings, "no new finding"),
        ],
    )
}

/// GitHub workflow commands of a diff: an `::error` per changed flow at its deciding rule,
/// then the new findings (as [`github`]).
pub fn github_diff(changes: &[VerdictChange], new_findings: &[Finding]) -> String {
    let mut out = String::new();
    for c in changes {
        let mut props = format!("file={}", gh_prop(&c.file));
        if let Some(l) = c.line {
            props.push_str(&format!(",line={l}"));
        }
        props.push_str(&format!(",title={}", gh_prop(VERDICT_CHANGE)));
        out.push_str(&format!("::error {props}::{}\n", gh_data(&c.message)));
    }
    out.push_str(&github(new_findings, &[], ""));
    out
}
