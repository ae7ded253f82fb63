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
//!   reported as "would not be sent" with the frame it answers. Only an answer nothing else
//!   can have caused: with conntrack, the host's packets of a conversation whose *first*
//!   packet (the one that would have created its connection) was dropped, until a request of
//!   it is let through — a later packet dropped on a live connection (an INVALID SYN|FIN, a
//!   duplicate SYN a `hashlimit` refuses, a datagram `-m length` drops) leaves the host's
//!   answers to the earlier ones, and its timers' retransmissions, judged; without conntrack,
//!   the SYN/ACK or reset acknowledging exactly that SYN, the echo reply of exactly that echo
//!   request, unless the same request was let through before.
//!
//! The tables are bounded (oldest first out) and expire by capture time, so memory does not
//! grow with the capture. What one pushes out while it may still matter is remembered without
//! its details (`super::forgotten`), and a packet that may be it is judged uncertain: a bound
//! never makes a verdict certain.

use std::collections::VecDeque;

use foldhash::HashMap;
use std::net::IpAddr;

use super::forgotten::ForgottenFor;
use super::outcome::{CtLabel, Decision, Verdict};
use crate::netfilter::Family;
use crate::packet::{tcp_flags as F, Packet, L4};

/// How long after REJECT fired its reply may appear in the capture (it is sent synchronously,
/// within microseconds; the window only absorbs capture time-stamp noise).
const REPLY_WINDOW_NS: u64 = 1_000_000_000;
/// Entries kept at most in each table.
const CAP: usize = 65_536;
/// Marks a frame number in the table of forwarded copies as a `TEE` clone's.
const CLONE: u64 = 1 << 63;

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
                let quoted = match &i.inner {
                    Some(q) => (q.src, q.dst, q.proto, q.ports),
                    // An IPv6 router's redirect whose Redirected Header is not the first
                    // option (conntrack's `inner` is then none): read where it stands.
                    None if i.icmp_type == 137 && p.family == crate::packet::Family::V6 => {
                        let seg = p.data.get(p.ip_hdr_len as usize..)?;
                        let q = crate::packet::decode::redirect_quoted(seg)?;
                        (q.src, q.dst, q.proto, q.ports)
                    }
                    None => return None,
                };
                Some(ReplySig::IcmpError {
                    src: p.src,
                    dst: p.dst,
                    kind: (i.icmp_type, i.code),
                    quoted,
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
    /// The router's outgoing copy of this frame, forwarded: judged when it came in.
    ForwardedCopy(u64),
    /// The clone `TEE` made of this frame: judged when `TEE` sent it.
    TeeClone(u64),
    /// A segment of this frame, which the router forwarded as one GSO packet and cut on its
    /// way out: judged when it came in.
    ForwardedSegment(u64),
    /// The router's outgoing copy of a forwarded packet whose source port (or ICMP query id)
    /// SNAT chose at random: the copy shows the kernel's choice, `port`.
    PickedCopy { pick: Pick, src: IpAddr, port: u16 },
    /// Perhaps one of the above, which a table no longer holds (more than its bound since):
    /// judged, uncertain, for this reason.
    Maybe(&'static str),
}

/// A forwarded packet's source NAT whose port (or ICMP query id) the kernel chose at random
/// (`nf_nat_l4proto_unique_tuple`: a random offset into the range once the packet's own port
/// is taken): its outgoing copy, if the capture holds it, shows the choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pick {
    /// The frame whose connection was bound.
    pub frame: u64,
    /// That connection, and its original tuple (to tell it from a later one in its place).
    pub ct: crate::conntrack::CtId,
    pub orig: crate::conntrack::Tuple,
    /// The ranges the kernel chose from: ports (ICMP ids), addresses.
    pub lo: u16,
    pub hi: u16,
    pub addrs: (IpAddr, IpAddr),
}

/// A pick waiting for its copy: the packet as it left with fwcheck's stand-in port.
#[derive(Debug, Clone, Copy)]
struct PendingPick {
    at: u64,
    sig: CopySig,
    pick: Pick,
}

/// Picks waiting for their copies at most (the oldest goes: its copy is judged as a packet,
/// its connection's doubt stays).
const PICKS: usize = 1_024;

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
    /// TCP acknowledgment number and flags (FIN, SYN, RST, PSH, ACK: not the ECN bits the
    /// `ECN` target may clear): an ACK and the FIN-ACK after it share length and sequence.
    ack: u32,
    flags: u8,
}

impl CopySig {
    /// The source port, or an ICMP query's id: what SNAT chooses.
    fn source_port(&self) -> u16 {
        match self.ports {
            Some((s, _)) => s,
            None => (self.seq >> 16) as u16,
        }
    }

    /// The same packet from `src` with source port (ICMP query id) `p`.
    fn with_source(mut self, src: IpAddr, p: u16) -> CopySig {
        self.src = src;
        match &mut self.ports {
            Some((s, _)) => *s = p,
            None => self.seq = (p as u32) << 16 | (self.seq & 0xffff),
        }
        self
    }

    /// `p` as it leaves with TTL/hop limit `ttl`.
    pub(crate) fn of(p: &Packet, ttl: u8) -> CopySig {
        let (seq, ack, flags) = match &p.l4 {
            L4::Tcp(t) => (t.seq, t.ack, t.flags & 0x1f),
            L4::Icmp(i) | L4::Icmpv6(i) => ((i.id as u32) << 16 | i.seq as u32, 0, 0),
            _ => (0, 0, 0),
        };
        CopySig {
            src: p.src,
            dst: p.dst,
            proto: p.proto,
            ports: p.ports(),
            // An IPv6 router refragments a datagram conntrack reassembled with a fragment id
            // of its own (`ip6_fragment`: `ipv6_select_ident`); IPv4 keeps the datagram's id.
            id: match p.family {
                Family::V4 => p.frag.id,
                Family::V6 => 0,
            },
            len: p.ip_len,
            ttl,
            seq,
            ack,
            flags,
        }
    }
}

/// A forwarded packet's flow as it leaves (after NAT and the TTL/hop limit decrement): what
/// its segments share when the router cuts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowSig {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ports: (u16, u16),
    ttl: u8,
}

impl FlowSig {
    /// `p`'s flow as it leaves with TTL/hop limit `ttl` (`None` without ports).
    fn of(p: &Packet, ttl: u8) -> Option<FlowSig> {
        Some(FlowSig {
            src: p.src,
            dst: p.dst,
            proto: p.proto,
            ports: p.ports()?,
            ttl,
        })
    }
}

/// A forwarded TCP or UDP packet that may leave cut into segments: a GSO packet (GRO merged
/// it on the way in, or it came so from a local sender) whose output device cannot segment it
/// (no TSO or UDP segmentation offload: PPP, WireGuard, tunnels, or turned off) is cut after
/// POSTROUTING, before the capture tap (`validate_xmit_skb` → `skb_gso_segment`:
/// `tcp_gso_segment` gives each segment its part of the sequence space and the packet's ACK;
/// `__udp_gso_segment` each datagram `gso_size` bytes of the payload), and each IPv4 segment
/// the next IP id. The kernel's hooks saw the packet once.
#[derive(Debug, Clone, Copy)]
struct Train {
    frame: u64,
    at: u64,
    id: u32,
    /// TCP: the sequence space not yet seen leaving, and the ACK; UDP: payload bytes not yet
    /// seen leaving.
    next: u32,
    end: u32,
    ack: u32,
    tcp: bool,
}

/// The packets forwarded as one [`CopySig`], as `(frame, when)`, oldest first: the first held
/// inline (a queue for every forwarded packet cost an allocation each), the rest — packets
/// alike, a segment and its immediate retransmission — after it.
#[derive(Debug, Clone)]
struct Alike {
    first: (u64, u64),
    more: VecDeque<(u64, u64)>,
}

impl Alike {
    /// Takes the oldest; `None` when it was the last (the entry goes then).
    fn pop_front(&mut self) -> Option<()> {
        self.first = self.more.pop_front()?;
        Some(())
    }
}

/// Trains kept per flow at most (the oldest goes).
const TRAINS_PER_FLOW: usize = 8;

/// The tables.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answers {
    replies: HashMap<ReplySig, (u64, SentReply)>,
    reply_order: VecDeque<(u64, ReplySig)>,
    /// Packets forwarded lately, as they left: `sig → [(frame, when)]`, oldest first: two
    /// packets alike (a TCP segment and its immediate retransmission, same time stamp option)
    /// both leave, and each copy is one of them.
    forwarded: HashMap<CopySig, Alike>,
    forwarded_order: VecDeque<(u64, CopySig)>,
    /// The same packets, by flow, as trains their segments may come from (TCP and UDP with a
    /// payload), oldest first; expire with `forwarded_order`'s window and bound.
    trains: HashMap<FlowSig, VecDeque<Train>>,
    train_order: VecDeque<(u64, FlowSig)>,
    /// A forwarded packet's copy was seen leaving: the capture shows them (trains are kept
    /// from then on).
    copies_seen: bool,
    /// Request → its fate: `Some(frame)` dropped (its answers are not sent), `None` let
    /// through (without conntrack: a later copy of it dropped does not kill its answers);
    /// with its insertion number: the order queue holds insertion numbers too, so an entry
    /// removed and inserted again is not evicted by its old place.
    requests: HashMap<Request, (Option<u64>, u64)>,
    order: VecDeque<(Request, u64)>,
    inserted: u64,
    /// Requests dropped and not revived (`requests` holds the let-through ones too).
    dead: usize,
    /// Dropped requests pushed out of `requests` (allocated at the first): an answer to one
    /// may not have been sent, which is no longer known for certain.
    forgotten: Option<Box<super::forgotten::Forgotten>>,
    /// Replies pushed out of `replies` within their window (more than [`CAP`] sent in it): a
    /// captured packet like one may be that reply, judged already.
    pushed_replies: Option<Box<ForgottenFor>>,
    /// Forwarded packets pushed out of `forwarded` within their window, likewise.
    pushed_copies: Option<Box<ForgottenFor>>,
    /// Forwarded packets whose SNAT port the kernel chose at random, oldest first: their
    /// copies are known by everything but that port.
    picks: VecDeque<PendingPick>,
}

/// Why a captured packet the table of REJECT's replies pushed out is in doubt.
const MAYBE_REPLY: &str = "it may be REJECT's reply (or the stack's ICMP error) to a packet \
     judged within the last second, which the kernel counts once, when it is sent: more than \
     65,536 replies were sent in that second, and fwcheck no longer holds which";

/// Why a captured packet the table of forwarded packets pushed out is in doubt.
const MAYBE_COPY: &str = "it may be the router's outgoing copy of a packet forwarded within the \
     last second, which the kernel counts once, when it comes in: more than 65,536 packets were \
     forwarded in that second, and fwcheck no longer holds which";

/// Why an answer the table of dropped requests pushed out is in doubt.
const MAYBE_NOT_SENT: &str = "it may answer a request the ruleset drops, and then would not be \
     sent: more than 65,536 dropped requests were met since, and fwcheck no longer holds which";

/// Remembers `key`, pushed out of a table at `now` with its window still open.
fn push_out<K: std::hash::Hash>(f: &mut Option<Box<ForgottenFor>>, key: &K, now: u64) {
    f.get_or_insert_with(|| Box::new(ForgottenFor::new(REPLY_WINDOW_NS, now)))
        .insert(key, now);
}

/// A request the host may answer: its conversation and, without conntrack, which request
/// of it (a SYN's sequence number, an echo request's sequence number; 0 with conntrack,
/// where the conversation's connection is what lives or dies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Request {
    key: Key,
    which: u32,
}

impl Request {
    /// The request of conversation `proto`, `local` (the host's address and port), `remote`:
    /// `which` of it without conntrack, the conversation itself with (`tracked`).
    fn new(
        proto: u8,
        local: (IpAddr, u16),
        remote: (IpAddr, u16),
        tracked: bool,
        which: u32,
    ) -> Self {
        Request {
            key: Key {
                proto,
                local: local.0,
                lport: local.1,
                remote: remote.0,
                rport: remote.1,
            },
            which: if tracked { 0 } else { which },
        }
    }
}

/// A request arriving at the host (`Some` for the packets that open a conversation: a TCP
/// SYN, an echo request, a UDP datagram conntrack calls NEW — not the answer to a query the
/// host sent). `tracked`: conntrack runs (the conversation is the request).
fn request_of(p: &Packet, ctstate: Option<CtLabel>, tracked: bool) -> Option<Request> {
    let (lport, rport, which) = match &p.l4 {
        L4::Tcp(t) if t.flags & (F::SYN | F::ACK | F::RST) == F::SYN => (t.dport, t.sport, t.seq),
        L4::Udp(u) if tracked && ctstate == Some(CtLabel::New) => (u.dport, u.sport, 0),
        L4::Icmp(i) if i.icmp_type == 8 => (i.id, 0, i.seq as u32),
        L4::Icmpv6(i) if i.icmp_type == 128 => (i.id, 0, i.seq as u32),
        _ => return None,
    };
    Some(Request::new(
        p.proto,
        (p.dst, lport),
        (p.src, rport),
        tracked,
        which,
    ))
}

/// The request a packet the host sends may answer: with conntrack, any packet of the
/// conversation but one opening it (a SYN without ACK); without, the SYN/ACK or reset
/// acknowledging a SYN (its sequence number + 1), the echo reply of an echo request.
fn answered_by(p: &Packet, tracked: bool) -> Option<Request> {
    let (lport, rport, which) = match &p.l4 {
        L4::Tcp(t) if t.flags & (F::SYN | F::ACK) == F::SYN => return None,
        L4::Tcp(t) if tracked => (t.sport, t.dport, 0),
        L4::Tcp(t) if t.flags & F::ACK != 0 && t.flags & (F::SYN | F::RST) != 0 => {
            (t.sport, t.dport, t.ack.wrapping_sub(1))
        }
        L4::Udp(u) if tracked => (u.sport, u.dport, 0),
        L4::Icmp(i) if i.icmp_type == 0 => (i.id, 0, i.seq as u32),
        L4::Icmpv6(i) if i.icmp_type == 129 => (i.id, 0, i.seq as u32),
        _ => return None,
    };
    Some(Request::new(
        p.proto,
        (p.src, lport),
        (p.dst, rport),
        tracked,
        which,
    ))
}

impl Answers {
    /// REJECT sent the reply `sig` (at capture time `now_ns`) with this outcome.
    pub(crate) fn sent_reply(&mut self, sig: ReplySig, now_ns: u64, sent: SentReply) {
        if self.reply_order.len() >= CAP {
            if let Some((t, old)) = self.reply_order.pop_front() {
                // Only the reply this place is for (one sent again since has a later one).
                if self.replies.get(&old).is_some_and(|(at, _)| *at == t) {
                    self.replies.remove(&old);
                    if now_ns.saturating_sub(t) <= REPLY_WINDOW_NS {
                        push_out(&mut self.pushed_replies, &old, now_ns);
                    }
                }
            }
        }
        self.replies.insert(sig, (now_ns, sent));
        self.reply_order.push_back((now_ns, sig));
    }

    /// An inbound packet got `verdict`: a request certainly dropped or rejected kills its
    /// answers; one let through — or one whose fate is uncertain — revives them (its answers
    /// are judged, and inherit the doubt through the connection state). `first`: with
    /// conntrack (`Some`), whether the packet would have created its connection — only then
    /// does its drop kill the conversation; `None` without conntrack.
    pub fn inbound(
        &mut self,
        pkt: &Packet,
        verdict: Option<Verdict>,
        certain: bool,
        ctstate: Option<CtLabel>,
        first: Option<bool>,
    ) {
        let tracked = first.is_some();
        let Some(req) = request_of(pkt, ctstate, tracked) else {
            return;
        };
        let dropped = matches!(verdict, Some(Verdict::Drop | Verdict::Reject)) && certain;
        if dropped && first == Some(false) {
            return;
        }
        if tracked && !dropped {
            // With conntrack only the dropped are kept: a connection let through is in the
            // table, and its later packets are not first.
            if self.dead > 0 {
                if let Some((Some(_), _)) = self.requests.remove(&req) {
                    self.dead -= 1;
                }
            }
            return;
        }
        let fate = if dropped {
            match self.requests.get(&req) {
                // Let through before: its answers stand.
                Some((None, _)) => return,
                Some((Some(_), _)) => self.dead -= 1,
                None => {}
            }
            self.dead += 1;
            Some(pkt.frame)
        } else {
            if let Some((Some(_), _)) = self.requests.get(&req) {
                self.dead -= 1;
            }
            None
        };
        self.inserted += 1;
        self.requests.insert(req, (fate, self.inserted));
        if self.order.len() >= CAP {
            if let Some((old, n)) = self.order.pop_front() {
                if self.requests.get(&old).is_some_and(|&(_, m)| m == n) {
                    if let Some((Some(_), _)) = self.requests.remove(&old) {
                        self.dead -= 1;
                        self.forgotten
                            .get_or_insert_with(|| Box::new(super::forgotten::Forgotten::new()))
                            .insert(&old);
                    }
                }
            }
        }
        self.order.push_back((req, self.inserted));
    }

    /// `TEE` cloned frame `frame` and the clone left as `sig` at `now_ns` (its capture looks
    /// like a forwarded packet's copy: the same addresses, leaving; held with them, told
    /// apart by [`CLONE`]).
    pub(crate) fn cloned(&mut self, sig: CopySig, frame: u64, now_ns: u64) {
        self.forwarded(sig, frame | CLONE, now_ns);
    }

    /// Frame `frame` was forwarded and left as `sig` at `now_ns`.
    pub(crate) fn forwarded(&mut self, sig: CopySig, frame: u64, now_ns: u64) {
        if self.forwarded_order.len() >= CAP {
            if let Some((t, old)) = self.forwarded_order.pop_front() {
                if self.forget_forwarded(&old, t) && now_ns.saturating_sub(t) <= REPLY_WINDOW_NS {
                    push_out(&mut self.pushed_copies, &old, now_ns);
                }
            }
        }
        match self.forwarded.entry(sig) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                e.get_mut().more.push_back((frame, now_ns))
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Alike {
                    first: (frame, now_ns),
                    more: VecDeque::new(),
                });
            }
        }
        self.forwarded_order.push_back((now_ns, sig));
    }

    /// Frame `pick.frame` was forwarded and left as `sig` at `now_ns`, but for its source port
    /// (ICMP query id), which the kernel chose at random ([`Pick`]).
    pub(crate) fn picked(&mut self, sig: CopySig, pick: Pick, now_ns: u64) {
        if self.picks.len() >= PICKS {
            self.picks.pop_front();
        }
        self.picks.push_back(PendingPick {
            at: now_ns,
            sig,
            pick,
        });
    }

    /// [`Recognised::PickedCopy`] if `pkt` (as `sig`) is a pick's copy: alike but for a
    /// source (address, port) within the pick's ranges.
    fn picked_copy(&mut self, sig: &CopySig, now_ns: u64) -> Option<Recognised> {
        while self
            .picks
            .front()
            .is_some_and(|p| now_ns.saturating_sub(p.at) > REPLY_WINDOW_NS)
        {
            self.picks.pop_front();
        }
        let (src, port) = (sig.src, sig.source_port());
        let i = self.picks.iter().position(|p| {
            let (a, b) = p.pick.addrs;
            (p.pick.lo..=p.pick.hi).contains(&port)
                && a.is_ipv4() == src.is_ipv4()
                && a <= src
                && src <= b
                && sig.with_source(p.sig.src, p.sig.source_port()) == p.sig
        })?;
        let p = self.picks.remove(i)?;
        self.copies_seen = true;
        Some(Recognised::PickedCopy {
            pick: p.pick,
            src,
            port,
        })
    }

    /// Remember forwarded packet `p` (as it leaves, with TTL/hop limit `ttl`) as a train its
    /// segments may come from, if it is TCP or UDP with a payload.
    pub(crate) fn forwarded_train(&mut self, p: &Packet, ttl: u8, frame: u64, now_ns: u64) {
        // Only a capture that shows forwarded packets leaving holds segments: one whose
        // copies were seen (the first connection's SYN is copied before any data).
        if !self.copies_seen {
            return;
        }
        let (tcp, next, end, ack) = match &p.l4 {
            L4::Tcp(t) if p.payload_len > 0 && t.flags & (F::SYN | F::RST) == 0 => {
                (true, t.seq, t.seq.wrapping_add(p.payload_len), t.ack)
            }
            L4::Udp(_) if p.payload_len > 0 => (false, 0, p.payload_len, 0),
            _ => return,
        };
        let Some(flow) = FlowSig::of(p, ttl) else {
            return;
        };
        if self.train_order.len() >= CAP {
            if let Some((t, old)) = self.train_order.pop_front() {
                self.forget_train(&old, t);
            }
        }
        let q = self.trains.entry(flow).or_default();
        if q.len() >= TRAINS_PER_FLOW {
            q.pop_front();
        }
        q.push_back(Train {
            frame,
            at: now_ns,
            id: p.frag.id,
            next,
            end,
            ack,
            tcp,
        });
        self.train_order.push_back((now_ns, flow));
    }

    /// Forgets the oldest train of `flow` if it was remembered at `t`.
    fn forget_train(&mut self, flow: &FlowSig, t: u64) {
        let Some(q) = self.trains.get_mut(flow) else {
            return;
        };
        if q.front().is_some_and(|tr| tr.at == t) {
            q.pop_front();
        }
        if q.is_empty() {
            self.trains.remove(flow);
        }
    }

    /// Forgets frame `frame`'s train, `pkt` being its whole copy.
    fn take_train(&mut self, pkt: &Packet, frame: u64) {
        if self.trains.is_empty() {
            return;
        }
        let Some(flow) = FlowSig::of(pkt, pkt.ttl) else {
            return;
        };
        if let Some(q) = self.trains.get_mut(&flow) {
            q.retain(|tr| tr.frame != frame);
            if q.is_empty() {
                self.trains.remove(&flow);
            }
        }
    }

    /// The frame `pkt` is a segment of, if it is a part of a forwarded train not seen leaving
    /// yet: TCP, the same ACK and a part of the train's sequence space from where the last
    /// segment ended; UDP, at most the payload left; IPv4, an IP id within the train's next
    /// 64. The part is taken.
    fn segment_of(&mut self, pkt: &Packet) -> Option<u64> {
        if self.trains.is_empty() || pkt.payload_len == 0 {
            return None;
        }
        let flow = FlowSig::of(pkt, pkt.ttl)?;
        let q = self.trains.get_mut(&flow)?;
        let v4 = pkt.family == Family::V4;
        let len = pkt.payload_len;
        let at = q.iter().position(|tr| {
            let id_ok = !v4 || pkt.frag.id.wrapping_sub(tr.id) & 0xffff < 64;
            id_ok
                && match &pkt.l4 {
                    L4::Tcp(t) if tr.tcp => {
                        t.flags & (F::SYN | F::RST) == 0
                            && t.ack == tr.ack
                            && t.seq == tr.next
                            && len <= tr.end.wrapping_sub(tr.next)
                    }
                    L4::Udp(_) if !tr.tcp => len <= tr.end,
                    _ => false,
                }
        })?;
        let tr = &mut q[at];
        let frame = tr.frame;
        if tr.tcp {
            tr.next = tr.next.wrapping_add(len);
        } else {
            tr.end -= len;
        }
        if tr.next == tr.end {
            q.remove(at);
            if q.is_empty() {
                self.trains.remove(&flow);
            }
        }
        Some(frame)
    }

    /// Forgets the oldest packet forwarded as `sig` if it left at `t` (not recognised yet);
    /// whether it did.
    fn forget_forwarded(&mut self, sig: &CopySig, t: u64) -> bool {
        let Some(q) = self.forwarded.get_mut(sig) else {
            return false;
        };
        if q.first.1 != t {
            return false;
        }
        if q.pop_front().is_none() {
            self.forwarded.remove(sig);
        }
        true
    }

    /// [`Recognised::ForwardedCopy`] of the frame `pkt` is the outgoing copy of, if it is a
    /// packet forwarded within the last second exactly as it left (then forgotten: a copy is
    /// recognised once); [`Recognised::Maybe`] if it may be one the table pushed out.
    pub(crate) fn forwarded_copy(&mut self, pkt: &Packet, now_ns: u64) -> Option<Recognised> {
        while let Some(&(t, sig)) = self.forwarded_order.front() {
            if now_ns.saturating_sub(t) <= REPLY_WINDOW_NS {
                break;
            }
            self.forwarded_order.pop_front();
            self.forget_forwarded(&sig, t);
        }
        while let Some(&(t, flow)) = self.train_order.front() {
            if now_ns.saturating_sub(t) <= REPLY_WINDOW_NS {
                break;
            }
            self.train_order.pop_front();
            self.forget_train(&flow, t);
        }
        if self.forwarded.is_empty()
            && self.pushed_copies.is_none()
            && self.trains.is_empty()
            && self.picks.is_empty()
        {
            return None;
        }
        let sig = CopySig::of(pkt, pkt.ttl);
        if let Some(q) = self.forwarded.get_mut(&sig) {
            let frame = q.first.0;
            if q.pop_front().is_none() {
                self.forwarded.remove(&sig);
            }
            if frame & CLONE != 0 {
                return Some(Recognised::TeeClone(frame & !CLONE));
            }
            // It left whole: no segment of it will.
            self.take_train(pkt, frame);
            self.copies_seen = true;
            return Some(Recognised::ForwardedCopy(frame));
        }
        if let Some(frame) = self.segment_of(pkt) {
            return Some(Recognised::ForwardedSegment(frame));
        }
        if !self.picks.is_empty() {
            if let Some(r) = self.picked_copy(&sig, now_ns) {
                return Some(r);
            }
        }
        let pushed = self.pushed_copies.as_mut()?;
        pushed
            .contains(&sig, now_ns)
            .then_some(Recognised::Maybe(MAYBE_COPY))
    }

    /// What a captured outbound packet is, if it is one of the two kinds of answer
    /// (`tracked`: conntrack runs).
    pub fn outbound(&mut self, pkt: &Packet, now_ns: u64, tracked: bool) -> Option<Recognised> {
        if let Some(r) = self.reject_reply(pkt, now_ns) {
            return Some(r);
        }
        if self.dead == 0 && self.forgotten.is_none() {
            return None;
        }
        let req = answered_by(pkt, tracked)?;
        match self.requests.get(&req) {
            Some(&(Some(to_frame), _)) => Some(Recognised::NotSent { to_frame }),
            Some(_) => None,
            None => self
                .forgotten
                .as_ref()
                .filter(|f| f.contains(&req))
                .map(|_| Recognised::Maybe(MAYBE_NOT_SENT)),
        }
    }

    /// Whether `pkt` may be a reply REJECT (or the stack) sent, without taking it.
    pub fn holds_reply(&self, pkt: &Packet) -> bool {
        if self.replies.is_empty() && self.pushed_replies.is_none() {
            return false;
        }
        ReplySig::of(pkt)
            .is_some_and(|sig| self.replies.contains_key(&sig) || self.pushed_replies.is_some())
    }

    /// A reply REJECT (or the stack) sent, if `pkt` is one: on a router also a reset from the
    /// rejected packet's destination, which looks forwarded.
    pub fn reject_reply(&mut self, pkt: &Packet, now_ns: u64) -> Option<Recognised> {
        while let Some(&(t, sig)) = self.reply_order.front() {
            if now_ns.saturating_sub(t) <= REPLY_WINDOW_NS {
                break;
            }
            self.reply_order.pop_front();
            if self.replies.get(&sig).is_some_and(|(at, _)| *at == t) {
                self.replies.remove(&sig);
            }
        }
        if self.replies.is_empty() && self.pushed_replies.is_none() {
            return None;
        }
        let sig = ReplySig::of(pkt)?;
        if let Some((_, sent)) = self.replies.remove(&sig) {
            return Some(Recognised::RejectReply(sent));
        }
        let pushed = self.pushed_replies.as_mut()?;
        pushed
            .contains(&sig, now_ns)
            .then_some(Recognised::Maybe(MAYBE_REPLY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::TcpInfo;
    use std::net::Ipv4Addr;

    fn tcp(
        src: IpAddr,
        dst: IpAddr,
        sport: u16,
        dport: u16,
        flags: u8,
        seq: u32,
        ack: u32,
    ) -> Packet {
        Packet {
            src,
            dst,
            proto: 6,
            l4: L4::Tcp(TcpInfo {
                sport,
                dport,
                seq,
                ack,
                flags,
                ..TcpInfo::default()
            }),
            ..Packet::default()
        }
    }

    fn sent(to_frame: u64) -> SentReply {
        SentReply {
            to_frame,
            by_stack: false,
            verdict: Verdict::Accept,
            decision: None,
            ctstate: Some(CtLabel::Related),
            certain: true,
        }
    }

    /// More REJECT replies within a second than the table holds: the captured copy of one it
    /// pushed out is in doubt for that second, not taken as an ordinary packet for certain;
    /// a reply sent again keeps its newer place.
    #[test]
    fn a_reply_the_table_pushed_out_is_in_doubt_for_its_second() {
        let host = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10));
        let peer = |i: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        let reset = |i: u32| tcp(host, peer(i), 22, 40_000, F::RST | F::ACK, 0, 1001);
        let sig = |i: u32| ReplySig::of(&reset(i)).unwrap();
        let mut a = Answers::default();
        // Reply 1 is sent again as the last: its first place is evicted, not its reply.
        for i in 0..CAP as u32 {
            a.sent_reply(sig(i), i as u64 * 1_000, sent(i as u64));
        }
        a.sent_reply(sig(1), 70_000_000, sent(99));
        a.sent_reply(sig(CAP as u32), 70_000_001, sent(100));
        let now = 100_000_000;
        assert!(matches!(
            a.reject_reply(&reset(1), now),
            Some(Recognised::RejectReply(SentReply { to_frame: 99, .. }))
        ));
        assert!(matches!(
            a.reject_reply(&reset(0), now),
            Some(Recognised::Maybe(MAYBE_REPLY))
        ));
        assert!(matches!(
            a.reject_reply(&reset(CAP as u32), now),
            Some(Recognised::RejectReply(_))
        ));
        assert!(a.reject_reply(&reset(CAP as u32 + 5), now).is_none());
        // Two seconds on, the pushed-out replies are past their window: ordinary packets.
        assert!(a.reject_reply(&reset(0), now + 2_100_000_000).is_none());
    }

    /// The same for the router's forwarded packets and their outgoing copies.
    #[test]
    fn a_forwarded_packet_the_table_pushed_out_is_in_doubt_for_its_second() {
        let src = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
        let dst = |i: u32| IpAddr::V4(Ipv4Addr::from(0xcb00_7100 + i));
        let mut a = Answers::default();
        for i in 0..=CAP as u32 {
            let p = tcp(src, dst(i), 40_000, 443, F::ACK, i, 1);
            a.forwarded(CopySig::of(&p, 63), i as u64, 1_000 + i as u64);
        }
        let copy = |i: u32| Packet {
            ttl: 63,
            ..tcp(src, dst(i), 40_000, 443, F::ACK, i, 1)
        };
        let now = 500_000_000;
        assert!(matches!(
            a.forwarded_copy(&copy(CAP as u32), now),
            Some(Recognised::ForwardedCopy(f)) if f == CAP as u64
        ));
        assert!(matches!(
            a.forwarded_copy(&copy(0), now),
            Some(Recognised::Maybe(MAYBE_COPY))
        ));
        assert!(a.forwarded_copy(&copy(CAP as u32 + 3), now).is_none());
        assert!(a.forwarded_copy(&copy(0), now + 3_000_000_000).is_none());
    }

    /// Two packets alike forwarded (a segment and its immediate retransmission, same time
    /// stamp option): each leaves, and each copy is recognised, the first as the first's
    /// (kernel hunt: an IPv6 NAT66 router's capture, `tcpdump -i any`).
    #[test]
    fn copies_of_two_packets_alike_are_both_recognised() {
        let src = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
        let dst = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
        let mut a = Answers::default();
        let p = tcp(src, dst, 40_000, 443, F::ACK, 7, 1);
        a.forwarded(CopySig::of(&p, 63), 10, 1_000);
        a.forwarded(CopySig::of(&p, 63), 11, 1_003);
        let copy = Packet { ttl: 63, ..p };
        for want in [10, 11] {
            assert!(matches!(
                a.forwarded_copy(&copy, 2_000),
                Some(Recognised::ForwardedCopy(f)) if f == want
            ));
        }
        assert!(a.forwarded_copy(&copy, 2_000).is_none());
    }

    /// A forwarded GSO packet cut into segments on its way out: each TCP segment (its part of
    /// the sequence space, in order, the packet's ACK, the next IP ids) and each UDP datagram
    /// (at most the payload left) is the packet's; a segment of another ACK, a part already
    /// seen, or more than the payload is not. (Kernel hunt: a router whose LAN device has no
    /// segmentation offload.)
    #[test]
    fn segments_of_a_forwarded_gso_packet_are_its_copies() {
        let src = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
        let dst = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 2));
        let seg = |seq: u32, ack: u32, len: u32, id: u32| {
            let mut p = tcp(src, dst, 40_000, 22, F::ACK, seq, ack);
            p.payload_len = len;
            p.frag.id = id;
            p.ttl = 63;
            p
        };
        let mut a = Answers {
            copies_seen: true,
            ..Answers::default()
        };
        // Frame 7: 4,000 bytes from sequence 1,000, forwarded as one packet.
        a.forwarded_train(&seg(1_000, 55, 4_000, 100), 63, 7, 1_000);
        let got = |a: &mut Answers, p: &Packet| match a.forwarded_copy(p, 2_000) {
            Some(Recognised::ForwardedSegment(f)) => Some(f),
            _ => None,
        };
        assert_eq!(got(&mut a, &seg(1_000, 55, 1_448, 100)), Some(7));
        // Another ACK, or a part not next, is not a segment of it.
        assert_eq!(got(&mut a, &seg(2_448, 56, 1_448, 101)), None);
        assert_eq!(got(&mut a, &seg(1_000, 55, 1_448, 101)), None);
        // An IPv4 id far from the packet's is another packet.
        assert_eq!(got(&mut a, &seg(2_448, 55, 1_448, 900)), None);
        assert_eq!(got(&mut a, &seg(2_448, 55, 1_448, 101)), Some(7));
        // More than is left is not.
        assert_eq!(got(&mut a, &seg(3_896, 55, 1_448, 102)), None);
        assert_eq!(got(&mut a, &seg(3_896, 55, 1_104, 102)), Some(7));
        // The train is whole: nothing more of it.
        assert_eq!(got(&mut a, &seg(5_000, 55, 100, 103)), None);

        // UDP: 3,000 bytes cut into datagrams of 1,400.
        let dgram = |len: u32, id: u32| Packet {
            src,
            dst,
            proto: 17,
            ttl: 63,
            payload_len: len,
            l4: L4::Udp(crate::packet::UdpInfo {
                sport: 5_000,
                dport: 5_000,
                ..Default::default()
            }),
            frag: crate::packet::FragInfo {
                id,
                ..Default::default()
            },
            ..Packet::default()
        };
        a.forwarded_train(&dgram(3_000, 200), 63, 9, 1_500);
        for (len, id, want) in [
            (1_400, 200, Some(9)),
            (1_400, 201, Some(9)),
            (1_400, 202, None),
            (200, 202, Some(9)),
            (200, 203, None),
        ] {
            assert_eq!(
                match a.forwarded_copy(&dgram(len, id), 2_000) {
                    Some(Recognised::ForwardedSegment(f)) => Some(f),
                    _ => None,
                },
                want,
                "{len} bytes, id {id}"
            );
        }
        // A packet whose copy left whole leaves no train behind.
        let whole = seg(20_000, 55, 1_000, 400);
        a.forwarded(CopySig::of(&whole, 63), 20, 1_800);
        a.forwarded_train(&whole, 63, 20, 1_800);
        assert!(matches!(
            a.forwarded_copy(&whole, 2_000),
            Some(Recognised::ForwardedCopy(20))
        ));
        assert_eq!(got(&mut a, &seg(20_000, 55, 500, 400)), None);

        // More than a second later, nothing is a segment any more.
        let mut b = Answers {
            copies_seen: true,
            ..Answers::default()
        };
        b.forwarded_train(&seg(10_000, 55, 2_000, 300), 63, 12, 1_000);
        assert!(b
            .forwarded_copy(&seg(10_000, 55, 1_000, 300), 2_000_000_000)
            .is_none());
        assert!(b.trains.is_empty());
    }

    /// An IPv6 datagram conntrack reassembled leaves refragmented under a fragment id of the
    /// router's (`ip6_fragment`): its copy is recognised all the same; an IPv4 one keeps its id.
    #[test]
    fn an_ipv6_copy_under_another_fragment_id_is_recognised() {
        for (family, src, dst, same) in [
            (Family::V6, "2001:db8:a::2", "2001:db8:b::2", true),
            (Family::V4, "198.51.100.2", "10.9.0.2", false),
        ] {
            let (src, dst) = (src.parse().unwrap(), dst.parse().unwrap());
            let mut p = Packet {
                family,
                ..tcp(src, dst, 40_000, 5_000, F::ACK, 7, 1)
            };
            p.frag.id = 0x3c14_9e36;
            let mut a = Answers::default();
            a.forwarded(CopySig::of(&p, 63), 3, 1_000);
            let mut copy = Packet { ttl: 63, ..p };
            copy.frag.id = 0xd577_6fef;
            assert_eq!(
                matches!(
                    a.forwarded_copy(&copy, 2_000),
                    Some(Recognised::ForwardedCopy(3))
                ),
                same
            );
        }
    }

    /// More dropped requests than the table holds: an answer to one it pushed out is neither
    /// "would not be sent" nor an ordinary packet for certain.
    #[test]
    fn an_answer_to_a_forgotten_dropped_request_is_in_doubt() {
        let host = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10));
        let peer = |i: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        let mut a = Answers::default();
        for i in 0..=CAP as u32 {
            let syn = tcp(peer(i), host, 40_000, 80, F::SYN, 1000, 0);
            a.inbound(
                &syn,
                Some(Verdict::Drop),
                true,
                Some(CtLabel::New),
                Some(true),
            );
        }
        let answer = |i: u32| tcp(host, peer(i), 80, 40_000, F::SYN | F::ACK, 5000, 1001);
        // The last is still held; the first was pushed out; one never dropped is not.
        assert!(matches!(
            a.outbound(&answer(CAP as u32), 0, true),
            Some(Recognised::NotSent { .. })
        ));
        assert!(matches!(
            a.outbound(&answer(0), 0, true),
            Some(Recognised::Maybe(MAYBE_NOT_SENT))
        ));
        let other = tcp(
            host,
            peer(CAP as u32 + 7),
            80,
            40_000,
            F::SYN | F::ACK,
            5000,
            1001,
        );
        assert!(a.outbound(&other, 0, true).is_none());
    }

    #[test]
    fn a_picked_source_is_known_by_its_copy() {
        let (lan, wan, peer) = (
            IpAddr::V4(Ipv4Addr::new(10, 9, 0, 5)),
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)),
        );
        // As it leaves: TTL 63.
        let out = |sport, seq| {
            let mut p = tcp(wan, peer, sport, 80, F::SYN, seq, 0);
            p.ttl = 63;
            p
        };
        let pick = Pick {
            frame: 7,
            ct: crate::conntrack::CtId(3),
            orig: crate::conntrack::Tuple {
                src: lan,
                dst: peer,
                proto: 6,
                sport: 40_000,
                dport: 80,
                zone: 0,
            },
            lo: 1024,
            hi: 65535,
            addrs: (wan, wan),
        };
        // fwcheck's stand-in port 1024; the kernel chose 16488.
        let mut a = Answers::default();
        a.picked(CopySig::of(&out(1024, 5), 63), pick, 1_000);
        // Another segment (its sequence) or a port outside the range is not the copy.
        let other = out(16488, 6);
        assert!(a.forwarded_copy(&other, 2_000).is_none());
        let low = out(80, 5);
        assert!(a.forwarded_copy(&low, 2_000).is_none());
        let copy = out(16488, 5);
        match a.forwarded_copy(&copy, 2_000) {
            Some(Recognised::PickedCopy { pick: p, src, port }) => {
                assert_eq!((p, src, port), (pick, wan, 16488));
            }
            other => panic!("{other:?}"),
        }
        // Recognised once.
        assert!(a.forwarded_copy(&copy, 2_000).is_none());
        // Past the window, not at all.
        a.picked(CopySig::of(&out(1024, 5), 63), pick, 1_000);
        assert!(a
            .forwarded_copy(&copy, 1_000 + REPLY_WINDOW_NS + 1)
            .is_none());
    }
}
