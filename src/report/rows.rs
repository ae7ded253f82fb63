//! The per-frame part of a report, written while the traffic is replayed: JSON `packet`
//! records, fixed-width lines (`--limit 0`, constant memory), or table rows held up to
//! `--limit` for the packet table printed after the replay.

use std::io::{self, Write};

use comfy_table::Cell;

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
pub struct RowWriter<W: Write> {
    out: W,
    mode: RowMode,
    color: bool,
    header: bool,
    rows: Vec<Vec<Cell>>,
    hidden: usize,
    error: Option<io::Error>,
    /// The streamed line being written, reused from frame to frame.
    line: String,
    /// The same for a JSON record.
    json: Vec<u8>,
}

/// Table rows held for the packet table, and how many frames did not fit.
#[derive(Debug, Default)]
pub struct HeldRows {
    pub rows: Vec<Vec<Cell>>,
    pub(crate) hidden: usize,
    /// Colours in the packet table.
    pub color: bool,
}

impl<W: Write> RowWriter<W> {
    pub fn new(out: W, mode: RowMode, color: bool) -> RowWriter<W> {
        RowWriter {
            out,
            mode,
            color,
            header: false,
            rows: Vec::new(),
            hidden: 0,
            error: None,
            line: String::new(),
            json: Vec::new(),
        }
    }

    /// Whether the next frame's record is wanted (false past a table's `--limit`, counting
    /// it, and after a write error).
    pub fn wants_record(&mut self) -> bool {
        if self.error.is_some() {
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
    pub fn record(&mut self, rec: &PacketRecord, t0: f64) {
        if self.error.is_some() {
            return;
        }
        let res = match self.mode {
            RowMode::None => Ok(()),
            RowMode::Json => {
                self.json.clear();
                rec.write_json(&mut self.json);
                self.json.push(b'\n');
                self.out.write_all(&self.json)
            }
            RowMode::Stream => {
                let header = if self.header {
                    Ok(())
                } else {
                    self.header = true;
                    writeln!(self.out, "{}", rt::packet_stream_header())
                };
                header.and_then(|()| {
                    rt::packet_line(&mut self.line, rec, t0);
                    self.line.push('\n');
                    self.out.write_all(self.line.as_bytes())
                })
            }
            RowMode::Table { limit } => {
                if self.rows.len() < limit {
                    self.rows.push(rt::packet_row(rec, t0, self.color));
                } else {
                    self.hidden += 1;
                }
                Ok(())
            }
        };
        if let Err(e) = res {
            self.error = Some(e);
        }
    }

    /// The first write error, if any.
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    /// The writer, the held rows, and the first write error.
    pub fn finish(self) -> (W, HeldRows, Option<io::Error>) {
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
