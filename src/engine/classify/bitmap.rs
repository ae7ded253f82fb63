//! The bitmap index, after nftables' pipapo sets (`net/netfilter/nft_set_pipapo.c`): the
//! header fields are split into groups of bits and each group keeps, for each value of it, a
//! bitmap of the entries that accept that value; the entries a packet matches are the AND of
//! one bitmap per group. Here the groups are the bytes of the source and destination
//! addresses, the protocol, the bytes of the source and destination ports, and the input and
//! output interface names (one bucket per exact name), and the entries are a chain's rules. The
//! first set bit of the AND at or after a position is the next candidate. A second level (one
//! bit per 64-rule word, set when the word has a bit) steps over words some group rules out.
//!
//! A rule that does not constrain a group exactly (no clause, a negated one, an `eth+` prefix, a
//! port range spanning several values of the high byte, …) sits in every bucket of that group.

use super::{Cursor, Key, Need};
use crate::ext::PortSet;

/// Bitmaps of one chain's index take at most this many bytes; the groups that constrain the
/// fewest rules are left out beyond it (fewer groups only make more candidates).
const MAX_BYTES: usize = 64 << 20;

/// A header field byte (or an interface name) the index splits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Src(u8),
    Dst(u8),
    Proto,
    Sport(u8),
    Dport(u8),
    In,
    Out,
}

/// One group: for each bucket (byte value, or interface name) the bitmap of the rules that
/// accept it.
#[derive(Debug)]
struct Group {
    field: Field,
    /// Interface names with a bucket each; the last bucket is every other name.
    names: foldhash::HashMap<String, u32>,
    /// `buckets × words`, bucket-major.
    bits: Vec<u64>,
    /// `buckets × swords`: bit `w` set when word `w` of the bucket has a bit.
    sums: Vec<u64>,
    /// Rules per bucket (to try the most selective group first).
    count: Vec<u32>,
}

/// The bitmap index of one chain.
#[derive(Debug)]
pub(crate) struct BitmapIndex {
    rules: usize,
    words: usize,
    swords: usize,
    v6: bool,
    groups: Vec<Group>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    group: u32,
    count: u32,
    bits: usize,
    sums: usize,
}

/// A byte set as four words.
type ByteSet = [u64; 4];

fn byte_set_all() -> ByteSet {
    [!0; 4]
}

fn byte_set_add_range(s: &mut ByteSet, lo: u8, hi: u8) {
    for v in lo..=hi {
        s[(v >> 6) as usize] |= 1 << (v & 63);
    }
}

/// Values of one address byte under its mask byte (`None`: every value).
fn addr_byte(addr: u8, mask: u8) -> Option<ByteSet> {
    if mask == 0 {
        return None;
    }
    let mut s = [0u64; 4];
    if mask == 0xFF {
        s[(addr >> 6) as usize] |= 1 << (addr & 63);
        return Some(s);
    }
    for v in 0..=255u8 {
        if v & mask == addr & mask {
            s[(v >> 6) as usize] |= 1 << (v & 63);
        }
    }
    Some(s)
}

/// Values of the high (`hi == true`) or low byte of ports in `set` (`None`: every value).
fn port_byte(set: &PortSet, hi: bool) -> Option<ByteSet> {
    let mut s = [0u64; 4];
    for &(lo, top) in &set.ranges {
        let (lh, th) = ((lo >> 8) as u8, (top >> 8) as u8);
        if hi {
            byte_set_add_range(&mut s, lh, th);
        } else if lh == th {
            byte_set_add_range(&mut s, lo as u8, top as u8);
        } else {
            return None;
        }
    }
    (s != byte_set_all()).then_some(s)
}

/// Whether `n` constrains field `f` (cheaply: a port range may still allow every value of a
/// byte, which only leaves a group with a few more candidates).
fn constrains(n: &Need<'_>, f: Field) -> bool {
    match f {
        Field::Src(b) => n.src.is_some_and(|(_, m)| m[b as usize] != 0),
        Field::Dst(b) => n.dst.is_some_and(|(_, m)| m[b as usize] != 0),
        Field::Proto => n.proto.is_some(),
        Field::Sport(_) => n.sport.is_some(),
        Field::Dport(_) => n.dport.is_some(),
        Field::In => n.indev.is_some(),
        Field::Out => n.outdev.is_some(),
    }
}

impl BitmapIndex {
    /// Index the rules whose needs are `needs`, in a ruleset of family `v6`.
    pub(crate) fn build(needs: &[Need<'_>], v6: bool) -> BitmapIndex {
        let rules = needs.len();
        let words = rules.div_ceil(64);
        let swords = words.div_ceil(64);
        let abytes = if v6 { 16u8 } else { 4 };
        let mut fields: Vec<Field> = Vec::new();
        for b in 0..abytes {
            fields.push(Field::Src(b));
            fields.push(Field::Dst(b));
        }
        fields.extend([
            Field::Proto,
            Field::Sport(0),
            Field::Sport(1),
            Field::Dport(0),
            Field::Dport(1),
            Field::In,
            Field::Out,
        ]);
        // The value set a rule allows in a byte field (`None`: all).
        let byte_need = |n: &Need<'_>, f: Field| -> Option<ByteSet> {
            match f {
                Field::Src(b) => n
                    .src
                    .and_then(|(a, m)| addr_byte(a[b as usize], m[b as usize])),
                Field::Dst(b) => n
                    .dst
                    .and_then(|(a, m)| addr_byte(a[b as usize], m[b as usize])),
                Field::Proto => n.proto.map(|p| {
                    let mut s = [0u64; 4];
                    byte_set_add_range(&mut s, p, p);
                    s
                }),
                Field::Sport(b) => n.sport.and_then(|p| port_byte(p, b == 0)),
                Field::Dport(b) => n.dport.and_then(|p| port_byte(p, b == 0)),
                Field::In | Field::Out => None,
            }
        };
        fn name_need<'n>(n: &Need<'n>, f: Field) -> Option<&'n str> {
            match f {
                Field::In => n.indev,
                Field::Out => n.outdev,
                _ => None,
            }
        }
        // Rank the fields by how many rules they constrain; keep those within the budget.
        let mut ranked: Vec<(usize, Field)> = fields
            .into_iter()
            .map(|f| {
                let k = needs.iter().filter(|n| constrains(n, f)).count();
                (k, f)
            })
            .filter(|&(k, _)| k > 0)
            .collect();
        ranked.sort_by_key(|&(k, _)| std::cmp::Reverse(k));
        let mut groups = Vec::new();
        let mut bytes = 0usize;
        for (_, field) in ranked {
            let mut names = foldhash::HashMap::<String, u32>::default();
            if matches!(field, Field::In | Field::Out) {
                for n in needs {
                    if let Some(name) = name_need(n, field) {
                        let next = names.len() as u32;
                        names.entry(name.to_string()).or_insert(next);
                    }
                }
            }
            let buckets = if names.is_empty() {
                256
            } else {
                names.len() + 1
            };
            let size = buckets * (words + swords) * 8;
            if bytes + size > MAX_BYTES {
                continue;
            }
            bytes += size;
            let mut bits = vec![0u64; buckets * words];
            let mut wild = vec![0u64; words];
            for (r, n) in needs.iter().enumerate() {
                let (w, bit) = (r / 64, 1u64 << (r % 64));
                match field {
                    Field::In | Field::Out => match name_need(n, field) {
                        Some(name) => bits[names[name] as usize * words + w] |= bit,
                        None => wild[w] |= bit,
                    },
                    _ => match byte_need(n, field) {
                        Some(set) => {
                            for (q, mut word) in set.into_iter().enumerate() {
                                while word != 0 {
                                    let v = q * 64 + word.trailing_zeros() as usize;
                                    bits[v * words + w] |= bit;
                                    word &= word - 1;
                                }
                            }
                        }
                        None => wild[w] |= bit,
                    },
                }
            }
            let mut sums = vec![0u64; buckets * swords];
            let mut count = vec![0u32; buckets];
            for b in 0..buckets {
                let row = &mut bits[b * words..(b + 1) * words];
                for (w, x) in row.iter_mut().enumerate() {
                    *x |= wild[w];
                    if *x != 0 {
                        sums[b * swords + w / 64] |= 1 << (w % 64);
                    }
                    count[b] += x.count_ones();
                }
            }
            groups.push(Group {
                field,
                names,
                bits,
                sums,
                count,
            });
        }
        BitmapIndex {
            rules,
            words,
            swords,
            v6,
            groups,
        }
    }

    /// The packet's rows: one bucket per group the packet has a value for, leaving out buckets
    /// where every rule is a candidate; most selective first. `None` when the index does not
    /// apply (another address family): then every rule is a candidate.
    pub(crate) fn cursor(&self, key: &Key<'_>, out: &mut Cursor) -> bool {
        out.rows.clear();
        if key.v6 != self.v6 {
            return false;
        }
        for (gi, g) in self.groups.iter().enumerate() {
            let bucket = match g.field {
                Field::Src(b) => key.src[b as usize] as usize,
                Field::Dst(b) => key.dst[b as usize] as usize,
                Field::Proto => match key.proto {
                    Some(p) => p as usize,
                    None => continue,
                },
                Field::Sport(b) | Field::Dport(b) => {
                    let Some((s, d)) = key.ports else { continue };
                    let p = if matches!(g.field, Field::Sport(_)) {
                        s
                    } else {
                        d
                    };
                    if b == 0 {
                        (p >> 8) as usize
                    } else {
                        (p & 0xFF) as usize
                    }
                }
                Field::In | Field::Out => {
                    let dev = if g.field == Field::In {
                        key.indev
                    } else {
                        key.outdev
                    };
                    g.names.get(dev).map_or(g.names.len(), |&b| b as usize)
                }
            };
            let count = g.count[bucket];
            if count as usize == self.rules {
                continue;
            }
            out.rows.push(Row {
                group: gi as u32,
                count,
                bits: bucket * self.words,
                sums: bucket * self.swords,
            });
        }
        out.rows.sort_unstable_by_key(|r| r.count);
        true
    }

    /// The first candidate rule at or after `from` (`rules` when none is left).
    ///
    /// Words are ANDed eight at a time (a loop the compiler vectorises), row by row, the most
    /// selective row first, until the block is empty; the summary words skip whole runs of
    /// 64 words that some row rules out.
    pub(crate) fn next(&self, cur: &mut Cursor, from: usize) -> usize {
        const BLOCK: usize = 8;
        if cur.rows.is_empty() || from >= self.rules {
            return from;
        }
        let first_word = from / 64;
        let mut si = first_word / 64;
        let mut sm = !0u64 << (first_word % 64);
        while si < self.swords {
            for r in &cur.rows {
                sm &= self.groups[r.group as usize].sums[r.sums + si];
                if sm == 0 {
                    break;
                }
            }
            while sm != 0 {
                let w = si * 64 + sm.trailing_zeros() as usize;
                let end = (w + BLOCK).min(self.words);
                let mut acc = [!0u64; BLOCK];
                if w == first_word {
                    acc[0] = !0u64 << (from % 64);
                }
                let mut emptied = None;
                for (k, r) in cur.rows.iter().enumerate() {
                    let bits = &self.groups[r.group as usize].bits[r.bits + w..r.bits + end];
                    let mut any = 0u64;
                    for (a, b) in acc.iter_mut().zip(bits) {
                        *a &= b;
                        any |= *a;
                    }
                    if any == 0 {
                        emptied = Some(k);
                        break;
                    }
                }
                // The row that emptied the block goes first: the rules of a chain often repeat
                // a pattern, and the next blocks tend to be emptied by the same row.
                if let Some(k @ 1..) = emptied {
                    cur.rows[..=k].rotate_right(1);
                }
                for (k, a) in acc[..end - w].iter().enumerate() {
                    if *a != 0 {
                        return (w + k) * 64 + a.trailing_zeros() as usize;
                    }
                }
                // Words before `end` are done.
                let done = end - si * 64;
                sm = if done >= 64 { 0 } else { sm & (!0u64 << done) };
            }
            si += 1;
            sm = !0u64;
        }
        self.rules
    }

    /// Bytes held by the bitmaps.
    pub(crate) fn bytes(&self) -> usize {
        self.groups
            .iter()
            .map(|g| (g.bits.len() + g.sums.len()) * 8 + g.count.len() * 4)
            .sum()
    }
}
