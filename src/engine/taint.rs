//! Uncertainty carried by connection state.
//!
//! A verdict is certain only if nothing unknown influenced it — including through state. When a
//! packet's verdict is uncertain (a match fwcheck cannot evaluate offline: `-m owner`, `-m set`
//! without the set, `-m statistic --mode random`...), whether its connection was created,
//! advanced or closed is uncertain too, and so is everything conntrack later says about that
//! connection: the SYN/ACK after an uncertain SYN is NEW-without-SYN (INVALID) only if the SYN
//! really was dropped. Such flows are remembered here with the original cause (frame and rule),
//! and every later packet of the flow — or ICMP error quoting it — is reported uncertain with
//! that cause instead of certain.
//!
//! The table is bounded (oldest first out); it is empty, and costs nothing per packet, unless
//! something was uncertain. A flow pushed out of it is not forgotten: it goes into a fixed-size
//! Bloom filter (1 MiB, no false negatives), so its later packets stay uncertain — an
//! overflowing table makes more verdicts uncertain, never one certain that was not.

use std::collections::VecDeque;

use foldhash::{HashMap, HashSet};
use std::net::IpAddr;

use super::forgotten::Forgotten;
use crate::conntrack::Tuple;
use crate::packet::{Packet, L4};

const CAP: usize = 65_536;

/// A flow regardless of direction: protocol and the two endpoints, sorted.
type FlowKey = (u8, (IpAddr, u16), (IpAddr, u16));

fn key(proto: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> FlowKey {
    if a <= b {
        (proto, a, b)
    } else {
        (proto, b, a)
    }
}

/// The flow a packet belongs to, as conntrack would look it up (a protocol without ports by
/// its addresses alone); an ICMP error belongs to the flow it quotes. An ICMP query and its reply carry the same id, which both ends of the key
/// take (`icmp_pkt_to_tuple` / `icmp_invert_tuple`): the reply finds its request's doubt.
fn flow_of(p: &Packet) -> FlowKey {
    match &p.l4 {
        L4::Icmp(i) | L4::Icmpv6(i) => {
            if let Some(q) = i.inner.as_deref() {
                let (sp, dp) = q
                    .ports
                    .or(q.icmp.map(|(_, _, id)| (id, id)))
                    .unwrap_or((0, 0));
                return key(q.proto, (q.src, sp), (q.dst, dp));
            }
            key(p.proto, (p.src, i.id), (p.dst, i.id))
        }
        _ => {
            // A protocol without ports (GRE, ESP, AH…: conntrack's generic and GRE trackers)
            // is one flow per address pair here.
            let (sp, dp) = p.ports().unwrap_or((0, 0));
            key(p.proto, (p.src, sp), (p.dst, dp))
        }
    }
}

/// Flows whose state depends on an uncertain verdict, with the cause.
#[derive(Debug, Clone, Default)]
pub(crate) struct Taint {
    /// Flow → (the uncertain frame, the cause in words).
    flows: HashMap<FlowKey, (u64, String)>,
    order: VecDeque<FlowKey>,
    /// Flows pushed out of `flows` (allocated at the first).
    evicted: Option<Box<Forgotten>>,
    /// Source ports the kernel may hold in a NAT binding fwcheck does not have: an uncertain
    /// packet that fwcheck dropped may have been accepted, and bound, in the kernel. Keyed
    /// `(protocol, destination, destination port, source port)`, the reply side an SNAT
    /// keeping its port would occupy.
    ports: HashSet<(u8, IpAddr, u16, u16)>,
    /// More than [`CAP`] such ports: every SNAT port choice is in doubt.
    ports_saturated: bool,
    /// Endpoints whose NAT binding took a port (or ICMP id) the kernel chose at random:
    /// `(protocol, the peer's address, its port, the translated address)`. Every flow between
    /// them, on any port of the translated address, may be that connection in the kernel
    /// (its outgoing copy with the kernel's port, the replies to it).
    /// With the uncertain frame and the cause in words.
    any_port: HashMap<(u8, IpAddr, u16, IpAddr), (u64, String)>,
    /// More than [`CAP`] of them: every flow is in doubt.
    any_port_saturated: bool,
    /// Frames whose doubt another flow adopted ([`Taint::adopt`]): such a doubt is never
    /// settled ([`Taint::settle`]); more than [`CAP`] of them: none is.
    adopted: HashSet<u64>,
    adopted_saturated: bool,
}

/// The port a flow's endpoint is known by for [`Taint::any_port`]: an ICMP query's id is the
/// translated one, on both ends, so it counts for nothing.
fn peer_port(proto: u8, port: u16) -> u16 {
    if matches!(proto, 1 | 58) {
        0
    } else {
        port
    }
}

impl Taint {
    /// `pkt` got an uncertain verdict for `why`: its flow's state is uncertain from now on.
    pub fn mark(&mut self, pkt: &Packet, why: &str) {
        let k = flow_of(pkt);
        self.insert(k, pkt.frame, why);
    }

    /// `pkt`'s flow inherits a doubt found for it (`cause`, raised by frame `frame`).
    pub fn adopt(&mut self, pkt: &Packet, frame: Option<u64>, cause: &str) {
        if let Some(f) = frame {
            if self.adopted.len() >= CAP {
                self.adopted_saturated = true;
                self.adopted.clear();
            }
            if !self.adopted_saturated {
                self.adopted.insert(f);
            }
        }
        let k = flow_of(pkt);
        if self.flows.contains_key(&k) {
            return;
        }
        self.insert_cause(k, frame.unwrap_or(pkt.frame), cause.to_string());
    }

    /// The other side of a connection whose state is uncertain: its NAT binding's reply
    /// tuple, which the replies carry (frame `frame`'s doubt, for `why`).
    pub fn mark_tuple(&mut self, t: &Tuple, frame: u64, why: &str) {
        self.insert(key(t.proto, (t.src, t.sport), (t.dst, t.dport)), frame, why);
    }

    /// The cause, when the state of the flow of tuple `t` depends on an earlier uncertain
    /// verdict ([`Taint::cause`] for a tuple instead of a packet).
    pub fn tuple_cause(&self, t: &Tuple) -> Option<(&str, Option<u64>)> {
        self.cause_of(&key(t.proto, (t.src, t.sport), (t.dst, t.dport)))
    }

    /// `pkt` may have been accepted in the kernel, and its source port bound by SNAT there.
    pub fn mark_port(&mut self, pkt: &Packet) {
        let Some((sport, dport)) = pkt.ports() else {
            return;
        };
        if self.ports_saturated {
            return;
        }
        if self.ports.len() >= CAP {
            self.ports_saturated = true;
            self.ports.clear();
            return;
        }
        self.ports.insert((pkt.proto, pkt.dst, dport, sport));
    }

    /// A NAT binding between the peer `peer` (address, port) and the translated address
    /// `natted` took a port the kernel chooses at random (frame `frame`, for `why`): every
    /// flow between them is in doubt, whatever port it shows.
    pub fn mark_any_port(
        &mut self,
        proto: u8,
        peer: (IpAddr, u16),
        natted: IpAddr,
        frame: u64,
        why: &str,
    ) {
        if self.any_port_saturated {
            return;
        }
        if self.any_port.len() >= CAP {
            self.any_port_saturated = true;
            self.any_port.clear();
            return;
        }
        self.any_port
            .entry((proto, peer.0, peer_port(proto, peer.1), natted))
            .or_insert_with(|| (frame, format!("frame {frame} was uncertain ({why})")));
    }

    /// For a packet of no connection fwcheck knows: the cause, when it may belong to one whose
    /// port (or ICMP id) the kernel chose at random ([`Taint::mark_any_port`]). A packet of a
    /// known connection is that connection's in the kernel too: the kernel's choice never
    /// takes a tuple in use.
    pub fn any_port_cause(&self, pkt: &Packet) -> Option<(&str, Option<u64>)> {
        if self.any_port.is_empty() && !self.any_port_saturated {
            return None;
        }
        let (proto, a, b) = flow_of(pkt);
        if self.any_port_saturated {
            return Some((
                "more than 65,536 NAT bindings took ports the kernel chooses at random",
                None,
            ));
        }
        let wild = |p: (IpAddr, u16), natted: IpAddr| {
            self.any_port
                .get(&(proto, p.0, peer_port(proto, p.1), natted))
        };
        let (frame, why) = wild(a, b.0).or_else(|| wild(b, a.0))?;
        Some((why, Some(*frame)))
    }

    /// The capture settled the doubt frame `frame` raised (a NAT port the kernel chose, which
    /// its outgoing copy showed): its flows and endpoints are no longer in doubt — unless a
    /// packet already inherited it (that packet's state, judged meanwhile, stays in doubt, and
    /// so does everything the frame's doubt reached). Whether it was settled.
    pub fn settle(&mut self, frame: u64) -> bool {
        if self.adopted_saturated || self.adopted.contains(&frame) {
            return false;
        }
        let before = self.flows.len();
        self.flows.retain(|_, (f, _)| *f != frame);
        if self.flows.len() != before {
            let flows = &self.flows;
            self.order.retain(|k| flows.contains_key(k));
        }
        self.any_port.retain(|_, (f, _)| *f != frame);
        true
    }

    /// Whether the kernel may hold a binding with source port `sport` towards `dst`/`dport`.
    pub fn port_in_doubt(&self, proto: u8, dst: IpAddr, dport: u16, sport: u16) -> bool {
        self.ports_saturated || self.ports.contains(&(proto, dst, dport, sport))
    }

    fn insert(&mut self, k: FlowKey, frame: u64, why: &str) {
        if self.flows.contains_key(&k) {
            return;
        }
        self.insert_cause(k, frame, format!("frame {frame} was uncertain ({why})"));
    }

    fn insert_cause(&mut self, k: FlowKey, frame: u64, cause: String) {
        if self.order.len() >= CAP {
            if let Some(old) = self.order.pop_front() {
                self.flows.remove(&old);
                self.evicted
                    .get_or_insert_with(|| Box::new(Forgotten::new()))
                    .insert(&old);
            }
        }
        self.flows.insert(k, (frame, cause));
        self.order.push_back(k);
    }

    /// The cause, when `pkt`'s flow state depends on an earlier uncertain verdict: in words,
    /// and the frame when it is still kept.
    #[inline]
    pub fn cause(&self, pkt: &Packet) -> Option<(&str, Option<u64>)> {
        if self.flows.is_empty() {
            return None;
        }
        self.cause_of(&flow_of(pkt))
    }

    /// The cause kept for flow `k`, or the note that one was and is no longer kept.
    #[inline]
    fn cause_of(&self, k: &FlowKey) -> Option<(&str, Option<u64>)> {
        if let Some((frame, c)) = self.flows.get(k) {
            return Some((c, Some(*frame)));
        }
        self.evicted.as_ref().filter(|e| e.contains(k)).map(|_| {
            (
                "an earlier packet of this flow was uncertain (more than 65,536 flows were; \
                 the cause is no longer kept)",
                None,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::TcpInfo;
    use std::net::Ipv4Addr;

    fn pkt(i: u32) -> Packet {
        Packet {
            frame: i as u64 + 1,
            src: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)),
            dst: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
            proto: 6,
            l4: L4::Tcp(TcpInfo {
                sport: 40000,
                dport: 22,
                ..TcpInfo::default()
            }),
            ..Packet::default()
        }
    }

    #[test]
    fn an_echo_reply_shares_its_requests_doubt() {
        use crate::packet::IcmpInfo;
        let (a, b) = (
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        );
        let echo = |src, dst, icmp_type, id| Packet {
            src,
            dst,
            proto: 1,
            l4: L4::Icmp(IcmpInfo {
                icmp_type,
                code: 0,
                id,
                seq: 1,
                inner: None,
            }),
            ..Packet::default()
        };
        let mut t = Taint::default();
        t.mark(&echo(a, b, 8, 7), "statistic");
        assert!(t.cause(&echo(b, a, 0, 7)).is_some());
        assert!(t.cause(&echo(b, a, 0, 8)).is_none());
    }

    /// GRE, ESP and other protocols without ports are tracked by conntrack too (the generic
    /// and GRE trackers, by addresses): the reply of an uncertain one shares its doubt.
    #[test]
    fn a_flow_without_ports_is_one_per_address_pair() {
        let (a, b, c) = (
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
            IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)),
            IpAddr::V4(Ipv4Addr::new(203, 0, 113, 11)),
        );
        let gre = |src, dst, proto| Packet {
            src,
            dst,
            proto,
            l4: L4::Other,
            ..Packet::default()
        };
        let mut t = Taint::default();
        t.mark(&gre(a, b, 47), "statistic");
        assert!(t.cause(&gre(b, a, 47)).is_some());
        assert!(t.cause(&gre(b, a, 50)).is_none());
        assert!(t.cause(&gre(c, a, 47)).is_none());
    }

    #[test]
    fn flows_pushed_out_stay_uncertain() {
        let mut t = Taint::default();
        for i in 0..(CAP as u32 + 10) {
            t.mark(&pkt(i), "owner");
        }
        assert_eq!(t.flows.len(), CAP);
        // The first ten were pushed out, and are still uncertain.
        for i in 0..10 {
            assert!(!t.flows.contains_key(&flow_of(&pkt(i))));
            let (why, _) = t
                .cause(&pkt(i))
                .unwrap_or_else(|| panic!("flow {i} forgotten"));
            assert!(why.contains("65,536"), "{why}");
        }
        let (why, frame) = t.cause(&pkt(CAP as u32)).unwrap();
        assert!(why.contains("frame"), "{why}");
        assert_eq!(frame, Some(CAP as u64 + 1));
        // Flows never marked: almost never in the filter (a false positive only adds doubt).
        let misses = (1_000_000..1_001_000)
            .filter(|&i| t.cause(&pkt(i)).is_some())
            .count();
        assert!(misses < 5, "{misses}");
    }

    #[test]
    fn a_settled_pick_clears_its_doubt_unless_it_was_inherited() {
        let mut t = Taint::default();
        let (a, b) = (pkt(1), pkt(2));
        t.mark(&a, "port chosen at random by the kernel");
        t.mark_any_port(6, (a.dst, 22), a.src, a.frame, "port chosen at random");
        assert!(t.cause(&a).is_some());
        assert!(t.settle(a.frame));
        assert!(t.cause(&a).is_none());
        assert!(t.any_port.is_empty());
        // Once another flow took the doubt on, it stays.
        t.mark(&b, "port chosen at random by the kernel");
        t.adopt(&a, Some(b.frame), "frame 3 was uncertain");
        assert!(!t.settle(b.frame));
        assert!(t.cause(&b).is_some() && t.cause(&a).is_some());
    }
}
