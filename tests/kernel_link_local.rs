//! IPv6 link-local sources on a router with several interfaces, against the kernel
//! (net/ipv6/ip6_output.c `ip6_forward`): a packet from fe80::/10 routed out of *another*
//! interface than it came in on is dropped before FORWARD ("This check is security critical");
//! routed back out of the interface it came in on, it is forwarded (the kernel also sends a
//! redirect). The host: fixtures/containers/docker-host6.json (eth0 2001:db8:a::10/64, docker0
//! 2001:db8:d0c::1/64), every frame in on eth0, FORWARD's policy ACCEPT. And a packet to the
//! link-local address of the interface it arrives on is the host's. (One to another
//! interface's link-local address is not — `ip6_route_input` looks link-local destinations up
//! on the input device only — which the oracle, whose one device holds every address, cannot
//! show: the recorded lab `ipv6-other-iface-linklocal` pins it.)
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::Ipv6Addr;

use fwcheck::compare::compare;
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::packet::Family;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const RULES6: &str = "*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
";

fn ip6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn link_local_sources_stay_on_their_link() {
    let loaded = load_str(
        "ll.rules.v6",
        RULES6,
        ParseOptions {
            family: Family::V6,
            ..ParseOptions::default()
        },
    );
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let syn = |src: &str, dst: &str, sport: u16| tcp6(ip6(src), ip6(dst), sport, 80, 1000, 0, SYN);
    let packets = vec![
        // 1. Link-local source, routed to docker0: dropped before FORWARD.
        syn("fe80::99", "2001:db8:d0c::2", 40001),
        // 2. A global source to the same container: forwarded.
        syn("2001:db8:c::7", "2001:db8:d0c::2", 40002),
        // 3. Link-local source, routed back out of eth0: forwarded.
        syn("fe80::99", "2001:db8:a::99", 40003),
    ];
    let cmp = compare(
        &loaded,
        decoded(packets),
        container_sim("docker-host6.json", "eth0"),
        Pacing::AsFastAsPossible,
    )
    .expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    assert_eq!(cmp.compared, 3, "{}", cmp.render(true));
    let got: Vec<String> = kernel_and_rule(&cmp)
        .into_iter()
        .map(|(k, why)| format!("{k} {}", why.split(" (line").next().unwrap_or_default()))
        .collect();
    assert_eq!(
        got,
        [
            "DROP stack: link-local source routed to another interface (ip6_forward: not \
             forwarded beyond its link, before FORWARD)",
            "ACCEPT filter FORWARD policy ACCEPT",
            "ACCEPT filter FORWARD policy ACCEPT",
        ],
        "{got:#?}"
    );
}

kernel_tests!(
    link_local_sources_stay_on_their_link,
    link_local_destinations_by_interface
);

/// Link-local destinations: a packet arriving on eth0 for eth0's link-local address is the
/// host's, delivered to INPUT (and one for docker0's is not: see the module's docs).
fn link_local_destinations_by_interface() {
    const RULES: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -d fe80::d/128 -j ACCEPT
-A INPUT -d fe80::a/128 -j ACCEPT
COMMIT
";
    let loaded = load_str(
        "ll.rules.v6",
        RULES,
        ParseOptions {
            family: Family::V6,
            ..ParseOptions::default()
        },
    );
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let mut h = fwcheck::host::HostConfig::default();
    for a in [
        "eth0=2001:db8:a::10/64",
        "eth0=fe80::a/64",
        "docker0=2001:db8:d0c::1/64",
        "docker0=fe80::d/64",
    ] {
        h.add_addr(fwcheck::host::HostConfig::parse_iface_addr(a).unwrap());
    }
    let syn = |src: &str, dst: &str, sport: u16| tcp6(ip6(src), ip6(dst), sport, 22, 1000, 0, SYN);
    let packets = vec![
        syn("fe80::99", "fe80::a", 40001),
        syn("fe80::99", "fe80::a", 40002),
    ];
    let cmp = compare(
        &loaded,
        decoded(packets),
        router_sim(&h, "eth0"),
        Pacing::AsFastAsPossible,
    )
    .expect("compare");
    let got: Vec<String> = kernel_and_rule(&cmp)
        .into_iter()
        .map(|(k, why)| format!("{k} {}", why.split(" (line").next().unwrap_or_default()))
        .collect();
    assert_eq!(cmp.mismatches, 0, "{}\n{got:#?}", cmp.render(true));
    assert_eq!(cmp.compared, 2, "{}", cmp.render(true));
    assert_eq!(
        got,
        ["ACCEPT filter INPUT #2", "ACCEPT filter INPUT #2"],
        "{got:#?}"
    );
}
