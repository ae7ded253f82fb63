//! `-m set` and `-j SET` with the host's ipsets (`--ipset FILE`, `ipset save` output), against
//! the kernel: the same file is restored with `ipset restore` in the oracle's namespace. Covers
//! hash:net with a more specific `nomatch` element (and `--return-nomatch`), hash:ip,port with
//! protocols, bitmap:port (any of TCP/UDP), hash:net,iface (the input interface), list:set, `!`,
//! and `-j SET --add-set` feeding a later match. Every verdict must be the kernel's, certain.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::Ipv4Addr;

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::ext::ipset::IpSets;
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const SETS: &str = "create blocklist hash:net family inet hashsize 1024 maxelem 65536\n\
add blocklist 198.51.100.0/24\n\
add blocklist 198.51.100.128/25 nomatch\n\
create svc hash:ip,port family inet hashsize 1024 maxelem 65536\n\
add svc 192.0.2.10,tcp:22\n\
add svc 192.0.2.10,udp:53\n\
create ports bitmap:port range 0-1024\n\
add ports 80\n\
create ifnet hash:net,iface family inet hashsize 1024 maxelem 65536\n\
add ifnet 203.0.113.0/24,eth0\n\
create all list:set size 8\n\
add all blocklist\n\
create seen hash:ip family inet hashsize 1024 maxelem 65536 timeout 600\n";

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m set --match-set blocklist src -j DROP\n\
-A INPUT -m set --match-set blocklist src --return-nomatch -j ACCEPT\n\
-A INPUT -m set --match-set svc dst,dst -j ACCEPT\n\
-A INPUT -m set --match-set ports dst -j ACCEPT\n\
-A INPUT -m set --match-set ifnet src,src -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 9999 -m set ! --match-set all src -j SET --add-set seen src\n\
-A INPUT -p udp -m udp --dport 9998 -m set --match-set seen src -j ACCEPT\n\
COMMIT\n";

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn sets_decide_as_in_the_kernel() {
    let h = HOST;
    let other = ip("192.0.2.99");
    let cases: &[(Vec<u8>, &str, &str)] = &[
        (
            tcp4(ip("198.51.100.7"), h, 40000, 22, 1, 0, SYN, 1),
            "DROP",
            "in the /24",
        ),
        (
            tcp4(ip("198.51.100.200"), h, 40000, 1234, 1, 0, SYN, 2),
            "ACCEPT",
            "the more specific /25 is nomatch: --return-nomatch says yes",
        ),
        (
            tcp4(other, h, 40000, 22, 1, 0, SYN, 3),
            "ACCEPT",
            "tcp:22 in svc",
        ),
        (
            udp4(other, h, 40000, 22, 4, b"x"),
            "DROP",
            "udp:22 not in svc",
        ),
        (
            tcp4(other, h, 40000, 80, 1, 0, SYN, 5),
            "ACCEPT",
            "port 80 in bitmap:port",
        ),
        (
            udp4(other, h, 40000, 80, 6, b"x"),
            "ACCEPT",
            "bitmap:port takes UDP too",
        ),
        (
            tcp4(ip("203.0.113.5"), h, 40000, 5555, 1, 0, SYN, 7),
            "ACCEPT",
            "203.0.113.0/24 on eth0",
        ),
        (udp4(other, h, 40000, 9998, 8, b"x"), "DROP", "not seen yet"),
        (
            udp4(other, h, 40000, 9999, 9, b"x"),
            "DROP",
            "SET adds the source",
        ),
        (udp4(other, h, 40000, 9998, 10, b"x"), "ACCEPT", "now seen"),
    ];
    let loaded = load_str("ipset.rules", RULES, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: host(),
            ipsets: Some(std::sync::Arc::new(IpSets::parse(SETS).expect("sets"))),
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let frames: Vec<&Vec<u8>> = cases.iter().map(|c| &c.0).collect();
    let cmp = compare(&loaded, decoded(frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    for (f, (_, want, what)) in cmp.frames.iter().zip(cases) {
        assert!(f.fwcheck_certain, "{what}: {}", f.line());
        assert_eq!(f.kernel, Some(*want), "{what}: {}", f.line());
    }
}

/// IPv6 sets, and element timeouts counted from the start: an element with `timeout 2` matches
/// at 0.5 s and not at 3 s (replayed in real time).
fn ipv6_and_timeouts() {
    let sets = "create bad6 hash:net family inet6 hashsize 1024 maxelem 65536 timeout 0\n\
add bad6 2001:db8:c::/48 timeout 2\n\
add bad6 2001:db8:d::/48\n";
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m set --match-set bad6 src -j DROP\nCOMMIT\n";
    let d: std::net::Ipv6Addr = "2001:db8:d::7".parse().unwrap();
    let frames = [
        (500_000_000u64, tcp6(CLIENT6, HOST6, 40000, 22, 1, 0, SYN)),
        (600_000_000, tcp6(d, HOST6, 40001, 22, 1, 0, SYN)),
        (3_000_000_000, tcp6(CLIENT6, HOST6, 40002, 22, 1, 0, SYN)),
        (3_100_000_000, tcp6(d, HOST6, 40003, 22, 1, 0, SYN)),
    ];
    let mut packets = decoded(frames.iter().map(|f| &f.1));
    for (p, (t, _)) in packets.iter_mut().zip(&frames) {
        if let Ok(p) = p {
            p.ts = fwcheck::packet::Timestamp(*t);
        }
    }
    let opts = ParseOptions {
        family: fwcheck::ruleset::Family::V6,
        ..ParseOptions::default()
    };
    let loaded = load_str("ipset6.rules", rules, opts);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: host6(),
            ipsets: Some(std::sync::Arc::new(IpSets::parse(sets).expect("sets"))),
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, packets, sim, Pacing::Realtime { speed: 1.0 }).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<&str> = cmp.frames.iter().map(|f| f.kernel.unwrap_or("-")).collect();
    assert_eq!(
        kernel,
        ["DROP", "DROP", "ACCEPT", "DROP"],
        "{}",
        cmp.render(false)
    );
    for f in &cmp.frames {
        assert!(f.fwcheck_certain, "{}", f.line());
    }
}

/// A rule naming a set the host does not have: iptables-restore refuses the ruleset ("Set x
/// doesn't exist"), for `-m set` and `-j SET` alike, so fwcheck refuses it too when
/// `--ipset FILE` says what the host has, naming the rule.
fn a_set_the_host_lacks_is_refused() {
    let sets = IpSets::parse("create here hash:ip family inet hashsize 1024 maxelem 65536\n")
        .expect("sets");
    for (rule, line) in [
        ("-A INPUT -m set --match-set missing src -j DROP", 4),
        ("-A INPUT -j SET --add-set missing src", 4),
    ] {
        let rules = format!(
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set here src -j ACCEPT\n\
             {rule}\nCOMMIT\n"
        );
        let on_host = |sets: &IpSets| ParseOptions {
            ipsets: Some(std::sync::Arc::new(sets.clone())),
            ..ParseOptions::default()
        };
        let refused = load_str("missing-set.rules", &rules, on_host(&sets));
        let errors: Vec<String> = refused
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                let l = d.locate(&refused.ruleset.source);
                format!("{} {}:{} {}", l.code, l.file, l.line, l.message)
            })
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with(&format!("E114 missing-set.rules:{line} set `missing`")),
            "{errors:?}"
        );
        // Without --ipset the sets are unknown: the rule loads (and the kernel is asked).
        let loaded = load_str("missing-set.rules", &rules, ParseOptions::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let sim = SimOptions {
            env: SimEnv {
                hosts: host(),
                ipsets: Some(std::sync::Arc::new(sets.clone())),
                ..SimEnv::default()
            },
            ..SimOptions::default()
        };
        let frames = [udp4(ip("198.51.100.7"), HOST, 40000, 53, 1, b"x")];
        let theirs = compare(&loaded, decoded(&frames), sim, Pacing::AsFastAsPossible);
        let why = match theirs {
            Ok(_) => panic!("the kernel loaded `{rule}` without the set"),
            Err(e) => e.to_string(),
        };
        assert!(why.contains("doesn't exist"), "{why}");
        // With the set, both load it.
        let with = IpSets::parse(
            "create here hash:ip family inet hashsize 1024 maxelem 65536\n\
             create missing hash:ip family inet hashsize 1024 maxelem 65536\n",
        )
        .expect("sets");
        let accepted = load_str("missing-set.rules", &rules, on_host(&with));
        assert!(!accepted.has_errors(), "{:?}", accepted.diagnostics);
    }
}

kernel_tests!(
    sets_decide_as_in_the_kernel,
    ipv6_and_timeouts,
    a_set_the_host_lacks_is_refused
);
