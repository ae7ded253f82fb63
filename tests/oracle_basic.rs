//! Kernel oracle: basic filtering verdicts, directions, skips.

#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::oracle::{self, KernelDirection, OracleConfig};
use fwcheck::packet::Family;
use oracle_common::*;

const PORT80: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 80 -j ACCEPT\nCOMMIT\n";

fn syn_to_80_accepted_81_dropped() {
    let cfg = OracleConfig::new(PORT80, Family::V4, host());
    let out = oracle::replay(
        &cfg,
        frames(vec![
            tcp4(CLIENT, HOST, 40000, 80, 1, 0, SYN, 1),
            tcp4(CLIENT, HOST, 40001, 81, 1, 0, SYN, 2),
        ]),
    )
    .unwrap();
    assert_eq!(verdicts(&out), vec![A, D], "{}", dump(&out));
    assert_eq!(dirs(&out), vec![KernelDirection::In, KernelDirection::In]);
}

fn odd_frames_are_skipped_with_a_note_never_a_panic() {
    use fwcheck::oracle::OracleFrame;
    use fwcheck::packet::Timestamp;
    let cfg = OracleConfig::new(PORT80, Family::V4, host());
    let mut garbage: Vec<Option<Vec<u8>>> = vec![
        None,
        Some(vec![]),
        Some(vec![0x45]),
        Some(vec![0x45; 19]),
        Some(vec![0x00; 40]),
        Some(vec![0xff; 60]),
        Some(vec![0x60; 39]),
        // loopback
        Some(udp4([127, 0, 0, 1].into(), HOST, 1, 2, 1, b"lo")),
        // neither address is ours
        Some(udp4(CLIENT, [203, 0, 113, 5].into(), 1, 2, 1, b"transit")),
        // IPv6 packet with an IPv4 ruleset
        Some(ping6(CLIENT6, HOST6, false, 1)),
    ];
    // Headers that claim to be for us but are broken in every way: injected, dropped, no panic.
    let mut p = tcp4(CLIENT, HOST, 1, 80, 1, 0, SYN, 9);
    p[0] = 0x4f; // IHL 60 > packet
    garbage.push(Some(p));
    let mut p = tcp4(CLIENT, HOST, 1, 80, 1, 0, SYN, 9);
    p[0] = 0x43; // IHL 12
    garbage.push(Some(p));
    let mut p = tcp4(CLIENT, HOST, 1, 80, 1, 0, SYN, 9);
    p[2..4].copy_from_slice(&10u16.to_be_bytes()); // total length < header
    garbage.push(Some(p));
    // Outbound with a truncated capture: cannot be reproduced, so not sent.
    let mut p = udp4(HOST, CLIENT, 1, 2, 1, b"truncated");
    p.truncate(p.len() - 3);
    garbage.push(Some(p));
    let frames: Vec<OracleFrame> = garbage
        .into_iter()
        .enumerate()
        .map(|(i, ip)| OracleFrame {
            frame: i as u64,
            ts: Timestamp(i as u64),
            ip,
        })
        .collect();
    let n = frames.len();
    let out = oracle::replay(&cfg, frames).unwrap();
    assert_eq!(out.len(), n);
    for o in &out[..10] {
        assert_eq!(o.direction, KernelDirection::Skip, "{}", dump(&out));
        assert_eq!(o.verdict, None);
        assert!(o.note.is_some());
    }
    for o in &out[10..13] {
        assert_eq!(o.direction, KernelDirection::In, "{}", dump(&out));
        assert_eq!(o.verdict, D, "{}", dump(&out));
        assert!(
            o.note.as_deref().unwrap().contains("header defect"),
            "{}",
            dump(&out)
        );
    }
    assert_eq!(out[13].direction, KernelDirection::Out);
    assert_eq!(out[13].verdict, None);
    assert!(out[13].note.as_deref().unwrap().contains("not sent"));
}

fn errors_are_clear() {
    use fwcheck::oracle::OracleError;
    let cfg = OracleConfig::new(
        "*filter\n-A INPUT -p tcp --dport 80 -j NOSUCHCHAIN\nCOMMIT\n",
        Family::V4,
        host(),
    );
    match oracle::replay(&cfg, frames(vec![])) {
        Err(OracleError::Ruleset { tool, stderr, .. }) => {
            assert!(tool.contains("iptables-restore"), "{tool}");
            assert!(!stderr.is_empty());
        }
        other => panic!("expected a ruleset error, got {other:?}"),
    }
    let mut cfg = OracleConfig::new(PORT80, Family::V4, host());
    cfg.sysctls = vec![("kernel.panic".into(), "1".into())];
    assert!(matches!(
        oracle::replay(&cfg, frames(vec![])),
        Err(OracleError::Config(_))
    ));
    cfg.sysctls = vec![("net.netfilter.no_such_knob".into(), "1".into())];
    let e = oracle::replay(&cfg, frames(vec![])).unwrap_err();
    assert!(matches!(e, OracleError::Sysctl { .. }), "{e}");
    assert!(e.to_string().contains("no_such_knob"));
    let cfg = OracleConfig::new(PORT80, Family::V6, host());
    assert!(matches!(
        oracle::replay(&cfg, frames(vec![])),
        Err(OracleError::Config(_))
    ));
    let mut cfg = OracleConfig::new(PORT80, Family::V4, host());
    cfg.pacing = oracle::Pacing::Realtime { speed: 0.0 };
    assert!(matches!(
        oracle::replay(&cfg, frames(vec![])),
        Err(OracleError::Config(_))
    ));
    cfg.pacing = oracle::Pacing::AsFastAsPossible;
    cfg.iface = "this-name-is-far-too-long".into();
    assert!(matches!(
        oracle::replay(&cfg, frames(vec![])),
        Err(OracleError::Config(_))
    ));
}

fn custom_interface_name_is_what_rules_see() {
    let rules = "*filter\n:INPUT DROP [0:0]\n:OUTPUT DROP [0:0]\n-A INPUT -i wan0 -j ACCEPT\n-A OUTPUT -o wan0 -p udp --dport 7 -j ACCEPT\nCOMMIT\n";
    let mut cfg = OracleConfig::new(rules, Family::V4, host());
    cfg.iface = "wan0".into();
    let out = oracle::replay(
        &cfg,
        frames(vec![
            udp4(CLIENT, HOST, 1, 2, 1, b"x"),
            udp4(HOST, CLIENT, 1, 7, 2, b"x"),
            udp4(HOST, CLIENT, 1, 8, 3, b"x"),
        ]),
    )
    .unwrap();
    assert_eq!(verdicts(&out), vec![A, A, D], "{}", dump(&out));
}

kernel_tests!(
    syn_to_80_accepted_81_dropped,
    odd_frames_are_skipped_with_a_note_never_a_panic,
    errors_are_clear,
    custom_interface_name_is_what_rules_see,
);
