//! Parser for `iptables-save`/`iptables-restore` input and for shell scripts of `iptables`
//! commands (as guides print them), into a [`Ruleset`].
//!
//! It follows iptables' own reading: libxtables tokenizing, getopt_long option resolution (exact
//! names, unambiguous prefixes, `--opt=value`, the newest loaded module first), implicit protocol
//! matches (`-p tcp --dport 22`), address lists expanding into several rules, and the restore
//! commands (`-A -I -D -R -N -P -F -X -Z -E`) applied in order. All problems of a file are
//! collected; a line stops at its first error.
//!
//! Layout: this file holds the entry points and format detection; `state` the tables being
//! built and the final chain order; `restore` the iptables-restore file format; `script` shell
//! scripts of iptables commands; `command` one command line (each command one function
//! returning a `Result`); `rule` one rule specification; `suggest` "did you mean" for chains.

use std::collections::HashMap;
use std::sync::Arc;

use crate::diag::{Diagnostic, Severity, SourceFile, Span};
use crate::ext::ipset::IpSets;
use crate::ext::registry;
use crate::ext::{Arg, Backend, Match, OptArg, OptSpec, OptVal, ParseCtx, Target};
use crate::ruleset::lexer::{tokenize_restore, tokenize_shell, Token};
use crate::ruleset::model::*;
use crate::ruleset::printer;

mod command;
mod restore;
mod rule;
mod script;
mod state;
mod suggest;

use command::*;
use restore::*;
use rule::*;
use script::*;
pub use state::AppliedStep;
use state::*;
pub(crate) use suggest::suggest;
use suggest::*;

/// Diagnostic codes (the one table is `crate::diag::codes`).
pub use crate::diag::codes as code;

/// Input syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFormat {
    /// Decide from the content: `*table` lines mean restore format, `iptables …` lines a script.
    #[default]
    Auto,
    Restore,
    Script,
}

#[derive(Debug, Clone)]
pub struct ParseOptions {
    pub family: Family,
    pub format: InputFormat,
    pub backend: Backend,
    /// The host's ipsets (`--ipset FILE`): a rule naming a set they do not hold is refused,
    /// as `iptables-restore` on that host refuses it. `None`: the sets are unknown, any name
    /// loads.
    pub ipsets: Option<Arc<IpSets>>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            family: Family::V4,
            format: InputFormat::Auto,
            backend: Backend::Nft,
            ipsets: None,
        }
    }
}

/// A parsed file: the ruleset (usable when there are no errors) and every diagnostic.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub ruleset: Ruleset,
    pub diagnostics: Vec<Diagnostic>,
    /// The format that was actually read.
    pub format: InputFormat,
}

impl Parsed {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error())
    }
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }
}

/// Parse text. `name` is shown in diagnostics.
pub fn parse_str(name: &str, text: &str, opts: ParseOptions) -> Parsed {
    let source = Arc::new(SourceFile::new(name, text));
    parse_source(source, opts)
}

/// Read and parse a file.
pub fn parse_file(path: &std::path::Path, opts: ParseOptions) -> std::io::Result<Parsed> {
    let bytes = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(parse_str(&path.display().to_string(), &text, opts))
}

pub(crate) fn parse_source(source: Arc<SourceFile>, opts: ParseOptions) -> Parsed {
    // A whole file is the commands of one region applied to nothing.
    let region = 0..source.text.len();
    apply(None, source, region, opts, false, None)
}

/// Apply the commands in `region` of `source` (a script of iptables commands, or restore
/// input) on top of `base`'s tables, as running them on a host whose ruleset is `base` would.
/// `base`'s spans must point into `source` (build `source` from its text and the commands).
/// With `noflush`, restore input is applied as `iptables-restore --noflush` does. `on_step` is
/// called after each command (script) or at each COMMIT (restore) with the ruleset then.
pub fn apply(
    base: Option<&Ruleset>,
    source: Arc<SourceFile>,
    region: std::ops::Range<usize>,
    opts: ParseOptions,
    noflush: bool,
    on_step: Option<&mut dyn FnMut(AppliedStep<'_>)>,
) -> Parsed {
    apply_refusing(base, source, region, opts, noflush, on_step, &[])
}

/// [`apply`], with the script's commands at the spans of `refused` refused as the kernel
/// refuses them when it commits their table (a jump loop its hooks reach, jumps nested too
/// deep: the chain graph's checks, which need the whole table): each is reported with its
/// diagnostic and changes nothing, and the script goes on, as a shell script does.
pub fn apply_refusing(
    base: Option<&Ruleset>,
    source: Arc<SourceFile>,
    region: std::ops::Range<usize>,
    opts: ParseOptions,
    noflush: bool,
    on_step: Option<&mut dyn FnMut(AppliedStep<'_>)>,
    refused: &[Diagnostic],
) -> Parsed {
    let format = match opts.format {
        InputFormat::Auto => detect_format(&source.text[region.clone()]),
        f => f,
    };
    let mut st = State::new(source.clone(), &opts);
    st.noflush = noflush;
    st.on_step = on_step;
    st.refused = refused.to_vec();
    if let Some(b) = base {
        st.tables = b
            .tables
            .iter()
            .map(|t| {
                let mut tb = TableB {
                    kind: t.kind,
                    span: t.span,
                    chains: t.chains.clone(),
                    index: Default::default(),
                };
                tb.reindex();
                tb
            })
            .collect();
    }
    crlf_check(&mut st, region.clone());
    match format {
        InputFormat::Script => parse_script(&mut st, region),
        _ => parse_restore(&mut st, region, true),
    }
    let tables = finalize(&mut st);
    let mut diags = st.diags;
    diags.sort_by_key(|d| (d.span.start, d.severity == Severity::Warning));
    Parsed {
        ruleset: Ruleset {
            source,
            family: opts.family,
            backend: opts.backend,
            tables,
        },
        diagnostics: diags,
        format,
    }
}

/// Windows line endings: iptables-restore splits words at spaces, tabs and newlines only, so the
/// carriage return ends up in the last word of every line (`*filter\r` is an unknown table,
/// `ACCEPT\r` an unknown target) and the whole file is refused; a shell running a script reads
/// it the same way. One error, at the first one (fwcheck reads the rest as if the lines ended
/// in `\n`, so that other mistakes are still reported).
fn crlf_check(st: &mut State, region: std::ops::Range<usize>) {
    let text = &st.source.text[region.clone()];
    let Some(at) = text.find("\r\n") else {
        return;
    };
    let lines = text.matches("\r\n").count();
    let at = region.start + at;
    st.diags.push(
        Diagnostic::error(
            code::SYNTAX,
            Span::new(at, at + 1),
            format!(
                "line ends in a carriage return (Windows line endings, {lines} line{} in all): \
                 iptables-restore refuses the file",
                if lines == 1 { "" } else { "s" }
            ),
        )
        .expected("lines ending in a newline only")
        .note("convert the file with `dos2unix FILE` or `sed -i 's/\\r$//' FILE`"),
    );
}

/// Restore files have `*table` lines; scripts have `iptables`/`ip6tables` commands.
pub(crate) fn detect_format(text: &str) -> InputFormat {
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("#!") {
            return InputFormat::Script;
        }
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if l.starts_with('*')
            || l.starts_with(':')
            || l == "COMMIT"
            || l.starts_with("-A ")
            || l.starts_with('[')
        {
            return InputFormat::Restore;
        }
        let first = l.split_whitespace().find(|w| *w != "sudo").unwrap_or("");
        let prog = first.rsplit('/').next().unwrap_or(first);
        // `iptables ...`, `IPT=/sbin/iptables`, `IPT="sudo iptables"`, or a line starting
        // with a shell variable or keyword (`$IPT -A ...`, `for ...`): a script.
        let prog = prog.trim_matches(|c| c == '"' || c == '\'');
        if is_iptables_program(prog).is_some()
            || first.starts_with('$')
            || assignment(first).is_some()
        {
            return InputFormat::Script;
        }
    }
    InputFormat::Restore
}

fn is_iptables_program(p: &str) -> Option<Family> {
    match p {
        "iptables" | "iptables-nft" | "iptables-legacy" => Some(Family::V4),
        "ip6tables" | "ip6tables-nft" | "ip6tables-legacy" => Some(Family::V6),
        _ => None,
    }
}

/// Parse one rule body (what follows `-A CHAIN`) in the context of `table` of `rs`, so that jumps
/// resolve to its chains. Used to try fixes on a copy of a ruleset.
pub(crate) fn parse_rule_in(
    rs: &Ruleset,
    table: TableKind,
    chain: &str,
    body: &str,
    backend: Backend,
) -> Result<Rule, Vec<Diagnostic>> {
    let mut doc = format!("*{}\n", table.name());
    if let Some(t) = rs.table(table) {
        for c in &t.chains {
            let _ = std::fmt::Write::write_fmt(
                &mut doc,
                format_args!(
                    ":{} {} [0:0]\n",
                    c.name,
                    c.policy.map(|p| p.name()).unwrap_or("-")
                ),
            );
        }
    }
    let _ = std::fmt::Write::write_fmt(&mut doc, format_args!("-A {chain} {body}\nCOMMIT\n"));
    let p = parse_str(
        "fix",
        &doc,
        ParseOptions {
            family: rs.family,
            format: InputFormat::Restore,
            backend,
            ipsets: None,
        },
    );
    if p.has_errors() {
        return Err(p.diagnostics.into_iter().filter(|d| d.is_error()).collect());
    }
    p.ruleset
        .table(table)
        .and_then(|t| t.chain(chain))
        .and_then(|c| c.rules.first().cloned())
        .ok_or_else(Vec::new)
}
