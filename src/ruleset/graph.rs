//! Chain graph per table (petgraph): nodes are chains, edges are `-j`/`-g` jumps carrying the
//! rule. From it: jump loops (an error — the kernel's `mark_source_chains` refuses them), the
//! hooks each chain is reachable from (to check targets and matches that are only valid at some
//! hooks, as `xt_check_target` does), user chains nothing reaches, and rules that follow an
//! unconditional terminal rule.

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::diag::Diagnostic;
use crate::ruleset::model::*;

pub mod code {
    pub const LOOP: &str = "E110";
    pub const HOOK: &str = "E109";
    pub const UNREACHABLE_CHAIN: &str = "FW102";
    pub const AFTER_TERMINAL: &str = "FW101";
}

/// A jump or goto between chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Index of the rule in the source chain.
    pub rule: usize,
    pub goto: bool,
}

#[derive(Debug, Clone)]
pub struct TableGraph {
    pub kind: TableKind,
    /// Node weights are chain indices; node `i` is chain `i`.
    pub graph: DiGraph<usize, Edge>,
    /// Hooks each chain is reachable from.
    pub reach: Vec<HookMask>,
}

impl TableGraph {
    pub fn node(&self, chain: usize) -> NodeIndex {
        NodeIndex::new(chain)
    }
    /// Chains reachable from no hook.
    pub fn unreachable(&self) -> impl Iterator<Item = usize> + '_ {
        self.reach
            .iter()
            .enumerate()
            .filter(|(_, m)| m.is_empty())
            .map(|(i, _)| i)
    }
}

#[derive(Debug, Clone, Default)]
pub struct ChainGraph {
    pub tables: Vec<TableGraph>,
}

impl ChainGraph {
    pub fn table(&self, kind: TableKind) -> Option<&TableGraph> {
        self.tables.iter().find(|t| t.kind == kind)
    }
}

/// Build the graph of every table and report structural problems.
pub fn build(rs: &Ruleset) -> (ChainGraph, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut tables = Vec::with_capacity(rs.tables.len());
    for t in &rs.tables {
        let mut g: DiGraph<usize, Edge> = DiGraph::with_capacity(t.chains.len(), 16);
        for i in 0..t.chains.len() {
            g.add_node(i);
        }
        for (ci, c) in t.chains.iter().enumerate() {
            for (ri, r) in c.rules.iter().enumerate() {
                if let Some(cr) = r.action.chain_ref() {
                    if cr.index < t.chains.len() {
                        g.add_edge(
                            NodeIndex::new(ci),
                            NodeIndex::new(cr.index),
                            Edge {
                                rule: ri,
                                goto: matches!(r.action, Action::Goto(_)),
                            },
                        );
                    }
                }
            }
        }
        // Loops.
        let mut in_loop = vec![false; t.chains.len()];
        for scc in tarjan_scc(&g) {
            let cyclic = scc.len() > 1 || g.edges_connecting(scc[0], scc[0]).next().is_some();
            if !cyclic {
                continue;
            }
            for n in &scc {
                in_loop[n.index()] = true;
            }
            // Report at the first jump inside the cycle (in chain order).
            let mut nodes: Vec<usize> = scc.iter().map(|n| n.index()).collect();
            nodes.sort_unstable();
            let names: Vec<&str> = nodes.iter().map(|i| t.chains[*i].name.as_str()).collect();
            let first = nodes
                .iter()
                .flat_map(|ci| g.edges(NodeIndex::new(*ci)).map(move |e| (*ci, e)))
                .filter(|(_, e)| nodes.contains(&e.target().index()))
                .map(|(ci, e)| (ci, e.weight().rule))
                .min();
            if let Some((ci, ri)) = first {
                let r = &t.chains[ci].rules[ri];
                diags.push(
                    Diagnostic::error(
                        code::LOOP,
                        r.target_span.unwrap_or(r.span),
                        format!("jump loop between chains {}", names.join(" -> ")),
                    )
                    .expected("jumps that never lead back to a chain already on the path")
                    .note("iptables refuses to load a table with a loop (ELOOP)"),
                );
            }
        }
        // Reachability from each built-in chain.
        let mut reach = vec![HookMask::default(); t.chains.len()];
        for (ci, c) in t.chains.iter().enumerate() {
            let Some(h) = c.hook else { continue };
            let mut stack = vec![ci];
            while let Some(n) = stack.pop() {
                if reach[n].contains(h) {
                    continue;
                }
                reach[n].0 |= h.bit();
                for e in g.edges(NodeIndex::new(n)) {
                    stack.push(e.target().index());
                }
            }
        }
        for (ci, c) in t.chains.iter().enumerate() {
            if c.hook.is_none() && reach[ci].is_empty() && !in_loop[ci] {
                diags.push(
                    Diagnostic::warning(code::UNREACHABLE_CHAIN, c.span, format!("chain `{}` is never reached", c.name))
                        .note(format!("no rule of a built-in chain of table {} leads to it; its {} rule(s) never run", t.kind, c.rules.len())),
                );
            }
        }
        // Targets and matches valid only at some hooks.
        for (ci, c) in t.chains.iter().enumerate() {
            let hooks = reach[ci];
            for r in &c.rules {
                if let Action::Target(tg) = &r.action {
                    let bad = HookMask(hooks.0 & !tg.hooks().0);
                    if !bad.is_empty() {
                        diags.push(hook_diag(
                            tg.display_name(),
                            "target",
                            r.target_span.unwrap_or(r.span),
                            &c.name,
                            bad,
                            tg.hooks(),
                        ));
                    }
                }
                for m in &r.matches {
                    let bad = HookMask(hooks.0 & !m.module.hooks().0);
                    if !bad.is_empty() {
                        diags.push(hook_diag(
                            m.module.display_name(),
                            "match",
                            m.span,
                            &c.name,
                            bad,
                            m.module.hooks(),
                        ));
                    }
                }
            }
        }
        // Rules after an unconditional terminal rule.
        for c in &t.chains {
            if let Some(pos) = c
                .rules
                .iter()
                .position(|r| r.is_unconditional() && r.action.is_terminal())
            {
                if pos + 1 < c.rules.len() {
                    let term = &c.rules[pos];
                    let line = rs.line_of(term.span);
                    let n = c.rules.len() - pos - 1;
                    let first = &c.rules[pos + 1];
                    diags.push(
                        Diagnostic::warning(code::AFTER_TERMINAL, first.span, format!("{n} rule(s) in chain {} can never match", c.name))
                            .note(format!("the rule on line {line} ({}) ends every traversal of the chain before them", crate::ruleset::printer::rule_text(&c.name, term).trim())),
                    );
                }
            }
        }
        tables.push(TableGraph {
            kind: t.kind,
            graph: g,
            reach,
        });
    }
    (ChainGraph { tables }, diags)
}

fn hook_diag(
    name: &str,
    what: &str,
    span: crate::diag::Span,
    chain: &str,
    bad: HookMask,
    valid: HookMask,
) -> Diagnostic {
    let bad: Vec<&str> = bad.iter().map(|h| h.chain_name()).collect();
    let valid: Vec<&str> = valid.iter().map(|h| h.chain_name()).collect();
    Diagnostic::error(
        code::HOOK,
        span,
        format!(
            "{what} {name} is not valid from {} (chain {chain} is reached from there)",
            bad.join(", ")
        ),
    )
    .expected(format!(
        "{name} only in chains reached from {}",
        valid.join(", ")
    ))
}
