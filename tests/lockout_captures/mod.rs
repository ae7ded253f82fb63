//! Captures for the FW001-from-a-capture tests (`capture_lockout.rs`) and their kernel check
//! (`kernel_capture_lockout.rs`): TCP conversations with consistent sequence numbers, scans,
//! and the rulesets they meet.
#![allow(dead_code)]

use std::net::IpAddr;

use fwcheck::analysis::synth::Synth;
use fwcheck::packet::{tcp_flags as F, Conversation, Packet, Side};

pub const HOST: &str = "203.0.113.10";
pub const ADMIN: &str = "198.51.100.7";
pub const SCANNER: &str = "192.0.2.66";

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn rules(text: &str) -> fwcheck::lint::Loaded {
    let l = fwcheck::lint::load_str("rules.v4", text, fwcheck::ruleset::ParseOptions::default());
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    l
}

/// A correct ruleset for an SSH server: established traffic, INVALID dropped, new SSH
/// connections through a brute-force guard (`recent`, 4 hits in 60 s).
pub const GUARDED: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --set --name SSH --rsource
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --update --seconds 60 --hitcount 4 --name SSH --rsource -j DROP
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT
COMMIT
";

/// A TCP connection from a client to a server as the checks send it ([`Synth::conversation`],
/// which keeps the sequence numbers), its packets numbered and timed by a [`Synth`].
pub struct Conv(pub Conversation);

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
    pub fn new(c: &str, cport: u16, s: &str, sport: u16) -> Conv {
        Conv(Synth::conversation(
            (ip(c), cport),
            (ip(s), sport),
            1_000 + cport as u32 * 7,
            900_000 + cport as u32 * 13,
        ))
    }
    pub fn syn(&mut self, sy: &mut Synth) -> Packet {
        sy.packet(self.0.send(Side::Client, F::SYN, 0))
    }
    pub fn synack(&mut self, sy: &mut Synth) -> Packet {
        sy.packet(self.0.send(Side::Server, F::SYN | F::ACK, 0))
    }
    /// The client's ACK of the SYN/ACK.
    pub fn ack(&mut self, sy: &mut Synth) -> Packet {
        sy.packet(self.0.send(Side::Client, F::ACK, 0))
    }
    pub fn rst_from_client(&mut self, sy: &mut Synth) -> Packet {
        sy.packet(self.0.rst(Side::Client))
    }
    pub fn data_in(&mut self, sy: &mut Synth, n: usize) -> Packet {
        sy.packet(self.0.data(Side::Client, n))
    }
    pub fn data_out(&mut self, sy: &mut Synth, n: usize) -> Packet {
        sy.packet(self.0.data(Side::Server, n))
    }
    /// Handshake, then `rounds` request/response pairs.
    pub fn session(&mut self, sy: &mut Synth, rounds: usize) -> Vec<Packet> {
        let mut v = vec![self.syn(sy), self.synack(sy), self.ack(sy)];
        for _ in 0..rounds {
            v.push(self.data_in(sy, 48));
            v.push(self.data_out(sy, 96));
        }
        v
    }
}

/// XMAS, NULL and FIN probes, a stray RST and a stray FIN/ACK to port 22.
pub fn scans(sy: &mut Synth) -> Vec<Packet> {
    let mut v = Vec::new();
    for (i, flags) in [
        F::FIN | F::PSH | F::URG,
        0,
        F::FIN,
        F::RST,
        F::FIN | F::ACK,
        F::ACK,
    ]
    .into_iter()
    .enumerate()
    {
        let sport = 61_000 + i as u16;
        v.push(sy.tcp((ip(SCANNER), sport), (ip(HOST), 22), flags, 77, 0, 0));
        // The host resets what it has no socket for (as a closed or unsynchronised port does).
        if flags & F::RST == 0 && flags != F::FIN | F::PSH | F::URG && flags != 0 {
            v.push(sy.tcp((ip(HOST), 22), (ip(SCANNER), sport), F::RST, 0, 78, 0));
        }
    }
    v
}

/// INPUT accepts new SSH connections but nothing established: the handshake passes (SYN in,
/// SYN/ACK out), then the session's first ACK is dropped.
pub const NEW_ONLY: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT
COMMIT
";

/// Six SSH connections from the admin within a few seconds, each answered by the host (as
/// captured on a host without the brute-force guard).
pub fn six_attempts(sy: &mut Synth) -> Vec<Packet> {
    let mut pkts = Vec::new();
    for i in 0..6u16 {
        pkts.extend(Conv::new(ADMIN, 50_000 + i, HOST, 22).session(sy, 2));
    }
    pkts
}

/// New sessions only with a bare SYN (`--syn`), established traffic accepted.
pub const SYN_ONLY: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j ACCEPT
COMMIT
";

/// A capture that starts inside the admin's SSH session (tcpdump run from it): no SYN.
pub fn mid_session(sy: &mut Synth) -> Vec<Packet> {
    // Both sides' SYNs were before the capture.
    let mut c = Conv::new(ADMIN, 50_000, HOST, 22);
    c.client.seq += 1;
    c.server.seq += 1;
    let mut pkts = Vec::new();
    for _ in 0..3 {
        pkts.push(c.data_in(sy, 48));
        pkts.push(c.data_out(sy, 96));
    }
    pkts
}

/// An SSH session with one segment far outside the window in the middle (conntrack calls it
/// INVALID): the session goes on after it.
pub fn stray_invalid_segment(sy: &mut Synth) -> Vec<Packet> {
    let mut c = Conv::new(ADMIN, 50_000, HOST, 22);
    let mut pkts = c.session(sy, 2);
    let far = c.client.seq.wrapping_add(100_000_000);
    pkts.push(sy.packet(c.raw(Side::Client, F::PSH | F::ACK, far, c.server.seq, 48)));
    for _ in 0..2 {
        pkts.push(c.data_in(sy, 48));
        pkts.push(c.data_out(sy, 96));
    }
    pkts
}
