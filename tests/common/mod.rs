//! Test helpers: packets built as decoded values (no capture bytes), and ruleset loading.
#![allow(dead_code, clippy::too_many_arguments)]

use std::net::IpAddr;

use fwcheck::engine::{Engine, Outcome, SimEnv, SimOptions};
use fwcheck::lint::{load_str, Loaded};
use fwcheck::packet::{
    Family, FragInfo, IcmpInfo, InnerPacket, LinkInfo, Packet, TcpInfo, TcpOptions, Timestamp,
    UdpInfo, L4,
};
use fwcheck::ruleset::ParseOptions;

pub const HOST: &str = "203.0.113.10";

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// A ruleset from text; panics on errors.
pub fn rules(text: &str) -> Loaded {
    let l = load_str("test.rules", text, ParseOptions::default());
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    l
}

pub fn engine(l: &Loaded) -> Engine<'_> {
    // A kernel whose conntrack table starts with the packets.
    let env = SimEnv {
        hosts: vec![ip(HOST)],
        conntrack_empty_at_start: true,
        ..SimEnv::default()
    };
    Engine::new(
        &l.ruleset,
        SimOptions {
            env,
            // These tests pin what the kernel does with each packet on its own (an orphan
            // SYN/ACK is INVALID...); recognising the host's answers in a capture is tested in
            // real_captures.rs.
            recognise_answers: false,
            ..SimOptions::default()
        },
    )
}

/// An engine for packets built as from a capture on the host: interfaces from the packets,
/// the host's answers not recognised; `empty`: the conntrack table starts with the packets.
pub fn capture_engine(l: &Loaded, empty: bool) -> Engine<'_> {
    Engine::new(
        &l.ruleset,
        SimOptions {
            env: SimEnv {
                hosts: vec![ip(HOST)],
                iface_from_capture: true,
                conntrack_empty_at_start: empty,
                ..SimEnv::default()
            },
            recognise_answers: false,
            ..SimOptions::default()
        },
    )
}

fn base(
    frame: u64,
    ms: u64,
    src: &str,
    dst: &str,
    proto: u8,
    l4: L4,
    l4len: u32,
    payload: u32,
) -> Packet {
    let src = ip(src);
    let family = if src.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    };
    let hdr = if family == Family::V4 { 20 } else { 40 };
    Packet {
        frame,
        ts: Timestamp(1_700_000_000_000_000_000 + ms * 1_000_000),
        link: LinkInfo::default(),
        family,
        src,
        dst: ip(dst),
        proto,
        ttl: 64,
        tos: 0,
        ip_len: hdr + l4len + payload,
        ip_hdr_len: hdr as u16,
        frag: FragInfo::default(),
        ip_checksum_ok: true,
        l4,
        l4_checksum_ok: Some(true),
        payload_len: payload,
        data: Default::default(),
        ..Packet::default()
    }
}

/// A TCP segment `src:sport > dst:dport` with flags like "S", "SA", "A", "FA", "R", "PA".
pub fn tcp(
    frame: u64,
    ms: u64,
    from: (&str, u16),
    to: (&str, u16),
    flags: &str,
    seq: u32,
    ack: u32,
    payload: u32,
) -> Packet {
    use fwcheck::packet::tcp_flags as F;
    let mut f = 0u8;
    for c in flags.chars() {
        f |= match c {
            'F' => F::FIN,
            'S' => F::SYN,
            'R' => F::RST,
            'P' => F::PSH,
            'A' => F::ACK,
            'U' => F::URG,
            'E' => F::ECE,
            'C' => F::CWR,
            _ => panic!("flag {c}"),
        };
    }
    let th = TcpInfo {
        sport: from.1,
        dport: to.1,
        seq,
        ack,
        flags: f,
        window: 64240,
        doff: 5,
        urgent: 0,
        options: TcpOptions::default(),
    };
    base(frame, ms, from.0, to.0, 6, L4::Tcp(th), 20, payload)
}

pub fn udp(frame: u64, ms: u64, from: (&str, u16), to: (&str, u16), payload: u32) -> Packet {
    let u = UdpInfo {
        sport: from.1,
        dport: to.1,
        length: 8 + payload as u16,
        checksum: 0x1234,
    };
    base(frame, ms, from.0, to.0, 17, L4::Udp(u), 8, payload)
}

pub fn icmp(
    frame: u64,
    ms: u64,
    from: &str,
    to: &str,
    ty: u8,
    code: u8,
    id: u16,
    inner: Option<InnerPacket>,
) -> Packet {
    let i = IcmpInfo {
        icmp_type: ty,
        code,
        id,
        seq: 1,
        inner: inner.map(Box::new),
    };
    let v6 = ip(from).is_ipv6();
    base(
        frame,
        ms,
        from,
        to,
        if v6 { 58 } else { 1 },
        if v6 { L4::Icmpv6(i) } else { L4::Icmp(i) },
        8,
        56,
    )
}

/// Verdict string of an outcome: "ACCEPT", "DROP", "REJECT" or "-".
pub fn v(o: &Outcome) -> &'static str {
    o.verdict.map(|v| v.as_str()).unwrap_or("-")
}

pub fn st(o: &Outcome) -> &'static str {
    o.ctstate.map(|c| c.as_str()).unwrap_or("-")
}

/// `p` carrying `payload` as its bytes after the headers, of which only the first `captured`
/// bytes of the whole packet were captured (`usize::MAX`: all).
pub fn with_payload(mut p: Packet, payload: &[u8], captured: usize) -> Packet {
    let l4hdr = match &p.l4 {
        L4::Tcp(t) => t.doff as usize * 4,
        L4::Udp(_) => 8,
        _ => 0,
    };
    let mut data = vec![0u8; p.ip_hdr_len as usize + l4hdr];
    data.extend_from_slice(payload);
    p.ip_len = data.len() as u32;
    p.payload_len = payload.len() as u32;
    if let L4::Udp(u) = &mut p.l4 {
        u.length = 8 + payload.len() as u16;
    }
    data.truncate(captured);
    p.data = data.into();
    p
}

/// Every outcome of `pkts` run through `e`, then every rule and policy counter of `l`'s
/// tables, as text: what two ways of running the same engine must agree on.
pub fn outcomes_and_counters(
    e: &mut Engine<'_>,
    l: &Loaded,
    pkts: &[Packet],
) -> (Vec<String>, String) {
    let outs = pkts.iter().map(|p| format!("{:?}", e.process(p))).collect();
    let mut ctrs = String::new();
    for (ti, t) in l.ruleset.tables.iter().enumerate() {
        for (ci, c) in t.chains.iter().enumerate() {
            ctrs.push_str(&format!("{}:{:?};", c.name, e.policy_counters(ti, ci)));
            for ri in 0..c.rules.len() {
                ctrs.push_str(&format!("{:?},", e.rule_counters(ti, ci, ri)));
            }
        }
    }
    (outs, ctrs)
}

/// A generated rule's line, `-A CHAIN` then its parts in iptables-save's order: the address
/// and interface options (`head`), `-p` (the start of `l4`), the pre-match `pre`, the rest of
/// `l4` (its `-m` match), the target `action`.
pub fn rule_line(chain: &str, head: [&str; 3], pre: &str, l4: &str, action: &str) -> String {
    let (proto, rest) = l4.split_at(l4.find(" -m ").unwrap_or(l4.len()));
    let [a, b, i] = head;
    format!("-A {chain}{a}{b}{i}{proto}{pre}{rest}{action}\n")
}

/// The packet records of `fwcheck ARGS --format json --fail-on never`, run in `dir` (a path
/// under the crate's root), which must exit 0.
pub fn json_packets(dir: &str, args: &[&str]) -> Vec<serde_json::Value> {
    json_records(dir, args)
        .into_iter()
        .filter(|r| r["type"] == "packet")
        .collect()
}

/// Every record (packets, rules, summary) of `fwcheck ARGS --format json --fail-on never`,
/// run in `dir` (a path under the crate's root), which must exit 0.
pub fn json_records(dir: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .args(["--format", "json", "--fail-on", "never"])
        .current_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .output()
        .expect("run fwcheck");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .collect()
}
