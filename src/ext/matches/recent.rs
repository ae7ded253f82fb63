//! `-m recent` (libxt_recent.c rev 1 / kernel `xt_recent.c` `recent_mt`): named address lists
//! shared by every rule that names them.
//!
//! Options: exactly one of `[!] --set`, `--rcheck`, `--update`, `--remove`; `--seconds N`,
//! `--hitcount N` (≤ 65535 on current kernels), `--rttl` and `--reap` (needs `--seconds`) only with `--rcheck` or
//! `--update`; `--name` (default `DEFAULT`), `--rsource` (default) / `--rdest`, `--mask ADDR`
//! (default all ones). Saved as iptables 1.8 prints it: `--name`, `--mask` and `--rsource` always.
//!
//! Evaluation follows the kernel: the address (masked with the mask of the rule that created the
//! list) is looked up (with `--rttl`, also by TTL: equal, or either side 0); an unknown address
//! matches only for `--set`, which adds it with one time stamp. `--rcheck`/`--update` count the
//! entry's stamps not older than `now − seconds·HZ` (a stamp exactly that old counts) until the
//! hit count is reached; `--reap` then drops the least recently used entry of the list if its
//! newest stamp is outside the window. `--set`, and `--update` when the result is true, add a
//! stamp (ring of `roundup_pow_of_two(hitcount)` stamps, 32 without hit count) and make the entry
//! the most recently used. A list holds 100 entries (`ip_list_tot`); adding to a full list first
//! drops the least recently used one. The TTL is the packet's (`cx.skb.ttl`), plus one when the
//! packet has an output device and is not locally generated (the kernel's "TTL as seen before
//! forwarding"). Lists start empty (no `/proc/net/xt_recent` contents offline); a list no rule
//! adds to (`--set`) can only be filled from outside the ruleset, so its checks are unknown.
//!
//! Two load-time details are applied lazily: the list's mask is the first evaluated rule's, and
//! its stamp ring grows to the largest hit count among the rules evaluated so far (the kernel
//! takes both from all rules when the ruleset is loaded).

use std::any::Any;
use std::fmt::Write;
use std::net::IpAddr;

use super::{bad, conflict, missing};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{parse_ipv4_dotted, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};
use crate::netfilter::Family;

/// `ip_list_tot`.
pub(crate) const LIST_TOT: usize = 100;
/// `XT_RECENT_MAX_NSTAMPS` of current kernels: hit counts up to 65535 load (older kernels: 255).
pub(crate) const MAX_NSTAMPS: u32 = 65536;
pub(crate) const NAME_LEN: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Set,
    Check,
    Update,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recent {
    pub(crate) op: Option<Op>,
    pub invert: bool,
    pub seconds: u32,
    pub(crate) hit_count: u32,
    pub(crate) rttl: bool,
    pub(crate) reap: bool,
    pub name: String,
    pub(crate) dest: bool,
    pub mask: u128,
    pub v6: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Recent {
        op: None,
        invert: false,
        seconds: 0,
        hit_count: 0,
        rttl: false,
        reap: false,
        name: "DEFAULT".to_string(),
        dest: false,
        mask: u128::MAX,
        v6: false,
    })
}

const SET: u8 = 1;
const RCHECK: u8 = 2;
const UPDATE: u8 = 3;
const REMOVE: u8 = 4;
const SECONDS: u8 = 5;
const REAP: u8 = 6;
const HITCOUNT: u8 = 7;
const RTTL: u8 = 8;
const NAME: u8 = 9;
const RSOURCE: u8 = 10;
const RDEST: u8 = 11;
const MASK: u8 = 12;

static OPTS: &[OptSpec] = &[
    OptSpec::new("set", SET, Arg::None).inv(),
    OptSpec::new("rcheck", RCHECK, Arg::None).inv(),
    OptSpec::new("update", UPDATE, Arg::None).inv(),
    OptSpec::new("remove", REMOVE, Arg::None).inv(),
    OptSpec::new("seconds", SECONDS, Arg::One).ty(XtType::Uint {
        min: 1,
        max: u32::MAX as u64,
    }),
    OptSpec::new("reap", REAP, Arg::None),
    OptSpec::new("hitcount", HITCOUNT, Arg::One).ty(XtType::U32),
    OptSpec::new("rttl", RTTL, Arg::None),
    OptSpec::new("name", NAME, Arg::One),
    OptSpec::new("rsource", RSOURCE, Arg::None).multi(),
    OptSpec::new("rdest", RDEST, Arg::None).multi(),
    OptSpec::new("mask", MASK, Arg::One),
];

/// One address of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub addr: u128,
    pub ttl: u8,
    /// Ring of time stamps (jiffies); `index` is the next slot, `nstamps` how many are valid.
    pub stamps: Vec<u64>,
    /// The capture time (ns) of each stamp: where the kernel's clock ticked between a stamp
    /// and a later packet is not in the capture, so a window edge within a jiffy of the
    /// elapsed time is undecided.
    pub(crate) stamp_ns: Vec<u64>,
    pub index: usize,
    pub(crate) nstamps: usize,
}

/// A named list (`struct recent_table`); `entries` in LRU order, least recently used first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub mask: u128,
    pub(crate) nstamps_max_mask: usize,
    pub entries: Vec<Entry>,
    /// A rule loaded with the list adds to it (`--set`). A list no rule adds to is filled from
    /// outside the ruleset — `echo +ADDR > /proc/net/xt_recent/NAME` (fail2ban's
    /// xt_recent-echo action, port-knocking daemons) — and what it holds is not known offline.
    pub(crate) set_by_rules: bool,
}

fn nstamp_mask(hit_count: u32) -> usize {
    if hit_count == 0 {
        31
    } else {
        hit_count.next_power_of_two() as usize - 1
    }
}

/// `time_after(a, b)` on a wrapping jiffies clock.
#[inline]
fn time_after(a: u64, b: u64) -> bool {
    (b.wrapping_sub(a) as i64) < 0
}

impl Table {
    fn new(mask: u128, nmask: usize) -> Table {
        Table {
            mask,
            nstamps_max_mask: nmask,
            entries: Vec::new(),
            set_by_rules: false,
        }
    }

    fn lookup(&self, addr: u128, ttl: u8) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.addr == addr && (ttl == e.ttl || ttl == 0 || e.ttl == 0))
    }

    fn init(&mut self, addr: u128, ttl: u8, now: u64, now_ns: u64) {
        if self.entries.len() >= LIST_TOT {
            self.entries.remove(0);
        }
        let mut stamps = vec![0; self.nstamps_max_mask + 1];
        stamps[0] = now;
        let mut stamp_ns = vec![0; self.nstamps_max_mask + 1];
        stamp_ns[0] = now_ns;
        self.entries.push(Entry {
            addr,
            ttl,
            stamps,
            stamp_ns,
            index: 1,
            nstamps: 1,
        });
    }

    /// `recent_entry_update`; returns the entry's new position (the LRU tail).
    fn update(&mut self, i: usize, now: u64, now_ns: u64) -> usize {
        let m = self.nstamps_max_mask;
        let mut e = self.entries.remove(i);
        if e.stamps.len() < m + 1 {
            e.stamps.resize(m + 1, 0);
        }
        e.stamp_ns.resize(e.stamps.len(), 0);
        e.index &= m;
        e.stamps[e.index] = now;
        e.stamp_ns[e.index] = now_ns;
        e.index += 1;
        if e.index > e.nstamps {
            e.nstamps = e.index;
        }
        self.entries.push(e);
        self.entries.len() - 1
    }

    /// `recent_entry_reap`: the working entry `w` is spared when it is about to be updated.
    /// Returns the working entry's index after a possible removal.
    fn reap(&mut self, time: u64, w: usize, update: bool) -> Option<usize> {
        if self.entries.is_empty() || (w == 0 && update) {
            return Some(w);
        }
        let e = &self.entries[0];
        let newest = e.stamps[(e.index + e.stamps.len() - 1) % e.stamps.len()];
        if time_after(time, newest) {
            self.entries.remove(0);
            return if w == 0 { None } else { Some(w - 1) };
        }
        Some(w)
    }
}

/// The list's address for a packet, as a 128-bit number (IPv4 in the low 32 bits).
fn addr_num(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

impl Recent {
    /// One evaluation against `table` at time `now` with the packet's address and TTL.
    /// `now_ns` is the capture time: a stamp whose age is within one jiffy of `--seconds`
    /// counts for some clock phases and not others; when that changes the answer it is
    /// [`MatchResult::Unknown`] (the list is updated as fwcheck's own phase answers).
    pub fn step(
        &self,
        t: &mut Table,
        addr: u128,
        ttl: u8,
        now: u64,
        now_ns: u64,
        hz: u32,
    ) -> MatchResult {
        let mut ret = self.invert;
        let mut undecided = false;
        let addr = addr & t.mask;
        let want_ttl = if self.rttl { ttl } else { 0 };
        let op = self.op.unwrap_or(Op::Check);
        let Some(mut i) = t.lookup(addr, want_ttl) else {
            if op != Op::Set {
                return MatchResult::from_bool(ret);
            }
            t.init(addr, ttl, now, now_ns);
            return MatchResult::from_bool(!ret);
        };
        match op {
            Op::Set => ret = !ret,
            Op::Remove => {
                t.entries.remove(i);
                return MatchResult::from_bool(!ret);
            }
            Op::Check | Op::Update => {
                let window = self.seconds as u64 * hz as u64;
                let time = now.wrapping_sub(window);
                let e = &t.entries[i];
                // Stamps in the window as fwcheck's clock has it, and for every phase of the
                // kernel's: a stamp `x` jiffies old (real time) is ⌊x⌋ or ⌈x⌉ ticks old.
                let (mut hits, mut sure, mut maybe) = (0u32, 0u32, 0u32);
                for (k, s) in e.stamps[..e.nstamps].iter().enumerate() {
                    let inside = self.seconds == 0 || !time_after(time, *s);
                    hits += inside as u32;
                    if self.seconds == 0 {
                        continue;
                    }
                    let age = (now_ns.saturating_sub(e.stamp_ns.get(k).copied().unwrap_or(0))
                        as u128)
                        * hz as u128;
                    let edge = window as u128 * 1_000_000_000;
                    if age <= edge {
                        sure += 1;
                    } else if age < edge + 1_000_000_000 {
                        maybe += 1;
                    }
                }
                let enough = |n: u32| n >= self.hit_count.max(1);
                if enough(hits) {
                    ret = !ret;
                }
                if self.seconds != 0 && enough(sure) != enough(sure + maybe) {
                    undecided = true;
                }
                if self.reap {
                    match t.reap(time, i, op == Op::Update && ret) {
                        Some(j) => i = j,
                        None => return MatchResult::from_bool(ret),
                    }
                }
            }
        }
        if op == Op::Set || (op == Op::Update && ret) {
            let j = t.update(i, now, now_ns);
            t.entries[j].ttl = ttl;
        }
        if undecided {
            return MatchResult::Unknown(
                "recent --seconds: a time stamp's age is within one jiffy of the window, and \
                 where the kernel's clock ticked between the packets is not in the capture",
            );
        }
        MatchResult::from_bool(ret)
    }
}

impl Match for Recent {
    fn name(&self) -> &'static str {
        "recent"
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
        self.v6 = cx.family == Family::V6;
        match opt.id {
            SET | RCHECK | UPDATE | REMOVE => {
                if self.op.is_some() {
                    return Err(conflict(
                        cx,
                        "only one of --set, --rcheck, --update and --remove may be given",
                        "a single --set, --rcheck, --update or --remove",
                    ));
                }
                self.op = Some(match opt.id {
                    SET => Op::Set,
                    RCHECK => Op::Check,
                    UPDATE => Op::Update,
                    _ => Op::Remove,
                });
                self.invert = invert;
            }
            SECONDS => self.seconds = cx.val.uint() as u32,
            HITCOUNT => {
                self.hit_count = cx.val.uint() as u32;
                if self.hit_count >= MAX_NSTAMPS {
                    return Err(bad(
                        args[0].span,
                        format!("hit count {} is above the kernel's maximum", self.hit_count),
                        "a hit count from 0 to 65535",
                    ));
                }
            }
            REAP => self.reap = true,
            RTTL => self.rttl = true,
            NAME => {
                // libxt_recent copies the name with `strncpy(info->name, arg, NAME_LEN)` and
                // ends it at byte 199: a longer name is cut there, silently, and the kernel
                // (`recent_mt_check`) checks what is left.
                let mut n = args[0].text;
                if n.len() >= NAME_LEN {
                    let mut cut = NAME_LEN - 1;
                    while !n.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    n = &n[..cut];
                }
                if n.is_empty() || n.len() >= NAME_LEN || n.contains('/') || n == "." || n == ".." {
                    return Err(bad(
                        args[0].span,
                        format!("invalid list name `{n}`"),
                        "a name of 1 to 199 characters without `/`",
                    ));
                }
                self.name = n.to_string();
            }
            RSOURCE => self.dest = false,
            RDEST => self.dest = true,
            MASK => {
                let a = &args[0];
                self.mask = match cx.family {
                    Family::V4 => parse_ipv4_dotted(a.text, false).map(|m| m as u128),
                    Family::V6 => a.text.parse::<std::net::Ipv6Addr>().ok().map(u128::from),
                }
                .ok_or_else(|| {
                    bad(
                        a.span,
                        format!("invalid mask `{}`", a.text),
                        "an address-style mask such as 255.255.255.0 (or ffff:ffff:ffff:ffff:: for IPv6)",
                    )
                })?;
            }
            _ => {}
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        let Some(op) = self.op else {
            return Err(missing(
                cx,
                "-m recent requires one of --set, --rcheck, --update or --remove",
                "--set, --rcheck, --update or --remove",
            ));
        };
        if matches!(op, Op::Set | Op::Remove)
            && (self.seconds != 0 || self.hit_count != 0 || self.rttl || self.reap)
        {
            return Err(missing(
                cx,
                "--seconds, --hitcount, --rttl and --reap only work with --rcheck or --update",
                "--rcheck or --update with these options",
            ));
        }
        if self.reap && self.seconds == 0 {
            return Err(missing(cx, "--reap requires --seconds", "--seconds N"));
        }
        if !self.v6 {
            self.mask &= u32::MAX as u128;
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(match self.op {
            Some(Op::Set) => " --set",
            Some(Op::Check) | None => " --rcheck",
            Some(Op::Update) => " --update",
            Some(Op::Remove) => " --remove",
        });
        if self.seconds != 0 {
            let _ = write!(out, " --seconds {}", self.seconds);
        }
        if self.reap {
            out.push_str(" --reap");
        }
        if self.hit_count != 0 {
            let _ = write!(out, " --hitcount {}", self.hit_count);
        }
        if self.rttl {
            out.push_str(" --rttl");
        }
        let _ = write!(out, " --name {}", self.name);
        if self.v6 {
            let _ = write!(out, " --mask {}", std::net::Ipv6Addr::from(self.mask));
        } else {
            let _ = write!(
                out,
                " --mask {}",
                std::net::Ipv4Addr::from(self.mask as u32)
            );
        }
        out.push_str(if self.dest { " --rdest" } else { " --rsource" });
    }
    fn explain(&self, cx: &EvalCtx<'_>, held: bool) -> Option<String> {
        let a = if self.dest { cx.pkt.dst } else { cx.pkt.src };
        let t = cx
            .ext
            .peek_named::<Table>(&format!("recent:{}", self.name))?;
        let key = addr_num(a) & t.mask;
        let entry = t.entries.iter().find(|e| e.addr == key);
        let op = match self.op.unwrap_or(Op::Check) {
            Op::Set => "--set",
            Op::Check => "--rcheck",
            Op::Update => "--update",
            Op::Remove => "--remove",
        };
        let seen = match entry {
            None => format!("{a} is not in list {}", self.name),
            Some(e) => {
                let hz = cx.env.hz as u64;
                let window = if self.seconds != 0 {
                    let from = cx.now.wrapping_sub(self.seconds as u64 * hz);
                    let n = e.stamps[..e.nstamps]
                        .iter()
                        .filter(|s| !time_after(from, **s))
                        .count();
                    format!(", {n} in the last {} s", self.seconds)
                } else {
                    String::new()
                };
                format!(
                    "{a} is in list {}: {} hits recorded{window}",
                    self.name, e.nstamps
                )
            }
        };
        let need = if self.hit_count != 0 {
            format!(" (--hitcount {})", self.hit_count)
        } else {
            String::new()
        };
        Some(format!(
            "recent {op}: {seen}{need} → {}",
            if held { "holds" } else { "fails" }
        ))
    }
    fn load(&self, ext: &mut crate::ext::ExtState) {
        // recent_mt_check: an existing list keeps its mask; a rule needing more time stamps
        // than it keeps flushes it and raises the count.
        let nmask = nstamp_mask(self.hit_count);
        let mask = self.mask;
        let t = ext.named(&format!("recent:{}", self.name), || Table::new(mask, nmask));
        if nmask > t.nstamps_max_mask {
            t.entries.clear();
            t.nstamps_max_mask = nmask;
        }
        t.set_by_rules |= self.op == Some(Op::Set);
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let addr = addr_num(if self.dest { cx.pkt.dst } else { cx.pkt.src });
        let mut ttl = cx.skb.ttl;
        if !cx.outdev.is_empty() && !cx.is_local_out() {
            ttl = ttl.wrapping_add(1);
        }
        let (now, hz) = (cx.now, cx.env.hz);
        let nmask = nstamp_mask(self.hit_count);
        let mask = self.mask;
        let t = cx
            .ext
            .named(&format!("recent:{}", self.name), || Table::new(mask, nmask));
        if nmask > t.nstamps_max_mask {
            t.nstamps_max_mask = nmask;
        }
        let table_mask = t.mask;
        let reads = self.op.unwrap_or(Op::Check) != Op::Set;
        if reads && !t.set_by_rules {
            // Only written from outside the ruleset (`/proc/net/xt_recent`): whether the
            // address is in it is not in the capture (a fail2ban hunt: its xt_recent-echo
            // bans were answered "not in the list", certain, where the kernel rejected them).
            return MatchResult::Unknown(
                "no rule adds to this recent list: it is filled from outside the ruleset \
                 (/proc/net/xt_recent, e.g. fail2ban's xt_recent-echo bans), which no capture \
                 shows",
            );
        }
        let r = self.step(t, addr, ttl, now, cx.now_ns, hz);
        let a = if self.dest { cx.pkt.dst } else { cx.pkt.src };
        if reads
            && matches!(r, MatchResult::Yes | MatchResult::No)
            && cx.ext.doubt.covers(a, table_mask)
        {
            return MatchResult::Unknown(
                "this address's entry in the recent list depends on an earlier uncertain verdict",
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(op: Op, seconds: u32, hit_count: u32) -> Recent {
        Recent {
            op: Some(op),
            invert: false,
            seconds,
            hit_count,
            rttl: false,
            reap: false,
            name: "DEFAULT".into(),
            dest: false,
            mask: u32::MAX as u128,
            v6: false,
        }
    }

    const HZ: u32 = 250;

    /// The capture time of jiffy `j` at HZ 250, on a tick (no phase doubt).
    fn ns(j: u64) -> u64 {
        j * 4_000_000
    }

    #[test]
    fn ssh_brute_force_pattern() {
        // --set, then --update --seconds 60 --hitcount 4: the 4th packet within 60 s matches.
        let set = rule(Op::Set, 0, 0);
        let upd = rule(Op::Update, 60, 4);
        let mut t = Table::new(u32::MAX as u128, 31);
        let a = 0x0a000001;
        let mut now = 1000;
        let mut hits = Vec::new();
        for _ in 0..5 {
            // Rule order of the usual recipe: update check first, then set.
            hits.push(upd.step(&mut t, a, 64, now, ns(now), HZ) == MatchResult::Yes);
            assert_eq!(set.step(&mut t, a, 64, now, ns(now), HZ), MatchResult::Yes);
            now += HZ as u64; // one second apart
        }
        // Before the n-th check the list holds n-1 stamps; --update adds one only when true.
        assert_eq!(hits, vec![false, false, false, false, true]);
    }

    /// A stamp whose age is within a jiffy of `--seconds` counts for some phases of the
    /// kernel's clock and not for others (kernel lab: pairs 0.990–1.010 s apart against
    /// `--rcheck --seconds 1`, decided both ways): undecided; a whole jiffy either side is not.
    #[test]
    fn seconds_edge_within_a_jiffy_is_undecided() {
        let set = rule(Op::Set, 0, 0);
        let chk = rule(Op::Check, 1, 0);
        let at = |ms: u64| (1000 + ms * HZ as u64 / 1000, 4_000_000_000 + ms * 1_000_000);
        for (ms, want) in [
            (990, MatchResult::Yes),
            (1001, MatchResult::Unknown("")),
            (1003, MatchResult::Unknown("")),
            (1010, MatchResult::No),
        ] {
            let mut t = Table::new(u32::MAX as u128, 31);
            let (j0, n0) = at(0);
            set.step(&mut t, 1, 64, j0, n0, HZ);
            let (j, n) = at(ms);
            let got = chk.step(&mut t, 1, 64, j, n, HZ);
            assert_eq!(
                std::mem::discriminant(&got),
                std::mem::discriminant(&want),
                "{ms} ms: {got:?}"
            );
        }
    }

    #[test]
    fn seconds_boundary_is_inclusive() {
        let set = rule(Op::Set, 0, 0);
        let chk = rule(Op::Check, 10, 0);
        let mut t = Table::new(u32::MAX as u128, 31);
        set.step(&mut t, 1, 64, 5000, ns(5000), HZ);
        assert_eq!(
            chk.step(&mut t, 1, 64, 5000 + 10 * 250, ns(5000 + 10 * 250), HZ),
            MatchResult::Yes
        );
        assert_eq!(
            chk.step(
                &mut t,
                1,
                64,
                5000 + 10 * 250 + 1,
                ns(5000 + 10 * 250 + 1),
                HZ
            ),
            MatchResult::No
        );
        // Unknown address: --rcheck never matches, ! --rcheck always does.
        assert_eq!(chk.step(&mut t, 2, 64, 5000, ns(5000), HZ), MatchResult::No);
        let mut inv = chk.clone();
        inv.invert = true;
        assert_eq!(
            inv.step(&mut t, 2, 64, 5000, ns(5000), HZ),
            MatchResult::Yes
        );
    }

    #[test]
    fn hitcount_counts_stamps_in_ring() {
        let set = rule(Op::Set, 0, 0);
        let chk = rule(Op::Check, 0, 3);
        let mut t = Table::new(u32::MAX as u128, nstamp_mask(3));
        assert_eq!(t.nstamps_max_mask, 3);
        for n in 1..=6u64 {
            set.step(&mut t, 7, 64, n, ns(n), HZ);
            let want = if n >= 3 {
                MatchResult::Yes
            } else {
                MatchResult::No
            };
            assert_eq!(chk.step(&mut t, 7, 64, n, ns(n), HZ), want);
        }
        assert_eq!(t.entries[0].nstamps, 4);
    }

    #[test]
    fn list_holds_100_entries_lru() {
        let set = rule(Op::Set, 0, 0);
        let chk = rule(Op::Check, 0, 0);
        let mut t = Table::new(u32::MAX as u128, 31);
        for a in 0..100u128 {
            set.step(&mut t, a, 64, 10, ns(10), HZ);
        }
        // Touch address 0 so that 1 becomes the least recently used.
        set.step(&mut t, 0, 64, 11, ns(11), HZ);
        set.step(&mut t, 1000, 64, 12, ns(12), HZ);
        assert_eq!(t.entries.len(), 100);
        assert_eq!(chk.step(&mut t, 0, 64, 13, ns(13), HZ), MatchResult::Yes);
        assert_eq!(chk.step(&mut t, 1, 64, 13, ns(13), HZ), MatchResult::No);
        assert_eq!(chk.step(&mut t, 2, 64, 13, ns(13), HZ), MatchResult::Yes);
    }

    #[test]
    fn remove_rttl_and_reap() {
        let set = rule(Op::Set, 0, 0);
        let mut t = Table::new(u32::MAX as u128, 31);
        set.step(&mut t, 5, 60, 1, ns(1), HZ);
        let mut chk = rule(Op::Check, 0, 0);
        chk.rttl = true;
        assert_eq!(chk.step(&mut t, 5, 61, 2, ns(2), HZ), MatchResult::No);
        assert_eq!(chk.step(&mut t, 5, 60, 2, ns(2), HZ), MatchResult::Yes);
        let rm = rule(Op::Remove, 0, 0);
        assert_eq!(rm.step(&mut t, 5, 60, 3, ns(3), HZ), MatchResult::Yes);
        assert!(t.entries.is_empty());
        // --reap drops the oldest entry when its newest stamp left the window.
        set.step(&mut t, 8, 64, 100, ns(100), HZ);
        set.step(&mut t, 9, 64, 100 + 20 * 250, ns(100 + 20 * 250), HZ);
        let mut reap = rule(Op::Check, 10, 0);
        reap.reap = true;
        assert_eq!(
            reap.step(&mut t, 9, 64, 100 + 20 * 250, ns(100 + 20 * 250), HZ),
            MatchResult::Yes
        );
        assert_eq!(t.entries.len(), 1);
        assert_eq!(t.entries[0].addr, 9);
    }
}
