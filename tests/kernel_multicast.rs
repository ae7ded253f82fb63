//! Broadcasts and multicast groups delivered to a host (not a router), against the kernel.
//!
//! The input route (net/ipv4/route.c `ip_route_input_rcu` / `ip_route_input_slow`,
//! net/ipv6/ip6_input.c `ip6_mc_input`) keeps, after PREROUTING:
//! - the limited broadcast 255.255.255.255 and the directed broadcast of the host's subnet
//!   (`RTN_BROADCAST`), a DHCP DISCOVER from 0.0.0.0 included;
//! - a multicast group the input interface joined (`ip_check_mc_rcu`, `ipv6_chk_mcast_addr`):
//!   by itself every interface joins 224.0.0.1, ff02::1 and the solicited-node group of each
//!   of its addresses; others only when a socket joined them (`--join`);
//! - and drops any other group (no multicast routing), after PREROUTING saw it.
//!
//! Which hooks saw a packet is read back by later probes: raw PREROUTING and filter INPUT put
//! the source of every multicast packet in a `recent` list (`pre`, `in`), and a SYN to port 1
//! (2) from that source is accepted only if it is in `pre` (`in`).
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::packet::Family;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const RULES4: &str = "*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d 224.0.0.0/4 -m recent --set --name pre --rsource
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 1 -m recent --rcheck --name pre --rsource -j ACCEPT
-A INPUT -p tcp -m tcp --dport 2 -m recent --rcheck --name in --rsource -j ACCEPT
-A INPUT -d 224.0.0.0/4 -m recent --set --name in --rsource
-A INPUT -p udp -m udp --dport 5353 -j ACCEPT
-A INPUT -p udp -m udp --dport 67 -j ACCEPT
-A INPUT -p udp -m addrtype --dst-type BROADCAST -m udp --dport 138 -j ACCEPT
COMMIT
";

const RULES6: &str = "*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d ff00::/8 -m recent --set --name pre --rsource
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 1 -m recent --rcheck --name pre --rsource -j ACCEPT
-A INPUT -p tcp -m tcp --dport 2 -m recent --rcheck --name in --rsource -j ACCEPT
-A INPUT -d ff00::/8 -m recent --set --name in --rsource
-A INPUT -p udp -m udp --dport 5353 -j ACCEPT
COMMIT
";

/// A host (no forwarding) with HOST/24 or HOST6/64 and the groups `joins` (`--join` values).
fn sim(v6: bool, joins: &[&str]) -> SimOptions {
    let (addr, len): (IpAddr, u8) = if v6 {
        (HOST6.into(), 64)
    } else {
        (HOST.into(), 24)
    };
    let mut env = SimEnv {
        hosts: vec![addr],
        networks: vec![(addr, len)],
        ..SimEnv::default()
    };
    for j in joins {
        env.host.parse_join(j).unwrap();
    }
    SimOptions {
        env,
        ..SimOptions::default()
    }
}

/// Each frame's kernel verdict and fwcheck's deciding rule (or stack reason), with nothing
/// differing; `uncertain`: how many of fwcheck's (equal) verdicts must be uncertain.
fn run(v6: bool, joins: &[&str], packets: Vec<Vec<u8>>, uncertain: usize) -> Vec<String> {
    let (name, rules) = if v6 {
        ("mc.rules.v6", RULES6)
    } else {
        ("mc.rules.v4", RULES4)
    };
    let family = if v6 { Family::V6 } else { Family::V4 };
    let loaded = load_str(
        name,
        rules,
        ParseOptions {
            family,
            ..ParseOptions::default()
        },
    );
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let n = packets.len();
    let cmp = compare(
        &loaded,
        decoded(packets),
        sim(v6, joins),
        Pacing::AsFastAsPossible,
    )
    .unwrap_or_else(|e| panic!("{joins:?}: {e}"));
    assert_eq!(cmp.mismatches, 0, "{joins:?}: {}", cmp.render(true));
    assert_eq!(cmp.compared, n, "{joins:?}: {}", cmp.render(true));
    let doubted = cmp.frames.iter().filter(|f| !f.fwcheck_certain).count();
    assert_eq!(doubted, uncertain, "{joins:?}: {:#?}", cmp.frames);
    kernel_and_rule(&cmp)
        .into_iter()
        .map(|(kernel, why)| {
            let why = why.split(" (line").next().unwrap_or_default();
            format!("{kernel} {why}")
        })
        .collect()
}

fn src4(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, 20 + i)
}

fn src6(i: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 0x20 + i)
}

/// SYNs from `src` to ports 1 and 2: did PREROUTING / INPUT see its multicast packet?
fn probes4(src: Ipv4Addr, id: u16) -> [Vec<u8>; 2] {
    [
        tcp4(src, HOST, 41000 + id, 1, 1000, 0, SYN, id),
        tcp4(src, HOST, 42000 + id, 2, 2000, 0, SYN, id + 1),
    ]
}

fn probes6(src: Ipv6Addr, id: u16) -> [Vec<u8>; 2] {
    [
        tcp6(src, HOST6, 41000 + id, 1, 1000, 0, SYN),
        tcp6(src, HOST6, 42000 + id, 2, 2000, 0, SYN),
    ]
}

fn udp6(src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16) -> Vec<u8> {
    let seg = udp_seg(src.into(), dst.into(), sport, dport, b"fwcheck");
    ipv6(src, dst, 17, &seg)
}

fn ip4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn ip6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

const NOT_JOINED: &str = "DROP stack: multicast group not joined on the input interface: the input route drops it after PREROUTING (ip_check_mc_rcu / ipv6_chk_mcast_addr)";

fn broadcasts_and_default_groups_reach_input() {
    let mut p = vec![
        // 1. mDNS, a group nobody joined: PREROUTING sees it (frame 2), INPUT does not (3).
        udp4(src4(1), ip4("224.0.0.251"), 5353, 5353, 1, b"q"),
    ];
    p.extend(probes4(src4(1), 2));
    p.extend([
        // 4. All-hosts, joined by every interface: INPUT accepts it and saw it (5).
        udp4(src4(2), ip4("224.0.0.1"), 5353, 5353, 4, b"q"),
        tcp4(src4(2), HOST, 42004, 2, 2000, 0, SYN, 5),
        // 6. All-hosts to a port nothing opens: the policy.
        udp4(src4(3), ip4("224.0.0.1"), 40000, 9999, 6, b"q"),
        // 7. The limited broadcast.
        udp4(src4(4), Ipv4Addr::BROADCAST, 68, 67, 7, b"q"),
        // 8. A DHCP DISCOVER: from 0.0.0.0 to the limited broadcast.
        udp4(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, 68, 67, 8, b"q"),
        // 9. The subnet's broadcast (addrtype BROADCAST) and 10. to another port.
        udp4(src4(5), ip4("192.0.2.255"), 138, 138, 9, b"q"),
        udp4(src4(5), ip4("192.0.2.255"), 139, 139, 10, b"q"),
    ]);
    let got = run(false, &["none"], p, 0);
    assert_eq!(
        got,
        [
            NOT_JOINED,
            "ACCEPT filter INPUT #1",
            "DROP filter INPUT policy DROP",
            "ACCEPT filter INPUT #4",
            "ACCEPT filter INPUT #2",
            "DROP filter INPUT policy DROP",
            "ACCEPT filter INPUT #5",
            "ACCEPT filter INPUT #5",
            "ACCEPT filter INPUT #6",
            "DROP filter INPUT policy DROP",
        ],
        "{got:#?}"
    );
}

fn joined_groups_reach_input() {
    let mut p = vec![
        // 1. mDNS joined on eth0: accepted, INPUT saw it (3).
        udp4(src4(6), ip4("224.0.0.251"), 5353, 5353, 1, b"q"),
    ];
    p.extend(probes4(src4(6), 2));
    // 4. A group joined on every interface, to a closed port: INPUT's policy, and INPUT saw it.
    p.push(udp4(src4(7), ip4("239.1.2.3"), 40000, 9999, 4, b"q"));
    p.extend(probes4(src4(7), 5));
    // 7. A group not joined: dropped by the input route after PREROUTING.
    p.push(udp4(src4(8), ip4("239.9.9.9"), 40000, 5353, 7, b"q"));
    p.extend(probes4(src4(8), 8));
    let got = run(false, &["eth0=224.0.0.251", "239.1.2.3"], p, 0);
    assert_eq!(
        got,
        [
            "ACCEPT filter INPUT #4",
            "ACCEPT filter INPUT #1",
            "ACCEPT filter INPUT #2",
            "DROP filter INPUT policy DROP",
            "ACCEPT filter INPUT #1",
            "ACCEPT filter INPUT #2",
            NOT_JOINED,
            "ACCEPT filter INPUT #1",
            "DROP filter INPUT policy DROP",
        ],
        "{got:#?}"
    );
}

fn unknown_membership_is_not_joined_and_uncertain() {
    // Without --join the host's groups are unknown: the kernel's namespace joined none, and
    // fwcheck says the same, uncertain.
    let p = vec![udp4(src4(9), ip4("224.0.0.251"), 5353, 5353, 1, b"q")];
    let got = run(false, &[], p, 1);
    assert_eq!(got, [NOT_JOINED], "{got:#?}");
}

fn ipv6_groups() {
    // The solicited-node group of HOST6 (2001:db8:a::a): ff02::1:ff00:a. The oracle's
    // interface is a tun device (NOARP, as the raw-IP frames say): it joins none, so the
    // kernel drops it; an Ethernet interface joins it (tests/multicast.rs).
    assert_eq!(HOST6, ip6("2001:db8:a::a"));
    let sn = ip6("ff02::1:ff00:a");
    let mut p = vec![
        // 1. All-nodes, joined by every interface.
        udp6(src6(1), ip6("ff02::1"), 5353, 5353),
        // 2. mDNS over IPv6, not joined: PREROUTING only.
        udp6(src6(2), ip6("ff02::fb"), 5353, 5353),
    ];
    p.extend(probes6(src6(2), 3));
    p.extend([
        // 5. The host address's solicited-node group, 6. another address's.
        udp6(src6(3), sn, 5353, 5353),
        udp6(src6(4), ip6("ff02::1:ff00:99"), 5353, 5353),
        // 7. A site-scope group joined with --join.
        udp6(src6(5), ip6("ff05::fb"), 5353, 5353),
    ]);
    let got = run(true, &["ff05::fb"], p, 0);
    assert_eq!(
        got,
        [
            "ACCEPT filter INPUT #4",
            NOT_JOINED,
            "ACCEPT filter INPUT #1",
            "DROP filter INPUT policy DROP",
            NOT_JOINED,
            NOT_JOINED,
            "ACCEPT filter INPUT #4",
        ],
        "{got:#?}"
    );
}

/// `ip` in a scratch namespace (its output; panics with stderr on failure).
fn ip_cmd(args: &[&str]) -> String {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .expect("ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The groups an interface joins by itself are the kernel's: in a scratch namespace, an
/// Ethernet interface (veth) with 192.0.2.10/24 and 2001:db8::10/64 and a tun device with the
/// same kind of addresses; their `ip -j addr` is fwcheck's host configuration, and every group
/// `ip -j maddr` lists is one fwcheck calls joined (ff01::1 aside: interface-local scope never
/// arrives from the network), while the solicited-node group of an address is joined on the veth
/// and not on the tun (NOARP).
fn default_groups_are_the_kernels() {
    let ns = format!("fwmc{}", std::process::id());
    ip_cmd(&["netns", "add", &ns]);
    struct Del(String);
    impl Drop for Del {
        fn drop(&mut self) {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", &self.0])
                .status();
        }
    }
    let _del = Del(ns.clone());
    let n = |args: &[&str]| {
        let mut v = vec!["-n", ns.as_str()];
        v.extend_from_slice(args);
        ip_cmd(&v)
    };
    n(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
    n(&["tuntap", "add", "dev", "t0", "mode", "tun"]);
    for (dev, a4, a6) in [
        ("v0", "192.0.2.10/24", "2001:db8::10/64"),
        ("t0", "198.51.100.10/24", "2001:db8:1::20/64"),
    ] {
        n(&["addr", "add", a4, "dev", dev]);
        n(&["addr", "add", a6, "dev", dev, "nodad"]);
        n(&["link", "set", dev, "up"]);
    }
    n(&["link", "set", "v1", "up"]);
    // addrconf joins asynchronously: wait for the veth's solicited-node group.
    let mut maddr = String::new();
    for _ in 0..50 {
        maddr = n(&["-j", "maddr", "show"]);
        if maddr.contains("ff02::1:ff00:10") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let addr = n(&["-j", "addr", "show"]);
    let mut h = fwcheck::host::HostConfig::default();
    h.load_json("addr.json", &addr).unwrap();
    assert_eq!(h.noarp, ["t0"], "{addr}");
    let listed: serde_json::Value = serde_json::from_str(&maddr).unwrap();
    let mut checked = 0;
    for dev in listed.as_array().unwrap() {
        let name = dev["ifname"].as_str().unwrap();
        if name != "v0" && name != "t0" {
            continue;
        }
        for g in dev["maddr"].as_array().unwrap() {
            let Some(a) = g["address"].as_str() else {
                continue;
            };
            let a: IpAddr = a.parse().unwrap();
            if a == ip6("ff01::1") {
                continue;
            }
            assert_eq!(
                h.joined(name, a, &[], false, false),
                fwcheck::host::Joined::Yes,
                "{name} joined {a} in the kernel:\n{maddr}"
            );
            checked += 1;
        }
    }
    assert!(maddr.contains("ff02::1:ff00:10"), "{maddr}");
    assert!(
        !maddr.contains("ff02::1:ff00:20"),
        "a tun joins no solicited-node group: {maddr}"
    );
    assert_eq!(
        h.joined("t0", ip6("ff02::1:ff00:20").into(), &[], false, false),
        fwcheck::host::Joined::Unknown
    );
    assert!(checked >= 5, "{maddr}");
}

kernel_tests!(
    default_groups_are_the_kernels,
    broadcasts_and_default_groups_reach_input,
    joined_groups_reach_input,
    unknown_membership_is_not_joined_and_uncertain,
    ipv6_groups
);
