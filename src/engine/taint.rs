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
//! something was uncertain.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

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

/// The flow a packet belongs to, as conntrack would look it up; an ICMP error belongs to the
/// flow it quotes.
fn flow_of(p: &Packet) -> Option<FlowKey> {
    match &p.l4 {
        L4::Icmp(i) | L4::Icmpv6(i) => {
            if let Some(q) = i.inner.as_deref() {
                let (sp, dp) = q.ports.or(q.icmp.map(|(_, _, id)| (id, 0)))?;
                return Some(key(q.proto, (q.src, sp), (q.dst, dp)));
            }
            Some(key(p.proto, (p.src, i.id), (p.dst, 0)))
        }
        _ => {
            let (sp, dp) = p.ports()?;
            Some(key(p.proto, (p.src, sp), (p.dst, dp)))
        }
    }
}

/// Flows whose state depends on an uncertain verdict, with the cause.
#[derive(Debug, Default)]
pub(crate) struct Taint {
    flows: HashMap<FlowKey, String>,
    order: VecDeque<FlowKey>,
}

impl Taint {
    /// `pkt` got an uncertain verdict for `why`: its flow's state is uncertain from now on.
    pub fn mark(&mut self, pkt: &Packet, why: &str) {
        let Some(k) = flow_of(pkt) else { return };
        if self.flows.contains_key(&k) {
            return;
        }
        if self.order.len() >= CAP {
            if let Some(old) = self.order.pop_front() {
                self.flows.remove(&old);
            }
        }
        self.flows
            .insert(k, format!("frame {} was uncertain ({why})", pkt.frame));
        self.order.push_back(k);
    }

    /// The cause, when `pkt`'s flow state depends on an earlier uncertain verdict.
    pub fn cause(&self, pkt: &Packet) -> Option<&str> {
        if self.flows.is_empty() {
            return None;
        }
        flow_of(pkt)
            .and_then(|k| self.flows.get(&k))
            .map(String::as_str)
    }
}
