//! Hostile captures: every bad record is a clear error naming the frame (or pcapng block) and
//! its byte offset; nothing is silently dropped. The captures are generated here.

use std::net::IpAddr;
use std::process::Command;

use fwcheck::packet::build::{build, L4Spec, PacketSpec};
use fwcheck::packet::capture::read_all;
use fwcheck::packet::{tcp_flags as F, LinkInfo, ProblemKind, Timestamp};

const RULES: &str = "fixtures/guides/guide-000-webserver.rules.v4";

fn syn(n: u64) -> Vec<u8> {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let spec = PacketSpec::new(
        ip("198.51.100.7"),
        ip("203.0.113.10"),
        L4Spec::Tcp {
            sport: 40000 + n as u16,
            dport: 22,
            seq: 1000,
            ack: 0,
            flags: F::SYN,
            window: 64240,
            options: Vec::new(),
        },
    );
    build(&spec, n, Timestamp(n * 1_000_000), LinkInfo::default())
        .data
        .to_vec()
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Classic pcap header, little-endian, microseconds, raw IP (linktype 101).
fn pcap_header(snaplen: u32) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&snaplen.to_le_bytes());
    f.extend_from_slice(&101u32.to_le_bytes());
    f
}

fn record(f: &mut Vec<u8>, claim: u32, data: &[u8]) {
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&claim.to_le_bytes());
    f.extend_from_slice(&claim.to_le_bytes());
    f.extend_from_slice(data);
}

fn temp(bytes: &[u8], suffix: &str) -> tempfile::NamedTempFile {
    let t = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
    std::fs::write(t.path(), bytes).unwrap();
    t
}

#[test]
fn a_caplen_of_4_gib_in_record_2_is_an_error_naming_frame_offset_length_and_snaplen() {
    let p = syn(1);
    let mut f = pcap_header(65535);
    record(&mut f, p.len() as u32, &p);
    let offset = f.len();
    record(&mut f, 0xFFFF_FFFF, &p);
    for n in 3..=400 {
        record(&mut f, p.len() as u32, &syn(n));
    }
    let t = temp(&f, ".pcap");
    let path = t.path().to_str().unwrap();

    let (pk, pr, stats) = read_all(path).unwrap();
    assert_eq!(pk.len(), 1);
    assert_eq!(stats.frames, 2);
    assert_eq!(pr.len(), 1);
    assert_eq!(pr[0].kind, ProblemKind::CorruptRecord);
    assert_eq!(pr[0].frame, 2);

    let (code, _, err) = run(&[RULES, "--pcap", path, "--host", "203.0.113.10"]);
    assert_eq!(code, Some(3), "{err}");
    for want in [
        "frame 2".to_string(),
        format!("byte offset {offset}"),
        "4294967295".to_string(),
        "snaplen is 65535".to_string(),
    ] {
        assert!(err.contains(&want), "{want:?} missing: {err}");
    }

    let (code, out, err) = run(&[
        RULES,
        "--pcap",
        path,
        "--host",
        "203.0.113.10",
        "--keep-going",
    ]);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    assert!(err.contains("warning") && err.contains("frame 2"), "{err}");
    // Frame 1 was judged: the packets table has a row for it.
    assert!(out.contains("198.51.100.7"), "{out}");
}

#[test]
fn a_bogus_snaplen_caps_records_at_256_kib() {
    let p = syn(1);
    let mut f = pcap_header(0);
    record(&mut f, p.len() as u32, &p);
    record(&mut f, 300_000, &p);
    f.extend(std::iter::repeat_n(0u8, 400_000));
    let t = temp(&f, ".pcap");
    let (pk, pr, _) = read_all(t.path()).unwrap();
    assert_eq!(pk.len(), 1);
    assert_eq!(pr[0].kind, ProblemKind::CorruptRecord);
    assert!(
        pr[0].reason.contains("300000") && pr[0].reason.contains("262144"),
        "{}",
        pr[0].reason
    );
}

#[test]
fn a_tail_cut_mid_record_is_read_up_to_the_cut() {
    let mut f = pcap_header(65535);
    for n in 1..=10 {
        let p = syn(n);
        record(&mut f, p.len() as u32, &p);
    }
    f.truncate(f.len() - 20);
    let t = temp(&f, ".pcap");
    let path = t.path().to_str().unwrap();
    let (pk, pr, stats) = read_all(path).unwrap();
    assert_eq!(pk.len(), 9);
    assert_eq!(stats.frames, 10);
    assert_eq!(pr.len(), 1);
    assert_eq!(pr[0].kind, ProblemKind::TruncatedRecord);
    assert!(pr[0].reason.contains("cut short"), "{}", pr[0].reason);

    let (code, out, err) = run(&[RULES, "--pcap", path, "--host", "203.0.113.10"]);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    assert!(out.contains("cut short"), "{out}");

    // Cut inside a record header.
    let mut g = pcap_header(65535);
    let p = syn(1);
    record(&mut g, p.len() as u32, &p);
    g.extend_from_slice(&[1, 0, 0, 0, 0, 0]);
    let t = temp(&g, ".pcap");
    let (pk, pr, _) = read_all(t.path()).unwrap();
    assert_eq!(pk.len(), 1);
    assert_eq!(pr[0].kind, ProblemKind::TruncatedRecord);
    assert!(pr[0].reason.contains("cut short"), "{}", pr[0].reason);
}

#[test]
fn a_256_kib_record_is_read() {
    let mut f = pcap_header(262_144);
    let p = syn(1);
    record(&mut f, p.len() as u32, &p);
    let mut big = syn(2);
    big.resize(262_144, 0);
    record(&mut f, big.len() as u32, &big);
    record(&mut f, p.len() as u32, &syn(3));
    let t = temp(&f, ".pcap");
    let (_, pr, stats) = read_all(t.path()).unwrap();
    assert_eq!(stats.frames, 3);
    assert!(
        pr.iter().all(|p| !matches!(
            p.kind,
            ProblemKind::CorruptRecord | ProblemKind::TruncatedRecord | ProblemKind::CaptureFormat
        )),
        "{pr:?}"
    );
    // The same record in a capture whose snaplen is bogus (0) is read too.
    f[16..20].copy_from_slice(&0u32.to_le_bytes());
    let t = temp(&f, ".pcap");
    let (_, pr, stats) = read_all(t.path()).unwrap();
    assert_eq!(stats.frames, 3);
    assert!(pr.is_empty() || pr.iter().all(|p| p.frame == 2), "{pr:?}");
}

// ----- pcapng, little-endian -----

fn block(f: &mut Vec<u8>, type_: u32, body: &[u8]) {
    let len = 12 + body.len() as u32;
    f.extend_from_slice(&type_.to_le_bytes());
    f.extend_from_slice(&len.to_le_bytes());
    f.extend_from_slice(body);
    f.extend_from_slice(&len.to_le_bytes());
}

fn shb(f: &mut Vec<u8>) {
    let mut b = Vec::new();
    b.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes());
    block(f, 0x0a0d0d0a, &b);
}

fn idb(f: &mut Vec<u8>, tsresol: Option<u8>) {
    let mut b = Vec::new();
    b.extend_from_slice(&101u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&65535u32.to_le_bytes());
    if let Some(r) = tsresol {
        b.extend_from_slice(&9u16.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&[r, 0, 0, 0]);
        b.extend_from_slice(&[0; 4]);
    }
    block(f, 1, &b);
}

fn epb(f: &mut Vec<u8>, iface: u32, data: &[u8]) {
    let mut b = Vec::new();
    b.extend_from_slice(&iface.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&1_000_000u32.to_le_bytes());
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(data);
    while b.len() % 4 != 0 {
        b.push(0);
    }
    block(f, 6, &b);
}

#[test]
fn a_pcapng_packet_naming_an_undeclared_interface_is_a_malformed_frame_reading_continues() {
    let mut f = Vec::new();
    shb(&mut f);
    idb(&mut f, None);
    epb(&mut f, 0, &syn(1));
    let offset = f.len();
    epb(&mut f, 5, &syn(2));
    epb(&mut f, 0, &syn(3));
    let t = temp(&f, ".pcapng");
    let path = t.path().to_str().unwrap();
    let (pk, pr, stats) = read_all(path).unwrap();
    assert_eq!(stats.frames, 3);
    assert_eq!(pk.len(), 2);
    assert_eq!(pr.len(), 1);
    assert_eq!(pr[0].kind, ProblemKind::CaptureFormat);
    assert_eq!(pr[0].frame, 2);
    for want in [
        "block 4".to_string(),
        format!("byte offset {offset}"),
        "interface id 5".to_string(),
        "reading continues".to_string(),
    ] {
        assert!(pr[0].reason.contains(&want), "{want:?}: {}", pr[0].reason);
    }
    let (code, out, err) = run(&[RULES, "--pcap", path, "--host", "203.0.113.10"]);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    assert!(
        format!("{out}{err}").contains("interface id 5"),
        "{out}\n{err}"
    );
}

#[test]
fn an_unrepresentable_if_tsresol_is_an_error_naming_the_block() {
    for resol in [0x7fu8, 0x80 | 64] {
        let mut f = Vec::new();
        shb(&mut f);
        idb(&mut f, None);
        epb(&mut f, 0, &syn(1));
        let offset = f.len();
        idb(&mut f, Some(resol));
        epb(&mut f, 1, &syn(2));
        let t = temp(&f, ".pcapng");
        let path = t.path().to_str().unwrap();
        let (pk, pr, _) = read_all(path).unwrap();
        assert_eq!(pk.len(), 1);
        assert_eq!(pr.len(), 1, "{pr:?}");
        assert_eq!(pr[0].kind, ProblemKind::CorruptRecord);
        for want in [
            "block 4".to_string(),
            format!("byte offset {offset}"),
            "interface id 1".to_string(),
            "if_tsresol".to_string(),
            if resol == 0x7f { "10^-127" } else { "2^-64" }.to_string(),
        ] {
            assert!(pr[0].reason.contains(&want), "{want:?}: {}", pr[0].reason);
        }
        let (code, _, err) = run(&[RULES, "--pcap", path, "--host", "203.0.113.10"]);
        assert_eq!(code, Some(3), "{err}");
        assert!(
            err.contains("if_tsresol") && err.contains("block 4"),
            "{err}"
        );
    }
}

#[test]
fn a_record_past_a_small_snaplen_is_read_as_libpcap_reads_it() {
    // snaplen 20 in the header, 40-byte records: libpcap reads them (tools write such records,
    // e.g. GSO frames past the snaplen); only a length past the largest record is corrupt.
    let p = syn(1);
    let mut f = pcap_header(20);
    record(&mut f, p.len() as u32, &p);
    record(&mut f, p.len() as u32, &p);
    let t = temp(&f, ".pcap");
    let (pk, pr, _) = read_all(t.path()).unwrap();
    assert_eq!(pk.len(), 2, "{pr:?}");
}

/// Frames tcpdump reads from `path` before it stops (its packet lines on stdout).
fn tcpdump_frames(path: &std::path::Path) -> usize {
    let out = Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(path)
        .output()
        .expect("tcpdump is needed by this test (.ci/run installs it)");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn record_framing_agrees_with_tcpdump() {
    // Where libpcap reads a record and where it gives up ("invalid packet capture length"):
    // fwcheck reads the same frames before the same stop.
    let p = syn(1);
    let cases: Vec<(u32, Vec<u32>)> = vec![
        // records past a small snaplen: read
        (20, vec![p.len() as u32, p.len() as u32]),
        // a 300,000-byte claim (past the 256 KiB maximum): stop at record 2
        (65_535, vec![p.len() as u32, 300_000, 40, 40, 40]),
        // a 70,000-byte claim past the snaplen but within the maximum: read (swallowing the
        // records after it), then the garbage that follows is the stop
        (65_535, vec![p.len() as u32, 70_000, 40, 40, 40]),
    ];
    for (snaplen, claims) in cases {
        let mut f = pcap_header(snaplen);
        for c in &claims {
            record(&mut f, *c, &p);
        }
        // Enough bytes after the records for the 70,000-byte claim to be read whole.
        f.extend(std::iter::repeat_n(0x45u8, 80_000));
        let t = temp(&f, ".pcap");
        let (pk, pr, _) = read_all(t.path()).unwrap();
        let read_before_stop = pk.len()
            + pr.iter()
                .filter(|p| {
                    !matches!(
                        p.kind,
                        ProblemKind::CorruptRecord | ProblemKind::TruncatedRecord
                    )
                })
                .count();
        let td = tcpdump_frames(t.path());
        assert!(td >= 1, "tcpdump read nothing: the case tests nothing");
        assert_eq!(
            read_before_stop, td,
            "snaplen {snaplen}, claims {claims:?}: {pr:?}"
        );
    }
}

/// Every prefix of a pcapng and of a pcap file, read from disk (through the read-ahead thread):
/// an error or the frames before the cut, never a panic. A pcapng cut inside its section header
/// used to panic when the read-ahead hit the end twice.
#[test]
fn every_cut_of_a_file_on_disk_is_read_or_refused() {
    let mut ng = Vec::new();
    shb(&mut ng);
    idb(&mut ng, None);
    epb(&mut ng, 0, &syn(1));
    let mut pcap = pcap_header(65535);
    record(&mut pcap, 40, &syn(1));
    for whole in [&ng, &pcap] {
        for cut in 0..whole.len() {
            let t = temp(&whole[..cut], ".cap");
            if let Ok((pk, _, _)) = read_all(t.path()) {
                assert!(pk.is_empty(), "cut at {cut}: no whole frame");
            }
        }
    }
    let t = temp(&ng[..8], ".pcapng");
    let (code, _, err) = run(&[RULES, "--pcap", t.path().to_str().unwrap()]);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, Some(3), "{err}");
}

/// pcapng blocks up to 16 MiB are read, as libpcap reads them (a name resolution block of many
/// hosts, an interface block with many options): the packets after a 2 MiB block are judged.
/// A bigger block is corrupt for fwcheck as for libpcap: an error naming it, not a silent cut.
#[test]
fn pcapng_blocks_up_to_16_mib_are_read() {
    let with_block = |size: usize| {
        let mut f = Vec::new();
        shb(&mut f);
        idb(&mut f, None);
        epb(&mut f, 0, &syn(1));
        let at = f.len();
        block(&mut f, 0x4000_0001, &vec![0u8; size]);
        epb(&mut f, 0, &syn(2));
        epb(&mut f, 0, &syn(3));
        (f, at)
    };
    let (f, _) = with_block(2 << 20);
    let t = temp(&f, ".pcapng");
    let (pk, pr, _) = read_all(t.path()).unwrap();
    assert_eq!(pk.len(), 3, "{pr:?}");
    assert!(pr.is_empty(), "{pr:?}");
    let (f, at) = with_block(17 << 20);
    let t = temp(&f, ".pcapng");
    let (pk, pr, _) = read_all(t.path()).unwrap();
    assert_eq!(pk.len(), 1);
    assert_eq!(pr.len(), 1, "{pr:?}");
    assert_eq!(pr[0].kind, ProblemKind::CorruptRecord);
    for want in [
        "block 4".to_string(),
        format!("byte offset {at}"),
        "larger than 16 MiB".into(),
    ] {
        assert!(pr[0].reason.contains(&want), "{want:?}: {}", pr[0].reason);
    }
}

/// Time stamps that go backwards (captures merged by hand): the kernel's clock never does, so
/// a frame stamped earlier runs at the latest earlier time — a `limit` bucket is not refilled
/// by time going back —, its verdict is uncertain (when the host handled it is not known), and
/// FW021 says which frames, how many and how far back.
#[test]
fn time_going_backwards_is_run_forward_and_reported() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let ping = |seq: u16| {
        let spec = PacketSpec::new(
            ip("198.51.100.7"),
            ip("203.0.113.10"),
            L4Spec::Icmp {
                icmp_type: 8,
                code: 0,
                id: 7,
                seq,
                quote: None,
            },
        );
        build(&spec, u64::from(seq), Timestamp(0), LinkInfo::default())
            .data
            .to_vec()
    };
    let mut f = pcap_header(65535);
    for (seq, secs) in [(1u16, 100u32), (2, 10), (3, 11)] {
        let data = ping(seq);
        f.extend_from_slice(&secs.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(data.len() as u32).to_le_bytes());
        f.extend_from_slice(&(data.len() as u32).to_le_bytes());
        f.extend_from_slice(&data);
    }
    let cap = temp(&f, ".pcap");
    let rules = temp(
        b"*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
          -A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 1/min --limit-burst 1 -j ACCEPT\nCOMMIT\n",
        ".v4",
    );
    let (code, out, err) = run(&[
        rules.path().to_str().unwrap(),
        "--pcap",
        cap.path().to_str().unwrap(),
        "--host",
        "203.0.113.10",
        "--format",
        "json",
    ]);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    let verdicts: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("\"type\":\"packet\""))
        .map(|l| {
            if l.contains("\"verdict\":\"ACCEPT\"") {
                "ACCEPT"
            } else {
                "DROP"
            }
        })
        .collect();
    assert_eq!(verdicts, ["ACCEPT", "DROP", "DROP"], "{out}");
    // When the two late frames were handled is not known: their verdicts are not certain.
    let certain: Vec<bool> = out
        .lines()
        .filter(|l| l.contains("\"type\":\"packet\""))
        .map(|l| l.contains("\"certain\":true"))
        .collect();
    assert_eq!(certain, [true, false, false], "{out}");
    let fw021 = out
        .lines()
        .find(|l| l.contains("\"FW021\""))
        .unwrap_or_else(|| panic!("no FW021: {out}"));
    assert!(fw021.contains("2 frames are stamped earlier"), "{fw021}");
    assert!(
        fw021.contains("first: frame 2; up to 90.000 s back"),
        "{fw021}"
    );
}
