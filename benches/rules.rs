//! Rule count must not matter (issue 13, target 2): replay throughput with 10,000 and 50,000
//! rules of each shape of `benches/gate.sh` (`blocklist`, `mixed`, `chains`), against the
//! 17-rule throughput of guide 000, on the same packets, with the classifier
//! (`src/engine/classify/`: its choice, then the bitmap index forced) and, for comparison, with
//! the linear walk.
//!
//! Run: `cargo bench --features testkit --bench rules`. Environment: `FWCHECK_BENCH_PACKETS`
//! (default 200000), `FWCHECK_BENCH_RUNS` (default 3, best is kept), `FWCHECK_BENCH_SIZES`
//! (default `10000,50000`), `FWCHECK_BENCH_WALK=0` to skip the linear-walk column.
//!
//! The packets are the webserver capture of the other benches, decoded once into memory, so the
//! figures are the engine's alone (conntrack, defragmentation, every table). Each shape runs
//! twice: as generated (a stateful head accepts ESTABLISHED first, so only new connections walk
//! the long chain) and `stateless` (that line removed: every inbound packet walks it).

use std::hint::black_box;
use std::time::{Duration, Instant};

use fwcheck::engine::{ClassifierMode, Engine, SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::packet::capture::CaptureReader;
use fwcheck::packet::Packet;
use fwcheck::replay::{choose_hosts, Source};
use fwcheck::ruleset::ParseOptions;
use fwcheck::testkit::bench_support::gate_ruleset;

#[path = "common/capture.rs"]
mod capture;
use capture::{env_num, write_capture};

const GUIDE_000: &str = include_str!("../fixtures/guides/guide-000-webserver.rules.v4");
const HEAD: &str = "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n";

/// Best time of `runs` replays of `pkts` through `text`, and the classifier's index bytes.
fn time(
    text: &str,
    pkts: &[Packet],
    host: std::net::IpAddr,
    mode: ClassifierMode,
    runs: u64,
) -> (Duration, usize) {
    let l = load_str("bench.rules", text, ParseOptions::default());
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    let mut best = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..runs {
        let mut e = Engine::new(
            &l.ruleset,
            SimOptions {
                env: SimEnv {
                    hosts: vec![host],
                    ..SimEnv::default()
                },
                ..SimOptions::default()
            },
        );
        e.set_classifier_mode(mode);
        let t = Instant::now();
        for p in pkts {
            black_box(e.process(p).verdict);
        }
        best = best.min(t.elapsed());
        bytes = e.classifier_bytes();
    }
    (best, bytes)
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let n = env_num("FWCHECK_BENCH_PACKETS", 200_000);
    let runs = env_num("FWCHECK_BENCH_RUNS", 3).max(1);
    let walk = env_num("FWCHECK_BENCH_WALK", 1) != 0;
    let sizes: Vec<usize> = std::env::var("FWCHECK_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,50000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.pcap");
    write_capture(&path, n).expect("write capture");
    let host = choose_hosts(&[], &Source::Capture(path.clone()))
        .expect("infer host")
        .hosts[0];
    let pkts: Vec<Packet> = CaptureReader::open(&path)
        .expect("open")
        .flatten()
        .collect();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / pkts.len() as f64;
    println!(
        "{} packets (webserver capture, host {host}), best of {runs}; µs per packet",
        pkts.len()
    );
    let (base, _) = time(GUIDE_000, &pkts, host, ClassifierMode::Auto, runs);
    println!(
        "{:<24} {:>6} {:>10} {:>7} {:>9} {:>9} {:>9}",
        "ruleset", "rules", "classifier", "vs 17", "bitmaps", "walk", "index MiB"
    );
    println!(
        "{:<24} {:>6} {:>10.3} {:>7} {:>9} {:>9} {:>9}",
        "guide 000",
        17,
        per(base),
        "1.00×",
        "",
        "",
        ""
    );
    for shape in ["blocklist", "mixed", "chains"] {
        for &size in &sizes {
            let text = gate_ruleset(shape, size).expect("shape");
            for stateless in [false, true] {
                let text = if stateless {
                    text.replacen(HEAD, "", 1)
                } else {
                    text.clone()
                };
                let (c, bytes) = time(&text, &pkts, host, ClassifierMode::Auto, runs);
                let bm = per(time(&text, &pkts, host, ClassifierMode::Bitmaps, 1).0);
                let w = if walk {
                    format!(
                        "{:.3}",
                        per(time(&text, &pkts, host, ClassifierMode::Off, 1).0)
                    )
                } else {
                    "-".into()
                };
                let name = format!("{shape}{}", if stateless { " (stateless)" } else { "" });
                println!(
                    "{:<24} {:>6} {:>10.3} {:>6.2}× {:>9.3} {:>9} {:>9.1}",
                    name,
                    size,
                    per(c),
                    base.as_secs_f64() / c.as_secs_f64(),
                    bm,
                    w,
                    bytes as f64 / (1 << 20) as f64
                );
            }
        }
    }
    println!(
        "(vs 17: the 17-rule time divided by this one: the throughput relative to guide 000's)"
    );
}
