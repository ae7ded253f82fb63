//! The `fwcheck` command line: argument parsing, conversion into a [`session::Config`],
//! dispatch, and writing. All work is done by the library ([`fwcheck::session`] runs a check,
//! [`fwcheck::report`] owns the output formats).

use std::io::{self, IsTerminal, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use fwcheck::analysis::{Level, Net, Service};
use fwcheck::engine::SocketOwner;
use fwcheck::ext::Backend;
use fwcheck::lint;
use fwcheck::packet::gen::{self, GenOptions};
use fwcheck::packet::{flowspec, ChecksumMode, Timestamp};
use fwcheck::report::check::Format;
use fwcheck::report::lint::Format as LintFormat;
use fwcheck::report::rows::{Progress, RowMode, RowWriter};
use fwcheck::report::{self, PacketRecord};
use fwcheck::ruleset::printer::{print_ruleset, PrintOptions};
use fwcheck::ruleset::{Family, InputFormat};
use fwcheck::session::{
    self, Config, Error, Exit, Gate, HostOptions, Only, Rules, RulesSource, Session,
};

mod cli_learn;
mod cmd_why;

#[derive(Parser, Debug)]
#[command(
    name = "fwcheck",
    version,
    about = "Offline iptables ruleset verifier and packet simulator",
    long_about = "Replays captured or synthetic traffic through an iptables ruleset exactly as the Linux kernel \
                  would (connection tracking included) and reports every packet's verdict and the rule that decided it.",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(flatten)]
    sim: SimArgs,
    /// Colours: verdicts in tables, diagnostics. `auto`: when writing to a terminal and
    /// NO_COLOR is not set.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, global = true)]
    color: ColorArg,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

/// `--color`, decided once in `main`.
static COLOR: std::sync::OnceLock<ColorArg> = std::sync::OnceLock::new();

fn color_for(terminal: bool) -> bool {
    match COLOR.get().copied().unwrap_or(ColorArg::Auto) {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

fn color_stdout() -> bool {
    color_for(std::io::stdout().is_terminal())
}

#[derive(Args, Debug)]
struct SimArgs {
    /// Ruleset file (iptables-save output, iptables-restore input, or a script of iptables commands).
    #[arg(required = true)]
    rules: Option<PathBuf>,
    #[command(flatten)]
    input: InputArgs,
    /// Replay this capture (pcap or pcapng; `-` reads it from standard input).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["synthetic", "flow"])]
    pcap: Option<PathBuf>,
    /// A capture whose rest cannot be read (a corrupt record) is an error (exit 3); with this,
    /// the frames before it are judged and reported as usual, with the error as a warning.
    #[arg(long)]
    keep_going: bool,
    /// Replay generated traffic of this profile (webserver, scan, dns, ping-flood, knock).
    #[arg(
        long,
        value_name = "PROFILE",
        num_args = 0..=1,
        default_missing_value = "webserver",
        conflicts_with = "flow"
    )]
    synthetic: Option<String>,
    /// Replay an ad-hoc flow, e.g. `tcp 198.51.100.7:40000 > 203.0.113.10:22` (repeatable).
    #[arg(long, value_name = "SPEC")]
    flow: Vec<String>,
    #[command(flatten)]
    host: HostArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Show only these packets in the packet table / JSON packet records.
    #[arg(long, value_enum)]
    only: Option<Only>,
    /// Show a per-connection view instead of the packet table.
    #[arg(long)]
    flows: bool,
    /// At most this many packet rows in the table output (0 = all).
    #[arg(long, default_value_t = 500, value_name = "N")]
    limit: usize,
    #[command(flatten)]
    gate: GateArgs,
    /// Apply an iptables command to the ruleset before simulating (repeatable, in order), e.g.
    /// `-D INPUT 3`, `-I INPUT 1 -s 192.0.2.0/24 -j DROP`, `-P OUTPUT ACCEPT`.
    #[arg(long = "what-if", value_name = "COMMAND", allow_hyphen_values = true)]
    what_if: Vec<String>,
    /// Load NEW_RULES mid-capture, keeping conntrack and match state (as iptables-restore on a
    /// live host): before frame N (`frame:N`) or at a time in seconds after the first frame.
    #[arg(long = "reload-at", num_args = 2, value_names = ["TIME|frame:N", "NEW_RULES"], requires = "pcap")]
    reload_at: Vec<String>,
}

#[derive(Args, Debug, Clone)]
struct GateArgs {
    /// A management service that must stay reachable (repeatable): tcp/22, udp/1194, 2222.
    #[arg(long, value_name = "PROTO/PORT", default_value = "tcp/22")]
    mgmt: Vec<String>,
    /// Where the administrator connects from (repeatable CIDR). Default: anywhere — then the
    /// check only needs some address to get in.
    #[arg(long, value_name = "CIDR")]
    admin: Vec<String>,
    /// Declarative checks to evaluate (TOML, see the README).
    #[arg(long, value_name = "FILE")]
    expect: Option<PathBuf>,
    /// Exit 1 when a finding has at least this severity (or an expectation fails).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum FailOn {
    Error,
    Warning,
    Note,
    Never,
}

#[derive(Args, Debug, Clone)]
struct HostArgs {
    /// An address of the simulated host (repeatable; ADDR/LEN also names its network). Default:
    /// the address seen in the most packets.
    #[arg(long, value_name = "ADDR")]
    host: Vec<String>,
    /// Name of the interface every packet is seen on, as `-i`/`-o` see it. Default: the name
    /// of the interface each packet was captured on (pcapng), else eth0.
    #[arg(long, value_name = "NAME")]
    iface: Option<String>,
    /// An address of one of the host's interfaces, `NAME=ADDR/LEN` (repeatable), e.g.
    /// `docker0=172.17.0.1/16`: LOCAL to addrtype, its subnet a connected route on NAME.
    #[arg(long = "iface-addr", value_name = "NAME=ADDR/LEN")]
    iface_addr: Vec<String>,
    /// A route, `DEST/LEN [via GW] dev NAME` or `default via GW dev NAME` (repeatable): the
    /// output interface (`-o`) of forwarded and outbound packets, longest prefix first.
    #[arg(long, value_name = "ROUTE")]
    route: Vec<String>,
    /// The host's interfaces and routes as `ip -j addr` / `ip -j route` print them: one
    /// file with {"addr": [...], "route": [...]}, or each array in its own file (repeatable).
    #[arg(long = "host-config", value_name = "FILE")]
    host_config: Vec<PathBuf>,
    /// The host forwards traffic that is neither to nor from it (FORWARD chain).
    #[arg(long)]
    router: bool,
    /// nf_conntrack_tcp_loose: pick up TCP connections mid-stream.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    tcp_loose: bool,
    /// nf_conntrack_tcp_be_liberal: never mark out-of-window TCP packets INVALID.
    #[arg(long)]
    tcp_be_liberal: bool,
    /// Kernel HZ (jiffies per second), used by -m limit/hashlimit/recent arithmetic: 100, 250,
    /// 300 or 1000 (CONFIG_HZ); other values from 24 to 1200 are accepted for odd kernels.
    #[arg(long, default_value_t = 250, value_name = "N", value_parser = clap::value_parser!(u32).range(24..=1200))]
    hz: u32,
    /// A conntrack timeout in seconds, as the matching sysctl sets it (repeatable), e.g.
    /// `udp=30` for net.netfilter.nf_conntrack_udp_timeout. Names: tcp_established,
    /// tcp_time_wait, udp, udp_stream, icmp, generic, sctp_established, frag4, … (see README).
    #[arg(long = "ct-timeout", value_name = "NAME=SECS")]
    ct_timeout: Vec<String>,
    /// net.netfilter.nf_conntrack_max: connections tracked at once (0: no limit). At the
    /// limit a new connection early-drops an unassured one or is dropped ("table full").
    #[arg(long = "ct-max", default_value_t = fwcheck::conntrack::DEFAULT_CT_MAX, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=i32::MAX as i64))]
    ct_max: u32,
    /// net.netfilter.nf_conntrack_buckets: the conntrack hash size (what early_drop scans).
    #[arg(long = "ct-buckets", default_value_t = fwcheck::conntrack::DEFAULT_CT_MAX, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=(1 << 28)))]
    ct_buckets: u32,
    /// net.ipv4.ipfrag_high_thresh (and nf_conntrack_frag6_high_thresh), bytes: above it every
    /// fragment is dropped until queues complete or time out.
    #[arg(long = "ipfrag-high-thresh", default_value_t = fwcheck::packet::defrag::DEFAULT_HIGH_THRESH as u64,
          value_name = "BYTES", value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    ipfrag_high_thresh: u64,
    /// Which TCP/UDP/ICMP checksums the kernel verifies. `auto`: checksums left for offload
    /// (the field holds the pseudo-header sum: captured on the sending host, a veth, VM or
    /// container) are never verified, others are; `verify`: every one is (a NIC without receive
    /// offload); `ignore`: none is.
    #[arg(long, value_enum, default_value_t = ChecksumMode::Auto, value_name = "MODE")]
    checksums: ChecksumMode,
    /// The owner of the host's local sockets, for `-m owner` (repeatable; first that applies
    /// wins): `UID[:GID]` for every socket, or `PROTO ADDR/PORT=UID[:GID]` for the flows with
    /// that peer address (`*`: any) and port on either side, e.g. `udp */53=101`.
    #[arg(long = "socket-owner", value_name = "[SPEC=]UID[:GID]")]
    socket_owner: Vec<String>,
}

/// `--iface-addr`, `--route` and `--host-config`, in one host configuration.
fn host_config(h: &HostArgs) -> Result<fwcheck::host::HostConfig, Error> {
    use fwcheck::host::HostConfig;
    let mut c = HostConfig::default();
    for p in &h.host_config {
        let text = std::fs::read_to_string(p)
            .map_err(|e| Error::usage(format!("--host-config {}: {e}", p.display())))?;
        c.load_json(&p.display().to_string(), &text)
            .map_err(|e| Error::usage(format!("--host-config {e}")))?;
    }
    for s in &h.iface_addr {
        let a = HostConfig::parse_iface_addr(s)
            .map_err(|e| Error::usage(format!("--iface-addr {s}: {e}")))?;
        c.add_addr(a);
    }
    for s in &h.route {
        let r =
            HostConfig::parse_route(s).map_err(|e| Error::usage(format!("--route {s}: {e}")))?;
        c.add_route(r);
    }
    Ok(c)
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a ruleset: summary of tables, chains and policies, warnings and errors.
    Lint {
        rules: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        #[arg(long, value_enum, default_value_t = LintFormat::Table)]
        format: LintFormat,
        /// Exit 1 when there are warnings.
        #[arg(long)]
        strict: bool,
        /// List the chains (or this one) as `iptables -L -v -n --line-numbers` does.
        #[arg(long, value_name = "CHAIN", num_args = 0..=1, default_missing_value = "")]
        chains: Option<String>,
        /// With --chains: counters from replaying this capture.
        #[arg(long, value_name = "FILE", requires = "chains")]
        pcap: Option<PathBuf>,
    },
    /// Print the ruleset exactly as iptables-save prints it after restoring it.
    Fmt {
        rules: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        /// Print rule counters as [packets:bytes] prefixes (like iptables-save -c).
        #[arg(long)]
        counters: bool,
    },
    /// Write a synthetic capture (pcap) of a traffic profile or of ad-hoc flows.
    Gen {
        /// webserver (default), scan, dns, ping-flood, knock.
        profile: Option<String>,
        /// Output file (default: standard output when it is not a terminal).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The capturing host's address (repeatable; an IPv6 address adds IPv6 flows).
        #[arg(long, value_name = "ADDR")]
        host: Vec<IpAddr>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Scale of the profile (e.g. client sessions for webserver).
        #[arg(long, default_value_t = 12)]
        flows: usize,
        /// Time stamp of the first packet, in seconds since the epoch.
        #[arg(long, default_value_t = gen::DEFAULT_START_SECS)]
        start: u64,
        /// Generate these flows instead of a profile (repeatable).
        #[arg(long, value_name = "SPEC")]
        flow: Vec<String>,
    },
    /// What a diagnostic code means, an example and the fix (every code when none is given).
    Explain(fwcheck::explain::ExplainArgs),
    #[command(hide = true)]
    Debug(fwcheck::debug::DebugArgs),
    /// Follow one packet through the ruleset, rule by rule, with why each rule matched or not.
    Trace(cmd_why::TraceArgs),
    /// Draw the chain graph (DOT or SVG), with hit counts from a capture.
    Graph(cmd_why::GraphArgs),
    /// Apply a script of iptables commands step by step and check after every step that the
    /// administrator's established session still passes.
    Steps(cli_learn::StepsArgs),
    /// The same traffic through two rulesets: every packet and flow whose verdict changes, and
    /// the findings new, resolved or unchanged.
    Diff(cli_learn::DiffArgs),
}

#[derive(clap::Args, Debug, Clone)]
struct InputArgs {
    /// Read IPv6 rules (ip6tables-save output). Default: the family the rules' content shows
    /// (addresses, icmp vs icmpv6, iptables vs ip6tables), else the file name (rules.v6,
    /// ip6tables...), else IPv4.
    #[arg(short = '6', long = "ipv6", conflicts_with = "ipv4")]
    ipv6: bool,
    /// Read IPv4 rules (iptables-save output), whatever the file name says.
    #[arg(short = '4', long = "ipv4")]
    ipv4: bool,
    /// Input syntax.
    #[arg(long = "input-format", value_enum, default_value_t = InFormat::Auto)]
    input_format: InFormat,
    /// Which iptables loads the rules: nft (iptables-nft, Debian's default) or legacy. They
    /// install some matches (limit, mark, simple tcp/udp) as different kernel code.
    #[arg(long, value_enum, default_value_t = BackendArg::Nft)]
    backend: BackendArg,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum BackendArg {
    Nft,
    Legacy,
}

impl BackendArg {
    fn get(self) -> Backend {
        match self {
            BackendArg::Nft => Backend::Nft,
            BackendArg::Legacy => Backend::Legacy,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum InFormat {
    Auto,
    Restore,
    Script,
}

impl InputArgs {
    fn source(&self, path: &Path) -> RulesSource {
        RulesSource {
            path: path.to_path_buf(),
            family: match (self.ipv4, self.ipv6) {
                (_, true) => Some(Family::V6),
                (true, _) => Some(Family::V4),
                _ => None,
            },
            format: match self.input_format {
                InFormat::Auto => InputFormat::Auto,
                InFormat::Restore => InputFormat::Restore,
                InFormat::Script => InputFormat::Script,
            },
            backend: self.backend.get(),
        }
    }
}

impl SimArgs {
    /// The session's configuration; a bad option value is an error (exit 2).
    fn config(&self) -> Result<Config, Error> {
        let h = &self.host;
        let (mut hosts, networks) = session::parse_hosts(&h.host)?;
        let host_config = host_config(h)?;
        // The interfaces' addresses are the host's: nothing to infer.
        for ia in &host_config.addrs {
            if !ia.addr.is_loopback() && !hosts.contains(&ia.addr) {
                hosts.push(ia.addr);
            }
        }
        let mut host = HostOptions {
            hosts,
            networks,
            iface: h.iface.clone(),
            router: h.router,
            tcp_loose: h.tcp_loose,
            tcp_be_liberal: h.tcp_be_liberal,
            hz: h.hz,
            checksums: h.checksums,
            backend: self.input.backend.get(),
            ct_max: h.ct_max,
            ct_buckets: h.ct_buckets,
            frag_high_thresh: h.ipfrag_high_thresh as usize,
            host_config,
            ..HostOptions::default()
        };
        session::parse_ct_timeouts(&h.ct_timeout, h.hz, &mut host.ct_timeouts)?;
        let list = |flag: &str, e: String| Error::usage(format!("--{flag} {e}"));
        let g = &self.gate;
        let gate = Gate {
            mgmt: g
                .mgmt
                .iter()
                .map(|s| Service::parse(s))
                .collect::<Result<_, _>>()
                .map_err(|e| list("mgmt", e))?,
            admin: g
                .admin
                .iter()
                .map(|s| Net::parse(s))
                .collect::<Result<_, _>>()
                .map_err(|e| list("admin", e))?,
            expectations: g
                .expect
                .as_deref()
                .map(session::read_expectations)
                .transpose()?
                .unwrap_or_default(),
            fail_on: match g.fail_on {
                FailOn::Error => Some(Level::Error),
                FailOn::Warning => Some(Level::Warning),
                FailOn::Note => Some(Level::Note),
                FailOn::Never => None,
            },
        };
        for spec in &h.socket_owner {
            let o = SocketOwner::parse(spec)
                .map_err(|e| list("socket-owner", format!("{spec}: {e}")))?;
            host.socket_owners.push(o);
        }
        Ok(Config {
            host,
            gate,
            keep_going: self.keep_going,
            only: self.only,
            // Flows are tracked for --flows and for the terminal summary (blocked connections).
            track_flows: self.flows || self.format == Format::Table,
        })
    }

    fn traffic(&self) -> Result<Option<session::TrafficSpec>, Error> {
        use session::TrafficSpec as T;
        Ok(match (&self.pcap, &self.synthetic) {
            (Some(p), _) => Some(T::Capture(p.clone())),
            _ if !self.flow.is_empty() => Some(T::Flows(session::parse_flows(&self.flow)?)),
            (None, Some(name)) => Some(T::Synthetic(session::parse_profile(name)?)),
            (None, None) => None,
        })
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            let code = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
            return ExitCode::from(code.code());
        }
    };
    let _ = COLOR.set(cli.color);
    let code = match cli.command {
        Some(Command::Lint {
            rules,
            input,
            chains: Some(chain),
            pcap,
            ..
        }) => cmd_why::chains(
            &rules,
            &input,
            Some(chain.as_str()).filter(|c| !c.is_empty()),
            pcap.as_deref(),
        ),
        Some(Command::Lint {
            rules,
            input,
            format,
            strict,
            ..
        }) => cmd_lint(&rules, &input, format, strict),
        Some(Command::Fmt {
            rules,
            input,
            counters,
        }) => cmd_fmt(&rules, &input, counters),
        Some(Command::Gen {
            profile,
            output,
            host,
            seed,
            flows,
            start,
            flow,
        }) => cmd_gen(profile, output, host, seed, flows, start, flow),
        Some(Command::Explain(a)) => Ok(fwcheck::explain::run(&a)),
        Some(Command::Debug(a)) => Ok(fwcheck::debug::run(&a)),
        Some(Command::Trace(a)) => cmd_why::trace(a),
        Some(Command::Graph(a)) => cmd_why::graph(a),
        Some(Command::Steps(a)) => Ok(cli_learn::run_steps(a)),
        Some(Command::Diff(a)) => Ok(cli_learn::run_diff(a)),
        None => cmd_sim(cli.sim),
    };
    ExitCode::from(code.unwrap_or_else(|e| {
        eprintln!("fwcheck: {e}");
        e.exit.code()
    }))
}

/// The exit code once the output is written: a closed pipe (`fwcheck ... | head`) ends the
/// output quietly; another write error is reported (exit 2).
fn written(res: io::Result<()>, code: Exit) -> Result<u8, Error> {
    match res {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::usage(format!("cannot write the output: {e}")))
        }
        _ => Ok(code.code()),
    }
}

/// Load a ruleset, telling what there is to tell about the file as a whole.
fn load(path: &Path, input: &InputArgs) -> Result<Rules, Error> {
    let rules = session::load_rules(&input.source(path))?;
    for n in &rules.notices {
        eprintln!("fwcheck: {n}");
    }
    Ok(rules)
}

fn color_stderr() -> bool {
    color_for(io::stderr().is_terminal())
}

fn cmd_lint(path: &Path, input: &InputArgs, format: LintFormat, strict: bool) -> Result<u8, Error> {
    let rules = load(path, input)?;
    let rep = lint::report(&rules.loaded);
    if format == LintFormat::Table {
        let _ = write!(
            io::stderr(),
            "{}",
            rules.loaded.render_diagnostics(color_stderr())
        );
    }
    let mut out = io::stdout().lock();
    let res = report::lint::write(&mut out, format, &rep).and_then(|()| out.flush());
    written(res, report::lint::exit_code(&rep, strict))
}

fn cmd_fmt(path: &Path, input: &InputArgs, counters: bool) -> Result<u8, Error> {
    let rules = load(path, input)?;
    let _ = write!(
        io::stderr(),
        "{}",
        rules.loaded.render_diagnostics(color_stderr())
    );
    if !rules.is_valid() {
        return Ok(Exit::Invalid.code());
    }
    let text = print_ruleset(&rules.loaded.ruleset, PrintOptions { counters });
    let mut out = io::stdout().lock();
    written(
        out.write_all(text.as_bytes()).and_then(|()| out.flush()),
        Exit::Ok,
    )
}

fn cmd_gen(
    profile: Option<String>,
    output: Option<PathBuf>,
    host: Vec<IpAddr>,
    seed: u64,
    flows: usize,
    start: u64,
    flow: Vec<String>,
) -> Result<u8, Error> {
    // The generator holds what it writes: a bound keeps it to a few GB at most (1,000,000 web
    // sessions are about 11 M packets).
    const MAX_FLOWS: usize = 1_000_000;
    if flows > MAX_FLOWS {
        return Err(Error::usage(format!(
            "gen --flows {flows}: at most {MAX_FLOWS}"
        )));
    }
    let mut opts = GenOptions {
        seed,
        flows,
        start: Timestamp::from_secs_nanos(start, 0),
        ..GenOptions::default()
    };
    if !host.is_empty() {
        opts.host = host;
    }
    let packets = if !flow.is_empty() {
        if profile.is_some() {
            return Err(Error::usage("give a PROFILE or --flow, not both"));
        }
        flowspec::build(&session::parse_flows(&flow)?, &opts)
    } else {
        opts.profile = session::parse_profile(profile.as_deref().unwrap_or("webserver"))?;
        gen::generate(&opts)
    };
    let res = match output {
        Some(path) => fwcheck::packet::writer::write_pcap_file(&path, &packets).map(|_| {
            eprintln!(
                "fwcheck: wrote {} packets to {}",
                packets.len(),
                path.display()
            )
        }),
        None if io::stdout().is_terminal() => {
            return Err(Error::usage("refusing to write a capture to a terminal; use -o FILE or redirect standard output"));
        }
        None => fwcheck::packet::writer::write_pcap(io::stdout().lock(), &packets),
    };
    match res {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::usage(format!("cannot write the capture: {e}")))
        }
        _ => Ok(Exit::Ok.code()),
    }
}

fn cmd_sim(a: SimArgs) -> Result<u8, Error> {
    let Some(rules_path) = a.rules.clone() else {
        return Err(Error::usage(
            "a ruleset file is required; try `fwcheck --help`",
        ));
    };
    let mut rules = load(&rules_path, &a.input)?;
    rules.what_if(&a.what_if)?;
    let reload = cli_learn::load_reload(&a.reload_at, |p| load(p, &a.input))?;
    let format = a.format;
    let diag_text = rules.loaded.render_diagnostics(color_stderr());
    if !rules.is_valid() {
        let _ = write!(io::stderr(), "{diag_text}");
        let mut out = io::stdout().lock();
        let res =
            report::check::write_invalid(&mut out, format, &rules.loaded, Exit::Invalid.code());
        written(res.and_then(|()| out.flush()), Exit::Invalid)?;
        return Err(rules.invalid_error());
    }
    let config = a.config()?;
    let traffic = match a.traffic()? {
        Some(spec) => Some(session::traffic(
            spec,
            &config.host.hosts,
            rules_path == Path::new("-"),
        )?),
        None => None,
    };
    let hosts = session::choose_hosts(&config.host.hosts, traffic.as_ref())?;
    let _ = write!(io::stderr(), "{diag_text}");
    if let Some(n) = session::host_notice(&hosts) {
        eprintln!("fwcheck: {n}");
    }
    let mut session = Session::new(config, rules, hosts);
    if let Some((new_rules, at)) = reload {
        session = session.with_reload(new_rules, at);
    }
    let table = a.format == Format::Table;
    let mode = match (a.format, a.flows, a.limit) {
        (Format::Json, _, _) => RowMode::Json,
        (Format::Table, false, 0) => RowMode::Stream,
        (Format::Table, false, limit) => RowMode::Table { limit },
        _ => RowMode::None,
    };
    let out = io::BufWriter::new(io::stdout().lock());
    let mut sink = CliSink {
        rows: RowWriter::new(out, mode, color_stdout()),
        progress: (table && io::stderr().is_terminal()).then(Progress::new),
    };
    let result = session.run(traffic.as_ref(), &mut sink);
    let (mut out, rows, row_error) = sink.rows.finish();
    let report = result.inspect_err(|_| {
        let _ = out.flush();
    })?;
    let opts = report::check::TableOptions {
        flows: a.flows,
        streamed: mode == RowMode::Stream,
        color: io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let res = match row_error {
        Some(e) => Err(e),
        None => {
            report::check::write(&mut out, format, &report, rows, opts).and_then(|()| out.flush())
        }
    };
    written(res, report.exit())
}

/// The CLI's [`session::Sink`]: rows to standard output, notices and progress to stderr.
struct CliSink<W: Write> {
    rows: RowWriter<W>,
    progress: Option<Progress>,
}

impl<W: Write> session::Sink for CliSink<W> {
    fn wants_record(&mut self) -> bool {
        self.rows.wants_record()
    }
    fn record(&mut self, rec: &PacketRecord, t0: f64) {
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
