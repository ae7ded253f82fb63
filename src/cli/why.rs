//! The learning subcommands of the command line: `fwcheck trace`, `fwcheck graph` and
//! `fwcheck lint --chains`. Argument handling only; the work is in the library
//! (`fwcheck::trace`, `fwcheck::graph`, `fwcheck::report::{trace, chains}`).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use fwcheck::engine::SimOptions;
use fwcheck::packet::flowspec;
use fwcheck::packet::gen::GenOptions;
use fwcheck::replay;
use fwcheck::session::{self, Error, HostOptions, Rules, Traffic, TrafficSpec};

use super::args::{HostArgs, InputArgs};
use super::{load_valid, write_out};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// A walk-through for people: every rule tried, why it matched or not.
    Text,
    /// JSON Lines: one record per step, then the packet's verdict record.
    Json,
}

/// `fwcheck trace`.
#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Ruleset file.
    rules: PathBuf,
    /// The packet: a flow spec as for --flow, plus `flags`, `size`, `payload`, e.g.
    /// 'tcp 198.51.100.7:40000 > 203.0.113.10:22 flags S'. A spec without `flags` traces
    /// every packet of the flow (a TCP session: handshake, data, close).
    #[arg(required_unless_present = "pcap", conflicts_with = "pcap")]
    spec: Option<String>,
    /// Trace one frame of this capture, with the state the frames before it built up.
    #[arg(long, value_name = "FILE", requires = "frame")]
    pcap: Option<PathBuf>,
    /// The frame to trace (1-based, as tcpdump and Wireshark number them).
    #[arg(long, value_name = "N", requires = "pcap")]
    frame: Option<u64>,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    host: HostArgs,
    #[arg(long, value_enum, default_value_t = TraceFormat::Text)]
    format: TraceFormat,
    /// Apply an iptables command to the ruleset before tracing (repeatable, in order), e.g.
    /// `-D INPUT 3`, `-I INPUT 1 -s 192.0.2.0/24 -j DROP`, `-P OUTPUT ACCEPT`.
    #[arg(long = "what-if", value_name = "COMMAND", allow_hyphen_values = true)]
    what_if: Vec<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    /// Graphviz DOT (render with `dot -Tsvg`, or read as text).
    Dot,
    /// SVG drawn by fwcheck itself (no Graphviz needed).
    Svg,
}

/// `fwcheck graph`.
#[derive(Args, Debug)]
pub struct GraphArgs {
    /// Ruleset file.
    rules: PathBuf,
    /// Count packets per chain and per jump from this capture's replay.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    host: HostArgs,
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    format: GraphFormat,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The simulation options for `traffic`, hosts inferred and the capture's interfaces taken as
/// the main command does ([`session::choose_hosts`], [`session::adopt_capture_interfaces`]).
fn sim_options(host: &HostOptions, traffic: &Traffic) -> Result<SimOptions, Error> {
    let mut host = host.clone();
    if let Some(n) = session::adopt_capture_interfaces(&mut host, traffic) {
        eprintln!("fwcheck: {n}");
    }
    let hosts = session::choose_hosts(&host.hosts, Some(traffic))?;
    Ok(host.sim_options(&hosts.hosts))
}

/// The host options, then the ruleset loaded on that host (its sets decide which rules load);
/// bad host options are refused (exit 2) whether or not anything is simulated.
fn host_and_rules(
    host: &HostArgs,
    input: &InputArgs,
    rules: &Path,
) -> Result<(HostOptions, Rules), Error> {
    let h = host.host_options(input.backend.get())?;
    let r = load_valid(&input.source(rules, h.ipsets.as_ref()))?;
    Ok((h, r))
}

/// `fwcheck trace`.
pub fn trace(a: TraceArgs) -> Result<u8, Error> {
    let (host, mut rules) = host_and_rules(&a.host, &a.input, &a.rules)?;
    rules.what_if(&a.what_if)?;
    let rs = &rules.loaded.ruleset;
    let traced = if let (Some(pcap), Some(frame)) = (&a.pcap, a.frame) {
        let src = session::traffic(TrafficSpec::Capture(pcap.clone()), &[], false)?;
        let opts = sim_options(&host, &src)?;
        fwcheck::trace::trace_frame(rs, opts, pcap, frame)
            .map_err(|e| Error::invalid(format!("{}: {e}", pcap.display())))?
    } else {
        let spec = a.spec.as_deref().unwrap_or_default();
        let specs = match flowspec::parse_many(spec) {
            Ok(s) if !s.is_empty() => s,
            Ok(_) => return Err(Error::usage("trace: the flow spec is empty")),
            Err(e) => {
                let prefix = "fwcheck: trace '";
                let col = spec.chars().take(e.column.saturating_sub(1)).count();
                return Err(Error::usage(format!(
                    "trace '{spec}'\n{}^ {e}",
                    " ".repeat(prefix.len() + col)
                )));
            }
        };
        let mut go = GenOptions::default();
        if !host.hosts.is_empty() {
            go.host = host.hosts.clone();
        }
        let packets = flowspec::build(&specs, &go);
        let src = Traffic::packets(packets.clone());
        let opts = sim_options(&host, &src)?;
        fwcheck::trace::trace_packets(rs, opts, packets)
    };
    let text = match a.format {
        TraceFormat::Text => fwcheck::report::trace::text(&traced),
        TraceFormat::Json => fwcheck::report::trace::json_lines(&traced),
    };
    write_out(None, &text)
}

/// `fwcheck graph`.
pub fn graph(a: GraphArgs) -> Result<u8, Error> {
    let (host, rules) = host_and_rules(&a.host, &a.input, &a.rules)?;
    let rs = &rules.loaded.ruleset;
    let engine = match &a.pcap {
        Some(pcap) => Some(replay_counts(rs, &host, pcap)?),
        None => None,
    };
    let pic = fwcheck::graph::build(rs, engine.as_ref());
    let text = match a.format {
        GraphFormat::Dot => fwcheck::graph::to_dot(&pic),
        GraphFormat::Svg => fwcheck::graph::to_svg(&pic),
    };
    write_out(a.output.as_deref(), &text)
}

/// Replays `pcap` through `rs` and hands back the engine with its counters.
fn replay_counts<'r>(
    rs: &'r fwcheck::ruleset::Ruleset,
    host: &HostOptions,
    pcap: &Path,
) -> Result<fwcheck::engine::Engine<'r>, Error> {
    let src = session::traffic(TrafficSpec::Capture(pcap.to_path_buf()), &[], false)?;
    let opts = sim_options(host, &src)?;
    replay::replay(rs, opts, src.source().clone(), |_| {})
        .map(|(e, _)| e)
        .map_err(|e| Error::invalid(format!("{}: {e}", pcap.display())))
}

/// `fwcheck lint RULES --chains [CHAIN] [--pcap F]`: the chains as `iptables -L -v -n
/// --line-numbers` lists them, with counters from the capture's replay.
pub fn chains(
    rules: &Path,
    input: &InputArgs,
    host: &HostArgs,
    chain: Option<&str>,
    pcap: Option<&Path>,
) -> Result<u8, Error> {
    let (host, loaded) = host_and_rules(host, input, rules)?;
    let rs = &loaded.loaded.ruleset;
    let engine = match pcap {
        Some(p) => Some(replay_counts(rs, &host, p)?),
        None => None,
    };
    let text =
        fwcheck::report::chains::listing(rs, engine.as_ref(), chain).map_err(Error::usage)?;
    write_out(None, &text)
}
