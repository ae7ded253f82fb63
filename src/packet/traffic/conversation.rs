//! TCP conversations: one connection between a client and a server [`Endpoint`], the only
//! place in fwcheck that keeps both ends' sequence numbers.
//!
//! Owns: [`Conversation`], which yields the [`PacketSpec`]s of a connection — the 3-way
//! handshake, data segments of a length or of given bytes, FIN closes from either side, RSTs,
//! and raw segments with explicit flags, sequence and acknowledgement numbers or options for
//! edge cases (the counters do not move for those). The generator's sessions (`fwcheck gen`,
//! [`crate::packet::gen`]), the probe traffic the analyses synthesise (`analysis::synth`), the
//! test-support recipes of the shipped captures (`testkit::scenario`) and the tests' own
//! conversations all build their TCP segments here; each keeps only what is its own (timing,
//! IP ids, time-stamp options, labels).
//!
//! Mirrors the sequence-space accounting of RFC 9293 §3.4 as the kernel's TCP does it
//! (`tcp_output.c`: `tcp_connect` and `tcp_send_fin` each take one sequence number, data its
//! length; `tcp_transmit_skb` acknowledges `rcv_nxt`, the peer's next sequence number, on
//! every segment with ACK). An RST takes no sequence space.

use std::net::IpAddr;

use crate::packet::build::{L4Spec, PacketSpec, TcpOpt};
use crate::packet::tcp_flags::{ACK, FIN, PSH, RST, SYN};

/// Which end of a [`Conversation`] sends a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The end that sends the first SYN.
    Client,
    /// The end that answers it.
    Server,
}

impl Side {
    /// The other end.
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// One end of a TCP connection: where it is, the next sequence number it sends, and how its
/// segments look (window, SYN options, TTL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: IpAddr,
    pub port: u16,
    /// The next sequence number this end sends (its initial sequence number before its SYN).
    pub seq: u32,
    /// The window field of its segments without SYN.
    pub window: u16,
    /// The window field of its SYN (or SYN/ACK).
    pub(crate) syn_window: u16,
    /// The options of its SYN (or SYN/ACK); its other segments carry none unless a segment
    /// is given its own.
    pub(crate) syn_options: Vec<TcpOpt>,
    /// IPv4 TTL or IPv6 hop limit of its packets.
    pub ttl: u8,
}

impl Endpoint {
    /// An end at `addr:port` whose first segment has sequence number `isn`: window 64240,
    /// no options, TTL 64.
    pub fn new(addr: IpAddr, port: u16, isn: u32) -> Endpoint {
        Endpoint {
            addr,
            port,
            seq: isn,
            window: 64240,
            syn_window: 64240,
            syn_options: Vec::new(),
            ttl: 64,
        }
    }

    /// The same end with these window fields: `syn` on its SYN, `window` afterwards.
    pub(crate) fn with_windows(mut self, syn: u16, window: u16) -> Endpoint {
        self.syn_window = syn;
        self.window = window;
        self
    }

    /// The same end with these options on its SYN.
    pub(crate) fn with_syn_options(mut self, options: Vec<TcpOpt>) -> Endpoint {
        self.syn_options = options;
        self
    }

    /// The same end with this TTL (hop limit).
    pub fn with_ttl(mut self, ttl: u8) -> Endpoint {
        self.ttl = ttl;
        self
    }
}

/// The payload of a segment of `len` bytes whose first byte has sequence number `seq`.
pub(crate) type Fill = fn(len: usize, seq: u32) -> Vec<u8>;

/// The default [`Fill`]: `len` bytes of `x`.
pub(crate) fn fill_x(len: usize, _seq: u32) -> Vec<u8> {
    vec![b'x'; len]
}

/// The sequence space a segment with `flags` and `len` bytes of payload takes: its length,
/// plus one for SYN and one for FIN.
pub(crate) fn seq_space(flags: u8, len: usize) -> u32 {
    (len as u32)
        .wrapping_add(u32::from(flags & SYN != 0))
        .wrapping_add(u32::from(flags & FIN != 0))
}

/// A TCP connection between [`Conversation::client`] and [`Conversation::server`].
///
/// The `send*` methods and the sequences built on them (handshake, exchange, closes) send the
/// next segment of one side: its sequence number is that side's [`Endpoint::seq`], its
/// acknowledgement the peer's (0 without ACK), and the side's counter then moves on by the
/// segment's `seq_space`. The `raw*` and [`Conversation::segment`] methods build a segment
/// with explicit numbers and move nothing. The counters are public: a recipe may skip ahead
/// (a capture that starts mid-stream, a gap) by changing them.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub client: Endpoint,
    pub server: Endpoint,
    /// Set IPv4 don't-fragment on every segment.
    pub(crate) dont_fragment: bool,
    /// The payload of segments given by length (`fill_x` unless set).
    pub fill: Fill,
}

impl Conversation {
    /// A connection between two ends; no don't-fragment bit, payloads of `x`.
    pub fn new(client: Endpoint, server: Endpoint) -> Conversation {
        Conversation {
            client,
            server,
            dont_fragment: false,
            fill: fill_x,
        }
    }

    /// The same connection with don't-fragment set or not.
    pub fn with_dont_fragment(mut self, df: bool) -> Conversation {
        self.dont_fragment = df;
        self
    }

    /// The same connection with payloads made by `fill`.
    pub fn with_fill(mut self, fill: Fill) -> Conversation {
        self.fill = fill;
        self
    }

    /// One end.
    pub fn end(&self, side: Side) -> &Endpoint {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }

    /// One end, to change.
    pub(crate) fn end_mut(&mut self, side: Side) -> &mut Endpoint {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    /// The options a segment of `from` with `flags` carries by default: the end's SYN options
    /// on a SYN, none otherwise.
    fn default_options(&self, from: Side, flags: u8) -> Vec<TcpOpt> {
        if flags & SYN != 0 {
            self.end(from).syn_options.clone()
        } else {
            Vec::new()
        }
    }

    /// A segment from `from` with everything explicit; the counters do not move. The window
    /// is the sender's (`Endpoint::syn_window` on a SYN).
    pub fn segment(
        &self,
        from: Side,
        flags: u8,
        seq: u32,
        ack: u32,
        payload: Vec<u8>,
        options: Vec<TcpOpt>,
    ) -> PacketSpec {
        let (me, peer) = (self.end(from), self.end(from.peer()));
        let window = if flags & SYN != 0 {
            me.syn_window
        } else {
            me.window
        };
        let mut spec = PacketSpec::new(
            me.addr,
            peer.addr,
            L4Spec::Tcp {
                sport: me.port,
                dport: peer.port,
                seq,
                ack,
                flags,
                window,
                options,
            },
        );
        spec.ttl = me.ttl;
        spec.dont_fragment = self.dont_fragment;
        spec.payload = payload;
        spec
    }

    /// A segment from `from` with explicit numbers and `len` bytes of payload; the counters do
    /// not move.
    pub fn raw(&self, from: Side, flags: u8, seq: u32, ack: u32, len: usize) -> PacketSpec {
        let options = self.default_options(from, flags);
        self.segment(from, flags, seq, ack, (self.fill)(len, seq), options)
    }

    /// [`Conversation::raw`] carrying `payload`.
    pub fn raw_payload(
        &self,
        from: Side,
        flags: u8,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) -> PacketSpec {
        let options = self.default_options(from, flags);
        self.segment(from, flags, seq, ack, payload.to_vec(), options)
    }

    /// [`Conversation::raw`] with these TCP options.
    pub fn raw_options(
        &self,
        from: Side,
        flags: u8,
        seq: u32,
        ack: u32,
        len: usize,
        options: Vec<TcpOpt>,
    ) -> PacketSpec {
        self.segment(from, flags, seq, ack, (self.fill)(len, seq), options)
    }

    /// The acknowledgement number of `from`'s next segment with `flags`: the peer's next
    /// sequence number when ACK is set, else 0.
    pub fn ack_of(&self, from: Side, flags: u8) -> u32 {
        if flags & ACK != 0 {
            self.end(from.peer()).seq
        } else {
            0
        }
    }

    /// `from`'s next segment with `payload` and `options`; its counter moves on.
    pub(crate) fn send_with(
        &mut self,
        from: Side,
        flags: u8,
        payload: Vec<u8>,
        options: Vec<TcpOpt>,
    ) -> PacketSpec {
        let seq = self.end(from).seq;
        let ack = self.ack_of(from, flags);
        let len = payload.len();
        let spec = self.segment(from, flags, seq, ack, payload, options);
        let me = self.end_mut(from);
        me.seq = me.seq.wrapping_add(seq_space(flags, len));
        spec
    }

    /// `from`'s next segment with `len` bytes of payload; its counter moves on.
    pub fn send(&mut self, from: Side, flags: u8, len: usize) -> PacketSpec {
        let payload = (self.fill)(len, self.end(from).seq);
        let options = self.default_options(from, flags);
        self.send_with(from, flags, payload, options)
    }

    /// `from`'s next segment carrying `payload`; its counter moves on.
    pub fn send_payload(&mut self, from: Side, flags: u8, payload: &[u8]) -> PacketSpec {
        let options = self.default_options(from, flags);
        self.send_with(from, flags, payload.to_vec(), options)
    }

    /// `from`'s next data segment (PSH/ACK) of `len` bytes.
    pub fn data(&mut self, from: Side, len: usize) -> PacketSpec {
        self.send(from, PSH | ACK, len)
    }

    /// The 3-way handshake: SYN, SYN/ACK, ACK.
    pub fn handshake(&mut self) -> [PacketSpec; 3] {
        [
            self.send(Side::Client, SYN, 0),
            self.send(Side::Server, SYN | ACK, 0),
            self.send(Side::Client, ACK, 0),
        ]
    }

    /// A request of `req` bytes, the server's ACK of it, a response of `resp` bytes and the
    /// client's ACK of that.
    pub fn exchange(&mut self, req: usize, resp: usize) -> [PacketSpec; 4] {
        [
            self.send(Side::Client, PSH | ACK, req),
            self.send(Side::Server, ACK, 0),
            self.send(Side::Server, PSH | ACK, resp),
            self.send(Side::Client, ACK, 0),
        ]
    }

    /// `first` closes, the peer closes at once (its FIN acknowledges the first), `first` ACKs
    /// the peer's FIN: FIN/ACK, FIN/ACK, ACK.
    pub fn close(&mut self, first: Side) -> [PacketSpec; 3] {
        [
            self.send(first, FIN | ACK, 0),
            self.send(first.peer(), FIN | ACK, 0),
            self.send(first, ACK, 0),
        ]
    }

    /// `first` closes, the peer ACKs that FIN, then closes its side: FIN/ACK, ACK, FIN/ACK,
    /// ACK.
    pub(crate) fn close_acked(&mut self, first: Side) -> [PacketSpec; 4] {
        [
            self.send(first, FIN | ACK, 0),
            self.send(first.peer(), ACK, 0),
            self.send(first.peer(), FIN | ACK, 0),
            self.send(first, ACK, 0),
        ]
    }

    /// A bare RST from `from` at its next sequence number (no ACK); an RST takes no sequence
    /// space, so nothing moves.
    pub fn rst(&self, from: Side) -> PacketSpec {
        self.raw(from, RST, self.end(from).seq, 0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(s: &PacketSpec) -> (u32, u32, u8, usize) {
        match &s.l4 {
            L4Spec::Tcp {
                seq, ack, flags, ..
            } => (*seq, *ack, *flags, s.payload.len()),
            _ => panic!("not TCP"),
        }
    }

    fn conv() -> Conversation {
        Conversation::new(
            Endpoint::new("198.51.100.7".parse().unwrap(), 40000, 1000),
            Endpoint::new("203.0.113.10".parse().unwrap(), 22, 5000),
        )
    }

    #[test]
    fn a_whole_session_numbers_both_sides() {
        let mut c = conv();
        let mut v: Vec<PacketSpec> = c.handshake().into();
        v.extend(c.exchange(100, 200));
        v.extend(c.close_acked(Side::Client));
        let got: Vec<_> = v.iter().map(tcp).collect();
        assert_eq!(
            got,
            [
                (1000, 0, SYN, 0),
                (5000, 1001, SYN | ACK, 0),
                (1001, 5001, ACK, 0),
                (1001, 5001, PSH | ACK, 100),
                (5001, 1101, ACK, 0),
                (5001, 1101, PSH | ACK, 200),
                (1101, 5201, ACK, 0),
                (1101, 5201, FIN | ACK, 0),
                (5201, 1102, ACK, 0),
                (5201, 1102, FIN | ACK, 0),
                (1102, 5202, ACK, 0),
            ]
        );
        assert_eq!((c.client.seq, c.server.seq), (1102, 5202));
    }

    #[test]
    fn raw_segments_and_rst_move_nothing() {
        let mut c = conv();
        c.handshake();
        let r = c.raw(Side::Server, PSH | ACK, 7, 9, 3);
        assert_eq!(tcp(&r), (7, 9, PSH | ACK, 3));
        assert_eq!(tcp(&c.rst(Side::Client)), (1001, 0, RST, 0));
        assert_eq!((c.client.seq, c.server.seq), (1001, 5001));
        // The server closes first.
        let v: Vec<_> = c.close(Side::Server).iter().map(tcp).collect();
        assert_eq!(
            v,
            [
                (5001, 1001, FIN | ACK, 0),
                (1001, 5002, FIN | ACK, 0),
                (5002, 1002, ACK, 0)
            ]
        );
    }

    #[test]
    fn syn_segments_carry_the_syn_window_and_options() {
        let mut c = conv();
        c.client = c
            .client
            .clone()
            .with_windows(65535, 502)
            .with_syn_options(vec![TcpOpt::Mss(1460)])
            .with_ttl(52);
        let [syn, _, ack] = c.handshake();
        let (
            L4Spec::Tcp {
                window, options, ..
            },
            L4Spec::Tcp {
                window: w2,
                options: o2,
                ..
            },
        ) = (&syn.l4, &ack.l4)
        else {
            panic!("not TCP")
        };
        assert_eq!((*window, options.clone()), (65535, vec![TcpOpt::Mss(1460)]));
        assert_eq!((*w2, o2.len()), (502, 0));
        assert_eq!(
            (syn.ttl, syn.src, syn.dst),
            (52, c.client.addr, c.server.addr)
        );
    }
}
