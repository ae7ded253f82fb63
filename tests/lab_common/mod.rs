//! What the real-traffic labs share (`tests/real_traffic.rs`, `tests/kernel_labs.rs`): running
//! processes in network namespaces, bounded in time, and comparing the kernel's rule counters
//! (`iptables-save -c`) with fwcheck's (`--format json`), table by table.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

// ------------------------------------------------------------------------------------------
// Tools and processes

pub fn tool_works(name: &str, arg: &str) -> bool {
    Command::new(name)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The tools (`(name, a flag it answers to)`) are part of the lab's environment: never pass
/// without them (`.ci/run` installs them).
pub fn require_tools(lab: &str, tools: &[(&str, &str)]) {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(t, a)| !tool_works(t, a))
        .map(|(t, _)| *t)
        .collect();
    if missing.is_empty() {
        return;
    }
    let names: Vec<&str> = tools.iter().map(|(t, _)| *t).collect();
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI is set but {} missing: .ci/run must install it (apt-get install {})",
            missing.join(", "),
            names.join(" ")
        );
    }
    panic!(
        "{lab} needs {} (not found in PATH); install it, e.g. `apt-get install {}` (.ci/run does)",
        missing.join(", "),
        names.join(" ")
    );
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

/// `ip netns exec NS timeout -k 2 SECS ARGS…`: every process of a lab is bounded in time.
pub fn in_ns(ns: &str, secs: u32, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, "timeout", "-k", "2", &secs.to_string()])
        .args(args);
    c
}

pub fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped yet.
    unsafe {
        libc::kill(child.id() as libc::pid_t, sig);
    }
}

/// Signals a child (`timeout` forwards the signal to the command it runs) and reaps it, killing
/// it after 3 s.
pub fn stop(child: &mut Child, sig: i32) -> std::process::ExitStatus {
    if let Ok(Some(st)) = child.try_wait() {
        return st;
    }
    signal(child, sig);
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(st)) = child.try_wait() {
            return st;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait().expect("wait")
}

/// Reads a child's pipe line by line: every line is kept, and each is also sent to `tx`.
pub fn collect(
    r: impl std::io::Read + Send + 'static,
) -> (mpsc::Receiver<String>, Arc<Mutex<String>>) {
    let (tx, rx) = mpsc::channel();
    let all = Arc::new(Mutex::new(String::new()));
    let keep = all.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            keep.lock().unwrap().push_str(&line);
            keep.lock().unwrap().push('\n');
            let _ = tx.send(line);
        }
    });
    (rx, all)
}

/// Waits until a capture file has stopped growing (unchanged for 400 ms, at most 5 s): the
/// packets a running tcpdump has yet to read from its ring are lost when it is stopped.
pub fn wait_written(path: &std::path::Path) {
    let len = || std::fs::metadata(path).map_or(0, |m| m.len());
    let (t0, mut last, mut since) = (Instant::now(), len(), Instant::now());
    while t0.elapsed() < Duration::from_secs(5) && since.elapsed() < Duration::from_millis(400) {
        std::thread::sleep(Duration::from_millis(50));
        let now = len();
        if now != last {
            (last, since) = (now, Instant::now());
        }
    }
}

/// tcpdump's closing counts (`stderr`, once it exited): nothing dropped by the kernel and, with
/// `every`, every packet the filter took written, or the capture is not what the kernel's
/// counters counted.
pub fn assert_all_written(what: &str, stderr: &Mutex<String>, every: bool) {
    // The reader thread may still be copying tcpdump's last lines.
    let t0 = Instant::now();
    while !stderr.lock().unwrap().contains("dropped by kernel") && t0.elapsed().as_secs() < 2 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = stderr.lock().unwrap().clone();
    let stat = |suffix: &str| {
        err.lines()
            .find_map(|l| l.strip_suffix(suffix)?.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{what}: no {suffix:?} in its output:\n{err}"))
    };
    assert_eq!(
        stat(" packets dropped by kernel"),
        0,
        "{what} dropped packets:\n{err}"
    );
    if !every {
        return;
    }
    assert_eq!(
        stat(" packets captured"),
        stat(" packets received by filter"),
        "{what} did not write every packet:\n{err}"
    );
}

pub fn wait_for(rx: &mpsc::Receiver<String>, what: &str, needle: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return,
            Ok(_) => {}
            Err(e) => panic!("{what} did not print {needle:?} within {secs} s ({e})"),
        }
    }
}

/// Kills every process left in namespace `ns` (all started by the lab) and deletes it.
pub fn delete_ns(ns: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<libc::pid_t>() {
                // SAFETY: kill(2) on a process living in the lab's own namespace.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
    let _ = Command::new("ip")
        .args(["netns", "del", ns])
        .stderr(Stdio::null())
        .status();
}

// ------------------------------------------------------------------------------------------
// Counters

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    Rule(usize),
    Policy,
}

/// `(table, chain, slot)`.
pub type Key = (String, String, Slot);

pub fn key(table: &str, chain: &str, slot: Slot) -> Key {
    (table.to_string(), chain.to_string(), slot)
}

#[derive(Debug, Clone, Default)]
pub struct Counter {
    pub text: String,
    pub packets: u64,
    pub bytes: u64,
}

pub type Counters = BTreeMap<Key, Counter>;

fn pkts_bytes(s: &str) -> (u64, u64) {
    let s = s.trim_start_matches('[').trim_end_matches(']');
    let (p, b) = s.split_once(':').expect("[packets:bytes]");
    (p.parse().expect("packets"), b.parse().expect("bytes"))
}

/// Every table's counters from `iptables-save -c`, in its order.
pub fn kernel_counters(save: &str) -> Vec<(Key, Counter)> {
    let mut v = Vec::new();
    let mut numbers: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut table = String::new();
    for line in save.lines() {
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
        } else if line == "COMMIT" || line.starts_with('#') {
            continue;
        } else if let Some(rest) = line.strip_prefix(':') {
            let mut it = rest.split_whitespace();
            let (chain, policy, pb) = (it.next().unwrap(), it.next().unwrap(), it.next());
            if policy != "-" {
                let (packets, bytes) = pkts_bytes(pb.expect("policy counters"));
                v.push((
                    key(&table, chain, Slot::Policy),
                    Counter {
                        text: format!("policy {policy}"),
                        packets,
                        bytes,
                    },
                ));
            }
        } else if line.starts_with('[') {
            let (pb, rule) = line.split_once(' ').expect("[p:b] -A …");
            let chain = rule.split_whitespace().nth(1).expect("chain").to_string();
            let n = numbers.entry((table.clone(), chain.clone())).or_default();
            *n += 1;
            let (packets, bytes) = pkts_bytes(pb);
            v.push((
                key(&table, &chain, Slot::Rule(*n)),
                Counter {
                    text: rule.to_string(),
                    packets,
                    bytes,
                },
            ));
        }
    }
    v
}

/// What fwcheck printed with `--format json`: every table's counters, the packet records and
/// the summary.
pub struct FwRun {
    pub counters: Counters,
    /// The counters fwcheck marks `at_most` (they may be above the kernel's).
    pub at_most: std::collections::BTreeSet<Key>,
    /// The counters fwcheck marks `at_least` (they may be below the kernel's).
    pub at_least: std::collections::BTreeSet<Key>,
    pub packets: Vec<Value>,
    pub summary: Value,
}

impl FwRun {
    /// The packet records whose verdict is `verdict` ("ACCEPT", "DROP", …) and certain.
    pub fn certain(&self, verdict: &str) -> Vec<&Value> {
        self.packets
            .iter()
            .filter(|p| p["certain"] == true && p["verdict"] == verdict)
            .collect()
    }
}

/// Runs the `fwcheck` binary with `args` and `--format json --fail-on never`.
pub fn fwcheck_json<S: AsRef<OsStr>>(args: &[S]) -> FwRun {
    let out = run(Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .args(["--format", "json", "--fail-on", "never"]));
    let mut run = FwRun {
        counters: Counters::new(),
        at_most: Default::default(),
        at_least: Default::default(),
        packets: Vec::new(),
        summary: Value::Null,
    };
    for line in String::from_utf8(out.stdout).expect("utf-8").lines() {
        let v: Value = serde_json::from_str(line).expect("fwcheck JSON line");
        match v["type"].as_str() {
            Some("rule" | "policy") => {
                let slot = match v["number"].as_u64() {
                    Some(n) if v["type"] == "rule" => Slot::Rule(n as usize),
                    _ => Slot::Policy,
                };
                let c = Counter {
                    text: v["text"].as_str().unwrap_or_default().to_string(),
                    packets: v["packets"].as_u64().expect("packets"),
                    bytes: v["bytes"].as_u64().expect("bytes"),
                };
                let table = v["table"].as_str().unwrap_or_default();
                let k = key(table, v["chain"].as_str().unwrap(), slot);
                if v["at_most"] == true {
                    run.at_most.insert(k.clone());
                }
                if v["at_least"] == true {
                    run.at_least.insert(k.clone());
                }
                run.counters.insert(k, c);
            }
            Some("packet") => run.packets.push(v),
            Some("summary") => run.summary = v,
            _ => {}
        }
    }
    assert!(!run.summary.is_null(), "fwcheck printed no summary");
    run
}

/// One line per rule and policy of the kernel's tables; `Err` with the table when a counter
/// differs, or fwcheck counts a rule of those tables the kernel does not have.
pub fn compare(kernel: &[(Key, Counter)], fw: &Counters) -> Result<String, String> {
    let mut t = String::new();
    let mut bad = false;
    let _ = writeln!(
        t,
        "{:<7} {:<12} {:<7} {:>9} {:>9} {:>11} {:>11}  rule",
        "table", "chain", "#", "kern pkt", "fw pkt", "kern bytes", "fw bytes"
    );
    for (key, k) in kernel {
        let f = fw.get(key).cloned().unwrap_or(Counter {
            text: "(missing in fwcheck)".into(),
            packets: u64::MAX,
            bytes: u64::MAX,
        });
        let differs = k.packets != f.packets || k.bytes != f.bytes;
        bad |= differs;
        let slot = match key.2 {
            Slot::Rule(n) => n.to_string(),
            Slot::Policy => "policy".into(),
        };
        let _ = writeln!(
            t,
            "{:<7} {:<12} {:<7} {:>9} {:>9} {:>11} {:>11}  {}{}",
            key.0,
            key.1,
            slot,
            k.packets,
            f.packets as i64,
            k.bytes,
            f.bytes as i64,
            k.text,
            if differs { "   <-- DIFFERS" } else { "" }
        );
    }
    let tables: Vec<&str> = kernel.iter().map(|(k, _)| k.0.as_str()).collect();
    for (k, c) in fw {
        if tables.contains(&k.0.as_str()) && !kernel.iter().any(|(kk, _)| kk == k) {
            bad = true;
            let _ = writeln!(t, "fwcheck has a rule the kernel does not: {k:?} {c:?}");
        }
    }
    if bad {
        Err(t)
    } else {
        Ok(t)
    }
}

/// fwcheck's packet records decided by the rules/policies whose counters differ.
pub fn frames_of_differing(kernel: &[(Key, Counter)], fw: &FwRun) -> String {
    let mut s = String::new();
    for (key, k) in kernel {
        let f = fw.counters.get(key);
        if f.is_some_and(|f| f.packets == k.packets && f.bytes == k.bytes) {
            continue;
        }
        let _ = writeln!(
            s,
            "frames fwcheck counts on {} {} {:?}:",
            key.0, key.1, key.2
        );
        for p in &fw.packets {
            let r = &p["rule"];
            let hit = r["table"] == key.0.as_str()
                && r["chain"] == key.1.as_str()
                && match key.2 {
                    Slot::Rule(n) => r["number"].as_u64() == Some(n as u64),
                    Slot::Policy => r["policy"].is_string(),
                };
            if hit {
                let _ = writeln!(s, "  {p}");
            }
        }
    }
    s
}
