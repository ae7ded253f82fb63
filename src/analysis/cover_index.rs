//! Indexes that let the static analyses compare a rule only with the earlier rules that can
//! cover (or overlap) it, instead of with every earlier rule of its chain. No kernel code is
//! mirrored here: this is the same question as [`super::shadow::covers`] (which mirrors the
//! header matching of `ipt_do_table`/`ip6t_do_table` and the xt matches it models), answered
//! by looking rules up by the dimensions they constrain (tuple-space search).
//!
//! Every rule is filed under one dimension it constrains in a way a covered rule must repeat
//! exactly: a non-inverted source or destination address/mask (keyed by family, mask and
//! address: the covered rule's address masked by that mask must equal it), a non-inverted
//! interface name without `+`, a single non-inverted port, a non-inverted protocol; rules
//! constraining none of these go to a list consulted for every lookup. A lookup returns the
//! candidate lists; the caller still runs the exact test on each candidate, so the answers are
//! those of the pairwise scan (tests/cover_index.rs compares the two on random rulesets).

use std::collections::{BTreeMap, HashMap};

use super::shadow::Space;
use crate::ruleset::AddrMask;

/// (IPv4?, mask, address) of a non-inverted address match.
type AddrKey = (bool, u128, u128);

fn addr_key(a: &AddrMask) -> AddrKey {
    match *a {
        AddrMask::V4 { addr, mask } => (true, mask as u128, addr as u128),
        AddrMask::V6 { addr, mask } => (false, mask, addr),
    }
}

/// Rules filed by the address they require, with the distinct (family, mask) pairs present.
#[derive(Default)]
pub(super) struct AddrIndex {
    masks: Vec<(bool, u128)>,
    map: HashMap<AddrKey, Vec<usize>>,
}

impl AddrIndex {
    pub(super) fn insert(&mut self, a: &AddrMask, i: usize) {
        let k = addr_key(a);
        if !self.masks.contains(&(k.0, k.1)) {
            self.masks.push((k.0, k.1));
        }
        self.map.entry(k).or_default().push(i);
    }
    /// Lists of the rules `r` whose address/mask (ra, rm) satisfies `rm & !mask == 0` and
    /// `addr & rm == ra`, in the family given.
    pub(super) fn within<'a>(
        &'a self,
        v4: bool,
        addr: u128,
        mask: u128,
        out: &mut Vec<&'a [usize]>,
    ) {
        for &(f, m) in &self.masks {
            if f == v4 && m & !mask == 0 {
                if let Some(l) = self.map.get(&(f, m, addr & m)) {
                    out.push(l);
                }
            }
        }
    }
    /// Lists of the rules whose address/mask (ra, rm) (either family) has
    /// `lo & rm == ra && hi & rm == ra`.
    pub(super) fn containing_range<'a>(&'a self, lo: u128, hi: u128, out: &mut Vec<&'a [usize]>) {
        for &(f, m) in &self.masks {
            if lo & m == hi & m {
                if let Some(l) = self.map.get(&(f, m, lo & m)) {
                    out.push(l);
                }
            }
        }
    }
}

/// Index of rules by the dimension a rule they cover must repeat (see the module comment).
#[derive(Default)]
pub(super) struct CoverIndex {
    src: AddrIndex,
    dst: AddrIndex,
    iniface: HashMap<String, Vec<usize>>,
    outiface: HashMap<String, Vec<usize>>,
    dport: BTreeMap<u16, Vec<usize>>,
    sport: BTreeMap<u16, Vec<usize>>,
    proto: HashMap<u8, Vec<usize>>,
    rest: Vec<usize>,
}

fn plain_iface(i: &Option<crate::ruleset::IfaceMatch>) -> Option<&str> {
    i.as_ref()
        .filter(|i| !i.invert && !i.name.ends_with('+'))
        .map(|i| i.name.as_str())
}

fn single_port(p: Option<(u16, u16, bool)>) -> Option<u16> {
    match p {
        Some((l, h, false)) if l == h => Some(l),
        _ => None,
    }
}

/// Ports `p` with `p <= bl && bh <= p` (what `range_covers((p, p, false), b)` asks).
fn port_lists<'a>(
    m: &'a BTreeMap<u16, Vec<usize>>,
    b: Option<(u16, u16, bool)>,
    out: &mut Vec<&'a [usize]>,
) {
    if let Some((bl, bh, false)) = b {
        if bh <= bl {
            out.extend(m.range(bh..=bl).map(|(_, v)| v.as_slice()));
        }
    }
}

impl CoverIndex {
    /// File rule `i` (indices must be inserted in increasing order).
    pub(super) fn insert(&mut self, s: &Space, i: usize) {
        if let Some((a, false)) = &s.src {
            self.src.insert(a, i);
        } else if let Some((a, false)) = &s.dst {
            self.dst.insert(a, i);
        } else if let Some(n) = plain_iface(&s.iniface) {
            self.iniface.entry(n.to_string()).or_default().push(i);
        } else if let Some(n) = plain_iface(&s.outiface) {
            self.outiface.entry(n.to_string()).or_default().push(i);
        } else if let Some(p) = single_port(s.dport) {
            self.dport.entry(p).or_default().push(i);
        } else if let Some(p) = single_port(s.sport) {
            self.sport.entry(p).or_default().push(i);
        } else if let Some((p, false)) = s.proto {
            self.proto.entry(p).or_default().push(i);
        } else {
            self.rest.push(i);
        }
    }

    /// Every list that can hold a rule covering `b` (each in increasing index order). A rule
    /// filed under a dimension `b` does not repeat cannot cover `b`.
    pub(super) fn candidates<'a>(&'a self, b: &Space, out: &mut Vec<&'a [usize]>) {
        out.clear();
        out.push(&self.rest);
        if let Some((a, false)) = &b.src {
            let (v4, m, x) = addr_key(a);
            self.src.within(v4, x, m, out);
        }
        if let Some((a, false)) = &b.dst {
            let (v4, m, x) = addr_key(a);
            self.dst.within(v4, x, m, out);
        }
        if let Some(i) = b.iniface.as_ref().filter(|i| !i.invert) {
            if let Some(l) = self.iniface.get(&i.name) {
                out.push(l);
            }
        }
        if let Some(i) = b.outiface.as_ref().filter(|i| !i.invert) {
            if let Some(l) = self.outiface.get(&i.name) {
                out.push(l);
            }
        }
        port_lists(&self.dport, b.dport, out);
        port_lists(&self.sport, b.sport, out);
        if let Some((p, false)) = b.proto {
            if let Some(l) = self.proto.get(&p) {
                out.push(l);
            }
        }
    }

    /// The smallest index `i < limit` among the candidates of `b` for which `ok(i)` holds.
    pub(super) fn first(
        &self,
        b: &Space,
        limit: usize,
        mut ok: impl FnMut(usize) -> bool,
    ) -> Option<usize> {
        let mut lists = Vec::new();
        self.candidates(b, &mut lists);
        let mut best = limit;
        for l in lists {
            for &i in l {
                if i >= best {
                    break;
                }
                if ok(i) {
                    best = i;
                    break;
                }
            }
        }
        (best < limit).then_some(best)
    }
}

/// Rules filed by their source address (FW012's ACCEPTs that may take a banned source).
#[derive(Default)]
pub(super) struct SrcIndex {
    /// No source test.
    wild: Vec<usize>,
    /// An inverted source test.
    inv: Vec<usize>,
    src: AddrIndex,
}

impl SrcIndex {
    /// File rule `i` (indices must be inserted in increasing order).
    pub(super) fn insert(&mut self, s: &Space, i: usize) {
        match &s.src {
            None => self.wild.push(i),
            Some((_, true)) => self.inv.push(i),
            Some((a, false)) => self.src.insert(a, i),
        }
    }

    /// The first `n` rules (in index order) for which `ok` holds among those whose source can
    /// take the source of `b`: `b`'s address/mask when it has one, else the source range
    /// `range`. `all` (every filed rule, in order) is scanned when `b` has neither.
    pub(super) fn first_n(
        &self,
        b: &Space,
        range: Option<(u128, u128)>,
        all: &[usize],
        n: usize,
        ok: impl Fn(&usize) -> bool,
    ) -> Vec<usize> {
        let mut lists: Vec<&[usize]> = vec![&self.wild];
        match (&b.src, range) {
            (Some((a, false)), _) => {
                let (v4, m, x) = addr_key(a);
                lists.push(&self.inv);
                self.src.within(v4, x, m, &mut lists);
            }
            (Some((_, true)), _) => lists.push(&self.inv),
            (None, Some((lo, hi))) => self.src.containing_range(lo, hi, &mut lists),
            (None, None) => lists = vec![all],
        }
        let mut found: Vec<usize> = Vec::new();
        for l in lists {
            found.extend(l.iter().copied().filter(&ok).take(n));
        }
        found.sort_unstable();
        found.dedup();
        found.truncate(n);
        found
    }
}
