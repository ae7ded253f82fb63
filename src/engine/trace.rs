//! What `fwcheck trace` records: the steps of one packet through the hooks, tables and chains,
//! as the kernel's `nf_tables` trace (`nft_trace_notify`, shown by `xtables-monitor --trace`)
//! reports them — hook, table, chain, rule, verdict, policy — plus what the kernel does not
//! say: which of a rule's clauses held, which failed and why, conntrack before and after, NAT.
//!
//! Recording is part of the one traversal (`super::traverse`): the engine pushes events only
//! when [`super::SimOptions::trace`] is on (one flag test per rule otherwise). The reasons come
//! from the clauses themselves: the rule header (`ip_packet_match`) through `Clause`, the
//! match modules through [`crate::ext::Match::explain`].

use std::fmt::Write;

use serde::Serialize;

use crate::engine::EvalCtx;
use crate::ext::{Match, MatchResult};
use crate::packet::Packet;
use crate::ruleset::model::{AddrMask, IfaceMatch};

/// One clause of a rule, tried against the packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The clause as `iptables-save` writes it (`-s 192.0.2.0/24`, `-m tcp --dport 22`).
    pub clause: String,
    /// `Some(true)`: held; `Some(false)`: failed; `None`: cannot be decided offline.
    pub held: Option<bool>,
    /// Why, with the packet's own values (`--dport 22 ≠ 80`).
    pub why: String,
}

/// One step of a packet's way through the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum TraceEvent {
    /// The packet reaches a netfilter hook.
    Hook {
        hook: &'static str,
        indev: String,
        outdev: String,
        /// The packet as it is here (after any NAT so far).
        packet: String,
    },
    /// Connection tracking (`nf_conntrack_in`) at PREROUTING / OUTPUT.
    Conntrack {
        hook: &'static str,
        /// The state label before (`none` on a fresh packet).
        before: String,
        /// The state label after (`NEW`, `ESTABLISHED`, …, `INVALID`).
        after: String,
        /// The connection's tuples and TCP state after, when there is a connection.
        entry: Option<String>,
        note: Option<String>,
    },
    /// A table starts at its built-in chain.
    Table {
        hook: &'static str,
        table: &'static str,
        chain: String,
    },
    /// A rule was tried.
    Rule {
        table: &'static str,
        chain: String,
        /// 1-based, as `iptables -L --line-numbers`.
        rule: usize,
        line: usize,
        text: String,
        /// The clauses tried, in the kernel's order, up to the first that failed.
        checks: Vec<Check>,
        matched: bool,
        /// A match asked for the packet to be dropped at once (`hotdrop`).
        hotdrop: bool,
        /// The rule could not be decided offline: why, and what follows in each case.
        unknown: Option<String>,
        alternatives: Option<String>,
        /// What the rule's target did when it matched (`ACCEPT`, `jump to X`, `LOG: continue`).
        action: Option<String>,
    },
    /// `-j CHAIN` / `-g CHAIN`.
    Jump {
        table: &'static str,
        from: String,
        rule: usize,
        to: String,
        goto: bool,
    },
    /// Back to the calling chain: `-j RETURN` or the end of a user chain.
    Return {
        table: &'static str,
        from: String,
        /// The chain and rule execution resumes after; `None` = the built-in chain's policy.
        to: Option<(String, usize)>,
        explicit: bool,
    },
    /// A built-in chain's policy decided.
    Policy {
        table: &'static str,
        chain: String,
        policy: &'static str,
    },
    /// NAT rewrote the packet (`nf_nat_packet`).
    Nat {
        hook: &'static str,
        before: String,
        after: String,
    },
    /// Anything else on the way: the IP stack, routing, reassembly.
    Note { text: String },
}

/// A rule-header clause (`ip_packet_match`) with the packet's value it was compared with.
pub(crate) enum Clause<'a> {
    Src(&'a AddrMask, bool, std::net::IpAddr),
    Dst(&'a AddrMask, bool, std::net::IpAddr),
    In(&'a IfaceMatch, &'a str),
    Out(&'a IfaceMatch, &'a str),
    /// Rule protocol, negated, the packet's protocol as this backend sees it (`None`: the
    /// IPv6 header chain cannot be walked).
    Proto(u8, bool, Option<u8>),
    /// `-f` negated, the packet's fragment offset.
    Frag(bool, u16),
}

fn neg(inv: bool) -> &'static str {
    if inv {
        "! "
    } else {
        ""
    }
}

/// A protocol's name (`tcp`) or number.
pub fn proto_label(p: u8) -> String {
    proto_name(p)
}

fn proto_name(p: u8) -> String {
    crate::ext::proto_name(p).map_or_else(|| p.to_string(), |n| n.to_string())
}

impl Clause<'_> {
    /// The clause, its result and why.
    pub(crate) fn check(&self, held: bool) -> Check {
        let (clause, why) = match *self {
            Clause::Src(a, inv, ip) | Clause::Dst(a, inv, ip) => {
                let opt = if matches!(self, Clause::Src(..)) {
                    "-s"
                } else {
                    "-d"
                };
                let inside = a.contains(ip);
                let rel = if inside { "∈" } else { "∉" };
                (
                    format!("{}{opt} {a}", neg(inv)),
                    format!("{opt} {ip} {rel} {a}"),
                )
            }
            Clause::In(i, dev) | Clause::Out(i, dev) => {
                let opt = if matches!(self, Clause::In(..)) {
                    "-i"
                } else {
                    "-o"
                };
                let dev_s = if dev.is_empty() {
                    "(no device at this hook)".to_string()
                } else {
                    dev.to_string()
                };
                let hit = i.matches(dev) != i.invert;
                let rel = if hit { "=" } else { "≠" };
                (
                    format!("{}{opt} {}", neg(i.invert), i.name),
                    format!("{opt} {dev_s} {rel} {}", i.name),
                )
            }
            Clause::Proto(p, inv, l4) => {
                let why = match l4 {
                    Some(l4) => {
                        let rel = if l4 == p { "=" } else { "≠" };
                        format!("-p {} {rel} {}", proto_name(l4), proto_name(p))
                    }
                    None => "-p: the IPv6 extension headers cannot be walked".to_string(),
                };
                (format!("{}-p {}", neg(inv), proto_name(p)), why)
            }
            Clause::Frag(inv, off) => (
                format!("{}-f", neg(inv)),
                if off != 0 {
                    format!("a later fragment (offset {})", off as u32 * 8)
                } else {
                    "not a later fragment (offset 0)".to_string()
                },
            ),
        };
        Check {
            clause,
            held: Some(held),
            why,
        }
    }
}

/// A match module's clause, result and reason (its own [`Match::explain`], else a generic one).
pub(crate) fn match_check(m: &dyn Match, cx: &EvalCtx<'_>, r: MatchResult) -> Check {
    let mut clause = format!("-m {}", m.display_name());
    m.save(&mut clause);
    let held = match r {
        MatchResult::Yes => Some(true),
        MatchResult::No | MatchResult::HotDrop => Some(false),
        MatchResult::Unknown(_) => None,
    };
    let why = match r {
        MatchResult::Unknown(w) => format!("cannot be decided offline: {w}"),
        MatchResult::HotDrop => format!(
            "{}: the packet is malformed for this match; the kernel drops it at once (hotdrop)",
            m.display_name()
        ),
        _ => m.explain(cx, r == MatchResult::Yes).unwrap_or_else(|| {
            format!(
                "{} {}",
                m.display_name(),
                if r == MatchResult::Yes {
                    "held"
                } else {
                    "did not hold"
                }
            )
        }),
    };
    Check { clause, held, why }
}

/// A short description of a packet: `tcp 198.51.100.7:40000 > 203.0.113.10:22 [S] len 60`.
pub(crate) fn describe_packet(p: &Packet) -> String {
    use crate::packet::L4;
    let mut s = String::new();
    let ep = |a, port| crate::packet::endpoint(a, Some(port));
    match &p.l4 {
        L4::Tcp(t) if p.frag.offset == 0 => {
            let _ = write!(
                s,
                "tcp {} > {} [{}]",
                ep(p.src, t.sport),
                ep(p.dst, t.dport),
                tcp_flags(t.flags)
            );
        }
        L4::Udp(u) if p.frag.offset == 0 => {
            let _ = write!(s, "udp {} > {}", ep(p.src, u.sport), ep(p.dst, u.dport));
        }
        L4::Icmp(i) | L4::Icmpv6(i) if p.frag.offset == 0 => {
            let _ = write!(
                s,
                "{} {} > {} type {} code {}",
                proto_name(p.proto),
                p.src,
                p.dst,
                i.icmp_type,
                i.code
            );
        }
        _ => {
            let _ = write!(s, "{} {} > {}", proto_name(p.proto), p.src, p.dst);
        }
    }
    if p.frag.is_fragment() {
        let _ = write!(
            s,
            " fragment id {} offset {}{}",
            p.frag.id,
            p.frag.offset as u32 * 8,
            if p.frag.more_fragments { " +MF" } else { "" }
        );
    }
    let _ = write!(s, " len {}", p.ip_len);
    s
}

/// TCP flags as `tcpdump` letters (see [`crate::packet::tcp_flags::tcpdump`]).
pub fn tcp_flags(f: u8) -> String {
    crate::packet::tcp_flags::tcpdump(f)
}
