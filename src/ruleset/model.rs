//! The in-memory ruleset: tables, chains, rules with their source spans.
//!
//! Chains are stored in the canonical order `iptables-save` prints them (built-in chains in hook
//! order, then user chains sorted by name), so a chain's index is stable and jumps refer to chains
//! by index.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use serde::Serialize;

use crate::diag::{SourceFile, Span};
use crate::ext::{Match, Target};
pub use crate::packet::Family;

/// The five iptables tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    Raw,
    Mangle,
    Nat,
    Filter,
    Security,
}

impl TableKind {
    pub const ALL: [TableKind; 5] = [
        TableKind::Raw,
        TableKind::Mangle,
        TableKind::Nat,
        TableKind::Filter,
        TableKind::Security,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TableKind::Raw => "raw",
            TableKind::Mangle => "mangle",
            TableKind::Nat => "nat",
            TableKind::Filter => "filter",
            TableKind::Security => "security",
        }
    }

    pub fn from_name(s: &str) -> Option<TableKind> {
        TableKind::ALL.into_iter().find(|t| t.name() == s)
    }

    /// Built-in chains of the table, in the order `iptables-save` prints them.
    pub fn builtin_hooks(self) -> &'static [Hook] {
        use Hook::*;
        match self {
            TableKind::Raw => &[Prerouting, Output],
            TableKind::Mangle => &[Prerouting, Input, Forward, Output, Postrouting],
            TableKind::Nat => &[Prerouting, Input, Output, Postrouting],
            TableKind::Filter | TableKind::Security => &[Input, Forward, Output],
        }
    }
}

impl fmt::Display for TableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Netfilter hooks, i.e. the built-in chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    pub const ALL: [Hook; 5] = [
        Hook::Prerouting,
        Hook::Input,
        Hook::Forward,
        Hook::Output,
        Hook::Postrouting,
    ];

    pub fn chain_name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }

    pub fn from_chain_name(s: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.chain_name() == s)
    }

    /// Bit for hook masks (`1 << NF_INET_*`).
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Hooks at which a packet has an input device.
    pub fn has_indev(self) -> bool {
        matches!(self, Hook::Prerouting | Hook::Input | Hook::Forward)
    }

    /// Hooks at which a packet has an output device.
    pub fn has_outdev(self) -> bool {
        matches!(self, Hook::Forward | Hook::Output | Hook::Postrouting)
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.chain_name())
    }
}

/// A set of hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HookMask(pub u8);

impl HookMask {
    pub const ALL: HookMask = HookMask(0x1f);
    pub fn of(hooks: &[Hook]) -> HookMask {
        HookMask(hooks.iter().fold(0, |m, h| m | h.bit()))
    }
    pub fn contains(self, h: Hook) -> bool {
        self.0 & h.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Hook> {
        Hook::ALL.into_iter().filter(move |h| self.contains(*h))
    }
}

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
    pub fn is_builtin(&self) -> bool {
        self.hook.is_some()
    }
}

/// An address with a (possibly non-contiguous) mask, for `-s`/`-d` and similar options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrMask {
    V4 { addr: u32, mask: u32 },
    V6 { addr: u128, mask: u128 },
}

impl AddrMask {
    /// Does `ip` fall in this address/mask? Family mismatch never matches.
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (AddrMask::V4 { addr, mask }, IpAddr::V4(a)) => u32::from(a) & mask == *addr,
            (AddrMask::V6 { addr, mask }, IpAddr::V6(a)) => u128::from(a) & mask == *addr,
            _ => false,
        }
    }

    /// The mask as a prefix length, if it is contiguous.
    pub fn prefix_len(&self) -> Option<u8> {
        match *self {
            AddrMask::V4 { mask, .. } => {
                let l = mask.leading_ones();
                (mask.checked_shl(l).unwrap_or(0) == 0).then_some(l as u8)
            }
            AddrMask::V6 { mask, .. } => {
                let l = mask.leading_ones();
                (mask.checked_shl(l).unwrap_or(0) == 0).then_some(l as u8)
            }
        }
    }

    pub fn is_any(&self) -> bool {
        match *self {
            AddrMask::V4 { mask, .. } => mask == 0,
            AddrMask::V6 { mask, .. } => mask == 0,
        }
    }

    pub fn addr(&self) -> IpAddr {
        match *self {
            AddrMask::V4 { addr, .. } => IpAddr::V4(Ipv4Addr::from(addr)),
            AddrMask::V6 { addr, .. } => IpAddr::V6(Ipv6Addr::from(addr)),
        }
    }
}

impl fmt::Display for AddrMask {
    /// The form `iptables-save` prints: `a.b.c.d/len`, or `a.b.c.d/m.m.m.m` for a
    /// non-contiguous mask (IPv6 likewise with a full address as mask).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (*self, self.prefix_len()) {
            (AddrMask::V4 { addr, .. }, Some(l)) => write!(f, "{}/{}", Ipv4Addr::from(addr), l),
            (AddrMask::V4 { addr, mask }, None) => {
                write!(f, "{}/{}", Ipv4Addr::from(addr), Ipv4Addr::from(mask))
            }
            (AddrMask::V6 { addr, .. }, Some(l)) => write!(f, "{}/{}", Ipv6Ntop(addr), l),
            (AddrMask::V6 { addr, mask }, None) => {
                write!(f, "{}/{}", Ipv6Ntop(addr), Ipv6Ntop(mask))
            }
        }
    }
}

/// An IPv6 address printed as glibc's `inet_ntop` does, which is what iptables prints. It is
/// Rust's formatting except for IPv4-compatible addresses: when the first six groups are zero
/// and that run is the longest, glibc prints the last 32 bits as a dotted quad (`::1.2.3.4`,
/// also `::0.1.0.2` for `::1:2`), while `::2` stays `::2` (the zero run is seven groups).
pub struct Ipv6Ntop(pub u128);

impl fmt::Display for Ipv6Ntop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = Ipv6Addr::from(self.0);
        let w = a.segments();
        // glibc: the longest run of zero groups (first one on ties, at least 2 long).
        let (mut best, mut best_len, mut cur, mut cur_len) = (None, 0, 0, 0);
        for (i, g) in w.iter().enumerate() {
            if *g == 0 {
                if cur_len == 0 {
                    cur = i;
                }
                cur_len += 1;
                if cur_len > best_len {
                    best = Some(cur);
                    best_len = cur_len;
                }
            } else {
                cur_len = 0;
            }
        }
        if best == Some(0) && best_len == 6 {
            let v4 = Ipv4Addr::from(self.0 as u32);
            return write!(f, "::{v4}");
        }
        write!(f, "{a}")
    }
}

/// `-i`/`-o`: interface name, with `+` as a trailing wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IfaceMatch {
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
    Target(Box<dyn Target>),
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

    pub fn chain_ref(&self) -> Option<&ChainRef> {
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
    pub module: Box<dyn Match>,
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
    pub iniface: Option<IfaceMatch>,
    pub outiface: Option<IfaceMatch>,
    /// `-p`: protocol number (never 0) and whether it is negated.
    pub proto: Option<(u8, bool)>,
    /// `-f` (false) or `! -f` (true).
    pub frag: Option<bool>,
    pub matches: Vec<MatchEntry>,
    pub action: Action,
    /// Span of the `-j`/`-g` target token.
    pub target_span: Option<Span>,
}

impl Rule {
    /// True when the rule has no conditions at all (header or match).
    pub fn is_unconditional(&self) -> bool {
        self.src.is_none()
            && self.dst.is_none()
            && self.iniface.is_none()
            && self.outiface.is_none()
            && self.proto.is_none()
            && self.frag.is_none()
            && self.matches.iter().all(|m| m.module.always_true())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_printed_like_glibc() {
        let p = |s: &str| Ipv6Ntop(u128::from(s.parse::<Ipv6Addr>().unwrap())).to_string();
        // Reference: ip6tables-save 1.8.9 on glibc.
        assert_eq!(p("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(p("::2"), "::2");
        assert_eq!(p("::1:2"), "::0.1.0.2");
        assert_eq!(p("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(p("2001:db8::1"), "2001:db8::1");
    }
}
