//! `fwcheck graph`: the picture of a ruleset — the netfilter hooks in kernel order
//! (`NF_INET_PRE_ROUTING` … `NF_INET_POST_ROUTING`), the built-in chain each table registers
//! at each hook in priority order (`nf_hook_entries` sorted by `nf_hook_ops.priority`: raw -300,
//! mangle -150, nat DNAT -100, filter 0, security 50, nat SNAT 100), user chains, jumps and
//! gotos labelled with their rule numbers, policies, hit counts from a replay (the rule and
//! policy counters `iptables -L -v` would show), and chains nothing reaches greyed out.
//!
//! Two outputs from one model: Graphviz DOT, and an SVG fwcheck lays out itself (a fixed grid:
//! hooks down the left in kernel order, each hook's tables to its right in priority order,
//! user chains in columns by jump depth) so that no external tool is needed. Graphviz is not
//! used even when installed: the same input always gives the same picture.

use std::fmt::Write;

use crate::engine::{tables_at, Engine};
use crate::ruleset::model::{Action, Hook, Policy, Ruleset, TableKind};

/// One chain of the picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainNode {
    pub table: TableKind,
    /// Index in the table's chains.
    pub chain: usize,
    pub name: String,
    pub hook: Option<Hook>,
    pub policy: Option<&'static str>,
    pub rules: usize,
    /// Reached from some hook (built-in chains always are).
    pub reachable: bool,
    /// With traffic: packets that matched one of the chain's rules.
    pub(crate) rule_hits: Option<u64>,
    /// With traffic: packets the built-in chain's policy decided.
    pub(crate) policy_hits: Option<u64>,
    /// With traffic: packets that entered a user chain (sum of the jumps and gotos to it).
    pub entered: Option<u64>,
}

impl ChainNode {
    /// The DOT node id: `filter/INPUT`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.table.name(), self.name)
    }
}

/// A `-j CHAIN` or `-g CHAIN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpEdge {
    pub table: TableKind,
    pub from: usize,
    pub to: usize,
    /// 1-based rule number in `from`.
    pub rule: usize,
    pub goto: bool,
    /// With traffic: packets that took it (the rule's counter).
    pub packets: Option<u64>,
}

/// The whole picture.
#[derive(Debug, Clone, Default)]
pub struct Picture {
    pub nodes: Vec<ChainNode>,
    pub edges: Vec<JumpEdge>,
    /// Per hook (kernel order): the built-in chains registered there, in priority order, as
    /// indexes into `nodes`.
    pub hooks: Vec<(Hook, Vec<usize>)>,
}

impl Picture {
    fn node_of(&self, table: TableKind, chain: usize) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.table == table && n.chain == chain)
    }
}

/// Builds the picture of `rs`; with `engine` (after a replay), its counters.
pub fn build(rs: &Ruleset, engine: Option<&Engine<'_>>) -> Picture {
    let (cg, _) = crate::ruleset::graph::build(rs);
    let mut p = Picture::default();
    for (ti, t) in rs.tables.iter().enumerate() {
        let reach = cg
            .table(t.kind)
            .map(|g| g.reach.clone())
            .unwrap_or_default();
        for (ci, c) in t.chains.iter().enumerate() {
            let (rule_hits, policy_hits) = match engine {
                Some(e) => (
                    Some(
                        (0..c.rules.len())
                            .map(|ri| e.rule_counters(ti, ci, ri).packets)
                            .sum(),
                    ),
                    c.hook.map(|_| e.policy_counters(ti, ci).packets),
                ),
                None => (None, None),
            };
            p.nodes.push(ChainNode {
                table: t.kind,
                chain: ci,
                name: c.name.clone(),
                hook: c.hook,
                policy: c.hook.map(|_| c.policy.unwrap_or(Policy::Accept).name()),
                rules: c.rules.len(),
                reachable: c.hook.is_some() || reach.get(ci).is_some_and(|m| !m.is_empty()),
                rule_hits,
                policy_hits,
                entered: None,
            });
            for (ri, r) in c.rules.iter().enumerate() {
                let (to, goto) = match &r.action {
                    Action::Jump(cr) => (cr.index, false),
                    Action::Goto(cr) => (cr.index, true),
                    _ => continue,
                };
                p.edges.push(JumpEdge {
                    table: t.kind,
                    from: ci,
                    to,
                    rule: ri + 1,
                    goto,
                    packets: engine.map(|e| e.rule_counters(ti, ci, ri).packets),
                });
            }
        }
    }
    if engine.is_some() {
        for n in p.nodes.iter_mut().filter(|n| n.hook.is_none()) {
            n.entered = Some(
                p.edges
                    .iter()
                    .filter(|e| e.table == n.table && e.to == n.chain)
                    .filter_map(|e| e.packets)
                    .sum(),
            );
        }
    }
    for hook in Hook::ALL {
        let at: Vec<usize> = tables_at(hook)
            .iter()
            .filter_map(|&k| {
                let t = rs.table(k)?;
                let (ci, _) = t.builtin(hook)?;
                p.node_of(k, ci)
            })
            .collect();
        p.hooks.push((hook, at));
    }
    p
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn node_label(n: &ChainNode) -> Vec<String> {
    let mut l = vec![if n.hook.is_some() {
        format!("{} {}", n.table.name(), n.name)
    } else {
        n.name.clone()
    }];
    let rules = format!("{} rule{}", n.rules, if n.rules == 1 { "" } else { "s" });
    match n.policy {
        Some(p) => l.push(format!("policy {p}, {rules}")),
        None => l.push(rules),
    }
    if let Some(e) = n.entered {
        l.push(format!("entered {e} pkts"));
    }
    if let Some(h) = n.rule_hits {
        let mut s = format!("rules hit {h} pkts");
        if let Some(p) = n.policy_hits {
            let _ = write!(s, ", policy {p}");
        }
        l.push(s);
    }
    if !n.reachable {
        l.push("unreachable".into());
    }
    l
}

fn edge_label(e: &JumpEdge) -> String {
    let mut s = format!("#{} {}", e.rule, if e.goto { "goto" } else { "jump" });
    if let Some(p) = e.packets {
        let _ = write!(s, " ({p} pkts)");
    }
    s
}

/// Graphviz DOT. Node ids are `TABLE/CHAIN` (`hook/NAME` for hooks); jump edges carry
/// `label="#N jump"` or `"#N goto"` with ` (P pkts)` when counted; unreachable chains are grey.
pub fn to_dot(p: &Picture) -> String {
    let mut o = String::new();
    o.push_str("digraph fwcheck {\n");
    o.push_str("  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    o.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
    for (hook, _) in &p.hooks {
        let _ = writeln!(
            o,
            "  \"hook/{0}\" [shape=cds, style=filled, fillcolor=\"#dde8f8\", label=\"{0}\"];",
            hook.chain_name()
        );
    }
    // Routing between the hooks.
    for (a, b, l) in [
        ("PREROUTING", "INPUT", "to this host"),
        ("PREROUTING", "FORWARD", "routed through"),
        ("FORWARD", "POSTROUTING", ""),
        ("OUTPUT", "POSTROUTING", ""),
    ] {
        let _ = writeln!(
            o,
            "  \"hook/{a}\" -> \"hook/{b}\" [style=dotted, color=gray40, label=\"{l}\"];"
        );
    }
    let mut kinds: Vec<TableKind> = p.nodes.iter().map(|n| n.table).collect();
    kinds.dedup();
    for k in kinds {
        let _ = writeln!(
            o,
            "  subgraph \"cluster_{0}\" {{\n    label=\"{0}\";",
            k.name()
        );
        for n in p.nodes.iter().filter(|n| n.table == k) {
            let label = node_label(n)
                .iter()
                .map(|s| esc(s))
                .collect::<Vec<_>>()
                .join("\\n");
            let style = if !n.reachable {
                ", style=\"rounded,dashed,filled\", fillcolor=gray90, color=gray60, fontcolor=gray50"
            } else if n.policy == Some("DROP") {
                ", color=\"#b03030\""
            } else {
                ""
            };
            let _ = writeln!(o, "    \"{}\" [label=\"{label}\"{style}];", esc(&n.id()));
        }
        o.push_str("  }\n");
    }
    for (hook, at) in &p.hooks {
        let mut prev = format!("hook/{}", hook.chain_name());
        for (i, &ni) in at.iter().enumerate() {
            let id = p.nodes[ni].id();
            let _ = writeln!(
                o,
                "  \"{}\" -> \"{}\" [style=bold, color=\"#3060a0\", label=\"{}\"];",
                esc(&prev),
                esc(&id),
                if i == 0 { "1st" } else { "then" }
            );
            prev = id;
        }
    }
    for e in &p.edges {
        let from = p.node_of(e.table, e.from).map(|i| p.nodes[i].id());
        let to = p.node_of(e.table, e.to).map(|i| p.nodes[i].id());
        if let (Some(f), Some(t)) = (from, to) {
            let _ = writeln!(
                o,
                "  \"{}\" -> \"{}\" [label=\"{}\"{}];",
                esc(&f),
                esc(&t),
                esc(&edge_label(e)),
                if e.goto { ", style=dashed" } else { "" }
            );
        }
    }
    o.push_str("}\n");
    o
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An SVG of the picture, laid out on a grid by fwcheck (no Graphviz): hooks in the first
/// column in kernel order, each hook's built-in chains to its right in priority order, user
/// chains in further columns by jump depth.
pub fn to_svg(p: &Picture) -> String {
    const W: i64 = 190;
    const H: i64 = 64;
    const DX: i64 = 250;
    const DY: i64 = 96;
    const M: i64 = 20;
    let mut pos: Vec<Option<(i64, i64)>> = vec![None; p.nodes.len()];
    let mut hook_pos = Vec::new();
    let mut width_cols = 1i64;
    for (row, (hook, at)) in p.hooks.iter().enumerate() {
        hook_pos.push((*hook, (M, M + row as i64 * DY)));
        for (i, &ni) in at.iter().enumerate() {
            pos[ni] = Some((M + (i as i64 + 1) * DX, M + row as i64 * DY));
            width_cols = width_cols.max(i as i64 + 2);
        }
    }
    // User chains: depth = shortest jump distance from a placed chain.
    let mut depth: Vec<Option<usize>> = pos.iter().map(|p| p.map(|_| 0)).collect();
    loop {
        let mut changed = false;
        for e in &p.edges {
            let (Some(f), Some(t)) = (p.node_of(e.table, e.from), p.node_of(e.table, e.to)) else {
                continue;
            };
            if let Some(d) = depth[f] {
                if depth[t].is_none_or(|dt| dt > d + 1) && pos[t].is_none() {
                    depth[t] = Some(d + 1);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let base_col = width_cols;
    let mut rows_in_col: std::collections::BTreeMap<i64, i64> = Default::default();
    let max_depth = depth.iter().flatten().copied().max().unwrap_or(0) as i64;
    for (ni, n) in p.nodes.iter().enumerate() {
        if pos[ni].is_some() {
            continue;
        }
        let col = match depth[ni] {
            Some(d) => base_col + d as i64 - 1,
            None => base_col + max_depth,
        };
        let _ = n;
        let r = rows_in_col.entry(col).or_insert(0);
        pos[ni] = Some((M + col * DX, M + *r * DY));
        *r += 1;
    }
    let max_x = pos.iter().flatten().map(|p| p.0).max().unwrap_or(M) + W + M;
    let max_y = pos
        .iter()
        .flatten()
        .map(|p| p.1)
        .chain(hook_pos.iter().map(|h| h.1 .1))
        .max()
        .unwrap_or(M)
        + H
        + M;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{max_x}\" height=\"{max_y}\" \
         viewBox=\"0 0 {max_x} {max_y}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">"
    );
    o.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#444\"/></marker></defs>\n",
    );
    o.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let line = |o: &mut String,
                (x1, y1): (i64, i64),
                (x2, y2): (i64, i64),
                style: &str,
                label: &str| {
        let (sx, sy, ex, ey) = if x2 > x1 {
            (x1 + W, y1 + H / 2, x2, y2 + H / 2)
        } else if x2 < x1 {
            (x1, y1 + H / 2, x2 + W, y2 + H / 2)
        } else if y2 > y1 {
            (x1 + W / 2, y1 + H, x2 + W / 2, y2)
        } else {
            (x1 + W / 2, y1, x2 + W / 2, y2 + H)
        };
        let _ = writeln!(
            o,
            "<line x1=\"{sx}\" y1=\"{sy}\" x2=\"{ex}\" y2=\"{ey}\" stroke=\"#444\" {style} marker-end=\"url(#arrow)\"/>"
        );
        if !label.is_empty() {
            let _ = writeln!(
                o,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\" fill=\"#333\">{}</text>",
                (sx + ex) / 2,
                (sy + ey) / 2 - 4,
                xml(label)
            );
        }
    };
    for (hook, at) in &p.hooks {
        let hp = hook_pos
            .iter()
            .find(|h| h.0 == *hook)
            .map(|h| h.1)
            .unwrap_or((M, M));
        let mut prev = hp;
        for &ni in at {
            if let Some(np) = pos[ni] {
                line(&mut o, prev, np, "stroke-width=\"2\"", "");
                prev = np;
            }
        }
    }
    for e in &p.edges {
        let (Some(f), Some(t)) = (p.node_of(e.table, e.from), p.node_of(e.table, e.to)) else {
            continue;
        };
        if let (Some(a), Some(b)) = (pos[f], pos[t]) {
            let style = if e.goto {
                "stroke-dasharray=\"6 4\""
            } else {
                ""
            };
            line(&mut o, a, b, style, &edge_label(e));
        }
    }
    for (hook, (x, y)) in &hook_pos {
        let _ = writeln!(
            o,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{W}\" height=\"{H}\" rx=\"4\" fill=\"#dde8f8\" stroke=\"#3060a0\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">hook {}</text>",
            x + W / 2,
            y + H / 2 + 4,
            hook.chain_name()
        );
    }
    for (ni, n) in p.nodes.iter().enumerate() {
        let Some((x, y)) = pos[ni] else { continue };
        let (fill, stroke, text) = if !n.reachable {
            ("#eeeeee", "#999999", "#888888")
        } else if n.policy == Some("DROP") {
            ("#fff4f4", "#b03030", "#000000")
        } else {
            ("#ffffff", "#444444", "#000000")
        };
        let dash = if n.reachable {
            ""
        } else {
            " stroke-dasharray=\"4 3\""
        };
        let _ = writeln!(
            o,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{W}\" height=\"{H}\" rx=\"8\" fill=\"{fill}\" stroke=\"{stroke}\"{dash}/>"
        );
        for (i, l) in node_label(n).iter().enumerate() {
            let _ = writeln!(
                o,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{text}\"{}>{}</text>",
                x + W / 2,
                y + 16 + i as i64 * 14,
                if i == 0 { " font-weight=\"bold\"" } else { "" },
                xml(l)
            );
        }
    }
    o.push_str("</svg>\n");
    o
}
