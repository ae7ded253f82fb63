//! `fwcheck fleet MANIFEST.toml`: every host of the manifest checked as the main command checks
//! one (its options parsed by the main command's own definitions, prepared by
//! [`super::sim::prepare`], run by [`fwcheck::session::Session::run`]), the hosts in parallel
//! on a rayon pool, then one merged report ([`fwcheck::report::fleet`]) in manifest order.
//! The output does not depend on the number of threads.
//!
//! Mirrors no kernel code.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Parser;
use rayon::prelude::*;

use fwcheck::report::check::Format;
use fwcheck::report::fleet::{FleetReport, HostResult, HostRun};
use fwcheck::report::PacketRecord;
use fwcheck::session::fleet::{parse_shard, FleetHost, Manifest};
use fwcheck::session::{Error, Exit, Sink};

use super::args::SimArgs;
use super::sim::{prepare, Prepared};
use super::written;

#[derive(clap::Args, Debug)]
pub struct FleetArgs {
    /// The fleet: a TOML file with one `[[host]]` per host (`name`, `rules`, optional `pcap`
    /// and `options`, the main command's options) and optional shared `options` (README).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,
    /// Output format: one line (table row, JSON record, SARIF run, JUnit suite) per host.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Check only shard K of N (1-based: every Nth host from the Kth), to spread a large
    /// manifest over CI jobs or machines; shards 1/N … N/N together check every host once.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Hosts checked at once (default: one per CPU, or RAYON_NUM_THREADS).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// A host's options: the main command's.
#[derive(Parser, Debug)]
#[command(name = "fwcheck", no_binary_name = true)]
struct HostCli {
    #[command(flatten)]
    sim: SimArgs,
}

pub fn run(a: FleetArgs) -> Result<u8, Error> {
    let mut manifest = Manifest::read(&a.manifest)?;
    if let Some((k, n)) = a.shard {
        manifest.shard(k, n);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.jobs.map_or(0, usize::from))
        .build()
        .map_err(|e| Error::usage(format!("cannot start the worker threads: {e}")))?;
    let hosts: Vec<HostRun> = pool.install(|| {
        manifest
            .hosts
            .par_iter()
            .map(|h| check_host(&manifest, h, a.format))
            .collect()
    });
    // Each host's standard error, in manifest order, every line naming its host.
    let mut err = io::stderr().lock();
    for h in &hosts {
        for line in h.messages.lines() {
            let _ = writeln!(err, "{}: {line}", h.name);
        }
    }
    drop(err);
    let fleet = FleetReport { hosts };
    let exit = fleet.exit();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let res = fwcheck::report::fleet::write(&mut out, a.format, fleet).and_then(|()| out.flush());
    written(res, exit)
}

/// What a run hands its sink: no rows (a fleet reports per host), notices kept.
struct Notices<'a>(&'a mut String);

impl Sink for Notices<'_> {
    fn wants_record(&mut self) -> bool {
        false
    }
    fn record(&mut self, _rec: PacketRecord, _t0: f64) {}
    fn notice(&mut self, message: &str) {
        self.0.push_str(&format!("fwcheck: {message}\n"));
    }
}

/// One host, as `fwcheck ARGS...` would check it from the manifest's directory, rendered in
/// `format`.
fn check_host(manifest: &Manifest, h: &FleetHost, format: Format) -> HostRun {
    let mut messages = String::new();
    let failed = |exit: Exit, message: String| HostResult::Failed { exit, message };
    let mut rules = manifest.rules_of(h).display().to_string();
    let result = match HostCli::try_parse_from(manifest.args(h)) {
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            failed(Exit::Usage, format!("{}: options: {first}", h.at))
        }
        Ok(HostCli { mut sim }) => {
            rebase(manifest, &mut sim);
            // Rows are not written, so no per-row work (the flows of the terminal's table).
            sim.format = Format::Json;
            if let Some(p) = &sim.rules {
                rules = p.display().to_string();
            }
            let mut say = |s: &str| messages.push_str(s);
            // Errors name the host's entry in the manifest, then what the run says.
            let at = |e: Error| failed(e.exit, format!("{}: {}", h.at, e.message));
            match prepare(&sim, false, &mut say) {
                Err(e) => at(e),
                Ok(Prepared::Invalid(r)) => HostResult::Invalid(r.loaded),
                Ok(Prepared::Ready { session, traffic }) => {
                    let mut sink = Notices(&mut messages);
                    match session.run(traffic.as_ref(), &mut sink) {
                        Ok(report) => HostResult::Checked(Box::new(report)),
                        Err(e) => at(e),
                    }
                }
            }
        }
    };
    // Rendered here, on the worker: the host's ruleset and state are dropped with `result`.
    HostRun::new(h.name.clone(), rules, result, messages, format)
}

/// Every file a host's options name, relative to the manifest's directory.
fn rebase(m: &Manifest, a: &mut SimArgs) {
    let fix = |p: &mut PathBuf| *p = m.resolve(p);
    a.rules.as_mut().map(fix);
    a.pcap.as_mut().map(fix);
    a.parity.as_mut().map(fix);
    a.rules6.as_mut().map(fix);
    a.rules4.as_mut().map(fix);
    a.gate.expect.as_mut().map(fix);
    a.host.ipset.as_mut().map(fix);
    a.host.host_config.iter_mut().for_each(fix);
    if let Some(p) = a.reload_at.get_mut(1) {
        *p = m
            .resolve(std::path::Path::new(p.as_str()))
            .display()
            .to_string();
    }
}
