//! Captures as real hosts produce them: which address is the host, and checksums left for
//! offload by the sender. (The kernel side of checksums is pinned in `kernel_checksums.rs`.)

use std::net::IpAddr;
use std::process::Command;

use fwcheck::packet::build::{build, L4Spec, PacketSpec};
use fwcheck::packet::flowspec;
use fwcheck::packet::gen::GenOptions;
use fwcheck::packet::{checksum, tcp_flags as F, LinkInfo, Packet, Timestamp};
use fwcheck::replay::{choose_hosts, HostError, Source};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(src: &str, dst: &str, sport: u16, dport: u16, flags: u8, n: u64) -> Packet {
    let spec = PacketSpec::new(
        ip(src),
        ip(dst),
        L4Spec::Tcp {
            sport,
            dport,
            seq: 1000 + n as u32,
            ack: if flags & F::ACK != 0 { 5000 } else { 0 },
            flags,
            window: 64240,
            options: Vec::new(),
        },
    );
    build(&spec, n, Timestamp(n * 1_000_000), LinkInfo::default())
}

fn host_of(packets: Vec<Packet>) -> Result<IpAddr, HostError> {
    choose_hosts(&[], &Source::Packets(packets)).map(|h| h.hosts[0])
}

#[test]
fn two_party_capture_picks_the_server_not_the_smaller_address() {
    // The client's address sorts first: both are in every packet, the server answers.
    let c = "192.0.2.7";
    let s = "203.0.113.10";
    let conv = vec![
        tcp(c, s, 40000, 22, F::SYN, 1),
        tcp(s, c, 22, 40000, F::SYN | F::ACK, 2),
        tcp(c, s, 40000, 22, F::ACK, 3),
    ];
    assert_eq!(host_of(conv).unwrap(), ip(s));
    // Reversed roles: still the one that answers.
    let conv = vec![
        tcp(s, c, 40000, 443, F::SYN, 1),
        tcp(c, s, 443, 40000, F::SYN | F::ACK, 2),
    ];
    assert_eq!(host_of(conv).unwrap(), ip(c));
    // Nobody answered (the ruleset dropped it): the one that was asked.
    let conv = vec![
        tcp(c, s, 40000, 22, F::SYN, 1),
        tcp(c, s, 40000, 22, F::SYN, 2),
    ];
    assert_eq!(host_of(conv).unwrap(), ip(s));
}

#[test]
fn the_address_in_most_packets_wins_without_tie_breaking() {
    // A server with two clients: it is in every packet, each client in half.
    let s = "203.0.113.10";
    let v = vec![
        tcp("198.51.100.1", s, 40000, 80, F::SYN, 1),
        tcp(s, "198.51.100.1", 80, 40000, F::SYN | F::ACK, 2),
        tcp("198.51.100.2", s, 40001, 80, F::SYN, 3),
        tcp(s, "198.51.100.2", 80, 40001, F::SYN | F::ACK, 4),
    ];
    let h = choose_hosts(&[], &Source::Packets(v)).unwrap();
    assert_eq!(h.hosts, vec![ip(s)]);
    assert_eq!(h.seen_in, Some((4, 4)));
    assert!(h.because.is_none());
}

#[test]
fn a_client_in_more_packets_than_the_answering_server_is_not_taken_for_the_host() {
    // One conversation captured on an IPv6 server whose neighbour discovery uses its
    // link-local address: the client is in every packet, the server's global address in all
    // but those, and only the server answers. Neither can be taken on count alone.
    let (c, s, ll) = ("2001:db8:1::2", "2001:db8:1::1", "fe80::1");
    let mut v = vec![
        tcp(ll, c, 0, 0, 0, 1),
        tcp(c, ll, 0, 0, 0, 2),
        tcp(c, s, 40000, 80, F::SYN, 3),
        tcp(s, c, 80, 40000, F::SYN | F::ACK, 4),
    ];
    for i in 0..20 {
        v.push(tcp(c, s, 40000, 80, F::ACK, 5 + 2 * i));
        v.push(tcp(s, c, 80, 40000, F::ACK, 6 + 2 * i));
    }
    match host_of(v.clone()) {
        Err(HostError::Ambiguous(why)) => {
            assert!(
                why.contains(c) && why.contains(s) && why.contains("--host"),
                "{why}"
            );
        }
        other => panic!("expected an ambiguity, got {other:?}"),
    }
    // With the server's answers gone (a scan the ruleset drops) nothing contradicts the count.
    v.retain(|p| p.src.to_string() != s);
    assert_eq!(host_of(v).unwrap(), ip(c));
}

#[test]
fn an_undecidable_capture_is_refused_not_guessed() {
    // Two peers exchanging ACKs only: nothing says which one is the host.
    let v = vec![
        tcp("192.0.2.7", "203.0.113.10", 40000, 40001, F::ACK, 1),
        tcp("203.0.113.10", "192.0.2.7", 40001, 40000, F::ACK, 2),
    ];
    match host_of(v) {
        Err(HostError::Ambiguous(why)) => {
            assert!(
                why.contains("192.0.2.7") && why.contains("203.0.113.10"),
                "{why}"
            );
            assert!(why.contains("--host"), "{why}");
        }
        other => panic!("expected an ambiguity, got {other:?}"),
    }
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args([
            "fixtures/guides/guide-000-webserver.rules.v4",
            "--flow",
            "udp 192.0.2.7:4000 > 203.0.113.10:4000",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot tell which address is the host"),
        "{err}"
    );
}

#[test]
fn a_flow_without_host_is_judged_from_its_destination_everywhere() {
    // `tcp A > B:22`: B answers the handshake the flow builds, so B is the host — for the
    // replay and for the lockout gate of the same run (one host, printed once).
    let spec = flowspec::parse("tcp 192.0.2.7:40000 > 203.0.113.10:22").unwrap();
    let pkts = flowspec::build(&[spec], &GenOptions::default());
    assert_eq!(host_of(pkts).unwrap(), ip("203.0.113.10"));
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args([
            "fixtures/guides/guide-000-webserver.rules.v4",
            "--flow",
            "tcp 192.0.2.7:40000 > 203.0.113.10:22",
            "--format",
            "json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("host inferred as 203.0.113.10").count(),
        1,
        "{err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "summary")
        .expect("summary record");
    assert_eq!(summary["hosts"], serde_json::json!(["203.0.113.10"]));
    assert_eq!(summary["accepted"], 9, "{summary}");
}

/// Writes `packets` with the TCP/UDP checksum of every one replaced by the value a sending
/// stack leaves for offload (the folded pseudo-header sum), as tcpdump shows them on a veth.
fn offloaded_capture(packets: &[Packet]) -> tempfile::NamedTempFile {
    let mut out = Vec::new();
    for p in packets {
        let mut b = p.data.to_vec();
        let off = p.ip_hdr_len as usize;
        let at = off + if p.proto == 6 { 16 } else { 6 };
        let partial = checksum::fold(checksum::pseudo_header(
            p.src,
            p.dst,
            p.proto,
            (b.len() - off) as u32,
        ));
        b[at..at + 2].copy_from_slice(&partial.to_be_bytes());
        let meta = fwcheck::packet::decode::FrameMeta {
            frame: p.frame,
            ts: p.ts,
            linktype: 101,
            interface: 0,
            wire_len: b.len() as u32,
        };
        out.push(
            fwcheck::packet::decode::decode_ip(&meta, LinkInfo::default(), &b, b.len(), None)
                .unwrap(),
        );
    }
    let f = tempfile::NamedTempFile::new().unwrap();
    fwcheck::packet::write_pcap(std::fs::File::create(f.path()).unwrap(), &out).unwrap();
    f
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

#[test]
fn offloaded_checksums_are_not_invalid_by_default_and_are_counted() {
    let spec = flowspec::parse("tcp 198.51.100.7:40000 > 203.0.113.10:22").unwrap();
    let pkts = flowspec::build(&[spec], &GenOptions::default());
    let cap = offloaded_capture(&pkts);
    let rules = "fixtures/guides/guide-000-webserver.rules.v4";
    let path = cap.path().to_str().unwrap();
    let summary = |args: &[&str]| {
        let mut all = vec![rules, "--pcap", path, "--host", "203.0.113.10"];
        all.extend_from_slice(args);
        let (code, out, err) = run(&all);
        (code, out, err)
    };
    // auto (default): the SSH session works, as it did on the host; the summary says why.
    let (code, out, _) = summary(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("9 judged (9 accepted, 0 dropped"), "{out}");
    assert!(
        out.contains("checksums: 9 packets carry offloaded (partial) TCP/UDP checksums"),
        "{out}"
    );
    // verify: the inbound ones are INVALID, and the summary points at --checksums auto.
    let (_, out, _) = summary(&["--checksums", "verify"]);
    assert!(!out.contains("9 accepted"), "{out}");
    assert!(out.contains("--checksums auto"), "{out}");
    // ignore: as auto here; the JSON summary carries the counts.
    let (_, out, _) = summary(&["--checksums", "ignore", "--format", "json"]);
    let s: serde_json::Value = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "summary")
        .unwrap();
    assert_eq!(s["accepted"], 9, "{s}");
    assert_eq!(s["stats"]["checksums_offloaded"], 9, "{s}");
    assert_eq!(s["stats"]["checksums_partial"], 9, "{s}");
}

#[test]
fn a_capture_given_as_rules_is_named_in_one_line() {
    let (code, out, err) = run(&["pcaps/webserver.pcap"]);
    assert_eq!(code, Some(2));
    assert!(out.is_empty(), "{out}");
    assert_eq!(
        err.trim(),
        "fwcheck: pcaps/webserver.pcap is a pcap capture, not a ruleset; did you mean --pcap \
         pcaps/webserver.pcap?"
    );
    let (code, _, err) = run(&["lint", "pcaps/two-interfaces.pcapng"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("pcapng capture, not a ruleset"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn an_empty_rules_file_warns_that_nothing_would_change() {
    let f = tempfile::NamedTempFile::new().unwrap();
    let (code, _, err) = run(&["lint", f.path().to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert!(
        err.contains("holds no tables or rules: iptables-restore would change nothing"),
        "{err}"
    );
}

#[test]
fn the_family_comes_from_the_content_not_the_last_character_of_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let v4 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/guides/guide-000-webserver.rules.v4"
    ))
    .unwrap();
    // A dated backup: the trailing 6 of the year says nothing.
    let dated = dir.path().join("iptables-backup.30.01.2016");
    std::fs::write(&dated, &v4).unwrap();
    let (code, out, err) = run(&["lint", dated.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}{err}");
    // An IPv6 ruleset without a telling name.
    let v6 = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
              -A INPUT -p ipv6-icmp -j ACCEPT\n-A INPUT -s 2001:db8::/32 -j ACCEPT\nCOMMIT\n";
    let plain = dir.path().join("ip6tables");
    std::fs::write(&plain, v6).unwrap();
    let (code, out, err) = run(&["lint", plain.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    // Name and content disagree: said, with both sides; -4 settles it.
    let named = dir.path().join("rules.v6");
    std::fs::write(&named, &v4).unwrap();
    let (code, _, err) = run(&["lint", named.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("says IPv6 but its rules are IPv4"), "{err}");
    assert!(err.contains("line 8"), "{err}");
    let (code, _, err) = run(&["lint", "-4", named.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = run(&["lint", "-6", dated.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("-6 was given but"), "{err}");
    // `-p icmp` is legal in ip6tables (ip6tables-restore --test takes it): it guesses IPv4
    // for a file saying nothing else, but never overrides -6 or a name saying IPv6.
    let icmp = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                -A INPUT -p icmp -j ACCEPT\nCOMMIT\n";
    let plain = dir.path().join("icmp-only");
    std::fs::write(&plain, icmp).unwrap();
    let (code, out, err) = run(&["lint", "-6", plain.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}{err}");
    let named6 = dir.path().join("icmp.v6");
    std::fs::write(&named6, icmp).unwrap();
    let (code, out, err) = run(&["lint", named6.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}{err}");
}

#[test]
fn rules_from_stdin() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(["-", "--flow", "tcp 198.51.100.7:40000 > 203.0.113.10:22"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let rules = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/guides/guide-000-webserver.rules.v4"
    ))
    .unwrap();
    child.stdin.take().unwrap().write_all(&rules).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("9 judged (9 accepted"), "{text}");
}

mod answers {
    //! The host's own answers in a capture (`SimOptions::recognise_answers`).
    use super::*;
    use fwcheck::engine::{AnswerTo, Outcome, SimEnv, SimOptions, Verdict};
    use fwcheck::lint::load_str;
    use fwcheck::replay::{replay, Item};
    use fwcheck::ruleset::ParseOptions;

    const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
        -A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n\
        -A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset\n\
        -A INPUT -p udp -m udp --dport 9 -j REJECT\n\
        -A INPUT -p tcp -m tcp --dport 2222 -m statistic --mode random --probability 0.5 -j ACCEPT\n\
        -A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
        COMMIT\n";
    const H: &str = "203.0.113.10";
    const C: &str = "198.51.100.7";

    fn udp(src: &str, dst: &str, sport: u16, dport: u16, n: u64) -> Packet {
        let mut s = PacketSpec::new(ip(src), ip(dst), L4Spec::Udp { sport, dport });
        s.payload = b"hello".to_vec();
        build(&s, n, Timestamp(n * 1_000_000), LinkInfo::default())
    }

    /// The ICMP port unreachable the host sends for `orig` (type 3 code 3, quoting it).
    fn port_unreachable(orig: &Packet, n: u64) -> Packet {
        let mut s = PacketSpec::new(
            ip(H),
            orig.src,
            L4Spec::Icmp {
                icmp_type: 3,
                code: 3,
                id: 0,
                seq: 0,
                quote: None,
            },
        );
        s.payload = orig.data.to_vec();
        let p = build(&s, n, Timestamp(n * 1_000_000), LinkInfo::default());
        // Decoded from its bytes, as a capture gives it (the quoted packet parsed).
        let meta = fwcheck::packet::decode::FrameMeta {
            frame: n,
            ts: p.ts,
            linktype: 101,
            interface: 0,
            wire_len: p.data.len() as u32,
        };
        fwcheck::packet::decode::decode_ip(&meta, LinkInfo::default(), &p.data, p.data.len(), None)
            .unwrap()
    }

    fn run(pkts: Vec<Packet>, recognise: bool) -> (Vec<Outcome>, u64) {
        run_rules(RULES, pkts, recognise)
    }

    fn run_rules(rules: &str, pkts: Vec<Packet>, recognise: bool) -> (Vec<Outcome>, u64) {
        let loaded = load_str("answers.rules", rules, ParseOptions::default());
        assert!(!loaded.has_errors());
        let opts = SimOptions {
            env: SimEnv {
                hosts: vec![ip(H)],
                ..SimEnv::default()
            },
            recognise_answers: recognise,
            ..SimOptions::default()
        };
        let mut v = Vec::new();
        let (engine, _) = replay(&loaded.ruleset, opts, Source::Packets(pkts), |i| {
            if let Item::Packet(_, o) = i {
                v.push(o.clone());
            }
        })
        .unwrap();
        // OUTPUT: rule 1's packets plus the policy's, as iptables -L -v counts them.
        let (ti, ci) = (0, 2);
        let out = engine.rule_counters(ti, ci, 0).packets + engine.policy_counters(ti, ci).packets;
        (v, out)
    }

    #[test]
    fn reject_replies_in_the_capture_are_counted_once() {
        let syn = tcp(C, H, 40000, 8080, F::SYN, 1);
        let mut rst = tcp(H, C, 8080, 40000, F::RST | F::ACK, 2);
        rst.ts = Timestamp(1_000_100);
        let q = udp(C, H, 5000, 9, 3);
        let unreach = port_unreachable(&q, 4);
        let (o, output) = run(vec![syn, rst, q, unreach], true);
        assert_eq!(o[0].verdict, Some(Verdict::Reject));
        assert_eq!(o[1].answer_to, Some(AnswerTo::RejectReply(1)), "{:?}", o[1]);
        assert_eq!(o[1].verdict, Some(Verdict::Accept));
        assert_eq!(o[3].answer_to, Some(AnswerTo::RejectReply(3)), "{:?}", o[3]);
        // Two replies, each through OUTPUT once (the kernel: RELATED, OUTPUT rule 1).
        assert_eq!(output, 2);
        // Without recognition the captured reply crosses OUTPUT a second time: 2 for 1 REJECT.
        let syn = tcp(C, H, 40000, 8080, F::SYN, 1);
        let rst = tcp(H, C, 8080, 40000, F::RST | F::ACK, 2);
        let (o, output) = run(vec![syn, rst], false);
        assert_eq!(o[1].answer_to, None);
        assert_eq!(output, 2);
    }

    #[test]
    fn an_uncertain_drop_does_not_make_the_answer_unsent() {
        // The SYN to 2222 passes or not at random: its SYN/ACK is judged (uncertain, through
        // the connection state), not declared unsent.
        let pkts = vec![
            tcp(C, H, 40000, 2222, F::SYN, 1),
            tcp(H, C, 2222, 40000, F::SYN | F::ACK, 2),
        ];
        let (o, _) = run(pkts, true);
        assert!(!o[0].certain, "{:?}", o[0]);
        assert_eq!(o[1].answer_to, None, "{:?}", o[1]);
        assert!(o[1].verdict.is_some() && !o[1].certain, "{:?}", o[1]);
    }

    #[test]
    fn answers_to_dropped_requests_would_not_be_sent() {
        // Captured without the ruleset: the SYN to 22 was answered. Under the ruleset it is
        // dropped, so the SYN/ACK is never sent; the ping likewise; the HTTP session is not
        // touched, and neither is a later, accepted retry on the same ports.
        let pkts = vec![
            tcp(C, H, 40000, 22, F::SYN, 1),
            tcp(H, C, 22, 40000, F::SYN | F::ACK, 2),
            tcp(C, H, 40001, 80, F::SYN, 3),
            tcp(H, C, 80, 40001, F::SYN | F::ACK, 4),
        ];
        let (o, _) = run(pkts, true);
        assert_eq!(o[0].verdict, Some(Verdict::Drop));
        assert_eq!(o[1].answer_to, Some(AnswerTo::NotSent(1)), "{:?}", o[1]);
        assert_eq!(o[1].verdict, None);
        assert!(o[1]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("would not be sent"));
        assert_eq!(o[3].answer_to, None);
        assert_eq!(o[3].verdict, Some(Verdict::Accept));
    }

    fn echo(src: &str, dst: &str, icmp_type: u8, seq: u16, n: u64) -> Packet {
        let s = PacketSpec::new(
            ip(src),
            ip(dst),
            L4Spec::Icmp {
                icmp_type,
                code: 0,
                id: 7,
                seq,
                quote: None,
            },
        );
        build(&s, n, Timestamp(n * 1_000_000), LinkInfo::default())
    }

    fn tcp_seq(src: &str, dst: &str, ports: (u16, u16), flags: u8, seq_ack: (u32, u32)) -> Packet {
        let spec = PacketSpec::new(
            ip(src),
            ip(dst),
            L4Spec::Tcp {
                sport: ports.0,
                dport: ports.1,
                seq: seq_ack.0,
                ack: seq_ack.1,
                flags,
                window: 64240,
                options: Vec::new(),
            },
        );
        build(&spec, 1, Timestamp(1_000_000), LinkInfo::default())
    }

    #[test]
    fn a_drop_on_a_live_connection_leaves_the_answers_sent() {
        // The first SYN is let through; its retransmission is refused by the SYN limit. The
        // SYN/ACK the server's timer resends and its data answer the first one: sent, and the
        // client's ACK after them is ESTABLISHED.
        let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
            -A INPUT -p tcp --syn -m hashlimit --hashlimit-upto 1/min --hashlimit-burst 1 \
            --hashlimit-mode srcport --hashlimit-name syn -j ACCEPT\n\
            -A INPUT -p tcp --syn -j DROP\n\
            -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
            -A OUTPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n";
        let mut pkts = vec![
            tcp_seq(C, H, (40000, 22), F::SYN, (100, 0)),
            tcp_seq(C, H, (40000, 22), F::SYN, (100, 0)),
            tcp_seq(H, C, (22, 40000), F::SYN | F::ACK, (900, 101)),
            tcp_seq(C, H, (40000, 22), F::ACK, (101, 901)),
        ];
        for (i, p) in pkts.iter_mut().enumerate() {
            p.frame = i as u64 + 1;
            p.ts = Timestamp((i as u64 + 1) * 1_000_000);
        }
        let (o, _) = run_rules(rules, pkts, true);
        assert_eq!(o[1].verdict, Some(Verdict::Drop), "{:?}", o[1]);
        assert_eq!(o[2].answer_to, None, "{:?}", o[2]);
        assert_eq!(o[2].verdict, Some(Verdict::Accept), "{:?}", o[2]);
        assert_eq!(o[3].verdict, Some(Verdict::Accept), "{:?}", o[3]);
    }

    #[test]
    fn without_conntrack_an_answer_is_the_one_to_its_request() {
        // No conntrack: each echo reply answers the echo request of its sequence number, a
        // SYN/ACK the SYN it acknowledges. The second ping is refused by the limit: its reply
        // would not be sent, the first one's is; the dropped SYN's SYN/ACK would not be sent,
        // another packet of the host on those ports is judged.
        let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
            -A INPUT -p icmp --icmp-type 8 -m limit --limit 1/min --limit-burst 1 -j ACCEPT\n\
            COMMIT\n";
        let mut pkts = vec![
            echo(C, H, 8, 1, 1),
            echo(C, H, 8, 2, 2),
            echo(H, C, 0, 1, 3),
            echo(H, C, 0, 2, 4),
            tcp_seq(C, H, (40000, 22), F::SYN, (100, 0)),
            tcp_seq(H, C, (22, 40000), F::SYN | F::ACK, (900, 101)),
            tcp_seq(H, C, (22, 40000), F::ACK, (901, 101)),
        ];
        for (i, p) in pkts.iter_mut().enumerate() {
            p.frame = i as u64 + 1;
            p.ts = Timestamp((i as u64 + 1) * 1_000_000);
        }
        let (o, _) = run_rules(rules, pkts, true);
        assert_eq!(o[0].verdict, Some(Verdict::Accept), "{:?}", o[0]);
        assert_eq!(o[1].verdict, Some(Verdict::Drop), "{:?}", o[1]);
        assert_eq!(o[2].answer_to, None, "{:?}", o[2]);
        assert_eq!(o[3].answer_to, Some(AnswerTo::NotSent(2)), "{:?}", o[3]);
        assert_eq!(o[4].verdict, Some(Verdict::Drop), "{:?}", o[4]);
        assert_eq!(o[5].answer_to, Some(AnswerTo::NotSent(5)), "{:?}", o[5]);
        assert_eq!(o[6].answer_to, None, "{:?}", o[6]);
    }

    #[test]
    fn the_hosts_own_queries_are_not_mistaken_for_answers() {
        // The host asks a resolver; the resolver's answer is dropped (no rule for it) — that
        // answer is not a request to the host, so the host's next query still goes out.
        let pkts = vec![
            udp(H, "192.0.2.53", 33333, 53, 1),
            udp("192.0.2.53", H, 53, 33333, 2),
            udp(H, "192.0.2.53", 33333, 53, 3),
        ];
        let (o, _) = run(pkts, true);
        assert!(o.iter().all(|o| o.answer_to.is_none()), "{o:?}");
        assert_eq!(o[2].verdict, Some(Verdict::Accept));
    }
}

#[test]
fn contradictions_and_bad_values_are_clear_errors() {
    let r = "fixtures/guides/guide-000-webserver.rules.v4";
    let (code, _, err) = run(&[r, "--synthetic", "--hz", "0"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--hz"), "{err}");
    let (code, _, err) = run(&[
        r,
        "--synthetic",
        "--flow",
        "tcp 192.0.2.7:1 > 203.0.113.10:2",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot be used with"), "{err}");
    let (code, _, err) = run(&[r, "--pcap", "/nonexistent/x.pcap"]);
    assert_eq!(code, Some(3));
    assert!(err.contains("/nonexistent/x.pcap"), "{err}");
    // The caret sits under the first character of the bad token.
    let spec = "tcp 198.51.100.7:40000 > 203.0.113.10:2x2";
    let (code, _, err) = run(&[r, "--flow", spec]);
    assert_eq!(code, Some(2));
    let lines: Vec<&str> = err.lines().collect();
    let caret = lines[1].find('^').unwrap();
    assert_eq!(
        lines[0].chars().nth(caret),
        Some('2'),
        "caret under {:?}:\n{err}",
        &lines[0][caret..]
    );
    assert!(lines[0][caret..].starts_with("2x2"), "{err}");
}

#[test]
fn a_capture_from_stdin_works_without_host() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args([
            "fixtures/guides/guide-000-webserver.rules.v4",
            "--pcap",
            "-",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pcap = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/pcaps/webserver.pcap")).unwrap();
    child.stdin.take().unwrap().write_all(&pcap).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("272 frames: 272 judged (220 accepted, 52 dropped"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("host inferred as 203.0.113.10"));
}

#[test]
fn gso_segment_trains_are_recognised_in_the_summary() {
    use fwcheck::engine::{SimEnv, SimOptions};
    use fwcheck::lint::load_str;
    use fwcheck::packet::build::TcpOpt;
    use fwcheck::replay::replay;
    use fwcheck::ruleset::ParseOptions;
    // One 4-segment super-packet cut after OUTPUT (PSH only on the last, same ACK and time
    // stamp value, IPv4 ids counting up, a microsecond apart), then a separate send 5 ms later.
    let seg = |n: u64, seq: u32, psh: bool, tsval: u32, at_us: u64| {
        let mut s = PacketSpec::new(
            ip("203.0.113.10"),
            ip("198.51.100.7"),
            L4Spec::Tcp {
                sport: 80,
                dport: 40000,
                seq,
                ack: 83,
                flags: F::ACK | if psh { F::PSH } else { 0 },
                window: 64,
                options: vec![TcpOpt::Nop, TcpOpt::Nop, TcpOpt::Timestamp(tsval, 7)],
            },
        );
        s.payload = vec![0x55; 1448];
        s.ip_id = n as u16;
        build(
            &s,
            n,
            Timestamp(1_000_000_000 + at_us * 1000),
            LinkInfo::default(),
        )
    };
    let pkts = vec![
        seg(1, 1, false, 100, 0),
        seg(2, 1449, false, 100, 1),
        seg(3, 2897, false, 100, 2),
        seg(4, 4345, true, 100, 3),
        seg(5, 5793, true, 105, 5000),
    ];
    let l = load_str(
        "gso.rules",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
        ParseOptions::default(),
    );
    let opts = SimOptions {
        env: SimEnv {
            hosts: vec![ip("203.0.113.10")],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let (_, stats) = replay(&l.ruleset, opts, Source::Packets(pkts), |_| {}).unwrap();
    assert_eq!(stats.gso_continuations, 3);
    assert!(stats.gso_note().unwrap().starts_with("3 outbound frames"));
    // Separate sends (the generator's web server: two segments 129 µs apart) are not a train.
    let opts = SimOptions {
        env: SimEnv {
            hosts: vec![ip("203.0.113.10")],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let path =
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/pcaps/webserver.pcap"));
    let (_, stats) = replay(&l.ruleset, opts, Source::Capture(path), |_| {}).unwrap();
    assert_eq!(stats.gso_continuations, 0);
}

#[test]
fn pcapng_interface_addresses_name_the_host() {
    use fwcheck::packet::writer::{frame_packet, write_pcapng, NgInterface, Record};
    // The capture was taken on the *client* 192.0.2.7 (its interface says so), of a
    // conversation in which the other side answers: the declaration wins over the evidence of
    // who answers, and an IPv6 address it declares and its packets carry is a host address too.
    let pkts = [
        tcp("192.0.2.7", "203.0.113.10", 40000, 22, F::SYN, 1),
        tcp("203.0.113.10", "192.0.2.7", 22, 40000, F::SYN | F::ACK, 2),
        tcp("2001:db8::7", "2001:db8::10", 40001, 443, F::SYN, 3),
    ];
    let ifs = [NgInterface {
        linktype: 1,
        tsresol: None,
        name: "eth0".into(),
        addrs: vec![
            (ip("192.0.2.7"), 24),
            (ip("2001:db8::7"), 64),
            (ip("198.51.100.99"), 24),
        ],
    }];
    let recs: Vec<Record> = pkts
        .iter()
        .map(|p| Record::new(p.ts, frame_packet(1, p)))
        .collect();
    let f = tempfile::NamedTempFile::new().unwrap();
    write_pcapng(std::fs::File::create(f.path()).unwrap(), &ifs, &recs).unwrap();
    let h = choose_hosts(&[], &Source::Capture(f.path().to_path_buf())).unwrap();
    assert_eq!(h.hosts, vec![ip("192.0.2.7"), ip("2001:db8::7")]);
    assert!(h.because.unwrap().contains("if_IPv4addr"));
    // Without the declaration the server is chosen (it answers).
    let ifs = [NgInterface {
        addrs: Vec::new(),
        ..ifs[0].clone()
    }];
    let f2 = tempfile::NamedTempFile::new().unwrap();
    write_pcapng(std::fs::File::create(f2.path()).unwrap(), &ifs, &recs[..2]).unwrap();
    let h = choose_hosts(&[], &Source::Capture(f2.path().to_path_buf())).unwrap();
    assert_eq!(h.hosts, vec![ip("203.0.113.10")]);
}

#[test]
fn a_corrupt_record_is_an_error_not_a_silent_end() {
    // Record 2's header claims 4 GiB: no capture holds such a record (tcpdump: "invalid
    // packet capture length"). A capture merely cut short (truncated.pcap) is read up to the
    // cut, as before.
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&200u32.to_le_bytes());
    f.extend_from_slice(&101u32.to_le_bytes()); // raw IP
    let p = tcp("198.51.100.7", "203.0.113.10", 40000, 22, F::SYN, 1);
    let rec = |claim: u32, data: &[u8]| {
        let mut r = Vec::new();
        r.extend_from_slice(&1u32.to_le_bytes());
        r.extend_from_slice(&0u32.to_le_bytes());
        r.extend_from_slice(&claim.to_le_bytes());
        r.extend_from_slice(&claim.to_le_bytes());
        r.extend_from_slice(data);
        r
    };
    f.extend(rec(p.data.len() as u32, &p.data));
    f.extend(rec(0xFFFF_FFFF, &p.data));
    for _ in 0..20 {
        f.extend(rec(p.data.len() as u32, &p.data));
    }
    let t = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(t.path(), &f).unwrap();
    let path = t.path().to_str().unwrap();
    let r = "fixtures/guides/guide-000-webserver.rules.v4";
    let (code, _, err) = run(&[r, "--pcap", path, "--host", "203.0.113.10"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("frame 2") && err.contains("byte offset 80"),
        "{err}"
    );
    let (code, _, err) = run(&[r, "--pcap", path, "--host", "203.0.113.10", "--keep-going"]);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    assert!(err.contains("warning"), "{err}");
    let (code, out, _) = run(&[r, "--pcap", "pcaps/truncated.pcap"]);
    assert!(matches!(code, Some(0 | 1)));
    assert!(out.contains("cut short"), "{out}");
}

#[test]
fn socket_owner_specs() {
    use fwcheck::engine::SocketOwner;
    let o = SocketOwner::parse("udp */53=101:102").unwrap();
    assert_eq!(
        (o.proto, o.peer, o.port, o.uid, o.gid),
        (Some(17), None, Some(53), 101, Some(102))
    );
    let dns = udp_pkt("203.0.113.10", "192.0.2.53", 33333, 53);
    assert!(o.applies(&dns));
    assert!(!o.applies(&udp_pkt("203.0.113.10", "192.0.2.53", 33333, 123)));
    let all = SocketOwner::parse("1000").unwrap();
    assert_eq!((all.uid, all.gid, all.port), (1000, None, None));
    for bad in [
        "root",
        "udp */53",
        "icmp */1=0",
        "udp 192.0.2.1=0",
        "udp */99999=0",
        "1:x",
    ] {
        assert!(SocketOwner::parse(bad).is_err(), "{bad}");
    }
    let (code, _, err) = run(&[
        "fixtures/guides/guide-000-webserver.rules.v4",
        "--synthetic",
        "--socket-owner",
        "www",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("numeric uid"), "{err}");
}

fn udp_pkt(src: &str, dst: &str, sport: u16, dport: u16) -> Packet {
    let s = PacketSpec::new(ip(src), ip(dst), L4Spec::Udp { sport, dport });
    build(&s, 1, Timestamp(0), LinkInfo::default())
}

#[test]
fn endless_or_huge_inputs_are_refused_early() {
    // /dev/zero is binary from its first byte: refused before anything more is read.
    let (code, _, err) = run(&["lint", "/dev/zero"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("/dev/zero:1:1: not a text file (byte 0x00)"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "gen",
        "webserver",
        "--flows",
        "100000000",
        "-o",
        "/dev/null",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("at most 1000000"), "{err}");
}

/// An IPsec gateway's capture: ESP reaches the host (and INPUT accepts it), then a plain SYN
/// on the same interface, which a tunnel-mode SA may have handed back decapsulated. `-m policy
/// --dir in --pol none` is then uncertain for it, and `--ipsec none` says it was not.
#[test]
fn ipsec_in_the_capture_makes_policy_uncertain_until_declared() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.v4");
    std::fs::write(
        &rules,
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p esp -j ACCEPT\n\
         -A INPUT -p tcp --dport 22 -m policy --dir in --pol none -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    // ESP from 198.51.100.7 to 203.0.113.10: SPI 0x100, sequence 1, 32 bytes of ciphertext.
    let mut esp = vec![
        0x45, 0, 0, 60, 0, 1, 0, 0, 64, 50, 0, 0, 198, 51, 100, 7, 203, 0, 113, 10,
    ];
    let sum = checksum::fold(
        esp.chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]) as u64)
            .sum(),
    );
    esp[10..12].copy_from_slice(&(!sum).to_be_bytes());
    esp.extend_from_slice(&[0, 0, 1, 0, 0, 0, 0, 1]);
    esp.extend_from_slice(&[0x5a; 32]);
    let meta = fwcheck::packet::decode::FrameMeta {
        frame: 1,
        ts: Timestamp(0),
        linktype: 101,
        interface: 0,
        wire_len: esp.len() as u32,
    };
    let esp = fwcheck::packet::decode::decode_ip(&meta, LinkInfo::default(), &esp, esp.len(), None)
        .unwrap();
    let syn = tcp("198.51.100.7", "203.0.113.10", 40000, 22, F::SYN, 2);
    let pcap = dir.path().join("gw.pcap");
    fwcheck::packet::write_pcap(std::fs::File::create(&pcap).unwrap(), &[esp, syn]).unwrap();
    let args = |extra: &[&str]| {
        let mut a = vec![
            rules.to_str().unwrap().to_string(),
            "--pcap".into(),
            pcap.to_str().unwrap().into(),
            "--host".into(),
            "203.0.113.10".into(),
            "--format".into(),
            "json".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let frame2 = |out: &str| {
        out.lines()
            .find(|l| l.contains("\"type\":\"packet\"") && l.contains("\"frame\":2,"))
            .unwrap_or_else(|| panic!("{out}"))
            .to_string()
    };
    let a = args(&[]);
    let (_, out, err) = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let line = frame2(&out);
    assert!(line.contains("\"certain\":false"), "{line}\n{err}");
    assert!(line.contains("decapsulated"), "{line}");
    assert!(line.contains("--ipsec none"), "{line}");
    let a = args(&["--ipsec", "none"]);
    let (_, out, err) = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let line = frame2(&out);
    assert!(line.contains("\"certain\":true"), "{line}\n{err}");
    assert!(line.contains("\"verdict\":\"ACCEPT\""), "{line}");
    let (code, _, err) = run(&[
        "--synthetic",
        "fixtures/guides/guide-000-webserver.rules.v4",
        "--ipsec",
        "some",
    ]);
    assert_eq!(code, Some(2), "{err}");
}
