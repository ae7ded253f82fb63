//! The `fwcheck` binary's JSON Lines output: one record per frame, flow records with `--flows`,
//! counts that agree with each other, and records that agree with the library's replay.

use std::path::Path;
use std::process::Command;

use fwcheck::engine::{SimEnv, SimOptions, Verdict};
use fwcheck::replay::replay_file;
use fwcheck::ruleset::parser::{parse_file, ParseOptions};
use serde_json::Value;

fn json_lines(args: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .args(["--format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run fwcheck");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_type<'a>(v: &'a [Value], t: &str) -> Vec<&'a Value> {
    v.iter().filter(|r| r["type"] == t).collect()
}

#[test]
fn packet_records_match_the_library_replay() {
    let rules = "fixtures/guides/guide-000-webserver.rules.v4";
    let pcap = "pcaps/webserver.pcap";
    let v = json_lines(&[rules, "--pcap", pcap, "--host", "203.0.113.10"]);
    let packets = of_type(&v, "packet");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let parsed = parse_file(&root.join(rules), ParseOptions::default()).unwrap();
    let opts = SimOptions {
        env: SimEnv {
            hosts: vec!["203.0.113.10".parse().unwrap()],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let outcomes = replay_file(&parsed.ruleset, opts, &root.join(pcap)).unwrap();
    assert_eq!(packets.len(), outcomes.len());
    for (r, o) in packets.iter().zip(&outcomes) {
        assert_eq!(r["frame"], o.frame);
        assert_eq!(
            r["verdict"].as_str(),
            o.verdict.map(Verdict::as_str),
            "frame {}",
            o.frame
        );
        // A rule that decided is named with its line and text, the same for every packet.
        if let Some(rule) = r.get("rule") {
            assert!(
                rule["table"].is_string() && rule["chain"].is_string(),
                "{r}"
            );
            if rule["number"].is_u64() {
                assert!(rule["text"].as_str().unwrap().starts_with("-A "), "{r}");
                assert!(rule["line"].as_u64().unwrap() > 0, "{r}");
            }
        }
    }
    let summary = of_type(&v, "summary");
    assert_eq!(summary.len(), 1);
    let s = summary[0];
    let count = |verdict: &str| packets.iter().filter(|r| r["verdict"] == verdict).count();
    assert_eq!(s["accepted"], count("ACCEPT"));
    assert_eq!(s["dropped"], count("DROP"));
    assert_eq!(s["rejected"], count("REJECT"));
    assert_eq!(s["frames"], packets.len());
    // No flow records unless asked for.
    assert!(of_type(&v, "flow").is_empty());
}

#[test]
fn flow_records_partition_the_packets() {
    let v = json_lines(&[
        "fixtures/guides/guide-001-apache.rules.v4",
        "--pcap",
        "pcaps/webserver.pcap",
        "--flows",
        "--fail-on",
        "never",
    ]);
    let packets = of_type(&v, "packet");
    let flows = of_type(&v, "flow");
    assert!(flows.len() > 1);
    let sum = |k: &str| flows.iter().map(|f| f[k].as_u64().unwrap()).sum::<u64>();
    let judged = packets.iter().filter(|r| !r["verdict"].is_null()).count() as u64;
    assert_eq!(sum("packets"), judged);
    assert_eq!(
        sum("accepted") + sum("dropped") + sum("rejected"),
        sum("packets")
    );
    let blocked = packets
        .iter()
        .filter(|r| matches!(r["verdict"].as_str(), Some("DROP" | "REJECT")))
        .count() as u64;
    assert_eq!(sum("dropped") + sum("rejected"), blocked);
    // Sorted by protocol, then endpoints; every frame range inside the capture.
    let keys: Vec<(String, String)> = flows
        .iter()
        .map(|f| (f["proto"].as_str().unwrap().to_string(), f["a"].to_string()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        keys.iter().map(|k| &k.0).collect::<Vec<_>>(),
        sorted.iter().map(|k| &k.0).collect::<Vec<_>>()
    );
    for f in &flows {
        assert!(f["first_frame"].as_u64() <= f["last_frame"].as_u64(), "{f}");
        assert!(f["last_frame"].as_u64().unwrap() <= packets.len() as u64);
    }
}

/// Every capture whose recipe in pcaps/README.md is an `fwcheck gen` command: running that
/// command writes the shipped file byte for byte.
#[test]
fn gen_commands_reproduce_the_shipped_captures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("pcaps/README.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for line in readme.lines() {
        // | `file` | `fwcheck gen ...` | contents |
        let cols: Vec<&str> = line.split(" | ").collect();
        if cols.len() < 3 || !cols[1].starts_with("`fwcheck gen ") {
            continue;
        }
        let file = cols[0].trim_start_matches("| ").trim_matches('`');
        let cmd = cols[1].trim_matches('`');
        // Shell-like split: single-quoted words keep their spaces.
        let mut args: Vec<String> = Vec::new();
        let mut rest = cmd.strip_prefix("fwcheck ").unwrap();
        while !rest.is_empty() {
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix('\'') {
                let end = r.find('\'').unwrap();
                args.push(r[..end].to_string());
                rest = &r[end + 1..];
            } else {
                let end = rest.find(' ').unwrap_or(rest.len());
                args.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
        let out = dir.path().join(file);
        for (i, a) in args.clone().iter().enumerate() {
            if a == "-o" {
                args[i + 1] = out.display().to_string();
            }
        }
        let st = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
            .args(&args)
            .current_dir(root)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        let got = std::fs::read(&out).unwrap();
        let want = std::fs::read(root.join("pcaps").join(file)).unwrap();
        assert!(got == want, "{cmd} does not reproduce pcaps/{file}");
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} gen recipes found");
}

/// The terminal report ends its traffic part with the flow summary: counts that agree with the
/// JSON flow records, and the most-blocked flows.
#[test]
fn terminal_summary_names_blocked_flows() {
    let args = [
        "fixtures/guides/guide-001-apache.rules.v4",
        "--pcap",
        "pcaps/webserver.pcap",
        "--fail-on",
        "never",
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut with_flows = args.to_vec();
    with_flows.push("--flows");
    let v = json_lines(&with_flows);
    let flows = of_type(&v, "flow");
    let blocked = flows
        .iter()
        .filter(|f| f["dropped"].as_u64().unwrap() + f["rejected"].as_u64().unwrap() > 0)
        .count();
    assert!(blocked > 0);
    let line = format!(
        "{} flows, {} fully accepted, {blocked} with packets not accepted",
        flows.len(),
        flows.len() - blocked
    );
    assert!(text.contains(&line), "{line}\n{text}");
    assert!(text.contains("blocked flow"), "{text}");
}

/// `--ct-timeout` reaches the conntrack emulator: with a zero UDP timeout the DNS replies of
/// dns.pcap no longer find their query's connection; a bad name is a usage error (exit 2).
#[test]
fn ct_timeout_flag() {
    let base = [
        "fixtures/guides/guide-000-webserver.rules.v4",
        "--pcap",
        "pcaps/dns.pcap",
        "--host",
        "203.0.113.10",
    ];
    let accepted = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let v = json_lines(&args);
        of_type(&v, "summary")[0]["accepted"].as_u64().unwrap()
    };
    let default = accepted(&[]);
    assert_eq!(default, accepted(&["--ct-timeout", "udp=30"]));
    assert!(accepted(&["--ct-timeout", "udp=0"]) < default);
    let st = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(base)
        .args(["--ct-timeout", "udp_fast=3"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&st.stderr).contains("tcp_established"));
}

/// `fwcheck --help` lists every conntrack timeout the trackers declare, with its default.
#[test]
fn help_lists_every_ct_timeout() {
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for (name, _, secs) in fwcheck::conntrack::Timeouts::default().entries() {
        assert!(
            text.contains(&format!("{name} ({secs} s)")),
            "{name}\n{text}"
        );
    }
}

/// Runs fwcheck with `args`, stdout discarded, and returns (exit code, peak RSS in KiB). The
/// child is reaped by `wait4` itself (which reports its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run_measured(args: &[&str]) -> (i32, i64) {
    let child = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run fwcheck");
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; the pid is our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: wait4 on our own child with valid pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid);
    (libc::WEXITSTATUS(status), ru.ru_maxrss)
}

/// `fwcheck gen webserver --flows N` into `dir` (about 11.5 packets a flow).
fn webserver_capture(dir: &tempfile::TempDir, flows: u32) -> std::path::PathBuf {
    let path = dir.path().join("web.pcap");
    let st = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args([
            "gen",
            "webserver",
            "--flows",
            &flows.to_string(),
            "--output",
        ])
        .arg(&path)
        .status()
        .unwrap();
    assert!(st.success());
    path
}

/// `fwcheck steps` over a script of 3,000 commands (a blocklist written as commands) holds
/// one step's ruleset at a time: each step used to keep its own copy of the growing ruleset,
/// 2.7 GB for this script (and 4.8 GB, 9.7 s for 4,000 commands).
#[test]
fn steps_of_a_long_script_hold_one_ruleset_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut script = String::from("iptables -P INPUT ACCEPT\n");
    for i in 0..3_000 {
        script.push_str(&format!(
            "iptables -A INPUT -s 192.0.2.{}/32 -p tcp --dport {} -j DROP\n",
            i % 250,
            1000 + i
        ));
    }
    script.push_str("iptables -A INPUT -p tcp --dport 22 -j ACCEPT\niptables -P INPUT DROP\n");
    let path = dir.path().join("blocklist.sh");
    std::fs::write(&path, script).unwrap();
    let (code, rss) = run_measured(&["steps", path.to_str().unwrap()]);
    assert_eq!(code, 0, "no step cuts the session");
    assert!(rss < 128 * 1024, "peak RSS {rss} KiB");
}

#[test]
fn limit_0_streams_every_row_in_constant_memory() {
    // Every frame, one line each after a header, in frame order.
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args([
            "fixtures/guides/guide-000-webserver.rules.v4",
            "--pcap",
            "pcaps/webserver.pcap",
            "--limit",
            "0",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().take_while(|l| !l.starts_with('┌')).collect();
    assert!(lines[0].trim_start().starts_with("frame"), "{}", lines[0]);
    assert_eq!(lines.len(), 1 + 272);
    for (i, l) in lines[1..].iter().enumerate() {
        let frame: usize = l.split_whitespace().next().unwrap().parse().unwrap();
        assert_eq!(frame, i + 1);
    }
    // A capture of ~230,000 packets (79 MB): the rows are not held.
    let dir = tempfile::tempdir().unwrap();
    let big = webserver_capture(&dir, 20_000);
    let big = big.to_str().unwrap();
    let rules = "fixtures/guides/guide-000-webserver.rules.v4";
    let (code, rss_all) = run_measured(&[rules, "--pcap", big, "--limit", "0"]);
    assert!(matches!(code, 0 | 1));
    let (_, rss_default) = run_measured(&[rules, "--pcap", big]);
    assert!(
        rss_all < 64 * 1024 && rss_all < rss_default + 16 * 1024,
        "--limit 0: {rss_all} KiB peak (default limit: {rss_default} KiB)"
    );
}

/// A packet table longer than what is held in memory (1,024 rows) keeps the rest in a
/// temporary file: every row comes back, in frame order, and memory stays flat however large
/// `--limit` is, coloured (`--color always`, as for `less -R`) or not.
#[test]
fn large_limits_keep_rows_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let big = webserver_capture(&dir, 20_000);
    let big = big.to_str().unwrap();
    let rules = "fixtures/guides/guide-000-webserver.rules.v4";
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args([rules, "--pcap", big, "--limit", "9000"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text
        .lines()
        .skip(3)
        .take_while(|l| !l.starts_with('└'))
        .collect();
    assert_eq!(rows.len(), 9000);
    for (i, l) in rows.iter().enumerate() {
        let frame: usize = l
            .trim_start_matches('│')
            .split('┆')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(frame, i + 1, "{l}");
    }
    // Every row as wide as the header: the widths were measured over all of them.
    let width = text.lines().next().unwrap().chars().count();
    assert!(rows.iter().all(|l| l.chars().count() == width));
    assert!(text.contains("more packets not shown"));
    let (_, rss_all) = run_measured(&[rules, "--pcap", big, "--limit", "200000"]);
    let (_, rss_default) = run_measured(&[rules, "--pcap", big]);
    assert!(
        rss_all < 64 * 1024 && rss_all < rss_default + 16 * 1024,
        "--limit 200000: {rss_all} KiB peak (default limit: {rss_default} KiB)"
    );
    let colored = [
        rules, "--pcap", big, "--limit", "200000", "--color", "always",
    ];
    let (_, rss_colored) = run_measured(&colored);
    assert!(
        rss_colored < 64 * 1024 && rss_colored < rss_default + 16 * 1024,
        "--limit 200000 --color always: {rss_colored} KiB peak (default: {rss_default} KiB)"
    );
}

#[test]
fn color_follows_the_option() {
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
            .args([
                "fixtures/guides/guide-000-webserver.rules.v4",
                "--pcap",
                "pcaps/webserver.pcap",
                "--limit",
                "3",
            ])
            .args(extra)
            .env_remove("NO_COLOR")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    // Piped (not a terminal): no escape codes unless asked for.
    assert!(!run(&[]).contains('\x1b'));
    assert!(!run(&["--color", "never"]).contains('\x1b'));
    let colored = run(&["--color", "always"]);
    assert!(colored.contains("\x1b[38;5;10m ACCEPT"), "{colored}");
}

/// A chain nothing reaches is said once: as a finding of the report (FW102), not also as a
/// load warning before it (it was printed twice, on standard error and in the report); `lint`,
/// which has no findings, says it as a diagnostic.
#[test]
fn unreachable_chain_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("orphan.rules.v4");
    std::fs::write(
        &rules,
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         :orphan - [0:0]\n-A orphan -j DROP\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    for args in [&["--host", "203.0.113.10"][..], &["lint"][..]] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fwcheck"));
        if args[0] == "lint" {
            cmd.arg("lint").arg(&rules);
        } else {
            cmd.arg(&rules).args(args);
        }
        let out = cmd.output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            all.matches("chain `orphan` is never reached").count(),
            1,
            "{args:?}:\n{all}"
        );
    }
}
