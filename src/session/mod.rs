//! A check of a ruleset, as the `fwcheck` command runs it, as a library: load the rules
//! ([`load_rules`]), build the traffic ([`traffic`]), decide the host ([`choose_hosts`]), replay
//! and run every check ([`Session::run`]) into one [`Report`], whose exit code
//! ([`Report::exit`]) follows the README's exit-code table. Output formats live in
//! [`crate::report`]; the CLI only turns its arguments into a [`Config`].
//!
//! The steps are separately callable so other commands can reuse them: `diff` loads two
//! rulesets and runs two sessions over the same [`Traffic`]; a command that only needs the
//! verdicts passes a [`Sink`] (e.g. [`Collect`]) and ignores the rest.
//!
//! ```no_run
//! use fwcheck::session::{self, Collect, Config, RulesSource, Session, TrafficSpec};
//! # fn main() -> Result<(), session::Error> {
//! let rules = session::load_rules(&RulesSource {
//!     path: "rules.v4".into(),
//!     family: None,
//!     format: fwcheck::ruleset::InputFormat::Auto,
//!     backend: fwcheck::ext::Backend::Nft,
//!     ipsets: None,
//! })?;
//! let traffic = session::traffic(TrafficSpec::Capture("capture.pcap".into()), &[], false)?;
//! let config = Config::default();
//! let hosts = session::choose_hosts(&config.host.hosts, Some(&traffic))?;
//! let session = Session::new(config, rules, hosts);
//! let mut rows = Collect::default();
//! let report = session.run(Some(&traffic), &mut rows)?;
//! println!("{} frames, exit {}", rows.records.len(), report.exit().code());
//! # Ok(()) }
//! ```
//!
//! Mirrors no kernel code itself: it strings together the emulation (`engine`, `replay`) and
//! the analyses (`analysis`).

pub mod fleet;
mod input;
mod interfaces;

pub use input::{
    family, load_rules, parse_ct_timeouts, parse_flows, parse_hosts, parse_profile,
    read_expectations, read_text, HostList, Rules, RulesSource, MAX_RULES_BYTES,
};
use interfaces::interface_notices;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::analysis::capture::CaptureAnalyzer;
use crate::analysis::expect::{self, Expectation};
use crate::analysis::{self, CheckOptions, Finding, Level, Net, Service};
use crate::conntrack::Timeouts;
use crate::engine::{Outcome, SimEnv, SimOptions, SocketOwner, Verdict};
use crate::ext::Backend;
use crate::packet::flowspec::{self, FlowSpec};
use crate::packet::gen::{self, GenOptions, Profile};
use crate::packet::ChecksumMode;
use crate::replay::{self, HostChoice, Item, ReloadAt, Source};
use crate::report::{self, PacketRecord, Summary};

pub use crate::report::outcome::{Exit, ReplayReport, Report, Totals};

/// Why a session stops: the message (without the `fwcheck: ` prefix the CLI adds) and the
/// exit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub exit: Exit,
    pub message: String,
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Error {
        Error {
            exit: Exit::Usage,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Error {
        Error {
            exit: Exit::Invalid,
            message: message.into(),
        }
    }
}

/// The simulated host: addresses, interfaces, sysctls.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// `--host`: the host's addresses; empty = inferred from the traffic ([`choose_hosts`]).
    pub hosts: Vec<IpAddr>,
    /// Networks named with `--host ADDR/LEN`.
    pub networks: Vec<(IpAddr, u8)>,
    /// `--iface`: every packet is seen on this interface. `None`: the capture's names, else eth0.
    pub iface: Option<String>,
    /// `--router`: forward traffic neither to nor from the host.
    pub router: bool,
    pub tcp_loose: bool,
    pub tcp_be_liberal: bool,
    /// `--tcp-ignore-invalid-rst` (net.netfilter.nf_conntrack_tcp_ignore_invalid_rst).
    pub tcp_ignore_invalid_rst: bool,
    /// `--conntrack-start empty`: the kernel tracked nothing when the capture began.
    pub conntrack_empty_at_start: bool,
    /// `--conntrack-start tracked`: the kernel tracked every connection open then.
    pub conntrack_tracked_at_start: bool,
    /// Kernel HZ.
    pub hz: u32,
    /// `--ct-timeout` values applied over the kernel defaults.
    pub ct_timeouts: Timeouts,
    pub checksums: ChecksumMode,
    pub socket_owners: Vec<SocketOwner>,
    pub backend: Backend,
    /// `--ct-max` (net.netfilter.nf_conntrack_max; 0: no limit).
    pub ct_max: u32,
    /// `--ct-buckets` (net.netfilter.nf_conntrack_buckets).
    pub ct_buckets: u32,
    /// `--ipfrag-high-thresh` (net.ipv4.ipfrag_high_thresh, bytes).
    pub frag_high_thresh: usize,
    /// `--iface-addr`, `--route`, `--host-config`: the host's interfaces and routes (empty:
    /// one interface, every packet routed to it).
    pub host_config: crate::host::HostConfig,
    /// `--ipset FILE`: the host's ipsets.
    pub ipsets: Option<std::sync::Arc<crate::ext::ipset::IpSets>>,
    /// `--alternatives N`: packets that may get alternatives (0: none).
    pub alternatives: u64,
    /// `--ipsec none`: no captured packet arrived IPsec-decapsulated.
    pub ipsec_none: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        let env = SimEnv::default();
        let sim = SimOptions::default();
        HostOptions {
            hosts: Vec::new(),
            networks: Vec::new(),
            iface: None,
            router: false,
            tcp_loose: env.tcp_loose,
            tcp_be_liberal: env.tcp_be_liberal,
            tcp_ignore_invalid_rst: sim.tcp_ignore_invalid_rst,
            conntrack_empty_at_start: env.conntrack_empty_at_start,
            conntrack_tracked_at_start: env.conntrack_tracked_at_start,
            hz: env.hz,
            ct_timeouts: Timeouts::default(),
            checksums: env.checksums,
            socket_owners: Vec::new(),
            backend: env.backend,
            ct_max: sim.ct_max,
            ct_buckets: sim.ct_buckets,
            frag_high_thresh: sim.frag_high_thresh,
            host_config: Default::default(),
            ipsets: None,
            alternatives: 0,
            ipsec_none: false,
        }
    }
}

impl HostOptions {
    /// The engine's view of the host with these (chosen) addresses.
    pub fn env(&self, hosts: &[IpAddr]) -> SimEnv {
        let mut env = SimEnv {
            hosts: hosts.to_vec(),
            networks: self.networks.clone(),
            hz: self.hz,
            tcp_loose: self.tcp_loose,
            tcp_be_liberal: self.tcp_be_liberal,
            conntrack_empty_at_start: self.conntrack_empty_at_start,
            conntrack_tracked_at_start: self.conntrack_tracked_at_start,
            frames_injected: false,
            ct_checksum: true,
            checksums: self.checksums,
            iface: self.iface.clone().unwrap_or_else(|| "eth0".to_string()),
            iface_from_capture: self.iface.is_none(),
            socket_owners: self.socket_owners.clone(),
            backend: self.backend,
            host: Default::default(),
            ipsets: self.ipsets.clone(),
            ipsec_none: self.ipsec_none,
        };
        env.apply_host(&self.host_config);
        // A packet whose capture names no device (a classic pcap, a cooked capture's index the
        // configuration does not name) is seen on the device the host configuration puts the
        // host's address on, not on an `eth0` the host may not have: a link-local address is
        // the host's only on its own device, `-i`/`-o` rules name it.
        if self.iface.is_none() {
            if let Some(dev) = env.host.main_device(hosts) {
                env.iface = dev.to_string();
            }
        }
        env
    }

    /// Replay options for these (chosen) addresses.
    pub fn sim_options(&self, hosts: &[IpAddr]) -> SimOptions {
        SimOptions {
            env: self.env(hosts),
            router: self.router,
            tcp_ignore_invalid_rst: self.tcp_ignore_invalid_rst,
            ct_timeouts: self.ct_timeouts,
            ct_max: self.ct_max,
            ct_buckets: self.ct_buckets,
            frag_high_thresh: self.frag_high_thresh,
            alternatives: self.alternatives,
            ..SimOptions::default()
        }
    }
}

/// The pre-deploy gate: what must stay reachable, declared expectations, and when to fail.
#[derive(Debug, Clone)]
pub struct Gate {
    /// `--mgmt`: management services that must stay reachable.
    pub mgmt: Vec<Service>,
    /// `--admin`: where the administrator connects from; empty = anywhere.
    pub admin: Vec<Net>,
    /// `--expect` entries.
    pub expectations: Vec<Expectation>,
    /// `--fail-on`: exit 1 from this severity on; `None` (`never`): only failed expectations.
    pub fail_on: Option<Level>,
}

impl Default for Gate {
    fn default() -> Self {
        let c = CheckOptions::default();
        Gate {
            mgmt: c.mgmt,
            admin: c.admin,
            expectations: Vec::new(),
            fail_on: Some(Level::Error),
        }
    }
}

/// Which frames a report shows (`--only`), judged on the typed verdict. (The variants' doc
/// comments are the CLI's help text.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Only {
    Accepted,
    Dropped,
    Rejected,
    /// Dropped or rejected.
    Blocked,
    // Judged, with a verdict that is not certain.
    Uncertain,
    /// Frames without a verdict.
    Unjudged,
}

impl Only {
    /// Whether a frame with this verdict (`None`: not judged) is shown.
    pub fn keeps(self, verdict: Option<Verdict>, certain: bool) -> bool {
        match self {
            Only::Accepted => verdict == Some(Verdict::Accept),
            Only::Dropped => verdict == Some(Verdict::Drop),
            Only::Rejected => verdict == Some(Verdict::Reject),
            Only::Blocked => matches!(verdict, Some(Verdict::Drop | Verdict::Reject)),
            Only::Uncertain => !certain,
            Only::Unjudged => verdict.is_none(),
        }
    }
}

/// Everything a session needs besides the rules and the traffic.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub host: HostOptions,
    pub gate: Gate,
    /// `--keep-going`: a capture with a corrupt record is judged up to it (else exit 3).
    pub keep_going: bool,
    /// `--only`: the frames handed to the [`Sink`].
    pub only: Option<Only>,
    /// Group frames into flows (for `--flows` and the terminal's blocked-flows table).
    pub track_flows: bool,
    /// `--max-flows`: at most this many flows are kept (0 = [`report::DEFAULT_MAX_FLOWS`]).
    pub max_flows: usize,
}

/// What traffic to replay.
#[derive(Debug, Clone)]
pub enum TrafficSpec {
    /// A pcap or pcapng file; `-` is standard input.
    Capture(PathBuf),
    /// A generated traffic profile.
    Synthetic(Profile),
    /// Ad-hoc flows (`--flow`).
    Flows(Vec<FlowSpec>),
}

/// Traffic ready to replay, as often as needed (every [`Session::run`] replays it from the
/// start).
#[derive(Debug)]
pub struct Traffic {
    source: Source,
    /// The capture as the user named it (`-` for standard input).
    capture: Option<PathBuf>,
    /// A capture read from standard input, spooled to a file that lives as long as this.
    _spool: Option<tempfile::NamedTempFile>,
}

impl Traffic {
    /// Packets already built (tests, other commands).
    pub fn packets(packets: Vec<crate::packet::Packet>) -> Traffic {
        Traffic {
            source: Source::Packets(packets),
            capture: None,
            _spool: None,
        }
    }

    /// The replay source.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The capture file as given (`-` for standard input), if the traffic is a capture.
    pub fn capture_name(&self) -> Option<&Path> {
        self.capture.as_deref()
    }

    fn name(&self) -> String {
        self.capture
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }
}

/// Build the traffic. `hosts` (`--host`) are the addresses generated traffic uses; a capture
/// on standard input (`-`) is spooled to a temporary file (host inference reads it once more
/// before the replay), which `rules_from_stdin` forbids.
pub fn traffic(
    spec: TrafficSpec,
    hosts: &[IpAddr],
    rules_from_stdin: bool,
) -> Result<Traffic, Error> {
    let generated = |source| Traffic {
        source,
        capture: None,
        _spool: None,
    };
    let options = |profile| {
        let mut go = GenOptions {
            profile,
            ..GenOptions::default()
        };
        if !hosts.is_empty() {
            go.host = hosts.to_vec();
        }
        go
    };
    Ok(match spec {
        TrafficSpec::Capture(p) if p == Path::new("-") => {
            if rules_from_stdin {
                return Err(Error::usage(
                    "the rules and the capture cannot both come from standard input",
                ));
            }
            let spooled = tempfile::NamedTempFile::new().and_then(|mut f| {
                std::io::copy(&mut std::io::stdin().lock(), &mut f)?;
                Ok(f)
            });
            let f = spooled.map_err(|e| {
                Error::usage(format!(
                    "cannot buffer the capture from standard input: {e}"
                ))
            })?;
            Traffic {
                source: Source::Capture(f.path().to_path_buf()),
                capture: Some(p),
                _spool: Some(f),
            }
        }
        TrafficSpec::Capture(p) => Traffic {
            source: Source::Capture(p.clone()),
            capture: Some(p),
            _spool: None,
        },
        TrafficSpec::Flows(specs) => generated(Source::Packets(flowspec::build(
            &specs,
            &options(Profile::default()),
        ))),
        TrafficSpec::Synthetic(profile) => {
            generated(Source::Packets(gen::generate(&options(profile))))
        }
    })
}

/// The host the whole run judges from: `given` (`--host`), else inferred from the traffic
/// (refusing an ambiguous capture, exit 2; an unreadable one is exit 3). Without traffic the
/// given addresses, possibly none (the checks then pick one from the rules).
pub fn choose_hosts(given: &[IpAddr], traffic: Option<&Traffic>) -> Result<HostChoice, Error> {
    let Some(t) = traffic else {
        return Ok(HostChoice {
            hosts: given.to_vec(),
            inferred: false,
            seen_in: None,
            because: None,
            families: Vec::new(),
        });
    };
    let hosts = replay::choose_hosts(given, &t.source).map_err(|e| host_error(t, e))?;
    if hosts.hosts.is_empty() {
        return Err(Error::usage(
            "no IP packets to infer the host from; give --host ADDR",
        ));
    }
    Ok(hosts)
}

fn host_error(t: &Traffic, e: replay::HostError) -> Error {
    match e {
        replay::HostError::Ambiguous(why) => Error::usage(why),
        e => Error::invalid(match &t.capture {
            Some(p) => format!("{}: {e}", p.display()),
            None => e.to_string(),
        }),
    }
}

/// [`choose_hosts`] for a host running iptables and ip6tables side by side (a replay with
/// both families' rulesets, [`Session::with_parity`]): an address per family, each inferred
/// from that family's packets unless `given` (`--host`) has addresses of it.
pub fn choose_hosts_per_family(
    given: &[IpAddr],
    traffic: Option<&Traffic>,
) -> Result<HostChoice, Error> {
    let Some(t) = traffic else {
        return choose_hosts(given, None);
    };
    let hosts = replay::choose_hosts_per_family(given, &t.source).map_err(|e| host_error(t, e))?;
    if hosts.hosts.is_empty() {
        return Err(Error::usage(
            "no IP packets to infer the host from; give --host ADDR",
        ));
    }
    Ok(hosts)
}

/// Without `--iface-addr`, `--route`, `--host-config` and `--iface`, a pcapng capture that
/// names its interfaces and their addresses (`if_name`, `if_IPv4addr`, `if_IPv6addr`, in the
/// Interface Description Blocks before its first packet) is the host's configuration: its
/// addresses LOCAL, their subnets connected routes on their interfaces, their broadcasts the
/// host's. Returns the line saying so (without the `fwcheck: ` prefix), `None` when nothing was
/// taken. An unreadable capture is left to the replay to report.
pub fn adopt_capture_interfaces(host: &mut HostOptions, traffic: &Traffic) -> Option<String> {
    if !host.host_config.is_empty() || host.iface.is_some() {
        return None;
    }
    let Source::Capture(path) = &traffic.source else {
        return None;
    };
    let mut reader = crate::packet::CaptureReader::open(path).ok()?;
    // The blocks up to the first packet: its Interface Description Blocks.
    let _ = reader.next();
    let found: Vec<crate::host::IfAddr> = reader
        .described_interfaces()
        .into_iter()
        .filter_map(|i| Some((i.name?, i.addrs)))
        .flat_map(|(name, addrs)| {
            addrs
                .into_iter()
                .map(move |(addr, len)| crate::host::IfAddr {
                    dev: name.to_string(),
                    addr,
                    len,
                })
        })
        .collect();
    if found.is_empty() {
        return None;
    }
    let listed: Vec<String> = found
        .iter()
        .map(|a| format!("{} {}/{}", a.dev, a.addr, a.len))
        .collect();
    // The interfaces' addresses are the host's: nothing to infer (as with --iface-addr).
    for a in &found {
        if !a.addr.is_loopback() && !host.hosts.contains(&a.addr) {
            host.hosts.push(a.addr);
        }
    }
    let c = &mut host.host_config;
    for a in found {
        c.add_addr(a);
    }
    c.from_capture = true;
    Some(format!(
        "host interfaces taken from the capture: {} (pcapng if_name, if_IPv4addr/if_IPv6addr); \
         no routes beyond their subnets are known, such packets leave by the interface they \
         were captured on (give --host-config for the routes)",
        listed.join(", ")
    ))
}

/// The line saying which host was inferred and why (without the `fwcheck: ` prefix), when it
/// was inferred.
pub fn host_notice(hosts: &HostChoice) -> Option<String> {
    if !hosts.inferred {
        return None;
    }
    if !hosts.families.is_empty() {
        // One address per family: each with its own evidence.
        let parts: Vec<String> = hosts
            .families
            .iter()
            .map(|c| {
                let list: Vec<String> = c.hosts.iter().map(|h| h.to_string()).collect();
                let family = if c.hosts.first().is_some_and(|h| h.is_ipv4()) {
                    "IPv4"
                } else {
                    "IPv6"
                };
                let because = c
                    .because
                    .as_deref()
                    .map(|b| format!("; chosen because {b}"))
                    .unwrap_or_default();
                match (c.inferred, c.seen_in) {
                    (true, Some((n, t))) => {
                        format!(
                            "{} (in {n} of {t} {family} packets{because})",
                            list.join(", ")
                        )
                    }
                    _ => format!("{} (--host)", list.join(", ")),
                }
            })
            .collect();
        return Some(format!(
            "host inferred as {}; use --host to set it",
            parts.join(", ")
        ));
    }
    let (c, t) = hosts.seen_in?;
    let because = hosts
        .because
        .as_deref()
        .map(|b| format!("; chosen because {b}"))
        .unwrap_or_default();
    let list: Vec<String> = hosts.hosts.iter().map(|h| h.to_string()).collect();
    Some(format!(
        "host inferred as {} (in {c} of {t} packets{because}); use --host to set it",
        list.join(", ")
    ))
}

/// Where a session's per-frame output goes while the traffic is replayed: rows are streamed,
/// never collected by the session, so a capture of any size replays in constant memory.
pub trait Sink {
    /// Whether the next frame that passes `--only` gets a record built ([`Sink::record`]);
    /// `false` skips the cost (a table past its `--limit`, a format without packet rows).
    fn wants_record(&mut self) -> bool {
        true
    }
    /// One frame's record (judged or not), with the time of the first frame of the traffic.
    fn record(&mut self, rec: PacketRecord, t0: f64);
    /// Frames read so far (for progress); `done` once the replay has ended.
    fn progress(&mut self, _frames: u64, _done: bool) {}
    /// Something to tell the user (without the `fwcheck: ` prefix): interfaces seen, a
    /// capture read only in part. Default: dropped.
    fn notice(&mut self, _message: &str) {}
}

/// A [`Sink`] that keeps every record (small traffic, tests, comparing two runs).
#[derive(Debug, Default)]
pub struct Collect {
    pub records: Vec<PacketRecord>,
    pub notices: Vec<String>,
}

impl Sink for Collect {
    fn record(&mut self, rec: PacketRecord, _t0: f64) {
        self.records.push(rec);
    }
    fn notice(&mut self, message: &str) {
        self.notices.push(message.to_string());
    }
}

/// A ruleset, its configuration and the chosen host: ready to run over traffic (or none).
#[derive(Debug, Clone)]
pub struct Session {
    pub config: Config,
    pub rules: Rules,
    pub hosts: HostChoice,
    /// `--reload-at`: a second ruleset loaded mid-capture, with conntrack and named match
    /// state kept ([`crate::engine::Engine::reload`]). Set with [`Session::with_reload`].
    pub reload: Option<(Rules, ReloadAt)>,
    /// `--parity`: the other family's ruleset, for FW018.
    pub parity: Option<Rules>,
}

impl Session {
    /// A session over a valid ruleset ([`Rules::is_valid`]; an invalid one is reported with
    /// [`crate::report::check::write_invalid`] instead) and the host from [`choose_hosts`].
    pub fn new(config: Config, rules: Rules, hosts: HostChoice) -> Session {
        Session {
            config,
            rules,
            hosts,
            reload: None,
            parity: None,
        }
    }

    /// Compare the ruleset with `other`, the other family's (`--parity rules.v6`): FW018 for
    /// each service reachable over one family and not the other. `other` must be valid and of
    /// the other family ([`Error::usage`] otherwise).
    pub fn with_parity(mut self, other: Rules) -> Result<Session, Error> {
        let (a, b) = (
            self.rules.loaded.ruleset.family,
            other.loaded.ruleset.family,
        );
        if a == b {
            return Err(Error::usage(format!(
                "--parity {}: an {} ruleset, like {}; give the other family's file (rules.v4 beside rules.v6)",
                other.path.display(),
                if b == crate::netfilter::Family::V4 { "IPv4" } else { "IPv6" },
                self.rules.path.display()
            )));
        }
        if !other.is_valid() {
            return Err(other.invalid_error());
        }
        self.parity = Some(other);
        Ok(self)
    }

    /// Load `rules` at `at` during the capture, as `iptables-restore` on a live host: frames
    /// from then on are decided (and their records named) by `rules`; the capture's findings
    /// (which judge the rule counters of one ruleset) are not computed.
    pub fn with_reload(mut self, rules: Rules, at: ReloadAt) -> Session {
        self.reload = Some((rules, at));
        self
    }

    /// The options of the static checks (lockout, probes, expectations).
    pub fn check_options(&self) -> CheckOptions {
        let h = &self.config.host;
        let mut env = h.env(&self.hosts.hosts);
        // The checks' own packets come from no capture: without --iface, on the device the
        // host configuration puts the host's address on (not `eth0`, which a host may not
        // have: `-i` rules and link-local neighbour discovery would miss it). A capture that
        // names its devices overrides it (`run_with`).
        if h.iface.is_none() {
            if let Some(dev) = env.host.main_device(&self.hosts.hosts) {
                env.iface = dev.to_string();
            }
        }
        CheckOptions {
            env,
            router: h.router,
            mgmt: self.config.gate.mgmt.clone(),
            admin: self.config.gate.admin.clone(),
            ct_timeouts: h.ct_timeouts,
        }
    }

    /// Replay `traffic` (if any), handing each frame that passes `--only` to `sink`, then run
    /// the static checks and the expectations. A capture that cannot be read, or has a
    /// corrupt record without `--keep-going`, is an [`Exit::Invalid`] error (after the frames
    /// before it went to `sink`).
    pub fn run(&self, traffic: Option<&Traffic>, sink: &mut dyn Sink) -> Result<Report, Error> {
        self.run_with(self.sim_options(), traffic, sink)
    }

    /// The replay options [`Session::run`] uses: the host's, with the chosen addresses.
    pub fn sim_options(&self) -> SimOptions {
        self.config.host.sim_options(&self.hosts.hosts)
    }

    /// [`Session::run`] with other replay options (e.g. `trace`, a shared `time_origin`, a
    /// what-if variant of the host); the static checks still use the session's host.
    pub fn run_with(
        &self,
        opts: SimOptions,
        traffic: Option<&Traffic>,
        sink: &mut dyn Sink,
    ) -> Result<Report, Error> {
        let loaded = &self.rules.loaded;
        let mut check = self.check_options();
        let mut findings_from_capture = Vec::new();
        let replay_out = match traffic {
            None => None,
            Some(t) => {
                let (r, capture, iface) = self.replay(opts, t, &check, sink)?;
                findings_from_capture = capture;
                if let Some(name) = iface {
                    // The checks without a capture (lockout, expectations) see the interface
                    // most packets were captured on.
                    check.env.iface = name;
                }
                Some(r)
            }
        };
        let rs = &loaded.ruleset;
        let mut lockout = analysis::lockout::evaluate(rs, &check);
        let mut findings: Vec<Finding> = lockout.iter().filter_map(|l| l.finding.clone()).collect();
        findings.extend(analysis::static_findings_except_lockout(loaded, &check));
        if let Some(other) = &self.parity {
            findings.extend(analysis::parity::check(rs, &other.loaded.ruleset, &check));
            // The other family's file gets the same static checks, its findings located in it
            // and its lockout checks named by family beside this file's.
            let theirs = analysis::lockout::evaluate(&other.loaded.ruleset, &check);
            findings.extend(theirs.iter().filter_map(|l| l.finding.clone()));
            findings.extend(analysis::static_findings_except_lockout(
                &other.loaded,
                &check,
            ));
            for l in &mut lockout {
                l.family = Some(rs.family);
            }
            lockout.extend(theirs.into_iter().map(|mut l| {
                l.family = Some(other.loaded.ruleset.family);
                l
            }));
        }
        let capture_findings_from = findings.len();
        findings.extend(findings_from_capture);
        let expectations = expect::evaluate(rs, &check, &self.config.gate.expectations);
        Ok(Report {
            rules: loaded.clone(),
            other_rules: self.parity.as_ref().map(|o| o.loaded.clone()),
            hosts: self.hosts.clone(),
            replay: replay_out,
            lockout,
            findings,
            capture_findings_from,
            expectations,
            fail_on: self.config.gate.fail_on,
        })
    }

    /// The replay part of [`Session::run`]: the replay's report, the capture's findings and
    /// the interface most packets were captured on (when the capture names it). With the
    /// other family's ruleset ([`Session::with_parity`]) every frame is judged by its family's
    /// ruleset, in one replay ([`replay::replay_families`]): records and rule counters name
    /// each rule's file, the capture's findings are computed per family against its ruleset.
    fn replay(
        &self,
        opts: SimOptions,
        traffic: &Traffic,
        check: &CheckOptions,
        sink: &mut dyn Sink,
    ) -> Result<(ReplayReport, Vec<Finding>, Option<String>), Error> {
        let rs = &self.rules.loaded.ruleset;
        let other = self.parity.as_ref();
        let dual = other.is_some();
        if let Some(o) = other {
            // xt_recent finds its lists by name alone (`recent_table_lookup`): an IPv4 and an
            // IPv6 rule naming one list share it, and its `ip_list_tot` bound, in the kernel;
            // the two-family replay keeps one engine per family, so it cannot judge them.
            if let Some(name) = shared_recent_list(rs, &o.loaded.ruleset) {
                return Err(Error::usage(format!(
                    "{} and {} both use the recent list `{name}`, which the kernel keeps once \
                     for both families; fwcheck cannot replay the two families together then: \
                     check each file alone (`fwcheck FILE --pcap ...`)",
                    self.rules.path.display(),
                    o.path.display()
                )));
            }
        }
        let other_family = other.map(|o| o.loaded.ruleset.family);
        let env = opts.env.clone();
        let checksums = env.checksums;
        let only = self.config.only;
        let keep = |verdict: Option<Verdict>, certain: bool| {
            only.is_none_or(|o| o.keeps(verdict, certain))
        };
        let mut summary = report::SummaryCounter::new(Summary::with_max_flows(
            self.config.track_flows,
            self.config.max_flows,
        ));
        let mut t0: Option<f64> = None;
        let mut analyzer = CaptureAnalyzer::new(check, &self.hosts.hosts, rs);
        let mut other_analyzer =
            other.map(|o| CaptureAnalyzer::new(check, &self.hosts.hosts, &o.loaded.ruleset));
        let infos_of = |rs| {
            if dual {
                report::RuleInfos::with_file(rs)
            } else {
                report::RuleInfos::new(rs)
            }
        };
        let mut rule_infos = infos_of(rs);
        let mut other_infos = other.map(|o| infos_of(&o.loaded.ruleset));
        // --reload-at: frames from the reload on are decided by the new ruleset (with two
        // rulesets: those of its family).
        let reload = self.reload.as_ref().map(|(r, at)| (&r.loaded.ruleset, *at));
        let reload_family = reload.map(|(r, _)| r.family);
        // Whether the replay of this family's ruleset reloads (its capture findings are not
        // computed: its counters are the new ruleset's).
        let reloads = |family| reload_family.is_some_and(|f| !dual || f == family);
        let mut reload_infos = reload.map(|(r, _)| infos_of(r));
        let mut reload_point = reload.map(|(_, at)| replay::ReloadPoint::new(at));
        let result = replay::replay_families(
            rs,
            other.map(|o| &o.loaded.ruleset),
            opts,
            traffic.source.clone(),
            reload,
            |item| {
                let reached = match (&item, reload_point.as_mut()) {
                    (Item::Packet(p, _), Some(r)) => r.step(p.frame, Some(p.ts.0)),
                    (Item::Problem(p), Some(r)) => r.step(p.frame, p.ts.map(|t| t.0)),
                    _ => false,
                };
                // A record is built only for a frame the sink shows: a long capture's frames
                // beyond a table's limit cost nothing here. (Built and handed over inside each
                // arm: an `Option` of it carried out of the match was copied for every frame.)
                match item {
                    Item::Packet(p, o) => {
                        let theirs = other_family.is_some_and(|f| p.family == f);
                        let family = if theirs {
                            other_family
                        } else {
                            Some(rs.family)
                        };
                        let reloaded = reached && family.is_some_and(reloads);
                        let infos = match (&mut reload_infos, &mut other_infos) {
                            (Some(ri), _) if reloaded => ri,
                            (_, Some(oi)) if theirs => oi,
                            _ => &mut rule_infos,
                        };
                        summary.add(Some(p), o);
                        if !reloaded {
                            match &mut other_analyzer {
                                Some(a) if theirs => a.observe(p, o),
                                _ => analyzer.observe(p, o),
                            }
                        }
                        let t = *t0.get_or_insert(p.ts.as_secs_f64());
                        let shown = keep(o.verdict, o.certain) && sink.wants_record();
                        sink.progress(summary.frames(), false);
                        if shown {
                            sink.record(PacketRecord::new(infos, p, o), t);
                        }
                    }
                    Item::Problem(p) => {
                        let rec = PacketRecord::problem(p);
                        summary.add(
                            None,
                            &Outcome::unjudged(p.frame, rec.reason.clone().unwrap_or_default()),
                        );
                        let t = *t0.get_or_insert(rec.time);
                        sink.progress(summary.frames(), false);
                        if keep(None, true) {
                            sink.record(rec, t);
                        }
                    }
                }
            },
        );
        sink.progress(summary.frames(), true);
        let summary = summary.finish();
        let ((engine, mut stats), second) =
            result.map_err(|e| Error::invalid(format!("{}: {e}", traffic.name())))?;
        if let Some(err) = &stats.capture_error {
            let file = traffic.name();
            if !self.config.keep_going {
                return Err(Error::invalid(format!(
                    "{file}: {err}; {} frames before it were read (--keep-going to judge them anyway)",
                    stats.frames.saturating_sub(1)
                )));
            }
            sink.notice(&format!(
                "warning: {file}: {err}; judging the frames before it (--keep-going)"
            ));
        }
        let mut hits = report::rule_hits(&engine, dual);
        // After a reload the engine's counters are the new ruleset's: no capture findings.
        let mut capture_findings = if reloads(rs.family) {
            Vec::new()
        } else {
            analyzer.finish(&self.rules.loaded, &engine)
        };
        let mut conntrack = engine.conntrack_active();
        if let (Some(o), Some((e2, s2)), Some(a2)) = (other, second, other_analyzer) {
            hits.extend(report::rule_hits(&e2, true));
            if !reloads(o.loaded.ruleset.family) {
                capture_findings.extend(a2.finish(&o.loaded, &e2));
            }
            conntrack |= e2.conntrack_active();
            stats.absorb(s2);
        }
        let mut iface = None;
        if traffic.capture.is_some() {
            let (notices, name) = interface_notices(&self.rules.loaded, &stats, &env, None);
            for n in &notices {
                sink.notice(n);
            }
            if let Some(o) = other {
                // The other file's rules naming interfaces no packet was seen on (the capture's
                // interfaces were told once above).
                let file = &o.loaded.ruleset.source.name;
                let (theirs, _) = interface_notices(&o.loaded, &stats, &env, Some(file));
                for n in &theirs {
                    sink.notice(n);
                }
            }
            iface = name;
        }
        Ok((
            ReplayReport {
                summary,
                hits,
                stats,
                conntrack,
                checksums,
            },
            capture_findings,
            iface,
        ))
    }
}

/// A `-m recent` list both rulesets name, if any.
fn shared_recent_list(a: &crate::ruleset::Ruleset, b: &crate::ruleset::Ruleset) -> Option<String> {
    fn names(rs: &crate::ruleset::Ruleset) -> std::collections::BTreeSet<String> {
        rs.tables
            .iter()
            .flat_map(|t| &t.chains)
            .flat_map(|c| &c.rules)
            .flat_map(|r| r.matches.iter())
            .filter_map(|m| {
                m.module
                    .as_any()
                    .downcast_ref::<crate::ext::matches::recent::Recent>()
                    .map(|r| r.name.clone())
            })
            .collect()
    }
    let theirs = names(b);
    names(a).into_iter().find(|n| theirs.contains(n))
}
