//! Expectations: connections a helper announced (`net/netfilter/nf_conntrack_expect.c`).
//!
//! * **Registration** (`nf_ct_expect_related` → `__nf_ct_expect_check`): an expectation equal
//!   to one of the same master replaces it; one that clashes with another master's is refused
//!   (`-EBUSY`: the helper drops the packet, "cannot add expectation"); a master over its
//!   helper's `max_expected` (1 for FTP and TFTP) loses its oldest; the table holds at most
//!   `nf_conntrack_expect_max` (`nf_conntrack_buckets / 256 * 4`, 4,096 by default), beyond
//!   which registration fails ("expectation table full").
//! * **Use** (`nf_ct_find_expectation`, from `init_conntrack`): a new connection whose original
//!   tuple matches an expectation (same addresses, protocol, destination port and zone; any
//!   source port) of a confirmed, live master becomes EXPECTED (ctinfo RELATED), takes the
//!   master's mark, and *consumes* the expectation — at creation, so a first packet the
//!   ruleset then drops has used it up.
//! * **Lifetime**: `expect_policy.timeout` (300 s for FTP and TFTP) from registration, and
//!   never longer than the master (`nf_ct_remove_expectations` when it dies).
//! * **NAT** (`nf_nat_ftp`, `nf_nat_tftp`): the expectation of a NATed master carries
//!   `expectfn = nf_nat_follow_master`, run by `init_conntrack` on the connection it creates:
//!   both its bindings are set there (source: the address the master sends to in the
//!   expectation's direction; destination: the master's address on the other side, and the
//!   port the helper saved), so the nat table never sees it (`Conntrack::take_follow`).
//!
//! Also kept here: *doubts*, the expectations fwcheck cannot know — a helper it does not model
//! saw payload, or a modelled one could not read a command the capture cut off. A new
//! connection created while such a master lives is reported uncertain (it might be RELATED).

use foldhash::HashMap;
use std::net::IpAddr;

use super::helper::HelperId;
use super::{time_after_eq, Conntrack, CtDir, CtId, Tuple};

/// `expect_policy.timeout` of the FTP and TFTP helpers.
pub(crate) const EXPECT_TIMEOUT_SECS: u64 = 300;

/// An expectation's tuple under its mask: everything but the source port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ExpectKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub dport: u16,
    pub zone: u16,
}

impl ExpectKey {
    fn of(t: &Tuple) -> Self {
        ExpectKey {
            src: t.src,
            dst: t.dst,
            proto: t.proto,
            dport: t.dport,
            zone: t.zone,
        }
    }
}

/// One expectation (`struct nf_conntrack_expect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub master: CtId,
    /// The master's serial: its slot may be reused once it is freed.
    pub(crate) master_serial: u64,
    /// `ct->mark` of the master, inherited by the expected connection.
    pub(crate) master_mark: u32,
    pub helper: HelperId,
    /// Expiry, in jiffies.
    pub deadline: u64,
    /// The frame whose payload announced it.
    pub frame: u64,
    /// The announcing packet's own verdict (or payload) was uncertain: so is this.
    pub(crate) doubt: Option<Box<str>>,
    /// `exp->expectfn = nf_nat_follow_master`, with `exp->dir` and `exp->saved_proto`: set by
    /// the NAT half of the helper (the master is NATed).
    pub(crate) follow: Option<Follow>,
}

/// What `nf_nat_follow_master` needs of an expectation: `exp->dir` and the saved port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Follow {
    pub dir: CtDir,
    pub port: u16,
}

/// The bindings `nf_nat_follow_master` gives the connection an expectation created: its
/// source becomes `src` (`MAP_IPS`: the port kept if unique), its destination `dst`:`port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FollowNat {
    pub src: std::net::IpAddr,
    pub dst: std::net::IpAddr,
    pub port: u16,
}

/// Why `nf_ct_expect_related` refused an expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpectErr {
    /// `-EBUSY`: another master expects the same tuple.
    Busy,
    /// `-EMFILE`: `nf_conntrack_expect_max` reached.
    Full,
}

impl ExpectErr {
    pub(crate) fn why(self) -> &'static str {
        match self {
            ExpectErr::Busy => "cannot add expectation (another connection expects the same)",
            ExpectErr::Full => "cannot add expectation (nf_conntrack: expectation table full)",
        }
    }
}

/// A master connection whose expectations are unknown.
#[derive(Debug, Clone)]
struct Doubt {
    master: CtId,
    serial: u64,
    why: Box<str>,
}

/// The expectation table of one network namespace.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expectations {
    map: HashMap<ExpectKey, Expectation>,
    /// The one expectation of each master (`max_expected` is 1 for every modelled helper).
    by_master: HashMap<u32, ExpectKey>,
    /// Doubts about expectations between two addresses (sorted pair): one per master, as
    /// several control connections may join the same two hosts.
    pair_doubts: HashMap<(IpAddr, IpAddr), Vec<Doubt>>,
    /// Number of doubts in `pair_doubts`.
    pair_doubts_held: usize,
    /// Doubts about expectations from anywhere (helpers fwcheck does not model), oldest first.
    any_doubts: std::collections::VecDeque<Doubt>,
    /// Why the connection just created is uncertain; taken by the engine.
    pending: Option<String>,
    /// What the connection just created was expected by: `(helper, frame)`.
    pending_related: Option<(HelperId, u64)>,
    /// The bindings `nf_nat_follow_master` gives the connection just created.
    pending_follow: Option<FollowNat>,
}

fn pair(a: IpAddr, b: IpAddr) -> (IpAddr, IpAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

impl Expectations {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    fn remove(&mut self, key: &ExpectKey) -> Option<Expectation> {
        let e = self.map.remove(key)?;
        if self.by_master.get(&e.master.0) == Some(key) {
            self.by_master.remove(&e.master.0);
        }
        Some(e)
    }
}

impl Conntrack {
    /// Remember that `master` may have expectations fwcheck cannot compute: between the two
    /// addresses of `between`, or from anywhere (`None`). Doubts of dead masters are dropped
    /// as they are met, and all at once when they outnumber the live connections.
    pub(crate) fn add_doubt(
        &mut self,
        between: Option<(IpAddr, IpAddr)>,
        master: CtId,
        serial: u64,
        why: String,
        now: u64,
    ) {
        let d = Doubt {
            master,
            serial,
            why: why.into_boxed_str(),
        };
        match between {
            Some((a, b)) => {
                let v = self.expect.pair_doubts.entry(pair(a, b)).or_default();
                if !v.iter().any(|x| x.master == master && x.serial == serial) {
                    v.push(d);
                    self.expect.pair_doubts_held += 1;
                }
            }
            None => self.expect.any_doubts.push_back(d),
        }
        let held = self.expect.pair_doubts_held + self.expect.any_doubts.len();
        if held > 2 * self.len() + 1024 {
            let mut pairs = std::mem::take(&mut self.expect.pair_doubts);
            for v in pairs.values_mut() {
                v.retain(|d| self.master_alive(d.master, d.serial, now));
            }
            pairs.retain(|_, v| !v.is_empty());
            self.expect.pair_doubts_held = pairs.values().map(Vec::len).sum();
            self.expect.pair_doubts = pairs;
            let mut any = std::mem::take(&mut self.expect.any_doubts);
            any.retain(|d| self.master_alive(d.master, d.serial, now));
            self.expect.any_doubts = any;
        }
    }

    /// The expected connection's doubt, if the connection just created by
    /// [`super::conntrack_in`] might be (or was made) RELATED on an uncertain ground.
    pub(crate) fn take_doubt(&mut self) -> Option<String> {
        self.expect.pending.take()
    }

    /// The helper and frame that expected the connection just created, if any.
    pub(crate) fn take_related(&mut self) -> Option<(HelperId, u64)> {
        self.expect.pending_related.take()
    }

    /// The NAT bindings the connection just created takes from its master
    /// (`nf_nat_follow_master`), if its expectation came from a NATed master.
    pub(crate) fn take_follow(&mut self) -> Option<FollowNat> {
        self.expect.pending_follow.take()
    }

    /// Whether the master of an expectation is still the confirmed, live connection it was.
    fn master_alive(&self, master: CtId, serial: u64, now: u64) -> bool {
        self.get(master).is_some_and(|m| {
            m.serial == serial && m.is_confirmed() && !m.dying && !time_after_eq(now, m.timeout)
        })
    }

    /// Drop expectations that expired or whose master is gone (the kernel's timers and
    /// `nf_ct_remove_expectations`).
    fn prune_expectations(&mut self, now: u64) {
        let dead: Vec<ExpectKey> = self
            .expect
            .map
            .iter()
            .filter(|(_, e)| {
                time_after_eq(now, e.deadline) || !self.master_alive(e.master, e.master_serial, now)
            })
            .map(|(k, _)| *k)
            .collect();
        for k in dead {
            self.expect.remove(&k);
        }
    }

    /// `nf_ct_expect_related`: register `exp` under `key`, with `max` = `nf_ct_expect_max`.
    pub(crate) fn expect_related(
        &mut self,
        key: ExpectKey,
        exp: Expectation,
        now: u64,
        max: usize,
    ) -> Result<(), ExpectErr> {
        if let Some(old) = self.expect.map.get(&key) {
            let stale = time_after_eq(now, old.deadline)
                || !self.master_alive(old.master, old.master_serial, now);
            if stale || (old.master == exp.master && old.master_serial == exp.master_serial) {
                // expect_matches: the same master's replaces it.
                self.expect.remove(&key);
            } else {
                return Err(ExpectErr::Busy);
            }
        }
        // max_expected: evict the master's oldest.
        if let Some(k) = self.expect.by_master.get(&exp.master.0).copied() {
            self.expect.remove(&k);
        }
        if self.expect.map.len() >= max {
            self.prune_expectations(now);
            if self.expect.map.len() >= max {
                return Err(ExpectErr::Full);
            }
        }
        self.expect.by_master.insert(exp.master.0, key);
        self.expect.map.insert(key, exp);
        Ok(())
    }

    /// `nf_ct_unexpect_related`: withdraw `master`'s expectation under `key`.
    pub(crate) fn unexpect(&mut self, key: &ExpectKey, master: CtId) {
        if self.expect.map.get(key).is_some_and(|e| e.master == master) {
            self.expect.remove(key);
        }
    }

    /// `nf_ct_find_expectation` for a connection being created with original tuple `t`:
    /// the expectation is consumed; returns the master's mark and helper. Also records any
    /// doubt about the new connection (see [`Conntrack::take_doubt`]).
    pub(super) fn find_expectation(
        &mut self,
        t: &Tuple,
        zone: u16,
        now: u64,
    ) -> Option<(u32, HelperId)> {
        self.expect.pending = None;
        self.expect.pending_related = None;
        self.expect.pending_follow = None;
        let found = if self.expect.map.is_empty() {
            None
        } else {
            // nf_ct_exp_zone_equal_any: the zones' ids, whatever their directions.
            let key = ExpectKey {
                zone,
                ..ExpectKey::of(t)
            };
            if let Some(d) = self.expect.map.get(&key).map(|e| e.deadline) {
                self.note_own_deadline(d, now);
            }
            match self.expect.map.get(&key) {
                Some(e) if time_after_eq(now, e.deadline) => {
                    self.expect.remove(&key);
                    None
                }
                Some(e) => {
                    let master = self.get(e.master).filter(|m| m.serial == e.master_serial);
                    match master {
                        Some(m) if m.is_confirmed() && !m.dying => {
                            if time_after_eq(now, m.timeout) {
                                // Expired but perhaps not yet collected by the kernel.
                                let frame = e.frame;
                                self.expect.remove(&key);
                                self.expect.pending = Some(format!(
                                    "the connection that expected this one (frame {frame}) has \
                                     timed out; whether the kernel freed it and its expectation \
                                     yet depends on its garbage collector"
                                ));
                                None
                            } else {
                                // nf_nat_follow_master: "change src to where master
                                // sends to", the destination to the master's other end
                                // and the saved port.
                                let follow = e.follow.map(|f| {
                                    let t = &m.tuple[1 - f.dir as usize];
                                    FollowNat {
                                        src: t.dst,
                                        dst: t.src,
                                        port: f.port,
                                    }
                                });
                                let e = self.expect.remove(&key).expect("present");
                                self.expect.pending_follow = follow;
                                self.expect.pending = e.doubt.map(|d| {
                                    format!("RELATED by an expectation on uncertain ground: {d}")
                                });
                                self.expect.pending_related = Some((e.helper, e.frame));
                                Some((e.master_mark, e.helper))
                            }
                        }
                        // Not confirmed yet (or dying): not the droids we are looking for.
                        Some(_) => None,
                        None => {
                            self.expect.remove(&key);
                            None
                        }
                    }
                }
                None => None,
            }
        };
        if found.is_none() && self.expect.pending.is_none() {
            self.expect.pending = self.doubt_for(t, now);
        }
        found
    }

    /// A live master whose unknown expectations could cover a new connection `t`.
    fn doubt_for(&mut self, t: &Tuple, now: u64) -> Option<String> {
        while let Some(d) = self.expect.any_doubts.front() {
            if self.master_alive(d.master, d.serial, now) {
                return Some(format!("this new connection may be RELATED: {}", d.why));
            }
            self.expect.any_doubts.pop_front();
        }
        if self.expect.pair_doubts.is_empty() {
            return None;
        }
        let k = pair(t.src, t.dst);
        let mut v = self.expect.pair_doubts.remove(&k)?;
        let before = v.len();
        v.retain(|d| self.master_alive(d.master, d.serial, now));
        self.expect.pair_doubts_held -= before - v.len();
        let why = v
            .first()
            .map(|d| format!("this new connection may be RELATED: {}", d.why));
        if !v.is_empty() {
            self.expect.pair_doubts.insert(k, v);
        }
        why
    }

    /// Expectations registered and not yet used or expired (`/proc/net/nf_conntrack_expect`).
    pub fn expectations(&self) -> usize {
        self.expect.len()
    }
}

/// `nf_ct_expect_max` for a hash of `buckets`: `max(buckets / 256, 1) * 4`.
pub(crate) fn expect_max(buckets: u32) -> usize {
    (buckets as usize / 256).max(1) * 4
}
