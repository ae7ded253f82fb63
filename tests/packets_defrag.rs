//! Fragment reassembly as the kernel does it before conntrack.

mod common;

use std::io::Cursor;
use std::net::IpAddr;

use fwcheck::packet::build::{
    build, fragment_v4, fragment_v6, v4_fragment_bytes, L4Spec, PacketSpec,
};
use fwcheck::packet::capture::CaptureReader;
use fwcheck::packet::decode::{decode_ip, FrameMeta};
use fwcheck::packet::defrag::{DefragEvent, Defragmenter, DropReason};
use fwcheck::packet::{Family, LinkInfo, Packet, Timestamp, L4};
use fwcheck::testkit::fixtures;

fn fragments() -> Vec<Packet> {
    let b = fixtures::fragments_fixture();
    CaptureReader::new(Cursor::new(b))
        .unwrap()
        .map(|x| x.unwrap())
        .collect()
}

#[test]
fn fixture_trains_behave_like_the_kernel() {
    let input = fragments();
    assert_eq!(input.len(), 20);
    let mut d = Defragmenter::new();
    let mut out = Vec::new();
    let mut events = Vec::new();
    for p in input {
        if let Some(q) = d.push(p) {
            out.push(q);
        }
        events.extend(d.drain_events());
    }
    events.extend(d.finish());
    let done: Vec<(u64, Vec<u64>, u16)> = out
        .iter()
        .map(|p| {
            (
                p.frame,
                p.reassembled_from.as_deref().unwrap_or(&[]).to_vec(),
                p.frag.fragments,
            )
        })
        .collect();
    assert_eq!(
        done,
        vec![
            (3, vec![1, 2, 3], 3),
            (6, vec![4, 5, 6], 3),
            (13, vec![10, 11, 13], 3),
            (17, vec![15, 16, 17], 3),
        ]
    );
    for p in &out {
        assert!(p.frag.reassembled);
        assert!(!p.frag.is_fragment());
        assert_eq!(p.l4_checksum_ok, Some(true), "frame {}", p.frame);
        assert!(p.anomalies.is_empty());
        match p.family {
            Family::V4 => {
                assert_eq!(p.ip_len, 20 + 8 + 3000);
                assert!(p.ip_checksum_ok);
                let u = p.udp().unwrap();
                assert_eq!((u.sport, u.dport, u.length), (5000, 6000, 3008));
            }
            Family::V6 => {
                assert_eq!(p.ip_len, 40 + 8 + 3000);
                assert_eq!(p.ip_hdr_len, 40);
                assert_eq!(p.icmp().map(|i| (i.icmp_type, i.id)), Some((128, 77)));
                assert_eq!(p.frag.id, 0xabcd);
            }
        }
    }
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        events,
        vec![
            DefragEvent::QueueDiscarded {
                frame: 8,
                frames: vec![7, 8],
                reason: DropReason::Overlap
            },
            DefragEvent::FragmentDropped {
                frame: 12,
                reason: DropReason::Duplicate
            },
            // Frame 19 arrives 31 s in: every train started before 1.06 s has expired.
            DefragEvent::TimedOut {
                family: Family::V4,
                src: ip("192.0.2.3"),
                dst: ip("203.0.113.10"),
                id: 0x1003,
                frames: vec![9],
                first_ts: Timestamp(1_700_000_000_022_000_000),
                at_end: false
            },
            DefragEvent::TimedOut {
                family: Family::V4,
                src: ip("192.0.2.5"),
                dst: ip("203.0.113.10"),
                id: 0x1005,
                frames: vec![14],
                first_ts: Timestamp(1_700_000_000_040_000_000),
                at_end: false
            },
            DefragEvent::TimedOut {
                family: Family::V4,
                src: ip("192.0.2.7"),
                dst: ip("203.0.113.10"),
                id: 0x1007,
                frames: vec![18],
                first_ts: Timestamp(1_700_000_000_060_000_000),
                at_end: false
            },
            DefragEvent::TimedOut {
                family: Family::V4,
                src: ip("192.0.2.7"),
                dst: ip("203.0.113.10"),
                id: 0x1007,
                frames: vec![19, 20],
                first_ts: Timestamp(1_700_000_031_060_000_000),
                at_end: true
            },
        ]
    );
}

fn meta(frame: u64, ts: u64) -> FrameMeta {
    FrameMeta {
        frame,
        ts: Timestamp(ts),
        linktype: 101,
        interface: 0,
        wire_len: 0,
    }
}

fn dec(frame: u64, ts: u64, b: &[u8]) -> Packet {
    decode_ip(&meta(frame, ts), LinkInfo::default(), b, b.len(), None).unwrap()
}

fn datagram(src: &str, id: u16, n: usize) -> Packet {
    let mut s = PacketSpec::new(
        src.parse().unwrap(),
        "203.0.113.10".parse().unwrap(),
        L4Spec::Udp { sport: 1, dport: 2 },
    );
    s.ip_id = id;
    s.payload = (0..n).map(|i| i as u8).collect();
    build(&s, 0, Timestamp(0), LinkInfo::default())
}

#[test]
fn reassembly_restores_the_original_bytes() {
    let orig = datagram("192.0.2.1", 7, 4000);
    let fr = fragment_v4(&orig.data, 1000);
    assert_eq!(fr.len(), 5);
    let mut d = Defragmenter::new();
    let mut got = None;
    // Arrive in reverse order.
    for (k, f) in fr.iter().rev().enumerate() {
        got = d.push(dec(k as u64 + 1, k as u64, f));
    }
    let p = got.expect("complete");
    assert_eq!(p.data, orig.data, "same bytes as before fragmentation");
    assert_eq!(p.frame, 5);

    let mut s6 = PacketSpec::new(
        "2001:db8::1".parse().unwrap(),
        "2001:db8::10".parse().unwrap(),
        L4Spec::Udp { sport: 1, dport: 2 },
    );
    s6.payload = vec![3u8; 2500];
    let o6 = build(&s6, 0, Timestamp(0), LinkInfo::default());
    let mut got = None;
    for (k, f) in fragment_v6(&o6.data, 99, 1000).iter().enumerate() {
        got = d.push(dec(10 + k as u64, 100, f));
    }
    assert_eq!(got.expect("v6 complete").data, o6.data);
}

#[test]
fn superset_fragment_is_an_overlap_and_contained_one_a_duplicate() {
    let orig = datagram("192.0.2.1", 8, 64);
    let hdr = &orig.data[..20];
    let pl = &orig.data[20..];
    let mut d = Defragmenter::new();
    // [0,16) MF, then [0,32) MF covers it and more: overlap, queue gone.
    assert!(d
        .push(dec(1, 0, &v4_fragment_bytes(hdr, &pl[..16], 0, true)))
        .is_none());
    assert!(d
        .push(dec(2, 0, &v4_fragment_bytes(hdr, &pl[..32], 0, true)))
        .is_none());
    let ev: Vec<DefragEvent> = d.drain_events().collect();
    assert_eq!(
        ev,
        vec![DefragEvent::QueueDiscarded {
            frame: 2,
            frames: vec![1, 2],
            reason: DropReason::Overlap
        }]
    );
    // [0,32) then [8,16) inside it: duplicate, the queue lives on and completes.
    assert!(d
        .push(dec(3, 0, &v4_fragment_bytes(hdr, &pl[..32], 0, true)))
        .is_none());
    assert!(d
        .push(dec(4, 0, &v4_fragment_bytes(hdr, &pl[8..16], 8, true)))
        .is_none());
    let p = d.push(dec(5, 0, &v4_fragment_bytes(hdr, &pl[32..], 32, false)));
    assert_eq!(p.map(|p| p.data), Some(orig.data.clone()));
    let ev: Vec<DefragEvent> = d.drain_events().collect();
    assert_eq!(
        ev,
        vec![DefragEvent::FragmentDropped {
            frame: 4,
            reason: DropReason::Duplicate
        }]
    );
}

#[test]
fn ipfrag_max_dist_restarts_a_queue() {
    let a = datagram("192.0.2.1", 1, 64);
    let fa = fragment_v4(&a.data, 32);
    let mut d = Defragmenter::new();
    let mut frame = 0;
    let mut next = || {
        frame += 1;
        frame
    };
    assert!(d.push(dec(next(), 0, &fa[0])).is_none());
    // 65 fragments of other datagrams from the same source in between.
    for id in 100..165u16 {
        let b = datagram("192.0.2.1", id, 64);
        let fb = fragment_v4(&b.data, 32);
        assert!(d.push(dec(next(), 0, &fb[0])).is_none());
    }
    assert!(d.push(dec(next(), 0, &fa[1])).is_none());
    let ev: Vec<DefragEvent> = d.drain_events().collect();
    assert_eq!(
        ev,
        vec![DefragEvent::QueueDiscarded {
            frame: 67,
            frames: vec![1],
            reason: DropReason::TooFar
        }]
    );
    // The restarted queue has only the second fragment; the last and the first one arriving
    // again complete it.
    assert!(d.push(dec(next(), 0, &fa[2])).is_none());
    let p = d
        .push(dec(next(), 0, &fa[0]))
        .expect("complete after restart");
    assert_eq!(p.reassembled_from.as_deref(), Some(&[67u64, 68, 69][..]));
    assert_eq!(p.data, a.data);
}

#[test]
fn ipv6_first_fragment_without_upper_header_passes_through() {
    let mut s6 = PacketSpec::new(
        "2001:db8::1".parse().unwrap(),
        "2001:db8::10".parse().unwrap(),
        L4Spec::Tcp {
            sport: 1,
            dport: 2,
            seq: 0,
            ack: 0,
            flags: 2,
            window: 1,
            options: vec![],
        },
    );
    s6.payload = vec![0u8; 100];
    let o = build(&s6, 0, Timestamp(0), LinkInfo::default());
    // 8 bytes per fragment: the first fragment holds only 8 of the 20 TCP header bytes.
    let fr = fragment_v6(&o.data, 5, 8);
    let mut d = Defragmenter::new();
    let p = d.push(dec(1, 0, &fr[0])).expect("passes through");
    assert!(p.frag.is_fragment());
    assert_eq!(p.l4, L4::Truncated);
    assert!(matches!(
        d.drain_events().next(),
        Some(DefragEvent::PassedThrough { frame: 1, .. })
    ));
}

#[test]
fn non_fragments_pass_unchanged_and_queues_expire_by_capture_time() {
    let a = datagram("192.0.2.1", 1, 64);
    let fa = fragment_v4(&a.data, 32);
    let mut d = Defragmenter::new();
    assert!(d.push(dec(1, 0, &fa[0])).is_none());
    assert_eq!(d.pending(), 1);
    let plain = datagram("192.0.2.9", 2, 10);
    let plain = dec(2, 29_999_999_999, &plain.data);
    assert_eq!(d.push(plain.clone()), Some(plain));
    assert_eq!(d.pending(), 1, "not yet 30 s");
    let later = dec(3, 30_000_000_000, &datagram("192.0.2.9", 3, 10).data);
    d.push(later);
    assert_eq!(d.pending(), 0);
    assert!(matches!(
        d.drain_events().next(),
        Some(DefragEvent::TimedOut { at_end: false, .. })
    ));
}

/// On another clock (the kernel's, in the comparison), the 31 s gap of the last train is
/// whatever that clock says: 2 ms apart, the train completes (the kernel oracle replays the
/// capture as fast as possible and reassembles it).
#[test]
fn queues_expire_on_the_clock_given() {
    let mut d = Defragmenter::new();
    let mut done = Vec::new();
    for (i, p) in fragments().into_iter().enumerate() {
        if let Some(q) = d.push_at(p, Timestamp(i as u64 * 1_000_000)) {
            if q.frag.reassembled {
                done.push(q.frame);
            }
        }
    }
    assert_eq!(done, vec![3, 6, 13, 17, 20]);
}

/// Without connection tracking (kernel facts pinned by `tests/kernel_compare.rs` with
/// `fixtures/kernel/fragments.rules.v4`): IPv4 fragments cross PREROUTING one by one (raw
/// drops the non-first fragments of one train), INPUT sees the reassembled datagram (`-f`
/// never matches there, the UDP port does) carrying the mark its first fragment got in
/// PREROUTING; fragments held in between get no verdict.
#[test]
fn without_conntrack_input_sees_the_datagram() {
    use fwcheck::engine::{SimEnv, SimOptions, Verdict};
    use fwcheck::lint::load_file;
    use fwcheck::replay::replay_file;
    use fwcheck::ruleset::ParseOptions;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let l = load_file(
        &root.join("fixtures/kernel/fragments.rules.v4"),
        ParseOptions::default(),
    )
    .unwrap();
    assert!(!l.has_errors());
    let opts = SimOptions {
        env: SimEnv {
            hosts: vec!["203.0.113.10".parse().unwrap()],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let out = replay_file(&l.ruleset, opts, &root.join("pcaps/fragments.pcap")).unwrap();
    let by = |f: u64| out.iter().find(|o| o.frame == f).unwrap();
    for f in [1, 2, 4, 5, 7, 10, 11, 12, 14] {
        assert_eq!(by(f).verdict, None, "frame {f} is held");
    }
    assert_eq!(by(3).verdict, Some(Verdict::Accept));
    assert_eq!(by(3).fragments, vec![1, 2, 3]);
    assert!(by(3).certain);
    // The datagram matched by its UDP port (only the first fragment has one).
    assert_eq!(by(6).verdict, Some(Verdict::Drop));
    // Non-first fragments dropped by raw PREROUTING one by one.
    assert_eq!(by(8).verdict, Some(Verdict::Drop));
    assert_eq!(by(9).verdict, Some(Verdict::Drop));
    // The datagram carries the mark mangle PREROUTING gave its first fragment.
    assert_eq!(by(13).verdict, Some(Verdict::Drop));
    // In capture time the last train's first fragment expired (31 s gap): never completed.
    assert_eq!(by(20).verdict, None);
}

/// A never-completed first fragment of `len` data bytes: source 198.51.100.x / 203.0.113.y
/// chosen by `n`, IP id from `n`.
fn lone_first_fragment(n: u32, ts: u64, len: usize) -> Packet {
    let src = format!("198.51.{}.{}", 100 + (n >> 24) % 2, (n >> 16) & 0xff);
    let mut p = datagram(&src, n as u16, 2 * len);
    let hl = 20;
    let b = v4_fragment_bytes(&p.data[..hl], &p.data[hl..hl + len], 0, true);
    p = dec(n as u64 + 1, ts, &b);
    p
}

/// `inet_frag_find`: above `ipfrag_high_thresh` (4 MiB) every fragment is dropped, so a flood
/// of never-completed 1,480-byte fragments holds at most ~4 MiB (estimated truesize 2,304 +
/// the queue), whatever its length; memory is given back when the queues time out.
#[test]
fn fragment_flood_is_bounded_by_high_thresh() {
    let mut d = Defragmenter::new();
    let mut dropped = 0;
    for n in 0..20_000u32 {
        assert!(d.push(lone_first_fragment(n, 1_000, 1480)).is_none());
        dropped += d
            .drain_events()
            .filter(|e| {
                matches!(
                    e,
                    DefragEvent::FragmentDropped {
                        reason: DropReason::MemoryLimit,
                        ..
                    }
                )
            })
            .count();
    }
    let per =
        fwcheck::packet::defrag::truesize_estimate(1500 + 14) + fwcheck::packet::defrag::QUEUE_COST;
    assert_eq!(per, 2304 + 192);
    let limit = fwcheck::packet::defrag::DEFAULT_HIGH_THRESH;
    let held = limit / per + 1;
    assert_eq!(d.pending(), held, "queues held up to the limit");
    assert_eq!(dropped, 20_000 - held);
    assert!(d.memory(Family::V4) <= limit + per);
    // 30 s later (ipfrag_time) they all time out and the memory is free again.
    let p = lone_first_fragment(99_999, 1_000 + 30_000_000_000, 1480);
    assert!(d.push(p).is_none());
    assert_eq!(d.pending(), 1);
    assert_eq!(d.memory(Family::V4), per);
}

/// 150,000 first fragments 0.5 ms apart: every push expires what is due from an ordered
/// queue instead of scanning every held queue (this hung before); what is held stays under
/// the memory limit, and every fragment is accounted for (held, dropped or timed out).
#[test]
fn fragment_train_flood_expires_in_order() {
    let mut d = Defragmenter::new();
    let (mut timed_out, mut dropped) = (0, 0);
    let per = fwcheck::packet::defrag::truesize_estimate(20 + 8 + 14)
        + fwcheck::packet::defrag::QUEUE_COST;
    let limit = fwcheck::packet::defrag::DEFAULT_HIGH_THRESH;
    for n in 0..150_000u32 {
        let ts = n as u64 * 500_000;
        assert!(d.push(lone_first_fragment(n, ts, 8)).is_none());
        for e in d.drain_events() {
            match e {
                DefragEvent::TimedOut { .. } => timed_out += 1,
                DefragEvent::FragmentDropped {
                    reason: DropReason::MemoryLimit,
                    ..
                } => dropped += 1,
                e => panic!("{e:?}"),
            }
        }
        assert!(d.pending() <= limit / per + 1);
    }
    assert!(timed_out > 0 && dropped > 0);
    assert_eq!(timed_out + dropped + d.pending(), 150_000);
    assert!(d.peak_mem[0] <= limit + per);
}

/// A fragment the defragmenter drops (a duplicate, or one whose overlap discards its train) is
/// reported as dropped before any table, with the reason, not as held for reassembly.
#[test]
fn dropped_fragments_say_so() {
    use fwcheck::engine::{SimEnv, SimOptions};
    use fwcheck::lint::load_str;
    use fwcheck::replay::{Item, Replayer};
    use fwcheck::ruleset::ParseOptions;
    let orig = datagram("192.0.2.1", 9, 64);
    let hdr = &orig.data[..20];
    let pl = &orig.data[20..];
    let frames = [
        dec(1, 0, &v4_fragment_bytes(hdr, &pl[..32], 0, true)),
        dec(2, 0, &v4_fragment_bytes(hdr, &pl[8..16], 8, true)), // inside: a duplicate
        dec(3, 0, &v4_fragment_bytes(hdr, &pl[..48], 0, true)),  // a superset: overlap
    ];
    let l = load_str(
        "ct.v4",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n",
        ParseOptions::default(),
    );
    let opts = SimOptions {
        env: SimEnv {
            hosts: vec![
                "192.0.2.1".parse().unwrap(),
                "203.0.113.10".parse().unwrap(),
            ],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let mut r = Replayer::new(&l.ruleset, opts);
    let mut reasons = Vec::new();
    for p in &frames {
        r.feed(p, None, &mut |item| {
            if let Item::Packet(_, o) = item {
                reasons.push(o.reason.clone().unwrap_or_default());
            }
        });
    }
    assert_eq!(
        reasons,
        [
            "fragment held for reassembly (conntrack defragments before any table)",
            "fragment dropped before any table (duplicate fragment)",
            "fragment dropped before any table, with its train (overlapping fragment)",
        ]
    );
}

/// A kernel hunt's recording (`tests/data/hunt/frag-completing/record.sh`, Linux 6.18,
/// iptables-nft): under nf_tables a port rule reads a later fragment's bytes as ports, so
/// `fwcheck` cannot tell whether raw PREROUTING dropped the fragment that completes each
/// datagram (the kernel dropped the first datagram's, whose bytes read 9999). The datagram's
/// verdict must carry that doubt: it was certain ACCEPT before, because only an *earlier*
/// fragment's doubt was passed on.
#[test]
fn the_completing_fragments_doubt_reaches_its_datagram() {
    let v = common::json_records(
        "tests/data/hunt/frag-completing",
        &[
            "rules",
            "--pcap",
            "capture.pcap",
            "--host-config",
            "host.json",
            "--conntrack-start",
            "empty",
        ],
    );
    let frame = |n: u64| {
        v.iter()
            .find(|r| r["type"] == "packet" && r["frame"] == n)
            .unwrap_or_else(|| panic!("frame {n}"))
    };
    for n in [2, 4, 10] {
        let p = frame(n);
        assert_eq!(p["certain"], false, "{p}");
        assert!(
            p["reason"]
                .as_str()
                .is_some_and(|r| r.contains("the fragment that completed the datagram")),
            "{p}"
        );
    }
    // A datagram whose fragments were all certain stays certain.
    assert_eq!(frame(13)["certain"], true);
}
