//! A host whose output device cannot segment cuts its GSO packets after POSTROUTING
//! (`validate_xmit_skb`), before the capture tap: OUTPUT saw each packet whole and once, the
//! capture shows its segments back to back (`packet::ingest::gso`). Data: a kernel hunt's
//! recordings (`tests/data/hunt/host-gso/record.sh`, kernel 6.18, a veth with `tx-udp-segmentation
//! off` or `tso off`, `iptables-save -c` after the traffic). Before 2026-12-07 fwcheck judged
//! each segment as a packet of its own, certain: 30 certain DROPs under `-m length --length
//! 1501:65535 -j ACCEPT` of UDP datagrams the kernel accepted whole, and the peer's replies
//! then NEW and dropped; 27 certain DROPs under a `limit` that counted each packet once.

mod common;

use serde_json::Value;

const DIR: &str = "tests/data/hunt/host-gso";

fn records(rules: &str, pcap: &str) -> Vec<Value> {
    common::json_records(
        DIR,
        &[
            rules,
            "--pcap",
            pcap,
            "--host-config",
            "host.json",
            "--conntrack-start",
            "empty",
        ],
    )
}

fn packets(v: &[Value]) -> impl Iterator<Item = &Value> {
    v.iter()
        .filter(|r| r["type"] == "packet" && r["verdict"].is_string())
}

fn rule<'a>(v: &'a [Value], chain: &str, number: u64) -> &'a Value {
    v.iter()
        .find(|r| r["type"] == "rule" && r["chain"] == chain && r["number"] == number)
        .expect("the rule")
}

/// The kernel accepted every packet these captures show (its DROP rules and policies counted
/// none of them): no verdict of fwcheck may be a certain DROP, and the segments of the GSO
/// datagrams — undecided under `-m length` or `limit` — are uncertain.
#[test]
fn udp_segments_under_length_and_limit_rules_are_never_certain_drops() {
    for case in ["udp", "udp-limit"] {
        let v = records(&format!("{case}.rules"), &format!("{case}.pcap"));
        let mut segments = 0;
        for p in packets(&v) {
            assert!(
                !(p["verdict"] == "DROP" && p["certain"] == true),
                "{case}: a certain DROP the kernel never made: {p}"
            );
            if p["direction"] == "out" && p["dport"] == 5000 {
                segments += 1;
                assert_eq!(p["certain"], false, "{case}: {p}");
                let why = p["reason"].as_str().unwrap_or("");
                assert!(why.contains("GSO packet"), "{case}: {p}");
            }
        }
        assert_eq!(segments, 30, "{case}: three datagrams of ten segments");
    }
}

/// Under the same capture, a ruleset that reads no length, payload or count on the way out
/// (`udp-nolength.rules`: UDP to port 5000 dropped) fares the same with the packet and with
/// each of its segments: certain.
#[test]
fn a_ruleset_that_reads_no_length_stays_certain() {
    let v = records("udp-nolength.rules", "udp.pcap");
    let out: Vec<&Value> = packets(&v)
        .filter(|p| p["direction"] == "out" && p["dport"] == 5000)
        .collect();
    assert_eq!(out.len(), 10, "the first datagram's segments: {out:?}");
    assert!(
        out.iter()
            .all(|p| p["verdict"] == "DROP" && p["certain"] == true),
        "{out:?}"
    );
}

/// TCP: the kernel's rule `-m length --length 1501:65535` took the ten super-packets whole; the
/// 139 segments are each shorter. Every rule of that chain accepts, so the verdicts are
/// certain either way, and the counters that depend on the length say they are bounds; the
/// summary counts the later segments (144 OUTPUT frames where the kernel counted 16).
#[test]
fn tcp_segments_keep_certain_verdicts_and_bounded_counters() {
    let v = records("tcp.rules", "tcp.pcap");
    assert!(packets(&v).all(|p| p["verdict"] == "ACCEPT" && p["certain"] == true));
    assert_eq!(rule(&v, "OUTPUT", 2)["at_least"], true);
    assert_eq!(rule(&v, "OUTPUT", 3)["at_least"], true);
    assert_eq!(rule(&v, "OUTPUT", 4)["at_most"], true);
    let summary = v.iter().find(|r| r["type"] == "summary").unwrap();
    assert_eq!(summary["stats"]["gso_continuations"], 128, "{summary}");
}
