//! A forwarded packet whose mark was set before the routing decision (mangle PREROUTING's
//! MARK, CONNMARK --restore-mark) may be routed by a policy rule (`ip rule fwmark`) the host
//! configuration does not give: its output device, which FORWARD's `-o` and POSTROUTING's
//! MASQUERADE read, is not known, and its verdict is uncertain. Data: a kernel hunt's lab
//! (`tests/data/hunt/fwmark-forward/record.sh`: LAN tcp/8081 marked 2 and routed by `ip rule
//! fwmark 2 table 100` out of a second uplink), where fwcheck took the main table's uplink and
//! gave 20 certain drops; the kernel forwarded both connections.

mod common;

use serde_json::Value;

const DIR: &str = "tests/data/hunt/fwmark-forward";

fn packets(rules: &str) -> Vec<Value> {
    common::json_packets(
        DIR,
        &[
            rules,
            "--pcap",
            "capture.pcap",
            "--host-config",
            "host.json",
            "--router",
        ],
    )
}

#[test]
fn a_mark_set_before_the_routing_decision_leaves_the_route_unknown() {
    let v = packets("rules");
    let marked: Vec<&Value> = v
        .iter()
        .filter(|r| r["direction"] == "forward" && r["dport"] == 8081)
        .collect();
    assert!(!marked.is_empty());
    // The kernel forwarded every one of them: none may be a certain drop.
    for r in &v {
        let dropped = matches!(r["verdict"].as_str(), Some("DROP" | "REJECT"));
        assert!(!(dropped && r["certain"] == true), "{r}");
    }
    let first = marked[0];
    assert_eq!(first["certain"], false, "{first}");
    assert!(
        first["reason"]
            .as_str()
            .unwrap_or("")
            .contains("ip rule fwmark"),
        "{first}"
    );
}

#[test]
fn without_a_mark_the_main_tables_route_stands() {
    // The same traffic and rules with the mangle table left out: no mark, no policy route
    // (fwcheck's main-table route is the kernel's), so nothing is uncertain for it.
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/hunt/fwmark-forward"
    );
    let rules = std::fs::read_to_string(format!("{dir}/rules")).unwrap();
    let nat_on = &rules[rules.find("*nat").unwrap()..];
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), nat_on).unwrap();
    let v = packets(f.path().to_str().unwrap());
    assert!(v.iter().all(|r| !r["reason"]
        .as_str()
        .unwrap_or("")
        .contains("ip rule fwmark")));
}
