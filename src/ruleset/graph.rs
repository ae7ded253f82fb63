//! Chain graph per table (petgraph): nodes are chains, edges are `-j`/`-g` jumps carrying the
//! rule. From it: jump loops (an error — the kernel's `mark_source_chains` refuses them), the
//! hooks each chain is reachable from (to check targets and matches that are only valid at some
//! hooks, as `xt_check_target` does), user chains nothing reaches, and rules that follow an
//! unconditional terminal rule.

use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::diag::Diagnostic;
use crate::ruleset::model::*;

pub use crate::diag::codes as code;

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

/// The first error of the checks the kernel makes when it commits a table (a jump loop a hook
/// reaches, jumps nested too deep, a target or match at a hook it cannot be used at): what
/// makes iptables refuse `rs` (`--what-if`, `fwcheck steps`).
pub fn commit_error(rs: &Ruleset) -> Option<Diagnostic> {
    build(rs).1.into_iter().find(Diagnostic::is_error)
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
        // Loops.
        let mut in_loop = vec![false; t.chains.len()];
        // Kosaraju (iterative DFS): tarjan_scc recurses once per chain of a jump path and overflows
        // the stack on deep chains (100,000 nested jumps).
        for scc in kosaraju_scc(&g) {
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
            // The kernel checks the chains its hooks reach (`mark_source_chains`; nf_tables
            // when a jump is added to a reachable chain): a loop nothing reaches loads (checked
            // with iptables 1.8.9, nft and legacy), and a jump into it would then be refused.
            let reachable = scc.iter().any(|n| !reach[n.index()].is_empty());
            if let Some((ci, ri)) = first {
                let r = &t.chains[ci].rules[ri];
                let at = r.target_span.unwrap_or(r.span);
                let what = format!("jump loop between chains {}", names.join(" -> "));
                diags.push(if reachable {
                    Diagnostic::error(code::LOOP, at, what)
                        .expected("jumps that never lead back to a chain already on the path")
                        .note("iptables refuses to load a table with a loop (ELOOP)")
                } else {
                    Diagnostic::warning(
                        code::UNREACHABLE_CHAIN,
                        at,
                        format!("{what}, which no built-in chain reaches"),
                    )
                    .note(
                        "the table loads (the kernel checks only the chains its hooks reach), \
                         but a jump to any of these chains will be refused (ELOOP)",
                    )
                });
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
        if rs.backend == crate::ext::Backend::Nft {
            nesting(t, &g, &in_loop, &mut diags);
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
                for m in r.matches.iter() {
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

/// nf_tables' jump stack (`NFT_JUMP_STACK_SIZE`): the kernel validates every chain reachable
/// from a base chain at its jump level (base chain 0) and refuses a chain at level 16 with
/// EMLINK ("Too many links", found with iptables-nft-restore 1.8.9: 15 nested jumps load, 16 do
/// not; `-g` counts like `-j`; chains no base chain reaches are not checked).
pub(crate) const NFT_JUMP_STACK: u32 = 16;

/// E112 under nf_tables: each rule whose jump puts a chain at level 16, naming the longest path.
/// Longest path over the DAG of non-loop chains, in topological order (Kahn): iterative, linear in
/// chains + jumps, whatever the depth.
fn nesting(t: &Table, g: &DiGraph<usize, Edge>, in_loop: &[bool], diags: &mut Vec<Diagnostic>) {
    let n = t.chains.len();
    let mut indeg = vec![0u32; n];
    for e in g.edge_references() {
        let (s, d) = (e.source().index(), e.target().index());
        if !in_loop[s] && !in_loop[d] {
            indeg[d] += 1;
        }
    }
    // Longest jump level from a built-in chain, and the chain before it on that path.
    let mut depth: Vec<Option<u32>> = t.chains.iter().map(|c| c.hook.map(|_| 0)).collect();
    let mut pred: Vec<Option<usize>> = vec![None; n];
    let mut queue: Vec<usize> = (0..n).filter(|&i| !in_loop[i] && indeg[i] == 0).collect();
    let mut too_deep: Vec<(usize, usize, usize)> = Vec::new();
    while let Some(u) = queue.pop() {
        for e in g.edges(NodeIndex::new(u)) {
            let v = e.target().index();
            if in_loop[v] {
                continue;
            }
            if let Some(d) = depth[u] {
                let nd = d.saturating_add(1);
                if nd == NFT_JUMP_STACK {
                    too_deep.push((u, e.weight().rule, v));
                }
                if depth[v].is_none_or(|old| nd > old) {
                    depth[v] = Some(nd);
                    pred[v] = Some(u);
                }
            }
            indeg[v] -= 1;
            if indeg[v] == 0 {
                queue.push(v);
            }
        }
    }
    too_deep.sort_unstable();
    for (u, ri, v) in too_deep {
        // The path to `u` is 15 jumps long: walk it back.
        let mut path = vec![t.chains[v].name.as_str(), t.chains[u].name.as_str()];
        let mut c = u;
        while let Some(p) = pred[c] {
            path.push(t.chains[p].name.as_str());
            c = p;
        }
        path.reverse();
        let r = &t.chains[u].rules[ri];
        diags.push(
            Diagnostic::error(
                code::NESTING,
                r.target_span.unwrap_or(r.span),
                format!(
                    "chain `{}` is nested {NFT_JUMP_STACK} jumps deep: {}",
                    t.chains[v].name,
                    path.join(" -> ")
                ),
            )
            .expected(format!(
                "at most {} nested jumps from a built-in chain under nf_tables",
                NFT_JUMP_STACK - 1
            ))
            .note("iptables-nft-restore fails with \"Too many links\" (the kernel's nf_tables jump stack holds 16 levels); iptables-legacy loads it (--backend legacy)"),
        );
    }
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
        code::CONTEXT,
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
