//! Conntrack helpers against the kernel: FTP (passive and active: PASV/227, EPSV/229, PORT,
//! EPRT) and TFTP data connections are RELATED when a `CT --helper` template gave the control
//! connection its helper; `-m helper` and `--ctstatus EXPECTED` see them; the FTP helper drops
//! a reply that starts like `227 ` but is cut ("partial matching"); each master keeps one
//! expectation (a second 227 evicts the first); a PORT naming another address expects nothing;
//! a first data packet the ruleset drops has used its expectation up.
//!
//! Every frame's verdict must be the kernel's and certain; each scenario also asserts the
//! kernel's own verdicts, so a ruleset that did not exercise the helper would fail here.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::IpAddr;

use fwcheck::compare::{compare, Comparison};
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::packet::build::{build, PacketSpec};
use fwcheck::packet::{Conversation, Endpoint, LinkInfo, Side, Timestamp};
use fwcheck::ruleset::{Family, ParseOptions};
use oracle_common::*;

/// The same IPv4 packet with another TTL (header checksum fixed).
fn with_ttl(mut p: Vec<u8>, ttl: u8) -> Vec<u8> {
    p[8] = ttl;
    p[10..12].copy_from_slice(&[0, 0]);
    let c = csum(&p[..20], 0);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p
}

/// A TCP conversation on one connection ([`Conversation`] keeps both sides' sequence numbers:
/// `a` is its client, `b` its server), its frames' IP bytes with consecutive IP ids.
struct Conv {
    tcp: Conversation,
    id: u16,
    frames: Vec<Vec<u8>>,
}

impl Conv {
    fn new(a: impl Into<IpAddr>, aport: u16, b: impl Into<IpAddr>, bport: u16) -> Conv {
        Conv {
            tcp: Conversation::new(
                Endpoint::new(a.into(), aport, 1000),
                Endpoint::new(b.into(), bport, 5000),
            )
            .with_dont_fragment(true),
            id: 1,
            frames: Vec::new(),
        }
    }
    fn push(&mut self, p: Vec<u8>) {
        self.frames.push(p);
        self.id += 1;
    }
    /// The IP bytes of `spec` with the next IP id.
    fn push_spec(&mut self, mut spec: PacketSpec) {
        spec.ip_id = self.id;
        let p = build(&spec, 0, Timestamp(0), LinkInfo::default());
        self.push(p.data.to_vec());
    }
    fn handshake(&mut self) {
        for spec in self.tcp.handshake() {
            self.push_spec(spec);
        }
    }
    /// Side 0 (`a`) or 1 (`b`) sends `data`; `advance`: whether its sequence moves on (a
    /// segment the kernel drops is sent again).
    fn say(&mut self, side: usize, data: &[u8], advance: bool) {
        let from = if side == 0 {
            Side::Client
        } else {
            Side::Server
        };
        let spec = if advance {
            self.tcp.send_payload(from, PSH | ACK, data)
        } else {
            let (seq, ack) = (self.tcp.end(from).seq, self.tcp.ack_of(from, PSH | ACK));
            self.tcp.raw_payload(from, PSH | ACK, seq, ack, data)
        };
        self.push_spec(spec);
    }
    /// A SYN of another connection between the two sides.
    fn syn(&mut self, from: usize, sport: u16, dport: u16) {
        let (src, dst) = if from == 0 {
            (self.tcp.client.addr, self.tcp.server.addr)
        } else {
            (self.tcp.server.addr, self.tcp.client.addr)
        };
        let mut other = Conversation::new(
            Endpoint::new(src, sport, 7000),
            Endpoint::new(dst, dport, 0),
        )
        .with_dont_fragment(true);
        let spec = other.send(Side::Client, SYN, 0);
        self.push_spec(spec);
    }
}

/// Replays `frames` through `rules` in the kernel and in fwcheck (host [`HOST`], or [`HOST6`]
/// for IPv6 rules); no frame may differ, and every verdict must be certain.
fn run(rules: &str, frames: &[Vec<u8>]) -> Comparison {
    let cmp = replay(rules, frames);
    for f in &cmp.frames {
        assert!(
            f.fwcheck_certain,
            "frame {} claimed uncertain: {}",
            f.frame,
            f.line()
        );
    }
    cmp
}

/// [`run`] without the certainty check.
fn replay(rules: &str, frames: &[Vec<u8>]) -> Comparison {
    let v6 = frames.first().is_some_and(|f| f[0] >> 4 == 6);
    let opts = ParseOptions {
        family: if v6 { Family::V6 } else { Family::V4 },
        ..ParseOptions::default()
    };
    let loaded = load_str("helpers.rules", rules, opts);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec![if v6 { HOST6.into() } else { HOST.into() }],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded(frames), sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    cmp
}

fn kernel_verdicts(cmp: &Comparison) -> Vec<&'static str> {
    cmp.frames.iter().map(|f| f.kernel.unwrap_or("-")).collect()
}

const PASSIVE_SERVER: &str = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp\nCOMMIT\n\
*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
-A INPUT -p tcp -m tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT\n\
-A INPUT -p tcp -m tcp --dport 50000 -m ttl --ttl-eq 1 -j DROP\n\
-A INPUT -m conntrack --ctstate RELATED -m helper --helper ftp -j ACCEPT\nCOMMIT\n";

/// The host serves FTP: PASV and EPSV open data ports; a cut `22` is dropped by the helper;
/// a second 227 evicts the first expectation; a 227 naming another address expects nothing;
/// a dropped first SYN has used its expectation up.
fn ftp_passive_server() {
    let (c, h) = (CLIENT, HOST);
    let mut v = Conv::new(c, 40000, h, 21);
    v.handshake(); // 1-3
    v.say(1, b"220 fwcheck\r\n", true); // 4: the first reply line is never read
    v.say(0, b"PASV\r\n", true); // 5
    v.say(
        1,
        b"227 Entering Passive Mode (192,0,2,10,195,80).\r\n",
        true,
    ); // 6: 50000
    v.syn(0, 40001, 50000); // 7: RELATED
    v.syn(0, 40002, 50001); // 8: NEW, dropped
    v.say(0, b"EPSV\r\n", true); // 9
    v.say(
        1,
        b"229 Entering Extended Passive Mode (|||50002|)\r\n",
        true,
    ); // 10
    v.syn(0, 40003, 50002); // 11: RELATED
    v.say(1, b"22", false); // 12: partial matching of `227 ': NF_DROP
    v.say(
        1,
        b"227 Entering Passive Mode (192,0,2,10,195,90).\r\n",
        true,
    ); // 13: 50010
    v.say(
        1,
        b"227 Entering Passive Mode (192,0,2,10,195,91).\r\n",
        true,
    ); // 14: 50011
    v.syn(0, 40004, 50010); // 15: evicted by 14: NEW, dropped
    v.syn(0, 40005, 50011); // 16: RELATED
    v.say(
        1,
        b"227 Entering Passive Mode (203,0,113,9,195,100).\r\n",
        true,
    ); // 17
    v.syn(0, 40006, 50020); // 18: not recorded: dropped
    v.say(
        1,
        b"227 Entering Passive Mode (192,0,2,10,195,80).\r\n",
        true,
    ); // 19: 50000 again
    let first = tcp_ip(c.into(), h.into(), 40007, 50000, 9000, 0, SYN, 900, &[]);
    v.push(with_ttl(first.clone(), 1)); // 20: RELATED, dropped by the TTL rule
    v.push(first); // 21: the expectation is used up: NEW, dropped
    let cmp = run(PASSIVE_SERVER, &v.frames);
    #[rustfmt::skip]
    let want = [
        "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT",
        "ACCEPT", "DROP", "ACCEPT", "ACCEPT", "ACCEPT", "DROP",
        "ACCEPT", "ACCEPT", "DROP", "ACCEPT", "ACCEPT", "DROP",
        "ACCEPT", "DROP", "DROP",
    ];
    assert_eq!(kernel_verdicts(&cmp), want, "{}", cmp.render(false));
}

const ACTIVE_CLIENT: &str = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A OUTPUT -p tcp -m tcp --dport 21 -j CT --helper ftp\nCOMMIT\n\
*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
-A INPUT -m conntrack --ctstate RELATED --ctstatus EXPECTED -j ACCEPT\nCOMMIT\n";

/// The host is an FTP client in active mode: PORT and EPRT open ports on the host for the
/// server's connections from port 20.
fn ftp_active_client() {
    let (s, h) = (CLIENT, HOST);
    let mut v = Conv::new(h, 40000, s, 21);
    v.handshake(); // 1-3
    v.say(1, b"220 hi\r\n", true); // 4
    v.say(0, b"USER anonymous\r\n", true); // 5: the first command line is never read
    v.say(1, b"331 pw\r\n", true); // 6
    v.say(0, b"port 192,0,2,10,200,10\r\n", true); // 7: 51210
    v.syn(1, 20, 51210); // 8: RELATED
    v.say(0, b"EPRT |1|192.0.2.10|51211|\r\n", true); // 9
    v.syn(1, 20, 51211); // 10: RELATED
    v.syn(1, 20, 51212); // 11: not expected
    v.say(0, b"PORT 192,0,2,10,200,20", false); // 12: no \r: partial, dropped
    let cmp = run(ACTIVE_CLIENT, &v.frames);
    #[rustfmt::skip]
    let want = [
        "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT",
        "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "DROP", "DROP",
    ];
    assert_eq!(kernel_verdicts(&cmp), want, "{}", cmp.render(false));
}

const TFTP_SERVER: &str = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A PREROUTING -p udp -m udp --dport 69 -j CT --helper tftp\nCOMMIT\n\
*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 69 -j ACCEPT\n\
-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n";

/// The host serves TFTP: its answer from a new port is RELATED; without the helper it is not.
fn tftp_server() {
    let (c, h) = (CLIENT, HOST);
    let frames = vec![
        udp4(c, h, 40000, 69, 1, b"\x00\x01boot.img\x00octet\x00"),
        udp4(h, c, 50001, 40000, 2, b"\x00\x03\x00\x01data"),
        udp4(c, h, 40000, 50001, 3, b"\x00\x04\x00\x01"),
        udp4(h, c, 50002, 40001, 4, b"\x00\x03\x00\x01data"),
    ];
    let cmp = run(TFTP_SERVER, &frames);
    assert_eq!(
        kernel_verdicts(&cmp),
        ["ACCEPT", "ACCEPT", "ACCEPT", "DROP"],
        "{}",
        cmp.render(false)
    );
    let without = TFTP_SERVER.replace(
        "-A PREROUTING -p udp -m udp --dport 69 -j CT --helper tftp\n",
        "",
    );
    let cmp = run(&without, &frames);
    assert_eq!(
        kernel_verdicts(&cmp),
        ["ACCEPT", "DROP", "DROP", "DROP"],
        "{}",
        cmp.render(false)
    );
}

/// IPv6: EPSV and EPRT `|2|` open data ports; a PORT on an IPv6 connection overwrites the
/// first four bytes of the sender's address (so it names the sender only when they are the
/// sender's); EPRT `|1|` is malformed there and dropped.
fn ftp_ipv6() {
    let rules = PASSIVE_SERVER.replace("-m ttl --ttl-eq 1", "-m hl --hl-eq 1");
    let (c, h) = (CLIENT6, HOST6);
    let mut v = Conv::new(c, 40000, h, 21);
    v.handshake(); // 1-3
    v.say(1, b"220 fwcheck\r\n", true); // 4
    v.say(0, b"EPSV\r\n", true); // 5
    v.say(
        1,
        b"229 Entering Extended Passive Mode (|||50002|)\r\n",
        true,
    ); // 6
    v.syn(0, 40001, 50002); // 7: RELATED
    v.syn(0, 40002, 50003); // 8: NEW, dropped
    let cmp = run(&rules, &v.frames);
    assert_eq!(
        kernel_verdicts(&cmp),
        ["ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "DROP"],
        "{}",
        cmp.render(false)
    );
    let rules = ACTIVE_CLIENT.to_string();
    let (s, h) = (CLIENT6, HOST6);
    let mut v = Conv::new(h, 40000, s, 21);
    v.handshake(); // 1-3
    v.say(1, b"220 hi\r\n", true); // 4
    v.say(0, b"USER anonymous\r\n", true); // 5
    v.say(1, b"331 pw\r\n", true); // 6
    v.say(0, b"EPRT |2|2001:db8:a::a|51211|\r\n", true); // 7
    v.syn(1, 20, 51211); // 8: RELATED
    v.say(0, b"PORT 1,2,3,4,200,10\r\n", true); // 9: not the sender: nothing
    v.syn(1, 20, 51210); // 10: dropped
                         // PORT sets the first four bytes of the address: 32.1.13.184 is 2001:0db8, and the other
                         // twelve stay the sender's, so this one names the sender.
    v.say(0, b"PORT 32,1,13,184,200,12\r\n", true); // 11
    v.syn(1, 20, 51212); // 12: RELATED
    v.say(0, b"EPRT |1|192.0.2.10|51213|\r\n", false); // 13: wrong family: NF_DROP
    let cmp = run(&rules, &v.frames);
    #[rustfmt::skip]
    let want = [
        "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT",
        "ACCEPT", "ACCEPT", "DROP", "ACCEPT", "ACCEPT", "DROP",
    ];
    assert_eq!(kernel_verdicts(&cmp), want, "{}", cmp.render(false));
}

/// An expected connection takes its master's connmark (`init_conntrack`).
fn expected_connection_inherits_the_mark() {
    let rules = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp\nCOMMIT\n\
*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
-A PREROUTING -p tcp -m tcp --dport 21 -m conntrack --ctstate NEW -j CONNMARK --set-mark 7\n\
COMMIT\n\
*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p tcp -m tcp --dport 21 -j ACCEPT\n\
-A INPUT -p tcp -m tcp --syn -m connmark --mark 7 -j ACCEPT\nCOMMIT\n";
    let (c, h) = (CLIENT, HOST);
    let mut v = Conv::new(c, 40000, h, 21);
    v.handshake(); // 1-3
    v.say(1, b"220 fwcheck\r\n", true); // 4
    v.say(0, b"PASV\r\n", true); // 5
    v.say(
        1,
        b"227 Entering Passive Mode (192,0,2,10,195,80).\r\n",
        true,
    ); // 6
    v.syn(0, 40001, 50000); // 7: mark 7 from the master
    v.syn(0, 40002, 50001); // 8: no mark
    let cmp = run(rules, &v.frames);
    assert_eq!(
        kernel_verdicts(&cmp)[6..],
        ["ACCEPT", "DROP"],
        "{}",
        cmp.render(false)
    );
}

/// A helper fwcheck does not model (irc): once its connection carried payload, a new
/// connection may be one it expects, so its verdict is uncertain — never a certain NEW.
fn unmodelled_helper_is_uncertain() {
    let rules = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A OUTPUT -p tcp -m tcp --dport 6667 -j CT --helper irc\nCOMMIT\n\
*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n";
    let (s, h) = (CLIENT, HOST);
    let mut v = Conv::new(h, 40000, s, 6667);
    v.handshake(); // 1-3
    v.syn(1, 7000, 5000); // 4: before any payload: certain NEW, dropped
    v.say(0, b"NICK fwcheck\r\n", true); // 5
    v.syn(1, 7001, 5001); // 6: may be RELATED: uncertain
    let cmp = replay(rules, &v.frames);
    assert!(cmp.frames[3].fwcheck_certain, "{}", cmp.frames[3].line());
    assert!(!cmp.frames[5].fwcheck_certain, "{}", cmp.frames[5].line());
    let why = cmp.frames[5].fwcheck_reason.as_deref().unwrap_or("");
    assert!(why.contains("irc") && why.contains("frame 5"), "{why}");
    assert_eq!(cmp.frames[5].kernel, Some("DROP"));
}

kernel_tests!(
    ftp_passive_server,
    ftp_active_client,
    tftp_server,
    ftp_ipv6,
    expected_connection_inherits_the_mark,
    unmodelled_helper_is_uncertain
);
