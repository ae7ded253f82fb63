//! The static analyses run in parallel (rayon) and their findings are collected in a fixed
//! order: `fwcheck RULES` prints the same bytes with one thread and with several, in every
//! format, on the guides and on the real-world rulesets.

use std::process::Command;

fn run(rules: &str, format: &str, threads: Option<&str>) -> (Vec<u8>, Option<i32>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fwcheck"));
    cmd.arg(rules)
        .args(["--format", format, "--host", "203.0.113.10"])
        .env("NO_COLOR", "1");
    match threads {
        Some(n) => cmd.env("RAYON_NUM_THREADS", n),
        None => cmd.env_remove("RAYON_NUM_THREADS"),
    };
    let out = cmd.output().expect("fwcheck runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{rules}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.stdout, out.status.code())
}

#[test]
fn findings_do_not_depend_on_the_number_of_threads() {
    let root = env!("CARGO_MANIFEST_DIR");
    for rules in [
        "fixtures/guides/guide-000-webserver.rules.v4",
        "fixtures/guides/guide-001-apache.rules.v4",
        "fixtures/real/fail2ban.rules.v4",
        "fixtures/real/docker.rules.v4",
        "fixtures/real/kube-proxy.rules.v4",
        "fixtures/real/ufw.rules.v4",
    ] {
        let path = format!("{root}/{rules}");
        for format in ["table", "json", "sarif"] {
            let one = run(&path, format, Some("1"));
            assert!(!one.0.is_empty(), "{rules} {format}: no output");
            for threads in [Some("2"), Some("4"), None] {
                let other = run(&path, format, threads);
                assert!(
                    one == other,
                    "{rules} --format {format}: output with RAYON_NUM_THREADS={threads:?} differs \
                     from one thread"
                );
            }
        }
    }
}

/// Runs a replay, on one CPU (`sched_setaffinity` in the child: no second core, so the rows
/// and the summary are made inline) or on every CPU there is (then on worker threads beside
/// the engine, when there are two or more).
fn replay(args: &[&str], one_cpu: bool) -> (Vec<u8>, Option<i32>) {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fwcheck"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1");
    if one_cpu {
        cmd.env("RAYON_NUM_THREADS", "1");
        // SAFETY: only async-signal-safe calls between fork and exec; the set is our own.
        unsafe {
            cmd.pre_exec(|| {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(0, &mut set);
                if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let out = cmd.output().expect("fwcheck runs");
    (out.stdout, out.status.code())
}

/// The replay's per-frame output and its summary are the same bytes whether they are made
/// inline or on worker threads: every output format over captures with fragments, a
/// helper, scans and two families. (On a one-CPU machine both runs are inline.)
#[test]
fn replay_output_does_not_depend_on_the_number_of_cores() {
    let rules = "fixtures/guides/guide-000-webserver.rules.v4";
    for pcap in [
        "pcaps/webserver.pcap",
        "pcaps/fragments.pcap",
        "pcaps/ftp.pcap",
        "pcaps/scan.pcap",
        "pcaps/webserver-dual.pcap",
        "pcaps/malformed.pcap",
    ] {
        for extra in [
            &[][..],
            &["--format", "json"],
            &["--limit", "0"],
            &["--flows"],
            &["--format", "json", "--flows"],
            &["--format", "sarif"],
        ] {
            let mut args = vec![rules, "--pcap", pcap];
            args.extend_from_slice(extra);
            let inline = replay(&args, true);
            assert!(!inline.0.is_empty(), "{args:?}: no output");
            assert!(
                inline == replay(&args, false),
                "{args:?}: the output on one CPU differs from the output on all of them"
            );
        }
    }
}

/// A capture of many read-ahead batches (decoded on a second core when there is one): the
/// replay, `diff` and `trace` of a frame deep in it print the same bytes on one CPU (decoded
/// inline) and on all of them.
#[test]
fn decoding_ahead_does_not_change_the_output() {
    let dir = std::env::temp_dir().join(format!("fwcheck-parallel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = dir.join("web.pcap");
    let gen = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(["gen", "webserver", "--flows", "400", "-o"])
        .arg(&cap)
        .output()
        .expect("fwcheck gen runs");
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let cap = cap.to_str().unwrap();
    let old = "fixtures/guides/guide-000-webserver.rules.v4";
    let new = "fixtures/guides/guide-001-apache.rules.v4";
    for args in [
        vec![old, "--pcap", cap, "--host", "203.0.113.10"],
        vec![
            old,
            "--pcap",
            cap,
            "--host",
            "203.0.113.10",
            "--format",
            "json",
        ],
        vec!["diff", old, new, "--pcap", cap, "--host", "203.0.113.10"],
        vec![
            "trace",
            old,
            "--pcap",
            cap,
            "--frame",
            "3001",
            "--host",
            "203.0.113.10",
        ],
    ] {
        let inline = replay(&args, true);
        assert!(
            !inline.0.is_empty() && inline.1.is_some_and(|c| c <= 1),
            "{args:?}: no output (exit {:?})",
            inline.1
        );
        assert!(
            inline == replay(&args, false),
            "{args:?}: the output on one CPU differs from the output on all of them"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
