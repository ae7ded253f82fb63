//! Round trip: generate → write (classic pcap, Ethernet, µs) → read → decode gives back the
//! same packets, field by field.

use std::io::Cursor;

use fwcheck::packet::capture::CaptureReader;
use fwcheck::packet::flowspec;
use fwcheck::packet::gen::{generate, GenOptions, Profile};
use fwcheck::packet::{write_pcap, Packet};

fn roundtrip(packets: &[Packet]) -> Vec<Packet> {
    let mut buf = Vec::new();
    write_pcap(&mut buf, packets).expect("write to memory");
    let r = CaptureReader::new(Cursor::new(buf)).expect("our own pcap opens");
    r.map(|x| x.unwrap_or_else(|e| panic!("problem reading back: {e}")))
        .collect()
}

fn compare(a: &[Packet], b: &[Packet]) {
    assert_eq!(a.len(), b.len(), "packet count");
    for (x, y) in a.iter().zip(b) {
        let f = x.frame;
        assert_eq!(x.frame, y.frame, "frame");
        assert_eq!(x.ts, y.ts, "frame {f}: ts");
        assert_eq!(x.link, y.link, "frame {f}: link");
        assert_eq!(x.family, y.family, "frame {f}: family");
        assert_eq!((x.src, x.dst), (y.src, y.dst), "frame {f}: addresses");
        assert_eq!(x.proto, y.proto, "frame {f}: proto");
        assert_eq!((x.ttl, x.tos), (y.ttl, y.tos), "frame {f}: ttl/tos");
        assert_eq!(
            (x.ip_len, x.ip_hdr_len),
            (y.ip_len, y.ip_hdr_len),
            "frame {f}: lengths"
        );
        assert_eq!(x.frag, y.frag, "frame {f}: frag");
        assert_eq!(x.ip_checksum_ok, y.ip_checksum_ok, "frame {f}: ip checksum");
        assert_eq!(x.l4, y.l4, "frame {f}: l4");
        assert_eq!(x.l4_checksum_ok, y.l4_checksum_ok, "frame {f}: l4 checksum");
        assert_eq!(x.payload_len, y.payload_len, "frame {f}: payload_len");
        assert_eq!(x.data, y.data, "frame {f}: data");
        assert_eq!(x.anomalies, y.anomalies, "frame {f}: anomalies");
        assert_eq!(x, y, "frame {f}: whole packet");
    }
}

#[test]
fn every_profile_round_trips() {
    for profile in Profile::ALL {
        for host in [
            vec!["203.0.113.10".parse().unwrap()],
            vec!["2001:db8::10".parse().unwrap()],
        ] {
            let opts = GenOptions {
                profile,
                host,
                seed: 42,
                flows: 6,
                ..GenOptions::default()
            };
            let g = generate(&opts);
            assert!(!g.is_empty(), "{profile}: no packets");
            // Everything the generator makes is well formed.
            for p in &g {
                assert!(
                    p.anomalies.is_empty(),
                    "{profile} frame {}: {:?}",
                    p.frame,
                    p.anomalies
                );
                assert!(p.ip_checksum_ok);
                if matches!(p.proto, 6 | 17 | 1 | 58) {
                    assert_eq!(p.l4_checksum_ok, Some(true), "{profile} frame {}", p.frame);
                }
            }
            compare(&g, &roundtrip(&g));
        }
    }
}

#[test]
fn flow_specs_round_trip() {
    let specs = flowspec::parse_many(
        "tcp 198.51.100.7:40000 > 203.0.113.10:22; syn 198.51.100.7:40001 > 203.0.113.10:23;\
         ack 198.51.100.7:40002 > 203.0.113.10:443; rst 198.51.100.7:40003 > 203.0.113.10:80;\
         udp 192.0.2.1:5353 > 203.0.113.10:53 reply; udp 192.0.2.1:5000 > 203.0.113.10:9;\
         icmp echo 198.51.100.7 > 203.0.113.10; icmp echo-reply 198.51.100.7 > 203.0.113.10;\
         icmp 3/3 192.0.2.53 > 203.0.113.10; icmp 1/4 [2001:db8::53] > [2001:db8::10];\
         tcp [2001:db8:1::7]:40000 > [2001:db8::10]:80",
    )
    .unwrap();
    let g = flowspec::build(&specs, &GenOptions::default());
    compare(&g, &roundtrip(&g));
    // The ICMP errors quote a packet the decoder finds again.
    let errs: Vec<&Packet> = g
        .iter()
        .filter(|p| p.icmp().is_some_and(|i| i.inner.is_some()))
        .collect();
    assert_eq!(errs.len(), 2);
}

#[test]
fn generator_webserver_contents() {
    use fwcheck::packet::tcp_flags::*;
    let g = generate(&GenOptions::default());
    let host: std::net::IpAddr = "203.0.113.10".parse().unwrap();
    let tcp_to = |port: u16, flags: u8| {
        g.iter()
            .filter(|p| {
                p.dst == host && p.tcp().is_some_and(|t| t.dport == port && t.flags == flags)
            })
            .count()
    };
    assert!(tcp_to(80, SYN) + tcp_to(443, SYN) + tcp_to(22, SYN) >= 12 - 1);
    assert_eq!(tcp_to(80, 0), 1, "NULL probe");
    assert_eq!(tcp_to(80, FIN | PSH | URG), 1, "XMAS probe");
    assert_eq!(tcp_to(80, SYN | FIN), 1, "SYN+FIN probe");
    // The port unreachable quotes a DNS query the host sent earlier.
    let unreach = g
        .iter()
        .find(|p| p.icmp().is_some_and(|i| i.icmp_type == 3 && i.code == 3))
        .expect("port unreachable");
    let inner = unreach.icmp().unwrap().inner.as_ref().unwrap();
    assert_eq!(inner.src, host);
    assert_eq!(inner.ports.map(|p| p.1), Some(53));
    assert!(g.iter().any(|p| p.frame < unreach.frame
        && p.src == host
        && p.udp()
            .is_some_and(|u| Some((u.sport, u.dport)) == inner.ports)));
    // Tunnelled ICMP: large echo payloads both ways.
    let big_echo = |t: u8| {
        g.iter()
            .filter(|p| p.icmp().is_some_and(|i| i.icmp_type == t) && p.payload_len > 800)
            .count()
    };
    assert!(big_echo(8) >= 10 && big_echo(0) >= 10);
    // Unsolicited DNS replies: from port 53 to the host, no query to that peer/port before.
    let unsolicited = g
        .iter()
        .filter(|p| {
            p.dst == host
                && p.udp().is_some_and(|u| u.sport == 53)
                && !g.iter().any(|q| {
                    q.frame < p.frame
                        && q.src == host
                        && q.dst == p.src
                        && q.udp()
                            .is_some_and(|u| Some(u.sport) == p.udp().map(|x| x.dport))
                })
        })
        .count();
    assert_eq!(unsolicited, 2);
    // TCP sequence numbers: every data segment's seq follows its sender's previous one.
    let mut next: std::collections::BTreeMap<(std::net::IpAddr, u16, std::net::IpAddr, u16), u32> =
        Default::default();
    for p in &g {
        let Some(t) = p.tcp() else { continue };
        let k = (p.src, t.sport, p.dst, t.dport);
        // Probes (no ACK bit) are unrelated single segments; sessions are checked.
        if let (Some(&n), true) = (next.get(&k), t.flags & ACK != 0) {
            assert_eq!(t.seq, n, "frame {}: seq continuity", p.frame);
        }
        let adv = p.payload_len + u32::from(t.flags & (SYN | FIN) != 0);
        next.insert(k, t.seq.wrapping_add(adv));
    }
}
