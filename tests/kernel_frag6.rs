//! `-m frag` (the IPv6 Fragment header, `ip6t_frag.c`) against the kernel. Without connection
//! tracking nothing reassembles IPv6 fragments before the rules (`nf_defrag_ipv6` is only
//! registered in a namespace that uses conntrack), so each fragment meets the rules with its
//! fragment header: its identification (`--fragid`, a range, `!`), first (`--fragfirst`), more
//! to come (`--fragmore`) or last (`--fraglast`), reserved bits (`--fragres`), found behind a
//! destination-options header. With conntrack, the datagram is reassembled first and has no
//! fragment header left: `-m frag` matches nothing. Needs root, ip6tables and network
//! namespaces; elsewhere reported ignored.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::{compare, Comparison};
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::netfilter::Family;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

/// A UDP datagram to the host's port 9 in two fragments of identification `id`; `res` sets a
/// reserved bit of the first one; `dst_opts` puts a destination-options header before the
/// fragment header.
fn fragments(id: u32, res: bool, dst_opts: bool) -> [Vec<u8>; 2] {
    let seg = udp_seg(
        CLIENT6.into(),
        HOST6.into(),
        5000 + id as u16,
        9,
        &[0x5a; 64],
    );
    let (a, b) = seg.split_at(40);
    let frag = |offset: u16, more: bool, body: &[u8]| {
        let mut p = Vec::new();
        if dst_opts {
            p.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]);
        }
        let field = offset << 3 | u16::from(more) | if res && more { 0x2 } else { 0 };
        p.extend_from_slice(&[17, 0]);
        p.extend_from_slice(&field.to_be_bytes());
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(body);
        ipv6(CLIENT6, HOST6, if dst_opts { 60 } else { 44 }, &p)
    };
    [frag(0, true, a), frag(40 / 8, false, b)]
}

fn run(rules: &str, frames: &[Vec<u8>]) -> Comparison {
    let opts = ParseOptions {
        family: Family::V6,
        ..ParseOptions::default()
    };
    let loaded = load_str("frag.rules.v6", rules, opts);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: host6(),
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}\n{rules}", cmp.render(true));
    cmp
}

const HEAD: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";

/// Without conntrack, each fragment by its header fields. A fragment INPUT accepts waits in
/// the host's own reassembly (not delivered: "-" for fwcheck, not seen by the kernel's
/// socket); the datagram is delivered when its other fragment is accepted too — which is how
/// the kernel's side shows that a first fragment was dropped: its last one, accepted, is
/// never delivered.
fn fragments_meet_the_rules_one_by_one() {
    let rules = format!(
        "{HEAD}-A INPUT -m frag --fragid 170 --fragfirst -j DROP\n\
         -A INPUT -m frag --fragid 100 --fragfirst --fragmore -j DROP\n\
         -A INPUT -m frag ! --fragid 100:199 --fraglast -j DROP\n\
         -A INPUT -m frag --fragres -j ACCEPT\n\
         -A INPUT -m frag --fragid 300 -j DROP\nCOMMIT\n"
    );
    let mut frames = Vec::new();
    frames.extend(fragments(100, false, false)); // first: #2; last: accepted, never completes
    frames.extend(fragments(150, false, false)); // both accepted: delivered
    frames.extend(fragments(200, false, false)); // first accepted; last: not in 100:199, #3
    frames.extend(fragments(300, true, false)); // first: a reserved bit, so #5; last: #3
                                                // Behind a destination-options header: found, the first is dropped (were it not, both
                                                // would pass and the datagram be delivered).
    frames.extend(fragments(170, false, true));
    let cmp = run(&rules, &frames);
    let got: Vec<(&str, bool, &str, String)> = cmp
        .frames
        .iter()
        .map(|f| {
            let rule = f.fwcheck_rule.clone().unwrap_or_default();
            let n = rule.split('#').nth(1).and_then(|r| r.split(' ').next());
            let n = n.map(|n| format!("#{n}")).unwrap_or_default();
            (
                f.kernel.unwrap_or("-"),
                f.fwcheck_certain,
                f.fwcheck.unwrap_or("-"),
                n,
            )
        })
        .collect();
    let want = [
        ("DROP", "DROP", "#2"),
        ("DROP", "-", ""),
        ("DROP", "-", ""),
        ("ACCEPT", "ACCEPT", "#4"),
        ("DROP", "-", ""),
        ("DROP", "DROP", "#3"),
        ("DROP", "DROP", "#5"),
        ("DROP", "DROP", "#3"),
        ("DROP", "DROP", "#1"),
        ("DROP", "-", ""),
    ];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (i, ((k, certain, fw, rule), (wk, wfw, wrule))) in got.iter().zip(want).enumerate() {
        assert!(certain, "frame {}: {got:?}", i + 1);
        assert_eq!((*k, *fw), (wk, wfw), "frame {}: {got:?}", i + 1);
        if !wrule.is_empty() {
            assert_eq!(rule, wrule, "frame {}: {got:?}", i + 1);
        }
    }
}

/// With conntrack the datagram is reassembled before any rule: no fragment header is left, and
/// the frag rule matches nothing (the last fragment completes the datagram; the first is held).
fn reassembled_datagrams_have_no_fragment_header() {
    let rules = format!(
        "{HEAD}-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
         -A INPUT -m frag --fragid 100 -j DROP\nCOMMIT\n"
    );
    let frames = fragments(100, false, false);
    let got = judged(&run(&rules, &frames));
    assert_eq!(got.last().map(|g| g.0), Some("ACCEPT"), "{got:?}");
    assert_eq!(got.last().map(|g| g.2), Some("ACCEPT"), "{got:?}");
}

/// An atomic fragment (a Fragment header with offset 0 and M clear): a UDP datagram to port 9.
fn atomic(id: u32) -> Vec<u8> {
    let seg = udp_seg(CLIENT6.into(), HOST6.into(), 6000, 9, &[0x5a; 16]);
    let mut p = vec![17, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seg);
    ipv6(CLIENT6, HOST6, 44, &p)
}

/// With conntrack, `nf_ct_frag6_gather` queues an atomic fragment like any other (it has no
/// shortcut for them, unlike `ipv6_frag_rcv`): its queue is complete at once, and the rules
/// see the datagram without its Fragment header, 8 bytes shorter (before, fwcheck kept the
/// header: a certain DROP by `ipv6header`, where the kernel accepts). Without conntrack the
/// rules see the header.
fn atomic_fragments_lose_their_header_to_conntrack() {
    let tail = "-A INPUT -m length --length 0:64 -j ACCEPT
                -A INPUT -m ipv6header --header ipv6-frag --soft -j DROP
COMMIT
";
    let frames = [atomic(7)];
    // 40 + 8 + 8 + 16 = 72 bytes with the header, 64 without.
    let tracked = format!(
        "{HEAD}-A INPUT -m conntrack --ctstate INVALID -j DROP
{tail}"
    );
    let got = judged(&run(&tracked, &frames));
    assert_eq!(got, [("ACCEPT", true, "ACCEPT")], "{tracked}");
    let plain = format!("{HEAD}{tail}");
    let got = judged(&run(&plain, &frames));
    assert_eq!(got, [("DROP", true, "DROP")], "{plain}");
}

/// A fragment of `seg` (protocol `proto`) with identification `id`, bytes `from..to`.
fn piece(proto: u8, seg: &[u8], id: u32, from: usize, to: usize, more: bool) -> Vec<u8> {
    let mut p = vec![proto, 0];
    p.extend_from_slice(&((from as u16 / 8) << 3 | u16::from(more)).to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seg[from..to]);
    ipv6(CLIENT6, HOST6, 44, &p)
}

/// The IPv6 stack's own reassembly (`ipv6_frag_rcv`, after INPUT) refuses what conntrack's
/// passes through and the tables accept: a first fragment holding only 8 bytes of a TCP
/// header (RFC 8200 §4.5), and a fragment other than the last 20 bytes long (not a multiple of
/// 8). Without conntrack and with it, INPUT accepts each, then the stack drops it; a well-formed
/// datagram next to them is delivered.
fn the_stacks_reassembly_refuses_what_the_tables_passed() {
    let syn = tcp_seg(
        CLIENT6.into(),
        HOST6.into(),
        45001,
        22,
        3000,
        0,
        SYN,
        &[b's'; 40],
    );
    let query = udp_seg(CLIENT6.into(), HOST6.into(), 45002, 53, &[b'q'; 56]);
    let good = udp_seg(CLIENT6.into(), HOST6.into(), 45003, 9, &[b'g'; 56]);
    let frames = vec![
        piece(6, &syn, 0x10005, 0, 8, true),
        piece(6, &syn, 0x10005, 8, syn.len(), false),
        piece(17, &query, 0x10009, 0, 20, true),
        piece(17, &query, 0x10009, 16, query.len(), false),
        piece(17, &good, 0x1000b, 0, 32, true),
        piece(17, &good, 0x1000b, 32, good.len(), false),
    ];
    for rules in [
        format!("{HEAD}COMMIT\n"),
        format!("{HEAD}-A INPUT -m conntrack --ctstate INVALID -j LOG\nCOMMIT\n"),
    ] {
        let cmp = run(&rules, &frames);
        let refused: Vec<_> = [0, 2]
            .iter()
            .map(|&i| {
                let f = &cmp.frames[i];
                (
                    f.kernel,
                    f.fwcheck,
                    f.fwcheck_reason.clone().unwrap_or_default(),
                )
            })
            .collect();
        for (i, (kernel, mine, reason)) in refused.iter().enumerate() {
            assert_eq!(
                (*kernel, *mine),
                (Some("DROP"), Some("DROP")),
                "{rules}: {refused:?}"
            );
            assert!(reason.contains("after INPUT"), "{rules} {i}: {reason}");
        }
        // The well-formed datagram: delivered with its last fragment.
        assert_eq!(cmp.frames[5].kernel, Some("ACCEPT"), "{}", cmp.render(true));
    }
}

/// Without conntrack a later fragment meets the rules alone, and what a transport match reads
/// of it depends on how it reads: `-m tcpmss` (an xt match, no fragment test) reads at
/// `thoff`, which `ipv6_find_hdr` leaves at 0 for a later fragment — the IPv6 header, whose
/// byte 12 (a source address byte, 0 here) makes a "data offset" below 5: hot-dropped, as
/// fwcheck says, certain. A port range iptables-nft compiled to a payload load reads the same
/// bytes on kernels up to 6.18 (a source port of 0x6000, the version and traffic class) and
/// nothing on later ones: fwcheck is uncertain, and the kernel's answer is one of its two.
fn later_fragments_meet_transport_matches_by_their_offsets() {
    let syn = tcp_seg(
        CLIENT6.into(),
        HOST6.into(),
        45003,
        80,
        3000,
        0,
        SYN,
        &[b's'; 40],
    );
    let frames = vec![
        piece(6, &syn, 0x20001, 0, 24, true),
        piece(6, &syn, 0x20001, 24, syn.len(), false),
    ];
    let mss = run(
        &format!("{HEAD}-A INPUT -p tcp -m tcpmss --mss 536 -j DROP\nCOMMIT\n"),
        &frames,
    );
    let later = &mss.frames[1];
    assert_eq!(
        (later.kernel, later.fwcheck, later.fwcheck_certain),
        (Some("DROP"), Some("DROP"), true),
        "{}",
        mss.render(true)
    );
    // (The first fragment's port, 45003, is outside the range: it passes, so the kernel's
    // side shows the later one's fate by the datagram's delivery.)
    let rules = format!("{HEAD}-A INPUT -p tcp --sport 20000:30000 -j DROP\nCOMMIT\n");
    let ports = run(&rules, &frames);
    let later = &ports.frames[1];
    assert!(!later.fwcheck_certain, "{}", ports.render(true));
    assert!(
        later
            .fwcheck_reason
            .as_deref()
            .is_some_and(|r| r.contains("later fragment")),
        "{}",
        ports.render(true)
    );
    let loaded = load_str(
        "frag.rules.v6",
        &rules,
        ParseOptions {
            family: Family::V6,
            ..ParseOptions::default()
        },
    );
    let sim = SimOptions {
        env: SimEnv {
            hosts: host6(),
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let packets: Vec<_> = decoded(&frames).into_iter().map(|p| p.unwrap()).collect();
    let traced = fwcheck::trace::trace_packets(&loaded.ruleset, sim, packets);
    let mut answers: Vec<&str> = traced[1]
        .record
        .alternatives
        .iter()
        .filter_map(|a| a.verdict)
        .collect();
    answers.extend(traced[1].record.verdict);
    assert!(
        later.kernel.is_some_and(|k| answers.contains(&k)),
        "kernel {:?}, fwcheck's answers {answers:?}",
        later.kernel
    );
}

/// A fragment whose verdict is uncertain leaves its datagram's fate uncertain: the later
/// fragment meets `! --sport 22` (iptables-nft's load: kernel-version dependent, fwcheck takes
/// "no" and drops it at the policy, uncertain; 6.18 reads 0x6000 and accepts it), then the first
/// fragment is accepted, certain — and completes the datagram in the kernel, not in fwcheck,
/// which must not call it "held" with certainty (found by `kernel_random`, seed 18000187).
fn an_uncertain_fragment_leaves_its_datagram_uncertain() {
    let query = udp_seg(CLIENT6.into(), HOST6.into(), 45003, 22, &[b'q'; 56]);
    let frames = vec![
        piece(17, &query, 0x30001, 32, query.len(), false),
        piece(17, &query, 0x30001, 0, 32, true),
    ];
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 -A INPUT -p udp ! --sport 22 -j ACCEPT\nCOMMIT\n";
    let cmp = run(rules, &frames);
    assert!(!cmp.frames[0].fwcheck_certain, "{}", cmp.render(true));
    let first = &cmp.frames[1];
    assert!(
        !first.fwcheck_certain
            && first
                .fwcheck_reason
                .as_deref()
                .is_some_and(|r| r.contains("frame 1")),
        "{:?}",
        first
    );
}

kernel_tests!(
    an_uncertain_fragment_leaves_its_datagram_uncertain,
    later_fragments_meet_transport_matches_by_their_offsets,
    the_stacks_reassembly_refuses_what_the_tables_passed,
    fragments_meet_the_rules_one_by_one,
    reassembled_datagrams_have_no_fragment_header,
    atomic_fragments_lose_their_header_to_conntrack
);
