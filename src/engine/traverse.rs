//! `ipt_do_table`: one table at one hook — the rule loop with the jump stack, gotos, RETURN,
//! policies, non-terminating targets, hot-drops, counters and uncertainty.

use super::classify::{self, Cursor, Key};
use super::{Engine, HookCtx};
use crate::engine::outcome::{Decision, RuleRef};
use crate::engine::trace::{match_check, Check, Clause, TraceEvent};
use crate::engine::EvalCtx;
use crate::ext::{Backend, DoubtSource, MatchResult, NatSpec, RejectReply, TargetVerdict};
use crate::packet::{Packet, L4};
use crate::ruleset::model::{Action, Counters, Hook, Policy, Rule, TableKind};

/// The counters of one engine's rules and policies, and which of them the packet being
/// processed bumped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    /// Rule counters `[table][chain][rule]`; a chain's grow as far as its rules are counted
    /// (a missing counter is zero), so a fresh engine costs O(chains), and one packet through
    /// the head of a chain of 64,000 rules (each of a gate's probes) does not clear them all.
    pub(crate) rules: Vec<Vec<Vec<Counters>>>,
    pub(crate) policies: Vec<Vec<Counters>>,
    /// Every counter the packet being processed bumped (rules and policies, as in
    /// `Engine::counter_over`): when its verdict ends uncertain, the kernel may have counted
    /// it elsewhere, so each of them may be off either way (`~N`).
    pub(crate) in_packet: Vec<(usize, usize, usize)>,
    /// Scratch for [`Engine::run_table`]: counters bumped after a table's first undecided
    /// match.
    pub(crate) after_unknown: Vec<(usize, usize, usize)>,
}

impl Tally {
    /// Count a packet of `ip_len` bytes at rule `rule` of chain `chain` of table `ti` of `rs`
    /// ([`POLICY`]: the chain's policy); `after_unknown`: the table met an undecided match
    /// before it.
    #[inline]
    pub(crate) fn count(
        &mut self,
        rs: &crate::ruleset::model::Ruleset,
        ti: usize,
        chain: usize,
        rule: usize,
        ip_len: u64,
        after_unknown: bool,
    ) {
        let c = if rule == POLICY {
            &mut self.policies[ti][chain]
        } else {
            let ctrs = &mut self.rules[ti][chain];
            if ctrs.len() <= rule {
                let all = rs.tables[ti].chains[chain].rules.len();
                let len = (rule + 1).max(ctrs.len() * 2).max(16).min(all);
                ctrs.resize(len, Counters::default());
            }
            &mut ctrs[rule]
        };
        c.packets += 1;
        c.bytes += ip_len;
        self.in_packet.push((ti, chain, rule));
        if after_unknown {
            self.after_unknown.push((ti, chain, rule));
        }
    }
}

/// How a table ended for a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableVerdict {
    Accept,
    Drop,
    Reject(RejectReply),
    /// A NAT target asked for a binding (the table accepted the packet).
    Nat(NatSpec),
}

#[derive(Debug, Clone, Copy)]
pub struct TableResult {
    pub verdict: TableVerdict,
    pub decision: Decision,
}

/// Targets that only observe: an undecidable match in front of them cannot change the verdict.
fn observer_only(action: &Action) -> bool {
    match action {
        Action::None => true,
        Action::Target(t) => t.observes_only(),
        _ => false,
    }
}

/// The protocol nftables' `meta l4proto` sees in an IPv6 packet (what iptables-nft's `-p`
/// compares): `ipv6_find_hdr` with `IP6_FH_F_AUTH`, as `nft_set_pktinfo_ipv6` calls it, stops at
/// an AH header, so a packet behind AH has protocol 51 (ip6tables-legacy and conntrack skip AH
/// and see the upper layer). `None` when the header chain cannot be walked (the rule then never
/// matches). A packet the engine built itself (REJECT's reply, the stack's ICMP error) has no
/// bytes and no extension header: its protocol.
pub(crate) fn nft_ipv6_l4proto(pkt: &Packet) -> Option<u8> {
    use crate::packet::proto;
    let b = &pkt.data[..];
    if b.is_empty() {
        return Some(pkt.proto);
    }
    let end = (pkt.ip_len as usize).min(b.len());
    if end < 40 {
        return None;
    }
    let ext = |nh: u8| {
        matches!(
            nh,
            proto::HOPOPTS
                | proto::IPV6_ROUTE
                | proto::IPV6_FRAG
                | proto::AH
                | proto::IPV6_NONXT
                | proto::IPV6_OPTS
        )
    };
    let mut nh = b[6];
    let mut off = 40usize;
    loop {
        if !ext(nh) || nh == proto::IPV6_NONXT || nh == proto::AH {
            return Some(nh);
        }
        if off + 2 > end {
            return None;
        }
        let next = b[off];
        let len = if nh == proto::IPV6_FRAG {
            if off + 4 > end {
                return None;
            }
            if u16::from_be_bytes([b[off + 2], b[off + 3]]) & 0xfff8 != 0 {
                // A non-first fragment: the next header if it is an upper layer.
                return (!ext(next) || next == proto::IPV6_NONXT).then_some(next);
            }
            8
        } else {
            (b[off + 1] as usize + 1) * 8
        };
        nh = next;
        off += len;
    }
}

/// The protocol `-p` compares: the upper layer, or under nf_tables over IPv6 what
/// [`nft_ipv6_l4proto`] finds.
#[inline]
fn l4proto(pkt: &Packet, backend: Backend) -> Option<u8> {
    if pkt.family == crate::packet::Family::V6 && backend == Backend::Nft {
        nft_ipv6_l4proto(pkt)
    } else {
        Some(pkt.proto)
    }
}

/// The `ip_packet_match` part of a rule: addresses, interfaces, protocol, fragment flag.
#[inline]
fn header_matches(r: &Rule, pkt: &Packet, indev: &str, outdev: &str, backend: Backend) -> bool {
    header_matches_noting(r, pkt, indev, outdev, backend, |_, _| {})
}

/// [`header_matches`], telling `note` each clause tried and whether it held (for `trace`; a
/// no-op `note` compiles away). Stops at the first clause that fails, as the kernel does.
#[inline(always)]
fn header_matches_noting(
    r: &Rule,
    pkt: &Packet,
    indev: &str,
    outdev: &str,
    backend: Backend,
    mut note: impl FnMut(Clause<'_>, bool),
) -> bool {
    if let Some((a, inv)) = &r.src {
        let ok = a.contains(pkt.src) != *inv;
        note(Clause::Src(a, *inv, pkt.src), ok);
        if !ok {
            return false;
        }
    }
    if let Some((a, inv)) = &r.dst {
        let ok = a.contains(pkt.dst) != *inv;
        note(Clause::Dst(a, *inv, pkt.dst), ok);
        if !ok {
            return false;
        }
    }
    if let Some(i) = &r.iniface {
        let ok = i.matches(indev);
        note(Clause::In(i, indev), ok);
        if !ok {
            return false;
        }
    }
    if let Some(o) = &r.outiface {
        let ok = o.matches(outdev);
        note(Clause::Out(o, outdev), ok);
        if !ok {
            return false;
        }
    }
    if let Some((p, inv)) = r.proto {
        let l4 = l4proto(pkt, backend);
        let ok = l4.is_some_and(|l4| (l4 == p) != inv);
        note(Clause::Proto(p, inv, l4), ok);
        if !ok {
            return false;
        }
    }
    if let Some(inv) = r.frag {
        let ok = (pkt.frag.offset != 0) != inv;
        note(Clause::Frag(inv, pkt.frag.offset), ok);
        if !ok {
            return false;
        }
    }
    true
}

/// Safety net against endless traversal (loops are refused at load time).
const MAX_STEPS: usize = 1 << 22;

/// Most trace events kept for one packet (`trace`, `exposure`, `--trace`): a ruleset whose
/// chains call each other many times over (legal, and the kernel walks it) would otherwise
/// make a trace of millions of rule visits (gigabytes). The traversal goes on untraced.
pub(crate) const MAX_TRACE_EVENTS: usize = 4096;

/// An undecidable match that skipped a rule: had the rule matched, the table would have
/// ended with `alt` (`None` when that cannot be told without running the rule's target).
/// The rule number standing for a chain's policy in [`Engine::counter_over`].
pub(crate) const POLICY: usize = usize::MAX;

struct Pending {
    rule: RuleRef,
    /// The match instance that could not be decided.
    slot: usize,
    why: &'static str,
    alt: Option<TableVerdict>,
    /// Its number among the packet's undecidable matches.
    k: u32,
}

/// What a rule's target would end the table with, when that is plain.
fn plain_verdict(action: &Action) -> Option<TableVerdict> {
    match action {
        Action::Accept => Some(TableVerdict::Accept),
        Action::Drop => Some(TableVerdict::Drop),
        Action::Target(t) => t.reject_reply().map(TableVerdict::Reject),
        _ => None,
    }
}

/// What a rule whose match cannot be decided would do in each case (for `trace`).
fn alternatives(action: &Action) -> String {
    let if_matched = match plain_verdict(action) {
        Some(TableVerdict::Accept) => "ACCEPT".to_string(),
        Some(TableVerdict::Drop) => "DROP".to_string(),
        Some(TableVerdict::Reject(_)) => "REJECT".to_string(),
        _ => match action {
            Action::Jump(c) => format!("jump to {}", c.name),
            Action::Goto(c) => format!("goto {}", c.name),
            Action::Return => "RETURN".to_string(),
            Action::Target(t) => format!("-j {}", t.display_name()),
            _ => "its target".to_string(),
        },
    };
    format!(
        "if it matched in the kernel: {if_matched}; if not: the next rule (what is traced here)"
    )
}

/// What a target did, for `trace`.
fn target_effect(name: &str, v: &TargetVerdict) -> String {
    match v {
        TargetVerdict::Continue => format!("{name}: continue with the next rule"),
        TargetVerdict::Accept => format!("{name}: ACCEPT"),
        TargetVerdict::Drop => format!("{name}: DROP"),
        TargetVerdict::Reject(r) => format!("{name}: REJECT, sends {r}"),
        TargetVerdict::Nat(spec) => format!("{name}: NAT binding {:?}", spec.kind),
        TargetVerdict::Unknown(why) => {
            format!("{name}: cannot be simulated ({why}); the next rule")
        }
        TargetVerdict::Undecided { why, .. } => format!("{name}: undecided ({why})"),
    }
}

impl Engine<'_> {
    /// A [`TraceEvent::Rule`] for rule `idx` of `chain`.
    #[allow(clippy::too_many_arguments)]
    fn rule_event(
        &self,
        kind: TableKind,
        chain: usize,
        idx: usize,
        checks: Vec<Check>,
        matched: bool,
        unknown: Option<&'static str>,
        alternatives: Option<String>,
    ) -> TraceEvent {
        let table = self.rs.table(kind).expect("table");
        let c = &table.chains[chain];
        let r = &c.rules[idx];
        TraceEvent::Rule {
            table: kind.name(),
            chain: c.name.clone(),
            rule: idx + 1,
            line: self.rs.line_of(r.span),
            text: crate::ruleset::printer::rule_text(&c.name, r),
            checks,
            matched,
            hotdrop: false,
            unknown: unknown.map(str::to_string),
            alternatives,
            action: None,
        }
    }

    /// Run table `kind` at `hook` for `pkt`. `None` when the table is not in the ruleset.
    ///
    /// A match that cannot be decided offline makes the packet's verdict uncertain only when
    /// the other answer could change how the table ends.
    pub(super) fn run_table(
        &mut self,
        kind: TableKind,
        hook: Hook,
        pkt: &Packet,
        hc: &mut HookCtx,
    ) -> Option<TableResult> {
        let ti = self.table_index[kind as usize]?;
        self.tally.after_unknown.clear();
        let key = self.memo_key(ti, hook, pkt, hc);
        if let Some(w) = key.and_then(|k| self.memo.get(ti, &k)) {
            let ip_len = hc.skb.len(pkt) as u64;
            for (chain, rule) in w.counted() {
                self.tally.count(self.rs, ti, chain, rule, ip_len, false);
            }
            return Some(w.result);
        }
        let (mark, unknowns) = (self.tally.in_packet.len(), hc.unknowns);
        self.walk_plain = true;
        let mut pending = Vec::new();
        let r = self.run_table_inner(kind, hook, pkt, hc, &mut pending);
        if let (Some(k), Some(result)) = (key, r) {
            if self.walk_plain
                && pending.is_empty()
                && hc.unknowns == unknowns
                && !hc.is_uncertain()
                && hc.path_doubt.is_none()
                && !hc.skb.pickup_world
                && hc.skb.pickup_doubt.is_none()
            {
                self.memo.put(ti, k, result, &self.tally.in_packet[mark..]);
            }
        }
        let mut path_doubt = false;
        for p in pending {
            if r.is_some() && p.alt == r.map(|r| r.verdict) {
                // The other answer ends the table the same way, by this rule instead: the
                // verdict stands, the counters do not. This rule's is a lower bound; those
                // counted after the first undecided match, upper bounds.
                if let Some(ti) = self.table_index[p.rule.table as usize] {
                    self.counter_doubt.insert((ti, p.rule.chain, p.rule.rule));
                }
                path_doubt = true;
                if hc.path_doubt.is_none() {
                    hc.path_doubt = Some(format!(
                        "the verdict is certain, the rule deciding it is not: {} would have \
                         ended the table the same way had its match matched ({})",
                        super::rule_label(self.rs, p.rule),
                        p.why
                    ));
                }
            } else {
                hc.uncertain_from(self.rs, p.rule, p.why, DoubtSource::Match(p.slot));
                hc.undecided.push(super::Undecided {
                    k: p.k,
                    rule: p.rule,
                    why: p.why,
                });
            }
        }
        if path_doubt {
            self.counter_over
                .extend(self.tally.after_unknown.iter().copied());
        }
        r
    }

    /// The memo key of a packet that may take a remembered walk of table `ti` ([`super::memo`]:
    /// TCP or UDP, not a later fragment, ESTABLISHED on a confirmed connection, nothing in
    /// doubt, no trace or fork).
    fn memo_key(
        &mut self,
        ti: usize,
        hook: Hook,
        pkt: &Packet,
        hc: &HookCtx,
    ) -> Option<super::memo::Key> {
        use crate::conntrack::{state, Attach, CtInfo};
        if self.memo.closed(ti)
            || hc.trace_on
            || hc.force.is_some()
            || hc.skb.pickup_world
            || hc.skb.pickup_doubt.is_some()
            || hc.skb.checksum_doubt.is_some()
            || hc.is_uncertain()
            || hc.behind.is_some()
            || hc.gso
            || pkt.frag.offset != 0
            || !matches!(pkt.l4, L4::Tcp(_) | L4::Udp(_))
        {
            return None;
        }
        let Attach::Ct {
            id,
            info: CtInfo::Established | CtInfo::EstablishedReply,
        } = hc.skb.ct
        else {
            return None;
        };
        let e = self.conntrack.get(id).filter(|e| e.is_confirmed())?;
        let st = state::ESTABLISHED | state::nat(e.status);
        let dev = self.env.iface_of(pkt);
        let fields = super::memo::Fields {
            hook,
            pkt,
            l4: l4proto(pkt, self.env.backend),
            state: st,
            indev: hc.indev.name(dev, &self.env),
            outdev: hc.outdev.name(dev, &self.env),
        };
        self.memo
            .key(&self.rs.tables[ti], &self.slot_base[ti], ti, fields)
    }

    fn run_table_inner(
        &mut self,
        kind: TableKind,
        hook: Hook,
        pkt: &Packet,
        hc: &mut HookCtx,
        pending: &mut Vec<Pending>,
    ) -> Option<TableResult> {
        let ti = self.table_index[kind as usize]?;
        let rs = self.rs;
        let table = &rs.tables[ti];
        let (start, _) = table.builtin(hook)?;
        let policy_of = |c: usize| -> TableResult {
            let p = table.chains[c].policy.unwrap_or(Policy::Accept);
            TableResult {
                verdict: if p == Policy::Accept {
                    TableVerdict::Accept
                } else {
                    TableVerdict::Drop
                },
                decision: Decision::Policy {
                    table: kind,
                    chain: c,
                },
            }
        };
        let mut stack: Vec<(usize, usize)> = Vec::new();
        // A pickup's conntrack match said "yes" on a jump (`Skb::pickup_doubt`): where a tracked
        // connection goes on with the next rule. If the called chain returns having changed
        // nothing (no target but observers, no stateful match), both worlds meet again there:
        // the stack depth of that return, and the pickup flags from before the jump.
        let mut rejoin: Option<(usize, (bool, Option<&'static str>))> = None;
        let (mut chain, mut idx) = (start, 0usize);
        let tname = kind.name();
        let cname = |c: usize| table.chains[c].name.clone();
        if hc.trace_on {
            hc.trace.push(TraceEvent::Table {
                hook: hook.chain_name(),
                table: tname,
                chain: cname(start),
            });
        }
        // Records what the rule just tried did (its target), while tracing.
        macro_rules! traced_action {
            ($text:expr) => {
                if hc.trace_on {
                    if let Some(TraceEvent::Rule { action, .. }) = hc.trace.last_mut() {
                        *action = Some($text);
                    }
                }
            };
        }
        let mut steps = 0usize;
        let mut ip_len = hc.skb.len(pkt) as u64;
        let dev = self.env.iface_of(pkt);
        let (indev, outdev) = (
            hc.indev.name(dev, &self.env),
            hc.outdev.name(dev, &self.env),
        );
        // The context of one match or target call (split borrows of `self` and `hc`).
        macro_rules! eval_ctx {
            ($slot:expr) => {
                EvalCtx {
                    pkt,
                    hook,
                    table: kind,
                    indev,
                    outdev,
                    env: &self.env,
                    now: hc.now,
                    now_ns: hc.now_ns,
                    skb: &mut hc.skb,
                    conntrack: &mut self.conntrack,
                    ext: &mut self.ext,
                    slot: $slot,
                }
            };
        }
        // The classifier's view of the packet, made when a long chain is first entered.
        let v6 = rs.family == crate::netfilter::Family::V6;
        let mut key: Option<Key<'_>> = None;
        // Made when an indexed chain is first entered: most packets walk only short chains.
        let mut cursor: Option<Cursor> = None;
        let mut cursor_chain = usize::MAX;
        let mut cursor_ok = false;
        loop {
            steps += 1;
            if hc.trace_on && hc.trace.len() >= MAX_TRACE_EVENTS {
                hc.trace.push(TraceEvent::Note {
                    text: format!(
                        "trace cut after {MAX_TRACE_EVENTS} events (fwcheck keeps no more for \
                         one packet); the traversal goes on untraced"
                    ),
                });
                hc.trace_on = false;
            }
            if steps > MAX_STEPS {
                // An internal limit, not the kernel's: whatever is reported, it is a guess.
                hc.note_uncertain(DoubtSource::Any, || {
                    format!(
                        "fwcheck's traversal limit ({MAX_STEPS} rule visits for one packet in \
                         {kind} {}) was hit; the kernel's verdict is not known",
                        hook.chain_name()
                    )
                });
                return Some(TableResult {
                    verdict: TableVerdict::Drop,
                    decision: Decision::Stack("rule traversal did not end"),
                });
            }
            let c = &table.chains[chain];
            // Step over the rules the packet cannot match (`classify`); `trace` walks them all.
            if !hc.trace_on && idx < c.rules.len() && c.rules.len() >= classify::MIN_RULES {
                if let Some(ix) = self.classifier.index(ti, chain, c, v6) {
                    if cursor_chain != chain {
                        let k = key.get_or_insert_with(|| {
                            Key::new(pkt, l4proto(pkt, self.env.backend), indev, outdev)
                        });
                        cursor_ok = ix.cursor(k, cursor.get_or_insert_with(Cursor::default));
                        cursor_chain = chain;
                    }
                    if let (true, Some(cur)) = (cursor_ok, cursor.as_mut()) {
                        idx = ix.next(cur, idx);
                    }
                }
            }
            if idx >= c.rules.len() {
                // End of chain: built-in → policy; user chain → implicit RETURN.
                if c.hook.is_some() {
                    self.tally
                        .count(rs, ti, chain, POLICY, ip_len, !pending.is_empty());
                    let p = policy_of(chain);
                    if hc.trace_on {
                        hc.trace.push(TraceEvent::Policy {
                            table: tname,
                            chain: cname(chain),
                            policy: c.policy.unwrap_or(Policy::Accept).name(),
                        });
                    }
                    return Some(p);
                }
                let back = stack.pop();
                if let Some((depth, flags)) = rejoin {
                    if stack.len() < depth {
                        (hc.skb.pickup_world, hc.skb.pickup_doubt) = flags;
                        rejoin = None;
                    }
                }
                if hc.trace_on {
                    hc.trace.push(TraceEvent::Return {
                        table: tname,
                        from: cname(chain),
                        to: back.map(|(ch, i)| (cname(ch), i + 1)),
                        explicit: false,
                    });
                }
                match back {
                    Some((ch, i)) => {
                        chain = ch;
                        idx = i + 1;
                    }
                    None => {
                        if hc.trace_on {
                            hc.trace.push(TraceEvent::Policy {
                                table: tname,
                                chain: cname(start),
                                policy: table.chains[start].policy.unwrap_or(Policy::Accept).name(),
                            });
                        }
                        self.tally
                            .count(rs, ti, start, POLICY, ip_len, !pending.is_empty());
                        return Some(policy_of(start));
                    }
                }
                continue;
            }
            let rule = &c.rules[idx];
            let rref = RuleRef {
                table: kind,
                chain,
                rule: idx,
            };
            let mut checks: Vec<Check> = Vec::new();
            let header_ok = if hc.trace_on {
                header_matches_noting(rule, pkt, indev, outdev, self.env.backend, |c, held| {
                    checks.push(c.check(held))
                })
            } else {
                header_matches(rule, pkt, indev, outdev, self.env.backend)
            };
            if !header_ok {
                if hc.trace_on {
                    hc.trace
                        .push(self.rule_event(kind, chain, idx, checks, false, None, None));
                }
                idx += 1;
                continue;
            }
            let base = self.slot_base[ti][chain][idx];
            let mut failed: Option<usize> = None;
            let mut unknown: Option<(&'static str, u32)> = None;
            let mut hotdrop = false;
            let pickup_before = (hc.skb.pickup_world, hc.skb.pickup_doubt);
            for (mi, m) in rule.matches.iter().enumerate() {
                // A pickup's conntrack match that cannot answer fixes the world the packet goes
                // on in (`Skb::pickup_world`): kept only if the traversal takes its "no" branch
                // because of it (not a fork of it, below).
                let world = hc.skb.pickup_world;
                if rejoin.is_some() && m.module.stateful() {
                    // State only the picked-up world updates: the worlds part for good.
                    rejoin = None;
                }
                if !self.memo.plain(ti, base + mi) {
                    self.walk_plain = false;
                }
                if hc.behind.is_some() && m.module.reads_clock() {
                    hc.note_behind();
                }
                let mut r = if hc.gso && super::gso_reads(&*m.module) {
                    MatchResult::Unknown(
                        "the frame may be a segment of one GSO packet the host cut after \
                         POSTROUTING (the frames next to it continue its flow back to back): \
                         OUTPUT saw that packet whole, its length and payload, and counted it \
                         once",
                    )
                } else {
                    m.module.eval(&mut eval_ctx!(base + mi))
                };
                if let Some(why) = hc.skb.checksum_doubt {
                    if !world
                        && matches!(r, MatchResult::Yes | MatchResult::No)
                        && m.module.needs_conntrack()
                    {
                        // The kernel may have found the packet INVALID (no connection): the
                        // match's answer there, for a match that changes nothing; any other
                        // may answer otherwise. Apart, it is a pickup's match (above).
                        let apart = !m.module.facets().pure || {
                            let ct = std::mem::take(&mut hc.skb.ct);
                            let there = m.module.eval(&mut eval_ctx!(usize::MAX));
                            hc.skb.ct = ct;
                            there != r
                        };
                        if apart {
                            r = hc.skb.worlds_apart(r, why);
                        }
                    }
                }
                if hc.trace_on {
                    let cx = eval_ctx!(base + mi);
                    checks.push(match_check(&*m.module, &cx, r));
                }
                match r {
                    MatchResult::Yes => {}
                    MatchResult::No => {
                        failed = Some(mi);
                        break;
                    }
                    MatchResult::HotDrop => {
                        self.walk_plain = false;
                        hotdrop = true;
                        break;
                    }
                    MatchResult::Unknown(why) => {
                        self.walk_plain = false;
                        // The kernel would decide; we cannot. If a later stateless match of the
                        // rule fails anyway, the rule cannot match whatever the answer.
                        // (In the kernel's order: a hot drop or another undecided match met
                        // first may end the rule before that match.)
                        let mut settled_no = false;
                        for m2 in rule.matches[mi + 1..]
                            .iter()
                            .filter(|m2| !m2.module.stateful())
                        {
                            match m2.module.eval(&mut eval_ctx!(usize::MAX)) {
                                MatchResult::No => {
                                    settled_no = true;
                                    break;
                                }
                                MatchResult::Yes => {}
                                MatchResult::HotDrop | MatchResult::Unknown(_) => break,
                            }
                        }
                        if !settled_no && observer_only(&rule.action) {
                            // The verdict does not depend on it; the rule's counter does.
                            self.counter_doubt.insert((ti, chain, idx));
                        }
                        if settled_no || observer_only(&rule.action) {
                            hc.skb.pickup_world = world;
                        } else {
                            let k = hc.unknowns;
                            hc.unknowns += 1;
                            if hc.force == Some(k) {
                                // A fork taking the other answer: this match matched.
                                hc.skb.pickup_world = world;
                                continue;
                            }
                            unknown = Some((why, k));
                        }
                        failed = Some(mi);
                        break;
                    }
                }
            }
            // A pickup's conntrack match said "yes" where a tracked connection says "no"
            // (`Skb::pickup_doubt`): that matters only if the rule matched and decides.
            if hc.skb.pickup_doubt.is_some()
                && pickup_before.1.is_none()
                && (failed.is_some() || observer_only(&rule.action))
            {
                if failed.is_none() {
                    self.counter_doubt.insert((ti, chain, idx));
                }
                (hc.skb.pickup_world, hc.skb.pickup_doubt) = pickup_before;
            } else if hc.skb.pickup_doubt.is_some()
                && pickup_before.1.is_none()
                && failed.is_none()
                && !hotdrop
                && rejoin.is_none()
                && matches!(rule.action, Action::Jump(_))
            {
                rejoin = Some((stack.len() + 1, pickup_before));
            }
            if rejoin.is_some() && failed.is_none() {
                // Counted in the picked-up world only.
                self.counter_doubt.insert((ti, chain, idx));
                if matches!(rule.action, Action::Target(_)) && !observer_only(&rule.action) {
                    rejoin = None;
                }
            }
            if hc.trace_on {
                let mut ev = self.rule_event(
                    kind,
                    chain,
                    idx,
                    std::mem::take(&mut checks),
                    failed.is_none() && !hotdrop,
                    unknown.map(|(why, _)| why),
                    unknown.map(|_| alternatives(&rule.action)),
                );
                if let TraceEvent::Rule { hotdrop: h, .. } = &mut ev {
                    *h = hotdrop;
                }
                hc.trace.push(ev);
            }
            if let Some((why, k)) = unknown {
                // In the kernel this packet may go another way from here, and update the
                // address-keyed state (recent, hashlimit, connlimit) differently.
                let slot = base + failed.unwrap_or(0);
                if self.slot_base.has_stateful() {
                    let src = DoubtSource::Match(slot);
                    let protos = crate::ext::proto_bit(pkt.proto);
                    self.ext.doubt.mark_from(pkt.src, src, protos);
                    self.ext.doubt.mark_from(pkt.dst, src, protos);
                    self.ext
                        .doubt
                        .mark_limits(hc.now, hc.now_ns, Some(slot), pkt.frame);
                }
                pending.push(Pending {
                    rule: rref,
                    slot,
                    why,
                    alt: plain_verdict(&rule.action),
                    k,
                });
            }
            if hotdrop {
                traced_action!("DROP (hotdrop: the match drops the malformed packet)".into());
                return Some(TableResult {
                    verdict: TableVerdict::Drop,
                    decision: Decision::Rule(rref),
                });
            }
            if failed.is_some() {
                idx += 1;
                continue;
            }
            self.tally
                .count(rs, ti, chain, idx, ip_len, !pending.is_empty());
            if hc.trace_on {
                let what = match &rule.action {
                    Action::None => "no target: counters only, next rule".to_string(),
                    Action::Accept => "ACCEPT".into(),
                    Action::Drop => "DROP".into(),
                    Action::Queue => {
                        "QUEUE: a listener on queue 0 decides; without one, DROP".into()
                    }
                    Action::Return => "RETURN".into(),
                    Action::Jump(c) => format!("jump to {}", c.name),
                    Action::Goto(c) => format!("goto {}", c.name),
                    Action::Target(t) => t.display_name().to_string(),
                };
                traced_action!(what);
            }
            match &rule.action {
                Action::None => idx += 1,
                Action::Accept => {
                    return Some(TableResult {
                        verdict: TableVerdict::Accept,
                        decision: Decision::Rule(rref),
                    })
                }
                Action::Drop => {
                    return Some(TableResult {
                        verdict: TableVerdict::Drop,
                        decision: Decision::Rule(rref),
                    })
                }
                Action::Queue => {
                    // NF_QUEUE to queue 0: a listener's verdict (a fork takes its ACCEPT), or,
                    // with none, `nf_queue` fails and the kernel drops the packet. Whether the
                    // host runs one is not in the capture: taken as none, uncertain.
                    self.walk_plain = false;
                    let k = hc.unknowns;
                    hc.unknowns += 1;
                    let verdict = if hc.force == Some(k) {
                        TableVerdict::Accept
                    } else {
                        let why = crate::ext::targets::nfqueue::QUEUE_UNDECIDED;
                        hc.uncertain(rs, rref, why);
                        hc.undecided.push(super::Undecided { k, rule: rref, why });
                        TableVerdict::Drop
                    };
                    return Some(TableResult {
                        verdict,
                        decision: Decision::Rule(rref),
                    });
                }
                Action::Return => match stack.pop() {
                    Some((ch, i)) => {
                        if let Some((depth, flags)) = rejoin {
                            if stack.len() < depth {
                                (hc.skb.pickup_world, hc.skb.pickup_doubt) = flags;
                                rejoin = None;
                            }
                        }
                        if hc.trace_on {
                            hc.trace.push(TraceEvent::Return {
                                table: tname,
                                from: cname(chain),
                                to: Some((cname(ch), i + 1)),
                                explicit: true,
                            });
                        }
                        chain = ch;
                        idx = i + 1;
                    }
                    None => {
                        if hc.trace_on {
                            hc.trace.push(TraceEvent::Return {
                                table: tname,
                                from: cname(chain),
                                to: None,
                                explicit: true,
                            });
                            hc.trace.push(TraceEvent::Policy {
                                table: tname,
                                chain: cname(start),
                                policy: table.chains[start].policy.unwrap_or(Policy::Accept).name(),
                            });
                        }
                        self.tally
                            .count(rs, ti, start, POLICY, ip_len, !pending.is_empty());
                        return Some(policy_of(start));
                    }
                },
                Action::Jump(cr) | Action::Goto(cr) => {
                    let goto = matches!(rule.action, Action::Goto(_));
                    if hc.trace_on {
                        hc.trace.push(TraceEvent::Jump {
                            table: tname,
                            from: cname(chain),
                            rule: idx + 1,
                            to: cr.name.clone(),
                            goto,
                        });
                    }
                    if !goto {
                        stack.push((chain, idx));
                    }
                    chain = cr.index;
                    idx = 0;
                }
                Action::Target(t) => {
                    self.walk_plain = false;
                    if hc.behind.is_some() && t.reads_clock() {
                        hc.note_behind();
                    }
                    let mut v = t.apply(&mut eval_ctx!(base + rule.matches.len()));
                    // TCPMSS may have made the packet longer.
                    ip_len = hc.skb.len(pkt) as u64;
                    let mut undecided = None;
                    if let TargetVerdict::Undecided { why, taken } = v {
                        undecided = Some(why);
                        // Numbered with the undecidable matches: a fork may take the other way.
                        let k = hc.unknowns;
                        hc.unknowns += 1;
                        if hc.force == Some(k) {
                            v = t.forced(&mut eval_ctx!(base + rule.matches.len()));
                        } else {
                            hc.uncertain(rs, rref, why);
                            hc.undecided.push(super::Undecided { k, rule: rref, why });
                            v = match taken {
                                crate::ext::Taken::Accept => TargetVerdict::Accept,
                                crate::ext::Taken::Drop => TargetVerdict::Drop,
                            };
                        }
                    }
                    if hc.trace_on {
                        let effect = target_effect(t.display_name(), &v);
                        traced_action!(match undecided {
                            Some(why) => format!("{effect} (undecided: {why})"),
                            None => effect,
                        });
                    }
                    let done = |verdict| {
                        Some(TableResult {
                            verdict,
                            decision: Decision::Rule(rref),
                        })
                    };
                    match v {
                        TargetVerdict::Continue => idx += 1,
                        TargetVerdict::Accept => return done(TableVerdict::Accept),
                        TargetVerdict::Drop => return done(TableVerdict::Drop),
                        TargetVerdict::Reject(r) => return done(TableVerdict::Reject(r)),
                        TargetVerdict::Nat(spec) => return done(TableVerdict::Nat(spec)),
                        TargetVerdict::Unknown(why) => {
                            hc.uncertain(rs, rref, why);
                            idx += 1;
                        }
                        TargetVerdict::Undecided { why, .. } => {
                            // `forced` gave another undecided answer: continue, uncertain.
                            hc.uncertain(rs, rref, why);
                            idx += 1;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod l4proto_tests {
    use super::nft_ipv6_l4proto;
    use crate::packet::build::{build, ExtHdr, L4Spec, PacketSpec};
    use crate::packet::{proto, LinkInfo, Timestamp};

    fn tcp_behind(ext: Vec<ExtHdr>) -> crate::packet::Packet {
        let mut s = PacketSpec::new(
            "2001:db8:1::7".parse().unwrap(),
            "2001:db8::10".parse().unwrap(),
            L4Spec::Tcp {
                sport: 1,
                dport: 443,
                seq: 1,
                ack: 0,
                flags: 2,
                window: 1000,
                options: vec![],
            },
        );
        s.ext = ext;
        build(&s, 1, Timestamp(0), LinkInfo::default())
    }

    /// Kernel fact (ufw.rules.v6 × ipv6-ext.pcap, frame 3): under nf_tables `-p tcp` does not
    /// match a TCP segment behind AH — `meta l4proto` is AH there.
    #[test]
    fn nftables_l4proto_stops_at_ah() {
        let opt = |kind, len| ExtHdr { kind, len };
        assert_eq!(nft_ipv6_l4proto(&tcp_behind(vec![])), Some(proto::TCP));
        assert_eq!(
            nft_ipv6_l4proto(&tcp_behind(vec![
                opt(proto::HOPOPTS, 8),
                opt(proto::IPV6_OPTS, 16)
            ])),
            Some(proto::TCP)
        );
        assert_eq!(
            nft_ipv6_l4proto(&tcp_behind(vec![opt(proto::AH, 24)])),
            Some(proto::AH)
        );
        let p = tcp_behind(vec![opt(proto::IPV6_ROUTE, 24)]);
        assert_eq!(nft_ipv6_l4proto(&p), Some(proto::TCP));
        assert_eq!(p.proto, proto::TCP);
    }
}
