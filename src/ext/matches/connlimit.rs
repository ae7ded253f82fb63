//! `-m connlimit --connlimit-upto N | --connlimit-above N [--connlimit-mask LEN]
//! [--connlimit-saddr|--connlimit-daddr]` (libxt_connlimit.c rev 1 / kernel `xt_connlimit.c` with
//! `nf_conncount.c`). `!` swaps upto and above; saved always with the mask and the side.
//!
//! The kernel counts, per rule and per key (the packet's source, or destination, address masked
//! to LEN bits, and the zone), the connections this rule has seen (`nf_conncount.c`,
//! `__nf_conncount_add`). A key's list remembers the jiffy of its last garbage collection: when
//! the packet arrives in that same jiffy, its connection is appended without looking at the list
//! at all — so within one jiffy the same connection can be counted twice (a retransmitted or
//! reopening SYN), and closed connections still count. In a later jiffy the list is walked:
//! entries whose conntrack entry is gone (not in the confirmed table) or is a TCP connection in
//! TIME_WAIT/CLOSE are dropped (the walk stops after more than 8 drops), the packet's own
//! connection already listed ends the walk without adding it (and without moving the jiffy),
//! otherwise it is appended. A key seen for the first time starts a list with that jiffy. The
//! result is `(count > N)`, inverted for `--connlimit-upto`. The packet's connection is its
//! conntrack entry's original tuple; a packet without one uses its own tuple.
//!
//! The per-rule lists live in the instance's state slot and look connections up in the
//! emulated conntrack table (`cx.conntrack`). The single-CPU view is taken (the oracle pins its
//! replay to one CPU): an entry not found is dropped at once (the kernel spares entries another
//! CPU added less than two jiffies ago). Not modelled: when a key is seen for the first time the
//! kernel also garbage-collects the lists of other keys it passes in the same slot of its hash
//! table (seeded randomly at boot), which can only drop entries sooner.

use std::any::Any;
use std::collections::HashMap;
use std::fmt::Write;
use std::net::IpAddr;

use super::{conflict, missing};
use crate::conntrack::tcp::TcpState;
use crate::conntrack::{Attach, Tuple};
use crate::diag::Diagnostic;
use crate::engine::EvalCtx;
use crate::ext::{parse_num, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::packet::L4;
use crate::ruleset::model::Family;

/// `CONNCOUNT_GC_MAX_NODES`.
const GC_MAX_NODES: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connlimit {
    pub limit: u32,
    pub invert: bool,
    pub mask: u8,
    pub daddr: bool,
    pub v6: bool,
    given: bool,
    side_given: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Connlimit {
        limit: 0,
        invert: false,
        mask: 0,
        daddr: false,
        v6: false,
        given: false,
        side_given: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("connlimit-upto", 1, Arg::One).inv(),
    OptSpec::new("connlimit-above", 2, Arg::One).inv(),
    OptSpec::new("connlimit-mask", 3, Arg::One),
    OptSpec::new("connlimit-saddr", 4, Arg::None),
    OptSpec::new("connlimit-daddr", 5, Arg::None),
];

/// The connections counted for one key (`struct nf_conncount_list`).
#[derive(Debug, Default, Clone)]
pub struct KeyList {
    pub conns: Vec<Tuple>,
    /// Jiffies of the last garbage collection or addition (`last_gc`, 32 bits in the kernel).
    pub last_gc: u32,
}

/// Per-rule accounting: key → listed connections.
#[derive(Debug, Default)]
pub struct Lists {
    pub lists: HashMap<(u128, u16), KeyList>,
}

fn packet_tuple(cx: &EvalCtx<'_>) -> Option<Tuple> {
    let p = cx.pkt;
    let (sport, dport) = match &p.l4 {
        L4::Icmp(i) | L4::Icmpv6(i) => (i.id, (i.icmp_type as u16) << 8 | i.code as u16),
        _ => p.ports().unwrap_or((0, 0)),
    };
    Some(Tuple {
        src: p.src,
        dst: p.dst,
        proto: p.proto,
        sport,
        dport,
        zone: cx.skb.zone,
    })
}

/// `__nf_conncount_add` on one key's list (single CPU).
fn add(list: &mut KeyList, tuple: Tuple, now: u64, cx: &mut EvalCtx<'_>) {
    let now32 = now as u32;
    if now32 != list.last_gc {
        let mut collect = 0;
        let mut i = 0;
        while i < list.conns.len() {
            if collect > GC_MAX_NODES {
                break;
            }
            let t = list.conns[i];
            let found = cx
                .conntrack
                .lookup(&t, now)
                .and_then(|(id, _)| cx.conntrack.get(id));
            let Some(e) = found else {
                list.conns.remove(i);
                collect += 1;
                continue;
            };
            if t == tuple {
                // Already counted: no addition, and the jiffy of the last GC stays.
                return;
            }
            let closed = e
                .tcp()
                .is_some_and(|c| matches!(c.state, TcpState::TimeWait | TcpState::Close));
            if closed {
                list.conns.remove(i);
                collect += 1;
                continue;
            }
            i += 1;
        }
    }
    list.conns.push(tuple);
    list.last_gc = now32;
}

impl Match for Connlimit {
    fn name(&self) -> &'static str {
        "connlimit"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        if !self.given && self.mask == 0 {
            self.v6 = cx.family == Family::V6;
            self.mask = if self.v6 { 128 } else { 32 };
        }
        match opt.id {
            1 | 2 => {
                if self.given {
                    return Err(conflict(
                        cx,
                        "--connlimit-upto and --connlimit-above cannot be used together",
                        "one of --connlimit-upto or --connlimit-above",
                    ));
                }
                self.limit = parse_num(&args[0], 0, u32::MAX as u64, "connection limit")? as u32;
                self.invert = (opt.id == 1) != invert;
                self.given = true;
            }
            3 => {
                let max = if self.v6 { 128 } else { 32 };
                self.mask = parse_num(&args[0], 0, max, "prefix length")? as u8;
            }
            4 | 5 => {
                if self.side_given {
                    return Err(conflict(
                        cx,
                        "--connlimit-saddr and --connlimit-daddr cannot be used together",
                        "one of --connlimit-saddr or --connlimit-daddr",
                    ));
                }
                self.side_given = true;
                self.daddr = opt.id == 5;
            }
            _ => {}
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(
                cx,
                "-m connlimit requires --connlimit-upto or --connlimit-above",
                "--connlimit-above N or --connlimit-upto N",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let _ = write!(
            out,
            " --connlimit-{} {} --connlimit-mask {} --connlimit-{}",
            if self.invert { "upto" } else { "above" },
            self.limit,
            self.mask,
            if self.daddr { "daddr" } else { "saddr" }
        );
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let (tuple, zone) = match (cx.skb.ct, cx.ct()) {
            (Attach::Ct { .. }, Some(e)) => (e.tuple[0], e.zone),
            _ => match packet_tuple(cx) {
                Some(t) => (t, cx.skb.zone),
                None => return MatchResult::HotDrop,
            },
        };
        let a = if self.daddr { cx.pkt.dst } else { cx.pkt.src };
        let key = match a {
            IpAddr::V4(x) => {
                let m = if self.mask == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.mask.min(32) as u32)
                };
                (u32::from(x) & m) as u128
            }
            IpAddr::V6(x) => {
                let m = if self.mask == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.mask.min(128) as u32)
                };
                u128::from(x) & m
            }
        };
        let now = cx.now;
        let now32 = now as u32;
        let mut list = {
            let st = cx.ext.slot(cx.slot, Lists::default);
            st.lists.remove(&(key, zone))
        }
        .unwrap_or(KeyList {
            conns: Vec::new(),
            // A new list: `nf_conncount_list_init` stamps it with the current jiffy.
            last_gc: now32,
        });
        add(&mut list, tuple, now, cx);
        let count = list.conns.len();
        cx.ext
            .slot(cx.slot, Lists::default)
            .lists
            .insert((key, zone), list);
        MatchResult::from_bool((count as u64 > self.limit as u64) != self.invert)
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
    fn stateful(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
