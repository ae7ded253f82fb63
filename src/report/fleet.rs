//! The merged report of `fwcheck fleet`: one line per host in every format (the terminal
//! table, JSON Lines, SARIF with one run per host, JUnit with one suite per host, GitHub
//! annotations), then the fleet's totals. Each host's part is written from the same
//! [`Report`] a single `fwcheck RULES ...` run writes from, with the same exit code.

use std::io::{self, Write};
use std::sync::Arc;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, ContentArrangement, Table};
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

/// One host of a fleet and its result.
#[derive(Debug)]
pub struct HostRun {
    pub name: String,
    /// The rules file, as the host's findings name it.
    pub rules: String,
    pub result: HostResult,
    /// What a single run would have written on standard error (diagnostics, notices).
    pub messages: String,
}

impl HostRun {
    /// The exit code a single `fwcheck` run of this host gives.
    pub fn exit(&self) -> Exit {
        match &self.result {
            HostResult::Checked(r) => r.exit(),
            HostResult::Invalid(_) => Exit::Invalid,
            HostResult::Failed { exit, .. } => *exit,
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
}

/// Every host's result, in manifest order.
#[derive(Debug, Default)]
pub struct FleetReport {
    pub hosts: Vec<HostRun>,
}

impl FleetReport {
    /// The highest exit code of the hosts (0 for an empty fleet): 3 when a host's input is
    /// invalid, else 2 for a host's usage error, 1 when a host fails its gate.
    pub fn exit(&self) -> Exit {
        self.hosts
            .iter()
            .map(HostRun::exit)
            .max()
            .unwrap_or(Exit::Ok)
    }

    fn names_with(&self, exit: Exit) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|h| h.exit() == exit)
            .map(|h| h.name.as_str())
            .collect()
    }
}

/// Write the merged report in `format`.
pub fn write(out: &mut dyn Write, format: Format, fleet: &FleetReport) -> io::Result<()> {
    match format {
        Format::Table => write_table(out, fleet),
        Format::Json => write_json(out, fleet),
        Format::Sarif => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&sarif(fleet)).unwrap_or_default()
        ),
        Format::Junit => write!(out, "{}", junit(fleet)),
        Format::Github => write!(out, "{}", github(fleet)),
    }
}

fn lockout_cell(r: &Report) -> String {
    let failed: Vec<&str> = r
        .lockout
        .iter()
        .filter(|l| l.finding.is_some())
        .map(|l| l.check.as_str())
        .collect();
    if failed.is_empty() {
        "pass".into()
    } else {
        format!("FAIL ({})", failed.join(", "))
    }
}

fn write_table(out: &mut dyn Write, fleet: &FleetReport) -> io::Result<()> {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(vec![
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
    ]);
    for h in &fleet.hosts {
        let mut row = vec![h.name.clone(), h.rules.clone()];
        match &h.result {
            HostResult::Checked(r) => {
                match &r.replay {
                    Some(rp) => {
                        let s = &rp.summary;
                        row.extend(
                            [s.frames, s.accepted, s.dropped, s.rejected, s.uncertain]
                                .map(|n| n.to_string()),
                        );
                    }
                    None => row.extend(["-"; 5].map(String::from)),
                }
                let n = r.totals();
                row.push(lockout_cell(r));
                row.push(n.errors.to_string());
                row.push(n.warnings.to_string());
            }
            HostResult::Invalid(l) => {
                row.extend(["-"; 6].map(String::from));
                row.push(l.error_count().to_string());
                row.push(l.warning_count().to_string());
            }
            HostResult::Failed { .. } => row.extend(["-"; 8].map(String::from)),
        }
        row.push(h.exit().code().to_string());
        t.add_row(row.into_iter().map(Cell::new));
    }
    writeln!(out, "{t}")?;
    // Why each host failed, a line each: the findings at or above its `--fail-on`, its failed
    // expectations, its errors (every finding is in the other formats).
    for h in &fleet.hosts {
        match &h.result {
            HostResult::Checked(r) => {
                let mut shown: Vec<_> = r
                    .findings
                    .iter()
                    .filter(|f| r.fail_on.is_some_and(|t| f.severity >= t))
                    .collect();
                shown.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.code, f.line));
                for f in shown {
                    let at = f.line.map(|l| format!(" ({}:{l})", f.file));
                    writeln!(
                        out,
                        "{}: {}[{}]: {}{}",
                        h.name,
                        f.severity.as_str(),
                        f.code,
                        f.message,
                        at.unwrap_or_default()
                    )?;
                }
                for e in r.expectations.iter().filter(|e| !e.passed) {
                    writeln!(
                        out,
                        "{}: expectation failed: {}: expected {}, got {}",
                        h.name, e.name, e.expected, e.got
                    )?;
                }
            }
            HostResult::Invalid(l) => {
                for d in HostRun::diagnostics(l)
                    .iter()
                    .filter(|d| d.severity == diag::Severity::Error)
                {
                    writeln!(
                        out,
                        "{}: error[{}]: {}:{}:{}: {}",
                        h.name, d.code, d.file, d.line, d.column, d.message
                    )?;
                }
            }
            HostResult::Failed { message, .. } => {
                writeln!(out, "{}: {message}", h.name)?;
            }
        }
    }
    let failing = fleet.names_with(Exit::Findings);
    let unusable: Vec<&str> = fleet
        .hosts
        .iter()
        .filter(|h| h.exit() >= Exit::Usage)
        .map(|h| h.name.as_str())
        .collect();
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
        fleet.hosts.iter().filter(|h| h.exit() == Exit::Ok).count(),
        failing.len(),
        list(&failing),
        unusable.len(),
        list(&unusable),
        fleet.exit().code()
    )
}

/// JSON Lines: a `host` record per host (its summary as a single run's JSON ends with, its
/// findings, lockout checks and expectations, or its errors), then the `fleet` record.
fn write_json(out: &mut dyn Write, fleet: &FleetReport) -> io::Result<()> {
    for h in &fleet.hosts {
        let mut v = json!({
            "type": "host",
            "host": h.name,
            "rules": h.rules,
            "exit": h.exit().code(),
        });
        match &h.result {
            HostResult::Checked(r) => {
                v["summary"] = summary_value(r);
                v["findings"] = serde_json::to_value(&r.findings).unwrap_or_default();
                v["lockout"] = r
                    .lockout
                    .iter()
                    .map(|l| json!({"check": l.check, "passed": l.finding.is_none()}))
                    .collect();
                v["expectations"] = serde_json::to_value(&r.expectations).unwrap_or_default();
            }
            HostResult::Invalid(l) => {
                v["diagnostics"] =
                    serde_json::to_value(HostRun::diagnostics(l)).unwrap_or_default();
            }
            HostResult::Failed { message, .. } => v["error"] = message.as_str().into(),
        }
        writeln!(out, "{v}")?;
    }
    let failing = fleet.names_with(Exit::Findings);
    let unusable: Vec<&str> = fleet
        .hosts
        .iter()
        .filter(|h| h.exit() >= Exit::Usage)
        .map(|h| h.name.as_str())
        .collect();
    writeln!(
        out,
        "{}",
        json!({
            "type": "fleet",
            "hosts": fleet.hosts.len(),
            "passed": fleet.hosts.iter().filter(|h| h.exit() == Exit::Ok).count(),
            "failing": failing,
            "unchecked": unusable,
            "exit": fleet.exit().code(),
        })
    )
}

/// SARIF: one run per host (`automationDetails.id` = `fleet/HOST`), as a single run's SARIF
/// would hold it; a host that could not be checked has a failed invocation.
fn sarif(fleet: &FleetReport) -> serde_json::Value {
    let runs = fleet
        .hosts
        .iter()
        .map(|h| {
            let mut run = match &h.result {
                HostResult::Checked(r) => ci::sarif_run(&r.findings, &r.expectations, r.file()),
                HostResult::Invalid(l) => ci::sarif_diagnostics_run(&HostRun::diagnostics(l)),
                HostResult::Failed { .. } => ci::sarif_run(&[], &[], &h.rules),
            };
            run["automationDetails"] = json!({ "id": format!("fleet/{}", h.name) });
            let mut invocation = json!({ "executionSuccessful": h.exit() < Exit::Usage });
            if let HostResult::Failed { message, .. } = &h.result {
                invocation["toolExecutionNotifications"] =
                    json!([{ "level": "error", "message": { "text": message } }]);
            }
            invocation["exitCode"] = h.exit().code().into();
            run["invocations"] = json!([invocation]);
            run
        })
        .collect();
    ci::sarif_log(runs)
}

/// JUnit: per host a suite `HOST` with one case for its gate (what the host's exit code
/// says), then its lockout and expectation suites (or its ruleset's errors).
fn junit(fleet: &FleetReport) -> String {
    let mut suites = Vec::new();
    for h in &fleet.hosts {
        let class = format!("fwcheck.{}", h.name);
        let gate = match (&h.result, h.exit()) {
            (_, Exit::Ok) => Case::passed(&class, "gate"),
            (HostResult::Failed { message, .. }, e) => Case::failed(
                &class,
                "gate",
                message,
                format!("exit {}", e.code()),
                message,
            ),
            (HostResult::Invalid(l), e) => {
                let m = format!("{}: {} error(s) in the ruleset", h.rules, l.error_count());
                Case::failed(&class, "gate", &m, format!("exit {}", e.code()), &m)
            }
            (HostResult::Checked(r), e) => {
                let n = r.totals();
                let m = format!(
                    "{} error(s), {} warning(s); expectations: {} failed",
                    n.errors, n.warnings, n.expectations_failed
                );
                let body: Vec<String> = r
                    .findings
                    .iter()
                    .filter(|f| r.fail_on.is_some_and(|t| f.severity >= t))
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
        suites.push(Suite {
            name: h.name.clone(),
            cases: vec![gate],
        });
        let prefix = format!("{}.", h.name);
        match &h.result {
            HostResult::Checked(r) => {
                suites.extend(ci::junit_suites(&prefix, &r.lockout, &r.expectations))
            }
            HostResult::Invalid(l) => suites.push(ci::junit_diagnostics_suite(
                &prefix,
                &HostRun::diagnostics(l),
            )),
            HostResult::Failed { .. } => {}
        }
    }
    ci::junit_doc("fwcheck fleet", &suites)
}

/// GitHub annotations: a single run's, each title prefixed with `HOST: `, and an `::error`
/// for each host that could not be checked.
fn github(fleet: &FleetReport) -> String {
    let mut out = String::new();
    for h in &fleet.hosts {
        let prefix = format!("{}: ", h.name);
        out.push_str(&match &h.result {
            HostResult::Checked(r) => {
                ci::github_with(&prefix, &r.findings, &r.expectations, r.file())
            }
            HostResult::Invalid(l) => {
                ci::github_diagnostics_with(&prefix, &HostRun::diagnostics(l))
            }
            HostResult::Failed { message, .. } => format!(
                "::error title={}::{}\n",
                ci::gh_prop(&h.name),
                ci::gh_data(message)
            ),
        });
    }
    out
}
