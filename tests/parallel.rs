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
