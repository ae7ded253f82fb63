//! `-m addrtype [!] --src-type T[,T…] [!] --dst-type T[,T…] [--limit-iface-in|--limit-iface-out]`
//! (libxt_addrtype.c rev 1 / kernel `xt_addrtype.c` `addrtype_mt_v1`).
//!
//! IPv4 follows `inet_dev_addr_type`: 0.0.0.0 and 255.255.255.255 are BROADCAST, 224.0.0.0/4
//! MULTICAST, then the local routing table decides: the host's addresses (`--host`) and all of
//! 127.0.0.0/8 are LOCAL, the directed broadcast of each `--host` network shorter than /31 (and
//! 127.255.255.255) is BROADCAST (current kernels no longer add the network address itself),
//! anything else UNICAST. A type set matches when it contains the address's type.
//! With `--limit-iface-in/out` only routes of that device count (another device's address is
//! UNICAST): 127.0.0.0/8 is on `lo`, an address of the host configuration (`--iface-addr`,
//! `ip -j addr`) and its subnet's broadcast on its device, other `--host` addresses and networks
//! on the capture interface (`--iface`).
//!
//! IPv6 follows `match_type6`: MULTICAST/UNICAST/UNSPEC from the address class, LOCAL from the
//! host's addresses (and ::1); ANYCAST and UNREACHABLE depend on the routing table and are
//! `Unknown` when they decide the result.

use std::any::Any;
use std::net::IpAddr;

use super::{bad, missing};
use crate::diag::codes as code;
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{split_list, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::netfilter::{Family, Hook};

pub(crate) const NAMES: &[&str] = &[
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];

pub(crate) const UNSPEC: u16 = 1 << 0;
pub(crate) const UNICAST: u16 = 1 << 1;
pub const LOCAL: u16 = 1 << 2;
pub const BROADCAST: u16 = 1 << 3;
pub(crate) const ANYCAST: u16 = 1 << 4;
pub const MULTICAST: u16 = 1 << 5;
pub(crate) const BLACKHOLE: u16 = 1 << 6;
pub(crate) const UNREACHABLE: u16 = 1 << 7;
pub(crate) const PROHIBIT: u16 = 1 << 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Addrtype {
    pub source: u16,
    pub(crate) dest: u16,
    pub(crate) inv_source: bool,
    pub(crate) inv_dest: bool,
    pub(crate) limit_in: bool,
    pub(crate) limit_out: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Addrtype {
        source: 0,
        dest: 0,
        inv_source: false,
        inv_dest: false,
        limit_in: false,
        limit_out: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("src-type", 1, Arg::One).inv(),
    OptSpec::new("dst-type", 2, Arg::One).inv(),
    OptSpec::new("limit-iface-in", 3, Arg::None),
    OptSpec::new("limit-iface-out", 4, Arg::None),
];

/// `parse_types`: comma-separated names, each matched case-insensitively as a prefix of a type
/// name (the first in kernel order wins).
pub(crate) fn parse_types(arg: &OptArg<'_>) -> Result<u16, Diagnostic> {
    let mut mask = 0;
    for p in split_list(arg, ',') {
        let t = p.text.as_bytes();
        let hit = (!t.is_empty())
            .then(|| {
                NAMES.iter().position(|n| {
                    n.len() >= t.len() && n.as_bytes()[..t.len()].eq_ignore_ascii_case(t)
                })
            })
            .flatten();
        match hit {
            Some(i) => mask |= 1 << i,
            None => {
                return Err(bad(
                    p.span,
                    format!("bad address type `{}`", p.text),
                    format!("a comma-separated list of {}", NAMES.join(", ")),
                ))
            }
        }
    }
    Ok(mask)
}

fn fmt_types(out: &mut String, mask: u16) {
    let mut sep = "";
    for (i, n) in NAMES.iter().enumerate() {
        if mask & (1 << i) != 0 {
            out.push_str(sep);
            out.push_str(n);
            sep = ",";
        }
    }
}

/// The `RTN_*` type of an IPv4 address (as a bit), seen through device `dev` (`None` = any).
fn type4(cx: &EvalCtx<'_>, a: std::net::Ipv4Addr, dev: Option<&str>) -> u16 {
    let x = u32::from(a);
    // `ipv4_is_zeronet` is `addr == 0` since Linux 5.3: 0.1.2.3 is UNICAST (kernel-checked).
    if x == 0 || x == u32::MAX {
        return BROADCAST;
    }
    if a.is_multicast() {
        return MULTICAST;
    }
    let on = |owner: &str| dev.is_none_or(|d| d == owner);
    // The host's addresses and broadcasts belong to the device the host configuration puts
    // them on (`--iface-addr`, `ip -j addr`); without one, to the packet's own interface (the
    // one it was captured on), as on the oracle's single device.
    let ip = IpAddr::V4(a);
    let host = &cx.env.host;
    let owner = |is: &dyn Fn(&crate::host::IfAddr) -> bool| {
        host.addrs
            .iter()
            .find(|x| is(x))
            .map_or_else(|| cx.env.iface_of(cx.pkt), |x| x.dev.as_str())
    };
    // Longest prefix first: /32 entries (host addresses, broadcasts) before 127.0.0.0/8.
    if cx.env.hosts.contains(&ip) && !a.is_loopback() {
        return if on(owner(&|x| x.addr == ip)) {
            LOCAL
        } else {
            UNICAST
        };
    }
    if x == 0x7fff_ffff {
        return if on("lo") { BROADCAST } else { UNICAST };
    }
    if super::pkttype::is_broadcast(cx, ip) {
        let directed = |x: &crate::host::IfAddr| match x.addr {
            IpAddr::V4(n) if x.len < 31 => u32::from(n) | (u32::MAX >> x.len) == x32(a),
            _ => false,
        };
        return if on(owner(&directed)) {
            BROADCAST
        } else {
            UNICAST
        };
    }
    if let Some(d) = host.local_route(ip) {
        return if on(d) { LOCAL } else { UNICAST };
    }
    if a.is_loopback() {
        return if on("lo") { LOCAL } else { UNICAST };
    }
    UNICAST
}

fn x32(a: std::net::Ipv4Addr) -> u32 {
    u32::from(a)
}

/// `match_type6`: `Some(bool)` when decided offline.
fn match6(cx: &EvalCtx<'_>, a: std::net::Ipv6Addr, mask: u16) -> Option<bool> {
    let any = a.is_unspecified();
    let mc = a.is_multicast();
    if mask & MULTICAST != 0 && !mc {
        return Some(false);
    }
    if mask & UNICAST != 0 && (mc || any) {
        return Some(false);
    }
    if mask & UNSPEC != 0 && !any {
        return Some(false);
    }
    if mask & (LOCAL | ANYCAST | UNREACHABLE) == 0 {
        return Some(true);
    }
    let local = cx.env.is_local(IpAddr::V6(a));
    if mask & LOCAL != 0 && local {
        return Some(true);
    }
    if mask & (ANYCAST | UNREACHABLE) != 0 {
        return None;
    }
    Some(false)
}

impl Match for Addrtype {
    fn name(&self) -> &'static str {
        "addrtype"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        match opt.id {
            1 | 2 => {
                let m = parse_types(&args[0])?;
                if cx.family == Family::V6 {
                    let why = if m & BLACKHOLE != 0 {
                        Some("BLACKHOLE")
                    } else if m >= PROHIBIT {
                        Some("PROHIBIT, THROW, NAT and XRESOLVE")
                    } else if m & BROADCAST != 0 {
                        Some("BROADCAST")
                    } else {
                        None
                    };
                    if let Some(w) = why {
                        return Err(bad(
                            args[0].span,
                            format!("the kernel does not support {w} for IPv6"),
                            "UNSPEC, UNICAST, LOCAL, ANYCAST, MULTICAST or UNREACHABLE",
                        ));
                    }
                }
                if opt.id == 1 {
                    self.source = m;
                    self.inv_source = invert;
                } else {
                    self.dest = m;
                    self.inv_dest = invert;
                }
            }
            3 | 4 => {
                if (opt.id == 3 && self.limit_out) || (opt.id == 4 && self.limit_in) {
                    return Err(super::conflict(
                        cx,
                        "--limit-iface-in and --limit-iface-out cannot be used together",
                        "one of --limit-iface-in or --limit-iface-out",
                    ));
                }
                let hook = crate::netfilter::Hook::from_chain_name(cx.chain);
                let bad_hook = matches!(
                    (opt.id, hook),
                    (3, Some(Hook::Output | Hook::Postrouting))
                        | (4, Some(Hook::Prerouting | Hook::Input))
                );
                if bad_hook {
                    return Err(Diagnostic::error(
                        code::CONTEXT,
                        cx.span,
                        format!("--{} is not valid in chain {}", opt.name, cx.chain),
                    )
                    .expected(if opt.id == 3 {
                        "--limit-iface-in only in PREROUTING, INPUT and FORWARD"
                    } else {
                        "--limit-iface-out only in FORWARD, OUTPUT and POSTROUTING"
                    }));
                }
                if opt.id == 3 {
                    self.limit_in = true;
                } else {
                    self.limit_out = true;
                }
            }
            _ => {}
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.source == 0 && self.dest == 0 {
            return Err(missing(
                cx,
                "-m addrtype requires --src-type or --dst-type",
                "--src-type TYPE[,TYPE...] or --dst-type TYPE[,TYPE...]",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.source != 0 {
            if self.inv_source {
                out.push_str(" !");
            }
            out.push_str(" --src-type ");
            fmt_types(out, self.source);
        }
        if self.dest != 0 {
            if self.inv_dest {
                out.push_str(" !");
            }
            out.push_str(" --dst-type ");
            fmt_types(out, self.dest);
        }
        if self.limit_in {
            out.push_str(" --limit-iface-in");
        }
        if self.limit_out {
            out.push_str(" --limit-iface-out");
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let dev = if self.limit_in {
            Some(cx.indev)
        } else if self.limit_out {
            Some(cx.outdev)
        } else {
            None
        };
        for (mask, inv, addr) in [
            (self.source, self.inv_source, cx.pkt.src),
            (self.dest, self.inv_dest, cx.pkt.dst),
        ] {
            if mask == 0 {
                continue;
            }
            let hit = match addr {
                IpAddr::V4(a) => mask & type4(cx, a, dev) != 0,
                IpAddr::V6(a) => match match6(cx, a, mask) {
                    Some(h) => h,
                    None => {
                        return MatchResult::Unknown(
                            "IPv6 ANYCAST/UNREACHABLE depend on the routing table",
                        )
                    }
                },
            };
            if hit == inv {
                return MatchResult::No;
            }
        }
        MatchResult::Yes
    }
    fn facets(&self) -> Facets {
        Facets {
            pure: true,
            ..Facets::default()
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
