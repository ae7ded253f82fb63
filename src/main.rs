//! The `fwcheck` command line: argument parsing, output formats and exit codes. All work is done
//! by the library.

use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, ContentArrangement, Table};

use fwcheck::analysis::capture::CaptureAnalyzer;
use fwcheck::analysis::expect::{self, ExpectResult};
use fwcheck::analysis::lockout::LockoutResult;
use fwcheck::analysis::{self, CheckOptions, Finding, Level, Net, Service};
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::ext::Backend;
use fwcheck::lint::{self, Loaded};
use fwcheck::packet::gen::{self, GenOptions, Profile};
use fwcheck::packet::{flowspec, ChecksumMode, Timestamp};
use fwcheck::replay::{self, Item, Source};
use fwcheck::report::{self, table as rt, PacketRecord, Summary};
use fwcheck::ruleset::printer::{print_ruleset, PrintOptions};
use fwcheck::ruleset::{sniff, Family, InputFormat, ParseOptions};

/// Exit codes (documented in the README).
mod exit {
    pub const OK: u8 = 0;
    pub const FINDINGS: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const INVALID: u8 = 3;
}

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
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    format: OutFormat,
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
fn host_config(h: &HostArgs) -> Result<fwcheck::host::HostConfig, u8> {
    use fwcheck::host::HostConfig;
    let mut c = HostConfig::default();
    for p in &h.host_config {
        let text = std::fs::read_to_string(p).map_err(|e| {
            eprintln!("fwcheck: --host-config {}: {e}", p.display());
            exit::USAGE
        })?;
        c.load_json(&p.display().to_string(), &text).map_err(|e| {
            eprintln!("fwcheck: --host-config {e}");
            exit::USAGE
        })?;
    }
    for s in &h.iface_addr {
        let a = HostConfig::parse_iface_addr(s).map_err(|e| {
            eprintln!("fwcheck: --iface-addr {s}: {e}");
            exit::USAGE
        })?;
        c.add_addr(a);
    }
    for s in &h.route {
        let r = HostConfig::parse_route(s).map_err(|e| {
            eprintln!("fwcheck: --route {s}: {e}");
            exit::USAGE
        })?;
        c.add_route(r);
    }
    Ok(c)
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OutFormat {
    Table,
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// JUnit XML: one test case per lockout check and per expectation.
    Junit,
    /// GitHub Actions workflow annotations.
    Github,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Only {
    Accepted,
    Dropped,
    Rejected,
    /// Dropped or rejected.
    Blocked,
    Uncertain,
    /// Frames without a verdict.
    Unjudged,
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

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LintFormat {
    Table,
    Json,
    /// SARIF 2.1.0: one result per diagnostic.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
    /// JUnit XML: one failing test case per error.
    Junit,
}

impl InputArgs {
    fn options(&self, family: Family) -> ParseOptions {
        ParseOptions {
            family,
            format: match self.input_format {
                InFormat::Auto => InputFormat::Auto,
                InFormat::Restore => InputFormat::Restore,
                InFormat::Script => InputFormat::Script,
            },
            backend: self.backend.get(),
        }
    }

    /// The family to read `text` (from `path`) as: `-4`/`-6`, else what the content shows,
    /// else what the name says, else IPv4. A contradiction is an error naming both sides.
    fn family(&self, path: &Path, text: &str) -> Result<Family, String> {
        let fam = |f: Family| if f == Family::V6 { "IPv6" } else { "IPv4" };
        let evidence = sniff::family_evidence(text);
        let content = evidence.family();
        let shown = |f: Family| {
            evidence
                .sign(f)
                .map(|s| format!("line {}: `{}`", s.line, s.text))
                .unwrap_or_default()
        };
        let explicit = if self.ipv6 {
            Some(Family::V6)
        } else if self.ipv4 {
            Some(Family::V4)
        } else {
            None
        };
        if let Some(want) = explicit {
            return match content {
                Some(c) if c != want => Err(format!(
                    "{} was given but {} holds {} rules ({}); drop the option or give the other file",
                    if want == Family::V6 { "-6" } else { "-4" },
                    path.display(),
                    fam(c),
                    shown(c)
                )),
                _ => Ok(want),
            };
        }
        let name = sniff::family_from_name(path);
        match (content, name) {
            (Some(c), Some(n)) if c != n => Err(format!(
                "the name of {} says {} but its rules are {} ({}); give -4 or -6 to say which",
                path.display(),
                fam(n),
                fam(c),
                shown(c)
            )),
            (Some(c), _) => Ok(c),
            (None, Some(n)) => Ok(n),
            (None, None) => Ok(Family::V4),
        }
    }
}

/// The largest rules file read (iptables-save of a very large ruleset is a few hundred MB at
/// most); larger input is refused instead of read until memory runs out.
const MAX_RULES_BYTES: u64 = 256 << 20;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let _ = COLOR.set(cli.color);
    let code = match cli.command {
        Some(Command::Lint {
            rules,
            input,
            format,
            strict,
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
        None => cmd_sim(cli.sim),
    };
    ExitCode::from(code)
}

fn load(path: &Path, input: &InputArgs) -> Result<Loaded, u8> {
    use std::io::Read;
    let fail = |msg: String| {
        eprintln!("fwcheck: {msg}");
        exit::USAGE
    };
    let mut bytes = Vec::new();
    // The first 64 KiB first: a capture or binary data is refused before the rest is read.
    let read = |src: &mut dyn Read, bytes: &mut Vec<u8>| -> std::io::Result<()> {
        src.take(64 * 1024).read_to_end(bytes)?;
        if sniff::not_text(bytes).is_none() {
            src.take(MAX_RULES_BYTES + 1 - bytes.len() as u64)
                .read_to_end(bytes)?;
        }
        Ok(())
    };
    let read = if path == Path::new("-") {
        read(&mut std::io::stdin().lock(), &mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| read(&mut f, &mut bytes))
    };
    if let Err(e) = read {
        return Err(fail(format!("cannot read {}: {e}", path.display())));
    }
    if bytes.len() as u64 > MAX_RULES_BYTES {
        return Err(fail(format!(
            "{} is larger than {} MiB: not a ruleset fwcheck will read",
            path.display(),
            MAX_RULES_BYTES >> 20
        )));
    }
    match sniff::not_text(&bytes) {
        Some(sniff::NotText::Capture(kind)) => {
            return Err(fail(format!(
                "{} is a {kind} capture, not a ruleset; did you mean --pcap {}?",
                path.display(),
                path.display()
            )))
        }
        Some(sniff::NotText::Binary(at)) => {
            return Err(fail(format!(
                "{} is not a text file (binary data at byte {at}); a ruleset is iptables-save \
                 output, an iptables-restore file or a script of iptables commands",
                path.display()
            )))
        }
        None => {}
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return Err(fail(format!(
                "{} is not a text file (invalid UTF-8 at byte {})",
                path.display(),
                e.utf8_error().valid_up_to()
            )))
        }
    };
    let family = input.family(path, &text).map_err(fail)?;
    let loaded = lint::load_str(&path.display().to_string(), &text, input.options(family));
    if loaded.ruleset.tables.is_empty() && !loaded.has_errors() {
        eprintln!(
            "fwcheck: warning: {} holds no tables or rules: iptables-restore would change nothing",
            path.display()
        );
    }
    Ok(loaded)
}

fn color_stderr() -> bool {
    color_for(std::io::stderr().is_terminal())
}

fn cmd_lint(path: &Path, input: &InputArgs, format: LintFormat, strict: bool) -> u8 {
    let loaded = match load(path, input) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let rep = lint::report(&loaded);
    let mut out = std::io::stdout().lock();
    match format {
        LintFormat::Json => {
            for t in &rep.tables {
                let mut v = serde_json::to_value(t).unwrap_or_default();
                v["type"] = "table".into();
                let _ = writeln!(out, "{v}");
            }
            for d in &rep.diagnostics {
                let mut v = serde_json::to_value(d).unwrap_or_default();
                v["type"] = "diagnostic".into();
                let _ = writeln!(out, "{v}");
            }
            let mut v = serde_json::to_value(&rep.summary).unwrap_or_default();
            v["type"] = "summary".into();
            let _ = writeln!(out, "{v}");
        }
        LintFormat::Table => {
            let _ = write!(
                std::io::stderr(),
                "{}",
                loaded.render_diagnostics(color_stderr())
            );
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic);
            t.set_header(vec!["table", "chain", "policy", "rules", "reached from"]);
            for ts in &rep.tables {
                for c in &ts.chains {
                    t.add_row(vec![
                        Cell::new(ts.table),
                        Cell::new(&c.name),
                        Cell::new(c.policy.unwrap_or("-")),
                        Cell::new(c.rules),
                        Cell::new(if c.reached_from.is_empty() {
                            "(never)".to_string()
                        } else {
                            c.reached_from.join(",")
                        }),
                    ]);
                }
            }
            let s = &rep.summary;
            let _ = writeln!(
                out,
                "{}: {} table(s), {} chain(s), {} rule(s)",
                s.file, s.tables, s.chains, s.rules
            );
            let _ = writeln!(out, "{t}");
            let _ = writeln!(out, "{} error(s), {} warning(s)", s.errors, s.warnings);
        }
        LintFormat::Sarif => {
            let doc = report::ci::sarif_diagnostics(&rep.diagnostics);
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            );
        }
        LintFormat::Github => {
            let _ = write!(out, "{}", report::ci::github_diagnostics(&rep.diagnostics));
        }
        LintFormat::Junit => {
            let _ = write!(out, "{}", report::ci::junit_diagnostics(&rep.diagnostics));
        }
    }
    if rep.summary.errors > 0 {
        exit::INVALID
    } else if strict && rep.summary.warnings > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

fn cmd_fmt(path: &Path, input: &InputArgs, counters: bool) -> u8 {
    let loaded = match load(path, input) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let _ = write!(
        std::io::stderr(),
        "{}",
        loaded.render_diagnostics(color_stderr())
    );
    if loaded.has_errors() {
        return exit::INVALID;
    }
    let text = print_ruleset(&loaded.ruleset, PrintOptions { counters });
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    exit::OK
}

fn parse_profile(name: &str) -> Result<Profile, u8> {
    Profile::ALL
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
            eprintln!(
                "fwcheck: unknown traffic profile `{name}`; expected one of {}",
                names.join(", ")
            );
            exit::USAGE
        })
}

fn parse_flows(specs: &[String]) -> Result<Vec<flowspec::FlowSpec>, u8> {
    specs
        .iter()
        .map(|s| {
            flowspec::parse(s).map_err(|e| {
                // The caret under the offending character of the spec as printed.
                let prefix = "fwcheck: --flow '";
                let col = s.chars().take(e.column.saturating_sub(1)).count();
                eprintln!("{prefix}{s}'\n{}^ {e}", " ".repeat(prefix.len() + col));
                exit::USAGE
            })
        })
        .collect()
}

fn cmd_gen(
    profile: Option<String>,
    output: Option<PathBuf>,
    host: Vec<IpAddr>,
    seed: u64,
    flows: usize,
    start: u64,
    flow: Vec<String>,
) -> u8 {
    // The generator holds what it writes: a bound keeps it to a few GB at most (1,000,000 web
    // sessions are about 11 M packets).
    const MAX_FLOWS: usize = 1_000_000;
    if flows > MAX_FLOWS {
        eprintln!("fwcheck: gen --flows {flows}: at most {MAX_FLOWS}");
        return exit::USAGE;
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
            eprintln!("fwcheck: give a PROFILE or --flow, not both");
            return exit::USAGE;
        }
        match parse_flows(&flow) {
            Ok(specs) => flowspec::build(&specs, &opts),
            Err(c) => return c,
        }
    } else {
        match parse_profile(profile.as_deref().unwrap_or("webserver")) {
            Ok(p) => {
                opts.profile = p;
                gen::generate(&opts)
            }
            Err(c) => return c,
        }
    };
    let res = match output {
        Some(path) => fwcheck::packet::writer::write_pcap_file(&path, &packets).map(|_| {
            eprintln!(
                "fwcheck: wrote {} packets to {}",
                packets.len(),
                path.display()
            )
        }),
        None => {
            if std::io::stdout().is_terminal() {
                eprintln!("fwcheck: refusing to write a capture to a terminal; use -o FILE or redirect standard output");
                return exit::USAGE;
            }
            fwcheck::packet::writer::write_pcap(std::io::stdout().lock(), &packets)
        }
    };
    match res {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("fwcheck: cannot write the capture: {e}");
            exit::USAGE
        }
    }
}

/// Host addresses and the networks named with ADDR/LEN.
type HostList = (Vec<IpAddr>, Vec<(IpAddr, u8)>);

/// Parse `--host` values: an address, or ADDR/LEN which also names the host's network.
fn parse_hosts(values: &[String]) -> Result<HostList, u8> {
    let mut hosts = Vec::new();
    let mut nets = Vec::new();
    for v in values {
        let (a, len) = match v.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (v.as_str(), None),
        };
        let Ok(addr) = a.parse::<IpAddr>() else {
            eprintln!("fwcheck: --host {v}: expected an IP address such as 203.0.113.10 or 2001:db8::10, optionally /LEN");
            return Err(exit::USAGE);
        };
        hosts.push(addr);
        if let Some(l) = len {
            match l.parse::<u8>() {
                Ok(n) if n <= if addr.is_ipv4() { 32 } else { 128 } => nets.push((addr, n)),
                _ => {
                    eprintln!("fwcheck: --host {v}: invalid prefix length `{l}`");
                    return Err(exit::USAGE);
                }
            }
        }
    }
    Ok((hosts, nets))
}

fn cmd_sim(a: SimArgs) -> u8 {
    let Some(rules_path) = a.rules.clone() else {
        eprintln!("fwcheck: a ruleset file is required; try `fwcheck --help`");
        return exit::USAGE;
    };
    let loaded = match load(&rules_path, &a.input) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let diag_text = loaded.render_diagnostics(color_stderr());
    if loaded.has_errors() {
        let _ = write!(std::io::stderr(), "{diag_text}");
        // Every format still writes a complete document, with the errors in it.
        let located: Vec<_> = loaded
            .diagnostics
            .iter()
            .map(|d| d.locate(&loaded.ruleset.source))
            .collect();
        let mut out = std::io::stdout().lock();
        let _ = match a.format {
            OutFormat::Table => Ok(()),
            OutFormat::Json => {
                let errors = located
                    .iter()
                    .filter(|d| d.severity == fwcheck::diag::Severity::Error)
                    .count();
                let mut text = String::new();
                for d in &located {
                    let mut v = serde_json::to_value(d).unwrap_or_default();
                    v["type"] = "diagnostic".into();
                    text.push_str(&format!("{v}\n"));
                }
                let summary = serde_json::json!({
                    "type": "summary",
                    "valid": false,
                    "errors": errors,
                    "warnings": located.len() - errors,
                    "exit": exit::INVALID,
                });
                writeln!(out, "{text}{summary}")
            }
            OutFormat::Sarif => writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&report::ci::sarif_diagnostics(&located))
                    .unwrap_or_default()
            ),
            OutFormat::Junit => write!(out, "{}", report::ci::junit_diagnostics(&located)),
            OutFormat::Github => write!(out, "{}", report::ci::github_diagnostics(&located)),
        };
        let _ = out.flush();
        eprintln!(
            "fwcheck: {} is not a valid ruleset ({} error(s)); nothing simulated",
            rules_path.display(),
            loaded.error_count()
        );
        return exit::INVALID;
    }
    let (mut given_hosts, networks) = match parse_hosts(&a.host.host) {
        Ok(h) => h,
        Err(c) => return c,
    };
    let host_config = match host_config(&a.host) {
        Ok(h) => h,
        Err(c) => return c,
    };
    for ia in &host_config.addrs {
        if !ia.addr.is_loopback() && !given_hosts.contains(&ia.addr) {
            given_hosts.push(ia.addr);
        }
    }
    let mut check = CheckOptions::default();
    for spec in &a.host.ct_timeout {
        let Some((name, secs)) = spec.split_once('=') else {
            eprintln!("fwcheck: --ct-timeout {spec}: expected NAME=SECS, e.g. udp=30");
            return exit::USAGE;
        };
        let Ok(secs) = secs.trim().parse::<u64>() else {
            eprintln!("fwcheck: --ct-timeout {spec}: `{secs}` is not a number of seconds");
            return exit::USAGE;
        };
        // The sysctls take seconds as an int converted to jiffies (`proc_dointvec_jiffies`),
        // refusing more than INT_MAX / HZ.
        let max = i32::MAX as u64 / u64::from(a.host.hz);
        if secs > max {
            eprintln!(
                "fwcheck: --ct-timeout {spec}: at most {max} seconds (INT_MAX / HZ {}), as the \
                 kernel's sysctl refuses larger values",
                a.host.hz
            );
            return exit::USAGE;
        }
        if let Err(e) = check.ct_timeouts.set(name.trim(), secs) {
            eprintln!("fwcheck: --ct-timeout {spec}: {e}");
            return exit::USAGE;
        }
    }
    match a
        .gate
        .mgmt
        .iter()
        .map(|s| Service::parse(s))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(m) => check.mgmt = m,
        Err(e) => {
            eprintln!("fwcheck: --mgmt {e}");
            return exit::USAGE;
        }
    }
    match a
        .gate
        .admin
        .iter()
        .map(|s| Net::parse(s))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(n) => check.admin = n,
        Err(e) => {
            eprintln!("fwcheck: --admin {e}");
            return exit::USAGE;
        }
    }
    let expectations = match &a.gate.expect {
        None => Vec::new(),
        Some(p) => {
            let text = match std::fs::read_to_string(p) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("fwcheck: cannot read {}: {e}", p.display());
                    return exit::USAGE;
                }
            };
            match expect::parse(&text) {
                Ok(x) => x,
                Err(e) => {
                    if e.line > 0 {
                        eprintln!(
                            "fwcheck: {}:{}:{}: {}",
                            p.display(),
                            e.line,
                            e.column,
                            e.message
                        );
                    } else {
                        eprintln!("fwcheck: {}: {}", p.display(), e.message);
                    }
                    return exit::USAGE;
                }
            }
        }
    };
    // A capture on standard input is buffered in a temporary file: host inference reads it
    // once more before the replay (and the file is as large as the capture, not memory).
    let mut _stdin_capture = None;
    let source = if let Some(p) = &a.pcap {
        if p == Path::new("-") {
            if rules_path == Path::new("-") {
                eprintln!(
                    "fwcheck: the rules and the capture cannot both come from standard input"
                );
                return exit::USAGE;
            }
            let spooled = tempfile::NamedTempFile::new().and_then(|mut f| {
                std::io::copy(&mut std::io::stdin().lock(), &mut f)?;
                Ok(f)
            });
            match spooled {
                Ok(f) => {
                    let path = f.path().to_path_buf();
                    _stdin_capture = Some(f);
                    Some(Source::Capture(path))
                }
                Err(e) => {
                    eprintln!("fwcheck: cannot buffer the capture from standard input: {e}");
                    return exit::USAGE;
                }
            }
        } else {
            Some(Source::Capture(p.clone()))
        }
    } else if !a.flow.is_empty() {
        let specs = match parse_flows(&a.flow) {
            Ok(s) => s,
            Err(c) => return c,
        };
        let mut go = GenOptions::default();
        if !given_hosts.is_empty() {
            go.host = given_hosts.clone();
        }
        Some(Source::Packets(flowspec::build(&specs, &go)))
    } else if let Some(name) = &a.synthetic {
        let profile = match parse_profile(name) {
            Ok(p) => p,
            Err(c) => return c,
        };
        let mut go = GenOptions {
            profile,
            ..GenOptions::default()
        };
        if !given_hosts.is_empty() {
            go.host = given_hosts.clone();
        }
        Some(Source::Packets(gen::generate(&go)))
    } else {
        None
    };
    let hosts = match &source {
        Some(src) => match replay::choose_hosts(&given_hosts, src) {
            Ok(h) => h,
            Err(replay::HostError::Ambiguous(why)) => {
                eprintln!("fwcheck: {why}");
                return exit::USAGE;
            }
            Err(e) => {
                match &a.pcap {
                    Some(p) => eprintln!("fwcheck: {}: {e}", p.display()),
                    None => eprintln!("fwcheck: {e}"),
                }
                return exit::INVALID;
            }
        },
        None => replay::HostChoice {
            hosts: given_hosts.clone(),
            inferred: false,
            seen_in: None,
            because: None,
        },
    };
    if source.is_some() && hosts.hosts.is_empty() {
        eprintln!("fwcheck: no IP packets to infer the host from; give --host ADDR");
        return exit::USAGE;
    }
    let mut socket_owners = Vec::new();
    for spec in &a.host.socket_owner {
        match fwcheck::engine::SocketOwner::parse(spec) {
            Ok(o) => socket_owners.push(o),
            Err(e) => {
                eprintln!("fwcheck: --socket-owner {spec}: {e}");
                return exit::USAGE;
            }
        }
    }
    let env = SimEnv {
        hosts: hosts.hosts.clone(),
        networks,
        hz: a.host.hz,
        tcp_loose: a.host.tcp_loose,
        tcp_be_liberal: a.host.tcp_be_liberal,
        ct_checksum: true,
        checksums: a.host.checksums,
        iface: a.host.iface.clone().unwrap_or_else(|| "eth0".to_string()),
        iface_from_capture: a.host.iface.is_none(),
        socket_owners,
        backend: a.input.backend.get(),
        host: Default::default(),
    };
    let mut env = env;
    host_config.apply(&mut env);
    check.env = env.clone();
    check.router = a.host.router;
    let fmt = a.format;
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let _ = write!(std::io::stderr(), "{diag_text}");
    if hosts.inferred {
        if let Some((c, t)) = hosts.seen_in {
            let because = hosts
                .because
                .as_deref()
                .map(|b| format!("; chosen because {b}"))
                .unwrap_or_default();
            let list: Vec<String> = hosts.hosts.iter().map(|h| h.to_string()).collect();
            eprintln!(
                "fwcheck: host inferred as {} (in {c} of {t} packets{because}); use --host to set it",
                list.join(", ")
            );
        }
    }

    // 1. Traffic, if any.
    let mut findings: Vec<Finding> = Vec::new();
    let mut replay_out: Option<(Summary, Vec<report::RuleHits>, replay::ReplayStats, bool)> = None;
    if let Some(source) = source {
        let opts_env = env.clone();
        let opts = SimOptions {
            env,
            router: a.host.router,
            ct_timeouts: check.ct_timeouts,
            ..SimOptions::default()
        };
        let json = fmt == OutFormat::Json;
        // Flows are tracked for --flows and for the terminal summary (blocked connections).
        let mut summary = Summary::new(a.flows || fmt == OutFormat::Table);
        let mut rows = Vec::new();
        let mut hidden = 0usize;
        let mut t0: Option<f64> = None;
        let only = a.only;
        let keep = |verdict: Option<&str>, certain: bool| -> bool {
            match only {
                None => true,
                Some(Only::Accepted) => verdict == Some("ACCEPT"),
                Some(Only::Dropped) => verdict == Some("DROP"),
                Some(Only::Rejected) => verdict == Some("REJECT"),
                Some(Only::Blocked) => matches!(verdict, Some("DROP" | "REJECT")),
                Some(Only::Uncertain) => !certain,
                Some(Only::Unjudged) => verdict.is_none(),
            }
        };
        let table_rows = fmt == OutFormat::Table && !a.flows;
        // `--limit 0`: every row, streamed as lines while the capture is read (constant
        // memory), instead of one table that would hold them all.
        let stream_rows = table_rows && a.limit == 0;
        let color = color_stdout();
        let mut streamed_header = false;
        let progress =
            (fmt == OutFormat::Table && std::io::stderr().is_terminal()).then(Progress::new);
        let rs = &loaded.ruleset;
        let mut analyzer = CaptureAnalyzer::new(&check, &hosts.hosts);
        let mut rule_infos = report::RuleInfos::new(rs);
        let result = replay::replay(rs, opts, source, |item| {
            // A record is built only for a frame that is printed (JSON, or a table row within
            // --limit): a long capture's frames beyond the table cost nothing here.
            let (rec, t) = match item {
                Item::Packet(p, o) => {
                    summary.add(Some(p), o);
                    analyzer.observe(p, o);
                    let t = *t0.get_or_insert(p.ts.as_secs_f64());
                    if !keep(o.verdict.map(|v| v.as_str()), o.certain) {
                        (None, t)
                    } else if json || (table_rows && (a.limit == 0 || rows.len() < a.limit)) {
                        (Some(PacketRecord::new(&mut rule_infos, p, o)), t)
                    } else {
                        hidden += usize::from(table_rows);
                        (None, t)
                    }
                }
                Item::Problem(p) => {
                    let rec = PacketRecord::problem(p);
                    summary.add(
                        None,
                        &fwcheck::engine::Outcome::unjudged(
                            p.frame,
                            rec.reason.clone().unwrap_or_default(),
                        ),
                    );
                    let t = *t0.get_or_insert(rec.time);
                    (keep(None, true).then_some(rec), t)
                }
            };
            if let Some(pr) = &progress {
                pr.tick(summary.frames);
            }
            let Some(rec) = rec else { return };
            if json {
                if let Ok(s) = serde_json::to_string(&rec) {
                    let _ = writeln!(stdout, "{s}");
                }
            } else if stream_rows {
                if !streamed_header {
                    streamed_header = true;
                    let _ = writeln!(stdout, "{}", rt::packet_stream_header());
                }
                let _ = writeln!(stdout, "{}", rt::packet_line(&rec, t));
            } else if table_rows {
                if rows.len() < a.limit {
                    rows.push(rt::packet_row(&rec, t, color));
                } else {
                    hidden += 1;
                }
            }
        });
        if let Some(pr) = &progress {
            pr.done();
        }
        let (engine, stats) = match result {
            Ok(r) => r,
            Err(e) => {
                let _ = stdout.flush();
                eprintln!(
                    "fwcheck: {}: {e}",
                    a.pcap
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                );
                return exit::INVALID;
            }
        };
        if let Some(err) = &stats.capture_error {
            let file = a
                .pcap
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            if !a.keep_going {
                let _ = stdout.flush();
                eprintln!(
                    "fwcheck: {file}: {err}; {} frames before it were read (--keep-going to judge them anyway)",
                    stats.frames.saturating_sub(1)
                );
                return exit::INVALID;
            }
            eprintln!(
                "fwcheck: warning: {file}: {err}; judging the frames before it (--keep-going)"
            );
        }
        let hits = report::rule_hits(&engine);
        findings.extend(analyzer.finish(&loaded, &engine));
        if a.pcap.is_some() {
            if let Some(name) = report_interfaces(&loaded, &stats, &opts_env) {
                // The checks without a capture (lockout, expectations) see the interface most
                // packets were captured on.
                check.env.iface = name;
            }
        }
        if fmt == OutFormat::Table {
            if a.flows {
                let _ = writeln!(stdout, "{}", rt::flows_table(&summary));
            } else if !stream_rows {
                let _ = writeln!(stdout, "{}", rt::packets_table(rows, color));
                if hidden > 0 {
                    let _ = writeln!(
                        stdout,
                        "({hidden} more packets not shown; use --limit 0, --only or --format json)"
                    );
                }
            }
            let _ = writeln!(stdout, "{}", rt::rules_table(&hits));
            let _ = writeln!(stdout, "{}", rt::summary_table(&summary));
            if !a.flows {
                let (t, more) = rt::blocked_flows_table(&summary, 10);
                let n = summary.flow_count();
                let blocked = summary.blocked_flow_count();
                let _ = writeln!(
                    stdout,
                    "{n} flows, {} fully accepted, {blocked} with packets not accepted",
                    n - blocked
                );
                if blocked > 0 {
                    let _ = writeln!(stdout, "{t}");
                    if more > 0 {
                        let _ = writeln!(stdout, "({more} more; --flows lists every flow)");
                    }
                }
            }
        }
        replay_out = Some((summary, hits, stats, engine.conntrack_active()));
    }

    // 2. Static checks: lockout, probes, shadowing, structure; 3. expectations.
    let rs = &loaded.ruleset;
    let lockout = analysis::lockout::evaluate(rs, &check);
    let mut all: Vec<Finding> = lockout.iter().filter_map(|l| l.finding.clone()).collect();
    all.extend(analysis::static_findings_except_lockout(&loaded, &check));
    all.extend(findings);
    let results = expect::evaluate(rs, &check, &expectations);
    let threshold = match a.gate.fail_on {
        FailOn::Error => Some(Level::Error),
        FailOn::Warning => Some(Level::Warning),
        FailOn::Note => Some(Level::Note),
        FailOn::Never => None,
    };
    let failing = threshold.is_some_and(|t| all.iter().any(|f| f.severity >= t))
        || results.iter().any(|r| !r.passed);
    let file = rs.source.name.clone();

    match fmt {
        OutFormat::Table => {
            if let Some((summary, _, stats, ct)) = &replay_out {
                print_replay_summary(&mut stdout, summary, &hosts, stats, *ct, a.host.checksums);
            }
            print_findings(&mut stdout, &loaded, &all, &lockout, &results);
        }
        OutFormat::Json => {
            if let Some((summary, hits, _, _)) = &replay_out {
                for f in summary.flow_records() {
                    if let Ok(s) = serde_json::to_string(&f) {
                        let _ = writeln!(stdout, "{s}");
                    }
                }
                for h in hits {
                    if let Ok(s) = serde_json::to_string(h) {
                        let _ = writeln!(stdout, "{s}");
                    }
                }
            }
            for f in &all {
                let mut v = serde_json::to_value(f).unwrap_or_default();
                v["type"] = "finding".into();
                let _ = writeln!(stdout, "{v}");
            }
            for l in &lockout {
                let _ = writeln!(
                    stdout,
                    "{}",
                    serde_json::json!({"type": "lockout", "check": l.check, "passed": l.finding.is_none()})
                );
            }
            for r in &results {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                v["type"] = "expectation".into();
                let _ = writeln!(stdout, "{v}");
            }
            let mut counts = std::collections::BTreeMap::new();
            for f in &all {
                *counts.entry(f.severity.as_str()).or_insert(0usize) += 1;
            }
            let mut summary = match &replay_out {
                Some((s, _, stats, ct)) => {
                    serde_json::to_value(s.record(&hosts, *ct, stats)).unwrap_or_default()
                }
                None => serde_json::json!({"type": "summary"}),
            };
            summary["findings"] = serde_json::to_value(&counts).unwrap_or_default();
            summary["expectations"] = serde_json::json!({
                "passed": results.iter().filter(|r| r.passed).count(),
                "failed": results.iter().filter(|r| !r.passed).count(),
            });
            summary["exit"] = if failing { 1 } else { 0 }.into();
            let _ = writeln!(stdout, "{summary}");
        }
        OutFormat::Sarif => {
            let doc = report::ci::sarif(&all, &results, &file);
            let _ = writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            );
        }
        OutFormat::Junit => {
            let _ = write!(stdout, "{}", report::ci::junit(&lockout, &results));
        }
        OutFormat::Github => {
            let _ = write!(stdout, "{}", report::ci::github(&all, &results, &file));
        }
    }
    let _ = stdout.flush();
    if failing {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

/// After replaying a capture: says once (stderr) which interface names the packets were seen
/// on and warns about interfaces the rules name that no packet was seen on. Returns the name
/// most packets were captured on when it comes from the capture.
fn report_interfaces(loaded: &Loaded, stats: &replay::ReplayStats, env: &SimEnv) -> Option<String> {
    let ci = &stats.interfaces;
    let used: Vec<_> = ci.interfaces.iter().filter(|i| i.packets > 0).collect();
    let sections = used.iter().any(|i| i.section > 0);
    let label = |i: &fwcheck::packet::capture::CaptureInterface| {
        if sections {
            format!("section {}, if {}", i.section, i.id)
        } else {
            format!("if {}", i.id)
        }
    };
    let mut main_name = None;
    if env.iface_from_capture && ci.named() {
        let parts: Vec<String> = used
            .iter()
            .map(|i| {
                let n = i.packets;
                let pk = if n == 1 { "packet" } else { "packets" };
                match (&i.name, &i.recorded_name) {
                    (Some(name), _) => format!("{name} ({}, {n} {pk})", label(i)),
                    (None, Some(r)) if r == "any" => format!(
                        "any ({}, {n} {pk}: libpcap's any device, seen as {})",
                        label(i),
                        env.iface
                    ),
                    (None, Some(r)) => format!(
                        "{r:?} ({}, {n} {pk}: not a Linux interface name, seen as {})",
                        label(i),
                        env.iface
                    ),
                    (None, None) => {
                        format!("{} ({n} {pk}: no name, seen as {})", label(i), env.iface)
                    }
                }
            })
            .collect();
        // The first of the named interfaces with the most packets.
        let best = used
            .iter()
            .filter(|i| i.name.is_some())
            .rev()
            .max_by_key(|i| i.packets)
            .and_then(|i| i.name.as_deref())
            .map(str::to_string);
        let gate = match (&best, used.len() > 1) {
            (Some(b), true) => format!("; lockout and expectations use {b}"),
            _ => String::new(),
        };
        eprintln!(
            "fwcheck: interfaces from the capture: {}{gate}; use --iface NAME to see every packet on one",
            parts.join(", ")
        );
        main_name = best;
    } else if !env.iface_from_capture && ci.named() {
        let names: Vec<String> = used
            .iter()
            .filter_map(|i| i.name.as_ref().map(|n| format!("{n} ({})", label(i))))
            .collect();
        eprintln!(
            "fwcheck: every packet is seen on {} (--iface); the capture names {}",
            env.iface,
            names.join(", ")
        );
    }
    if env.iface_from_capture && !ci.ifindexes.is_empty() {
        let ix: Vec<String> = ci.ifindexes.iter().map(|(i, _)| i.to_string()).collect();
        let n: u64 = ci.ifindexes.iter().map(|(_, n)| n).sum();
        eprintln!(
            "fwcheck: {n} packets carry a Linux cooked (SLL2) interface index ({}) but no interface \
             name; they are seen on {} (use --iface NAME to name it)",
            ix.join(", "),
            env.iface
        );
    }
    if stats.packets == 0 {
        return main_name;
    }
    let seen = replay::interfaces_seen(stats, env);
    let hint = if env.iface_from_capture && !ci.named() {
        "; the capture names no interface: use --iface NAME"
    } else {
        ""
    };
    for u in replay::rules_naming_unseen(&loaded.ruleset, &seen) {
        let lines: Vec<String> = u.lines.iter().map(|l| l.to_string()).collect();
        let which = if lines.len() == 1 { "line" } else { "lines" };
        eprintln!(
            "fwcheck: warning: rules name interface {} ({which} {}) but no packet of the capture \
             was seen on it (interfaces seen: {}{hint})",
            u.name,
            lines.join(", "),
            seen.join(", ")
        );
    }
    main_name
}

fn print_replay_summary(
    out: &mut impl Write,
    summary: &Summary,
    hosts: &replay::HostChoice,
    stats: &replay::ReplayStats,
    ct: bool,
    checksums: ChecksumMode,
) {
    let judged = summary.accepted + summary.dropped + summary.rejected;
    let _ = writeln!(
        out,
        "{} frames: {judged} judged ({} accepted, {} dropped, {} rejected, {} uncertain), {} not judged; host {}{}; conntrack {}",
        summary.frames,
        summary.accepted,
        summary.dropped,
        summary.rejected,
        summary.uncertain,
        summary.frames - judged,
        hosts.hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(", "),
        if hosts.inferred { " (inferred)" } else { "" },
        if ct { "on" } else { "off (no rule needs it)" },
    );
    for (why, n) in &summary.not_judged {
        let _ = writeln!(out, "  not judged: {n} × {why}");
    }
    if let Some(line) = stats.checksum_note(checksums) {
        let _ = writeln!(out, "  checksums: {line}");
    }
    if let Some(line) = stats.gso_note() {
        let _ = writeln!(out, "  segments: {line}");
    }
    for ev in &stats.fragment_events {
        let _ = writeln!(out, "  fragments: {ev}");
    }
}

/// Findings as diagnostics pointing at their rules-file line, then lockout checks and
/// expectations.
fn print_findings(
    out: &mut impl Write,
    loaded: &Loaded,
    findings: &[Finding],
    lockout: &[LockoutResult],
    results: &[ExpectResult],
) {
    let src = &loaded.ruleset.source;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut shown = findings.to_vec();
    shown.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.code, f.line));
    let never_hit = shown.iter().filter(|f| f.code == "FW008").count();
    for f in shown
        .iter()
        .filter(|f| f.code != "FW008" || never_hit <= 20)
    {
        let span = match f.line {
            Some(l) if l > 0 && l <= src.line_count() => {
                let r = src.line_range(l);
                fwcheck::diag::Span::new(r.start, r.end)
            }
            _ => fwcheck::diag::Span::default(),
        };
        let mut d = fwcheck::diag::Diagnostic::error(f.code, span, f.message.clone());
        d.severity = match f.severity {
            Level::Error => fwcheck::diag::Severity::Error,
            Level::Warning => fwcheck::diag::Severity::Warning,
            Level::Note => fwcheck::diag::Severity::Note,
        };
        if let Some(p) = &f.packet {
            d = d.note(format!("packet: {p}"));
        }
        for x in &f.details {
            d = d.note(x.clone());
        }
        if let Some(fix) = &f.fix {
            d = d.note(format!("fix: {fix}"));
        }
        if f.line.is_some() {
            let _ = write!(out, "{}", d.render(src, color));
        } else {
            let _ = writeln!(out, "{}[{}]: {}", f.severity.as_str(), f.code, f.message);
            for n in &d.notes {
                let _ = writeln!(out, "  = {n}");
            }
            let _ = writeln!(out);
        }
    }
    if never_hit > 20 {
        let _ = writeln!(out, "note[FW008]: {never_hit} rules were never hit by the capture (use --format json to list them)\n");
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(vec!["check", "result", "detail"]);
    for l in lockout {
        let (result, detail) = match &l.finding {
            None => ("pass", String::new()),
            Some(f) => (
                if f.severity == Level::Error {
                    "FAIL"
                } else {
                    "warn"
                },
                format!(
                    "{} not accepted ({})",
                    f.packet.clone().unwrap_or_default(),
                    f.rule
                        .as_ref()
                        .map(|r| r.short())
                        .unwrap_or_else(|| "the IP stack".into())
                ),
            ),
        };
        let name = if l.check == "loopback" {
            "loopback traffic (lo)".to_string()
        } else {
            format!("no lockout via {}", l.check)
        };
        t.add_row(vec![Cell::new(name), Cell::new(result), Cell::new(detail)]);
    }
    for r in results {
        t.add_row(vec![
            Cell::new(format!("expect: {}", r.name)),
            Cell::new(if r.passed { "pass" } else { "FAIL" }),
            Cell::new({
                let mut d = format!("expected {}, got {}", r.expected, r.got);
                let why: Vec<String> = r
                    .packet
                    .iter()
                    .cloned()
                    .chain(r.rule.as_ref().map(|x| x.short()))
                    .collect();
                if !why.is_empty() {
                    d += &format!(" ({})", why.join("; "));
                }
                d
            }),
        ]);
    }
    let _ = writeln!(out, "{t}");
    let count = |l: Level| findings.iter().filter(|f| f.severity == l).count();
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s), {} note(s); expectations: {} passed, {} failed",
        count(Level::Error),
        count(Level::Warning),
        count(Level::Note),
        results.iter().filter(|r| r.passed).count(),
        results.iter().filter(|r| !r.passed).count()
    );
}

/// A progress line on stderr for long captures (only when stderr is a terminal).
struct Progress {
    start: std::time::Instant,
    last: std::cell::Cell<u64>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            start: std::time::Instant::now(),
            last: std::cell::Cell::new(0),
        }
    }
    fn tick(&self, frames: u64) {
        if frames - self.last.get() >= 100_000 {
            self.last.set(frames);
            let secs = self.start.elapsed().as_secs_f64();
            eprint!(
                "\r\x1b[2Kfwcheck: {frames} frames ({:.0}/s)",
                frames as f64 / secs.max(1e-9)
            );
        }
    }
    fn done(&self) {
        if self.last.get() > 0 {
            eprint!("\r\x1b[2K");
        }
    }
}
