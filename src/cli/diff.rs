//! `fwcheck diff OLD NEW`: the command-line glue of [`fwcheck::diff`]. Rules are loaded, the
//! traffic built and the host chosen by the session, as for the main command.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use fwcheck::session::{self, Error, Exit, TrafficSpec};

use fwcheck::report::ci::{self, VerdictChange};

use super::learn::{table, LearnCommon};
use super::{load_valid, written};

/// `fwcheck diff OLD NEW`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The ruleset in place (a rules file or a script).
    pub old: PathBuf,
    /// The ruleset to deploy.
    pub new: PathBuf,
    /// Replay this capture through both.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["synthetic", "flow"])]
    pub pcap: Option<PathBuf>,
    /// Replay generated traffic of this profile through both.
    #[arg(long, value_name = "PROFILE", num_args = 0..=1, default_missing_value = "webserver", conflicts_with = "flow")]
    pub synthetic: Option<String>,
    /// Replay an ad-hoc flow through both (repeatable).
    #[arg(long, value_name = "SPEC")]
    pub flow: Vec<String>,
    /// Exit 0 even when verdicts or findings change.
    #[arg(long)]
    pub allow_change: bool,
    /// At most this many changed packets listed in the table (0 = all).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    #[command(flatten)]
    pub common: LearnCommon,
    #[arg(long, value_enum, default_value_t = DiffFormat::Table)]
    pub format: DiffFormat,
}

/// Output formats of `fwcheck diff` (the variants' doc comments are the CLI's help).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffFormat {
    Table,
    Json,
    /// SARIF 2.1.0: a result per changed flow at its deciding rule, and per new finding.
    Sarif,
    /// JUnit XML: a failed test case per changed flow and per new finding.
    Junit,
    /// GitHub Actions workflow annotations at the deciding rules.
    Github,
}

/// `fwcheck diff`: exit 1 when a verdict or a finding changes, unless `--allow-change`.
pub fn run(a: DiffArgs) -> Result<u8, Error> {
    let host = a.common.host_options()?;
    let old = load_valid(&a.common.source(&a.old, host.ipsets.as_ref()))?;
    let new = load_valid(&a.common.source(&a.new, host.ipsets.as_ref()))?;
    let spec = if let Some(p) = &a.pcap {
        TrafficSpec::Capture(p.clone())
    } else if !a.flow.is_empty() {
        TrafficSpec::Flows(session::parse_flows(&a.flow)?)
    } else {
        TrafficSpec::Synthetic(session::parse_profile(
            a.synthetic.as_deref().unwrap_or("webserver"),
        )?)
    };
    let traffic = session::traffic(spec, &host.hosts, false)?;
    let mut host = host;
    if let Some(n) = session::adopt_capture_interfaces(&mut host, &traffic) {
        eprintln!("fwcheck: {n}");
    }
    let hosts = session::choose_hosts(&host.hosts, Some(&traffic))?;
    let check = a.common.check_options(&host, &hosts.hosts)?;
    let sim = host.sim_options(&hosts.hosts);
    let report = fwcheck::diff::diff(
        &old.loaded,
        &new.loaded,
        sim,
        &check,
        traffic.source().clone(),
    )
    .map_err(|e| match traffic.capture_name() {
        Some(p) => Error::invalid(format!("{}: {e}", p.display())),
        None => Error::invalid(e.to_string()),
    })?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let code = if report.changes_anything() && !a.allow_change {
        Exit::Findings
    } else {
        Exit::Ok
    };
    if matches!(
        a.format,
        DiffFormat::Sarif | DiffFormat::Junit | DiffFormat::Github
    ) {
        let changes = verdict_changes(&report, &a);
        let new = &report.findings.new;
        let text = match a.format {
            DiffFormat::Sarif => {
                let doc = ci::sarif_diff(&changes, new);
                serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
            }
            DiffFormat::Junit => ci::junit_diff(&changes, new),
            _ => ci::github_diff(&changes, new),
        };
        return written(
            out.write_all(text.as_bytes()).and_then(|()| out.flush()),
            code,
        );
    }
    let side = |s: &fwcheck::diff::Side| {
        format!(
            "{}{} {}",
            s.verdict,
            if s.certain { "" } else { "?" },
            s.rule.as_deref().unwrap_or("")
        )
    };
    match a.format {
        DiffFormat::Table => {
            if !report.changed.is_empty() {
                let mut t = table();
                t.set_header(vec!["frame", "packet", "old", "new"]);
                let n = if a.limit == 0 { usize::MAX } else { a.limit };
                for c in report.changed.iter().take(n) {
                    t.add_row(vec![
                        c.frame.to_string(),
                        c.packet.clone(),
                        side(&c.old),
                        side(&c.new),
                    ]);
                }
                let _ = writeln!(out, "{t}");
                if report.changed.len() > n {
                    let _ = writeln!(
                        out,
                        "({} more changed packets; --limit 0 or --format json lists them all)",
                        report.changed.len() - n
                    );
                }
                let mut t = table();
                t.set_header(vec!["flow", "change", "pkts", "frames", "old", "new"]);
                for f in &report.flows {
                    let frames: Vec<String> = f.frames.iter().map(|x| x.to_string()).collect();
                    t.add_row(vec![
                        f.flow.clone(),
                        f.change.to_string(),
                        f.packets.to_string(),
                        format!(
                            "{}{}",
                            frames.join(","),
                            if f.packets > 10 { ",…" } else { "" }
                        ),
                        side(&f.old),
                        side(&f.new),
                    ]);
                }
                let _ = writeln!(out, "{t}");
            }
            let _ = writeln!(out, "{}", report.headline());
            for (label, list) in [
                ("new", &report.findings.new),
                ("resolved", &report.findings.resolved),
            ] {
                for f in list {
                    let _ = writeln!(
                        out,
                        "{label}: {}[{}]: {}",
                        f.severity.as_str(),
                        f.code,
                        f.message
                    );
                }
            }
            let _ = writeln!(
                out,
                "findings: {} new, {} resolved, {} unchanged",
                report.findings.new.len(),
                report.findings.resolved.len(),
                report.findings.unchanged.len()
            );
        }
        DiffFormat::Json => {
            for c in &report.changed {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                v["type"] = "changed".into();
                let _ = writeln!(out, "{v}");
            }
            for f in &report.flows {
                let mut v = serde_json::to_value(f).unwrap_or_default();
                v["type"] = "flow".into();
                let _ = writeln!(out, "{v}");
            }
            for (label, list) in [
                ("new", &report.findings.new),
                ("resolved", &report.findings.resolved),
                ("unchanged", &report.findings.unchanged),
            ] {
                for f in list {
                    let mut v = serde_json::to_value(f).unwrap_or_default();
                    v["type"] = "finding".into();
                    v["status"] = label.into();
                    let _ = writeln!(out, "{v}");
                }
            }
            let _ = writeln!(
                out,
                "{}",
                serde_json::json!({
                    "type": "summary",
                    "frames": report.frames,
                    "changed_packets": report.changed.len(),
                    "dropped_packets": report.dropped_packets,
                    "dropped_flows": report.dropped_flows,
                    "accepted_packets": report.accepted_packets,
                    "accepted_flows": report.accepted_flows,
                    "findings": {
                        "new": report.findings.new.len(),
                        "resolved": report.findings.resolved.len(),
                        "unchanged": report.findings.unchanged.len(),
                    },
                    "headline": report.headline(),
                    "exit": code.code(),
                })
            );
        }
        _ => {}
    }
    written(out.flush(), code)
}

/// Each changed flow at the rule that decides it in the new ruleset, or the old ruleset's
/// rule when the new decision is not a rule's (a policy).
fn verdict_changes(report: &fwcheck::diff::DiffReport, a: &DiffArgs) -> Vec<VerdictChange> {
    let side = |s: &fwcheck::diff::Side| {
        format!(
            "{}{}{}",
            s.verdict,
            if s.certain { "" } else { " (uncertain)" },
            s.rule
                .as_deref()
                .map(|r| format!(" by {r}"))
                .unwrap_or_default()
        )
    };
    report
        .flows
        .iter()
        .map(|f| {
            let (file, line) = if f.new.by_rule || !f.old.by_rule {
                (&a.new, f.new.line)
            } else {
                (&a.old, f.old.line)
            };
            VerdictChange {
                flow: f.flow.clone(),
                message: format!(
                    "{}: {} ({} packet{}, first frame {}): old ruleset {}, new ruleset {}",
                    f.flow,
                    f.change,
                    f.packets,
                    if f.packets == 1 { "" } else { "s" },
                    f.first_frame,
                    side(&f.old),
                    side(&f.new)
                ),
                file: file.display().to_string(),
                line,
            }
        })
        .collect()
}
