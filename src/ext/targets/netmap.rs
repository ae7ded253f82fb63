//! `-j NETMAP` (libipt_NETMAP.c / libip6t_NETMAP.c; kernel xt_NETMAP.c): stateless 1:1 mapping
//! of a network onto another. Table nat, hooks PREROUTING, OUTPUT (destination), POSTROUTING,
//! INPUT (source).
//!
//! - `--to ADDR[/MASK]` (mandatory; `XTTYPE_HOSTMASK`): the address as `getaddrinfo` reads it
//!   (IPv4 `inet_aton` forms: `10.1` is 10.0.0.1), the mask as a prefix length or a numeric
//!   address. libxtables turns an address-form mask into a prefix length and, when that is not
//!   possible (holes, or a number above 32/128 that reads as an address), uses the full mask:
//!   `/255.0.255.0` and `/33` both become `/32`. Saved as `--to NET/LEN` with the address
//!   masked.
//! - `apply`: new address = (old & ~mask) | (NET & mask) for the destination in
//!   PREROUTING/OUTPUT and the source in POSTROUTING/INPUT, ports kept; returned as
//!   [`NatKind::Netmap`] with the network in `addr.0` and the mask in `addr.1`.

use std::any::Any;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::diag::Diagnostic;
use crate::ext::targets::common::{err, missing};
use crate::ext::EvalCtx;
use crate::ext::{host_addr, inet_aton, ntop, xt_uint};
use crate::ext::{
    sub_span, Arg, NatKind, NatSpec, OptArg, OptSpec, ParseCtx, Target, TargetVerdict,
};
use crate::netfilter::{Family, Hook, HookMask, TableKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Netmap {
    pub family: Family,
    /// Network (masked) and prefix length.
    pub net: u128,
    pub len: u8,
    given: bool,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Netmap {
        family: Family::V4,
        net: 0,
        len: 32,
        given: false,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("to", 1, Arg::One)];

fn bits(f: Family) -> u8 {
    match f {
        Family::V4 => 32,
        Family::V6 => 128,
    }
}

fn mask_of(f: Family, len: u8) -> u128 {
    let w = bits(f);
    let all: u128 = if w == 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    };
    if len == 0 {
        0
    } else {
        all & !((1u128 << (w - len)) - 1) & all
    }
}

fn to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(v) as u128,
        IpAddr::V6(v) => u128::from(v),
    }
}

fn to_addr(f: Family, v: u128) -> IpAddr {
    match f {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(v as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// `xtopt_parse_plenmask`: the prefix length a `/MASK` stands for.
fn plen(text: &str, f: Family) -> Option<u8> {
    let w = bits(f);
    if let Some(v) = xt_uint(text, 0, w.into()) {
        return Some(v as u8);
    }
    let m = match f {
        Family::V4 => u32::from(inet_aton(text)?) as u128,
        Family::V6 => u128::from(text.parse::<Ipv6Addr>().ok()?),
    };
    // A contiguous mask gives its length; anything else the full length.
    Some((0..=w).find(|l| mask_of(f, *l) == m).unwrap_or(w))
}

impl Target for Netmap {
    fn name(&self) -> &'static str {
        "NETMAP"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        _invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        let a = &args[0];
        self.family = cx.family;
        let (host, mask) = match a.text.split_once('/') {
            Some((h, m)) => (h, Some(m)),
            None => (a.text, None),
        };
        let addr = host_addr(host, sub_span(a, 0, host.len()), cx.family)?;
        let len = match mask {
            None => bits(cx.family),
            Some(m) => plen(m, cx.family).ok_or_else(|| {
                err(
                    sub_span(a, host.len() + 1, a.text.len()),
                    format!("`{m}` is neither a valid network mask nor a prefix length"),
                    format!("a prefix length from 0 to {}", bits(cx.family)),
                )
            })?,
        };
        self.len = len;
        self.net = to_u128(addr) & mask_of(cx.family, len);
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(cx.span, "NETMAP", "--to"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        out.push_str(" --to ");
        out.push_str(&ntop(to_addr(self.family, self.net)));
        out.push('/');
        out.push_str(&self.len.to_string());
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        let snat = matches!(cx.hook, Hook::Postrouting | Hook::Input);
        TargetVerdict::Nat(NatSpec {
            kind: NatKind::Netmap { snat },
            addr: Some((
                to_addr(self.family, self.net),
                to_addr(self.family, mask_of(self.family, self.len)),
            )),
            ports: None,
            base_port: None,
            random: false,
            persistent: false,
        })
    }
    fn table(&self) -> Option<TableKind> {
        Some(TableKind::Nat)
    }
    fn hooks(&self) -> HookMask {
        HookMask::of(&[
            Hook::Prerouting,
            Hook::Input,
            Hook::Output,
            Hook::Postrouting,
        ])
    }
    fn is_terminal(&self) -> bool {
        true
    }
    fn needs_conntrack(&self) -> bool {
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
    fn prefix_lengths_like_libxtables() {
        assert_eq!(plen("24", Family::V4), Some(24));
        assert_eq!(plen("0x10", Family::V4), Some(16));
        assert_eq!(plen("255.255.255.0", Family::V4), Some(24));
        assert_eq!(plen("255.0.255.0", Family::V4), Some(32));
        assert_eq!(plen("33", Family::V4), Some(32));
        assert_eq!(plen("255.255", Family::V4), Some(32));
        assert_eq!(plen("0", Family::V4), Some(0));
        assert_eq!(plen("ffff:ffff::", Family::V6), Some(32));
        assert_eq!(plen("ffff::ffff", Family::V6), Some(128));
        assert_eq!(plen("x", Family::V4), None);
    }

    #[test]
    fn mapping() {
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            crate::ext::netmap_addr(a("192.168.1.77"), a("10.5.0.0"), a("255.255.0.0")),
            a("10.5.1.77")
        );
        assert_eq!(
            crate::ext::netmap_addr(a("1.2.3.4"), a("9.9.9.9"), a("255.255.255.255")),
            a("9.9.9.9")
        );
        assert_eq!(
            crate::ext::netmap_addr(a("2001:db8::5"), a("fd00::"), a("ffff:ffff::")),
            a("fd00:0:0::5")
        );
        assert_eq!(mask_of(Family::V4, 0), 0);
        assert_eq!(mask_of(Family::V4, 32), 0xffff_ffff);
        assert_eq!(mask_of(Family::V6, 128), u128::MAX);
    }
}
