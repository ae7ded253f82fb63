//! The simulated host's interfaces, addresses and routes, as the kernel's FIB holds them
//! (net/ipv4/fib_frontend.c `fib_add_ifaddr`, net/ipv4/fib_trie.c `fib_table_lookup`,
//! net/ipv6/route.c `ip6_pol_route`): every interface address is LOCAL, its subnet a connected
//! route on that interface (`proto kernel scope link`), and the output interface of a packet is
//! the one of the longest matching prefix (lowest metric among equals).
//!
//! Given by `--iface-addr NAME=ADDR/LEN`, `--route DEST/LEN [via GW] dev NAME` and
//! `--host-config FILE` (the JSON of `ip -j addr` and `ip -j route`). With none of them the
//! host has one interface (`--iface`) and forwarding leaves by it, as before.
//!
//! Reverse-path filtering (`--rp-filter`, `net.ipv4.conf.{all,NAME}.rp_filter`) is the
//! kernel's net/ipv4/fib_frontend.c `fib_validate_source` / `__fib_validate_source`, which
//! `ip_route_input_slow` calls for every IPv4 packet it routes in — local, forwarded,
//! broadcast or multicast — after PREROUTING: the route back to the source must leave by the
//! input interface (1, strict) or merely exist (2, loose); the kernel takes the higher of
//! `all` and the input interface's setting (`IN_DEV_MAXCONF`).

use std::net::IpAddr;

/// An address on an interface (`ip addr`'s `inet`/`inet6` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    pub dev: String,
    pub addr: IpAddr,
    pub len: u8,
}

/// A route of the main table (`ip route`), `dev: None` for blackhole/unreachable/prohibit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub(crate) dest: IpAddr,
    pub len: u8,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub(crate) metric: u32,
    /// A `local` route: the prefix is the host's (see [`HostConfig::local_routes`]).
    pub(crate) local: bool,
    /// `blackhole`, `unreachable`, `prohibit` or `throw` (no device).
    pub(crate) kind: Option<DropRoute>,
}

/// What a route without a device does with a packet it matches (`fib_props`'s error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropRoute {
    /// `-EINVAL`: dropped, no answer.
    Blackhole,
    /// `-EHOSTUNREACH`: host unreachable (IPv6: no route).
    Unreachable,
    /// `-EACCES`: administratively prohibited.
    Prohibit,
    /// `-EAGAIN` in the main table: the lookup goes on in the default table, which has no
    /// route — as no route at all.
    Throw,
}

/// Interfaces and routes of the host. Empty: the single-interface model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub addrs: Vec<IfAddr>,
    pub routes: Vec<Route>,
    /// Prefixes a `local` route of the main table makes the host's (`ip route add local
    /// 192.0.2.0/24 dev lo`, "AnyIP"): `fib_lookup` says RTN_LOCAL, so packets to them are
    /// delivered here, and `addrtype` calls them LOCAL on the route's device.
    pub(crate) local_routes: Vec<(IpAddr, u8, String)>,
    /// Every interface named by an address or a route, in order of first mention.
    pub names: Vec<String>,
    /// Reverse-path filtering (IPv4 only; it needs the addresses and routes to matter).
    pub rp_filter: RpFilter,
    /// Multicast groups the host joined (`ip maddr`'s `inet`/`inet6` lines, `--join`), beyond
    /// the ones every interface joins by itself (see `HostConfig::joined`).
    pub groups: Vec<Membership>,
    /// The groups are known: a `--join` or an `ip -j maddr` listing was given, so a group not
    /// listed is certainly not joined. Otherwise whether the host joined one is unknown.
    pub groups_known: bool,
    /// Neighbour entries that stay valid (`ip -j neigh`'s `PERMANENT` and `NOARP` ones, the
    /// object's `"neigh"` key): an IPv6 router's redirect to a target among them carries its
    /// link-layer address (`ndisc_send_redirect`); `None` when no listing was given.
    pub(crate) neigh_permanent: Option<Vec<(String, IpAddr)>>,
    /// The policy rules' mark selectors, IPv4's then IPv6's (`ip -j rule`, the object's
    /// `"rule"` key; `ip -6 -j rule`, `"rule6"`): `(fwmark, fwmask, not)` of each rule that
    /// selects by mark; `None` for a family whose rules were not given.
    pub(crate) fwmark_rules: [Option<Vec<(u32, u32, bool)>>; 2],
    /// Interfaces `ip -j addr` flags `NOARP` (tun, WireGuard, PPP): they join no
    /// solicited-node group.
    pub noarp: Vec<String>,
    /// Interface MTUs (`ip -j addr`'s `mtu`, `--mtu NAME=N`): what `ip_forward`/`ip6_forward`
    /// check a forwarded packet's size against. An interface not listed is not checked.
    pub mtus: Vec<(String, u32)>,
    /// Interface indexes (`ip -j addr`'s `ifindex`): the names of a Linux cooked v2 (SLL2)
    /// capture's interfaces (`tcpdump -i any` records only the index).
    pub ifindexes: Vec<(u32, String)>,
    /// The interfaces' link-layer addresses (`ip -j addr`'s `address`): a frame whose Ethernet
    /// source is none of them came from outside, whatever its IP source says.
    pub macs: Vec<[u8; 6]>,
    /// The interfaces come from the capture alone (pcapng `if_name` with `if_IPv4addr`/
    /// `if_IPv6addr`, `session::adopt_capture_interfaces`): no route is known beyond their
    /// subnets, so
    /// a destination outside them leaves by the interface the packet was captured on (as
    /// without a configuration), and reverse-path filtering has no routes to check.
    pub from_capture: bool,
    /// How the interfaces stack (`ip -j addr`'s `master`, `link` and, with `ip -d`,
    /// `linkinfo`): the device a frame captured on one of them reaches IP on.
    pub links: Vec<IfLink>,
    /// The configuration lists every interface of the host (an `ip -j addr` listing was
    /// given): a device it does not name does not exist.
    pub links_known: bool,
    /// `net.bridge.bridge-nf-call-iptables` / `-ip6tables` is 0 (IPv4, IPv6), or the host has
    /// no `br_netfilter` (the `"sysctl"` key, `--sysctl`): `br_nf_pre_routing` and the other
    /// bridge hooks return at once (`brnf_call_iptables` false), so a frame the bridge forwards
    /// crosses no iptables hook and one passed up is an ordinary packet of the bridge device.
    /// Default: on, as the module sets it (Docker and Kubernetes load it).
    pub bridge_nf_off: [bool; 2],
    /// The devices the capture being replayed shows (set with the capture, not by the
    /// configuration).
    pub captured: CapturedDevices,
}

/// Which of the host's devices a capture shows (`packet::ingest::capture::captured_devices`):
/// what tells a bridge port's copy of a frame, also captured on the bridge, from its only copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CapturedDevices {
    /// One interface (a classic pcap of Ethernet or raw IP), or nothing is known (generated
    /// traffic).
    #[default]
    One,
    /// Every device: a Linux cooked capture (`tcpdump -i any`).
    All,
    /// The interfaces a pcapng names.
    Named(Vec<String>),
}

impl CapturedDevices {
    /// Whether frames seen on device `dev` are in the capture too.
    pub fn shows(&self, dev: &str) -> bool {
        match self {
            CapturedDevices::One => false,
            CapturedDevices::All => true,
            CapturedDevices::Named(n) => n.iter().any(|x| x == dev),
        }
    }
}

/// An interface's place among the host's devices, from `ip -j addr` (and `ip -d -j addr`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfLink {
    pub dev: String,
    /// `master`: the bridge or bond it is a port of (or a VRF).
    pub master: Option<String>,
    /// `link`: the device it sits on (a VLAN's or macvlan's parent, a veth's peer).
    pub link: Option<String>,
    /// `linkinfo.info_data.id` of a `vlan` device (`ip -d` only).
    pub vlan_id: Option<u16>,
    /// `linkinfo` was printed (`ip -d`): `vlan_id` is `None` because the device is no VLAN.
    pub detailed: bool,
    /// Flags MASTER and NOARP together: a VRF (`vrf_setup`), whose ports stay the input
    /// device of the packets they receive.
    pub vrf: bool,
    /// Its link-layer address (`address`).
    pub mac: Option<[u8; 6]>,
    /// A port of a Linux bridge: it has a `master` and is no bond's (flag `SLAVE`, which
    /// `bond_enslave` sets and `br_add_if` does not).
    pub bridge_port: bool,
    /// Its carrier is up (flag `LOWER_UP`): a bridge port without it is disabled
    /// (`br_port_carrier_check`), and the bridge floods nothing to it (`should_deliver`).
    pub lower_up: bool,
}

/// What the kernel makes of an 802.1Q-tagged frame received on a device
/// (net/core/dev.c `__netif_receive_skb_core`, net/8021q/vlan_core.c `vlan_do_receive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VlanRx<'a> {
    /// Delivered on the VLAN device for its id.
    Device(&'a str),
    /// No VLAN device for its id on that device: `PACKET_OTHERHOST`, dropped by `ip_rcv_core`.
    NoDevice,
    /// The configuration does not say which VLAN ids its devices carry (`ip -j addr` without
    /// `-d`), or lists no devices.
    Unknown,
}

/// A route [`HostConfig::best_route`] found: a connected subnet or an entry of the table.
#[derive(Clone, Copy)]
struct BestRoute<'a> {
    net: IpAddr,
    len: u8,
    metric: u32,
    via: Option<IpAddr>,
    dev: Option<&'a str>,
    kind: Option<DropRoute>,
}

/// A multicast group joined on one interface (`dev: None`: on every interface).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub dev: Option<String>,
    pub group: IpAddr,
}

/// Whether an interface has joined a multicast group (`ip_check_mc_rcu`, `ipv6_chk_mcast_addr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    Yes,
    No,
    /// Not one of the groups the kernel joins by itself, and the host's groups were not given.
    Unknown,
}

/// `net.ipv4.conf.all.rp_filter` and `net.ipv4.conf.NAME.rp_filter`: 0 off (the kernel's
/// default, and the oracle's), 1 strict, 2 loose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpFilter {
    pub all: u8,
    pub ifaces: Vec<(String, u8)>,
}

impl RpFilter {
    /// `0|1|2` (for `all`) or `NAME=0|1|2`.
    pub fn parse(&mut self, s: &str) -> Result<(), String> {
        let (name, v) = match s.split_once('=') {
            Some((n, v)) => (Some(n), v),
            None => (None, s),
        };
        let v = match v {
            "0" => 0,
            "1" => 1,
            "2" => 2,
            _ => {
                return Err(format!(
                    "`{v}`: expected 0 (off), 1 (strict) or 2 (loose), or NAME=0|1|2"
                ))
            }
        };
        match name {
            None | Some("all") => self.all = v,
            Some(n) if valid_name(n) => {
                self.ifaces.retain(|(x, _)| x != n);
                self.ifaces.push((n.to_string(), v));
            }
            Some(n) => return Err(format!("`{n}`: not an interface name")),
        }
        Ok(())
    }

    /// The mode for packets in on `iface`: the higher of `all` and the interface's own
    /// (`IN_DEV_MAXCONF(idev, RP_FILTER)`).
    pub fn mode(&self, iface: &str) -> u8 {
        let own = self
            .ifaces
            .iter()
            .find(|(n, _)| n == iface)
            .map_or(0, |(_, v)| *v);
        self.all.max(own)
    }

    /// The sysctls that set it (`all`, then each interface), for the kernel oracle.
    pub fn sysctls(&self) -> Vec<(String, String)> {
        let mut v = vec![(
            "net.ipv4.conf.all.rp_filter".to_string(),
            self.all.to_string(),
        )];
        for (n, m) in &self.ifaces {
            v.push((
                format!("net.ipv4.conf.{}.rp_filter", n.replace('.', "/")),
                m.to_string(),
            ));
        }
        v
    }
}

fn prefix(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = a
        .parse()
        .map_err(|_| format!("`{a}`: expected an IPv4 or IPv6 address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match l {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => return Err(format!("`{l}`: expected a prefix length 0-{max}")),
        },
    };
    Ok((addr, len))
}

/// `aa:bb:cc:dd:ee:ff`.
fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut m = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut m {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(m)
}

pub(crate) fn contains(net: IpAddr, len: u8, a: IpAddr) -> bool {
    match (net, a) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(n) & m == u32::from(a) & m
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(n) & m == u128::from(a) & m
        }
        _ => false,
    }
}

fn valid_name(n: &str) -> bool {
    // IFNAMSIZ - 1, no '/', no whitespace (dev_valid_name).
    !n.is_empty()
        && n.len() <= 15
        && n != "."
        && n != ".."
        && !n.contains(['/', ':'])
        && !n.contains(char::is_whitespace)
}

impl HostConfig {
    /// No interfaces and no routes: the single-interface model (groups do not count).
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty() && self.routes.is_empty() && self.local_routes.is_empty()
    }

    /// `[NAME=]GROUP`, e.g. `eth0=224.0.0.251` or `ff02::fb` (every interface), or `none`:
    /// the host joined no group beyond the ones the kernel joins by itself.
    pub fn parse_join(&mut self, s: &str) -> Result<(), String> {
        self.groups_known = true;
        if s == "none" {
            return Ok(());
        }
        let (dev, g) = match s.split_once('=') {
            Some((d, g)) => {
                if !valid_name(d) {
                    return Err(format!(
                        "`{d}`: expected an interface name (1-15 characters)"
                    ));
                }
                (Some(d.to_string()), g)
            }
            None => (None, s),
        };
        let group: IpAddr = g.parse().map_err(|_| {
            format!("`{g}`: expected a multicast group address, e.g. 224.0.0.251 or ff02::fb")
        })?;
        if !group.is_multicast() {
            return Err(format!(
                "`{g}` is not a multicast address (224.0.0.0/4, ff00::/8)"
            ));
        }
        let m = Membership { dev, group };
        if !self.groups.contains(&m) {
            self.groups.push(m);
        }
        Ok(())
    }

    /// Whether interface `dev` has joined `group`, as the input route asks
    /// (net/ipv4/igmp.c `ip_check_mc_rcu`, net/ipv6/mcast.c `ipv6_chk_mcast_addr`). Every
    /// interface joins by itself: IPv4 all-hosts 224.0.0.1 (`ip_mc_up`); IPv6 all-nodes ff02::1
    /// and the solicited-node group ff02::1:ffXX:XXXX of each of its addresses (`ipv6_add_dev`,
    /// `addrconf_join_solict`; not on an interface without ARP/ND, `noarp`: a tun or WireGuard
    /// device, flagged `NOARP` in the configuration or met in a raw-IP capture), and with
    /// forwarding on (`router`) all-routers ff02::2 (only the link-local one: `ipv6_add_dev`).
    /// `host_v6`: the host's IPv6 addresses, for interfaces the configuration gives none.
    /// Source filters (IGMPv3/MLDv2 INCLUDE lists) are not modelled: a group joined is joined
    /// for every source.
    pub fn joined(
        &self,
        dev: &str,
        group: IpAddr,
        host_v6: &[IpAddr],
        router: bool,
        noarp: bool,
    ) -> Joined {
        match group {
            IpAddr::V4(g) if g == std::net::Ipv4Addr::new(224, 0, 0, 1) => return Joined::Yes,
            IpAddr::V6(g) => {
                let s = g.segments();
                if g == std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)
                    || (router && g == std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2))
                {
                    return Joined::Yes;
                }
                let noarp = noarp || self.noarp.iter().any(|n| n == dev);
                if !noarp && s[..6] == [0xff02, 0, 0, 0, 0, 1] && s[6] >> 8 == 0xff {
                    let low = |a: &IpAddr| match a {
                        IpAddr::V6(a) => {
                            let o = a.octets();
                            [o[13], o[14], o[15]] == [s[6] as u8, (s[7] >> 8) as u8, s[7] as u8]
                        }
                        IpAddr::V4(_) => false,
                    };
                    let on_dev: Vec<&IfAddr> = self
                        .addrs
                        .iter()
                        .filter(|a| a.dev == dev && a.addr.is_ipv6())
                        .collect();
                    let hit = if on_dev.is_empty() {
                        host_v6.iter().any(low)
                    } else {
                        on_dev.iter().any(|a| low(&a.addr))
                    };
                    if hit {
                        return Joined::Yes;
                    }
                }
            }
            IpAddr::V4(_) => {}
        }
        if self
            .groups
            .iter()
            .any(|m| m.group == group && m.dev.as_deref().is_none_or(|d| d == dev))
        {
            Joined::Yes
        } else if self.groups_known {
            Joined::No
        } else {
            Joined::Unknown
        }
    }

    fn name(&mut self, n: &str) {
        if !self.names.iter().any(|x| x == n) {
            self.names.push(n.to_string());
        }
    }

    pub fn add_addr(&mut self, a: IfAddr) {
        self.name(&a.dev.clone());
        if !self.addrs.contains(&a) {
            self.addrs.push(a);
        }
    }

    pub fn add_route(&mut self, r: Route) {
        if r.local {
            let e = (r.dest, r.len, r.dev.clone().unwrap_or_else(|| "lo".into()));
            if !self.local_routes.contains(&e) {
                self.local_routes.push(e);
            }
            return;
        }
        if let Some(d) = &r.dev {
            self.name(&d.clone());
        }
        if !self.routes.contains(&r) {
            self.routes.push(r);
        }
    }

    /// `NAME=ADDR/LEN`, e.g. `docker0=172.17.0.1/16`.
    pub fn parse_iface_addr(s: &str) -> Result<IfAddr, String> {
        let Some((name, a)) = s.split_once('=') else {
            return Err(format!(
                "`{s}`: expected NAME=ADDR/LEN, e.g. docker0=172.17.0.1/16"
            ));
        };
        if !valid_name(name) {
            return Err(format!(
                "`{name}`: expected an interface name (1-15 characters)"
            ));
        }
        let (addr, len) = prefix(a)?;
        Ok(IfAddr {
            dev: name.to_string(),
            addr,
            len,
        })
    }

    /// `DEST/LEN [via GW] dev NAME` or `default [via GW] dev NAME` (what `ip route` prints),
    /// or `blackhole|unreachable|prohibit|throw DEST/LEN` (a `throw` route of the main table
    /// ends the lookup there: no route, as policy rules fwcheck does not know leave it), or
    /// `local DEST/LEN dev NAME` (its prefix the host's, through
    /// [`HostConfig::add_route`]).
    pub fn parse_route(s: &str) -> Result<Route, String> {
        let mut w = s.split_whitespace().peekable();
        let mut drop_route = false;
        let mut local = false;
        let mut kind = None;
        if let Some(&k) = w.peek() {
            if matches!(k, "blackhole" | "unreachable" | "prohibit" | "throw") {
                drop_route = true;
                kind = Some(match k {
                    "blackhole" => DropRoute::Blackhole,
                    "unreachable" => DropRoute::Unreachable,
                    "prohibit" => DropRoute::Prohibit,
                    _ => DropRoute::Throw,
                });
                w.next();
            } else if k == "local" {
                local = true;
                w.next();
            }
        }
        let Some(dest) = w.next() else {
            return Err(
                "expected DEST/LEN [via GW] dev NAME, e.g. `default via 192.0.2.1 dev eth0`".into(),
            );
        };
        let (dest, len) = if dest == "default" {
            // The family follows the gateway if any; IPv4 otherwise ("default" alone).
            (IpAddr::from([0u8, 0, 0, 0]), 0)
        } else {
            prefix(dest)?
        };
        let mut r = Route {
            dest,
            len,
            via: None,
            dev: None,
            metric: 0,
            local,
            kind,
        };
        while let Some(k) = w.next() {
            let Some(v) = w.next() else {
                return Err(format!("`{k}`: expected a value after it"));
            };
            match k {
                "via" => {
                    let gw: IpAddr = v
                        .parse()
                        .map_err(|_| format!("`{v}`: expected a gateway address"))?;
                    if len == 0 && gw.is_ipv6() && r.dest.is_ipv4() {
                        r.dest = IpAddr::from([0u16; 8]);
                    }
                    r.via = Some(gw);
                }
                "dev" => {
                    if !valid_name(v) {
                        return Err(format!("`{v}`: expected an interface name"));
                    }
                    r.dev = Some(v.to_string());
                }
                "metric" => {
                    r.metric = v.parse().map_err(|_| format!("`{v}`: expected a number"))?
                }
                _ => {
                    return Err(format!(
                        "`{k}`: expected `via GW`, `dev NAME` or `metric N`"
                    ))
                }
            }
        }
        if r.dev.is_none() && !drop_route {
            return Err(format!("`{s}`: expected `dev NAME`"));
        }
        // `ip -6 route` prints the kernel's placeholder `dev lo` on such routes (kernel hunt:
        // they were taken for routes out of lo, and their packets forwarded).
        if drop_route {
            r.dev = None;
        }
        if r.via.is_some_and(|g| g.is_ipv4() != r.dest.is_ipv4()) {
            return Err(format!(
                "`{s}`: gateway and destination of different families"
            ));
        }
        Ok(r)
    }

    /// Reads `ip -j addr`, `ip -j route` and/or `ip -j maddr` output: a JSON array of one of
    /// them, or an object `{"addr": [...], "route": [...], "maddr": [...]}`. `name` is the file
    /// name for error messages. A `maddr` listing makes the host's groups known.
    pub fn load_json(&mut self, name: &str, text: &str) -> Result<(), String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "{name}:{}:{}: {e} (expected the JSON of `ip -j addr` / `ip -j route`)",
                e.line(),
                e.column()
            )
        })?;
        let bad = |what: String| format!("{name}: {what}");
        match &v {
            serde_json::Value::Object(o) => {
                for k in o.keys() {
                    if !["addr", "route", "maddr", "neigh", "sysctl", "rule", "rule6"]
                        .contains(&k.as_str())
                    {
                        return Err(bad(format!(
                            "unexpected key `{k}`: expected {{\"addr\": [...], \"route\": [...], \
                             \"maddr\": [...], \"neigh\": [...], \"rule\": [...], \"rule6\": [...], \
                             \"sysctl\": {{...}}}}"
                        )));
                    }
                }
                for (i, k) in ["rule", "rule6"].iter().enumerate() {
                    if let Some(r) = o.get(*k) {
                        self.fwmark_rules[i] = Some(json_fwmark_rules(k, r).map_err(bad)?);
                    }
                }
                if let Some(s) = o.get("sysctl") {
                    let Some(keys) = s.as_object() else {
                        return Err(bad("`sysctl`: expected an object {\"KEY\": VALUE}".into()));
                    };
                    for (k, v) in keys {
                        let v = match v {
                            serde_json::Value::String(s) => s.trim().to_string(),
                            other => other.to_string(),
                        };
                        self.set_sysctl(k, &v)
                            .map_err(|e| bad(format!("`sysctl`: {e}")))?;
                    }
                }
                if let Some(m) = o.get("maddr") {
                    self.json_maddrs(m).map_err(bad)?;
                }
                if let Some(n) = o.get("neigh") {
                    self.json_neigh(n).map_err(bad)?;
                }
                if let Some(a) = o.get("addr") {
                    self.json_addrs(a).map_err(bad)?;
                }
                if let Some(r) = o.get("route") {
                    self.json_routes(r).map_err(bad)?;
                }
                Ok(())
            }
            serde_json::Value::Array(items) => {
                let is_addr = items.iter().any(|i| i.get("addr_info").is_some());
                if is_addr {
                    self.json_addrs(&v).map_err(bad)
                } else if items.iter().any(|i| i.get("maddr").is_some()) {
                    self.json_maddrs(&v).map_err(bad)
                } else {
                    self.json_routes(&v).map_err(bad)
                }
            }
            _ => Err(bad(
                "expected a JSON array (`ip -j addr` or `ip -j route`) or an object \
                 {\"addr\": [...], \"route\": [...]}"
                    .into(),
            )),
        }
    }

    /// Whether a policy rule may route a packet of this family (`v6`) carrying `mark` by
    /// another table than the main one (`fib_rules_lookup` → `fib4_rule_match` /
    /// `fib6_rule_match`: `(mark ^ fwmark) & fwmask`, inverted by `not`): unknown (`true`)
    /// without the family's `ip -j rule`, else whether one of its mark selectors takes it.
    pub(crate) fn mark_may_route(&self, v6: bool, mark: u32) -> bool {
        self.fwmark_rules[v6 as usize].as_ref().is_none_or(|rules| {
            rules
                .iter()
                .any(|&(value, mask, not)| ((mark ^ value) & mask == 0) != not)
        })
    }

    fn json_addrs(&mut self, v: &serde_json::Value) -> Result<(), String> {
        let Some(items) = v.as_array() else {
            return Err("`addr`: expected the array `ip -j addr` prints".into());
        };
        for (i, it) in items.iter().enumerate() {
            let Some(dev) = it.get("ifname").and_then(|n| n.as_str()) else {
                return Err(format!("addr entry {}: expected an \"ifname\"", i + 1));
            };
            let flags = it.get("flags").and_then(|f| f.as_array());
            if flags.is_some_and(|f| f.iter().any(|x| x.as_str() == Some("NOARP")))
                && !self.noarp.iter().any(|n| n == dev)
            {
                self.noarp.push(dev.to_string());
            }
            if let Some(mac) = it
                .get("address")
                .and_then(|m| m.as_str())
                .and_then(parse_mac)
                .filter(|m| *m != [0; 6] && !self.macs.contains(m))
            {
                self.macs.push(mac);
            }
            if let Some(ix) = it.get("ifindex").and_then(|m| m.as_u64()) {
                if let Ok(ix) = u32::try_from(ix) {
                    self.ifindexes.retain(|(i, _)| *i != ix);
                    self.ifindexes.push((ix, dev.to_string()));
                }
            }
            let info = it.get("linkinfo");
            let vlan_id = info
                .filter(|i| i.get("info_kind").and_then(|k| k.as_str()) == Some("vlan"))
                .and_then(|i| i.get("info_data")?.get("id")?.as_u64())
                .and_then(|v| u16::try_from(v).ok());
            let has_flag =
                |name: &str| flags.is_some_and(|f| f.iter().any(|x| x.as_str() == Some(name)));
            let link = IfLink {
                dev: dev.to_string(),
                master: it
                    .get("master")
                    .and_then(|m| m.as_str())
                    .map(str::to_string),
                // A veth whose peer is in another namespace names it with `link_netnsid`.
                link: it
                    .get("link")
                    .and_then(|m| m.as_str())
                    .filter(|_| it.get("link_netnsid").is_none())
                    .map(str::to_string),
                vlan_id,
                // `ip -d` prints details for every device (`promiscuity` among them).
                detailed: info.is_some() || it.get("promiscuity").is_some(),
                vrf: has_flag("MASTER") && has_flag("NOARP"),
                mac: it
                    .get("address")
                    .and_then(|m| m.as_str())
                    .and_then(parse_mac),
                bridge_port: it.get("master").is_some() && !has_flag("SLAVE"),
                lower_up: has_flag("LOWER_UP"),
            };
            self.links.retain(|l| l.dev != dev);
            self.links.push(link);
            self.links_known = true;
            if let Some(m) = it.get("mtu").and_then(|m| m.as_u64()) {
                let m = u32::try_from(m)
                    .map_err(|_| format!("addr entry {} ({dev}): mtu {m} is too large", i + 1))?;
                self.set_mtu(dev, m);
            }
            let Some(infos) = it.get("addr_info").and_then(|a| a.as_array()) else {
                continue;
            };
            for info in infos {
                let (Some(local), Some(len)) = (
                    info.get("local").and_then(|l| l.as_str()),
                    info.get("prefixlen").and_then(|l| l.as_u64()),
                ) else {
                    return Err(format!(
                        "addr entry {} ({dev}): expected \"local\" and \"prefixlen\" in addr_info",
                        i + 1
                    ));
                };
                let a = Self::parse_iface_addr(&format!("{dev}={local}/{len}"))
                    .map_err(|e| format!("addr entry {} ({dev}): {e}", i + 1))?;
                self.add_addr(a);
            }
        }
        Ok(())
    }

    /// `ip -j maddr`: `[{"ifname": "eth0", "maddr": [{"family": "inet", "address":
    /// "224.0.0.1"}, {"link": "01:00:5e:00:00:01"}, ...]}, ...]` (link-layer lines skipped).
    fn json_maddrs(&mut self, v: &serde_json::Value) -> Result<(), String> {
        let Some(items) = v.as_array() else {
            return Err("`maddr`: expected the array `ip -j maddr` prints".into());
        };
        self.groups_known = true;
        for (i, it) in items.iter().enumerate() {
            let Some(dev) = it.get("ifname").and_then(|n| n.as_str()) else {
                return Err(format!("maddr entry {}: expected an \"ifname\"", i + 1));
            };
            let Some(list) = it.get("maddr").and_then(|a| a.as_array()) else {
                continue;
            };
            for m in list {
                let Some(a) = m.get("address").and_then(|a| a.as_str()) else {
                    continue;
                };
                self.parse_join(&format!("{dev}={a}"))
                    .map_err(|e| format!("maddr entry {} ({dev}): {e}", i + 1))?;
            }
        }
        Ok(())
    }

    /// A sysctl of the host (`--sysctl KEY=VALUE`, the `"sysctl"` object): those of
    /// `br_netfilter` that decide whether bridged frames cross iptables,
    /// `net.bridge.bridge-nf-call-iptables` and `net.bridge.bridge-nf-call-ip6tables`, 0 or 1.
    pub fn set_sysctl(&mut self, key: &str, value: &str) -> Result<(), String> {
        let key = key.trim().replace('/', ".");
        let family = match key.as_str() {
            "net.bridge.bridge-nf-call-iptables" => 0,
            "net.bridge.bridge-nf-call-ip6tables" => 1,
            _ => {
                return Err(format!(
                    "`{key}`: not a sysctl fwcheck reads (net.bridge.bridge-nf-call-iptables, \
                     net.bridge.bridge-nf-call-ip6tables)"
                ))
            }
        };
        self.bridge_nf_off[family] = match value {
            "0" => true,
            "1" => false,
            _ => return Err(format!("`{key}`: expected 0 or 1, not `{value}`")),
        };
        Ok(())
    }

    /// `--sysctl KEY=VALUE`.
    pub fn parse_sysctl(&mut self, s: &str) -> Result<(), String> {
        let Some((k, v)) = s.split_once('=') else {
            return Err("expected KEY=VALUE".into());
        };
        self.set_sysctl(k, v.trim())
    }

    /// Whether `br_netfilter` runs iptables (`v6`: ip6tables) for the frames of a bridge
    /// (`brnf_call_iptables`, `brnf_call_ip6tables`).
    pub fn bridge_nf_calls(&self, v6: bool) -> bool {
        !self.bridge_nf_off[v6 as usize]
    }

    /// `ip -j neigh`: `[{"dst": "2001:db8::2", "dev": "eth0", "lladdr": "…", "state":
    /// ["PERMANENT"]}, ...]`; the entries that stay valid are kept.
    fn json_neigh(&mut self, v: &serde_json::Value) -> Result<(), String> {
        let Some(items) = v.as_array() else {
            return Err("`neigh`: expected the array `ip -j neigh` prints".into());
        };
        let mut kept = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let s = |k: &str| it.get(k).and_then(|x| x.as_str());
            let (Some(dst), Some(dev)) = (s("dst"), s("dev")) else {
                return Err(format!(
                    "neigh entry {}: expected \"dst\" and \"dev\"",
                    i + 1
                ));
            };
            let dst: IpAddr = dst
                .parse()
                .map_err(|e| format!("neigh entry {} ({dst}): {e}", i + 1))?;
            let lasting = it
                .get("state")
                .and_then(|x| x.as_array())
                .is_some_and(|st| {
                    st.iter()
                        .any(|x| matches!(x.as_str(), Some("PERMANENT" | "NOARP")))
                });
            if lasting {
                kept.push((dev.to_string(), dst));
            }
        }
        self.neigh_permanent = Some(kept);
        Ok(())
    }

    fn json_routes(&mut self, v: &serde_json::Value) -> Result<(), String> {
        let Some(items) = v.as_array() else {
            return Err("`route`: expected the array `ip -j route` prints".into());
        };
        for (i, it) in items.iter().enumerate() {
            let s = |k: &str| it.get(k).and_then(|x| x.as_str());
            let Some(dst) = s("dst") else {
                return Err(format!("route entry {}: expected a \"dst\"", i + 1));
            };
            let mut line = String::new();
            if let Some(t @ ("blackhole" | "unreachable" | "prohibit" | "throw" | "local")) =
                s("type")
            {
                line.push_str(t);
                line.push(' ');
            } else if s("type").is_some_and(|t| t != "unicast") {
                // broadcast/local/multicast routes live in the local table; not needed here.
                continue;
            }
            line.push_str(dst);
            if let Some(g) = s("gateway") {
                line.push_str(" via ");
                line.push_str(g);
            }
            if let Some(d) = s("dev") {
                line.push_str(" dev ");
                line.push_str(d);
            }
            if let Some(m) = it.get("metric").and_then(|m| m.as_u64()) {
                line.push_str(&format!(" metric {m}"));
            }
            let r = Self::parse_route(&line)
                .map_err(|e| format!("route entry {} (`{line}`): {e}", i + 1))?;
            self.add_route(r);
        }
        Ok(())
    }

    /// The device of the `local` route `a` falls in, if any (see [`HostConfig::local_routes`]).
    pub(crate) fn local_route(&self, a: IpAddr) -> Option<&str> {
        self.local_routes
            .iter()
            .filter(|(n, l, _)| contains(*n, *l, a))
            .max_by_key(|(_, l, _)| *l)
            .map(|(_, _, d)| d.as_str())
    }

    /// The output interface for `dst` (`fib_lookup`): longest prefix of the routes and of the
    /// connected subnets of the addresses, lowest metric among equals. `None`: no route, or a
    /// blackhole/unreachable/prohibit route.
    pub fn route(&self, dst: IpAddr) -> Option<(&str, Option<IpAddr>)> {
        let r = self.best_route(dst)?;
        Some((r.dev?, r.via))
    }

    /// Whether the routes given can answer for `dst`'s family: none given at all (the
    /// connected subnets alone), or some of that family. `ip -j route` lists IPv4 alone, and a
    /// host with IPv6 addresses always has IPv6 routes (their subnets', `fe80::/64`), so
    /// routes of the other family only say nothing of IPv6's (a default route may exist).
    pub(crate) fn knows_routes_for(&self, dst: IpAddr) -> bool {
        self.routes.is_empty()
            || self
                .routes
                .iter()
                .any(|r| r.dest.is_ipv4() == dst.is_ipv4())
    }

    /// Why no device takes a packet to `dst`: `None` when a route has one; `Some(None)` when no
    /// route at all covers it, `Some(Some(kind))` when a drop route does.
    pub(crate) fn unrouted(&self, dst: IpAddr) -> Option<Option<DropRoute>> {
        match self.best_route(dst) {
            None => Some(None),
            Some(r) if r.dev.is_none() => Some(r.kind),
            Some(_) => None,
        }
    }

    /// The longest-prefix match for `dst` among the connected subnets and the routes (lowest
    /// metric among equals), blackhole/unreachable/prohibit ones included (no `dev`).
    fn best_route(&self, dst: IpAddr) -> Option<BestRoute<'_>> {
        let connected = self.addrs.iter().map(|a| BestRoute {
            len: a.len,
            metric: 0,
            via: None,
            dev: Some(a.dev.as_str()),
            net: a.addr,
            kind: None,
        });
        let routes = self.routes.iter().map(|r| BestRoute {
            len: r.len,
            metric: r.metric,
            via: r.via,
            dev: r.dev.as_deref(),
            net: r.dest,
            kind: r.kind,
        });
        connected
            .chain(routes)
            .filter(|r| contains(r.net, r.len, dst))
            .fold(None, |best: Option<BestRoute<'_>>, r| match best {
                Some(b) if !(r.len > b.len || (r.len == b.len && r.metric < b.metric)) => Some(b),
                _ => Some(r),
            })
    }

    /// Whether the host has a route to `dst`: `None` when the configuration lists no route of
    /// `dst`'s family (`ip -j route` without `ip -6 -j route`: not known).
    pub(crate) fn reachable(&self, dst: IpAddr) -> Option<bool> {
        self.routes
            .iter()
            .any(|r| r.dest.is_ipv4() == dst.is_ipv4())
            .then(|| self.route_len(dst).is_some())
    }

    /// The prefix length of the route [`HostConfig::route`] picks for `dst`.
    pub(crate) fn route_len(&self, dst: IpAddr) -> Option<u8> {
        self.best_route(dst)
            .filter(|r| r.dev.is_some())
            .map(|r| r.len)
    }

    /// A route to `dst` on device `dev` exists (a connected subnet of one of its addresses, or a
    /// route through it): what a lookup restricted to that device (`RT6_LOOKUP_F_IFACE`, a
    /// link-local address) finds.
    pub(crate) fn has_route_on(&self, dev: &str, dst: IpAddr) -> bool {
        self.addrs
            .iter()
            .any(|a| a.dev == dev && contains(a.addr, a.len, dst))
            || self
                .routes
                .iter()
                .any(|r| r.dev.as_deref() == Some(dev) && contains(r.dest, r.len, dst))
    }

    /// The device the host's traffic is on, for packets no capture names a device for (the
    /// static checks' synthetic sessions, neighbour discovery): the one holding the first of
    /// `hosts` a device other than lo holds, else the default route's. `None` without
    /// addresses.
    pub fn main_device(&self, hosts: &[IpAddr]) -> Option<&str> {
        let held = hosts.iter().find_map(|h| {
            self.addrs
                .iter()
                .find(|a| a.addr == *h && a.dev != "lo")
                .map(|a| a.dev.as_str())
        });
        held.or_else(|| {
            let any: IpAddr = match hosts.first() {
                Some(IpAddr::V6(_)) => std::net::Ipv6Addr::UNSPECIFIED.into(),
                _ => std::net::Ipv4Addr::UNSPECIFIED.into(),
            };
            self.route(any).map(|(dev, _)| dev).filter(|d| *d != "lo")
        })
    }

    /// The name of the interface with index `ix`, when the configuration gives it.
    pub fn ifname_of(&self, ix: u32) -> Option<&str> {
        self.ifindexes
            .iter()
            .find(|(i, _)| *i == ix)
            .map(|(_, n)| n.as_str())
    }

    /// Interface `dev`'s MTU, when known.
    pub fn mtu(&self, dev: &str) -> Option<u32> {
        self.mtus.iter().find(|(n, _)| n == dev).map(|(_, m)| *m)
    }

    /// Sets interface `dev`'s MTU (the last one given wins).
    pub fn set_mtu(&mut self, dev: &str, mtu: u32) {
        self.mtus.retain(|(n, _)| n != dev);
        self.mtus.push((dev.to_string(), mtu));
    }

    /// `NAME=MTU` (`--mtu`), e.g. `lan0=1280`: 68 to 65535 bytes, as `ip link set mtu` takes
    /// for IPv4.
    pub fn parse_mtu(s: &str) -> Result<(String, u32), String> {
        let Some((name, m)) = s.split_once('=') else {
            return Err(format!("`{s}`: expected NAME=MTU, e.g. `lan0=1280`"));
        };
        if !valid_name(name) {
            return Err(format!("`{name}`: not an interface name"));
        }
        match m.parse::<u32>() {
            Ok(v) if (68..=65535).contains(&v) => Ok((name.to_string(), v)),
            _ => Err(format!("`{m}`: expected an MTU from 68 to 65535 bytes")),
        }
    }

    /// An address of device `dev` for a packet to or from `toward`: of its family, not
    /// link-local unless `toward` is, one whose subnet holds `toward` first.
    pub(crate) fn addr_on(&self, dev: &str, toward: IpAddr) -> Option<IpAddr> {
        let link_local = |a: IpAddr| matches!(a, IpAddr::V6(v) if v.is_unicast_link_local());
        let cands = || {
            self.addrs.iter().filter(move |a| {
                a.dev == dev
                    && a.addr.is_ipv4() == toward.is_ipv4()
                    && link_local(a.addr) == link_local(toward)
            })
        };
        cands()
            .find(|a| contains(a.addr, a.len, toward))
            .or_else(|| cands().next())
            .map(|a| a.addr)
    }

    /// The source address the host gives a packet it originates to `dst` without one of its
    /// own (an ICMP error about a forwarded packet: `__icmp_send` leaves `saddr` 0 and the
    /// route lookup picks it): an address of the route's output interface, of `dst`'s family,
    /// one whose subnet holds `dst` first (`inet_select_addr`); IPv6 link-local addresses only
    /// for a link-local `dst`. `None` without a route or such an address.
    pub(crate) fn source_for(&self, dst: IpAddr) -> Option<IpAddr> {
        let (dev, _) = self.route(dst)?;
        self.addr_on(dev, dst)
    }

    /// Reverse-path filtering of an IPv4 packet from `src` in on `indev` (`fib_validate_source`
    /// after PREROUTING): the reason the kernel drops it, if it does. Without a host
    /// configuration (one interface, whose default route leads everywhere), on `lo`, for the
    /// unspecified source (its own checks) and for IPv6 (no such sysctl: ip6tables' `-m
    /// rpfilter` instead), nothing is filtered. Not modelled: an input interface without an
    /// IPv4 address, where the kernel's `last_resort` refuses even in loose mode (the oracle
    /// cannot inject on such an interface to pin it), and `accept_local`/`src_valid_mark`.
    pub(crate) fn rp_filter_drop(&self, src: IpAddr, indev: &str) -> Option<&'static str> {
        let IpAddr::V4(s) = src else {
            return None;
        };
        if self.is_empty()
            || self.from_capture
            || indev == "lo"
            || indev.is_empty()
            || s.is_unspecified()
        {
            return None;
        }
        match self.rp_filter.mode(indev) {
            0 => None,
            mode => match self.route(src) {
                // `fib_lookup` fails (`last_resort`: -EXDEV), or finds a blackhole,
                // unreachable or prohibit route (not RTN_UNICAST: -EINVAL).
                None => Some(
                    "reverse path filter: no route back to the source (rp_filter, \
                     fib_validate_source)",
                ),
                // `fib_info_nh_uses_dev` is false: strict mode refuses (-EXDEV), loose mode
                // is content with any route.
                Some((dev, _)) if mode == 1 && dev != indev => Some(
                    "reverse path filter: the route back to the source leaves by another \
                     interface (rp_filter 1, strict; fib_validate_source)",
                ),
                Some(_) => None,
            },
        }
    }

    /// The device a frame captured on `dev` reaches IP on: the bridge or bond it is a port of
    /// (`br_handle_frame` → `br_pass_frame_up`, `bond_handle_frame`: `netif_receive_skb` again
    /// on the master), following masters up (a bond in a bridge); `None` when that is `dev`
    /// itself (not a port, or a VRF's, whose packets keep their input device, or an Open
    /// vSwitch datapath's).
    pub fn ip_master(&self, dev: &str) -> Option<&str> {
        let mut cur: Option<&str> = None;
        for _ in 0..8 {
            let at = cur.unwrap_or(dev);
            let Some(m) = self
                .links
                .iter()
                .find(|l| l.dev == at)
                .and_then(|l| l.master.as_deref())
            else {
                break;
            };
            let vrf = self.links.iter().any(|l| l.dev == m && l.vrf);
            if vrf || m == "ovs-system" {
                break;
            }
            cur = Some(m);
        }
        cur
    }

    /// Whether a unicast frame to link address `dst` received on `dev` is for another host
    /// (`eth_type_trans`: `PACKET_OTHERHOST`, which `ip_rcv_core` drops; a capture in
    /// promiscuous mode shows such frames): `dev`'s own address is known and is not `dst`, no
    /// macvlan on `dev` owns `dst` (`macvlan_handle_frame` passes a frame for none of them back
    /// to `dev`, still another host's), and `dev` is neither a port of a bridge or bond nor has
    /// ports (a bridge takes frames for any address, to forward them), nor carries a device
    /// sharing its address that is not a known VLAN (a passthru macvlan or an ipvlan, which
    /// may take frames for any address).
    ///
    /// `dev` is `None` for a capture that does not name its device (a classic pcap): the
    /// frame may be any device's, and is another host's when no device of the host has `dst`
    /// and every device is such a plain one.
    pub fn other_host(&self, dev: Option<&str>, dst: [u8; 6]) -> bool {
        if dst[0] & 1 == 1 {
            return false;
        }
        let plain = |l: &IfLink| {
            l.master.is_none()
                && !self.links.iter().any(|c| {
                    c.master.as_deref() == Some(l.dev.as_str())
                        || (c.link.as_deref() == Some(l.dev.as_str())
                            && c.mac == l.mac
                            && c.vlan_id.is_none())
                })
        };
        match dev.and_then(|dev| self.links.iter().find(|l| l.dev == dev)) {
            Some(link) => {
                link.mac.is_some_and(|own| own != dst)
                    && plain(link)
                    && self.macvlan_of(&link.dev, dst).is_none()
            }
            None => {
                !self.macs.is_empty() && !self.macs.contains(&dst) && self.links.iter().all(plain)
            }
        }
    }

    /// Whether some interface is a port of `master`, which IP sees its frames on.
    pub fn has_port_of(&self, master: &str) -> bool {
        self.links
            .iter()
            .any(|l| l.master.is_some() && self.ip_master(&l.dev) == Some(master))
    }

    /// The bridge whose port a frame captured on `dev` came in through (`br_handle_frame`):
    /// `dev`'s master when `dev` is a bridge port, `dev` itself when it is a bridge with ports
    /// (a frame a bridge receives came in through one of them). `None` for a VRF's or Open
    /// vSwitch's ports, a bond's, and every other device.
    pub fn rx_bridge<'a>(&'a self, dev: &'a str) -> Option<&'a str> {
        let bridge = match self.links.iter().find(|l| l.dev == dev) {
            Some(l) if l.bridge_port => l.master.as_deref()?,
            Some(_)
                if self
                    .links
                    .iter()
                    .any(|l| l.bridge_port && l.master.as_deref() == Some(dev)) =>
            {
                dev
            }
            _ => return None,
        };
        let vrf = self.links.iter().any(|l| l.dev == bridge && l.vrf);
        (!vrf && bridge != "ovs-system").then_some(bridge)
    }

    /// Whether the capture being replayed shows every port of `bridge` (a pcapng naming them
    /// all, or `tcpdump -i any`, whose cooked header tells a port's outgoing copies): a frame
    /// seen on a port then came in by it — the copies the bridge sends out of its other ports
    /// are later, and not judged again. A capture of some ports (a classic pcap of one) may
    /// show a frame the bridge sent out of that port, which came in by another.
    pub fn captures_every_port(&self, bridge: &str) -> bool {
        match &self.captured {
            CapturedDevices::All => true,
            CapturedDevices::One => false,
            CapturedDevices::Named(n) => self
                .links
                .iter()
                .filter(|l| l.bridge_port && l.master.as_deref() == Some(bridge))
                .all(|l| n.contains(&l.dev)),
        }
    }

    /// Whether `bridge` forwards a unicast frame for link address `dst` rather than passing it
    /// up (`br_handle_frame_finish`: no local FDB entry, those being the bridge's and its
    /// ports' own addresses): every one of them is known, and `dst` is none of them nor any
    /// other device's of the host (a macvlan on the bridge).
    pub fn bridges_past(&self, bridge: &str, dst: [u8; 6]) -> bool {
        let mut devs = self
            .links
            .iter()
            .filter(|l| l.dev == bridge || (l.bridge_port && l.master.as_deref() == Some(bridge)));
        dst[0] & 1 == 0
            && devs.all(|l| l.mac.is_some_and(|m| m != dst))
            && !self.macs.contains(&dst)
    }

    /// How many ports of `bridge` other than `except` a flooded frame (a broadcast, an
    /// unknown unicast) is sent to (`br_flood` → `should_deliver`: the port forwards, its
    /// carrier up); when `except` is the bridge itself (captured there), the input port is
    /// not known: one fewer than its ports.
    pub fn flood_ports(&self, bridge: &str, except: &str) -> usize {
        let ports = self.bridge_ports_up(bridge);
        if except == bridge {
            ports.count().saturating_sub(1)
        } else {
            ports.filter(|l| l.dev != except).count()
        }
    }

    /// The ports of `bridge` whose link is up, in the configuration's order (`br_flood`'s walk).
    pub(crate) fn bridge_ports_up<'a>(
        &'a self,
        bridge: &'a str,
    ) -> impl Iterator<Item = &'a IfLink> {
        self.links
            .iter()
            .filter(move |l| l.bridge_port && l.master.as_deref() == Some(bridge) && l.lower_up)
    }

    /// Whether some interface is a port of a master device IP sees its frames on.
    pub fn has_ports(&self) -> bool {
        self.links
            .iter()
            .any(|l| l.master.is_some() && self.ip_master(&l.dev).is_some())
    }

    /// The device on `dev` that owns link address `mac` when it is not `dev`'s own: a macvlan
    /// (`macvlan_handle_frame` hands a unicast frame for its address to it, and it sends
    /// through `dev` with that address as source). A VLAN device shares its parent's address,
    /// and is not one.
    pub fn macvlan_of(&self, dev: &str, mac: [u8; 6]) -> Option<&str> {
        let own = self.links.iter().find(|l| l.dev == dev).and_then(|l| l.mac);
        if own == Some(mac) || mac[0] & 1 == 1 {
            return None;
        }
        self.links
            .iter()
            .find(|l| l.link.as_deref() == Some(dev) && l.mac == Some(mac))
            .map(|l| l.dev.as_str())
    }

    /// Whether devices with link addresses of their own sit on `dev` (macvlans): a frame
    /// on `dev` addressed to none of `dev`'s may be theirs.
    pub fn has_macvlans(&self, dev: &str) -> bool {
        let own = self.links.iter().find(|l| l.dev == dev).and_then(|l| l.mac);
        self.links
            .iter()
            .any(|l| l.link.as_deref() == Some(dev) && l.mac.is_some() && l.mac != own)
    }

    /// Where a frame received on `dev` with the VLAN id `vid` (not 0) goes.
    pub fn vlan_rx(&self, dev: &str, vid: u16) -> VlanRx<'_> {
        if !self.links_known {
            return VlanRx::Unknown;
        }
        let mut on = self.links.iter().filter(|l| l.link.as_deref() == Some(dev));
        if let Some(l) = on.clone().find(|l| l.vlan_id == Some(vid)) {
            return VlanRx::Device(&l.dev);
        }
        // Devices on `dev` whose kind is unknown may be VLANs: which id, unknown.
        if on.any(|l| !l.detailed) {
            VlanRx::Unknown
        } else {
            VlanRx::NoDevice
        }
    }

    /// Index of interface `name` in [`Self::names`].
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// The mark selectors of `ip -j rule` (`key` names the listing for errors): `fwmark`,
/// `fwmask` (all ones when absent) and `not` of each rule that has a `fwmark`.
fn json_fwmark_rules(key: &str, v: &serde_json::Value) -> Result<Vec<(u32, u32, bool)>, String> {
    let Some(items) = v.as_array() else {
        return Err(format!("`{key}`: expected the array `ip -j rule` prints"));
    };
    let num = |i: usize, f: &str, x: &serde_json::Value| {
        let t = x.as_str().unwrap_or_default();
        let n = match t.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16),
            None => t.parse(),
        };
        n.map_err(|_| format!("`{key}` entry {}: bad \"{f}\" {x}", i + 1))
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let Some(m) = it.get("fwmark") else { continue };
        let value = num(i, "fwmark", m)?;
        let mask = match it.get("fwmask") {
            Some(x) => num(i, "fwmask", x)?,
            None => u32::MAX,
        };
        out.push((value, mask, it.get("not").is_some()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn mark_rules_from_ip_rule() {
        let mut h = HostConfig::default();
        // Not given: any mark may route.
        assert!(h.mark_may_route(false, 0x11));
        h.load_json(
            "h.json",
            r#"{"rule": [{"priority":0,"src":"all","table":"local"},
                         {"priority":32765,"src":"all","fwmark":"0x11","fwmask":"0xff","table":"100"},
                         {"priority":32766,"src":"all","table":"main"}],
                "rule6": [{"priority":0,"src":"all","table":"local"},
                          {"priority":32766,"src":"all","table":"main"}]}"#,
        )
        .unwrap();
        // fib_rule_match: (mark ^ fwmark) & fwmask.
        assert!(h.mark_may_route(false, 0x11) && h.mark_may_route(false, 0x711));
        assert!(!h.mark_may_route(false, 0x22) && !h.mark_may_route(false, 0x1));
        assert!(!h.mark_may_route(true, 0x11));
        // `not` (FIB_RULE_INVERT), a mark without a mask (all ones).
        h.load_json(
            "h.json",
            r#"{"rule": [{"priority":32764,"not":null,"src":"all","fwmark":"0x2","table":"101"}]}"#,
        )
        .unwrap();
        assert!(h.mark_may_route(false, 0x11) && !h.mark_may_route(false, 0x2));
        assert!(h
            .load_json("h.json", r#"{"rule": [{"fwmark": "zz"}]}"#)
            .is_err());
    }

    #[test]
    fn bridge_nf_sysctls_from_json_and_option() {
        let mut h = HostConfig::default();
        assert!(h.bridge_nf_calls(false) && h.bridge_nf_calls(true));
        h.load_json(
            "h.json",
            r#"{"sysctl": {"net.bridge.bridge-nf-call-iptables": "0",
                           "net.bridge.bridge-nf-call-ip6tables": 1}}"#,
        )
        .unwrap();
        assert!(!h.bridge_nf_calls(false) && h.bridge_nf_calls(true));
        h.parse_sysctl("net/bridge/bridge-nf-call-ip6tables=0")
            .unwrap();
        assert!(!h.bridge_nf_calls(true));
        assert!(h.parse_sysctl("net.ipv4.ip_forward=1").is_err());
        assert!(h
            .parse_sysctl("net.bridge.bridge-nf-call-iptables=2")
            .is_err());
        assert!(h.load_json("h.json", r#"{"sysctl": [1]}"#).is_err());
    }

    #[test]
    fn longest_prefix_wins_and_connected_routes_exist() {
        let mut h = HostConfig::default();
        h.add_addr(HostConfig::parse_iface_addr("eth0=192.0.2.10/24").unwrap());
        h.add_addr(HostConfig::parse_iface_addr("docker0=172.17.0.1/16").unwrap());
        h.add_route(HostConfig::parse_route("default via 192.0.2.1 dev eth0").unwrap());
        h.add_route(HostConfig::parse_route("blackhole 198.51.100.0/24").unwrap());
        assert_eq!(h.route(ip("172.17.0.2")).map(|r| r.0), Some("docker0"));
        assert_eq!(
            h.route(ip("203.0.113.9")),
            Some(("eth0", Some(ip("192.0.2.1"))))
        );
        assert_eq!(h.route(ip("192.0.2.77")).map(|r| r.0), Some("eth0"));
        assert_eq!(h.route(ip("198.51.100.1")), None);
        assert_eq!(h.route(ip("2001:db8::1")), None);
        assert_eq!(h.names, vec!["eth0", "docker0"]);
    }

    #[test]
    fn bad_specs_say_what_was_expected() {
        assert!(HostConfig::parse_iface_addr("docker0")
            .unwrap_err()
            .contains("NAME=ADDR/LEN"));
        assert!(HostConfig::parse_iface_addr("d=1.2.3.4/33")
            .unwrap_err()
            .contains("0-32"));
        assert!(HostConfig::parse_route("10.0.0.0/8 via 1.2.3.4")
            .unwrap_err()
            .contains("dev NAME"));
        assert!(HostConfig::parse_route("10.0.0.0/8 dev eth0 foo bar")
            .unwrap_err()
            .contains("expected"));
    }

    #[test]
    fn groups_the_kernel_joins_and_the_ones_given() {
        let mut h = HostConfig::default();
        h.add_addr(HostConfig::parse_iface_addr("eth0=2001:db8::10/64").unwrap());
        h.add_addr(HostConfig::parse_iface_addr("docker0=fd00::1/64").unwrap());
        let j = |h: &HostConfig, dev: &str, g: &str, router: bool, noarp: bool| {
            h.joined(dev, ip(g), &[], router, noarp)
        };
        assert_eq!(j(&h, "eth0", "224.0.0.1", false, false), Joined::Yes);
        assert_eq!(j(&h, "eth0", "ff02::1", false, false), Joined::Yes);
        assert_eq!(j(&h, "eth0", "ff02::2", false, false), Joined::Unknown);
        assert_eq!(j(&h, "eth0", "ff02::2", true, false), Joined::Yes);
        // Solicited-node groups: per interface, and none without ARP/ND.
        assert_eq!(j(&h, "eth0", "ff02::1:ff00:10", false, false), Joined::Yes);
        assert_eq!(
            j(&h, "eth0", "ff02::1:ff00:10", false, true),
            Joined::Unknown
        );
        assert_eq!(
            j(&h, "docker0", "ff02::1:ff00:10", false, false),
            Joined::Unknown
        );
        assert_eq!(
            j(&h, "docker0", "ff02::1:ff00:1", false, false),
            Joined::Yes
        );
        assert_eq!(j(&h, "eth0", "224.0.0.251", false, false), Joined::Unknown);
        h.parse_join("eth0=224.0.0.251").unwrap();
        h.parse_join("239.1.2.3").unwrap();
        assert_eq!(j(&h, "eth0", "224.0.0.251", false, false), Joined::Yes);
        assert_eq!(j(&h, "docker0", "224.0.0.251", false, false), Joined::No);
        assert_eq!(j(&h, "docker0", "239.1.2.3", false, false), Joined::Yes);
        assert_eq!(j(&h, "eth0", "ff02::1:ff00:99", false, false), Joined::No);
        let e = h.parse_join("eth0=192.0.2.1").unwrap_err();
        assert!(e.contains("not a multicast address"), "{e}");
        let e = h.parse_join("eth0=mdns").unwrap_err();
        assert!(e.contains("expected a multicast group address"), "{e}");
    }

    /// `ip -j addr` of a host with a bridge over a bond, a VRF and an Open vSwitch port: the
    /// device a frame captured on each reaches IP on.
    #[test]
    fn ports_reach_ip_on_their_master() {
        let addr = r#"[{"ifindex":2,"ifname":"eth0","flags":["BROADCAST","SLAVE","UP"],"master":"bond0","addr_info":[]},
          {"ifindex":3,"ifname":"bond0","flags":["BROADCAST","MASTER","UP"],"master":"br0"},
          {"ifindex":4,"ifname":"br0","flags":["BROADCAST","UP"],
           "addr_info":[{"family":"inet","local":"192.0.2.1","prefixlen":24}]},
          {"ifindex":5,"ifname":"eth1","flags":["BROADCAST","UP"],"master":"blue"},
          {"ifindex":6,"ifname":"blue","flags":["NOARP","MASTER","UP"]},
          {"ifindex":7,"ifname":"eth2","flags":["BROADCAST","UP"],"master":"ovs-system"},
          {"ifindex":8,"ifname":"veth1","flags":["BROADCAST","UP"],"master":"br0",
           "link_index":2,"link_netnsid":0}]"#;
        let mut h = HostConfig::default();
        h.load_json("host.json", addr).unwrap();
        assert_eq!(h.ip_master("eth0"), Some("br0"));
        assert_eq!(h.ip_master("bond0"), Some("br0"));
        assert_eq!(h.ip_master("veth1"), Some("br0"));
        assert_eq!(h.ip_master("br0"), None);
        assert_eq!(h.ip_master("eth1"), None, "a VRF's port keeps its packets");
        assert_eq!(h.ip_master("eth2"), None, "an Open vSwitch datapath");
        assert!(h.has_ports());
        // A loop of masters (no such host) ends.
        let mut l = HostConfig::default();
        l.load_json(
            "h",
            r#"[{"ifname":"a","master":"b","addr_info":[]},{"ifname":"b","master":"a"}]"#,
        )
        .unwrap();
        assert!(l.ip_master("a").is_some());
    }

    /// Where a tagged frame goes: the VLAN device `ip -d -j addr` says carries its id; none
    /// (a device list with no VLAN on the interface); unknown (`ip -j addr` without details
    /// shows a device on the interface, its id unknown; no listing at all).
    #[test]
    fn a_tagged_frame_goes_to_its_vlan_device_or_nowhere() {
        let detailed = r#"[{"ifname":"eth0","promiscuity":0,"addr_info":[]},
          {"ifname":"eth0.100","link":"eth0","promiscuity":0,
           "linkinfo":{"info_kind":"vlan","info_data":{"protocol":"802.1Q","id":100}}},
          {"ifname":"mv0","link":"eth0","promiscuity":0,
           "linkinfo":{"info_kind":"macvlan","info_data":{"mode":"bridge"}}}]"#;
        let mut h = HostConfig::default();
        h.load_json("host.json", detailed).unwrap();
        assert_eq!(h.vlan_rx("eth0", 100), VlanRx::Device("eth0.100"));
        assert_eq!(h.vlan_rx("eth0", 7), VlanRx::NoDevice);
        assert_eq!(h.vlan_rx("eth1", 100), VlanRx::NoDevice);
        let plain = r#"[{"ifname":"eth0","addr_info":[]},{"ifname":"eth0.100","link":"eth0"}]"#;
        let mut p = HostConfig::default();
        p.load_json("host.json", plain).unwrap();
        assert_eq!(p.vlan_rx("eth0", 100), VlanRx::Unknown);
        assert_eq!(p.vlan_rx("eth1", 100), VlanRx::NoDevice);
        assert_eq!(HostConfig::default().vlan_rx("eth0", 100), VlanRx::Unknown);
    }

    /// A macvlan has a link address of its own on its parent; a VLAN device shares its
    /// parent's. Frames to a group address belong to no one device.
    #[test]
    fn a_macvlan_is_known_by_its_link_address() {
        let addr = r#"[{"ifname":"eth0","address":"02:00:00:00:00:01","addr_info":[]},
          {"ifname":"mv0","link":"eth0","address":"02:00:00:00:00:11"},
          {"ifname":"eth0.7","link":"eth0","address":"02:00:00:00:00:01"}]"#;
        let mut h = HostConfig::default();
        h.load_json("host.json", addr).unwrap();
        let mac = |s: &str| parse_mac(s).unwrap();
        assert_eq!(h.macvlan_of("eth0", mac("02:00:00:00:00:11")), Some("mv0"));
        assert_eq!(h.macvlan_of("eth0", mac("02:00:00:00:00:01")), None);
        assert_eq!(h.macvlan_of("eth0", mac("ff:ff:ff:ff:ff:ff")), None);
        assert_eq!(h.macvlan_of("mv0", mac("02:00:00:00:00:11")), None);
        assert!(h.has_macvlans("eth0"));
        assert!(!h.has_macvlans("mv0"));
    }

    #[test]
    fn reads_ip_maddr_json_and_noarp_flags() {
        let maddr = r#"[{"ifindex":1,"ifname":"lo","maddr":[{"family":"inet","address":"224.0.0.1"}]},
          {"ifindex":2,"ifname":"eth0","maddr":[{"link":"01:00:5e:00:00:fb"},
             {"family":"inet","address":"224.0.0.251"},{"family":"inet6","address":"ff02::fb"}]}]"#;
        let addr = r#"[{"ifindex":5,"ifname":"wg0","flags":["POINTOPOINT","NOARP","UP"],
          "addr_info":[{"family":"inet6","local":"fd00::5","prefixlen":64}]}]"#;
        let mut h = HostConfig::default();
        h.load_json("m.json", maddr).unwrap();
        assert!(h.groups_known);
        assert_eq!(h.groups.len(), 3);
        assert_eq!(
            h.joined("eth0", ip("ff02::fb"), &[], false, false),
            Joined::Yes
        );
        assert_eq!(
            h.joined("lo", ip("ff02::fb"), &[], false, false),
            Joined::No
        );
        let mut h2 = HostConfig::default();
        h2.load_json(
            "all.json",
            &format!("{{\"addr\": {addr}, \"maddr\": {maddr}}}"),
        )
        .unwrap();
        assert_eq!(h2.noarp, ["wg0"]);
        assert_eq!(
            h2.joined("wg0", ip("ff02::1:ff00:5"), &[], false, false),
            Joined::No
        );
        let e = HostConfig::default()
            .load_json(
                "m.json",
                r#"[{"ifname":"eth0","maddr":[{"address":"10.0.0.1"}]}]"#,
            )
            .unwrap_err();
        assert!(e.contains("maddr entry 1 (eth0)"), "{e}");
    }

    #[test]
    fn reads_ip_json() {
        let addr = r#"[{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
          {"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet","local":"192.0.2.10","prefixlen":24},
             {"family":"inet6","local":"2001:db8::10","prefixlen":64}]},
          {"ifindex":3,"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16}]}]"#;
        let route = r#"[{"dst":"default","gateway":"192.0.2.1","dev":"eth0","protocol":"static"},
          {"dst":"172.17.0.0/16","dev":"docker0","protocol":"kernel","scope":"link","prefsrc":"172.17.0.1"}]"#;
        let mut h = HostConfig::default();
        h.load_json(
            "h.json",
            &format!("{{\"addr\": {addr}, \"route\": {route}}}"),
        )
        .unwrap();
        assert_eq!(h.addrs.len(), 4);
        assert_eq!(h.routes.len(), 2);
        let mut h2 = HostConfig::default();
        h2.load_json("a.json", addr).unwrap();
        h2.load_json("r.json", route).unwrap();
        assert_eq!(h, h2);
        let e = HostConfig::default()
            .load_json("x.json", "[\n{\"dst\": }]")
            .unwrap_err();
        assert!(e.starts_with("x.json:2:"), "{e}");
        let e = HostConfig::default()
            .load_json("x.json", "{\"addrs\": []}")
            .unwrap_err();
        assert!(e.contains("unexpected key `addrs`"), "{e}");
    }
}
