//! What a bounded table pushed out, remembered without its details: a Bloom filter of keys
//! (three probes over 2^23 bits, 1 MiB, allocated at the first eviction). It never forgets a
//! key, and names one it was never given rarely (a false positive only adds doubt), so state
//! fwcheck could not keep is never taken as certainly absent.

use std::hash::{Hash, Hasher};

/// Bits of the filter (2^23: 1 MiB).
const BITS: usize = 1 << 23;

/// Keys pushed out of a table.
#[derive(Debug, Clone)]
pub(crate) struct Forgotten {
    bits: Vec<u64>,
}

impl Forgotten {
    pub(crate) fn new() -> Self {
        Forgotten {
            bits: vec![0; BITS / 64],
        }
    }

    fn probes<K: Hash>(k: &K) -> [usize; 3] {
        // SipHash with fixed keys: the same keys give the same bits in every run.
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new();
        k.hash(&mut h);
        let x = h.finish();
        let (a, b) = (x as usize, (x >> 32) as usize | 1);
        [0, 1, 2].map(|i| a.wrapping_add(i * b) % BITS)
    }

    pub(crate) fn insert<K: Hash>(&mut self, k: &K) {
        for p in Self::probes(k) {
            self.bits[p / 64] |= 1 << (p % 64);
        }
    }

    pub(crate) fn contains<K: Hash>(&self, k: &K) -> bool {
        Self::probes(k)
            .iter()
            .all(|&p| self.bits[p / 64] & (1 << (p % 64)) != 0)
    }
}

/// [`Forgotten`] for keys that matter only for `window` nanoseconds of capture time after
/// they were pushed out (a reply that follows its request within a second): two filters, the
/// older dropped once the newer has been filled for a whole window, so a key is found for at
/// least `window` after its insertion and at most twice that (2 MiB at most).
#[derive(Debug, Clone)]
pub(crate) struct ForgottenFor {
    window: u64,
    /// When `cur` began.
    since: u64,
    cur: Forgotten,
    old: Option<Forgotten>,
}

impl ForgottenFor {
    pub(crate) fn new(window: u64, now: u64) -> Self {
        ForgottenFor {
            window,
            since: now,
            cur: Forgotten::new(),
            old: None,
        }
    }

    fn rotate(&mut self, now: u64) {
        let age = now.saturating_sub(self.since);
        if age < self.window {
            return;
        }
        // Every key of `old` is older than a window now; those of `cur` too after two.
        let mut fresh = self.old.take().unwrap_or_else(Forgotten::new);
        fresh.bits.fill(0);
        let cur = std::mem::replace(&mut self.cur, fresh);
        if age < 2 * self.window {
            self.old = Some(cur);
        }
        self.since = now;
    }

    pub(crate) fn insert<K: Hash>(&mut self, k: &K, now: u64) {
        self.rotate(now);
        self.cur.insert(k);
    }

    pub(crate) fn contains<K: Hash>(&mut self, k: &K, now: u64) -> bool {
        self.rotate(now);
        self.cur.contains(k) || self.old.as_ref().is_some_and(|o| o.contains(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key is found for a whole window after it was pushed out, whenever the clock is
    /// next read, and forgotten two windows after.
    #[test]
    fn a_key_lasts_its_window() {
        let w = 1_000;
        let mut f = ForgottenFor::new(w, 0);
        f.insert(&1u32, 10);
        f.insert(&2u32, 900);
        assert!(f.contains(&1u32, 1_009));
        assert!(f.contains(&2u32, 1_899));
        assert!(!f.contains(&3u32, 1_899));
        f.insert(&3u32, 1_950);
        // Rotated at 1,009 (1 and 2 went to the older filter), then at 2,050.
        assert!(!f.contains(&1u32, 2_050));
        assert!(f.contains(&3u32, 2_050));
        assert!(f.contains(&3u32, 2_949));
        // A long gap forgets everything.
        assert!(!f.contains(&3u32, 10_000));
        assert!(!f.contains(&2u32, 10_000));
    }
}
