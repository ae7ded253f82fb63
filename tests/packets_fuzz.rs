//! Fuzz-style property tests: no input makes the reader, the decoder, the defragmenter or the
//! flow-spec parser panic.

use std::io::Cursor;

use proptest::prelude::*;

use fwcheck::packet::capture::CaptureReader;
use fwcheck::packet::decode::{decode_frame, linktype, FrameMeta};
use fwcheck::packet::defrag::Defragmenter;
use fwcheck::packet::{flowspec, Timestamp};
use fwcheck::testkit::fixtures;

fn read_all(bytes: Vec<u8>) -> usize {
    match CaptureReader::new(Cursor::new(bytes)) {
        Ok(r) => r.take(10_000).count(),
        Err(_) => 0,
    }
}

const MAGICS: [[u8; 4]; 5] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x0a, 0x0d, 0x0d, 0x0a],
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_as_a_capture(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        read_all(bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_magic(m in 0usize..5, rest in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut b = MAGICS[m].to_vec();
        b.extend(rest);
        read_all(b);
    }

    #[test]
    fn mutated_real_captures(idx in 0usize..64, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..16), cut in any::<usize>()) {
        let all = fixtures::all();
        let small: Vec<_> = all.iter().filter(|f| f.bytes.len() < 30_000).collect();
        let mut b = small[idx % small.len()].bytes.clone();
        for (at, v) in flips {
            let n = b.len();
            b[at % n] ^= v;
        }
        let n = b.len();
        b.truncate(cut % (n + 1));
        read_all(b);
    }

    #[test]
    fn arbitrary_frames_of_every_link_type(lt in 0usize..10, frame in proptest::collection::vec(any::<u8>(), 0..300), wire in any::<u32>()) {
        let meta = FrameMeta {
            frame: 1,
            ts: Timestamp(0),
            linktype: linktype::SUPPORTED[lt],
            interface: 0,
            wire_len: wire,
        };
        let _ = decode_frame(&meta, &frame);
    }

    #[test]
    fn ip_like_frames(v6 in any::<bool>(), body in proptest::collection::vec(any::<u8>(), 0..200), proto in any::<u8>()) {
        // Start from a plausible header so that the deeper layers get exercised.
        let mut f = if v6 {
            let mut h = vec![0x60, 0, 0, 0, 0, (body.len() as u8), proto, 64];
            h.extend([0x20, 1, 0xd, 0xb8].repeat(8));
            h
        } else {
            let tot = (20 + body.len()) as u16;
            let mut h = vec![0x45, 0, (tot >> 8) as u8, tot as u8, 0, 1, 0, 0, 64, proto, 0, 0];
            h.extend([192, 0, 2, 1, 203, 0, 113, 10]);
            h
        };
        f.extend(body);
        let meta = FrameMeta { frame: 1, ts: Timestamp(0), linktype: 101, interface: 0, wire_len: f.len() as u32 };
        let _ = decode_frame(&meta, &f);
    }

    #[test]
    fn arbitrary_fragments_into_the_defragmenter(frames in proptest::collection::vec((any::<u16>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..64), any::<bool>(), any::<bool>()), 1..40)) {
        let mut d = Defragmenter::new();
        for (i, (off, id, body, mf, v6)) in frames.into_iter().enumerate() {
            let f = if v6 {
                let mut h = vec![0x60, 0, 0, 0, 0, (8 + body.len()) as u8, 44, 64];
                h.extend([0x20, 1, 0xd, 0xb8].repeat(8));
                let fo = ((off & 0x1fff) << 3) | mf as u16;
                h.extend([17, 0, (fo >> 8) as u8, fo as u8, 0, 0, 0, id]);
                h.extend(body);
                h
            } else {
                let tot = (20 + body.len()) as u16;
                let fo = (off & 0x1fff) | if mf { 0x2000 } else { 0 };
                let mut h = vec![0x45, 0, (tot >> 8) as u8, tot as u8, 0, id, (fo >> 8) as u8, fo as u8, 64, 17, 0, 0, 192, 0, 2, 1, 203, 0, 113, 10];
                let c = fwcheck::packet::checksum::compute(&h);
                h[10..12].copy_from_slice(&c.to_be_bytes());
                h.extend(body);
                h
            };
            let meta = FrameMeta { frame: i as u64 + 1, ts: Timestamp(i as u64 * 1_000_000_000), linktype: 101, interface: 0, wire_len: f.len() as u32 };
            if let Ok(p) = decode_frame(&meta, &f) {
                let _ = d.push(p);
                let _ = d.drain_events().count();
            }
        }
        let _ = d.finish();
    }

    #[test]
    fn arbitrary_flow_specs(s in "\\PC{0,60}") {
        let _ = flowspec::parse(&s);
        let _ = flowspec::parse_many(&s);
    }

    #[test]
    fn flow_spec_like_strings(kind in prop::sample::select(vec!["tcp", "syn", "udp", "icmp", "ack"]), a in "[0-9.:\\[\\]a-f]{0,20}", b in "[0-9.:\\[\\]a-f>]{0,20}") {
        let s = format!("{kind} {a} > {b}");
        if let Err(e) = flowspec::parse(&s) {
            prop_assert!(e.column >= 1 && e.column <= s.chars().count() + 1, "{e} in {s:?}");
        }
    }
}
