//! `-m rpfilter [--loose] [--validmark] [--accept-local] [--invert]` (libxt_rpfilter.c /
//! kernel `ipt_rpfilter.c` and `ip6t_rpfilter.c`, `rpfilter_mt`): a reverse-path check made by
//! a rule, in raw or mangle PREROUTING — the route back to the packet's source must exist and
//! (unless `--loose`) leave by the interface the packet came in on. firewalld's ip6tables
//! backend (`IPv6_rpfilter`) and Calico write it.
//!
//! The kernel's order, each case kernel-checked in `tests/kernel_rpfilter.rs`:
//!
//! 1. In on a loopback device: true.
//! 2. IPv4 `0.0.0.0` to the limited broadcast or to 224.0.0.0/24 (DHCP, IGMP): true; IPv6 `::`:
//!    true.
//! 3. The route lookup of the source (`fib_lookup` / `ip6_route_lookup`, the local table
//!    first):
//!    * a local address of the host (`RTN_LOCAL`, `RTF_LOCAL`): false unless `--accept-local`;
//!      then IPv4 goes on to the device test with the address's own interface (`lo` for
//!      127/8), IPv6 is true;
//!    * an IPv4 broadcast (`RTN_BROADCAST`): false;
//!    * no route, or a blackhole/unreachable/prohibit one: false;
//!    * a unicast route: true if it leaves by the input interface, or with `--loose`.
//!
//! An IPv6 link-local source is looked up on the input interface only (`RT6_LOOKUP_F_IFACE`).
//! The answer is XORed with `--invert`.
//!
//! Offline the routes are the host configuration's (`--iface-addr`, `--route`,
//! `--host-config`). Without one, only the cases that need no route are decided; the rest is
//! unknown (the verdict uncertain), as it is for a multicast or other unspecified source the
//! rules above do not settle. `--validmark` only changes lookups under fwmark policy routing,
//! which the host configuration does not describe: it is parsed and saved, and routes are the
//! main table's.

use std::any::Any;
use std::net::IpAddr;

use crate::diag::Diagnostic;
use crate::ext::targets::common::context_err;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::netfilter::{Hook, HookMask, TableKind};

/// `XT_RPFILTER_*` flags.
const LOOSE: u8 = 0x01;
const VALID_MARK: u8 = 0x02;
const ACCEPT_LOCAL: u8 = 0x04;
const INVERT: u8 = 0x08;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rpfilter {
    flags: u8,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Rpfilter { flags: 0 })
}

/// Option ids are the flag bits; save prints them in this order (`rpfilter_print_prefix`).
static OPTS: &[OptSpec] = &[
    OptSpec::new("loose", LOOSE, Arg::None),
    OptSpec::new("validmark", VALID_MARK, Arg::None),
    OptSpec::new("accept-local", ACCEPT_LOCAL, Arg::None),
    OptSpec::new("invert", INVERT, Arg::None),
];

const NO_ROUTES: &str = "-m rpfilter: the host's routes are not known (give them with \
     --iface-addr and --route, or --host-config)";
const ODD_SOURCE: &str =
    "-m rpfilter: the route lookup of a multicast or unspecified source is not modelled";

impl Rpfilter {
    /// `rpfilter_mt` before the `--invert` XOR.
    fn check(&self, cx: &EvalCtx<'_>) -> Result<bool, &'static str> {
        let (pkt, indev) = (cx.pkt, cx.indev);
        // rpfilter_is_loopback: the device's IFF_LOOPBACK.
        if indev == "lo" {
            return Ok(true);
        }
        let loose = self.flags & LOOSE != 0;
        let accept_local = self.flags & ACCEPT_LOCAL != 0;
        let host = &cx.env.host;
        match pkt.src {
            IpAddr::V4(s) => {
                if s.is_unspecified() {
                    let IpAddr::V4(d) = pkt.dst else {
                        return Err(ODD_SOURCE);
                    };
                    if d.is_broadcast() || d.octets()[..3] == [224, 0, 0] {
                        return Ok(true);
                    }
                    return Err(ODD_SOURCE);
                }
                if s.is_multicast() {
                    return Err(ODD_SOURCE);
                }
                if cx.env.is_local(pkt.src) {
                    // RTN_LOCAL: refused unless --accept-local, which then asks whether the
                    // local route's device (the address's own interface) is the input one.
                    if !accept_local {
                        return Ok(false);
                    }
                    if loose {
                        return Ok(true);
                    }
                    let dev = if s.is_loopback() {
                        Some("lo")
                    } else {
                        host.addrs
                            .iter()
                            .find(|a| a.addr == pkt.src)
                            .map(|a| a.dev.as_str())
                    };
                    return dev.map(|d| d == indev).ok_or(NO_ROUTES);
                }
                if cx.env.is_broadcast(pkt.src) {
                    return Ok(false);
                }
            }
            IpAddr::V6(s) => {
                if s.is_unspecified() {
                    return Ok(true);
                }
                if s.is_multicast() {
                    return Err(ODD_SOURCE);
                }
                if cx.env.is_local(pkt.src) {
                    // RTF_LOCAL: the answer is --accept-local, whatever the device.
                    return Ok(accept_local);
                }
                if s.segments()[0] & 0xffc0 == 0xfe80 {
                    // Looked up on the input interface alone: its fe80::/64 route, when the
                    // configuration lists it.
                    if host.is_empty() || host.from_capture {
                        return Err(NO_ROUTES);
                    }
                    return if host.has_route_on(indev, pkt.src) {
                        Ok(true)
                    } else {
                        Err(NO_ROUTES)
                    };
                }
            }
        }
        if host.is_empty() || host.from_capture {
            return Err(NO_ROUTES);
        }
        Ok(match host.route(pkt.src) {
            None => false,
            Some((dev, _)) => loose || dev == indev,
        })
    }
}

impl Match for Rpfilter {
    fn name(&self) -> &'static str {
        "rpfilter"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        _invert: bool,
        _args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        self.flags |= opt.id;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        // rpfilter_check: raw or mangle only (PREROUTING is the module's hook mask).
        if !matches!(cx.table, TableKind::Raw | TableKind::Mangle) {
            return Err(context_err(
                cx.span,
                format!(
                    "match rpfilter is only valid in the raw or mangle table, not {}",
                    cx.table
                ),
                "-t raw or -t mangle, chain PREROUTING",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        for o in OPTS {
            if self.flags & o.id != 0 {
                out.push_str(" --");
                out.push_str(o.name);
            }
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        match self.check(cx) {
            Ok(b) => MatchResult::from_bool(b != (self.flags & INVERT != 0)),
            Err(why) => MatchResult::Unknown(why),
        }
    }
    fn explain(&self, cx: &EvalCtx<'_>, held: bool) -> Option<String> {
        let route = match cx.env.host.route(cx.pkt.src) {
            Some((dev, _)) => format!("the route back to {} leaves by {dev}", cx.pkt.src),
            None => format!("no unicast route back to {}", cx.pkt.src),
        };
        Some(format!(
            "rpfilter {} ({route}, in on {})",
            if held { "held" } else { "did not hold" },
            cx.indev
        ))
    }
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Prerouting])
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
