//! `fwcheck debug …` (hidden): developer tools, not part of the product's interface.
//! - `frames CAPTURE [FRAME…]`: every frame (or the listed ones) as the decoder sees it;
//! - `gen-ruleset N [OUT]` (feature `testkit`): the parse benchmark's N-rule ruleset
//!   (`benches/restore-compare.sh` compares iptables-restore's time on it);
//! - `kernel-diff RULES CAPTURE …` (feature `oracle`, root): one capture through the real kernel
//!   and through fwcheck, frame by frame (`fwcheck::compare`).

use std::path::PathBuf;

/// Arguments of `fwcheck debug`.
#[derive(clap::Args, Debug, Clone)]
pub struct DebugArgs {
    #[command(subcommand)]
    pub command: DebugCommand,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum DebugCommand {
    /// Print the decoded form of the frames of a capture (all, or the listed frame numbers).
    Frames { capture: PathBuf, frames: Vec<u64> },
    /// Write the parse benchmark's N-rule ruleset to OUT (or standard output) and time one
    /// parse and graph on standard error.
    #[cfg(feature = "testkit")]
    GenRuleset {
        #[arg(default_value_t = 10_000)]
        n: usize,
        out: Option<PathBuf>,
        /// The static gate benchmark's shapes instead (`benches/gate.sh`): blocklist, mixed,
        /// chains.
        #[arg(long)]
        shape: Option<String>,
    },
    /// Time each phase of the static gate (load, then every analysis) on one rules file, for
    /// the profile note in README's Performance section.
    GatePhases { rules: PathBuf },
    /// Replay one capture through a ruleset in the real kernel and in fwcheck and print the
    /// comparison (root only). Exit 1 when a verdict differs.
    #[cfg(all(target_os = "linux", feature = "oracle"))]
    KernelDiff {
        rules: PathBuf,
        capture: PathBuf,
        /// The host's address (default 203.0.113.10, or 2001:db8::10 for `*6` rule files).
        #[arg(long)]
        host: Vec<std::net::IpAddr>,
        /// Replay at the capture's pace instead of as fast as possible.
        #[arg(long)]
        realtime: bool,
        #[arg(long)]
        legacy: bool,
        /// Print every frame, not only the differing ones.
        #[arg(long)]
        all: bool,
        /// Conntrack timeout NAME=SECS (repeatable).
        #[arg(long, value_name = "NAME=SECS")]
        ct_timeout: Vec<String>,
        #[arg(long)]
        be_liberal: bool,
        #[arg(long)]
        no_loose: bool,
        #[arg(long)]
        router: bool,
        /// The host's ipsets (`ipset save` output): restored in the kernel's namespace and
        /// given to fwcheck (`kernel_random`'s `FWCHECK_RANDOM_DUMP` writes them).
        #[arg(long, value_name = "FILE")]
        ipset: Option<PathBuf>,
    },
}

/// Run `fwcheck debug`; the exit status.
pub fn run(args: &DebugArgs) -> u8 {
    match &args.command {
        DebugCommand::Frames { capture, frames } => dump_frames(capture, frames),
        #[cfg(feature = "testkit")]
        DebugCommand::GenRuleset { n, out, shape } => {
            gen_ruleset(*n, out.as_ref(), shape.as_deref())
        }
        DebugCommand::GatePhases { rules } => gate_phases(rules),
        #[cfg(all(target_os = "linux", feature = "oracle"))]
        DebugCommand::KernelDiff {
            rules,
            capture,
            host,
            realtime,
            legacy,
            all,
            ct_timeout,
            be_liberal,
            no_loose,
            router,
            ipset,
        } => kernel_diff::run(kernel_diff::Opts {
            rules,
            capture,
            hosts: host,
            realtime: *realtime,
            legacy: *legacy,
            all: *all,
            ct_timeouts: ct_timeout,
            be_liberal: *be_liberal,
            loose: !*no_loose,
            router: *router,
            ipset: ipset.as_ref(),
        }),
    }
}

fn dump_frames(path: &std::path::Path, want: &[u64]) -> u8 {
    let r = match crate::packet::capture::CaptureReader::open(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fwcheck: {}: {e}", path.display());
            return 2;
        }
    };
    for item in r {
        match item {
            Ok(p) if want.is_empty() || want.contains(&p.frame) => println!(
                "{} ip_len={} data={} anomalies={:?} drop={:?} l4={:?}",
                p.frame,
                p.ip_len,
                p.data.len(),
                p.anomalies,
                p.kernel_drop_reason(),
                p.l4
            ),
            Err(e) if want.is_empty() || want.contains(&e.frame) => {
                println!("{} problem {:?}: {}", e.frame, e.kind, e.reason)
            }
            _ => {}
        }
    }
    0
}

#[cfg(feature = "testkit")]
fn gen_ruleset(n: usize, out: Option<&PathBuf>, shape: Option<&str>) -> u8 {
    let text = match shape {
        None => crate::testkit::bench_support::ruleset(n),
        Some(s) => {
            match crate::testkit::bench_support::gate_ruleset(s, n) {
                Some(t) => t,
                None => {
                    eprintln!("fwcheck: debug gen-ruleset --shape {s}: expected blocklist, mixed or chains");
                    return 2;
                }
            }
        }
    };
    let written = match out {
        Some(p) => std::fs::write(p, &text).map_err(|e| format!("{}: {e}", p.display())),
        None => {
            use std::io::Write as _;
            let mut o = std::io::stdout().lock();
            o.write_all(text.as_bytes()).map_err(|e| e.to_string())
        }
    };
    if let Err(e) = written {
        eprintln!("fwcheck: {e}");
        return 2;
    }
    let t = std::time::Instant::now();
    let l = crate::lint::load_str("gen", &text, Default::default());
    eprintln!(
        "{} rules, {} diags: {:?}",
        l.ruleset.rule_count(),
        l.diagnostics.len(),
        t.elapsed()
    );
    0
}

#[cfg(all(target_os = "linux", feature = "oracle"))]
mod kernel_diff {
    use std::net::IpAddr;
    use std::path::PathBuf;

    use crate::compare::{compare_capture, Status};
    use crate::engine::{SimEnv, SimOptions};
    use crate::lint::load_file;
    use crate::netfilter::{Backend, Family};
    use crate::oracle::Pacing;
    use crate::ruleset::ParseOptions;

    pub(crate) struct Opts<'a> {
        pub rules: &'a PathBuf,
        pub capture: &'a PathBuf,
        pub hosts: &'a [IpAddr],
        pub(crate) realtime: bool,
        pub legacy: bool,
        pub all: bool,
        pub ct_timeouts: &'a [String],
        pub be_liberal: bool,
        pub loose: bool,
        pub router: bool,
        pub ipset: Option<&'a PathBuf>,
    }

    pub fn run(o: Opts) -> u8 {
        let mut timeouts = crate::conntrack::Timeouts::default();
        for v in o.ct_timeouts {
            let set = v
                .split_once('=')
                .ok_or_else(|| format!("--ct-timeout {v}: expected NAME=SECS"))
                .and_then(|(n, s)| {
                    let secs = s
                        .parse()
                        .map_err(|_| format!("--ct-timeout {v}: `{s}` is not a number"))?;
                    timeouts.set(n, secs).map_err(|e| e.to_string())
                });
            if let Err(e) = set {
                eprintln!("fwcheck: {e}");
                return 2;
            }
        }
        let family = if o.rules.to_string_lossy().ends_with('6') {
            Family::V6
        } else {
            Family::V4
        };
        let backend = if o.legacy {
            Backend::Legacy
        } else {
            Backend::Nft
        };
        let mut hosts = o.hosts.to_vec();
        if hosts.is_empty() {
            hosts.push(match family {
                Family::V4 => IpAddr::from([203, 0, 113, 10]),
                Family::V6 => "2001:db8::10".parse().expect("address"),
            });
        }
        let opts = ParseOptions {
            family,
            backend,
            ..ParseOptions::default()
        };
        let loaded = match load_file(o.rules, opts) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("fwcheck: {}: {e}", o.rules.display());
                return 2;
            }
        };
        if loaded.has_errors() {
            eprintln!("{}", loaded.render_diagnostics(false));
            return 3;
        }
        let ipsets = match o.ipset.map(|p| {
            std::fs::read_to_string(p)
                .map_err(|e| e.to_string())
                .and_then(|t| crate::ext::ipset::IpSets::parse(&t).map_err(|e| e.to_string()))
                .map_err(|e| format!("{}: {e}", p.display()))
        }) {
            None => None,
            Some(Ok(sets)) => Some(std::sync::Arc::new(sets)),
            Some(Err(e)) => {
                eprintln!("fwcheck: {e}");
                return 2;
            }
        };
        let env = SimEnv {
            hosts,
            backend,
            ipsets,
            tcp_be_liberal: o.be_liberal,
            tcp_loose: o.loose,
            ..SimEnv::default()
        };
        let sim = SimOptions {
            env,
            ct_timeouts: timeouts,
            router: o.router,
            ..SimOptions::default()
        };
        let pacing = if o.realtime {
            Pacing::Realtime { speed: 1.0 }
        } else {
            Pacing::AsFastAsPossible
        };
        let cmp = match compare_capture(&loaded, o.capture, sim, pacing) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("fwcheck: {e}");
                return 2;
            }
        };
        if o.all {
            for f in &cmp.frames {
                let mark = match f.status {
                    Status::Match => " ",
                    Status::Mismatch => "!",
                    Status::Uncertain => "?",
                    Status::NotCompared => "-",
                };
                println!("{mark} {}", f.line());
            }
        }
        print!("{}", cmp.render(true));
        u8::from(cmp.mismatches > 0)
    }
}

/// `fwcheck debug gate-phases RULES`.
fn gate_phases(path: &std::path::Path) -> u8 {
    use crate::analysis::{self, CheckOptions};
    use std::time::Instant;
    let t = Instant::now();
    let l = match crate::lint::load_file(path, Default::default()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fwcheck: {}: {e}", path.display());
            return 2;
        }
    };
    println!(
        "{:<12} {:>9.3} s  {} rules",
        "load",
        t.elapsed().as_secs_f64(),
        l.ruleset.rule_count()
    );
    let o = CheckOptions::default();
    let rs = &l.ruleset;
    type Phase<'a> = (&'a str, Box<dyn Fn() -> usize + 'a>);
    let phases: Vec<Phase> = vec![
        (
            "lockout",
            Box::new(|| analysis::lockout::check(rs, &o).len()),
        ),
        ("probes", Box::new(|| analysis::probes::check(rs, &o).len())),
        (
            "services",
            Box::new(|| analysis::services::check(rs, &o).len()),
        ),
        ("shadow", Box::new(|| analysis::shadow::check(rs).len())),
        (
            "placement",
            Box::new(|| analysis::placement::check(rs, &o).len()),
        ),
        ("structural", Box::new(|| analysis::structural(&l).len())),
    ];
    for (name, f) in phases {
        let t = Instant::now();
        let n = f();
        println!(
            "{name:<12} {:>9.3} s  {n} findings",
            t.elapsed().as_secs_f64()
        );
    }
    0
}
