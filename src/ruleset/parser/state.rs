//! The parser's state while a file is read: the tables being built (iptables-restore's
//! per-table handle, `xtc_handle` in libiptc), and the final step that orders chains as
//! `iptables-save` lists them and resolves jumps to chain indices (what `TC_COMMIT` checks:
//! a rule jumping to a chain that no longer exists).

use super::*;

pub(super) struct State<'s> {
    pub(super) backend: Backend,
    pub(super) family: Family,
    /// The host's sets (`ParseOptions::ipsets`).
    pub(super) ipsets: Option<Arc<IpSets>>,
    pub(super) tables: Vec<TableB>,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) source: Arc<SourceFile>,
    /// `iptables-restore --noflush`: a `*table` line keeps the table's chains and rules (a
    /// declared user chain that exists is flushed, a built-in chain gets the declared policy).
    pub(super) noflush: bool,
    /// Tables opened by a `*table` line of this input (a second block of one replaces the first).
    pub(super) opened: Vec<TableKind>,
    /// Called after each command of a script and at each COMMIT of restore input.
    pub(super) on_step: Option<&'s mut dyn FnMut(AppliedStep<'_>)>,
    /// Commands of a script the kernel refuses when it commits their table (found by
    /// `fwcheck steps`, [`super::apply_refusing`]): each is an error at the command's span,
    /// and the command changes nothing.
    pub(super) refused: Vec<Diagnostic>,
}

impl<'s> State<'s> {
    pub(super) fn new(source: Arc<SourceFile>, opts: &ParseOptions) -> State<'s> {
        State {
            family: opts.family,
            backend: opts.backend,
            ipsets: opts.ipsets.clone(),
            tables: Vec::new(),
            diags: Vec::new(),
            source,
            noflush: false,
            opened: Vec::new(),
            on_step: None,
            refused: Vec::new(),
        }
    }

    /// Tell the step observer, if any, that the command at `span` was applied. The ruleset
    /// of the step is built only if the observer asks for it ([`AppliedStep::ruleset`]): a
    /// script of thousands of commands would otherwise copy its growing tables at each one.
    pub(super) fn step(&mut self, span: Span, changes: bool, errors_before: usize) {
        if self.on_step.is_none() {
            return;
        }
        let errors = self.error_count() > errors_before;
        let step = AppliedStep {
            span,
            changes,
            errors,
            tables: &self.tables,
            source: &self.source,
            family: self.family,
            backend: self.backend,
        };
        if let Some(f) = self.on_step.as_mut() {
            f(step);
        }
    }

    pub(super) fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }
}

/// What [`apply`] reports after each step: a command of a script (`iptables -P INPUT DROP`), or
/// a table block of restore input at its COMMIT (iptables-restore applies a block at once).
pub struct AppliedStep<'a> {
    /// The command (script) or the block from its `*table` line to its COMMIT (restore).
    pub span: Span,
    /// False for read-only commands (`-L`, `-S`, `-C`): the ruleset is the previous step's.
    pub changes: bool,
    /// The step had an error: it was not (or only partly) applied.
    pub errors: bool,
    tables: &'a [TableB],
    source: &'a Arc<SourceFile>,
    family: Family,
    backend: Backend,
}

impl AppliedStep<'_> {
    /// The ruleset after the step (built now, from the tables as the step left them).
    pub fn ruleset(&self) -> Ruleset {
        let mut scratch = Vec::new();
        Ruleset {
            source: self.source.clone(),
            family: self.family,
            backend: self.backend,
            tables: finalize_tables(self.tables.to_vec(), &mut scratch),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct TableB {
    pub(super) kind: TableKind,
    pub(super) span: Span,
    pub(super) chains: Vec<Chain>,
    /// Chain name → index in `chains` (rulesets such as kube-proxy's have thousands of chains).
    pub(super) index: foldhash::HashMap<String, usize>,
}

impl TableB {
    pub(super) fn new(kind: TableKind, span: Span) -> TableB {
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
    pub(super) fn reindex(&mut self) {
        self.index = self
            .chains
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
    }
    pub(super) fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
    pub(super) fn push_chain(&mut self, c: Chain) {
        self.index.insert(c.name.clone(), self.chains.len());
        self.chains.push(c);
    }
    pub(super) fn chain(&self, name: &str) -> Option<&Chain> {
        self.position(name).map(|i| &self.chains[i])
    }
    pub(super) fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.position(name).map(|i| &mut self.chains[i])
    }
    pub(super) fn has_chain(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }
}

pub(super) fn finalize(st: &mut State) -> Vec<Table> {
    finalize_tables(std::mem::take(&mut st.tables), &mut st.diags)
}

pub(super) fn finalize_tables(tables: Vec<TableB>, diags: &mut Vec<Diagnostic>) -> Vec<Table> {
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
