//! Capture reading: every shipped fixture is reproducible, readable by tcpdump with correct
//! checksums, and decodes as expected (formats, link types, time stamps, malformed frames).

use std::io::Cursor;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;

use fwcheck::packet::capture::{read_all, CaptureError, CaptureFormat, CaptureReader};
use fwcheck::packet::{
    Anomalies, Family, Packet, PacketProblem, PktType, ProblemKind, Timestamp, L4,
};
use fwcheck::testkit::fixtures::{self, sample_packets};

fn pcaps_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pcaps")
}

fn read_bytes(b: Vec<u8>) -> (Vec<Packet>, Vec<PacketProblem>) {
    let r = CaptureReader::new(Cursor::new(b)).expect("opens");
    let mut pk = Vec::new();
    let mut pr = Vec::new();
    for x in r {
        match x {
            Ok(p) => pk.push(p),
            Err(p) => pr.push(p),
        }
    }
    (pk, pr)
}

fn fixture(name: &str) -> Vec<u8> {
    fixtures::all()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
        .bytes
}

/// Every shipped capture equals its recipe. `FWCHECK_REGEN_PCAPS=1 cargo test --release
/// --features testkit --test packets_captures shipped_pcaps` writes them from the recipes first
/// (after changing a recipe in `src/testkit/fixtures.rs`).
#[test]
fn shipped_pcaps_match_their_recipe() {
    let all = fixtures::all();
    assert!(all.len() >= 20);
    if std::env::var_os("FWCHECK_REGEN_PCAPS").is_some_and(|v| v == "1") {
        for f in &all {
            let path = pcaps_dir().join(f.name);
            std::fs::write(&path, &f.bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            eprintln!("{:>8} bytes  {}", f.bytes.len(), path.display());
        }
    }
    for f in &all {
        let path = pcaps_dir().join(f.name);
        let shipped = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            shipped == f.bytes,
            "{} differs from fixtures::all(); regenerate with FWCHECK_REGEN_PCAPS=1 (see this test)",
            f.name
        );
        let readme = std::fs::read_to_string(pcaps_dir().join("README.md")).unwrap();
        assert!(
            readme.contains(f.name),
            "pcaps/README.md does not describe {}",
            f.name
        );
    }
}

/// Checksum complaints in tcpdump -vv output (tcpdump 4.99 wording).
fn tcpdump_complaints(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| {
            l.contains("(incorrect ->")
                || l.contains("bad cksum")
                || l.contains("bad udp cksum")
                || l.contains("wrong icmp cksum")
                || l.contains("bad icmp6 cksum")
        })
        .map(str::to_string)
        .collect()
}

fn tcpdump(path: &std::path::Path) -> Option<String> {
    let out = Command::new("tcpdump")
        .args(["-vv", "-n", "-r"])
        .arg(path)
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn tcpdump_reads_every_shipped_capture_with_correct_checksums() {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        eprintln!("SKIP tcpdump_reads_every_shipped_capture_with_correct_checksums: tcpdump is not installed");
        return;
    }
    let mut checked = 0;
    for f in fixtures::all() {
        let path = pcaps_dir().join(f.name);
        if f.name == "mixed-linktypes.pcapng" {
            // libpcap reads one link type per file and refuses this (valid) pcapng.
            continue;
        }
        let out = tcpdump(&path).expect("tcpdump runs");
        assert!(!out.contains("bad dump file format"), "{}: {out}", f.name);
        let complaints = tcpdump_complaints(&out);
        if f.name == "malformed.pcap" {
            // The deliberately broken frames are flagged (the test of the test).
            let all = complaints.join("\n");
            assert!(all.contains("bad cksum"), "{all}");
            assert!(all.contains("(incorrect ->"), "{all}");
            assert!(all.contains("bad udp cksum"), "{all}");
        } else {
            assert!(complaints.is_empty(), "{}: {:#?}", f.name, complaints);
        }
        // tcpdump sees as many frames as we do (one time-stamped line per frame).
        let frames = out
            .lines()
            .filter(|l| l.len() > 15 && l.as_bytes()[2] == b':' && l.as_bytes()[5] == b':')
            .count() as u64;
        let (pk, pr) = read_bytes(f.bytes.clone());
        let ours = (pk.len()
            + pr.iter()
                .filter(|p| p.kind != ProblemKind::TruncatedRecord)
                .count()) as u64;
        assert_eq!(frames, ours, "{}: frame count tcpdump vs fwcheck", f.name);
        checked += 1;
    }
    assert!(checked >= 20);
}

fn same_ip_level(a: &Packet, b: &Packet) {
    assert_eq!(
        (a.family, a.src, a.dst, a.proto),
        (b.family, b.src, b.dst, b.proto)
    );
    assert_eq!(a.l4, b.l4);
    assert_eq!(a.data, b.data);
    assert_eq!(a.l4_checksum_ok, b.l4_checksum_ok);
    assert_eq!(a.ts, b.ts);
}

#[test]
fn every_link_type_decodes_to_the_same_packets() {
    let sample = sample_packets();
    let host4: IpAddr = "203.0.113.10".parse().unwrap();
    let host6: IpAddr = "2001:db8::10".parse().unwrap();
    for (name, lt) in [
        ("sll.pcap", 113),
        ("sll2.pcap", 276),
        ("raw.pcap", 101),
        ("null.pcap", 0),
        ("loop.pcap", 108),
        ("vlan.pcap", 1),
        ("big-endian.pcap", 1),
        ("flows.pcap", 1),
    ] {
        let (pk, pr) = read_bytes(fixture(name));
        assert!(pr.is_empty(), "{name}: {pr:?}");
        assert_eq!(pk.len(), sample.len(), "{name}");
        for (a, b) in pk.iter().zip(&sample) {
            same_ip_level(a, b);
            assert_eq!(a.link.linktype, lt, "{name}");
            if name.starts_with("sll") {
                let want = if a.src == host4 || a.src == host6 {
                    PktType::Outgoing
                } else {
                    PktType::Host
                };
                assert_eq!(a.link.pkt_type, want, "{name} frame {}", a.frame);
                assert!(a.link.src_mac.is_some());
            }
        }
        if name == "vlan.pcap" {
            let vids: Vec<Option<u16>> = pk.iter().take(4).map(|p| p.link.vlan).collect();
            assert_eq!(vids, vec![Some(10), Some(100), Some(200), Some(40)]);
        }
    }
}

#[test]
fn nanosecond_and_pcapng_time_stamps_are_exact() {
    let sample = sample_packets();
    let want = |i: usize| sample[i].ts.0 + 123 + i as u64 * 7;
    // Classic pcap, nanosecond magic.
    let (pk, _) = read_bytes(fixture("nanosecond.pcap"));
    for (i, p) in pk.iter().enumerate() {
        assert_eq!(p.ts, Timestamp(want(i)));
    }
    // pcapng: interface 0 if_tsresol=9 (exact ns), interface 1 default 6 (µs, truncated);
    // the second file also mixes link types (Ethernet, raw IP).
    for (name, lt1) in [
        ("two-interfaces.pcapng", 1),
        ("mixed-linktypes.pcapng", 101),
    ] {
        let r = CaptureReader::new(Cursor::new(fixture(name))).unwrap();
        assert_eq!(r.format(), CaptureFormat::PcapNg);
        let pk: Vec<Packet> = r.map(|x| x.unwrap()).collect();
        assert_eq!(pk.len(), sample.len());
        for (i, p) in pk.iter().enumerate() {
            assert_eq!(p.link.interface, (i % 2) as u32);
            let expect = if i % 2 == 0 {
                want(i)
            } else {
                want(i) / 1000 * 1000
            };
            assert_eq!(p.ts, Timestamp(expect), "{name} frame {}", p.frame);
            assert_eq!(p.link.linktype, if i % 2 == 0 { 1 } else { lt1 });
            same_ip_level(
                &Packet {
                    ts: p.ts,
                    ..sample[i].clone()
                },
                p,
            );
        }
        // Interface 0 keeps the sub-microsecond part a µs-only reader would lose.
        assert!(pk.iter().step_by(2).all(|p| p.ts.0 % 1000 != 0));
    }
    // pcapng with a power-of-two resolution (2^-20 s).
    let (pk, _) = read_bytes(fixture("tsresol-2pow20.pcapng"));
    for (i, p) in pk.iter().enumerate() {
        let ticks = (want(i) as u128 * (1 << 20)) / 1_000_000_000;
        let back = (ticks * 1_000_000_000) >> 20;
        assert_eq!(p.ts.0 as u128, back, "frame {}", p.frame);
        assert!(want(i) - p.ts.0 < 1000, "within one tick of 2^-20 s");
    }
}

#[test]
fn format_is_detected_by_magic_not_extension() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("really-pcapng.pcap");
    std::fs::write(&p, fixture("two-interfaces.pcapng")).unwrap();
    let (pk, pr, st) = read_all(&p).unwrap();
    assert!(pr.is_empty());
    assert_eq!(pk.len() as u64, st.packets);
    let q = dir.path().join("really-pcap.pcapng");
    std::fs::write(&q, fixture("big-endian.pcap")).unwrap();
    let r = CaptureReader::open(&q).unwrap();
    assert!(matches!(
        r.format(),
        CaptureFormat::Pcap {
            big_endian: true,
            ..
        }
    ));
    let t = dir.path().join("text.pcap");
    std::fs::write(&t, b"hello world, not a capture").unwrap();
    assert!(matches!(
        CaptureReader::open(&t),
        Err(CaptureError::NotACapture(_))
    ));
    std::fs::write(&t, b"\xd4\xc3").unwrap();
    assert!(matches!(
        CaptureReader::open(&t),
        Err(CaptureError::TooShort(_))
    ));
}

#[test]
fn unsupported_link_type_is_named() {
    let mut b = fixture("flows.pcap");
    b[20..24].copy_from_slice(&105u32.to_le_bytes()); // IEEE 802.11
    let Err(e) = CaptureReader::new(Cursor::new(b)) else {
        panic!("802.11 accepted")
    };
    let msg = e.to_string();
    assert!(msg.contains("105") && msg.contains("IEEE802_11"), "{msg}");
}

#[test]
fn truncated_file_yields_everything_then_one_problem() {
    let (pk, pr) = read_bytes(fixture("truncated.pcap"));
    assert_eq!(pk.len(), 6);
    assert_eq!(pr.len(), 1);
    assert_eq!(pr[0].kind, ProblemKind::TruncatedRecord);
    assert_eq!(pr[0].frame, 7);
}

#[test]
fn malformed_frames_are_reported_as_the_kernel_needs() {
    let r = CaptureReader::new(Cursor::new(fixture("malformed.pcap"))).unwrap();
    let items: Vec<Result<Packet, PacketProblem>> = r.collect();
    assert_eq!(items.len(), 18);
    let ok = |i: usize| {
        items[i]
            .as_ref()
            .unwrap_or_else(|e| panic!("frame {}: {e}", i + 1))
    };
    let err = |i: usize| {
        items[i]
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("frame {} decoded", i + 1))
    };
    // 1 clean
    assert!(ok(0).kernel_drop_reason().is_none());
    assert!(ok(0).anomalies.is_empty());
    // 2 bad IP checksum: decoded, dropped before netfilter
    assert!(!ok(1).ip_checksum_ok);
    assert_eq!(ok(1).kernel_drop_reason(), Some("bad IP header checksum"));
    assert_eq!(ok(1).tcp().map(|t| t.dport), Some(22));
    // 3 ihl 4: problem with addresses
    assert_eq!(err(2).kind, ProblemKind::IpBadHeader);
    assert_eq!(err(2).frame, 3);
    assert_eq!(
        err(2).addrs.map(|a| a.1),
        Some("203.0.113.10".parse().unwrap())
    );
    // 4 total length beyond the frame
    assert!(ok(3).anomalies.has(Anomalies::IP_TRUNCATED));
    assert!(ok(3).kernel_drop_reason().is_some());
    assert_eq!(ok(3).l4_checksum_ok, None);
    // 5 snap length: not a kernel drop, checksum not checkable
    assert!(ok(4).anomalies.has(Anomalies::CAP_TRUNCATED));
    assert!(ok(4).kernel_drop_reason().is_none());
    assert_eq!(ok(4).l4_checksum_ok, None);
    assert_eq!(ok(4).ip_len, 1040);
    assert_eq!(ok(4).tcp().map(|t| t.dport), Some(80));
    // 6, 7 TCP doff
    assert!(ok(5).anomalies.has(Anomalies::TCP_BAD_DOFF));
    assert_eq!(ok(5).tcp().map(|t| t.doff), Some(3));
    assert!(ok(6).anomalies.has(Anomalies::TCP_BAD_DOFF));
    // 8 UDP length
    assert!(ok(7).anomalies.has(Anomalies::UDP_BAD_LEN));
    // 9 short ICMP
    assert_eq!(ok(8).l4, L4::Truncated);
    assert!(ok(8).anomalies.has(Anomalies::L4_SHORT));
    // 10 bad TCP checksum
    assert_eq!(ok(9).l4_checksum_ok, Some(false));
    // 11, 12 ARP and LLDP: skipped, not errors
    assert!(err(10).kind.is_skip() && err(10).ethertype == Some(0x0806));
    assert!(err(11).kind.is_skip() && err(11).ethertype == Some(0x88cc));
    // 13 version mismatch
    assert_eq!(err(12).kind, ProblemKind::IpVersion);
    // 14 IPv6 payload beyond frame
    assert_eq!(ok(13).family, Family::V6);
    assert!(ok(13).anomalies.has(Anomalies::IP_TRUNCATED));
    // 15 padding trimmed
    assert!(ok(14).anomalies.has(Anomalies::IP_PADDED));
    assert_eq!(ok(14).data.len(), 40);
    assert!(ok(14).kernel_drop_reason().is_none());
    // 16, 17 UDP checksum 0
    assert_eq!(ok(15).l4_checksum_ok, Some(true));
    assert_eq!(ok(16).l4_checksum_ok, Some(false));
    assert_eq!(ok(16).udp().map(|u| u.checksum), Some(0));
    // 18 runt
    assert_eq!(err(17).kind, ProblemKind::LinkTruncated);
}

#[test]
fn ipv6_extension_headers_are_walked() {
    let (pk, pr) = read_bytes(fixture("ipv6-ext.pcap"));
    assert!(pr.is_empty(), "{pr:?}");
    type Row = (u8, u16, Option<(u16, u16)>);
    let summary: Vec<Row> = pk
        .iter()
        .map(|p| (p.proto, p.ip_hdr_len, p.ports()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (6, 64, Some((40000, 22))),
            (17, 48, Some((5353, 53))),
            (6, 64, Some((40000, 443))),
            (50, 40, None),
            (59, 48, None),
            (17, 48, None),
        ]
    );
    assert_eq!(pk[0].l4_checksum_ok, Some(true));
    assert_eq!(pk[1].l4_checksum_ok, Some(true));
    assert_eq!(pk[5].l4, L4::Other);
    assert!(pk[5].frag.offset > 0);
}

#[test]
fn read_stats_count_everything() {
    let r = CaptureReader::new(Cursor::new(fixture("malformed.pcap"))).unwrap();
    let mut r = r;
    for _ in &mut r {}
    let st = r.stats();
    assert_eq!(st.frames, 18);
    assert_eq!(st.skipped, 2);
    assert_eq!(st.packets + st.problems.values().sum::<u64>(), 18);
    assert_eq!(st.non_ip_ethertypes.get(&0x0806), Some(&1));
}

#[test]
fn files_open_through_the_read_ahead_thread() {
    let (pk, pr, st) = read_all(pcaps_dir().join("truncated.pcap")).unwrap();
    assert_eq!((pk.len(), pr.len()), (6, 1));
    assert_eq!(pr[0].kind, ProblemKind::TruncatedRecord);
    assert_eq!(st.frames, 7);
    let (pk, _, _) = read_all(pcaps_dir().join("webserver.pcap")).unwrap();
    let (mem, _) = read_bytes(fixture("webserver.pcap"));
    assert_eq!(pk, mem);
    // Dropping a reader half-way stops its helper thread (the test would hang otherwise).
    for _ in 0..50 {
        let mut r = CaptureReader::open(pcaps_dir().join("webserver.pcap")).unwrap();
        assert!(r.next().is_some());
    }
}

/// `pcaps/README.md`'s table is the recipes' own words: one row per shipped capture, with the
/// `fwcheck gen` command that makes it (or "recipe") and its description.
#[test]
fn readme_table_lists_every_capture_as_its_recipe_describes_it() {
    let readme = std::fs::read_to_string(pcaps_dir().join("README.md")).unwrap();
    let rows: Vec<Vec<&str>> = readme
        .lines()
        .skip_while(|l| *l != "| file | made by | contents |")
        .skip(2)
        .take_while(|l| l.starts_with("| `"))
        .map(|l| {
            l.trim_start_matches("| ")
                .trim_end_matches(" |")
                .split(" | ")
                .collect()
        })
        .collect();
    let all = fixtures::all();
    assert_eq!(rows.len(), all.len(), "one row per capture");
    let stale: Vec<String> = all
        .iter()
        .filter(|f| {
            !rows
                .iter()
                .any(|r| r[0] == format!("`{}`", f.name) && r[2] == f.description)
        })
        .map(|f| format!("{}\t{}", f.name, f.description))
        .collect();
    assert!(stale.is_empty(), "rows to update:\n{}", stale.join("\n"));
    for f in &all {
        let row = rows
            .iter()
            .find(|r| r[0] == format!("`{}`", f.name))
            .unwrap_or_else(|| panic!("pcaps/README.md has no row for {}", f.name));
        match f.gen_command {
            Some(cmd) => assert_eq!(row[1], format!("`{cmd}`"), "{}", f.name),
            None => assert!(row[1].starts_with("recipe"), "{}: {}", f.name, row[1]),
        }
        assert_eq!(row[2], f.description, "{}", f.name);
    }
}
