//! `-m rpfilter` (`ipt_rpfilter.c`, `ip6t_rpfilter.c`) against the kernel, in the oracle's
//! two-interface namespace: eth0 (the frames come in on it, default route by it) and docker0.
//!
//! Each variant of the match (strict, `--loose`, `--accept-local`, both, `--invert`,
//! `--validmark`) has its own destination port. A raw PREROUTING rule for it adds the packet's
//! destination to a `recent` list when the match holds; the next frame, a probe from an outside
//! client, is accepted by filter INPUT only if its `recent --remove` finds the address there.
//! So the probe's verdict, compared with the kernel's, says what the match answered for the
//! frame before it — whatever routing does with that frame afterwards.
//!
//! Sources: an outside client (route back by eth0), a spoofed address of docker0's subnet
//! (route back by docker0), an address of eth0's own subnet, and eth0's directed broadcast
//! (`RTN_BROADCAST`: the match is false). IPv6 adds a link-local source, looked up on the
//! input interface alone. Without the host's routes the answer is uncertain, never guessed.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use fwcheck::compare::compare;
use fwcheck::engine::SimOptions;
use fwcheck::host::HostConfig;
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::{Family, ParseOptions};
use oracle_common::*;

/// The variants, each on its own port (1..=6).
const VARIANTS: &[&str] = &[
    "",
    " --loose",
    " --accept-local",
    " --loose --accept-local",
    " --invert",
    " --validmark",
];

fn rules() -> String {
    let mut raw = String::new();
    let mut filter = String::new();
    for (i, v) in VARIANTS.iter().enumerate() {
        let port = i + 1;
        raw += &format!(
            "-A PREROUTING -p tcp -m tcp --dport {port} -m rpfilter{v} -m recent --set --name rpf{port} --rdest\n"
        );
        filter += &format!(
            "-A INPUT -p tcp -m tcp --dport {} -m recent --remove --name rpf{port} --rdest -j ACCEPT\n",
            1000 + port
        );
    }
    format!(
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{raw}COMMIT\n\
         *filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{filter}COMMIT\n"
    )
}

fn host_config(v6: bool) -> HostConfig {
    let mut h = HostConfig::default();
    if v6 {
        h.add_addr(HostConfig::parse_iface_addr("eth0=2001:db8:a::10/64").unwrap());
        h.add_addr(HostConfig::parse_iface_addr("docker0=2001:db8:d::1/64").unwrap());
        h.add_route(HostConfig::parse_route("fe80::/64 dev eth0").unwrap());
        h.add_route(HostConfig::parse_route("::/0 dev eth0").unwrap());
    } else {
        h.add_addr(HostConfig::parse_iface_addr("eth0=192.0.2.10/24").unwrap());
        h.add_addr(HostConfig::parse_iface_addr("docker0=172.17.0.1/16").unwrap());
        h.add_route(HostConfig::parse_route("default via 192.0.2.1 dev eth0").unwrap());
    }
    h
}

/// For each source: a SYN to each variant's port, each followed by the probe.
fn frames(sources: &[IpAddr], host: IpAddr, client: IpAddr) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut sport = 40000;
    for &src in sources {
        for i in 0..VARIANTS.len() {
            let port = i as u16 + 1;
            for (s, d) in [(src, port), (client, 1000 + port)] {
                sport += 1;
                out.push(tcp_ip(s, host, sport, d, 1000, 0, SYN, sport, &[]));
            }
        }
    }
    out
}

/// Per source, what the match answered for each variant (`1` held, `0` not), read from the
/// probes' verdicts, which equal the kernel's.
fn answers(family: Family, sources: &[IpAddr], host: IpAddr, client: IpAddr) -> Vec<String> {
    let v6 = family == Family::V6;
    let text = rules();
    let loaded = load_str(
        "rpfilter.rules",
        &text,
        ParseOptions {
            family,
            ..ParseOptions::default()
        },
    );
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let sim: SimOptions = router_sim(&host_config(v6), "eth0");
    let cmp = compare(
        &loaded,
        decoded(frames(sources, host, client)),
        sim,
        Pacing::AsFastAsPossible,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    assert_eq!(cmp.uncertain, 0, "{}", cmp.render(true));
    let got = kernel_and_rule(&cmp);
    assert_eq!(got.len(), sources.len() * VARIANTS.len() * 2);
    got.chunks(VARIANTS.len() * 2)
        .map(|c| {
            c.chunks(2)
                .map(|pair| if pair[1].0 == "ACCEPT" { '1' } else { '0' })
                .collect()
        })
        .collect()
}

fn ipv4_sources_by_route_and_type() {
    let sources: Vec<IpAddr> = [
        CLIENT,                        // route back by eth0
        Ipv4Addr::new(172, 17, 0, 6),  // by docker0: a spoofed container address
        Ipv4Addr::new(192, 0, 2, 77),  // eth0's own subnet
        Ipv4Addr::new(192, 0, 2, 255), // eth0's directed broadcast: RTN_BROADCAST
    ]
    .into_iter()
    .map(IpAddr::V4)
    .collect();
    // Columns: strict, loose, accept-local, loose+accept-local, invert, validmark.
    assert_eq!(
        answers(Family::V4, &sources, HOST.into(), CLIENT.into()),
        ["111101", "010110", "111101", "000010"]
    );
}

fn ipv6_sources_by_route_and_type() {
    let host6: IpAddr = "2001:db8:a::10".parse().unwrap();
    let sources: Vec<IpAddr> = [
        CLIENT6,
        Ipv6Addr::new(0x2001, 0xdb8, 0xd, 0, 0, 0, 0, 6),
        Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 77),
        // Link-local: looked up on the input interface, whose fe80::/64 route answers.
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x99),
    ]
    .into_iter()
    .map(IpAddr::V6)
    .collect();
    assert_eq!(
        answers(Family::V6, &sources, host6, CLIENT6.into()),
        ["111101", "010110", "111101", "111101"]
    );
}

/// `0.0.0.0` to the limited broadcast (a DHCP client without an address) holds whatever the
/// routes, strict or inverted (without the host's routes fwcheck still decides it:
/// `tests/engine_basic.rs::rpfilter_without_routes_is_uncertain`).
fn zeronet_to_broadcast_holds_without_a_lookup() {
    const RULES: &str = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A PREROUTING -p udp -m udp --dport 67 -m rpfilter --invert -j DROP\n\
        -A PREROUTING -p udp -m udp --dport 68 -m rpfilter -j DROP\n\
        -A PREROUTING -p tcp -m rpfilter --invert -j DROP\nCOMMIT\n\
        *filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let loaded = load_str("zeronet.rules", RULES, ParseOptions::default());
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let zero = Ipv4Addr::UNSPECIFIED;
    let bcast = Ipv4Addr::BROADCAST;
    let frames = vec![
        udp4(zero, bcast, 68, 67, 1, b"discover"),
        udp4(zero, bcast, 67, 68, 2, b"discover"),
        tcp4(CLIENT, HOST, 40000, 22, 1000, 0, SYN, 3),
    ];
    let cmp = compare(
        &loaded,
        decoded(frames),
        router_sim(&host_config(false), "eth0"),
        Pacing::AsFastAsPossible,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    assert_eq!(cmp.uncertain, 0, "{}", cmp.render(true));
    let got: Vec<&str> = kernel_and_rule(&cmp).into_iter().map(|(k, _)| k).collect();
    assert_eq!(got, ["ACCEPT", "DROP", "ACCEPT"]);
}

kernel_tests!(
    ipv4_sources_by_route_and_type,
    ipv6_sources_by_route_and_type,
    zeronet_to_broadcast_holds_without_a_lookup
);
