//! The restore commands (`-A -I -D -R -N -P -F -X -Z -E`, one function each in
//! `ruleset/parser/command.rs`) against the real iptables-nft-restore: for
//! `fixtures/invalid/{rule,chain}-commands.v4`, the lines fwcheck accepts load and leave exactly
//! what `fwcheck fmt` prints (`iptables-save` in the namespace), and every line fwcheck refuses,
//! put back alone among them, makes iptables-restore refuse the file too. The same for
//! `fixtures/invalid/option-values.v4`, the option values of matches and targets.
#[macro_use]
mod kernel_harness;

use std::io::Write;
use std::process::{Command, Stdio};

use fwcheck::ext::Backend;
use fwcheck::lint::load_str;
use fwcheck::ruleset::printer::{print_ruleset, PrintOptions};
use fwcheck::ruleset::ParseOptions;

/// `iptables-save` (without `#` lines) after iptables-nft-restore loaded `text` in a fresh
/// namespace; `Err` with what it said when it refused.
fn real_save(text: &str) -> Result<String, String> {
    real_save_with(text, "nft", false)
}

/// [`real_save`] with iptables-`backend`-restore/-save, with `-c` when `counters`.
fn real_save_with(text: &str, backend: &str, counters: bool) -> Result<String, String> {
    real_save_after(text, backend, counters, &[])
}

/// [`real_save_with`] after running each of `pre` in the namespace (objects the rules name).
fn real_save_after(
    text: &str,
    backend: &str,
    counters: bool,
    pre: &[&[&str]],
) -> Result<String, String> {
    let (restore, save) = (
        format!("iptables-{backend}-restore"),
        format!("iptables-{backend}-save"),
    );
    let c: &[&str] = if counters { &["-c"] } else { &[] };
    // Tests run in parallel: one namespace per call.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ns = format!("fwcheck-cmds-{}-{k}", std::process::id());
    let ok = Command::new("ip").args(["netns", "add", &ns]).status();
    assert!(ok.is_ok_and(|s| s.success()), "ip netns add {ns}");
    for cmd in pre {
        let ok = Command::new("ip")
            .args(["netns", "exec", &ns])
            .args(*cmd)
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "{cmd:?} in {ns}");
    }
    let run = || {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns, &restore])
            .args(c)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("iptables-restore");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("wait");
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let save = Command::new("ip")
            .args(["netns", "exec", &ns, &save])
            .args(c)
            .output()
            .expect("iptables-save");
        Ok(String::from_utf8_lossy(&save.stdout)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect())
    };
    let res = run();
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    res
}

/// Lines (1-based) of `text` fwcheck refuses with an error.
fn refused_lines(text: &str) -> Vec<usize> {
    let l = load_str("commands.v4", text, ParseOptions::default());
    let mut lines: Vec<usize> = l
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| l.ruleset.source.line_col(d.span.start as usize).0)
        .collect();
    lines.dedup();
    lines
}

fn check(fixture: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture);
    let text = std::fs::read_to_string(&path).expect("fixture");
    let lines: Vec<&str> = text.lines().collect();
    let refused = refused_lines(&text);
    assert!(refused.len() >= 10, "{fixture}: {refused:?}");
    let keep = |extra: Option<usize>| -> String {
        lines
            .iter()
            .enumerate()
            .filter(|(i, _)| !refused.contains(&(i + 1)) || extra == Some(i + 1))
            .map(|(_, l)| format!("{l}\n"))
            .collect()
    };
    // The accepted lines: both load them, to the same tables.
    let base = keep(None);
    let loaded = load_str("commands.v4", &base, ParseOptions::default());
    assert!(
        !loaded.has_errors(),
        "{fixture}: fwcheck refuses the accepted lines"
    );
    let ours = print_ruleset(&loaded.ruleset, PrintOptions { counters: false });
    match real_save(&base) {
        Ok(theirs) => assert_eq!(ours, theirs, "{fixture}: the accepted lines"),
        Err(why) => panic!("{fixture}: iptables-nft-restore refuses the accepted lines: {why}"),
    }
    // Each refused line alone among them: both refuse, fwcheck on that line.
    for &n in &refused {
        let text = keep(Some(n));
        let at = 1 + (1..n).filter(|i| !refused.contains(i)).count();
        assert_eq!(
            refused_lines(&text),
            vec![at],
            "{fixture}: line {n} `{}`",
            lines[n - 1]
        );
        assert!(
            real_save(&text).is_err(),
            "{fixture}: iptables-nft-restore accepts line {n} `{}`",
            lines[n - 1]
        );
    }
}

fn rule_commands_refused_as_iptables_restore_refuses_them() {
    check("fixtures/invalid/rule-commands.v4");
}

fn chain_commands_refused_as_iptables_restore_refuses_them() {
    check("fixtures/invalid/chain-commands.v4");
}

/// Numbers through one `xtables_strtoul` (`ext::xtopt`): `+5` and `" 5"` load everywhere,
/// values out of a typed option's range are refused.
fn option_values_read_as_iptables_reads_them() {
    check("fixtures/invalid/option-values.v4");
}

/// Generic options as getopt_long reads them beside the commands' long names (an abbreviation
/// that also begins `--delete`, `--policy`, `--flush`, `--new-chain`, `--list` or `--version`
/// is ambiguous), `-n`/`-x`/`--line-numbers` refused with a rule command, an owner range ending
/// below its start, and iptables-restore's first-column `#`, `*`, `:` and `COMMIT` (hunt-fmt).
fn generic_options_read_as_iptables_reads_them() {
    check("fixtures/invalid/generic-options.v4");
}

/// What iptables-save prints after a restore, with each backend, with and without `-c`: the
/// tables (iptables-legacy lists the newest first: the reverse of their order in the file) and
/// the chain counters (set only with `-c`, and only on built-in chains).
fn save_order_and_counters_are_each_backends() {
    let text = "*nat\n:PREROUTING ACCEPT [7:700]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                :POSTROUTING ACCEPT [0:0]\nCOMMIT\n\
                *mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
                :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n[2:120] -A INPUT -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n\
                *filter\n:INPUT DROP [5:500]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                :web - [3:300]\n[9:900] -A INPUT -j web\nCOMMIT\n";
    for (backend, b) in [("nft", Backend::Nft), ("legacy", Backend::Legacy)] {
        let opts = ParseOptions {
            backend: b,
            ..ParseOptions::default()
        };
        let l = load_str("order.v4", text, opts);
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        for counters in [false, true] {
            let ours = print_ruleset(&l.ruleset, PrintOptions { counters });
            let theirs = real_save_with(text, backend, counters).expect("loads");
            assert_eq!(ours, theirs, "{backend}, counters {counters}");
        }
    }
}

/// What fwcheck refuses or loads at the level of a whole file, as both backends do: CRLF line
/// endings and a user chain named after a standard verdict are refused; a jump loop no
/// built-in chain reaches loads, and one INPUT reaches does not. fwcheck's errors (E100,
/// E104, E110) and its FW102 warning say the same.
fn whole_file_refusals_are_iptables_own() {
    let head = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
    let lf = format!("{head}-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n");
    let crlf = lf.replace('\n', "\r\n");
    let drop = format!("{head}:DROP - [0:0]\nCOMMIT\n");
    let lone_loop = format!("{head}:a - [0:0]\n:b - [0:0]\n-A a -j b\n-A b -j a\nCOMMIT\n");
    let reached = lone_loop.replace("COMMIT", "-A INPUT -j a\nCOMMIT");
    for backend in ["nft", "legacy"] {
        assert!(real_save_with(&lf, backend, false).is_ok(), "{backend}");
        for (what, text) in [("CRLF", &crlf), ("DROP chain", &drop), ("loop", &reached)] {
            assert!(
                real_save_with(text, backend, false).is_err(),
                "{backend} loads the {what} file"
            );
        }
        assert!(
            real_save_with(&lone_loop, backend, false).is_ok(),
            "{backend}"
        );
    }
    let codes = |text: &str| -> Vec<&'static str> {
        load_str("file.v4", text, ParseOptions::default())
            .diagnostics
            .iter()
            .map(|d| d.code)
            .collect()
    };
    assert!(codes(&crlf).contains(&"E100"));
    assert!(codes(&drop).contains(&"E104"));
    assert!(codes(&reached).contains(&"E110"));
    let lone = codes(&lone_loop);
    assert!(
        lone.contains(&"FW102") && !lone.iter().any(|c| c.starts_with('E')),
        "{lone:?}"
    );
}

/// `-I CHAIN NUM` with several addresses inserts one rule per address, each at NUM in turn:
/// the chain holds them in reverse order (both backends); `-A` keeps their order.
fn insert_with_address_lists_reverses_them() {
    let text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
                -A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n\
                -I INPUT 2 -s 192.0.2.9,192.0.2.10,198.51.100.0/24 -j DROP\n\
                -I INPUT -s 203.0.113.1,203.0.113.2 -d 192.0.2.1,192.0.2.2 -j ACCEPT\n\
                -A INPUT -s 192.0.2.20,192.0.2.21 -j DROP\nCOMMIT\n";
    for (backend, b) in [("nft", Backend::Nft), ("legacy", Backend::Legacy)] {
        let opts = ParseOptions {
            backend: b,
            ..ParseOptions::default()
        };
        let l = load_str("insert.v4", text, opts);
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        let ours = print_ruleset(&l.ruleset, PrintOptions { counters: false });
        let theirs = real_save_with(text, backend, false).expect("loads");
        assert_eq!(ours, theirs, "{backend}");
    }
}

/// What real rulesets hold (kernel hunt over tools' dumps): ufw's single-quoted comments and
/// log prefixes load with their quotes (iptables-restore knows only double quotes), and a
/// single-quoted value with a space is refused; kube-proxy's `-m nfacct` saves with two spaces;
/// `localhost` and Debian's static user and group names are what the loading host says.
fn real_rulesets_read_as_iptables_reads_them() {
    let quotes = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                  :ufw-user-input - [0:0]\n-A INPUT -j ufw-user-input\n\
                  -A ufw-user-input -p tcp --dport 22 -j ACCEPT -m comment --comment 'dapp_OpenSSH'\n\
                  -A ufw-user-input -j LOG --log-prefix '[FW]'\nCOMMIT\n";
    let nfacct = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                  :POSTROUTING ACCEPT [0:0]\n:KUBE-NODEPORTS - [0:0]\n\
                  -A OUTPUT -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n\
                  -A KUBE-NODEPORTS -d 127.0.0.0/8 -p tcp -m tcp --dport 31248 \
                  -m nfacct --nfacct-name  localhost_nps_accepted_pkts -j ACCEPT\n\
                  -A KUBE-NODEPORTS -p tcp -m nfacct --nfacct-name localhost_nps_accepted_pkts\n\
                  COMMIT\n";
    // Names iptables resolves on the loading host (this one is Debian): localhost, and
    // base-passwd's static users and groups (a VPN kill switch, a web server's egress rule).
    let names = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 -A INPUT -s localhost -j ACCEPT\n\
                 -A OUTPUT -m owner --uid-owner nobody -j ACCEPT\n\
                 -A OUTPUT -m owner --gid-owner www-data -j DROP\nCOMMIT\n";
    let pre: &[&[&str]] = &[&["nfacct", "add", "localhost_nps_accepted_pkts"]];
    for (name, text, pre) in [
        ("quotes", quotes, &[][..]),
        ("nfacct", nfacct, pre),
        ("names", names, &[][..]),
    ] {
        let l = load_str("real.v4", text, ParseOptions::default());
        assert!(!l.has_errors(), "{name}: {:?}", l.diagnostics);
        let ours = print_ruleset(&l.ruleset, PrintOptions { counters: false });
        let theirs = real_save_after(text, "nft", false, pre).expect("loads");
        assert_eq!(ours, theirs, "{name}");
    }
    let spaced = quotes.replace("'dapp_OpenSSH'", "'allow web'");
    assert!(real_save(&spaced).is_err(), "iptables-restore refuses it");
    assert!(
        refused_lines(&spaced).contains(&7),
        "fwcheck refuses line 7"
    );
}

/// A setup script that first removes what an earlier run may have left (`-F`, `-X`, `-D` of
/// things that are not there, `-N` of a chain that is): run by `sh` in a fresh namespace each
/// such command fails and the script goes on; fwcheck warns and loads what the kernel holds.
fn script_clean_up_commands_fail_alone() {
    let script = "#!/bin/sh\n\
                  iptables -F MYCHAIN 2>/dev/null\n\
                  iptables -X MYCHAIN 2>/dev/null || true\n\
                  iptables -D INPUT -j MYCHAIN 2>/dev/null\n\
                  iptables -t nat -D POSTROUTING -s 10.8.0.0/24 -o eth0 -j MASQUERADE || true\n\
                  iptables -N MYCHAIN\n\
                  iptables -N MYCHAIN 2>/dev/null\n\
                  iptables -A MYCHAIN -p tcp --dport 22 -j ACCEPT\n\
                  iptables -A INPUT -j MYCHAIN\n\
                  iptables -t nat -A POSTROUTING -s 10.8.0.0/24 -o eth0 -j MASQUERADE\n\
                  iptables -D INPUT -p udp --dport 53 -j ACCEPT 2>/dev/null\n";
    let l = load_str("setup.sh", script, ParseOptions::default());
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    let warned = l.diagnostics.iter().filter(|d| d.code == "W005").count();
    assert_eq!(warned, 6, "{:?}", l.diagnostics);
    // With `set -e` the shell stops at the first failure no `||` catches: an error there.
    let stops = load_str(
        "setup.sh",
        &format!("set -e\n{script}"),
        ParseOptions::default(),
    );
    let first = stops
        .diagnostics
        .iter()
        .find(|d| d.is_error())
        .expect("an error");
    assert_eq!(stops.ruleset.source.line_of(first.span.start as usize), 3);
    let ours = print_ruleset(&l.ruleset, PrintOptions { counters: false });
    let ns = format!("fwcheck-script-{}", std::process::id());
    assert!(Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .is_ok_and(|s| s.success()));
    let ran = Command::new("ip")
        .args(["netns", "exec", &ns, "sh", "-c", script])
        .output()
        .expect("sh");
    let save = Command::new("ip")
        .args(["netns", "exec", &ns, "iptables-save"])
        .output()
        .expect("iptables-save");
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    // The clean-up commands failed (the last one decides sh's status).
    assert!(!ran.stderr.is_empty(), "{ran:?}");
    let theirs: String = String::from_utf8_lossy(&save.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(ours, theirs);
}

/// `fwcheck steps` refuses the commands the kernel refuses when it commits their table — a
/// jump that closes a loop a hook reaches, or makes jumps nest deeper than nf_tables' 16
/// levels ("RULE_APPEND failed (Too many links)") — and goes on without them as the shell
/// does: each script's commands run one by one in a fresh namespace; the steps iptables
/// failed are exactly the steps fwcheck reports refused, and the last ruleset is
/// `iptables-save`'s.
fn steps_refuse_what_the_kernel_refuses_at_commit() {
    let mut deep = String::new();
    for i in 1..=17 {
        deep.push_str(&format!("iptables -N c{i}\n"));
    }
    for i in (1..=16).rev() {
        deep.push_str(&format!("iptables -A c{i} -j c{}\n", i + 1));
    }
    deep.push_str("iptables -A INPUT -p tcp --dport 22 -j ACCEPT\niptables -A INPUT -j c1\n");
    deep.push_str("iptables -A INPUT -j c2\niptables -P INPUT DROP\n");
    let scripts = [
        // A loop no hook reaches loads; the jump that would reach it is refused.
        "iptables -N A\niptables -N B\niptables -A A -j B\niptables -A B -j A\n\
         iptables -A INPUT -p tcp --dport 22 -j ACCEPT\niptables -A INPUT -j A\n\
         iptables -P INPUT DROP\n"
            .to_string(),
        // A self-loop in a reached chain; the next command then finds no rule to delete.
        "iptables -N A\niptables -A INPUT -p tcp --dport 22 -j ACCEPT\niptables -A INPUT -j A\n\
         iptables -A A -j A\niptables -D A 1\niptables -P INPUT DROP\n"
            .to_string(),
        deep,
    ];
    for (n, script) in scripts.iter().enumerate() {
        let ns = format!("fwcheck-steps-{}-{n}", std::process::id());
        assert!(Command::new("ip")
            .args(["netns", "add", &ns])
            .status()
            .is_ok_and(|s| s.success()));
        let failed: Vec<bool> = script
            .lines()
            .map(|l| {
                !Command::new("ip")
                    .args([
                        "netns",
                        "exec",
                        &ns,
                        "sh",
                        "-c",
                        &format!("{l} 2>/dev/null"),
                    ])
                    .status()
                    .expect("sh")
                    .success()
            })
            .collect();
        let save = Command::new("ip")
            .args(["netns", "exec", &ns, "iptables-save"])
            .output()
            .expect("iptables-save");
        let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        let theirs: String = String::from_utf8_lossy(&save.stdout)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            failed.iter().any(|f| *f),
            "script {n}: the kernel refused nothing"
        );
        let r = fwcheck::steps::run(
            &fwcheck::steps::StepsInput {
                name: "s.sh".into(),
                text: script.clone(),
                initial: None,
                noflush: false,
                parse: ParseOptions::default(),
            },
            &fwcheck::analysis::CheckOptions::default(),
        )
        .unwrap_or_else(|e| panic!("script {n}: {:?}", e.diagnostics));
        let ours: Vec<bool> = r.steps.iter().map(|s| s.refused.is_some()).collect();
        assert_eq!(ours, failed, "script {n}: refused steps");
        let ours = print_ruleset(&r.final_ruleset, PrintOptions { counters: false });
        assert_eq!(ours, theirs, "script {n}: the last ruleset");
    }
}

/// `-Z` in restore input: iptables-nft writes the zeroed built-in chains anew with the policy
/// ACCEPT (a later `-P` or `:CHAIN` sets it again); iptables-legacy keeps the policy.
fn zero_in_restore_input_is_each_backends() {
    let head = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n";
    for body in [
        "-Z INPUT\n",
        "-Z\n",
        "-A INPUT -j ACCEPT\n-Z INPUT\n-P INPUT DROP\n",
        "-Z OUTPUT\n-Z FORWARD\n",
    ] {
        let text = format!("{head}{body}COMMIT\n");
        for (backend, b) in [("nft", Backend::Nft), ("legacy", Backend::Legacy)] {
            let opts = ParseOptions {
                backend: b,
                ..ParseOptions::default()
            };
            let l = load_str("zero.v4", &text, opts);
            assert!(!l.has_errors(), "{:?}", l.diagnostics);
            let ours = print_ruleset(&l.ruleset, PrintOptions { counters: false });
            let theirs = real_save_with(&text, backend, false).expect("loads");
            assert_eq!(ours, theirs, "{backend}: {body}");
        }
    }
}

kernel_tests!(
    steps_refuse_what_the_kernel_refuses_at_commit,
    zero_in_restore_input_is_each_backends,
    script_clean_up_commands_fail_alone,
    real_rulesets_read_as_iptables_reads_them,
    insert_with_address_lists_reverses_them,
    whole_file_refusals_are_iptables_own,
    save_order_and_counters_are_each_backends,
    rule_commands_refused_as_iptables_restore_refuses_them,
    chain_commands_refused_as_iptables_restore_refuses_them,
    option_values_read_as_iptables_reads_them,
    generic_options_read_as_iptables_reads_them
);
