//! `-m ipv6header` (`ip6t_ipv6header.c`) against the kernel: the set of extension headers a
//! packet carries — exact, `--soft` (all listed present), each with `!` — on packets built with
//! hop-by-hop, destination options and (atomic) fragment headers, ESP, "no next header", and a
//! plain upper layer. No conntrack rule: each packet meets INPUT as it is.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::{IpAddr, Ipv6Addr};

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::{Family, ParseOptions};
use oracle_common::*;

/// An 8-byte hop-by-hop or destination options header (PadN) followed by `next`.
fn opts(next: u8) -> Vec<u8> {
    vec![next, 0, 1, 4, 0, 0, 0, 0]
}

/// The packets, each to port 9 of the host: plain UDP; hop-by-hop + UDP; destination options +
/// UDP; hop-by-hop + destination options + UDP; an atomic fragment of UDP; ESP; no next header.
fn frames() -> Vec<Vec<u8>> {
    let (c, h): (Ipv6Addr, Ipv6Addr) = (CLIENT6, HOST6);
    let udp = |sport: u16| udp_seg(IpAddr::V6(c), IpAddr::V6(h), sport, 9, b"ipv6header probe");
    let with = |chain: &[u8], first: u8, sport: u16| {
        let mut p = chain.to_vec();
        p.extend(udp(sport));
        ipv6(c, h, first, &p)
    };
    let mut hbh_dst = opts(60);
    hbh_dst.extend(opts(17));
    let frag = vec![17, 0, 0, 0, 0, 0, 0x12, 0x34];
    vec![
        ipv6(c, h, 17, &udp(40001)),
        with(&opts(17), 0, 40002),
        with(&opts(17), 60, 40003),
        with(&hbh_dst, 0, 40004),
        with(&frag, 44, 40005),
        ipv6(
            c,
            h,
            50,
            &[0, 0, 0x10, 0, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef],
        ),
        ipv6(c, h, 59, &[]),
    ]
}

/// For rule `-m ipv6header MATCH -j DROP`, which frames the kernel dropped (`D`), all certain
/// in fwcheck and equal to the kernel.
fn dropped(m: &str) -> String {
    let text = format!(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m ipv6header {m} -j DROP\nCOMMIT\n"
    );
    let loaded = load_str(
        "ipv6header.rules",
        &text,
        ParseOptions {
            family: Family::V6,
            ..ParseOptions::default()
        },
    );
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let sim = SimOptions {
        env: SimEnv {
            hosts: host6(),
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(frames()), sim, Pacing::AsFastAsPossible)
        .unwrap_or_else(|e| panic!("{m}: {e}"));
    assert_eq!(cmp.mismatches, 0, "{m}: {}", cmp.render(true));
    assert!(
        judged(&cmp).iter().all(|j| j.1),
        "{m}: {}",
        cmp.render(false)
    );
    kernel_and_rule(&cmp)
        .into_iter()
        .map(|(k, _)| if k == "DROP" { 'D' } else { '.' })
        .collect()
}

fn exact_sets() {
    // Frames: udp, hop+udp, dst+udp, hop+dst+udp, frag+udp, esp, none.
    assert_eq!(dropped("--header prot"), "D......");
    assert_eq!(dropped("--header hop,prot"), ".D.....");
    assert_eq!(dropped("--header dst,prot"), "..D....");
    assert_eq!(dropped("--header hop,dst,prot"), "...D...");
    assert_eq!(dropped("--header frag,prot"), "....D..");
    assert_eq!(dropped("--header esp"), ".....D.");
    assert_eq!(dropped("--header none"), "......D");
    assert_eq!(dropped("! --header prot"), ".DDDDDD");
}

fn soft_sets() {
    assert_eq!(dropped("--header hop --soft"), ".D.D...");
    assert_eq!(dropped("--header dst --soft"), "..DD...");
    assert_eq!(dropped("--header prot --soft"), "DDDDD..");
    assert_eq!(dropped("! --header frag --soft"), "DDDD.DD");
}

kernel_tests!(exact_sets, soft_sets);
