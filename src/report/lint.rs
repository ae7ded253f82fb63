//! The formats of `fwcheck lint`: a table of tables and chains, JSON Lines, SARIF, GitHub
//! annotations and JUnit XML, from a [`LintReport`].

use std::io::{self, Write};

use comfy_table::Cell;

use super::ci;
use crate::lint::LintReport;

/// Output formats of `lint` (`--format`; the variants' doc comments are the CLI's help).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    /// SARIF 2.1.0: one result per diagnostic.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
    /// JUnit XML: one failing test case per error.
    Junit,
}

/// Write `rep` in `format` (the table format's diagnostics are rendered separately, on
/// stderr, by the caller).
pub fn write(out: &mut dyn Write, format: Format, rep: &LintReport) -> io::Result<()> {
    match format {
        Format::Json => {
            for t in &rep.tables {
                let mut v = serde_json::to_value(t).unwrap_or_default();
                v["type"] = "table".into();
                writeln!(out, "{v}")?;
            }
            for d in &rep.diagnostics {
                let mut v = serde_json::to_value(d).unwrap_or_default();
                v["type"] = "diagnostic".into();
                writeln!(out, "{v}")?;
            }
            let mut v = serde_json::to_value(&rep.summary).unwrap_or_default();
            v["type"] = "summary".into();
            writeln!(out, "{v}")
        }
        Format::Table => {
            let mut t = super::table::table();
            t.set_header(vec!["table", "chain", "policy", "rules", "reached from"]);
            for ts in &rep.tables {
                for c in &ts.chains {
                    t.add_row(vec![
                        Cell::new(ts.table),
                        Cell::new(&c.name),
                        Cell::new(c.policy.unwrap_or("-")),
                        Cell::new(c.rules),
                        Cell::new(if c.reached_from.is_empty() {
                            "(never)".to_string()
                        } else {
                            c.reached_from.join(",")
                        }),
                    ]);
                }
            }
            let s = &rep.summary;
            writeln!(
                out,
                "{}: {} table(s), {} chain(s), {} rule(s)",
                s.file, s.tables, s.chains, s.rules
            )?;
            writeln!(out, "{t}")?;
            writeln!(out, "{} error(s), {} warning(s)", s.errors, s.warnings)
        }
        Format::Sarif => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&ci::sarif_diagnostics(&rep.diagnostics))
                .unwrap_or_default()
        ),
        Format::Github => write!(out, "{}", ci::github_diagnostics(&rep.diagnostics)),
        Format::Junit => write!(out, "{}", ci::junit_diagnostics(&rep.diagnostics)),
    }
}

/// `lint`'s exit code: 3 with errors, 1 with warnings under `--strict`, else 0.
pub fn exit_code(rep: &LintReport, strict: bool) -> super::outcome::Exit {
    use super::outcome::Exit;
    if rep.summary.errors > 0 {
        Exit::Invalid
    } else if strict && rep.summary.warnings > 0 {
        Exit::Findings
    } else {
        Exit::Ok
    }
}
