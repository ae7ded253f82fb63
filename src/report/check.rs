//! The formats of a [`Report`] (what `fwcheck RULES [--pcap ...]` prints): the terminal
//! tables and diagnostics, JSON Lines, SARIF, JUnit XML and GitHub annotations; and the
//! document every format writes for a ruleset with errors. Per-frame output is written during
//! the replay by [`super::rows::RowWriter`]; these write what follows it.

use std::collections::BTreeMap;
use std::io::{self, Write};

use comfy_table::Cell;

use super::outcome::{ReplayReport, Report};
use super::rows::HeldRows;
use super::{ci, table as rt};
use crate::analysis::{Finding, Level};
use crate::diag::{self, LocatedDiagnostic};
use crate::lint::Loaded;
use crate::replay::HostChoice;

/// Output formats of a check (`--format`; the variants' doc comments are the CLI's help).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// JUnit XML: one test case per lockout check and per expectation.
    Junit,
    /// GitHub Actions workflow annotations.
    Github,
}

/// How the terminal format looks.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// `--flows`: the flows table instead of the packet table.
    pub flows: bool,
    /// The packet rows were streamed as lines (`--limit 0`): no packet table.
    pub streamed: bool,
    /// Colours in the rendered diagnostics.
    pub color: bool,
}

/// Everything after the per-frame output, in `format`. `rows` are the table rows the
/// [`super::rows::RowWriter`] held (table format).
pub fn write(
    out: &mut dyn Write,
    format: Format,
    report: &Report,
    rows: HeldRows,
    opts: TableOptions,
) -> io::Result<()> {
    match format {
        Format::Table => {
            if let Some(r) = &report.replay {
                write_replay_tables(out, r, rows, opts)?;
            }
            if let Some(r) = &report.replay {
                write_replay_summary(out, r, &report.hosts)?;
            }
            write_findings(out, report, opts.color)
        }
        Format::Json => write_json(out, report),
        Format::Sarif => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&ci::sarif(
                &report.findings,
                &report.expectations,
                report.file()
            ))
            .unwrap_or_default()
        ),
        Format::Junit => write!(out, "{}", ci::junit(&report.lockout, &report.expectations)),
        Format::Github => write!(
            out,
            "{}",
            ci::github(&report.findings, &report.expectations, report.file())
        ),
    }
}

/// A ruleset with errors: every format still writes a complete document with the errors in
/// it (the table format writes nothing: the diagnostics go to stderr).
pub fn write_invalid(
    out: &mut dyn Write,
    format: Format,
    loaded: &Loaded,
    exit: u8,
) -> io::Result<()> {
    let located: Vec<LocatedDiagnostic> = loaded
        .diagnostics
        .iter()
        .map(|d| d.locate(&loaded.ruleset.source))
        .collect();
    match format {
        Format::Table => Ok(()),
        Format::Json => {
            let errors = located
                .iter()
                .filter(|d| d.severity == diag::Severity::Error)
                .count();
            let mut text = String::new();
            for d in &located {
                let mut v = serde_json::to_value(d).unwrap_or_default();
                v["type"] = "diagnostic".into();
                text.push_str(&format!("{v}\n"));
            }
            let summary = serde_json::json!({
                "type": "summary",
                "valid": false,
                "errors": errors,
                "warnings": located.len() - errors,
                "exit": exit,
            });
            writeln!(out, "{text}{summary}")
        }
        Format::Sarif => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&ci::sarif_diagnostics(&located)).unwrap_or_default()
        ),
        Format::Junit => write!(out, "{}", ci::junit_diagnostics(&located)),
        Format::Github => write!(out, "{}", ci::github_diagnostics(&located)),
    }
}

/// The packet (or flows) table, rule hits, the summary by verdict and the blocked flows.
fn write_replay_tables(
    out: &mut dyn Write,
    r: &ReplayReport,
    rows: HeldRows,
    opts: TableOptions,
) -> io::Result<()> {
    let summary = &r.summary;
    if opts.flows {
        rt::write_flows_table(out, summary)?;
        write_folded(out, summary)?;
    } else if !opts.streamed {
        let mut rows = rows;
        let notes = rt::write_packets_table(out, &mut rows.rows, rows.color)?;
        if let Some(e) = &rows.rows.error {
            writeln!(
                out,
                "(rows past the first {} could not be held: {e})",
                super::rows::PacketRows::IN_MEMORY
            )?;
        }
        if rows.hidden > 0 {
            writeln!(
                out,
                "({} more packets not shown; use --limit 0, --only or --format json)",
                rows.hidden
            )?;
        }
        notes.write(out)?;
    }
    writeln!(out, "{}", rt::rules_table(&r.hits))?;
    writeln!(out, "{}", rt::summary_table(summary))?;
    if !opts.flows {
        let (t, more) = rt::blocked_flows_table(summary, 10);
        let n = summary.flow_count();
        let blocked = summary.blocked_flow_count();
        writeln!(
            out,
            "{n} flows, {} fully accepted, {blocked} with packets not accepted",
            n - blocked
        )?;
        if blocked > 0 {
            writeln!(out, "{t}")?;
            if more > 0 {
                if summary.folded_record().is_some() {
                    writeln!(out, "({more} more; --flows lists every kept flow)")?;
                } else {
                    writeln!(out, "({more} more; --flows lists every flow)")?;
                }
            }
        }
        write_folded(out, summary)?;
    }
    Ok(())
}

/// The line for the flows beyond `--max-flows` (nothing when none was folded).
fn write_folded(out: &mut dyn Write, summary: &crate::report::Summary) -> io::Result<()> {
    if let Some(r) = summary.folded_record() {
        writeln!(
            out,
            "… and about {} more flows ({} packets: {} accepted, {} dropped, {} rejected) not listed: \
             only the first {} flows are kept (--max-flows)",
            r.flows_estimate,
            r.stats.packets,
            r.stats.accepted,
            r.stats.dropped,
            r.stats.rejected,
            r.max_flows
        )?;
    }
    Ok(())
}

/// The one-line replay summary and its notes (not judged, checksums, segments, fragments).
fn write_replay_summary(
    out: &mut dyn Write,
    r: &ReplayReport,
    hosts: &HostChoice,
) -> io::Result<()> {
    let summary = &r.summary;
    let judged = summary.accepted + summary.dropped + summary.rejected;
    writeln!(
        out,
        "{} frames: {judged} judged ({} accepted, {} dropped, {} rejected, {} uncertain), {} not judged; host {}{}; conntrack {}",
        summary.frames,
        summary.accepted,
        summary.dropped,
        summary.rejected,
        summary.uncertain,
        summary.frames - judged,
        hosts.hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(", "),
        if hosts.inferred { " (inferred)" } else { "" },
        if r.conntrack { "on" } else { "off (no rule needs it)" },
    )?;
    for (why, n) in &summary.not_judged {
        writeln!(out, "  not judged: {n} × {why}")?;
    }
    if let Some(line) = r.stats.checksum_note(r.checksums) {
        writeln!(out, "  checksums: {line}")?;
    }
    if let Some(line) = r.stats.gso_note() {
        writeln!(out, "  segments: {line}")?;
    }
    for ev in &r.stats.fragment_events {
        writeln!(out, "  fragments: {ev}")?;
    }
    if r.stats.fragment_events_more > 0 {
        writeln!(
            out,
            "  fragments: … and {} more events (the first {} are listed)",
            r.stats.fragment_events_more,
            r.stats.fragment_events.len()
        )?;
    }
    Ok(())
}

/// Findings as diagnostics pointing at their rules-file line, then the lockout checks and
/// expectations, then the totals.
fn write_findings(out: &mut dyn Write, report: &Report, color: bool) -> io::Result<()> {
    let main_src = &report.rules.ruleset.source;
    // A finding in the other family's file (`--parity`) is shown at its line there.
    let source_of = |f: &Finding| match &report.other_rules {
        Some(o) if f.file == o.ruleset.source.name && f.file != main_src.name => &o.ruleset.source,
        _ => main_src,
    };
    let mut shown: Vec<&Finding> = report.findings.iter().collect();
    shown.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.code, f.line));
    let never_hit = shown
        .iter()
        .filter(|f| f.code == crate::diag::codes::RULE_NEVER_HIT)
        .count();
    for f in shown
        .iter()
        .filter(|f| f.code != crate::diag::codes::RULE_NEVER_HIT || never_hit <= 20)
    {
        let src = source_of(f);
        let span = match f.line {
            Some(l) if l > 0 && l <= src.line_count() => {
                let r = src.line_range(l);
                diag::Span::new(r.start, r.end)
            }
            _ => diag::Span::default(),
        };
        let mut d = diag::Diagnostic::error(f.code, span, f.message.clone());
        d.severity = match f.severity {
            Level::Error => diag::Severity::Error,
            Level::Warning => diag::Severity::Warning,
            Level::Note => diag::Severity::Note,
        };
        if let Some(p) = &f.packet {
            d = d.note(format!("packet: {p}"));
        }
        for x in &f.details {
            d = d.note(x.clone());
        }
        if let Some(fix) = &f.fix {
            d = d.note(format!("fix: {fix}"));
        }
        if f.line.is_some() {
            write!(out, "{}", d.render(src, color))?;
        } else {
            writeln!(out, "{}[{}]: {}", f.severity.as_str(), f.code, f.message)?;
            for n in &d.notes {
                writeln!(out, "  = {n}")?;
            }
            writeln!(out)?;
        }
    }
    if never_hit > 20 {
        writeln!(out, "note[FW008]: {never_hit} rules were never hit by the capture (use --format json to list them)\n")?;
    }
    let mut t = super::table::table();
    t.set_header(vec!["check", "result", "detail"]);
    for l in &report.lockout {
        let (result, detail) = match &l.finding {
            None => match &l.doubt {
                None => ("pass", String::new()),
                Some(why) => ("pass?", format!("not certain: {why}")),
            },
            Some(f) => (
                if f.severity == Level::Error {
                    "FAIL"
                } else {
                    "warn"
                },
                format!(
                    "{} not accepted ({})",
                    f.packet.clone().unwrap_or_default(),
                    f.rule
                        .as_ref()
                        .map(|r| r.short())
                        .unwrap_or_else(|| "the IP stack".into())
                ),
            ),
        };
        let mut name = if l.check == "loopback" {
            "loopback traffic (lo)".to_string()
        } else {
            format!("no lockout via {}", l.check)
        };
        if let Some(f) = l.family {
            name.push_str(if f == crate::netfilter::Family::V4 {
                " (IPv4)"
            } else {
                " (IPv6)"
            });
        }
        t.add_row(vec![Cell::new(name), Cell::new(result), Cell::new(detail)]);
    }
    for r in &report.expectations {
        let mut d = format!("expected {}, got {}", r.expected, r.got);
        let why: Vec<String> = r
            .packet
            .iter()
            .cloned()
            .chain(r.rule.as_ref().map(|x| x.short()))
            .collect();
        if !why.is_empty() {
            d += &format!(" ({})", why.join("; "));
        }
        t.add_row(vec![
            Cell::new(format!("expect: {}", r.name)),
            Cell::new(if r.passed { "pass" } else { "FAIL" }),
            Cell::new(d),
        ]);
    }
    writeln!(out, "{t}")?;
    let n = report.totals();
    writeln!(
        out,
        "{} error(s), {} warning(s), {} note(s); expectations: {} passed, {} failed",
        n.errors, n.warnings, n.notes, n.expectations_passed, n.expectations_failed
    )
}

/// JSON Lines after the packet records: flows, rule hits, findings, lockout checks,
/// expectations, and the summary with the totals and the exit code.
fn write_json(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    if let Some(r) = &report.replay {
        for f in r.summary.flow_records() {
            if let Ok(s) = serde_json::to_string(&f) {
                writeln!(out, "{s}")?;
            }
        }
        if let Some(f) = r.summary.folded_record() {
            if let Ok(s) = serde_json::to_string(&f) {
                writeln!(out, "{s}")?;
            }
        }
        for h in &r.hits {
            if let Ok(s) = serde_json::to_string(h) {
                writeln!(out, "{s}")?;
            }
        }
    }
    for f in &report.findings {
        let mut v = serde_json::to_value(f).unwrap_or_default();
        v["type"] = "finding".into();
        writeln!(out, "{v}")?;
    }
    for l in &report.lockout {
        let mut v = serde_json::json!({"type": "lockout", "check": l.check});
        if let Some(f) = l.family {
            v["family"] = f.number().into();
        }
        v["passed"] = l.finding.is_none().into();
        // Present only when a verdict it rests on was uncertain.
        if l.doubt.is_some() {
            v["certain"] = false.into();
        }
        writeln!(out, "{v}")?;
    }
    for r in &report.expectations {
        let mut v = serde_json::to_value(r).unwrap_or_default();
        v["type"] = "expectation".into();
        writeln!(out, "{v}")?;
    }
    writeln!(out, "{}", summary_value(report))
}

/// The JSON `summary` record: the replay's counts, the findings by severity, the
/// expectations and the exit code.
pub(crate) fn summary_value(report: &Report) -> serde_json::Value {
    let totals = report.totals();
    let mut counts = BTreeMap::new();
    for f in &report.findings {
        *counts.entry(f.severity.as_str()).or_insert(0usize) += 1;
    }
    if totals.expectations_failed > 0 {
        // A failed expectation is an FW010 error, as SARIF, JUnit and GitHub report it.
        *counts.entry(Level::Error.as_str()).or_insert(0) += totals.expectations_failed;
    }
    let mut summary = match &report.replay {
        Some(r) => serde_json::to_value(r.summary.record(&report.hosts, r.conntrack, &r.stats))
            .unwrap_or_default(),
        None => serde_json::json!({"type": "summary"}),
    };
    summary["findings"] = serde_json::to_value(&counts).unwrap_or_default();
    summary["expectations"] = serde_json::json!({
        "passed": totals.expectations_passed,
        "failed": totals.expectations_failed,
    });
    summary["exit"] = report.exit().code().into();
    summary
}
