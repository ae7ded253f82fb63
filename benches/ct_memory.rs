//! Memory per tracked connection: 1,000,000 concurrent connections (UDP, then TCP after a SYN)
//! in one conntrack table, measured as the growth of the process's resident set, and the
//! bound `nf_conntrack_max` puts on a flood of 2,000,000 more.
//!
//! Run: `cargo bench --bench ct_memory`. `FWCHECK_BENCH_CONNS` (default 1000000).
//! Target (issue 13): 1 M concurrent connections in ≤ 512 MiB.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use fwcheck::conntrack::{conntrack_in, Attach, Conntrack, CtHook, Params, Template};
use fwcheck::packet::build::{build, L4Spec, PacketSpec};
use fwcheck::packet::decode::{decode_ip, FrameMeta};
use fwcheck::packet::{LinkInfo, Packet, Timestamp};

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn packet(i: u32, tcp: bool) -> Packet {
    // Distinct (source, port) pairs: 60,000 ports per source in 10.0.0.0/8.
    let src = IpAddr::V4(Ipv4Addr::from(0x0A00_0000u32 | (i / 60_000)));
    let dst = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    let sport = 1024 + (i % 60_000) as u16;
    let dport = if tcp { 443 } else { 53 };
    let l4 = if tcp {
        L4Spec::Tcp {
            sport,
            dport,
            seq: 1000,
            ack: 0,
            flags: 0x02,
            window: 64240,
            options: Vec::new(),
        }
    } else {
        L4Spec::Udp { sport, dport }
    };
    let f = build(
        &PacketSpec::new(src, dst, l4),
        1,
        Timestamp(0),
        LinkInfo::default(),
    );
    let meta = FrameMeta {
        frame: i as u64 + 1,
        ts: Timestamp(0),
        linktype: 101,
        interface: 0,
        wire_len: 0,
    };
    decode_ip(&meta, LinkInfo::default(), &f.data, f.data.len(), None).expect("decodes")
}

fn fill(ct: &mut Conntrack, p: &Params, n: u32, base: u32, tcp: bool) -> (u32, u32) {
    let (mut kept, mut dropped) = (0, 0);
    for i in base..base + n {
        let pkt = packet(i, tcp);
        let o = conntrack_in(
            ct,
            &pkt,
            CtHook::PreRouting,
            Attach::None,
            Template::default(),
            p,
            1000,
            1,
        );
        if o.drop.is_some() {
            dropped += 1;
            continue;
        }
        if let Some(id) = o.new {
            ct.confirm(id, 1000);
            kept += 1;
        }
        if let Attach::Ct { id, .. } = o.attach {
            ct.release(id);
        }
    }
    (kept, dropped)
}

/// One measurement per process (`FWCHECK_BENCH_PART`), so freed memory of one cannot hide
/// the growth of the next.
fn part(which: &str, n: u32) {
    match which {
        "udp" | "tcp" => {
            let tcp = which == "tcp";
            let p = Params {
                ct_max: 0,
                ..Params::default()
            };
            let before = rss_bytes();
            let t = Instant::now();
            let mut ct = Conntrack::new();
            let (kept, _) = fill(&mut ct, &p, n, 0, tcp);
            let grown = rss_bytes().saturating_sub(before);
            println!(
                "{} {kept} concurrent connections: RSS +{:.1} MiB, {} bytes/entry, {:.2?}",
                which.to_uppercase(),
                grown as f64 / (1 << 20) as f64,
                grown / kept.max(1) as u64,
                t.elapsed()
            );
            assert_eq!(ct.live(), n as usize);
        }
        _ => {
            // A flood against the kernel's default nf_conntrack_max: the table stops there.
            let p = Params::default();
            let mut ct = Conntrack::new();
            let before = rss_bytes();
            let t = Instant::now();
            let (_, dropped) = fill(&mut ct, &p, 2 * n, 0, true);
            println!(
                "flood of {} SYNs, nf_conntrack_max {}: {} entries held, {} early drops, {dropped} \
                 'table full' drops, RSS +{:.1} MiB, {:.2?}",
                2 * n,
                p.ct_max,
                ct.occupied(),
                ct.stats.early_drop,
                rss_bytes().saturating_sub(before) as f64 / (1 << 20) as f64,
                t.elapsed()
            );
            assert!(ct.occupied() <= p.ct_max as usize);
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let n: u32 = std::env::var("FWCHECK_BENCH_CONNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    if let Ok(which) = std::env::var("FWCHECK_BENCH_PART") {
        part(&which, n);
        return;
    }
    println!(
        "size_of CtEntry {} bytes (+ a boxed TcpCt of {} for TCP)",
        std::mem::size_of::<fwcheck::conntrack::CtEntry>(),
        std::mem::size_of::<fwcheck::conntrack::tcp::TcpCt>()
    );
    let exe = std::env::current_exe().expect("own path");
    for which in ["udp", "tcp", "flood"] {
        let st = std::process::Command::new(&exe)
            .env("FWCHECK_BENCH_PART", which)
            .status()
            .expect("run part");
        assert!(st.success());
    }
}
