//! [`SharedBytes`]: a packet's bytes as a range of a buffer shared by the packets read from it.
//!
//! The classic pcap reader hands each record out as a slice of its 1 MiB read buffer; a decoded
//! [`Packet`](super::Packet) keeps its IP bytes as a range of that same buffer instead of a copy
//! of its own (one reference count instead of an allocation, a copy and a free per packet). The
//! reader refills the buffer in place when no packet refers to it any more, which is the steady
//! state of a replay: packets are dropped once the engine has seen them. A packet kept for
//! longer (a fragment waiting in the reassembly queue) is [`SharedBytes::detached`] first, so
//! that it does not keep a whole buffer alive.
//!
//! (The kernel's equivalent is an skb whose data is a fragment of a page shared with others;
//! `skb_clone` shares, `pskb_copy`/`skb_linearize` copy.)

use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

/// Immutable bytes: `buf[start..start + len]` of a reference-counted buffer. Cloning shares.
#[derive(Clone)]
pub struct SharedBytes {
    buf: Arc<[u8]>,
    start: u32,
    len: u32,
}

impl SharedBytes {
    /// The range `range` of `buf`, shared (no copy).
    ///
    /// # Panics
    /// When `range` is not within `buf` or the buffer is 4 GiB or larger (callers hold
    /// capture buffers of at most a few MiB).
    pub fn range_of(buf: &Arc<[u8]>, range: Range<usize>) -> Self {
        assert!(range.start <= range.end && range.end <= buf.len());
        SharedBytes {
            buf: Arc::clone(buf),
            start: u32::try_from(range.start).expect("buffer below 4 GiB"),
            len: u32::try_from(range.end - range.start).expect("buffer below 4 GiB"),
        }
    }

    /// A copy of `bytes` in a buffer of its own.
    pub fn copy_from(bytes: &[u8]) -> Self {
        Self::from(Arc::<[u8]>::from(bytes))
    }

    /// `sub`, which must lie within `self`, as a shared range of the same buffer; a copy when
    /// it does not (any other slice).
    pub fn slice_ref(&self, sub: &[u8]) -> Self {
        let base = self.buf.as_ptr() as usize;
        let at = sub.as_ptr() as usize;
        let (lo, hi) = (
            base + self.start as usize,
            base + (self.start + self.len) as usize,
        );
        if at >= lo && at + sub.len() <= hi {
            let start = at - base;
            Self::range_of(&self.buf, start..start + sub.len())
        } else {
            Self::copy_from(sub)
        }
    }

    /// The same bytes in a buffer of exactly their size: a copy when this range shares a larger
    /// buffer (so that keeping it does not keep the rest of the buffer alive), else a clone.
    pub fn detached(&self) -> Self {
        if self.len as usize == self.buf.len() {
            self.clone()
        } else {
            Self::copy_from(self)
        }
    }
}

#[cfg(test)]
impl SharedBytes {
    /// The buffer shared: its address and length (tests of what readers keep alive).
    pub(crate) fn buffer(&self) -> (usize, usize) {
        (self.buf.as_ptr() as usize, self.buf.len())
    }
}

impl Deref for SharedBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        &self.buf[self.start as usize..(self.start + self.len) as usize]
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Default for SharedBytes {
    fn default() -> Self {
        Self::from(Arc::<[u8]>::from(&[][..]))
    }
}

impl From<Arc<[u8]>> for SharedBytes {
    fn from(buf: Arc<[u8]>) -> Self {
        let len = u32::try_from(buf.len()).expect("buffer below 4 GiB");
        SharedBytes { buf, start: 0, len }
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(v: Vec<u8>) -> Self {
        Self::from(Arc::<[u8]>::from(v))
    }
}

impl From<&[u8]> for SharedBytes {
    fn from(b: &[u8]) -> Self {
        Self::copy_from(b)
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for SharedBytes {}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_share_and_detach_copies() {
        let buf: Arc<[u8]> = Arc::from(&b"0123456789"[..]);
        let r = SharedBytes::range_of(&buf, 2..6);
        assert_eq!(&*r, b"2345");
        assert_eq!(Arc::strong_count(&buf), 2);
        let sub = r.slice_ref(&r[1..3]);
        assert_eq!(&*sub, b"34");
        assert_eq!(Arc::strong_count(&buf), 3);
        let d = sub.detached();
        assert_eq!(&*d, b"34");
        assert_eq!(
            Arc::strong_count(&buf),
            3,
            "a detached range holds no reference"
        );
        let other = [9u8, 9];
        let c = r.slice_ref(&other);
        assert_eq!(&*c, &other);
        assert_eq!(Arc::strong_count(&buf), 3, "a foreign slice is copied");
        drop((r, sub));
        assert_eq!(Arc::strong_count(&buf), 1);
        assert_eq!(SharedBytes::default().len(), 0);
    }
}
