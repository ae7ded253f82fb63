//! nf_tables' jump nesting limit against the real tools: iptables-nft-restore and
//! iptables-legacy-restore load `INPUT -> c1 -> … -> cN` in a private network namespace, and
//! fwcheck's E112 must agree with them (nft: 15 load, 16 fail "Too many links"; legacy: all load).
#[macro_use]
mod kernel_harness;

use std::process::Command;

use fwcheck::ext::Backend;
use fwcheck::lint::load_str;
use fwcheck::ruleset::ParseOptions;

fn chain_of(n: usize) -> String {
    let mut s = String::from("*filter\n");
    for i in 1..=n {
        s.push_str(&format!(":c{i} - [0:0]\n"));
    }
    s.push_str("-A INPUT -j c1\n");
    for i in 1..n {
        s.push_str(&format!("-A c{i} -j c{}\n", i + 1));
    }
    s.push_str("COMMIT\n");
    s
}

/// Whether `tool` loads `text` in a fresh namespace, and what it said.
fn real_loads(tool: &str, text: &str) -> (bool, String) {
    use std::io::Write;
    let ns = format!("fwcheck-nest-{}-{}", std::process::id(), tool.len());
    let ok = Command::new("ip").args(["netns", "add", &ns]).status();
    assert!(ok.is_ok_and(|s| s.success()), "ip netns add {ns}");
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns, tool])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect(tool);
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fwcheck_loads(text: &str, backend: Backend) -> bool {
    let l = load_str(
        "nest.rules",
        text,
        ParseOptions {
            backend,
            ..ParseOptions::default()
        },
    );
    !l.has_errors()
}

fn nesting_limit_matches_the_real_tools() {
    for n in [14, 15, 16, 17] {
        let text = chain_of(n);
        let (nft, why) = real_loads("iptables-nft-restore", &text);
        let (legacy, lwhy) = real_loads("iptables-legacy-restore", &text);
        assert_eq!(nft, n <= 15, "iptables-nft-restore, depth {n}: {why}");
        if !nft {
            assert!(why.contains("Too many links"), "{why}");
        }
        assert!(legacy, "iptables-legacy-restore, depth {n}: {lwhy}");
        assert_eq!(
            fwcheck_loads(&text, Backend::Nft),
            nft,
            "fwcheck nft, depth {n}"
        );
        assert!(
            fwcheck_loads(&text, Backend::Legacy),
            "fwcheck legacy, depth {n}"
        );
    }
}

kernel_tests!(nesting_limit_matches_the_real_tools);
