//! The merged report of `fwcheck fleet`: one line per host in every format (the terminal
//! table, JSON Lines, SARIF with one run per host, JUnit with one suite per host, GitHub
//! annotations), then the fleet's totals. Each host's part is written from the same
//! [`Report`] a single `fwcheck RULES ...` run writes from, with the same exit code, and is
//! rendered as soon as the host is checked ([`HostRun::new`]): the fleet keeps each host's
//! output, never its ruleset, capture state or report, so memory follows the output.
//!
//! Mirrors no kernel code.

use std::io::{self, Write};
use std::sync::Arc;

use comfy_table::Cell;
use serde_json::json;

use super::check::{summary_value, Format};
use super::ci::{self, Case, Suite};
use super::outcome::{Exit, Report};
use crate::diag::{self, LocatedDiagnostic};
use crate::lint::Loaded;

/// How one host's check ended.
#[derive(Debug)]
pub enum HostResult {
    /// The ruleset loaded and the check ran.
    Checked(Box<Report>),
    /// The ruleset has errors (exit 3, as a single run).
    Invalid(Arc<Loaded>),
    /// The check could not run: a bad option, an unreadable file, a capture that cannot be
    /// read. The exit code and message a single run would give.
    Failed { exit: Exit, message: String },
}

impl HostResult {
    /// The exit code a single `fwcheck` run of this host gives.
    fn exit(&self) -> Exit {
        match self {
            HostResult::Checked(r) => r.exit(),
            HostResult::Invalid(_) => Exit::Invalid,
            HostResult::Failed { exit, .. } => *exit,
        }
    }
}

/// One host of a fleet: its name, exit code, standard error, and its part of the report in
/// the fleet's format.
#[derive(Debug)]
pub struct HostRun {
    pub name: String,
    /// The exit code a single `fwcheck` run of this host gives.
    pub exit: Exit,
    /// What a single run would have written on standard error (diagnostics, notices).
    pub messages: String,
    part: Part,
}

/// A host's part of the merged report, in one format.
#[derive(Debug)]
enum Part {
    /// The table's row and the lines below the table.
    Table {
        row: Vec<String>,
        lines: Vec<String>,
    },
    /// The `host` record.
    Json(serde_json::Value),
    Sarif(serde_json::Value),
    Junit(Vec<Suite>),
    Github(String),
}

impl HostRun {
    /// Render `result`'s part in `format` (the result is not kept). `rules`: the rules file,
    /// as the host's findings name it.
    pub fn new(
        name: String,
        rules: String,
        result: HostResult,
        messages: String,
        format: Format,
    ) -> HostRun {
        let exit = result.exit();
        let part = match format {
            Format::Table => {
                let (row, lines) = table_part(&name, &rules, &result, exit);
                Part::Table { row, lines }
            }
            Format::Json => Part::Json(json_part(&name, &rules, &result, exit)),
            Format::Sarif => Part::Sarif(sarif_part(&name, &rules, &result, exit)),
            Format::Junit => Part::Junit(junit_part(&name, &rules, &result, exit)),
            Format::Github => Part::Github(github_part(&name, &result)),
        };
        HostRun {
            name,
            exit,
            messages,
            part,
        }
    }
}

/// The ruleset's diagnostics located in its file (an invalid ruleset's errors).
fn diagnostics(loaded: &Loaded) -> Vec<LocatedDiagnostic> {
    loaded
        .diagnostics
        .iter()
        .map(|d| d.locate(&loaded.ruleset.source))
        .collect()
}

/// Every host's part, in manifest order.
#[derive(Debug, Default)]
pub struct FleetReport {
    pub hosts: Vec<HostRun>,
}

impl FleetReport {
    /// The highest exit code of the hosts (0 for an empty fleet): 3 when a host's input is
    /// invalid, else 2 for a host's usage error, 1 when a host fails its gate.
    pub fn exit(&self) -> Exit {
        self.hosts.iter().map(|h| h.exit).max().unwrap_or(Exit::Ok)
    }

    fn names(&self, keep: impl Fn(Exit) -> bool) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|h| keep(h.exit))
            .map(|h| h.name.as_str())
            .collect()
    }
}

/// Write the merged report (each host's part in the format it was rendered in); the parts are
/// moved into it, not copied.
pub fn write(out: &mut dyn Write, format: Format, fleet: FleetReport) -> io::Result<()> {
    match format {
        Format::Table => write_table(out, &fleet),
        Format::Json => write_json(out, &fleet),
        Format::Sarif => {
            let runs = fleet
                .hosts
                .into_iter()
                .filter_map(|h| match h.part {
                    Part::Sarif(run) => Some(run),
                    _ => None,
                })
                .collect();
            let log = ci::sarif_log(runs);
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&log).unwrap_or_default()
            )
        }
        Format::Junit => {
            let suites: Vec<&Suite> = fleet
                .hosts
                .iter()
                .flat_map(|h| match &h.part {
                    Part::Junit(s) => s.as_slice(),
                    _ => &[],
                })
                .collect();
            write!(out, "{}", ci::junit_doc("fwcheck fleet", &suites))
        }
        Format::Github => {
            for h in &fleet.hosts {
                if let Part::Github(text) = &h.part {
                    out.write_all(text.as_bytes())?;
                }
            }
            Ok(())
        }
    }
}

const TABLE_HEADER: [&str; 11] = [
    "host",
    "rules",
    "frames",
    "accepted",
    "dropped",
    "rejected",
    "uncertain",
    "lockout",
    "errors",
    "warnings",
    "exit",
];

/// The table's row and the lines below it: why the host fails, a line each (the findings at
/// or above its `--fail-on`, its failed expectations, its errors; every finding is in the
/// other formats).
fn table_part(
    name: &str,
    rules: &str,
    result: &HostResult,
    exit: Exit,
) -> (Vec<String>, Vec<String>) {
    let mut row = vec![name.to_string(), rules.to_string()];
    let mut lines = Vec::new();
    let dashes = |n: usize| std::iter::repeat_n("-".to_string(), n);
    match result {
        HostResult::Checked(r) => {
            match &r.replay {
                Some(rp) => {
                    let s = &rp.summary;
                    row.extend(
                        [s.frames, s.accepted, s.dropped, s.rejected, s.uncertain]
                            .map(|n| n.to_string()),
                    );
                }
                None => row.extend(dashes(5)),
            }
            let failed: Vec<String> = r
                .lockout
                .iter()
                .filter(|l| l.finding.is_some())
                .map(|l| l.name())
                .collect();
            row.push(if failed.is_empty() {
                "pass".into()
            } else {
                format!("FAIL ({})", failed.join(", "))
            });
            let n = r.totals();
            row.push(n.errors.to_string());
            row.push(n.warnings.to_string());
            let mut shown: Vec<_> = r.gating_findings().collect();
            shown.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.code, f.line));
            for f in shown {
                let at = f.line.map(|l| format!(" ({}:{l})", f.file));
                lines.push(format!(
                    "{name}: {}[{}]: {}{}",
                    f.severity.as_str(),
                    f.code,
                    f.message,
                    at.unwrap_or_default()
                ));
            }
            for e in r.expectations.iter().filter(|e| !e.passed) {
                lines.push(format!(
                    "{name}: expectation failed: {}: expected {}, got {}",
                    e.name, e.expected, e.got
                ));
            }
        }
        HostResult::Invalid(l) => {
            row.extend(dashes(6));
            row.push(l.error_count().to_string());
            row.push(l.warning_count().to_string());
            for d in diagnostics(l)
                .iter()
                .filter(|d| d.severity == diag::Severity::Error)
            {
                lines.push(format!(
                    "{name}: error[{}]: {}:{}:{}: {}",
                    d.code, d.file, d.line, d.column, d.message
                ));
            }
        }
        HostResult::Failed { message, .. } => {
            row.extend(dashes(8));
            lines.push(format!("{name}: {message}"));
        }
    }
    row.push(exit.code().to_string());
    (row, lines)
}

fn write_table(out: &mut dyn Write, fleet: &FleetReport) -> io::Result<()> {
    let mut t = super::table::table();
    t.set_header(TABLE_HEADER.to_vec());
    for h in &fleet.hosts {
        if let Part::Table { row, .. } = &h.part {
            t.add_row(row.iter().map(Cell::new));
        }
    }
    writeln!(out, "{t}")?;
    for h in &fleet.hosts {
        if let Part::Table { lines, .. } = &h.part {
            for l in lines {
                writeln!(out, "{l}")?;
            }
        }
    }
    let failing = fleet.names(|e| e == Exit::Findings);
    let unusable = fleet.names(|e| e >= Exit::Usage);
    let list = |v: &[&str]| {
        if v.is_empty() {
            String::new()
        } else {
            format!(" ({})", v.join(", "))
        }
    };
    writeln!(
        out,
        "{} host(s): {} passed, {} failed the gate{}, {} could not be checked{}; exit {}",
        fleet.hosts.len(),
        fleet.names(|e| e == Exit::Ok).len(),
        failing.len(),
        list(&failing),
        unusable.len(),
        list(&unusable),
        fleet.exit().code()
    )
}

/// The `host` record: the summary a single run's JSON ends with, its findings, lockout
/// checks and expectations, or its errors.
fn json_part(name: &str, rules: &str, result: &HostResult, exit: Exit) -> serde_json::Value {
    let mut v = json!({
        "type": "host",
        "host": name,
        "rules": rules,
        "exit": exit.code(),
    });
    match result {
        HostResult::Checked(r) => {
            v["summary"] = summary_value(r);
            v["findings"] = serde_json::to_value(&r.findings).unwrap_or_default();
            v["lockout"] = r
                .lockout
                .iter()
                .map(|l| match l.family {
                    None => json!({"check": l.check, "passed": l.finding.is_none()}),
                    Some(f) => {
                        json!({"check": l.check, "family": f.number(), "passed": l.finding.is_none()})
                    }
                })
                .collect();
            v["expectations"] = serde_json::to_value(&r.expectations).unwrap_or_default();
        }
        HostResult::Invalid(l) => {
            v["diagnostics"] = serde_json::to_value(diagnostics(l)).unwrap_or_default();
        }
        HostResult::Failed { message, .. } => v["error"] = message.as_str().into(),
    }
    v
}

/// JSON Lines: a `host` record per host, then the `fleet` record.
fn write_json(out: &mut dyn Write, fleet: &FleetReport) -> io::Result<()> {
    for h in &fleet.hosts {
        if let Part::Json(v) = &h.part {
            writeln!(out, "{v}")?;
        }
    }
    writeln!(
        out,
        "{}",
        json!({
            "type": "fleet",
            "hosts": fleet.hosts.len(),
            "passed": fleet.names(|e| e == Exit::Ok).len(),
            "failing": fleet.names(|e| e == Exit::Findings),
            "unchecked": fleet.names(|e| e >= Exit::Usage),
            "exit": fleet.exit().code(),
        })
    )
}

/// The host's SARIF run (`automationDetails.id` = `fleet/HOST`), as a single run's SARIF
/// would hold it; a host that could not be checked has a failed invocation.
fn sarif_part(name: &str, rules: &str, result: &HostResult, exit: Exit) -> serde_json::Value {
    let mut run = match result {
        HostResult::Checked(r) => ci::sarif_run(&r.findings, &r.expectations, r.file()),
        HostResult::Invalid(l) => ci::sarif_diagnostics_run(&diagnostics(l)),
        HostResult::Failed { .. } => ci::sarif_run(&[], &[], rules),
    };
    run["automationDetails"] = json!({ "id": format!("fleet/{name}") });
    let mut invocation = json!({
        "executionSuccessful": exit < Exit::Usage,
        "exitCode": exit.code(),
    });
    if let HostResult::Failed { message, .. } = result {
        invocation["toolExecutionNotifications"] =
            json!([{ "level": "error", "message": { "text": message } }]);
    }
    run["invocations"] = json!([invocation]);
    run
}

/// The host's JUnit suites: `HOST` with one case for its gate (what its exit code says), then
/// its lockout and expectation suites (or its ruleset's errors).
fn junit_part(name: &str, rules: &str, result: &HostResult, exit: Exit) -> Vec<Suite> {
    let class = format!("fwcheck.{name}");
    let gate = match (result, exit) {
        (_, Exit::Ok) => Case::passed(&class, "gate"),
        (HostResult::Failed { message, .. }, e) => Case::failed(
            &class,
            "gate",
            message,
            format!("exit {}", e.code()),
            message,
        ),
        (HostResult::Invalid(l), e) => {
            let m = format!("{rules}: {} error(s) in the ruleset", l.error_count());
            Case::failed(&class, "gate", &m, format!("exit {}", e.code()), &m)
        }
        (HostResult::Checked(r), e) => {
            let n = r.totals();
            let m = format!(
                "{} error(s), {} warning(s); expectations: {} failed",
                n.errors, n.warnings, n.expectations_failed
            );
            let body: Vec<String> = r
                .gating_findings()
                .map(|f| format!("{}[{}]: {}", f.severity.as_str(), f.code, f.message))
                .collect();
            Case::failed(
                &class,
                "gate",
                &m,
                format!("exit {}", e.code()),
                body.join("\n"),
            )
        }
    };
    let mut suites = vec![Suite {
        name: name.to_string(),
        cases: vec![gate],
    }];
    let prefix = format!("{name}.");
    match result {
        HostResult::Checked(r) => {
            suites.extend(ci::junit_suites(&prefix, &r.lockout, &r.expectations))
        }
        HostResult::Invalid(l) => {
            suites.push(ci::junit_diagnostics_suite(&prefix, &diagnostics(l)))
        }
        HostResult::Failed { .. } => {}
    }
    suites
}

/// The host's GitHub annotations: a single run's, each title prefixed with `HOST: `, or an
/// `::error` when it could not be checked.
fn github_part(name: &str, result: &HostResult) -> String {
    let prefix = format!("{name}: ");
    match result {
        HostResult::Checked(r) => ci::github_with(&prefix, &r.findings, &r.expectations, r.file()),
        HostResult::Invalid(l) => ci::github_diagnostics_with(&prefix, &diagnostics(l)),
        HostResult::Failed { message, .. } => format!(
            "::error title={}::{}\n",
            ci::gh_prop(name),
            ci::gh_data(message)
        ),
    }
}
