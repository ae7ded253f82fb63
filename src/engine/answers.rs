//! The host's own answers in a capture.
//!
//! A capture taken on the host holds what the host sent, and some of that is netfilter's or the
//! stack's answer to a packet the engine has just judged:
//!
//! * **REJECT's reply** (`nf_send_reset`, `nf_send_unreach`): the kernel builds it while the
//!   rejected packet is in INPUT, sends it through OUTPUT/POSTROUTING with the rejected
//!   packet's connection attached (RELATED), and it appears in the capture right after the
//!   request. The engine already ran that reply through OUTPUT when REJECT fired
//!   (`Engine::reject_reply`); the captured copy is the same packet and must not cross OUTPUT a
//!   second time — the kernel counts it once. It gets the simulated reply's verdict and rule.
//! * **The stack's ICMP errors** for a packet it drops before FORWARD (time exceeded, an IPv6
//!   link-local source beyond its link): `icmp_send` attaches the dropped packet's connection,
//!   so the error is RELATED although that connection is never confirmed. The engine sends it
//!   when it drops the packet, as for REJECT, and the captured copy gets its verdict.
//! * **Answers to requests the ruleset drops**: a capture taken *without* the ruleset under
//!   test (predicting what a new ruleset would do) shows the SYN/ACK, the echo reply, the DNS
//!   response the host sent because nothing dropped the request. Under the new ruleset the
//!   request never reaches the host's stack, so the answer is never sent: it is not judged, but
//!   reported as "would not be sent" with the frame it answers.
//!
//! Both tables are bounded (oldest first out) and expire by capture time, so memory does not
//! grow with the capture.

use std::collections::VecDeque;

use foldhash::HashMap;
use std::net::IpAddr;

use super::outcome::{CtLabel, Decision, Verdict};
use crate::packet::{tcp_flags as F, Packet, L4};

/// How long after REJECT fired its reply may appear in the capture (it is sent synchronously,
/// within microseconds; the window only absorbs capture time-stamp noise).
const REPLY_WINDOW_NS: u64 = 1_000_000_000;
/// Entries kept at most in each table.
const CAP: usize = 65_536;

/// A conversation seen from the host: protocol, host address and port (ICMP: echo id),
/// peer address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    proto: u8,
    local: IpAddr,
    lport: u16,
    remote: IpAddr,
    rport: u16,
}

/// What identifies one REJECT reply on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ReplySig {
    /// A TCP reset from the host's port to the peer's.
    Reset(Key),
    /// An ICMP/ICMPv6 error (type, code) quoting a packet (its addresses, protocol, ports).
    IcmpError {
        src: IpAddr,
        dst: IpAddr,
        kind: (u8, u8),
        quoted: (IpAddr, IpAddr, u8, Option<(u16, u16)>),
    },
}

impl ReplySig {
    pub fn of(p: &Packet) -> Option<ReplySig> {
        match &p.l4 {
            L4::Tcp(t) if t.flags & F::RST != 0 => Some(ReplySig::Reset(Key {
                proto: p.proto,
                local: p.src,
                lport: t.sport,
                remote: p.dst,
                rport: t.dport,
            })),
            L4::Icmp(i) | L4::Icmpv6(i) => {
                let q = i.inner.as_ref()?;
                Some(ReplySig::IcmpError {
                    src: p.src,
                    dst: p.dst,
                    kind: (i.icmp_type, i.code),
                    quoted: (q.src, q.dst, q.proto, q.ports),
                })
            }
            _ => None,
        }
    }
}

/// What the engine decided for a reply it sent on REJECT's behalf.
#[derive(Debug, Clone)]
pub(crate) struct SentReply {
    pub(crate) to_frame: u64,
    /// The stack's own ICMP error (time exceeded…), not REJECT's reply.
    pub(crate) by_stack: bool,
    pub verdict: Verdict,
    pub decision: Option<Decision>,
    pub ctstate: Option<CtLabel>,
    pub certain: bool,
}

/// What a captured outbound packet turned out to be.
#[derive(Debug, Clone)]
pub(crate) enum Recognised {
    /// The reply REJECT sent for `to_frame`: already judged.
    RejectReply(SentReply),
    /// An answer to `to_frame`, a request the ruleset drops: never sent.
    NotSent { to_frame: u64 },
}

/// What identifies a forwarded packet as it leaves the router — after NAT and the TTL/hop
/// limit decrement: its copy captured on the output interface (`tcpdump -i any`, or both
/// directions of every interface) is the same packet, which the kernel counted once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CopySig {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ports: Option<(u16, u16)>,
    id: u32,
    len: u32,
    ttl: u8,
    /// TCP sequence number, ICMP id and sequence: what else tells packets of a flow apart.
    seq: u32,
}

impl CopySig {
    /// `p` as it leaves with TTL/hop limit `ttl`.
    pub(crate) fn of(p: &Packet, ttl: u8) -> CopySig {
        let seq = match &p.l4 {
            L4::Tcp(t) => t.seq,
            L4::Icmp(i) | L4::Icmpv6(i) => (i.id as u32) << 16 | i.seq as u32,
            _ => 0,
        };
        CopySig {
            src: p.src,
            dst: p.dst,
            proto: p.proto,
            ports: p.ports(),
            id: p.frag.id,
            len: p.ip_len,
            ttl,
            seq,
        }
    }
}

/// The tables.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answers {
    replies: HashMap<ReplySig, (u64, SentReply)>,
    reply_order: VecDeque<(u64, ReplySig)>,
    /// Packets forwarded lately, as they left: `sig → (frame, when)`.
    forwarded: HashMap<CopySig, (u64, u64)>,
    forwarded_order: VecDeque<(u64, CopySig)>,
    /// Conversation → (request frame, insertion number); the order queue holds insertion
    /// numbers too, so an entry removed and inserted again is not evicted by its old place.
    dead: HashMap<Key, (u64, u64)>,
    dead_order: VecDeque<(Key, u64)>,
    inserted: u64,
}

/// The conversation key of a request arriving at the host (`Some` for the packets that open
/// one: a TCP SYN, an echo request, a UDP datagram conntrack calls NEW — not the answer to a
/// query the host sent).
fn request_key(p: &Packet, ctstate: Option<CtLabel>) -> Option<Key> {
    let (lport, rport) = match &p.l4 {
        L4::Tcp(t) if t.flags & (F::SYN | F::ACK | F::RST) == F::SYN => (t.dport, t.sport),
        L4::Udp(u) if ctstate == Some(CtLabel::New) => (u.dport, u.sport),
        L4::Icmp(i) if i.icmp_type == 8 => (i.id, 0),
        L4::Icmpv6(i) if i.icmp_type == 128 => (i.id, 0),
        _ => return None,
    };
    Some(Key {
        proto: p.proto,
        local: p.dst,
        lport,
        remote: p.src,
        rport,
    })
}

/// The conversation key of a packet the host sends.
fn answer_key(p: &Packet) -> Option<Key> {
    let (lport, rport) = match &p.l4 {
        L4::Tcp(t) => (t.sport, t.dport),
        L4::Udp(u) => (u.sport, u.dport),
        L4::Icmp(i) if i.icmp_type == 0 => (i.id, 0),
        L4::Icmpv6(i) if i.icmp_type == 129 => (i.id, 0),
        _ => return None,
    };
    Some(Key {
        proto: p.proto,
        local: p.src,
        lport,
        remote: p.dst,
        rport,
    })
}

impl Answers {
    /// REJECT sent the reply `sig` (at capture time `now_ns`) with this outcome.
    pub(crate) fn sent_reply(&mut self, sig: ReplySig, now_ns: u64, sent: SentReply) {
        if self.reply_order.len() >= CAP {
            if let Some((_, old)) = self.reply_order.pop_front() {
                self.replies.remove(&old);
            }
        }
        self.replies.insert(sig, (now_ns, sent));
        self.reply_order.push_back((now_ns, sig));
    }

    /// An inbound packet got `verdict`: a request certainly dropped or rejected kills the
    /// conversation's answers; an accepted one — or one whose fate is uncertain — revives it
    /// (its answers are judged, and inherit the doubt through the connection state).
    pub fn inbound(
        &mut self,
        pkt: &Packet,
        verdict: Option<Verdict>,
        certain: bool,
        ctstate: Option<CtLabel>,
    ) {
        let Some(key) = request_key(pkt, ctstate) else {
            return;
        };
        match verdict {
            Some(Verdict::Drop | Verdict::Reject) if certain => {
                self.inserted += 1;
                self.dead.insert(key, (pkt.frame, self.inserted));
                if self.dead_order.len() >= CAP {
                    if let Some((old, n)) = self.dead_order.pop_front() {
                        if self.dead.get(&old).is_some_and(|&(_, m)| m == n) {
                            self.dead.remove(&old);
                        }
                    }
                }
                self.dead_order.push_back((key, self.inserted));
            }
            _ if !self.dead.is_empty() => {
                self.dead.remove(&key);
            }
            _ => {}
        }
    }

    /// What a captured outbound packet is, if it is one of the two kinds of answer.
    /// Frame `frame` was forwarded and left as `sig` at `now_ns`.
    pub(crate) fn forwarded(&mut self, sig: CopySig, frame: u64, now_ns: u64) {
        if self.forwarded_order.len() >= CAP {
            if let Some((_, old)) = self.forwarded_order.pop_front() {
                self.forwarded.remove(&old);
            }
        }
        self.forwarded.insert(sig, (frame, now_ns));
        self.forwarded_order.push_back((now_ns, sig));
    }

    /// The frame `pkt` is the outgoing copy of, if it is a packet forwarded within the last
    /// second exactly as it left (then forgotten: a copy is recognised once).
    pub(crate) fn forwarded_copy(&mut self, pkt: &Packet, now_ns: u64) -> Option<u64> {
        while let Some(&(t, sig)) = self.forwarded_order.front() {
            if now_ns.saturating_sub(t) <= REPLY_WINDOW_NS {
                break;
            }
            self.forwarded_order.pop_front();
            if self.forwarded.get(&sig).is_some_and(|(_, at)| *at == t) {
                self.forwarded.remove(&sig);
            }
        }
        if self.forwarded.is_empty() {
            return None;
        }
        self.forwarded
            .remove(&CopySig::of(pkt, pkt.ttl))
            .map(|(frame, _)| frame)
    }

    pub fn outbound(&mut self, pkt: &Packet, now_ns: u64) -> Option<Recognised> {
        while let Some(&(t, sig)) = self.reply_order.front() {
            if now_ns.saturating_sub(t) <= REPLY_WINDOW_NS {
                break;
            }
            self.reply_order.pop_front();
            if self.replies.get(&sig).is_some_and(|(at, _)| *at == t) {
                self.replies.remove(&sig);
            }
        }
        if !self.replies.is_empty() {
            if let Some(sig) = ReplySig::of(pkt) {
                if let Some((_, sent)) = self.replies.remove(&sig) {
                    return Some(Recognised::RejectReply(sent));
                }
            }
        }
        if self.dead.is_empty() {
            return None;
        }
        let key = answer_key(pkt)?;
        self.dead
            .get(&key)
            .map(|&(to_frame, _)| Recognised::NotSent { to_frame })
    }
}
