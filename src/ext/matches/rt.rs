//! `-m rt` (IPv6 only; libip6t_rt.c / kernel `ip6t_rt.c` `rt_mt6`): the Routing extension
//! header. `[!] --rt-type TYPE`, `[!] --rt-segsleft N[:M]`, `[!] --rt-len LEN` (the header's
//! length in bytes, `(hdrlen + 1) * 8`), and for type 0 `--rt-0-res`, `--rt-0-addrs
//! ADDR[,ADDR...]`, `--rt-0-not-strict`. ufw installs `-m rt --rt-type 0 -j DROP`.
//!
//! Evaluation follows `ipv6_find_hdr(…, NEXTHDR_ROUTING, …)`: the header chain is walked from the
//! base header through hop-by-hop, routing, destination options, AH and fragment headers; no
//! routing header (or a non-first fragment, or "no next header" before one) means no match; a
//! chain that cannot be read hot-drops the packet (`Unknown` when only the capture cut it). A
//! routing header longer than what follows it does not match. Type, segments-left range and
//! length are then compared, each XOR its `!`. The type-0 address and reserved-field tests are
//! parsed and printed but not simulated (`Unknown`): type 0 routing headers are deprecated
//! (RFC 5095) and rules using them are rare.

use std::any::Any;
use std::fmt::Write;

use super::bad;
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};
use crate::packet::{proto, Family};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rt {
    pub(crate) rt_type: Option<(u32, bool)>,
    pub(crate) segsleft: (u32, u32),
    pub(crate) segsleft_inv: bool,
    pub len: Option<(u32, bool)>,
    pub res: bool,
    /// `--rt-0-addrs`, as written (printed back verbatim).
    pub addrs: Option<String>,
    pub(crate) not_strict: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Rt {
        rt_type: None,
        segsleft: (0, u32::MAX),
        segsleft_inv: false,
        len: None,
        res: false,
        addrs: None,
        not_strict: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("rt-type", 1, Arg::One).ty(XtType::U32).inv(),
    OptSpec::new("rt-segsleft", 2, Arg::One)
        .ty(XtType::Range {
            min: 0,
            max: u32::MAX as u64,
        })
        .inv(),
    OptSpec::new("rt-len", 3, Arg::One).ty(XtType::U32).inv(),
    OptSpec::new("rt-0-res", 4, Arg::None),
    OptSpec::new("rt-0-addrs", 5, Arg::One),
    OptSpec::new("rt-0-not-strict", 6, Arg::None),
];

/// Where an extension header starts, per `ipv6_find_hdr` (net/ipv6/exthdrs_core.c).
pub(super) enum Found {
    At(usize),
    /// Not there (`-ENOENT`): the chain ends first, or a non-first fragment hides the rest.
    None,
    /// The chain runs past the packet (`-EBADMSG`: the match hot-drops), `true` when only the
    /// capture cut it.
    Broken {
        cut: bool,
    },
}

/// `ipv6_find_hdr(skb, &off, target, NULL, NULL)` over `b`, the captured bytes of an IPv6
/// packet of `ip_len` bytes: the header chain is walked from the base header through
/// hop-by-hop, routing, destination options, fragment and AH headers until `target`; any
/// other header (or "no next header") ends it; a non-first fragment ends it unless the
/// fragment header is the target. Each header's first two bytes must be there, and a
/// fragment header's offset field.
pub(super) fn find_ext_header(b: &[u8], ip_len: usize, target: u8) -> Found {
    let end = ip_len.min(b.len());
    let cut = b.len() < ip_len;
    let short = |to: usize| Found::Broken {
        cut: cut && to <= ip_len,
    };
    if end < 40 {
        return Found::Broken { cut };
    }
    let mut nh = b[6];
    let mut off = 40usize;
    loop {
        let found = nh == target;
        match nh {
            proto::HOPOPTS
            | proto::IPV6_ROUTE
            | proto::IPV6_FRAG
            | proto::AH
            | proto::IPV6_OPTS => {}
            _ => return Found::None,
        }
        if off + 2 > end {
            return short(off + 2);
        }
        let len = match nh {
            proto::IPV6_FRAG => {
                if off + 4 > end {
                    return short(off + 4);
                }
                if u16::from_be_bytes([b[off + 2], b[off + 3]]) & 0xfff8 != 0 {
                    return if found { Found::At(off) } else { Found::None };
                }
                8
            }
            proto::AH => (b[off + 1] as usize + 2) * 4,
            _ => (b[off + 1] as usize + 1) * 8,
        };
        if found {
            return Found::At(off);
        }
        nh = b[off];
        off += len;
    }
}

/// The offset and first 8 bytes (the fixed part) of IPv6 packet `p`'s extension header
/// `target`, as `ipv6_find_hdr` then `skb_header_pointer` find them; else what the match
/// answers: `No` for an IPv4 packet or no such header, `HotDrop` for a chain or header that runs
/// past the packet, `Unknown` (`cut`) when only the capture cut it off.
pub(super) fn ext_header<'p>(
    p: &'p crate::packet::Packet,
    target: u8,
    cut: &'static str,
) -> Result<(usize, &'p [u8]), MatchResult> {
    if p.family != Family::V6 {
        return Err(MatchResult::No);
    }
    let b = &p.data[..];
    let at = match find_ext_header(b, p.ip_len as usize, target) {
        Found::At(off) => off,
        Found::None => return Err(MatchResult::No),
        Found::Broken { cut: true } => {
            return Err(MatchResult::Unknown(
                "IPv6 extension headers cut off by the capture",
            ))
        }
        Found::Broken { cut: false } => return Err(MatchResult::HotDrop),
    };
    match b.get(at..at + 8) {
        Some(h) => Ok((at, h)),
        None if at + 8 <= p.ip_len as usize => Err(MatchResult::Unknown(cut)),
        None => Err(MatchResult::HotDrop),
    }
}

impl Match for Rt {
    fn name(&self) -> &'static str {
        "rt"
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
            1 => {
                let v = cx.val.uint();
                self.rt_type = Some((v as u32, invert));
            }
            2 => {
                let (lo, hi) = cx.val.range();
                self.segsleft = (lo as u32, hi as u32);
                self.segsleft_inv = invert;
            }
            3 => {
                let v = cx.val.uint();
                self.len = Some((v as u32, invert));
            }
            4..=6 => {
                if self.rt_type != Some((0, false)) {
                    return Err(bad(
                        cx.span,
                        format!("--{} only works with --rt-type 0", opt.name),
                        "--rt-type 0 before this option",
                    ));
                }
                match opt.id {
                    4 => self.res = true,
                    5 => self.addrs = Some(args[0].text.to_string()),
                    _ => self.not_strict = true,
                }
            }
            _ => {}
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if let Some((t, inv)) = self.rt_type {
            let _ = write!(out, "{} --rt-type {t}", if inv { " !" } else { "" });
        }
        if self.segsleft != (0, u32::MAX) {
            let _ = write!(
                out,
                "{} --rt-segsleft ",
                if self.segsleft_inv { " !" } else { "" }
            );
            crate::ext::fmt_u32_range(out, self.segsleft);
        }
        if let Some((l, inv)) = self.len {
            let _ = write!(out, "{} --rt-len {l}", if inv { " !" } else { "" });
        }
        if self.res {
            out.push_str(" --rt-0-res");
        }
        if let Some(a) = &self.addrs {
            let _ = write!(out, " --rt-0-addrs {a}");
        }
        if self.not_strict {
            out.push_str(" --rt-0-not-strict");
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let p = cx.pkt;
        let (at, h) = match ext_header(
            p,
            proto::IPV6_ROUTE,
            "routing header cut off by the capture",
        ) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let hdrlen = (h[1] as u32 + 1) * 8;
        if (p.ip_len as usize).saturating_sub(at) < hdrlen as usize {
            return MatchResult::No;
        }
        let typ = h[2] as u32;
        let segs = h[3] as u32;
        let seg_ok = (segs >= self.segsleft.0 && segs <= self.segsleft.1) != self.segsleft_inv;
        let len_ok = self.len.is_none_or(|(l, inv)| (l == hdrlen) != inv);
        let type_ok = self.rt_type.is_none_or(|(t, inv)| (t == typ) != inv);
        let ok = seg_ok && len_ok && type_ok;
        if ok && (self.res || self.addrs.is_some() || self.not_strict) {
            return MatchResult::Unknown("-m rt type-0 address/reserved tests are not simulated");
        }
        MatchResult::from_bool(ok)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(chain: &[(u8, Vec<u8>)], last: u8) -> Vec<u8> {
        let mut body = Vec::new();
        for (i, (_, h)) in chain.iter().enumerate() {
            let mut h = h.clone();
            h[0] = chain.get(i + 1).map(|c| c.0).unwrap_or(last);
            body.extend_from_slice(&h);
        }
        let mut b = vec![0x60, 0, 0, 0];
        b.extend_from_slice(&(body.len() as u16).to_be_bytes());
        b.push(chain.first().map(|c| c.0).unwrap_or(last));
        b.push(64);
        b.extend_from_slice(&[0u8; 32]);
        b.extend_from_slice(&body);
        b
    }

    #[test]
    fn finds_the_routing_header_behind_other_headers() {
        let rh = |typ: u8, segs: u8| vec![0, 0, typ, segs, 0, 0, 0, 0];
        let b = v6(
            &[(proto::HOPOPTS, vec![0; 8]), (proto::IPV6_ROUTE, rh(2, 1))],
            59,
        );
        assert!(matches!(
            find_ext_header(&b, b.len(), proto::IPV6_ROUTE),
            Found::At(48)
        ));
        assert_eq!(b[48 + 2], 2);
        let b = v6(&[(proto::IPV6_OPTS, vec![0; 8])], 6);
        assert!(matches!(
            find_ext_header(&b, b.len(), proto::IPV6_ROUTE),
            Found::None
        ));
        // A non-first fragment hides what follows.
        let frag = vec![0, 0, 0, 0x10, 0, 0, 0, 1];
        let b = v6(
            &[(proto::IPV6_FRAG, frag), (proto::IPV6_ROUTE, rh(0, 0))],
            59,
        );
        assert!(matches!(
            find_ext_header(&b, b.len(), proto::IPV6_ROUTE),
            Found::None
        ));
        // A header longer than the packet, followed by another extension header.
        let mut b = v6(&[(proto::HOPOPTS, vec![0, 4, 0, 0, 0, 0, 0, 0])], 60);
        let n = b.len();
        assert!(matches!(
            find_ext_header(&b, n, proto::IPV6_ROUTE),
            Found::Broken { cut: false }
        ));
        // A capture cut inside the first extension header.
        b.truncate(41);
        assert!(matches!(
            find_ext_header(&b, n, proto::IPV6_ROUTE),
            Found::Broken { cut: true }
        ));
    }

    #[test]
    fn finds_the_fragment_header_of_any_fragment() {
        // Base header, a routing header, then a non-first fragment.
        let mut b = vec![0x60, 0, 0, 0, 0, 16, proto::IPV6_ROUTE, 64];
        b.extend_from_slice(&[0u8; 32]);
        b.extend_from_slice(&[proto::IPV6_FRAG, 0, 2, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[17, 0, 0x05, 0x39, 0, 0, 0, 7]);
        assert!(matches!(
            find_ext_header(&b, b.len(), proto::IPV6_FRAG),
            Found::At(48)
        ));
        // The routing header is found; a non-first fragment hides what follows it.
        assert!(matches!(
            find_ext_header(&b, b.len(), proto::IPV6_ROUTE),
            Found::At(40)
        ));
        // No next header ends the chain.
        b[6] = 59;
        assert!(matches!(
            find_ext_header(&b, b.len(), proto::IPV6_FRAG),
            Found::None
        ));
    }
}
