//! A capture read and decoded on a helper thread while its consumer (the replay's engine)
//! works on the frames before: the two halves of a replay run on two cores. The frames come
//! out in capture order, exactly as [`CaptureReader`] yields them; only the thread differs.
//! Memory is bounded: at most [`IN_FLIGHT`] batches of [`BATCH`] decoded frames wait.
//!
//! Mirrors no kernel code (the kernel's receive path is parallel per CPU and per queue; a
//! capture file is one queue).

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::capture::{CaptureError, CaptureInterfaces, CaptureReader, ReadAhead};
use crate::packet::problem::PacketProblem;
use crate::packet::Packet;

/// Frames per batch handed across (one channel operation per batch, not per frame).
const BATCH: usize = 256;
/// Batches decoded ahead of the consumer.
const IN_FLIGHT: usize = 4;

type Frame = Result<Packet, PacketProblem>;

/// [`CaptureReader`]'s frames, decoded on a helper thread.
pub struct PipelinedCapture {
    rx: Receiver<Vec<Frame>>,
    /// Emptied batches go back to the decoder for reuse.
    recycle: SyncSender<Vec<Frame>>,
    cur: std::vec::IntoIter<Frame>,
    decoder: Option<JoinHandle<CaptureReader<ReadAhead>>>,
    /// The reader, back from the decoder once every frame has been taken.
    reader: Option<CaptureReader<ReadAhead>>,
}

impl PipelinedCapture {
    /// Open the capture (errors that prevent reading it at all are returned here, as by
    /// [`CaptureReader::open`]) and start decoding it.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<PipelinedCapture, CaptureError> {
        let mut reader = CaptureReader::open(path)?;
        let (tx, rx) = sync_channel::<Vec<Frame>>(IN_FLIGHT);
        let (recycle, back) = sync_channel::<Vec<Frame>>(IN_FLIGHT);
        let decoder = std::thread::spawn(move || {
            loop {
                let mut batch = back.try_recv().unwrap_or_default();
                batch.clear();
                batch.reserve(BATCH);
                batch.extend(reader.by_ref().take(BATCH));
                // An empty batch ends the stream; a consumer gone (dropped) stops decoding.
                let last = batch.len() < BATCH;
                if tx.send(batch).is_err() || last {
                    break;
                }
            }
            reader
        });
        Ok(PipelinedCapture {
            rx,
            recycle,
            cur: Vec::new().into_iter(),
            decoder: Some(decoder),
            reader: None,
        })
    }

    /// The capture's interfaces, once every frame has been taken (frames not taken yet are
    /// read and dropped first).
    pub fn interfaces(&mut self) -> CaptureInterfaces {
        self.finish();
        self.reader
            .as_ref()
            .map(|r| r.interfaces().clone())
            .unwrap_or_default()
    }

    /// Wait for the decoder to end (taking what it still sends, so it never waits on a full
    /// channel) and take the reader back.
    fn finish(&mut self) {
        if let Some(h) = self.decoder.take() {
            while self.rx.recv().is_ok() {}
            // The decoder only ends by itself at the end of the capture: a panic there is a
            // bug, surfaced as such.
            match h.join() {
                Ok(r) => self.reader = Some(r),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
    }
}

impl Iterator for PipelinedCapture {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(f) = self.cur.next() {
                return Some(f);
            }
            let batch = self.rx.recv().ok()?;
            if batch.is_empty() {
                return None;
            }
            let old = std::mem::replace(&mut self.cur, batch.into_iter());
            // Give the emptied batch's allocation back (best effort: the decoder may have
            // enough).
            let _ = self.recycle.try_send(old.collect::<Vec<_>>());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(path: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        let direct: Vec<String> = CaptureReader::open(&path)
            .unwrap()
            .map(|f| format!("{f:?}"))
            .collect();
        let mut p = PipelinedCapture::open(&path).unwrap();
        let piped: Vec<String> = p.by_ref().map(|f| format!("{f:?}")).collect();
        assert_eq!(direct, piped, "{path:?}");
        direct
    }

    #[test]
    fn the_same_frames_in_the_same_order() {
        // More than a batch; a capture with problems; pcapng with interfaces.
        assert!(frames("pcaps/webserver.pcap").len() > BATCH);
        frames("pcaps/malformed.pcap");
        frames("pcaps/truncated.pcap");
        frames("pcaps/two-interfaces.pcapng");
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps/two-interfaces.pcapng");
        let mut direct = CaptureReader::open(&path).unwrap();
        direct.by_ref().for_each(drop);
        let mut p = PipelinedCapture::open(&path).unwrap();
        p.by_ref().for_each(drop);
        assert_eq!(
            format!("{:?}", p.interfaces()),
            format!("{:?}", direct.interfaces())
        );
    }

    #[test]
    fn dropping_it_early_stops_the_decoder() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps/webserver.pcap");
        let mut p = PipelinedCapture::open(&path).unwrap();
        assert!(p.next().is_some());
        drop(p); // must not hang
    }
}
