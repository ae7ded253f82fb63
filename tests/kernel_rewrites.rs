//! Header rewrites against the kernel: what the rules after a rewrite read. The `ECN` target
//! (TCP ECE/CWR flags, the IPv4 ECT bits), `TTL`, `TOS` and `DSCP`, the forwarding path's TTL
//! decrement and NAT change the packet in place, checksums included; `-m ecn`, `u32` and
//! `string` read the new bytes (`--tcp-flags` has no names for ECE and CWR). fwcheck computes each IPv4 header checksum update
//! as the kernel makes it; a transport checksum rewritten in place depends on checksum offload,
//! so a `u32` reading it is undecidable, and a `string` search is only where the pattern could
//! lie over it.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::{IpAddr, Ipv4Addr};

use fwcheck::compare::{compare, Comparison};
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::netfilter::Family;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const ECE: u8 = 0x40;
const CWR: u8 = 0x80;

/// Where the rules run: an IPv4 host, an IPv4 router, an IPv6 host.
#[derive(Clone, Copy)]
enum Setup {
    Host,
    Router,
    Host6,
}

fn run(rules: &str, frames: &[Vec<u8>], setup: Setup) -> Comparison {
    let (family, hosts) = match setup {
        Setup::Host6 => (Family::V6, host6()),
        _ => (Family::V4, vec![IpAddr::V4(HOST)]),
    };
    let opts = ParseOptions {
        family,
        ..ParseOptions::default()
    };
    let loaded = load_str("rewrites.rules", rules, opts);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts,
            tcp_loose: true,
            ..SimEnv::default()
        },
        router: matches!(setup, Setup::Router),
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}\n{rules}", cmp.render(true));
    cmp
}

/// The IPv4 header checksum of `frame` after `edit` (recomputed over the whole header).
fn check_after(frame: &[u8], edit: impl Fn(&mut [u8])) -> u16 {
    let mut h = frame[..20].to_vec();
    edit(&mut h);
    h[10] = 0;
    h[11] = 0;
    let c = csum(&h, 0);
    // An incremental update and a recomputation differ only for a sum of zero.
    assert!(c != 0 && c != 0xffff, "pick another IP id");
    c
}

fn syn(dport: u16, flags: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    tcp_ip(
        CLIENT.into(),
        HOST.into(),
        40000 + dport,
        dport,
        1,
        0,
        flags,
        id,
        payload,
    )
}

/// A host: `ECN`, `TTL`, `TOS` and `DSCP` in mangle PREROUTING, and what filter INPUT reads
/// after them.
fn mangle_rewrites_are_what_later_rules_read() {
    let frames = vec![
        syn(80, SYN | ECE | CWR, 1, &[]), // flags cleared: ! --ecn-tcp-ece ! --ecn-tcp-cwr
        syn(81, SYN, 2, &[]),             // ECE set: -m ecn --ecn-tcp-ece, DROP
        syn(82, SYN, 3, &[]),             // ECE set: u32 reads flags 0x42, DROP
        syn(83, SYN, 4, &[]),             // ECE set: u32 reads the TCP checksum, unknown
        syn(84, SYN, 5, &[]),             // ECT 3: u32 reads TOS and the header checksum
        syn(85, SYN, 6, &[]),             // TTL 9: u32 reads TTL and checksum
        syn(86, SYN, 7, &[]),             // TOS 0x10: checksum
        syn(87, SYN, 8, &[]),             // DSCP 0x2e: checksum
        syn(88, SYN, 9, b"hello"),        // ECE set: "hello" found, DROP
        syn(89, SYN, 10, b"world"),       // ECE set: "hello" cannot lie over the checksum
        syn(90, SYN, 11, b"world"),       // TTL 9: u32 with the old TTL, ACCEPT
    ];
    let x84 = check_after(&frames[4], |h| h[1] |= 3);
    let x85 = check_after(&frames[5], |h| h[8] = 9);
    let x86 = check_after(&frames[6], |h| h[1] = 0x10);
    let x87 = check_after(&frames[7], |h| h[1] = 0x2e << 2);
    let rules = format!(
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
        :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -p tcp -m tcp --dport 80 -j ECN --ecn-tcp-remove\n\
        -A PREROUTING -p tcp -m tcp --dport 81:83 -j ECN --ecn-tcp-ece 1\n\
        -A PREROUTING -p tcp -m tcp --dport 84 -j ECN --ecn-ip-ect 3\n\
        -A PREROUTING -p tcp -m tcp --dport 85 -j TTL --ttl-set 9\n\
        -A PREROUTING -p tcp -m tcp --dport 86 -j TOS --set-tos 0x10/0xff\n\
        -A PREROUTING -p tcp -m tcp --dport 87 -j DSCP --set-dscp 0x2e\n\
        -A PREROUTING -p tcp -m tcp --dport 88:89 -j ECN --ecn-tcp-ece 1\n\
        -A PREROUTING -p tcp -m tcp --dport 90 -j TTL --ttl-set 9\nCOMMIT\n\
        *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A INPUT -p tcp -m tcp --dport 80 -m ecn ! --ecn-tcp-ece ! --ecn-tcp-cwr -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 81 -m ecn --ecn-tcp-ece -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 82 -m u32 --u32 \"0>>22&0x3C@12>>16&0xFF=0x42\" -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 83 -m u32 --u32 \"0>>22&0x3C@16>>16=0x1:0xffff\" -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 84 -m u32 --u32 \"0>>16&0xFF=3&&8&0xFFFF={x84}\" -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 85 -m u32 --u32 \"5&0xFF=9&&8&0xFFFF={x85}\" -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 86 -m u32 --u32 \"8&0xFFFF={x86}\" -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 87 -m u32 --u32 \"8&0xFFFF={x87}\" -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 88:89 -m string --string \"hello\" --algo kmp -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 90 -m u32 --u32 \"5&0xFF=64\" -j DROP\nCOMMIT\n"
    );
    let cmp = run(&rules, &frames, Setup::Host);
    let mut want = vec![("DROP", true, "DROP"); 11];
    want[3] = ("DROP", false, "ACCEPT");
    want[9] = ("ACCEPT", true, "ACCEPT");
    want[10] = ("ACCEPT", true, "ACCEPT");
    assert_eq!(judged(&cmp), want, "{}", cmp.render(false));
}

/// A router: FORWARD reads the TTL `ip_forward` decremented and the checksum it updated, and
/// the destination DNAT rewrote; the UDP checksum NAT rewrote is not known.
fn forwarding_and_nat_rewrites_are_what_forward_reads() {
    let far = Ipv4Addr::new(203, 0, 113, 5);
    let to = Ipv4Addr::new(203, 0, 113, 9);
    let frames = vec![
        udp4(CLIENT, far, 40000, 5000, 21, b"payload"), // TTL 63 and its checksum: DROP
        udp4(CLIENT, far, 40001, 53, 22, b"payload"),   // DNATed: new address, checksum
        udp4(CLIENT, far, 40002, 54, 23, b"payload"),   // DNATed: u32 reads the UDP checksum
        udp4(CLIENT, far, 40003, 55, 24, b"payload"),   // DNATed: "zzz" cannot lie over it
        udp4(CLIENT, far, 40004, 5001, 25, b"payload"), // the TTL before: ACCEPT
    ];
    let x0 = check_after(&frames[0], |h| h[8] -= 1);
    let x1 = check_after(&frames[1], |h| {
        h[8] -= 1;
        h[16..20].copy_from_slice(&to.octets());
    });
    let dst = u32::from(to);
    let rules = format!(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        :POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -p udp -m udp --dport 53:55 -j DNAT --to-destination {to}\nCOMMIT\n\
        *filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A FORWARD -p udp -m udp --dport 5000 -m u32 --u32 \"5&0xFF=63&&8&0xFFFF={x0}\" -j DROP\n\
        -A FORWARD -p udp -m udp --dport 53 -m u32 --u32 \"16={dst:#x}&&8&0xFFFF={x1}\" -j DROP\n\
        -A FORWARD -p udp -m udp --dport 54 -m u32 --u32 \"24&0xFFFF=0x1:0xffff\" -j DROP\n\
        -A FORWARD -p udp -m udp --dport 55 -m string --string \"zzz\" --algo bm -j DROP\n\
        -A FORWARD -p udp -m udp --dport 5001 -m u32 --u32 \"5&0xFF=64\" -j DROP\nCOMMIT\n"
    );
    let cmp = run(&rules, &frames, Setup::Router);
    assert_eq!(
        judged(&cmp),
        [
            ("DROP", true, "DROP"),
            ("DROP", true, "DROP"),
            ("DROP", false, "ACCEPT"),
            ("ACCEPT", true, "ACCEPT"),
            ("ACCEPT", true, "ACCEPT"),
        ],
        "{}",
        cmp.render(false)
    );
}

/// `TCPMSS` rewrites the TCP header (an MSS lowered, or one added after a header without
/// options, the packet 4 bytes longer): `u32` still reads the IP header — the total length and
/// the checksum `tcpmss_tg4` updated — and `string` the payload after the header; the TCP
/// header itself is left undecided.
fn tcpmss_leaves_the_ip_header_readable() {
    let mss = |v: u16| {
        let b = v.to_be_bytes();
        vec![2, 4, b[0], b[1]]
    };
    let syn_opts = |dport: u16, opts: &[u8], payload: &[u8], id: u16| {
        let (src, dst) = (CLIENT.into(), HOST.into());
        let seg = tcp_seg_opts(src, dst, 41000 + dport, dport, 1, 0, SYN, opts, payload);
        ipv4(CLIENT, HOST, 6, id, &seg)
    };
    let frames = vec![
        syn_opts(80, &mss(1460), &[], 31), // lowered: length 44, protocol 6
        syn_opts(81, &[], &[], 32),        // grown: length 40 -> 44, checksum
        syn_opts(82, &mss(1460), &[], 33), // u32 reads the MSS option: undecided
        syn_opts(83, &mss(1460), b"hello", 34), // "hello" after the header: found
        syn_opts(84, &mss(1460), b"world", 35), // "hello": could it lie in the header?
    ];
    let x81 = check_after(&frames[1], |h| h[3] += 4);
    let rules = format!(
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
        :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1200\nCOMMIT\n\
        *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A INPUT -p tcp -m tcp --dport 80 -m u32 --u32 \"6&0xFF=6&&0&0xFFFF=44\" -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 81 -m u32 --u32 \"0&0xFFFF=44&&8&0xFFFF={x81}\" -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 82 -m u32 --u32 \"0>>22&0x3C@20&0xFFFF=1200\" -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 83:84 -m string --string \"hello\" --algo kmp -j DROP\n\
        COMMIT\n"
    );
    let cmp = run(&rules, &frames, Setup::Host);
    assert_eq!(
        judged(&cmp),
        [
            ("DROP", true, "DROP"),
            ("DROP", true, "DROP"),
            ("DROP", false, "ACCEPT"),
            ("DROP", true, "DROP"),
            ("ACCEPT", false, "ACCEPT"),
        ],
        "{}",
        cmp.render(false)
    );
}

/// IPv6: `HL`, `TOS` and `DSCP` rewrite the hop limit and the traffic class (across the first
/// two bytes of the header), `TCPMSS` adding an option the payload length, and `u32` reads
/// them.
fn ipv6_rewrites_are_what_later_rules_read() {
    let (s, d) = (CLIENT6, HOST6);
    let udp = |dport: u16| {
        let seg = udp_seg(s.into(), d.into(), 40000 + dport, dport, b"x");
        ipv6(s, d, 17, &seg)
    };
    let mut frames: Vec<_> = [80, 81, 82, 83].map(udp).into();
    // A SYN without options: TCPMSS adds one, the payload length goes from 20 to 24.
    frames.push(ipv6(
        s,
        d,
        6,
        &tcp_seg(s.into(), d.into(), 40084, 84, 1, 0, SYN, &[]),
    ));
    let rules = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
        :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -p udp -m udp --dport 80 -j HL --hl-set 9\n\
        -A PREROUTING -p udp -m udp --dport 81 -j TOS --set-tos 0x10/0xff\n\
        -A PREROUTING -p udp -m udp --dport 82 -j DSCP --set-dscp 0x2e\n\
        -A PREROUTING -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1200\nCOMMIT\n\
        *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A INPUT -p udp -m udp --dport 80 -m u32 --u32 \"4&0xFF=9\" -j DROP\n\
        -A INPUT -p udp -m udp --dport 81 -m u32 --u32 \"0>>20&0xFF=0x10\" -j DROP\n\
        -A INPUT -p udp -m udp --dport 82 -m u32 --u32 \"0>>20&0xFF=0xb8\" -j DROP\n\
        -A INPUT -p udp -m udp --dport 83 -m u32 --u32 \"4&0xFF=64\" -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 84 -m u32 --u32 \"4>>16=24\" -j DROP\nCOMMIT\n";
    let cmp = run(rules, &frames, Setup::Host6);
    assert_eq!(
        judged(&cmp),
        [("DROP", true, "DROP"); 5],
        "{}",
        cmp.render(false)
    );
}

/// `set_ect_tcp` on a datagram too short for a TCP header: `skb_header_pointer` fails and
/// `ecn_tg` returns NF_DROP. The same rule lets a whole SYN through.
fn ecn_drops_a_datagram_without_a_tcp_header() {
    let short = ipv4(CLIENT, HOST, 6, 41, &[0x9c, 0x40, 0, 80, 0, 0, 0, 1]);
    let frames = vec![short, syn(80, SYN, 42, &[])];
    let rules = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
        :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -p tcp -j ECN --ecn-tcp-ece 1\nCOMMIT\n";
    let cmp = run(rules, &frames, Setup::Host);
    assert_eq!(
        judged(&cmp),
        [("DROP", true, "DROP"), ("ACCEPT", true, "ACCEPT")],
        "{}",
        cmp.render(false)
    );
}

/// `hashlimit` keys a DNATed packet by its new destination port, as the kernel hashes the
/// rewritten header: a SYN to 8080 DNATed to port 80 spends the bucket of port 80, so a SYN
/// straight to port 80 finds it empty, and one to 8081 a fresh bucket. (fwcheck read the ports
/// from the captured bytes, NAT's old ones: seed 52525025 of kernel_random.)
fn hashlimit_keys_what_nat_rewrote() {
    let far = Ipv4Addr::new(203, 0, 113, 5);
    let to = Ipv4Addr::new(203, 0, 113, 9);
    let frames = vec![
        tcp4(CLIENT, far, 40000, 8080, 1, 0, SYN, 41), // DNATed to port 80: ACCEPT
        tcp4(CLIENT, to, 40001, 80, 1, 0, SYN, 42),    // port 80's bucket is empty: DROP
        tcp4(CLIENT, far, 40002, 8081, 1, 0, SYN, 43), // a bucket of its own: ACCEPT
    ];
    let rules = format!(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        :POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination {to}:80\nCOMMIT\n\
        *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A FORWARD -p tcp -m hashlimit --hashlimit-upto 1/hour --hashlimit-burst 1 \
        --hashlimit-mode srcip,dstport --hashlimit-name nat -j ACCEPT\nCOMMIT\n"
    );
    let cmp = run(&rules, &frames, Setup::Router);
    assert_eq!(
        judged(&cmp),
        [
            ("ACCEPT", true, "ACCEPT"),
            ("DROP", true, "DROP"),
            ("ACCEPT", true, "ACCEPT"),
        ],
        "{}",
        cmp.render(false)
    );
}

kernel_tests!(
    hashlimit_keys_what_nat_rewrote,
    ecn_drops_a_datagram_without_a_tcp_header,
    ipv6_rewrites_are_what_later_rules_read,
    tcpmss_leaves_the_ip_header_readable,
    mangle_rewrites_are_what_later_rules_read,
    forwarding_and_nat_rewrites_are_what_forward_reads
);
