//! The parser's state while a file is read: the tables being built (iptables-restore's
//! per-table handle, `xtc_handle` in libiptc), and the final step that orders chains as
//! `iptables-save` lists them and resolves jumps to chain indices (what `TC_COMMIT` checks:
//! a rule jumping to a chain that no longer exists).

use super::*;

pub(super) struct State {
    pub(super) backend: Backend,
    pub(super) family: Family,
    pub(super) tables: Vec<TableB>,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) source: Arc<SourceFile>,
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
    let mut out = Vec::with_capacity(st.tables.len());
    for tb in std::mem::take(&mut st.tables) {
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
                            st.diags.push(
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
