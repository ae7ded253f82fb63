//! A capture that begins in the middle of a TCP connection (or after a UDP query and an echo
//! request whose replies it holds), against the kernel, in the two worlds it may come from. The kernel's oracle runs the whole conversation (SYN, SYN/ACK,
//! ACK, then data): the connection was tracked before the capture began, and its data segment
//! is ESTABLISHED. The oracle runs only the data segments: the table was empty, the first is
//! picked up mid-stream, NEW. fwcheck sees only the data segments either way. By default
//! (`--conntrack-start unknown`) a rule whose answer differs between the two worlds makes the
//! pickup uncertain — before, it was a certain DROP, wrong in the first world — and every
//! verdict it calls certain is the kernel's in both; with `--conntrack-start empty` it is the
//! second world's, certain. Needs root, iptables and network namespaces.

#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::engine::{Engine, SimEnv, SimOptions, Verdict};
use fwcheck::oracle::{self, KernelVerdict, OracleConfig, OracleFrame};
use fwcheck::ruleset::Family;
use oracle_common::*;

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p tcp ! --syn -m conntrack --ctstate NEW -j DROP\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -p tcp --dport 22 -j ACCEPT\n\
COMMIT\n";

/// The conversation: a handshake (frames 1-3), then two data segments from the client, each
/// acknowledged by the host (4-7).
fn conversation() -> Vec<Vec<u8>> {
    let (h, c) = (HOST, CLIENT);
    vec![
        tcp4(c, h, 41000, 22, 1000, 0, SYN, 1),
        tcp4(h, c, 22, 41000, 5000, 1001, SYN | ACK, 2),
        tcp4(c, h, 41000, 22, 1001, 5001, ACK, 3),
        tcp_ip(
            c.into(),
            h.into(),
            41000,
            22,
            1001,
            5001,
            PSH | ACK,
            4,
            b"hello",
        ),
        tcp4(h, c, 22, 41000, 5001, 1006, ACK, 5),
        tcp_ip(
            c.into(),
            h.into(),
            41000,
            22,
            1006,
            5001,
            PSH | ACK,
            6,
            b"again",
        ),
        tcp4(h, c, 22, 41000, 5001, 1011, ACK, 7),
    ]
}

/// The kernel's verdict for frames `from..` when it saw the frames `first..` (frame numbers
/// from 1).
fn kernel(rules: &str, first: usize, from: u64) -> Vec<Option<KernelVerdict>> {
    kernel_of(conversation(), rules, first, from)
}

/// [`kernel`] for the frames of `conv`.
fn kernel_of(
    conv: Vec<Vec<u8>>,
    rules: &str,
    first: usize,
    from: u64,
) -> Vec<Option<KernelVerdict>> {
    let frames = conv
        .into_iter()
        .enumerate()
        .skip(first - 1)
        .map(|(i, ip)| OracleFrame {
            frame: i as u64 + 1,
            ts: fwcheck::packet::Timestamp(i as u64 * 1_000_000),
            ip: Some(ip),
        });
    let cfg = OracleConfig::new(rules, Family::V4, host());
    let out = oracle::replay(&cfg, frames).expect("kernel replay");
    out.iter()
        .filter(|o| o.frame >= from)
        .map(|o| o.verdict)
        .collect()
}

/// fwcheck's (verdict, certain) for frames 4-7 alone.
fn fwcheck(rules: &str, empty_at_start: bool) -> Vec<(Option<KernelVerdict>, bool)> {
    let start = if empty_at_start {
        Start::Empty
    } else {
        Start::Unknown
    };
    fwcheck_of(&conversation()[3..], rules, start)
}

/// `--conntrack-start`.
#[derive(Clone, Copy)]
enum Start {
    Unknown,
    Empty,
    Tracked,
}

/// [`fwcheck`] for `frames`, read as a capture file's.
fn fwcheck_of(frames: &[Vec<u8>], rules: &str, start: Start) -> Vec<(Option<KernelVerdict>, bool)> {
    let loaded = fwcheck::lint::load_str("midstream.rules", rules, Default::default());
    assert!(!loaded.has_errors());
    let opts = SimOptions {
        env: SimEnv {
            hosts: host(),
            conntrack_empty_at_start: matches!(start, Start::Empty),
            conntrack_tracked_at_start: matches!(start, Start::Tracked),
            ..SimEnv::default()
        },
        recognise_answers: false,
        capture_file: true,
        ..SimOptions::default()
    };
    let mut e = Engine::new(&loaded.ruleset, opts);
    decoded(frames)
        .into_iter()
        .map(|p| {
            let o = e.process(&p.expect("decoded"));
            let v = match o.verdict {
                Some(Verdict::Accept) => Some(KernelVerdict::Accept),
                Some(_) => Some(KernelVerdict::Drop),
                None => None,
            };
            (v, o.certain)
        })
        .collect()
}

fn a_connection_older_than_the_capture_is_uncertain() {
    use KernelVerdict::{Accept, Drop};
    // Tracked before the capture: the data is ESTABLISHED, everything passes.
    let tracked = kernel(RULES, 1, 4);
    assert_eq!(tracked, [Some(Accept); 4], "tracked world");
    // Picked up by a kernel whose table starts with the capture: NEW without SYN, dropped;
    // the host's ACK then opens the connection from its side (OUTPUT accepts it), and the
    // second segment is its reply, ESTABLISHED.
    let fresh = kernel(RULES, 4, 4);
    assert_eq!(
        fresh,
        [Some(Drop), Some(Accept), Some(Accept), Some(Accept)]
    );
    // fwcheck, not told: the first segment is uncertain, and so is its connection's next one;
    // what it calls certain (the host's own ACKs, OUTPUT ACCEPT) is both worlds' answer.
    let unknown = fwcheck(RULES, false);
    assert!(!unknown[0].1, "{unknown:?}");
    assert!(!unknown[2].1, "{unknown:?}");
    for (i, (v, certain)) in unknown.iter().enumerate() {
        if *certain {
            assert_eq!(*v, tracked[i], "frame {}: {unknown:?}", i + 4);
            assert_eq!(*v, fresh[i], "frame {}: {unknown:?}", i + 4);
        }
    }
    // Told the table was empty: the fresh world, every verdict certain.
    let empty = fwcheck(RULES, true);
    for (i, (v, certain)) in empty.iter().enumerate() {
        assert!(certain, "frame {}: {empty:?}", i + 4);
        assert_eq!(*v, fresh[i], "frame {}: {empty:?}", i + 4);
    }
    // Told conntrack ran before the capture (`--conntrack-start tracked`): the tracked world,
    // every verdict certain.
    let older = fwcheck_of(&conversation()[3..], RULES, Start::Tracked);
    for (i, (v, certain)) in older.iter().enumerate() {
        assert!(certain, "frame {}: {older:?}", i + 4);
        assert_eq!(*v, tracked[i], "frame {}: {older:?}", i + 4);
    }
}

/// A NEW-only jump into a chain that returns having changed nothing (kube-proxy's
/// `--ctstate NEW -j KUBE-EXTERNAL-SERVICES`): the worlds meet again after it, and the verdict
/// is both worlds' answer, certain.
const REJOIN: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:CHECK - [0:0]\n\
-A INPUT -m conntrack --ctstate NEW -j CHECK\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -p tcp --dport 22 -j ACCEPT\n\
-A CHECK -p tcp --dport 80 -j DROP\n\
-A CHECK -p tcp\n\
COMMIT\n";

fn a_new_only_chain_that_returns_leaves_the_verdict_certain() {
    use KernelVerdict::Accept;
    let tracked = kernel(REJOIN, 1, 4);
    let fresh = kernel(REJOIN, 4, 4);
    assert_eq!(tracked, [Some(Accept); 4], "tracked world");
    assert_eq!(fresh, [Some(Accept); 4], "fresh world");
    for empty in [false, true] {
        let got = fwcheck(REJOIN, empty);
        for (i, (v, certain)) in got.iter().enumerate() {
            assert!(certain, "frame {} (empty {empty}): {got:?}", i + 4);
            assert_eq!(*v, tracked[i], "frame {}: {got:?}", i + 4);
        }
    }
    // The same chain marking the packet changes what follows in one world only: uncertain.
    let marking = REJOIN.replace(
        "-A CHECK -p tcp\n",
        "-A CHECK -p tcp -j MARK --set-mark 1\n",
    );
    let got = fwcheck(&marking, false);
    assert!(!got[0].1, "{got:?}");
}

/// A UDP query and an echo request the host sent before the capture began, and their replies
/// in it: with the requests tracked, the replies are ESTABLISHED and accepted; in a kernel
/// whose table starts with the capture, the DNS reply is NEW and the echo reply INVALID, both
/// dropped. fwcheck, seeing only the replies, is uncertain by default and gives the second
/// world's answers, certain, when told the table was empty.
const REPLIES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -p tcp --dport 22 -j ACCEPT\n\
COMMIT\n";

fn replies_to_requests_older_than_the_capture_are_uncertain() {
    use KernelVerdict::{Accept, Drop};
    let (h, c) = (HOST, CLIENT);
    let conv = vec![
        udp4(h, c, 40000, 53, 1, b"query"),
        ping4(h, c, false, 1),
        udp4(c, h, 53, 40000, 2, b"answer"),
        ping4(c, h, true, 1),
    ];
    let tracked = kernel_of(conv.clone(), REPLIES, 1, 3);
    assert_eq!(tracked, [Some(Accept), Some(Accept)], "tracked world");
    let fresh = kernel_of(conv.clone(), REPLIES, 3, 3);
    assert_eq!(fresh, [Some(Drop), Some(Drop)], "fresh world");
    let unknown = fwcheck_of(&conv[2..], REPLIES, Start::Unknown);
    assert!(unknown.iter().all(|(_, certain)| !certain), "{unknown:?}");
    let empty = fwcheck_of(&conv[2..], REPLIES, Start::Empty);
    for (i, (v, certain)) in empty.iter().enumerate() {
        assert!(certain, "frame {}: {empty:?}", i + 3);
        assert_eq!(*v, fresh[i], "frame {}: {empty:?}", i + 3);
    }
    // A rule that accepts the replies in both worlds leaves them certain.
    let both = REPLIES.replace(
        "-A INPUT -p tcp --dport 22 -j ACCEPT\n",
        "-A INPUT -p udp --sport 53 -j ACCEPT\n-A INPUT -p icmp -j ACCEPT\n",
    );
    let got = fwcheck_of(&conv[2..], &both, Start::Unknown);
    // Told that conntrack ran before: replies may still be unsolicited, so they stay in doubt.
    let tracked_start = fwcheck_of(&conv[2..], REPLIES, Start::Tracked);
    assert!(tracked_start.iter().all(|(_, c)| !c), "{tracked_start:?}");
    assert_eq!(got, [(Some(Accept), true), (Some(Accept), true)]);
    assert_eq!(kernel_of(conv.clone(), &both, 3, 3), [Some(Accept); 2]);
}

/// A `ping` from the client that began before the capture: its first request (small, so that
/// the ruleset lets a NEW one in) and reply are before the capture, its second (large) in it.
/// With the ping tracked, the second request is ESTABLISHED and accepted; in a kernel whose
/// table starts with the capture it is NEW and too long for the NEW rule: dropped. fwcheck,
/// seeing an echo request numbered past a ping's first, is uncertain by default, and certain
/// of the fresh world's answer when told the table was empty; a request numbered 1 starts its
/// ping in the capture, certain.
const PING: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -p icmp -m icmp --icmp-type 8 -m length --length 0:60 -j ACCEPT\n\
COMMIT\n";

fn a_ping_older_than_the_capture_is_uncertain() {
    use KernelVerdict::{Accept, Drop};
    let (h, c) = (HOST, CLIENT);
    let echo = |src, dst, reply: bool, seq: u16, payload: &[u8]| {
        ipv4(
            src,
            dst,
            1,
            2000 + seq,
            &icmp_echo(reply, 0x4343, seq, payload),
        )
    };
    let big = [0x55u8; 64];
    let conv = vec![
        echo(c, h, false, 1, b"small"),
        echo(h, c, true, 1, b"small"),
        echo(c, h, false, 2, &big),
    ];
    assert_eq!(
        kernel_of(conv.clone(), PING, 1, 3),
        [Some(Accept)],
        "tracked world"
    );
    let fresh = kernel_of(conv.clone(), PING, 3, 3);
    assert_eq!(fresh, [Some(Drop)], "fresh world");
    let unknown = fwcheck_of(&conv[2..], PING, Start::Unknown);
    assert_eq!(unknown, [(Some(Drop), false)]);
    let empty = fwcheck_of(&conv[2..], PING, Start::Empty);
    assert_eq!(empty, [(fresh[0], true)]);
    // The first request of a ping: it began with the capture, whatever came before.
    let first = vec![echo(c, h, false, 1, &big)];
    assert_eq!(kernel_of(first.clone(), PING, 1, 1), [Some(Drop)]);
    assert_eq!(
        fwcheck_of(&first, PING, Start::Unknown),
        [(Some(Drop), true)]
    );
}

kernel_tests!(
    a_connection_older_than_the_capture_is_uncertain,
    a_new_only_chain_that_returns_leaves_the_verdict_certain,
    replies_to_requests_older_than_the_capture_are_uncertain,
    a_ping_older_than_the_capture_is_uncertain
);
