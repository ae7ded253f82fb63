//! `fwcheck lint`: load a ruleset, build its chain graph, and summarise tables, chains, policies
//! and every diagnostic.

use std::path::Path;

use serde::Serialize;

use crate::diag::{Diagnostic, LocatedDiagnostic, Severity};
use crate::ruleset::graph::{self, ChainGraph};
use crate::ruleset::{parse_file, parse_str, InputFormat, ParseOptions, Parsed, Ruleset};

/// A ruleset with its graph and all diagnostics from parsing and graph checks.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub ruleset: Ruleset,
    pub graph: ChainGraph,
    pub diagnostics: Vec<Diagnostic>,
    pub format: InputFormat,
}

impl Loaded {
    pub fn from_parsed(p: Parsed) -> Loaded {
        let (graph, mut more) = graph::build(&p.ruleset);
        let mut diagnostics = p.diagnostics;
        diagnostics.append(&mut more);
        diagnostics.sort_by_key(|d| (d.span.start, std::cmp::Reverse(d.severity)));
        Loaded {
            ruleset: p.ruleset,
            graph,
            diagnostics,
            format: p.format,
        }
    }
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error())
    }
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
    pub(crate) fn warning_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }
    /// Render every diagnostic as text (file:line:col, the line, a caret, what was expected).
    pub fn render_diagnostics(&self, color: bool) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render(&self.ruleset.source, color))
            .collect()
    }

    /// [`Loaded::render_diagnostics`] without those a report of findings holds as findings
    /// (FW101/FW102, from the chain graph): the main command prints them once, with the others.
    pub fn render_load_notes(&self, color: bool) -> String {
        self.diagnostics
            .iter()
            .filter(|d| !reported_as_finding(d))
            .map(|d| d.render(&self.ruleset.source, color))
            .collect()
    }
}

/// Whether a load diagnostic is also a finding of the static checks (FW101/FW102, from the
/// chain graph: `analysis::structural`).
pub(crate) fn reported_as_finding(d: &Diagnostic) -> bool {
    d.code.starts_with("FW")
}

/// Load and check a ruleset file.
pub fn load_file(path: &Path, opts: ParseOptions) -> std::io::Result<Loaded> {
    Ok(Loaded::from_parsed(parse_file(path, opts)?))
}

/// Load and check a ruleset given as text.
pub fn load_str(name: &str, text: &str, opts: ParseOptions) -> Loaded {
    Loaded::from_parsed(parse_str(name, text, opts))
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainSummary {
    pub name: String,
    pub builtin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<&'static str>,
    pub rules: usize,
    /// Built-in chains (hooks) this chain is reached from.
    pub(crate) reached_from: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableSummary {
    pub table: &'static str,
    pub chains: Vec<ChainSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LintSummary {
    pub file: String,
    pub format: &'static str,
    pub tables: usize,
    pub chains: usize,
    pub rules: usize,
    pub errors: usize,
    pub warnings: usize,
}

/// Everything `lint` reports.
#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    pub summary: LintSummary,
    pub tables: Vec<TableSummary>,
    pub diagnostics: Vec<LocatedDiagnostic>,
}

pub fn report(l: &Loaded) -> LintReport {
    let rs = &l.ruleset;
    let tables: Vec<TableSummary> = rs
        .tables
        .iter()
        .map(|t| {
            let g = l.graph.table(t.kind);
            TableSummary {
                table: t.kind.name(),
                chains: t
                    .chains
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ChainSummary {
                        name: c.name.clone(),
                        builtin: c.hook.is_some(),
                        policy: c.policy.map(|p| p.name()),
                        rules: c.rules.len(),
                        reached_from: g
                            .map(|g| g.reach[i].iter().map(|h| h.chain_name()).collect())
                            .unwrap_or_default(),
                    })
                    .collect(),
            }
        })
        .collect();
    LintReport {
        summary: LintSummary {
            file: rs.source.name.clone(),
            format: match l.format {
                InputFormat::Script => "script",
                _ => "restore",
            },
            tables: rs.tables.len(),
            chains: rs.tables.iter().map(|t| t.chains.len()).sum(),
            rules: rs.rule_count(),
            errors: l.error_count(),
            warnings: l.warning_count(),
        },
        tables,
        diagnostics: l.diagnostics.iter().map(|d| d.locate(&rs.source)).collect(),
    }
}
