//! The learning subcommands of the command line: `fwcheck trace`, `fwcheck graph` and
//! `fwcheck lint --chains`. Argument handling only; the work is in the library
//! (`fwcheck::trace`, `fwcheck::graph`, `fwcheck::report::{trace, chains}`).

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::Loaded;
use fwcheck::packet::flowspec;
use fwcheck::packet::gen::GenOptions;
use fwcheck::replay::{self, Source};

use super::{exit, load, InputArgs};

/// Where the simulated host is and how it is wired (a subset of the main command's options).
#[derive(Args, Debug, Clone)]
pub struct WhyHost {
    /// An address of the simulated host (repeatable; ADDR/LEN also names its network).
    /// Default: inferred from the traffic (a flow spec's destination).
    #[arg(long, value_name = "ADDR")]
    host: Vec<String>,
    /// Name of the interface packets are seen on (default: the capture's, else eth0).
    #[arg(long, value_name = "NAME")]
    iface: Option<String>,
    /// The host forwards traffic that is neither to nor from it (FORWARD chain).
    #[arg(long)]
    router: bool,
}

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
    host: WhyHost,
    #[arg(long, value_enum, default_value_t = TraceFormat::Text)]
    format: TraceFormat,
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
    host: WhyHost,
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    format: GraphFormat,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

fn load_valid(path: &Path, input: &InputArgs) -> Result<Loaded, u8> {
    let loaded = load(path, input)?;
    if loaded.has_errors() {
        eprint!("{}", loaded.render_diagnostics(false));
        eprintln!(
            "fwcheck: {} is not a valid ruleset ({} error(s))",
            path.display(),
            loaded.error_count()
        );
        return Err(exit::INVALID);
    }
    Ok(loaded)
}

/// Host addresses, and the networks named with ADDR/LEN.
type Hosts = (Vec<IpAddr>, Vec<(IpAddr, u8)>);

/// `--host` values: addresses, and the networks of ADDR/LEN.
fn parse_hosts(values: &[String]) -> Result<Hosts, u8> {
    let mut hosts = Vec::new();
    let mut nets = Vec::new();
    for v in values {
        let (a, len) = match v.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (v.as_str(), None),
        };
        let Ok(addr) = a.parse::<IpAddr>() else {
            eprintln!("fwcheck: --host {v}: expected an IP address, optionally /LEN");
            return Err(exit::USAGE);
        };
        hosts.push(addr);
        if let Some(l) = len {
            match l.parse::<u8>() {
                Ok(n) if n <= if addr.is_ipv4() { 32 } else { 128 } => nets.push((addr, n)),
                _ => {
                    eprintln!("fwcheck: --host {v}: `{l}` is not a prefix length");
                    return Err(exit::USAGE);
                }
            }
        }
    }
    Ok((hosts, nets))
}

/// The simulation options for `source` (hosts inferred as the main command does).
fn sim_options(host: &WhyHost, input: &InputArgs, source: &Source) -> Result<SimOptions, u8> {
    let (given, networks) = parse_hosts(&host.host)?;
    let hosts = match replay::choose_hosts(&given, source) {
        Ok(h) => h.hosts,
        Err(e) => {
            eprintln!("fwcheck: {e}");
            return Err(exit::USAGE);
        }
    };
    let env = SimEnv {
        hosts,
        networks,
        iface: host.iface.clone().unwrap_or_else(|| "eth0".to_string()),
        iface_from_capture: host.iface.is_none(),
        backend: input.backend.get(),
        ..SimEnv::default()
    };
    Ok(SimOptions {
        env,
        router: host.router,
        ..SimOptions::default()
    })
}

fn write_out(output: Option<&Path>, text: &str) -> u8 {
    let res = match output {
        Some(p) => std::fs::write(p, text),
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    match res {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("fwcheck: cannot write: {e}");
            exit::USAGE
        }
    }
}

/// `fwcheck trace`.
pub fn trace(a: TraceArgs) -> u8 {
    let loaded = match load_valid(&a.rules, &a.input) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let rs = &loaded.ruleset;
    let traced = if let (Some(pcap), Some(frame)) = (&a.pcap, a.frame) {
        let src = Source::Capture(pcap.clone());
        let opts = match sim_options(&a.host, &a.input, &src) {
            Ok(o) => o,
            Err(c) => return c,
        };
        match fwcheck::trace::trace_frame(rs, opts, pcap, frame) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("fwcheck: {}: {e}", pcap.display());
                return exit::INVALID;
            }
        }
    } else {
        let spec = a.spec.as_deref().unwrap_or_default();
        let specs = match flowspec::parse_many(spec) {
            Ok(s) if !s.is_empty() => s,
            Ok(_) => {
                eprintln!("fwcheck: trace: the flow spec is empty");
                return exit::USAGE;
            }
            Err(e) => {
                let prefix = "fwcheck: trace '";
                let col = spec.chars().take(e.column.saturating_sub(1)).count();
                eprintln!("{prefix}{spec}'\n{}^ {e}", " ".repeat(prefix.len() + col));
                return exit::USAGE;
            }
        };
        let (given, _) = match parse_hosts(&a.host.host) {
            Ok(h) => h,
            Err(c) => return c,
        };
        let mut go = GenOptions::default();
        if !given.is_empty() {
            go.host = given;
        }
        let packets = flowspec::build(&specs, &go);
        let src = Source::Packets(packets.clone());
        let opts = match sim_options(&a.host, &a.input, &src) {
            Ok(o) => o,
            Err(c) => return c,
        };
        fwcheck::trace::trace_packets(rs, opts, packets)
    };
    let text = match a.format {
        TraceFormat::Text => fwcheck::report::trace::text(&traced),
        TraceFormat::Json => fwcheck::report::trace::json_lines(&traced),
    };
    write_out(None, &text)
}

/// `fwcheck graph`.
pub fn graph(a: GraphArgs) -> u8 {
    let loaded = match load_valid(&a.rules, &a.input) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let rs = &loaded.ruleset;
    let engine = match &a.pcap {
        Some(pcap) => match replay_counts(rs, &a.host, &a.input, pcap) {
            Ok(e) => Some(e),
            Err(c) => return c,
        },
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
    host: &WhyHost,
    input: &InputArgs,
    pcap: &Path,
) -> Result<fwcheck::engine::Engine<'r>, u8> {
    let src = Source::Capture(pcap.to_path_buf());
    let opts = sim_options(host, input, &src)?;
    match replay::replay(rs, opts, src, |_| {}) {
        Ok((e, _)) => Ok(e),
        Err(e) => {
            eprintln!("fwcheck: {}: {e}", pcap.display());
            Err(exit::INVALID)
        }
    }
}

/// `fwcheck lint RULES --chains [CHAIN] [--pcap F]`: the chains as `iptables -L -v -n
/// --line-numbers` lists them, with counters from the capture's replay.
pub fn chains(rules: &Path, input: &InputArgs, chain: Option<&str>, pcap: Option<&Path>) -> u8 {
    let loaded = match load_valid(rules, input) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let rs = &loaded.ruleset;
    let host = WhyHost {
        host: Vec::new(),
        iface: None,
        router: false,
    };
    let engine = match pcap {
        Some(p) => match replay_counts(rs, &host, input, p) {
            Ok(e) => Some(e),
            Err(c) => return c,
        },
        None => None,
    };
    match fwcheck::report::chains::listing(rs, engine.as_ref(), chain) {
        Ok(text) => write_out(None, &text),
        Err(e) => {
            eprintln!("fwcheck: {e}");
            exit::USAGE
        }
    }
}
