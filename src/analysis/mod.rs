//! Findings: what the pre-deploy gate reports — lockout (FW001), exposures found by probing the
//! ruleset with synthetic traffic, statically shadowed and redundant rules, and what a capture
//! shows (management packets dropped, rules never hit). Every finding has a stable code, a
//! severity, a message, a place in the rules file and, where there is one, a concrete fix.
//!
//! All checks ask the same engine as the packet replay: there is no second evaluator.

pub mod capture;
mod cover_index;
pub mod expect;
pub mod exposure;
pub mod lockout;
pub mod parity;
pub mod placement;
pub mod probes;
pub mod services;
pub mod shadow;
pub mod synth;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::conntrack::Conntrack;
use crate::engine::describe::{rule_info, RuleInfo};
use crate::engine::{Engine, Outcome, SimEnv, SimOptions, Verdict};
use crate::lint::Loaded;
use crate::ruleset::{AddrMask, Family, Ruleset};
use synth::Step;

/// Severity of a finding, ordered (`--fail-on` compares with it): the one severity of
/// diagnostics and findings.
pub use crate::diag::Severity as Level;

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Level,
    pub message: String,
    pub file: String,
    /// Line in the rules file (of the deciding rule or policy, or of the rule concerned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The rule or policy responsible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleInfo>,
    /// The packet that fails (what it is, and its frame in a capture).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    /// A concrete fix: the rule(s) to add and where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl Finding {
    pub fn new(code: &'static str, message: impl Into<String>, file: &str) -> Finding {
        Finding {
            code,
            severity: code_info(code)
                .map(|c| c.severity)
                .unwrap_or(Level::Warning),
            message: message.into(),
            file: file.to_string(),
            line: None,
            rule: None,
            packet: None,
            frame: None,
            fix: None,
            details: Vec::new(),
        }
    }
    pub(crate) fn at_rule(mut self, r: Option<RuleInfo>) -> Finding {
        self.line = r.as_ref().and_then(|r| r.line);
        self.rule = r;
        self
    }
}

/// Documentation of every code (README, SARIF rules, `fwcheck explain`): the one table.
pub use crate::diag::codes::{info as code_info, CodeInfo, CODES};

/// `tcp/22`, `udp/53`.
/// How many rules the line of rule `k` loads (address lists multiply: `-s a,b -d c,d` is four
/// rules, one after the other in their chain): the run of neighbours on the same line.
pub(crate) fn rules_of_line(rs: &Ruleset, rules: &[crate::ruleset::Rule], k: usize) -> usize {
    let line = rs.line_of(rules[k].span);
    let same = |r: &crate::ruleset::Rule| rs.line_of(r.span) == line;
    let before = rules[..k].iter().rev().take_while(|r| same(r)).count();
    let after = rules[k + 1..].iter().take_while(|r| same(r)).count();
    before + 1 + after
}

pub fn port_name((proto, port): (u8, u16)) -> String {
    format!("{}/{port}", if proto == 6 { "tcp" } else { "udp" })
}

/// A note that a check stopped at its bound (`message` says which and how many it did): the
/// ports it left out are named (32 of them, then how many more), with what to do about them.
/// A bound is said, never silent.
pub(crate) fn ports_left_out(
    code: &'static str,
    message: String,
    left: &[(u8, u16)],
    file: &str,
    fix: &str,
) -> Finding {
    let mut f = Finding::new(code, message, file);
    f.severity = Level::Note;
    f.details = left.iter().take(32).map(|&p| port_name(p)).collect();
    if left.len() > 32 {
        f.details.push(format!("… and {} more", left.len() - 32));
    }
    f.fix = Some(fix.to_string());
    f
}

/// A management service: protocol and port (`tcp/22`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Service {
    pub proto: u8,
    pub port: u16,
}

impl Service {
    /// `tcp/22`, `udp/1194`, `22` (tcp), `tcp/ssh`.
    pub fn parse(s: &str) -> Result<Service, String> {
        let (p, port) = match s.split_once('/') {
            Some((p, port)) => (p, port),
            None => ("tcp", s),
        };
        let proto = match p.to_ascii_lowercase().as_str() {
            "tcp" => 6,
            "udp" => 17,
            _ => return Err(format!("`{s}`: expected tcp/PORT or udp/PORT")),
        };
        let port = port
            .parse::<u16>()
            .ok()
            .or_else(|| crate::ext::service_port(port, p))
            .ok_or_else(|| format!("`{s}`: `{port}` is not a port number or service name"))?;
        Ok(Service { proto, port })
    }
    pub fn name(&self) -> String {
        format!(
            "{}/{}",
            if self.proto == 6 { "tcp" } else { "udp" },
            self.port
        )
    }
}

/// A network the administrator may connect from (`--admin CIDR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Net {
    pub fn parse(s: &str) -> Result<Net, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("`{s}`: expected an address or CIDR such as 192.0.2.0/24"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("`{s}`: invalid prefix length"))?,
            None => max,
        };
        Ok(Net { addr, prefix }.normalized())
    }
    fn normalized(self) -> Net {
        let m = self.mask();
        Net {
            addr: from_bits(self.addr.is_ipv4(), bits(self.addr) & m),
            prefix: self.prefix,
        }
    }
    fn mask(&self) -> u128 {
        let w = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == 0 {
            0
        } else {
            (u128::MAX << (128 - self.prefix as u32)) >> (128 - w)
        }
    }
    pub fn contains(&self, a: IpAddr) -> bool {
        a.is_ipv4() == self.addr.is_ipv4() && bits(a) & self.mask() == bits(self.addr)
    }
    /// First, middle and last host addresses.
    pub(crate) fn samples(&self) -> Vec<IpAddr> {
        let w = if self.addr.is_ipv4() { 32 } else { 128 };
        let base = bits(self.addr);
        let size_bits = w - self.prefix as u32;
        let last = if size_bits >= 128 {
            u128::MAX
        } else {
            base | ((1u128 << size_bits) - 1)
        };
        let v4 = self.addr.is_ipv4();
        let mut v = vec![self.addr];
        if size_bits >= 2 {
            v = vec![
                from_bits(v4, base + 1),
                from_bits(v4, base + (last - base) / 2),
                from_bits(v4, last - 1),
            ];
        } else if size_bits == 1 {
            v.push(from_bits(v4, last));
        }
        v.dedup();
        v
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(v) as u128,
        IpAddr::V6(v) => u128::from(v),
    }
}

fn from_bits(v4: bool, b: u128) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(b as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(b))
    }
}

/// The first of a few fallback addresses (benchmarking and shared ranges) that no `-s` of the
/// ruleset matches.
fn unmentioned(rs: &Ruleset, v4: bool) -> Option<IpAddr> {
    let pool: &[&str] = if v4 {
        &[
            "198.18.0.77",
            "100.64.0.77",
            "172.31.254.77",
            "10.254.254.77",
            "1.1.1.77",
        ]
    } else {
        &["2001:2::77", "fd00:77::77", "2002:77::77"]
    };
    let srcs: Vec<AddrMask> = rs
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
        .filter_map(|r| r.src.map(|(a, _)| a))
        .collect();
    pool.iter()
        .filter_map(|s| s.parse::<IpAddr>().ok())
        .find(|a| !srcs.iter().any(|m| m.contains(*a)))
}

/// Options of the checks.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Host addresses, HZ, backend… (`hosts` may be empty: then one is chosen from the rules).
    pub env: SimEnv,
    pub router: bool,
    /// Management services (default tcp/22).
    pub mgmt: Vec<Service>,
    /// Where the administrator connects from; empty = anywhere.
    pub admin: Vec<Net>,
    /// Conntrack timeouts (`--ct-timeout`), kernel defaults unless set.
    pub ct_timeouts: crate::conntrack::Timeouts,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            env: SimEnv::default(),
            router: false,
            mgmt: vec![Service { proto: 6, port: 22 }],
            admin: Vec::new(),
            ct_timeouts: crate::conntrack::Timeouts::default(),
        }
    }
}

/// Generic outside addresses used when the rules say nothing more specific.
pub fn outside(v4: bool) -> Vec<IpAddr> {
    if v4 {
        ["198.51.100.77", "192.0.2.199"]
            .iter()
            .map(|s| s.parse().expect("address"))
            .collect()
    } else {
        ["2001:db8:77::77", "2001:db8:c7::c7"]
            .iter()
            .map(|s| s.parse().expect("address"))
            .collect()
    }
}

/// The host address to check with, for `family`: `--host` if given; otherwise the first
/// single-address destination of an INPUT rule; otherwise 203.0.113.10 / 2001:db8::10.
pub(crate) fn host_for(rs: &Ruleset, env: &SimEnv, family: Family) -> (IpAddr, bool) {
    let v4 = family == Family::V4;
    if let Some(h) = env.hosts.iter().find(|h| h.is_ipv4() == v4) {
        return (*h, true);
    }
    for t in &rs.tables {
        for c in t.chains.iter().filter(|c| c.name == "INPUT") {
            for r in &c.rules {
                if let Some((a, false)) = &r.dst {
                    if a.prefix_len() == Some(if v4 { 32 } else { 128 }) {
                        return (a.addr(), false);
                    }
                }
            }
        }
    }
    let d: IpAddr = if v4 {
        "203.0.113.10".parse().expect("a")
    } else {
        "2001:db8::10".parse().expect("a")
    };
    (d, false)
}

/// The host address the checks of `rs` use ([`host_for`]) and the options to run them with:
/// `opts` with that address added to the hosts when it was not given.
pub(crate) fn for_host(rs: &Ruleset, opts: &CheckOptions) -> (IpAddr, CheckOptions) {
    let (host, given) = host_for(rs, &opts.env, rs.family);
    let mut o = opts.clone();
    if !given {
        o.env.hosts.push(host);
    }
    (host, o)
}

/// Addresses to try as "an administrator's address": for `--admin` networks their first,
/// middle and last addresses plus the first address of every rule source network inside them;
/// for "anywhere", generic outside addresses plus the first address of every rule source
/// network. At most 64, deterministic.
pub(crate) fn admin_candidates(rs: &Ruleset, admin: &[Net], family: Family) -> Vec<IpAddr> {
    let v4 = family == Family::V4;
    let mut rule_nets: Vec<IpAddr> = Vec::new();
    for r in rs
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
    {
        let Some((a, false)) = &r.src else { continue };
        let (addr, mask, is4) = match *a {
            AddrMask::V4 { addr, mask } => (addr as u128, mask as u128, true),
            AddrMask::V6 { addr, mask } => (addr, mask, false),
        };
        if is4 != v4 {
            continue;
        }
        let full = if is4 { u32::MAX as u128 } else { u128::MAX };
        // A host address itself, or the first host of a network.
        rule_nets.push(from_bits(is4, if mask == full { addr } else { addr + 1 }));
    }
    let mut out: Vec<IpAddr> = Vec::new();
    let push = |a: IpAddr, out: &mut Vec<IpAddr>| {
        if a.is_ipv4() == v4 && !out.contains(&a) && out.len() < 64 {
            out.push(a);
        }
    };
    let nets: Vec<&Net> = admin.iter().filter(|n| n.addr.is_ipv4() == v4).collect();
    if nets.is_empty() {
        for a in outside(v4) {
            push(a, &mut out);
        }
        // An address no source match of the rules mentions, whatever ranges they ban.
        if let Some(a) = unmentioned(rs, v4) {
            push(a, &mut out);
        }
        for a in rule_nets {
            push(a, &mut out);
        }
    } else {
        for n in &nets {
            for a in n.samples() {
                push(a, &mut out);
            }
        }
        for a in rule_nets {
            if nets.iter().any(|n| n.contains(a)) {
                push(a, &mut out);
            }
        }
    }
    out
}

/// What happened to one step of a scenario.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub what: String,
    pub pkt: crate::packet::Packet,
    pub outcome: Outcome,
}

impl StepResult {
    pub fn passed(&self) -> bool {
        self.outcome.verdict == Some(Verdict::Accept)
    }
}

/// Run a scenario through a fresh engine for `rs`: the `warmup` packets first build connection
/// state under no rules at all, tracked by conntrack (connections that exist when the ruleset
/// is loaded, on a host that tracked them), then the steps run under the ruleset. Stops at
/// nothing: every step's outcome is returned.
pub fn run_scenario(
    rs: &Ruleset,
    opts: &CheckOptions,
    warmup: &[crate::packet::Packet],
    steps: &[Step],
) -> Vec<StepResult> {
    run_scenario_from(rs, opts, warmup, true, steps, None)
}

/// [`run_scenario`] for connections that exist when the ruleset is loaded on a host whose
/// earlier rules are not known: conntrack may have tracked the warm-up or not (nothing
/// registered its hooks), so the warm-up runs untracked and the ruleset picks its TCP
/// connections up mid-stream — a rule answering that world and the tracked one differently
/// makes the verdict uncertain, unless `--conntrack-start empty` says the table was empty
/// (then the picked-up world is the kernel's).
pub fn run_scenario_loading(
    rs: &Ruleset,
    opts: &CheckOptions,
    warmup: &[crate::packet::Packet],
    steps: &[Step],
) -> Vec<StepResult> {
    run_scenario_from(rs, opts, warmup, false, steps, None)
}

/// [`run_scenario`] with the engine's slot layout of `rs` computed beforehand
/// (`engine::slot_layout(rs)`), for checks that run many scenarios over one large ruleset.
pub(crate) fn run_scenario_with(
    rs: &Ruleset,
    opts: &CheckOptions,
    steps: &[Step],
    layout: Option<&crate::engine::SlotLayout>,
) -> Vec<StepResult> {
    run_scenario_from(rs, opts, &[], true, steps, layout)
}

/// The scenario runner: `tracked` says whether conntrack tracked the `warmup`.
fn run_scenario_from(
    rs: &Ruleset,
    opts: &CheckOptions,
    warmup: &[crate::packet::Packet],
    tracked: bool,
    steps: &[Step],
    layout: Option<&crate::engine::SlotLayout>,
) -> Vec<StepResult> {
    let origin = warmup
        .first()
        .or(steps.first().map(|s| &s.pkt))
        .map(|p| p.ts.0);
    let base = SimOptions {
        env: opts.env.clone(),
        router: opts.router,
        simulate_replies: true,
        // Scenarios are built conversations, not a capture of this host.
        recognise_answers: false,
        time_origin: origin,
        ct_timeouts: opts.ct_timeouts,
        ..SimOptions::default()
    };
    let mut conntrack = Conntrack::new();
    if !warmup.is_empty() {
        let empty = Ruleset {
            source: rs.source.clone(),
            family: rs.family,
            backend: rs.backend,
            tables: Vec::new(),
        };
        let mut warm = Engine::new(
            &empty,
            SimOptions {
                force_conntrack: tracked,
                ..base.clone()
            },
        );
        for p in warmup {
            warm.process(p);
        }
        conntrack = std::mem::take(&mut warm.conntrack);
    }
    let mut e = match layout {
        Some(l) => Engine::with_layout(rs, base, l.clone()),
        None => Engine::new(rs, base),
    };
    e.conntrack = conntrack;
    steps
        .iter()
        .map(|s| StepResult {
            what: s.what.clone(),
            pkt: s.pkt.clone(),
            outcome: e.process(&s.pkt),
        })
        .collect()
}

/// The deciding rule of an outcome, for reports.
pub fn decided_by(rs: &Ruleset, o: &Outcome) -> Option<RuleInfo> {
    o.decision.as_ref().and_then(|d| rule_info(rs, d))
}

/// Every static check (no capture needed): lockout, probes, shadowing, structure.
pub fn static_findings(loaded: &Loaded, opts: &CheckOptions) -> Vec<Finding> {
    let rs = &loaded.ruleset;
    let lockout = || lockout::check(rs, opts);
    in_parallel(&[&lockout, &|| static_findings_except_lockout(loaded, opts)])
}

/// [`static_findings`] without the lockout checks (for callers that run those themselves).
pub(crate) fn static_findings_except_lockout(loaded: &Loaded, opts: &CheckOptions) -> Vec<Finding> {
    let rs = &loaded.ruleset;
    in_parallel(&[
        &|| probes::check(rs, opts),
        &|| services::check(rs, opts),
        &|| shadow::check(rs),
        &|| placement::check(rs, opts),
        &|| exposure::check(rs, opts),
        &|| structural(loaded),
    ])
}

/// Independent analyses (each on its own engines) run in parallel with rayon; their findings are
/// concatenated in the order given, so the output does not depend on the number of threads
/// (`RAYON_NUM_THREADS=1` gives the same bytes; `tests/parallel.rs`).
fn in_parallel(checks: &[&(dyn Fn() -> Vec<Finding> + Sync)]) -> Vec<Finding> {
    use rayon::prelude::*;
    let parts: Vec<Vec<Finding>> = checks.par_iter().map(|c| c()).collect();
    parts.into_iter().flatten().collect()
}

/// FW101/FW102 from the chain graph, as findings.
pub(crate) fn structural(loaded: &Loaded) -> Vec<Finding> {
    let src = &loaded.ruleset.source;
    loaded
        .diagnostics
        .iter()
        .filter(|d| crate::lint::reported_as_finding(d))
        .map(|d| {
            let mut f = Finding::new(d.code, d.message.clone(), &src.name);
            f.line = Some(src.line_of(d.span.start as usize));
            f.details = d.notes.clone();
            f
        })
        .collect()
}
