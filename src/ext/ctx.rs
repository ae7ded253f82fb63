//! What a match or target sees while a packet traverses a chain: the packet, the hook and table,
//! the devices, the time in jiffies, the packet's mutable kernel state (mark, conntrack
//! attachment, TOS/TTL after mangling), the conntrack table and the extensions' own state.
//!
//! The extension ABI (the kernel's `struct xt_action_param` and `struct sk_buff` as a match or
//! target sees them), so it lives with the extensions; the engine fills it in.

use std::any::Any;
use std::collections::HashMap;
use std::net::IpAddr;

use crate::conntrack::{Attach, Conntrack, CtDir, CtEntry};
use crate::netfilter::{Hook, TableKind};
use crate::packet::Packet;

/// Static facts about the simulated host, fixed for a run.
#[derive(Debug, Clone)]
pub struct SimEnv {
    /// The host's own addresses (`--host`).
    pub hosts: Vec<IpAddr>,
    /// Networks the host is attached to (`--host ADDR/LEN`), for broadcast address types.
    pub networks: Vec<(IpAddr, u8)>,
    /// Kernel HZ (jiffies per second): 250 on Debian/Ubuntu kernels.
    pub hz: u32,
    /// `net.netfilter.nf_conntrack_tcp_loose`.
    pub tcp_loose: bool,
    /// `net.netfilter.nf_conntrack_tcp_be_liberal`.
    pub tcp_be_liberal: bool,
    /// The kernel's conntrack table held nothing when the capture began
    /// (`--conntrack-start empty`): a TCP connection without its SYN in the capture is picked
    /// up as NEW for certain. Otherwise it may have been tracked already (ESTABLISHED).
    pub conntrack_empty_at_start: bool,
    /// The kernel tracked every connection open when the capture began (`--conntrack-start
    /// tracked`: conntrack ran before, as on most hosts): a TCP connection without its SYN in
    /// the capture is ESTABLISHED from its first captured packet.
    pub conntrack_tracked_at_start: bool,
    /// The host's own packets were injected one by one through a raw socket (the kernel
    /// comparison's oracle), not sent by its stack: each has that socket as its owner.
    pub frames_injected: bool,
    /// `net.netfilter.nf_conntrack_checksum`.
    pub ct_checksum: bool,
    /// Which transport checksums of the capture the kernel verifies (`--checksums`).
    pub checksums: crate::packet::ChecksumMode,
    /// Name of the capture's interface (`--iface`): what `-i`/`-o` see for a packet that does
    /// not carry its own interface name (classic pcap, generated traffic), and for every packet
    /// when `iface_from_capture` is off.
    pub iface: String,
    /// Use the interface name a packet was captured on (pcapng `if_name`, in
    /// `LinkInfo::ifname`) instead of `iface` when it has one. Off when `--iface` is given
    /// (explicit beats inferred) and in the kernel comparison, whose oracle has one device.
    pub iface_from_capture: bool,
    /// iptables-nft (default) or iptables-legacy: decides which kernel code some matches run.
    pub backend: crate::netfilter::Backend,
    /// Owners of the host's local sockets (`--socket-owner`), first that applies wins: what
    /// `-m owner` sees for a locally generated packet. Empty: unknown.
    pub socket_owners: Vec<SocketOwner>,
    /// Interfaces, addresses and routes (`--iface-addr`, `--route`, `--host-config`): the
    /// output interface of forwarded and outbound packets. Empty: every packet leaves by the
    /// capture's interface (`iface`).
    pub host: crate::host::HostConfig,
    /// The host's ipsets as `ipset save` printed them (`--ipset FILE`), for `-m set` and
    /// `-j SET`. `None`: unknown.
    pub ipsets: Option<std::sync::Arc<crate::ext::ipset::IpSets>>,
    /// No captured packet arrived IPsec-decapsulated (`--ipsec none`), although the capture
    /// holds IPsec traffic: `-m policy --dir in` is then certain (no `sec_path`).
    pub ipsec_none: bool,
}

/// The owner of local sockets, for all of them or for the flows one spec selects
/// (`--socket-owner [PROTO ADDR/PORT=]UID[:GID]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketOwner {
    /// Only packets of this protocol (`None`: any).
    pub proto: Option<u8>,
    /// Only packets to or from this peer address (`None`: any).
    pub peer: Option<IpAddr>,
    /// Only packets with this port on either side (`None`: any).
    pub port: Option<u16>,
    pub uid: u32,
    /// The socket's group (`None`: not given, so `--gid-owner` stays unknown).
    pub gid: Option<u32>,
}

impl SocketOwner {
    /// Whether this owner is the one of `pkt`'s socket.
    pub fn applies(&self, pkt: &Packet) -> bool {
        self.proto.is_none_or(|p| p == pkt.proto)
            && self.peer.is_none_or(|a| a == pkt.dst || a == pkt.src)
            && self
                .port
                .is_none_or(|port| pkt.ports().is_some_and(|(s, d)| s == port || d == port))
    }

    /// Parses `UID[:GID]` or `PROTO ADDR/PORT=UID[:GID]` (`ADDR` may be `*`), e.g. `0`,
    /// `1000:1000`, `udp */53=101`.
    pub fn parse(s: &str) -> Result<SocketOwner, String> {
        let (spec, ids) = match s.rsplit_once('=') {
            Some((spec, ids)) => (Some(spec.trim()), ids.trim()),
            None => (None, s.trim()),
        };
        let num = |v: &str, what: &str| {
            v.parse::<u32>().map_err(|_| {
                format!("`{v}`: expected a numeric {what} (names need the host's NSS)")
            })
        };
        let (uid, gid) = match ids.split_once(':') {
            Some((u, g)) => (num(u, "uid")?, Some(num(g, "gid")?)),
            None => (num(ids, "uid")?, None),
        };
        let mut o = SocketOwner {
            proto: None,
            peer: None,
            port: None,
            uid,
            gid,
        };
        if let Some(spec) = spec {
            let mut words = spec.split_whitespace();
            let (Some(proto), Some(ep), None) = (words.next(), words.next(), words.next()) else {
                return Err(format!(
                    "`{spec}`: expected PROTO ADDR/PORT, e.g. `udp */53` or `tcp 192.0.2.1/443`"
                ));
            };
            o.proto = Some(match proto {
                "tcp" => 6,
                "udp" => 17,
                "sctp" => 132,
                _ => return Err(format!("`{proto}`: expected tcp, udp or sctp")),
            });
            let Some((addr, port)) = ep.rsplit_once('/') else {
                return Err(format!("`{ep}`: expected ADDR/PORT (ADDR may be *)"));
            };
            if addr != "*" {
                o.peer = Some(
                    addr.parse()
                        .map_err(|_| format!("`{addr}`: expected an address or *"))?,
                );
            }
            if port != "*" {
                o.port = Some(
                    port.parse()
                        .map_err(|_| format!("`{port}`: expected a port 0-65535 or *"))?,
                );
            }
        }
        Ok(o)
    }
}

impl Default for SimEnv {
    fn default() -> Self {
        SimEnv {
            hosts: Vec::new(),
            networks: Vec::new(),
            hz: 250,
            tcp_loose: true,
            tcp_be_liberal: false,
            conntrack_empty_at_start: false,
            conntrack_tracked_at_start: false,
            frames_injected: false,
            ct_checksum: true,
            checksums: crate::packet::ChecksumMode::default(),
            iface: "eth0".to_string(),
            iface_from_capture: true,
            backend: crate::netfilter::Backend::Nft,
            socket_owners: Vec::new(),
            host: crate::host::HostConfig::default(),
            ipsets: None,
            ipsec_none: false,
        }
    }
}

impl SimEnv {
    /// Take `host`'s interfaces and routes: its addresses become the host's (LOCAL) and their
    /// subnets its networks (BROADCAST), as `--host ADDR/LEN` does.
    pub fn apply_host(&mut self, host: &crate::host::HostConfig) {
        // Loopback addresses are local already (`SimEnv::is_local`, addrtype's 127/8).
        for a in host.addrs.iter().filter(|a| !a.addr.is_loopback()) {
            if !self.hosts.contains(&a.addr) {
                self.hosts.push(a.addr);
            }
            if !self.networks.contains(&(a.addr, a.len)) {
                self.networks.push((a.addr, a.len));
            }
        }
        self.host = host.clone();
    }

    /// An IPv6 subnet-router anycast address of the host (RFC 4291 2.6.1: a prefix of its, the
    /// interface identifier zero): with forwarding on, the kernel joins it for each of its
    /// addresses with a prefix shorter than /127 (`addrconf_join_anycast`, RFC 6164 for /127)
    /// and delivers packets to it (`RTN_ANYCAST` in the local table: `ip6_input`). Not a LOCAL
    /// address (`ipv6_chk_addr` and `RTF_LOCAL` leave anycast out: `addrtype --dst-type LOCAL`
    /// does not match it).
    pub fn is_subnet_router_anycast(&self, a: IpAddr) -> bool {
        let IpAddr::V6(d) = a else {
            return false;
        };
        let d = u128::from(d);
        d != 0
            && self.networks.iter().any(|&(net, len)| match net {
                IpAddr::V6(n) if len < 127 => {
                    let mask = Doubt::prefix_mask(false, len);
                    u128::from(n) & mask == d
                }
                _ => false,
            })
    }

    /// A broadcast the host receives (`RTN_BROADCAST`, `ip_route_input_slow`'s `brd_input`):
    /// the limited broadcast 255.255.255.255, or the directed broadcast of one of its IPv4
    /// networks shorter than /31 (`fib_add_ifaddr` adds no route for the network address).
    pub(crate) fn is_broadcast(&self, a: IpAddr) -> bool {
        let IpAddr::V4(d) = a else {
            return false;
        };
        d.is_broadcast()
            || self.networks.iter().any(|&(net, len)| match net {
                IpAddr::V4(x) if len < 31 => u32::from(x) | (u32::MAX >> len) == u32::from(d),
                _ => false,
            })
    }

    /// An address of this host (including loopback), i.e. `RTN_LOCAL`.
    pub(crate) fn is_local(&self, a: IpAddr) -> bool {
        a.is_loopback()
            || self.hosts.contains(&a)
            || (!self.host.local_routes.is_empty() && self.host.local_route(a).is_some())
    }

    /// The name of the interface `pkt` came in on (inbound, forwarded) or goes out on
    /// (outbound): its capture interface's name, else [`Self::iface`].
    ///
    /// A frame captured on a bridge's or bond's port reaches the hooks on the master
    /// ([`HostConfig::ip_master`](crate::host::HostConfig::ip_master)): that is its device
    /// (in a capture of the port and the master, the replay judges the first copy only:
    /// `replay::BridgeCopies`). A frame to or from a macvlan's link address is the
    /// macvlan's; a frame with an 802.1Q tag is the VLAN device's ([`Self::vlan_rx`]).
    #[inline]
    pub fn iface_of<'a>(&'a self, pkt: &'a Packet) -> &'a str {
        let captured = self.captured_on(pkt);
        if self.host.links.is_empty() && pkt.link.vlan.is_none() {
            return captured;
        }
        self.iface_beyond(pkt, captured)
    }

    /// [`Self::iface_of`] for a tagged frame or a host whose devices stack.
    #[inline(never)]
    fn iface_beyond<'a>(&'a self, pkt: &'a Packet, captured: &'a str) -> &'a str {
        if let Some(v) = pkt.link.vlan.filter(|&v| v != 0) {
            if let crate::host::VlanRx::Device(d) = self.host.vlan_rx(captured, v) {
                return d;
            }
        }
        if self.host.links.is_empty() {
            return captured;
        }
        if let Some(l) = self.macvlan_of(pkt, captured) {
            return l;
        }
        self.host.ip_master(captured).unwrap_or(captured)
    }

    /// The macvlan on `captured` a frame belongs to (to or from its link address), when the
    /// capture does not show that device itself.
    fn macvlan_of<'a>(&'a self, pkt: &Packet, captured: &str) -> Option<&'a str> {
        let l = self.macvlan_addressed(pkt, captured)?;
        (!self.host.captured.shows(l)).then_some(l)
    }

    /// The macvlan on `captured` whose link address `pkt` is to or from.
    fn macvlan_addressed<'a>(&'a self, pkt: &Packet, captured: &str) -> Option<&'a str> {
        [pkt.link.dst_mac, pkt.link.src_mac]
            .into_iter()
            .flatten()
            .find_map(|m| self.host.macvlan_of(captured, m))
    }

    /// The device `pkt` was captured on: its capture interface's name, else [`Self::iface`].
    #[inline]
    pub fn captured_on<'a>(&'a self, pkt: &'a Packet) -> &'a str {
        match (&pkt.link.ifname, pkt.link.ifindex) {
            (Some(n), _) if self.iface_from_capture => n,
            // A Linux cooked v2 header's index, named by the host configuration (`ip -j addr`).
            (None, Some(ix)) if self.iface_from_capture => {
                self.host.ifname_of(ix).unwrap_or(&self.iface)
            }
            _ => &self.iface,
        }
    }

    /// Why `pkt` is not judged where it was captured: a macvlan's frame on its parent, whose
    /// copy on the macvlan the capture also holds.
    #[inline]
    pub fn parent_copy(&self, pkt: &Packet) -> Option<&'static str> {
        if self.host.links.is_empty() {
            return None;
        }
        self.macvlan_copy(pkt)
    }

    #[inline(never)]
    fn macvlan_copy(&self, pkt: &Packet) -> Option<&'static str> {
        let captured = self.captured_on(pkt);
        // A macvlan's frame on its parent: the macvlan's own copy is in the capture.
        let macvlan = self.macvlan_addressed(pkt, captured);
        let unaddressed = pkt.link.pkt_type == crate::packet::PktType::OtherHost
            && pkt.link.dst_mac.is_none()
            && self.host.has_macvlans(captured);
        if macvlan.is_some_and(|l| self.host.captured.shows(l))
            || unaddressed && self.host.captured == crate::host::CapturedDevices::All
        {
            return Some(
                "the copy a macvlan's parent device's capture holds: IP sees the frame on the \
                 macvlan whose link address it carries, whose copy the capture also holds \
                 (judged there)",
            );
        }
        None
    }

    /// `skb->pkt_type` while the IPv4/IPv6 hooks see a received frame. A frame a bridge port
    /// took for another host's link address (`PACKET_OTHERHOST`, which a Linux cooked capture
    /// records) is `PACKET_HOST` under `br_netfilter` at every hook it crosses: the bridge's
    /// PREROUTING, FORWARD and POSTROUTING set it so (`setup_pre_routing`,
    /// `br_nf_forward_ip`, `br_nf_post_routing`: `pkt_otherhost`) and put it back after. So
    /// `-m pkttype` reads "unicast" and REJECT's ICMP error (`__icmp_send`, which answers no
    /// `PACKET_OTHERHOST` packet) is sent (recorded lab `veth-csum-any`: the `tcpdump -i any`
    /// copy on the port is `OTHERHOST`). An Ethernet capture's unicast frame is already
    /// `PktType::Host`.
    #[inline]
    pub(crate) fn hook_pkt_type(&self, pkt: &Packet) -> crate::packet::PktType {
        match pkt.link.pkt_type {
            crate::packet::PktType::OtherHost
                if self.host.rx_bridge(self.captured_on(pkt)).is_some() =>
            {
                crate::packet::PktType::Host
            }
            t => t,
        }
    }

    /// Where a frame with an 802.1Q tag other than 0 goes (`vlan_do_receive`): the VLAN
    /// device for its id on the device it was captured on, or nowhere.
    pub fn vlan_rx<'a>(&'a self, pkt: &'a Packet) -> Option<crate::host::VlanRx<'a>> {
        let v = pkt.link.vlan.filter(|&v| v != 0)?;
        Some(self.host.vlan_rx(self.captured_on(pkt), v))
    }

    /// The owner of the local socket that sent `pkt`, when the user said (`--socket-owner`).
    pub fn socket_owner(&self, pkt: &Packet) -> Option<&SocketOwner> {
        self.socket_owners.iter().find(|o| o.applies(pkt))
    }

    /// Convert nanoseconds since the start of the simulation into jiffies.
    pub fn jiffies(&self, ns: u64) -> u64 {
        (ns as u128 * self.hz as u128 / 1_000_000_000) as u64
    }
}

/// `nf_bridge->physoutdev` of a frame that came in through a bridge port, with `br_netfilter`'s
/// hooks (net/bridge/br_netfilter_hooks.c): `br_nf_forward_ip` sets it to the port the bridge
/// forwards the frame to, before FORWARD and POSTROUTING; a packet IP routes keeps none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum PhysOut {
    /// Not said by the engine: at FORWARD and POSTROUTING, unknown.
    #[default]
    Unset,
    /// Routed by IP (`ip_forward`, `ip6_forward`): no output port.
    Routed,
    /// Bridged to this port (a flooded copy's, or the one the bridge learnt the destination
    /// link address behind).
    Port(Box<str>),
}

/// Per-packet kernel state that rules can read and targets can change.
#[derive(Debug, Clone, Default)]
pub struct Skb {
    /// The bridge port `br_nf_forward_ip` sends the frame out by (`-m physdev`).
    pub(crate) physout: PhysOut,
    /// `skb->mark`.
    pub mark: u32,
    /// Conntrack attachment (`skb->_nfct`).
    pub ct: Attach,
    /// TOS/traffic class and TTL/hop limit as changed by mangle targets.
    pub tos: u8,
    pub ttl: u8,
    /// `skb->priority` (CLASSIFY).
    pub priority: u32,
    /// Set by the TRACE target.
    pub trace: bool,
    /// A `CT` template is attached (`skb->_nfct` holds it, `IP_CT_NEW`), the one of the rule
    /// whose target slot this is: later CT rules do nothing, and the raw table's later rules
    /// see it as the packet's connection — NEW, in the original direction, `CONFIRMED`
    /// (`nf_ct_tmpl_alloc`), its tuple zero, its mark the rule's (kernel hunt: `--ctstate
    /// INVALID` after `CT --zone` never matches). Conntrack detaches it (`nf_conntrack_in`).
    pub(crate) ct_template: Option<usize>,
    /// `skb->_nfct` holds `IP_CT_RELATED` and no connection: an ICMP error or reset the host
    /// built for an untracked packet (`nf_ct_attach` → `nf_conntrack_attach` copies the null
    /// connection, its info turned RELATED). The raw table's `CT`/`NOTRACK` leave it alone
    /// and its conntrack matches see INVALID; `nf_conntrack_in` then tracks it as any packet
    /// (kernel hunt: a hairpin redirect about an untracked datagram, INVALID past `CT
    /// --notrack`; recorded lab `router-redirect-related`).
    pub(crate) nfct_null: bool,
    /// Conntrack zone requested by `CT --zone` in the raw table (0 = default zone).
    pub zone: u16,
    /// `--zone-orig` / `--zone-reply`: the only direction the zone applies to (`None`: both).
    pub(crate) zone_only: Option<crate::conntrack::CtDir>,
    /// Set by `CT --helper NAME` in the raw table.
    pub helper: Option<crate::conntrack::helper::HelperId>,
    /// `TCPMSS` changed (or, clamping to an unknown path MTU, may have changed) the packet's
    /// MSS option: matches reading those bytes after it cannot be decided.
    pub(crate) tcp_rewritten: bool,
    /// `TCPMSS` added an MSS option: the packet is 4 bytes longer (`-m length`, byte counters).
    pub(crate) tcp_grown: bool,
    /// The MSS option's value after `TCPMSS`, when known (`--set-mss`; not a clamp to the
    /// unknown path MTU).
    pub(crate) tcp_mss: Option<u16>,
    /// The IPv4 header checksum's two bytes after the header was rewritten in place (TOS,
    /// DSCP, TTL and ECN targets, the forwarding decrement, NAT), as the kernel updates them
    /// (`None`: as captured).
    pub(crate) ip_check: Option<[u8; 2]>,
    /// The TCP flags byte after `ECN` rewrote it (`None`: as captured).
    pub(crate) tcp_flags: Option<u8>,
    /// NAT rewrote the addresses or ports, or `ECN` the TCP flags: the transport checksum
    /// changed too, by an update that depends on checksum offload (`CHECKSUM_PARTIAL`),
    /// which a capture does not show (and, for ICMP, what NAT rewrote inside the message).
    pub(crate) l4_check_unknown: bool,
    /// The packet's bytes with those rewrites, made when a rule first reads them.
    pub(crate) view: Option<Box<super::rewrite::RewrittenView>>,
    /// A TCP connection picked up mid-stream may have been tracked already (ESTABLISHED): a
    /// conntrack match of this packet answered the two worlds differently, and the traversal
    /// goes on in the picked-up one (NEW), its later conntrack matches answering there. When
    /// that match said "yes" (a `! --syn --ctstate NEW -j DROP`), the verdict is uncertain
    /// whatever follows; when it said "no", it was an undecided match like any other.
    /// The same when the kernel may have found the packet INVALID where fwcheck tracked it
    /// (`checksum_doubt`): a match reading its connection answered that world otherwise.
    pub(crate) pickup_world: bool,
    /// That match said "yes": why the verdict is uncertain whatever follows.
    pub(crate) pickup_doubt: Option<&'static str>,
    /// The kernel may have found this packet INVALID (no connection) where conntrack here
    /// tracked it: why (`CtOutcome::maybe_invalid`). The matches reading its connection weigh
    /// both.
    pub(crate) checksum_doubt: Option<&'static str>,
    /// A UDP or ICMP flow seen first now may be one the kernel tracked before the capture
    /// began: it is within that protocol's conntrack timeout of the capture's first frame
    /// (`SimOptions::capture_file`, without `--conntrack-start empty`).
    pub(crate) may_predate: bool,
    /// The packet comes from a neighbour the host solicited and that has not answered
    /// (`Engine::neighbour_solicited`): a later packet of its connection may be ESTABLISHED
    /// in the kernel by a reply of the host's that waits, unseen, in the neighbour's queue
    /// (`NEIGH_DOUBT`).
    pub(crate) neigh_wait: bool,
    /// Built by netfilter itself with no socket attached (REJECT's TCP reset: `nf_send_reset`
    /// allocates it and sends it with `nskb->sk` NULL): `owner_mt` takes the `!sk` branch.
    pub(crate) no_socket: bool,
    /// A `TEE` clone on its way out (the per-CPU `nf_skb_duplicated` is set while
    /// `ip_local_out` sends it): a `TEE` rule it meets makes no clone of it.
    pub(crate) duplicated: bool,
}

/// Why a packet picked up mid-stream is uncertain (`Skb::pickup_doubt`).
pub(crate) const PICKUP_DOUBT: &str =
    "the connection was picked up mid-stream (a TCP segment without its SYN in the capture; a \
     UDP answer or ICMP query reply within its conntrack timeout of the capture's start): \
     if the kernel tracked it already (it opened before the capture, or the rules, began), this \
     packet is ESTABLISHED, not NEW or INVALID, and a conntrack rule answers it differently \
     (--conntrack-start empty: the kernel's table began empty)";

/// Why a later packet of a connection from a neighbour that never answered the host is
/// uncertain (`Skb::neigh_wait`).
pub(crate) const NEIGH_DOUBT: &str =
    "its connection's source is a neighbour the host solicits and that has not answered: a \
     reply of the host's may wait, unseen, in the neighbour's queue, its conntrack hook passed \
     (IPS_SEEN_REPLY): then this packet is ESTABLISHED, not NEW, and a conntrack rule answers \
     it differently";

impl Skb {
    /// A match of this packet answered `picked` in the world the traversal follows and
    /// otherwise in another the kernel may be in (`why`): the worlds part here. A "yes" is
    /// kept, and the verdict is uncertain whatever follows (`pickup_doubt`); a "no" becomes
    /// undecided, which the traversal takes as "no" and forks.
    pub(crate) fn worlds_apart(
        &mut self,
        picked: super::MatchResult,
        why: &'static str,
    ) -> super::MatchResult {
        self.pickup_world = true;
        if picked == super::MatchResult::Yes {
            self.pickup_doubt = Some(why);
            picked
        } else {
            super::MatchResult::Unknown(why)
        }
    }

    /// `skb->len`: the captured IP length, plus what targets added.
    #[inline]
    pub(crate) fn len(&self, pkt: &crate::packet::Packet) -> u32 {
        pkt.ip_len + if self.tcp_grown { 4 } else { 0 }
    }
}

/// One extension's state across packets: any `Clone` value. The engine forks its whole state to
/// evaluate the other answer of a match it cannot decide (`Outcome::alternatives`).
pub trait State: Any + Send {
    fn clone_state(&self) -> Box<dyn State>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Send + Clone> State for T {
    fn clone_state(&self) -> Box<dyn State> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// State that extensions keep across packets: per-instance slots (limit buckets, statistic
/// counters) and named stores shared by rules (recent lists, hashlimit tables).
#[derive(Default)]
pub struct ExtState {
    pub(crate) slots: Vec<Option<Box<dyn State>>>,
    pub named: HashMap<String, Box<dyn State>>,
    /// Addresses whose entries in address-keyed state (recent lists, hashlimit buckets,
    /// connlimit counts) may differ from the kernel's: see [`Doubt`].
    pub(crate) doubt: Doubt,
    /// The input interfaces IPsec traffic for the host arrived on so far (ESP, AH, IPcomp or
    /// ESP in UDP/4500): a later packet from one of them may have been decapsulated there
    /// (`-m policy --dir in`, `policy::ipsec_carrier`).
    pub(crate) ipsec_ifaces: Vec<String>,
    /// The `ct->mark` of each `CT` rule's template, by the rule's target slot: one template
    /// per rule, made when the rule is loaded (`xt_ct_tg_check`) and shared by every packet it
    /// is attached to, so a `CONNMARK` on one packet's template is what the next one's
    /// `connmark` reads; the connection conntrack makes does not inherit it
    /// (`init_conntrack`). Absent: 0.
    pub(crate) template_marks: HashMap<usize, u32>,
    /// The clones `TEE` asked for while a table runs (`nf_dup_ipv4`, `nf_dup_ipv6`): the
    /// engine sends each through OUTPUT and POSTROUTING when the table returns. Empty between
    /// tables.
    pub(crate) tee: Vec<TeeClone>,
}

/// A copy of a packet `TEE` made (`nf_dup_ipv4` / `nf_dup_ipv6`): `pskb_copy` keeps the packet
/// as it is at the rule, its mark, TOS and TTL; the connection is dropped and the copy marked
/// untracked (`nf_reset_ct`, `IP_CT_UNTRACKED`); in PREROUTING and INPUT its TTL or hop limit
/// is one less ("to mitigate potential loops between two hosts"); it is routed to `gateway`
/// (through `oif` when given, `FLOWI_FLAG_KNOWN_NH`) and sent with `ip_local_out` /
/// `ip6_local_out`, so it crosses OUTPUT and POSTROUTING before the original goes on.
#[derive(Debug, Clone)]
pub(crate) struct TeeClone {
    pub(crate) pkt: crate::packet::Packet,
    pub(crate) skb: Skb,
    pub(crate) gateway: std::net::IpAddr,
    pub(crate) oif: String,
}

/// Most addresses [`Doubt`] names one by one; beyond, every address is in doubt.
const DOUBT_CAP: usize = 65_536;

/// Addresses of packets whose traversal met a match fwcheck could not decide, or whose verdict
/// was uncertain: in the kernel they may have taken another path, and updated (or not) the
/// recent lists, hashlimit buckets and connlimit counts keyed by them. What those say about
/// such an address later is not certain. Bounded: past 65,536 addresses every address
/// is in doubt (more uncertain verdicts, never a wrong certain one).
#[derive(Debug, Default, Clone)]
pub struct Doubt {
    /// Each address with what put it in doubt, and the protocols (`proto_bit`) of the
    /// packets that did.
    addrs: HashMap<std::net::IpAddr, (DoubtSource, u8)>,
    saturated: bool,
    /// The last time a packet met a match fwcheck could not decide, or got an uncertain
    /// verdict: from then on every `limit` bucket may hold another credit in the kernel.
    limits: LimitDoubt,
}

/// What put an address in doubt.
///
/// `Match(slot)`: only the answers of match instance `slot` that fwcheck could not decide. A
/// match whose state keeps every possible answer itself (hashlimit's buckets, kept per clock
/// phase) is not in doubt over those, as long as it is the only rule using that state; any
/// other match keyed by the address is. `Any`: something else too (another match, an uncertain
/// connection state, time stamps out of order, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoubtSource {
    Match(usize),
    Any,
}

impl DoubtSource {
    /// Both causes.
    pub fn and(self, o: DoubtSource) -> DoubtSource {
        if self == o {
            self
        } else {
            DoubtSource::Any
        }
    }
}

/// A packet's protocol as a bit of the sets [`Doubt`] keeps per address: TCP, UDP, ICMP or
/// ICMPv6, SCTP, DCCP, UDP-Lite, or any other.
pub(crate) fn proto_bit(p: u8) -> u8 {
    match p {
        6 => 1,
        17 => 2,
        1 | 58 => 4,
        132 => 8,
        33 => 16,
        136 => 32,
        _ => 64,
    }
}

/// The packets a rule's `-p` lets reach its matches, as `proto_bit`s (`ip_packet_match`,
/// `ip6_packet_match`): one bit for a protocol named without `!`, every bit otherwise (no `-p`,
/// `-p all`, `!`, a protocol that shares the "other" bit).
pub(crate) fn rule_proto_bits(proto: Option<(u8, bool)>) -> u8 {
    match proto {
        Some((p, false)) if p != 0 && proto_bit(p) != 64 => proto_bit(p),
        _ => u8::MAX,
    }
}

/// When `limit` buckets last fell in doubt (`Doubt::mark_limits`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LimitDoubt {
    /// Events so far; a bucket compares it with the count it last saw.
    pub epoch: u64,
    /// The last event's time, in jiffies and in nanoseconds.
    pub jiffies: u64,
    pub ns: u64,
    /// The bucket whose own undecided answer raised the last event (it tracks its own doubt).
    pub exempt: Option<usize>,
    /// The frame of the packet that raised it: the packet itself went the way it went up to
    /// there, so its own later rules still see exact buckets; the doubt starts with the next.
    pub frame: u64,
    /// The count of events raised by frames before `frame`.
    pub before: u64,
}

impl LimitDoubt {
    /// The events a rule met by packet `frame` must have taken in: all of them, except those
    /// this packet raised itself.
    pub(crate) fn settled(&self, frame: u64) -> u64 {
        if frame == self.frame {
            self.before
        } else {
            self.epoch
        }
    }
}

impl Doubt {
    /// Every `limit` bucket may differ from the kernel's from `jiffies`/`ns` on: a packet may
    /// have taken another path there (`exempt`: the slot whose own answer was undecided).
    pub(crate) fn mark_limits(&mut self, jiffies: u64, ns: u64, exempt: Option<usize>, frame: u64) {
        let before = if self.limits.frame == frame {
            self.limits.before
        } else {
            self.limits.epoch
        };
        self.limits = LimitDoubt {
            before,
            epoch: self.limits.epoch + 1,
            jiffies,
            ns,
            exempt,
            frame,
        };
    }

    /// The last `limit` doubt event.
    pub(crate) fn limits(&self) -> LimitDoubt {
        self.limits
    }

    /// The mask of a prefix of `len` bits, numbered as [`Doubt::covers`] takes it.
    pub(crate) fn prefix_mask(v4: bool, len: u8) -> u128 {
        let w = if v4 { 32 } else { 128 };
        let len = len.min(w) as u32;
        let full = if v4 { u32::MAX as u128 } else { u128::MAX };
        if len == 0 {
            0
        } else {
            full & (full << (w as u32 - len))
        }
    }

    pub fn mark(&mut self, a: std::net::IpAddr) {
        self.mark_from(a, DoubtSource::Any, u8::MAX);
    }

    /// Put `a` in doubt, because of `src`, raised by a packet of the protocols `protos`
    /// (`proto_bit`): the other path it may have taken in the kernel reaches only rules
    /// whose `-p` lets that protocol through.
    pub fn mark_from(&mut self, a: std::net::IpAddr, src: DoubtSource, protos: u8) {
        if self.saturated {
            return;
        }
        if let Some((s, p)) = self.addrs.get_mut(&a) {
            *s = s.and(src);
            *p |= protos;
            return;
        }
        if self.addrs.len() >= DOUBT_CAP {
            self.saturated = true;
            self.addrs = Default::default();
            return;
        }
        self.addrs.insert(a, (src, protos));
    }

    pub fn is_empty(&self) -> bool {
        !self.saturated && self.addrs.is_empty()
    }

    /// Whether state keyed by `a` under the prefix mask `mask` (as a 128-bit number, IPv4 in
    /// the low 32 bits) may hold another address's doubt.
    pub fn covers(&self, a: std::net::IpAddr, mask: u128) -> bool {
        self.covers_but(a, mask, None, u8::MAX)
    }

    /// [`Doubt::covers`], leaving out the doubt raised only by match instance `slot` itself,
    /// and the doubt raised only by packets of protocols outside `protos` (state that only
    /// packets of `protos` reach: a connlimit rule's lists behind its `-p`).
    pub fn covers_but(
        &self,
        a: std::net::IpAddr,
        mask: u128,
        slot: Option<usize>,
        protos: u8,
    ) -> bool {
        if self.saturated {
            return true;
        }
        if self.addrs.is_empty() {
            return false;
        }
        let counts = |(s, p): &(DoubtSource, u8)| {
            *p & protos != 0 && slot.is_none_or(|m| *s != DoubtSource::Match(m))
        };
        let num = |x: std::net::IpAddr| match x {
            std::net::IpAddr::V4(v) => u32::from(v) as u128,
            std::net::IpAddr::V6(v) => u128::from(v),
        };
        let full = if a.is_ipv4() {
            u32::MAX as u128
        } else {
            u128::MAX
        };
        if mask & full == full {
            return self.addrs.get(&a).is_some_and(counts);
        }
        let k = num(a) & mask;
        self.addrs
            .iter()
            .any(|(&d, s)| d.is_ipv4() == a.is_ipv4() && num(d) & mask == k && counts(s))
    }

    /// Whether anything but match instance `slot`'s own undecided answers raised a doubt.
    pub fn any_but(&self, slot: usize) -> bool {
        self.saturated
            || self
                .addrs
                .values()
                .any(|(s, _)| *s != DoubtSource::Match(slot))
    }
}

impl std::fmt::Debug for ExtState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtState")
            .field("slots", &self.slots.len())
            .field("named", &self.named.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Clone for ExtState {
    fn clone(&self) -> Self {
        ExtState {
            slots: self
                .slots
                .iter()
                .map(|s| s.as_ref().map(|b| b.clone_state()))
                .collect(),
            named: self
                .named
                .iter()
                .map(|(k, b)| (k.clone(), b.clone_state()))
                .collect(),
            doubt: self.doubt.clone(),
            ipsec_ifaces: self.ipsec_ifaces.clone(),
            template_marks: self.template_marks.clone(),
            tee: self.tee.clone(),
        }
    }
}

impl ExtState {
    /// The state of instance `slot`, created with `init` on first use.
    pub fn slot<T: State + Clone>(&mut self, slot: usize, init: impl FnOnce() -> T) -> &mut T {
        if self.slots.len() <= slot {
            self.slots.resize_with(slot + 1, || None);
        }
        let s = &mut self.slots[slot];
        if !s.as_ref().is_some_and(|b| b.as_any().is::<T>()) {
            *s = Some(Box::new(init()));
        }
        s.as_mut()
            .and_then(|b| b.as_any_mut().downcast_mut::<T>())
            .expect("slot holds T")
    }

    /// The state of instance `slot`, if it has any (read-only, for `trace`).
    pub(crate) fn peek<T: State + Clone>(&self, slot: usize) -> Option<&T> {
        self.slots.get(slot)?.as_ref()?.as_any().downcast_ref::<T>()
    }

    /// A named store, if it exists (read-only, for `trace`).
    pub(crate) fn peek_named<T: State + Clone>(&self, key: &str) -> Option<&T> {
        self.named.get(key)?.as_any().downcast_ref::<T>()
    }

    /// A named store (e.g. `recent:DEFAULT`), created with `init` on first use.
    pub fn named<T: State + Clone>(&mut self, key: &str, init: impl FnOnce() -> T) -> &mut T {
        let fresh = !self.named.get(key).is_some_and(|b| b.as_any().is::<T>());
        if fresh {
            self.named.insert(key.to_string(), Box::new(init()));
        }
        self.named
            .get_mut(key)
            .and_then(|b| b.as_any_mut().downcast_mut::<T>())
            .expect("named store holds T")
    }
}

/// Everything a match or target may look at or change.
pub struct EvalCtx<'a> {
    /// The packet as it is at this point (addresses may have been translated by NAT).
    pub pkt: &'a Packet,
    pub hook: Hook,
    pub table: TableKind,
    /// Input device name, `""` when the hook has none.
    pub(crate) indev: &'a str,
    /// Output device name, `""` when the hook has none.
    pub(crate) outdev: &'a str,
    pub env: &'a SimEnv,
    /// Current time in jiffies.
    pub now: u64,
    /// Current time in nanoseconds (monotonic, arbitrary origin), for nftables expressions.
    pub(crate) now_ns: u64,
    pub skb: &'a mut Skb,
    pub conntrack: &'a mut Conntrack,
    pub ext: &'a mut ExtState,
    /// State slot of the extension instance being evaluated.
    pub slot: usize,
}

impl EvalCtx<'_> {
    /// The connection attached to the packet, if any.
    pub fn ct(&self) -> Option<&CtEntry> {
        match self.skb.ct {
            Attach::Ct { id, .. } => self.conntrack.get(id),
            _ => None,
        }
    }
    pub(crate) fn ct_mut(&mut self) -> Option<&mut CtEntry> {
        match self.skb.ct {
            Attach::Ct { id, .. } => self.conntrack.get_mut(id),
            _ => None,
        }
    }
    /// Whether a `CT` template is what the packet carries (see [`Skb::ct_template`]).
    pub(crate) fn ct_template(&self) -> bool {
        self.skb.ct_template.is_some() && self.skb.ct == Attach::None
    }
    /// The mark of the template the packet carries (see [`ExtState::template_marks`]).
    pub(crate) fn template_mark(&self) -> u32 {
        self.skb
            .ct_template
            .and_then(|s| self.ext.template_marks.get(&s).copied())
            .unwrap_or(0)
    }
    /// Direction of the packet in its connection.
    pub(crate) fn ct_dir(&self) -> Option<CtDir> {
        self.skb.ct.info().map(|i| i.dir())
    }
    /// Whether the packet was generated locally (OUTPUT/POSTROUTING of a local packet).
    pub(crate) fn is_local_out(&self) -> bool {
        matches!(self.hook, Hook::Output)
            || (self.hook == Hook::Postrouting && self.indev.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_router_anycast_is_each_v6_prefix_shorter_than_127() {
        let mut env = SimEnv::default();
        for (a, len) in [
            ("2001:db8:1::1", 64),
            ("2001:db8:2::7", 127),
            ("fe80::1", 64),
            ("192.0.2.10", 24),
        ] {
            env.networks.push((a.parse().unwrap(), len));
        }
        let any = |a: &str| env.is_subnet_router_anycast(a.parse().unwrap());
        assert!(any("2001:db8:1::"));
        assert!(any("fe80::"));
        assert!(!any("2001:db8:1::1"));
        // RFC 6164: a /127 point-to-point link has none.
        assert!(!any("2001:db8:2::6"));
        assert!(!any("::"));
        assert!(!any("192.0.2.0"));
        // Not an address of the host's (`addrtype --dst-type LOCAL`).
        assert!(!env.is_local("2001:db8:1::".parse().unwrap()));
    }
}
