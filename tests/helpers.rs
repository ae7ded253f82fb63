//! Conntrack helpers where the capture cannot show everything: a cut control packet, a
//! control packet with an uncertain verdict, FTP through NAT. The data connections they may
//! announce must never get a certain verdict. (`tests/kernel_helpers.rs` pins what the helpers
//! do against the kernel.)

mod common;
use common::*;

use fwcheck::packet::build::build;
use fwcheck::packet::{tcp_flags as F, Conversation, Endpoint, LinkInfo, Packet, Side, Timestamp};

const C: &str = "198.51.100.7";

fn rules_with(filter_extra: &str, nat: &str) -> String {
    format!(
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp\n\
-A PREROUTING -p tcp -m tcp --dport 2121 -j CT --helper ftp\nCOMMIT\n\
*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
{nat}COMMIT\n\
*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
{filter_extra}\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -p tcp -m tcp --dport 21 -j ACCEPT\n\
-A INPUT -p tcp -m tcp --dport 2121 -j ACCEPT\nCOMMIT\n"
    )
}

const GREETING: &[u8] = b"220 hi\r\n";
const REPLY: &[u8] = b"227 Entering Passive Mode (203,0,113,10,195,80).\r\n";

/// The frames of an FTP control connection from C:40000 to the host's `port` (the server's
/// socket answers from `sport`, as it does behind a REDIRECT): the handshake, the server's
/// greeting (primes the helper), the 227 reply; then a client SYN to port 50000.
fn ftp_frames(port: u16, sport: u16) -> [Packet; 6] {
    let [f @ .., _] = ftp_frames_from(40000, port, sport, 0);
    f
}

/// [`ftp_frames`] from the client's port `cport` (the data SYN from `cport + 1`), numbered
/// from `after + 1`, with the client's reset of the control connection last.
fn ftp_frames_from(cport: u16, port: u16, sport: u16, after: u64) -> [Packet; 7] {
    let mut cv = Conversation::new(
        Endpoint::new(ip(C), cport, 1000),
        Endpoint::new(ip(HOST), port, 5000),
    );
    let from_host = |cv: &mut Conversation, flags: u8, payload: &[u8]| {
        cv.server.port = sport;
        let p = cv.send_payload(Side::Server, flags, payload);
        cv.server.port = port;
        p
    };
    let mut data = Conversation::new(
        Endpoint::new(ip(C), cport + 1, 7000),
        Endpoint::new(ip(HOST), 50000, 0),
    );
    let specs = [
        cv.send(Side::Client, F::SYN, 0),
        from_host(&mut cv, F::SYN | F::ACK, &[]),
        cv.send(Side::Client, F::ACK, 0),
        from_host(&mut cv, F::PSH | F::ACK, GREETING),
        from_host(&mut cv, F::PSH | F::ACK, REPLY),
        data.send(Side::Client, F::SYN, 0),
        cv.send(Side::Client, F::RST, 0),
    ];
    let mut frame = after;
    specs.map(|spec| {
        frame += 1;
        let ts = Timestamp(1_700_000_000_000_000_000 + (frame - 1) * 1_000_000);
        build(&spec, frame, ts, LinkInfo::default())
    })
}

/// [`ftp_frames`] through `rules`, the reply as `last` makes it. Returns the outcomes of the
/// reply and the SYN.
fn session(
    rules: &str,
    port: u16,
    sport: u16,
    last: impl Fn(Packet) -> Packet,
) -> (fwcheck::engine::Outcome, fwcheck::engine::Outcome) {
    let l = common::rules(rules);
    let mut e = engine(&l);
    let [syn, synack, ack, greet, reply, data_syn] = ftp_frames(port, sport);
    let o = e.process(&syn);
    assert_eq!(v(&o), "ACCEPT");
    e.process(&synack);
    e.process(&ack);
    let o = e.process(&greet);
    assert!(o.certain, "{:?}", o.reason);
    let r = e.process(&last(reply));
    let syn = e.process(&data_syn);
    (r, syn)
}

#[test]
fn a_read_reply_opens_the_data_port_with_certainty() {
    let (r, syn) = session(&rules_with("", ""), 21, 21, |p| p);
    assert!(r.certain && syn.certain, "{:?} {:?}", r.reason, syn.reason);
    assert_eq!((v(&syn), st(&syn)), ("ACCEPT", "RELATED"));
}

#[test]
fn a_reply_the_capture_cut_leaves_the_data_connection_uncertain() {
    let (r, syn) = session(&rules_with("", ""), 21, 21, |p| {
        let mut p = p;
        let keep = 40 + 10;
        let data = p.data[..keep].to_vec();
        p.data = data.into();
        p
    });
    assert!(!r.certain, "the cut reply: {:?}", r.reason);
    assert!(
        r.reason.as_deref().unwrap_or("").contains("cut off"),
        "{:?}",
        r.reason
    );
    assert!(!syn.certain, "{:?}", syn.reason);
    assert_eq!(v(&syn), "DROP");
    let why = syn.reason.as_deref().unwrap_or("");
    assert!(
        why.contains("may be RELATED") && why.contains("frame 5"),
        "{why}"
    );
}

#[test]
fn an_uncertain_reply_leaves_the_data_connection_uncertain() {
    // The reply's own verdict is a coin toss: whether the helper read it is unknown.
    let rules = rules_with("", "").replace(
        ":OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack",
        ":OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp -m tcp --sport 21 -m length --length 90:100 \
         -m statistic --mode random --probability 0.5 -j DROP\n-A INPUT -m conntrack",
    );
    let (r, syn) = session(&rules, 21, 21, |p| p);
    assert!(!r.certain, "{:?}", r.reason);
    assert!(!syn.certain, "{:?}", syn.reason);
    let why = syn.reason.as_deref().unwrap_or("");
    assert!(why.contains("frame 5"), "{why}");
}

#[test]
fn ftp_through_nat_is_uncertain() {
    // The control connection is redirected from 2121 to 21: nf_nat_ftp would rewrite the reply
    // and register the expectation itself.
    let nat = "-A PREROUTING -p tcp -m tcp --dport 2121 -j REDIRECT --to-ports 21\n";
    let (r, syn) = session(&rules_with("", nat), 2121, 21, |p| p);
    assert!(!r.certain, "{:?}", r.reason);
    assert!(
        r.reason.as_deref().unwrap_or("").contains("NAT"),
        "{:?}",
        r.reason
    );
    assert!(!syn.certain, "{:?}", syn.reason);
}

#[test]
fn a_reply_on_a_doubtful_connection_leaves_the_data_connection_uncertain() {
    // The control connection's SYN passed a coin toss: everything on it is uncertain, and so
    // is what the helper expects from its 227 reply (a certain verdict in itself).
    let rules = rules_with(
        "-A INPUT -p tcp -m tcp --dport 21 --tcp-flags SYN,ACK SYN -m statistic --mode random \
         --probability 0.5 -j DROP\n",
        "",
    );
    let l = common::rules(&rules);
    let mut e = engine(&l);
    let [syn, synack, ack, greet, reply, data_syn] = ftp_frames(21, 21);
    let o = e.process(&syn);
    assert!(!o.certain, "{o:?}");
    e.process(&synack);
    e.process(&ack);
    e.process(&greet);
    let r = e.process(&reply);
    assert_eq!(v(&r), "ACCEPT");
    let syn = e.process(&data_syn);
    assert_eq!((v(&syn), st(&syn)), ("ACCEPT", "RELATED"));
    assert!(!syn.certain, "{:?}", syn.reason);
    let why = syn.reason.as_deref().unwrap_or("");
    assert!(why.contains("uncertain ground"), "{why}");
}

/// Two control connections between the same two hosts, both with a cut 227 reply: when the
/// first is reset and gone, the second's unknown expectation still covers a data connection (a
/// doubt is kept per control connection, not one per address pair: the pair's one doubt used
/// to be the first session's, dropped with it).
#[test]
fn a_second_cut_session_between_the_same_hosts_keeps_its_doubt() {
    let cut = |p: Packet| {
        let mut p = p;
        let data = p.data[..50].to_vec();
        p.data = data.into();
        p
    };
    let l = common::rules(&rules_with("", ""));
    let mut e = engine(&l);
    let [s1, sa1, a1, g1, r1, _, rst1] = ftp_frames_from(40000, 21, 21, 0);
    let [s2, sa2, a2, g2, r2, data_syn, _] = ftp_frames_from(40010, 21, 21, 7);
    for p in [s1, sa1, a1, g1] {
        e.process(&p);
    }
    assert!(!e.process(&cut(r1)).certain);
    for p in [s2, sa2, a2, g2] {
        e.process(&p);
    }
    assert!(!e.process(&cut(r2)).certain);
    // Session 1 is reset by the client (ordered after session 2's frames).
    let mut rst1 = rst1;
    (rst1.frame, rst1.ts) = (20, data_syn.ts);
    let o = e.process(&rst1);
    assert_eq!(st(&o), "ESTABLISHED", "{o:?}");
    // 11 s later the reset connection (CLOSE, 10 s) is gone, and its doubt with it.
    let mut syn = data_syn;
    (syn.frame, syn.ts.0) = (21, syn.ts.0 + 11_000_000_000);
    let o = e.process(&syn);
    assert!(!o.certain, "{o:?}");
    let why = o.reason.as_deref().unwrap_or("");
    assert!(
        why.contains("may be RELATED") && why.contains("frame 12"),
        "{why}"
    );
}
