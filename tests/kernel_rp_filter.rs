//! Reverse-path filtering (`net.ipv4.conf.{all,IFACE}.rp_filter`, net/ipv4/fib_frontend.c
//! `fib_validate_source`) against the kernel, in the oracle's two-interface namespace: eth0
//! 192.0.2.10/24 (the frames come in on it, default route by it) and docker0 172.17.0.1/16.
//!
//! A source whose route back leaves by docker0 arriving on eth0 (spoofed) is dropped in strict
//! mode — to the host, forwarded, or DNATed — and let through in loose mode and with the filter
//! off; the kernel takes the higher of `all` and the interface's setting. The check runs in
//! the input routing decision, after PREROUTING: raw's and nat's rules have already seen the
//! dropped packet (a `recent` list they fill is read by a later packet), and the connection
//! conntrack created for it is never confirmed (the peer's SYN/ACK that follows is INVALID,
//! not ESTABLISHED).
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::Ipv4Addr;

use fwcheck::compare::compare;
use fwcheck::engine::SimOptions;
use fwcheck::host::HostConfig;
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const RULES: &str = "*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -s 172.17.0.0/16 -p tcp -m tcp --dport 22 -m recent --set --name rawseen --rdest
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -m recent --set --name natseen --rdest
-A PREROUTING -d 192.0.2.10/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 7 -m recent --rcheck --name rawseen --rdest -j ACCEPT
-A INPUT -p tcp -m tcp --dport 9 -m recent --rcheck --name natseen --rdest -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
";

const OUTSIDE: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 50);
const SPOOF: Ipv4Addr = Ipv4Addr::new(172, 17, 0, 6);

fn sim(rp: &[&str]) -> SimOptions {
    let mut h = HostConfig::default();
    h.add_addr(HostConfig::parse_iface_addr("eth0=192.0.2.10/24").unwrap());
    h.add_addr(HostConfig::parse_iface_addr("docker0=172.17.0.1/16").unwrap());
    h.add_route(HostConfig::parse_route("default via 192.0.2.1 dev eth0").unwrap());
    for s in rp {
        h.rp_filter.parse(s).unwrap();
    }
    router_sim(&h, "eth0")
}

/// Every frame comes in on eth0.
fn frames() -> Vec<Vec<u8>> {
    vec![
        // 1. Spoofed: 172.17.0.6 (route back by docker0) to the host's SSH.
        tcp4(SPOOF, HOST, 40000, 22, 1000, 0, SYN, 1),
        // 2. Did raw PREROUTING see frame 1? Its `recent --set` opens port 7.
        tcp4(CLIENT, HOST, 40001, 7, 2000, 0, SYN, 2),
        // 3. Spoofed, forwarded (198.51.100.50 is routed by eth0).
        tcp4(SPOOF, OUTSIDE, 40002, 80, 3000, 0, SYN, 3),
        // 4. The peer's answer to frame 3: ESTABLISHED only if frame 3's connection was
        //    confirmed.
        tcp4(OUTSIDE, SPOOF, 80, 40002, 9000, 3001, SYN | ACK, 4),
        // 5. Spoofed, DNATed to 172.17.0.2:80 in nat PREROUTING.
        tcp4(
            Ipv4Addr::new(172, 17, 0, 7),
            HOST,
            40003,
            8080,
            5000,
            0,
            SYN,
            5,
        ),
        // 6. Did nat PREROUTING see frame 5? Its `recent --set` opens port 9.
        tcp4(CLIENT, HOST, 40004, 9, 6000, 0, SYN, 6),
        // 7. A genuine outside client to SSH and to the published port.
        tcp4(CLIENT, HOST, 40005, 22, 7000, 0, SYN, 7),
        tcp4(CLIENT, HOST, 40006, 8080, 8000, 0, SYN, 8),
    ]
}

/// The kernel's verdicts (equal to fwcheck's: no mismatch, nothing uncertain) and fwcheck's
/// deciding rule or stack reason per frame.
fn run(rp: &[&str]) -> Vec<String> {
    let loaded = load_str("rp.rules.v4", RULES, ParseOptions::default());
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let cmp = compare(
        &loaded,
        decoded(frames()),
        sim(rp),
        Pacing::AsFastAsPossible,
    )
    .unwrap_or_else(|e| panic!("{rp:?}: {e}"));
    assert_eq!(cmp.mismatches, 0, "{rp:?}: {}", cmp.render(true));
    assert_eq!(cmp.uncertain, 0, "{rp:?}: {}", cmp.render(true));
    assert_eq!(cmp.compared, 8, "{rp:?}: {}", cmp.render(true));
    kernel_and_rule(&cmp)
        .into_iter()
        .map(|(kernel, why)| {
            let why = why.split(" (line").next().unwrap_or_default();
            format!("{kernel} {why}")
        })
        .collect()
}

const STRICT_DROP: &str = "DROP stack: reverse path filter: the route back to the source leaves by another interface (rp_filter 1, strict; fib_validate_source)";

fn strict() -> Vec<String> {
    vec![
        STRICT_DROP.into(),
        // raw PREROUTING saw frame 1 before routing dropped it.
        "ACCEPT filter INPUT #1".into(),
        STRICT_DROP.into(),
        // Frame 3's connection died unconfirmed: the SYN/ACK is INVALID, FORWARD's policy.
        "DROP filter FORWARD policy DROP".into(),
        STRICT_DROP.into(),
        // nat PREROUTING saw frame 5 (its recent rule, before the DNAT) too.
        "ACCEPT filter INPUT #2".into(),
        "ACCEPT filter INPUT #3".into(),
        "ACCEPT filter FORWARD #2".into(),
    ]
}

fn loose() -> Vec<String> {
    vec![
        "ACCEPT filter INPUT #3".into(),
        "ACCEPT filter INPUT #1".into(),
        "ACCEPT filter FORWARD #2".into(),
        // Frame 3's connection was confirmed: its answer is ESTABLISHED.
        "ACCEPT filter FORWARD #1".into(),
        "ACCEPT filter FORWARD #2".into(),
        "ACCEPT filter INPUT #2".into(),
        "ACCEPT filter INPUT #3".into(),
        "ACCEPT filter FORWARD #2".into(),
    ]
}

fn rp_filter_off_lets_spoofed_sources_in() {
    assert_eq!(run(&[]), loose());
    assert_eq!(run(&["0"]), loose());
}

fn strict_drops_a_source_routed_by_another_interface_after_prerouting() {
    assert_eq!(run(&["1"]), strict());
}

fn loose_only_needs_a_route_back() {
    assert_eq!(run(&["2"]), loose());
}

fn the_kernel_takes_the_higher_of_all_and_the_interface() {
    // all 0, eth0 strict: strict.
    assert_eq!(run(&["eth0=1"]), strict());
    // all strict, eth0 0: strict.
    assert_eq!(run(&["1", "eth0=0"]), strict());
    // all loose, eth0 strict: max(2, 1) = 2, loose.
    assert_eq!(run(&["2", "eth0=1"]), loose());
    // Only docker0 strict: packets in on eth0 are not filtered.
    assert_eq!(run(&["docker0=1"]), loose());
}

kernel_tests!(
    rp_filter_off_lets_spoofed_sources_in,
    strict_drops_a_source_routed_by_another_interface_after_prerouting,
    loose_only_needs_a_route_back,
    the_kernel_takes_the_higher_of_all_and_the_interface
);
