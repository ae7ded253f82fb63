//! Indexes that let the static analyses compare a rule only with the earlier rules that can
//! cover (or overlap) it, instead of with every earlier rule of its chain. No kernel code is
//! mirrored here: this is the same question as [`super::shadow::covers`] (which mirrors the
//! header matching of `ipt_do_table`/`ip6t_do_table` and the xt matches it models), answered
//! by looking rules up by the dimensions they constrain (tuple-space search).
//!
//! Every rule is filed under the values of the dimensions it constrains in a way a covered rule
//! must repeat exactly: a non-inverted source or destination address/mask (keyed by family,
//! mask and address: the covered rule's address masked by that mask must equal it), a
//! non-inverted interface name without `+`, a single non-inverted port, a non-inverted
//! protocol. Rules constraining the same dimensions (with the same masks) form a class; a
//! lookup makes one hash probe per class. It returns candidate lists; the caller still runs the
//! exact test on each candidate, so the answers are those of the pairwise scan
//! (tests/cover_index.rs compares the two on random rulesets).

use std::collections::HashMap;

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

/// Which dimensions a class of rules constrains in a way a rule they cover must repeat
/// exactly: (IPv4?, mask) of a non-inverted source and destination, a non-inverted interface
/// name without `+` (in, out), a single non-inverted port (destination, source), a
/// non-inverted protocol.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Class {
    src: Option<(bool, u128)>,
    dst: Option<(bool, u128)>,
    iniface: bool,
    outiface: bool,
    dport: bool,
    sport: bool,
    proto: bool,
}

/// The values of those dimensions (interface names as interned ids).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Key {
    class: u32,
    src: u128,
    dst: u128,
    iniface: u32,
    outiface: u32,
    dport: u16,
    sport: u16,
    proto: u8,
}

/// Index of rules by the values a rule they cover must repeat (tuple-space search: one hash
/// lookup per class of rules present).
#[derive(Default)]
pub(super) struct CoverIndex {
    classes: Vec<Class>,
    names: HashMap<String, u32>,
    map: HashMap<Key, Vec<usize>>,
    /// Every rule filed, for the rare lookups that cannot be keyed.
    all: Vec<usize>,
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

/// The port a rule filed with a single port `p` must have to cover `b`'s port test:
/// `range_covers((p, p, false), b)` is `p <= bl && bh <= p`. `Err` when several ports would
/// (a reversed range), `Ok(None)` when none.
fn port_of(b: Option<(u16, u16, bool)>) -> Result<Option<u16>, ()> {
    match b {
        Some((bl, bh, false)) if bh == bl => Ok(Some(bl)),
        Some((bl, bh, false)) if bh < bl => Err(()),
        _ => Ok(None),
    }
}

impl CoverIndex {
    fn name_id(&mut self, n: &str) -> u32 {
        let next = self.names.len() as u32 + 1;
        *self.names.entry(n.to_string()).or_insert(next)
    }

    /// File rule `i` (indices must be inserted in increasing order).
    pub(super) fn insert(&mut self, s: &Space, i: usize) {
        let mut k = Key::default();
        let mut c = Class {
            src: None,
            dst: None,
            iniface: false,
            outiface: false,
            dport: false,
            sport: false,
            proto: false,
        };
        if let Some((a, false)) = &s.src {
            let (v4, m, x) = addr_key(a);
            c.src = Some((v4, m));
            k.src = x;
        }
        if let Some((a, false)) = &s.dst {
            let (v4, m, x) = addr_key(a);
            c.dst = Some((v4, m));
            k.dst = x;
        }
        if let Some(n) = plain_iface(&s.iniface) {
            c.iniface = true;
            k.iniface = self.name_id(n);
        }
        if let Some(n) = plain_iface(&s.outiface) {
            c.outiface = true;
            k.outiface = self.name_id(n);
        }
        if let Some(p) = single_port(s.dport) {
            c.dport = true;
            k.dport = p;
        }
        if let Some(p) = single_port(s.sport) {
            c.sport = true;
            k.sport = p;
        }
        if let Some((p, false)) = s.proto {
            c.proto = true;
            k.proto = p;
        }
        k.class = match self.classes.iter().position(|x| *x == c) {
            Some(n) => n as u32,
            None => {
                self.classes.push(c);
                self.classes.len() as u32 - 1
            }
        };
        self.map.entry(k).or_default().push(i);
        self.all.push(i);
    }

    /// The key under which a rule of class `c` covering `b` would be filed, if there can be one.
    fn key_for(&self, n: usize, c: &Class, b: &Space) -> Option<Key> {
        let mut k = Key {
            class: n as u32,
            ..Key::default()
        };
        if let Some((f, m)) = c.src {
            let Some((a, false)) = &b.src else {
                return None;
            };
            let (v4, bm, x) = addr_key(a);
            if v4 != f || m & !bm != 0 {
                return None;
            }
            k.src = x & m;
        }
        if let Some((f, m)) = c.dst {
            let Some((a, false)) = &b.dst else {
                return None;
            };
            let (v4, bm, x) = addr_key(a);
            if v4 != f || m & !bm != 0 {
                return None;
            }
            k.dst = x & m;
        }
        if c.iniface {
            let i = b.iniface.as_ref().filter(|i| !i.invert)?;
            k.iniface = *self.names.get(&i.name)?;
        }
        if c.outiface {
            let i = b.outiface.as_ref().filter(|i| !i.invert)?;
            k.outiface = *self.names.get(&i.name)?;
        }
        if c.dport {
            k.dport = port_of(b.dport).ok()??;
        }
        if c.sport {
            k.sport = port_of(b.sport).ok()??;
        }
        if c.proto {
            let Some((p, false)) = b.proto else {
                return None;
            };
            k.proto = p;
        }
        Some(k)
    }

    /// Every list that can hold a rule covering `b` (each in increasing index order). A rule
    /// filed under a value `b` does not repeat cannot cover `b`.
    pub(super) fn candidates<'a>(&'a self, b: &Space, out: &mut Vec<&'a [usize]>) {
        out.clear();
        if port_of(b.dport).is_err() || port_of(b.sport).is_err() {
            out.push(&self.all);
            return;
        }
        for (n, c) in self.classes.iter().enumerate() {
            if let Some(l) = self.key_for(n, c, b).and_then(|k| self.map.get(&k)) {
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
