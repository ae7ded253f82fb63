//! The in-memory ruleset: tables, chains, rules with their source spans.
//!
//! Chains are stored in the canonical order `iptables-save` prints them (built-in chains in hook
//! order, then user chains sorted by name), so a chain's index is stable and jumps refer to chains
//! by index.

use std::sync::Arc;

use serde::Serialize;

use crate::diag::{SourceFile, Span};
use crate::ext::{Match, Target};
pub use crate::netfilter::{AddrMask, Backend, Family, Hook, HookMask, Ipv6Ntop, TableKind};

/// Built-in chain policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Policy {
    #[serde(rename = "ACCEPT")]
    Accept,
    #[serde(rename = "DROP")]
    Drop,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Accept => "ACCEPT",
            Policy::Drop => "DROP",
        }
    }
}

/// Packet and byte counters as `iptables-save -c` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// The whole parsed input.
#[derive(Debug, Clone)]
pub struct Ruleset {
    pub source: Arc<SourceFile>,
    pub family: Family,
    /// The iptables the ruleset is loaded with (nf_tables limits jump nesting, legacy does not).
    pub backend: crate::ext::Backend,
    /// Tables in the order they first appear in the input.
    pub tables: Vec<Table>,
}

impl Ruleset {
    pub fn table(&self, kind: TableKind) -> Option<&Table> {
        self.tables.iter().find(|t| t.kind == kind)
    }

    /// Total number of rules in all tables.
    pub fn rule_count(&self) -> usize {
        self.tables
            .iter()
            .flat_map(|t| &t.chains)
            .map(|c| c.rules.len())
            .sum()
    }

    /// The order the kernel checks (`checkentry`) the rules in when the ruleset is loaded:
    /// `(table, chain, rule)` indexes. Commands (a script) and nf_tables (each rule added in
    /// the transaction as it is read) load rules in the order they appear. A legacy restore
    /// file loads each table at its COMMIT as one blob, whose layout libiptc makes: the
    /// built-in chains in hook order, then the user chains sorted by name (`iptc_insert_chain`),
    /// each chain's rules in order.
    pub(crate) fn load_order(&self) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::with_capacity(self.rule_count());
        let script = super::parser::detect_format(&self.source.text) == super::InputFormat::Script;
        if self.backend == crate::ext::Backend::Nft || script {
            for (t, table) in self.tables.iter().enumerate() {
                for (c, chain) in table.chains.iter().enumerate() {
                    out.extend((0..chain.rules.len()).map(|r| (t, c, r)));
                }
            }
            out.sort_by_key(|&(t, c, r)| self.tables[t].chains[c].rules[r].span.start);
            return out;
        }
        for (t, table) in self.tables.iter().enumerate() {
            let mut chains: Vec<usize> = (0..table.chains.len()).collect();
            chains.sort_by(|&a, &b| {
                let (x, y) = (&table.chains[a], &table.chains[b]);
                match (x.hook, y.hook) {
                    (Some(p), Some(q)) => p.cmp(&q),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => x.name.as_bytes().cmp(y.name.as_bytes()),
                }
            });
            for c in chains {
                out.extend((0..table.chains[c].rules.len()).map(|r| (t, c, r)));
            }
        }
        out
    }

    /// 1-based line of a span in the source.
    pub fn line_of(&self, span: Span) -> usize {
        self.source.line_of(span.start as usize)
    }
}

/// One table block (`*filter … COMMIT`), possibly merged from several blocks.
#[derive(Debug, Clone)]
pub struct Table {
    pub kind: TableKind,
    /// Built-in chains in hook order, then user chains sorted by name (byte order).
    pub chains: Vec<Chain>,
    /// Span of the first `*table` line.
    pub span: Span,
}

impl Table {
    pub fn chain_index(&self, name: &str) -> Option<usize> {
        self.chains.iter().position(|c| c.name == name)
    }
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
    pub fn builtin(&self, hook: Hook) -> Option<(usize, &Chain)> {
        self.chains
            .iter()
            .enumerate()
            .find(|(_, c)| c.hook == Some(hook))
    }
}

#[derive(Debug, Clone)]
pub struct Chain {
    pub name: String,
    /// The hook of a built-in chain; `None` for user chains.
    pub hook: Option<Hook>,
    /// Policy of a built-in chain (ACCEPT when not declared).
    pub policy: Option<Policy>,
    pub counters: Counters,
    pub rules: Vec<Rule>,
    /// Span of the declaration (`:NAME POLICY [p:b]` or `-N NAME`); default span when implicit.
    pub span: Span,
    /// Whether the input declared the chain (built-ins may be implicit).
    pub declared: bool,
}

impl Chain {
    pub(crate) fn is_builtin(&self) -> bool {
        self.hook.is_some()
    }
}

/// `-i`/`-o`: interface name, with `+` as a trailing wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct IfaceMatch {
    /// The name as written, including a trailing `+`.
    pub name: String,
    pub invert: bool,
}

impl IfaceMatch {
    /// Kernel semantics of `ifname_compare_aligned` with the mask `xtables_parse_interface`
    /// builds: `eth+` is a prefix match on `eth` (`+` alone matches every name, also the empty
    /// one); otherwise an exact comparison. `dev` is `""` when the hook has no such device.
    #[inline]
    pub fn matches(&self, dev: &str) -> bool {
        let hit = match self.name.strip_suffix('+') {
            Some(prefix) => dev.as_bytes().starts_with(prefix.as_bytes()),
            None => dev == self.name,
        };
        hit != self.invert
    }
}

/// What a rule does when it matches.
#[derive(Debug, Clone)]
pub enum Action {
    /// No `-j`: only counters are updated and traversal continues.
    None,
    Accept,
    Drop,
    Return,
    /// `-j QUEUE` (NF_QUEUE to queue 0).
    Queue,
    /// `-j CHAIN`: push a return point and continue in the chain.
    Jump(ChainRef),
    /// `-g CHAIN`: continue in the chain without a return point.
    Goto(ChainRef),
    /// An extension target (`REJECT`, `LOG`, `DNAT`, …).
    Target(Arc<dyn Target>),
}

impl Action {
    /// Whether the action always ends the traversal of the table for a matching packet.
    pub fn is_terminal(&self) -> bool {
        match self {
            Action::Accept | Action::Drop | Action::Queue | Action::Return | Action::Goto(_) => {
                true
            }
            Action::Target(t) => t.is_terminal(),
            Action::None | Action::Jump(_) => false,
        }
    }

    pub(crate) fn chain_ref(&self) -> Option<&ChainRef> {
        match self {
            Action::Jump(c) | Action::Goto(c) => Some(c),
            _ => None,
        }
    }
}

/// A reference to a chain of the same table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRef {
    pub name: String,
    /// Index into [`Table::chains`].
    pub index: usize,
}

/// One match of a rule (`-m NAME options…`).
#[derive(Debug, Clone)]
pub struct MatchEntry {
    pub module: Arc<dyn Match>,
    /// From `-m` (or the first option of an implicit match) to its last option.
    pub span: Span,
    /// Loaded implicitly by `-p PROTO` without `-m PROTO`.
    pub implicit: bool,
}

/// One rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The whole rule line (from `-A`/`-I`/`[counters]` to its end).
    pub span: Span,
    /// Counters from `[p:b]` or `-c p b`.
    pub counters: Option<Counters>,
    pub src: Option<(AddrMask, bool)>,
    pub dst: Option<(AddrMask, bool)>,
    pub(crate) iniface: Option<IfaceMatch>,
    pub(crate) outiface: Option<IfaceMatch>,
    /// `-p`: protocol number (never 0) and whether it is negated.
    pub proto: Option<(u8, bool)>,
    /// `-f` (false) or `! -f` (true).
    pub frag: Option<bool>,
    pub matches: Arc<[MatchEntry]>,
    pub action: Action,
    /// Span of the `-j`/`-g` target token.
    pub(crate) target_span: Option<Span>,
}

impl Rule {
    /// True when the rule has no conditions at all (header or match).
    pub(crate) fn is_unconditional(&self) -> bool {
        self.src.is_none()
            && self.dst.is_none()
            && self.iniface.is_none()
            && self.outiface.is_none()
            && self.proto.is_none()
            && self.frag.is_none()
            && self.matches.iter().all(|m| m.module.always_true())
    }
}
