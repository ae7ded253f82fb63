//! Proof against the Linux kernel: the fixture rulesets are replayed with the fixture captures
//! through a real kernel in a private network namespace (the `oracle`) and through fwcheck, and
//! the verdicts must be identical frame by frame. Needs root, iptables and network namespaces;
//! elsewhere each test is reported ignored with the reason (CI runs them as root).
//!
//! The matrix:
//! * every IPv4 ruleset (guides, the real-world rulesets, `fixtures/kernel/*.rules.v4`) × every
//!   capture replayed as fast as possible (IPv6 frames are skipped by both sides);
//! * every IPv6 ruleset (ufw's, the state probes) × every such capture (IPv4 frames skipped);
//! * a few rulesets loaded with iptables-legacy (other kernel code for `-m limit`, `-m tcp`…);
//! * the state probes with `nf_conntrack_tcp_be_liberal=1` and with `nf_conntrack_tcp_loose=0`;
//! * the real-time captures (`pcaps/rt-*`) at their own pace, with the rulesets they were
//!   made for (and shortened conntrack timeouts for `rt-timeouts.pcap`), all at once.
//!
//! A failure prints, for every differing capture, the frames that differ with the three
//! before each (see `Comparison::render`).

#[macro_use]
mod kernel_harness;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use fwcheck::compare::{compare_capture, Status};
use fwcheck::conntrack::Timeouts;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::ext::Backend;
use fwcheck::lint::load_file;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::{Family, ParseOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The host of every capture: 203.0.113.10 (and its second address 203.0.113.11, which some
/// ICMP errors in `icmp-edge.pcap` reach) or 2001:db8::10.
const H4: &[&str] = &["203.0.113.10", "203.0.113.11"];
const H6: &[&str] = &["2001:db8::10"];

/// One comparison to run.
#[derive(Clone)]
struct Case {
    rules: String,
    capture: String,
    backend: Backend,
    pacing: Pacing,
    liberal: bool,
    loose: bool,
    timeouts: Timeouts,
    /// `--router`: forwarding on, packets between other addresses cross FORWARD.
    router: bool,
}

impl Case {
    fn new(rules: &str, capture: &str) -> Case {
        Case {
            rules: rules.to_string(),
            capture: capture.to_string(),
            backend: Backend::Nft,
            pacing: if capture.contains("/rt-") {
                Pacing::Realtime { speed: 1.0 }
            } else {
                Pacing::AsFastAsPossible
            },
            liberal: false,
            loose: true,
            timeouts: Timeouts::default(),
            router: false,
        }
    }

    fn label(&self) -> String {
        let mut s = format!("{} × {}", self.rules, self.capture);
        if self.backend == Backend::Legacy {
            s += " [iptables-legacy]";
        }
        if self.liberal {
            s += " [tcp_be_liberal=1]";
        }
        if !self.loose {
            s += " [tcp_loose=0]";
        }
        if self.timeouts != Timeouts::default() {
            s += " [short timeouts]";
        }
        if self.router {
            s += " [router]";
        }
        s
    }

    fn family(&self) -> Family {
        if self.rules.ends_with('6') {
            Family::V6
        } else {
            Family::V4
        }
    }

    /// Replay through the kernel and fwcheck: Ok((frames compared, uncertain)) or the diff.
    fn run(&self) -> Result<(usize, usize), String> {
        let family = self.family();
        let loaded = load_file(
            &root().join(&self.rules),
            ParseOptions {
                family,
                backend: self.backend,
                ..ParseOptions::default()
            },
        )
        .map_err(|e| format!("{}: {e}", self.rules))?;
        if loaded.has_errors() {
            return Err(loaded.render_diagnostics(false));
        }
        let hosts = if family == Family::V6 { H6 } else { H4 };
        let env = SimEnv {
            hosts: hosts.iter().map(|h| h.parse().expect("host")).collect(),
            backend: self.backend,
            tcp_be_liberal: self.liberal,
            tcp_loose: self.loose,
            ..SimEnv::default()
        };
        let sim = SimOptions {
            env,
            ct_timeouts: self.timeouts,
            router: self.router,
            ..SimOptions::default()
        };
        let cmp = compare_capture(&loaded, &root().join(&self.capture), sim, self.pacing)
            .map_err(|e| format!("{}: {e}", self.label()))?;
        if cmp.mismatches != 0 {
            return Err(format!(
                "{}: fwcheck differs from the kernel\n{}",
                self.label(),
                cmp.render(true)
            ));
        }
        // Uncertain verdicts: differing from the kernel (allowed only because fwcheck said it
        // could not know), and agreeing with it.
        let unc = cmp
            .frames
            .iter()
            .filter(|f| f.status == Status::Uncertain)
            .count();
        let unc_match = cmp
            .frames
            .iter()
            .filter(|f| f.status == Status::Match && !f.fwcheck_certain)
            .count();
        eprintln!(
            "{}: {} frames identical to the kernel ({unc_match} of them uncertain), {unc} \
             uncertain and different",
            self.label(),
            cmp.matches
        );
        Ok((cmp.compared, unc))
    }
}

/// Every capture in `pcaps/` replayed as fast as possible (not the `rt-` ones).
fn fast_captures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("pcaps"))
        .expect("pcaps")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(String::from))
        .filter(|n| !n.starts_with("rt-"))
        .map(|n| format!("pcaps/{n}"))
        .collect();
    v.sort();
    v
}

static FRAMES: AtomicUsize = AtomicUsize::new(0);

/// Run `cases` on `threads` threads; panic with every diff if any differs or none compared.
fn run_all(test: &str, cases: Vec<Case>, threads: usize) {
    let n = cases.len();
    let queue = std::sync::Mutex::new(cases);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let Some(c) = queue.lock().unwrap().pop() else {
                    break;
                };
                let r = c.run();
                results.lock().unwrap().push((c.label(), r));
            });
        }
    });
    let results = results.into_inner().unwrap();
    assert_eq!(results.len(), n);
    let mut failures = Vec::new();
    let (mut compared, mut uncertain) = (0, 0);
    for (_, r) in &results {
        match r {
            Ok((c, u)) => {
                compared += c;
                uncertain += u;
            }
            Err(e) => failures.push(e.clone()),
        }
    }
    FRAMES.fetch_add(compared, Ordering::Relaxed);
    eprintln!(
        "{test}: {n} comparisons, {compared} frames compared, {uncertain} uncertain, {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{test}: {} of {n} comparisons differ from the kernel:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compared > 0, "{test}: nothing compared");
}

fn every_fast_capture(rules: &[&str]) -> Vec<Case> {
    let caps = fast_captures();
    rules
        .iter()
        .flat_map(|r| caps.iter().map(move |c| Case::new(r, c)))
        .collect()
}

const PROBES: [&str; 6] = [
    "invalid",
    "new",
    "established",
    "related",
    "untracked",
    "assured",
];

fn guides_on_every_capture() {
    run_all(
        "guides_on_every_capture",
        every_fast_capture(&[
            "fixtures/guides/guide-000-webserver.rules.v4",
            "fixtures/guides/guide-001-apache.rules.v4",
        ]),
        1,
    );
}

fn real_world_rulesets_on_every_capture() {
    run_all(
        "real_world_rulesets_on_every_capture",
        every_fast_capture(&[
            "fixtures/real/ufw.rules.v4",
            "fixtures/real/ufw.rules.v6",
            "fixtures/real/fail2ban.rules.v4",
            "fixtures/real/docker.rules.v4",
            "fixtures/real/kube-proxy.rules.v4",
        ]),
        1,
    );
}

fn kernel_rulesets_on_every_capture() {
    run_all(
        "kernel_rulesets_on_every_capture",
        every_fast_capture(&[
            "fixtures/kernel/hardened.rules.v4",
            "fixtures/kernel/knock.rules.v4",
            "fixtures/kernel/stateful.rules.v4",
            "fixtures/kernel/connlimit.rules.v4",
            "fixtures/kernel/fragments.rules.v4",
            "fixtures/kernel/fragments.rules.v6",
        ]),
        1,
    );
}

fn state_probes_on_every_capture() {
    let rules: Vec<String> = PROBES
        .iter()
        .flat_map(|p| {
            [
                format!("fixtures/kernel/probe-{p}.rules.v4"),
                format!("fixtures/kernel/probe-{p}.rules.v6"),
            ]
        })
        .collect();
    let refs: Vec<&str> = rules.iter().map(String::as_str).collect();
    run_all(
        "state_probes_on_every_capture",
        every_fast_capture(&refs),
        1,
    );
}

fn iptables_legacy_on_every_capture() {
    let mut cases = every_fast_capture(&[
        "fixtures/kernel/knock.rules.v4",
        "fixtures/kernel/hardened.rules.v4",
        "fixtures/kernel/stateful.rules.v4",
        "fixtures/real/ufw.rules.v4",
        "fixtures/real/ufw.rules.v6",
        "fixtures/kernel/probe-invalid.rules.v6",
    ]);
    for c in &mut cases {
        c.backend = Backend::Legacy;
    }
    run_all("iptables_legacy_on_every_capture", cases, 1);
}

/// The host as a router (`--router`, forwarding on in the namespace): every ruleset against
/// the forwarded traffic of `forward-edge.pcap` and against host traffic (which must not
/// change), the router rulesets also under iptables-legacy.
fn router_forwarding() {
    let mut rules: Vec<String> = [
        "fixtures/kernel/router.rules.v4",
        "fixtures/kernel/router.rules.v6",
        "fixtures/guides/guide-000-webserver.rules.v4",
        "fixtures/guides/guide-001-apache.rules.v4",
        "fixtures/real/ufw.rules.v4",
        "fixtures/real/ufw.rules.v6",
        "fixtures/real/fail2ban.rules.v4",
        "fixtures/real/docker.rules.v4",
        "fixtures/real/kube-proxy.rules.v4",
        "fixtures/kernel/hardened.rules.v4",
        "fixtures/kernel/stateful.rules.v4",
        "fixtures/kernel/fragments.rules.v4",
        "fixtures/kernel/fragments.rules.v6",
    ]
    .map(String::from)
    .to_vec();
    for p in PROBES {
        rules.push(format!("fixtures/kernel/probe-{p}.rules.v4"));
        rules.push(format!("fixtures/kernel/probe-{p}.rules.v6"));
    }
    let mut cases = Vec::new();
    for r in &rules {
        for cap in [
            "pcaps/forward-edge.pcap",
            "pcaps/webserver-dual.pcap",
            "pcaps/icmp-edge.pcap",
            "pcaps/proto-edge.pcap",
            "pcaps/ipv6-edge.pcap",
        ] {
            let mut c = Case::new(r, cap);
            c.router = true;
            cases.push(c);
        }
    }
    for r in [
        "fixtures/kernel/router.rules.v4",
        "fixtures/kernel/router.rules.v6",
    ] {
        let mut c = Case::new(r, "pcaps/forward-edge.pcap");
        c.router = true;
        c.backend = Backend::Legacy;
        cases.push(c);
    }
    run_all("router_forwarding", cases, 1);
}

/// `nf_conntrack_tcp_be_liberal=1` and `nf_conntrack_tcp_loose=0` change TCP tracking.
fn tcp_sysctls() {
    let mut cases = Vec::new();
    for p in ["invalid", "new", "established", "assured"] {
        for cap in [
            "pcaps/tcp-edge.pcap",
            "pcaps/webserver.pcap",
            "pcaps/scan.pcap",
            "pcaps/knock.pcap",
            "pcaps/icmp-edge.pcap",
        ] {
            let mut c = Case::new(&format!("fixtures/kernel/probe-{p}.rules.v4"), cap);
            c.liberal = true;
            cases.push(c.clone());
            c.liberal = false;
            c.loose = false;
            cases.push(c);
        }
    }
    let mut c = Case::new("fixtures/kernel/hardened.rules.v4", "pcaps/tcp-edge.pcap");
    c.loose = false;
    cases.push(c);
    run_all("tcp_sysctls", cases, 1);
}

/// The captures that depend on real time, at their own pace (about 12 s of wall time: they
/// run side by side, each in its own namespace).
fn real_time_captures() {
    let mut cases = Vec::new();
    for backend in [Backend::Nft, Backend::Legacy] {
        for cap in ["pcaps/rt-limit.pcap", "pcaps/rt-knock.pcap"] {
            let mut c = Case::new("fixtures/kernel/knock.rules.v4", cap);
            c.backend = backend;
            cases.push(c);
        }
    }
    for r in ["stateful", "connlimit"] {
        cases.push(Case::new(
            &format!("fixtures/kernel/{r}.rules.v4"),
            "pcaps/rt-connlimit.pcap",
        ));
    }
    let mut t = Timeouts::default();
    for (name, secs) in [
        ("udp", 1),
        ("udp_stream", 3),
        ("icmp", 1),
        ("generic", 1),
        ("tcp_syn_sent", 1),
        ("tcp_time_wait", 1),
        ("tcp_close", 1),
        ("frag4", 1),
        ("tcp_unacknowledged", 1),
        ("tcp_max_retrans", 1),
        ("sctp_closed", 1),
        ("sctp_cookie_wait", 1),
        ("sctp_cookie_echoed", 1),
        ("sctp_established", 1),
    ] {
        t.set(name, secs).expect("timeout name");
    }
    for r in [
        "probe-new",
        "probe-invalid",
        "probe-established",
        "probe-assured",
        "hardened",
    ] {
        let mut c = Case::new(
            &format!("fixtures/kernel/{r}.rules.v4"),
            "pcaps/rt-timeouts.pcap",
        );
        c.timeouts = t;
        cases.push(c);
    }
    let n = cases.len();
    run_all("real_time_captures", cases, n);
}

kernel_tests!(
    guides_on_every_capture,
    real_world_rulesets_on_every_capture,
    kernel_rulesets_on_every_capture,
    state_probes_on_every_capture,
    iptables_legacy_on_every_capture,
    router_forwarding,
    tcp_sysctls,
    real_time_captures,
);
