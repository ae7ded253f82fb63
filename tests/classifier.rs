//! The rule classifier (`src/engine/classify.rs`) against the linear walk it replaces: on
//! random rulesets of long chains (addresses and masks, negations, interface names and
//! prefixes, protocols, ports, ranges and multiport lists behind pure and stateful matches,
//! jumps, RETURN, non-terminal targets) and random packets (TCP, UDP, ICMP, cut TCP headers, later fragments,
//! several interfaces), every outcome, every rule counter and every policy counter are the
//! same with the classifier off and with each of its index kinds (bitmaps, tuple-space search,
//! and the automatic choice between them).

mod common;
use common::*;

use fwcheck::engine::{ClassifierMode, Engine};
use fwcheck::packet::Packet;
use proptest::prelude::*;
use std::sync::Arc;

fn src() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        (1u8..6).prop_map(|h| format!(" -s 198.51.100.{h}/32")),
        Just(" -s 198.51.100.0/24".to_string()),
        Just(" -s 198.51.100.4/30".to_string()),
        Just(" ! -s 198.51.100.2/32".to_string()),
        Just(" -s 198.51.0.0/255.255.0.3".to_string()),
    ]
}

fn dst() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" -d 203.0.113.10/32".to_string()),
        Just(" -d 203.0.113.0/25".to_string()),
        Just(" ! -d 192.0.2.0/24".to_string()),
        Just(" -d 192.0.2.7/32".to_string()),
    ]
}

fn iface() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        3 => Just(""),
        1 => Just(" -i eth0"),
        1 => Just(" -i eth1"),
        1 => Just(" -i eth+"),
        1 => Just(" ! -i eth0"),
        1 => Just(" -i wlan0"),
    ]
}

fn pre() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        4 => Just(""),
        1 => Just(" -m conntrack --ctstate NEW"),
        1 => Just(" -m comment --comment x"),
        1 => Just(" -m limit --limit 5/sec --limit-burst 2"),
        1 => Just(" -m statistic --mode nth --every 3 --packet 0"),
    ]
}

fn port() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(22u16),
        Just(53),
        Just(80),
        Just(443),
        Just(1000),
        Just(1005),
        Just(40000),
        Just(65535)
    ]
}

fn l4() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("tcp"),
            Just("udp"),
            Just("icmp"),
            Just(""),
            Just("!tcp")
        ],
        0u8..7,
        port(),
        port(),
    )
        .prop_map(|(p, kind, a, b)| {
            let (lo, hi) = (a.min(b), a.max(b));
            match p {
                "" => String::new(),
                "!tcp" => " ! -p tcp".to_string(),
                "icmp" => match kind {
                    0 | 1 => " -p icmp -m icmp --icmp-type 8".to_string(),
                    _ => " -p icmp".to_string(),
                },
                p => match kind {
                    0 => format!(" -p {p} -m {p} --dport {a}"),
                    1 => format!(" -p {p} -m {p} --sport {lo}:{hi}"),
                    2 => format!(" -p {p} -m {p} --dport {lo}:{hi}"),
                    3 => format!(" -p {p} -m {p} ! --dport {a}"),
                    4 => format!(" -p {p} -m multiport --dports {a},{b}"),
                    5 => format!(" -p {p} -m {p} --sport {a} --dport {b}"),
                    _ => format!(" -p {p}"),
                },
            }
        })
}

fn action(user: bool) -> impl Strategy<Value = &'static str> {
    let jump = if user { " -j RETURN" } else { " -j u1" };
    prop_oneof![
        3 => Just(" -j DROP"),
        2 => Just(" -j ACCEPT"),
        1 => Just(" -j REJECT --reject-with icmp-port-unreachable"),
        1 => Just(jump),
        1 => Just(" -j LOG"),
        1 => Just(""),
    ]
}

fn chain_rules(
    chain: &'static str,
    user: bool,
    n: std::ops::Range<usize>,
) -> impl Strategy<Value = String> {
    proptest::collection::vec((src(), dst(), iface(), pre(), l4(), action(user)), n).prop_map(
        move |rs| {
            rs.into_iter()
                .map(|(a, b, i, m, p, j)| rule_line(chain, [&a, &b, i], m, &p, j))
                .collect()
        },
    )
}

fn ruleset() -> impl Strategy<Value = String> {
    ruleset_of(24..70)
}

fn ruleset_of(n: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("DROP"), Just("ACCEPT")],
        chain_rules("INPUT", false, n),
        chain_rules("u1", true, 24..40),
    )
        .prop_map(|(pol, i, u)| {
            format!(
                "*filter\n:INPUT {pol} [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:u1 - [0:0]\n{i}{u}COMMIT\n"
            )
        })
}

#[derive(Debug, Clone)]
struct Pk {
    kind: u8,
    src: u8,
    dst: u8,
    sport: u16,
    dport: u16,
    ifname: u8,
    frag: bool,
}

fn packets() -> impl Strategy<Value = Vec<Pk>> {
    proptest::collection::vec(
        (
            0u8..4,
            1u8..7,
            0u8..3,
            port(),
            port(),
            0u8..3,
            proptest::bool::weighted(0.08),
        )
            .prop_map(|(kind, src, dst, sport, dport, ifname, frag)| Pk {
                kind,
                src,
                dst,
                sport,
                dport,
                ifname,
                frag,
            }),
        60..140,
    )
}

fn packet(i: usize, p: &Pk) -> Packet {
    let src = format!("198.51.100.{}", p.src);
    let dst = ["203.0.113.10", "192.0.2.7", "203.0.113.200"][p.dst as usize];
    let (f, ms) = (i as u64 + 1, i as u64 * 7);
    let mut pkt = match p.kind {
        0 => tcp(f, ms, (&src, p.sport), (dst, p.dport), "S", 1000, 0, 0),
        1 => tcp(f, ms, (&src, p.sport), (dst, p.dport), "A", 1000, 1, 10),
        2 => udp(f, ms, (&src, p.sport), (dst, p.dport), 20),
        3 => icmp(f, ms, &src, dst, 8, 0, p.sport, None),
        _ => {
            // A TCP header cut short: no ports for the index (multiport reads what is there).
            let mut t = tcp(f, ms, (&src, p.sport), (dst, p.dport), "S", 1000, 0, 0);
            t.l4 = fwcheck::packet::L4::Truncated;
            t
        }
    };
    pkt.link.ifname = Some(Arc::from(["eth0", "eth1", "wlan0"][p.ifname as usize]));
    if p.frag {
        pkt.frag.offset = 3;
        pkt.frag.id = i as u32;
    }
    pkt
}

fn engine_for(l: &fwcheck::lint::Loaded, mode: ClassifierMode) -> Engine<'_> {
    let mut e = capture_engine(l, false);
    e.set_classifier_mode(mode);
    e
}

/// Outcomes and all counters, with the classifier in `mode`.
fn run(
    l: &fwcheck::lint::Loaded,
    pkts: &[Packet],
    mode: ClassifierMode,
) -> (Vec<String>, String, usize) {
    let mut e = engine_for(l, mode);
    let (outs, ctrs) = outcomes_and_counters(&mut e, l, pkts);
    (outs, ctrs, e.classifier_bytes())
}

/// Every index kind, each compared with the walk.
const INDEXED: [ClassifierMode; 3] = [
    ClassifierMode::Auto,
    ClassifierMode::Bitmaps,
    ClassifierMode::Tuples,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn classifier_equals_the_linear_walk(text in ruleset(), pk in packets()) {
        let l = fwcheck::lint::load_str("r.rules", &text, Default::default());
        prop_assume!(!l.has_errors());
        let pkts: Vec<Packet> = pk.iter().enumerate().map(|(i, p)| packet(i, p)).collect();
        let (b, cb, bytes) = run(&l, &pkts, ClassifierMode::Off);
        prop_assert_eq!(bytes, 0);
        for mode in INDEXED {
            let (a, ca, _) = run(&l, &pkts, mode);
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                prop_assert_eq!(x, y, "{:?}: packet {} of\n{}", mode, i + 1, text);
            }
            prop_assert_eq!(&ca, &cb, "{:?}: counters of\n{}", mode, text);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Long chains: blocks of words, and summary words past the first (4,096 rules each).
    #[test]
    fn classifier_equals_the_linear_walk_on_long_chains(
        base in ruleset_of(24..70),
        fill in 60usize..200,
        pk in packets(),
    ) {
        // The random rules spread over a chain of thousands: between two of them, `fill`
        // rules no test packet matches (10.0.0.0/8 sources, varied ports and protocols).
        let mut text = String::new();
        let mut k = 0u32;
        for line in base.lines() {
            if line.starts_with("-A INPUT") {
                for _ in 0..fill {
                    let p = ["tcp", "udp"][(k % 2) as usize];
                    text.push_str(&format!(
                        "-A INPUT -s 10.{}.{}.{}/32 -p {p} -m {p} --dport {} -j DROP\n",
                        k >> 16, (k >> 8) & 255, k & 255, k % 60000
                    ));
                    k += 1;
                }
            }
            text.push_str(line);
            text.push('\n');
        }
        let l = fwcheck::lint::load_str("r.rules", &text, Default::default());
        prop_assume!(!l.has_errors());
        let pkts: Vec<Packet> = pk.iter().enumerate().map(|(i, p)| packet(i, p)).collect();
        let (b, cb, _) = run(&l, &pkts, ClassifierMode::Off);
        for mode in INDEXED {
            let (a, ca, _) = run(&l, &pkts, mode);
            prop_assert!(a == b, "{:?}: outcomes differ", mode);
            prop_assert!(ca == cb, "{:?}: counters differ", mode);
        }
    }
}

/// The comparison above is not vacuous: on such a ruleset the classifier builds an index, and
/// on a blocklist it finds the one rule that matches among thousands.
#[test]
fn the_classifier_engages() {
    let mut text =
        String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for i in 0..5000u32 {
        text.push_str(&format!(
            "-A INPUT -s 10.{}.{}.{}/32 -j DROP\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ));
    }
    text.push_str("-A INPUT -s 198.51.100.3/32 -p udp -m udp --dport 53 -j DROP\nCOMMIT\n");
    let l = rules(&text);
    // Enough packets for the automatic choice to build its index (after 128 walks).
    let pkts: Vec<Packet> = (0..400u16)
        .map(|i| {
            udp(
                i as u64 + 1,
                i as u64,
                ("198.51.100.3", 1000 + i),
                (HOST, 50 + i % 5),
                10,
            )
        })
        .collect();
    let (b, cb, _) = run(&l, &pkts, ClassifierMode::Off);
    assert_eq!(
        b.iter()
            .filter(|o| o.contains("verdict: Some(Drop)"))
            .count(),
        80
    );
    for mode in INDEXED {
        let (a, ca, bytes) = run(&l, &pkts, mode);
        assert!(bytes > 0, "{mode:?}: no index was built");
        assert_eq!(a, b, "{mode:?}");
        assert_eq!(ca, cb, "{mode:?}");
    }
}

/// `Engine::reload` (what `steps` and `--reload-at` use) drops the old rules' indexes and keeps
/// the index kind: before and after a reload, each kind equals the walk.
#[test]
fn reload_rebuilds_the_indexes() {
    let chain = |drop_from: u32| {
        let mut t = String::from(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n",
        );
        for i in 0..200u32 {
            t.push_str(&format!(
                "-A INPUT -s 198.51.100.{}/32 -p udp -m udp --dport {} -j DROP\n",
                (i + drop_from) % 250 + 1,
                50 + i % 5
            ));
        }
        t.push_str("COMMIT\n");
        rules(&t)
    };
    let (before, after) = (chain(0), chain(100));
    let pkts: Vec<Packet> = (0..600u16)
        .map(|i| {
            let src = format!("198.51.100.{}", i % 250 + 1);
            udp(
                i as u64 + 1,
                i as u64,
                (&src, 1000 + i),
                (HOST, 50 + i % 5),
                10,
            )
        })
        .collect();
    let run = |mode: ClassifierMode| {
        let mut e = engine_for(&before, mode);
        let mut outs: Vec<String> = pkts[..300]
            .iter()
            .map(|p| format!("{:?}", e.process(p)))
            .collect();
        e.reload(&after.ruleset);
        outs.extend(pkts[300..].iter().map(|p| format!("{:?}", e.process(p))));
        (outs, e.classifier_bytes())
    };
    let (walk, _) = run(ClassifierMode::Off);
    for mode in INDEXED {
        let (outs, bytes) = run(mode);
        assert_eq!(outs, walk, "{mode:?}");
        assert!(bytes > 0, "{mode:?}: the new rules were indexed");
    }
}
