//! The simulation engine: which hooks a packet traverses, tables in kernel priority order at
//! each hook, connection tracking between raw and mangle, NAT bindings for the first packet of
//! a connection, confirmation last — and the context ([`EvalCtx`]) extensions evaluate against.
//!
//! One [`Engine`] replays packets in capture order; its state (conntrack table, limit buckets,
//! recent lists, counters) evolves exactly as the kernel's would.

pub mod ctx;
pub mod outcome;
mod traverse;

use std::net::IpAddr;

pub use ctx::*;
pub use outcome::*;
pub use traverse::{TableResult, TableVerdict};

use crate::conntrack::{self, Attach, Conntrack, CtHook, CtInfo, CtOutcome, Params};
use crate::packet::{Family, Packet};
use crate::ruleset::model::{Counters, Hook, Ruleset, TableKind};

/// Options of a simulation run.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub env: SimEnv,
    /// Forward packets that are neither to nor from the host (`--router`).
    pub router: bool,
    /// Run REJECT's reply through the host's OUTPUT path to see whether it leaves.
    pub simulate_replies: bool,
    /// Record every rule tried (for `trace`).
    pub trace: bool,
    /// `nf_conntrack_tcp_ignore_invalid_rst`.
    pub tcp_ignore_invalid_rst: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            env: SimEnv::default(),
            router: false,
            simulate_replies: true,
            trace: false,
            tcp_ignore_invalid_rst: false,
        }
    }
}

/// A device a packet comes in or goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dev {
    /// No device at this hook (`""` to `-i`/`-o`).
    None,
    /// The capture's interface (`--iface`).
    Iface,
    Lo,
}

impl Dev {
    pub fn name(self, iface: &str) -> &str {
        match self {
            Dev::None => "",
            Dev::Iface => iface,
            Dev::Lo => "lo",
        }
    }
}

/// Per-packet state while it crosses the hooks.
pub(crate) struct HookCtx {
    pub indev: Dev,
    pub outdev: Dev,
    pub now: u64,
    pub skb: Skb,
    pub trace_on: bool,
    pub trace: Vec<TraceStep>,
    pub uncertain: Option<String>,
}

impl HookCtx {
    fn uncertain(&mut self, rs: &Ruleset, r: RuleRef, why: &str) {
        if self.uncertain.is_none() {
            let t = &rs.tables.iter().find(|t| t.kind == r.table).expect("table");
            let c = &t.chains[r.chain];
            self.uncertain = Some(format!(
                "{} {} #{} (line {}): {why}",
                r.table,
                c.name,
                r.rule + 1,
                rs.line_of(c.rules[r.rule].span)
            ));
        }
    }
}

/// Jiffies at the first packet: away from zero so that `now - x` never underflows.
const JIFFIES_BASE: u64 = 1 << 32;

/// The packet simulator.
pub struct Engine<'r> {
    pub(crate) rs: &'r Ruleset,
    pub(crate) env: SimEnv,
    opts: SimOptions,
    params: Params,
    /// Index into `rs.tables` per `TableKind`.
    pub(crate) table_index: [Option<usize>; 5],
    /// First extension state slot of each rule: `[table][chain][rule]`.
    pub(crate) slot_base: Vec<Vec<Vec<usize>>>,
    pub(crate) counters: Vec<Vec<Vec<Counters>>>,
    pub(crate) policy_counters: Vec<Vec<Counters>>,
    pub conntrack: Conntrack,
    pub(crate) ext: ExtState,
    ct_active: bool,
    origin: Option<u64>,
}

impl<'r> Engine<'r> {
    pub fn new(rs: &'r Ruleset, opts: SimOptions) -> Engine<'r> {
        let mut table_index = [None; 5];
        for (i, t) in rs.tables.iter().enumerate() {
            table_index[t.kind as usize] = Some(i);
        }
        let mut next = 0usize;
        let slot_base = rs
            .tables
            .iter()
            .map(|t| {
                t.chains
                    .iter()
                    .map(|c| {
                        c.rules
                            .iter()
                            .map(|r| {
                                let b = next;
                                next += r.matches.len() + 1;
                                b
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let counters = rs
            .tables
            .iter()
            .map(|t| {
                t.chains
                    .iter()
                    .map(|c| vec![Counters::default(); c.rules.len()])
                    .collect()
            })
            .collect();
        let policy_counters = rs
            .tables
            .iter()
            .map(|t| vec![Counters::default(); t.chains.len()])
            .collect();
        let ct_active = conntrack_active(rs);
        let params = Params {
            hz: opts.env.hz,
            tcp_loose: opts.env.tcp_loose,
            tcp_be_liberal: opts.env.tcp_be_liberal,
            tcp_ignore_invalid_rst: opts.tcp_ignore_invalid_rst,
            tcp_max_retrans: 3,
            checksum: opts.env.ct_checksum,
        };
        Engine {
            rs,
            env: opts.env.clone(),
            opts,
            params,
            table_index,
            slot_base,
            counters,
            policy_counters,
            conntrack: Conntrack::new(),
            ext: ExtState::default(),
            ct_active,
            origin: None,
        }
    }

    /// Whether the ruleset makes the kernel track connections (and defragment).
    pub fn conntrack_active(&self) -> bool {
        self.ct_active
    }

    pub fn ruleset(&self) -> &'r Ruleset {
        self.rs
    }

    /// Counters of rule `r`.
    pub fn rule_counters(&self, table: usize, chain: usize, rule: usize) -> Counters {
        self.counters[table][chain][rule]
    }

    /// Counters of a built-in chain's policy.
    pub fn policy_counters(&self, table: usize, chain: usize) -> Counters {
        self.policy_counters[table][chain]
    }

    /// The current time in jiffies for a capture time stamp.
    pub fn jiffies(&mut self, ts_ns: u64) -> u64 {
        let origin = *self.origin.get_or_insert(ts_ns);
        JIFFIES_BASE + self.env.jiffies(ts_ns.saturating_sub(origin))
    }

    fn is_local(&self, a: IpAddr) -> bool {
        self.env.is_local(a)
    }

    /// Which way the packet goes (`None` with a reason when it is not judged).
    pub fn classify(&self, pkt: &Packet) -> Result<Direction, &'static str> {
        let src_local = self.is_local(pkt.src);
        let dst_local = self.is_local(pkt.dst);
        Ok(match (src_local, dst_local) {
            (true, true) => Direction::Local,
            (false, true) => Direction::In,
            (true, false) => Direction::Out,
            (false, false) if self.opts.router => Direction::Forward,
            (false, false) => {
                return Err("not for this host (neither source nor destination is a host address)")
            }
        })
    }

    /// Replay one packet through the ruleset.
    pub fn process(&mut self, pkt: &Packet) -> Outcome {
        let now = self.jiffies(pkt.ts.0);
        let direction = match self.classify(pkt) {
            Ok(d) => d,
            Err(why) => return Outcome::unjudged(pkt.frame, why),
        };
        let mut out = Outcome {
            frame: pkt.frame,
            direction,
            verdict: None,
            certain: true,
            decision: None,
            ctstate: None,
            reason: None,
            reject: None,
            fragments: Vec::new(),
            trace: Vec::new(),
        };
        // ip_rcv_core: received packets with a bad IPv4 header never reach netfilter.
        if matches!(direction, Direction::In | Direction::Forward)
            && pkt.family == Family::V4
            && !pkt.ip_checksum_ok
        {
            out.verdict = Some(Verdict::Drop);
            out.decision = Some(Decision::Stack("bad IPv4 header checksum"));
            out.reason =
                Some("dropped by the IP stack before netfilter: bad IPv4 header checksum".into());
            return out;
        }
        let mut hc = HookCtx {
            indev: Dev::None,
            outdev: Dev::None,
            now,
            skb: Skb {
                tos: pkt.tos,
                ttl: pkt.ttl,
                ..Skb::default()
            },
            trace_on: self.opts.trace,
            trace: Vec::new(),
            uncertain: None,
        };
        let mut ct_new: Option<conntrack::CtId> = None;
        let result = match direction {
            Direction::In => {
                hc.indev = if pkt.dst.is_loopback() {
                    Dev::Lo
                } else {
                    Dev::Iface
                };
                self.path(
                    pkt,
                    &mut hc,
                    &mut ct_new,
                    &mut out,
                    &[Hook::Prerouting, Hook::Input],
                )
            }
            Direction::Out => {
                hc.outdev = Dev::Iface;
                self.path(
                    pkt,
                    &mut hc,
                    &mut ct_new,
                    &mut out,
                    &[Hook::Output, Hook::Postrouting],
                )
            }
            Direction::Forward => {
                hc.indev = Dev::Iface;
                hc.outdev = Dev::Iface;
                self.path(
                    pkt,
                    &mut hc,
                    &mut ct_new,
                    &mut out,
                    &[Hook::Prerouting, Hook::Forward, Hook::Postrouting],
                )
            }
            Direction::Local => {
                hc.outdev = Dev::Lo;
                let r = self.path(
                    pkt,
                    &mut hc,
                    &mut ct_new,
                    &mut out,
                    &[Hook::Output, Hook::Postrouting],
                );
                if r.verdict == TableVerdict::Accept {
                    hc.indev = Dev::Lo;
                    hc.outdev = Dev::None;
                    self.path(
                        pkt,
                        &mut hc,
                        &mut ct_new,
                        &mut out,
                        &[Hook::Prerouting, Hook::Input],
                    )
                } else {
                    r
                }
            }
            Direction::None => unreachable!("classified"),
        };
        out.trace = std::mem::take(&mut hc.trace);
        if let Some(u) = hc.uncertain.take() {
            out.certain = false;
            out.reason = Some(u);
        }
        out.decision = Some(result.decision);
        out.verdict = Some(match result.verdict {
            TableVerdict::Accept | TableVerdict::Nat(_) => Verdict::Accept,
            TableVerdict::Drop => Verdict::Drop,
            TableVerdict::Reject(r) => {
                out.reject = Some(RejectInfo {
                    reply: r,
                    sent: None,
                });
                Verdict::Reject
            }
        });
        // Confirm the new connection if the packet survived; otherwise it dies with it.
        if let Some(id) = ct_new {
            if out.verdict == Some(Verdict::Accept) {
                self.conntrack.confirm(id, now);
            } else {
                self.conntrack.discard(id);
            }
        }
        if let Attach::Ct { id, .. } = hc.skb.ct {
            self.conntrack.release(id);
        }
        out
    }

    /// Traverse `hooks` in order; stop at the first table that does not accept.
    fn path(
        &mut self,
        pkt: &Packet,
        hc: &mut HookCtx,
        ct_new: &mut Option<conntrack::CtId>,
        out: &mut Outcome,
        hooks: &[Hook],
    ) -> TableResult {
        // The decision reported for an accepted packet: filter's, else the last table's.
        let mut accepted_by: Option<TableResult> = None;
        for &hook in hooks {
            for &kind in tables_at(hook) {
                if kind == TableKind::Nat && !self.nat_runs(hc) {
                    continue;
                }
                // Connection tracking sits between raw and mangle at PREROUTING and OUTPUT.
                if kind == TableKind::Mangle && matches!(hook, Hook::Prerouting | Hook::Output) {
                    self.conntrack_hook(pkt, hook, hc, ct_new, out);
                }
                let Some(r) = self.run_table(kind, hook, pkt, hc) else {
                    continue;
                };
                match r.verdict {
                    TableVerdict::Accept | TableVerdict::Nat(_) => {
                        if kind == TableKind::Filter
                            || accepted_by.is_none_or(|a| {
                                !matches!(
                                    a.decision,
                                    Decision::Rule(RuleRef {
                                        table: TableKind::Filter,
                                        ..
                                    }) | Decision::Policy {
                                        table: TableKind::Filter,
                                        ..
                                    }
                                )
                            })
                        {
                            accepted_by = Some(r);
                        }
                    }
                    _ => return r,
                }
            }
        }
        accepted_by.unwrap_or(TableResult {
            verdict: TableVerdict::Accept,
            decision: Decision::NoRules,
        })
    }

    /// The nat table only sees packets that start a connection (NEW or RELATED).
    fn nat_runs(&self, hc: &HookCtx) -> bool {
        matches!(
            hc.skb.ct,
            Attach::Ct {
                info: CtInfo::New | CtInfo::Related | CtInfo::RelatedReply,
                ..
            }
        )
    }

    fn conntrack_hook(
        &mut self,
        pkt: &Packet,
        hook: Hook,
        hc: &mut HookCtx,
        ct_new: &mut Option<conntrack::CtId>,
        out: &mut Outcome,
    ) {
        if !self.ct_active {
            return;
        }
        let cthook = if hook == Hook::Output {
            CtHook::LocalOut
        } else {
            CtHook::PreRouting
        };
        let r: CtOutcome = conntrack::conntrack_in(
            &mut self.conntrack,
            pkt,
            cthook,
            hc.skb.ct,
            hc.skb.zone,
            &self.params,
            hc.now,
            pkt.frame,
        );
        hc.skb.ct = r.attach;
        if r.new.is_some() {
            *ct_new = r.new;
        }
        out.ctstate = Some(label(r.attach));
        if let Some(why) = r.uncertain {
            if hc.uncertain.is_none() {
                hc.uncertain = Some(format!("conntrack: {why}"));
            }
        } else if let Some(why) = r.invalid {
            out.reason
                .get_or_insert_with(|| format!("conntrack: INVALID ({why})"));
        }
    }
}

/// The state label of an attachment.
pub fn label(a: Attach) -> CtLabel {
    match a {
        Attach::None => CtLabel::Invalid,
        Attach::Untracked => CtLabel::Untracked,
        Attach::Ct { info, .. } => match info {
            CtInfo::New => CtLabel::New,
            CtInfo::Established | CtInfo::EstablishedReply => CtLabel::Established,
            CtInfo::Related | CtInfo::RelatedReply => CtLabel::Related,
        },
    }
}

/// Tables registered at a hook, in priority order (raw -300, mangle -150, nat -100 (DNAT) or
/// 100 (SNAT), filter 0, security 50).
pub fn tables_at(hook: Hook) -> &'static [TableKind] {
    use TableKind::*;
    match hook {
        Hook::Prerouting => &[Raw, Mangle, Nat],
        Hook::Input => &[Mangle, Filter, Security, Nat],
        Hook::Forward => &[Mangle, Filter, Security],
        Hook::Output => &[Raw, Mangle, Nat, Filter, Security],
        Hook::Postrouting => &[Mangle, Nat],
    }
}

/// Does the ruleset make the kernel register conntrack (`nf_ct_netns_get`)? Any nat table, or
/// any match/target that needs connection tracking.
pub fn conntrack_active(rs: &Ruleset) -> bool {
    rs.tables.iter().any(|t| {
        t.kind == TableKind::Nat
            || t.chains.iter().flat_map(|c| &c.rules).any(|r| {
                r.matches.iter().any(|m| m.module.needs_conntrack())
                    || matches!(&r.action, crate::ruleset::model::Action::Target(t) if t.needs_conntrack())
            })
    })
}
