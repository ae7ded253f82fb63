//! Interface names from the capture, against the Linux kernel.
//!
//! A pcapng whose single interface is named `fwnc-s0` is replayed through the kernel oracle
//! with its tun device named `fwnc-s0`; fwcheck, left to take the name from the capture (its
//! default `--iface` being `eth0`), must give every frame the kernel's verdict — exact names,
//! `+` prefixes and `!` on `-i` and `-o`. The comparison itself keeps one name on both sides:
//! the same frames against an oracle device named `eth0` match too, and give the other verdicts.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::IpAddr;

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::packet::capture::read_all;
use fwcheck::packet::writer::{write_pcapng, NgInterface, Record};
use fwcheck::packet::{Packet, PacketProblem, Timestamp};
use fwcheck::replay::{replay, Item, Source};
use fwcheck::ruleset::{Family, ParseOptions};
use oracle_common::*;

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
-A INPUT -i fwnc-s0 -p tcp -m tcp --dport 22 -j ACCEPT\n\
-A INPUT -i fwnc+ -p tcp -m tcp --dport 80 -j ACCEPT\n\
-A INPUT -i eth+ -p tcp -m tcp --dport 443 -j ACCEPT\n\
-A INPUT ! -i fwnc-s0 -p tcp -m tcp --dport 25 -j ACCEPT\n\
-A INPUT -i eth0 -p tcp -m tcp --dport 8080 -j ACCEPT\n\
-A INPUT -i + -p tcp -m tcp --dport 8443 -j ACCEPT\n\
-A OUTPUT -o fwnc-s0 -p tcp -m tcp --sport 22 -j ACCEPT\n\
-A OUTPUT -o fwnc+ -p tcp -m tcp --sport 80 -j ACCEPT\n\
-A OUTPUT -o eth0 -p tcp -m tcp --sport 443 -j ACCEPT\n\
COMMIT\n";

/// The frames (raw IPv4, captured on `fwnc-s0`), read back through the capture reader.
fn capture() -> (tempfile::NamedTempFile, Vec<Result<Packet, PacketProblem>>) {
    let (c, h) = (CLIENT, HOST);
    let mut ip = Vec::new();
    for (i, port) in [22u16, 80, 443, 25, 8080, 8443].into_iter().enumerate() {
        ip.push(tcp4(
            c,
            h,
            40000 + i as u16,
            port,
            1000,
            0,
            SYN,
            i as u16 + 1,
        ));
    }
    for (i, port) in [22u16, 80, 443].into_iter().enumerate() {
        ip.push(tcp4(
            h,
            c,
            port,
            41000 + i as u16,
            5000,
            1001,
            SYN | ACK,
            i as u16 + 10,
        ));
    }
    let recs: Vec<Record> = ip
        .into_iter()
        .enumerate()
        .map(|(i, b)| Record::new(Timestamp(1_700_000_000_000_000_000 + i as u64 * 1000), b))
        .collect();
    let ifs = [NgInterface {
        linktype: 101,
        tsresol: None,
        name: "fwnc-s0".into(),
        addrs: Vec::new(),
    }];
    let f = tempfile::NamedTempFile::new().unwrap();
    write_pcapng(std::fs::File::create(f.path()).unwrap(), &ifs, &recs).unwrap();
    let (pk, pr, _) = read_all(f.path()).unwrap();
    assert!(pr.is_empty(), "{pr:?}");
    assert!(pk
        .iter()
        .all(|p| p.link.ifname.as_deref() == Some("fwnc-s0")));
    (f, pk.into_iter().map(Ok).collect())
}

fn sim(iface: &str) -> SimOptions {
    SimOptions {
        env: SimEnv {
            hosts: vec![IpAddr::V4(HOST)],
            iface: iface.into(),
            ..SimEnv::default()
        },
        ..SimOptions::default()
    }
}

fn kernel_verdicts(iface: &str) -> Vec<&'static str> {
    let loaded = load_str(
        "ifaces.rules",
        RULES,
        ParseOptions {
            family: Family::V4,
            ..ParseOptions::default()
        },
    );
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let (_f, frames) = capture();
    let cmp = compare(&loaded, frames, sim(iface), Pacing::AsFastAsPossible)
        .unwrap_or_else(|e| panic!("{iface}: {e}"));
    assert_eq!(cmp.mismatches, 0, "{iface}: {}", cmp.render(true));
    assert_eq!(cmp.uncertain, 0, "{iface}: {}", cmp.render(true));
    cmp.frames
        .iter()
        .map(|f| f.kernel.unwrap_or("SKIP"))
        .collect()
}

fn names_from_the_capture_give_the_kernels_verdicts() {
    let kernel = kernel_verdicts("fwnc-s0");
    let (a, d) = ("ACCEPT", "DROP");
    // In: 22 (-i fwnc-s0), 80 (fwnc+), 443 (eth+), 25 (! -i fwnc-s0), 8080 (eth0), 8443 (+);
    // out: 22 (-o fwnc-s0), 80 (fwnc+), 443 (eth0).
    assert_eq!(kernel, vec![a, a, d, d, d, a, a, a, d]);

    // fwcheck as the CLI runs it: default --iface (eth0), the name taken from the capture.
    let loaded = load_str(
        "ifaces.rules",
        RULES,
        ParseOptions {
            family: Family::V4,
            ..ParseOptions::default()
        },
    );
    let (f, _) = capture();
    let mut mine = Vec::new();
    replay(
        &loaded.ruleset,
        sim("eth0"),
        Source::Capture(f.path().to_path_buf()),
        |i| {
            if let Item::Packet(_, o) = i {
                mine.push(o.verdict.map(|v| v.as_str()).unwrap_or("SKIP"));
            }
        },
    )
    .unwrap();
    assert_eq!(mine, kernel);
}

fn the_comparison_keeps_one_name_whatever_the_capture_says() {
    // The frames carry fwnc-s0, the oracle's device is eth0: both sides see eth0.
    let kernel = kernel_verdicts("eth0");
    let (a, d) = ("ACCEPT", "DROP");
    assert_eq!(kernel, vec![d, d, a, a, a, a, d, d, a]);
}

kernel_tests!(
    names_from_the_capture_give_the_kernels_verdicts,
    the_comparison_keeps_one_name_whatever_the_capture_says,
);
