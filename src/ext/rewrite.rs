//! In-place header rewrites and the packet's bytes as the rules after them read them.
//!
//! Targets and the stack rewrite a packet's headers in place between the hooks: `TOS` and
//! `DSCP` (xt_DSCP.c, `ipv4_change_dsfield`), `TTL`/`HL` (xt_HL.c), `ECN` (ipt_ECN.c),
//! `TCPMSS` (xt_TCPMSS.c), the forwarding path's decrement (`ip_decrease_ttl`, `ip6_forward`)
//! and NAT (`nf_nat_ipv4_manip_pkt`, `l4proto_manip_pkt`). The fields `-m tos`, `-m ttl` and
//! the like read are kept in [`Skb`]; this module keeps the IPv4 header checksum as the kernel
//! updates it, step by step ([`crate::packet::checksum::update`]), and builds the bytes
//! `u32` and `string` read ([`Skb::bytes`]). What fwcheck cannot know — a transport checksum
//! whose update depends on checksum offload (`inet_proto_csum_replace*` with
//! `CHECKSUM_PARTIAL`), the TCP header `TCPMSS` rewrote, what NAT rewrote inside an ICMP
//! message — is marked unknown, so a match reading it is undecided.

use super::Skb;
use crate::packet::checksum::update;
use crate::packet::{Packet, L4};

impl Skb {
    /// The IPv4 header checksum now, when the capture kept it (IPv6 has none).
    fn ip_check_now(&self, pkt: &Packet) -> Option<[u8; 2]> {
        if !pkt.src.is_ipv4() {
            return None;
        }
        self.ip_check
            .or_else(|| pkt.data.get(10..12).map(|b| [b[0], b[1]]))
    }

    /// `ipv4_change_dsfield` / `ipv6_change_dsfield` (`TOS`, `DSCP`): the TOS byte or traffic
    /// class becomes `new` (the callers change it only when it differs, as the kernel).
    pub(crate) fn change_dsfield(&mut self, pkt: &Packet, new: u8) {
        if let Some(c) = self.ip_check_now(pkt) {
            self.ip_check = Some(update::change_dsfield(c, self.tos, new));
        }
        self.tos = new;
    }

    /// `ECN --ecn-ip-ect`: the TOS byte becomes `new`, the checksum by `csum_replace2`.
    pub(crate) fn set_ect(&mut self, pkt: &Packet, new: u8) {
        if let Some(c) = self.ip_check_now(pkt) {
            self.ip_check = Some(update::replace2(c, [0, self.tos], [0, new]));
        }
        self.tos = new;
    }

    /// `TTL` / `HL`: the TTL or hop limit becomes `new`, the IPv4 checksum by `csum_replace2`
    /// (the kernel changes nothing when it is the same).
    pub(crate) fn set_ttl(&mut self, pkt: &Packet, new: u8) {
        if new == self.ttl {
            return;
        }
        if let Some(c) = self.ip_check_now(pkt) {
            self.ip_check = Some(update::replace2(c, [self.ttl, 0], [new, 0]));
        }
        self.ttl = new;
    }

    /// `ip_decrease_ttl` / `hdr->hop_limit--` on the forwarding path.
    pub(crate) fn decrease_ttl(&mut self, pkt: &Packet) {
        if let Some(c) = self.ip_check_now(pkt) {
            self.ip_check = Some(update::decrease_ttl(c));
        }
        self.ttl -= 1;
    }

    /// `ECN` rewrote the TCP flags byte (`set_ect_tcp`), and the TCP checksum with it.
    pub(crate) fn set_tcp_flags(&mut self, flags: u8) {
        self.tcp_flags = Some(flags);
        self.l4_check_unknown = true;
    }

    /// `TCPMSS` added a 4-byte MSS option: the packet is longer, and `tcpmss_tg4` updates the
    /// IPv4 total length and header checksum (`csum_replace2`).
    pub(crate) fn grow_mss_option(&mut self, pkt: &Packet) {
        if let Some(c) = self.ip_check_now(pkt) {
            let old = (self.len(pkt) as u16).to_be_bytes();
            let new = (self.len(pkt) as u16 + 4).to_be_bytes();
            self.ip_check = Some(update::replace2(c, old, new));
        }
        self.tcp_grown = true;
    }

    /// NAT rewrote an IPv4 address from `old` to `new` (`nf_nat_ipv4_manip_pkt`:
    /// `csum_replace4`), or any address or port: the transport checksum follows.
    pub(crate) fn nat_rewrote(
        &mut self,
        pkt: &Packet,
        addr: Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)>,
    ) {
        if let Some((old, new)) = addr.filter(|(o, n)| o != n) {
            if let Some(c) = self.ip_check_now(pkt) {
                self.ip_check = Some(update::replace4(c, old.octets(), new.octets()));
            }
        }
        self.l4_check_unknown = true;
    }

    /// The packet's bytes as a rule reads them at this point (`u32`, `string`): the captured
    /// bytes with what the stack and the targets before rewrote in place — TOS or traffic
    /// class, TTL or hop limit, the IP length and the IPv4 header checksum, addresses and
    /// ports (NAT), TCP flags (`ECN`) — and, as unknown, the transport checksum when it
    /// changed by an update fwcheck cannot know, or the TCP header `TCPMSS` rewrote. `pkt` is
    /// the packet at this point (NAT's rewrite of its fields included).
    ///
    /// The rewritten copy is made once for each state of the packet (a router's every packet
    /// has its TTL decremented, and a chain may hold many `string` rules), kept on the `Skb`.
    pub(crate) fn bytes<'a>(&'a mut self, pkt: &'a Packet) -> PacketBytes<'a> {
        let untouched = self.tos == pkt.tos
            && self.ttl == pkt.ttl
            && self.ip_check.is_none()
            && self.tcp_flags.is_none()
            && !self.l4_check_unknown
            && !self.tcp_rewritten;
        if untouched {
            return PacketBytes {
                data: &pkt.data,
                unknown: None,
            };
        }
        let key = ViewKey {
            tos: self.tos,
            ttl: self.ttl,
            ip_check: self.ip_check,
            tcp_flags: self.tcp_flags,
            l4_check_unknown: self.l4_check_unknown,
            tcp_rewritten: self.tcp_rewritten,
            tcp_grown: self.tcp_grown,
            src: pkt.src,
            dst: pkt.dst,
            ports: pkt.ports(),
        };
        let fresh = self.view.as_ref().is_some_and(|v| v.key == key);
        if !fresh {
            let mut v = self.view.take().unwrap_or_default();
            v.key = key;
            v.data.clear();
            v.data.extend_from_slice(&pkt.data);
            v.unknown = self.rewrite(pkt, &mut v.data);
            self.view = Some(v);
        }
        let v = self.view.as_deref().expect("just made");
        PacketBytes {
            data: &v.data,
            unknown: v.unknown.clone(),
        }
    }

    /// Writes into `d` (a copy of the captured bytes) what was rewritten; returns the bytes
    /// whose value is unknown.
    fn rewrite(&self, pkt: &Packet, d: &mut [u8]) -> Option<std::ops::Range<usize>> {
        let mut put = |at: usize, bytes: &[u8]| {
            for (i, b) in bytes.iter().enumerate() {
                if let Some(x) = d.get_mut(at + i) {
                    *x = *b;
                }
            }
        };
        let l4 = pkt.ip_hdr_len as usize;
        // `TCPMSS` added an option: the IPv4 total length or IPv6 payload length grew.
        let len = self.len(pkt);
        match (pkt.src, pkt.dst) {
            (std::net::IpAddr::V4(s), std::net::IpAddr::V4(t)) => {
                put(2, &(len as u16).to_be_bytes());
                put(1, &[self.tos]);
                put(8, &[self.ttl]);
                if let Some(c) = self.ip_check {
                    put(10, &c);
                }
                put(12, &s.octets());
                put(16, &t.octets());
            }
            (s, t) => {
                let (b0, b1) = (pkt.data.first(), pkt.data.get(1));
                if let (Some(&b0), Some(&b1)) = (b0, b1) {
                    put(
                        0,
                        &[(b0 & 0xf0) | (self.tos >> 4), (self.tos << 4) | (b1 & 0x0f)],
                    );
                }
                put(4, &(len.saturating_sub(40) as u16).to_be_bytes());
                put(7, &[self.ttl]);
                if let (std::net::IpAddr::V6(s), std::net::IpAddr::V6(t)) = (s, t) {
                    put(8, &s.octets());
                    put(24, &t.octets());
                }
            }
        }
        if pkt.frag.offset == 0 {
            if let Some((sp, dp)) = pkt.ports() {
                put(l4, &sp.to_be_bytes());
                put(l4 + 2, &dp.to_be_bytes());
            }
            if let Some(f) = self.tcp_flags {
                put(l4 + 13, &[f]);
            }
        }
        if pkt.frag.offset != 0 {
            None
        } else if self.tcp_rewritten {
            // `TCPMSS` rewrote the MSS option, or added one after the header, and the checksum:
            // the whole TCP header as it is now.
            let doff = pkt.data.get(l4 + 12).map(|b| usize::from(b >> 4) * 4);
            let grown = if self.tcp_grown { 4 } else { 0 };
            Some(l4..doff.map_or(usize::MAX, |d| l4 + d + grown))
        } else if self.l4_check_unknown {
            match &pkt.l4 {
                // NAT rewrote the quoted packet of an ICMP error too
                // (`nf_nat_icmp_reply_translation`), or perhaps an echo's id, and the checksum.
                L4::Icmp(i) | L4::Icmpv6(i) => Some(if i.inner.is_some() {
                    l4..usize::MAX
                } else {
                    l4 + 2..l4 + 6
                }),
                _ => l4_check_field(pkt.proto).map(|r| l4 + r.start..l4 + r.end),
            }
        } else {
            None
        }
    }
}

/// Where a transport checksum lies in its header: the ones that cover the addresses (the
/// pseudo-header) or that NAT recomputes.
fn l4_check_field(proto: u8) -> Option<std::ops::Range<usize>> {
    match proto {
        6 => Some(16..18),
        17 | 33 | 136 => Some(6..8),
        132 => Some(8..12),
        _ => None,
    }
}

/// What a rewritten copy of the packet was made from: the fields the rewrites change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ViewKey {
    tos: u8,
    ttl: u8,
    ip_check: Option<[u8; 2]>,
    tcp_flags: Option<u8>,
    l4_check_unknown: bool,
    tcp_rewritten: bool,
    tcp_grown: bool,
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    ports: Option<(u16, u16)>,
}

impl Default for ViewKey {
    fn default() -> Self {
        let any = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        ViewKey {
            tos: 0,
            ttl: 0,
            ip_check: None,
            tcp_flags: None,
            l4_check_unknown: false,
            tcp_rewritten: false,
            tcp_grown: false,
            src: any,
            dst: any,
            ports: None,
        }
    }
}

/// The rewritten copy of a packet's bytes ([`Skb::bytes`]), and what it was made from.
#[derive(Debug, Clone, Default)]
pub(crate) struct RewrittenView {
    key: ViewKey,
    data: Vec<u8>,
    unknown: Option<std::ops::Range<usize>>,
}

/// The bytes of a packet as a rule reads them ([`Skb::bytes`]).
#[derive(Debug)]
pub(crate) struct PacketBytes<'p> {
    /// From the IP header on, as far as the capture kept them.
    pub(crate) data: &'p [u8],
    /// Bytes whose value fwcheck does not know (a transport checksum rewritten in place, the
    /// TCP header `TCPMSS` rewrote, what NAT rewrote inside an ICMP message).
    pub(crate) unknown: Option<std::ops::Range<usize>>,
}

impl PacketBytes<'_> {
    /// Whether `range` reads a byte whose value is unknown.
    pub(crate) fn touches_unknown(&self, range: std::ops::Range<usize>) -> bool {
        self.unknown
            .as_ref()
            .is_some_and(|u| u.start < range.end && range.start < u.end)
    }
}
