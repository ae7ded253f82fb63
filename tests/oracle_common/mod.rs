//! Test-only helpers for the kernel oracle tests: a tiny packet builder with correct checksums,
//! frame construction (the harness that ignores the tests where the oracle cannot run is
//! `tests/kernel_harness`).
#![allow(dead_code, clippy::too_many_arguments)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use fwcheck::oracle::{KernelDirection, KernelOutcome, KernelVerdict, OracleFrame};
use fwcheck::packet::Timestamp;

pub const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
pub const HOST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
pub const CLIENT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 7);
pub const HOST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 10);

/// A stateful host that drops INVALID first, accepts its connections' packets and SYNs to port
/// 22 (`tests/kernel_invalid_rst.rs`, `tests/kernel_tcp_reopen.rs`).
pub const INVALID_FIRST_SSH: &str =
    "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -p tcp --dport 22 --syn -j ACCEPT\n\
COMMIT\n";

pub fn host() -> Vec<IpAddr> {
    vec![IpAddr::V4(HOST)]
}
pub fn host6() -> Vec<IpAddr> {
    vec![IpAddr::V6(HOST6)]
}

fn sum(data: &[u8], mut s: u32) -> u32 {
    let mut it = data.chunks_exact(2);
    for c in &mut it {
        s += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [b] = it.remainder() {
        s += (*b as u32) << 8;
    }
    s
}

pub fn csum(data: &[u8], init: u32) -> u16 {
    let mut s = sum(data, init);
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// A TCP segment (header + payload) with a correct checksum for `src`/`dst`.
#[allow(clippy::too_many_arguments)]
pub fn tcp_seg(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    tcp_seg_opts(src, dst, sport, dport, seq, ack, flags, &[], payload)
}

/// [`tcp_seg`] with TCP options `opts` (padded with end-of-list to a multiple of 4 bytes).
#[allow(clippy::too_many_arguments)]
pub fn tcp_seg_opts(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    opts: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut o = opts.to_vec();
    while !o.len().is_multiple_of(4) {
        o.push(0);
    }
    let mut t = Vec::with_capacity(20 + o.len() + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push(((5 + o.len() / 4) as u8) << 4);
    t.push(flags);
    t.extend_from_slice(&64240u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(&o);
    t.extend_from_slice(payload);
    let c = l4_csum(src, dst, 6, &t);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

/// An IP packet around `payload` (protocol `proto`), IPv4 (IP id `id`) or IPv6 by the
/// addresses' family.
pub fn ip_packet(src: IpAddr, dst: IpAddr, proto: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ipv4(s, d, proto, id, payload),
        (IpAddr::V6(s), IpAddr::V6(d)) => ipv6(s, d, proto, payload),
        _ => panic!("one family"),
    }
}

/// Give an IP packet another TOS (IPv6: traffic class) and TTL (hop limit), IPv4's header
/// checksum recomputed.
pub fn set_tos_ttl(p: &mut [u8], tos: u8, ttl: u8) {
    if p[0] >> 4 == 4 {
        p[1] = tos;
        p[8] = ttl;
        p[10] = 0;
        p[11] = 0;
        let c = csum(&p[..20], 0);
        p[10..12].copy_from_slice(&c.to_be_bytes());
    } else {
        p[0] = 0x60 | tos >> 4;
        p[1] = (tos & 0x0f) << 4 | (p[1] & 0x0f);
        p[7] = ttl;
    }
}

pub fn udp_seg(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&len.to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let mut c = l4_csum(src, dst, 17, &u);
    if c == 0 {
        c = 0xffff;
    }
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

pub fn l4_csum(src: IpAddr, dst: IpAddr, proto: u8, seg: &[u8]) -> u16 {
    let mut s = 0u32;
    match (src, dst) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            s = sum(&a.octets(), s);
            s = sum(&b.octets(), s);
            s = sum(&[0, proto], s);
            s = sum(&(seg.len() as u16).to_be_bytes(), s);
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            s = sum(&a.octets(), s);
            s = sum(&b.octets(), s);
            s = sum(&(seg.len() as u32).to_be_bytes(), s);
            s = sum(&[0, 0, 0, proto], s);
        }
        _ => panic!("mixed families"),
    }
    csum(seg, s)
}

/// ICMP (v4) echo request/reply body with checksum.
pub fn icmp_echo(reply: bool, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![if reply { 0 } else { 8 }, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    let c = csum(&m, 0);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// ICMPv6 echo request (128) / reply (129) with checksum.
pub fn icmp6_echo(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    reply: bool,
    id: u16,
    seq: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut m = vec![if reply { 129 } else { 128 }, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    let c = l4_csum(IpAddr::V6(src), IpAddr::V6(dst), 58, &m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// IPv4 packet around `payload` (id, DF set, TTL 64), correct header checksum.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    ipv4_frag(src, dst, proto, id, 0x4000, payload)
}

/// IPv4 packet with an explicit flags/fragment-offset field.
pub fn ipv4_frag(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    id: u16,
    frag: u16,
    payload: &[u8],
) -> Vec<u8> {
    let tot = (20 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&tot.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let c = csum(&p, 0);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.push(next);
    p.push(64);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// A TCP packet with `payload`, IPv4 (IP id `id`) or IPv6 by the addresses' family.
pub fn tcp_ip(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    id: u16,
    payload: &[u8],
) -> Vec<u8> {
    ip_packet(
        src,
        dst,
        6,
        id,
        &tcp_seg(src, dst, sport, dport, seq, ack, flags, payload),
    )
}

/// IPv4 TCP packet.
pub fn tcp4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    id: u16,
) -> Vec<u8> {
    tcp_ip(
        src.into(),
        dst.into(),
        sport,
        dport,
        seq,
        ack,
        flags,
        id,
        &[],
    )
}

pub fn udp4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    id: u16,
    payload: &[u8],
) -> Vec<u8> {
    let seg = udp_seg(IpAddr::V4(src), IpAddr::V4(dst), sport, dport, payload);
    ipv4(src, dst, 17, id, &seg)
}

pub fn ping4(src: Ipv4Addr, dst: Ipv4Addr, reply: bool, seq: u16) -> Vec<u8> {
    ipv4(
        src,
        dst,
        1,
        1000 + seq,
        &icmp_echo(reply, 0x4242, seq, b"fwcheck-oracle-test"),
    )
}

pub fn tcp6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
) -> Vec<u8> {
    tcp_ip(
        src.into(),
        dst.into(),
        sport,
        dport,
        seq,
        ack,
        flags,
        0,
        &[],
    )
}

pub fn ping6(src: Ipv6Addr, dst: Ipv6Addr, reply: bool, seq: u16) -> Vec<u8> {
    ipv6(
        src,
        dst,
        58,
        &icmp6_echo(src, dst, reply, 0x4242, seq, b"fwcheck-oracle-test"),
    )
}

/// Frames numbered 1.., 1 ms apart.
pub fn frames(packets: Vec<Vec<u8>>) -> Vec<OracleFrame> {
    packets
        .into_iter()
        .enumerate()
        .map(|(i, p)| OracleFrame {
            frame: i as u64 + 1,
            ts: Timestamp(1_700_000_000_000_000_000 + i as u64 * 1_000_000),
            ip: Some(p),
        })
        .collect()
}

/// Frames with explicit capture times (ns offsets).
pub fn timed_frames(packets: Vec<(u64, Vec<u8>)>) -> Vec<OracleFrame> {
    packets
        .into_iter()
        .enumerate()
        .map(|(i, (t, p))| OracleFrame {
            frame: i as u64 + 1,
            ts: Timestamp(1_700_000_000_000_000_000 + t),
            ip: Some(p),
        })
        .collect()
}

pub const A: Option<KernelVerdict> = Some(KernelVerdict::Accept);
pub const D: Option<KernelVerdict> = Some(KernelVerdict::Drop);

/// What the kernel did, whether fwcheck was certain, and fwcheck's verdict, per frame.
pub fn judged(cmp: &fwcheck::compare::Comparison) -> Vec<(&'static str, bool, &'static str)> {
    cmp.frames
        .iter()
        .map(|f| {
            (
                f.kernel.unwrap_or("-"),
                f.fwcheck_certain,
                f.fwcheck.unwrap_or("-"),
            )
        })
        .collect()
}

pub fn verdicts(out: &[KernelOutcome]) -> Vec<Option<KernelVerdict>> {
    out.iter().map(|o| o.verdict).collect()
}

pub fn dirs(out: &[KernelOutcome]) -> Vec<KernelDirection> {
    out.iter().map(|o| o.direction).collect()
}

/// Pretty dump for assertion messages.
pub fn dump(out: &[KernelOutcome]) -> String {
    out.iter()
        .map(|o| {
            format!(
                "#{} {:?} {:?} t={}ns {}",
                o.frame,
                o.direction,
                o.verdict,
                o.sent_at_ns,
                o.note.clone().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// IP packets decoded as frames 1.. of a raw-IP capture, 1 ms apart (what
/// `fwcheck::compare::compare` takes).
pub fn decoded<B: AsRef<[u8]>>(
    packets: impl IntoIterator<Item = B>,
) -> Vec<Result<fwcheck::packet::Packet, fwcheck::packet::PacketProblem>> {
    decoded_at(packets, 0)
}

/// [`decoded`] with the first frame at `origin_ns` + 1 ms.
pub fn decoded_at<B: AsRef<[u8]>>(
    packets: impl IntoIterator<Item = B>,
    origin_ns: u64,
) -> Vec<Result<fwcheck::packet::Packet, fwcheck::packet::PacketProblem>> {
    use fwcheck::packet::decode::{decode_ip, FrameMeta};
    packets
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let b = b.as_ref();
            let meta = FrameMeta {
                frame: i as u64 + 1,
                ts: Timestamp(origin_ns + (i as u64 + 1) * 1_000_000),
                linktype: 101,
                interface: 0,
                wire_len: b.len() as u32,
            };
            decode_ip(
                &meta,
                // Raw IP, as the oracle's tun devices see it.
                {
                    let mut link = fwcheck::packet::LinkInfo::default();
                    link.linktype = 101;
                    link
                },
                b,
                b.len(),
                None,
            )
        })
        .collect()
}

/// A file of `fixtures/containers/`.
pub fn container_fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/containers")
            .join(name),
    )
    .expect("fixture")
}

/// The replay options of a forwarding host with the interfaces and routes of `h`, every frame
/// in on `iface`: what the multi-interface kernel comparisons run with.
/// The oracle's host ([`HOST`]) with default options.
pub fn host_sim() -> fwcheck::engine::SimOptions {
    fwcheck::engine::SimOptions {
        env: fwcheck::engine::SimEnv {
            hosts: vec![HOST.into()],
            ..fwcheck::engine::SimEnv::default()
        },
        ..fwcheck::engine::SimOptions::default()
    }
}

pub fn router_sim(h: &fwcheck::host::HostConfig, iface: &str) -> fwcheck::engine::SimOptions {
    let mut env = fwcheck::engine::SimEnv {
        iface: iface.into(),
        ..fwcheck::engine::SimEnv::default()
    };
    env.apply_host(h);
    fwcheck::engine::SimOptions {
        env,
        router: true,
        ..fwcheck::engine::SimOptions::default()
    }
}

/// [`router_sim`] for a host configuration file of `fixtures/containers/`.
pub fn container_sim(host_json: &str, iface: &str) -> fwcheck::engine::SimOptions {
    let mut h = fwcheck::host::HostConfig::default();
    h.load_json(host_json, &container_fixture(host_json))
        .expect("host config");
    router_sim(&h, iface)
}

/// Each compared frame's kernel verdict (`-`: none) and fwcheck's deciding rule.
pub fn kernel_and_rule(cmp: &fwcheck::compare::Comparison) -> Vec<(&'static str, String)> {
    cmp.frames
        .iter()
        .map(|f| {
            (
                f.kernel.unwrap_or("-"),
                f.fwcheck_rule.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// `rules` (named `name`, which must load without errors) and `packets` through the kernel and
/// through fwcheck as the host, as fast as possible: the comparison, with no certain verdict
/// differing from the kernel's.
pub fn compared_on_host<B: AsRef<[u8]>>(
    name: &str,
    rules: &str,
    packets: impl IntoIterator<Item = B>,
) -> fwcheck::compare::Comparison {
    let loaded = fwcheck::lint::load_str(name, rules, fwcheck::ruleset::ParseOptions::default());
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let cmp = fwcheck::compare::compare(
        &loaded,
        decoded(packets),
        host_sim(),
        fwcheck::oracle::Pacing::AsFastAsPossible,
    )
    .expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    cmp
}
