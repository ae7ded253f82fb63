//! Static shadowing: FW006 (a rule no packet can reach because one earlier rule of its chain
//! takes every packet it would match, with another action) and FW007 (the earlier rule does
//! the same thing: the later one is redundant).
//!
//! A rule is described by the header dimensions fwcheck reasons about exactly: addresses,
//! interfaces, protocol, fragment flag, TCP/UDP ports and flags, ICMP type/code, conntrack
//! state. `covers(a, b)` holds when every packet `b` can match, `a` matches too. Extra matches
//! on `b` only shrink its set, so they do not prevent the conclusion. A match on `a` that is not
//! modelled (multiport, mark, set, …) allows the conclusion only when `b` carries the very
//! same clause, and only when that clause tests the same thing at both rules:
//! * never for a match whose answer for one packet can change from one rule to the next (a
//!   token bucket, a counter, a random draw, a list the match updates: `STATEFUL`), nor for
//!   a module fwcheck does not know;
//! * never when a rule between the two can change what it reads: a target that rewrites the
//!   packet or its connection (`MARK`, `CONNMARK`, `SET`, `TCPMSS`, `DSCP`, …) or a jump to a
//!   chain that holds one (`ChainEffects`). In raw, such a rule also makes `a`'s conntrack
//!   state test untrustworthy (`CT --notrack`). (`--tcp-flags` cannot name the ECE and CWR
//!   flags `ECN` rewrites; `-m ecn` is an unmodelled clause.)
//!
//! Otherwise nothing is concluded (no guess). Only single-rule coverage is detected (not a rule
//! covered by several earlier rules together).

use rayon::prelude::*;

use super::cover_index::CoverIndex;
use super::*;
use crate::conntrack::state;
use crate::diag::codes;
use crate::ruleset::{Action, IfaceMatch, Rule};

/// The header part of a rule.
#[derive(Debug, Default, Clone)]
pub(super) struct Space {
    pub(super) src: Option<(AddrMask, bool)>,
    pub(super) dst: Option<(AddrMask, bool)>,
    pub(super) iniface: Option<IfaceMatch>,
    pub(super) outiface: Option<IfaceMatch>,
    pub(super) proto: Option<(u8, bool)>,
    pub(super) frag: Option<bool>,
    pub(super) sport: Option<(u16, u16, bool)>,
    pub(super) dport: Option<(u16, u16, bool)>,
    /// mask, compare, inverted
    pub(super) tcpflags: Option<(u8, u8, bool)>,
    /// type (0xFF any), code range, inverted
    pub(super) icmp: Option<(u8, (u8, u8), bool)>,
    /// state bits, inverted
    pub(super) ctstate: Option<(u32, bool)>,
    /// Matches that are not modelled, as saved text (`-m multiport --dports 80,443`).
    pub(super) other: Vec<String>,
    /// One of them may answer differently for the same packet at two rules ([`STATEFUL`],
    /// unknown modules): the rule covers nothing.
    pub(super) other_stateful: bool,
    /// Every match of the rule as saved text.
    pub(super) all: Vec<String>,
}

pub(super) fn space(r: &Rule) -> Space {
    let mut s = Space {
        src: r.src,
        dst: r.dst,
        iniface: r.iniface.clone(),
        outiface: r.outiface.clone(),
        proto: r.proto,
        frag: r.frag,
        ..Space::default()
    };
    for m in r.matches.iter() {
        let mut text = format!("-m {}", m.module.display_name());
        m.module.save(&mut text);
        s.all.push(text.clone());
        // A match is modelled when its facets say all it tests (single port ranges only);
        // otherwise it is kept as text and only the very same clause on `b` is accepted.
        let f = m.module.facets();
        if m.module.is_unknown() || STATEFUL.contains(&m.module.name()) || counts_packets(&text) {
            s.other_stateful = true;
        }
        let single = |p: &Option<crate::ext::PortSet>| p.as_ref().map(|p| p.single());
        let (sport, dport) = (single(&f.sport), single(&f.dport));
        if !f.complete || sport == Some(None) || dport == Some(None) || f.either_port.is_some() {
            s.other.push(text);
            continue;
        }
        let modelled = keep(&mut s.sport, sport.flatten())
            & keep(&mut s.dport, dport.flatten())
            & keep(&mut s.tcpflags, f.tcp_flags)
            & keep(&mut s.icmp, f.icmp)
            & keep(&mut s.ctstate, f.ct_state);
        if !modelled {
            s.other.push(text);
        }
    }
    s
}

/// Matches whose answer for one packet can differ between two rules: each rule has its own
/// token bucket, counter or random draw, or the match changes what it reads (`recent --update`
/// counts the hit it tests, `connlimit` adds the connection it counts); `rateest` reads an
/// estimator that `RATEEST` feeds.
pub(super) const STATEFUL: &[&str] = &[
    "limit",
    "hashlimit",
    "statistic",
    "quota",
    "recent",
    "connlimit",
    "rateest",
    "nfacct",
];

/// `-m set` with counter tests (`--packets-gt`, `--bytes-lt`, …): the match updates the
/// counters it tests.
fn counts_packets(text: &str) -> bool {
    text.starts_with("-m set ") && (text.contains("--packets-") || text.contains("--bytes-"))
}

/// Targets that change nothing a later match of the same traversal reads (they log, trace,
/// clone the packet or set its queueing priority, which no match tests).
const PURE_TARGETS: &[&str] = &["LOG", "NFLOG", "ULOG", "TRACE", "AUDIT", "TEE", "CLASSIFY"];

/// Whether a rule can change, for the packets it lets continue, what a later rule's match reads
/// (its own chain's view: a jump counts with everything the called chains can do).
fn rule_modifies(r: &Rule, chain_modifies: &[bool]) -> bool {
    match &r.action {
        Action::Jump(c) | Action::Goto(c) => chain_modifies.get(c.index).copied().unwrap_or(true),
        Action::Target(t) => {
            !t.is_terminal() && (t.is_unknown() || !PURE_TARGETS.contains(&t.name()))
        }
        _ => false,
    }
}

/// Per chain of `t`: whether a packet that enters it and comes back (RETURN or the chain's
/// end) may have been changed, by its rules or by chains it jumps or goes to. Linear in the
/// rules (no recursion: the jump graph may be deep).
pub(super) fn modifying_chains(t: &crate::ruleset::Table) -> Vec<bool> {
    let n = t.chains.len();
    let mut modifies = vec![false; n];
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (ci, c) in t.chains.iter().enumerate() {
        for r in &c.rules {
            match &r.action {
                Action::Jump(d) | Action::Goto(d) if d.index < n => callers[d.index].push(ci),
                Action::Jump(_) | Action::Goto(_) => modifies[ci] = true,
                _ => modifies[ci] |= rule_modifies(r, &[]),
            }
        }
    }
    let mut todo: Vec<usize> = (0..n).filter(|&c| modifies[c]).collect();
    while let Some(d) = todo.pop() {
        for &c in &callers[d] {
            if !modifies[c] {
                modifies[c] = true;
                todo.push(c);
            }
        }
    }
    modifies
}

/// What the rules of one chain may change between two of its rules (see the module docs).
pub(super) struct ChainEffects {
    /// `before[k]`: rules among the first `k` that modify the packet or its connection.
    before: Vec<u32>,
    table: crate::netfilter::TableKind,
}

impl ChainEffects {
    pub(super) fn new(
        t: &crate::ruleset::Table,
        c: &crate::ruleset::Chain,
        chain_modifies: &[bool],
    ) -> Self {
        let mut before = Vec::with_capacity(c.rules.len() + 1);
        let mut n = 0u32;
        before.push(0);
        for r in &c.rules {
            n += u32::from(rule_modifies(r, chain_modifies));
            before.push(n);
        }
        ChainEffects {
            before,
            table: t.kind,
        }
    }

    /// Whether a rule strictly between rules `i < j` may change the packet or its connection.
    fn between(&self, i: usize, j: usize) -> bool {
        j > i + 1 && self.before[j] > self.before[i + 1]
    }

    /// [`covers`] of rule `i` over rule `j` of this chain, with what the rules between them may
    /// change.
    pub(super) fn covers(&self, a: &Space, i: usize, b: &Space, j: usize) -> bool {
        use crate::netfilter::TableKind;
        if self.between(i, j)
            && (!a.other.is_empty() || (self.table == TableKind::Raw && a.ctstate.is_some()))
        {
            return false;
        }
        covers(a, b)
    }
}

/// Several matches may constrain one dimension: the first is modelled, a second is not.
fn keep<T>(slot: &mut Option<T>, v: Option<T>) -> bool {
    match (slot.is_some(), v) {
        (_, None) => true,
        (false, Some(v)) => {
            *slot = Some(v);
            true
        }
        (true, Some(_)) => false,
    }
}

pub(super) fn addr_covers(a: &Option<(AddrMask, bool)>, b: &Option<(AddrMask, bool)>) -> bool {
    let Some((am, ainv)) = a else { return true };
    let Some((bm, binv)) = b else { return false };
    let (aa, amask, ba, bmask) = match (am, bm) {
        (
            AddrMask::V4 {
                addr: aa,
                mask: amk,
            },
            AddrMask::V4 {
                addr: ba,
                mask: bmk,
            },
        ) => (*aa as u128, *amk as u128, *ba as u128, *bmk as u128),
        (
            AddrMask::V6 {
                addr: aa,
                mask: amk,
            },
            AddrMask::V6 {
                addr: ba,
                mask: bmk,
            },
        ) => (*aa, *amk, *ba, *bmk),
        _ => return false,
    };
    match (ainv, binv) {
        // b ⊆ a: b fixes at least a's bits, to a's values.
        (false, false) => amask & !bmask == 0 && ba & amask == aa,
        // b ⊆ not a: b and a disagree on a bit both fix.
        (true, false) => (aa ^ ba) & amask & bmask != 0,
        // not b ⊆ not a  ⇔  a ⊆ b.
        (true, true) => bmask & !amask == 0 && aa & bmask == ba,
        (false, true) => false,
    }
}

fn iface_covers(a: &Option<IfaceMatch>, b: &Option<IfaceMatch>) -> bool {
    let Some(a) = a else { return true };
    let Some(b) = b else { return false };
    if a.invert || b.invert {
        return a == b;
    }
    match a.name.strip_suffix('+') {
        Some(prefix) => b.name.starts_with(prefix),
        None => a.name == b.name,
    }
}

fn range_covers(a: &Option<(u16, u16, bool)>, b: &Option<(u16, u16, bool)>) -> bool {
    let Some((al, ah, ainv)) = *a else {
        return true;
    };
    let Some((bl, bh, binv)) = *b else {
        return false;
    };
    match (ainv, binv) {
        (false, false) => al <= bl && bh <= ah,
        (true, false) => bh < al || bl > ah,
        (true, true) => bl <= al && ah <= bh,
        (false, true) => false,
    }
}

pub(super) fn covers(a: &Space, b: &Space) -> bool {
    covers_with(a, b, false)
}

/// [`covers`], ignoring `a`'s conntrack state test when `ignore_state`.
pub(super) fn covers_with(a: &Space, b: &Space, ignore_state: bool) -> bool {
    let proto_ok = match (a.proto, b.proto) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some((pa, ia)), Some((pb, ib))) => match (ia, ib) {
            (false, false) => pa == pb,
            (true, false) => pa != pb,
            (true, true) => pa == pb,
            (false, true) => false,
        },
    };
    let frag_ok = match (a.frag, b.frag) {
        (None, _) => true,
        (Some(x), Some(y)) => x == y,
        _ => false,
    };
    let flags_ok = match (a.tcpflags, b.tcpflags) {
        (None, _) => true,
        (Some(x), Some(y)) => x == y,
        _ => false,
    };
    let icmp_ok = match (a.icmp, b.icmp) {
        (None, _) => true,
        (Some((0xFF, _, false)), _) => true,
        (Some((ta, (al, ah), false)), Some((tb, (bl, bh), false))) => {
            ta == tb && al <= bl && bh <= ah
        }
        (Some(x), Some(y)) => x == y,
        _ => false,
    };
    let ct_ok = ignore_state || ct_covers(a.ctstate, b.ctstate);
    // a's unmodelled clauses must all restrict b identically.
    let other_ok = !a.other_stateful && a.other.iter().all(|o| b.all.contains(o));
    other_ok
        && proto_ok
        && frag_ok
        && flags_ok
        && icmp_ok
        && ct_ok
        && addr_covers(&a.src, &b.src)
        && addr_covers(&a.dst, &b.dst)
        && iface_covers(&a.iniface, &b.iniface)
        && iface_covers(&a.outiface, &b.outiface)
        && range_covers(&a.sport, &b.sport)
        && range_covers(&a.dport, &b.dport)
}

/// Whether every packet state `b` (mask, inverted) admits, `a` admits too. A packet's state
/// bits are one of INVALID, NEW, ESTABLISHED, RELATED, UNTRACKED, plus SNAT and/or DNAT for a
/// tracked connection with that NAT; a test matches when its mask shares a bit with them
/// (`conntrack_mt_state`), so `--ctstate DNAT` alone admits every state of a DNATed connection.
fn ct_covers(a: Option<(u32, bool)>, b: Option<(u32, bool)>) -> bool {
    let admits = |t: Option<(u32, bool)>, bits: u32| match t {
        None => true,
        Some((m, inv)) => (m & bits != 0) != inv,
    };
    let nat = [0, state::SNAT, state::DNAT, state::SNAT | state::DNAT];
    [
        state::INVALID,
        state::UNTRACKED,
        state::NEW,
        state::ESTABLISHED,
        state::RELATED,
    ]
    .into_iter()
    .flat_map(|st| {
        let tracked = st & (state::INVALID | state::UNTRACKED) == 0;
        nat.iter()
            .filter(move |&&n| tracked || n == 0)
            .map(move |&n| st | n)
    })
    .all(|bits| !admits(b, bits) || admits(a, bits))
}

/// Terminal actions that end the chain for the packets the rule matches, compared by text.
pub(super) fn terminal(r: &Rule) -> Option<String> {
    match &r.action {
        Action::Accept => Some("ACCEPT".into()),
        Action::Drop => Some("DROP".into()),
        Action::Return => Some("RETURN".into()),
        Action::Goto(c) => Some(format!("goto {}", c.name)),
        Action::Target(t) if t.is_terminal() && !t.is_unknown() => {
            let mut s = t.name().to_string();
            t.save(&mut s);
            Some(s)
        }
        _ => None,
    }
}

/// FW006/FW007 for every chain. Each rule is compared only with the earlier terminal rules
/// that can cover it (`CoverIndex`); chains and rules are examined in parallel and the
/// findings collected in chain and rule order, so the output does not depend on the number
/// of threads. Same findings as [`check_pairwise`].
pub fn check(rs: &Ruleset) -> Vec<Finding> {
    let mut out = Vec::new();
    for t in &rs.tables {
        let chain_modifies = modifying_chains(t);
        for c in &t.chains {
            let fx = ChainEffects::new(t, c, &chain_modifies);
            let spaces: Vec<Space> = c.rules.par_iter().map(space).collect();
            let terms: Vec<Option<String>> = c.rules.par_iter().map(terminal).collect();
            // Rules after an unconditional terminal rule are FW101's business: the scan of the
            // earlier rules stops at the first one.
            let stop = c
                .rules
                .iter()
                .zip(&terms)
                .position(|(r, t)| t.is_some() && r.is_unconditional())
                .unwrap_or(c.rules.len());
            let mut index = CoverIndex::default();
            for (i, s) in spaces.iter().enumerate().take(stop) {
                if terms[i].is_some() {
                    index.insert(s, i);
                }
            }
            let covers: Vec<Cover> = (0..c.rules.len())
                .into_par_iter()
                .filter_map(|j| {
                    let i = index.first(&spaces[j], j.min(stop), |i| {
                        fx.covers(&spaces[i], i, &spaces[j], j)
                    })?;
                    let same = terms[j].is_some() && terms[j] == terms[i];
                    Some(Cover { i, j, same })
                })
                .collect();
            out.extend(findings(rs, &c.name, &c.rules, &covers));
        }
    }
    out
}

/// Rule `j` of a chain is covered by the earlier terminal rule `i`; `same`: with the same
/// action (FW007), else FW006.
struct Cover {
    i: usize,
    j: usize,
    same: bool,
}

/// The findings of one chain's covers, in rule order: one per covered line and covering line.
/// A line that lists several addresses (`-s a,b -d c,d`) loads a rule per pair, and a line
/// of 254 sources by 254 destinations covered by an earlier such line is one finding, not
/// 64,516.
fn findings(rs: &Ruleset, chain: &str, rules: &[Rule], covers: &[Cover]) -> Vec<Finding> {
    let line = |k: usize| rs.line_of(rules[k].span);
    let mut groups: Vec<Vec<&Cover>> = Vec::new();
    let mut by_key: std::collections::HashMap<(bool, usize, usize), usize> =
        std::collections::HashMap::new();
    for c in covers {
        let key = (c.same, line(c.i), line(c.j));
        match by_key.get(&key) {
            Some(&g) => groups[g].push(c),
            None => {
                by_key.insert(key, groups.len());
                groups.push(vec![c]);
            }
        }
    }
    // How many rules each covered line loads, counted once a line.
    let mut loaded: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    groups
        .iter()
        .map(|g| {
            let n = *loaded
                .entry(line(g[0].j))
                .or_insert_with(|| super::rules_of_line(rs, rules, g[0].j));
            finding(rs, chain, rules, g, n)
        })
        .collect()
}

/// `#3`, `#3–#9`, `#3, #5, #7–#9`: rule numbers (0-based indexes, ascending), runs joined,
/// at most eight items.
fn rule_numbers(ks: impl Iterator<Item = usize>) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for k in ks {
        match runs.last_mut() {
            Some((_, hi)) if *hi + 1 == k => *hi = k,
            _ => runs.push((k, k)),
        }
    }
    let mut out: Vec<String> = runs
        .iter()
        .take(8)
        .map(|&(lo, hi)| {
            if lo == hi {
                format!("#{}", lo + 1)
            } else {
                format!("#{}–#{}", lo + 1, hi + 1)
            }
        })
        .collect();
    if runs.len() > 8 {
        out.push("…".into());
    }
    out.join(", ")
}

/// The FW006/FW007 finding for the rules of one line covered by the rules of one earlier line
/// (`g`, in rule order; most often one rule by one); `loaded`: how many rules the covered
/// line loads.
fn finding(rs: &Ruleset, chain: &str, rules: &[Rule], g: &[&Cover], loaded: usize) -> Finding {
    let first = g[0];
    let (ri, rj) = (&rules[first.i], &rules[first.j]);
    let same = first.same;
    let (li, lj) = (rs.line_of(ri.span), rs.line_of(rj.span));
    let code = if same {
        codes::REDUNDANT_RULE
    } else {
        codes::SHADOWED_RULE
    };
    let message = if g.len() == 1 {
        let (i, j) = (first.i + 1, first.j + 1);
        if same {
            format!("redundant rule: {chain} #{j} (line {lj}) is already covered by #{i} (line {li}) with the same action")
        } else {
            format!("shadowed rule: {chain} #{j} (line {lj}) can never match: #{i} (line {li}) takes every packet it would match")
        }
    } else {
        let js = rule_numbers(g.iter().map(|c| c.j));
        let mut is: Vec<usize> = g.iter().map(|c| c.i).collect();
        is.sort_unstable();
        is.dedup();
        let is = rule_numbers(is.into_iter());
        let of = if g.len() == loaded {
            format!("all {loaded} rules line {lj} loads")
        } else {
            format!("{} of the {loaded} rules line {lj} loads", g.len())
        };
        if same {
            format!("redundant rules: {chain} {js} ({of}) are already covered by {is} (line {li}) with the same action")
        } else {
            format!("shadowed rules: {chain} {js} ({of}) can never match: {is} (line {li}) take every packet they would match")
        }
    };
    let mut f = Finding::new(code, message, &rs.source.name);
    f.line = Some(lj);
    f.details.push(format!(
        "line {li}: {}",
        crate::ruleset::printer::rule_text(chain, ri)
    ));
    f.details.push(format!(
        "line {lj}: {}",
        crate::ruleset::printer::rule_text(chain, rj)
    ));
    if g.len() > 1 {
        f.details.push(format!(
            "and {} more rule(s) of line {lj}, each covered by one of line {li}",
            g.len() - 1
        ));
    }
    f.fix = Some(if g.len() < loaded {
        format!(
            "narrow line {lj}: {} of the {loaded} rules it loads are covered by line {li}",
            g.len()
        )
    } else if same {
        format!("delete line {lj}")
    } else {
        format!("move line {lj} above line {li}, narrow line {li}, or delete line {lj}")
    });
    f
}

/// The reference for [`check`]: every rule against every earlier rule of its chain (quadratic).
/// Kept for the equivalence tests (tests/cover_index.rs); not used by the tool.
#[doc(hidden)]
pub fn check_pairwise(rs: &Ruleset) -> Vec<Finding> {
    let mut out = Vec::new();
    for t in &rs.tables {
        let chain_modifies = modifying_chains(t);
        for c in &t.chains {
            let fx = ChainEffects::new(t, c, &chain_modifies);
            let spaces: Vec<Space> = c.rules.iter().map(space).collect();
            let mut covers = Vec::new();
            for (j, rj) in c.rules.iter().enumerate() {
                // Rules after an unconditional terminal rule are FW101's business.
                for i in 0..j {
                    let ri = &c.rules[i];
                    let Some(ti) = terminal(ri) else { continue };
                    if ri.is_unconditional() {
                        break;
                    }
                    if !fx.covers(&spaces[i], i, &spaces[j], j) {
                        continue;
                    }
                    let same = terminal(rj).is_some_and(|tj| tj == ti);
                    covers.push(Cover { i, j, same });
                    break;
                }
            }
            out.extend(findings(rs, &c.name, &c.rules, &covers));
        }
    }
    out
}
