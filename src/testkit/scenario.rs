//! Hand-built edge cases for the proof against the kernel (`tests/kernel_compare.rs`): TCP
//! conversations with exact sequence numbers (mid-stream pickups, retransmissions, RST and FIN
//! orders, reopening, window violations, simultaneous open), ICMP errors RELATED or not, ICMP
//! types that cannot start a connection, GRE/ESP and other protocols, fragments, IPv6 NDP and
//! ICMPv6 errors, and small real-time captures (rate limits, port knocking, conntrack timeouts).
//!
//! Every capture is deterministic (no clock, no randomness): the recipes here are the only
//! source of the files in `pcaps/` they produce (see [`crate::testkit::fixtures::all`]). The host is
//! 203.0.113.10 (and 203.0.113.11) / 2001:db8::10; the rest of the world lives in 192.0.2.0/24,
//! 198.51.100.0/24 and 2001:db8::/32.

use std::net::IpAddr;

use crate::packet::build::inner_of;
use crate::packet::build::{build, fragment_v4, fragment_v6, ExtHdr, L4Spec, PacketSpec, TcpOpt};
use crate::packet::tcp_flags::{ACK, FIN, PSH, RST, SYN, URG};
use crate::packet::writer::{write_pcap, DEFAULT_HOST_MAC, DEFAULT_PEER_MAC};
use crate::packet::{proto, LinkInfo, Packet, Timestamp};
use crate::packet::{Conversation, Endpoint, Side};

const START_NS: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

/// The host's IPv4 address in every edge-case capture.
pub(crate) const HOST4: &str = "203.0.113.10";
/// A second address of the same host (for ICMP errors sent to the "wrong" local address).
pub(crate) const HOST4_B: &str = "203.0.113.11";
/// The host's IPv6 address.
pub const HOST6: &str = "2001:db8::10";

fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

fn is_host(a: IpAddr) -> bool {
    a == ip(HOST4) || a == ip(HOST4_B) || a == ip(HOST6)
}

/// A capture under construction: packets with time stamps.
pub(crate) struct Cap {
    pkts: Vec<Packet>,
    /// Nanoseconds since the start of the capture.
    t: u64,
    /// Default gap after each packet.
    gap: u64,
}

impl Cap {
    pub(crate) fn new() -> Cap {
        Cap {
            pkts: Vec::new(),
            t: 0,
            gap: MS,
        }
    }

    /// Let `ms` milliseconds pass (on top of the default gap).
    pub(crate) fn wait_ms(&mut self, ms: u64) {
        self.t += ms * MS;
    }

    fn link(src: IpAddr) -> LinkInfo {
        let from_remote = !is_host(src);
        LinkInfo {
            linktype: 1,
            src_mac: Some(if from_remote {
                DEFAULT_PEER_MAC
            } else {
                DEFAULT_HOST_MAC
            }),
            dst_mac: Some(if from_remote {
                DEFAULT_HOST_MAC
            } else {
                DEFAULT_PEER_MAC
            }),
            ..LinkInfo::default()
        }
    }

    /// Append a packet built from `spec`.
    pub(crate) fn push(&mut self, spec: &PacketSpec) -> Packet {
        let p = build(
            spec,
            self.pkts.len() as u64 + 1,
            Timestamp(START_NS + self.t),
            Self::link(spec.src),
        );
        self.pkts.push(p.clone());
        self.t += self.gap;
        p
    }

    /// Append raw IP bytes (fragments, deliberately broken packets).
    pub(crate) fn push_bytes(&mut self, bytes: Vec<u8>) {
        let src = match bytes.first().map(|b| b >> 4) {
            Some(6) if bytes.len() >= 40 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&bytes[8..24]);
                IpAddr::from(a)
            }
            _ if bytes.len() >= 20 => IpAddr::from([bytes[12], bytes[13], bytes[14], bytes[15]]),
            _ => IpAddr::from([0u8, 0, 0, 0]),
        };
        let spec = PacketSpec::new(src, src, L4Spec::Raw { proto: 0 });
        let mut q = build(
            &spec,
            self.pkts.len() as u64 + 1,
            Timestamp(START_NS + self.t),
            Self::link(src),
        );
        q.data = bytes.into();
        self.pkts.push(q);
        self.t += self.gap;
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        let _ = write_pcap(&mut v, &self.pkts);
        v
    }
}

fn payload(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| b'a' + ((i as u32 * 7 + seed as u32) % 26) as u8)
        .collect()
}

/// The payload bytes of a segment in these captures: letters that depend on its sequence
/// number.
fn seg_payload(len: usize, seq: u32) -> Vec<u8> {
    payload(len, seq as u8)
}

/// A TCP conversation between a client and a server with exact sequence numbers: a
/// [`Conversation`] (which keeps the numbers; `client.seq`/`server.seq` are the next each side
/// sends) whose segments go into a [`Cap`], each with an IP id derived from its sequence
/// number. The host sends with TTL 64, the rest of the world with 52; SYNs carry MSS and
/// SACK-permitted, window 64240 (client) or 65160 (server).
pub(crate) struct Conv(Conversation);

impl std::ops::Deref for Conv {
    type Target = Conversation;
    fn deref(&self) -> &Conversation {
        &self.0
    }
}

impl std::ops::DerefMut for Conv {
    fn deref_mut(&mut self) -> &mut Conversation {
        &mut self.0
    }
}

impl Conv {
    pub(crate) fn new(c: &str, cp: u16, s: &str, sp: u16, cisn: u32, sisn: u32) -> Conv {
        let end = |a: &str, port: u16, isn: u32, syn_window: u16, window: u16| {
            Endpoint::new(ip(a), port, isn)
                .with_windows(syn_window, window)
                .with_syn_options(vec![TcpOpt::Mss(1460), TcpOpt::SackPerm])
                .with_ttl(if is_host(ip(a)) { 64 } else { 52 })
        };
        Conv(
            Conversation::new(
                end(c, cp, cisn, 64240, 64240),
                end(s, sp, sisn, 65160, 65160),
            )
            .with_dont_fragment(true)
            .with_fill(seg_payload),
        )
    }

    /// Appends a segment, its IP id derived from its sequence number.
    fn push(cap: &mut Cap, mut spec: PacketSpec) {
        if let L4Spec::Tcp { seq, .. } = spec.l4 {
            spec.ip_id = (seq ^ (seq >> 16)) as u16;
        }
        cap.push(&spec);
    }

    /// Client → server with explicit numbers (the conversation's counters do not move).
    pub(crate) fn c_raw(&self, cap: &mut Cap, flags: u8, seq: u32, ack: u32, len: usize) {
        Self::push(cap, self.raw(Side::Client, flags, seq, ack, len));
    }

    /// Client → server with explicit numbers and TCP options.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn c_opts(
        &self,
        cap: &mut Cap,
        flags: u8,
        seq: u32,
        ack: u32,
        len: usize,
        opts: Vec<TcpOpt>,
    ) {
        Self::push(
            cap,
            self.raw_options(Side::Client, flags, seq, ack, len, opts),
        );
    }

    /// Server → client with explicit numbers.
    pub(crate) fn s_raw(&self, cap: &mut Cap, flags: u8, seq: u32, ack: u32, len: usize) {
        Self::push(cap, self.raw(Side::Server, flags, seq, ack, len));
    }

    /// Client → server: the next segment (ack = the server's next sequence number if ACK).
    pub(crate) fn c(&mut self, cap: &mut Cap, flags: u8, len: usize) {
        Self::push(cap, self.0.send(Side::Client, flags, len));
    }

    /// Server → client: the next segment.
    pub(crate) fn s(&mut self, cap: &mut Cap, flags: u8, len: usize) {
        Self::push(cap, self.0.send(Side::Server, flags, len));
    }

    pub(crate) fn handshake(&mut self, cap: &mut Cap) {
        for p in self.0.handshake() {
            Self::push(cap, p);
        }
    }

    /// A request and a response.
    pub(crate) fn exchange(&mut self, cap: &mut Cap, req: usize, resp: usize) {
        for p in self.0.exchange(req, resp) {
            Self::push(cap, p);
        }
    }

    /// Client closes first: FIN, FIN, ACK.
    pub(crate) fn close_client(&mut self, cap: &mut Cap) {
        for p in self.0.close(Side::Client) {
            Self::push(cap, p);
        }
    }

    /// Server closes first.
    pub(crate) fn close_server(&mut self, cap: &mut Cap) {
        for p in self.0.close(Side::Server) {
            Self::push(cap, p);
        }
    }

    /// The IP bytes of the client's next data segment (for quoting in ICMP errors; no
    /// options, even on a SYN).
    pub(crate) fn c_bytes(&self, flags: u8, len: usize) -> Vec<u8> {
        let (seq, ack) = (self.client.seq, self.server.seq);
        let mut spec = self.raw_options(Side::Client, flags, seq, ack, len, vec![]);
        spec.ip_id = (seq ^ (seq >> 16)) as u16;
        let p = build(&spec, 0, Timestamp(0), LinkInfo::default());
        p.data.to_vec()
    }
}

fn udp(src: &str, sport: u16, dst: &str, dport: u16, len: usize) -> PacketSpec {
    let mut s = PacketSpec::new(ip(src), ip(dst), L4Spec::Udp { sport, dport });
    s.payload = payload(len, sport as u8);
    s.ttl = if is_host(ip(src)) { 64 } else { 55 };
    s.ip_id = sport ^ dport;
    s
}

fn icmp(src: &str, dst: &str, icmp_type: u8, code: u8, id: u16, seq: u16) -> PacketSpec {
    let mut s = PacketSpec::new(
        ip(src),
        ip(dst),
        L4Spec::Icmp {
            icmp_type,
            code,
            id,
            seq,
            quote: None,
        },
    );
    s.payload = payload(
        if matches!(icmp_type, 8 | 0 | 128 | 129) {
            56
        } else {
            0
        },
        seq as u8,
    );
    s.ttl = if is_host(ip(src)) { 64 } else { 57 };
    s.ip_id = id ^ seq;
    s
}

fn raw(src: &str, dst: &str, proto: u8, body: Vec<u8>) -> PacketSpec {
    let mut s = PacketSpec::new(ip(src), ip(dst), L4Spec::Raw { proto });
    s.payload = body;
    s.ttl = if is_host(ip(src)) { 64 } else { 60 };
    s
}

/// An ICMP/ICMPv6 error from `src` to `dst` quoting `quoted` cut to `keep` bytes.
fn icmp_error(src: &str, dst: &str, t: u8, code: u8, quoted: &[u8], keep: usize) -> PacketSpec {
    let q = quoted[..keep.min(quoted.len())].to_vec();
    let inner = inner_of(&q);
    // Bytes 4..8: unused, or the next-hop MTU (3/4), or the IPv6 MTU (ICMPv6 2).
    let (id, seq) = match (ip(src).is_ipv4(), t, code) {
        (true, 3, 4) => (0, 1400),
        (false, 2, _) => (0, 1280),
        _ => (0, 0),
    };
    let mut s = PacketSpec::new(
        ip(src),
        ip(dst),
        L4Spec::Icmp {
            icmp_type: t,
            code,
            id,
            seq,
            quote: Some((q, inner)),
        },
    );
    s.ttl = if is_host(ip(src)) { 64 } else { 250 };
    s
}

/// IPv4 header + 8 bytes: what RFC 792 requires an error to quote.
const Q8: usize = 28;

fn built(spec: &PacketSpec) -> Vec<u8> {
    build(spec, 0, Timestamp(0), LinkInfo::default())
        .data
        .to_vec()
}

// ---------------------------------------------------------------------------------------------
// TCP

/// `tcp-edge.pcap`: TCP state machine and window tracking edge cases, each on its own ports.
pub(crate) fn tcp_edge() -> Vec<u8> {
    let h = HOST4;
    let mut cap = Cap::new();
    let k = &mut cap;

    // 1. A complete session in to :80, the client closes first.
    let mut c = Conv::new("198.51.100.11", 40001, h, 80, 1_000_000, 5_000_000);
    c.handshake(k);
    c.exchange(k, 120, 900);
    c.close_client(k);

    // 2. The host as a client (:443), the server closes first.
    let mut c = Conv::new(h, 41002, "192.0.2.80", 443, 2_000_000, 6_000_000);
    c.handshake(k);
    c.exchange(k, 200, 1400);
    c.close_server(k);

    // 3. Mid-stream, the client's data first (in, :80).
    let mut c = Conv::new("198.51.100.13", 40003, h, 80, 3_000_000, 7_000_000);
    c.c(k, PSH | ACK, 300);
    c.s(k, ACK, 0);
    c.s(k, PSH | ACK, 700);
    c.c(k, ACK, 0);
    c.close_client(k);

    // 4. Mid-stream, the server's data first (in, :443): the host's packet creates the entry.
    let mut c = Conv::new("198.51.100.14", 40004, h, 443, 3_100_000, 7_100_000);
    c.s(k, PSH | ACK, 1200);
    c.c(k, ACK, 0);
    c.c(k, PSH | ACK, 80);
    c.s(k, ACK, 0);
    c.close_server(k);

    // 5. Mid-stream out (the host is the client of :80), host's data first.
    let mut c = Conv::new(h, 41005, "192.0.2.80", 80, 3_200_000, 7_200_000);
    c.c(k, PSH | ACK, 150);
    c.s(k, PSH | ACK, 1000);
    c.c(k, ACK, 0);

    // 6. Mid-stream out, the remote server's data first.
    let mut c = Conv::new(h, 41006, "192.0.2.80", 443, 3_300_000, 7_300_000);
    c.s(k, PSH | ACK, 1000);
    c.c(k, ACK, 0);
    c.c(k, PSH | ACK, 100);
    c.s(k, ACK, 0);

    // 7. Mid-stream pickup attempts with FIN, RST, SYN/ACK first (none may create an entry),
    //    then a plain ACK that does.
    let mut c = Conv::new("198.51.100.17", 40007, h, 80, 3_400_000, 7_400_000);
    c.c_raw(k, FIN | ACK, c.client.seq, c.server.seq, 0);
    c.c_raw(k, RST | ACK, c.client.seq, c.server.seq, 0);
    c.c_raw(k, SYN | ACK, c.client.seq, c.server.seq, 0);
    c.s_raw(k, FIN | ACK, c.server.seq, c.client.seq, 0);
    c.c(k, ACK, 0);
    c.s(k, PSH | ACK, 50);
    c.c(k, ACK, 0);

    // 8. Retransmissions: SYN, SYN/ACK, data, FIN (in, :443).
    let mut c = Conv::new("198.51.100.18", 40008, h, 443, 4_000_000, 8_000_000);
    let isn = c.client.seq;
    c.c(k, SYN, 0);
    c.c_raw(k, SYN, isn, 0, 0);
    let sisn = c.server.seq;
    c.s(k, SYN | ACK, 0);
    c.s_raw(k, SYN | ACK, sisn, c.client.seq, 0);
    c.c(k, ACK, 0);
    let seq = c.client.seq;
    c.c(k, PSH | ACK, 500);
    c.c_raw(k, PSH | ACK, seq, c.server.seq, 500);
    c.s(k, ACK, 0);
    c.c_raw(k, PSH | ACK, seq, c.server.seq, 500);
    c.s(k, PSH | ACK, 600);
    let sseq = c.server.seq;
    c.s_raw(k, PSH | ACK, sseq.wrapping_sub(600), c.client.seq, 600);
    c.c(k, ACK, 0);
    let fin = c.client.seq;
    c.c(k, FIN | ACK, 0);
    c.c_raw(k, FIN | ACK, fin, c.server.seq, 0);
    let sfin = c.server.seq;
    c.s(k, FIN | ACK, 0);
    c.c(k, ACK, 0);
    c.s_raw(k, FIN | ACK, sfin, c.client.seq, 0);
    c.c(k, ACK, 0);

    // 9. The client resets an established session; the server keeps talking.
    let mut c = Conv::new("198.51.100.19", 40009, h, 80, 4_100_000, 8_100_000);
    c.handshake(k);
    c.exchange(k, 100, 300);
    c.c_raw(k, RST | ACK, c.client.seq, c.server.seq, 0);
    c.s(k, PSH | ACK, 100);
    c.c_raw(k, RST, c.client.seq, 0, 0);

    // 10. The server resets (out); the client retransmits data afterwards.
    let mut c = Conv::new("198.51.100.20", 40010, h, 443, 4_200_000, 8_200_000);
    c.handshake(k);
    c.c(k, PSH | ACK, 100);
    c.s_raw(k, RST, c.server.seq, 0, 0);
    c.c_raw(
        k,
        PSH | ACK,
        c.client.seq.wrapping_sub(100),
        c.server.seq,
        100,
    );

    // 11. RST as the only reply to a SYN (closed port, in), then the SYN again.
    let mut c = Conv::new("198.51.100.21", 40011, h, 81, 4_300_000, 0);
    c.c(k, SYN, 0);
    c.s_raw(k, RST | ACK, 0, c.client.seq, 0);
    c.c_raw(k, SYN, c.client.seq.wrapping_sub(1), 0, 0);
    c.s_raw(k, RST | ACK, 0, c.client.seq, 0);

    // 12. The same from the host's side: its SYN out, a RST back.
    let mut c = Conv::new(h, 41012, "192.0.2.81", 8080, 4_400_000, 0);
    c.c(k, SYN, 0);
    c.s_raw(k, RST | ACK, 0, c.client.seq, 0);
    c.c_raw(k, ACK, c.client.seq, 1, 0);

    // 13. RST after FIN: the client half-closes, the server answers with a RST.
    let mut c = Conv::new("198.51.100.23", 40013, h, 80, 4_500_000, 8_500_000);
    c.handshake(k);
    c.exchange(k, 80, 80);
    c.c(k, FIN | ACK, 0);
    c.s(k, ACK, 0);
    c.s_raw(k, RST | ACK, c.server.seq, c.client.seq, 0);
    c.c(k, ACK, 0);

    // 14. RST after FIN from the side that sent the FIN.
    let mut c = Conv::new("198.51.100.24", 40014, h, 80, 4_600_000, 8_600_000);
    c.handshake(k);
    c.exchange(k, 80, 80);
    c.c(k, FIN | ACK, 0);
    c.s(k, ACK, 0);
    c.c_raw(k, RST, c.client.seq, 0, 0);
    c.s(k, PSH | ACK, 10);

    // 15. Simultaneous close: both FINs cross.
    let mut c = Conv::new("198.51.100.25", 40015, h, 443, 4_700_000, 8_700_000);
    c.handshake(k);
    c.exchange(k, 90, 90);
    let (cs, ss) = (c.client.seq, c.server.seq);
    c.c_raw(k, FIN | ACK, cs, ss, 0);
    c.s_raw(k, FIN | ACK, ss, cs, 0);
    c.c_raw(k, ACK, cs + 1, ss + 1, 0);
    c.s_raw(k, ACK, ss + 1, cs + 1, 0);

    // 16. RSTs with wrong sequence numbers on an assured connection: far below (invalid),
    //     inside the window but not exact (challenge), then exact.
    let mut c = Conv::new("198.51.100.26", 40016, h, 80, 4_800_000, 8_800_000);
    c.handshake(k);
    c.exchange(k, 100, 100);
    c.exchange(k, 100, 100);
    c.c_raw(k, RST, c.client.seq.wrapping_sub(100_000), 0, 0);
    c.c_raw(k, RST, c.client.seq.wrapping_add(1000), 0, 0);
    c.s(k, ACK, 0);
    c.c_raw(k, RST, c.client.seq, 0, 0);
    c.s(k, PSH | ACK, 10);

    // 17. A SYN the host's firewall may drop, then the server's SYN/ACK and data anyway.
    let mut c = Conv::new("198.51.100.27", 40017, h, 23, 4_900_000, 8_900_000);
    c.c(k, SYN, 0);
    c.s(k, SYN | ACK, 0);
    c.c(k, ACK, 0);
    c.s(k, PSH | ACK, 20);

    // 18. Reopen from TIME_WAIT: a complete session, then a new SYN on the same ports.
    let mut c = Conv::new("198.51.100.28", 40018, h, 80, 5_000_000, 9_000_000);
    c.handshake(k);
    c.exchange(k, 100, 200);
    c.close_client(k);
    c.client.seq = c.client.seq.wrapping_add(100_000);
    c.server.seq = c.server.seq.wrapping_add(300_000);
    c.handshake(k);
    c.exchange(k, 50, 50);
    c.close_server(k);
    c.client.seq = c.client.seq.wrapping_add(100_000);
    c.server.seq = c.server.seq.wrapping_add(300_000);
    c.handshake(k);

    // 19. Reopen after a RST (CLOSE state): by the side that reset, and by the other side.
    let mut c = Conv::new("198.51.100.29", 40019, h, 443, 5_100_000, 9_100_000);
    c.handshake(k);
    c.c_raw(k, RST | ACK, c.client.seq, c.server.seq, 0);
    c.client.seq = c.client.seq.wrapping_add(50_000);
    c.server.seq = c.server.seq.wrapping_add(70_000);
    c.handshake(k);
    c.s_raw(k, RST, c.server.seq, 0, 0);
    c.client.seq = c.client.seq.wrapping_add(50_000);
    c.server.seq = c.server.seq.wrapping_add(70_000);
    c.handshake(k);

    // 20. Out-of-window data and an ACK of data never sent.
    let mut c = Conv::new("198.51.100.30", 40020, h, 80, 5_200_000, 9_200_000);
    c.handshake(k);
    c.exchange(k, 100, 100);
    c.c_raw(
        k,
        PSH | ACK,
        c.client.seq.wrapping_add(10_000_000),
        c.server.seq,
        100,
    );
    c.c_raw(
        k,
        ACK,
        c.client.seq,
        c.server.seq.wrapping_add(1_000_000),
        0,
    );
    c.s_raw(k, ACK, c.server.seq, c.client.seq.wrapping_add(500_000), 0);
    c.s_raw(
        k,
        PSH | ACK,
        c.server.seq.wrapping_sub(3_000_000),
        c.client.seq,
        100,
    );
    c.exchange(k, 100, 100);

    // 21. Simultaneous open (host :5001 ↔ 192.0.2.7:5001).
    let mut c = Conv::new(h, 5001, "192.0.2.7", 5001, 5_300_000, 9_300_000);
    c.c(k, SYN, 0);
    c.s(k, SYN, 0);
    c.c_raw(k, SYN | ACK, c.client.seq.wrapping_sub(1), c.server.seq, 0);
    c.s_raw(k, SYN | ACK, c.server.seq.wrapping_sub(1), c.client.seq, 0);
    c.c(k, ACK, 0);
    c.s(k, ACK, 0);
    c.c(k, PSH | ACK, 100);
    c.s(k, ACK, 0);

    // 22. Window scaling: 80 KB in flight inside a scaled window, then beyond it.
    let mut c = Conv::new("198.51.100.32", 40022, h, 443, 5_400_000, 9_400_000);
    c.client.syn_options = vec![
        TcpOpt::Mss(1460),
        TcpOpt::SackPerm,
        TcpOpt::Nop,
        TcpOpt::WScale(7),
    ];
    c.server.syn_options = vec![
        TcpOpt::Mss(1460),
        TcpOpt::SackPerm,
        TcpOpt::Nop,
        TcpOpt::WScale(7),
    ];
    c.client.window = 1000;
    c.server.window = 500;
    c.handshake(k);
    c.c(k, PSH | ACK, 200);
    for _ in 0..56 {
        c.s(k, ACK, 1400);
    }
    c.c(k, ACK, 0);
    c.s_raw(
        k,
        ACK,
        c.server.seq.wrapping_add(200_000),
        c.client.seq,
        1400,
    );
    c.s(k, PSH | ACK, 100);
    c.c(k, ACK, 0);

    // 23. Window scaling offered by one side only (so no scaling at all): data beyond the
    //     unscaled window is out of window.
    let mut c = Conv::new("198.51.100.33", 40023, h, 443, 5_500_000, 9_500_000);
    c.client.syn_options = vec![TcpOpt::Mss(1460), TcpOpt::Nop, TcpOpt::WScale(7)];
    c.client.window = 500;
    c.handshake(k);
    c.c(k, PSH | ACK, 100);
    c.s(k, ACK, 1400);
    c.s_raw(k, ACK, c.server.seq.wrapping_add(5000), c.client.seq, 1400);
    c.s_raw(
        k,
        ACK,
        c.server.seq.wrapping_add(100_000),
        c.client.seq,
        1400,
    );

    // 24. Keep-alives and a zero window.
    let mut c = Conv::new("198.51.100.34", 40024, h, 80, 5_600_000, 9_600_000);
    c.handshake(k);
    c.exchange(k, 100, 100);
    c.c_raw(k, ACK, c.client.seq.wrapping_sub(1), c.server.seq, 0);
    c.s(k, ACK, 0);
    c.c_raw(k, ACK, c.client.seq.wrapping_sub(1), c.server.seq, 1);
    c.client.window = 0;
    c.s(k, PSH | ACK, 1000);
    c.c(k, ACK, 0);
    c.s_raw(k, ACK, c.server.seq, c.client.seq, 1);
    c.client.window = 64240;
    c.c(k, ACK, 0);

    // 25. Invalid flag combinations inside an established connection.
    let mut c = Conv::new("198.51.100.35", 40025, h, 80, 5_700_000, 9_700_000);
    c.handshake(k);
    for f in [
        SYN | FIN,
        0,
        FIN | PSH | URG,
        SYN | RST,
        FIN,
        0x3f,
        SYN | FIN | ACK,
    ] {
        c.c_raw(
            k,
            f,
            c.client.seq,
            if f & ACK != 0 { c.server.seq } else { 0 },
            0,
        );
    }
    c.c(k, PSH | ACK | URG, 10);
    c.s(k, ACK, 0);

    // 26. A SYN with 1200 bytes of data, and a normal SYN, to :80.
    let mut c = Conv::new("198.51.100.36", 40026, h, 80, 5_800_000, 9_800_000);
    c.c(k, SYN, 1200);
    c.s(k, SYN | ACK, 0);
    c.c(k, ACK, 0);

    // 27. A SYN on an established connection, the challenge ACK, and the client's RST.
    let mut c = Conv::new("198.51.100.37", 40027, h, 80, 5_900_000, 9_900_000);
    c.handshake(k);
    c.exchange(k, 100, 100);
    c.c_raw(k, SYN, 77_000_000, 0, 0);
    c.s(k, ACK, 0);
    c.c_raw(k, RST, c.client.seq, 0, 0);
    c.client.seq = 77_000_000;
    c.handshake(k);

    // 28. The third ACK is lost: the client sends data right away; then a SYN/ACK with a
    //     wrong acknowledgement number on another connection.
    let mut c = Conv::new("198.51.100.38", 40028, h, 443, 6_000_000, 10_000_000);
    c.c(k, SYN, 0);
    c.s(k, SYN | ACK, 0);
    c.c(k, PSH | ACK, 100);
    c.s(k, ACK, 0);
    let mut c = Conv::new("198.51.100.38", 40029, h, 443, 6_100_000, 10_100_000);
    c.c(k, SYN, 0);
    c.s_raw(
        k,
        SYN | ACK,
        c.server.seq,
        c.client.seq.wrapping_add(5000),
        0,
    );
    c.s(k, SYN | ACK, 0);
    c.c(k, ACK, 0);

    // 29. The server sends data before the handshake completes; a FIN in SYN_SENT.
    let mut c = Conv::new("198.51.100.39", 40030, h, 80, 6_200_000, 10_200_000);
    c.c(k, SYN, 0);
    c.c_raw(k, FIN | ACK, c.client.seq, 1, 0);
    c.s(k, SYN | ACK, 0);
    c.s(k, PSH | ACK, 100);
    c.c(k, ACK, 0);

    // 30. Sequence numbers wrapping around 2^32.
    let mut c = Conv::new("198.51.100.40", 40031, h, 443, 0xffff_fe00, 0xffff_ff00);
    c.handshake(k);
    for _ in 0..3 {
        c.exchange(k, 300, 400);
    }
    c.close_client(k);

    // 31. Old duplicates after the close: data and FIN of the closed connection.
    let mut c = Conv::new("198.51.100.41", 40032, h, 80, 6_300_000, 10_300_000);
    c.handshake(k);
    let data = c.client.seq;
    c.exchange(k, 100, 100);
    c.close_client(k);
    c.c_raw(k, PSH | ACK, data, c.server.seq.wrapping_sub(101), 100);
    c.s_raw(k, FIN | ACK, c.server.seq.wrapping_sub(1), c.client.seq, 0);

    // 32. The host's SYN out to a port the firewall may reject, SYN/ACK back, ACK out.
    let mut c = Conv::new(h, 41033, "192.0.2.80", 8443, 6_400_000, 10_400_000);
    c.handshake(k);
    c.exchange(k, 10, 10);

    // 33. SYN scan of the host from an address in 192.0.2.200-254, and a RST to the host's
    //     port that never saw a SYN.
    for (i, port) in [21u16, 22, 25, 80, 110, 443, 3306].into_iter().enumerate() {
        let c = Conv::new(
            "192.0.2.222",
            50000 + i as u16,
            h,
            port,
            11_000 + i as u32,
            0,
        );
        c.c_raw(k, SYN, c.client.seq, 0, 0);
    }
    let c = Conv::new("198.51.100.42", 40034, h, 80, 6_500_000, 0);
    c.c_raw(k, RST, c.client.seq, 0, 0);
    c.c_raw(k, ACK, c.client.seq, 12345, 0);

    // 34. A SYN/ACK from the client on an established connection (invalid in the original
    //     direction), then normal data.
    let mut c = Conv::new("198.51.100.43", 40035, h, 443, 6_600_000, 10_600_000);
    c.handshake(k);
    c.c_raw(k, SYN | ACK, c.client.seq, c.server.seq, 0);
    c.exchange(k, 30, 30);

    // 35. Role switch from TIME_WAIT: after the client's close, the server opens a new
    //     connection to the client's port (a SYN in the reply direction).
    let mut c = Conv::new("198.51.100.44", 40036, h, 80, 6_700_000, 10_700_000);
    c.handshake(k);
    c.exchange(k, 30, 30);
    c.close_client(k);
    let mut r = Conv::new(h, 80, "198.51.100.44", 40036, 20_000_000, 30_000_000);
    r.handshake(k);
    r.exchange(k, 30, 30);

    // 36. Ports some rulesets translate: a published container port (8080), a Kubernetes node
    //     port (30080) and service addresses (198.51.100.1:443, 198.51.100.20:80), with the
    //     service's answer where it comes back from a fixed address.
    let mut c = Conv::new("198.51.100.45", 40037, h, 8080, 6_800_000, 10_800_000);
    c.c(k, SYN, 0);
    c.s(k, SYN | ACK, 0);
    let c = Conv::new("198.51.100.45", 40038, h, 30080, 6_900_000, 0);
    c.c_raw(k, SYN, c.client.seq, 0, 0);
    let mut c = Conv::new(h, 41039, "198.51.100.1", 443, 7_000_000, 11_000_000);
    c.c(k, SYN, 0);
    c.s(k, SYN | ACK, 0);
    c.c(k, ACK, 0);
    let c = Conv::new(h, 41040, "198.51.100.20", 80, 7_100_000, 0);
    c.c_raw(k, SYN, c.client.seq, 0, 0);

    // 37. SACK: a selective ACK of data sent, then one whose right edge is beyond anything
    //     sent (invalid when SACK was permitted; without SACK-permitted it is not looked at),
    //     and segments carrying only time stamps.
    for (port, sackperm) in [(40039u16, true), (40040, false)] {
        let mut c = Conv::new("198.51.100.46", port, h, 443, 7_200_000, 11_200_000);
        if !sackperm {
            c.client.syn_options = vec![TcpOpt::Mss(1460)];
            c.server.syn_options = vec![TcpOpt::Mss(1460)];
        }
        c.handshake(k);
        c.c(k, PSH | ACK, 100);
        let first = c.server.seq;
        c.s(k, ACK, 1000);
        c.s(k, ACK, 1000);
        c.s(k, ACK, 1000);
        let (a, b) = (first.wrapping_add(2000), first.wrapping_add(3000));
        c.c_opts(
            k,
            ACK,
            c.client.seq,
            first.wrapping_add(1000),
            0,
            vec![TcpOpt::Nop, TcpOpt::Nop, TcpOpt::Sack(vec![(a, b)])],
        );
        let far = first.wrapping_add(50_000);
        c.c_opts(
            k,
            ACK,
            c.client.seq,
            first.wrapping_add(1000),
            0,
            vec![TcpOpt::Nop, TcpOpt::Nop, TcpOpt::Sack(vec![(a, far)])],
        );
        c.c_opts(
            k,
            ACK,
            c.client.seq,
            c.server.seq,
            0,
            vec![TcpOpt::Nop, TcpOpt::Nop, TcpOpt::Timestamp(1000, 2000)],
        );
        c.s(k, PSH | ACK, 10);
        c.c(k, ACK, 0);
    }

    cap.bytes()
}

// ---------------------------------------------------------------------------------------------
// ICMP

/// `icmp-edge.pcap`: ICMP errors RELATED to connections (or INVALID), ICMP types that cannot
/// create connections, packets to closed ports.
pub(crate) fn icmp_edge() -> Vec<u8> {
    let h = HOST4;
    let mut cap = Cap::new();
    let k = &mut cap;

    // 1. The host's DNS query, answered by a port-unreachable.
    let q = udp(h, 41001, "192.0.2.53", 53, 30);
    k.push(&q);
    k.push(&icmp_error("192.0.2.53", h, 3, 3, &built(&q), 576));

    // 2. A client's UDP datagram to a closed port, the host's port-unreachable out; then the
    //    same error sent to another client (outer destination differs: INVALID), and an error
    //    quoting a datagram that never existed.
    let d = udp("198.51.100.20", 5555, h, 9999, 40);
    k.push(&d);
    k.push(&icmp_error(h, "198.51.100.20", 3, 3, &built(&d), 576));
    k.push(&icmp_error(h, "198.51.100.21", 3, 3, &built(&d), 576));
    let never = udp("198.51.100.22", 5556, h, 9998, 40);
    k.push(&icmp_error(h, "198.51.100.22", 3, 3, &built(&never), 576));

    // 3. A TCP connection out; fragmentation needed from a router for the host's segment,
    //    from a router in 192.0.2.200-254, and for a segment of an unknown connection.
    let mut c = Conv::new(h, 41002, "192.0.2.80", 443, 1_000, 2_000);
    c.handshake(k);
    let seg = c.c_bytes(PSH | ACK, 1460);
    k.push(&icmp_error("192.0.2.254", h, 3, 4, &seg, Q8));
    k.push(&icmp_error("192.0.2.1", h, 3, 4, &seg, 576));
    let other = Conv::new(h, 41999, "192.0.2.80", 443, 1_000, 2_000).c_bytes(ACK, 100);
    k.push(&icmp_error("192.0.2.254", h, 3, 4, &other, Q8));
    c.exchange(k, 100, 100);

    // 4. Traceroute: UDP probes out with TTL 1 and 2, time-exceeded back; one quoting a TCP
    //    SYN; one time-exceeded in transit for a ping.
    let mut p1 = udp(h, 33434, "198.51.100.50", 33434, 32);
    p1.ttl = 1;
    k.push(&p1);
    let mut q1 = built(&p1);
    q1[8] = 1;
    k.push(&icmp_error("192.0.2.1", h, 11, 0, &q1, Q8));
    let mut p2 = udp(h, 33435, "198.51.100.50", 33435, 32);
    p2.ttl = 2;
    k.push(&p2);
    k.push(&icmp_error("198.51.100.1", h, 11, 0, &built(&p2), Q8));
    let syn = Conv::new(h, 41004, "198.51.100.50", 80, 3_000, 0);
    syn.c_raw(k, SYN, 3_000, 0, 0);
    k.push(&icmp_error("192.0.2.1", h, 11, 0, &syn.c_bytes(SYN, 0), Q8));
    let ping = icmp(h, "198.51.100.51", 8, 0, 0x4444, 1);
    k.push(&ping);
    k.push(&icmp_error("192.0.2.1", h, 11, 0, &built(&ping), Q8));
    k.push(&icmp_error("192.0.2.1", h, 3, 1, &built(&ping), Q8));

    // 5. Errors sent to the host's other address, quoting a packet from the first (INVALID),
    //    and quoting the host's other address (RELATED).
    let q5 = udp(h, 41005, "192.0.2.53", 53, 30);
    k.push(&q5);
    k.push(&icmp_error("192.0.2.53", HOST4_B, 3, 3, &built(&q5), 576));
    let q5b = udp(HOST4_B, 41005, "192.0.2.53", 53, 30);
    k.push(&q5b);
    k.push(&icmp_error("192.0.2.53", HOST4_B, 3, 3, &built(&q5b), 576));

    // 6. Quotes too short to name the connection: 2 bytes of UDP, 4 bytes of UDP (the ports),
    //    4 bytes of an echo request (no id), a quoted non-first fragment.
    let q6 = udp(h, 41006, "192.0.2.53", 53, 30);
    k.push(&q6);
    let b6 = built(&q6);
    k.push(&icmp_error("192.0.2.53", h, 3, 3, &b6, 22));
    k.push(&icmp_error("192.0.2.53", h, 3, 3, &b6, 24));
    let ping6 = icmp(h, "192.0.2.60", 8, 0, 0x4446, 1);
    k.push(&ping6);
    k.push(&icmp_error("192.0.2.1", h, 3, 1, &built(&ping6), 24));
    let mut fragq = b6.clone();
    fragq[6] = 0x00;
    fragq[7] = 0x10;
    fragq[10] = 0;
    fragq[11] = 0;
    let c = crate::packet::checksum::compute(&fragq[..20]);
    fragq[10..12].copy_from_slice(&c.to_be_bytes());
    k.push(&icmp_error("192.0.2.53", h, 3, 3, &fragq, Q8));

    // 7. Source quench, redirect, parameter problem quoting a live flow; an error quoting an
    //    error.
    let q7 = udp(h, 41007, "192.0.2.53", 53, 30);
    k.push(&q7);
    let b7 = built(&q7);
    k.push(&icmp_error("192.0.2.53", h, 4, 0, &b7, Q8));
    k.push(&icmp_error("192.0.2.1", h, 5, 1, &b7, Q8));
    k.push(&icmp_error("192.0.2.53", h, 12, 0, &b7, Q8));
    let err = built(&icmp_error(h, "192.0.2.53", 3, 3, &b7, Q8));
    k.push(&icmp_error("192.0.2.53", h, 3, 3, &err, 576));

    // 8. Pings both ways; a duplicate reply; a reply with another id; a reply with another
    //    sequence number; an echo request with a non-zero code and its code-0 reply.
    k.push(&icmp("198.51.100.70", h, 8, 0, 0x1001, 1));
    k.push(&icmp(h, "198.51.100.70", 0, 0, 0x1001, 1));
    k.push(&icmp(h, "198.51.100.70", 0, 0, 0x1001, 1));
    k.push(&icmp(h, "198.51.100.70", 0, 0, 0x1002, 1));
    k.push(&icmp(h, "198.51.100.70", 0, 0, 0x1001, 7));
    k.push(&icmp(h, "192.0.2.70", 8, 0, 0x2001, 1));
    k.push(&icmp("192.0.2.70", h, 0, 0, 0x2001, 1));
    k.push(&icmp("192.0.2.70", h, 8, 0, 0x2001, 1));
    k.push(&icmp("198.51.100.71", h, 8, 1, 0x3001, 1));
    k.push(&icmp(h, "198.51.100.71", 0, 0, 0x3001, 1));
    k.push(&icmp(h, "198.51.100.71", 0, 1, 0x3001, 1));

    // 9. Types that cannot start a connection, and those that can.
    k.push(&icmp("198.51.100.72", h, 0, 0, 0x4001, 1)); // echo reply, no request
    k.push(&icmp("198.51.100.72", h, 14, 0, 0x4002, 1)); // timestamp reply, no request
    k.push(&icmp("198.51.100.72", h, 16, 0, 0x4003, 1)); // information reply
    k.push(&icmp("198.51.100.72", h, 18, 0, 0x4004, 1)); // address mask reply
    k.push(&icmp("198.51.100.72", h, 9, 0, 0, 0)); // router advertisement
    k.push(&icmp("198.51.100.72", h, 10, 0, 0, 0)); // router solicitation
    for t in [1u8, 2, 6, 7, 19, 30, 40, 42, 253, 255] {
        k.push(&icmp("198.51.100.72", h, t, 0, 0x4100 + t as u16, 1));
    }
    k.push(&icmp("198.51.100.73", h, 13, 0, 0x4201, 1)); // timestamp request
    k.push(&icmp(h, "198.51.100.73", 14, 0, 0x4201, 1));
    k.push(&icmp("198.51.100.73", h, 15, 0, 0x4202, 1)); // information request
    k.push(&icmp(h, "198.51.100.73", 16, 0, 0x4202, 1));
    k.push(&icmp("198.51.100.73", h, 17, 0, 0x4203, 1)); // address mask request
    k.push(&icmp(h, "198.51.100.73", 18, 0, 0x4203, 1));
    k.push(&icmp(h, "198.51.100.74", 13, 0, 0x4204, 1));
    k.push(&icmp("198.51.100.74", h, 14, 0, 0x4204, 1));

    // 10. Closed ports: UDP and TCP, with the host's answers.
    let d = udp("192.0.2.90", 6000, h, 7, 20);
    k.push(&d);
    k.push(&icmp_error(h, "192.0.2.90", 3, 3, &built(&d), 576));
    let s = Conv::new("192.0.2.90", 6001, h, 9, 12_000, 0);
    s.c_raw(k, SYN, 12_000, 0, 0);
    s.s_raw(k, RST | ACK, 0, 12_001, 0);
    k.push(&icmp_error(h, "192.0.2.90", 3, 13, &s.c_bytes(SYN, 0), Q8));

    // 11. A big ping (1100 bytes) and a small one.
    let mut big = icmp("198.51.100.75", h, 8, 0, 0x5001, 1);
    big.payload = payload(1072, 3);
    k.push(&big);
    let mut small = icmp("198.51.100.75", h, 8, 0, 0x5001, 2);
    small.payload.clear();
    k.push(&small);

    // 12. A datagram from an accepted UDP flow, an error about it from the peer, then more.
    let q = udp("198.51.100.76", 5353, h, 53, 30);
    k.push(&q);
    k.push(&udp(h, 53, "198.51.100.76", 5353, 80));
    k.push(&icmp_error(
        "198.51.100.76",
        h,
        3,
        3,
        &built(&udp(h, 53, "198.51.100.76", 5353, 80)),
        Q8,
    ));
    k.push(&q);

    cap.bytes()
}

// ---------------------------------------------------------------------------------------------
// Other protocols and fragments

fn gre_v0(inner: &[u8]) -> Vec<u8> {
    let mut b = vec![0x00, 0x00, 0x08, 0x00];
    b.extend_from_slice(inner);
    b
}

/// Enhanced GRE (PPTP, version 1) with a call id, a sequence number and optionally an ack.
fn gre_v1(call_id: u16, seq: u32, ack: Option<u32>, data: usize) -> Vec<u8> {
    let flags: u16 = 0x2000 | 0x1000 | if ack.is_some() { 0x0080 } else { 0 } | 1;
    let mut b = Vec::new();
    b.extend_from_slice(&flags.to_be_bytes());
    b.extend_from_slice(&0x880bu16.to_be_bytes());
    b.extend_from_slice(&(data as u16).to_be_bytes());
    b.extend_from_slice(&call_id.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    if let Some(a) = ack {
        b.extend_from_slice(&a.to_be_bytes());
    }
    b.extend(payload(data, 9));
    b
}

/// A DCCP packet with 48-bit sequence numbers (`kind` 0 Request with a service code, 1
/// Response with an acknowledgement number and a service code) and a full-coverage checksum.
fn dccp(src: &str, dst: &str, sport: u16, dport: u16, kind: u8) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    let words = if kind == 0 { 5 } else { 7 };
    b.extend_from_slice(&[words, 0, 0, 0, (kind << 1) | 1, 0]);
    b.extend_from_slice(&[0, 0, 0, 0, 0x10, kind + 1]);
    if kind == 1 {
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
    }
    b.extend_from_slice(&[0, 0, 0, 42]);
    let ck = crate::packet::checksum::compute_l4(ip(src), ip(dst), proto::DCCP, &b);
    b[6..8].copy_from_slice(&ck.to_be_bytes());
    b
}

/// An SCTP INIT (`t` 1) or INIT ACK (`t` 2) chunk with initiate tag `tag`.
fn sctp_init(t: u8, tag: u32) -> Vec<u8> {
    let mut c = vec![t, 0, 0, 20];
    c.extend_from_slice(&tag.to_be_bytes()); // initiate tag
    c.extend_from_slice(&65536u32.to_be_bytes()); // a_rwnd
    c.extend_from_slice(&[0, 10, 0, 10]); // streams out, in
    c.extend_from_slice(&1000u32.to_be_bytes()); // initial TSN
    c
}

/// An SCTP packet: common header and `chunks`, with a correct CRC32c unless `good` is false.
fn sctp(sport: u16, dport: u16, vtag: u32, chunks: &[Vec<u8>], good: bool) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.extend_from_slice(&vtag.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]);
    for c in chunks {
        b.extend_from_slice(c);
        b.resize(b.len().next_multiple_of(4), 0);
    }
    let crc = crate::conntrack::sctp::crc32c(&b) ^ if good { 0 } else { 1 };
    b[8..12].copy_from_slice(&crc.to_le_bytes());
    b
}

fn esp(spi: u32, seq: u32, n: usize) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&spi.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend((0..n).map(|i| (i as u8).wrapping_mul(37).wrapping_add(seq as u8)));
    b
}

/// `proto-edge.pcap`: GRE (plain and PPTP), ESP, AH, IPIP, an unknown protocol, UDP-Lite,
/// and IPv4 fragment trains of UDP, ICMP and TCP both ways.
pub(crate) fn proto_edge() -> Vec<u8> {
    let h = HOST4;
    let mut cap = Cap::new();
    let k = &mut cap;
    let inner = built(&udp("10.0.0.1", 1000, "10.0.0.2", 2000, 20));

    // 1. GRE version 0 both ways with 192.0.2.1, and from 192.0.2.2 (no answer).
    k.push(&raw("192.0.2.1", h, proto::GRE, gre_v0(&inner)));
    k.push(&raw(h, "192.0.2.1", proto::GRE, gre_v0(&inner)));
    k.push(&raw("192.0.2.1", h, proto::GRE, gre_v0(&inner)));
    k.push(&raw("192.0.2.2", h, proto::GRE, gre_v0(&inner)));
    k.push(&raw("192.0.2.2", h, proto::GRE, gre_v0(&inner)));

    // 2. PPTP's enhanced GRE: each side uses the other's call id.
    k.push(&raw(
        h,
        "192.0.2.1",
        proto::GRE,
        gre_v1(0x1111, 1, None, 40),
    ));
    k.push(&raw(
        "192.0.2.1",
        h,
        proto::GRE,
        gre_v1(0x2222, 1, Some(1), 40),
    ));
    k.push(&raw(
        h,
        "192.0.2.1",
        proto::GRE,
        gre_v1(0x1111, 2, Some(1), 40),
    ));
    k.push(&raw(
        "192.0.2.1",
        h,
        proto::GRE,
        gre_v1(0x2222, 2, Some(2), 40),
    ));
    k.push(&raw(
        "192.0.2.3",
        h,
        proto::GRE,
        gre_v1(0x3333, 1, None, 40),
    ));

    // 3. ESP both ways (one SPI per direction), from a second peer, and AH.
    k.push(&raw(h, "192.0.2.1", proto::ESP, esp(0x1000, 1, 64)));
    k.push(&raw("192.0.2.1", h, proto::ESP, esp(0x2000, 1, 64)));
    k.push(&raw(h, "192.0.2.1", proto::ESP, esp(0x1000, 2, 64)));
    k.push(&raw("192.0.2.4", h, proto::ESP, esp(0x3000, 1, 64)));
    k.push(&raw("192.0.2.4", h, proto::ESP, esp(0x3000, 2, 64)));
    let mut ah = vec![proto::TCP, 4, 0, 0];
    ah.extend_from_slice(&0x4000u32.to_be_bytes());
    ah.extend_from_slice(&1u32.to_be_bytes());
    ah.extend_from_slice(&[0u8; 12]);
    k.push(&raw("192.0.2.1", h, proto::AH, ah));

    // 4. IP in IP, an unassigned protocol number both ways, UDP-Lite.
    k.push(&raw("192.0.2.5", h, 4, inner.clone()));
    k.push(&raw("192.0.2.5", h, 253, payload(32, 1)));
    k.push(&raw(h, "192.0.2.5", 253, payload(32, 2)));
    k.push(&raw("192.0.2.5", h, 253, payload(32, 3)));
    // UDP-Lite: RFC 3828 checksum (pseudo header with protocol 136) over the first 8 bytes;
    // the same with protocol 17 in the pseudo header (what the kernel's conntrack verifies);
    // full coverage (0) both ways; checksum 0; coverage 4 (below the header).
    let lite = |src: &str, dst: &str, sport: u16, dport: u16, cov: u16, pseudo: u8, zero: bool| {
        let mut b = Vec::new();
        b.extend_from_slice(&sport.to_be_bytes());
        b.extend_from_slice(&dport.to_be_bytes());
        b.extend_from_slice(&cov.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend(payload(24, 4));
        let n = if cov == 0 {
            b.len()
        } else {
            (cov as usize).min(b.len())
        };
        // The checksum covers the pseudo header (with the full length) and the first `n`
        // bytes: sum them followed by zeros for the rest.
        let mut covered = b[..n].to_vec();
        covered.extend(std::iter::repeat_n(0u8, b.len() - n));
        let ck = if zero {
            0
        } else {
            crate::packet::checksum::compute_l4(ip(src), ip(dst), pseudo, &covered)
        };
        b[6..8].copy_from_slice(&ck.to_be_bytes());
        raw(src, dst, proto::UDPLITE, b)
    };
    k.push(&lite("192.0.2.5", h, 7000, 7001, 8, proto::UDPLITE, false));
    k.push(&lite("192.0.2.5", h, 7002, 7003, 8, proto::UDP, false));
    k.push(&lite("192.0.2.5", h, 7004, 7005, 0, proto::UDP, false));
    k.push(&lite(h, "192.0.2.5", 7005, 7004, 0, proto::UDP, false));
    k.push(&lite("192.0.2.5", h, 7004, 7005, 0, proto::UDP, false));
    k.push(&lite("192.0.2.5", h, 7006, 7007, 8, proto::UDP, true));
    k.push(&lite("192.0.2.5", h, 7008, 7009, 4, proto::UDP, false));
    // DCCP (a Request, the Response, a Request on other ports) and SCTP (INIT, INIT ACK,
    // COOKIE ECHO, COOKIE ACK, DATA; an INIT with a bad CRC32c; an ABORT out of the blue).
    k.push(&raw(
        "192.0.2.5",
        h,
        proto::DCCP,
        dccp("192.0.2.5", h, 6000, 6001, 0),
    ));
    k.push(&raw(
        h,
        "192.0.2.5",
        proto::DCCP,
        dccp(h, "192.0.2.5", 6001, 6000, 1),
    ));
    k.push(&raw(
        "192.0.2.5",
        h,
        proto::DCCP,
        dccp("192.0.2.5", h, 6002, 6003, 0),
    ));
    let init = sctp_init;
    let (ct, st) = (0x1111_2222u32, 0x3333_4444u32);
    k.push(&raw(
        "192.0.2.6",
        h,
        proto::SCTP,
        sctp(7100, 7101, 0, &[init(1, ct)], true),
    ));
    k.push(&raw(
        h,
        "192.0.2.6",
        proto::SCTP,
        sctp(7101, 7100, ct, &[init(2, st)], true),
    ));
    k.push(&raw(
        "192.0.2.6",
        h,
        proto::SCTP,
        sctp(7100, 7101, st, &[vec![10, 0, 0, 8, 1, 2, 3, 4]], true),
    ));
    k.push(&raw(
        h,
        "192.0.2.6",
        proto::SCTP,
        sctp(7101, 7100, ct, &[vec![11, 0, 0, 4]], true),
    ));
    let data = vec![
        0, 3, 0, 20, 0, 0, 3, 232, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4,
    ];
    k.push(&raw(
        "192.0.2.6",
        h,
        proto::SCTP,
        sctp(7100, 7101, st, std::slice::from_ref(&data), true),
    ));
    k.push(&raw(
        h,
        "192.0.2.6",
        proto::SCTP,
        sctp(7101, 7100, ct, &[data], true),
    ));
    k.push(&raw(
        "192.0.2.6",
        h,
        proto::SCTP,
        sctp(7102, 7101, 0, &[init(1, ct)], false),
    ));
    k.push(&raw(
        "192.0.2.6",
        h,
        proto::SCTP,
        sctp(7104, 7101, 0x5555, &[vec![6, 0, 0, 4]], true),
    ));
    // A second association: the INIT retransmitted, heartbeats, DATA with the wrong tag, the
    // shutdown (SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE), DATA after it, an ABORT with the
    // T bit from the host.
    let (a, b) = (0x0A0A_0001u32, 0x0B0B_0002u32);
    let sc = |k: &mut Cap, inbound: bool, tag: u32, chunk: Vec<u8>| {
        let (src, dst, sp, dp) = if inbound {
            ("192.0.2.6", h, 7200, 7101)
        } else {
            (h, "192.0.2.6", 7101, 7200)
        };
        k.push(&raw(
            src,
            dst,
            proto::SCTP,
            sctp(sp, dp, tag, &[chunk], true),
        ));
    };
    let hb = |t: u8| vec![t, 0, 0, 12, 0, 1, 0, 8, 0, 0, 0, 7];
    let data = |tsn: u8| vec![0, 3, 0, 17, 0, 0, 3, tsn, 0, 0, 0, 0, 0, 0, 0, 0, 7];
    sc(k, true, 0, init(1, a));
    sc(k, true, 0, init(1, a));
    sc(k, false, a, init(2, b));
    sc(k, true, b, vec![10, 0, 0, 8, 9, 9, 9, 9]);
    sc(k, false, a, vec![11, 0, 0, 4]);
    sc(k, false, a, hb(4));
    sc(k, true, b, hb(5));
    sc(k, true, a, data(233));
    sc(k, true, b, data(233));
    sc(k, true, b, vec![7, 0, 0, 8, 0, 0, 3, 233]);
    sc(k, false, a, vec![8, 0, 0, 4]);
    sc(k, true, b, vec![14, 0, 0, 4]);
    sc(k, true, b, data(234));
    sc(k, false, b, vec![6, 1, 0, 4]);
    // The host's association out: INIT, INIT ACK, then an ABORT with the T bit whose tag is
    // wrong, and one whose tag is right.
    let (c, d) = (0x0C0C_0003u32, 0x0D0D_0004u32);
    let out = |k: &mut Cap, inbound: bool, tag: u32, chunk: Vec<u8>| {
        let (src, dst, sp, dp) = if inbound {
            ("192.0.2.6", h, 9899, 7300)
        } else {
            (h, "192.0.2.6", 7300, 9899)
        };
        k.push(&raw(
            src,
            dst,
            proto::SCTP,
            sctp(sp, dp, tag, &[chunk], true),
        ));
    };
    out(k, false, 0, init(1, c));
    out(k, true, c, init(2, d));
    out(k, true, c, vec![6, 1, 0, 4]);
    out(k, true, d, vec![6, 1, 0, 4]);
    // A secondary path: a HEARTBEAT opens it, its ACK establishes it, DATA follows.
    let path = |k: &mut Cap, inbound: bool, tag: u32, chunk: Vec<u8>| {
        let (src, dst, sp, dp) = if inbound {
            ("192.0.2.7", h, 7400, 7101)
        } else {
            (h, "192.0.2.7", 7101, 7400)
        };
        k.push(&raw(
            src,
            dst,
            proto::SCTP,
            sctp(sp, dp, tag, &[chunk], true),
        ));
    };
    path(k, true, 0x0E0E_0005, hb(4));
    path(k, false, 0x0F0F_0006, hb(5));
    path(k, true, 0x0E0E_0005, data(1));

    // 5. Fragments: a 3000-byte DNS-like UDP datagram in (3 fragments), a 2000-byte ping in and
    //    its reply out (fragmented by the host), a TCP SYN split after 8 bytes of TCP header,
    //    a datagram whose fragments overlap.
    let mut big = udp("198.51.100.80", 5353, h, 53, 3000);
    big.ip_id = 0x5001;
    let bb = built(&big);
    for f in fragment_v4(&bb, 1480) {
        k.push_bytes(f);
    }
    let mut ping = icmp("198.51.100.81", h, 8, 0, 0x6001, 1);
    ping.payload = payload(2000, 5);
    ping.ip_id = 0x5002;
    for f in fragment_v4(&built(&ping), 1480) {
        k.push_bytes(f);
    }
    let mut pong = icmp(h, "198.51.100.81", 0, 0, 0x6001, 1);
    pong.payload = payload(2000, 5);
    pong.ip_id = 0x7002;
    for f in fragment_v4(&built(&pong), 1480) {
        k.push_bytes(f);
    }
    let syn = Conv::new("198.51.100.82", 40100, h, 80, 77_000, 0);
    let mut sb = syn.c_bytes(SYN, 0);
    sb[6] = 0; // clear DF
    sb[7] = 0;
    for f in fragment_v4(&sb, 8) {
        k.push_bytes(f);
    }
    let mut ov = udp("198.51.100.83", 5000, h, 6000, 2000);
    ov.ip_id = 0x5004;
    let ob = built(&ov);
    let fr = fragment_v4(&ob, 1000);
    let hdr = &ob[..20];
    k.push_bytes(fr[0].clone());
    k.push_bytes(crate::packet::build::v4_fragment_bytes(
        hdr,
        &ob[20 + 992..20 + 1600],
        992,
        true,
    ));
    for f in fr.iter().skip(1) {
        k.push_bytes(f.clone());
    }
    // The host's own fragmented UDP datagram out, and the answer.
    let mut o = udp(h, 41010, "192.0.2.53", 53, 2500);
    o.ip_id = 0x7005;
    for f in fragment_v4(&built(&o), 1480) {
        k.push_bytes(f);
    }
    k.push(&udp("192.0.2.53", 53, h, 41010, 100));

    // 6. IPv4 options: router alert, loose source route (refused after PREROUTING unless
    //    accept_source_route), a malformed option, timestamp, record route, strict source
    //    route, record route with a bad pointer, full timestamps with overflow 15 and 14,
    //    CIPSO, an unknown option.
    let with_options = |spec: &PacketSpec, opts: &[u8]| {
        let b = built(spec);
        let mut o = opts.to_vec();
        while !o.len().is_multiple_of(4) {
            o.push(0);
        }
        let mut v = b[..20].to_vec();
        v.extend_from_slice(&o);
        v.extend_from_slice(&b[20..]);
        v[0] = 0x40 | ((20 + o.len()) / 4) as u8;
        let tot = v.len() as u16;
        v[2..4].copy_from_slice(&tot.to_be_bytes());
        v[10] = 0;
        v[11] = 0;
        let c = crate::packet::checksum::compute(&v[..20 + o.len()]);
        v[10..12].copy_from_slice(&c.to_be_bytes());
        v
    };
    let hb = match ip(h) {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(_) => [0; 4],
    };
    let mut lsrr = vec![0x83, 7, 4];
    lsrr.extend_from_slice(&hb);
    lsrr.push(1);
    let mut ssrr = lsrr.clone();
    ssrr[0] = 0x89;
    let cases: [(&str, Vec<u8>); 11] = [
        ("192.0.2.16", vec![0x94, 4, 0, 0]),
        ("192.0.2.17", lsrr),
        ("192.0.2.18", vec![0x44, 1, 0, 0]),
        ("192.0.2.19", vec![0x44, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        ("192.0.2.20", vec![7, 7, 4, 0, 0, 0, 0, 1]),
        ("192.0.2.21", ssrr),
        ("192.0.2.22", vec![7, 7, 3, 0, 0, 0, 0, 1]),
        ("192.0.2.23", vec![0x44, 8, 9, 0xf0, 0, 0, 0, 0]),
        ("192.0.2.24", vec![0x44, 8, 9, 0xe0, 0, 0, 0, 0]),
        ("192.0.2.25", vec![0x86, 6, 0, 0, 0, 1]),
        ("192.0.2.26", vec![0x99, 4, 1, 2]),
    ];
    for (src, opts) in cases {
        k.push_bytes(with_options(&udp(src, 5300, h, 53, 20), &opts));
    }

    // 7. Sources the input route refuses (martians: zero, multicast, limited broadcast) and
    //    one it accepts (240.0.0.1, reserved).
    for src in ["0.0.0.0", "224.0.0.5", "255.255.255.255", "240.0.0.1"] {
        k.push(&udp(src, 5400, h, 53, 20));
    }

    cap.bytes()
}

// ---------------------------------------------------------------------------------------------
// IPv6

fn icmp6(src: &str, dst: &str, t: u8, code: u8, id: u16, seq: u16, hl: u8) -> PacketSpec {
    let mut s = icmp(src, dst, t, code, id, seq);
    s.ttl = hl;
    s
}

/// An NDP message body (after the 8-byte header, whose last 4 bytes are `id`/`seq`): a target
/// address for NS/NA/redirect.
fn ndp(src: &str, dst: &str, t: u8, target: &str, hl: u8) -> PacketSpec {
    let mut s = icmp6(src, dst, t, 0, 0, 0, hl);
    if t == 136 {
        // NA flags: solicited + override.
        s.l4 = L4Spec::Icmp {
            icmp_type: t,
            code: 0,
            id: 0x6000,
            seq: 0,
            quote: None,
        };
    }
    if let IpAddr::V6(a) = ip(target) {
        s.payload = a.octets().to_vec();
    }
    if t == 134 {
        // Router advertisement: hop limit 64, lifetime 1800, reachable/retrans 0.
        s.l4 = L4Spec::Icmp {
            icmp_type: t,
            code: 0,
            id: 0x4000,
            seq: 1800,
            quote: None,
        };
        s.payload = vec![0; 8];
    }
    if t == 133 || t == 143 {
        s.payload = vec![];
    }
    s
}

/// `ipv6-edge.pcap`: NDP and MLD (untracked), echo, node information, ICMPv6 errors RELATED or
/// INVALID, unknown types, TCP/UDP sessions and fragments over IPv6.
pub(crate) fn ipv6_edge() -> Vec<u8> {
    let h = HOST6;
    let mut cap = Cap::new();
    let k = &mut cap;

    // 1. Neighbour discovery and MLD.
    k.push(&ndp("2001:db8::1", h, 135, h, 255));
    k.push(&ndp(h, "2001:db8::1", 136, h, 255));
    k.push(&ndp("fe80::1", h, 135, h, 255));
    k.push(&ndp(h, "fe80::1", 136, h, 255));
    k.push(&ndp(h, "2001:db8::1", 135, "2001:db8::1", 255));
    k.push(&ndp("2001:db8::1", h, 136, "2001:db8::1", 255));
    k.push(&ndp(h, "ff02::2", 133, "::", 255));
    k.push(&ndp("fe80::1", h, 134, "::", 255));
    k.push(&ndp(h, "ff02::16", 143, "::", 1));
    k.push(&icmp6("fe80::1", h, 130, 0, 0, 0, 1)); // MLD query
    k.push(&icmp6(h, "ff02::16", 131, 0, 0, 0, 1)); // MLDv1 report
    k.push(&icmp6(h, "ff02::2", 132, 0, 0, 0, 1)); // MLDv1 done

    // 2. Echo both ways, a reply without request, node information, unknown types.
    k.push(&icmp6("2001:db8:1::7", h, 128, 0, 0x100, 1, 60));
    k.push(&icmp6(h, "2001:db8:1::7", 129, 0, 0x100, 1, 64));
    k.push(&icmp6(h, "2001:db8:2::8", 128, 0, 0x101, 1, 64));
    k.push(&icmp6("2001:db8:2::8", h, 129, 0, 0x101, 1, 60));
    k.push(&icmp6("2001:db8:1::9", h, 129, 0, 0x102, 1, 60));
    k.push(&icmp6("2001:db8:1::9", h, 139, 0, 0x103, 1, 60));
    k.push(&icmp6(h, "2001:db8:1::9", 140, 0, 0x103, 1, 64));
    k.push(&icmp6("2001:db8:1::9", h, 140, 0, 0x104, 1, 60));
    for t in [144u8, 150, 200, 255, 100, 127] {
        k.push(&icmp6("2001:db8:1::9", h, t, 0, 0x200 + t as u16, 1, 60));
    }

    // 3. Errors: port unreachable for the host's query, packet too big for its TCP segment,
    //    time exceeded for a probe, parameter problem, an error about nothing, an error sent
    //    by the host to the wrong client.
    let q = udp(h, 41001, "2001:db8::53", 53, 30);
    k.push(&q);
    k.push(&icmp_error("2001:db8::53", h, 1, 4, &built(&q), 1232));
    let mut c = Conv::new(h, 41002, "2001:db8:5::80", 443, 1_000, 2_000);
    c.handshake(k);
    let seg = c.c_bytes(PSH | ACK, 1400);
    k.push(&icmp_error("2001:db8::1", h, 2, 0, &seg, 1232));
    c.exchange(k, 100, 100);
    let mut p = udp(h, 33434, "2001:db8:6::1", 33434, 20);
    p.ttl = 1;
    k.push(&p);
    k.push(&icmp_error("2001:db8::1", h, 3, 0, &built(&p), 1232));
    k.push(&icmp_error("2001:db8::53", h, 4, 1, &built(&q), 1232));
    let never = udp(h, 41999, "2001:db8::53", 53, 30);
    k.push(&icmp_error("2001:db8::53", h, 1, 4, &built(&never), 1232));
    let d = udp("2001:db8:1::20", 5555, h, 9999, 30);
    k.push(&d);
    k.push(&icmp_error(h, "2001:db8:1::20", 1, 4, &built(&d), 1232));
    k.push(&icmp_error(h, "2001:db8:1::21", 1, 4, &built(&d), 1232));
    k.push(&icmp_error("2001:db8::53", h, 1, 4, &built(&q), 44));
    // Redirect (137) from the router's link-local address quoting the host's packet, and from
    // a global address.
    let mut r = ndp("fe80::1", h, 137, "2001:db8::1", 255);
    r.payload.extend_from_slice(&match ip("2001:db8::53") {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(_) => [0; 16],
    });
    k.push(&r);
    k.push(&icmp_error("2001:db8::99", h, 137, 0, &built(&q), 100));

    // 4. TCP in to :22 and :443, a mid-stream pickup, UDP both ways.
    let mut c = Conv::new("2001:db8:1::30", 40001, h, 22, 3_000, 4_000);
    c.handshake(k);
    c.exchange(k, 100, 200);
    c.close_client(k);
    let mut c = Conv::new("2001:db8:1::31", 40002, h, 443, 5_000, 6_000);
    c.handshake(k);
    c.exchange(k, 100, 1200);
    c.c_raw(k, RST | ACK, c.client.seq, c.server.seq, 0);
    let mut c = Conv::new("2001:db8:1::32", 40003, h, 80, 7_000, 8_000);
    c.c(k, PSH | ACK, 100);
    c.s(k, PSH | ACK, 100);
    c.c(k, ACK, 0);
    k.push(&udp("2001:db8:1::33", 5353, h, 53, 40));
    k.push(&udp(h, 53, "2001:db8:1::33", 5353, 120));
    // SCTP: an association (INIT, INIT ACK, COOKIE ECHO, COOKIE ACK, DATA), an INIT with a
    // bad CRC32c, DATA with the wrong verification tag.
    let (a, b) = (0x6A6A_0001u32, 0x6B6B_0002u32);
    let sc = |k: &mut Cap, inbound: bool, tag: u32, chunk: Vec<u8>, good: bool| {
        let (src, dst, sp, dp) = if inbound {
            ("2001:db8:1::34", h, 7000, 7001)
        } else {
            (h, "2001:db8:1::34", 7001, 7000)
        };
        k.push(&raw(
            src,
            dst,
            proto::SCTP,
            sctp(sp, dp, tag, &[chunk], good),
        ));
    };
    let data = vec![0, 3, 0, 17, 0, 0, 3, 232, 0, 0, 0, 0, 0, 0, 0, 0, 7];
    sc(k, true, 0, sctp_init(1, a), false);
    sc(k, true, 0, sctp_init(1, a), true);
    sc(k, false, a, sctp_init(2, b), true);
    sc(k, true, b, vec![10, 0, 0, 8, 9, 9, 9, 9], true);
    sc(k, false, a, vec![11, 0, 0, 4], true);
    sc(k, true, b, data.clone(), true);
    sc(k, true, a, data, true);

    // 5. Fragments: a 3000-byte UDP datagram in, an echo request in 2 fragments and the reply.
    let mut big = udp("2001:db8:1::40", 5000, h, 53, 3000);
    big.ttl = 60;
    for f in fragment_v6(&built(&big), 0x1234, 1448) {
        k.push_bytes(f);
    }
    let mut e = icmp6("2001:db8:1::41", h, 128, 0, 0x300, 1, 60);
    e.payload = payload(2000, 8);
    for f in fragment_v6(&built(&e), 0x1235, 1448) {
        k.push_bytes(f);
    }
    k.push(&icmp6(h, "2001:db8:1::41", 129, 0, 0x300, 1, 64));

    // 6. Routing headers (type 0, 2 and 3) in front of SYNs and a datagram; the one address
    //    they carry is the host's, so the final destination is the packet's destination.
    let routed = |src: &str, l4: L4Spec, ext: Vec<ExtHdr>, rt_type: u8, segs: u8| {
        let mut s = PacketSpec::new(ip(src), ip(h), l4);
        s.ext = ext;
        s.ttl = 60;
        let mut b = built(&s);
        let mut off = 40;
        let mut nh = b[6];
        while nh != proto::IPV6_ROUTE && off + 2 <= b.len() {
            nh = b[off];
            off += (b[off + 1] as usize + 1) * 8;
        }
        b[off + 2] = rt_type;
        b[off + 3] = segs;
        if let IpAddr::V6(a) = ip(h) {
            if b[off + 1] >= 2 {
                b[off + 8..off + 24].copy_from_slice(&a.octets());
            }
        }
        b
    };
    let syn = |port: u16| L4Spec::Tcp {
        sport: 40100,
        dport: port,
        seq: 1,
        ack: 0,
        flags: SYN,
        window: 64800,
        options: vec![TcpOpt::Mss(1440)],
    };
    let rh24 = ExtHdr {
        kind: proto::IPV6_ROUTE,
        len: 24,
    };
    k.push_bytes(routed("2001:db8:1::50", syn(22), vec![rh24], 0, 1));
    k.push_bytes(routed("2001:db8:1::51", syn(22), vec![rh24], 2, 1));
    k.push_bytes(routed(
        "2001:db8:1::52",
        L4Spec::Udp {
            sport: 5353,
            dport: 53,
        },
        vec![rh24],
        3,
        0,
    ));
    // 7. A multicast source (dropped before netfilter) and the unspecified source (allowed).
    k.push(&udp("ff02::1", 5400, h, 53, 20));
    k.push(&icmp6("::", h, 128, 0, 0x400, 1, 64));
    k.push_bytes(routed(
        "2001:db8:1::53",
        syn(443),
        vec![
            ExtHdr {
                kind: proto::HOPOPTS,
                len: 8,
            },
            rh24,
        ],
        0,
        0,
    ));

    cap.bytes()
}

// ---------------------------------------------------------------------------------------------
// Real-time captures (replayed with real gaps: rate limits, recent lists, timeouts)

/// `rt-limit.pcap` (about 7.5 s): echo requests against rate limits at several rates. Gaps
/// are chosen so that, for a 10/s burst-3 bucket (nftables' nanosecond bucket and xt_limit's
/// jiffies), no decision lies within 5 ms of a refill. Then UDP datagrams against hashlimit's
/// byte mode and rate matching, their intervals at least 100 ms away from interval ends.
pub(crate) fn rt_limit() -> Vec<u8> {
    let h = HOST4;
    let mut cap = Cap::new();
    cap.gap = 0;
    let k = &mut cap;
    let mut seq = 0u16;
    let mut ping = |k: &mut Cap, src: &str| {
        seq += 1;
        k.push(&icmp(src, h, 8, 0, 0x7000, seq));
    };
    // A burst of 8 at 1 ms.
    for _ in 0..8 {
        ping(k, "198.51.100.66");
        k.wait_ms(1);
    }
    // 12 at 40 ms (about every third passes).
    k.wait_ms(230);
    for _ in 0..12 {
        ping(k, "198.51.100.66");
        k.wait_ms(40);
    }
    // 6 at 150 ms from two sources (the bucket is per rule, not per source).
    k.wait_ms(110);
    for i in 0..6 {
        ping(
            k,
            if i % 2 == 0 {
                "198.51.100.66"
            } else {
                "198.51.100.67"
            },
        );
        k.wait_ms(150);
    }
    // Another burst after a long pause refills the bucket completely.
    k.wait_ms(500);
    for _ in 0..6 {
        ping(k, "198.51.100.67");
        k.wait_ms(2);
    }
    // UDP against hashlimit's byte mode and rate matching (knock.rules.v4: 5060 2 kB/s per /24
    // and port, 5061 4 per second + 2 per 1 s interval per source, 5062 over 1 kB per 2 s
    // interval per port). First a burst: 30 datagrams of 428 bytes to 5060 from two sources of
    // one /24, 8 to 5061, 5 of 328 bytes to 5062.
    k.wait_ms(200);
    for i in 0..30u16 {
        let src = if i % 2 == 0 {
            "198.51.100.70"
        } else {
            "198.51.100.71"
        };
        k.push(&udp(src, 40000 + i, h, 5060, 400));
        k.wait_ms(1);
    }
    for i in 0..8u16 {
        k.push(&udp("198.51.100.72", 41000 + i, h, 5061, 20));
        k.wait_ms(5);
    }
    for i in 0..5u16 {
        k.push(&udp("198.51.100.73", 42000 + i, h, 5062, 300));
        k.wait_ms(5);
    }
    // Another /24 has its own 5060 bucket; the first one refills slowly (large datagrams cost
    // more).
    k.wait_ms(250);
    for i in 0..5u16 {
        k.push(&udp("192.0.2.70", 40100 + i, h, 5060, 100));
        k.wait_ms(3);
    }
    for i in 0..10u16 {
        k.push(&udp(
            "198.51.100.71",
            40200 + i,
            h,
            5060,
            100 + 90 * (i as usize % 4),
        ));
        k.wait_ms(30);
    }
    // 1.1 s after the first 5061 datagram: the previous interval was over the rate.
    k.wait_ms(520);
    for i in 0..3u16 {
        k.push(&udp("198.51.100.72", 41100 + i, h, 5061, 20));
        k.wait_ms(20);
    }
    // 2.3 s after the first 5062 datagram: its interval (2 s) was over the byte rate.
    k.wait_ms(1090);
    for i in 0..2u16 {
        k.push(&udp("198.51.100.74", 42100 + i, h, 5062, 60));
        k.wait_ms(20);
    }
    // 5061 again 1.3 s later: the blocked interval had 3 datagrams, under the rate.
    k.wait_ms(160);
    for i in 0..3u16 {
        k.push(&udp("198.51.100.72", 41200 + i, h, 5061, 20));
        k.wait_ms(20);
    }
    // 5062 2.3 s after the blocked interval started: under the rate again.
    k.wait_ms(2200);
    for i in 0..2u16 {
        k.push(&udp("198.51.100.73", 42200 + i, h, 5062, 300));
        k.wait_ms(20);
    }
    cap.bytes()
}

/// `rt-knock.pcap` (about 11 s): port-knock sequences on 7001, 7002, 7003 — correct, out of
/// order, too slow, interrupted — then SSH SYNs, too many SSH SYNs, and SSH after the door
/// closed.
pub(crate) fn rt_knock() -> Vec<u8> {
    let h = HOST4;
    let mut cap = Cap::new();
    cap.gap = 0;
    let k = &mut cap;
    let knock = |k: &mut Cap, src: &str, port: u16, sport: u16| {
        let c = Conv::new(src, sport, h, port, 100_000 + sport as u32, 0);
        c.c_raw(k, SYN, c.client.seq, 0, 0);
    };
    let ssh = |k: &mut Cap, src: &str, sport: u16, full: bool| {
        let mut c = Conv::new(src, sport, h, 22, 200_000 + sport as u32, 900_000);
        if full {
            c.handshake(k);
            c.exchange(k, 40, 40);
        } else {
            c.c(k, SYN, 0);
        }
    };
    // A: the right sequence 0.3 s apart, then SSH (a full session) 0.5 s later.
    knock(k, "198.51.100.31", 7001, 50001);
    k.wait_ms(300);
    knock(k, "198.51.100.31", 7002, 50002);
    k.wait_ms(300);
    knock(k, "198.51.100.31", 7003, 50003);
    k.wait_ms(500);
    ssh(k, "198.51.100.31", 50004, true);
    // B: out of order.
    k.wait_ms(200);
    knock(k, "198.51.100.32", 7002, 50011);
    k.wait_ms(200);
    knock(k, "198.51.100.32", 7001, 50012);
    k.wait_ms(200);
    knock(k, "198.51.100.32", 7003, 50013);
    k.wait_ms(200);
    ssh(k, "198.51.100.32", 50014, false);
    // A again: three more SSH SYNs in quick succession (hashlimit, then the hit count).
    for i in 0..4 {
        k.wait_ms(100);
        ssh(k, "198.51.100.31", 50005 + i, false);
    }
    // C: too slow between the first and second knock.
    k.wait_ms(200);
    knock(k, "198.51.100.33", 7001, 50021);
    k.wait_ms(2600);
    knock(k, "198.51.100.33", 7002, 50022);
    k.wait_ms(300);
    knock(k, "198.51.100.33", 7003, 50023);
    k.wait_ms(300);
    ssh(k, "198.51.100.33", 50024, false);
    // D: a wrong port in the middle of the sequence.
    k.wait_ms(200);
    knock(k, "198.51.100.34", 7001, 50031);
    k.wait_ms(300);
    knock(k, "198.51.100.34", 7002, 50032);
    k.wait_ms(300);
    knock(k, "198.51.100.34", 8000, 50033);
    k.wait_ms(300);
    knock(k, "198.51.100.34", 7003, 50034);
    k.wait_ms(300);
    ssh(k, "198.51.100.34", 50035, false);
    // E: the right sequence, then SSH only after the 3 s window closed; F: no knock at all.
    k.wait_ms(200);
    knock(k, "198.51.100.35", 7001, 50041);
    k.wait_ms(400);
    knock(k, "198.51.100.35", 7002, 50042);
    k.wait_ms(400);
    knock(k, "198.51.100.35", 7003, 50043);
    k.wait_ms(500);
    ssh(k, "198.51.100.35", 50044, false);
    k.wait_ms(3200);
    ssh(k, "198.51.100.35", 50045, false);
    ssh(k, "198.51.100.36", 50051, false);
    // A, 4.5 s after its burst: the hit count has expired and the door is closed.
    k.wait_ms(300);
    ssh(k, "198.51.100.31", 50009, false);
    cap.bytes()
}

/// `rt-timeouts.pcap` (about 5 s), for conntrack timeouts shortened by sysctl (UDP 1 s,
/// UDP stream 3 s, ICMP 1 s, TCP SYN_SENT/TIME_WAIT/CLOSE 1 s, generic 1 s, IPv4 fragments
/// 1 s, TCP "unacknowledged" and "max_retrans" 1 s): unreplied and replied UDP, a UDP stream,
/// an echo reply too late, a SYN/ACK too late, packets after TIME_WAIT and CLOSE expired, a
/// generic protocol, a fragment too late, TCP connections with unacknowledged data, repeated
/// ACKs, a zero window, an idle one and a mid-stream pickup; SCTP associations against
/// shortened CLOSED, COOKIE_WAIT, COOKIE_ECHOED and ESTABLISHED timeouts (1 s).
pub(crate) fn rt_timeouts() -> Vec<u8> {
    let h = HOST4;
    let mut cap = Cap::new();
    cap.gap = 0;
    let k = &mut cap;
    let ms = |k: &mut Cap, n: u64| k.wait_ms(n);
    let u1 = udp("198.51.100.90", 5001, h, 53, 30);
    let u2 = udp("198.51.100.91", 5002, h, 53, 30);
    let r2 = udp(h, 53, "198.51.100.91", 5002, 60);
    let u3 = udp("198.51.100.92", 5003, h, 53, 30);
    let r3 = udp(h, 53, "198.51.100.92", 5003, 60);
    let e = icmp("198.51.100.93", h, 8, 0, 0x9001, 1);
    let er = icmp(h, "198.51.100.93", 0, 0, 0x9001, 1);
    let g = raw("192.0.2.1", h, 253, payload(20, 1));
    let gr = raw(h, "192.0.2.1", 253, payload(20, 2));
    let mut syn = Conv::new("198.51.100.94", 40001, h, 80, 1_000, 2_000);
    let mut tw = Conv::new("198.51.100.95", 40002, h, 80, 3_000, 4_000);
    let mut cl = Conv::new("198.51.100.96", 40003, h, 443, 5_000, 6_000);
    let mut ua = Conv::new("198.51.100.99", 40004, h, 80, 7_000, 8_000);
    let mut rx = Conv::new("198.51.100.99", 40005, h, 80, 9_000, 10_000);
    let mut zw = Conv::new("198.51.100.99", 40006, h, 80, 11_000, 12_000);
    let mut idle = Conv::new("198.51.100.99", 40007, h, 80, 13_000, 14_000);
    let mut mid = Conv::new("198.51.100.99", 40008, h, 80, 15_000, 16_000);
    // SCTP (CLOSED, COOKIE_WAIT, COOKIE_ECHOED, ESTABLISHED shortened to 1 s): s1 echoes its
    // cookie too late; s2 completes and sends DATA in time, then too late; s3's retransmitted
    // INIT does not refresh the entry, so the INIT ACK comes too late.
    let sc = |sport: u16, inbound: bool, tag: u32, chunk: Vec<u8>| {
        let (src, dst, sp, dp) = if inbound {
            ("192.0.2.9", h, sport, 7101)
        } else {
            (h, "192.0.2.9", 7101, sport)
        };
        raw(src, dst, proto::SCTP, sctp(sp, dp, tag, &[chunk], true))
    };
    let (ta, tb) = (0x7A7A_0001u32, 0x7B7B_0002u32);
    let echo = vec![10, 0, 0, 8, 9, 9, 9, 9];
    let data = vec![0, 3, 0, 17, 0, 0, 3, 232, 0, 0, 0, 0, 0, 0, 0, 0, 7];

    let mut fa = udp("198.51.100.97", 5004, h, 53, 2000);
    fa.ip_id = 0x0a01;
    let fa = fragment_v4(&built(&fa), 1480);
    let mut fb = udp("198.51.100.98", 5005, h, 53, 2000);
    fb.ip_id = 0x0a02;
    let fb = fragment_v4(&built(&fb), 1480);

    // t = 0
    k.push_bytes(fa[0].clone());
    k.push_bytes(fb[0].clone());
    k.push(&u1);
    k.push(&u2);
    k.push(&u3);
    k.push(&e);
    k.push(&g);
    syn.c(k, SYN, 0);
    tw.handshake(k);
    tw.exchange(k, 10, 10);
    tw.close_client(k);
    cl.handshake(k);
    cl.c_raw(k, RST | ACK, cl.client.seq, cl.server.seq, 0);
    // Unacknowledged data, repeated identical ACKs, a zero window, an idle connection and a
    // mid-stream pickup (timeouts "unacknowledged" and "max_retrans" shortened to 1 s).
    ua.handshake(k);
    ua.c(k, PSH | ACK, 100);
    rx.handshake(k);
    rx.exchange(k, 10, 10);
    for _ in 0..4 {
        rx.c_raw(k, ACK, rx.client.seq, rx.server.seq, 0);
    }
    zw.handshake(k);
    zw.c(k, PSH | ACK, 100);
    zw.server.window = 0;
    zw.s(k, ACK, 0);
    idle.handshake(k);
    idle.exchange(k, 10, 10);
    mid.c(k, PSH | ACK, 100);
    for sport in [7001, 7002, 7003] {
        k.push(&sc(sport, true, 0, sctp_init(1, ta)));
    }
    ms(k, 100);
    // t = 0.1
    k.push(&sc(7001, false, ta, sctp_init(2, tb)));
    k.push(&sc(7002, false, ta, sctp_init(2, tb)));
    k.push(&r2);
    k.push(&r3);
    k.push(&er);
    k.push(&gr);
    ms(k, 400);
    // t = 0.5: u1 again (unreplied, still NEW), u3's second round; the first datagram's
    // last fragment
    k.push(&u1);
    k.push_bytes(fa[1].clone());
    k.push(&sc(7002, true, tb, echo.clone()));
    k.push(&sc(7003, true, 0, sctp_init(1, ta)));
    ms(k, 400);
    // t = 0.9
    k.push(&sc(7002, false, ta, vec![11, 0, 0, 4]));
    k.push(&u3);
    k.push(&u2);
    ms(k, 300);
    // t = 1.2
    k.push(&r3);
    k.push(&sc(7003, false, ta, sctp_init(2, tb)));
    ms(k, 500);
    // t = 1.7: too late for the echo reply (1 s), the SYN/ACK (1 s), TIME_WAIT and CLOSE,
    // and for the second datagram's fragment queue (ipfrag_time 1 s): its last fragment
    // starts a new queue
    k.push_bytes(fb[1].clone());
    k.push(&er);
    syn.s(k, SYN | ACK, 0);
    tw.c(k, ACK, 0);
    cl.c(k, PSH | ACK, 10);
    ua.s(k, ACK, 0);
    rx.s(k, PSH | ACK, 10);
    zw.server.window = 65160;
    zw.s(k, ACK, 0);
    idle.c(k, PSH | ACK, 10);
    mid.s(k, ACK, 0);
    k.push(&g);
    k.push(&sc(7001, true, tb, echo));
    k.push(&sc(7002, true, tb, data.clone()));
    ms(k, 200);
    // t = 1.9: u1 after 1.4 s of silence (expired), u3 still alive
    k.push(&u1);
    k.push(&u3);
    ms(k, 500);
    // t = 2.4: u3 is now a stream (replied, older than 2 s); u2 expired at 1.9
    k.push(&r3);
    k.push(&u2);
    ms(k, 2100);
    // t = 4.5: u3 lives (stream timeout 3 s), u1 expired again
    k.push(&u3);
    k.push(&r3);
    k.push(&u1);
    k.push(&sc(7002, true, tb, data));
    cap.bytes()
}

/// `rt-connlimit.pcap` (about 0.8 s, for `fixtures/kernel/stateful.rules.v4` and
/// `connlimit.rules.v4`): connections counted by `-m connlimit` across jiffies — closed ones
/// leave the count, refused ones are never confirmed, retransmitted SYNs of counted
/// connections, a /24 sharing one count, UDP flows counted on every packet.
pub(crate) fn rt_connlimit() -> Vec<u8> {
    let h = HOST4;
    let mut cap = Cap::new();
    cap.gap = 0;
    let k = &mut cap;
    let x = "198.51.100.50";
    // Two connections from X to :80, then a third SYN (over the limit of 2).
    let mut c1 = Conv::new(x, 41001, h, 80, 1_000, 2_000);
    let mut c2 = Conv::new(x, 41002, h, 80, 3_000, 4_000);
    let c3 = Conv::new(x, 41003, h, 443, 5_000, 6_000);
    c1.handshake(k);
    k.wait_ms(21);
    c2.handshake(k);
    k.wait_ms(21);
    c3.c_raw(k, SYN, 5_000, 0, 0);
    k.wait_ms(21);
    // c1 closes (TIME_WAIT does not count), c3's SYN again: now within the limit.
    c1.exchange(k, 10, 10);
    c1.close_client(k);
    k.wait_ms(21);
    c3.c_raw(k, SYN, 5_000, 0, 0);
    k.wait_ms(21);
    // c3's SYN retransmitted in a later jiffy: already counted, not added again.
    c3.c_raw(k, SYN, 5_000, 0, 0);
    k.wait_ms(21);
    // Y: one SYN and two retransmissions 0.1 ms apart (one jiffy: each counted), then one
    // more in a later jiffy.
    let y = Conv::new("198.51.100.51", 42001, h, 8080, 7_000, 0);
    for _ in 0..3 {
        y.c_raw(k, SYN, 7_000, 0, 0);
        k.wait_ms(0);
        k.t += 100_000;
    }
    k.wait_ms(21);
    y.c_raw(k, SYN, 7_000, 0, 0);
    k.wait_ms(21);
    // W: A and B connect, D is refused (over the limit), then A's SYN is retransmitted
    // (A is confirmed but has seen no reply).
    let w = "198.51.100.52";
    for (port, isn) in [(44001u16, 20_000u32), (44002, 30_000), (44003, 40_000)] {
        let c = Conv::new(w, port, h, 443, isn, 0);
        c.c_raw(k, SYN, isn, 0, 0);
        k.wait_ms(21);
    }
    Conv::new(w, 44001, h, 443, 20_000, 0).c_raw(k, SYN, 20_000, 0, 0);
    k.wait_ms(21);
    // V: the same, but A's SYN/ACK was seen before its SYN is retransmitted.
    let v = "198.51.100.53";
    let mut a = Conv::new(v, 45001, h, 443, 50_000, 60_000);
    a.c(k, SYN, 0);
    a.s(k, SYN | ACK, 0);
    k.wait_ms(21);
    for (port, isn) in [(45002u16, 70_000u32), (45003, 80_000)] {
        Conv::new(v, port, h, 443, isn, 0).c_raw(k, SYN, isn, 0, 0);
        k.wait_ms(21);
    }
    a.c_raw(k, SYN, 50_000, 0, 0);
    k.wait_ms(21);
    // UDP from one /24 (for a limit counted on every packet): U1 asks and gets an answer, asks
    // again; U2 from the same /24 is over the limit; U1 asks once more.
    let u1 = udp("198.51.100.54", 5301, h, 53, 30);
    let r1 = udp(h, 53, "198.51.100.54", 5301, 60);
    let u2 = udp("198.51.100.55", 5302, h, 53, 30);
    for p in [&u1, &r1, &u1, &u2, &u1] {
        k.push(p);
        k.wait_ms(21);
    }
    // SSH from one /24: the second client is refused while the first is connected, and let in
    // after the first reset its connection.
    let mut z1 = Conv::new("198.51.100.60", 43001, h, 22, 8_000, 9_000);
    z1.handshake(k);
    k.wait_ms(21);
    let mut z2 = Conv::new("198.51.100.61", 43002, h, 22, 10_000, 11_000);
    z2.c_raw(k, SYN, 10_000, 0, 0);
    k.wait_ms(21);
    z1.c_raw(k, RST | ACK, z1.client.seq, z1.server.seq, 0);
    k.wait_ms(21);
    z2.handshake(k);
    k.wait_ms(21);
    z2.exchange(k, 10, 10);
    cap.bytes()
}

// ---------------------------------------------------------------------------------------------
// Router (forwarded traffic)

/// `forward-edge.pcap`: traffic through the host as a router (`--router`), IPv4 and IPv6.
/// The outside is 198.51.100.0/24 and 2001:db8:1::/48, the inside 192.0.2.0/24 and
/// 2001:db8:2::/48; the host (203.0.113.10 / 2001:db8::10) forwards between them.
pub(crate) fn forward_edge() -> Vec<u8> {
    let h = HOST4;
    let mut cap = Cap::new();
    let k = &mut cap;

    // 1. A full session from outside to an inside web server, then one to a closed port.
    let mut c = Conv::new("198.51.100.7", 40000, "192.0.2.50", 80, 10_000, 20_000);
    c.handshake(k);
    c.exchange(k, 120, 900);
    c.close_client(k);
    let mut s = Conv::new("198.51.100.7", 40001, "192.0.2.50", 25, 11_000, 0);
    s.c(k, SYN, 0);

    // 2. TTLs: the router decrements before FORWARD. Pings with TTL 64 (63 in FORWARD), 10,
    //    2 (leaves with 1) and 1 (expires: dropped before FORWARD); a TTL-1 packet for the
    //    router itself (delivered: only forwarding decrements).
    for (i, ttl) in [64u8, 10, 2, 1].into_iter().enumerate() {
        let mut p = icmp("198.51.100.9", "192.0.2.50", 8, 0, 0x900, i as u16 + 1);
        p.ttl = ttl;
        k.push(&p);
        if ttl != 64 && ttl != 1 {
            let mut r = icmp("192.0.2.50", "198.51.100.9", 0, 0, 0x900, i as u16 + 1);
            r.ttl = 64;
            k.push(&r);
        }
    }
    let mut t1 = udp("198.51.100.9", 33434, h, 33434, 20);
    t1.ttl = 1;
    k.push(&t1);
    let mut t2 = udp("198.51.100.9", 33435, "192.0.2.50", 33435, 20);
    t2.ttl = 1;
    k.push(&t2);

    // 3. DNAT: the router's port 8080 published to 192.0.2.50:80; the server's answers come
    //    back un-NATed (from 192.0.2.50) and leave as from the router.
    let mut d = Conv::new("198.51.100.7", 40100, h, 8080, 30_000, 0);
    d.c(k, SYN, 0);
    let mut back = Conv::new("198.51.100.7", 40100, "192.0.2.50", 80, 30_001, 40_000);
    back.s(k, SYN | ACK, 0);
    d.server.seq = 40_001;
    d.c(k, ACK, 0);
    d.c(k, PSH | ACK, 100);
    back.client.seq = d.client.seq;
    back.s(k, PSH | ACK, 300);
    // The same published port reached directly at the inside address: not DNATed.
    let mut direct = Conv::new("198.51.100.7", 40101, "192.0.2.50", 8080, 31_000, 0);
    direct.c(k, SYN, 0);

    // 4. Inside clients going out (MASQUERADE to the router's address): the answer arrives
    //    for the router's address and is un-NATed and forwarded inside.
    let mut m = Conv::new("192.0.2.61", 40001, "198.51.100.8", 22, 50_000, 60_000);
    m.c(k, SYN, 0);
    let mut ans = Conv::new("198.51.100.8", 22, h, 40001, 60_000, 50_001);
    ans.c(k, SYN | ACK, 0);
    m.server.seq = 60_001;
    m.c(k, ACK, 0);
    m.c(k, PSH | ACK, 40);
    ans.server.seq = m.client.seq;
    ans.c(k, PSH | ACK, 200);
    // An inside client's DNS query, and a stray answer to the router's address.
    k.push(&udp("192.0.2.61", 41000, "198.51.100.53", 53, 30));
    k.push(&udp("198.51.100.53", 53, h, 41000, 60));
    k.push(&udp("198.51.100.53", 53, h, 41999, 60));
    // Inside to inside: forwarded, not masqueraded.
    k.push(&udp("192.0.2.61", 41001, "192.0.2.62", 5000, 30));

    // 5. Untracked NTP both ways; a UDP flow and an ICMP port-unreachable about it (RELATED),
    //    and one about a datagram never seen (INVALID); a datagram for `recent --rttl`.
    k.push(&udp("198.51.100.30", 123, "192.0.2.123", 123, 48));
    k.push(&udp("192.0.2.123", 123, "198.51.100.30", 123, 48));
    let u = udp("198.51.100.20", 5000, "192.0.2.50", 5001, 40);
    k.push(&u);
    k.push(&icmp_error(
        "192.0.2.50",
        "198.51.100.20",
        3,
        3,
        &built(&u),
        576,
    ));
    let never = udp("198.51.100.21", 5000, "192.0.2.50", 5002, 40);
    k.push(&icmp_error(
        "192.0.2.50",
        "198.51.100.21",
        3,
        3,
        &built(&never),
        576,
    ));
    // A datagram whose TTL a recent list records in PREROUTING and checks (`--rttl`) in FORWARD.
    k.push(&udp("198.51.100.22", 5000, "192.0.2.50", 5007, 20));

    // 6. A 3000-byte datagram forwarded in three fragments, and a train missing its middle.
    let mut big = udp("198.51.100.20", 5003, "192.0.2.50", 5004, 3000);
    big.ip_id = 0x7101;
    for f in fragment_v4(&built(&big), 1480) {
        k.push_bytes(f);
    }
    let mut cut = udp("198.51.100.20", 5005, "192.0.2.50", 5006, 3000);
    cut.ip_id = 0x7102;
    let fr = fragment_v4(&built(&cut), 1480);
    k.push_bytes(fr[0].clone());
    k.push_bytes(fr[2].clone());

    // 7. Addresses a router does not forward: limited broadcast, multicast, zero network
    //    source; a class E destination it does forward.
    k.push(&udp("198.51.100.40", 5000, "255.255.255.255", 5001, 20));
    k.push(&udp("198.51.100.40", 5000, "224.0.0.251", 5353, 20));
    k.push(&udp("198.51.100.40", 5000, "239.1.2.3", 5000, 20));
    k.push(&udp("0.1.2.3", 5000, "192.0.2.50", 5001, 20));
    k.push(&udp("198.51.100.40", 5000, "240.0.0.1", 5001, 20));
    // Groups: all-hosts (every interface joins it) and all-routers.
    k.push(&udp("198.51.100.40", 5000, "224.0.0.1", 5001, 20));
    k.push(&udp("198.51.100.40", 5000, "224.0.0.2", 5001, 20));

    // 8. IPv6: a session in, hop limits 64/2/1, link-local and multicast addresses, a
    //    fragmented datagram, an ICMPv6 error RELATED to a forwarded flow.
    let h6 = HOST6;
    let mut c6 = Conv::new("2001:db8:1::7", 40000, "2001:db8:2::50", 80, 10_000, 20_000);
    c6.handshake(k);
    c6.exchange(k, 120, 900);
    c6.close_client(k);
    let mut s6 = Conv::new("2001:db8:1::7", 40001, "2001:db8:2::50", 25, 11_000, 0);
    s6.c(k, SYN, 0);
    for (i, hl) in [64u8, 2, 1].into_iter().enumerate() {
        k.push(&icmp6(
            "2001:db8:1::9",
            "2001:db8:2::50",
            128,
            0,
            0x900,
            i as u16 + 1,
            hl,
        ));
        if hl > 1 {
            k.push(&icmp6(
                "2001:db8:2::50",
                "2001:db8:1::9",
                129,
                0,
                0x900,
                i as u16 + 1,
                64,
            ));
        }
    }
    k.push(&icmp6("2001:db8:1::9", h6, 128, 0, 0x901, 1, 1));
    k.push(&udp("fe80::9", 5000, "2001:db8:2::50", 5001, 20));
    k.push(&udp("2001:db8:1::9", 5000, "fe80::50", 5001, 20));
    k.push(&udp("2001:db8:1::9", 5000, "ff05::1:3", 547, 20));
    k.push(&udp("2001:db8:1::9", 5000, "ff0e::1", 5000, 20));
    // All-nodes and all-routers groups (link and site scope), and interface-local all-nodes.
    for g in ["ff02::1", "ff02::2", "ff05::2", "ff01::1"] {
        k.push(&udp("2001:db8:1::9", 5000, g, 5001, 20));
    }
    let u6 = udp("2001:db8:1::20", 5000, "2001:db8:2::50", 5001, 40);
    k.push(&u6);
    k.push(&icmp_error(
        "2001:db8:2::50",
        "2001:db8:1::20",
        1,
        4,
        &built(&u6),
        1232,
    ));
    let mut big6 = udp("2001:db8:1::20", 5003, "2001:db8:2::50", 5004, 3000);
    big6.ttl = 60;
    for f in fragment_v6(&built(&big6), 0x7103, 1400) {
        k.push_bytes(f);
    }
    // Inside to outside, answered.
    let mut o6 = Conv::new("2001:db8:2::61", 40002, "2001:db8:1::8", 22, 50_000, 60_000);
    o6.handshake(k);
    o6.exchange(k, 40, 200);
    cap.bytes()
}

// ---------------------------------------------------------------------------------------------
// A Docker host (published ports)

/// `docker-published.pcap`: what `tcpdump -i eth0 -Q in` records on the Docker host fixture
/// (`fixtures/containers/docker-host.rules.v4` + `docker-host.json`: 192.0.2.10 on eth0,
/// docker0 172.17.0.1/16, `-p 8080:80` and `-p 5432:5432`) while outside clients connect:
/// 1 198.51.100.20 → 8080; 2 203.0.113.7 → 8080; 3 198.51.100.20's SYN retransmitted 1 s
/// later (the same connection); 4 198.51.100.21 → 5432; 5 198.51.100.22 → 22 (SSH, which
/// INPUT allows); 6 198.51.100.23 → 3306 (not published) and 7 its retransmission; 8 a UDP
/// datagram to 5432 (published for TCP only). Only the clients' side: the answers leave by
/// docker0 and eth0 after NAT, where a capture on eth0 sees them as from the host.
pub(crate) fn docker_published() -> Vec<u8> {
    let h = "192.0.2.10";
    let mut cap = Cap::new();
    let k = &mut cap;
    let mut a = Conv::new("198.51.100.20", 40001, h, 8080, 10_000, 0);
    a.c(k, SYN, 0);
    let mut b = Conv::new("203.0.113.7", 40002, h, 8080, 20_000, 0);
    b.c(k, SYN, 0);
    k.wait_ms(1_000);
    a.c_opts(
        k,
        SYN,
        10_000,
        0,
        0,
        vec![TcpOpt::Mss(1460), TcpOpt::SackPerm],
    );
    let mut c = Conv::new("198.51.100.21", 40003, h, 5432, 30_000, 0);
    c.c(k, SYN, 0);
    let mut d = Conv::new("198.51.100.22", 40004, h, 22, 40_000, 0);
    d.c(k, SYN, 0);
    let mut e = Conv::new("198.51.100.23", 40005, h, 3306, 50_000, 0);
    e.c(k, SYN, 0);
    k.wait_ms(1_000);
    e.c_opts(
        k,
        SYN,
        50_000,
        0,
        0,
        vec![TcpOpt::Mss(1460), TcpOpt::SackPerm],
    );
    k.push(&udp("198.51.100.24", 5353, h, 5432, 32));
    cap.bytes()
}
