//! `-m ipv6header [!] --header NAME[,NAME…] [--soft]` (IPv6 only; libxt_ipv6header.c / kernel
//! `ip6t_ipv6header.c` `ipv6header_mt6`): which extension headers the packet carries.
//!
//! The kernel walks the header chain from the base header, setting one bit per header met
//! (hop-by-hop, destination options, routing, fragment, AH), and stops at ESP or "no next
//! header" (their bits) or at the first upper-layer protocol ("prot"). A header it cannot
//! size in what is left of the packet makes the match false (`!` or not); so does an unknown
//! one. Without `--soft` the set must equal the listed one exactly (`!`: differ); with `--soft`
//! every listed header must be present (`!`: absent).
//!
//! Names as libxt_ipv6header reads them: `/etc/protocols` first (`ipv6-frag`, `ah`, …), then
//! its own (`hop`, `hop-by-hop`, `dst`, `route`, `frag`, `auth`, `esp`, `none`, `prot`,
//! `protocol`, and the numbers 0, 60, 43, 44, 51, 50, 59, 255); saved in bit order with the
//! `/etc/protocols` names (0 as `hop-by-hop`, 255 as `protocol`). Kernel-checked in
//! `tests/kernel_ipv6header.rs`.

use std::any::Any;

use super::{bad, missing};
use crate::diag::Diagnostic;
use crate::ext::xtopt::proto_name;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::packet::proto;

const HOPOPTS: u8 = 128;
const DSTOPTS: u8 = 64;
const ROUTING: u8 = 32;
const FRAGMENT: u8 = 16;
const AH: u8 = 8;
const ESP: u8 = 4;
const NONE: u8 = 2;
const PROTO: u8 = 1;

/// `chain_flags`: header number → bit, in the order saves print them.
const FLAGS: &[(u8, u8)] = &[
    (0, HOPOPTS),
    (60, DSTOPTS),
    (43, ROUTING),
    (44, FRAGMENT),
    (51, AH),
    (50, ESP),
    (59, NONE),
    (255, PROTO),
];

/// `chain_protos`: libxt_ipv6header's own names, after `/etc/protocols`.
const NAMES: &[(&str, u8)] = &[
    ("hop-by-hop", 0),
    ("protocol", 255),
    ("hop", 0),
    ("dst", 60),
    ("route", 43),
    ("frag", 44),
    ("auth", 51),
    ("esp", 50),
    ("none", 59),
    ("prot", 255),
    ("0", 0),
    ("60", 60),
    ("43", 43),
    ("44", 44),
    ("51", 51),
    ("50", 50),
    ("59", 59),
    ("255", 255),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ipv6header {
    flags: u8,
    invert: bool,
    soft: bool,
    given: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Ipv6header {
        flags: 0,
        invert: false,
        soft: false,
        given: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("header", 1, Arg::One).inv(),
    OptSpec::new("soft", 2, Arg::None),
];

/// `name_to_proto`: `getprotobyname`, then the module's own names.
fn header_number(name: &str) -> Option<u8> {
    crate::ext::xtopt::protocol_by_name(name)
        .or_else(|| NAMES.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
}

/// The header bits of the packet's chain, `None` where the kernel's match is false whatever
/// the rule says (a header that does not fit, an unknown one), `Err` where the capture cut
/// the chain.
fn chain(cx: &EvalCtx<'_>) -> Result<Option<u8>, &'static str> {
    let pkt = cx.pkt;
    let b = &pkt.data[..];
    let is_ext = |nh: u8| {
        matches!(
            nh,
            proto::HOPOPTS
                | proto::IPV6_ROUTE
                | proto::IPV6_FRAG
                | proto::ESP
                | proto::AH
                | proto::IPV6_NONXT
                | proto::IPV6_OPTS
        )
    };
    // A packet the engine built (REJECT's reply) has no extension header.
    let (mut nh, mut ptr) = if b.is_empty() {
        (pkt.proto, usize::MAX)
    } else {
        (b[6], 40usize)
    };
    let skb_len = pkt.ip_len as usize;
    let mut len = skb_len as isize - 40;
    let mut temp = 0u8;
    while ptr != usize::MAX && is_ext(nh) {
        if nh == proto::IPV6_NONXT {
            temp |= NONE;
            break;
        }
        if len < 2 {
            return Ok(None);
        }
        if nh == proto::ESP {
            temp |= ESP;
            break;
        }
        let Some(hp) = b.get(ptr..ptr + 2) else {
            return Err("ipv6header: the capture cut the extension header chain");
        };
        let hdrlen = match nh {
            proto::IPV6_FRAG => 8,
            proto::AH => (hp[1] as isize + 2) * 4,
            _ => (hp[1] as isize + 1) * 8,
        };
        temp |= match nh {
            proto::HOPOPTS => HOPOPTS,
            proto::IPV6_ROUTE => ROUTING,
            proto::IPV6_FRAG => FRAGMENT,
            proto::AH => AH,
            proto::IPV6_OPTS => DSTOPTS,
            _ => return Ok(None),
        };
        nh = hp[0];
        len -= hdrlen;
        ptr += hdrlen as usize;
        if ptr > skb_len {
            break;
        }
    }
    if nh != proto::IPV6_NONXT && nh != proto::ESP {
        temp |= PROTO;
    }
    Ok(Some(temp))
}

impl Match for Ipv6header {
    fn name(&self) -> &'static str {
        "ipv6header"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        if opt.id == 2 {
            self.soft = true;
            return Ok(());
        }
        let a = &args[0];
        let mut flags = 0;
        for part in a.text.split(',') {
            let flag = header_number(part)
                .ok_or_else(|| part.to_string())
                .and_then(|n| {
                    FLAGS
                        .iter()
                        .find(|(p, _)| *p == n)
                        .map(|&(_, f)| f)
                        .ok_or_else(|| n.to_string())
                });
            match flag {
                Ok(f) => flags |= f,
                Err(name) => {
                    return Err(bad(
                        a.span,
                        format!("unknown header `{name}' specified"),
                        "hop, dst, route, frag, auth, esp, none, prot (comma-separated)",
                    ))
                }
            }
        }
        self.flags = flags;
        self.invert = invert;
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(
                cx,
                "-m ipv6header requires --header",
                "--header hop,dst,route,frag,auth,esp,none,prot",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --header ");
        let mut first = true;
        for &(p, f) in FLAGS {
            if self.flags & f == 0 {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(match p {
                0 => "hop-by-hop",
                255 => "protocol",
                _ => proto_name(p).unwrap_or("protocol"),
            });
        }
        if first {
            out.push_str("NONE");
        }
        if self.soft {
            out.push_str(" --soft");
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let temp = match chain(cx) {
            Ok(Some(t)) => t,
            Ok(None) => return MatchResult::No,
            Err(why) => return MatchResult::Unknown(why),
        };
        // `invflags` is 0xFF under `!`.
        let inv = if self.invert { 0xff } else { 0 };
        MatchResult::from_bool(if self.soft {
            (temp ^ self.flags ^ inv) & self.flags == 0
        } else if self.invert {
            temp != self.flags
        } else {
            temp == self.flags
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
