//! Static shadowing: FW006 (a rule no packet can reach because one earlier rule of its chain
//! takes every packet it would match, with another action) and FW007 (the earlier rule does
//! the same thing: the later one is redundant).
//!
//! A rule is described by the header dimensions fwcheck reasons about exactly: addresses,
//! interfaces, protocol, fragment flag, TCP/UDP ports and flags, ICMP type/code, conntrack
//! state. `covers(a, b)` holds when every packet `b` can match, `a` matches too. Extra matches
//! on `b` only shrink its set, so they do not prevent the conclusion. A match on `a` that is not
//! modelled (multiport, limit, recent, …) allows the conclusion only when `b` carries the very
//! same clause; otherwise nothing is concluded (no guess). Only single-rule coverage is
//! detected (not a rule covered by several earlier rules together).

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
    for m in &r.matches {
        let mut text = format!("-m {}", m.module.display_name());
        m.module.save(&mut text);
        s.all.push(text.clone());
        // A match is modelled when its facets say all it tests (single port ranges only);
        // otherwise it is kept as text and only the very same clause on `b` is accepted.
        let f = m.module.facets();
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
    let all_states =
        state::INVALID | state::NEW | state::ESTABLISHED | state::RELATED | state::UNTRACKED;
    let ct_ok = match (a.ctstate, b.ctstate) {
        _ if ignore_state => true,
        (None, _) => true,
        (Some((m, false)), None) => m & all_states == all_states,
        (Some((ma, false)), Some((mb, false))) => mb & !ma & all_states == 0,
        (Some((ma, true)), Some((mb, false))) => ma & mb == 0,
        (Some(x), Some(y)) => x == y,
        _ => false,
    };
    // a's unmodelled clauses must all restrict b identically.
    let other_ok = a.other.iter().all(|o| b.all.contains(o));
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
        for c in &t.chains {
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
            let found: Vec<Option<Finding>> = (0..c.rules.len())
                .into_par_iter()
                .map(|j| {
                    let i =
                        index.first(&spaces[j], j.min(stop), |i| covers(&spaces[i], &spaces[j]))?;
                    let ti = terms[i].as_deref().expect("indexed rules are terminal");
                    Some(finding(
                        rs,
                        &c.name,
                        &c.rules,
                        i,
                        j,
                        ti,
                        terms[j].as_deref(),
                    ))
                })
                .collect();
            out.extend(found.into_iter().flatten());
        }
    }
    out
}

/// The FW006/FW007 finding for rule `j` covered by rule `i` (terminal `ti`).
fn finding(
    rs: &Ruleset,
    chain: &str,
    rules: &[Rule],
    i: usize,
    j: usize,
    ti: &str,
    tj: Option<&str>,
) -> Finding {
    let (ri, rj) = (&rules[i], &rules[j]);
    let same = tj == Some(ti);
    let (li, lj) = (rs.line_of(ri.span), rs.line_of(rj.span));
    let code = if same { "FW007" } else { "FW006" };
    let mut f = Finding::new(
        code,
        if same {
            format!("redundant rule: {chain} #{} (line {lj}) is already covered by #{} (line {li}) with the same action", j + 1, i + 1)
        } else {
            format!("shadowed rule: {chain} #{} (line {lj}) can never match: #{} (line {li}) takes every packet it would match", j + 1, i + 1)
        },
        &rs.source.name,
    );
    f.line = Some(lj);
    f.details.push(format!(
        "line {li}: {}",
        crate::ruleset::printer::rule_text(chain, ri)
    ));
    f.details.push(format!(
        "line {lj}: {}",
        crate::ruleset::printer::rule_text(chain, rj)
    ));
    if !same {
        f.fix = Some(format!(
            "move line {lj} above line {li}, narrow line {li}, or delete line {lj}"
        ));
    } else {
        f.fix = Some(format!("delete line {lj}"));
    }
    f
}

/// The reference for [`check`]: every rule against every earlier rule of its chain (quadratic).
/// Kept for the equivalence tests (tests/cover_index.rs); not used by the tool.
#[doc(hidden)]
pub fn check_pairwise(rs: &Ruleset) -> Vec<Finding> {
    let mut out = Vec::new();
    let file = rs.source.name.clone();
    for t in &rs.tables {
        for c in &t.chains {
            let spaces: Vec<Space> = c.rules.iter().map(space).collect();
            for (j, rj) in c.rules.iter().enumerate() {
                // Rules after an unconditional terminal rule are FW101's business.
                for i in 0..j {
                    let ri = &c.rules[i];
                    let Some(ti) = terminal(ri) else { continue };
                    if ri.is_unconditional() {
                        break;
                    }
                    if !covers(&spaces[i], &spaces[j]) {
                        continue;
                    }
                    let same = terminal(rj).is_some_and(|tj| tj == ti);
                    let (li, lj) = (rs.line_of(ri.span), rs.line_of(rj.span));
                    let code = if same {
                        codes::REDUNDANT_RULE
                    } else {
                        codes::SHADOWED_RULE
                    };
                    let mut f = Finding::new(
                        code,
                        if same {
                            format!("redundant rule: {} #{} (line {lj}) is already covered by #{} (line {li}) with the same action", c.name, j + 1, i + 1)
                        } else {
                            format!("shadowed rule: {} #{} (line {lj}) can never match: #{} (line {li}) takes every packet it would match", c.name, j + 1, i + 1)
                        },
                        &file,
                    );
                    f.line = Some(lj);
                    f.details.push(format!(
                        "line {li}: {}",
                        crate::ruleset::printer::rule_text(&c.name, ri)
                    ));
                    f.details.push(format!(
                        "line {lj}: {}",
                        crate::ruleset::printer::rule_text(&c.name, rj)
                    ));
                    if !same {
                        f.fix = Some(format!(
                            "move line {lj} above line {li}, narrow line {li}, or delete line {lj}"
                        ));
                    } else {
                        f.fix = Some(format!("delete line {lj}"));
                    }
                    out.push(f);
                    break;
                }
            }
        }
    }
    out
}
