//! Deterministic demonstration/test captures: every format and link type the reader accepts,
//! fragment trains for the defragmenter, malformed frames, a file cut mid-record, and the
//! generator profiles. `FWCHECK_REGEN_PCAPS=1` on `tests/packets_captures.rs` writes them to `pcaps/`; the tests
//! rebuild them and compare byte for byte, so `pcaps/README.md` stays true.
//!
//! Owns nothing the engine needs; it exists so that tests and benchmarks share one
//! definition of each fixture.

use std::net::IpAddr;

use crate::packet::build::{
    build, fragment_v4, fragment_v6, v4_fragment_bytes, ExtHdr, L4Spec, PacketSpec, TcpOpt,
};
use crate::packet::decode::linktype;
use crate::packet::flowspec;
use crate::packet::gen::{self, GenOptions, Profile};
use crate::packet::writer::{
    frame_packet, write_pcap, write_pcap_records, write_pcapng, NgInterface, PcapOptions, Record,
    DEFAULT_HOST_MAC, DEFAULT_PEER_MAC,
};
use crate::packet::{proto, LinkInfo, Packet, PktType, Timestamp};

/// One fixture capture.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// File name under `pcaps/`.
    pub name: &'static str,
    /// What it contains, for the README.
    pub description: &'static str,
    /// The `fwcheck gen` command that makes it, when it is a generator output.
    pub gen_command: Option<&'static str>,
    pub bytes: Vec<u8>,
}

fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

fn pcap_bytes(packets: &[Packet]) -> Vec<u8> {
    let mut v = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_pcap(&mut v, packets);
    v
}

fn records_bytes(o: &PcapOptions, recs: &[Record]) -> Vec<u8> {
    let mut v = Vec::new();
    let _ = write_pcap_records(&mut v, o, recs);
    v
}

fn gen_bytes(opts: &GenOptions) -> Vec<u8> {
    pcap_bytes(&gen::generate(opts))
}

/// A small mixed set of packets (IPv4 TCP session, DNS query/answer, ping, IPv6 TCP session).
pub fn sample_packets() -> Vec<Packet> {
    let specs = flowspec::parse_many(
        "tcp 198.51.100.7:40000 > 203.0.113.10:80; \
         udp 203.0.113.10:41000 > 192.0.2.53:53 reply; \
         icmp echo 192.0.2.77 > 203.0.113.10; \
         tcp [2001:db8:1::7]:40001 > [2001:db8::10]:22",
    )
    .unwrap_or_default();
    let opts = GenOptions {
        host: vec![ip("203.0.113.10"), ip("2001:db8::10")],
        ..GenOptions::default()
    };
    flowspec::build(&specs, &opts)
}

fn framed(lt: u32, packets: &[Packet]) -> Vec<Record> {
    packets
        .iter()
        .map(|p| Record::new(p.ts, frame_packet(lt, p)))
        .collect()
}

fn linktype_fixture(lt: u32) -> Vec<u8> {
    let mut pk = sample_packets();
    // Vary the SLL packet types: what the host sent is "outgoing".
    for p in &mut pk {
        if p.src == ip("203.0.113.10") || p.src == ip("2001:db8::10") {
            p.link.pkt_type = PktType::Outgoing;
        }
    }
    let o = PcapOptions {
        linktype: lt,
        ..PcapOptions::default()
    };
    records_bytes(&o, &framed(lt, &pk))
}

/// Ethernet frame with explicit VLAN tags `(tpid, vid)`, outermost first.
pub(crate) fn vlan_frame(p: &Packet, tags: &[(u16, u16)]) -> Vec<u8> {
    let mut f = Vec::with_capacity(p.data.len() + 30);
    f.extend_from_slice(&p.link.dst_mac.unwrap_or(DEFAULT_HOST_MAC));
    f.extend_from_slice(&p.link.src_mac.unwrap_or(DEFAULT_PEER_MAC));
    for (tpid, vid) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    let et: u16 = if p.src.is_ipv4() { 0x0800 } else { 0x86dd };
    f.extend_from_slice(&et.to_be_bytes());
    f.extend_from_slice(&p.data);
    f
}

fn vlan_fixture() -> Vec<u8> {
    let pk = sample_packets();
    let tag_sets: [&[(u16, u16)]; 4] = [
        &[(0x8100, 10)],
        &[(0x88a8, 100), (0x8100, 20)],
        &[(0x9100, 200), (0x8100, 30)],
        &[(0x8100, 40), (0x8100, 41)],
    ];
    let recs: Vec<Record> = pk
        .iter()
        .enumerate()
        .map(|(i, p)| Record::new(p.ts, vlan_frame(p, tag_sets[i % tag_sets.len()])))
        .collect();
    records_bytes(&PcapOptions::default(), &recs)
}

/// IPv4 time stamps with sub-microsecond parts for the nanosecond formats.
fn ns_jitter(pk: &mut [Packet]) {
    for (i, p) in pk.iter_mut().enumerate() {
        p.ts = Timestamp(p.ts.0 + 123 + i as u64 * 7);
    }
}

fn pcapng_two_interfaces(mixed: bool) -> Vec<u8> {
    let mut pk = sample_packets();
    ns_jitter(&mut pk);
    let ifs = [
        NgInterface {
            linktype: 1,
            tsresol: Some(9),
            name: "eth0".into(),
            addrs: Vec::new(),
        },
        NgInterface {
            linktype: if mixed { 101 } else { 1 },
            tsresol: None,
            name: if mixed { "tun0".into() } else { "eth1".into() },
            addrs: Vec::new(),
        },
    ];
    let recs: Vec<Record> = pk
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let iface = (i % 2) as u32;
            let lt = if iface == 1 && mixed {
                linktype::RAW
            } else {
                linktype::ETHERNET
            };
            let mut r = Record::new(p.ts, frame_packet(lt, p));
            r.interface = iface;
            r
        })
        .collect();
    let mut v = Vec::new();
    let _ = write_pcapng(&mut v, &ifs, &recs);
    v
}

fn pcapng_binary_resolution() -> Vec<u8> {
    let mut pk = sample_packets();
    ns_jitter(&mut pk);
    let ifs = [NgInterface {
        linktype: 1,
        tsresol: Some(0x80 | 20),
        name: "eth0".into(),
        addrs: Vec::new(),
    }];
    let mut v = Vec::new();
    let _ = write_pcapng(&mut v, &ifs, &framed(linktype::ETHERNET, &pk));
    v
}

fn nanosecond_pcap() -> Vec<u8> {
    let mut pk = sample_packets();
    ns_jitter(&mut pk);
    let o = PcapOptions {
        nanosecond: true,
        ..PcapOptions::default()
    };
    records_bytes(&o, &framed(linktype::ETHERNET, &pk))
}

fn big_endian_pcap() -> Vec<u8> {
    let pk = sample_packets();
    let o = PcapOptions {
        big_endian: true,
        ..PcapOptions::default()
    };
    records_bytes(&o, &framed(linktype::ETHERNET, &pk))
}

fn truncated_file() -> Vec<u8> {
    let pk = sample_packets();
    let mut v = pcap_bytes(&pk[..6]);
    let full = pcap_bytes(&pk[..7]);
    // Append the 7th record's header and half its data.
    let extra = &full[v.len()..];
    let cut = 16 + (extra.len() - 16) / 2;
    v.extend_from_slice(&extra[..cut]);
    v
}

fn eth_link(from_remote: bool) -> LinkInfo {
    LinkInfo {
        linktype: 1,
        src_mac: Some(if from_remote {
            DEFAULT_PEER_MAC
        } else {
            DEFAULT_HOST_MAC
        }),
        dst_mac: Some(if from_remote {
            DEFAULT_HOST_MAC
        } else {
            DEFAULT_PEER_MAC
        }),
        ..LinkInfo::default()
    }
}

fn big_udp(src: &str, dst: &str, ip_id: u16, n: usize, fill: u8) -> Packet {
    let mut s = PacketSpec::new(
        ip(src),
        ip(dst),
        L4Spec::Udp {
            sport: 5000,
            dport: 6000,
        },
    );
    s.ip_id = ip_id;
    s.ttl = 55;
    s.payload = (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(fill))
        .collect();
    build(&s, 0, Timestamp(0), eth_link(true))
}

fn raw_eth(p_like: &Packet, ip_bytes: Vec<u8>) -> Vec<u8> {
    let mut q = p_like.clone();
    q.data = ip_bytes.into();
    frame_packet(linktype::ETHERNET, &q)
}

/// Fragment trains (Ethernet): see the README for the list.
pub fn fragments_fixture() -> Vec<u8> {
    let t0 = 1_700_000_000_000_000_000u64;
    let ms = 1_000_000u64;
    let mut recs: Vec<Record> = Vec::new();
    let mut at = |t: u64, f: Vec<u8>| recs.push(Record::new(Timestamp(t0 + t), f));
    // 1. In order: 3 fragments (frames 1-3).
    let a = big_udp("192.0.2.1", "203.0.113.10", 0x1001, 3000, 1);
    for (i, f) in fragment_v4(&a.data, 1480).into_iter().enumerate() {
        at(i as u64 * ms, raw_eth(&a, f));
    }
    // 2. Out of order: 3, 1, 2 (frames 4-6).
    let b = big_udp("192.0.2.2", "203.0.113.10", 0x1002, 3000, 2);
    let fb = fragment_v4(&b.data, 1480);
    for (k, i) in [2usize, 0, 1].into_iter().enumerate() {
        at(10 * ms + k as u64 * ms, raw_eth(&b, fb[i].clone()));
    }
    // 3. Overlap: second fragment starts 8 bytes early → whole queue discarded (frames 7-9);
    //    the last fragment then starts a new queue that never completes.
    let c = big_udp("192.0.2.3", "203.0.113.10", 0x1003, 3000, 3);
    let fc = fragment_v4(&c.data, 1480);
    let hdr = &c.data[..20];
    let payload = &c.data[20..];
    at(20 * ms, raw_eth(&c, fc[0].clone()));
    at(
        21 * ms,
        raw_eth(&c, v4_fragment_bytes(hdr, &payload[1472..2960], 1472, true)),
    );
    at(22 * ms, raw_eth(&c, fc[2].clone()));
    // 4. Exact duplicate of a middle fragment: dropped, the datagram still completes
    //    (frames 10-13).
    let d = big_udp("192.0.2.4", "203.0.113.10", 0x1004, 3000, 4);
    let fd = fragment_v4(&d.data, 1480);
    at(30 * ms, raw_eth(&d, fd[0].clone()));
    at(31 * ms, raw_eth(&d, fd[1].clone()));
    at(32 * ms, raw_eth(&d, fd[1].clone()));
    at(33 * ms, raw_eth(&d, fd[2].clone()));
    // 5. Incomplete: first fragment only (frame 14).
    let e = big_udp("192.0.2.5", "203.0.113.10", 0x1005, 3000, 5);
    at(40 * ms, raw_eth(&e, fragment_v4(&e.data, 1480)[0].clone()));
    // 6. IPv6: ICMPv6 echo request of 3000 bytes in 3 fragments (frames 15-17).
    let mut s6 = PacketSpec::new(
        ip("2001:db8:1::7"),
        ip("2001:db8::10"),
        L4Spec::Icmp {
            icmp_type: 128,
            code: 0,
            id: 77,
            seq: 1,
            quote: None,
        },
    );
    s6.payload = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let p6 = build(&s6, 0, Timestamp(0), eth_link(true));
    for (i, f) in fragment_v6(&p6.data, 0xabcd, 1448).into_iter().enumerate() {
        at(50 * ms + i as u64 * ms, raw_eth(&p6, f));
    }
    // 7. Timeout: first fragment, then the rest 31 s later (frames 18-20): the first train
    //    expires (30 s), the late fragments start a new queue that stays incomplete.
    let g = big_udp("192.0.2.7", "203.0.113.10", 0x1007, 3000, 7);
    let fg = fragment_v4(&g.data, 1480);
    at(60 * ms, raw_eth(&g, fg[0].clone()));
    at(31_060 * ms, raw_eth(&g, fg[1].clone()));
    at(31_061 * ms, raw_eth(&g, fg[2].clone()));
    records_bytes(&PcapOptions::default(), &recs)
}

/// IPv6 packets with extension headers (Ethernet).
pub(crate) fn ipv6_ext_fixture() -> Vec<u8> {
    let src = ip("2001:db8:1::7");
    let dst = ip("2001:db8::10");
    let tcp = |dport: u16| L4Spec::Tcp {
        sport: 40000,
        dport,
        seq: 1000,
        ack: 0,
        flags: 2,
        window: 64800,
        options: vec![TcpOpt::Mss(1440)],
    };
    let cases: Vec<(Vec<ExtHdr>, L4Spec, Vec<u8>)> = vec![
        (
            vec![ExtHdr { kind: proto::HOPOPTS, len: 8 }, ExtHdr { kind: proto::IPV6_OPTS, len: 16 }],
            tcp(22),
            vec![],
        ),
        (
            vec![ExtHdr { kind: proto::IPV6_OPTS, len: 8 }],
            L4Spec::Udp { sport: 5353, dport: 53 },
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01".to_vec(),
        ),
        (vec![ExtHdr { kind: proto::AH, len: 24 }], tcp(443), vec![]),
        (vec![], L4Spec::Raw { proto: proto::ESP }, vec![0, 0, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]),
        (vec![ExtHdr { kind: proto::HOPOPTS, len: 8 }], L4Spec::Raw { proto: proto::IPV6_NONXT }, vec![]),
    ];
    let mut recs = Vec::new();
    let t0 = 1_700_000_000_000_000_000u64;
    for (i, (ext, l4, payload)) in cases.into_iter().enumerate() {
        let mut s = PacketSpec::new(src, dst, l4);
        s.ext = ext;
        s.payload = payload;
        s.ttl = 58;
        let p = build(&s, 0, Timestamp(0), eth_link(true));
        recs.push(Record::new(
            Timestamp(t0 + i as u64 * 1_000_000),
            frame_packet(1, &p),
        ));
    }
    // A lone non-first fragment of a UDP datagram.
    let mut s = PacketSpec::new(src, dst, L4Spec::Udp { sport: 1, dport: 2 });
    s.payload = vec![9u8; 2000];
    let p = build(&s, 0, Timestamp(0), eth_link(true));
    let fr = fragment_v6(&p.data, 0x55, 1232);
    if let Some(f) = fr.get(1) {
        recs.push(Record::new(
            Timestamp(t0 + 9_000_000),
            raw_eth(&p, f.clone()),
        ));
    }
    records_bytes(&PcapOptions::default(), &recs)
}

/// Malformed and odd frames (Ethernet), one per case; see the README.
pub(crate) fn malformed_fixture() -> Vec<u8> {
    let t0 = 1_700_000_000_000_000_000u64;
    let mut recs: Vec<Record> = Vec::new();
    let mut push = |f: Vec<u8>, orig: Option<u32>| {
        let n = recs.len() as u64;
        let mut r = Record::new(Timestamp(t0 + n * 1_000_000), f);
        if let Some(o) = orig {
            r.orig_len = o;
        }
        recs.push(r);
    };
    let base = |dport: u16| {
        let mut s = PacketSpec::new(
            ip("198.51.100.7"),
            ip("203.0.113.10"),
            L4Spec::Tcp {
                sport: 40000,
                dport,
                seq: 1,
                ack: 0,
                flags: 2,
                window: 64240,
                options: vec![],
            },
        );
        s.ttl = 50;
        s.ip_id = 0x4242;
        build(&s, 0, Timestamp(0), eth_link(true))
    };
    let udp = |payload: usize| {
        let mut s = PacketSpec::new(
            ip("192.0.2.9"),
            ip("203.0.113.10"),
            L4Spec::Udp {
                sport: 1234,
                dport: 53,
            },
        );
        s.payload = vec![0x61; payload];
        build(&s, 0, Timestamp(0), eth_link(true))
    };
    let with = |p: &Packet, f: &dyn Fn(&mut Vec<u8>)| {
        let mut d = p.data.to_vec();
        f(&mut d);
        raw_eth(p, d)
    };
    let fix_ip = |d: &mut Vec<u8>| {
        d[10] = 0;
        d[11] = 0;
        let c = crate::packet::checksum::compute(&d[..20]);
        d[10..12].copy_from_slice(&c.to_be_bytes());
    };
    // 1 clean SYN
    let p = base(22);
    push(frame_packet(1, &p), None);
    // 2 bad IP header checksum
    push(with(&p, &|d| d[10] ^= 0xff), None);
    // 3 ihl 4
    push(
        with(&p, &|d| {
            d[0] = 0x44;
        }),
        None,
    );
    // 4 total length beyond the frame (wire = captured)
    push(
        with(&p, &|d| {
            d[2..4].copy_from_slice(&200u16.to_be_bytes());
            fix_ip(d);
        }),
        None,
    );
    // 5 capture cut by snap length: 54 of 1054 bytes
    let mut s = PacketSpec::new(
        ip("198.51.100.8"),
        ip("203.0.113.10"),
        L4Spec::Tcp {
            sport: 40001,
            dport: 80,
            seq: 5,
            ack: 6,
            flags: 0x18,
            window: 502,
            options: vec![],
        },
    );
    s.payload = vec![0x41; 1000];
    let big = build(&s, 0, Timestamp(0), eth_link(true));
    let f = frame_packet(1, &big);
    let orig = f.len() as u32;
    push(f[..54].to_vec(), Some(orig));
    // 6 TCP doff 3
    push(with(&p, &|d| d[32] = 0x30), None);
    // 7 TCP doff 15 in a 20-byte segment
    push(with(&p, &|d| d[32] = 0xf0), None);
    // 8 UDP length beyond the segment
    let u = udp(12);
    push(
        with(&u, &|d| d[24..26].copy_from_slice(&4000u16.to_be_bytes())),
        None,
    );
    // 9 ICMP of 4 bytes
    let mut s = PacketSpec::new(
        ip("192.0.2.77"),
        ip("203.0.113.10"),
        L4Spec::Raw { proto: proto::ICMP },
    );
    s.payload = vec![8, 0, 0xf7, 0xff];
    let ic = build(&s, 0, Timestamp(0), eth_link(true));
    push(frame_packet(1, &ic), None);
    // 10 bad TCP checksum
    push(with(&p, &|d| d[36] ^= 0x55), None);
    // 11 ARP request
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&DEFAULT_PEER_MAC);
    arp.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&DEFAULT_PEER_MAC);
    arp.extend_from_slice(&[192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 203, 0, 113, 10]);
    push(arp, None);
    // 12 LLDP
    let mut lldp = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e];
    lldp.extend_from_slice(&DEFAULT_PEER_MAC);
    lldp.extend_from_slice(&[0x88, 0xcc, 0x02, 0x07, 0x04]);
    lldp.extend_from_slice(&DEFAULT_PEER_MAC);
    lldp.extend_from_slice(&[0x04, 0x03, 0x05, b'p', b'1', 0x06, 0x02, 0, 120, 0, 0]);
    push(lldp, None);
    // 13 ethertype IPv4, version 6
    push(with(&p, &|d| d[0] = 0x65), None);
    // 14 IPv6 payload length beyond the frame
    let mut s6 = PacketSpec::new(
        ip("2001:db8:1::7"),
        ip("2001:db8::10"),
        L4Spec::Udp { sport: 1, dport: 2 },
    );
    s6.payload = vec![1; 8];
    let p6 = build(&s6, 0, Timestamp(0), eth_link(true));
    push(
        with(&p6, &|d| d[4..6].copy_from_slice(&500u16.to_be_bytes())),
        None,
    );
    // 15 Ethernet padding after a 40-byte IP packet (not an error)
    let mut f = frame_packet(1, &p);
    f.resize(60, 0);
    push(f, None);
    // 16 UDP checksum 0 over IPv4 (valid), 17 over IPv6 (invalid)
    push(
        with(&u, &|d| {
            d[26] = 0;
            d[27] = 0;
        }),
        None,
    );
    push(
        with(&p6, &|d| {
            d[46] = 0;
            d[47] = 0;
        }),
        None,
    );
    // 18 frame shorter than an Ethernet header
    push(vec![0x02, 0, 0, 0, 0, 0x0a, 0x02], None);
    records_bytes(&PcapOptions::default(), &recs)
}

/// The shipped fixtures, in README order.
pub fn all() -> Vec<Fixture> {
    let web = GenOptions::default();
    let web6 = GenOptions {
        host: vec![ip("203.0.113.10"), ip("2001:db8::10")],
        ..GenOptions::default()
    };
    let prof = |p: Profile, flows: usize| GenOptions {
        profile: p,
        flows,
        ..GenOptions::default()
    };
    vec![
        Fixture {
            name: "webserver.pcap",
            description: "default webserver profile (seed 1, 12 client sessions), IPv4",
            gen_command: Some("fwcheck gen webserver -o pcaps/webserver.pcap --seed 1"),
            bytes: gen_bytes(&web),
        },
        Fixture {
            name: "webserver-dual.pcap",
            description: "webserver profile for a dual-stack host: the same flows over IPv4 and IPv6",
            gen_command: Some(
                "fwcheck gen webserver -o pcaps/webserver-dual.pcap --seed 1 --host 203.0.113.10 --host 2001:db8::10",
            ),
            bytes: gen_bytes(&web6),
        },
        Fixture {
            name: "scan.pcap",
            description: "scan profile, --flows 4 (32 SYN-scanned ports)",
            gen_command: Some("fwcheck gen scan -o pcaps/scan.pcap --seed 1 --flows 4"),
            bytes: gen_bytes(&prof(Profile::Scan, 4)),
        },
        Fixture {
            name: "dns.pcap",
            description: "dns profile, 12 client queries",
            gen_command: Some("fwcheck gen dns -o pcaps/dns.pcap --seed 1"),
            bytes: gen_bytes(&prof(Profile::Dns, 12)),
        },
        Fixture {
            name: "ping-flood.pcap",
            description: "ping-flood profile, --flows 5 (200 echo requests at 1 ms)",
            gen_command: Some("fwcheck gen ping-flood -o pcaps/ping-flood.pcap --seed 1 --flows 5"),
            bytes: gen_bytes(&prof(Profile::PingFlood, 5)),
        },
        Fixture {
            name: "knock.pcap",
            description: "knock profile: good knock + SSH, wrong-order knock, no knock",
            gen_command: Some("fwcheck gen knock -o pcaps/knock.pcap --seed 1"),
            bytes: gen_bytes(&prof(Profile::Knock, 12)),
        },
        Fixture {
            name: "ftp.pcap",
            description: "ftp profile, --flows 3: a passive (227), an extended passive (229) and an active (PORT) download, each control connection with its data connection, and a SYN to a data port nobody announced",
            gen_command: Some("fwcheck gen ftp -o pcaps/ftp.pcap --seed 1 --flows 3"),
            bytes: gen_bytes(&prof(Profile::Ftp, 3)),
        },
        Fixture {
            name: "flows.pcap",
            description: "the sample flow specs (see sample_packets): TCP/80 session, DNS query+reply, ping, IPv6 TCP/22 session",
            gen_command: Some(
                "fwcheck gen --flow 'tcp 198.51.100.7:40000 > 203.0.113.10:80' --flow 'udp 203.0.113.10:41000 > 192.0.2.53:53 reply' --flow 'icmp echo 192.0.2.77 > 203.0.113.10' --flow 'tcp [2001:db8:1::7]:40001 > [2001:db8::10]:22' --host 203.0.113.10 --host 2001:db8::10 -o pcaps/flows.pcap",
            ),
            bytes: pcap_bytes(&sample_packets()),
        },
        Fixture {
            name: "two-interfaces.pcapng",
            description: "pcapng, two Ethernet interfaces: 0 with if_tsresol=9 (ns), 1 with the default resolution (µs); the sample packets alternate between them",
            gen_command: None,
            bytes: pcapng_two_interfaces(false),
        },
        Fixture {
            name: "mixed-linktypes.pcapng",
            description: "pcapng, interface 0 Ethernet (if_tsresol=9), interface 1 raw IP (default µs); valid pcapng that Wireshark and fwcheck read, libpcap/tcpdump refuse (one link type per file)",
            gen_command: None,
            bytes: pcapng_two_interfaces(true),
        },
        Fixture {
            name: "tsresol-2pow20.pcapng",
            description: "pcapng, Ethernet, if_tsresol=0x94 (2^-20 s units)",
            gen_command: None,
            bytes: pcapng_binary_resolution(),
        },
        Fixture {
            name: "nanosecond.pcap",
            description: "classic pcap with nanosecond time stamps (magic a1b23c4d)",
            gen_command: None,
            bytes: nanosecond_pcap(),
        },
        Fixture {
            name: "big-endian.pcap",
            description: "classic pcap written big-endian",
            gen_command: None,
            bytes: big_endian_pcap(),
        },
        Fixture {
            name: "sll.pcap",
            description: "Linux cooked capture (LINKTYPE_LINUX_SLL 113); the host's packets are 'outgoing'",
            gen_command: None,
            bytes: linktype_fixture(linktype::LINUX_SLL),
        },
        Fixture {
            name: "sll2.pcap",
            description: "Linux cooked capture v2 (LINKTYPE_LINUX_SLL2 276)",
            gen_command: None,
            bytes: linktype_fixture(linktype::LINUX_SLL2),
        },
        Fixture {
            name: "raw.pcap",
            description: "raw IP (LINKTYPE_RAW 101), IPv4 and IPv6",
            gen_command: None,
            bytes: linktype_fixture(linktype::RAW),
        },
        Fixture {
            name: "null.pcap",
            description: "BSD loopback (LINKTYPE_NULL 0), little-endian address family",
            gen_command: None,
            bytes: linktype_fixture(linktype::NULL),
        },
        Fixture {
            name: "loop.pcap",
            description: "OpenBSD loopback (LINKTYPE_LOOP 108), big-endian address family",
            gen_command: None,
            bytes: linktype_fixture(linktype::LOOP),
        },
        Fixture {
            name: "vlan.pcap",
            description: "Ethernet with 802.1Q, 802.1ad+802.1Q (QinQ), 0x9100+802.1Q and double 802.1Q tags",
            gen_command: None,
            bytes: vlan_fixture(),
        },
        Fixture {
            name: "truncated.pcap",
            description: "6 complete records, then a record cut in the middle of its data",
            gen_command: None,
            bytes: truncated_file(),
        },
        Fixture {
            name: "fragments.pcap",
            description: "IPv4/IPv6 fragment trains: in order, out of order, overlapping, duplicate, incomplete, IPv6, timed out",
            gen_command: None,
            bytes: fragments_fixture(),
        },
        Fixture {
            name: "ipv6-ext.pcap",
            description: "IPv6 with hop-by-hop+destination options (TCP), destination options (UDP), AH (TCP), ESP, no-next-header, and a lone non-first fragment",
            gen_command: None,
            bytes: ipv6_ext_fixture(),
        },
        Fixture {
            name: "malformed.pcap",
            description: "one malformed or odd frame per case (bad IP checksum, ihl 4, total length beyond frame, snap-length cut, TCP doff 3 and 15, UDP length beyond segment, 4-byte ICMP, bad TCP checksum, ARP, LLDP, version mismatch, IPv6 payload beyond frame, Ethernet padding, UDP checksum 0 over IPv4 and IPv6, runt frame)",
            gen_command: None,
            bytes: malformed_fixture(),
        },
        Fixture {
            name: "tcp-edge.pcap",
            description: "TCP edge cases for the kernel comparison: mid-stream pickups both ways, retransmissions, RST/FIN orders, reopening, window violations, simultaneous open, window scaling, keep-alives, bad flags (see Details)",
            gen_command: None,
            bytes: crate::testkit::scenario::tcp_edge(),
        },
        Fixture {
            name: "icmp-edge.pcap",
            description: "ICMP errors RELATED to a connection or INVALID, ICMP types that cannot start a connection, pings, closed ports (see Details)",
            gen_command: None,
            bytes: crate::testkit::scenario::icmp_edge(),
        },
        Fixture {
            name: "proto-edge.pcap",
            description: "GRE (plain and PPTP), ESP, AH, IPIP, an unassigned protocol, UDP-Lite, DCCP, SCTP associations, IPv4 fragment trains both ways (see Details)",
            gen_command: None,
            bytes: crate::testkit::scenario::proto_edge(),
        },
        Fixture {
            name: "ipv6-edge.pcap",
            description: "IPv6: NDP and MLD, echo and node information, ICMPv6 errors RELATED or INVALID, unknown types, TCP/UDP, fragments (see Details)",
            gen_command: None,
                        bytes: crate::testkit::scenario::ipv6_edge(),
        },
        Fixture {
            name: "forward-edge.pcap",
            description: "router traffic (--router), IPv4 and IPv6: sessions through, TTL/hop limits, DNAT, MASQUERADE, untracked, RELATED errors, fragments, unforwardable addresses (see Details)",
            gen_command: None,
            bytes: crate::testkit::scenario::forward_edge(),
        },
        Fixture {
            name: "docker-published.pcap",
            description: "outside clients of the Docker host fixture (fixtures/containers/docker-host.*, 192.0.2.10 on eth0) as tcpdump -Q in records them on eth0: SYNs to the published ports 8080 (two clients and a retransmission) and 5432, to 22 (SSH) and 3306 (not published, and a retransmission), UDP to 5432 (see Details)",
            gen_command: None,
            bytes: crate::testkit::scenario::docker_published(),
        },
        Fixture {
            name: "rt-limit.pcap",
            description: "real time (7.3 s): echo requests at 1, 40 and 150 ms intervals against rate limits, UDP against hashlimit byte mode and rate matching (see Details)",
            gen_command: None,
            bytes: crate::testkit::scenario::rt_limit(),
        },
        Fixture {
            name: "rt-knock.pcap",
            description: "real time (12.1 s): port-knock sequences (correct, out of order, too slow, interrupted) and SSH SYNs (see Details)",
            gen_command: None,
            bytes: crate::testkit::scenario::rt_knock(),
        },
        Fixture {
            name: "rt-timeouts.pcap",
            description: "real time (4.5 s): flows around conntrack timeouts shortened by sysctl (see Details)",
            gen_command: None,
            bytes: crate::testkit::scenario::rt_timeouts(),
        },
        Fixture {
            name: "rt-connlimit.pcap",
            description: "real time (0.5 s): connections counted by -m connlimit across jiffies (see Details)",
            gen_command: None,
            bytes: crate::testkit::scenario::rt_connlimit(),
        },
    ]
}
