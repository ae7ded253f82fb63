//! The tuple-space index (Srinivasan, Suri, Varghese, "Packet classification using tuple space
//! search", SIGCOMM 1999; the classifier of Open vSwitch): rules are filed by the *class* of
//! what they fix exactly — source mask, destination mask, protocol, single source or
//! destination ports, input or output interface name — with one hash table per class, keyed by
//! the fixed values. A packet probes each class whose protocol it has once, with its own values
//! masked by the class, and the rules it finds (sorted lists, usually short) are its candidates.
//! The cost is one probe per class, whatever the number of rules; a chain with more classes than
//! [`MAX_CLASSES`] uses the bitmap index instead.
//!
//! A rule's class leaves out what it does not fix exactly (a negated clause, an `eth+` prefix, a
//! port range, a port facet behind an impure match): the rule is then found for every value of
//! that field, so every rule the packet could match is a candidate. A packet without transport
//! ports (an ICMP message, a later fragment) uses a second table per class keyed without ports.

use super::{Cursor, Key, Need};
use crate::ext::PortSet;

/// At most this many classes: beyond, probing every class costs more than the bitmaps' AND.
pub(crate) const MAX_CLASSES: usize = 16;
/// A rule whose port lists would file it under more keys than this keeps its ports out of its
/// class (it is then found for any port).
const MAX_KEYS_PER_RULE: usize = 64;
/// Interface id no rule names.
const NO_IFACE: u32 = u32::MAX;

/// What a class fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Shape {
    smask: u128,
    dmask: u128,
    proto: Option<u8>,
    sport: bool,
    dport: bool,
    indev: bool,
    outdev: bool,
}

/// The fixed values: source, destination (masked), source port, destination port, input and
/// output interface ids (0 / [`NO_IFACE`] where the class fixes nothing).
type TKey = (u128, u128, u16, u16, u32, u32);

#[derive(Debug)]
struct Class {
    shape: Shape,
    /// Key → `(start, end)` in [`TupleIndex::entries`].
    full: foldhash::HashMap<TKey, (u32, u32)>,
    /// The same rules keyed without ports (for packets that have none); empty when the class
    /// fixes no port.
    noport: foldhash::HashMap<TKey, (u32, u32)>,
}

/// The tuple-space index of one chain.
#[derive(Debug)]
pub(crate) struct TupleIndex {
    rules: usize,
    v6: bool,
    classes: Vec<Class>,
    /// Interface names the rules fix, with their ids.
    names: foldhash::HashMap<String, u32>,
    /// Rule numbers, one sorted run per key.
    entries: Vec<u32>,
}

/// A port set as the exact values it holds, if it is a short list of single ports.
fn exact_ports(p: Option<&PortSet>) -> Option<Vec<u16>> {
    let p = p?;
    if p.invert || p.ranges.iter().any(|&(lo, hi)| lo != hi) {
        return None;
    }
    Some(p.ranges.iter().map(|r| r.0).collect())
}

fn bits(b: &[u8; 16], v6: bool) -> u128 {
    if v6 {
        u128::from_be_bytes(*b)
    } else {
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u128
    }
}

impl TupleIndex {
    /// Index the rules whose needs are `needs`; `None` when they fall into more than
    /// [`MAX_CLASSES`] classes (unless `force`).
    pub(crate) fn build(needs: &[Need<'_>], v6: bool, force: bool) -> Option<TupleIndex> {
        let mut names: foldhash::HashMap<String, u32> = Default::default();
        let mut id = |n: &str| {
            let next = names.len() as u32;
            *names.entry(n.to_string()).or_insert(next)
        };
        // (class, which table, key, rule) for every filing; sorted, each key's rules form one
        // run in rule order.
        let mut shapes: Vec<Shape> = Vec::new();
        let mut filed: Vec<(u32, bool, TKey, u32)> = Vec::with_capacity(needs.len());
        for (r, n) in needs.iter().enumerate() {
            let (sa, sm) = n
                .src
                .map(|(a, m)| (bits(&a, v6), bits(&m, v6)))
                .unwrap_or((0, 0));
            let (da, dm) = n
                .dst
                .map(|(a, m)| (bits(&a, v6), bits(&m, v6)))
                .unwrap_or((0, 0));
            let mut sports = exact_ports(n.sport);
            let mut dports = exact_ports(n.dport);
            let count = sports.as_ref().map_or(1, Vec::len) * dports.as_ref().map_or(1, Vec::len);
            if count > MAX_KEYS_PER_RULE {
                (sports, dports) = (None, None);
            }
            let ind = n.indev.map(&mut id);
            let outd = n.outdev.map(&mut id);
            let shape = Shape {
                smask: sm,
                dmask: dm,
                proto: n.proto,
                sport: sports.is_some(),
                dport: dports.is_some(),
                indev: ind.is_some(),
                outdev: outd.is_some(),
            };
            let ci = match shapes.iter().position(|s| *s == shape) {
                Some(i) => i,
                None => {
                    if shapes.len() == MAX_CLASSES && !force {
                        return None;
                    }
                    shapes.push(shape);
                    shapes.len() - 1
                }
            };
            let (ind, outd) = (ind.unwrap_or(0), outd.unwrap_or(0));
            let (ci, r) = (ci as u32, r as u32);
            for &sp in sports.as_deref().unwrap_or(&[0]) {
                for &dp in dports.as_deref().unwrap_or(&[0]) {
                    filed.push((ci, false, (sa & sm, da & dm, sp, dp, ind, outd), r));
                }
            }
            if shape.sport || shape.dport {
                filed.push((ci, true, (sa & sm, da & dm, 0, 0, ind, outd), r));
            }
        }
        filed.sort_unstable();
        filed.dedup();
        let mut classes: Vec<Class> = shapes
            .into_iter()
            .map(|shape| Class {
                shape,
                full: Default::default(),
                noport: Default::default(),
            })
            .collect();
        let mut entries = Vec::with_capacity(filed.len());
        for run in filed.chunk_by(|a, b| (a.0, a.1, a.2) == (b.0, b.1, b.2)) {
            let (ci, noport, key, _) = run[0];
            let start = entries.len() as u32;
            entries.extend(run.iter().map(|f| f.3));
            let c = &mut classes[ci as usize];
            let map = if noport { &mut c.noport } else { &mut c.full };
            map.insert(key, (start, entries.len() as u32));
        }
        Some(TupleIndex {
            rules: needs.len(),
            v6,
            classes,
            names,
            entries,
        })
    }

    /// The packet's lists: one probe per class whose protocol it has.
    pub(crate) fn cursor(&self, key: &Key<'_>, out: &mut Cursor) -> bool {
        out.lists.clear();
        if key.v6 != self.v6 {
            return false;
        }
        let (src, dst) = (bits(&key.src, self.v6), bits(&key.dst, self.v6));
        let iface = |n: &str| self.names.get(n).copied().unwrap_or(NO_IFACE);
        let (ind, outd) = (iface(key.indev), iface(key.outdev));
        for c in &self.classes {
            let s = &c.shape;
            if s.proto.is_some() && s.proto != key.proto {
                // `-p P` fails for this packet (or its protocol cannot be told: it fails too).
                continue;
            }
            let ifs = (
                if s.indev { ind } else { 0 },
                if s.outdev { outd } else { 0 },
            );
            let (map, sp, dp) = match key.ports {
                Some((sp, dp)) => (
                    &c.full,
                    if s.sport { sp } else { 0 },
                    if s.dport { dp } else { 0 },
                ),
                None if s.sport || s.dport => (&c.noport, 0, 0),
                None => (&c.full, 0, 0),
            };
            if let Some(&run) = map.get(&(src & s.smask, dst & s.dmask, sp, dp, ifs.0, ifs.1)) {
                out.lists.push(run);
            }
        }
        true
    }

    /// The first candidate at or after `from`: the smallest head of the lists, each advanced
    /// past `from`.
    pub(crate) fn next(&self, cur: &mut Cursor, from: usize) -> usize {
        let mut best = usize::MAX;
        for (next, end) in cur.lists.iter_mut() {
            while *next < *end && (self.entries[*next as usize] as usize) < from {
                *next += 1;
            }
            if *next < *end {
                best = best.min(self.entries[*next as usize] as usize);
            }
        }
        best.min(self.rules)
    }

    /// Bytes held by the tables (an estimate: entries plus hash slots).
    pub(crate) fn bytes(&self) -> usize {
        let slot = std::mem::size_of::<(TKey, (u32, u32))>() + 1;
        self.entries.len() * 4
            + self
                .classes
                .iter()
                .map(|c| (c.full.capacity() + c.noport.capacity()) * slot)
                .sum::<usize>()
    }
}
