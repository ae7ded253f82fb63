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
use super::gso;
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

/// One core: the reader, the frame [`DecodeAhead::next_ref`] lent last, and the one read
/// after it to mark GSO segments ([`gso::mark`]), with the train's size.
struct Here {
    reader: CaptureReader<ReadAhead>,
    slot: Option<Item>,
    ahead: Option<Item>,
    size: Option<u32>,
}

impl Here {
    fn new(reader: CaptureReader<ReadAhead>) -> Box<Here> {
        Box::new(Here {
            reader,
            slot: None,
            ahead: None,
            size: None,
        })
    }
}

// One per capture read: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Inner {
    /// One core: the reader itself.
    Here(Box<Here>),
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
                inner: Inner::Here(Here::new(CaptureReader::open(path)?)),
            });
        }
        // The decoding thread reads the file itself: a read-ahead thread would add a copy of
        // every byte (its chunk into the reader's buffer) and a third thread on two cores.
        let reader = CaptureReader::new(std::fs::File::open(path)?)?;
        let (tx, rx) = sync_channel::<Msg>(IN_FLIGHT);
        let (back, recycled) = sync_channel::<VecDeque<Item>>(IN_FLIGHT + 1);
        let thread = std::thread::spawn(move || {
            let mut reader = reader;
            // Segments of one GSO packet are marked here (`gso::mark_run`): a batch's last
            // frame waits for the next batch's first when it may be continued.
            let (mut carry, mut size) = (None, None);
            loop {
                let mut batch = recycled
                    .try_recv()
                    .unwrap_or_else(|_| VecDeque::with_capacity(BATCH));
                batch.extend(carry.take());
                batch.extend(reader.by_ref().take(BATCH));
                gso::mark_run(batch.make_contiguous(), &mut size);
                if batch.len() > 1 && matches!(batch.back(), Some(Ok(p)) if gso::may_continue(p)) {
                    carry = batch.pop_back();
                } else {
                    size = None;
                }
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
            Inner::Here(h) => h.reader.stats(),
            Inner::Ahead { stats, .. } => stats,
        }
    }

    /// The interfaces packets referred to, with their names (complete once the iterator
    /// returned `None`).
    pub fn interfaces(&self) -> &CaptureInterfaces {
        match &self.inner {
            Inner::Here(h) => h.reader.interfaces(),
            Inner::Ahead { ifaces, .. } => ifaces,
        }
    }
}

impl DecodeAhead {
    /// The next frame, lent: the replay reads it where the decoding thread wrote it (a
    /// [`Packet`] is a few hundred bytes; moving each out of its batch is a copy per frame).
    pub fn next_ref(&mut self) -> Option<&Item> {
        let (rx, back, cur, pos, thread, stats, ifaces, done) = match &mut self.inner {
            Inner::Here(h) => {
                h.slot = match h.ahead.take() {
                    Some(a) => Some(a),
                    None => h.reader.next(),
                };
                match &mut h.slot {
                    Some(Ok(p)) if gso::may_continue(p) => {
                        h.ahead = h.reader.next();
                        let n = h.ahead.as_ref().and_then(|n| n.as_ref().ok());
                        gso::mark(p, n, &mut h.size);
                    }
                    _ => h.size = None,
                }
                return h.slot.as_ref();
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

    /// GSO trains are marked alike whether the frames are read whole, decoded ahead in
    /// batches (a train across a batch's end), or on one core.
    #[test]
    fn gso_trains_are_marked_across_batches() {
        use crate::packet::ingest::gso::tests::udp;
        use crate::packet::Anomalies;
        // Trains of 7 segments (the last shorter), 1 ms apart: every batch end cuts one.
        let pkts: Vec<_> = (1..=1400u16)
            .map(|n| {
                let i = u64::from(n - 1);
                let len = if i % 7 == 6 { 300 } else { 1200 };
                udp((i / 7) * 1000 + (i % 7) * 2, n, len)
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("fwcheck-gso-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gso.pcap");
        crate::packet::write_pcap(std::fs::File::create(&path).unwrap(), &pkts).unwrap();
        let marks = |mut a: DecodeAhead| {
            let mut m = Vec::new();
            while let Some(Ok(p)) = a.next_ref() {
                m.push(p.anomalies.has(Anomalies::GSO_CONTINUED));
            }
            m
        };
        let want: Vec<bool> = (0..1400).map(|i| i % 7 != 6).collect();
        let (whole, _, _) = read_all(&path).unwrap();
        let whole: Vec<bool> = whole
            .iter()
            .map(|p| p.anomalies.has(Anomalies::GSO_CONTINUED))
            .collect();
        assert_eq!(whole, want);
        assert_eq!(marks(DecodeAhead::open(&path).unwrap()), want);
        let here = DecodeAhead {
            inner: Inner::Here(Here::new(CaptureReader::open(&path).unwrap())),
        };
        assert_eq!(marks(here), want);
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
