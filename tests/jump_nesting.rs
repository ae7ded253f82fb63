//! nf_tables' jump nesting limit (E112): 15 nested jumps from a built-in chain load with
//! iptables-nft-restore 1.8.9, 16 fail with "Too many links"; iptables-legacy loads any depth.
//! (tests/kernel_nesting.rs checks the same rulesets with the real tools.)

use fwcheck::ext::Backend;
use fwcheck::lint::load_str;
use fwcheck::ruleset::ParseOptions;

/// `INPUT -> c1 -> … -> cN` (`-g` instead of `-j` when `goto`).
pub fn chain_of(n: usize, goto: bool) -> String {
    let mut s = String::from("*filter\n");
    for i in 1..=n {
        s.push_str(&format!(":c{i} - [0:0]\n"));
    }
    let j = if goto { "-g" } else { "-j" };
    s.push_str(&format!("-A INPUT {j} c1\n"));
    for i in 1..n {
        s.push_str(&format!("-A c{i} {j} c{}\n", i + 1));
    }
    s.push_str("COMMIT\n");
    s
}

fn e112(text: &str, backend: Backend) -> Vec<String> {
    let l = load_str(
        "nest.rules",
        text,
        ParseOptions {
            backend,
            ..ParseOptions::default()
        },
    );
    let others: Vec<_> = l
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && d.code != "E112")
        .collect();
    assert!(others.is_empty(), "{others:?}");
    l.diagnostics
        .iter()
        .filter(|d| d.code == "E112")
        .map(|d| d.render(&l.ruleset.source, false))
        .collect()
}

#[test]
fn fifteen_nested_jumps_load_sixteen_do_not_under_nft() {
    assert!(e112(&chain_of(15, false), Backend::Nft).is_empty());
    let errs = e112(&chain_of(16, false), Backend::Nft);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("chain `c16` is nested 16 jumps deep: INPUT -> c1 -> c2"),
        "{}",
        errs[0]
    );
    assert!(errs[0].contains("c14 -> c15 -> c16"), "{}", errs[0]);
    // The rule `-A c15 -j c16`: line 2 + 16 declarations + 15.
    assert!(errs[0].contains("nest.rules:33:11"), "{}", errs[0]);
    // -g counts like -j.
    assert_eq!(e112(&chain_of(16, true), Backend::Nft).len(), 1);
    // Chains no built-in chain reaches are not validated by the kernel.
    let unreached = chain_of(20, false).replace("-A INPUT -j c1\n", "");
    assert!(e112(&unreached, Backend::Nft).is_empty());
}

#[test]
fn legacy_loads_any_depth() {
    assert!(e112(&chain_of(16, false), Backend::Legacy).is_empty());
    assert!(e112(&chain_of(40, false), Backend::Legacy).is_empty());
}

#[test]
fn longest_path_counts_not_the_shortest() {
    // c1 is reached directly from INPUT and also at the end of a 15-jump path: the kernel
    // validates it at every level it is reached from.
    let mut s = chain_of(16, false);
    s = s.replace("-A INPUT -j c1\n", "-A INPUT -j c1\n-A INPUT -j c16\n");
    assert_eq!(e112(&s, Backend::Nft).len(), 1);
    let mut t = String::from("*filter\n:a - [0:0]\n");
    t.push_str(&chain_of(15, false)[8..].replace("COMMIT\n", ""));
    t.push_str("-A c15 -j a\n-A INPUT -j a\nCOMMIT\n");
    let errs = e112(&t, Backend::Nft);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("chain `a` is nested 16 jumps deep"),
        "{}",
        errs[0]
    );
}

#[test]
fn a_hundred_thousand_nested_jumps_do_not_overflow_the_stack() {
    // Run on a thread with a small stack: nothing may recurse once per nesting level.
    let text = chain_of(100_000, false);
    let h = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            (
                e112(&text, Backend::Nft).len(),
                e112(&text, Backend::Legacy).len(),
            )
        })
        .expect("thread");
    assert_eq!(h.join().expect("no overflow"), (1, 0));
}

/// A jump loop no built-in chain reaches loads (the kernel checks only what its hooks reach;
/// iptables 1.8.9, nft and legacy): a warning, not E110; a jump into it is then refused, as
/// `iptables -A INPUT -j a` is ("Too many links"), also as a `--what-if`.
#[test]
fn a_loop_nothing_reaches_loads() {
    let text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                :a - [0:0]\n:b - [0:0]\n-A a -j b\n-A b -j a\nCOMMIT\n";
    for backend in [Backend::Nft, Backend::Legacy] {
        let opts = ParseOptions {
            backend,
            ..ParseOptions::default()
        };
        let l = load_str("loop.v4", text, opts.clone());
        assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
        assert!(
            l.diagnostics
                .iter()
                .any(|d| d.code == "FW102" && d.message.contains("jump loop between chains a -> b")),
            "{}",
            l.render_diagnostics(false)
        );
        let reached = text.replace("COMMIT", "-A INPUT -j a\nCOMMIT");
        let l = load_str("loop.v4", &reached, opts);
        assert!(
            l.diagnostics.iter().any(|d| d.code == "E110"),
            "{}",
            l.render_diagnostics(false)
        );
    }
    let f = tempfile::Builder::new().suffix(".v4").tempfile().unwrap();
    std::fs::write(f.path(), text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .arg(f.path())
        .args(["--what-if", "-A INPUT -j a"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--what-if #1:1:1: jump loop between chains a -> b"),
        "{err}"
    );
}
