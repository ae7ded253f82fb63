//! `fwcheck steps SCRIPT`: the command-line glue of [`fwcheck::steps`] (rules read and options
//! built through the session, see [`super::learn`]).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use fwcheck::analysis::Level;
use fwcheck::diag::SourceFile;
use fwcheck::ruleset::{sniff, ParseOptions};
use fwcheck::session::{self, Error, Exit};
use fwcheck::steps::{self, StepsInput};

use super::args::FailOn;
use super::learn::{read_named, table, LearnCommon, LearnFormat};
use super::written;

/// `fwcheck steps SCRIPT`.
#[derive(Args, Debug)]
pub struct StepsArgs {
    /// A script of iptables commands (or iptables-restore input: one step per COMMIT).
    pub script: PathBuf,
    /// The ruleset the script starts from (default: no rules, ACCEPT policies).
    #[arg(long, value_name = "RULES")]
    pub initial: Option<PathBuf>,
    /// Apply restore input as `iptables-restore --noflush` (on top of --initial).
    #[arg(long)]
    pub noflush: bool,
    #[command(flatten)]
    pub common: LearnCommon,
    /// Exit 1 from this severity on: a cut is an error, a possible cut (resting on a verdict
    /// fwcheck cannot decide) a warning; the final ruleset's findings have their own.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    #[arg(long, value_enum, default_value_t = LearnFormat::Table)]
    pub format: LearnFormat,
}

/// `fwcheck steps`: exit 1 when a step cuts the administrator's session or the final ruleset
/// locks them out.
pub fn run(a: StepsArgs) -> Result<u8, Error> {
    let (name, text) = read_named(&a.script)?;
    let initial = a.initial.as_deref().map(read_named).transpose()?;
    // The family as the main command decides it, from the script, else the initial ruleset.
    let family = match &initial {
        Some((_, t)) if !a.common.ipv6 && sniff::family_evidence(&text).family().is_none() => {
            session::family(
                a.common.family(),
                a.initial.as_deref().unwrap_or(&a.script),
                t,
            )
        }
        _ => session::family(a.common.family(), &a.script, &text),
    }
    .map_err(Error::usage)?;
    let host = a.common.host_options()?;
    let check = a.common.check_options(&host, &host.hosts)?;
    let input = StepsInput {
        name,
        text,
        initial,
        noflush: a.noflush,
        parse: ParseOptions {
            family,
            format: fwcheck::ruleset::InputFormat::Auto,
            backend: a.common.backend(),
            ipsets: host.ipsets.clone(),
        },
    };
    let report = match steps::run(&input, &check) {
        Ok(r) => r,
        Err(e) => {
            let located: Vec<String> = e
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| locate(&e.source, &input, d))
                .collect();
            for l in &located {
                eprintln!("fwcheck: {l}");
            }
            return Err(Error::invalid(format!(
                "{} cannot be applied ({} error(s)); no step simulated",
                a.script.display(),
                located.len()
            )));
        }
    };
    for d in &report.diagnostics {
        let at = locate(&report.source, &input, d);
        if d.is_error() {
            eprintln!(
                "fwcheck: {at}: iptables refuses this command; the script goes on without it"
            );
        } else {
            eprintln!("fwcheck: warning[{}]: {at}", d.code);
        }
    }
    if report.steps.is_empty() {
        eprintln!(
            "fwcheck: warning: {} holds no iptables command for this family: there is no step to check",
            a.script.display()
        );
    }
    // A certain cut or lockout is an error; one resting on an uncertain verdict a warning.
    let fail_at = match a.fail_on {
        FailOn::Error => Some(Level::Error),
        FailOn::Warning => Some(Level::Warning),
        FailOn::Note => Some(Level::Note),
        FailOn::Never => None,
    };
    let fails = fail_at.is_some_and(|at| {
        report
            .cuts
            .iter()
            .map(|c| {
                if c.certain {
                    Level::Error
                } else {
                    Level::Warning
                }
            })
            .chain(report.final_findings().map(|f| f.severity))
            .any(|l| l >= at)
    });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match a.format {
        LearnFormat::Table => {
            let mut t = table();
            let mut header = vec!["step".to_string(), "line".into(), "command".into()];
            for s in report.steps.first().map(|s| &s.sessions[..]).unwrap_or(&[]) {
                header.push(format!("{} from {}", s.service, s.admin));
            }
            t.set_header(header);
            for st in &report.steps {
                let command = match &st.refused {
                    Some(_) => format!("{} (refused: not applied)", st.command),
                    None => st.command.clone(),
                };
                let mut row = vec![st.step.to_string(), st.line.to_string(), command];
                for s in &st.sessions {
                    row.push(cell(st.changes, s));
                }
                t.add_row(row);
            }
            let _ = writeln!(out, "{t}");
            for c in &report.cuts {
                let level = if c.certain { "error" } else { "warning" };
                let _ = writeln!(out, "{level}[FW001]: {}", c.message());
                if let Some(why) = &c.doubt {
                    let _ = writeln!(
                        out,
                        "  = not certain: {why} (the kernel may decide otherwise)"
                    );
                }
            }
            for f in report.final_findings() {
                let _ = writeln!(
                    out,
                    "{}[{}]: after the last step: {}",
                    f.severity.as_str(),
                    f.code,
                    f.message
                );
                if let Some(fix) = &f.fix {
                    let _ = writeln!(out, "  = fix: {fix}");
                }
            }
            let unsure = report
                .steps
                .iter()
                .filter(|st| st.changes && st.sessions.iter().any(|s| !s.certain))
                .count();
            if report.cuts.is_empty() && !report.locks_out() && !report.may_lock_out() && unsure > 0
            {
                let _ = writeln!(
                    out,
                    "no step is known to cut the established session{}, but {unsure} step{} rest{} on verdicts fwcheck cannot decide (marked ?)",
                    if check.mgmt.len() > 1 { "s" } else { "" },
                    if unsure > 1 { "s" } else { "" },
                    if unsure > 1 { "" } else { "s" },
                );
            } else if report.cuts.is_empty()
                && !report.locks_out()
                && !report.may_lock_out()
                && !report.steps.is_empty()
            {
                let _ = writeln!(
                    out,
                    "every step is safe: the established {} session{} from {} keep{} passing after each of the {} steps",
                    check.mgmt.iter().map(|m| m.name()).collect::<Vec<_>>().join(", "),
                    if check.mgmt.len() > 1 { "s" } else { "" },
                    report.admins.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
                    if check.mgmt.len() > 1 { "" } else { "s" },
                    report.steps.len()
                );
            }
        }
        LearnFormat::Json => {
            for st in &report.steps {
                let mut v = serde_json::to_value(st).unwrap_or_default();
                v["type"] = "step".into();
                let _ = writeln!(out, "{v}");
            }
            for c in &report.cuts {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                v["type"] = "cut".into();
                v["message"] = c.message().into();
                let _ = writeln!(out, "{v}");
            }
            for f in report.final_findings() {
                let mut v = serde_json::to_value(f).unwrap_or_default();
                v["type"] = "finding".into();
                let _ = writeln!(out, "{v}");
            }
            let _ = writeln!(
                out,
                "{}",
                serde_json::json!({
                    "type": "summary",
                    "steps": report.steps.len(),
                    "cuts": report.cuts.iter().filter(|c| c.certain).count(),
                    "possible_cuts": report.cuts.iter().filter(|c| !c.certain).count(),
                    "host": report.host,
                    "admins": report.admins,
                    "final_lockout": report.final_findings().any(|f| f.code == "FW001" && f.severity == Level::Error),
                    "final_possible_lockout": report.final_findings().any(|f| f.code == "FW001" && f.severity != Level::Error),
                    "exit": if fails { Exit::Findings.code() } else { Exit::Ok.code() },
                })
            );
        }
    }

    let code = if fails { Exit::Findings } else { Exit::Ok };
    written(out.flush(), code)
}

/// A session's cell in the steps table: `ok`, `CUT: …`, with `?` where a verdict behind it is
/// not certain.
fn cell(changes: bool, s: &steps::SessionAt) -> String {
    let q = |d: &Option<String>| if d.is_some() { "?" } else { "" };
    let failure = s.failure.clone().unwrap_or_default();
    match (changes, s.established, s.new) {
        (false, _, _) => "(no change)".into(),
        (_, true, true) => format!("ok{}", q(&s.established_doubt).max(q(&s.new_doubt))),
        (_, true, false) => format!(
            "ok{}; new sessions refused{}: {failure}",
            q(&s.established_doubt),
            q(&s.new_doubt)
        ),
        (_, false, _) => format!("CUT{}: {failure}", q(&s.established_doubt)),
    }
}

/// `file:line:column: message`, with the line in the script, or in the initial ruleset (its
/// text follows the script's in the source the steps were applied from).
fn locate(source: &SourceFile, input: &StepsInput, d: &fwcheck::diag::Diagnostic) -> String {
    let at = d.span.start as usize;
    let script_len = input.text.len() + usize::from(!input.text.ends_with('\n'));
    let (name, text, offset) = match &input.initial {
        Some((n, t)) if at >= script_len => (n.as_str(), t.as_str(), script_len),
        _ => (input.name.as_str(), input.text.as_str(), 0),
    };
    let rel = (at - offset).min(text.len());
    let line = text[..rel].matches('\n').count() + 1;
    let col = text[..rel]
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    let _ = source;
    format!(
        "{name}:{line}:{col}: {}{}",
        d.message,
        d.expected
            .as_ref()
            .map(|e| format!(" (expected {e})"))
            .unwrap_or_default()
    )
}
