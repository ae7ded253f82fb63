//! The per-frame part of a report, written while the traffic is replayed: JSON `packet`
//! records, fixed-width lines (`--limit 0`, constant memory), or table rows held up to
//! `--limit` for the packet table printed after the replay (past `PacketRows::IN_MEMORY`
//! rows in a temporary file, so any `--limit` runs in constant memory).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::batched::{second_core, Batched};
use super::{table as rt, PacketRecord};

/// How frames are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowMode {
    /// No per-frame output (`--flows`, CI formats).
    None,
    /// One JSON `packet` record per line, never limited.
    Json,
    /// Fixed-width lines as the frames are judged (table with `--limit 0`).
    Stream,
    /// Table rows, at most `limit` (> 0); the rest are counted.
    Table { limit: usize },
}

/// Writes frames as [`RowMode`] says. A write error (a closed pipe) is kept and stops all
/// further per-frame work: [`RowWriter::wants_record`] then says no.
///
/// JSON records and streamed lines are formatted and written on a second thread when there is
/// a second core (`Offload`, `report::batched`): the replay hands them over in order, and the one
/// writer thread writes the bytes the inline writer would.
pub struct RowWriter<W: Write> {
    /// `None` while the writer thread holds it.
    out: Option<W>,
    mode: RowMode,
    color: bool,
    rows: PacketRows,
    hidden: usize,
    error: Option<io::Error>,
    format: LineFormat,
    offload: Option<Offload<W>>,
}

/// The reused buffers of the per-frame lines.
#[derive(Debug, Default)]
struct LineFormat {
    /// The stream header was written.
    header: bool,
    /// The streamed line being written, reused from frame to frame.
    line: String,
    /// The same for a JSON record.
    json: Vec<u8>,
}

impl LineFormat {
    /// Writes one JSON record or streamed line.
    fn write(
        &mut self,
        out: &mut dyn Write,
        mode: RowMode,
        rec: &PacketRecord,
        t0: f64,
    ) -> io::Result<()> {
        match mode {
            RowMode::Json => {
                self.json.clear();
                rec.write_json(&mut self.json);
                self.json.push(b'\n');
                out.write_all(&self.json)
            }
            RowMode::Stream => {
                if !self.header {
                    self.header = true;
                    writeln!(out, "{}", rt::packet_stream_header())?;
                }
                rt::packet_line(&mut self.line, rec, t0);
                self.line.push('\n');
                out.write_all(self.line.as_bytes())
            }
            RowMode::None | RowMode::Table { .. } => Ok(()),
        }
    }
}

/// The writer thread of a [`RowWriter`]: records in, bytes out.
struct Offload<W> {
    worker: Batched<(PacketRecord, f64), (W, LineFormat, Option<io::Error>)>,
    /// Set by the worker at its first write error.
    failed: Arc<AtomicBool>,
}

impl<W: Write + Send + 'static> Offload<W> {
    fn start(out: W, mode: RowMode) -> Offload<W> {
        let failed = Arc::new(AtomicBool::new(false));
        let flag = failed.clone();
        let worker = Batched::start(
            (out, LineFormat::default(), None),
            move |(out, format, error): &mut (W, LineFormat, Option<io::Error>),
                  (rec, t0): (PacketRecord, f64)| {
                if error.is_none() {
                    if let Err(e) = format.write(out, mode, &rec, t0) {
                        *error = Some(e);
                        flag.store(true, Ordering::Relaxed);
                    }
                }
            },
        );
        Offload { worker, failed }
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Everything sent written: the writer back, and the first write error.
    fn finish(self) -> (Option<W>, Option<io::Error>) {
        match self.worker.finish() {
            Some((w, _, e)) => (Some(w), e),
            None => (None, Some(io::Error::other("the output thread panicked"))),
        }
    }
}

/// Table rows held for the packet table, and how many frames did not fit.
#[derive(Debug, Default)]
pub struct HeldRows {
    pub(crate) rows: PacketRows,
    pub(crate) hidden: usize,
    /// Colours in the packet table.
    pub color: bool,
}

/// One held row: the packet table's eight cells as text and why its verdict is uncertain
/// (`table::packet_fields`), and the verdict's colour.
pub(crate) type PacketRow = ([String; 9], rt::Tint);

/// The rows of the packet table: the first [`PacketRows::IN_MEMORY`] in memory, the rest in
/// an unnamed temporary file (each cell length-prefixed), read back when the table is
/// written.
#[derive(Debug, Default)]
pub(crate) struct PacketRows {
    mem: Vec<PacketRow>,
    spill: Option<BufWriter<File>>,
    /// Rows in the file (those after a write error are counted in `len` only).
    in_file: usize,
    len: usize,
    /// The first error of the temporary file; the rows it lost are then not shown.
    pub(crate) error: Option<io::Error>,
}

impl PacketRows {
    /// Rows held in memory (a few hundred bytes each) before the rest go to disk; the
    /// default `--limit` (500) never spills.
    pub(crate) const IN_MEMORY: usize = 1_024;

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, row: PacketRow) {
        self.len += 1;
        if self.mem.len() < Self::IN_MEMORY {
            self.mem.push(row);
            return;
        }
        if self.error.is_some() {
            return;
        }
        if self.spill.is_none() {
            match tempfile::tempfile() {
                Ok(f) => self.spill = Some(BufWriter::new(f)),
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
        }
        let w = self.spill.as_mut().expect("just made");
        let mut put = || -> io::Result<()> {
            for c in &row.0 {
                w.write_all(&(c.len() as u32).to_le_bytes())?;
                w.write_all(c.as_bytes())?;
            }
            w.write_all(&[row.1 as u8])
        };
        match put() {
            Ok(()) => self.in_file += 1,
            // A row cut short stays behind the last whole one: never read back.
            Err(e) => self.error = Some(e),
        }
    }

    /// Calls `f` with every row in order; can be called again.
    pub(crate) fn for_each(
        &mut self,
        f: &mut dyn FnMut(&PacketRow) -> io::Result<()>,
    ) -> io::Result<()> {
        for r in &self.mem {
            f(r)?;
        }
        let Some(w) = self.spill.as_mut() else {
            return Ok(());
        };
        match w.flush() {
            // After a write error the file holds whole rows up to `in_file`, perhaps part of
            // one more: read back what is whole.
            Err(_) if self.error.is_some() => {}
            res => res?,
        }
        let file = w.get_mut();
        file.rewind()?;
        let mut r = BufReader::new(&*file);
        let mut row: PacketRow = Default::default();
        for _ in 0..self.in_file {
            for c in row.0.iter_mut() {
                let mut n = [0u8; 4];
                r.read_exact(&mut n)?;
                let mut bytes = std::mem::take(c).into_bytes();
                bytes.clear();
                bytes.resize(u32::from_le_bytes(n) as usize, 0);
                r.read_exact(&mut bytes)?;
                *c = String::from_utf8(bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            }
            let mut t = [0u8];
            r.read_exact(&mut t)?;
            row.1 = rt::Tint::from_u8(t[0]);
            f(&row)?;
        }
        // Back to the end, should more rows come.
        file.seek(io::SeekFrom::End(0))?;
        Ok(())
    }
}

impl<W: Write + Send + 'static> RowWriter<W> {
    pub fn new(out: W, mode: RowMode, color: bool) -> RowWriter<W> {
        let (out, offload) = match mode {
            RowMode::Json | RowMode::Stream if second_core() => {
                (None, Some(Offload::start(out, mode)))
            }
            _ => (Some(out), None),
        };
        RowWriter {
            out,
            mode,
            color,
            rows: PacketRows::default(),
            hidden: 0,
            error: None,
            format: LineFormat::default(),
            offload,
        }
    }

    /// Whether the next frame's record is wanted (false past a table's `--limit`, counting
    /// it, and after a write error).
    pub fn wants_record(&mut self) -> bool {
        if self.error.is_some() || self.offload.as_ref().is_some_and(Offload::failed) {
            return false;
        }
        match self.mode {
            RowMode::None => false,
            RowMode::Json | RowMode::Stream => true,
            RowMode::Table { limit } => {
                if self.rows.len() < limit {
                    true
                } else {
                    self.hidden += 1;
                    false
                }
            }
        }
    }

    /// Write or hold one frame's record.
    pub fn record(&mut self, rec: PacketRecord, t0: f64) {
        if self.error.is_some() {
            return;
        }
        if let Some(o) = self.offload.as_mut() {
            o.worker.push((rec, t0));
            return;
        }
        let res = match (self.mode, self.out.as_mut()) {
            (RowMode::Table { limit }, _) => {
                if self.rows.len() < limit {
                    self.rows.push(rt::packet_row(&rec, t0));
                } else {
                    self.hidden += 1;
                }
                Ok(())
            }
            (mode, Some(out)) => self.format.write(out, mode, &rec, t0),
            (_, None) => Ok(()),
        };
        if let Err(e) = res {
            self.error = Some(e);
        }
    }

    /// The writer, the held rows, and the first write error.
    pub fn finish(mut self) -> (Option<W>, HeldRows, Option<io::Error>) {
        if let Some(o) = self.offload.take() {
            let (out, e) = o.finish();
            self.out = out;
            self.error = self.error.or(e);
        }
        (
            self.out,
            HeldRows {
                rows: self.rows,
                hidden: self.hidden,
                color: self.color,
            },
            self.error,
        )
    }
}

/// A progress line on stderr for long captures (the CLI shows it only when stderr is a
/// terminal): every 100,000 frames, erased when done.
pub struct Progress {
    start: std::time::Instant,
    last: std::cell::Cell<u64>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            start: std::time::Instant::now(),
            last: std::cell::Cell::new(0),
        }
    }
    pub fn tick(&self, frames: u64) {
        if frames - self.last.get() >= 100_000 {
            self.last.set(frames);
            let secs = self.start.elapsed().as_secs_f64();
            let _ = write!(
                io::stderr(),
                "\r\x1b[2Kfwcheck: {frames} frames ({:.0}/s)",
                frames as f64 / secs.max(1e-9)
            );
        }
    }
    pub fn done(&self) {
        if self.last.get() > 0 {
            let _ = write!(io::stderr(), "\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows past the in-memory part go to the temporary file and come back whole and in order,
    /// as often as they are walked, and more can be pushed between walks.
    #[test]
    fn spilled_rows_come_back_in_order() {
        let row = |i: usize| -> PacketRow {
            let cells = std::array::from_fn(|c| match c {
                0 => i.to_string(),
                3 => "198.51.100.7:443 → [2001:db8::1]:80 ✓".repeat(i % 3),
                7 => String::new(),
                _ => format!("{c}:{}", i * 7),
            });
            (cells, rt::Tint::from_u8((i % 5) as u8))
        };
        let mut rows = PacketRows::default();
        let n = PacketRows::IN_MEMORY + 2_500;
        for i in 0..n {
            rows.push(row(i));
        }
        assert!(rows.spill.is_some());
        assert_eq!(rows.len(), n);
        for _ in 0..2 {
            let mut seen = 0;
            rows.for_each(&mut |r| {
                assert_eq!(*r, row(seen));
                seen += 1;
                Ok(())
            })
            .unwrap();
            assert_eq!(seen, n);
        }
        rows.push(row(n));
        let mut last = None;
        rows.for_each(&mut |r| {
            last = Some(r.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(last, Some(row(n)));
        assert!(rows.error.is_none());
    }
}
