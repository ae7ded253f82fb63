//! The binary side of the command line: argument definitions ([`args`]), and the glue of the
//! subcommands that are more than a call into the library ([`why`]: trace, graph, lint
//! --chains; [`steps`]; [`diff`]; [`gen`]). Every subcommand loads rules, chooses hosts and
//! reports errors through [`fwcheck::session`], as the main command does; formats are in
//! [`fwcheck::report`]. `main.rs` parses, dispatches and writes.

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use clap::ValueEnum;

use fwcheck::report::rows::{Progress, RowWriter};
use fwcheck::report::PacketRecord;
use fwcheck::session::{self, Error, Exit, Rules};

pub mod args;
pub mod diff;
pub mod exposure;
pub mod fleet;
pub mod gen;
pub mod learn;
pub mod sim;
pub mod steps;
pub mod why;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// `--color`, decided once in `main`.
pub static COLOR: std::sync::OnceLock<ColorArg> = std::sync::OnceLock::new();

fn color_for(terminal: bool) -> bool {
    match COLOR.get().copied().unwrap_or(ColorArg::Auto) {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

pub fn color_stdout() -> bool {
    color_for(io::stdout().is_terminal())
}

pub fn color_stderr() -> bool {
    color_for(io::stderr().is_terminal())
}

/// The exit code once the output is written: a closed pipe (`fwcheck ... | head`) ends the
/// output quietly; another write error is reported (exit 2).
pub fn written(res: io::Result<()>, code: Exit) -> Result<u8, Error> {
    match res {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::usage(format!("cannot write the output: {e}")))
        }
        _ => Ok(code.code()),
    }
}

/// Load a ruleset, telling what there is to tell about the file as a whole.
pub fn load(source: &session::RulesSource) -> Result<Rules, Error> {
    sim::load_with(source, &mut |s| eprint!("{s}"))
}

/// Load a ruleset that must be valid: its diagnostics and an error (exit 3) otherwise.
pub fn load_valid(source: &session::RulesSource) -> Result<Rules, Error> {
    let rules = load(source)?;
    if !rules.is_valid() {
        eprint!("{}", rules.loaded.render_diagnostics(color_stderr()));
        return Err(rules.invalid_error());
    }
    Ok(rules)
}

/// Write `text` to `output` (a file) or standard output.
pub fn write_out(output: Option<&Path>, text: &str) -> Result<u8, Error> {
    let res = match output {
        Some(p) => std::fs::write(p, text),
        None => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        }
    };
    written(res, Exit::Ok)
}

/// The main command's [`session::Sink`]: rows to standard output, notices and progress to
/// stderr.
pub struct CliSink<W: Write> {
    pub rows: RowWriter<W>,
    pub progress: Option<Progress>,
}

impl<W: Write + Send + 'static> session::Sink for CliSink<W> {
    fn wants_record(&mut self) -> bool {
        self.rows.wants_record()
    }
    fn record(&mut self, rec: PacketRecord, t0: f64) {
        self.rows.record(rec, t0)
    }
    fn progress(&mut self, frames: u64, done: bool) {
        match &self.progress {
            Some(p) if done => p.done(),
            Some(p) => p.tick(frames),
            None => {}
        }
    }
    fn notice(&mut self, message: &str) {
        eprintln!("fwcheck: {message}");
    }
}
