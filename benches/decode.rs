//! Read + decode benchmark: a 2-million-packet capture, fwcheck's decode path side by side with
//! `tcpdump -r FILE -w /dev/null` on the same file in the same run.
//!
//! Run: `cargo bench --bench decode` (release profile). Environment:
//! `FWCHECK_BENCH_PACKETS` (default 2000000), `FWCHECK_BENCH_RUNS` (default 3, best is kept).
//! The capture is written to a temporary directory (deleted afterwards): the webserver profile
//! (seed 1) repeated with increasing time stamps.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fwcheck::packet::capture::CaptureReader;
#[path = "common/capture.rs"]
mod capture;
use capture::{env_num, write_capture};

fn decode_once(path: &Path) -> (Duration, u64, u64) {
    let t = Instant::now();
    let mut r = CaptureReader::open(path).expect("open");
    let mut n = 0u64;
    let mut acc = 0u64;
    for p in (&mut r).flatten() {
        acc = acc.wrapping_add(p.ip_len as u64 + p.proto as u64);
        n += 1;
        black_box(&p);
    }
    (t.elapsed(), n, black_box(acc))
}

fn tcpdump_once(path: &Path) -> Option<Duration> {
    let t = Instant::now();
    let st = Command::new("tcpdump")
        .args(["-r"])
        .arg(path)
        .args(["-w", "/dev/null"])
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    st.success().then(|| t.elapsed())
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench`-less args; keep it cheap then.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let n = env_num("FWCHECK_BENCH_PACKETS", 2_000_000);
    let runs = env_num("FWCHECK_BENCH_RUNS", 3).max(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.pcap");
    let t = Instant::now();
    let bytes = write_capture(&path, n).expect("write capture");
    println!(
        "capture: {n} packets, {:.1} MB, written in {:.2?} ({})",
        bytes as f64 / 1e6,
        t.elapsed(),
        path.display()
    );
    let mut best_ours = Duration::MAX;
    let mut best_td: Option<Duration> = None;
    // First pass warms the page cache for both.
    for run in 0..=runs {
        let (d, got, _) = decode_once(&path);
        assert_eq!(got, n, "every packet decodes");
        let td = tcpdump_once(&path);
        if run == 0 {
            continue;
        }
        best_ours = best_ours.min(d);
        if let Some(td) = td {
            best_td = Some(best_td.map_or(td, |b: Duration| b.min(td)));
        }
    }
    let rate = |d: Duration| n as f64 / d.as_secs_f64() / 1e6;
    println!(
        "fwcheck read+decode:            {:>8.3} s  {:>6.2} Mpkt/s  {:>6.0} ns/pkt",
        best_ours.as_secs_f64(),
        rate(best_ours),
        best_ours.as_nanos() as f64 / n as f64
    );
    match best_td {
        Some(td) => {
            println!(
                "tcpdump -r FILE -w /dev/null:   {:>8.3} s  {:>6.2} Mpkt/s  {:>6.0} ns/pkt",
                td.as_secs_f64(),
                rate(td),
                td.as_nanos() as f64 / n as f64
            );
            println!(
                "ratio fwcheck/tcpdump: {:.2} (best of {runs} runs each)",
                best_ours.as_secs_f64() / td.as_secs_f64()
            );
        }
        None => println!("tcpdump: not available, SKIP comparison"),
    }
}
