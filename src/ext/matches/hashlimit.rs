//! `-m hashlimit` (libxt_hashlimit.c rev 3 / kernel `xt_hashlimit.c` `hashlimit_mt_common`):
//! per-key token buckets in a table shared by all rules with the same `--hashlimit-name`.
//!
//! Parsing and the saved form follow iptables 1.8.9: `--hashlimit-upto`/`--hashlimit-above`
//! (`--hashlimit` is the old name of `-upto`; `!` swaps them) with a packet rate `N/unit` or a
//! byte rate `N[k|m]b/s`, `--hashlimit-burst` (printed always in packet mode), `--hashlimit-mode`
//! (srcip, srcport, dstip, dstport), masks, htable size/max/gcinterval/expire (expire defaults
//! to the rate's unit in ms), `--hashlimit-rate-match`/`--hashlimit-rate-interval`.
//!
//! Evaluation (packet mode, the common case) is the kernel's 64-bit bucket: `CREDITS_PER_JIFFY`
//! the largest power of two ≤ 2⁶⁴/(HZ·86400), `user2credits` scaled by 10⁶, a new key starts with
//! full credit `user2credits(avg·burst)`; every packet refills `(now − prev)·CPJ` (capped) and
//! takes `user2credits(avg)` when it can: then the result is "under the limit" (matches for
//! `-upto`, not for `-above`). The refill counts whole jiffies, and where the kernel's clock
//! ticks between two captured packets is not known: each entry keeps a state per range of
//! the clock's phase (`PHASES`), and a result every phase agrees on is certain; one they
//! disagree on (packets a few milliseconds apart near the rate) is `Unknown`. The doubt such
//! an answer leaves on its addresses does not make this rule's later answers uncertain when
//! it is the only rule using the table (its states already hold every answer). Keys are the selected header fields, addresses masked with the
//! prefix lengths; ports for TCP, UDP, UDP-Lite, SCTP, DCCP (and the SPI halves for ESP/AH)
//! from the raw header, 0 for other protocols; a packet too short for them is hot-dropped.
//! Every hit sets the entry's expiry to `now + expire`. Expired entries are only removed by the
//! table's garbage collection, which runs every `gcinterval` ms from an unknown phase: when a
//! key's entry has expired less than one interval ago and keeping or dropping it gives different
//! results, the result is `Unknown`. The table's parameters are those of the first rule using
//! the name that is *loaded* (`Match::load`, in the kernel's load order). A full table
//! (`--hashlimit-htable-max`, never below the table size; else 8 × size, 65,536 with the
//! default size of a host with more than 1 GiB of RAM) hot-drops.
//! Byte mode (`N[k|m]b/s`) is the kernel's byte bucket: `CREDITS_PER_JIFFY_BYTES` (the largest
//! power of two ≤ 2³²/HZ) per jiffy up to one second's worth, each packet costing
//! `(len >> 4) + 1` chunks × `user2credits_byte(avg)`, the burst counting how many times an
//! empty bucket is refilled to a second's worth. `--hashlimit-rate-match` counts packets (or
//! bytes) per `--hashlimit-rate-interval` seconds: under the limit while the previous interval
//! was not over the rate and this one has not exceeded the burst.

use std::any::Any;
use std::collections::HashMap;
use std::fmt::Write;
use std::net::IpAddr;

use super::limit::{atoi, parse_rate_unit};
use super::{bad, conflict, missing};
use crate::diag::Diagnostic;
use crate::ext::{
    parse_num, strtoul_prefix, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType,
};
use crate::ext::{EvalCtx, ExtState};
use crate::netfilter::Family;

pub(crate) const SCALE: u64 = 1_000_000;
pub(crate) const BURST_MAX: u64 = 1_000_000;
const BYTE_SHIFT: u32 = 4;
const BYTE_EXPIRE: u32 = 15;
const BYTE_EXPIRE_BURST: u32 = 60;
const GCINTERVAL: u32 = 1000;

pub(crate) const HASH_DIP: u32 = 1 << 0;
pub(crate) const HASH_DPT: u32 = 1 << 1;
pub(crate) const HASH_SIP: u32 = 1 << 2;
pub(crate) const HASH_SPT: u32 = 1 << 3;
pub(crate) const INVERT: u32 = 1 << 4;
pub const BYTES: u32 = 1 << 5;
pub(crate) const RATE_MATCH: u32 = 1 << 6;

const RATES: &[(&str, u64)] = &[
    ("day", SCALE * 86400),
    ("hour", SCALE * 3600),
    ("min", SCALE * 60),
    ("sec", SCALE),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashlimit {
    pub mode: u32,
    pub avg: u64,
    pub burst: u64,
    pub size: u32,
    pub max: u32,
    pub(crate) gc_interval: u32,
    pub expire: u32,
    pub(crate) srcmask: u8,
    pub(crate) dstmask: u8,
    pub interval: u32,
    pub name: String,
    pub v6: bool,
    given: u32,
    /// Seconds of the rate's unit (`udata->mult`).
    mult: u32,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Hashlimit {
        mode: 0,
        avg: 0,
        burst: 5,
        size: 0,
        max: 0,
        gc_interval: GCINTERVAL,
        expire: 0,
        srcmask: 32,
        dstmask: 32,
        interval: 0,
        name: String::new(),
        v6: false,
        given: 0,
        mult: 1,
    })
}

const UPTO: u8 = 1;
const ABOVE: u8 = 2;
const SRCMASK: u8 = 3;
const DSTMASK: u8 = 4;
const BURST: u8 = 5;
const SIZE: u8 = 6;
const MAX: u8 = 7;
const GCINT: u8 = 8;
const EXPIRE: u8 = 9;
const MODE: u8 = 10;
const NAME: u8 = 11;
const RATEMATCH: u8 = 12;
const INTERVAL: u8 = 13;

static OPTS: &[OptSpec] = &[
    OptSpec::new("hashlimit-upto", UPTO, Arg::One).inv(),
    OptSpec::new("hashlimit-above", ABOVE, Arg::One).inv(),
    OptSpec::new("hashlimit", UPTO, Arg::One).inv(),
    OptSpec::new("hashlimit-srcmask", SRCMASK, Arg::One),
    OptSpec::new("hashlimit-dstmask", DSTMASK, Arg::One),
    OptSpec::new("hashlimit-burst", BURST, Arg::One),
    OptSpec::new("hashlimit-htable-size", SIZE, Arg::One).ty(XtType::U32),
    OptSpec::new("hashlimit-htable-max", MAX, Arg::One).ty(XtType::U32),
    OptSpec::new("hashlimit-htable-gcinterval", GCINT, Arg::One).ty(XtType::U32),
    OptSpec::new("hashlimit-htable-expire", EXPIRE, Arg::One).ty(XtType::U32),
    OptSpec::new("hashlimit-mode", MODE, Arg::One),
    OptSpec::new("hashlimit-name", NAME, Arg::One),
    OptSpec::new("hashlimit-rate-match", RATEMATCH, Arg::None),
    OptSpec::new("hashlimit-rate-interval", INTERVAL, Arg::One),
];

fn cost_to_bytes(cost: u64) -> u64 {
    let r = (u32::MAX as u64)
        .checked_div(cost)
        .unwrap_or(u32::MAX as u64);
    r.wrapping_sub(1) << BYTE_SHIFT
}

fn bytes_to_cost(bytes: u64) -> u64 {
    let r = (bytes >> BYTE_SHIFT) as u32 as u64;
    u32::MAX as u64 / (r + 1)
}

fn factor(c: Option<u8>) -> u64 {
    match c {
        Some(b'm') => 1024 * 1024,
        Some(b'k') => 1024,
        _ => 1,
    }
}

/// C `atoll` (non-negative part; a negative value wraps like the C cast).
fn atoll(s: &str) -> u64 {
    atoi_wide(s) as u64
}

fn atoi_wide(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, d) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for c in d.bytes().take_while(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add((c - b'0') as i64);
    }
    if neg {
        -v
    } else {
        v
    }
}

/// `CREDITS_PER_JIFFY` of revisions 2 and 3.
pub(crate) fn cpj64(hz: u32) -> u64 {
    let max = (u64::MAX / (hz.max(1) as u64 * 86400)).max(1);
    1u64 << (63 - max.leading_zeros())
}

/// `user2credits` for revisions 2 and 3.
pub fn user2credits(user: u64, hz: u32) -> u64 {
    let f = (hz as u64).wrapping_mul(cpj64(hz));
    if SCALE >= f {
        user / (SCALE / f.max(1))
    } else {
        user.wrapping_mul(f / SCALE)
    }
}

/// `CREDITS_PER_JIFFY_BYTES`: the largest power of two ≤ 0xFFFFFFFF/HZ.
fn cpj_bytes(hz: u32) -> u64 {
    let max = (u32::MAX / hz.max(1)).max(1) as u64;
    1u64 << (63 - max.leading_zeros())
}

/// `user2credits_byte` (32-bit arithmetic).
fn user2credits_byte(avg: u64, hz: u32) -> u64 {
    let us = (avg as u32 as u64).wrapping_mul(hz as u64 * cpj_bytes(hz));
    (us >> 32) as u32 as u64
}

impl Kind {
    /// The bucket or cost of a rule in `mode`.
    fn of(mode: u32) -> Kind {
        if mode & RATE_MATCH != 0 {
            Kind::RateMatch {
                bytes: mode & BYTES != 0,
            }
        } else if mode & BYTES != 0 {
            Kind::Bytes
        } else {
            Kind::Packets
        }
    }
}

/// Which kernel bucket a table uses — and, for a rule, which cost it charges: the table's
/// first rule sets how the bucket refills (`rateinfo_recalc` with `hinfo->cfg.mode`), each
/// rule what a packet costs (`hashlimit_mt_common` reads the rule's own `cfg->mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Packets,
    Bytes,
    /// `--hashlimit-rate-match` (packets or bytes): a window counter, not a bucket.
    RateMatch {
        bytes: bool,
    },
}

/// The kernel's jiffies at capture time `t` ns are `⌊(t·HZ + φ) / PHASES⌋` for a phase
/// φ ∈ [0, PHASES) of its clock that no capture shows. Two packets 2 ms apart at HZ 250 are
/// in one jiffy for some φ and in two for the others, and a bucket near its rate refills by
/// whole jiffies: so a bucket's state is kept per range of φ ([`Bucket::lo`]..[`Bucket::hi`]),
/// and a result is certain only when it is the same for every φ.
const PHASES: u128 = 1_000_000_000;

/// The bucket of one key (`dsthash_ent` rateinfo), for the clock phases `lo..hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bucket {
    /// `rateinfo.prev` in jiffies, set from [`Bucket::prev_at`] for the phase being stepped.
    pub prev: u64,
    /// When `prev` was last set, as `t·HZ` (t the capture time in ns; see [`PHASES`]).
    prev_at: u128,
    /// The clock phases this state is possible for: `lo..hi` within `0..PHASES`.
    lo: u32,
    hi: u32,
    pub credit: u64,
    pub(crate) credit_cap: u64,
    pub cost: u64,
    pub expires: u64,
    kind: Kind,
    /// Rate match: the rate and burst per interval, the count in the current interval,
    /// whether the previous interval was over the rate, the interval in seconds.
    rate: u64,
    burst: u64,
    current_rate: u64,
    prev_window: bool,
    interval: u64,
}

impl Bucket {
    /// `rateinfo_init`.
    fn new(cfg: &Hashlimit, hz: u32, now: u64) -> Bucket {
        let (avg, burst) = (cfg.avg, cfg.burst);
        let mut b = Bucket {
            prev: now,
            prev_at: 0,
            lo: 0,
            hi: PHASES as u32,
            credit: 0,
            credit_cap: 0,
            cost: 0,
            expires: 0,
            kind: Kind::Packets,
            rate: 0,
            burst: 0,
            current_rate: 0,
            prev_window: false,
            interval: cfg.interval as u64,
        };
        if cfg.mode & RATE_MATCH != 0 {
            let bytes = cfg.mode & BYTES != 0;
            b.kind = Kind::RateMatch { bytes };
            if bytes {
                // user2rate_bytes
                let r = (u32::MAX as u64)
                    .checked_div(avg as u32 as u64)
                    .unwrap_or(u32::MAX as u64);
                b.rate = r.wrapping_sub(1) << BYTE_SHIFT;
                b.burst = if burst != 0 {
                    burst.wrapping_mul(b.rate)
                } else {
                    b.rate
                };
            } else {
                b.rate = SCALE.checked_div(avg).unwrap_or(0);
                b.burst = burst.wrapping_add(b.rate);
            }
        } else if cfg.mode & BYTES != 0 {
            b.kind = Kind::Bytes;
            b.credit = cpj_bytes(hz) * hz as u64;
            b.cost = user2credits_byte(avg, hz);
            b.credit_cap = burst;
        } else {
            let credit = user2credits(avg.wrapping_mul(burst), hz);
            b.credit = credit;
            b.credit_cap = credit;
            b.cost = user2credits(avg, hz);
        }
        b
    }

    /// A bucket created by a packet at `t·HZ = at` (`rateinfo_init`), for every phase.
    fn created(cfg: &Hashlimit, hz: u32, now: u64, at: u128) -> Bucket {
        Bucket {
            prev_at: at,
            ..Bucket::new(cfg, hz, now)
        }
    }

    /// The same state, whatever phases each is kept for.
    fn same_state(&self, o: &Bucket) -> bool {
        let plain = |b: &Bucket| Bucket {
            lo: 0,
            hi: 0,
            prev: 0,
            ..*b
        };
        plain(self) == plain(o)
    }

    /// This state split where the jiffies of `prev_at` or of `at` change with the phase: in
    /// each piece both are the same jiffy for every phase.
    fn pieces(&self, at: u128) -> impl Iterator<Item = Bucket> + '_ {
        let cut = |x: u128| (PHASES - x % PHASES) as u32;
        let (mut a, mut b) = (cut(at), cut(self.prev_at));
        if a > b {
            (a, b) = (b, a);
        }
        let mut bounds = [self.lo, a, b, self.hi];
        for x in &mut bounds[1..3] {
            *x = (*x).clamp(self.lo, self.hi);
        }
        (0..3).filter_map(move |i| {
            (bounds[i] < bounds[i + 1]).then_some(Bucket {
                lo: bounds[i],
                hi: bounds[i + 1],
                ..*self
            })
        })
    }

    /// [`Bucket::step`] at capture time `t·HZ = at`, for the phases of this piece (made by
    /// [`Bucket::pieces`]: one jiffy for `prev_at` and one for `at` over all of them).
    fn step_at(&mut self, at: u128, hz: u32, len: u64, rule: Kind) -> bool {
        // The kernel's clock never goes back (a frame stamped earlier runs at the later time).
        let at = at.max(self.prev_at);
        let jiffies = |x: u128| ((x + self.lo as u128) / PHASES) as u64;
        let now = jiffies(at);
        self.prev = jiffies(self.prev_at);
        let under = self.step(now, hz, len, rule);
        // rateinfo_recalc moved `prev` to now (or now is still prev's jiffy).
        if self.prev == now {
            self.prev_at = at;
        }
        self.prev = 0;
        under
    }

    /// `rateinfo_recalc` then the test of `hashlimit_mt_common` for a packet of `len` bytes
    /// (`skb->len`) charged as a rule of kind `rule` charges it: true when under the limit.
    /// A rate-match rule on a bucket table, or a bucket rule on a rate-match table, reads
    /// fields the table never set: the caller does not step those.
    fn step(&mut self, now: u64, hz: u32, len: u64, rule: Kind) -> bool {
        let delta = now.wrapping_sub(self.prev);
        if delta != 0 {
            match self.kind {
                Kind::RateMatch { .. } => {
                    let interval = self.interval.wrapping_mul(hz as u64);
                    if delta >= interval {
                        self.prev = now;
                        self.prev_window = self.current_rate.wrapping_mul(interval)
                            > delta.wrapping_mul(self.rate);
                        self.current_rate = 0;
                    }
                }
                Kind::Bytes => {
                    self.prev = now;
                    let tmp = self.credit;
                    self.credit = self.credit.wrapping_add(cpj_bytes(hz).wrapping_mul(delta));
                    let cap = cpj_bytes(hz) * hz as u64;
                    if tmp >= self.credit || self.credit > cap {
                        self.credit = cap;
                    }
                }
                Kind::Packets => {
                    self.prev = now;
                    self.credit = self.credit.wrapping_add(delta.wrapping_mul(cpj64(hz)));
                    if self.credit > self.credit_cap {
                        self.credit = self.credit_cap;
                    }
                }
            }
        }
        let cost = match rule {
            Kind::RateMatch { bytes } => {
                self.current_rate = self.current_rate.wrapping_add(if bytes { len } else { 1 });
                return !self.prev_window && self.current_rate <= self.burst;
            }
            Kind::Bytes => {
                // hashlimit_byte_cost
                let full = cpj_bytes(hz) * hz as u64;
                let tmp = ((len >> BYTE_SHIFT) + 1).wrapping_mul(self.cost).min(full);
                if self.credit < tmp && self.credit_cap != 0 {
                    self.credit_cap -= 1;
                    self.credit = full;
                }
                tmp as u32 as u64
            }
            Kind::Packets => self.cost,
        };
        if self.credit >= cost {
            self.credit -= cost;
            true
        } else {
            false
        }
    }
}

/// One packet at capture time `t·HZ = at` through every state an entry may be in, each split
/// where the clock's phase changes its jiffies ([`Bucket::pieces`]); equal states are merged,
/// kept for the hull of their phases (a superset: never a missed possibility). Returns
/// whether some state found the packet under the limit, and whether some found it over.
fn step_states(
    states: &mut Vec<Bucket>,
    at: u128,
    expires: u64,
    hz: u32,
    len: u64,
    rule: Kind,
) -> (bool, bool) {
    let (mut under, mut over) = (false, false);
    let mut next: Vec<Bucket> = Vec::with_capacity(states.len());
    for b in states.drain(..) {
        for mut p in b.pieces(at) {
            p.expires = expires;
            if p.step_at(at, hz, len, rule) {
                under = true;
            } else {
                over = true;
            }
            match next.iter_mut().find(|q| q.same_state(&p)) {
                Some(q) => (q.lo, q.hi) = (q.lo.min(p.lo), q.hi.max(p.hi)),
                None => next.push(p),
            }
        }
    }
    *states = next;
    (under, over)
}

/// A named table (`xt_hashlimit_htable`), parameters from the first rule loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub cfg: Hashlimit,
    pub entries: HashMap<(u128, u128, u16, u16), Entry>,
    /// Jiffies of the last sweep of certainly-collected entries (`htable_gc` runs every
    /// `gcinterval`; between sweeps such entries are treated as absent when met).
    pub(crate) last_sweep: Option<u64>,
    /// The rules loaded with this table (`htable_find_get`'s users): with one, the table's
    /// alternatives are all that rule's undecided answers could have changed.
    pub(crate) users: u32,
}

/// Most states one key may be in before its results are given up as unknown.
const MAX_ALTERNATIVES: usize = 16;

/// One key's entry: the states it may be in. Garbage collection removes an expired entry at a
/// time the capture does not show, so after an expiry both the old state and a fresh one are
/// possible; a result is certain when every possible state gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Distinct possible states (never empty), all with the same `expires`.
    pub(crate) alternatives: Vec<Bucket>,
    /// Too many states were possible: results stay unknown until the entry is surely gone.
    pub(crate) lost: bool,
}

fn mask_addr(a: IpAddr, plen: u8) -> u128 {
    match a {
        IpAddr::V4(a) => {
            let m = if plen == 0 {
                0
            } else {
                u32::MAX << (32 - plen.min(32) as u32)
            };
            (u32::from(a) & m) as u128
        }
        IpAddr::V6(a) => {
            let m = if plen == 0 {
                0
            } else {
                u128::MAX << (128 - plen.min(128) as u32)
            };
            u128::from(a) & m
        }
    }
}

/// `fmt` a packet rate as `print_rate` does (revision 3 units).
fn fmt_rate(out: &mut String, avg: u64) {
    if avg == 0 {
        out.push_str(" inf");
        return;
    }
    let mut i = 1;
    while i < RATES.len() {
        let m = RATES[i].1;
        if avg > m || m / avg < m % avg {
            break;
        }
        i += 1;
    }
    let _ = write!(out, " {}/{}", RATES[i - 1].1 / avg, RATES[i - 1].0);
}

impl Hashlimit {
    /// The name the table is shared under (`--hashlimit-name`, per family).
    fn table_key(&self) -> String {
        let fam = if self.v6 { 6 } else { 4 };
        format!("hashlimit:{fam}:{}", self.name)
    }

    /// `htable_create`: the size is the given one, else 8,192 buckets (a host with more than
    /// 1 GiB of RAM); the maximum is 8 × size when not given, and never below the size.
    pub(crate) fn effective_max(&self) -> usize {
        let size = if self.size != 0 { self.size } else { 8192 } as usize;
        match self.max as usize {
            0 => 8 * size,
            m => m.max(size),
        }
    }

    /// The expire value `iptables-save` leaves out (the quantum `print_rate`/`print_bytes` return).
    fn quantum(&self) -> u32 {
        if self.mode & BYTES != 0 {
            if self.burst == 0 {
                BYTE_EXPIRE * 1000
            } else {
                BYTE_EXPIRE_BURST * 1000
            }
        } else {
            if self.avg == 0 {
                return 0;
            }
            let mut i = 1;
            while i < RATES.len() {
                let m = RATES[i].1;
                if self.avg > m || m / self.avg < m % self.avg {
                    break;
                }
                i += 1;
            }
            (RATES[i - 1].1 / SCALE * 1000) as u32
        }
    }

    fn parse_limit(&mut self, a: &OptArg<'_>) -> Result<(), Diagnostic> {
        let t = a.text;
        if let Some(pos) = t.find("b/s").filter(|p| *p > 0) {
            let r = atoll(t);
            if r != 0 {
                let tmp = r.wrapping_mul(factor(t.as_bytes().get(pos - 1).copied()));
                let cost = bytes_to_cost(tmp);
                if cost == 0 {
                    return Err(bad(
                        a.span,
                        format!("rate too high `{t}`"),
                        "a lower byte rate",
                    ));
                }
                self.mult = BYTE_EXPIRE;
                self.avg = cost;
                self.mode |= BYTES;
                return Ok(());
            }
        }
        let expected = "a rate N/second, N/minute, N/hour, N/day or a byte rate such as 512kb/s";
        let Some((_, mult)) = parse_rate_unit(t) else {
            return Err(bad(a.span, format!("bad rate `{t}`"), expected));
        };
        let _ = atoi;
        let r = atoll(t);
        if r == 0 {
            return Err(bad(a.span, format!("bad rate `{t}`"), expected));
        }
        let avg = SCALE * mult as u64 / r;
        if avg == 0 {
            return Err(bad(
                a.span,
                format!("rate too fast `{t}`"),
                "at most 1000000/second",
            ));
        }
        self.mult = mult;
        self.avg = avg;
        Ok(())
    }

    /// Key of the packet: `Err(())` when the ports are not all there (hot-drop), `Ok(None)` when
    /// the capture cut them off.
    fn key(&self, cx: &EvalCtx<'_>) -> Result<Option<(u128, u128, u16, u16)>, ()> {
        let m = self.mode;
        let src = if m & HASH_SIP != 0 {
            mask_addr(cx.pkt.src, self.srcmask)
        } else {
            0
        };
        let dst = if m & HASH_DIP != 0 {
            mask_addr(cx.pkt.dst, self.dstmask)
        } else {
            0
        };
        if m & (HASH_SPT | HASH_DPT) == 0 {
            return Ok(Some((src, dst, 0, 0)));
        }
        let poff = match cx.pkt.proto {
            // An IPv6 later fragment: `ipv6_skip_exthdr` stops at its Fragment header, whose
            // protocol has no ports (`proto_ports_offset` < 0): 0 and 0. (IPv4 reads the
            // fragment's data at `thoff`, as below.)
            _ if cx.pkt.family == crate::packet::Family::V6 && cx.pkt.frag.offset != 0 => None,
            6 | 17 | 33 | 50 | 132 | 136 => Some(0usize),
            51 => Some(4),
            _ => None,
        };
        let (sp, dp) = match poff {
            None => (0, 0),
            Some(p) => {
                let off = cx.pkt.ip_hdr_len as usize + p;
                if (cx.pkt.ip_len as usize) < off + 4 {
                    return Err(());
                }
                // The ports as they are at this rule: NAT rewrote the packet's (the captured
                // bytes keep the old ones), as the kernel's hash reads the rewritten header.
                match cx.pkt.ports().filter(|_| p == 0) {
                    Some(pp) => pp,
                    None => match cx.pkt.data.get(off..off + 4) {
                        Some(b) => (
                            u16::from_be_bytes([b[0], b[1]]),
                            u16::from_be_bytes([b[2], b[3]]),
                        ),
                        None => return Ok(None),
                    },
                }
            }
        };
        Ok(Some((
            src,
            dst,
            if m & HASH_SPT != 0 { sp } else { 0 },
            if m & HASH_DPT != 0 { dp } else { 0 },
        )))
    }
}

impl Match for Hashlimit {
    fn name(&self) -> &'static str {
        "hashlimit"
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
        if self.given == 0 && cx.family == Family::V6 {
            self.v6 = true;
            self.srcmask = 128;
            self.dstmask = 128;
        }
        let a = args.first();
        if matches!(opt.id, UPTO | ABOVE) && self.given & ((1 << UPTO) | (1 << ABOVE)) != 0 {
            return Err(conflict(
                cx,
                "--hashlimit-upto and --hashlimit-above cannot be used together",
                "one of --hashlimit-upto or --hashlimit-above",
            ));
        }
        self.given |= 1 << opt.id;
        let plen = if self.v6 { 128 } else { 32 };
        match opt.id {
            UPTO | ABOVE => {
                if (opt.id == UPTO) == invert {
                    self.mode |= INVERT;
                }
                self.parse_limit(&args[0])?;
            }
            SRCMASK => self.srcmask = parse_num(&args[0], 0, plen, "prefix length")? as u8,
            DSTMASK => self.dstmask = parse_num(&args[0], 0, plen, "prefix length")? as u8,
            BURST => {
                let a = &args[0];
                let err = || {
                    bad(
                        a.span,
                        format!("bad value `{}` for --hashlimit-burst", a.text),
                        "a burst from 1 to 1000000 (or bytes with a k/m suffix in byte mode)",
                    )
                };
                let (v, n) = strtoul_prefix(a.text).ok_or_else(err)?;
                if v < 1 || (n == a.text.len() && v > BURST_MAX) {
                    return Err(err());
                }
                self.burst = v.saturating_mul(factor(a.text.as_bytes().get(n).copied()));
            }
            SIZE => self.size = cx.val.uint() as u32,
            MAX => self.max = cx.val.uint() as u32,
            GCINT => self.gc_interval = cx.val.uint() as u32,
            EXPIRE => self.expire = cx.val.uint() as u32,
            MODE => {
                let a = &args[0];
                for tok in a.text.split([',', '|']).filter(|t| !t.is_empty()) {
                    self.mode |= match tok {
                        "dstip" => HASH_DIP,
                        "srcip" => HASH_SIP,
                        "srcport" => HASH_SPT,
                        "dstport" => HASH_DPT,
                        _ => {
                            return Err(bad(
                                a.span,
                                format!("bad --hashlimit-mode `{tok}`"),
                                "a comma-separated list of srcip, srcport, dstip, dstport",
                            ))
                        }
                    };
                }
            }
            NAME => {
                let n = a.map(|a| a.text).unwrap_or("");
                if n.is_empty() || n.len() > 255 {
                    return Err(bad(
                        args[0].span,
                        "invalid --hashlimit-name",
                        "a name of 1 to 255 characters",
                    ));
                }
                self.name = n.to_string();
            }
            RATEMATCH => self.mode |= RATE_MATCH,
            INTERVAL => {
                let r = atoi(args[0].text);
                if r <= 0 {
                    return Err(bad(
                        args[0].span,
                        format!("bad --hashlimit-rate-interval `{}`", args[0].text),
                        "a number of seconds above 0",
                    ));
                }
                self.interval = r as u32;
            }
            _ => {}
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.given & ((1 << UPTO) | (1 << ABOVE)) == 0 {
            return Err(missing(
                cx,
                "-m hashlimit requires --hashlimit-upto or --hashlimit-above",
                "--hashlimit-upto RATE or --hashlimit-above RATE",
            ));
        }
        if self.name.is_empty() {
            return Err(missing(
                cx,
                "-m hashlimit requires --hashlimit-name",
                "--hashlimit-name NAME",
            ));
        }
        if self.given & (1 << EXPIRE) == 0 {
            self.expire = self.mult * 1000;
        }
        if self.mode & BYTES != 0 {
            let mut burst = 0;
            if self.given & (1 << BURST) != 0 {
                let unit = cost_to_bytes(self.avg);
                if unit == 0 {
                    // iptables divides by this value (and crashes); the rate is below 32 bytes/s.
                    return Err(missing(
                        cx,
                        "a byte rate this low cannot have a burst",
                        "a byte rate of at least 32b/s with --hashlimit-burst",
                    ));
                }
                if self.burst < unit {
                    return Err(missing(
                        cx,
                        format!("burst cannot be smaller than {unit}b"),
                        format!("--hashlimit-burst of at least {unit}b"),
                    ));
                }
                burst = self.burst.div_ceil(unit);
                if self.given & (1 << EXPIRE) == 0 {
                    self.expire = BYTE_EXPIRE_BURST * 1000;
                }
            }
            self.burst = burst;
        } else if self.burst > BURST_MAX {
            return Err(missing(
                cx,
                "--hashlimit-burst out of range",
                "a burst from 1 to 1000000",
            ));
        }
        if self.mode & RATE_MATCH != 0 {
            if self.mode & BYTES == 0 {
                self.avg /= self.mult as u64;
            }
            if self.interval == 0 {
                self.interval = if self.mode & BYTES != 0 { 1 } else { self.mult };
            }
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        out.push_str(if self.mode & INVERT != 0 {
            " --hashlimit-above"
        } else {
            " --hashlimit-upto"
        });
        if self.mode & BYTES != 0 {
            let units: [(&str, u64); 3] = [("m", 1024 * 1024), ("k", 1024), ("", 1)];
            let r = cost_to_bytes(self.avg);
            let mut i = 0;
            while i < units.len() - 1 {
                if r >= units[i].1 && bytes_to_cost(r & !(units[i].1 - 1)) == self.avg {
                    break;
                }
                i += 1;
            }
            let _ = write!(out, " {}{}b/s", r / units[i].1, units[i].0);
            if self.burst != 0 {
                let r = r.wrapping_mul(self.burst);
                let mut i = 0;
                while i < units.len() - 1 && r < units[i].1 {
                    i += 1;
                }
                let _ = write!(out, " --hashlimit-burst {}{}b", r / units[i].1, units[i].0);
            }
        } else {
            fmt_rate(out, self.avg);
            let _ = write!(out, " --hashlimit-burst {}", self.burst);
        }
        if self.mode & (HASH_SIP | HASH_SPT | HASH_DIP | HASH_DPT) != 0 {
            out.push_str(" --hashlimit-mode ");
            let mut sep = "";
            for (b, n) in [
                (HASH_SIP, "srcip"),
                (HASH_SPT, "srcport"),
                (HASH_DIP, "dstip"),
                (HASH_DPT, "dstport"),
            ] {
                if self.mode & b != 0 {
                    out.push_str(sep);
                    out.push_str(n);
                    sep = ",";
                }
            }
        }
        let _ = write!(out, " --hashlimit-name {}", self.name);
        if self.size != 0 {
            let _ = write!(out, " --hashlimit-htable-size {}", self.size);
        }
        if self.max != 0 {
            let _ = write!(out, " --hashlimit-htable-max {}", self.max);
        }
        if self.gc_interval != GCINTERVAL {
            let _ = write!(out, " --hashlimit-htable-gcinterval {}", self.gc_interval);
        }
        if self.expire != self.quantum() {
            let _ = write!(out, " --hashlimit-htable-expire {}", self.expire);
        }
        let dmask = if self.v6 { 128 } else { 32 };
        if self.srcmask != dmask {
            let _ = write!(out, " --hashlimit-srcmask {}", self.srcmask);
        }
        if self.dstmask != dmask {
            let _ = write!(out, " --hashlimit-dstmask {}", self.dstmask);
        }
        if self.mode & RATE_MATCH != 0 {
            out.push_str(" --hashlimit-rate-match");
            if self.interval != 1 {
                let _ = write!(out, " --hashlimit-rate-interval {}", self.interval);
            }
        }
    }
    fn load(&self, ext: &mut ExtState) {
        // htable_find_get: an existing table of that name and family keeps its parameters.
        ext.named(&self.table_key(), || Table {
            cfg: self.clone(),
            entries: HashMap::new(),
            last_sweep: None,
            users: 0,
        })
        .users += 1;
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let key = self.table_key();
        let r = self.eval_bucket(cx, &key);
        if matches!(r, MatchResult::Yes | MatchResult::No) && self.in_doubt(cx, &key) {
            return MatchResult::Unknown(
                "this key's hashlimit bucket depends on an earlier uncertain verdict",
            );
        }
        r
    }
    fn stateful(&self) -> bool {
        true
    }
    fn rate_guard(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Hashlimit {
    /// Whether the bucket this packet is counted in may differ from the kernel's: its key's
    /// address is in doubt (or the key has no address: one bucket for every packet). Doubt
    /// raised only by this rule's own undecided answers does not count when it is the
    /// table's only rule: the entries keep a state for each answer (per clock phase, or
    /// collected or not) already.
    fn in_doubt(&self, cx: &EvalCtx<'_>, key: &str) -> bool {
        let d = &cx.ext.doubt;
        if d.is_empty() {
            return false;
        }
        let table = cx
            .ext
            .named
            .get(key)
            .and_then(|b| b.as_any().downcast_ref::<Table>());
        let cfg = table.map_or(self, |t| &t.cfg);
        let own = table.is_some_and(|t| t.users == 1).then_some(cx.slot);
        let v4 = !cfg.v6;
        if cfg.mode & (HASH_SIP | HASH_DIP) == 0 {
            return own.is_none_or(|s| d.any_but(s));
        }
        let covered =
            |a, plen| d.covers_but(a, crate::ext::Doubt::prefix_mask(v4, plen), own, u8::MAX);
        (cfg.mode & HASH_SIP != 0 && covered(cx.pkt.src, cfg.srcmask))
            || (cfg.mode & HASH_DIP != 0 && covered(cx.pkt.dst, cfg.dstmask))
    }

    /// `hashlimit_mt_common` on the named table.
    fn eval_bucket(&self, cx: &mut EvalCtx<'_>, key_name: &str) -> MatchResult {
        let (now, hz) = (cx.now, cx.env.hz);
        let len = cx.pkt.ip_len as u64;
        let first = self.clone();
        let cfg = cx
            .ext
            .named(key_name, || Table {
                cfg: first,
                entries: HashMap::new(),
                last_sweep: None,
                users: 0,
            })
            .cfg
            .clone();
        let key = match cfg.key(cx) {
            Err(()) => return MatchResult::HotDrop,
            Ok(None) => return MatchResult::Unknown("ports cut off by the capture's snap length"),
            Ok(Some(k)) => k,
        };
        // The rule charges its own kind of cost to the table's bucket (a name shared by a
        // packet-rate and a byte-rate rule: the kernel mixes them, `hashlimit_mt_common`).
        let rule = Kind::of(self.mode);
        let table_kind = Kind::of(cfg.mode);
        if matches!(rule, Kind::RateMatch { .. }) != matches!(table_kind, Kind::RateMatch { .. }) {
            return MatchResult::Unknown(
                "this hashlimit name is shared by a rate-match rule and a rate-limit rule: the \
                 kernel reads state the table's first rule never set",
            );
        }
        let expire_j = (cfg.expire as u64 * hz as u64).div_ceil(1000);
        let gc_j = (cfg.gc_interval as u64 * hz as u64).div_ceil(1000).max(1);
        let max = cfg.effective_max();
        let under =
            |rule: &Hashlimit, u: bool| MatchResult::from_bool(u != (rule.mode & INVERT != 0));
        let t = cx.ext.named(key_name, || Table {
            cfg: cfg.clone(),
            entries: HashMap::new(),
            last_sweep: None,
            users: 0,
        });
        // Entries expired more than one GC interval ago are certainly gone. They are swept
        // once per GC interval (and when the table is full), and treated as gone when met in
        // between — never a sweep of the whole table per packet.
        let gone = |e: &Entry| {
            let exp = e.alternatives.first().map_or(0, |b| b.expires);
            now >= exp && now - exp >= gc_j
        };
        let due = t
            .last_sweep
            .is_none_or(|l| now >= l.saturating_add(gc_j) || now < l);
        let full = t.entries.len() >= max && t.last_sweep != Some(now);
        if due || full {
            t.entries.retain(|_, e| !gone(e));
            t.last_sweep = Some(now);
        } else if t.entries.get(&key).is_some_and(gone) {
            t.entries.remove(&key);
        }
        let at = cx.now_ns as u128 * hz as u128;
        let fresh = || {
            let mut b = Bucket::created(&cfg, hz, now, at);
            b.expires = now + expire_j;
            b
        };
        let Some(e) = t.entries.get_mut(&key) else {
            if t.entries.len() >= max {
                return MatchResult::HotDrop;
            }
            let mut b = fresh();
            let u = b.step_at(at, hz, len, rule);
            t.entries.insert(
                key,
                Entry {
                    alternatives: vec![b],
                    lost: false,
                },
            );
            return under(self, u);
        };
        // An expired entry may have been collected already: then this packet starts afresh.
        let collected = e.alternatives.iter().any(|b| now >= b.expires);
        if collected {
            e.alternatives.push(fresh());
        }
        let (under_some, over_some) =
            step_states(&mut e.alternatives, at, now + expire_j, hz, len, rule);
        if e.alternatives.len() > MAX_ALTERNATIVES {
            e.alternatives.truncate(MAX_ALTERNATIVES);
            e.lost = true;
        }
        if e.lost || (under_some && over_some) {
            return MatchResult::Unknown(if collected {
                "hashlimit entry expired: whether garbage collection removed it yet depends on timing"
            } else {
                "hashlimit refills credit per jiffy: whether this packet is under the rate depends \
                 on where the kernel's clock ticked between the captured packets"
            });
        }
        under(self, under_some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits() {
        assert_eq!(cpj64(250), 1 << 39);
        assert_eq!(cpj64(1000), 1 << 37);
        // 1/sec, burst 5: five at once, then one per second.
        let cfg = |mode, avg, burst, interval| {
            let mut h = new().as_any().downcast_ref::<Hashlimit>().unwrap().clone();
            (h.mode, h.avg, h.burst, h.interval) = (mode, avg, burst, interval);
            h
        };
        for hz in [250u32, 1000] {
            let mut b = Bucket::new(&cfg(0, SCALE, 5, 0), hz, 100);
            for _ in 0..5 {
                assert!(b.step(100, hz, 60, b.kind));
            }
            assert!(!b.step(100, hz, 60, b.kind));
            assert!(!b.step(100 + hz as u64 - 1, hz, 60, b.kind));
            assert!(b.step(100 + hz as u64, hz, 60, b.kind));
        }
        // Byte mode, 1024 bytes/s, burst 2 refills: a second's worth of credit to start with,
        // then each refill of the burst buys another second's worth.
        let hz = 250;
        let mut b = Bucket::new(&cfg(BYTES, bytes_to_cost(1024), 2, 0), hz, 100);
        let passed = (0..8).filter(|_| b.step(100, hz, 1000, b.kind)).count();
        assert_eq!(passed, 3);
        // Rate match, 2 packets per 1 s interval with burst 5: 7 in the first interval pass,
        // then the next interval follows an over-rate one.
        let mut b = Bucket::new(&cfg(RATE_MATCH, SCALE / 2, 5, 1), hz, 100);
        let passed = (0..9).filter(|_| b.step(100, hz, 60, b.kind)).count();
        assert_eq!(passed, 7);
        assert!(!b.step(100 + hz as u64, hz, 60, b.kind));
    }

    /// A byte-rate rule sharing a packet-rate table (same `--hashlimit-name`): the byte cost is
    /// capped at a jiffy's worth of byte credit and the table's packet credit cap is the
    /// refill count, so it never limits (the recorded lab `hashlimit-shared-name` shows the
    /// kernel agreeing); a packet-rate rule on that table limits.
    #[test]
    fn a_rule_charges_its_own_cost() {
        let mut cfg = new().as_any().downcast_ref::<Hashlimit>().unwrap().clone();
        (cfg.avg, cfg.burst) = (SCALE / 2, 3);
        let hz = 250;
        let mut b = Bucket::new(&cfg, hz, 100);
        assert!((0..1000).all(|_| b.step(100, hz, 1500, Kind::Bytes)));
        let mut b = Bucket::new(&cfg, hz, 100);
        let passed = (0..10)
            .filter(|_| b.step(100, hz, 1500, Kind::Packets))
            .count();
        assert_eq!(passed, 3);
    }

    /// Each packet's answers over every clock phase (under the limit, over it), as
    /// `eval_bucket` steps an entry's states; and the states left.
    fn answers(cfg: &Hashlimit, hz: u32, times_ns: &[u64]) -> (Vec<(bool, bool)>, Vec<Bucket>) {
        let at = |t: u64| t as u128 * hz as u128;
        let mut states = vec![Bucket::created(cfg, hz, 0, at(times_ns[0]))];
        let out = times_ns
            .iter()
            .map(|&t| step_states(&mut states, at(t), 0, hz, 60, Kind::of(cfg.mode)))
            .collect();
        (out, states)
    }

    #[test]
    fn clock_phase() {
        // 100/s, burst 1, HZ 250: a packet costs 2.5 jiffies of credit.
        let mut cfg = new().as_any().downcast_ref::<Hashlimit>().unwrap().clone();
        (cfg.avg, cfg.burst) = (SCALE / 100, 1);
        let ms = 1_000_000;
        // 11 ms after the first: 2 or 3 whole jiffies have passed, by the phase; the third
        // comes 30 ms later, when every phase has refilled the bucket.
        let (a, _) = answers(&cfg, 250, &[0, 11 * ms, 41 * ms]);
        assert_eq!(a, [(true, false), (true, true), (true, false)]);
        // 4 ms: one jiffy or two, never enough.
        let (a, _) = answers(&cfg, 250, &[0, 4 * ms]);
        assert_eq!(a, [(true, false), (false, true)]);
        // At HZ 1000 a jiffy is 1 ms: 11 ms is 10 or 11 jiffies, 10 ms of credit either way
        // more than a packet's; 9.5 ms is 9 or 10, and 10 is one packet's credit exactly.
        let (a, _) = answers(&cfg, 1000, &[0, 11 * ms]);
        assert_eq!(a, [(true, false), (true, false)]);
        let (a, _) = answers(&cfg, 1000, &[0, 9 * ms + ms / 2]);
        assert_eq!(a, [(true, false), (true, true)]);
        // A state split by the phase merges again once every phase has refilled the bucket.
        let (_, states) = answers(&cfg, 250, &[0, 11 * ms]);
        assert_eq!(states.len(), 2, "{states:?}");
        let (_, states) = answers(&cfg, 250, &[0, 11 * ms, 200 * ms]);
        assert_eq!(states.len(), 1, "{states:?}");
        assert_eq!((states[0].lo, states[0].hi), (0, PHASES as u32));
    }

    #[test]
    fn byte_conversions() {
        // 100kb/s as iptables stores and prints it.
        let cost = bytes_to_cost(100 * 1024);
        assert_eq!(cost_to_bytes(cost) >> 10, 100);
    }
}
