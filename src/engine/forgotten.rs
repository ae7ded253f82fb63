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
