//! [`DecodeAhead`]: a capture read and decoded on a second core, a few batches ahead of the
//! replay that consumes it — the replay's pipeline (reading and decoding on one core, the
//! engine on the other). Frames arrive in capture order, so everything downstream is exactly
//! what iterating the [`CaptureReader`] in place gives; on a machine with one core it is that.
//!
//! Memory stays bounded: batches of `BATCH` frames, at most `IN_FLIGHT` of them between
//! the threads, their buffers sent back for reuse. A packet's bytes are a shared range of the
//! reader's buffer ([`crate::packet::SharedBytes`]), so nothing per packet is allocated on one
//! thread and freed on the other. Dropping the reader early stops the decoding thread at its
//! next batch.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::capture::{CaptureError, CaptureInterfaces, CaptureReader, ReadAhead, ReadStats};
use crate::packet::{Packet, PacketProblem};

type Item = Result<Packet, PacketProblem>;

/// Frames per batch handed across.
const BATCH: usize = 512;
/// Batches between the threads at most.
const IN_FLIGHT: usize = 2;

enum Msg {
    Frames(VecDeque<Item>),
    /// The capture ended: what the reader learnt on the way.
    End(ReadStats, CaptureInterfaces),
}

/// Whether a second core is free to run a helper thread: there is one (`sched_getaffinity`: a
/// process pinned to one CPU has none), and the caller is not a worker of a rayon pool with a
/// thread per core, which already keeps every core busy (`fleet` replays one host per core;
/// `fleet --jobs 1` leaves the other free). Otherwise work stays on the calling thread.
pub(crate) fn second_core() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores > 1 && (rayon::current_thread_index().is_none() || rayon::current_num_threads() < cores)
}

/// A capture's frames, read and decoded on a helper thread when a second core is there (see
/// the module docs); otherwise the [`CaptureReader`] itself.
pub struct DecodeAhead {
    inner: Inner,
}

enum Inner {
    /// One core: the reader, and the frame [`DecodeAhead::next_ref`] lent last.
    Here(Box<CaptureReader<ReadAhead>>, Option<Item>),
    Ahead {
        rx: Receiver<Msg>,
        back: SyncSender<VecDeque<Item>>,
        /// The batch being consumed, and the next frame of it.
        cur: VecDeque<Item>,
        pos: usize,
        thread: Option<JoinHandle<()>>,
        stats: ReadStats,
        ifaces: CaptureInterfaces,
        done: bool,
    },
}

impl DecodeAhead {
    /// Opens `path` (errors as [`CaptureReader::open`]: before any frame) and starts decoding.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        if !second_core() {
            return Ok(DecodeAhead {
                inner: Inner::Here(Box::new(CaptureReader::open(path)?), None),
            });
        }
        // The decoding thread reads the file itself: a read-ahead thread would add a copy of
        // every byte (its chunk into the reader's buffer) and a third thread on two cores.
        let reader = CaptureReader::new(std::fs::File::open(path)?)?;
        let (tx, rx) = sync_channel::<Msg>(IN_FLIGHT);
        let (back, recycled) = sync_channel::<VecDeque<Item>>(IN_FLIGHT + 1);
        let thread = std::thread::spawn(move || {
            let mut reader = reader;
            loop {
                let mut batch = recycled
                    .try_recv()
                    .unwrap_or_else(|_| VecDeque::with_capacity(BATCH));
                batch.extend(reader.by_ref().take(BATCH));
                if batch.is_empty() {
                    let _ = tx.send(Msg::End(
                        reader.stats().clone(),
                        reader.interfaces().clone(),
                    ));
                    return;
                }
                // The consumer went away: stop.
                if tx.send(Msg::Frames(batch)).is_err() {
                    return;
                }
            }
        });
        Ok(DecodeAhead {
            inner: Inner::Ahead {
                rx,
                back,
                cur: VecDeque::new(),
                pos: 0,
                thread: Some(thread),
                stats: ReadStats::default(),
                ifaces: CaptureInterfaces::default(),
                done: false,
            },
        })
    }

    /// Read counters (complete once [`DecodeAhead::next_ref`] returned `None`).
    pub fn stats(&self) -> &ReadStats {
        match &self.inner {
            Inner::Here(r, _) => r.stats(),
            Inner::Ahead { stats, .. } => stats,
        }
    }

    /// The interfaces packets referred to, with their names (complete once the iterator
    /// returned `None`).
    pub fn interfaces(&self) -> &CaptureInterfaces {
        match &self.inner {
            Inner::Here(r, _) => r.interfaces(),
            Inner::Ahead { ifaces, .. } => ifaces,
        }
    }
}

impl DecodeAhead {
    /// The next frame, lent: the replay reads it where the decoding thread wrote it (a
    /// [`Packet`] is a few hundred bytes; moving each out of its batch is a copy per frame).
    pub fn next_ref(&mut self) -> Option<&Item> {
        let (rx, back, cur, pos, thread, stats, ifaces, done) = match &mut self.inner {
            Inner::Here(r, slot) => {
                *slot = r.next();
                return slot.as_ref();
            }
            Inner::Ahead {
                rx,
                back,
                cur,
                pos,
                thread,
                stats,
                ifaces,
                done,
            } => (rx, back, cur, pos, thread, stats, ifaces, done),
        };
        while *pos == cur.len() {
            if *done {
                return None;
            }
            match rx.recv() {
                Ok(Msg::Frames(batch)) => {
                    let mut used = std::mem::replace(cur, batch);
                    *pos = 0;
                    used.clear();
                    let _ = back.try_send(used);
                }
                Ok(Msg::End(s, i)) => {
                    (*stats, *ifaces) = (s, i);
                    *done = true;
                    cur.clear();
                    *pos = 0;
                }
                // The decoding thread died without saying the capture ended: its panic is
                // this thread's (never a silently shortened capture).
                Err(_) => {
                    *done = true;
                    if let Some(t) = thread.take() {
                        if let Err(panic) = t.join() {
                            std::panic::resume_unwind(panic);
                        }
                    }
                    unreachable!("the decoding thread ended without ending the capture");
                }
            }
        }
        *pos += 1;
        cur.get(*pos - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::capture::read_all;
    use crate::packet::gen::{write_generated, GenOptions};

    fn write(path: &Path, flows: usize) {
        let opts = GenOptions {
            flows,
            ..GenOptions::default()
        };
        write_generated(&opts, std::fs::File::create(path).unwrap()).unwrap();
    }

    /// The frames, their order, the read counters and the interfaces are the reader's own.
    #[test]
    fn same_frames_as_the_reader() {
        let dir = std::env::temp_dir().join(format!("fwcheck-ahead-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("web.pcap");
        write(&path, 300);
        let (pk, pr, stats) = read_all(&path).unwrap();
        let mut ahead = DecodeAhead::open(&path).unwrap();
        let mut frames = Vec::new();
        while let Some(item) = ahead.next_ref() {
            frames.push(match item {
                Ok(p) => (p.frame, true),
                Err(p) => (p.frame, false),
            });
        }
        let mut want: Vec<(u64, bool)> = pk.iter().map(|p| (p.frame, true)).collect();
        want.extend(pr.iter().map(|p| (p.frame, false)));
        want.sort();
        assert!(
            frames.len() > 2 * BATCH,
            "several batches: {}",
            frames.len()
        );
        assert_eq!(frames, want);
        assert_eq!(ahead.stats().packets, stats.packets);
        assert_eq!(
            ahead.interfaces(),
            CaptureReader::open(&path).unwrap().interfaces()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Stopping early ends the decoding thread (no hang, no panic).
    #[test]
    fn dropped_early() {
        let dir = std::env::temp_dir().join(format!("fwcheck-ahead-drop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("web.pcap");
        write(&path, 2000);
        let mut ahead = DecodeAhead::open(&path).unwrap();
        assert!(ahead.next_ref().is_some());
        drop(ahead);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
