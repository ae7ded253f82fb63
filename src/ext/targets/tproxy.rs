//! `-j TPROXY` (libxt_TPROXY.c revision 1; kernel xt_TPROXY.c `tproxy_tg4_v1`/`tproxy_tg6_v1`):
//! divert the packet to a local transparent socket without changing it. Table mangle, hook
//! PREROUTING; `tproxy_tg4_check` requires `-p tcp` or `-p udp` (not negated).
//!
//! - `--on-port PORT` (mandatory; read by `getaddrinfo` as a service: a decimal number, wrapped
//!   to 16 bits, or a service name — `0x50` is refused), `--on-ip ADDR` (`XTTYPE_HOST`),
//!   `--tproxy-mark VALUE[/MASK]`. Always saved in full:
//!   `--on-port N --on-ip ADDR --tproxy-mark 0xV/0xM` (defaults 0.0.0.0 or ::, 0x0/0x0).
//! - The kernel looks for an established socket of the packet, then a listener on
//!   `--on-ip`:`--on-port` (0 means the packet's own address/port); with one it sets
//!   `skb->mark = (mark & ~MASK) ^ VALUE` and returns NF_ACCEPT, without one NF_DROP. The host's
//!   sockets are not known offline: `apply` takes the kernel's answer without one (DROP,
//!   kernel-checked by `tests/kernel_targets.rs`), uncertain; the alternative (a fork) is the
//!   marked ACCEPT.

use std::any::Any;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::diag::Diagnostic;
use crate::ext::targets::common::{context_err, err, missing};
use crate::ext::EvalCtx;
use crate::ext::{
    host_addr, ntop, service_port, Arg, OptArg, OptSpec, ParseCtx, Taken, Target, TargetVerdict,
    XtType,
};
use crate::netfilter::{Family, Hook, HookMask, TableKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tproxy {
    pub port: Option<u16>,
    pub addr: Option<IpAddr>,
    pub mark: u32,
    pub mask: u32,
    family: Family,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Tproxy {
        port: None,
        addr: None,
        mark: 0,
        mask: 0,
        family: Family::V4,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("on-port", 1, Arg::One),
    OptSpec::new("on-ip", 2, Arg::One),
    OptSpec::new("tproxy-mark", 3, Arg::One).ty(XtType::MarkMask),
];

/// `getaddrinfo(NULL, service)`: `strtoul(…, 10)` over the whole text (blanks and a sign
/// allowed), kept when it fits a non-negative `int` and truncated to 16 bits; otherwise a
/// service name.
pub(crate) fn getaddrinfo_port(text: &str) -> Option<u16> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let digits = t.strip_prefix('+').unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
        let v = digits.parse::<u64>().unwrap_or(u64::MAX);
        let as_int = v as u32 as i32;
        if as_int >= 0 {
            return Some(as_int as u16);
        }
        return None;
    }
    ["tcp", "udp", "sctp", "dccp"]
        .iter()
        .find_map(|p| service_port(text, p))
}

impl Target for Tproxy {
    fn name(&self) -> &'static str {
        "TPROXY"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        _invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        self.family = cx.family;
        let a = &args[0];
        match opt.id {
            1 => {
                self.port = Some(getaddrinfo_port(a.text).ok_or_else(|| {
                    err(
                        a.span,
                        format!("port `{}` does not resolve to anything", a.text),
                        "a decimal port number or a service name",
                    )
                })?)
            }
            2 => self.addr = Some(host_addr(a.text, a.span, cx.family)?),
            _ => {
                let (v, m) = cx.val.mark_mask();
                self.mark = v;
                self.mask = m;
            }
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        self.family = cx.family;
        if self.port.is_none() {
            return Err(missing(cx.span, "TPROXY", "--on-port"));
        }
        if !matches!(cx.proto, Some((6 | 17, false))) {
            return Err(context_err(
                cx.span,
                "target TPROXY can only be used with -p tcp or -p udp",
                "-p tcp or -p udp in the rule (not negated)",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let addr = self.addr.unwrap_or(match self.family {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        let _ = write!(
            out,
            " --on-port {} --on-ip {} --tproxy-mark {:#x}/{:#x}",
            self.port.unwrap_or(0),
            ntop(addr),
            self.mark,
            self.mask
        );
    }
    /// `tproxy_tg4`/`tproxy_tg6_v1`: a transparent socket (an established one for the packet,
    /// else a listener on `--on-ip`/`--on-port`) takes the packet, marked, with NF_ACCEPT;
    /// without one, NF_DROP. The host's sockets are not in the capture: DROP (kernel-checked in
    /// a namespace without a transparent socket), uncertain, and the fork's ACCEPT.
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Undecided {
            why: "TPROXY accepts only if a transparent socket takes the packet (the host's \
                  sockets are not known offline)",
            taken: Taken::Drop,
        }
    }
    /// A transparent socket took it: `skb->mark = (skb->mark & ~mask) ^ mark`, NF_ACCEPT.
    fn forced(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        cx.skb.mark = (cx.skb.mark & !self.mask) ^ self.mark;
        TargetVerdict::Accept
    }
    fn table(&self) -> Option<TableKind> {
        Some(TableKind::Mangle)
    }
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Prerouting])
    }
    fn is_terminal(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_ports_like_getaddrinfo() {
        assert_eq!(getaddrinfo_port("80"), Some(80));
        assert_eq!(getaddrinfo_port("http"), Some(80));
        assert_eq!(getaddrinfo_port("70000"), Some(4464));
        assert_eq!(getaddrinfo_port("0x50"), None);
        assert_eq!(getaddrinfo_port("+80"), Some(80));
        assert_eq!(getaddrinfo_port("0"), Some(0));
    }
}
