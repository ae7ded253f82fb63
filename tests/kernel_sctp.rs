//! `-m sctp` against the kernel (`xt_sctp.c` `sctp_mt`): ports from the common header (ranges,
//! `!`), `--chunk-types all|any|only` with chunk flags over single and multi-chunk packets, and
//! the hot-drops of `match_packet` (no chunk after the header, a zero chunk length) and of a
//! header shorter than 12 bytes. Every frame carries a correct CRC32c. fwcheck must give the
//! kernel's verdict for every frame, certain.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::{compare, Status};
use fwcheck::conntrack::sctp::crc32c;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::{Family, ParseOptions};
use oracle_common::*;

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p sctp --dport 1 -j ACCEPT\n\
-A INPUT -p sctp --dport 10:20 ! --sport 5000 -j ACCEPT\n\
-A INPUT -p sctp ! --dport 0:65535 -j ACCEPT\n\
-A INPUT -p sctp -m sctp --dport 30 --chunk-types all INIT -j ACCEPT\n\
-A INPUT -p sctp --dport 31 --chunk-types any DATA:B -j ACCEPT\n\
-A INPUT -p sctp --dport 32 --chunk-types only DATA,SACK -j ACCEPT\n\
-A INPUT -p sctp --dport 33 ! --chunk-types any INIT -j ACCEPT\n\
-A INPUT -p sctp --dport 34 --chunk-types all DATA,SACK -j ACCEPT\n\
-A INPUT -p sctp --dport 35 --chunk-types any ABORT:T -j ACCEPT\n\
-A INPUT -p sctp --dport 36 --chunk-types only DATA:iE -j ACCEPT\n\
-A INPUT -p sctp --dport 40 --chunk-types any INIT -j ACCEPT\n\
-A INPUT -p sctp --dport 40 -j ACCEPT\n\
-A INPUT -p sctp --dport 41 ! --chunk-types all INIT -j ACCEPT\n\
-A INPUT -p sctp --dport 41 -j DROP\n\
-A INPUT -p 132 -m length --length 20:31 -j ACCEPT\n\
COMMIT\n";

const DATA: u8 = 0;
const INIT: u8 = 1;
const SACK: u8 = 3;
const ABORT: u8 = 6;

/// A chunk of `kind` with `flags` and `n` value bytes (length field 4 + n), padded to 4.
fn chunk(kind: u8, flags: u8, n: usize) -> Vec<u8> {
    let mut c = vec![kind, flags];
    c.extend_from_slice(&((4 + n) as u16).to_be_bytes());
    c.extend((0..n).map(|i| i as u8 + 1));
    c.resize(c.len().next_multiple_of(4), 0);
    c
}

/// The SCTP common header and `chunks`, with a correct CRC32c.
fn sctp_seg(sport: u16, dport: u16, chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    b.extend_from_slice(&[0; 4]);
    for c in chunks {
        b.extend_from_slice(c);
    }
    let crc = crc32c(&b);
    b[8..12].copy_from_slice(&crc.to_le_bytes());
    b
}

/// An SCTP packet in IPv4, client → host.
fn sctp(id: u16, sport: u16, dport: u16, chunks: &[Vec<u8>]) -> Vec<u8> {
    ipv4(CLIENT, HOST, 132, id, &sctp_seg(sport, dport, chunks))
}

fn sctp_ports_and_chunks() {
    let init = || chunk(INIT, 0, 16);
    let data = |f: u8| chunk(DATA, f, 13);
    let sack = || chunk(SACK, 0, 12);
    // A chunk whose length field claims more than the packet holds: the walk ends there.
    let mut long = chunk(DATA, 0, 4);
    long[2..4].copy_from_slice(&200u16.to_be_bytes());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (sctp(1, 4000, 1, &[init()]), "ACCEPT"),
        (sctp(2, 4000, 15, &[data(3)]), "ACCEPT"),
        (sctp(3, 5000, 15, &[data(3)]), "DROP"),
        (sctp(4, 4000, 30, &[init()]), "ACCEPT"),
        (sctp(5, 4000, 30, &[data(3)]), "DROP"),
        (sctp(6, 4000, 31, &[data(0x02)]), "ACCEPT"),
        (sctp(7, 4000, 31, &[data(0x01)]), "DROP"),
        (sctp(8, 4000, 31, &[data(0x01), data(0x06)]), "ACCEPT"),
        (sctp(9, 4000, 32, &[data(3), sack()]), "ACCEPT"),
        (sctp(10, 4000, 32, &[data(3), init()]), "DROP"),
        (sctp(11, 4000, 33, &[data(3)]), "ACCEPT"),
        (sctp(12, 4000, 33, &[data(3), init()]), "DROP"),
        (sctp(13, 4000, 34, &[sack(), data(0)]), "ACCEPT"),
        (sctp(14, 4000, 34, &[sack()]), "DROP"),
        (sctp(15, 4000, 35, &[chunk(ABORT, 1, 0)]), "ACCEPT"),
        (sctp(16, 4000, 35, &[chunk(ABORT, 0, 0)]), "DROP"),
        (sctp(17, 4000, 36, &[data(0x01), data(0x03)]), "ACCEPT"),
        (sctp(18, 4000, 36, &[data(0x01), data(0x09)]), "DROP"),
        // Hot-drops in match_packet: no chunk at all, a zero chunk length.
        (sctp(19, 4000, 40, &[]), "DROP"),
        (sctp(20, 4000, 40, &[vec![INIT, 0, 0, 0]]), "DROP"),
        (sctp(21, 4000, 40, &[data(3), vec![INIT, 0, 0, 0]]), "DROP"),
        // Multi-chunk walks; a short length (5) is padded to 8; an overlong one ends the walk.
        (sctp(22, 4000, 40, &[data(3), sack(), init()]), "ACCEPT"),
        (sctp(23, 4000, 40, &[chunk(DATA, 0, 1), init()]), "ACCEPT"),
        (sctp(24, 4000, 40, &[long.clone(), init()]), "ACCEPT"),
        // A chunk header cut by the packet's end (2 bytes after a full chunk): hot-drop.
        (sctp(25, 4000, 40, &[data(3), vec![INIT, 0]]), "DROP"),
        // `!` does not undo the hot-drop.
        (sctp(26, 4000, 41, &[]), "DROP"),
        (sctp(27, 4000, 41, &[data(3)]), "ACCEPT"),
        (sctp(28, 4000, 41, &[init()]), "DROP"),
        // A header shorter than 12 bytes: sctp_mt hot-drops, the length rule is not reached.
        (
            ipv4(CLIENT, HOST, 132, 29, &[0x0f, 0xa0, 0, 1, 0, 0, 0, 0]),
            "DROP",
        ),
        (
            ipv4(
                CLIENT,
                HOST,
                132,
                30,
                &[0x0f, 0xa0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            ),
            "DROP",
        ),
    ];
    check(RULES, Family::V4, HOST.into(), &cases);
}

/// Compare `cases` (frame, kernel verdict) under `rules`: no mismatch, every verdict certain.
fn check(rules: &str, family: Family, host: std::net::IpAddr, cases: &[(Vec<u8>, &str)]) {
    let decoded = decoded(cases.iter().map(|(b, _)| b));
    let opts = ParseOptions {
        family,
        ..ParseOptions::default()
    };
    let loaded = load_str("sctp.rules", rules, opts);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec![host],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded, sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<_> = cmp.frames.iter().map(|f| f.kernel).collect();
    let want: Vec<_> = cases.iter().map(|(_, v)| Some(*v)).collect();
    assert_eq!(kernel, want, "{}", cmp.render(true));
    for f in &cmp.frames {
        assert!(
            f.fwcheck_certain,
            "frame {} uncertain: {}",
            f.frame,
            f.line()
        );
        assert_ne!(f.status, Status::Uncertain, "{}", f.line());
    }
}

const RULES6: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p ipv6-icmp -j ACCEPT\n\
-A INPUT -p sctp --dport 1 --chunk-types any INIT -j ACCEPT\n\
-A INPUT -p sctp ! --sport 1:1024 --dport 2 --chunk-types only DATA:E -j ACCEPT\n\
-A INPUT -p sctp --dport 3 -j ACCEPT\n\
COMMIT\n";

/// The same unit over IPv6 (the SCTP header after the IPv6 header).
fn sctp_over_ipv6() {
    let v6 = |sport, dport, chunks: &[Vec<u8>]| {
        ipv6(CLIENT6, HOST6, 132, &sctp_seg(sport, dport, chunks))
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            v6(4000, 1, &[chunk(DATA, 0, 4), chunk(INIT, 0, 16)]),
            "ACCEPT",
        ),
        (v6(4000, 1, &[chunk(DATA, 0, 4)]), "DROP"),
        (
            v6(4000, 2, &[chunk(DATA, 1, 4), chunk(DATA, 3, 4)]),
            "ACCEPT",
        ),
        (v6(1000, 2, &[chunk(DATA, 1, 4)]), "DROP"),
        (v6(4000, 2, &[chunk(DATA, 2, 4)]), "DROP"),
        (v6(4000, 1, &[]), "DROP"),
        (v6(4000, 3, &[]), "ACCEPT"),
    ];
    check(RULES6, Family::V6, HOST6.into(), &cases);
}

/// On a router, `-m sctp --dport` in FORWARD reads the port DNAT wrote (`sctp_manip_pkt`), not
/// the one the client sent: an INIT to 5000 DNATed to 6000 meets the rule for 6000, not the
/// ACCEPT for 5000 (which, read from the captured bytes, would let it through).
fn sctp_ports_after_dnat() {
    let far = std::net::Ipv4Addr::new(203, 0, 113, 5);
    let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        :POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -p sctp -m sctp --dport 5000 -j DNAT --to-destination 203.0.113.9:6000\n\
        COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A FORWARD -p sctp -m sctp --dport 6000 -j DROP\n\
        -A FORWARD -p sctp -m sctp --dport 5000 -j ACCEPT\n-A FORWARD -p sctp -j REJECT\nCOMMIT\n";
    // An INIT opens an association: verification tag 0.
    let init = |sport, dport| {
        let mut seg = sctp_seg(sport, dport, &[chunk(INIT, 0, 16)]);
        seg[4..12].fill(0);
        let crc = crc32c(&seg);
        seg[8..12].copy_from_slice(&crc.to_le_bytes());
        seg
    };
    let frames = [
        ipv4(CLIENT, far, 132, 71, &init(40000, 5000)), // DNATed to 6000: DROP
        ipv4(CLIENT, far, 132, 72, &init(40001, 5001)), // not NATed: REJECT
    ];
    let loaded = load_str("sctp-nat.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec![HOST.into()],
            ..SimEnv::default()
        },
        router: true,
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(&frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    assert_eq!(
        judged(&cmp),
        [("DROP", true, "DROP"), ("DROP", true, "REJECT")],
        "{}",
        cmp.render(true)
    );
}

kernel_tests!(sctp_ports_after_dnat, sctp_ports_and_chunks, sctp_over_ipv6);
