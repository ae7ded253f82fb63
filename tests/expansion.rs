//! Address lists multiply: `-s A,B -d X,Y` is four rules, as iptables makes them. A line asking
//! for more than 100,000 rules (3,000 sources × 3,000 destinations: 9,000,000) is refused with
//! E113 before any of them is allocated, instead of taking gigabytes; lists up to the limit load.

use fwcheck::lint::load_str;
use fwcheck::ruleset::ParseOptions;

fn addrs(n: usize) -> String {
    (0..n)
        .map(|i| format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256))
        .collect::<Vec<_>>()
        .join(",")
}

fn rules(line: &str) -> String {
    format!("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{line}\nCOMMIT\n")
}

#[test]
fn lists_expand_into_pairs() {
    let l = load_str(
        "x.rules",
        &rules("-A INPUT -s 192.0.2.1,192.0.2.2 -d 198.51.100.1,198.51.100.2 -j DROP"),
        ParseOptions::default(),
    );
    assert!(!l.has_errors());
    assert_eq!(l.ruleset.rule_count(), 4);
}

#[test]
fn a_line_of_millions_of_rules_is_refused_up_front() {
    let big = addrs(3000);
    let l = load_str(
        "x.rules",
        &rules(&format!("-A INPUT -s {big} -d {big} -j DROP")),
        ParseOptions::default(),
    );
    let e: Vec<_> = l.diagnostics.iter().filter(|d| d.code == "E113").collect();
    assert_eq!(e.len(), 1, "{:?}", l.diagnostics);
    assert!(e[0].message.contains("9000000 rules"), "{}", e[0].message);
    assert_eq!(l.ruleset.rule_count(), 0);
    // At the limit it loads (100,000 sources, one destination).
    let l = load_str(
        "x.rules",
        &rules(&format!("-A INPUT -s {} -j DROP", addrs(100_000))),
        ParseOptions::default(),
    );
    assert!(!l.has_errors());
    assert_eq!(l.ruleset.rule_count(), 100_000);
}
