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
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "fwcheck", "version": env!("CARGO_PKG_VERSION"), "rules": rules } },
            "results": results,
        }]
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

/// JUnit XML: a `lockout` suite (one case per management service and loopback) and an
/// `expectations` suite (one case per expectation).
pub fn junit(lockout: &[LockoutResult], expectations: &[ExpectResult]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let lf = lockout.iter().filter(|l| l.finding.is_some()).count();
    let ef = expectations.iter().filter(|e| !e.passed).count();
    out.push_str(&format!(
        "<testsuites name=\"fwcheck\" tests=\"{}\" failures=\"{}\">\n",
        lockout.len() + expectations.len(),
        lf + ef
    ));
    out.push_str(&format!(
        "  <testsuite name=\"lockout\" tests=\"{}\" failures=\"{lf}\">\n",
        lockout.len()
    ));
    for l in lockout {
        out.push_str(&format!(
            "    <testcase classname=\"fwcheck.lockout\" name=\"{}\"",
            xml(&l.check)
        ));
        match &l.finding {
            None => out.push_str("/>\n"),
            Some(f) => {
                let mut body = f.message.clone();
                if let Some(fix) = &f.fix {
                    body.push_str(&format!("\nfix: {fix}"));
                }
                for d in &f.details {
                    body.push_str(&format!("\n{d}"));
                }
                out.push_str(&format!(
                    ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                    xml(&f.message),
                    f.code,
                    xml(&body)
                ));
            }
        }
    }
    out.push_str("  </testsuite>\n");
    out.push_str(&format!(
        "  <testsuite name=\"expectations\" tests=\"{}\" failures=\"{ef}\">\n",
        expectations.len()
    ));
    for e in expectations {
        out.push_str(&format!(
            "    <testcase classname=\"fwcheck.expectations\" name=\"{}\"",
            xml(&e.name)
        ));
        if e.passed {
            out.push_str("/>\n");
        } else {
            let msg = format!("expected {}, got {}", e.expected, e.got);
            let body = format!(
                "{msg}\npacket: {}\ndecided by: {}",
                e.packet.clone().unwrap_or_default(),
                e.rule
                    .as_ref()
                    .map(|r| r.short())
                    .unwrap_or_else(|| "no rule".into())
            );
            out.push_str(&format!(
                ">\n      <failure message=\"{}\" type=\"FW010\">{}</failure>\n    </testcase>\n",
                xml(&msg),
                xml(&body)
            ));
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn gh_prop(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands (`::error file=…,line=…,title=…::message`).
pub fn github(findings: &[Finding], expectations: &[ExpectResult], rules_file: &str) -> String {
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
            gh_prop(&format!("{} {name}", f.code))
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
        props.push_str(&format!(",title={}", gh_prop("FW010 expectation-failed")));
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
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "fwcheck", "version": env!("CARGO_PKG_VERSION"), "rules": rules } },
            "results": results,
        }]
    })
}

/// JUnit XML with a `ruleset` suite: one failing case per error (warnings are not failures).
pub fn junit_diagnostics(diags: &[LocatedDiagnostic]) -> String {
    let errors: Vec<&LocatedDiagnostic> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    let n = errors.len().max(1);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"fwcheck\" tests=\"{n}\" failures=\"{}\">\n  <testsuite name=\"ruleset\" tests=\"{n}\" failures=\"{}\">\n",
        errors.len(),
        errors.len()
    ));
    if errors.is_empty() {
        out.push_str("    <testcase classname=\"fwcheck.ruleset\" name=\"the ruleset loads\"/>\n");
    }
    for d in errors {
        let at = format!("{}:{}:{}", d.file, d.line, d.column);
        out.push_str(&format!(
            "    <testcase classname=\"fwcheck.ruleset\" name=\"{}\">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
            xml(&format!("{} {at}", d.code)),
            xml(&d.message),
            d.code,
            xml(&format!(
                "{at}: {}{}",
                d.message,
                d.expected
                    .as_ref()
                    .map(|e| format!(" (expected {e})"))
                    .unwrap_or_default()
            ))
        ));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// GitHub workflow annotations, one per diagnostic.
pub fn github_diagnostics(diags: &[LocatedDiagnostic]) -> String {
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
            gh_prop(d.code),
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
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests = changes.len().max(1) + new_findings.len().max(1);
    out.push_str(&format!(
        "<testsuites name=\"fwcheck diff\" tests=\"{tests}\" failures=\"{}\">\n",
        changes.len() + new_findings.len()
    ));
    let suite = |out: &mut String,
                 name: &str,
                 cases: Vec<(String, String, String, String)>,
                 ok: &str| {
        out.push_str(&format!(
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\">\n",
            cases.len().max(1),
            cases.len()
        ));
        if cases.is_empty() {
            out.push_str(&format!(
                "    <testcase classname=\"fwcheck.diff.{name}\" name=\"{}\"/>\n",
                xml(ok)
            ));
        }
        for (case, kind, msg, body) in cases {
            out.push_str(&format!(
                "    <testcase classname=\"fwcheck.diff.{name}\" name=\"{}\">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                xml(&case),
                xml(&msg),
                xml(&kind),
                xml(&body)
            ));
        }
        out.push_str("  </testsuite>\n");
    };
    let at = |file: &str, line: Option<usize>| match line {
        Some(l) => format!("{file}:{l}"),
        None => file.to_string(),
    };
    suite(
        &mut out,
        "verdicts",
        changes
            .iter()
            .map(|c| {
                (
                    c.flow.clone(),
                    VERDICT_CHANGE.to_string(),
                    c.message.clone(),
                    format!("{}\nat: {}", c.message, at(&c.file, c.line)),
                )
            })
            .collect(),
        "no flow changes its verdict",
    );
    suite(
        &mut out,
        "findings",
        new_findings
            .iter()
            .map(|f| {
                let mut body = format!("{}\nat: {}", f.message, at(&f.file, f.line));
                if let Some(fix) = &f.fix {
                    body.push_str(&format!("\nfix: {fix}"));
                }
                (
                    format!("{} {}", f.code, f.message),
                    f.code.to_string(),
                    f.message.clone(),
                    body,
                )
            })
            .collect(),
        "no new finding",
    );
    out.push_str("</testsuites>\n");
    out
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
