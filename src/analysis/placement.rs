//! Rules in the wrong place — what a reviewer spots reading a ruleset top to bottom:
//!
//! * FW012 — a blocklist DROP that never applies to the services accepted before it (partial
//!   shadowing; FW006 is the full case). A DROP (or REJECT) by source address comes after an
//!   ACCEPT that takes new connections from every source (or from a network containing the
//!   banned one): traffic from the banned source to that service is accepted first.
//! * FW013 — a rate limit that counts connections, not packets: an ACCEPT with `-m limit` /
//!   `-m hashlimit` and no state test, for a TCP/UDP service, after an ACCEPT of ESTABLISHED
//!   traffic that covers it. Every packet of an established connection is taken by the earlier
//!   rule, so only the first packet of each connection reaches the limit: `--limit 10/second`
//!   reads as ten packets a second but is ten new connections a second. Not reported when the
//!   rule says `--ctstate NEW` itself (then it says what it does).
//! * FW015 — a DROP rule that only repeats the policy: a plain DROP at the tail of a built-in
//!   chain whose policy is DROP, followed only by plain DROPs. Removing it changes no verdict.
//!
//! Static reasoning finds candidates (one pass per rule against the earlier rules of its chain,
//! on the header fields fwcheck models exactly); every finding is then confirmed with concrete
//! packets through the engine, and every fix is applied to a copy of the ruleset and checked
//! with the same packets before it is offered.

use std::net::IpAddr;

use super::cover_index::{CoverIndex, SrcIndex};
use super::services::{addr_in, dports};
use super::shadow::{
    addr_covers, covers_with, modifying_chains, space, terminal, ChainEffects, Space,
};
use super::synth::{self, Synth};
use super::*;
use crate::conntrack::state;
use crate::diag::codes;
use crate::engine::{Decision, RuleRef};
use crate::packet::tcp_flags as F;
use crate::ruleset::parser::parse_rule_in;
use crate::ruleset::printer::rule_text;
use crate::ruleset::{Action, Rule, TableKind};

/// At most this many FW012 findings per chain (each is confirmed by the engine).
const MAX_PER_CHAIN: usize = 50;

fn is_drop(r: &Rule) -> bool {
    match &r.action {
        Action::Drop => true,
        Action::Target(t) => t.reject_reply().is_some(),
        _ => false,
    }
}

/// Does a state test (if any) let NEW packets through?
fn admits_new(s: &Space) -> bool {
    match s.ctstate {
        None => true,
        Some((m, false)) => m & state::NEW != 0,
        Some((m, true)) => m & state::NEW == 0,
    }
}

/// The source range of an `-m iprange --src-range` (not inverted).
fn iprange_src(r: &Rule) -> Option<(u128, u128)> {
    r.matches.iter().find_map(|m| {
        m.module
            .facets()
            .src_range
            .filter(|s| !s.2)
            .map(|s| (s.0, s.1))
    })
}

fn addr_bits(a: &AddrMask) -> (u128, u128, bool) {
    match *a {
        AddrMask::V4 { addr, mask } => (addr as u128, mask as u128, true),
        AddrMask::V6 { addr, mask } => (addr, mask, false),
    }
}

/// Could some packet match both `a` and `b`? Conservative (true when unsure); the engine
/// confirms with a concrete packet.
fn may_overlap(a: &Space, b: &Space) -> bool {
    let addr = |x: &Option<(AddrMask, bool)>, y: &Option<(AddrMask, bool)>| match (x, y) {
        (Some((p, false)), Some((q, false))) => {
            let (pa, pm, p4) = addr_bits(p);
            let (qa, qm, q4) = addr_bits(q);
            p4 == q4 && (pa ^ qa) & pm & qm == 0
        }
        _ => true,
    };
    let range = |x: Option<(u16, u16, bool)>, y: Option<(u16, u16, bool)>| match (x, y) {
        (Some((al, ah, false)), Some((bl, bh, false))) => al <= bh && bl <= ah,
        _ => true,
    };
    let proto = match (a.proto, b.proto) {
        (Some((p, false)), Some((q, false))) => p == q,
        _ => true,
    };
    let iface = match (&a.iniface, &b.iniface) {
        (Some(x), Some(y)) if !x.invert && !y.invert => {
            let (xp, yp) = (x.name.strip_suffix('+'), y.name.strip_suffix('+'));
            match (xp, yp) {
                (None, None) => x.name == y.name,
                (Some(p), None) => y.name.starts_with(p),
                (None, Some(p)) => x.name.starts_with(p),
                (Some(p), Some(q)) => p.starts_with(q) || q.starts_with(p),
            }
        }
        _ => true,
    };
    proto
        && iface
        && addr(&a.src, &b.src)
        && addr(&a.dst, &b.dst)
        && range(a.sport, b.sport)
        && range(a.dport, b.dport)
}

fn iface_name(s: &Space) -> Option<String> {
    let i = s.iniface.as_ref().filter(|i| !i.invert)?;
    Some(match i.name.strip_suffix('+') {
        Some(p) => format!("{p}0"),
        None => i.name.clone(),
    })
}

/// A new-connection packet (TCP SYN, UDP datagram, echo request) matching the header fields of
/// `rules` as far as they are modelled, from outside to the host (INPUT) or from the host out
/// (OUTPUT). Candidates: the engine decides which one really matches.
fn witnesses(
    rules: &[(&Rule, &Space)],
    inbound: bool,
    host: IpAddr,
    v4: bool,
) -> Vec<(crate::packet::Packet, IpAddr)> {
    let proto = rules
        .iter()
        .find_map(|(_, s)| s.proto.filter(|p| !p.1).map(|p| p.0))
        .unwrap_or(6);
    let pick = |f: fn(&Space) -> &Option<(AddrMask, bool)>| {
        rules.iter().find_map(|(_, s)| match f(s) {
            Some((a, false)) if a.addr().is_ipv4() == v4 => Some(addr_in(a)),
            _ => None,
        })
    };
    let iprange = rules.iter().find_map(|(r, _)| iprange_src(r));
    let src = pick(|s| &s.src)
        .or_else(|| iprange.map(|(lo, _)| from_bits(v4, lo)))
        .unwrap_or(if inbound { outside(v4)[0] } else { host });
    let dst = pick(|s| &s.dst).unwrap_or(if inbound { host } else { outside(v4)[1] });
    let (src, dst) = if inbound { (src, dst) } else { (host, dst) };
    let me = if inbound { dst } else { src };
    // Candidate destination ports: every port the rules name, then the usual ones.
    let mut ports: Vec<u16> = Vec::new();
    for (r, s) in rules {
        if let Some((lo, _, false)) = s.dport {
            ports.push(lo);
        }
        ports.extend(dports(r));
    }
    ports.extend([80, 443, 22, 53]);
    ports.dedup();
    let sport = rules
        .iter()
        .find_map(|(_, s)| s.sport.filter(|p| !p.2).map(|p| p.0))
        .unwrap_or(if inbound { 41_000 } else { 45_000 });
    let mut out = Vec::new();
    match proto {
        6 | 17 => {
            for p in ports.into_iter().take(6) {
                let mut sy = Synth::default();
                let pkt = if proto == 6 {
                    sy.tcp((src, sport), (dst, p), F::SYN, 1, 0, 0)
                } else {
                    sy.udp((src, sport), (dst, p), 40)
                };
                out.push((pkt, me));
            }
        }
        1 | 58 => {
            let (req, _) = synth::echo_types(!v4);
            let mut sy = Synth::default();
            out.push((sy.icmp(src, dst, req, 77, 1, vec![0; 32]), me));
        }
        _ => {}
    }
    out
}

/// One packet through a fresh engine for `rs` (whose slot layout, computed beforehand, is
/// `layout`).
fn run_one_with(
    rs: &Ruleset,
    o: &CheckOptions,
    pkt: &crate::packet::Packet,
    layout: Option<&crate::engine::SlotLayout>,
) -> Outcome {
    let step = synth::Step {
        what: String::new(),
        pkt: pkt.clone(),
    };
    run_scenario_with(rs, o, std::slice::from_ref(&step), layout)
        .into_iter()
        .next()
        .expect("one step")
        .outcome
}

/// Options for a witness: its host address among the hosts, `-i` as the rules want.
fn opts_for(o: &CheckOptions, me: IpAddr, iface: Option<String>) -> CheckOptions {
    let mut oo = o.clone();
    if !oo.env.hosts.contains(&me) {
        oo.env.hosts.push(me);
    }
    if let Some(i) = iface {
        oo.env.iface = i;
    }
    oo
}

fn rref(chain: usize, rule: usize) -> Option<Decision> {
    Some(Decision::Rule(RuleRef {
        table: TableKind::Filter,
        chain,
        rule,
    }))
}

fn describe(pkt: &crate::packet::Packet) -> String {
    let proto = match pkt.proto {
        6 => "tcp",
        17 => "udp",
        1 => "icmp",
        58 => "ipv6-icmp",
        _ => "ip",
    };
    match pkt.ports() {
        Some((_, d)) => format!("{proto}/{d} from {}", pkt.src),
        None => format!("{proto} from {}", pkt.src),
    }
}

/// One copy of the ruleset, made when first needed, that the fixes are tried on: a rule is
/// moved or removed, the packets are run, and the copy is put back as it was. The same
/// rulesets as cloning and editing a fresh copy per fix, without an O(rules) clone per fix.
/// It also keeps the engine's slot layout of the original ruleset, so that the many one-packet
/// runs over it do not each recompute it.
struct Scratch<'a> {
    rs: &'a Ruleset,
    copy: Option<Ruleset>,
    layout: Option<crate::engine::SlotLayout>,
}

impl<'a> Scratch<'a> {
    fn new(rs: &'a Ruleset) -> Scratch<'a> {
        Scratch {
            rs,
            copy: None,
            layout: None,
        }
    }

    /// `engine::slot_layout` of the original ruleset.
    fn layout(&mut self) -> &crate::engine::SlotLayout {
        let rs = self.rs;
        self.layout
            .get_or_insert_with(|| crate::engine::slot_layout(rs))
    }

    /// `f` on the copy after `change` to the rules of the filter table's chain `ci`; `undo`
    /// then puts them back. The engine's slot layout of the edited copy is the original's with
    /// the same change (`relayout`) to that chain's entries: each rule keeps its own slots, so
    /// slots stay distinct, without walking every rule again.
    fn edit<T, R>(
        &mut self,
        ci: usize,
        change: impl FnOnce(&mut Vec<Rule>) -> Option<T>,
        undo: impl FnOnce(&mut Vec<Rule>, T),
        relayout: impl Fn(&mut Vec<usize>),
        f: impl FnOnce(&Ruleset, &crate::engine::SlotLayout) -> R,
    ) -> R {
        let base = self.layout().clone();
        let rs = self.rs;
        let copy = self.copy.get_or_insert_with(|| rs.clone());
        let ti = copy.tables.iter().position(|t| t.kind == TableKind::Filter);
        let held = ti.and_then(|ti| change(&mut copy.tables[ti].chains[ci].rules));
        let layout = match ti {
            Some(ti) if held.is_some() => base.edited(ti, ci, relayout),
            _ => base,
        };
        let r = f(copy, &layout);
        if let (Some(ti), Some(h)) = (ti, held) {
            undo(&mut copy.tables[ti].chains[ci].rules, h);
        }
        r
    }

    /// `f` on the ruleset with rule `j` of chain `ci` moved to position `to` (< j).
    fn moved<R>(
        &mut self,
        ci: usize,
        j: usize,
        to: usize,
        f: impl FnOnce(&Ruleset, &crate::engine::SlotLayout) -> R,
    ) -> R {
        self.edit(
            ci,
            |r| {
                r[to..=j].rotate_right(1);
                Some(())
            },
            |r, ()| r[to..=j].rotate_left(1),
            |l| l[to..=j].rotate_right(1),
            f,
        )
    }

    /// `f` on the ruleset without rule `j` of chain `ci`.
    fn without<R>(
        &mut self,
        ci: usize,
        j: usize,
        f: impl FnOnce(&Ruleset, &crate::engine::SlotLayout) -> R,
    ) -> R {
        self.edit(
            ci,
            |r| Some(r.remove(j)),
            |r, h| r.insert(j, h),
            |l| {
                l.remove(j);
            },
            f,
        )
    }
}

pub fn check(rs: &Ruleset, opts: &CheckOptions) -> Vec<Finding> {
    check_with(rs, opts, true)
}

/// The reference for [`check`]: each DROP compared with every earlier rule of its chain
/// (quadratic). Kept for the equivalence tests (tests/cover_index.rs); not used by the tool.
#[doc(hidden)]
pub fn check_pairwise(rs: &Ruleset, opts: &CheckOptions) -> Vec<Finding> {
    check_with(rs, opts, false)
}

fn check_with(rs: &Ruleset, opts: &CheckOptions, indexed: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(t) = rs.table(TableKind::Filter) else {
        return out;
    };
    let v4 = rs.family == Family::V4;
    let (host, o) = for_host(rs, opts);
    let file = rs.source.name.clone();
    let mut scratch = Scratch::new(rs);
    for (ci, c) in t.chains.iter().enumerate() {
        let inbound = match c.name.as_str() {
            "INPUT" => true,
            "OUTPUT" => false,
            _ => continue,
        };
        let spaces: Vec<Space> = c.rules.iter().map(space).collect();
        let mut blocklist: Vec<usize> = Vec::new();
        if inbound {
            partial_shadow(
                rs,
                &o,
                &file,
                ci,
                &spaces,
                host,
                v4,
                &mut out,
                &mut blocklist,
                indexed,
                &mut scratch,
            );
            limit_after_established(rs, &o, &file, ci, &spaces, host, &mut out);
        }
        redundant_drops(
            rs,
            &o,
            &file,
            ci,
            &spaces,
            inbound,
            host,
            v4,
            &blocklist,
            &mut out,
            &mut scratch,
        );
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn partial_shadow(
    rs: &Ruleset,
    o: &CheckOptions,
    file: &str,
    ci: usize,
    spaces: &[Space],
    host: IpAddr,
    v4: bool,
    out: &mut Vec<Finding>,
    flagged: &mut Vec<usize>,
    indexed: bool,
    scratch: &mut Scratch,
) {
    let t = rs.table(TableKind::Filter).expect("filter");
    let c = &t.chains[ci];
    let fx = ChainEffects::new(t, c, &modifying_chains(t));
    // Earlier ACCEPTs that take new connections (not only -i lo).
    let mut accepts: Vec<usize> = Vec::new();
    let mut accept_index = SrcIndex::default();
    // Every terminal rule, for the FW006 test (an earlier terminal rule covering the DROP).
    let mut terminals = CoverIndex::default();
    for (i, r) in c.rules.iter().enumerate() {
        if indexed && terminal(r).is_some() {
            terminals.insert(&spaces[i], i);
        }
    }
    let mut reported = 0usize;
    let mut reported_lines = std::collections::HashSet::new();
    let mut attempts = 0usize;
    for (j, rj) in c.rules.iter().enumerate() {
        let sj = &spaces[j];
        if matches!(rj.action, Action::Accept)
            && admits_new(sj)
            && !sj
                .iniface
                .as_ref()
                .is_some_and(|i| !i.invert && i.name == "lo")
        {
            accepts.push(j);
            accept_index.insert(sj, j);
            continue;
        }
        if rj.is_unconditional() && terminal(rj).is_some() {
            break;
        }
        if !is_drop(rj) || !admits_new(sj) || accepts.is_empty() {
            continue;
        }
        // A DROP by source: a host or network, or an iprange.
        let range = iprange_src(rj);
        let by_src = matches!(sj.src, Some((_, false))) || range.is_some();
        if !by_src {
            continue;
        }
        // Fully shadowed is FW006's.
        let covered = if indexed {
            terminals
                .first(sj, j, |i| fx.covers(&spaces[i], i, sj, j))
                .is_some()
        } else {
            (0..j).any(|i| terminal(&c.rules[i]).is_some() && fx.covers(&spaces[i], i, sj, j))
        };
        if covered {
            continue;
        }
        let escape = |&i: &usize| {
            let si = &spaces[i];
            // The ACCEPT takes the banned source: no source test, or one containing it.
            let src_ok = match (&sj.src, range) {
                (Some(_), _) => addr_covers(&si.src, &sj.src),
                (None, Some((lo, hi))) => match &si.src {
                    None => true,
                    Some((a, false)) => {
                        let (aa, am, _) = addr_bits(a);
                        lo & am == aa && hi & am == aa
                    }
                    _ => false,
                },
                _ => false,
            };
            src_ok && may_overlap(si, sj)
        };
        let escapes = if indexed {
            accept_index.first_n(sj, range, &accepts, 8, escape)
        } else {
            accepts.iter().copied().filter(escape).take(8).collect()
        };
        if escapes.is_empty() {
            continue;
        }
        // Not a redundant DROP (FW015) even when not confirmed below: it is misplaced.
        flagged.push(j);
        let lj = rs.line_of(rj.span);
        // One finding a line: the rules a line of address lists loads are moved together.
        if reported >= MAX_PER_CHAIN
            || attempts >= MAX_PER_CHAIN * 4
            || reported_lines.contains(&lj)
        {
            continue;
        }
        attempts += 1;
        // Confirm each with a packet: the ACCEPT takes it now; with the DROP moved above the
        // first of them, the DROP takes it.
        let mut confirmed: Vec<(usize, crate::packet::Packet, CheckOptions)> = Vec::new();
        for &i in &escapes {
            let pair = [(&c.rules[i], &spaces[i]), (rj, sj)];
            let iface = iface_name(sj).or_else(|| iface_name(&spaces[i]));
            for (pkt, me) in witnesses(&pair, true, host, v4) {
                let oo = opts_for(o, me, iface.clone());
                let out0 = run_one_with(rs, &oo, &pkt, Some(scratch.layout()));
                if out0.verdict == Some(crate::engine::Verdict::Accept)
                    && out0.decision == rref(ci, i)
                {
                    confirmed.push((i, pkt, oo));
                    break;
                }
            }
        }
        let Some(first) = confirmed.iter().map(|c| c.0).min() else {
            continue;
        };
        let verified = scratch.moved(ci, j, first, |fixed, l| {
            confirmed.iter().all(|(_, pkt, oo)| {
                let r = run_one_with(fixed, oo, pkt, Some(l));
                r.verdict != Some(crate::engine::Verdict::Accept) && r.decision == rref(ci, first)
            })
        });
        if !verified {
            continue;
        }
        reported += 1;
        reported_lines.insert(lj);
        let mut lines: Vec<String> = Vec::new();
        for (i, _, _) in &confirmed {
            let l = rs.line_of(c.rules[*i].span).to_string();
            if !lines.contains(&l) {
                lines.push(l);
            }
        }
        let (i0, p0, _) = &confirmed[0];
        let l0 = rs.line_of(c.rules[*i0].span);
        let mut f = Finding::new(
            codes::DROP_AFTER_ACCEPT,
            format!(
                "DROP rule partly without effect: line {lj} never drops what line{} {} accept{} first: e.g. {} is accepted by line {l0} before line {lj} can drop it",
                if lines.len() > 1 { "s" } else { "" },
                lines.join(", "),
                if lines.len() > 1 { "" } else { "s" },
                describe(p0),
            ),
            file,
        );
        f.line = Some(lj);
        f.rule = crate::engine::describe::rule_info(rs, &rref(ci, j).expect("rule"));
        f.packet = Some(format!(
            "{} ({} → {})",
            describe(p0),
            super::lockout::endpoint(p0.src, p0.ports().map(|p| p.0)),
            super::lockout::endpoint(p0.dst, p0.ports().map(|p| p.1))
        ));
        f.details
            .push(format!("line {lj}: {}", rule_text(&c.name, rj)));
        for (i, p, _) in &confirmed {
            f.details.push(format!(
                "line {}: {} — takes {} first",
                rs.line_of(c.rules[*i].span),
                rule_text(&c.name, &c.rules[*i]),
                describe(p)
            ));
        }
        let lf = rs.line_of(c.rules[first].span);
        let program = rs.family.program();
        let loaded = super::rules_of_line(rs, &c.rules, j);
        f.fix = Some(if loaded > 1 {
            // The commands below would move one of them.
            format!(
                "move line {lj} (the {loaded} rules its address lists load) above line {lf} (verified for its rule `{}`: moved there, it drops {} and every other packet shown)",
                rule_text(&c.name, rj),
                describe(p0),
            )
        } else {
            format!(
            "move line {lj} above line {lf} (`{program} -D {} {}` then `{program} -I {} {} {}`) (verified: moved there, it drops {} and every other packet shown)",
            c.name,
            j + 1,
            c.name,
            first + 1,
            rule_text(&c.name, rj).trim_start_matches(&format!("-A {} ", c.name)),
            describe(p0),
        )
        });
        out.push(f);
    }
}

fn limit_text(r: &Rule) -> Option<String> {
    r.matches.iter().find_map(|m| {
        let n = m.module.name();
        if n == "limit" || n == "hashlimit" {
            let mut s = format!("-m {n}");
            m.module.save(&mut s);
            Some(s)
        } else {
            None
        }
    })
}

fn limit_after_established(
    rs: &Ruleset,
    o: &CheckOptions,
    file: &str,
    ci: usize,
    spaces: &[Space],
    host: IpAddr,
    out: &mut Vec<Finding>,
) {
    let c = &rs.table(TableKind::Filter).expect("filter").chains[ci];
    let v4 = rs.family == Family::V4;
    let mut established: Vec<usize> = Vec::new();
    for (j, rj) in c.rules.iter().enumerate() {
        let sj = &spaces[j];
        if matches!(rj.action, Action::Accept)
            && matches!(sj.ctstate, Some((m, false)) if m & state::ESTABLISHED != 0)
        {
            established.push(j);
        }
        if !matches!(rj.action, Action::Accept)
            || !matches!(sj.proto, Some((6 | 17, false)))
            || rj.matches.iter().any(|m| m.module.facets().reads_conntrack)
        {
            continue;
        }
        let Some(limit) = limit_text(rj) else {
            continue;
        };
        let Some(&i) = established
            .iter()
            .find(|&&i| i < j && covers_with(&spaces[i], sj, true))
        else {
            continue;
        };
        let ports = dports(rj);
        let Some(&port) = ports.first() else {
            continue;
        };
        // Confirm: a session to the port: its first packet is decided by the limited rule,
        // every later packet it sends by the ESTABLISHED rule.
        let proto = sj.proto.expect("proto").0;
        let client = match &sj.src {
            Some((a, false)) => addr_in(a),
            _ => outside(v4)[0],
        };
        let steps = super::services::service_scenario(client, host, proto, port);
        let oo = opts_for(o, host, iface_name(sj));
        let res = run_scenario(rs, &oo, &[], &steps);
        let client_later: Vec<&StepResult> =
            res.iter().skip(1).filter(|s| s.pkt.src == client).collect();
        if res[0].outcome.decision != rref(ci, j)
            || client_later.is_empty()
            || !client_later
                .iter()
                .all(|s| s.outcome.decision == rref(ci, i))
        {
            continue;
        }
        // The fix: say NEW in the rule, before the limit (so other packets never spend tokens).
        let text = rule_text(&c.name, rj);
        let at = text.find(&format!(
            " -m {}",
            limit.split(' ').nth(1).unwrap_or("limit")
        ));
        let Some(at) = at else { continue };
        let new_text = format!("{} -m conntrack --ctstate NEW{}", &text[..at], &text[at..]);
        let body = new_text.trim_start_matches(&format!("-A {} ", c.name));
        let Ok(new_rule) = parse_rule_in(rs, TableKind::Filter, &c.name, body, o.env.backend)
        else {
            continue;
        };
        let mut fixed = rs.clone();
        if let Some(t) = fixed
            .tables
            .iter_mut()
            .find(|t| t.kind == TableKind::Filter)
        {
            t.chains[ci].rules[j] = new_rule;
        }
        let res2 = run_scenario(&fixed, &oo, &[], &steps);
        let same = res.iter().zip(&res2).all(|(a, b)| {
            a.outcome.verdict == b.outcome.verdict && a.outcome.decision == b.outcome.decision
        });
        if !same {
            continue;
        }
        let (li, lj) = (rs.line_of(c.rules[i].span), rs.line_of(rj.span));
        let svc = Service { proto, port };
        let mut f = Finding::new(
            codes::LIMIT_COUNTS_CONNECTIONS,
            format!(
                "rate limit counts connections, not packets: line {lj} (`{limit}`) only sees the first packet of each {} connection, because line {li} accepts every ESTABLISHED packet before it; the limit is a rate of new connections",
                svc.name()
            ),
            file,
        );
        f.line = Some(lj);
        f.rule = crate::engine::describe::rule_info(rs, &rref(ci, j).expect("rule"));
        f.packet = Some(super::lockout::describe_packet(&res[0]));
        f.details.push(format!("line {lj}: {text}"));
        f.details
            .push(format!("line {li}: {}", rule_text(&c.name, &c.rules[i])));
        f.details.push(format!(
            "checked with a {} session from {client}: its first packet is decided by line {lj}, the client's {} later packets by line {li}",
            svc.name(),
            client_later.len()
        ));
        f.fix = Some(format!(
            "if new connections are meant, say so: replace line {lj} by `{new_text}` (verified: every packet of the session gets the same verdict from the same rule); a limit on packets would have to come before line {li} and would throttle established sessions"
        ));
        out.push(f);
    }
}

#[allow(clippy::too_many_arguments)]
fn redundant_drops(
    rs: &Ruleset,
    o: &CheckOptions,
    file: &str,
    ci: usize,
    spaces: &[Space],
    inbound: bool,
    host: IpAddr,
    v4: bool,
    blocklist: &[usize],
    out: &mut Vec<Finding>,
    scratch: &mut Scratch,
) {
    let c = &rs.table(TableKind::Filter).expect("filter").chains[ci];
    if c.policy != Some(crate::ruleset::Policy::Drop) {
        return;
    }
    let stateful = |r: &Rule| {
        r.matches.iter().any(|m| {
            matches!(
                m.module.name(),
                "recent" | "limit" | "hashlimit" | "statistic" | "quota" | "connlimit"
            )
        })
    };
    let mut tail: Vec<usize> = Vec::new();
    for (j, r) in c.rules.iter().enumerate().rev() {
        if !matches!(r.action, Action::Drop) || stateful(r) {
            break;
        }
        tail.push(j);
    }
    tail.reverse();
    let mut reported = 0usize;
    for j in tail {
        if reported >= MAX_PER_CHAIN {
            break;
        }
        if blocklist.binary_search(&j).is_ok() {
            continue;
        }
        let rj = &c.rules[j];
        let lj = rs.line_of(rj.span);
        // Confirm with a packet the rule drops: without the rule it is dropped all the same.
        let pair = [(rj, &spaces[j])];
        let mut verified = false;
        let mut example = None;
        for (pkt, me) in witnesses(&pair, inbound, host, v4) {
            let oo = opts_for(o, me, iface_name(&spaces[j]));
            let a = run_one_with(rs, &oo, &pkt, Some(scratch.layout()));
            if a.decision != rref(ci, j) {
                continue;
            }
            let b = scratch.without(ci, j, |without, l| {
                run_one_with(without, &oo, &pkt, Some(l))
            });
            verified = b.verdict == Some(crate::engine::Verdict::Drop);
            example = Some(pkt);
            break;
        }
        if !verified {
            continue;
        }
        reported += 1;
        let mut f = Finding::new(
            codes::DROP_EQUALS_POLICY,
            format!(
                "DROP rule equal to the policy: line {lj} drops what {} policy DROP would drop anyway (only DROP rules follow it)",
                c.name
            ),
            file,
        );
        f.line = Some(lj);
        f.rule = crate::engine::describe::rule_info(rs, &rref(ci, j).expect("rule"));
        if let Some(p) = &example {
            f.packet = Some(describe(p));
        }
        f.details
            .push(format!("line {lj}: {}", rule_text(&c.name, rj)));
        f.fix = Some(format!(
            "delete line {lj} (verified: {} is dropped by the policy without it); keep it only if you read its counters",
            example.as_ref().map(describe).unwrap_or_default()
        ));
        out.push(f);
    }
}
