//! Offloaded checksums against the Linux kernel (`--checksums verify|auto|ignore`).
//!
//! A capture taken on a host, a veth, a VM or a container shows packets whose TCP/UDP checksum
//! field holds only the pseudo-header sum: the sending stack left it for the NIC
//! (`CHECKSUM_PARTIAL`), and the receiving kernel never verifies it. The oracle reproduces that
//! by writing such packets to its tun device with a `virtio_net_hdr` asking for checksum
//! offload (`VIRTIO_NET_HDR_F_NEEDS_CSUM`, exactly how a veth or virtio NIC hands them over),
//! and fwcheck must then give the kernel's verdict for every frame, under each mode:
//!
//! * `verify` — every packet arrives `CHECKSUM_NONE`: conntrack verifies at PREROUTING
//!   (`nf_conntrack_checksum=1`), a partial checksum is a bad one, the packet is INVALID;
//! * `auto` (the default) — partial checksums are offloaded and pass, other bad ones are INVALID;
//! * `ignore` — every TCP/UDP/ICMP packet arrives offloaded: no checksum makes it INVALID.
//!
//! A VXLAN datagram around such a packet carries an outer UDP checksum computed by local
//! checksum offload (`lco_csum`), right only once the inner checksum is completed: the oracle
//! writes it offloaded at the inner checksum (`csum_start` there, as the tunnel device left
//! the skb), and fwcheck must recognise it under `auto`.
//!
//! Besides agreeing with the kernel frame by frame, each mode's expected verdicts are asserted,
//! so the test fails if both sides were wrong the same way.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::packet::ChecksumMode;
use fwcheck::ruleset::{Family, ParseOptions};
use oracle_common::*;

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 53 -j ACCEPT\n\
-A INPUT -p icmp -j ACCEPT\n\
COMMIT\n";

const RULES6: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
COMMIT\n";

/// One's-complement sum of 16-bit words, folded (not complemented).
fn fold_sum(words: impl IntoIterator<Item = u16>) -> u16 {
    let mut s: u32 = 0;
    for w in words {
        s += w as u32;
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

fn addr_words(a: IpAddr) -> Vec<u16> {
    let b = match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    b.chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// The TCP/UDP checksum field of an IP packet (no extension headers): its offset and the
/// value a stack stores there for offload — the folded pseudo-header sum
/// (`th->check = ~tcp_v4_check(len, saddr, daddr, 0)`, likewise UDP and IPv6).
fn l4_field(ip: &[u8]) -> (usize, u16) {
    let (src, dst, proto, off) = if ip[0] >> 4 == 4 {
        let s = IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
        let d = IpAddr::V4(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]));
        (s, d, ip[9], (ip[0] & 0xf) as usize * 4)
    } else {
        let s: [u8; 16] = ip[8..24].try_into().unwrap();
        let d: [u8; 16] = ip[24..40].try_into().unwrap();
        (
            IpAddr::V6(Ipv6Addr::from(s)),
            IpAddr::V6(Ipv6Addr::from(d)),
            ip[6],
            40,
        )
    };
    let len = (ip.len() - off) as u32;
    let mut w = addr_words(src);
    w.extend(addr_words(dst));
    w.extend([(len >> 16) as u16, len as u16, proto as u16]);
    (off + if proto == 6 { 16 } else { 6 }, fold_sum(w))
}

/// The packet as captured where its sender offloaded the checksum.
fn partial(mut ip: Vec<u8>) -> Vec<u8> {
    let (at, v) = l4_field(&ip);
    ip[at..at + 2].copy_from_slice(&v.to_be_bytes());
    ip
}

/// A wrong checksum that is not the partial one either (corrupted on the wire).
fn garbage(mut ip: Vec<u8>) -> Vec<u8> {
    let (at, v) = l4_field(&ip);
    let good = u16::from_be_bytes([ip[at], ip[at + 1]]);
    let bad = (good ^ 0x5a5a, v ^ 0x5a5a);
    let bad = if bad.0 == v { bad.1 } else { bad.0 };
    ip[at..at + 2].copy_from_slice(&bad.to_be_bytes());
    ip
}

/// Runs `frames` through the kernel and fwcheck under `mode`; returns the kernel's verdicts
/// after asserting fwcheck agrees on every frame.
fn run(
    rules: &str,
    family: Family,
    host: IpAddr,
    frames: &[Vec<u8>],
    mode: ChecksumMode,
) -> Vec<String> {
    let loaded = load_str(
        "checksums.rules",
        rules,
        ParseOptions {
            family,
            ..ParseOptions::default()
        },
    );
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec![host],
            checksums: mode,
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(frames), sim, Pacing::AsFastAsPossible)
        .unwrap_or_else(|e| panic!("{mode:?}: {e}"));
    assert_eq!(
        cmp.mismatches,
        0,
        "{mode:?}: fwcheck differs from the kernel\n{}",
        cmp.render(true)
    );
    assert_eq!(cmp.uncertain, 0, "{mode:?}: {}", cmp.render(true));
    cmp.frames
        .iter()
        .map(|f| f.kernel.unwrap_or("SKIP").to_string())
        .collect()
}

fn ipv4_checksums_verify_auto_ignore() {
    let (c, h) = (CLIENT, HOST);
    let data = |seq: u32, ack: u32, id: u16| {
        let seg = tcp_seg(
            c.into(),
            h.into(),
            40000,
            22,
            seq,
            ack,
            PSH | ACK,
            b"SSH-2.0-x\r\n",
        );
        ipv4(c, h, 6, id, &seg)
    };
    let frames = vec![
        // 1-4: an SSH session whose client-side packets carry offloaded checksums (captured on
        // a veth / VM: the sender's stack never filled them in); the host's SYN/ACK is correct.
        partial(tcp4(c, h, 40000, 22, 1000, 0, SYN, 1)),
        tcp4(h, c, 22, 40000, 5000, 1001, SYN | ACK, 2),
        partial(tcp4(c, h, 40000, 22, 1001, 5001, ACK, 3)),
        partial(data(1001, 5001, 4)),
        // 5: a SYN with a checksum that is simply wrong (corrupted on the wire).
        garbage(tcp4(c, h, 40001, 22, 7000, 0, SYN, 5)),
        // 6-7: DNS queries, offloaded and corrupted.
        partial(udp4(
            c,
            h,
            5353,
            53,
            6,
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",
        )),
        garbage(udp4(
            c,
            h,
            5354,
            53,
            7,
            b"\x12\x35\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",
        )),
        // 8: a ping whose ICMP checksum is wrong (ICMP is never offloaded by a sender).
        {
            let mut p = ping4(c, h, false, 8);
            p[22] ^= 0x33;
            p
        },
    ];
    let a = "ACCEPT";
    let d = "DROP";
    // verify: every wrong checksum is INVALID, the partial ones included; the host's SYN/ACK
    // leaves (outbound checksums are never verified) but the session never establishes.
    assert_eq!(
        run(RULES, Family::V4, h.into(), &frames, ChecksumMode::Verify),
        [d, a, d, d, d, d, d, d]
    );
    // auto: the offloaded ones pass, the corrupted ones are still INVALID.
    assert_eq!(
        run(RULES, Family::V4, h.into(), &frames, ChecksumMode::Auto),
        [a, a, a, a, d, a, d, d]
    );
    // ignore: nothing is verified.
    assert_eq!(
        run(RULES, Family::V4, h.into(), &frames, ChecksumMode::Ignore),
        [a, a, a, a, a, a, a, a]
    );
}

fn ipv6_partial_checksums_are_offloaded_in_auto() {
    let (c, h) = (CLIENT6, HOST6);
    let frames = vec![
        partial(tcp6(c, h, 40000, 22, 1000, 0, SYN)),
        tcp6(h, c, 22, 40000, 5000, 1001, SYN | ACK),
        partial(tcp6(c, h, 40000, 22, 1001, 5001, ACK)),
        garbage(tcp6(c, h, 40001, 22, 7000, 0, SYN)),
    ];
    let (a, d) = ("ACCEPT", "DROP");
    assert_eq!(
        run(RULES6, Family::V6, h.into(), &frames, ChecksumMode::Verify),
        [d, a, d, d]
    );
    assert_eq!(
        run(RULES6, Family::V6, h.into(), &frames, ChecksumMode::Auto),
        [a, a, a, d]
    );
}

const RULES_VXLAN: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 4789 -j ACCEPT\n\
COMMIT\n";

/// A VXLAN datagram (UDP 4789, VNI 42, an inner Ethernet frame) carrying `inner`, an IPv4
/// packet whose TCP/UDP checksum is partial, with its outer UDP checksum as `udp_set_csum`
/// writes it for a `CHECKSUM_PARTIAL` skb: local checksum offload (`lco_csum`: the outer bytes
/// up to the inner transport header, plus the complement of the inner seed).
fn vxlan_lco(sport: u16, id: u16, inner: &[u8]) -> Vec<u8> {
    let mut payload = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
    payload.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
    let csum_start = 20 + 8 + payload.len() + (inner[0] & 0xf) as usize * 4;
    let (at, seed) = l4_field(inner);
    assert_eq!(
        &inner[at..at + 2],
        &seed.to_be_bytes(),
        "inner checksum partial"
    );
    payload.extend_from_slice(inner);
    let mut ip = udp4(CLIENT, HOST, sport, 4789, id, &payload);
    ip[26..28].copy_from_slice(&[0, 0]);
    let len = (ip.len() - 20) as u32;
    let mut w = addr_words(CLIENT.into());
    w.extend(addr_words(HOST.into()));
    w.extend([(len >> 16) as u16, len as u16, 17, !seed]);
    w.extend(
        ip[20..csum_start]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]])),
    );
    let check = match !fold_sum(w) {
        0 => 0xffff, // CSUM_MANGLED_0
        c => c,
    };
    ip[26..28].copy_from_slice(&check.to_be_bytes());
    ip
}

/// VXLAN between veths with offloads on: the overlay's checksums are partial, so the outer UDP
/// checksum is local checksum offload's, right only once the inner one is filled in. The
/// skb stays `CHECKSUM_PARTIAL` (the oracle writes it with `csum_start` at the inner
/// transport header): conntrack verifies nothing. Under `auto` fwcheck completes the inner
/// checksum to check the outer one; a corrupted outer checksum is still INVALID.
fn vxlan_outer_checksum_by_local_checksum_offload() {
    let (i, j) = (Ipv4Addr::new(10, 77, 0, 2), Ipv4Addr::new(10, 77, 0, 1));
    let syn = partial(tcp4(i, j, 44348, 80, 1000, 0, SYN, 1));
    let dns = partial(udp4(i, j, 5353, 53, 2, b"q0!"));
    let mut corrupted = vxlan_lco(33313, 3, &syn);
    corrupted[27] ^= 0x01;
    let frames = vec![
        vxlan_lco(33311, 1, &syn),
        vxlan_lco(33312, 2, &dns),
        corrupted,
        // The outer checksum computed over the bytes as they are: right.
        udp4(CLIENT, HOST, 33314, 4789, 4, &{
            let mut p = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
            p.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
            p.extend_from_slice(&syn);
            p
        }),
    ];
    let (a, d) = ("ACCEPT", "DROP");
    let h = IpAddr::from(HOST);
    assert_eq!(
        run(RULES_VXLAN, Family::V4, h, &frames, ChecksumMode::Verify),
        [d, d, d, a]
    );
    assert_eq!(
        run(RULES_VXLAN, Family::V4, h, &frames, ChecksumMode::Auto),
        [a, a, d, a]
    );
    assert_eq!(
        run(RULES_VXLAN, Family::V4, h, &frames, ChecksumMode::Ignore),
        [a, a, a, a]
    );
}

/// `frames` as a capture with a short snap length shows them: frame `i` (0-based) in
/// `cut_at` holds only its first `keep` bytes, the rest whole.
fn with_cut(frames: &[Vec<u8>], cut_at: &[usize], keep: usize) -> Vec<fwcheck::packet::Packet> {
    use fwcheck::packet::decode::{decode_ip, FrameMeta};
    frames
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let meta = FrameMeta {
                frame: i as u64 + 1,
                ts: fwcheck::packet::Timestamp((i as u64 + 1) * 1_000_000),
                linktype: 101,
                interface: 0,
                wire_len: b.len() as u32,
            };
            let mut link = fwcheck::packet::LinkInfo::default();
            link.linktype = 101;
            let bytes = if cut_at.contains(&i) {
                &b[..keep]
            } else {
                &b[..]
            };
            decode_ip(&meta, link, bytes, b.len(), None).expect("decodes")
        })
        .collect()
}

/// fwcheck's verdict, certainty and alternatives for each packet.
fn judged_cut(
    rules: &str,
    packets: Vec<fwcheck::packet::Packet>,
) -> Vec<(String, bool, Vec<String>)> {
    let loaded = load_str("cut.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec![HOST.into()],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    fwcheck::trace::trace_packets(&loaded.ruleset, sim, packets)
        .iter()
        .map(|t| {
            let r = &t.record;
            (
                r.verdict.unwrap_or("-").to_string(),
                r.certain,
                r.alternatives
                    .iter()
                    .map(|a| a.verdict.unwrap_or("-").to_string())
                    .collect(),
            )
        })
        .collect()
}

/// A capture whose snap length cut off part of a segment's payload does not say whether its
/// transport checksum, which conntrack verifies at PREROUTING, was good. The kernel is given
/// both worlds — the segment whole with its checksum good, and with it corrupted — and
/// fwcheck, given the cut segment, must take the good world's verdict, certain exactly where
/// the two worlds' verdicts agree, with the bad world's verdict as its alternative where they
/// do not. A new connection's first packet (a SYN, a DNS query) is uncertain outright: with a
/// bad checksum it would have created no connection.
fn a_cut_checksum_weighs_both_worlds() {
    let (c, h) = (CLIENT, HOST);
    let data = |seq: u32, id: u16| {
        let seg = tcp_seg(
            c.into(),
            h.into(),
            40000,
            22,
            seq,
            5001,
            PSH | ACK,
            &[0x55; 200],
        );
        ipv4(c, h, 6, id, &seg)
    };
    let session = |fourth: Vec<u8>| {
        vec![
            tcp4(c, h, 40000, 22, 1000, 0, SYN, 1),
            tcp4(h, c, 22, 40000, 5000, 1001, SYN | ACK, 2),
            tcp4(c, h, 40000, 22, 1001, 5001, ACK, 3),
            fourth,
            udp4(c, h, 5353, 53, 5, &[0x12; 120]),
        ]
    };
    let good = session(data(1001, 4));
    let bad = {
        let mut f = good.clone();
        f[3] = garbage(f[3].clone());
        f[4] = garbage(f[4].clone());
        f
    };
    // RULES: INVALID dropped, ESTABLISHED accepted: the worlds part for the data segment.
    // STATELESS_FIRST: port 22 accepted before any conntrack rule: they agree.
    // INVALID_TOO: INVALID and ESTABLISHED accepted alike: they agree.
    const STATELESS_FIRST: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n\
        :OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
        -A INPUT -m conntrack --ctstate INVALID -j DROP\n\
        -A INPUT -p udp -m udp --dport 53 -j ACCEPT\nCOMMIT\n";
    const INVALID_TOO: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n\
        :OUTPUT ACCEPT [0:0]\n\
        -A INPUT -m conntrack --ctstate INVALID,RELATED,ESTABLISHED -j ACCEPT\n\
        -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
        -A INPUT -p udp -m udp --dport 53 -j ACCEPT\nCOMMIT\n";
    let (a, d) = ("ACCEPT", "DROP");
    for (rules, want_good, want_bad) in [
        (RULES, [a, a, a, a, a], [a, a, a, d, d]),
        (STATELESS_FIRST, [a, a, a, a, a], [a, a, a, a, d]),
        (INVALID_TOO, [a, a, a, a, a], [a, a, a, a, a]),
    ] {
        let kernel_good = run(rules, Family::V4, h.into(), &good, ChecksumMode::Auto);
        let kernel_bad = run(rules, Family::V4, h.into(), &bad, ChecksumMode::Auto);
        assert_eq!(kernel_good, want_good, "{rules}");
        assert_eq!(kernel_bad, want_bad, "{rules}");
        // The data segment and the DNS query cut after 60 bytes (headers whole).
        let mine = judged_cut(rules, with_cut(&good, &[3, 4], 60));
        for (i, (verdict, certain, alts)) in mine.iter().enumerate() {
            assert_eq!(verdict, kernel_good[i].as_str(), "{rules} frame {}", i + 1);
            let worlds_agree = kernel_good[i] == kernel_bad[i];
            // The data segment is certain where the worlds agree; the query opens a
            // connection, uncertain in every ruleset.
            let want_certain = if i == 4 { false } else { worlds_agree };
            assert_eq!(*certain, want_certain, "{rules} frame {}: {mine:?}", i + 1);
            if !worlds_agree && i == 3 {
                assert_eq!(alts, &[kernel_bad[i].clone()], "{rules} frame {}", i + 1);
            }
        }
    }
}

kernel_tests!(
    ipv4_checksums_verify_auto_ignore,
    ipv6_partial_checksums_are_offloaded_in_auto,
    a_cut_checksum_weighs_both_worlds,
    vxlan_outer_checksum_by_local_checksum_offload,
);
