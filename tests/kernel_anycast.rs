//! The subnet-router anycast addresses an IPv6 router answers (`SimEnv::is_subnet_router_anycast`)
//! against the kernel's local table: a scratch namespace with forwarding on, a veth pair with
//! a /64, a /127 and the link-local addresses, and `ip -6 route show table local` listing the
//! `anycast` routes `addrconf_join_anycast` added. The kernel joins each prefix shorter than
//! /127, the link-local one (`fe80::`) included, and none for a /127 (RFC 6164).
#[macro_use]
mod kernel_harness;

use std::net::IpAddr;
use std::process::Command;

use fwcheck::engine::SimEnv;

fn ip(ns: &str, args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["-n", ns])
        .args(args)
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn the_kernels_anycast_routes_are_fwchecks() {
    let ns = format!("fwck-any-{}", std::process::id());
    let st = Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .unwrap();
    assert!(st.success());
    let run = || {
        ip(
            &ns,
            &["link", "add", "d0", "type", "veth", "peer", "name", "d1"],
        );
        let sysctl = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.forwarding=1",
            ])
            .status()
            .unwrap();
        assert!(sysctl.success());
        ip(&ns, &["link", "set", "d0", "up"]);
        ip(&ns, &["link", "set", "d1", "up"]);
        ip(
            &ns,
            &["addr", "add", "2001:db8:1::1/64", "dev", "d0", "nodad"],
        );
        ip(
            &ns,
            &["addr", "add", "2001:db8:2::7/127", "dev", "d0", "nodad"],
        );
        ip(
            &ns,
            &["addr", "add", "2001:db8:3::9/48", "dev", "d1", "nodad"],
        );
        // Link-local addresses come with the link, after duplicate address detection: wait for
        // their anycast routes and the two global prefixes'.
        let mut local = String::new();
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            local = ip(&ns, &["-6", "route", "show", "table", "local"]);
            if local.matches("anycast ").count() >= 4 {
                break;
            }
        }
        let kernel: std::collections::BTreeSet<IpAddr> = local
            .lines()
            .filter_map(|l| l.strip_prefix("anycast "))
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect();
        let mut env = SimEnv::default();
        let addrs = ip(&ns, &["-6", "-o", "addr", "show"]);
        for l in addrs.lines() {
            let cidr = l
                .split_whitespace()
                .skip_while(|w| *w != "inet6")
                .nth(1)
                .unwrap();
            let (a, len) = cidr.split_once('/').unwrap();
            env.networks
                .push((a.parse().unwrap(), len.parse().unwrap()));
        }
        let mut candidates: Vec<IpAddr> = kernel.iter().copied().collect();
        candidates.extend(
            [
                "2001:db8:2::6",
                "2001:db8:1::1",
                "2001:db8:3::",
                "2001:db8:1::",
                "fe80::",
            ]
            .map(|a| a.parse::<IpAddr>().unwrap()),
        );
        for a in candidates {
            assert_eq!(
                env.is_subnet_router_anycast(a),
                kernel.contains(&a),
                "{a}: the kernel's local table:\n{local}"
            );
        }
        assert!(
            kernel.contains(&"2001:db8:3::".parse::<IpAddr>().unwrap()),
            "{local}"
        );
    };
    let res = std::panic::catch_unwind(run);
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    if let Err(e) = res {
        std::panic::resume_unwind(e);
    }
}

kernel_tests!(the_kernels_anycast_routes_are_fwchecks);
