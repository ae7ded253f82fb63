//! The walk memo (`src/engine/memo.rs`) against the walk it short-cuts: on random rulesets
//! (address masks, prefixes and non-prefix masks, negations, interface names and prefixes,
//! ports, ranges, TCP flags, `--syn`, multiport, connection states with the SNAT/DNAT virtual
//! states and `--ctdir`, comments, `limit`, `length`, `connmark`, LOG, REJECT, CONNMARK, jumps,
//! gotos, RETURN, a nat table that redirects) and random conversations (TCP handshakes, data, closes and resets
//! both ways, UDP exchanges, flows picked up in their middle, several interfaces), every
//! outcome, every rule counter and every policy counter are the same with the memo on and off.

mod common;
use common::*;

use fwcheck::engine::Engine;
use fwcheck::packet::Packet;
use proptest::prelude::*;
use std::sync::Arc;

fn addr(flag: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just(String::new()),
        1 => (1u8..6).prop_map(move |h| format!(" {flag} 198.51.100.{h}/32")),
        1 => Just(format!(" {flag} 198.51.100.0/24")),
        1 => Just(format!(" {flag} 198.51.100.4/30")),
        1 => Just(format!(" ! {flag} 198.51.100.2/32")),
        1 => Just(format!(" {flag} 192.0.2.0/24")),
        1 => Just(format!(" {flag} 203.0.113.10/32")),
        1 => Just(format!(" {flag} 198.51.0.0/255.255.0.3")),
    ]
}

fn iface(flag: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just(String::new()),
        1 => Just(format!(" {flag} eth0")),
        1 => Just(format!(" {flag} eth1")),
        1 => Just(format!(" {flag} eth+")),
        1 => Just(format!(" ! {flag} eth0")),
        1 => Just(format!(" {flag} lo")),
    ]
}

fn pre() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        6 => Just(""),
        2 => Just(" -m conntrack --ctstate ESTABLISHED"),
        1 => Just(" -m conntrack --ctstate RELATED,ESTABLISHED"),
        1 => Just(" -m conntrack --ctstate NEW"),
        1 => Just(" -m conntrack --ctstate INVALID"),
        1 => Just(" -m conntrack --ctstate DNAT"),
        1 => Just(" -m conntrack ! --ctstate SNAT"),
        1 => Just(" -m state --state ESTABLISHED"),
        1 => Just(" -m conntrack --ctstate ESTABLISHED --ctdir REPLY"),
        1 => Just(" -m comment --comment x"),
        1 => Just(" -m limit --limit 5/sec --limit-burst 2"),
        1 => Just(" -m length --length 0:120"),
        1 => Just(" -m connmark --mark 1"),
    ]
}

fn port() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(22u16),
        Just(53),
        Just(80),
        Just(443),
        Just(8080),
        Just(1024),
        Just(40000),
        Just(65535)
    ]
}

fn l4() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("tcp"), Just("udp"), Just(""), Just("!tcp")],
        0u8..10,
        port(),
        port(),
    )
        .prop_map(|(p, kind, a, b)| {
            let (lo, hi) = (a.min(b), a.max(b));
            match p {
                "" => String::new(),
                "!tcp" => " ! -p tcp".to_string(),
                p => match (p, kind) {
                    (_, 0) => format!(" -p {p} -m {p} --dport {a}"),
                    (_, 1) => format!(" -p {p} -m {p} --sport {lo}:{hi}"),
                    (_, 2) => format!(" -p {p} -m {p} --dport {lo}:{hi}"),
                    (_, 3) => format!(" -p {p} -m {p} ! --sport {a}"),
                    (_, 4) => format!(" -p {p} -m multiport --ports {a},{b}"),
                    (_, 5) => format!(" -p {p} -m {p} --sport {a} --dport {b}"),
                    ("tcp", 6) => " -p tcp -m tcp --syn".to_string(),
                    ("tcp", 7) => " -p tcp -m tcp --tcp-flags SYN,ACK,FIN ACK".to_string(),
                    ("tcp", 8) => " -p tcp -m tcp ! --tcp-flags RST RST --dport 80".to_string(),
                    _ => format!(" -p {p}"),
                },
            }
        })
}

fn action(user: bool) -> impl Strategy<Value = &'static str> {
    let (jump, goto) = if user {
        (" -j RETURN", " -j RETURN")
    } else {
        (" -j u1", " -g u1")
    };
    prop_oneof![
        3 => Just(" -j ACCEPT"),
        2 => Just(" -j DROP"),
        1 => Just(" -j REJECT"),
        1 => Just(jump),
        1 => Just(goto),
        1 => Just(" -j LOG"),
        1 => Just(" -j CONNMARK --set-mark 1"),
        1 => Just(""),
    ]
}

fn chain_rules(
    chain: &'static str,
    dev: Option<&'static str>,
    user: bool,
    n: std::ops::Range<usize>,
) -> impl Strategy<Value = String> {
    let ifaces = match dev {
        Some(flag) => iface(flag).boxed(),
        None => Just(String::new()).boxed(),
    };
    proptest::collection::vec(
        (addr("-s"), addr("-d"), ifaces, pre(), l4(), action(user)),
        n,
    )
    .prop_map(move |rs| {
        rs.into_iter()
            .map(|(a, b, i, m, p, j)| rule_line(chain, [&a, &b, &i], m, &p, j))
            .collect()
    })
}

fn ruleset() -> impl Strategy<Value = String> {
    (
        prop_oneof![1 => Just("DROP"), 2 => Just("ACCEPT")],
        prop_oneof![1 => Just("DROP"), 2 => Just("ACCEPT")],
        any::<bool>(),
        any::<bool>(),
        chain_rules("INPUT", Some("-i"), false, 1..14),
        chain_rules("OUTPUT", Some("-o"), false, 1..10),
        chain_rules("u1", None, true, 0..8),
    )
        .prop_map(|(pin, pout, head, nat, i, o, u)| {
            // Often an accept of established traffic first, as most rulesets have.
            let est = if head {
                "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
            } else {
                ""
            };
            let nat = if nat {
                "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 :POSTROUTING ACCEPT [0:0]\n\
                 -A PREROUTING -p tcp -m tcp --dport 8080 -j REDIRECT --to-ports 80\nCOMMIT\n"
            } else {
                ""
            };
            format!(
                "{nat}*filter\n:INPUT {pin} [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT {pout} [0:0]\n\
                 :u1 - [0:0]\n{est}{i}{o}{u}COMMIT\n"
            )
        })
}

/// One flow of a conversation: a client and a port on the host (or a server the host
/// reaches), UDP or TCP, whether the capture starts in its middle.
#[derive(Debug, Clone)]
struct Flow {
    client: u8,
    port: u16,
    udp: bool,
    outbound: bool,
    midstream: bool,
    reset: bool,
    iface: u8,
}

fn flows() -> impl Strategy<Value = Vec<Flow>> {
    proptest::collection::vec(
        (
            1u8..6,
            prop_oneof![Just(22u16), Just(53), Just(80), Just(443), Just(8080)],
            proptest::bool::weighted(0.2),
            proptest::bool::weighted(0.25),
            proptest::bool::weighted(0.15),
            proptest::bool::weighted(0.15),
            0u8..3,
        )
            .prop_map(
                |(client, port, udp, outbound, midstream, reset, iface)| Flow {
                    client,
                    port,
                    udp,
                    outbound,
                    midstream,
                    reset,
                    iface,
                },
            ),
        4..14,
    )
}

/// The packets of flow `k`: `(from the client, flags, seq, ack, payload)` for TCP.
fn script(f: &Flow) -> Vec<(bool, &'static str, u32, u32, u32)> {
    let (c, s) = (1000u32, 5000u32);
    let mut v = vec![
        (true, "S", c, 0, 0),
        (false, "SA", s, c + 1, 0),
        (true, "A", c + 1, s + 1, 0),
        (true, "PA", c + 1, s + 1, 100),
        (false, "A", s + 1, c + 101, 0),
        (false, "PA", s + 1, c + 101, 300),
        (true, "A", c + 101, s + 301, 0),
        (true, "PA", c + 101, s + 301, 50),
        (false, "PA", s + 301, c + 151, 200),
        (true, "A", c + 151, s + 501, 0),
    ];
    if f.reset {
        v.push((true, "R", c + 151, 0, 0));
    } else {
        v.push((true, "FA", c + 151, s + 501, 0));
        v.push((false, "FA", s + 501, c + 152, 0));
        v.push((true, "A", c + 152, s + 502, 0));
    }
    if f.midstream {
        v.drain(..3);
    }
    v
}

fn conversation(fl: &[Flow], order: &[u8]) -> Vec<Packet> {
    let mut scripts: Vec<_> = fl.iter().map(script).collect();
    for s in &mut scripts {
        s.reverse();
    }
    let mut out = Vec::new();
    let mut ms = 0u64;
    let mut pick = order.iter().cycle();
    while scripts.iter().any(|s| !s.is_empty()) {
        let k = *pick.next().expect("cycle") as usize % fl.len();
        let k = (k..k + fl.len())
            .map(|i| i % fl.len())
            .find(|&i| !scripts[i].is_empty())
            .expect("a flow with packets left");
        let (from_client, flags, seq, ack, len) = scripts[k].pop().expect("non-empty");
        let f = &fl[k];
        let client = format!("198.51.100.{}", f.client);
        let cport = 40000 + k as u16;
        // The host's own connections go to a server in 192.0.2.0/24.
        let (a, b) = if f.outbound {
            ((HOST, cport), ("192.0.2.7", f.port))
        } else {
            ((client.as_str(), cport), (HOST, f.port))
        };
        // The host answers a redirected port from the port it was redirected to (the engine
        // runs its packets as the socket sent them; nat undoes the redirect on the way out).
        let b_from = if !f.outbound && f.port == 8080 {
            (HOST, 80)
        } else {
            b
        };
        let (from, to) = if from_client { (a, b) } else { (b_from, a) };
        ms += 3;
        let frame = out.len() as u64 + 1;
        let mut p = if f.udp {
            udp(frame, ms, from, to, len.max(20))
        } else {
            tcp(frame, ms, from, to, flags, seq, ack, len)
        };
        p.link.ifname = Some(Arc::from(["eth0", "eth1", "eth0"][f.iface as usize]));
        out.push(p);
    }
    // More of the same: later segments of established flows are what the memo serves.
    let n = out.len();
    for i in 0..n {
        let mut p = out[i].clone();
        if p.tcp().is_some() {
            continue;
        }
        p.frame = out.len() as u64 + 1;
        ms += 1;
        p.ts = fwcheck::packet::Timestamp(p.ts.0 + ms * 1_000_000);
        out.push(p);
    }
    out
}

fn engine_for(l: &fwcheck::lint::Loaded, empty: bool, memo: bool) -> Engine<'_> {
    let mut e = capture_engine(l, empty);
    e.set_walk_memo(memo);
    e
}

/// Outcomes and all counters, with the memo on or off; and the walks it holds.
fn run(
    l: &fwcheck::lint::Loaded,
    pkts: &[Packet],
    empty: bool,
    memo: bool,
) -> (Vec<String>, String, usize) {
    let mut e = engine_for(l, empty, memo);
    let (outs, ctrs) = outcomes_and_counters(&mut e, l, pkts);
    (outs, ctrs, e.walk_memo_len())
}

/// Repeats the conversation's packets until the memo's tables are past their first 64
/// candidates (the memo builds its classes only then).
fn repeated(pkts: Vec<Packet>, times: usize) -> Vec<Packet> {
    let mut out = Vec::new();
    for r in 0..times {
        for p in &pkts {
            let mut p = p.clone();
            p.frame = out.len() as u64 + 1;
            p.ts = fwcheck::packet::Timestamp(p.ts.0 + r as u64 * 1_000_000_000);
            // Each round its own client ports: new connections, not retransmissions.
            if let fwcheck::packet::L4::Tcp(t) = &mut p.l4 {
                if t.sport >= 40000 {
                    t.sport += 100 * r as u16;
                } else {
                    t.dport += 100 * r as u16;
                }
            }
            if let fwcheck::packet::L4::Udp(u) = &mut p.l4 {
                if u.sport >= 40000 {
                    u.sport += 100 * r as u16;
                } else {
                    u.dport += 100 * r as u16;
                }
            }
            out.push(p);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_memo_equals_the_walk(
        text in ruleset(),
        fl in flows(),
        order in proptest::collection::vec(any::<u8>(), 1..40),
        empty in any::<bool>(),
    ) {
        let l = fwcheck::lint::load_str("r.rules", &text, Default::default());
        prop_assume!(!l.has_errors());
        let pkts = repeated(conversation(&fl, &order), 4);
        let (b, cb, none) = run(&l, &pkts, empty, false);
        prop_assert_eq!(none, 0);
        let (a, ca, _) = run(&l, &pkts, empty, true);
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            prop_assert_eq!(x, y, "packet {} of\n{}", i + 1, text);
        }
        prop_assert_eq!(&ca, &cb, "counters of\n{}", text);
    }
}

/// Twelve web, HTTPS and SSH conversations from five clients on two interfaces (and to
/// `ports`), six times over.
fn web(ports: &[u16]) -> Vec<Packet> {
    let fl: Vec<Flow> = (0..12)
        .map(|k| Flow {
            client: 1 + k % 5,
            port: ports[k as usize % ports.len()],
            udp: false,
            outbound: false,
            midstream: false,
            reset: k % 4 == 0,
            iface: k % 2,
        })
        .collect();
    repeated(conversation(&fl, &[3, 1, 4, 1, 5, 9, 2, 6]), 6)
}

/// The memo keeps walks on `text` over `pkts`, and the runs with and without it agree.
fn engages_and_agrees(text: &str, pkts: &[Packet]) {
    let l = rules(text);
    let (b, cb, _) = run(&l, pkts, true, false);
    let (a, ca, walks) = run(&l, pkts, true, true);
    assert!(walks > 0, "the memo kept no walk");
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "packet {}", i + 1);
    }
    assert_eq!(ca, cb);
}

/// The comparison above is not vacuous: guide 000's ruleset over a web server's conversations
/// keeps walks in the memo, and the two runs agree.
#[test]
fn the_memo_engages() {
    let text = std::fs::read_to_string("fixtures/guides/guide-000-webserver.rules.v4")
        .expect("guide 000's rules");
    engages_and_agrees(&text, &web(&[80, 443, 22]));
}

/// Fields only some rulesets read are in the key too: the virtual DNAT state (a redirected
/// port arrives at INPUT with the same port as a direct one), a mask that is not a prefix
/// (clients .4 and .5 are in one interval of the prefixes), TCP flags, interfaces; and a walk
/// that took an extension target is not remembered (a connection mark set on ESTABLISHED
/// packets: a later connection would never get it).
#[test]
fn the_key_holds_what_the_rules_read() {
    let head = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n";
    let nat = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
               :POSTROUTING ACCEPT [0:0]\n\
               -A PREROUTING -p tcp -m tcp --dport 8080 -j REDIRECT --to-ports 80\nCOMMIT\n";
    for rule in [
        "-A INPUT -m conntrack --ctstate DNAT",
        "-A INPUT -s 198.51.0.0/255.255.0.3",
        "-A INPUT -p tcp -m tcp --tcp-flags PSH PSH",
        "-A INPUT -i eth1",
        "-A OUTPUT -d 198.51.0.0/255.255.0.3",
        "-A OUTPUT -o eth0",
        // A target's effect: an extension target is never part of a remembered walk.
        "-A INPUT -i eth1 -m conntrack --ctstate ESTABLISHED -j CONNMARK --set-mark 1\n\
         -A OUTPUT -m connmark --mark 1 -j DROP",
    ] {
        let text = format!("{nat}{head}{rule}\n-A INPUT -s 198.51.100.0/24 -j ACCEPT\nCOMMIT\n");
        engages_and_agrees(&text, &web(&[80, 8080, 443]));
    }
}
