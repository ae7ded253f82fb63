//! Rule classification: which rules of a long chain a packet can match, without trying each.
//!
//! The kernel's `ipt_do_table` walks a chain rule by rule; fwcheck steps from one *candidate*
//! to the next. Every rule the packet could match is a candidate, so the traversal, which
//! evaluates each candidate in full and in order, gives the first match, the counters and every
//! stateful match's state exactly as the linear walk does. The linear walk stays the reference:
//! `trace` uses it, and `tests/classifier.rs` compares the two on random rulesets and packets,
//! with each index kind forced in turn.
//!
//! Two index kinds, chosen per chain ([`Index::build`]):
//! * [`tuples`] — tuple-space search (Srinivasan et al.; Open vSwitch's classifier): rules are
//!   filed by which fields they fix exactly (address masks, protocol, single ports, interface
//!   names), one hash table per such *class*; a packet probes each class once and merges the
//!   small sorted lists it finds. Independent of the rule count; used when a chain has few
//!   classes ([`tuples::MAX_CLASSES`]).
//! * [`bitmap`] — nftables' pipapo sets (`net/netfilter/nft_set_pipapo.c`): per byte of each
//!   field, a bitmap of the rules accepting each value; the AND of a packet's bitmaps. Any mix
//!   of rules, in O(rules / 64) per lookup.
//!
//! Why skipping a non-candidate changes nothing: it fails the `ip_packet_match` part of the rule
//! (addresses, interfaces, protocol), which has no effect; or, for a packet that is not a later
//! fragment and has transport ports, a port [`Facets`](crate::ext::Facets) of a match that only
//! pure matches precede — by the facet contract that match says No, and nothing before it
//! changed anything.
//!
//! Chains of at least [`MIN_RULES`] rules are indexed lazily, once walking them has cost
//! [`BUILD_AFTER`] visits per rule, so the static analyses' many short-lived engines never pay
//! for it.

pub(crate) mod bitmap;
pub(crate) mod tuples;

use crate::ext::PortSet;
use crate::netfilter::AddrMask;
use crate::packet::Packet;
use crate::ruleset::model::{Chain, Rule};

/// Chains shorter than this are walked: the walk is as fast as a lookup there.
pub(crate) const MIN_RULES: usize = 24;
/// A chain is indexed once it has been walked for this many rule visits per rule. Building costs
/// about as much as 60–100 visits per rule (0.6 µs against 5–10 ns a rule), so the build is
/// paid only where walking already cost a third of it; an engine that judges a few packets, or
/// many that stop at the chain's first rules (the static analyses build hundreds of engines over
/// edited copies of a ruleset), never builds an index. A forced index kind
/// ([`ClassifierMode::Bitmaps`], [`ClassifierMode::Tuples`]) is built at the first visit.
pub(crate) const BUILD_AFTER: u64 = 32;

/// The packet's values, for the groups of an index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key<'a> {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub v6: bool,
    /// The protocol `-p` compares (`None` when it cannot be told: every `-p` rule fails then,
    /// but the group is not used).
    pub proto: Option<u8>,
    /// Transport ports, when the packet is not a later fragment and has them.
    pub ports: Option<(u16, u16)>,
    pub(crate) indev: &'a str,
    pub(crate) outdev: &'a str,
}

impl<'a> Key<'a> {
    pub(crate) fn new(pkt: &Packet, proto: Option<u8>, indev: &'a str, outdev: &'a str) -> Self {
        let bytes = |a: std::net::IpAddr| match a {
            std::net::IpAddr::V4(a) => {
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&a.octets());
                (b, false)
            }
            std::net::IpAddr::V6(a) => (a.octets(), true),
        };
        let (src, v6) = bytes(pkt.src);
        let (dst, dv6) = bytes(pkt.dst);
        Key {
            src,
            dst,
            v6: v6 || dv6,
            proto,
            ports: if pkt.frag.offset == 0 {
                pkt.ports()
            } else {
                None
            },
            indev,
            outdev,
        }
    }
}

/// What one rule requires of the packet, in the index's terms.
pub(crate) struct Need<'r> {
    pub(crate) src: Option<([u8; 16], [u8; 16])>,
    pub(crate) dst: Option<([u8; 16], [u8; 16])>,
    pub(crate) proto: Option<u8>,
    pub(crate) sport: Option<&'r PortSet>,
    pub(crate) dport: Option<&'r PortSet>,
    pub(crate) indev: Option<&'r str>,
    pub(crate) outdev: Option<&'r str>,
}

fn addr_need(a: &Option<(AddrMask, bool)>, v6: bool) -> Option<([u8; 16], [u8; 16])> {
    match a {
        Some((AddrMask::V4 { addr, mask }, false)) if !v6 => {
            let (mut x, mut m) = ([0u8; 16], [0u8; 16]);
            x[..4].copy_from_slice(&addr.to_be_bytes());
            m[..4].copy_from_slice(&mask.to_be_bytes());
            Some((x, m))
        }
        Some((AddrMask::V6 { addr, mask }, false)) if v6 => {
            Some((addr.to_be_bytes(), mask.to_be_bytes()))
        }
        _ => None,
    }
}

fn need<'r>(r: &'r Rule, v6: bool, facets: &'r [crate::ext::Facets]) -> Need<'r> {
    let iface = |i: &'r Option<crate::ruleset::IfaceMatch>| {
        i.as_ref()
            .filter(|i| !i.invert && !i.name.ends_with('+'))
            .map(|i| i.name.as_str())
    };
    let (mut sport, mut dport) = (None, None);
    for f in facets {
        if sport.is_none() {
            sport = f.sport.as_ref().filter(|p| !p.invert);
        }
        if dport.is_none() {
            dport = f.dport.as_ref().filter(|p| !p.invert);
        }
        // A later match is reached only through this one: usable only if this one is pure.
        if !f.pure {
            break;
        }
    }
    Need {
        src: addr_need(&r.src, v6),
        dst: addr_need(&r.dst, v6),
        proto: r.proto.filter(|p| !p.1).map(|p| p.0),
        sport,
        dport,
        indev: iface(&r.iniface),
        outdev: iface(&r.outiface),
    }
}

/// Which index the classifier builds (tests force each kind; the default chooses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClassifierMode {
    /// Walk every chain rule by rule.
    Off,
    /// Tuple-space search for chains with few classes of rules, bitmaps for the others.
    #[default]
    Auto,
    /// Bitmaps for every long chain.
    Bitmaps,
    /// Tuple-space search for every long chain.
    Tuples,
}

/// One chain's index.
#[derive(Debug)]
pub(crate) enum Index {
    Bitmap(bitmap::BitmapIndex),
    Tuples(tuples::TupleIndex),
}

impl Index {
    fn build(chain: &Chain, v6: bool, mode: ClassifierMode) -> Index {
        let facets: Vec<Vec<crate::ext::Facets>> = chain
            .rules
            .iter()
            .map(|r| r.matches.iter().map(|m| m.module.facets()).collect())
            .collect();
        let needs: Vec<Need<'_>> = chain
            .rules
            .iter()
            .zip(&facets)
            .map(|(r, f)| need(r, v6, f))
            .collect();
        if mode != ClassifierMode::Bitmaps {
            if let Some(t) = tuples::TupleIndex::build(&needs, v6, mode == ClassifierMode::Tuples) {
                return Index::Tuples(t);
            }
        }
        Index::Bitmap(bitmap::BitmapIndex::build(&needs, v6))
    }

    /// Set `cur` up for the packet `key`; `false` when the index does not apply to it (then
    /// every rule is a candidate).
    #[inline]
    pub(crate) fn cursor(&self, key: &Key<'_>, cur: &mut Cursor) -> bool {
        match self {
            Index::Bitmap(b) => b.cursor(key, cur),
            Index::Tuples(t) => t.cursor(key, cur),
        }
    }

    /// The first candidate rule at or after `from` (the chain's length when none is left).
    /// `from` never decreases for one cursor.
    #[inline]
    pub(crate) fn next(&self, cur: &mut Cursor, from: usize) -> usize {
        match self {
            Index::Bitmap(b) => b.next(cur, from),
            Index::Tuples(t) => t.next(cur, from),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Index::Bitmap(b) => b.bytes(),
            Index::Tuples(t) => t.bytes(),
        }
    }
}

/// A packet's position in one index: the bitmap rows, or the tuple lists, it uses.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    rows: Vec<bitmap::Row>,
    /// `(next, end)` ranges into [`tuples::TupleIndex`]'s entries.
    lists: Vec<(u32, u32)>,
}

/// The indexes of one engine's ruleset, built lazily per chain.
#[derive(Debug, Default)]
pub(crate) struct Classifier {
    /// `[table][chain]`: lookups so far, and the index once built.
    chains: Vec<Vec<(u64, Option<Box<Index>>)>>,
    pub(crate) mode: ClassifierMode,
}

impl Classifier {
    pub(crate) fn new(tables: &[crate::ruleset::model::Table]) -> Classifier {
        Classifier {
            chains: tables
                .iter()
                .map(|t| t.chains.iter().map(|_| (0, None)).collect())
                .collect(),
            mode: ClassifierMode::Auto,
        }
    }

    /// Bytes held by the indexes built so far.
    pub(crate) fn bytes(&self) -> usize {
        self.chains
            .iter()
            .flatten()
            .filter_map(|(_, ix)| ix.as_deref())
            .map(Index::bytes)
            .sum()
    }

    /// The index of chain `ci` of table `ti` (a chain of at least [`MIN_RULES`] rules), built
    /// after [`BUILD_AFTER`] × its length calls. The traversal calls this before each rule it
    /// visits, so until the build the calls count rule visits.
    #[inline]
    pub(crate) fn index(
        &mut self,
        ti: usize,
        ci: usize,
        chain: &Chain,
        v6: bool,
    ) -> Option<&Index> {
        if self.mode == ClassifierMode::Off || chain.rules.len() < MIN_RULES {
            return None;
        }
        let slot = &mut self.chains[ti][ci];
        if slot.1.is_none() {
            slot.0 += 1;
            if slot.0 < BUILD_AFTER * chain.rules.len() as u64 && self.mode == ClassifierMode::Auto
            {
                return None;
            }
            slot.1 = Some(Box::new(Index::build(chain, v6, self.mode)));
        }
        slot.1.as_deref()
    }
}
