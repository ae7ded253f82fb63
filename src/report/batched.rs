//! Work handed to a second thread in order, in batches: the replay's per-frame output
//! (JSON records, streamed lines) and its summary counts run beside the engine on a second
//! core. One worker thread consumes the items in the order they were pushed, so what it
//! builds is what the same calls made inline would build; items cross the thread in batches
//! of [`Batched::BATCH`] (emptied batches come back for reuse), at most
//! [`Batched::IN_FLIGHT`] batches ahead, so memory stays bounded.
//!
//! Two earlier attempts to move the reading and decoding of packets to a second thread were
//! slower than one thread: a packet is a few hundred bytes with a heap payload, allocated on
//! one thread and freed on the other. The items here are small and mostly owned by the batch.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Whether a second core is there to run a worker (otherwise the work stays inline): the
/// decoding pipeline's test, below this floor.
pub(crate) use crate::packet::ahead::second_core;

/// A worker thread folding items of type `T` into a state `S`.
pub(crate) struct Batched<T, S> {
    tx: SyncSender<Vec<T>>,
    back: Receiver<Vec<T>>,
    batch: Vec<T>,
    thread: JoinHandle<S>,
}

impl<T: Send + 'static, S: Send + 'static> Batched<T, S> {
    pub(crate) const BATCH: usize = 1024;
    pub(crate) const IN_FLIGHT: usize = 4;

    /// Starts the worker: `fold` is called with the state and each item, in push order.
    pub(crate) fn start(mut state: S, mut fold: impl FnMut(&mut S, T) + Send + 'static) -> Self {
        let (tx, rx) = sync_channel::<Vec<T>>(Self::IN_FLIGHT);
        let (give_back, back) = sync_channel::<Vec<T>>(Self::IN_FLIGHT);
        let thread = std::thread::spawn(move || {
            for mut batch in rx {
                for item in batch.drain(..) {
                    fold(&mut state, item);
                }
                let _ = give_back.try_send(batch);
            }
            state
        });
        Batched {
            tx,
            back,
            batch: Vec::with_capacity(Self::BATCH),
            thread,
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        self.batch.push(item);
        if self.batch.len() == Self::BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        let next = self
            .back
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(Self::BATCH));
        let full = std::mem::replace(&mut self.batch, next);
        // Closed only if the worker panicked: `finish` says so.
        let _ = self.tx.send(full);
    }

    /// Every item folded: the state, or `None` if the worker panicked.
    pub(crate) fn finish(mut self) -> Option<S> {
        if !self.batch.is_empty() {
            self.send();
        }
        drop(self.tx);
        self.thread.join().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items are folded in push order, across batches, the last partial batch included.
    #[test]
    fn items_are_folded_in_order() {
        let mut b = Batched::start(Vec::new(), |v: &mut Vec<u32>, x| v.push(x));
        let n = Batched::<u32, Vec<u32>>::BATCH as u32 * 20 + 17;
        for x in 0..n {
            b.push(x);
        }
        assert_eq!(b.finish(), Some((0..n).collect::<Vec<u32>>()));
    }
}
