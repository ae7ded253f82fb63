//! Parser for `iptables-save`/`iptables-restore` input and for shell scripts of `iptables`
//! commands (as guides print them), into a [`Ruleset`].
//!
//! It follows iptables' own reading: libxtables tokenizing, getopt_long option resolution (exact
//! names, unambiguous prefixes, `--opt=value`, the newest loaded module first), implicit protocol
//! matches (`-p tcp --dport 22`), address lists expanding into several rules, and the restore
//! commands (`-A -I -D -R -N -P -F -X -Z -E`) applied in order. All problems of a file are
//! collected; a line stops at its first error.

use std::collections::HashMap;
use std::sync::Arc;

use crate::diag::{Diagnostic, Severity, SourceFile, Span};
use crate::ext::registry;
use crate::ext::{Arg, Backend, Match, OptArg, OptSpec, ParseCtx, Target};
use crate::ruleset::lexer::{tokenize_restore, tokenize_shell, Token};
use crate::ruleset::model::*;
use crate::ruleset::printer;

/// Diagnostic codes of the parser (see `crate::codes`).
pub mod code {
    pub const SYNTAX: &str = "E100";
    pub const UNKNOWN_CHAIN: &str = "E101";
    pub const POLICY: &str = "E102";
    pub const DUP_CHAIN: &str = "E103";
    pub const VALUE: &str = "E104";
    pub const NO_COMMIT: &str = "E105";
    pub const NO_TABLE: &str = "E106";
    pub const NO_MODULE: &str = "E107";
    pub const MISSING_VALUE: &str = "E108";
    pub const CONTEXT: &str = "E109";
    pub const LOOP: &str = "E110";
    pub const COMMAND: &str = "E111";
    pub const UNKNOWN_EXT: &str = "W002";
    pub const LEGACY: &str = "W003";
    pub const TABLE_REPLACED: &str = "W004";
    pub const IGNORED: &str = "W005";
    pub const WEIRD_IFACE: &str = "W008";
}

/// Input syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFormat {
    /// Decide from the content: `*table` lines mean restore format, `iptables …` lines a script.
    #[default]
    Auto,
    Restore,
    Script,
}

#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    pub family: Family,
    pub format: InputFormat,
    pub backend: Backend,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            family: Family::V4,
            format: InputFormat::Auto,
            backend: Backend::Nft,
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

pub fn parse_source(source: Arc<SourceFile>, opts: ParseOptions) -> Parsed {
    let format = match opts.format {
        InputFormat::Auto => detect_format(&source.text),
        f => f,
    };
    let region = 0..source.text.len();
    let mut st = State::new(source.clone(), opts);
    match format {
        InputFormat::Script => parse_script(&mut st, region),
        _ => parse_restore(&mut st, region),
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

/// Restore files have `*table` lines; scripts have `iptables`/`ip6tables` commands.
pub fn detect_format(text: &str) -> InputFormat {
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

struct State<'s> {
    backend: Backend,
    family: Family,
    tables: Vec<TableB>,
    diags: Vec<Diagnostic>,
    source: Arc<SourceFile>,
    /// `iptables-restore --noflush`: a `*table` line keeps the table's chains and rules (a
    /// declared user chain that exists is flushed, a built-in chain gets the declared policy).
    noflush: bool,
    /// Tables opened by a `*table` line of this input (a second block of one replaces the first).
    opened: Vec<TableKind>,
    /// Called after each command of a script and at each COMMIT of restore input.
    on_step: Option<&'s mut dyn FnMut(AppliedStep<'_>)>,
}

impl<'s> State<'s> {
    fn new(source: Arc<SourceFile>, opts: ParseOptions) -> State<'s> {
        State {
            family: opts.family,
            backend: opts.backend,
            tables: Vec::new(),
            diags: Vec::new(),
            source,
            noflush: false,
            opened: Vec::new(),
            on_step: None,
        }
    }

    /// Tell the step observer, if any, that the command at `span` was applied.
    fn step(&mut self, span: Span, changes: bool, errors_before: usize) {
        let errors = self.diags.iter().filter(|d| d.is_error()).count() > errors_before;
        if self.on_step.is_none() {
            return;
        }
        let mut scratch = Vec::new();
        let tables = finalize_tables(self.tables.clone(), &mut scratch);
        let ruleset = Ruleset {
            source: self.source.clone(),
            family: self.family,
            backend: self.backend,
            tables,
        };
        if let Some(f) = self.on_step.as_mut() {
            f(AppliedStep {
                span,
                changes,
                errors,
                ruleset: &ruleset,
            });
        }
    }

    fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }
}

/// What [`apply`] reports after each step: a command of a script (`iptables -P INPUT DROP`), or
/// a table block of restore input at its COMMIT (iptables-restore applies a block at once).
#[derive(Debug)]
pub struct AppliedStep<'a> {
    /// The command (script) or the block from its `*table` line to its COMMIT (restore).
    pub span: Span,
    /// False for read-only commands (`-L`, `-S`, `-C`): the ruleset is the previous step's.
    pub changes: bool,
    /// The step had an error: it was not (or only partly) applied.
    pub errors: bool,
    /// The ruleset after the step.
    pub ruleset: &'a Ruleset,
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
    let format = match opts.format {
        InputFormat::Auto => detect_format(&source.text[region.clone()]),
        f => f,
    };
    let mut st = State::new(source.clone(), opts);
    st.noflush = noflush;
    st.on_step = on_step;
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
    match format {
        InputFormat::Script => parse_script(&mut st, region),
        _ => parse_restore(&mut st, region),
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

#[derive(Debug, Clone)]
struct TableB {
    kind: TableKind,
    span: Span,
    chains: Vec<Chain>,
    /// Chain name → index in `chains` (rulesets such as kube-proxy's have thousands of chains).
    index: foldhash::HashMap<String, usize>,
}

impl TableB {
    fn new(kind: TableKind, span: Span) -> TableB {
        let chains = kind
            .builtin_hooks()
            .iter()
            .map(|h| Chain {
                name: h.chain_name().to_string(),
                hook: Some(*h),
                policy: Some(Policy::Accept),
                counters: Counters::default(),
                rules: Vec::new(),
                span: Span::default(),
                declared: false,
            })
            .collect();
        let mut t = TableB {
            kind,
            span,
            chains,
            index: Default::default(),
        };
        t.reindex();
        t
    }
    /// Rebuild the name index after chains were removed or renamed.
    fn reindex(&mut self) {
        self.index = self
            .chains
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
    }
    fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
    fn push_chain(&mut self, c: Chain) {
        self.index.insert(c.name.clone(), self.chains.len());
        self.chains.push(c);
    }
    fn chain(&self, name: &str) -> Option<&Chain> {
        self.position(name).map(|i| &self.chains[i])
    }
    fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.position(name).map(|i| &mut self.chains[i])
    }
    fn has_chain(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }
}

// ---------------------------------------------------------------------------------------------
// restore format

fn parse_restore(st: &mut State, region: std::ops::Range<usize>) {
    let source = st.source.clone();
    let text = &source.text[region.clone()];
    let mut errors_before = st.error_count();
    // Index of the open table in `st.tables` (`None` for an unknown table, whose lines are
    // skipped), and the span of its `*table` line.
    let mut open: Option<(Option<usize>, Span)> = None;
    // Chain names declared anywhere in each table block, to explain use-before-declare.
    let mut offset = region.start;
    for raw_line in text.split('\n') {
        let base = offset;
        offset += raw_line.len() + 1;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        let trimmed = line.trim_start();
        let lead = line.len() - trimmed.len();
        let trimmed = trimmed.trim_end();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let line_span = Span::new(base + lead, base + lead + trimmed.len());
        if let Some(name) = trimmed.strip_prefix('*') {
            if let Some((_, s)) = open {
                st.diags.push(
                    Diagnostic::error(code::NO_COMMIT, s, "table is never committed")
                        .expected("COMMIT before the next *table line")
                        .note("iptables-restore applies a table only at its COMMIT line"),
                );
            }
            let name_span = Span::new(line_span.start as usize + 1, line_span.end as usize);
            let name = name.trim();
            errors_before = st.error_count();
            match TableKind::from_name(name) {
                Some(kind) => {
                    let existing = st.tables.iter().position(|t| t.kind == kind);
                    let again = st.opened.contains(&kind);
                    st.opened.push(kind);
                    if let (Some(i), true) = (existing, st.noflush) {
                        // --noflush: the table stays; its chains may be declared again.
                        st.tables[i]
                            .chains
                            .iter_mut()
                            .for_each(|c| c.declared = false);
                        st.tables[i].span = line_span;
                        open = Some((Some(i), line_span));
                    } else if let (Some(i), false) = (existing, again) {
                        // A table of the ruleset this input is applied to: flushed.
                        st.tables[i] = TableB::new(kind, line_span);
                        open = Some((Some(i), line_span));
                    } else if let Some(i) = existing {
                        st.diags.push(
                            Diagnostic::warning(
                                code::TABLE_REPLACED,
                                line_span,
                                format!("second *{name} block replaces the first"),
                            )
                            .note("iptables-restore flushes a table at each of its *table lines"),
                        );
                        st.tables[i] = TableB::new(kind, line_span);
                        open = Some((Some(i), line_span));
                    } else {
                        st.tables.push(TableB::new(kind, line_span));
                        open = Some((Some(st.tables.len() - 1), line_span));
                    }
                }
                None => {
                    st.diags.push(
                        Diagnostic::error(
                            code::SYNTAX,
                            name_span,
                            format!("unknown table `{name}`"),
                        )
                        .expected("one of filter, nat, mangle, raw, security"),
                    );
                    open = Some((None, line_span));
                }
            }
            continue;
        }
        if trimmed == "COMMIT" {
            match open {
                None => st.diags.push(
                    Diagnostic::error(code::NO_TABLE, line_span, "COMMIT outside a table")
                        .expected("a *table line before COMMIT"),
                ),
                Some((_, s)) => st.step(s.to(line_span), true, errors_before),
            }
            open = None;
            continue;
        }
        let ti = match open {
            Some((Some(ti), _)) => ti,
            Some((None, _)) => continue,
            None => {
                st.diags.push(
                    Diagnostic::error(code::NO_TABLE, line_span, "line outside a table")
                        .expected("a *filter (or *nat, *mangle, *raw, *security) line first"),
                );
                continue;
            }
        };
        if trimmed.starts_with(':') {
            parse_chain_decl(st, ti, trimmed, line_span);
            continue;
        }
        let mut toks = tokenize_restore(trimmed, line_span.start as usize, &mut st.diags);
        if toks.is_empty() {
            continue;
        }
        // `[pkts:bytes]` prefix.
        let mut counters = None;
        if toks[0].text.starts_with('[') {
            match parse_counters(&toks[0].text) {
                Some(c) => counters = Some(c),
                None => {
                    st.diags.push(
                        Diagnostic::error(
                            code::SYNTAX,
                            toks[0].span,
                            format!("invalid counters `{}`", toks[0].text),
                        )
                        .expected("[PACKETS:BYTES]"),
                    );
                    continue;
                }
            }
            toks.remove(0);
        }
        if toks.is_empty() {
            st.diags.push(
                Diagnostic::error(code::SYNTAX, line_span.after(), "counters without a rule")
                    .expected("a command such as -A CHAIN after the counters"),
            );
            continue;
        }
        if !toks[0].text.starts_with('-') && toks[0].text != "!" {
            st.diags.push(
                Diagnostic::error(code::SYNTAX, toks[0].span, format!("unexpected `{}`", toks[0].text))
                    .expected("*TABLE, :CHAIN POLICY [p:b], a command such as -A CHAIN …, COMMIT, or a # comment"),
            );
            continue;
        }
        let family = st.family;
        run_command(st, ti, &toks, line_span, counters, family, false);
    }
    if let Some((_, s)) = open {
        st.diags.push(
            Diagnostic::error(code::NO_COMMIT, s, "table is never committed")
                .expected("a COMMIT line at the end of the table")
                .note("iptables-restore applies a table only at its COMMIT line"),
        );
    }
}

fn parse_counters(t: &str) -> Option<Counters> {
    let inner = t.strip_prefix('[')?.strip_suffix(']')?;
    let (p, b) = inner.split_once(':')?;
    if p.is_empty()
        || b.is_empty()
        || !p.bytes().all(|c| c.is_ascii_digit())
        || !b.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some(Counters {
        packets: p.parse().ok()?,
        bytes: b.parse().ok()?,
    })
}

fn parse_chain_decl(st: &mut State, ti: usize, line: &str, span: Span) {
    let mut d = Vec::new();
    let toks = tokenize_restore(&line[1..], span.start as usize + 1, &mut d);
    st.diags.extend(d);
    let Some(name_t) = toks.first() else {
        st.diags.push(
            Diagnostic::error(code::SYNTAX, span, "chain declaration without a name")
                .expected(":NAME POLICY [PACKETS:BYTES]"),
        );
        return;
    };
    let name = name_t.text.to_string();
    if let Err(e) = check_chain_name(&name, name_t.span) {
        st.diags.push(e);
        return;
    }
    let Some(pol_t) = toks.get(1) else {
        st.diags.push(
            Diagnostic::error(
                code::POLICY,
                name_t.span.after(),
                format!("chain `{name}` has no policy"),
            )
            .expected("ACCEPT or DROP for a built-in chain, - for a user chain"),
        );
        return;
    };
    let counters = match toks.get(2) {
        Some(t) => match parse_counters(&t.text) {
            Some(c) => c,
            None => {
                st.diags.push(
                    Diagnostic::error(
                        code::SYNTAX,
                        t.span,
                        format!("invalid counters `{}`", t.text),
                    )
                    .expected("[PACKETS:BYTES]"),
                );
                return;
            }
        },
        None => Counters::default(),
    };
    if let Some(t) = toks.get(3) {
        st.diags.push(
            Diagnostic::error(code::SYNTAX, t.span, format!("unexpected `{}`", t.text))
                .expected("end of line after the counters"),
        );
        return;
    }
    let table = &mut st.tables[ti];
    let kind = table.kind;
    let builtin = kind.builtin_hooks().iter().any(|h| h.chain_name() == name);
    if let Some(existing) = table.chain_mut(&name) {
        if existing.declared {
            let prev = existing.span;
            let prev_line = st.source.line_of(prev.start as usize);
            st.diags.push(
                Diagnostic::error(
                    code::DUP_CHAIN,
                    name_t.span,
                    format!("chain `{name}` is declared twice"),
                )
                .expected("each chain declared once per table")
                .note(format!("first declared on line {prev_line}")),
            );
            return;
        }
    }
    if builtin {
        let policy = match pol_t.str() {
            "ACCEPT" => Policy::Accept,
            "DROP" => Policy::Drop,
            other => {
                st.diags.push(
                    Diagnostic::error(
                        code::POLICY,
                        pol_t.span,
                        format!("invalid policy `{other}` for built-in chain {name}"),
                    )
                    .expected("ACCEPT or DROP (a built-in chain's policy can only accept or drop)"),
                );
                return;
            }
        };
        let c = table.chain_mut(&name).expect("built-in chain exists");
        c.policy = Some(policy);
        c.counters = counters;
        c.span = span;
        c.declared = true;
    } else {
        if pol_t.text != "-" {
            st.diags.push(
                Diagnostic::error(
                    code::POLICY,
                    pol_t.span,
                    format!("user chain `{name}` cannot have a policy"),
                )
                .expected(format!(
                    "`-` (only the built-in chains of table {kind} have policies)"
                )),
            );
            return;
        }
        if let Some(c) = table.chain_mut(&name) {
            // iptables-restore --noflush flushes a declared user chain that exists.
            c.rules.clear();
            c.counters = counters;
            c.span = span;
            c.declared = true;
            return;
        }
        table.push_chain(Chain {
            name,
            hook: None,
            policy: None,
            counters,
            rules: Vec::new(),
            span,
            declared: true,
        });
    }
}

/// `-N`/`-E` naming a chain that already exists.
fn duplicate_chain(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        code::DUP_CHAIN,
        span,
        format!("chain `{name}` already exists"),
    )
    .expected("a new chain name")
}

fn check_chain_name(name: &str, span: Span) -> Result<(), Diagnostic> {
    if name.len() >= 29 {
        return Err(Diagnostic::error(
            code::VALUE,
            span,
            format!("chain name `{name}` is too long"),
        )
        .expected("a chain name of at most 28 characters"));
    }
    if name.starts_with('-') || name.starts_with('!') || name.is_empty() {
        return Err(
            Diagnostic::error(code::VALUE, span, format!("invalid chain name `{name}`"))
                .expected("a chain name not starting with - or !"),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// scripts

/// `NAME=value` (a shell assignment), split.
fn assignment(w: &str) -> Option<(&str, &str)> {
    let (name, value) = w.split_once('=')?;
    let mut c = name.chars();
    let first = c.next()?;
    (first.is_ascii_alphabetic() || first == '_')
        .then_some(())
        .filter(|_| c.all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|_| (name, value))
}

/// Expands `$NAME` and `${NAME}` in `w` from `vars`. `Err` names the first expansion that
/// cannot be done: an unset variable, a positional or special parameter, `$(…)`, `` `…` ``.
fn expand(w: &str, vars: &HashMap<String, String>) -> Result<String, String> {
    if w.contains('`') {
        return Err("`…` (command substitution)".into());
    }
    if !w.contains('$') {
        return Ok(w.to_string());
    }
    let mut out = String::with_capacity(w.len());
    let mut rest = w;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, used) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(j) => (&inner[..j], j + 2),
                None => return Err(format!("${after}")),
            }
        } else if after.starts_with('(') {
            return Err("$(…) (command substitution)".into());
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..n], n)
        };
        if name.is_empty() {
            // `$1`-style names are ASCII; anything else (`$?`, `$é`, a lone `$`) is shown as is.
            let c = after.chars().next().map(String::from).unwrap_or_default();
            return Err(format!("${c}"));
        }
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("${name}"));
        }
        match vars.get(name) {
            Some(v) => out.push_str(v),
            None => return Err(format!("${name}")),
        }
        rest = &after[used..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Words that open shell control flow (a loop, a conditional): the commands up to the matching
/// close run repeatedly or conditionally, which fwcheck cannot follow.
const SHELL_OPEN: &[&str] = &["for", "while", "until", "if", "case", "select"];
const SHELL_CLOSE: &[&str] = &["done", "fi", "esac"];
/// Words that continue a construct and may start a line before a command (`do iptables ...`).
const SHELL_CONTINUE: &[&str] = &["do", "then", "else", "elif"];

fn parse_script(st: &mut State, region: std::ops::Range<usize>) {
    let source = st.source.clone();
    let shift = region.start as u32;
    let first_diag = st.diags.len();
    let mut cmds = tokenize_shell(&source.text[region], &mut st.diags);
    if shift > 0 {
        let moved = |s: &mut Span| {
            s.start += shift;
            s.end += shift;
        };
        for c in &mut cmds {
            moved(&mut c.span);
            c.words.iter_mut().for_each(|w| moved(&mut w.span));
        }
        st.diags[first_diag..]
            .iter_mut()
            .for_each(|d| moved(&mut d.span));
    }
    let mut ignored_programs: HashMap<String, ()> = HashMap::new();
    // Shell variables set by simple assignments (`IPT=/sbin/iptables`, `ADMIN=198.51.100.0/24`),
    // expanded in later commands.
    let mut vars: HashMap<String, String> = HashMap::new();
    // Nesting of loops and conditionals around the current command.
    let mut depth = 0usize;
    for cmd in cmds {
        // Assignments alone on a command (also after export/readonly/local/declare).
        let body = match cmd.words.first().map(|w| w.text.as_ref()) {
            Some("export" | "readonly" | "local" | "declare") => &cmd.words[1..],
            _ => &cmd.words[..],
        };
        if !body.is_empty() && body.iter().all(|w| assignment(&w.text).is_some()) {
            for w in body {
                let (name, value) = assignment(&w.text).expect("checked");
                let value = expand(value, &vars).unwrap_or_else(|_| value.to_string());
                vars.insert(name.to_string(), value);
            }
            continue;
        }
        // Expand variables; an unquoted expansion is split into words, as the shell does.
        let mut expanded: Vec<Token<'static>> = Vec::with_capacity(cmd.words.len());
        let mut unexpandable: Option<(String, Span)> = None;
        for w in &cmd.words {
            match expand(&w.text, &vars) {
                Ok(x) if x == w.text => expanded.push(w.clone()),
                Ok(x) if !w.quoted => expanded.extend(x.split_whitespace().map(|part| Token {
                    text: std::borrow::Cow::Owned(part.to_string()),
                    span: w.span,
                    quoted: false,
                })),
                Ok(x) => expanded.push(Token {
                    text: std::borrow::Cow::Owned(x),
                    span: w.span,
                    quoted: true,
                }),
                Err(what) => {
                    unexpandable.get_or_insert((what, w.span));
                    expanded.push(w.clone());
                }
            }
        }
        let mentions_iptables = expanded.iter().any(|w| {
            let last = w.text.rsplit('/').next().unwrap_or(&w.text);
            is_iptables_program(last.trim_start_matches("$(")).is_some()
        });
        let first = expanded
            .first()
            .map(|w| w.text.to_string())
            .unwrap_or_default();
        if SHELL_CLOSE.contains(&first.as_str()) {
            depth = depth.saturating_sub(1);
        }
        let opens = SHELL_OPEN.contains(&first.as_str());
        if opens {
            depth += 1;
        }
        if SHELL_CONTINUE.contains(&first.as_str()) {
            expanded.remove(0);
        }
        if depth > 0 || opens || SHELL_CLOSE.contains(&first.as_str()) {
            if mentions_iptables {
                st.diags.push(
                    Diagnostic::warning(
                        code::IGNORED,
                        cmd.span,
                        "iptables command inside a shell loop or conditional: not applied",
                    )
                    .note(
                        "fwcheck does not run shell loops or conditionals; write the commands \
                         out, or give iptables-save output",
                    ),
                );
            }
            continue;
        }
        if let Some((what, span)) = unexpandable {
            if mentions_iptables {
                st.diags.push(
                    Diagnostic::warning(
                        code::IGNORED,
                        span,
                        format!("cannot expand {what}: this iptables command is not applied"),
                    )
                    .note("only variables set earlier in the script by NAME=value are expanded"),
                );
                continue;
            }
        }
        let mut words = expanded.as_slice();
        // Skip `sudo` and its simple flags, and `VAR=value` assignments.
        while let Some(w) = words.first() {
            if w.text == "sudo" || w.text.contains('=') && !w.text.starts_with('-') {
                words = &words[1..];
                while words.first().is_some_and(|w| w.text.starts_with('-')) {
                    words = &words[1..];
                }
            } else {
                break;
            }
        }
        let Some(prog) = words.first() else { continue };
        let pname = prog
            .text
            .rsplit('/')
            .next()
            .unwrap_or(&prog.text)
            .to_string();
        let Some(fam) = is_iptables_program(&pname) else {
            if !ignored_programs.contains_key(&pname) {
                ignored_programs.insert(pname.clone(), ());
            }
            continue;
        };
        if fam != st.family {
            st.diags.push(
                Diagnostic::warning(code::IGNORED, prog.span, format!("{pname} command ignored"))
                    .note(format!(
                        "this run reads {} rules",
                        if st.family == Family::V4 {
                            "IPv4 (iptables)"
                        } else {
                            "IPv6 (ip6tables)"
                        }
                    )),
            );
            continue;
        }
        let args = &words[1..];
        // -t TABLE anywhere in the command.
        let mut table = TableKind::Filter;
        let mut rest: Vec<Token> = Vec::with_capacity(args.len());
        let mut i = 0;
        let mut bad = false;
        while i < args.len() {
            let t = &args[i];
            let (is_t, attached) = match t.str() {
                "-t" | "--table" => (true, None),
                s if s.starts_with("--table=") => (true, Some(s["--table=".len()..].to_string())),
                s if s.starts_with("-t") && s.len() > 2 && !s.starts_with("--") => {
                    (true, Some(s[2..].to_string()))
                }
                _ => (false, None),
            };
            if is_t && !t.quoted {
                let (val, span) = match attached {
                    Some(v) => (v, t.span),
                    None => match args.get(i + 1) {
                        Some(v) => {
                            i += 1;
                            (v.text.to_string(), v.span)
                        }
                        None => {
                            st.diags.push(
                                Diagnostic::error(
                                    code::MISSING_VALUE,
                                    t.span.after(),
                                    "option -t requires a table name",
                                )
                                .expected("filter, nat, mangle, raw or security"),
                            );
                            bad = true;
                            break;
                        }
                    },
                };
                match TableKind::from_name(&val) {
                    Some(k) => table = k,
                    None => {
                        st.diags.push(
                            Diagnostic::error(code::VALUE, span, format!("unknown table `{val}`"))
                                .expected("filter, nat, mangle, raw or security"),
                        );
                        bad = true;
                        break;
                    }
                }
            } else {
                rest.push(t.clone());
            }
            i += 1;
        }
        if bad {
            continue;
        }
        let ti = match st.tables.iter().position(|t| t.kind == table) {
            Some(i) => i,
            None => {
                st.tables.push(TableB::new(table, cmd.span));
                st.tables.len() - 1
            }
        };
        let family = st.family;
        let errors_before = st.error_count();
        let changes = !rest
            .iter()
            .any(|t| command_of(t) == Some(CmdKind::ReadOnly));
        run_command(st, ti, &rest, cmd.span, None, family, true);
        st.step(cmd.span, changes, errors_before);
    }
}

// ---------------------------------------------------------------------------------------------
// commands

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmdKind {
    Append,
    Insert,
    Delete,
    Replace,
    NewChain,
    Policy,
    Flush,
    DeleteChain,
    Zero,
    Rename,
    /// Read-only commands of scripts (-L, -S, -C, -h, -V).
    ReadOnly,
}

fn command_of(t: &Token) -> Option<CmdKind> {
    if t.quoted {
        return None;
    }
    let s = t.str();
    if !s.starts_with('-') {
        return None;
    }
    let long = |name: &str| s.len() > 3 && s.starts_with("--") && name.starts_with(&s[2..]);
    Some(match s {
        "-A" => CmdKind::Append,
        "-I" => CmdKind::Insert,
        "-D" => CmdKind::Delete,
        "-R" => CmdKind::Replace,
        "-N" => CmdKind::NewChain,
        "-P" => CmdKind::Policy,
        "-F" => CmdKind::Flush,
        "-X" => CmdKind::DeleteChain,
        "-Z" => CmdKind::Zero,
        "-E" => CmdKind::Rename,
        "-L" | "-S" | "-C" | "-h" | "-V" => CmdKind::ReadOnly,
        _ if long("append") => CmdKind::Append,
        _ if long("insert") => CmdKind::Insert,
        _ if s == "--delete" => CmdKind::Delete,
        _ if long("delete-chain") && s.len() > "--delete".len() => CmdKind::DeleteChain,
        _ if long("replace") => CmdKind::Replace,
        _ if long("new-chain") => CmdKind::NewChain,
        _ if long("policy") => CmdKind::Policy,
        _ if long("flush") => CmdKind::Flush,
        _ if long("zero") => CmdKind::Zero,
        _ if long("rename-chain") => CmdKind::Rename,
        _ if long("list")
            || long("list-rules")
            || long("check")
            || long("help")
            || long("version") =>
        {
            CmdKind::ReadOnly
        }
        _ => return None,
    })
}

fn run_command<'t>(
    st: &mut State,
    ti: usize,
    toks: &'t [Token<'t>],
    line_span: Span,
    counters: Option<Counters>,
    family: Family,
    script: bool,
) {
    // Find the command option (getopt permutes, so it may be anywhere).
    let mut found: Option<(usize, CmdKind)> = None;
    // Options of the match modules loaded so far: as in getopt_long over iptables' merged option
    // table, once `-m policy` is loaded its exact `--pol` is policy's, not an abbreviation of
    // `--policy`; a prefix of both (`--po`) is ambiguous.
    let mut loaded: Vec<&'static [OptSpec]> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if !t.quoted && (t.text == "-m" || t.text == "--match") {
            if let Some(m) = toks
                .get(i + 1)
                .and_then(|n| registry::new_match(n.str(), family))
            {
                loaded.push(m.options());
            }
        }
        let module_opt = if t.quoted || loaded.is_empty() {
            None
        } else {
            t.str()
                .strip_prefix("--")
                .map(|l| l.split('=').next().unwrap_or(l))
        };
        if let Some(name) = module_opt.filter(|n| !n.is_empty()) {
            let exact = loaded.iter().any(|o| o.iter().any(|s| s.name == name));
            if exact {
                i += 1;
                continue;
            }
            let prefix = loaded
                .iter()
                .any(|o| o.iter().any(|s| s.name.starts_with(name)));
            if prefix && command_of(t).is_some() {
                st.diags.push(
                    Diagnostic::error(
                        code::SYNTAX,
                        t.span,
                        format!("option `{}` is ambiguous", t.text),
                    )
                    .expected("the option's full name"),
                );
                return;
            }
        }
        if let Some(k) = command_of(&toks[i]) {
            if let Some((j, _)) = found {
                st.diags.push(
                    Diagnostic::error(
                        code::COMMAND,
                        toks[i].span,
                        format!("second command `{}` on one line", toks[i].text),
                    )
                    .expected("one command per line")
                    .note(format!("the line already has `{}`", toks[j].text)),
                );
                return;
            }
            found = Some((i, k));
        }
        i += 1;
    }
    let Some((ci, kind)) = found else {
        let t = toks
            .iter()
            .find(|t| t.text == "-t" || t.text.starts_with("--table"));
        if let (Some(t), false) = (t, script) {
            st.diags.push(
                Diagnostic::error(
                    code::CONTEXT,
                    t.span,
                    "-t is not allowed in iptables-restore input",
                )
                .expected("a *table line to select the table"),
            );
        } else {
            st.diags.push(
                Diagnostic::error(
                    code::COMMAND,
                    toks.first().map(|t| t.span).unwrap_or(line_span),
                    "no command",
                )
                .expected("a command such as -A CHAIN, -I CHAIN, -N CHAIN or -P CHAIN POLICY"),
            );
        }
        return;
    };
    if !script {
        if let Some(t) = toks
            .iter()
            .find(|t| !t.quoted && (t.text == "-t" || t.text.starts_with("--table")))
        {
            st.diags.push(
                Diagnostic::error(
                    code::CONTEXT,
                    t.span,
                    "-t is not allowed in iptables-restore input",
                )
                .expected("a *table line to select the table"),
            );
            return;
        }
    }
    let cmd_tok = &toks[ci];
    // Positional arguments of the command follow it directly.
    let mut rest: Vec<&Token> = Vec::with_capacity(toks.len());
    rest.extend(&toks[..ci]);
    let after = &toks[ci + 1..];
    let take_chain = |after: &'t [Token<'t>]| -> Option<&'t Token<'t>> {
        after
            .first()
            .filter(|t| t.quoted || !t.text.starts_with('-') || t.text.len() == 1)
    };
    let kind_name: &str = cmd_tok.str();
    match kind {
        CmdKind::ReadOnly => {
            if !script {
                st.diags.push(
                    Diagnostic::error(
                        code::CONTEXT,
                        cmd_tok.span,
                        format!("`{kind_name}` is not allowed in iptables-restore input"),
                    )
                    .expected("-A, -I, -D, -R, -N, -P, -F, -X, -Z or -E"),
                );
            }
        }
        CmdKind::Append | CmdKind::Insert | CmdKind::Delete | CmdKind::Replace => {
            let Some(chain_t) = take_chain(after) else {
                st.diags.push(
                    Diagnostic::error(
                        code::MISSING_VALUE,
                        after
                            .first()
                            .map(|t| t.span)
                            .unwrap_or(cmd_tok.span.after()),
                        format!("option {kind_name} requires a chain name"),
                    )
                    .expected("a chain name"),
                );
                return;
            };
            let mut k = 1;
            // Optional/required rule number.
            let mut num: Option<(usize, Span)> = None;
            if let Some(t) = after.get(1) {
                if !t.text.is_empty() && t.text.bytes().all(|b| b.is_ascii_digit()) && !t.quoted {
                    match t.text.parse::<usize>() {
                        Ok(n) if n >= 1 => num = Some((n, t.span)),
                        _ => {
                            st.diags.push(
                                Diagnostic::error(
                                    code::VALUE,
                                    t.span,
                                    format!("invalid rule number `{}`", t.text),
                                )
                                .expected("a rule number starting at 1"),
                            );
                            return;
                        }
                    }
                    k = 2;
                }
            }
            rest.extend(&after[k..]);
            let table = &st.tables[ti];
            let tkind = table.kind;
            let chain_name: &str = chain_t.str();
            if !table.has_chain(chain_name) {
                st.diags.push(unknown_chain_diag(
                    table,
                    chain_name,
                    chain_t.span,
                    "a chain of table",
                    &st.source,
                ));
                return;
            }
            if kind == CmdKind::Replace && num.is_none() {
                st.diags.push(
                    Diagnostic::error(
                        code::MISSING_VALUE,
                        chain_t.span.after(),
                        "-R requires a rule number",
                    )
                    .expected("-R CHAIN RULENUM rule-specification"),
                );
                return;
            }
            if kind == CmdKind::Append && num.is_some() {
                let s = num.map(|n| n.1).unwrap_or_default();
                st.diags.push(
                    Diagnostic::error(code::SYNTAX, s, "-A takes no rule number").expected(
                        "-A CHAIN rule-specification (use -I CHAIN NUM to insert at a position)",
                    ),
                );
                return;
            }
            if let (CmdKind::Delete, Some((n, s))) = (kind, num) {
                if let Some(t) = rest
                    .iter()
                    .find(|t| !toks[..ci].iter().any(|x| x.span == t.span))
                {
                    st.diags.push(
                        Diagnostic::error(
                            code::SYNTAX,
                            t.span,
                            "-D with a rule number takes no rule specification",
                        )
                        .expected("end of line"),
                    );
                    return;
                }
                let c = st.tables[ti].chain_mut(chain_name).expect("checked");
                if n > c.rules.len() {
                    st.diags.push(
                        Diagnostic::error(
                            code::COMMAND,
                            s,
                            format!("chain {chain_name} has no rule {n}"),
                        )
                        .expected(format!("a rule number from 1 to {}", c.rules.len())),
                    );
                } else {
                    c.rules.remove(n - 1);
                }
                return;
            }
            let rules = {
                let table_ref = &st.tables[ti];
                let mut rp =
                    RuleParser::new(family, tkind, chain_name, table_ref, line_span, &st.source);
                rp.backend = st.backend;
                let r = rp.parse(&rest);
                st.diags.append(&mut rp.diags);
                match r {
                    Some(r) => r,
                    None => return,
                }
            };
            let rules: Vec<Rule> = rules
                .into_iter()
                .map(|mut r| {
                    if counters.is_some() {
                        r.counters = counters;
                    }
                    r
                })
                .collect();
            let c = st.tables[ti].chain_mut(chain_name).expect("checked");
            match kind {
                CmdKind::Append => c.rules.extend(rules),
                CmdKind::Insert => {
                    let pos = num.map(|n| n.0).unwrap_or(1);
                    if pos > c.rules.len() + 1 {
                        let s = num.map(|n| n.1).unwrap_or_default();
                        st.diags.push(
                            Diagnostic::error(
                                code::COMMAND,
                                s,
                                format!(
                                    "index of insertion too big: chain {chain_name} has {} rules",
                                    c.rules.len()
                                ),
                            )
                            .expected(format!("a position from 1 to {}", c.rules.len() + 1)),
                        );
                        return;
                    }
                    for (k, r) in rules.into_iter().enumerate() {
                        c.rules.insert(pos - 1 + k, r);
                    }
                }
                CmdKind::Replace => {
                    let (n, s) = num.expect("checked");
                    if n > c.rules.len() || rules.len() != 1 {
                        let msg = if rules.len() != 1 {
                            "-R needs a rule specification that is a single rule (no address lists)"
                                .to_string()
                        } else {
                            format!("chain {chain_name} has no rule {n}")
                        };
                        st.diags.push(
                            Diagnostic::error(code::COMMAND, s, msg)
                                .expected(format!("a rule number from 1 to {}", c.rules.len())),
                        );
                        return;
                    }
                    c.rules[n - 1] = rules.into_iter().next().expect("one rule");
                }
                CmdKind::Delete => {
                    for r in rules {
                        let want = printer::rule_body(&r);
                        let table = &st.tables[ti];
                        let pos = table.chain(chain_name).and_then(|c| {
                            c.rules.iter().position(|x| printer::rule_body(x) == want)
                        });
                        match pos {
                            Some(p) => {
                                st.tables[ti]
                                    .chain_mut(chain_name)
                                    .expect("checked")
                                    .rules
                                    .remove(p);
                            }
                            None => {
                                st.diags.push(
                                    Diagnostic::error(
                                        code::COMMAND,
                                        line_span,
                                        format!("no such rule in chain {chain_name}"),
                                    )
                                    .expected("a rule specification equal to an existing rule")
                                    .note(format!("looked for: -A {chain_name}{want}")),
                                );
                                return;
                            }
                        }
                    }
                }
                _ => unreachable!(),
            }
        }
        CmdKind::NewChain => {
            let Some(chain_t) = take_chain(after) else {
                st.diags.push(
                    Diagnostic::error(
                        code::MISSING_VALUE,
                        cmd_tok.span.after(),
                        "-N requires a chain name",
                    )
                    .expected("a chain name"),
                );
                return;
            };
            if let Some(t) = after.get(1) {
                st.diags.push(
                    Diagnostic::error(code::SYNTAX, t.span, format!("unexpected `{}`", t.text))
                        .expected("end of line after -N CHAIN"),
                );
                return;
            }
            if let Err(e) = check_chain_name(&chain_t.text, chain_t.span) {
                st.diags.push(e);
                return;
            }
            if registry::is_target_name(&chain_t.text)
                || matches!(chain_t.str(), "ACCEPT" | "DROP" | "RETURN" | "QUEUE")
            {
                st.diags.push(
                    Diagnostic::error(
                        code::VALUE,
                        chain_t.span,
                        format!("chain name `{}` clashes with a target name", chain_t.text),
                    )
                    .expected("a chain name that is not a target"),
                );
                return;
            }
            let table = &mut st.tables[ti];
            if table.has_chain(&chain_t.text) {
                st.diags.push(duplicate_chain(&chain_t.text, chain_t.span));
                return;
            }
            table.push_chain(Chain {
                name: chain_t.text.to_string(),
                hook: None,
                policy: None,
                counters: Counters::default(),
                rules: Vec::new(),
                span: line_span,
                declared: true,
            });
        }
        CmdKind::Policy => {
            let (Some(chain_t), Some(pol_t)) = (take_chain(after), after.get(1)) else {
                st.diags.push(
                    Diagnostic::error(
                        code::MISSING_VALUE,
                        after
                            .last()
                            .map(|t| t.span.after())
                            .unwrap_or(cmd_tok.span.after()),
                        "-P requires a chain and a policy",
                    )
                    .expected("-P CHAIN ACCEPT|DROP"),
                );
                return;
            };
            if let Some(t) = after.get(2) {
                st.diags.push(
                    Diagnostic::error(code::SYNTAX, t.span, format!("unexpected `{}`", t.text))
                        .expected("end of line after -P CHAIN POLICY"),
                );
                return;
            }
            let table = &mut st.tables[ti];
            let kind_t = table.kind;
            let Some(c) = table.chain_mut(&chain_t.text) else {
                let d = unknown_chain_diag(
                    &st.tables[ti],
                    &chain_t.text,
                    chain_t.span,
                    "a built-in chain of table",
                    &st.source,
                );
                st.diags.push(d);
                return;
            };
            if c.hook.is_none() {
                st.diags.push(
                    Diagnostic::error(
                        code::POLICY,
                        chain_t.span,
                        format!("user chain `{}` cannot have a policy", chain_t.text),
                    )
                    .expected(format!("a built-in chain of table {kind_t}")),
                );
                return;
            }
            match pol_t.str() {
                "ACCEPT" => c.policy = Some(Policy::Accept),
                "DROP" => c.policy = Some(Policy::Drop),
                other => st.diags.push(
                    Diagnostic::error(
                        code::POLICY,
                        pol_t.span,
                        format!("invalid policy `{other}`"),
                    )
                    .expected("ACCEPT or DROP"),
                ),
            }
        }
        CmdKind::Flush | CmdKind::Zero => {
            let table = &mut st.tables[ti];
            match take_chain(after) {
                Some(chain_t) => match table.chain_mut(&chain_t.text) {
                    Some(c) => {
                        if kind == CmdKind::Flush {
                            c.rules.clear();
                        } else {
                            c.counters = Counters::default();
                            c.rules.iter_mut().for_each(|r| r.counters = None);
                        }
                    }
                    None => {
                        let d = unknown_chain_diag(
                            &st.tables[ti],
                            &chain_t.text,
                            chain_t.span,
                            "a chain of table",
                            &st.source,
                        );
                        st.diags.push(d);
                    }
                },
                None => {
                    for c in &mut table.chains {
                        if kind == CmdKind::Flush {
                            c.rules.clear();
                        } else {
                            c.counters = Counters::default();
                            c.rules.iter_mut().for_each(|r| r.counters = None);
                        }
                    }
                }
            }
        }
        CmdKind::DeleteChain => {
            let table = &mut st.tables[ti];
            let referenced = |table: &TableB, name: &str| -> Option<(String, Span)> {
                table.chains.iter().find_map(|c| {
                    c.rules
                        .iter()
                        .find(|r| r.action.chain_ref().is_some_and(|cr| cr.name == name))
                        .map(|r| (c.name.clone(), r.span))
                })
            };
            match take_chain(after) {
                Some(chain_t) => {
                    let name = chain_t.text.to_string();
                    match table.position(&name) {
                        None => {
                            let d = unknown_chain_diag(
                                &st.tables[ti],
                                &name,
                                chain_t.span,
                                "a user chain of table",
                                &st.source,
                            );
                            st.diags.push(d);
                        }
                        Some(p) if table.chains[p].hook.is_some() => {
                            st.diags.push(
                                Diagnostic::error(
                                    code::COMMAND,
                                    chain_t.span,
                                    format!("cannot delete built-in chain {name}"),
                                )
                                .expected("a user chain"),
                            );
                        }
                        Some(p) => {
                            if let Some((from, s)) = referenced(table, &name) {
                                let line = st.source.line_of(s.start as usize);
                                st.diags.push(Diagnostic::error(code::COMMAND, chain_t.span, format!("cannot delete chain {name}: it is referenced from chain {from}")).expected("a chain no rule jumps to").note(format!("referenced by the rule on line {line}")));
                            } else if !table.chains[p].rules.is_empty() {
                                st.diags.push(
                                    Diagnostic::error(
                                        code::COMMAND,
                                        chain_t.span,
                                        format!("cannot delete chain {name}: it is not empty"),
                                    )
                                    .expected("an empty chain (flush it with -F first)"),
                                );
                            } else {
                                table.chains.remove(p);
                                table.reindex();
                            }
                        }
                    }
                }
                None => {
                    // Delete every user chain (they must not be referenced from built-ins).
                    let builtin_refs = table
                        .chains
                        .iter()
                        .filter(|c| c.hook.is_some())
                        .flat_map(|c| &c.rules)
                        .find_map(|r| r.action.chain_ref().map(|cr| (cr.name.clone(), r.span)));
                    if let Some((name, s)) = builtin_refs {
                        let line = st.source.line_of(s.start as usize);
                        st.diags.push(Diagnostic::error(code::COMMAND, cmd_tok.span, format!("cannot delete user chains: chain {name} is referenced from a built-in chain")).expected("no references from built-in chains").note(format!("referenced on line {line}")));
                    } else {
                        table.chains.retain(|c| c.hook.is_some());
                        table.reindex();
                    }
                }
            }
        }
        CmdKind::Rename => {
            let (Some(old_t), Some(new_t)) = (take_chain(after), after.get(1)) else {
                st.diags.push(
                    Diagnostic::error(
                        code::MISSING_VALUE,
                        cmd_tok.span.after(),
                        "-E requires the old and the new chain name",
                    )
                    .expected("-E OLD NEW"),
                );
                return;
            };
            if let Err(e) = check_chain_name(&new_t.text, new_t.span) {
                st.diags.push(e);
                return;
            }
            let table = &mut st.tables[ti];
            if table.has_chain(&new_t.text) {
                st.diags.push(duplicate_chain(&new_t.text, new_t.span));
                return;
            }
            match table.position(&old_t.text) {
                Some(p) if table.chains[p].hook.is_none() => {
                    table.chains[p].name = new_t.text.to_string();
                    table.reindex();
                    for c in &mut table.chains {
                        for r in &mut c.rules {
                            if let Action::Jump(cr) | Action::Goto(cr) = &mut r.action {
                                if cr.name == old_t.text {
                                    cr.name = new_t.text.to_string();
                                }
                            }
                        }
                    }
                }
                Some(_) => st.diags.push(
                    Diagnostic::error(code::COMMAND, old_t.span, "cannot rename a built-in chain")
                        .expected("a user chain"),
                ),
                None => {
                    let d = unknown_chain_diag(
                        &st.tables[ti],
                        &old_t.text,
                        old_t.span,
                        "a user chain of table",
                        &st.source,
                    );
                    st.diags.push(d);
                }
            }
        }
    }
}

fn unknown_chain_diag(
    table: &TableB,
    name: &str,
    span: Span,
    what: &str,
    _src: &SourceFile,
) -> Diagnostic {
    let mut d = Diagnostic::error(code::UNKNOWN_CHAIN, span, format!("unknown chain `{name}`"))
        .expected(format!("{what} {}", table.kind));
    let names: Vec<&str> = table.chains.iter().map(|c| c.name.as_str()).collect();
    if let Some(s) = suggest(name, &names) {
        d = d.note(format!("did you mean `{s}`?"));
    }
    d
}

/// Closest candidate by edit distance (case-insensitive), if close enough.
pub fn suggest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let n = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&n, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= 1.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------------------------
// rule specifications

/// Who owns an option in the merged getopt table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Generic(Gen),
    Match(usize),
    Target,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gen {
    Src,
    Dst,
    Proto,
    InIface,
    OutIface,
    Jump,
    Goto,
    Match,
    Frag,
    Counters,
    V4,
    V6,
    /// Flags that do not change a rule (`-v`, `-n`, `-x`, `-w`, …).
    Noop,
    NoopArg,
}

const GENERIC_LONG: &[(&str, Gen)] = &[
    ("source", Gen::Src),
    ("src", Gen::Src),
    ("destination", Gen::Dst),
    ("dst", Gen::Dst),
    ("protocol", Gen::Proto),
    ("in-interface", Gen::InIface),
    ("out-interface", Gen::OutIface),
    ("jump", Gen::Jump),
    ("goto", Gen::Goto),
    ("match", Gen::Match),
    ("fragment", Gen::Frag),
    ("fragments", Gen::Frag),
    ("set-counters", Gen::Counters),
    ("ipv4", Gen::V4),
    ("ipv6", Gen::V6),
    ("verbose", Gen::Noop),
    ("numeric", Gen::Noop),
    ("exact", Gen::Noop),
    ("line-numbers", Gen::Noop),
    ("wait", Gen::Noop),
    ("wait-interval", Gen::NoopArg),
    ("modprobe", Gen::NoopArg),
];

fn generic_short(c: char) -> Option<Gen> {
    Some(match c {
        's' => Gen::Src,
        'd' => Gen::Dst,
        'p' => Gen::Proto,
        'i' => Gen::InIface,
        'o' => Gen::OutIface,
        'j' => Gen::Jump,
        'g' => Gen::Goto,
        'm' => Gen::Match,
        'f' => Gen::Frag,
        'c' => Gen::Counters,
        '4' => Gen::V4,
        '6' => Gen::V6,
        'v' | 'n' | 'x' | 'w' => Gen::Noop,
        'W' | 'M' => Gen::NoopArg,
        _ => return None,
    })
}

fn gen_arg(g: Gen) -> bool {
    !matches!(g, Gen::Frag | Gen::V4 | Gen::V6 | Gen::Noop)
}

fn gen_invertible(g: Gen) -> bool {
    matches!(
        g,
        Gen::Src | Gen::Dst | Gen::Proto | Gen::InIface | Gen::OutIface | Gen::Frag
    )
}

struct LoadedMatch {
    module: Box<dyn Match>,
    span: Span,
    implicit: bool,
    seen: Vec<u8>,
}

enum TargetSel {
    Standard(Action),
    Ext(Box<dyn Target>, Vec<u8>),
}

struct RuleParser<'a> {
    backend: Backend,
    family: Family,
    table: TableKind,
    chain: &'a str,
    table_state: &'a TableB,
    line_span: Span,
    source: &'a SourceFile,
    diags: Vec<Diagnostic>,
    src: Vec<AddrMask>,
    src_inv: bool,
    dst: Vec<AddrMask>,
    dst_inv: bool,
    src_span: Option<Span>,
    dst_span: Option<Span>,
    iniface: Option<IfaceMatch>,
    outiface: Option<IfaceMatch>,
    proto: Option<(u8, bool)>,
    proto_span: Option<Span>,
    frag: Option<bool>,
    counters: Option<Counters>,
    matches: Vec<LoadedMatch>,
    target: Option<(TargetSel, Span)>,
    goto: bool,
    /// Load order: newest last.
    order: Vec<Owner>,
    implicit_loaded: bool,
    skip_rule: bool,
}

struct Resolved<'t> {
    owner: Owner,
    opt: Option<OptSpec>,
    gen: Option<Gen>,
    /// A value attached to the option (`--dport=22`, `-ptcp`).
    attached: Option<(&'t str, Span)>,
}

impl<'a> RuleParser<'a> {
    fn new(
        family: Family,
        table: TableKind,
        chain: &'a str,
        table_state: &'a TableB,
        line_span: Span,
        source: &'a SourceFile,
    ) -> Self {
        RuleParser {
            backend: Backend::Nft,
            family,
            table,
            chain,
            table_state,
            line_span,
            source,
            diags: Vec::new(),
            src: Vec::new(),
            src_inv: false,
            dst: Vec::new(),
            dst_inv: false,
            src_span: None,
            dst_span: None,
            iniface: None,
            outiface: None,
            proto: None,
            proto_span: None,
            frag: None,
            counters: None,
            matches: Vec::new(),
            target: None,
            goto: false,
            order: Vec::new(),
            implicit_loaded: false,
            skip_rule: false,
        }
    }

    fn err(&mut self, d: Diagnostic) -> Option<Vec<Rule>> {
        self.diags.push(d);
        None
    }

    /// Resolve an option token against the merged option table (getopt_long rules).
    fn resolve<'t>(&self, tok: &'t Token) -> Result<Option<Resolved<'t>>, Diagnostic> {
        let text = tok.str();
        if let Some(long) = text.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => {
                    let vs = Span::new(
                        tok.span.start as usize + 2 + n.len() + 1,
                        tok.span.end as usize,
                    );
                    (n, Some((v, vs)))
                }
                None => (long, None),
            };
            if name.is_empty() {
                return Ok(None);
            }
            // Candidates in precedence order: generic, then newest module first.
            if let Some((o, opt, g, _)) = self.candidates().find(|c| c.3 == name) {
                return Ok(Some(Resolved {
                    owner: o,
                    opt,
                    gen: g,
                    attached,
                }));
            }
            // An unknown module's options are unknown too: an unclaimed `--set` after
            // `-m frob` is frob's, not an abbreviation of a generic option such as
            // `--set-counters`.
            let unknown_loaded = self.order.iter().any(|o| match o {
                Owner::Match(i) => self.matches[*i].module.is_unknown(),
                Owner::Target => {
                    matches!(&self.target, Some((TargetSel::Ext(t, _), _)) if t.is_unknown())
                }
                Owner::Generic(_) => false,
            });
            if unknown_loaded {
                return Ok(None);
            }
            let mut pref = self.candidates().filter(|c| c.3.starts_with(name));
            let Some(first) = pref.next() else {
                return Ok(None);
            };
            let same = |c: &(Owner, Option<OptSpec>, Option<Gen>, &str)| {
                c.0 == first.0 && c.1.map(|o| o.id) == first.1.map(|o| o.id) && c.2 == first.2
            };
            if !pref.all(|c| same(&c)) {
                let names: Vec<String> = self
                    .candidates()
                    .filter(|c| c.3.starts_with(name))
                    .map(|c| format!("--{}", c.3))
                    .collect();
                return Err(Diagnostic::error(
                    code::SYNTAX,
                    tok.span,
                    format!("option `{text}` is ambiguous"),
                )
                .expected(format!("one of {}", names.join(", "))));
            }
            return Ok(Some(Resolved {
                owner: first.0,
                opt: first.1,
                gen: first.2,
                attached,
            }));
        }
        if let Some(short) = text.strip_prefix('-') {
            let mut chars = short.chars();
            let Some(c) = chars.next() else {
                return Ok(None);
            };
            let Some(g) = generic_short(c) else {
                return Ok(None);
            };
            let rest = chars.as_str();
            let attached = if rest.is_empty() {
                None
            } else if gen_arg(g) {
                Some((
                    rest,
                    Span::new(tok.span.start as usize + 2, tok.span.end as usize),
                ))
            } else {
                return Ok(None);
            };
            return Ok(Some(Resolved {
                owner: Owner::Generic(g),
                opt: None,
                gen: Some(g),
                attached,
            }));
        }
        Ok(None)
    }

    /// The merged getopt option table in precedence order: generic options, then the options of
    /// loaded modules and the target, newest first.
    fn candidates(
        &self,
    ) -> impl Iterator<Item = (Owner, Option<OptSpec>, Option<Gen>, &'static str)> + '_ {
        let generic = GENERIC_LONG
            .iter()
            .map(|(n, g)| (Owner::Generic(*g), None, Some(*g), *n));
        let loaded = self.order.iter().rev().flat_map(move |o| {
            let opts: &'static [OptSpec] = match o {
                Owner::Match(i) => self.matches[*i].module.options(),
                Owner::Target => match &self.target {
                    Some((TargetSel::Ext(t, _), _)) => t.options(),
                    _ => &[],
                },
                Owner::Generic(_) => &[],
            };
            opts.iter().map(move |opt| (*o, Some(*opt), None, opt.name))
        });
        generic.chain(loaded)
    }

    /// Which registered modules offer an option (for "did you forget -m" hints).
    fn modules_offering(&self, name: &str) -> Vec<&'static str> {
        registry::matches_with_option(name, self.family)
    }

    fn parse(&mut self, toks: &[&Token]) -> Option<Vec<Rule>> {
        let mut i = 0;
        let mut pending_inv: Option<Span> = None;
        while i < toks.len() {
            let tok = toks[i];
            if tok.text == "!" && !tok.quoted {
                if let Some(prev) = pending_inv {
                    return self.err(
                        Diagnostic::error(code::SYNTAX, tok.span, "multiple `!` in a row")
                            .expected("an option after `!`")
                            .note(format!(
                                "first `!` at column {}",
                                self.source.line_col(prev.start as usize).1
                            )),
                    );
                }
                pending_inv = Some(tok.span);
                i += 1;
                continue;
            }
            if !tok.text.starts_with('-') || tok.quoted || tok.text == "-" {
                return self.err(
                    Diagnostic::error(code::SYNTAX, tok.span, format!("unexpected `{}`", tok.text))
                        .expected("an option such as -p, -m MODULE, --dport or -j TARGET"),
                );
            }
            let resolved = match self.resolve(tok) {
                Ok(r) => r,
                Err(d) => return self.err(d),
            };
            let resolved = match resolved {
                Some(r) => r,
                None => {
                    // Implicit protocol match (`-p tcp --dport 22` without `-m tcp`).
                    if let (Some((p, false)), false) = (self.proto, self.implicit_loaded) {
                        let name = tok.text.trim_start_matches('-');
                        let name = name.split('=').next().unwrap_or(name);
                        let offers = |m: &dyn Match| {
                            !name.is_empty() && m.options().iter().any(|o| o.name.starts_with(name))
                        };
                        if let Some(m) =
                            registry::proto_match(p, self.family).filter(|m| offers(m.as_ref()))
                        {
                            let idx = self.matches.len();
                            self.matches.push(LoadedMatch {
                                module: m,
                                span: tok.span,
                                implicit: true,
                                seen: Vec::new(),
                            });
                            self.order.push(Owner::Match(idx));
                            self.implicit_loaded = true;
                            continue; // retry this token
                        }
                    }
                    // An unknown module swallows options no one else claims.
                    if let Some(idx) = self.last_unknown_match() {
                        i = self.swallow_unknown(idx, toks, i, pending_inv.take());
                        continue;
                    }
                    if let Some((TargetSel::Ext(t, _), _)) = &self.target {
                        if t.is_unknown() {
                            i = self.swallow_unknown_target(toks, i, pending_inv.take());
                            continue;
                        }
                    }
                    let name = tok.text.trim_start_matches('-');
                    let name = name.split('=').next().unwrap_or(name);
                    let offering = self.modules_offering(name);
                    let mut d = Diagnostic::error(
                        code::NO_MODULE,
                        tok.span,
                        format!("unknown option `{}`", tok.text),
                    );
                    if offering.is_empty() {
                        d = d.expected("a generic option (-s -d -i -o -p -f -m -j -g) or an option of a loaded module");
                    } else {
                        let mods: Vec<String> =
                            offering.iter().map(|m| format!("-m {m}")).collect();
                        d = d
                            .expected(format!("{} before `{}`", mods.join(" or "), tok.text))
                            .note(format!(
                                "`{}` belongs to {}, which this rule does not load",
                                tok.text,
                                mods.join(" / ")
                            ));
                        if offering.iter().any(|m| {
                            matches!(*m, "tcp" | "udp" | "sctp" | "dccp" | "icmp" | "icmp6")
                        }) && self.proto.is_none()
                        {
                            d = d.note(
                                "a protocol match is loaded implicitly by -p (for example -p tcp)",
                            );
                        }
                    }
                    return self.err(d);
                }
            };
            let inv = pending_inv.take();
            // Collect values.
            let nargs = match (resolved.gen, resolved.opt) {
                (Some(Gen::Counters), _) => 2,
                (Some(g), _) => usize::from(gen_arg(g)),
                (None, Some(o)) => match o.arg {
                    Arg::None => 0,
                    Arg::One => 1,
                    Arg::Two => 2,
                },
                _ => 0,
            };
            // At most two values per option; kept on the stack (this runs for every option).
            let mut arg_buf = [OptArg {
                text: "",
                span: tok.span,
            }; 2];
            let mut nargs_got = 0usize;
            let mut legacy_inv = false;
            let mut j = i + 1;
            if let Some((text, span)) = resolved.attached {
                let a = OptArg { text, span };
                if nargs == 0 {
                    return self.err(
                        Diagnostic::error(
                            code::SYNTAX,
                            a.span,
                            format!(
                                "option `{}` takes no value",
                                tok.text.split('=').next().unwrap_or(&tok.text)
                            ),
                        )
                        .expected("the option alone"),
                    );
                }
                arg_buf[0] = a;
                nargs_got = 1;
            }
            while nargs_got < nargs {
                match toks.get(j) {
                    Some(t) => {
                        if t.text == "!" && !t.quoted && nargs_got == 0 && !legacy_inv {
                            // Legacy intrapositioned negation: `-s ! x`, `--dport ! 80`.
                            legacy_inv = true;
                            self.diags.push(
                                Diagnostic::warning(
                                    code::LEGACY,
                                    t.span,
                                    format!("`{} ! value` is the legacy negation form", tok.text),
                                )
                                .note(format!(
                                    "iptables 1.8 rejects it; write `! {} value`",
                                    tok.text
                                )),
                            );
                            j += 1;
                            continue;
                        }
                        arg_buf[nargs_got] = OptArg {
                            text: t.str(),
                            span: t.span,
                        };
                        nargs_got += 1;
                        j += 1;
                    }
                    None => {
                        let what = match (resolved.gen, resolved.opt) {
                            (Some(Gen::Jump), _) => "a target: ACCEPT, DROP, RETURN, a chain name or an extension target such as REJECT or LOG".to_string(),
                            (Some(Gen::Goto), _) => "a user chain name".to_string(),
                            (Some(Gen::Match), _) => "a match module name such as tcp, conntrack, multiport".to_string(),
                            (Some(Gen::Proto), _) => "a protocol such as tcp, udp, icmp or a number".to_string(),
                            (Some(Gen::Src) | Some(Gen::Dst), _) => "an address such as 192.0.2.1 or 192.0.2.0/24".to_string(),
                            (Some(Gen::InIface) | Some(Gen::OutIface), _) => "an interface name such as eth0".to_string(),
                                                        (_, Some(o)) if o.arg == Arg::Two && nargs_got == 1 => format!("a second value for --{}", o.name),
                            _ => "a value".to_string(),
                        };
                        let at = toks
                            .get(j.saturating_sub(1))
                            .map(|t| t.span.after())
                            .unwrap_or(tok.span.after());
                        return self.err(
                            Diagnostic::error(
                                code::MISSING_VALUE,
                                at,
                                format!("option `{}` requires a value", tok.text),
                            )
                            .expected(what),
                        );
                    }
                }
            }
            let invert = inv.is_some() || legacy_inv;
            let optname: &str = &tok.text;
            if invert {
                let ok = match (resolved.gen, resolved.opt) {
                    (Some(g), _) => gen_invertible(g),
                    (None, Some(o)) => o.invert,
                    _ => false,
                };
                if !ok {
                    return self.err(
                        Diagnostic::error(
                            code::SYNTAX,
                            inv.unwrap_or(tok.span),
                            format!("option `{optname}` cannot be negated"),
                        )
                        .expected(format!("`{optname}` without `!`")),
                    );
                }
            }
            i = j;
            let argv = &arg_buf[..nargs_got];
            let res = match resolved.owner {
                Owner::Generic(g) => self.generic(g, tok, invert, argv),
                Owner::Match(idx) => {
                    let opt = resolved.opt.expect("module option");
                    if !opt.multi && self.matches[idx].seen.contains(&opt.id) {
                        Err(Diagnostic::error(
                            code::SYNTAX,
                            tok.span,
                            format!("option `{optname}` given twice"),
                        )
                        .expected(format!(
                            "--{} only once per -m {}",
                            opt.name,
                            self.matches[idx].module.name()
                        )))
                    } else {
                        self.matches[idx].seen.push(opt.id);
                        let mut warnings = Vec::new();
                        let mut cx = ParseCtx {
                            family: self.family,
                            backend: self.backend,
                            table: self.table,
                            chain: self.chain,
                            proto: self.proto,
                            span: tok.span,
                            warnings: &mut warnings,
                        };
                        let r = self.matches[idx].module.parse(&opt, invert, argv, &mut cx);
                        let end = argv.last().map(|a| a.span).unwrap_or(tok.span);
                        self.matches[idx].span = self.matches[idx].span.to(end);
                        self.diags.extend(warnings);
                        r
                    }
                }
                Owner::Target => {
                    let opt = resolved.opt.expect("target option");
                    let table = self.table;
                    let (family, chain, proto, backend) =
                        (self.family, self.chain, self.proto, self.backend);
                    let mut warnings = Vec::new();
                    let r = match &mut self.target {
                        Some((TargetSel::Ext(t, seen), _)) => {
                            if !opt.multi && seen.contains(&opt.id) {
                                Err(Diagnostic::error(
                                    code::SYNTAX,
                                    tok.span,
                                    format!("option `{optname}` given twice"),
                                )
                                .expected(format!("--{} only once", opt.name)))
                            } else {
                                seen.push(opt.id);
                                let mut cx = ParseCtx {
                                    family,
                                    backend,
                                    table,
                                    chain,
                                    proto,
                                    span: tok.span,
                                    warnings: &mut warnings,
                                };
                                t.parse(&opt, invert, argv, &mut cx)
                            }
                        }
                        _ => Ok(()),
                    };
                    self.diags.extend(warnings);
                    r
                }
            };
            if let Err(d) = res {
                return self.err(d);
            }
            if self.skip_rule {
                return Some(Vec::new());
            }
        }
        if let Some(s) = pending_inv {
            return self.err(
                Diagnostic::error(code::SYNTAX, s, "`!` at the end of the rule")
                    .expected("an option after `!`"),
            );
        }
        self.finish()
    }

    fn last_unknown_match(&self) -> Option<usize> {
        self.order.iter().rev().find_map(|o| match o {
            Owner::Match(i) if self.matches[*i].module.is_unknown() => Some(*i),
            _ => None,
        })
    }

    /// Give `toks[i]` (an unclaimed option) and its values to the unknown module `idx`.
    fn swallow_unknown(
        &mut self,
        idx: usize,
        toks: &[&Token],
        mut i: usize,
        inv: Option<Span>,
    ) -> usize {
        let mut words: Vec<(String, bool)> = Vec::new();
        if inv.is_some() {
            words.push(("!".into(), false));
        }
        words.push((toks[i].text.to_string(), false));
        let mut end = toks[i].span;
        i += 1;
        while let Some(t) = toks.get(i) {
            if !t.quoted && (t.text.starts_with('-') && t.text.len() > 1 || t.text == "!") {
                break;
            }
            words.push((t.text.to_string(), t.quoted));
            end = t.span;
            i += 1;
        }
        if let Some(u) = self.matches[idx]
            .module
            .as_any()
            .downcast_ref::<registry::UnknownMatch>()
        {
            let mut u = u.clone();
            u.words.extend(words);
            self.matches[idx].module = Box::new(u);
        }
        self.matches[idx].span = self.matches[idx].span.to(end);
        i
    }

    fn swallow_unknown_target(
        &mut self,
        toks: &[&Token],
        mut i: usize,
        inv: Option<Span>,
    ) -> usize {
        let mut words: Vec<(String, bool)> = Vec::new();
        if inv.is_some() {
            words.push(("!".into(), false));
        }
        words.push((toks[i].text.to_string(), false));
        i += 1;
        while let Some(t) = toks.get(i) {
            if !t.quoted && (t.text.starts_with('-') && t.text.len() > 1 || t.text == "!") {
                break;
            }
            words.push((t.text.to_string(), t.quoted));
            i += 1;
        }
        if let Some((TargetSel::Ext(t, _), _)) = &mut self.target {
            if let Some(u) = t.as_any().downcast_ref::<registry::UnknownTarget>() {
                let mut u = u.clone();
                u.words.extend(words);
                *t = Box::new(u);
            }
        }
        i
    }

    fn generic(
        &mut self,
        g: Gen,
        tok: &Token,
        invert: bool,
        args: &[OptArg<'_>],
    ) -> Result<(), Diagnostic> {
        let once = |present: bool, what: &str| -> Result<(), Diagnostic> {
            if present {
                Err(Diagnostic::error(
                    code::SYNTAX,
                    tok.span,
                    format!("multiple {what} flags not allowed"),
                )
                .expected(format!("{what} only once per rule")))
            } else {
                Ok(())
            }
        };
        match g {
            Gen::Src | Gen::Dst => {
                let is_src = g == Gen::Src;
                once(
                    if is_src {
                        self.src_span.is_some()
                    } else {
                        self.dst_span.is_some()
                    },
                    if is_src { "-s" } else { "-d" },
                )?;
                let mut list = Vec::new();
                for part in crate::ext::split_list(&args[0], ',') {
                    list.push(crate::ext::parse_addr_mask(&part, self.family)?);
                }
                if invert && list.len() > 1 {
                    return Err(Diagnostic::error(
                        code::SYNTAX,
                        args[0].span,
                        "! not allowed with multiple source or destination addresses",
                    )
                    .expected("a single address after `!`"));
                }
                if invert && list.iter().any(|a| a.is_any()) {
                    return Err(Diagnostic::error(
                        code::VALUE,
                        args[0].span,
                        "negated match on any address can never match",
                    )
                    .expected("a specific address or network after `!`"));
                }
                if is_src {
                    self.src = list;
                    self.src_inv = invert;
                    self.src_span = Some(args[0].span);
                } else {
                    self.dst = list;
                    self.dst_inv = invert;
                    self.dst_span = Some(args[0].span);
                }
            }
            Gen::Proto => {
                once(self.proto_span.is_some(), "-p")?;
                let p = crate::ext::parse_protocol(&args[0])?;
                self.proto_span = Some(args[0].span);
                if p == 0 {
                    if invert {
                        return Err(Diagnostic::error(
                            code::VALUE,
                            args[0].span,
                            "rule would never match protocol",
                        )
                        .expected("a specific protocol after `! -p`"));
                    }
                } else {
                    self.proto = Some((p, invert));
                }
            }
            Gen::InIface | Gen::OutIface => {
                let is_in = g == Gen::InIface;
                once(
                    if is_in {
                        self.iniface.is_some()
                    } else {
                        self.outiface.is_some()
                    },
                    if is_in { "-i" } else { "-o" },
                )?;
                crate::ext::check_iface(&args[0])?;
                if args[0].text.contains([' ', '/']) {
                    // iptables warns (`xtables_parse_interface`) and loads it; iptables-save
                    // then prints the name unquoted, which reads back as something else.
                    self.diags.push(
                        Diagnostic::warning(
                            code::WEIRD_IFACE,
                            args[0].span,
                            format!(
                                "weird character in interface `{}` ('/' and ' ' are not allowed \
                                 by the kernel)",
                                args[0].text
                            ),
                        )
                        .note(
                            "no packet can match it, and iptables-save prints it unquoted, so \
                             the saved rule does not read back the same",
                        ),
                    );
                }
                if let Some(h) = Hook::from_chain_name(self.chain)
                    .filter(|h| self.table.builtin_hooks().contains(h))
                {
                    let bad = if is_in {
                        !h.has_indev()
                    } else {
                        !h.has_outdev()
                    };
                    if bad {
                        return Err(Diagnostic::error(
                            code::CONTEXT,
                            tok.span,
                            format!(
                                "can't use {} with {}",
                                if is_in { "-i" } else { "-o" },
                                self.chain
                            ),
                        )
                        .expected(format!(
                            "{} in {} (packets there have no {} interface)",
                            if is_in { "-o" } else { "-i" },
                            self.chain,
                            if is_in { "input" } else { "output" }
                        )));
                    }
                }
                let m = IfaceMatch {
                    name: args[0].text.to_string(),
                    invert,
                };
                if is_in {
                    self.iniface = Some(m);
                } else {
                    self.outiface = Some(m);
                }
            }
            Gen::Frag => {
                once(self.frag.is_some(), "-f")?;
                if self.family == Family::V6 {
                    return Err(Diagnostic::error(
                        code::CONTEXT,
                        tok.span,
                        "-f does not exist in ip6tables",
                    )
                    .expected("-m frag for IPv6 fragment matching"));
                }
                self.frag = Some(invert);
            }
            Gen::Counters => {
                // -c PKTS BYTES: the bytes are the next word.
                let packets = crate::ext::parse_num(&args[0], 0, u64::MAX, "packet counter")?;
                let bytes = crate::ext::parse_num(&args[1], 0, u64::MAX, "byte counter")?;
                self.counters = Some(Counters { packets, bytes });
            }
            Gen::Match => {
                let name = args[0].text;
                if name.is_empty() {
                    // iptables-restore: "Couldn't load match `'".
                    return Err(Diagnostic::error(
                        code::NO_MODULE,
                        args[0].span,
                        "empty match module name",
                    )
                    .expected("a match module name, e.g. -m conntrack"));
                }
                let m = match registry::new_match(name, self.family) {
                    Some(m) => m,
                    None => {
                        self.diags.push(
                            Diagnostic::warning(code::UNKNOWN_EXT, args[0].span, format!("unknown match module `{name}` kept verbatim"))
                                .note("fwcheck cannot evaluate it: verdicts of packets reaching this rule are marked uncertain"),
                        );
                        Box::new(registry::UnknownMatch {
                            name: name.to_string(),
                            words: Vec::new(),
                        })
                    }
                };
                let idx = self.matches.len();
                self.matches.push(LoadedMatch {
                    module: m,
                    span: tok.span.to(args[0].span),
                    implicit: false,
                    seen: Vec::new(),
                });
                self.order.push(Owner::Match(idx));
            }
            Gen::Jump | Gen::Goto => {
                if let Some((_, s)) = &self.target {
                    let line = self.source.line_col(s.start as usize).1;
                    return Err(Diagnostic::error(
                        code::SYNTAX,
                        tok.span,
                        "multiple -j/-g flags not allowed",
                    )
                    .expected("one target per rule")
                    .note(format!("the target is already given at column {line}")));
                }
                let name = args[0].text;
                let span = args[0].span;
                let is_goto = g == Gen::Goto;
                self.goto = is_goto;
                let std = match name {
                    "ACCEPT" => Some(Action::Accept),
                    "DROP" => Some(Action::Drop),
                    "RETURN" => Some(Action::Return),
                    "QUEUE" => Some(Action::Queue),
                    _ => None,
                };
                if let Some(a) = std {
                    if matches!(a, Action::Queue) {
                        self.diags.push(
                            Diagnostic::warning(crate::ext::targets::common::W_BACKEND, span, "-j QUEUE cannot be loaded by iptables-nft")
                                .note("iptables 1.8 (nf_tables) asks the kernel for an xt target named QUEUE, which does not exist; iptables-legacy loads it. Use -j NFQUEUE --queue-num 0"),
                        );
                    }
                    if is_goto {
                        return Err(Diagnostic::error(
                            code::UNKNOWN_CHAIN,
                            span,
                            format!("-g {name}: goto needs a user chain"),
                        )
                        .expected("a user chain name after -g"));
                    }
                    self.target = Some((TargetSel::Standard(a), span));
                    return Ok(());
                }
                if let Some(c) = self.table_state.chain(name) {
                    let is_builtin = c.hook.is_some();
                    if is_builtin {
                        return Err(Diagnostic::error(
                            code::UNKNOWN_CHAIN,
                            span,
                            format!("cannot jump to built-in chain {name}"),
                        )
                        .expected("a user chain, ACCEPT, DROP, RETURN or an extension target"));
                    }
                    let cr = ChainRef {
                        name: name.to_string(),
                        index: usize::MAX,
                    };
                    self.target = Some((
                        TargetSel::Standard(if is_goto {
                            Action::Goto(cr)
                        } else {
                            Action::Jump(cr)
                        }),
                        span,
                    ));
                    return Ok(());
                }
                if !is_goto {
                    if let Some(t) = registry::new_target(name, self.family) {
                        self.target = Some((TargetSel::Ext(t, Vec::new()), span));
                        self.order.push(Owner::Target);
                        return Ok(());
                    }
                    if registry::is_known_unimplemented_target(name) {
                        self.diags.push(
                            Diagnostic::warning(
                                code::UNKNOWN_EXT,
                                span,
                                format!("target `{name}` is not simulated; kept verbatim"),
                            )
                            .note("verdicts of packets reaching this rule are marked uncertain"),
                        );
                        self.target = Some((
                            TargetSel::Ext(
                                Box::new(registry::UnknownTarget {
                                    name: name.to_string(),
                                    words: Vec::new(),
                                }),
                                Vec::new(),
                            ),
                            span,
                        ));
                        self.order.push(Owner::Target);
                        return Ok(());
                    }
                }
                let mut d = Diagnostic::error(code::UNKNOWN_CHAIN, span, format!("unknown chain `{name}` in {}", if is_goto { "-g" } else { "-j" }))
                    .expected(format!("ACCEPT, DROP, RETURN, a target such as REJECT or LOG, or a chain of table {} declared before this rule", self.table));
                // Declared later?
                if let Some(line) = self.declared_later(name) {
                    d = d.note(format!("chain `{name}` is declared on line {line}, after this rule; iptables-restore needs it declared first"));
                } else {
                    let mut names: Vec<&str> = self
                        .table_state
                        .chains
                        .iter()
                        .filter(|c| c.hook.is_none())
                        .map(|c| c.name.as_str())
                        .collect();
                    names.extend(["ACCEPT", "DROP", "RETURN", "REJECT", "LOG"]);
                    if let Some(s) = suggest(name, &names) {
                        d = d.note(format!("did you mean `{s}`?"));
                    }
                }
                return Err(d);
            }
            Gen::V4 => {}
            Gen::V6 => {
                if self.family == Family::V4 {
                    self.diags.push(
                        Diagnostic::warning(
                            code::IGNORED,
                            tok.span,
                            "rule marked -6 is skipped by iptables",
                        )
                        .note("iptables ignores rules for the other family"),
                    );
                    self.skip_rule = true;
                }
            }
            Gen::Noop | Gen::NoopArg => {}
        }
        Ok(())
    }

    fn declared_later(&self, name: &str) -> Option<usize> {
        let text = &self.source.text;
        let from = self.line_span.end as usize;
        let mut off = from;
        for line in text[from.min(text.len())..].split('\n') {
            let l = line.trim();
            if l.starts_with("COMMIT") || l.starts_with('*') {
                return None;
            }
            if let Some(rest) = l.strip_prefix(':') {
                if rest.split_whitespace().next() == Some(name) {
                    return Some(self.source.line_of(off + 1));
                }
            }
            if let Some(rest) = l.strip_prefix("-N") {
                if rest.split_whitespace().next() == Some(name) {
                    return Some(self.source.line_of(off + 1));
                }
            }
            off += line.len() + 1;
        }
        None
    }

    fn finish(&mut self) -> Option<Vec<Rule>> {
        // Module-level checks.
        let mut built: Vec<MatchEntry> = Vec::with_capacity(self.matches.len());
        let matches = std::mem::take(&mut self.matches);
        for mut lm in matches {
            let mut warnings = Vec::new();
            let mut cx = ParseCtx {
                family: self.family,
                backend: self.backend,
                table: self.table,
                chain: self.chain,
                proto: self.proto,
                span: lm.span,
                warnings: &mut warnings,
            };
            let r = lm.module.finish(&mut cx);
            self.diags.extend(warnings);
            if let Err(d) = r {
                return self.err(d);
            }
            if let Some(req) = registry::required_proto(lm.module.name(), self.family) {
                let ok = matches!(self.proto, Some((p, false)) if p == req);
                if !ok {
                    let pname = crate::ext::proto_name(req).unwrap_or("?");
                    return self.err(
                        Diagnostic::error(
                            code::CONTEXT,
                            lm.span,
                            format!("match `{}` requires `-p {pname}`", lm.module.name()),
                        )
                        .expected(format!("-p {pname} in the rule (not negated)")),
                    );
                }
            }
            built.push(MatchEntry {
                module: lm.module,
                span: lm.span,
                implicit: lm.implicit,
            });
        }
        let (action, target_span) = match self.target.take() {
            None => (Action::None, None),
            Some((TargetSel::Standard(a), s)) => (a, Some(s)),
            Some((TargetSel::Ext(mut t, _), s)) => {
                let mut warnings = Vec::new();
                let mut cx = ParseCtx {
                    family: self.family,
                    backend: self.backend,
                    table: self.table,
                    chain: self.chain,
                    proto: self.proto,
                    span: s,
                    warnings: &mut warnings,
                };
                let r = t.finish(&mut cx);
                self.diags.extend(warnings);
                if let Err(d) = r {
                    return self.err(d);
                }
                if let Some(tb) = t.table() {
                    if tb != self.table {
                        return self.err(
                            Diagnostic::error(
                                code::CONTEXT,
                                s,
                                format!("target {} is only valid in table {tb}", t.name()),
                            )
                            .expected(format!("a target valid in table {}", self.table)),
                        );
                    }
                }
                (Action::Target(t), Some(s))
            }
        };
        let srcs: Vec<Option<(AddrMask, bool)>> = if self.src.is_empty() {
            vec![None]
        } else {
            self.src
                .iter()
                .map(|a| (!a.is_any() || self.src_inv).then_some((*a, self.src_inv)))
                .collect()
        };
        let dsts: Vec<Option<(AddrMask, bool)>> = if self.dst.is_empty() {
            vec![None]
        } else {
            self.dst
                .iter()
                .map(|a| (!a.is_any() || self.dst_inv).then_some((*a, self.dst_inv)))
                .collect()
        };
        let n = srcs.len() * dsts.len();
        let mut out = Vec::with_capacity(n);
        let (mut built, mut action) = (Some(built), Some(action));
        for s in &srcs {
            for d in &dsts {
                // The last rule takes the matches and target; address lists clone them.
                let last = out.len() + 1 == n;
                fn take<T: Clone>(v: &mut Option<T>, last: bool) -> T {
                    if last {
                        v.take().expect("once")
                    } else {
                        v.clone().expect("present")
                    }
                }
                out.push(Rule {
                    span: self.line_span,
                    counters: self.counters,
                    src: *s,
                    dst: *d,
                    iniface: self.iniface.clone(),
                    outiface: self.outiface.clone(),
                    proto: self.proto,
                    frag: self.frag,
                    matches: take(&mut built, last),
                    action: take(&mut action, last),
                    target_span,
                });
            }
        }
        Some(out)
    }
}

// ---------------------------------------------------------------------------------------------
// finalization: canonical chain order, jump indices

fn finalize(st: &mut State) -> Vec<Table> {
    finalize_tables(std::mem::take(&mut st.tables), &mut st.diags)
}

fn finalize_tables(tables: Vec<TableB>, diags: &mut Vec<Diagnostic>) -> Vec<Table> {
    let mut out = Vec::with_capacity(tables.len());
    for tb in tables {
        let mut chains = tb.chains;
        let (mut builtin, mut user): (Vec<Chain>, Vec<Chain>) =
            chains.drain(..).partition(|c| c.hook.is_some());
        builtin.sort_by_key(|c| c.hook);
        user.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        builtin.extend(user);
        let index: HashMap<String, usize> = builtin
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        for c in &mut builtin {
            for r in &mut c.rules {
                if let Action::Jump(cr) | Action::Goto(cr) = &mut r.action {
                    match index.get(&cr.name) {
                        Some(i) => cr.index = *i,
                        None => {
                            // The chain was deleted or renamed after the rule was added.
                            diags.push(
                                Diagnostic::error(
                                    code::UNKNOWN_CHAIN,
                                    r.target_span.unwrap_or(r.span),
                                    format!(
                                        "rule jumps to chain `{}`, which no longer exists",
                                        cr.name
                                    ),
                                )
                                .expected("an existing chain"),
                            );
                        }
                    }
                }
            }
        }
        out.push(Table {
            kind: tb.kind,
            chains: builtin,
            span: tb.span,
        });
    }
    out
}

/// Parse one rule body (what follows `-A CHAIN`) in the context of `table` of `rs`, so that jumps
/// resolve to its chains. Used to try fixes on a copy of a ruleset.
pub fn parse_rule_in(
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
