//! The fragment memory limit against the kernel (`inet_frag_find` in
//! `net/ipv4/inet_fragment.c`): once the fragments held exceed `ipfrag_high_thresh`, every
//! fragment is dropped — the last fragment of a datagram already queued too, and the
//! fragments of a new datagram — until queues complete or time out. Below the limit
//! reassembly works. The namespace's `ipfrag_high_thresh` is set to 8 KiB (per-netns sysctl);
//! the flood of first fragments takes the memory well past it whatever the skb sizes are.
//! Also the ECN rule of reassembly (`ip_frag_ecn_table`).
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const RULES: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
COMMIT\n";

/// The two fragments of a UDP datagram with 1,000 + 8 payload bytes (id `id`).
fn datagram(id: u16) -> (Vec<u8>, Vec<u8>) {
    let seg = udp_seg(CLIENT.into(), HOST.into(), 5000, 9, &[0x5a; 1000]);
    let first = ipv4_frag(CLIENT, HOST, 17, id, 0x2000, &seg[..1000]);
    let last = ipv4_frag(CLIENT, HOST, 17, id, 1000 / 8, &seg[1000..]);
    (first, last)
}

fn fragments_are_dropped_above_high_thresh() {
    let mut pkts = Vec::new();
    let (c1, c2) = datagram(1);
    pkts.push(c1);
    pkts.push(c2); // 2: completes datagram 1 — under the limit: delivered
    let (a1, a2) = datagram(2);
    pkts.push(a1);
    for id in 100..116 {
        pkts.push(datagram(id).0); // never completed: memory grows past the limit
    }
    pkts.push(a2); // 20: would complete datagram 2 — dropped
    let (e1, e2) = datagram(3);
    pkts.push(e1);
    pkts.push(e2); // 22: a new datagram — dropped too

    let loaded = load_str("frag.rules", RULES, ParseOptions::default());
    assert!(!loaded.has_errors());
    let sim = SimOptions {
        env: SimEnv {
            hosts: host(),
            ..SimEnv::default()
        },
        frag_high_thresh: 8192,
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(&pkts), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let f = |n: usize| &cmp.frames[n - 1];
    assert_eq!(f(2).kernel, Some("ACCEPT"), "{}", cmp.render(true));
    assert_eq!(f(2).fwcheck, Some("ACCEPT"), "{}", cmp.render(true));
    for n in [20, 22] {
        assert_ne!(
            f(n).kernel,
            Some("ACCEPT"),
            "frame {n}: {}",
            cmp.render(true)
        );
        assert_ne!(
            f(n).fwcheck,
            Some("ACCEPT"),
            "frame {n}: {}",
            cmp.render(true)
        );
    }
}

/// ECN across fragments (`ip_frag_ecn_table`, RFC 3168 §5.3; found by `kernel_random`): a
/// datagram whose fragments mix Not-ECT with ECT or CE is dropped when it completes; one that
/// mixes CE with ECT is reassembled with CE. IPv4 reassembled before INPUT (no conntrack) and
/// by conntrack's defragmentation, IPv6 by conntrack's (without it IPv6 fragments cross INPUT
/// one by one), each order.
/// INPUT accepts all but ECT(0) datagrams: a dropped datagram is the reassembly's doing, and a
/// CE one shows it was marked CE.
const ECN_RULES4: &str =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m ecn --ecn-ip-ect 2 -j DROP\n\
COMMIT\n";

/// Set an IP packet's ECN codepoint (IPv4: and its header checksum).
fn with_ecn(mut p: Vec<u8>, ecn: u8) -> Vec<u8> {
    // Built with TOS 0 and TTL 64.
    set_tos_ttl(&mut p, ecn, 64);
    p
}

/// An IPv6 fragment of `data` at `off` bytes (a multiple of 8), more to come when `more`.
fn frag6(id: u32, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut fh = vec![17, 0];
    fh.extend_from_slice(&((off as u16) | more as u16).to_be_bytes());
    fh.extend_from_slice(&id.to_be_bytes());
    fh.extend_from_slice(data);
    ipv6(CLIENT6, HOST6, 44, &fh)
}

/// A 108-byte UDP datagram (identification `id`) to the host's port 9 in two fragments:
/// 64 bytes, then the rest.
fn two_fragments(v6: bool, id: u16) -> (Vec<u8>, Vec<u8>) {
    if v6 {
        let seg = udp_seg(CLIENT6.into(), HOST6.into(), 5000 + id, 9, &[0x5a; 100]);
        (
            frag6(id as u32, 0, true, &seg[..64]),
            frag6(id as u32, 64, false, &seg[64..]),
        )
    } else {
        let seg = udp_seg(CLIENT.into(), HOST.into(), 5000 + id, 9, &[0x5a; 100]);
        (
            ipv4_frag(CLIENT, HOST, 17, id, 0x2000, &seg[..64]),
            ipv4_frag(CLIENT, HOST, 17, id, 64 / 8, &seg[64..]),
        )
    }
}

fn ecn_codepoints_decide_reassembly() {
    // (first fragment's codepoint, last fragment's, what the kernel does with the datagram)
    let cases: [(u8, u8, &str); 6] = [
        (0, 3, "DROP"),   // Not-ECT + CE: dropped by the reassembly
        (3, 0, "DROP"),   // CE + Not-ECT: dropped by the reassembly
        (0, 2, "DROP"),   // Not-ECT + ECT(0): dropped by the reassembly
        (2, 3, "ACCEPT"), // ECT(0) + CE: reassembled as CE, not ECT(0)
        (3, 1, "ACCEPT"), // CE + ECT(1): CE
        (2, 2, "DROP"),   // ECT(0) throughout: the rule
    ];
    for (v6, ct) in [(false, false), (false, true), (true, true)] {
        let mut pkts = Vec::new();
        for (i, (a, b, _)) in cases.iter().enumerate() {
            let id = 40 + i as u16;
            let (first, last) = two_fragments(v6, id);
            pkts.push(with_ecn(first, *a));
            pkts.push(with_ecn(last, *b));
        }
        let (name, family) = if v6 {
            ("ecn.rules.v6", fwcheck::netfilter::Family::V6)
        } else {
            ("ecn.rules.v4", fwcheck::netfilter::Family::V4)
        };
        let opts = ParseOptions {
            family,
            ..ParseOptions::default()
        };
        let rules = if ct {
            ECN_RULES4.replacen(
                "-A INPUT -m ecn",
                "-A INPUT -m conntrack --ctstate INVALID -j DROP\n-A INPUT -m ecn",
                1,
            )
        } else {
            ECN_RULES4.to_string()
        };
        let loaded = load_str(name, &rules, opts);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let sim = SimOptions {
            env: SimEnv {
                hosts: if v6 { host6() } else { host() },
                ..SimEnv::default()
            },
            ..SimOptions::default()
        };
        let cmp = compare(&loaded, decoded(&pkts), sim, Pacing::AsFastAsPossible).expect("compare");
        assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
        for (i, (a, b, want)) in cases.iter().enumerate() {
            let f = &cmp.frames[2 * i + 1];
            let kernel = if f.kernel == Some("ACCEPT") {
                "ACCEPT"
            } else {
                "DROP"
            };
            let ours = if f.fwcheck == Some("ACCEPT") {
                "ACCEPT"
            } else {
                "DROP"
            };
            assert_eq!(
                (kernel, ours),
                (*want, *want),
                "v6 {v6}, conntrack {ct}, codepoints {a} then {b}: {}",
                f.line()
            );
        }
    }
}

/// Without conntrack the stack reassembles after the tables (IPv4 after PREROUTING, IPv6
/// after INPUT), so it reads the ECN bits a mangle rule left, not the captured ones: an `ECN`
/// target that sets every fragment CE makes a Not-ECT + ECT(0) mix consistent (delivered), one
/// that marks only later fragments (`-f`) makes a consistent datagram a Not-ECT + CE mix
/// (dropped), and `TOS --set-tos 0x10/0x3f` clears the ECN bits of an IPv6 mix (delivered).
fn reassembly_reads_the_ecn_bits_the_tables_left() {
    let mangle = |rule: &str| {
        format!(
            "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
             :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{rule}\nCOMMIT\n\
             *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
        )
    };
    // (IPv6, the mangle rule, first and last fragments' codepoints, the datagram's fate)
    let cases = [
        (false, "-A PREROUTING -j ECN --ecn-ip-ect 3", 0, 2, "ACCEPT"),
        (
            false,
            "-A PREROUTING -f -j ECN --ecn-ip-ect 3",
            0,
            0,
            "DROP",
        ),
        (
            true,
            "-A PREROUTING -j TOS --set-tos 0x10/0x3f",
            0,
            2,
            "ACCEPT",
        ),
    ];
    for (i, (v6, rule, a, b, want)) in cases.into_iter().enumerate() {
        let id = 70 + i as u16;
        let (first, last) = two_fragments(v6, id);
        let pkts = vec![with_ecn(first, a), with_ecn(last, b)];
        let (name, family) = if v6 {
            ("ecn.rules.v6", fwcheck::netfilter::Family::V6)
        } else {
            ("ecn.rules.v4", fwcheck::netfilter::Family::V4)
        };
        let loaded = load_str(
            name,
            &mangle(rule),
            ParseOptions {
                family,
                ..ParseOptions::default()
            },
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let sim = SimOptions {
            env: SimEnv {
                hosts: if v6 { host6() } else { host() },
                ..SimEnv::default()
            },
            ..SimOptions::default()
        };
        let cmp = compare(&loaded, decoded(&pkts), sim, Pacing::AsFastAsPossible).expect("compare");
        assert_eq!(cmp.mismatches, 0, "{rule}: {}", cmp.render(true));
        let f = &cmp.frames[1];
        let delivered = |v: Option<&str>| {
            if v == Some("ACCEPT") {
                "ACCEPT"
            } else {
                "DROP"
            }
        };
        assert_eq!(
            (delivered(f.kernel), delivered(f.fwcheck), f.fwcheck_certain),
            (want, want, true),
            "{rule}: {}",
            f.line()
        );
    }
}

kernel_tests!(
    fragments_are_dropped_above_high_thresh,
    ecn_codepoints_decide_reassembly,
    reassembly_reads_the_ecn_bits_the_tables_left
);
