//! A broader ruleset fuzz suite than `proptest_ruleset.rs`: random rulesets over all five
//! tables and their built-in chains, user chains with jumps, gotos and RETURN, and the stateful
//! and rewriting units real rulesets use (conntrack, recent, limit, hashlimit, connlimit,
//! multiport, iprange, addrtype, mark/connmark, length, ttl, string, tcpmss; DNAT, SNAT,
//! MASQUERADE, REDIRECT, MARK, CONNMARK, CT, NOTRACK, REJECT, LOG, TTL, TCPMSS). For every one:
//! - it loads without errors, and `fmt` is a fixed point (formatting the formatted text gives
//!   it back);
//! - the chain graph and lint never panic;
//! - a replay of random packets (TCP, UDP, ICMP, in, out and forwarded) never panics, is
//!   deterministic (the same packets through a fresh engine give the same outcomes and
//!   counters), and every verdict that is not certain says why.

mod common;
use common::*;

use fwcheck::engine::{Engine, SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::packet::Packet;
use fwcheck::ruleset::printer::{print_ruleset, PrintOptions};
use fwcheck::ruleset::ParseOptions;
use proptest::prelude::*;

fn neg() -> impl Strategy<Value = &'static str> {
    prop_oneof![3 => Just(""), 1 => Just("! ")]
}

/// Conditions any table takes.
fn condition() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        (neg(), 1u8..8).prop_map(|(n, h)| format!("{n}-s 198.51.100.{h}/32")),
        (neg(), 0u8..3).prop_map(|(n, d)| format!(
            "{n}-d {}",
            ["203.0.113.10/32", "192.0.2.0/24", "172.17.0.2/32"][d as usize]
        )),
        (neg(), 1u16..1024).prop_map(|(n, p)| format!("-p tcp -m tcp {n}--dport {p}")),
        (1u16..1024, 1024u16..=65535).prop_map(|(a, b)| format!("-p udp -m udp --sport {a}:{b}")),
        Just("-p tcp -m tcp --tcp-flags SYN,RST,ACK SYN".to_string()),
        Just("-p icmp -m icmp --icmp-type 8".to_string()),
        Just("-p tcp -m multiport --dports 22,80,443:445".to_string()),
        Just("-m iprange --src-range 198.51.100.1-198.51.100.4".to_string()),
        prop_oneof![Just("LOCAL"), Just("BROADCAST"), Just("UNICAST")]
            .prop_map(|t| format!("-m addrtype --dst-type {t}")),
        prop_oneof![
            Just("NEW"),
            Just("ESTABLISHED,RELATED"),
            Just("INVALID"),
            Just("DNAT"),
            Just("UNTRACKED")
        ]
        .prop_map(|s| format!("-m conntrack --ctstate {s}")),
        Just("-m conntrack --ctstatus ASSURED".to_string()),
        (0u32..4).prop_map(|m| format!("-m mark --mark 0x{m:x}/0xf")),
        (0u32..4).prop_map(|m| format!("-m connmark --mark 0x{m:x}")),
        (0u16..200, 200u16..1500).prop_map(|(a, b)| format!("-m length --length {a}:{b}")),
        (1u8..128).prop_map(|t| format!("-m ttl --ttl-lt {t}")),
        Just("-m limit --limit 5/sec --limit-burst 3".to_string()),
        Just(
            "-m hashlimit --hashlimit-upto 10/sec --hashlimit-burst 2 --hashlimit-mode srcip \
             --hashlimit-name fz"
                .to_string()
        ),
        Just("-m recent --set --name fz --rsource".to_string()),
        Just("-m recent --rcheck --seconds 60 --hitcount 2 --name fz --rsource".to_string()),
        Just(
            "-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr"
                .to_string()
        ),
        Just("-m string --string \"GET\" --algo bm".to_string()),
        Just("-p tcp -m tcp --tcp-flags SYN,RST SYN -m tcpmss --mss 1:500".to_string()),
        Just("-m comment --comment \"fz\"".to_string()),
    ]
}

/// Targets every table takes.
fn common_target(user: bool) -> impl Strategy<Value = String> {
    let jump = if user { "-j FZ1" } else { "-j RETURN" };
    prop_oneof![
        Just(String::new()),
        Just(jump.to_string()),
        Just("-g FZ2".to_string()),
        Just("-j RETURN".to_string()),
        Just("-j LOG --log-prefix \"fz \"".to_string()),
        Just("-j ACCEPT".to_string()),
    ]
}

fn table_target(table: &'static str, chain: &'static str) -> BoxedStrategy<String> {
    let specific: BoxedStrategy<String> = match (table, chain) {
        ("filter", _) => prop_oneof![
            Just("-j DROP".to_string()),
            Just("-p tcp -j REJECT --reject-with tcp-reset".to_string()),
            Just("-j REJECT --reject-with icmp-port-unreachable".to_string()),
        ]
        .boxed(),
        ("nat", "PREROUTING") => prop_oneof![
            Just("-p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80".to_string()),
            Just("-p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 22".to_string()),
        ]
        .boxed(),
        ("nat", "OUTPUT") => {
            Just("-p udp -m udp --dport 53 -j DNAT --to-destination 192.0.2.53".to_string()).boxed()
        }
        ("nat", "POSTROUTING") => prop_oneof![
            Just("-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE".to_string()),
            Just("-o eth0 -j SNAT --to-source 203.0.113.10".to_string()),
        ]
        .boxed(),
        ("nat", _) => Just("-j RETURN".to_string()).boxed(),
        ("mangle", _) => prop_oneof![
            (0u32..4).prop_map(|m| format!("-j MARK --set-xmark 0x{m:x}/0xf")),
            Just("-j CONNMARK --save-mark".to_string()),
            Just("-j TTL --ttl-set 64".to_string()),
            Just("-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400".to_string()),
            Just("-j DROP".to_string()),
        ]
        .boxed(),
        ("raw", _) => prop_oneof![
            Just("-j NOTRACK".to_string()),
            Just("-p tcp -m tcp --dport 21 -j CT --helper ftp".to_string()),
            Just("-j CT --zone 1".to_string()),
            Just("-j DROP".to_string()),
        ]
        .boxed(),
        _ => Just("-j ACCEPT".to_string()).boxed(),
    };
    specific
}

/// The built-in chains of each table (as iptables-save lists them).
const TABLES: [(&str, &[&str]); 5] = [
    ("raw", &["PREROUTING", "OUTPUT"]),
    (
        "mangle",
        &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
    ),
    ("nat", &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]),
    ("filter", &["INPUT", "FORWARD", "OUTPUT"]),
    ("security", &["INPUT", "FORWARD", "OUTPUT"]),
];

fn rule(table: &'static str, chain: &'static str, user: bool) -> BoxedStrategy<String> {
    (
        condition(),
        condition(),
        prop_oneof![
            2 => common_target(user).boxed(),
            1 => table_target(table, chain),
        ],
    )
        .prop_map(|(a, b, t)| {
            // `-s`, `-d`, `-p`, `-i`, `-o` at most once per rule: a target's own header
            // options (its protocol, its `-o`) win, then the first condition.
            let keys = |s: &str| -> Vec<&'static str> {
                let w: Vec<&str> = s.split_whitespace().collect();
                ["-s", "-d", "-p", "-i", "-o"]
                    .into_iter()
                    .filter(|k| w.contains(k))
                    .collect()
            };
            let mut taken = keys(&t);
            let mut parts: Vec<String> = Vec::new();
            for c in [a, b] {
                let k = keys(&c);
                if k.iter().any(|k| taken.contains(k)) {
                    continue;
                }
                taken.extend(k);
                parts.push(c);
            }
            parts.push(t);
            parts.retain(|p| !p.is_empty());
            parts.join(" ")
        })
        .boxed()
}

/// Rules for each chain of each table (a few tables may be left out), with two user chains per
/// table: FZ1 (jumped to) and FZ2 (gone to).
fn ruleset() -> impl Strategy<Value = String> {
    let mut per_table = Vec::new();
    for (table, chains) in TABLES {
        let mut per_chain: Vec<BoxedStrategy<(String, Vec<String>)>> = Vec::new();
        for &c in chains.iter().chain(["FZ1", "FZ2"].iter()) {
            let user = !chains.contains(&c);
            let n = if user { 0..4 } else { 0..6 };
            per_chain.push(
                proptest::collection::vec(rule(table, c, !user), n)
                    .prop_map(move |rules| (c.to_string(), rules))
                    .boxed(),
            );
        }
        per_table.push(
            (proptest::bool::weighted(0.8), per_chain)
                .prop_map(move |(present, chains)| (table, present, chains)),
        );
    }
    (per_table, proptest::bool::ANY).prop_map(|(tables, drop_policy)| {
        let mut s = String::new();
        for (table, present, chains) in tables {
            if !present && table != "filter" {
                continue;
            }
            s.push_str(&format!("*{table}\n"));
            for (c, _) in &chains {
                let policy = if c.starts_with("FZ") {
                    "-"
                } else if drop_policy && table == "filter" && c == "INPUT" {
                    "DROP"
                } else {
                    "ACCEPT"
                };
                s.push_str(&format!(":{c} {policy} [0:0]\n"));
            }
            for (c, rules) in &chains {
                for r in rules {
                    // User chains do not jump to themselves.
                    if c.starts_with("FZ") && (r.contains("FZ1") || r.contains("FZ2")) {
                        continue;
                    }
                    s.push_str(&format!("-A {c} {r}\n"));
                }
            }
            s.push_str("COMMIT\n");
        }
        s
    })
}

#[derive(Debug, Clone)]
struct Pk {
    kind: u8,
    src: u8,
    dst: u8,
    sport: u16,
    dport: u16,
}

fn packets() -> impl Strategy<Value = Vec<Pk>> {
    proptest::collection::vec(
        (
            0u8..5,
            0u8..6,
            0u8..4,
            prop_oneof![Just(22u16), Just(80), Just(8080), Just(53), 1u16..65535],
            prop_oneof![
                Just(22u16),
                Just(80),
                Just(8080),
                Just(53),
                Just(2222),
                1u16..65535
            ],
        )
            .prop_map(|(kind, src, dst, sport, dport)| Pk {
                kind,
                src,
                dst,
                sport,
                dport,
            }),
        1..60,
    )
}

const ADDRS: [&str; 6] = [
    "198.51.100.1",
    "198.51.100.2",
    "198.51.100.7",
    "203.0.113.10",
    "172.17.0.2",
    "192.0.2.255",
];

fn packet(i: usize, p: &Pk) -> Packet {
    let src = ADDRS[p.src as usize];
    let dst = ADDRS[(p.dst as usize + 2) % ADDRS.len()];
    let (f, ms) = (i as u64 + 1, i as u64 * 3);
    match p.kind {
        0 => tcp(f, ms, (src, p.sport), (dst, p.dport), "S", 1000, 0, 0),
        1 => tcp(f, ms, (dst, p.dport), (src, p.sport), "SA", 5000, 1001, 0),
        2 => tcp(f, ms, (src, p.sport), (dst, p.dport), "A", 1001, 5001, 12),
        3 => udp(f, ms, (src, p.sport), (dst, p.dport), 30),
        _ => icmp(f, ms, src, dst, 8, 0, p.sport, None),
    }
}

fn engine(l: &fwcheck::lint::Loaded, router: bool) -> Engine<'_> {
    Engine::new(
        &l.ruleset,
        SimOptions {
            env: SimEnv {
                hosts: vec![ip("203.0.113.10")],
                networks: vec![(ip("192.0.2.10"), 24)],
                ..SimEnv::default()
            },
            router,
            ..SimOptions::default()
        },
    )
}

/// Every outcome and every counter of a replay of `pkts`.
fn replay(l: &fwcheck::lint::Loaded, pkts: &[Packet], router: bool) -> Vec<String> {
    let mut e = engine(l, router);
    let mut out: Vec<String> = pkts
        .iter()
        .map(|p| {
            let o = e.process(p);
            assert!(
                o.certain || o.reason.is_some() || o.verdict.is_none(),
                "frame {}: uncertain without a reason: {o:?}",
                p.frame
            );
            format!("{o:?}")
        })
        .collect();
    for (ti, t) in l.ruleset.tables.iter().enumerate() {
        for (ci, c) in t.chains.iter().enumerate() {
            out.push(format!("{}:{:?}", c.name, e.policy_counters(ti, ci)));
            for ri in 0..c.rules.len() {
                out.push(format!("{:?}", e.rule_counters(ti, ci, ri)));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_table_loads_formats_and_replays(text in ruleset(), pk in packets(), router in any::<bool>()) {
        let l = load_str("fz.rules", &text, ParseOptions::default());
        prop_assert!(!l.has_errors(), "{}\n{}", text, l.render_diagnostics(false));
        let once = print_ruleset(&l.ruleset, PrintOptions::default());
        let l2 = load_str("once.rules", &once, ParseOptions::default());
        prop_assert!(!l2.has_errors(), "{}\n{}", once, l2.render_diagnostics(false));
        prop_assert_eq!(&once, &print_ruleset(&l2.ruleset, PrintOptions::default()));
        let _ = fwcheck::lint::report(&l);
        let pkts: Vec<Packet> = pk.iter().enumerate().map(|(i, p)| packet(i, p)).collect();
        let a = replay(&l, &pkts, router);
        let b = replay(&l, &pkts, router);
        prop_assert_eq!(a, b);
    }
}
