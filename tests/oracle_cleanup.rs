//! Kernel oracle: a replay leaves nothing behind (its own test binary, so nothing else runs
//! concurrently and descriptor/thread counts are meaningful).

#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::oracle::{self, OracleConfig};
use fwcheck::packet::Family;
use oracle_common::*;

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn netns_of_threads() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_link(e.path().join("ns/net")).ok())
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn nothing_left_behind() {
    let init_ns = std::fs::read_link("/proc/self/ns/net").unwrap();
    let fds_before = count("/proc/self/fd");
    let links_before = std::fs::read_to_string("/proc/net/dev").unwrap();
    let rules = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 80 -j ACCEPT\nCOMMIT\n";
    for _ in 0..3 {
        let out = oracle::replay(
            &OracleConfig::new(rules, Family::V4, host()),
            frames(vec![
                tcp4(CLIENT, HOST, 1, 80, 1, 0, SYN, 1),
                udp4(HOST, CLIENT, 1, 2, 2, b"x"),
            ]),
        )
        .unwrap();
        assert_eq!(verdicts(&out), vec![A, A]);
    }
    // Give the (joined) oracle threads' task entries a moment to disappear.
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(count("/proc/self/fd"), fds_before, "descriptor leak");
    assert_eq!(
        netns_of_threads(),
        vec![init_ns.display().to_string()],
        "a thread is still in another namespace"
    );
    assert_eq!(std::fs::read_link("/proc/self/ns/net").unwrap(), init_ns);
    // The initial namespace got no interface, address or rule from us.
    assert_eq!(
        std::fs::read_to_string("/proc/net/dev")
            .unwrap()
            .lines()
            .count(),
        links_before.lines().count()
    );
    let iptables = std::process::Command::new("iptables-save").output();
    if let Ok(o) = iptables {
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(
            !s.contains("--dport 80 -j ACCEPT"),
            "rules leaked into the initial namespace"
        );
    }
    let nft = std::process::Command::new("nft")
        .args(["list", "tables"])
        .output();
    if let Ok(o) = nft {
        assert!(!String::from_utf8_lossy(&o.stdout).contains("fwcheck_oracle_guard"));
    }
}

kernel_tests!(nothing_left_behind,);
