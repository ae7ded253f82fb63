//! End-to-end throughput: a 2-million-packet capture replayed through guide 000's ruleset
//! (conntrack, defragmentation, every rule traversal), side by side with
//! `tcpdump -r FILE -w /dev/null` and with fwcheck's own read+decode on the same file in the same
//! run.
//!
//! Run: `cargo bench --bench replay`. Environment: `FWCHECK_BENCH_PACKETS` (default 2000000),
//! `FWCHECK_BENCH_RUNS` (default 3, best is kept). Four figures:
//! - `tcpdump`: `tcpdump -r FILE -w /dev/null` (read every record, write nothing);
//! - `decode`: fwcheck's streaming reader + decoder alone;
//! - `replay`: the library path, ruleset parsed + every packet judged (verdicts counted);
//! - `cli`: the `fwcheck` binary, `fwcheck RULES --pcap FILE --host H`, table output to
//!   /dev/null, with its peak resident memory (from `wait4`).

use std::hint::black_box;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fwcheck::engine::{SimEnv, SimOptions, Verdict};
use fwcheck::packet::capture::CaptureReader;
use fwcheck::replay::{choose_hosts, replay, Item, Source};
use fwcheck::ruleset::parser::{parse_file, ParseOptions};

#[path = "common/capture.rs"]
mod capture;
use capture::{env_num, write_capture};

const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/guides/guide-000-webserver.rules.v4"
);

fn decode_once(path: &Path) -> Duration {
    let t = Instant::now();
    let mut n = 0u64;
    for p in CaptureReader::open(path).expect("open").flatten() {
        n += 1;
        black_box(&p);
    }
    black_box(n);
    t.elapsed()
}

/// Parse the ruleset and replay the capture; returns the time and the verdict counts
/// (accepted, dropped, rejected, other).
fn replay_once(path: &Path, host: std::net::IpAddr) -> (Duration, [u64; 4]) {
    let t = Instant::now();
    let parsed = parse_file(Path::new(RULES), ParseOptions::default()).expect("read rules");
    assert!(!parsed.has_errors(), "guide 000 parses");
    let opts = SimOptions {
        env: SimEnv {
            hosts: vec![host],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let mut counts = [0u64; 4];
    replay(
        &parsed.ruleset,
        opts,
        Source::Capture(path.to_path_buf()),
        |item| {
            if let Item::Packet(_, o) = item {
                let k = match o.verdict {
                    Some(Verdict::Accept) => 0,
                    Some(Verdict::Drop) => 1,
                    Some(Verdict::Reject) => 2,
                    _ => 3,
                };
                counts[k] += 1;
            }
        },
    )
    .expect("replay");
    (t.elapsed(), counts)
}

/// Run a command with stdout to /dev/null; wall time and peak RSS (KiB) from `wait4`.
fn run_child(cmd: &mut Command) -> Option<(Duration, i64)> {
    let t = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain wait4 on our own child; `ru` is a valid out-parameter.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let elapsed = t.elapsed();
    if r != pid || !libc::WIFEXITED(status) {
        return None;
    }
    // fwcheck exits 0/1 depending on findings; both are successful runs here.
    if libc::WEXITSTATUS(status) > 1 {
        return None;
    }
    Some((elapsed, ru.ru_maxrss))
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let n = env_num("FWCHECK_BENCH_PACKETS", 2_000_000);
    let runs = env_num("FWCHECK_BENCH_RUNS", 3).max(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.pcap");
    let bytes = write_capture(&path, n).expect("write capture");
    let host = choose_hosts(&[], &Source::Capture(path.clone()))
        .expect("infer host")
        .hosts[0];
    println!(
        "capture: {n} packets, {:.1} MB; ruleset: guide 000; host {host}",
        bytes as f64 / 1e6
    );
    let bin = env!("CARGO_BIN_EXE_fwcheck");
    let mut best = [Duration::MAX; 4];
    let mut have_td = true;
    let mut rss = 0i64;
    let mut counts = [0u64; 4];
    // Run 0 warms the page cache and is not counted.
    for run in 0..=runs {
        let td = run_child(
            Command::new("tcpdump")
                .arg("-r")
                .arg(&path)
                .args(["-w", "/dev/null"]),
        );
        let dec = decode_once(&path);
        let (rep, c) = replay_once(&path, host);
        counts = c;
        let cli = run_child(
            Command::new(bin)
                .arg(RULES)
                .arg("--pcap")
                .arg(&path)
                .args(["--host", &host.to_string()]),
        )
        .expect("fwcheck runs");
        if run == 0 {
            continue;
        }
        match td {
            Some((d, _)) => best[0] = best[0].min(d),
            None => have_td = false,
        }
        best[1] = best[1].min(dec);
        best[2] = best[2].min(rep);
        best[3] = best[3].min(cli.0);
        rss = rss.max(cli.1);
    }
    assert_eq!(counts.iter().sum::<u64>(), n, "every packet judged");
    println!(
        "verdicts: {} accepted, {} dropped, {} rejected, {} other",
        counts[0], counts[1], counts[2], counts[3]
    );
    let line = |name: &str, d: Duration| {
        println!(
            "{name:<34} {:>8.3} s  {:>6.2} Mpkt/s  {:>5.0} ns/pkt",
            d.as_secs_f64(),
            n as f64 / d.as_secs_f64() / 1e6,
            d.as_nanos() as f64 / n as f64
        )
    };
    if have_td {
        line("tcpdump -r FILE -w /dev/null", best[0]);
    } else {
        println!("tcpdump: not available, SKIP");
    }
    line("fwcheck read+decode (library)", best[1]);
    line("fwcheck replay, guide 000 (library)", best[2]);
    line("fwcheck RULES --pcap FILE (binary)", best[3]);
    println!("fwcheck binary peak RSS: {:.1} MiB", rss as f64 / 1024.0);
    if have_td {
        println!(
            "ratio replay/tcpdump: {:.2}, binary/tcpdump: {:.2} (best of {runs} runs each)",
            best[2].as_secs_f64() / best[0].as_secs_f64(),
            best[3].as_secs_f64() / best[0].as_secs_f64()
        );
    }
}
