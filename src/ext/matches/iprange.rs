//! `-m iprange [!] --src-range A[-B] [!] --dst-range A[-B]` (libxt_iprange.c rev 1 / kernel
//! `xt_iprange.c` `iprange_mt4`/`iprange_mt6`): the address, as a host-order number, inside the
//! inclusive range, XOR `!` per option; both given options must hold. A reversed range is
//! accepted (iptables only warns) and never matches. Always decidable offline.

use std::any::Any;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{bad, missing};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{parse_ipv4_dotted, sub_span, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::netfilter::Family;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Iprange {
    /// `(min, max, invert)` as 128-bit numbers (IPv4 in the low 32 bits).
    pub src: Option<(u128, u128, bool)>,
    pub dst: Option<(u128, u128, bool)>,
    pub v6: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Iprange {
        src: None,
        dst: None,
        v6: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("src-range", 1, Arg::One).inv(),
    OptSpec::new("dst-range", 2, Arg::One).inv(),
];

fn parse_one(text: &str, arg: &OptArg<'_>, off: usize, family: Family) -> Result<u128, Diagnostic> {
    let span = sub_span(arg, off, off + text.len());
    match family {
        Family::V4 => parse_ipv4_dotted(text, false)
            .map(|a| a as u128)
            .ok_or_else(|| {
                bad(
                    span,
                    format!("`{text}` is not a valid IPv4 address"),
                    "an IPv4 address such as 192.0.2.1",
                )
            }),
        Family::V6 => text.parse::<Ipv6Addr>().map(u128::from).map_err(|_| {
            bad(
                span,
                format!("`{text}` is not a valid IPv6 address"),
                "an IPv6 address such as 2001:db8::1",
            )
        }),
    }
}

/// `iprange_parse_range`: `A-B`, or a single address `A` (= `A-A`).
pub(crate) fn parse_range(arg: &OptArg<'_>, family: Family) -> Result<(u128, u128), Diagnostic> {
    let t = arg.text;
    match t.find('-') {
        None => {
            let a = parse_one(t, arg, 0, family)?;
            Ok((a, a))
        }
        Some(i) => {
            let a = parse_one(&t[..i], arg, 0, family)?;
            let b = parse_one(&t[i + 1..], arg, i + 1, family)?;
            Ok((a, b))
        }
    }
}

fn fmt_addr(out: &mut String, v: u128, v6: bool) {
    if v6 {
        let _ = write!(out, "{}", Ipv6Addr::from(v));
    } else {
        let _ = write!(out, "{}", Ipv4Addr::from(v as u32));
    }
}

fn num(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

impl Match for Iprange {
    fn name(&self) -> &'static str {
        "iprange"
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
        self.v6 = cx.family == Family::V6;
        let (lo, hi) = parse_range(&args[0], cx.family)?;
        if opt.id == 1 {
            self.src = Some((lo, hi, invert));
        } else {
            self.dst = Some((lo, hi, invert));
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.src.is_none() && self.dst.is_none() {
            return Err(missing(
                cx,
                "-m iprange requires --src-range or --dst-range",
                "--src-range FROM-TO or --dst-range FROM-TO",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        for (name, r) in [("src-range", &self.src), ("dst-range", &self.dst)] {
            if let Some((lo, hi, inv)) = r {
                if *inv {
                    out.push_str(" !");
                }
                let _ = write!(out, " --{name} ");
                fmt_addr(out, *lo, self.v6);
                out.push('-');
                fmt_addr(out, *hi, self.v6);
            }
        }
    }
    fn explain(&self, cx: &EvalCtx<'_>, _held: bool) -> Option<String> {
        let mut parts = Vec::new();
        for (what, r, a) in [
            ("src", &self.src, cx.pkt.src),
            ("dst", &self.dst, cx.pkt.dst),
        ] {
            if let Some((lo, hi, inv)) = r {
                let x = num(a);
                let inside = x >= *lo && x <= *hi;
                parts.push(format!(
                    "{what} {a} {} range{}",
                    if inside { "∈" } else { "∉" },
                    if *inv { " (negated)" } else { "" }
                ));
            }
        }
        Some(parts.join(", "))
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        for (r, a) in [(&self.src, cx.pkt.src), (&self.dst, cx.pkt.dst)] {
            if let Some((lo, hi, inv)) = r {
                let x = num(a);
                let outside = x < *lo || x > *hi;
                if outside != *inv {
                    return MatchResult::No;
                }
            }
        }
        MatchResult::Yes
    }
    fn facets(&self) -> Facets {
        Facets {
            src_range: self.src,
            pure: true,
            ..Facets::default()
        }
    }
    fn listing(&self, out: &mut String) {
        let ip = |n: u128| -> std::net::IpAddr {
            if self.v6 {
                std::net::Ipv6Addr::from(n).into()
            } else {
                std::net::Ipv4Addr::from(n as u32).into()
            }
        };
        for (what, side) in [("source", &self.src), ("destination", &self.dst)] {
            if let Some((lo, hi, inv)) = side {
                let _ = write!(
                    out,
                    " {}{what} IP range {}-{}",
                    if *inv { "! " } else { "" },
                    ip(*lo),
                    ip(*hi)
                );
            }
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
