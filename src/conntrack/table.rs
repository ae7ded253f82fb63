//! The conntrack table: entries, the tuple hash, lookups, confirmation and expiry.

// Tuples come from captures; foldhash is seeded per process and fast on these small keys.
use foldhash::HashMap;

use super::tcp::TcpCt;
use super::*;

/// Per-protocol tracker state of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtoState {
    Tcp(Box<TcpCt>),
    /// `stream_ts`: jiffies after which a replied flow is promoted to "stream".
    Udp {
        stream_ts: u64,
    },
    Icmp,
    Sctp(super::sctp::SctpCt),
    Generic,
}

/// One connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtEntry {
    /// `[ORIGINAL, REPLY]` tuples.
    pub tuple: [Tuple; 2],
    pub status: u32,
    /// Expiry in jiffies once confirmed; the relative timeout while unconfirmed.
    pub timeout: u64,
    pub mark: u32,
    pub zone: u16,
    pub proto: ProtoState,
    /// Capture frame that created the entry.
    pub created_frame: u64,
    /// Sequence number of creation, for deterministic iteration.
    pub serial: u64,
    /// Killed (`nf_ct_kill`): no longer findable, freed once its current packet is done.
    pub dying: bool,
}

impl CtEntry {
    pub fn orig(&self) -> &Tuple {
        &self.tuple[0]
    }
    pub fn reply(&self) -> &Tuple {
        &self.tuple[1]
    }
    pub fn is_confirmed(&self) -> bool {
        self.status & status::CONFIRMED != 0
    }
    pub fn l4proto(&self) -> u8 {
        self.tuple[0].proto
    }
    pub fn tcp(&self) -> Option<&TcpCt> {
        match &self.proto {
            ProtoState::Tcp(t) => Some(t),
            _ => None,
        }
    }
}

/// The table of connections.
#[derive(Debug, Clone, Default)]
pub struct Conntrack {
    slots: Vec<Option<CtEntry>>,
    free: Vec<u32>,
    /// Confirmed entries by tuple (both directions).
    map: HashMap<Tuple, (CtId, CtDir)>,
    next_serial: u64,
    confirmed_count: usize,
}

impl Conntrack {
    pub fn new() -> Self {
        Conntrack::default()
    }

    pub fn get(&self, id: CtId) -> Option<&CtEntry> {
        self.slots.get(id.0 as usize).and_then(|s| s.as_ref())
    }

    pub fn get_mut(&mut self, id: CtId) -> Option<&mut CtEntry> {
        self.slots.get_mut(id.0 as usize).and_then(|s| s.as_mut())
    }

    /// Number of confirmed entries (live or not yet garbage-collected).
    pub fn len(&self) -> usize {
        self.confirmed_count
    }

    pub fn is_empty(&self) -> bool {
        self.confirmed_count == 0
    }

    /// Confirmed entries in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (CtId, &CtEntry)> {
        let mut v: Vec<(CtId, &CtEntry)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .filter(|e| e.is_confirmed())
                    .map(|e| (CtId(i as u32), e))
            })
            .collect();
        v.sort_by_key(|(_, e)| e.serial);
        v.into_iter()
    }

    /// Find a confirmed, unexpired entry by tuple; expired entries are removed on the way.
    pub fn lookup(&mut self, t: &Tuple, now: u64) -> Option<(CtId, CtDir)> {
        let (id, dir) = *self.map.get(t)?;
        let expired = self
            .get(id)
            .map(|e| time_after_eq(now, e.timeout))
            .unwrap_or(true);
        if expired {
            self.remove(id);
            return None;
        }
        Some((id, dir))
    }

    /// Allocate an unconfirmed entry (not findable until [`Conntrack::confirm`]).
    pub fn alloc(&mut self, mut e: CtEntry) -> CtId {
        e.serial = self.next_serial;
        self.next_serial += 1;
        e.status &= !status::CONFIRMED;
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(e);
                CtId(i)
            }
            None => {
                self.slots.push(Some(e));
                CtId(self.slots.len() as u32 - 1)
            }
        }
    }

    /// Insert an unconfirmed entry into the hash; its relative timeout starts now.
    /// Returns false (and frees it) when a clashing entry exists.
    pub fn confirm(&mut self, id: CtId, now: u64) -> bool {
        let Some(e) = self.get(id) else { return false };
        if e.is_confirmed() {
            return true;
        }
        if e.dying {
            return false;
        }
        let (o, r) = (e.tuple[0], e.tuple[1]);
        let clash = |m: &HashMap<Tuple, (CtId, CtDir)>, t: &Tuple| {
            m.get(t).is_some_and(|(other, _)| *other != id)
        };
        if clash(&self.map, &o) || clash(&self.map, &r) {
            // Only possible with stale (expired) entries in a sequential replay: evict them.
            for t in [o, r] {
                if let Some((other, _)) = self.map.get(&t).copied() {
                    if self
                        .get(other)
                        .is_some_and(|x| time_after_eq(now, x.timeout))
                    {
                        self.remove(other);
                    } else {
                        self.discard(id);
                        return false;
                    }
                }
            }
        }
        let e = self.get_mut(id).expect("checked");
        e.timeout = now.wrapping_add(e.timeout);
        e.status |= status::CONFIRMED;
        self.map.insert(o, (id, CtDir::Original));
        self.map.insert(r, (id, CtDir::Reply));
        self.confirmed_count += 1;
        true
    }

    /// Free an unconfirmed entry (its packet was dropped).
    pub fn discard(&mut self, id: CtId) {
        if let Some(e) = self.get(id) {
            if !e.is_confirmed() {
                self.slots[id.0 as usize] = None;
                self.free.push(id.0);
            }
        }
    }

    /// `nf_ct_kill`: unhash the entry so lookups no longer find it; the packet holding it keeps
    /// it until [`Conntrack::release`].
    pub fn kill(&mut self, id: CtId) {
        let Some(e) = self.slots.get_mut(id.0 as usize).and_then(|s| s.as_mut()) else {
            return;
        };
        if e.dying {
            return;
        }
        e.dying = true;
        if e.status & status::CONFIRMED != 0 {
            let tuples = e.tuple;
            for t in &tuples {
                if self.map.get(t).is_some_and(|(i, _)| *i == id) {
                    self.map.remove(t);
                }
            }
            self.confirmed_count -= 1;
        }
    }

    /// The packet holding `id` is done: free it if it was killed or never confirmed.
    pub fn release(&mut self, id: CtId) {
        if let Some(e) = self.get(id) {
            if e.dying || !e.is_confirmed() {
                self.slots[id.0 as usize] = None;
                self.free.push(id.0);
            }
        }
    }

    /// Delete an entry (confirmed or not) at once.
    pub fn remove(&mut self, id: CtId) {
        let Some(e) = self.slots.get_mut(id.0 as usize).and_then(|s| s.take()) else {
            return;
        };
        if e.is_confirmed() && !e.dying {
            for t in &e.tuple {
                if self.map.get(t).is_some_and(|(i, _)| *i == id) {
                    self.map.remove(t);
                }
            }
            self.confirmed_count -= 1;
        }
        self.free.push(id.0);
    }

    /// Refresh the timeout as `__nf_ct_refresh_acct`: absolute once confirmed, relative before.
    pub fn refresh(&mut self, id: CtId, extra: u64, now: u64) {
        if let Some(e) = self.get_mut(id) {
            e.timeout = if e.is_confirmed() { now + extra } else { extra };
        }
    }

    /// Remaining lifetime of a confirmed entry, in jiffies (0 when expired).
    pub fn remaining(&self, id: CtId, now: u64) -> u64 {
        self.get(id)
            .map(|e| {
                if e.is_confirmed() {
                    e.timeout.saturating_sub(now)
                } else {
                    e.timeout
                }
            })
            .unwrap_or(0)
    }

    /// Drop every expired entry (garbage collection).
    pub fn expire(&mut self, now: u64) {
        let dead: Vec<CtId> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .filter(|e| e.is_confirmed() && time_after_eq(now, e.timeout))
                    .map(|_| CtId(i as u32))
            })
            .collect();
        for id in dead {
            self.remove(id);
        }
    }
}

/// `time_after_eq(a, b)` on a 64-bit jiffies clock (no wrap in practice).
#[inline]
pub fn time_after_eq(a: u64, b: u64) -> bool {
    a >= b
}
