//! Broadcasts and multicast groups on the command line, from an Ethernet capture: what the
//! kernel keeps after PREROUTING (src/engine/mod.rs `route_local_in`, src/host.rs `joined`),
//! with `--join` and `ip -j maddr` in `--host-config`. The kernel-checked semantics (on the
//! oracle's tun devices): tests/kernel_multicast.rs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const RULES4: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                      -A INPUT -p udp -m udp --dport 5353 -j ACCEPT\n\
                      -A INPUT -p udp -m udp --dport 67 -j ACCEPT\nCOMMIT\n";
const RULES6: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                      -A INPUT -p udp -m udp --dport 5353 -j ACCEPT\nCOMMIT\n";

fn fwcheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// An Ethernet capture: 1. mDNS 224.0.0.251, 2. the solicited-node group of 2001:db8::10,
/// 3. another address's, 4. the limited broadcast, 5. the subnet's, 6. the network address,
/// 7. the host's own mDNS query.
fn capture(dir: &Path) -> PathBuf {
    let pcap = dir.join("mc.pcap");
    let mut args = vec!["gen", "--host", "192.0.2.10"];
    for f in [
        "udp 192.0.2.7:5353 > 224.0.0.251:5353",
        "udp [2001:db8::7]:5000 > [ff02::1:ff00:10]:5353",
        "udp [2001:db8::7]:5000 > [ff02::1:ff00:99]:5353",
        "udp 192.0.2.7:68 > 255.255.255.255:67",
        "udp 192.0.2.7:5000 > 192.0.2.255:5353",
        "udp 192.0.2.7:5000 > 192.0.2.0:5353",
        "udp 192.0.2.10:5353 > 224.0.0.251:5353",
    ] {
        args.extend(["--flow", f]);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&pcap, out.stdout).unwrap();
    pcap
}

/// (frame, direction, verdict or "-", certain) of every packet record.
fn run(dir: &Path, extra: &[&str]) -> Vec<(u64, String, String, bool)> {
    let r4 = write(dir, "r.v4", RULES4);
    let r6 = write(dir, "r.v6", RULES6);
    let pcap = capture(dir);
    let mut args = vec![
        r4.to_str().unwrap(),
        "--rules6",
        r6.to_str().unwrap(),
        "--pcap",
        pcap.to_str().unwrap(),
        "--host",
        "192.0.2.10/24",
        "--host",
        "2001:db8::10/64",
        "--format",
        "json",
        "--limit",
        "0",
        "--fail-on",
        "never",
    ];
    args.extend(extra);
    let (code, out, err) = fwcheck(&args);
    assert_eq!(code, 0, "{out}{err}");
    out.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "packet")
        .map(|v| {
            (
                v["frame"].as_u64().unwrap(),
                v["direction"].as_str().unwrap_or("-").to_string(),
                v["verdict"].as_str().unwrap_or("-").to_string(),
                v["certain"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn row(f: u64, dir: &str, verdict: &str, certain: bool) -> (u64, String, String, bool) {
    (f, dir.into(), verdict.into(), certain)
}

#[test]
fn without_join_an_unknown_group_is_dropped_uncertain() {
    let dir = tempfile::tempdir().unwrap();
    let got = run(dir.path(), &[]);
    let want = [
        row(1, "in", "DROP", false),
        // Ethernet: every interface joins its addresses' solicited-node groups.
        row(2, "in", "ACCEPT", true),
        row(3, "in", "DROP", false),
        row(4, "in", "ACCEPT", true),
        row(5, "in", "ACCEPT", true),
        // The network address is no broadcast (no route since Linux 5.x): not this host's.
        row(6, "none", "-", true),
        row(7, "out", "ACCEPT", true),
    ];
    assert_eq!(got, want, "{got:#?}");
}

#[test]
fn join_none_makes_the_drop_certain_and_join_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let got = run(dir.path(), &["--join", "none"]);
    assert_eq!(got[0], row(1, "in", "DROP", true), "{got:#?}");
    assert_eq!(got[2], row(3, "in", "DROP", true), "{got:#?}");
    let got = run(dir.path(), &["--join", "eth0=224.0.0.251"]);
    assert_eq!(got[0], row(1, "in", "ACCEPT", true), "{got:#?}");
    // Joined on another interface only: not on eth0.
    let got = run(dir.path(), &["--join", "eth1=224.0.0.251"]);
    assert_eq!(got[0], row(1, "in", "DROP", true), "{got:#?}");
}

#[test]
fn ip_maddr_in_the_host_config_gives_the_groups() {
    let dir = tempfile::tempdir().unwrap();
    let maddr = write(
        dir.path(),
        "maddr.json",
        r#"[{"ifindex":2,"ifname":"eth0","maddr":[{"link":"01:00:5e:00:00:fb"},
            {"family":"inet","address":"224.0.0.1"},{"family":"inet","address":"224.0.0.251"}]}]"#,
    );
    let got = run(dir.path(), &["--host-config", maddr.to_str().unwrap()]);
    assert_eq!(got[0], row(1, "in", "ACCEPT", true), "{got:#?}");
    assert_eq!(got[2], row(3, "in", "DROP", true), "{got:#?}");
}

#[test]
fn bad_join_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let r4 = write(dir.path(), "r.v4", RULES4);
    for (v, want) in [
        ("192.0.2.1", "not a multicast address"),
        ("eth0=mdns", "expected a multicast group address"),
        ("a/b=224.0.0.251", "expected an interface name"),
    ] {
        let (code, out, err) = fwcheck(&[
            r4.to_str().unwrap(),
            "--flow",
            "udp 192.0.2.7:5353 > 224.0.0.251:5353",
            "--join",
            v,
        ]);
        assert_eq!(code, 2, "{v}: {out}{err}");
        assert!(
            err.contains(&format!("--join {v}")) && err.contains(want),
            "{v}: {err}"
        );
    }
}
