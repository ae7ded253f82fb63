//! The host's ipsets, read from `ipset save` output (`--ipset FILE`), and the kernel's test of a
//! packet against one (`ip_set_test` with the type's `kadt`), for `-m set` and `-j SET`.
//!
//! Mirrors `net/netfilter/ipset/`: `ip_set_core.c` (`ip_set_test`: the set's family must be the
//! packet's, and the match must give at least as many src/dst flags as the set has dimensions),
//! `ip_set_hash_gen.h` (`mtype_test_cidrs`: for net types the most specific network that holds
//! the address decides, and an element flagged `nomatch` answers "no" — "yes" with
//! `--return-nomatch`, which also turns a plain element's "yes" into "no"),
//! `ip_set_getport.c` (ports of TCP, UDP, UDP-Lite, SCTP and DCCP; ICMP type/code),
//! `ip_set_bitmap_port.c` and `ip_set_list_set.c` (the member sets in order, first match).
//!
//! Types: `hash:ip` (with `netmask`), `hash:net`, `hash:ip,port`, `hash:net,port`,
//! `hash:ip,port,ip`, `hash:ip,port,net`, `hash:net,iface`, `bitmap:ip`, `bitmap:port`,
//! `list:set`. Element timeouts count from the capture's first packet (save the sets when the
//! capture starts); packet and byte counters are not kept.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::netfilter::Family;
use crate::packet::{proto, Packet, L4};

/// One dimension of a set type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dim {
    Ip,
    Net,
    Port,
    Iface,
    Set,
}

/// A set type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    HashIp,
    HashNet,
    HashIpPort,
    HashNetPort,
    HashIpPortIp,
    HashIpPortNet,
    HashNetIface,
    BitmapIp,
    BitmapPort,
    ListSet,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "hash:ip" => Kind::HashIp,
            "hash:net" => Kind::HashNet,
            "hash:ip,port" => Kind::HashIpPort,
            "hash:net,port" => Kind::HashNetPort,
            "hash:ip,port,ip" => Kind::HashIpPortIp,
            "hash:ip,port,net" => Kind::HashIpPortNet,
            "hash:net,iface" => Kind::HashNetIface,
            "bitmap:ip" => Kind::BitmapIp,
            "bitmap:port" => Kind::BitmapPort,
            "list:set" => Kind::ListSet,
            _ => return None,
        })
    }

    /// The type's name as `ipset` writes it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::HashIp => "hash:ip",
            Kind::HashNet => "hash:net",
            Kind::HashIpPort => "hash:ip,port",
            Kind::HashNetPort => "hash:net,port",
            Kind::HashIpPortIp => "hash:ip,port,ip",
            Kind::HashIpPortNet => "hash:ip,port,net",
            Kind::HashNetIface => "hash:net,iface",
            Kind::BitmapIp => "bitmap:ip",
            Kind::BitmapPort => "bitmap:port",
            Kind::ListSet => "list:set",
        }
    }

    /// The dimensions, in order.
    pub(crate) fn dims(self) -> &'static [Dim] {
        match self {
            Kind::HashIp | Kind::BitmapIp => &[Dim::Ip],
            Kind::HashNet => &[Dim::Net],
            Kind::HashIpPort => &[Dim::Ip, Dim::Port],
            Kind::HashNetPort => &[Dim::Net, Dim::Port],
            Kind::HashIpPortIp => &[Dim::Ip, Dim::Port, Dim::Ip],
            Kind::HashIpPortNet => &[Dim::Ip, Dim::Port, Dim::Net],
            Kind::HashNetIface => &[Dim::Net, Dim::Iface],
            Kind::BitmapPort => &[Dim::Port],
            Kind::ListSet => &[Dim::Set],
        }
    }

    /// Types whose elements may carry `nomatch`.
    fn has_nomatch(self) -> bool {
        self.dims().contains(&Dim::Net)
    }
}

/// One value of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// An address, or a network (`prefix` < full length).
    Net(IpAddr, u8),
    /// Protocol and port (ICMP: `type << 8 | code`).
    Port(u8, u16),
    /// Interface name; `physdev:` (a bridge port) is not modelled.
    Iface(String, bool),
    Set(String),
}

/// One element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub parts: Vec<Part>,
    pub nomatch: bool,
    /// When the element expires, nanoseconds after the capture's first packet (`None`:
    /// permanent, saved as `timeout 0` in a set with timeouts): the seconds left when the sets
    /// were saved, or the time `-j SET --add-set` added it plus its timeout.
    pub timeout: Option<u64>,
    /// A later expiry the kernel's element may have instead (nanoseconds, as `timeout`; 0:
    /// none): an `--add-set` met the element within a jiffy of its expiry, which the kernel
    /// kept or added again depending on where its clock ticked. Until then it is undecided.
    pub timeout_hi: u64,
}

/// Nanoseconds in a second.
const NS: u64 = 1_000_000_000;

/// Why a test of an element near its expiry is uncertain.
const UNDECIDED: &str = "ipset timeout: the element expires within a jiffy of this packet, and \
     where the kernel's clock ticked between its addition and the packet is not in the capture";

/// Whether an element is there at a time (`IpSet::life`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Alive,
    Expired,
    /// Within a jiffy of its expiry: alive or not depending on the kernel's clock phase.
    Undecided,
}

/// One set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpSet {
    pub name: String,
    pub kind: Kind,
    /// `family inet|inet6` of hash types; `None` for bitmap:port and list:set.
    pub family: Option<Family>,
    /// `hash:ip` / `bitmap:ip` `netmask`.
    pub netmask: Option<u8>,
    /// `bitmap:*` `range`: first and last value.
    pub range: Option<(u128, u128)>,
    /// `timeout N` of `create`: the default timeout of added elements, seconds.
    pub timeout: Option<u64>,
    /// The elements (list:set: its members, in order), changed only through
    /// [`IpSet::insert`] and [`IpSet::remove`], which keep the index.
    elements: Vec<Element>,
    /// Element by key (its values, networks masked to their length): the kernel's hash.
    index: HashMap<Vec<Key>, usize>,
    /// The distinct prefix lengths of the elements' network dimensions, most specific first:
    /// a test looks the packet up once per shape (`mtype_test_cidrs`).
    shapes: Vec<Vec<u8>>,
    /// Some element names a bridge port (`physdev:`), which is not modelled.
    physdev: bool,
}

/// One dimension of an element's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Net(u128, u8),
    Port(u8, u16),
    Iface(String, bool),
    Set(String),
}

/// The sets of a host (`ipset save`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpSets {
    pub sets: Vec<IpSet>,
    by_name: HashMap<String, usize>,
    /// The file as read (the kernel comparison restores it with `ipset restore`).
    pub source: String,
}

/// An error in an `ipset save` file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub expected: &'static str,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} (expected {})",
            self.line, self.col, self.message, self.expected
        )
    }
}

fn bits(a: IpAddr) -> (u128, u8) {
    match a {
        IpAddr::V4(v) => (u32::from(v) as u128, 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    }
}

fn proto_of(name: &str) -> Option<u8> {
    Some(match name {
        "tcp" => proto::TCP,
        "udp" => proto::UDP,
        "udplite" => proto::UDPLITE,
        "sctp" => proto::SCTP,
        "dccp" => 33,
        "icmp" => proto::ICMP,
        "icmpv6" => proto::ICMPV6,
        _ => name.parse().ok()?,
    })
}

/// `tcp:80`, `80` (TCP), `icmp:8/0`, `udp:53`.
fn parse_port(s: &str) -> Option<(u8, u16)> {
    let (p, v) = match s.split_once(':') {
        Some((p, v)) => (proto_of(p)?, v),
        None => (proto::TCP, s),
    };
    if p == proto::ICMP || p == proto::ICMPV6 {
        let (t, c) = v.split_once('/')?;
        return Some((
            p,
            (t.parse::<u8>().ok()? as u16) << 8 | c.parse::<u8>().ok()? as u16,
        ));
    }
    Some((p, v.parse().ok()?))
}

fn parse_net(s: &str, family: Family) -> Option<(IpAddr, u8)> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let a: IpAddr = a.parse().ok()?;
    let full = if a.is_ipv4() { 32 } else { 128 };
    if (family == Family::V4) != a.is_ipv4() || len.is_some_and(|l| l > full) {
        return None;
    }
    Some((a, len.unwrap_or(full)))
}

impl IpSets {
    pub fn get(&self, name: &str) -> Option<&IpSet> {
        self.by_name.get(name).map(|&i| &self.sets[i])
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut IpSet> {
        self.by_name.get(name).map(|&i| &mut self.sets[i])
    }

    /// Reads `ipset save` output: `create NAME TYPE [OPTIONS]` and `add NAME ELEMENT
    /// [OPTIONS]` lines (comments and blank lines skipped).
    pub fn parse(text: &str) -> Result<IpSets, ParseError> {
        let mut out = IpSets {
            source: text.to_string(),
            ..IpSets::default()
        };
        for (ln, line) in text.lines().enumerate() {
            let err = |word: &str, message: String, expected: &'static str| ParseError {
                line: ln + 1,
                col: if word.is_empty() {
                    line.len() + 1
                } else {
                    word.as_ptr() as usize - line.as_ptr() as usize + 1
                },
                message,
                expected,
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some(&cmd) = words.first() else { continue };
            if cmd.starts_with('#') {
                continue;
            }
            let name = *words
                .get(1)
                .ok_or_else(|| err("", "missing set name".into(), "a set name"))?;
            match cmd {
                "create" | "-N" | "-exist" => {
                    let ty = *words.get(2).ok_or_else(|| {
                        err("", "missing set type".into(), "a type such as hash:ip")
                    })?;
                    let kind = Kind::parse(ty).ok_or_else(|| {
                        err(
                            ty,
                            format!("set type `{ty}` is not known to fwcheck"),
                            "hash:ip, hash:net, hash:ip,port, hash:net,port, hash:ip,port,ip, \
                             hash:ip,port,net, hash:net,iface, bitmap:ip, bitmap:port or list:set",
                        )
                    })?;
                    if out.by_name.contains_key(name) {
                        return Err(err(
                            name,
                            format!("set `{name}` is created twice"),
                            "a new name",
                        ));
                    }
                    let mut set = IpSet {
                        name: name.to_string(),
                        kind,
                        family: match kind {
                            Kind::BitmapPort | Kind::ListSet => None,
                            _ => Some(Family::V4),
                        },
                        netmask: None,
                        range: None,
                        timeout: None,
                        elements: Vec::new(),
                        index: HashMap::new(),
                        shapes: Vec::new(),
                        physdev: false,
                    };
                    let mut i = 3;
                    while i < words.len() {
                        let (k, v) = (words[i], words.get(i + 1).copied());
                        let missing = || err("", format!("`{k}` needs a value"), "a value");
                        match k {
                            "family" => {
                                let v = v.ok_or_else(missing)?;
                                set.family = Some(match v {
                                    "inet" => Family::V4,
                                    "inet6" => Family::V6,
                                    _ => {
                                        return Err(err(
                                            v,
                                            format!("bad family `{v}`"),
                                            "inet or inet6",
                                        ))
                                    }
                                });
                                i += 2;
                            }
                            "netmask" => {
                                let v = v.ok_or_else(missing)?;
                                set.netmask = Some(v.parse().map_err(|_| {
                                    err(v, format!("bad netmask `{v}`"), "a prefix length")
                                })?);
                                i += 2;
                            }
                            "range" => {
                                let v = v.ok_or_else(missing)?;
                                set.range = Some(parse_range(v, kind).ok_or_else(|| {
                                    err(v, format!("bad range `{v}`"), "FIRST-LAST or a network")
                                })?);
                                i += 2;
                            }
                            "timeout" => {
                                let v = v.ok_or_else(missing)?;
                                set.timeout = Some(v.parse().map_err(|_| {
                                    err(v, format!("bad timeout `{v}`"), "seconds")
                                })?);
                                i += 2;
                            }
                            "hashsize" | "maxelem" | "size" | "bucketsize" | "initval"
                            | "markmask" | "comment-len" => i += 2,
                            _ => i += 1,
                        }
                    }
                    out.by_name.insert(set.name.clone(), out.sets.len());
                    out.sets.push(set);
                }
                "add" | "-A" => {
                    let Some(&idx) = out.by_name.get(name) else {
                        return Err(err(
                            name,
                            format!("set `{name}` is not created before"),
                            "a `create` line first",
                        ));
                    };
                    let elem = *words
                        .get(2)
                        .ok_or_else(|| err("", "missing element".into(), "an element"))?;
                    let set = &out.sets[idx];
                    let parts = parse_element(set, elem).ok_or_else(|| {
                        err(
                            elem,
                            format!("`{elem}` is not an element of a {} set", set.kind.name()),
                            "an element as `ipset save` prints it for the set's type",
                        )
                    })?;
                    let mut e = Element {
                        parts,
                        nomatch: false,
                        timeout: None,
                        timeout_hi: 0,
                    };
                    let mut i = 3;
                    while i < words.len() {
                        match words[i] {
                            "nomatch" if set.kind.has_nomatch() => {
                                e.nomatch = true;
                                i += 1;
                            }
                            "timeout" => {
                                let v = words.get(i + 1).copied().unwrap_or("");
                                let t: u64 = v
                                    .parse()
                                    .map_err(|_| err(v, format!("bad timeout `{v}`"), "seconds"))?;
                                // `ip_set_timeout_set`: 0 is `IPSET_ELEM_PERMANENT`, and
                                // `ip_set_timeout_get` saves a permanent element of a set with
                                // timeouts as `timeout 0` (fail2ban's bans, `ipsettime = 0`).
                                e.timeout = (t != 0).then_some(t.saturating_mul(NS));
                                i += 2;
                            }
                            "packets" | "bytes" | "skbmark" | "skbprio" | "skbqueue" => i += 2,
                            "comment" => {
                                // A quoted comment may hold spaces: it ends the line's options.
                                break;
                            }
                            w => {
                                return Err(err(
                                    w,
                                    format!("unknown element option `{w}`"),
                                    "timeout, nomatch, packets, bytes or comment",
                                ));
                            }
                        }
                    }
                    out.sets[idx].insert(e);
                }
                _ => {
                    return Err(err(
                        cmd,
                        format!("unknown command `{cmd}`"),
                        "create or add, as `ipset save` prints",
                    ));
                }
            }
        }
        Ok(out)
    }
}

fn parse_range(v: &str, kind: Kind) -> Option<(u128, u128)> {
    if kind == Kind::BitmapPort {
        let (a, b) = v.split_once('-')?;
        return Some((
            a.parse::<u16>().ok()? as u128,
            b.parse::<u16>().ok()? as u128,
        ));
    }
    if let Some((a, b)) = v.split_once('-') {
        let (a, b): (IpAddr, IpAddr) = (a.parse().ok()?, b.parse().ok()?);
        return Some((bits(a).0, bits(b).0));
    }
    let (a, l) = parse_net(v, Family::V4)?;
    let (x, w) = bits(a);
    let host = if l >= w { 0 } else { (1u128 << (w - l)) - 1 };
    Some((x & !host, x | host))
}

fn parse_element(set: &IpSet, s: &str) -> Option<Vec<Part>> {
    let fam = set.family.unwrap_or(Family::V4);
    let dims = set.kind.dims();
    // list:set member names and interface names may hold no commas; split by dimension.
    let fields: Vec<&str> = s.splitn(dims.len(), ',').collect();
    if fields.len() != dims.len() {
        return None;
    }
    dims.iter()
        .zip(fields)
        .map(|(d, f)| {
            Some(match d {
                Dim::Ip | Dim::Net => {
                    if set.kind == Kind::BitmapIp && set.range.is_some() {
                        let (a, l) = parse_net(f, Family::V4)?;
                        Part::Net(a, l)
                    } else {
                        let (a, l) = parse_net(f, fam)?;
                        Part::Net(a, l)
                    }
                }
                Dim::Port if set.kind == Kind::BitmapPort => Part::Port(0, f.parse().ok()?),
                Dim::Port => {
                    let (p, v) = parse_port(f)?;
                    Part::Port(p, v)
                }
                Dim::Iface => match f.strip_prefix("physdev:") {
                    Some(n) => Part::Iface(n.to_string(), true),
                    None => Part::Iface(f.to_string(), false),
                },
                Dim::Set => Part::Set(f.to_string()),
            })
        })
        .collect()
}

/// What a packet offers for one dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value<'a> {
    Addr(IpAddr),
    Port(u8, u16),
    Iface(&'a str),
}

/// The answer of `ip_set_test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    Yes,
    No,
    /// Inside a set only: the most specific element is flagged nomatch.
    NoMatch,
    Unknown(&'static str),
}

/// The packet's values for `dims` with the `src` flags (`true` = source side).
fn values<'a>(
    pkt: &Packet,
    dims: &[Dim],
    flags: &[bool],
    indev: &'a str,
    outdev: &'a str,
) -> Result<Vec<Value<'a>>, Test> {
    dims.iter()
        .zip(flags)
        .map(|(d, &src)| match d {
            Dim::Ip | Dim::Net => Ok(Value::Addr(if src { pkt.src } else { pkt.dst })),
            Dim::Port => {
                if pkt.frag.offset != 0 {
                    return Err(Test::No);
                }
                match (&pkt.l4, pkt.proto) {
                    (L4::Tcp(t), _) => {
                        Ok(Value::Port(pkt.proto, if src { t.sport } else { t.dport }))
                    }
                    (L4::Udp(u), _) => {
                        Ok(Value::Port(pkt.proto, if src { u.sport } else { u.dport }))
                    }
                    (L4::Ports { sport, dport }, p)
                        if matches!(p, proto::SCTP | proto::UDPLITE | 33) =>
                    {
                        Ok(Value::Port(p, if src { *sport } else { *dport }))
                    }
                    (L4::Icmp(i) | L4::Icmpv6(i), p) => {
                        Ok(Value::Port(p, (i.icmp_type as u16) << 8 | i.code as u16))
                    }
                    (L4::Truncated, _) if pkt.data.len() < pkt.ip_len as usize => {
                        Err(Test::Unknown("ports cut off by the capture"))
                    }
                    _ => Err(Test::No),
                }
            }
            Dim::Iface => Ok(Value::Iface(if src { indev } else { outdev })),
            Dim::Set => Ok(Value::Port(0, 0)),
        })
        .collect()
}

impl IpSet {
    /// Whether element `e` is there `now.0` nanoseconds after the capture's first packet, with
    /// jiffies `now.1` nanoseconds long. `ip_set_timeout_expired`: the element added at jiffy
    /// `a` with a timeout of `T` seconds expires when `time_after(jiffies, a + T·HZ)`; an age
    /// of `x` jiffies in real time is ⌊x⌋ or ⌈x⌉ ticks depending on the clock's phase, which a
    /// capture does not show: up to `T` seconds it is there, from a jiffy past it gone, in
    /// between undecided.
    fn life(e: &Element, now: (u64, u64)) -> Life {
        let Some(t) = e.timeout else {
            return Life::Alive;
        };
        if now.0 <= t {
            Life::Alive
        } else if now.0 >= t.max(e.timeout_hi).saturating_add(now.1) {
            Life::Expired
        } else {
            Life::Undecided
        }
    }

    /// The prefix length a network part counts with (`netmask` of hash:ip and bitmap:ip).
    fn eff_len(&self, l: u8) -> u8 {
        match (self.kind, self.netmask) {
            (Kind::HashIp | Kind::BitmapIp, Some(m)) => l.min(m),
            _ => l,
        }
    }

    fn key_of(&self, parts: &[Part]) -> Vec<Key> {
        parts
            .iter()
            .map(|p| match p {
                Part::Net(a, l) => {
                    let l = self.eff_len(*l);
                    Key::Net(masked(*a, l), l)
                }
                Part::Port(pr, port) => Key::Port(
                    if self.kind == Kind::BitmapPort {
                        0
                    } else {
                        *pr
                    },
                    *port,
                ),
                Part::Iface(n, phys) => Key::Iface(n.clone(), *phys),
                Part::Set(n) => Key::Set(n.clone()),
            })
            .collect()
    }

    fn shape_of(key: &[Key]) -> Vec<u8> {
        key.iter()
            .filter_map(|k| match k {
                Key::Net(_, l) => Some(*l),
                _ => None,
            })
            .collect()
    }

    /// The elements, in the order they were added.
    pub fn elements(&self) -> &[Element] {
        &self.elements
    }

    /// Add `e`, replacing an element with the same key (as `ipset add -exist` does).
    pub fn insert(&mut self, e: Element) {
        self.physdev |= e.parts.iter().any(|p| matches!(p, Part::Iface(_, true)));
        let key = self.key_of(&e.parts);
        if let Some(&i) = self.index.get(&key) {
            self.elements[i] = e;
            return;
        }
        let shape = Self::shape_of(&key);
        if !self.shapes.contains(&shape) {
            self.shapes.push(shape);
            self.shapes
                .sort_by_key(|s| std::cmp::Reverse(s.iter().map(|&l| l as u32).sum::<u32>()));
        }
        self.index.insert(key, self.elements.len());
        self.elements.push(e);
    }

    /// The element with these values, if any.
    pub fn find(&self, parts: &[Part]) -> Option<&Element> {
        self.index
            .get(&self.key_of(parts))
            .map(|&i| &self.elements[i])
    }

    /// Remove the element with these values.
    pub(crate) fn remove(&mut self, parts: &[Part]) {
        let Some(i) = self.index.remove(&self.key_of(parts)) else {
            return;
        };
        self.elements.swap_remove(i);
        if let Some(moved) = self.elements.get(i) {
            let k = self.key_of(&moved.parts);
            self.index.insert(k, i);
        }
    }

    /// `ip_set_test` of this set (not list:set) for packet values at `now` (nanoseconds since
    /// the capture started, a jiffy's nanoseconds): the packet's values are looked up once per
    /// shape of the elements, most specific network first; an expired element is no element,
    /// one within a jiffy of its expiry undecided.
    fn test_values(&self, vals: &[Value<'_>], now: (u64, u64)) -> Result<Test, Test> {
        if self.kind == Kind::BitmapPort {
            let Value::Port(p, port) = vals[0] else {
                return Ok(Test::No);
            };
            if !matches!(
                p,
                proto::TCP | proto::UDP | proto::UDPLITE | proto::SCTP | 33
            ) {
                return Ok(Test::No);
            }
            if self
                .range
                .is_some_and(|(a, b)| (port as u128) < a || (port as u128) > b)
            {
                return Ok(Test::No);
            }
        }
        if self.physdev && vals.iter().any(|v| matches!(v, Value::Iface(_))) {
            return Err(Test::Unknown(
                "ipset physdev: interfaces (bridge ports) are not modelled",
            ));
        }
        for shape in &self.shapes {
            let mut lens = shape.iter();
            let mut key = Vec::with_capacity(vals.len());
            for v in vals {
                key.push(match v {
                    Value::Addr(a) => {
                        let full = if a.is_ipv4() { 32 } else { 128 };
                        let l = self.eff_len(lens.next().copied().unwrap_or(full));
                        Key::Net(masked(*a, l), l)
                    }
                    Value::Port(p, port) => {
                        Key::Port(if self.kind == Kind::BitmapPort { 0 } else { *p }, *port)
                    }
                    Value::Iface(i) => Key::Iface(i.to_string(), false),
                });
            }
            if let Some(&i) = self.index.get(&key) {
                let e = &self.elements[i];
                match Self::life(e, now) {
                    Life::Alive => {
                        return Ok(if e.nomatch { Test::NoMatch } else { Test::Yes });
                    }
                    Life::Undecided => return Err(Test::Unknown(UNDECIDED)),
                    Life::Expired => {}
                }
            }
        }
        Ok(Test::No)
    }
}

/// The element a packet's values make (addresses as hosts).
fn host_parts(vals: &[Value<'_>]) -> Vec<Part> {
    vals.iter()
        .map(|v| match v {
            Value::Addr(a) => Part::Net(*a, if a.is_ipv4() { 32 } else { 128 }),
            Value::Port(p, port) => Part::Port(*p, *port),
            Value::Iface(i) => Part::Iface(i.to_string(), false),
        })
        .collect()
}

/// `a`'s first `len` bits, as a number (IPv4 in the low 32 bits).
fn masked(a: IpAddr, len: u8) -> u128 {
    let (x, w) = bits(a);
    let len = len.min(w);
    if len == 0 {
        0
    } else {
        x & (u128::MAX << (w - len)) & if w == 32 { u32::MAX as u128 } else { u128::MAX }
    }
}

impl IpSets {
    /// `ip_set_test(set, packet, flags)`: `flags[i]` is true for `src` in dimension `i`;
    /// `return_nomatch` is `--return-nomatch`. `NoMatch` never comes out: as the kernel does,
    /// it is "no", or "yes" with `--return-nomatch` (which makes a plain element "no").
    #[allow(clippy::too_many_arguments)]
    pub fn test(
        &self,
        name: &str,
        pkt: &Packet,
        flags: &[bool],
        devs: (&str, &str),
        now: (u64, u64),
        return_nomatch: bool,
    ) -> Test {
        self.test_depth(name, pkt, flags, devs, now, return_nomatch, 0)
    }

    #[allow(clippy::too_many_arguments)]
    fn test_depth(
        &self,
        name: &str,
        pkt: &Packet,
        flags: &[bool],
        devs: (&str, &str),
        now: (u64, u64),
        return_nomatch: bool,
        depth: u8,
    ) -> Test {
        let Some(set) = self.get(name) else {
            return Test::Unknown("the set is not in the --ipset file");
        };
        if set.kind == Kind::ListSet {
            if depth > 0 {
                // The kernel refuses a list:set inside a list:set.
                return Test::No;
            }
            // list_set_ktest: the members in order, the first that says yes.
            for e in set.elements.iter() {
                match IpSet::life(e, now) {
                    Life::Alive => {}
                    Life::Expired => continue,
                    Life::Undecided => return Test::Unknown(UNDECIDED),
                }
                if let Some(Part::Set(member)) = e.parts.first() {
                    match self.test_depth(member, pkt, flags, devs, now, return_nomatch, 1) {
                        Test::No => {}
                        t => return t,
                    }
                }
            }
            return Test::No;
        }
        if set.family.is_some_and(|f| f != pkt.family) {
            return Test::No;
        }
        let dims = set.kind.dims();
        if flags.len() < dims.len() {
            return Test::No;
        }
        let raw = match values(pkt, dims, flags, devs.0, devs.1) {
            Ok(v) => set.test_values(&v, now).unwrap_or_else(|t| t),
            Err(t) => t,
        };
        match (raw, return_nomatch && set.kind.has_nomatch()) {
            (Test::Yes, true) => Test::No,
            (Test::NoMatch, true) => Test::Yes,
            (Test::NoMatch, false) => Test::No,
            (t, _) => t,
        }
    }

    /// `ip_set_add` of the packet's values (`-j SET --add-set`) at `now` (nanoseconds since the
    /// capture started, a jiffy's nanoseconds): the element lives `timeout` seconds (`None`:
    /// the set's default; a set without timeouts keeps it). An element already there keeps its
    /// timeout unless `exist` (`--exist`) refreshes it; one within a jiffy of its expiry may
    /// have been kept or added again in the kernel: it keeps both expiries, undecided between
    /// them.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        name: &str,
        pkt: &Packet,
        flags: &[bool],
        devs: (&str, &str),
        now: (u64, u64),
        timeout: Option<u64>,
        exist: bool,
    ) -> Result<(), &'static str> {
        let set = self.get(name).ok_or("the set is not in the --ipset file")?;
        if set.kind == Kind::ListSet {
            return Err("adding to a list:set adds to its first member that takes the element");
        }
        if set.family.is_some_and(|f| f != pkt.family) || flags.len() < set.kind.dims().len() {
            return Ok(());
        }
        let vals = values(pkt, set.kind.dims(), flags, devs.0, devs.1).map_err(|_| "no ports")?;
        let parts = host_parts(&vals);
        let set = self.get_mut(name).expect("present");
        let until = timeout
            .or(set.timeout)
            .filter(|&t| t != 0 && set.timeout.is_some())
            .map(|t| now.0.saturating_add(t.saturating_mul(NS)));
        let old = set.find(&parts).map(|e| (IpSet::life(e, now), e.timeout));
        match old {
            Some((Life::Alive, _)) if !exist => {}
            Some((Life::Undecided, Some(kept))) if !exist => {
                let (lo, hi) = match until {
                    Some(u) => (kept.min(u), kept.max(u)),
                    None => (kept, 0),
                };
                set.insert(Element {
                    parts,
                    nomatch: false,
                    timeout: Some(lo),
                    timeout_hi: hi,
                });
            }
            _ => set.insert(Element {
                parts,
                nomatch: false,
                timeout: until,
                timeout_hi: 0,
            }),
        }
        Ok(())
    }

    /// `ip_set_del` of the packet's values (`-j SET --del-set`).
    pub fn del(&mut self, name: &str, pkt: &Packet, flags: &[bool], devs: (&str, &str)) {
        let Some(set) = self.get(name) else { return };
        if set.kind == Kind::ListSet || flags.len() < set.kind.dims().len() {
            return;
        }
        let Ok(vals) = values(pkt, set.kind.dims(), flags, devs.0, devs.1) else {
            return;
        };
        let parts = host_parts(&vals);
        if let Some(set) = self.get_mut(name) {
            set.remove(&parts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAVE: &str = "create blocklist hash:net family inet hashsize 1024 maxelem 65536\n\
add blocklist 198.51.100.0/24\n\
add blocklist 198.51.100.128/25 nomatch\n\
add blocklist 203.0.113.7 timeout 60\n\
create web hash:ip,port family inet hashsize 1024 maxelem 65536\n\
add web 192.0.2.10,tcp:443\n\
add web 192.0.2.10,udp:53\n\
create ports bitmap:port range 0-1024\n\
add ports 22\n\
create all list:set size 8\n\
add all web\n\
add all blocklist\n";

    #[test]
    fn reads_ipset_save_output() {
        let s = IpSets::parse(SAVE).unwrap();
        assert_eq!(s.sets.len(), 4);
        let b = s.get("blocklist").unwrap();
        assert_eq!(b.elements.len(), 3);
        assert!(b.elements[1].nomatch);
        assert_eq!(b.elements[2].timeout, Some(60 * NS));
        assert_eq!(s.get("ports").unwrap().range, Some((0, 1024)));
    }

    /// `ipset save` prints a permanent element of a set with timeouts as `timeout 0`
    /// (`ip_set_timeout_get`); it never expires (fail2ban's iptables-ipset bans).
    #[test]
    fn timeout_zero_is_permanent() {
        let s = IpSets::parse(
            "create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 0\n\
             add f2b-sshd 192.0.2.66 timeout 0\n\
             add f2b-sshd 192.0.2.67 timeout 5\n",
        )
        .unwrap();
        let e = &s.get("f2b-sshd").unwrap().elements;
        assert_eq!((e[0].timeout, e[1].timeout), (None, Some(5 * NS)));
        let jiffy = NS / 250;
        assert_eq!(IpSet::life(&e[0], (1 << 60, jiffy)), Life::Alive);
        // 5 s: there to the jiffy, undecided within the next, gone after it.
        assert_eq!(IpSet::life(&e[1], (5 * NS, jiffy)), Life::Alive);
        assert_eq!(IpSet::life(&e[1], (5 * NS + 1, jiffy)), Life::Undecided);
        assert_eq!(IpSet::life(&e[1], (5 * NS + jiffy, jiffy)), Life::Expired);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = IpSets::parse("create a hash:ip\nadd a 192.0.2.1,80\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 7), "{e}");
        let e = IpSets::parse("create a hash:bogus\n").unwrap_err();
        assert_eq!((e.line, e.col), (1, 10), "{e}");
        let e = IpSets::parse("add b 192.0.2.1\n").unwrap_err();
        assert_eq!((e.line, e.col), (1, 5), "{e}");
    }
}
