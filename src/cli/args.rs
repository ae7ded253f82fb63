//! The command line's argument definitions (clap): the main command's options and the
//! subcommands. Conversion of the main command's options into a [`session::Config`] is here
//! too; nothing here does any work.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use fwcheck::analysis::{Level, Net, Service};
use fwcheck::engine::SocketOwner;
use fwcheck::ext::ipset::IpSets;
use fwcheck::ext::Backend;
use fwcheck::packet::gen;
use fwcheck::packet::ChecksumMode;
use fwcheck::report::check::Format;
use fwcheck::report::lint::Format as LintFormat;
use fwcheck::ruleset::{Family, InputFormat};
use fwcheck::session::{self, Config, Error, Gate, HostOptions, Only, RulesSource};

use super::{diff, exposure, fleet, steps, why, ColorArg};

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
pub struct Cli {
    #[command(flatten)]
    pub sim: SimArgs,
    /// Colours: verdicts in tables, diagnostics. `auto`: when writing to a terminal and
    /// NO_COLOR is not set.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, global = true)]
    pub color: ColorArg,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug)]
pub struct SimArgs {
    /// Ruleset file (iptables-save output, iptables-restore input, or a script of iptables commands).
    #[arg(required = true)]
    pub rules: Option<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Replay this capture (pcap or pcapng; `-` reads it from standard input).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["synthetic", "flow"])]
    pub pcap: Option<PathBuf>,
    /// A capture whose rest cannot be read (a corrupt record) is an error (exit 3); with this,
    /// the frames before it are judged and reported as usual, with the error as a warning.
    #[arg(long)]
    pub keep_going: bool,
    /// Replay generated traffic of this profile (webserver, scan, dns, ping-flood, knock, ftp).
    #[arg(
        long,
        value_name = "PROFILE",
        num_args = 0..=1,
        default_missing_value = "webserver",
        conflicts_with = "flow"
    )]
    pub synthetic: Option<String>,
    /// Replay an ad-hoc flow, e.g. `tcp 198.51.100.7:40000 > 203.0.113.10:22` (repeatable).
    #[arg(long, value_name = "SPEC")]
    pub flow: Vec<String>,
    #[command(flatten)]
    pub host: HostArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Show only these packets in the packet table / JSON packet records.
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Show a per-connection view instead of the packet table.
    #[arg(long)]
    pub flows: bool,
    /// Keep at most N flows for --flows and the blocked-flows summary; packets of later flows
    /// are counted together, not per flow (bounded memory on scans and floods).
    #[arg(long, default_value_t = fwcheck::report::DEFAULT_MAX_FLOWS as u64, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_flows: u64,
    /// At most this many packet rows in the table output (0 = all).
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub limit: usize,
    #[command(flatten)]
    pub gate: GateArgs,
    /// Apply an iptables command to the ruleset before simulating (repeatable, in order), e.g.
    /// `-D INPUT 3`, `-I INPUT 1 -s 192.0.2.0/24 -j DROP`, `-P OUTPUT ACCEPT`.
    #[arg(long = "what-if", value_name = "COMMAND", allow_hyphen_values = true)]
    pub what_if: Vec<String>,
    /// Load NEW_RULES mid-capture, keeping conntrack and match state (as iptables-restore on a
    /// live host): before frame N (`frame:N`) or at a time in seconds after the first frame.
    #[arg(long = "reload-at", num_args = 2, value_names = ["TIME|frame:N", "NEW_RULES"], requires = "pcap")]
    pub reload_at: Vec<String>,
    /// The other family's ruleset (rules.v6 beside rules.v4, or the other way round): report
    /// each service reachable over one family and not the other (FW018); with --pcap, each
    /// frame is judged by its family's ruleset.
    #[arg(long, value_name = "OTHER_RULES")]
    pub parity: Option<PathBuf>,
    /// The host's ip6tables ruleset beside an iptables RULES: --parity, refused unless the
    /// file is IPv6. With --pcap, each frame is judged by its family's ruleset.
    #[arg(long, value_name = "RULES_V6", conflicts_with_all = ["parity", "rules4"])]
    pub rules6: Option<PathBuf>,
    /// The host's iptables ruleset beside an ip6tables RULES: --parity, refused unless the
    /// file is IPv4.
    #[arg(long, value_name = "RULES_V4", conflicts_with = "parity")]
    pub rules4: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct GateArgs {
    /// A management service that must stay reachable (repeatable): tcp/22, udp/1194, 2222.
    #[arg(long, value_name = "PROTO/PORT", default_value = "tcp/22")]
    pub mgmt: Vec<String>,
    /// Where the administrator connects from (repeatable CIDR). Default: anywhere — then the
    /// check only needs some address to get in.
    #[arg(long, value_name = "CIDR")]
    pub admin: Vec<String>,
    /// Declarative checks to evaluate (TOML, see the README).
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
    /// Exit 1 when a finding has at least this severity (or an expectation fails).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Note,
    Never,
}

#[derive(Args, Debug, Clone)]
pub struct HostArgs {
    /// An address of the simulated host (repeatable; ADDR/LEN also names its network). Default:
    /// the address seen in the most packets.
    #[arg(long, value_name = "ADDR")]
    pub host: Vec<String>,
    /// Name of the interface every packet is seen on, as `-i`/`-o` see it. Default: the name
    /// of the interface each packet was captured on (pcapng), else the device --host-config
    /// puts the host's address on, else eth0.
    #[arg(long, value_name = "NAME")]
    pub iface: Option<String>,
    /// An address of one of the host's interfaces, `NAME=ADDR/LEN` (repeatable), e.g.
    /// `docker0=172.17.0.1/16`: LOCAL to addrtype, its subnet a connected route on NAME.
    #[arg(long = "iface-addr", value_name = "NAME=ADDR/LEN")]
    pub iface_addr: Vec<String>,
    /// A route, `DEST/LEN [via GW] dev NAME` or `default via GW dev NAME` (repeatable): the
    /// output interface (`-o`) of forwarded and outbound packets, longest prefix first.
    #[arg(long, value_name = "ROUTE")]
    pub route: Vec<String>,
    /// An interface's MTU, `NAME=MTU` (repeatable), e.g. `lan0=1280` (`ip -j addr` in
    /// --host-config gives them too): a forwarded packet larger than its output interface's MTU
    /// is dropped before FORWARD when it may not be fragmented (IPv4 DF, any IPv6), and the
    /// router answers "fragmentation needed" / "packet too big".
    #[arg(long, value_name = "NAME=MTU")]
    pub mtu: Vec<String>,
    /// The host's interfaces, routes and multicast groups as `ip -j addr` / `ip -j route` /
    /// `ip -j maddr` print them: one file with {"addr": [...], "route": [...], "maddr": [...]},
    /// or each array in its own file (repeatable).
    #[arg(long = "host-config", value_name = "FILE")]
    pub host_config: Vec<PathBuf>,
    /// Reverse-path filtering, net.ipv4.conf.{all,NAME}.rp_filter: 0 off (the kernel's
    /// default), 1 strict (the route back to the source must leave by the input interface),
    /// 2 loose (any route back); `NAME=0|1|2` for one interface (repeatable; the kernel takes
    /// the higher of `all` and the interface's). IPv4 only, and only with the host's interfaces
    /// and routes (--iface-addr, --route, --host-config). Debian and Ubuntu often set 2 in
    /// /etc/sysctl.d (10-network-security.conf): check `sysctl net.ipv4.conf.all.rp_filter`.
    #[arg(long = "rp-filter", value_name = "[NAME=]0|1|2")]
    pub rp_filter: Vec<String>,
    /// A multicast group the host joined, `[NAME=]GROUP` (repeatable; without NAME on every
    /// interface), e.g. `eth0=224.0.0.251` for mDNS, or `none`. The groups every interface
    /// joins by itself (224.0.0.1, ff02::1, the solicited-node groups of its addresses, ff02::2
    /// with --router) need none. Without --join (or `ip -j maddr` in --host-config) whether the
    /// host joined any other group is unknown: packets to it are taken as dropped by the input
    /// route after PREROUTING, uncertain. `ip maddr` on the host lists its groups.
    #[arg(long = "join", value_name = "[NAME=]GROUP")]
    pub join: Vec<String>,
    /// A sysctl of the host, `KEY=VALUE` (repeatable; the "sysctl" object of --host-config
    /// too): `net.bridge.bridge-nf-call-iptables=0` / `net.bridge.bridge-nf-call-ip6tables=0`
    /// for a host whose bridges run no iptables (ip6tables) hook for bridged frames — no
    /// `br_netfilter` module (a libvirt or plain `ip link add br0 type bridge` host), or the
    /// sysctl set to 0. Default 1, as `br_netfilter` sets it (Docker and Kubernetes load it):
    /// check `sysctl net.bridge.bridge-nf-call-iptables` on the host (no such key: pass 0).
    #[arg(long = "sysctl", value_name = "KEY=VALUE")]
    pub sysctl: Vec<String>,
    /// The host forwards traffic that is neither to nor from it (FORWARD chain).
    #[arg(long)]
    pub router: bool,
    /// nf_conntrack_tcp_loose: pick up TCP connections mid-stream.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub tcp_loose: bool,
    /// nf_conntrack_tcp_be_liberal: never mark out-of-window TCP packets INVALID.
    #[arg(long)]
    pub tcp_be_liberal: bool,
    /// nf_conntrack_tcp_ignore_invalid_rst: a RST whose sequence number is out of window is
    /// let through untracked instead of being marked INVALID.
    #[arg(long)]
    pub tcp_ignore_invalid_rst: bool,
    /// What the kernel's conntrack table held when the capture began. `unknown` (default):
    /// a TCP connection whose SYN is not in the capture, and a UDP datagram that looks like an
    /// answer (from a port below 1024 to one above) or an ICMP query reply first seen within
    /// its conntrack timeout of the capture's start, may have been tracked already (ESTABLISHED), so where a conntrack rule's answer would differ its first
    /// captured packet is uncertain. `empty`: the ruleset (or conntrack) started with the
    /// capture, so such a connection is picked up as it is seen: NEW (INVALID for a reply).
    /// `tracked`: conntrack ran before the capture (the usual host), so a TCP connection
    /// without its SYN is ESTABLISHED (UDP answers and ICMP replies stay uncertain: they may
    /// be unsolicited).
    #[arg(long, value_enum, default_value_t = ConntrackStart::Unknown, value_name = "STATE")]
    pub conntrack_start: ConntrackStart,
    /// Kernel HZ (jiffies per second), used by -m limit/hashlimit/recent arithmetic: 100, 250,
    /// 300 or 1000 (CONFIG_HZ); other values from 24 to 1200 are accepted for odd kernels.
    #[arg(long, default_value_t = 250, value_name = "N", value_parser = clap::value_parser!(u32).range(24..=1200))]
    pub hz: u32,
    /// A conntrack timeout in seconds, as the matching sysctl sets it (repeatable), e.g.
    /// `udp=30` for net.netfilter.nf_conntrack_udp_timeout (--help lists every name).
    #[arg(long = "ct-timeout", value_name = "NAME=SECS", long_help = ct_timeout_long_help())]
    pub ct_timeout: Vec<String>,
    /// net.netfilter.nf_conntrack_max: connections tracked at once (0: no limit). At the
    /// limit a new connection early-drops an unassured one or is dropped ("table full").
    #[arg(long = "ct-max", default_value_t = fwcheck::conntrack::DEFAULT_CT_MAX, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=i32::MAX as i64))]
    pub ct_max: u32,
    /// net.netfilter.nf_conntrack_buckets: the conntrack hash size (what early_drop scans).
    #[arg(long = "ct-buckets", default_value_t = fwcheck::conntrack::DEFAULT_CT_MAX, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=(1 << 28)))]
    pub ct_buckets: u32,
    /// net.ipv4.ipfrag_high_thresh (and nf_conntrack_frag6_high_thresh), bytes: above it every
    /// fragment is dropped until queues complete or time out.
    #[arg(long = "ipfrag-high-thresh", default_value_t = fwcheck::packet::defrag::DEFAULT_HIGH_THRESH as u64,
          value_name = "BYTES", value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    pub ipfrag_high_thresh: u64,
    /// Which TCP/UDP/ICMP checksums the kernel verifies. `auto`: checksums left for offload
    /// (the field holds the pseudo-header sum: captured on the sending host, a veth, VM or
    /// container) are never verified, others are; `verify`: every one is (a NIC without receive
    /// offload); `ignore`: none is (also: the checksums a short snap length cut off were
    /// good).
    #[arg(long, value_enum, default_value_t = ChecksumMode::Auto, value_name = "MODE")]
    pub checksums: ChecksumMode,
    /// The owner of the host's local sockets, for `-m owner` (repeatable; first that applies
    /// wins): `UID[:GID]` for every socket, or `PROTO ADDR/PORT=UID[:GID]` for the flows with
    /// that peer address (`*`: any) and port on either side, e.g. `udp */53=101`.
    #[arg(long = "socket-owner", value_name = "[SPEC=]UID[:GID]")]
    pub socket_owner: Vec<String>,
    /// The host's ipsets, as `ipset save` prints them: `-m set` and `-j SET` are then exact
    /// (element timeouts count from the capture's first packet).
    #[arg(long = "ipset", value_name = "FILE")]
    pub ipset: Option<PathBuf>,
    /// `none`: no captured packet arrived IPsec-decapsulated. Without it, once a capture shows
    /// IPsec traffic (ESP, AH, IPcomp, ESP in UDP/4500) reaching the host on an interface, the
    /// later packets from that interface may have been decapsulated, and `-m policy --dir in`
    /// is uncertain for them.
    #[arg(long, value_enum, value_name = "none")]
    pub ipsec: Option<IpsecDecl>,
    /// For uncertain verdicts, the verdict each match fwcheck could not decide would have led
    /// to had it matched (run on a fork of the replay's state; `trace` always shows them). At
    /// most N packets get them (default 1000): each costs a copy of the replay's state
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1000")]
    pub alternatives: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
        /// The simulated host of the --pcap replay (as for the main command).
        #[command(flatten)]
        host: HostArgs,
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
        /// webserver (default), scan, dns, ping-flood, knock, ftp.
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
    Trace(why::TraceArgs),
    /// Draw the chain graph (DOT or SVG), with hit counts from a capture.
    Graph(why::GraphArgs),
    /// Apply a script of iptables commands step by step and check after every step that the
    /// administrator's established session still passes.
    Steps(steps::StepsArgs),
    /// The same traffic through two rulesets: every packet and flow whose verdict changes, and
    /// the findings new, resolved or unchanged.
    Diff(diff::DiffArgs),
    /// The ports reachable from outside, per interface and family, with the path each takes
    /// (INPUT, or DNAT and FORWARD to a container) and the rule that decides.
    Exposure(exposure::ExposureArgs),
    /// Check many hosts from a manifest (each as `fwcheck RULES --pcap ...` would), in
    /// parallel: one merged report with a line per host.
    Fleet(fleet::FleetArgs),
}

#[derive(clap::Args, Debug, Clone)]
pub struct InputArgs {
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
    pub input_format: InFormat,
    /// Which iptables loads the rules: nft (iptables-nft, Debian's default) or legacy. They
    /// install some matches (limit, mark, simple tcp/udp) as different kernel code.
    #[arg(long, value_enum, default_value_t = BackendArg::Nft)]
    pub backend: BackendArg,
}

/// `--conntrack-start`: what conntrack held when the capture began.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConntrackStart {
    /// Connections open before the capture may have been tracked.
    Unknown,
    /// Nothing: the ruleset (or conntrack) started with the capture.
    Empty,
    /// Every connection open when the capture began: conntrack ran before it (as on most
    /// hosts), so a TCP connection whose SYN is not in the capture is ESTABLISHED.
    Tracked,
}

/// What the user says about IPsec decapsulation (`--ipsec`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpsecDecl {
    /// No captured packet arrived decapsulated.
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendArg {
    Nft,
    Legacy,
}

impl BackendArg {
    pub fn get(self) -> Backend {
        match self {
            BackendArg::Nft => Backend::Nft,
            BackendArg::Legacy => Backend::Legacy,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InFormat {
    Auto,
    Restore,
    Script,
}

impl InputArgs {
    /// How to read the rules file `path`, on a host with the sets `ipsets` (`--ipset`; `None`:
    /// unknown).
    pub fn source(&self, path: &Path, ipsets: Option<&Arc<IpSets>>) -> RulesSource {
        RulesSource {
            ipsets: ipsets.cloned(),
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

/// `--ct-timeout`'s long help: every name with its sysctl and kernel default, from the
/// conntrack trackers' timeout tables.
fn ct_timeout_long_help() -> String {
    format!(
        "A conntrack timeout in seconds, as the matching sysctl sets it (repeatable), e.g. \
         `udp=30` for net.netfilter.nf_conntrack_udp_timeout, `frag4=30` for \
         net.ipv4.ipfrag_time (README: every sysctl). Names, with the kernel's defaults:{}",
        fwcheck::conntrack::Timeouts::help_text()
    )
}

/// `--iface-addr`, `--route`, `--mtu`, `--host-config`, `--rp-filter`, `--join` and `--sysctl`, in one host
/// configuration.
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
    for s in &h.mtu {
        let (dev, m) =
            HostConfig::parse_mtu(s).map_err(|e| Error::usage(format!("--mtu {s}: {e}")))?;
        c.set_mtu(&dev, m);
    }
    for s in &h.rp_filter {
        c.rp_filter
            .parse(s)
            .map_err(|e| Error::usage(format!("--rp-filter {s}: {e}")))?;
    }
    for s in &h.join {
        c.parse_join(s)
            .map_err(|e| Error::usage(format!("--join {s}: {e}")))?;
    }
    for s in &h.sysctl {
        c.parse_sysctl(s)
            .map_err(|e| Error::usage(format!("--sysctl {s}: {e}")))?;
    }
    Ok(c)
}

impl HostArgs {
    /// The simulated host as the session takes it: the one conversion of the host options,
    /// shared by the main command and every subcommand that simulates (`steps`, `diff`,
    /// `trace`, `graph`, `lint --chains --pcap`). A bad value is an error (exit 2).
    pub fn host_options(&self, backend: Backend) -> Result<HostOptions, Error> {
        self.host_options_with(backend, self.ipsets()?)
    }

    /// `--ipset FILE`: the host's sets, read and parsed (a bad file is exit 2). The rules are
    /// loaded with them ([`fwcheck::session::RulesSource::ipsets`]) before the other host
    /// options are converted.
    pub fn ipsets(&self) -> Result<Option<Arc<IpSets>>, Error> {
        let Some(p) = &self.ipset else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(p)
            .map_err(|e| Error::usage(format!("--ipset {}: {e}", p.display())))?;
        let sets = IpSets::parse(&text)
            .map_err(|e| Error::usage(format!("--ipset {}:{e}", p.display())))?;
        Ok(Some(Arc::new(sets)))
    }

    /// [`HostArgs::host_options`] with the sets already read ([`HostArgs::ipsets`]).
    pub fn host_options_with(
        &self,
        backend: Backend,
        ipsets: Option<Arc<IpSets>>,
    ) -> Result<HostOptions, Error> {
        let h = self;
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
            tcp_ignore_invalid_rst: h.tcp_ignore_invalid_rst,
            conntrack_empty_at_start: h.conntrack_start == ConntrackStart::Empty,
            conntrack_tracked_at_start: h.conntrack_start == ConntrackStart::Tracked,
            hz: h.hz,
            checksums: h.checksums,
            backend,
            ct_max: h.ct_max,
            ct_buckets: h.ct_buckets,
            frag_high_thresh: h.ipfrag_high_thresh as usize,
            host_config,
            alternatives: h.alternatives.unwrap_or(0),
            ipsec_none: h.ipsec == Some(IpsecDecl::None),
            ..HostOptions::default()
        };
        session::parse_ct_timeouts(&h.ct_timeout, h.hz, &mut host.ct_timeouts)?;
        for spec in &h.socket_owner {
            let o = SocketOwner::parse(spec)
                .map_err(|e| Error::usage(format!("--socket-owner {spec}: {e}")))?;
            host.socket_owners.push(o);
        }
        host.ipsets = ipsets;
        Ok(host)
    }
}

impl SimArgs {
    /// The session's configuration, with the host's sets already read
    /// ([`HostArgs::ipsets`]); a bad option value is an error (exit 2).
    pub fn config_with(&self, ipsets: Option<Arc<IpSets>>) -> Result<Config, Error> {
        let host = self
            .host
            .host_options_with(self.input.backend.get(), ipsets)?;
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
        Ok(Config {
            host,
            gate,
            keep_going: self.keep_going,
            only: self.only,
            // Flows are tracked for --flows and for the terminal summary (blocked connections).
            track_flows: self.flows || self.format == Format::Table,
            max_flows: usize::try_from(self.max_flows).unwrap_or(usize::MAX),
        })
    }

    pub fn traffic(&self) -> Result<Option<session::TrafficSpec>, Error> {
        use session::TrafficSpec as T;
        Ok(match (&self.pcap, &self.synthetic) {
            (Some(p), _) => Some(T::Capture(p.clone())),
            _ if !self.flow.is_empty() => Some(T::Flows(session::parse_flows(&self.flow)?)),
            (None, Some(name)) => Some(T::Synthetic(session::parse_profile(name)?)),
            (None, None) => None,
        })
    }
}
