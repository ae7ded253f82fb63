//! `-m frag` (IPv6 only; libip6t_frag.c / kernel `ip6t_frag.c` `frag_mt6`): the Fragment
//! extension header. `[!] --fragid ID[:ID]` (the identification), `[!] --fraglen LEN` (parsed
//! and printed; the kernel does not test it), `--fragres` (reserved bits zero), `--fragfirst`
//! (offset zero), `--fragmore` (more fragments follow), `--fraglast` (none follow).
//!
//! Evaluation follows `frag_mt6`: `ipv6_find_hdr(…, NEXTHDR_FRAGMENT, …)` (`rt::ext_header`)
//! finds the header behind hop-by-hop, routing, destination-options and AH headers; no fragment
//! header means no match, a chain that cannot be read hot-drops (`Unknown` when only the
//! capture cut it), and so does a fragment header shorter than its 8 bytes. Where conntrack
//! reassembles (`nf_defrag_ipv6`, before raw), rules see the datagram without its fragment
//! header, as fwcheck's reassembly gives it: `-m frag` then does not match.

use std::any::Any;
use std::fmt::Write;

use super::bad;
use super::rt::ext_header;
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};
use crate::packet::proto;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frag {
    pub(crate) ids: (u32, u32),
    pub(crate) ids_inv: bool,
    pub(crate) len: Option<(u32, bool)>,
    pub(crate) res: bool,
    pub(crate) first: bool,
    pub(crate) more: bool,
    pub(crate) last: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Frag {
        ids: (0, u32::MAX),
        ids_inv: false,
        len: None,
        res: false,
        first: false,
        more: false,
        last: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("fragid", 1, Arg::One)
        .ty(XtType::Range {
            min: 0,
            max: u32::MAX as u64,
        })
        .inv(),
    OptSpec::new("fraglen", 2, Arg::One).ty(XtType::U32).inv(),
    OptSpec::new("fragres", 3, Arg::None),
    OptSpec::new("fragfirst", 4, Arg::None),
    OptSpec::new("fragmore", 5, Arg::None),
    OptSpec::new("fraglast", 6, Arg::None),
];

impl Match for Frag {
    fn name(&self) -> &'static str {
        "frag"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        _args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        match opt.id {
            1 => {
                let (lo, hi) = cx.val.range();
                self.ids = (lo as u32, hi as u32);
                self.ids_inv = invert;
            }
            2 => self.len = Some((cx.val.uint() as u32, invert)),
            3 => self.res = true,
            4 => self.first = true,
            5 | 6 => {
                // `.excl`: the two exclude each other (libip6t_frag.c).
                let (set, other, that) = if opt.id == 5 {
                    (&mut self.more, self.last, "fraglast")
                } else {
                    (&mut self.last, self.more, "fragmore")
                };
                if other {
                    return Err(bad(
                        cx.span,
                        format!(
                            "\"--{}\" cannot be used together with \"--{that}\"",
                            opt.name
                        ),
                        "one of --fragmore and --fraglast",
                    ));
                }
                *set = true;
            }
            _ => {}
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.ids != (0, u32::MAX) {
            let _ = write!(out, "{} --fragid ", if self.ids_inv { " !" } else { "" });
            crate::ext::fmt_u32_range(out, self.ids);
        }
        if let Some((l, inv)) = self.len {
            let _ = write!(out, "{} --fraglen {l}", if inv { " !" } else { "" });
        }
        for (on, name) in [
            (self.res, " --fragres"),
            (self.first, " --fragfirst"),
            (self.more, " --fragmore"),
            (self.last, " --fraglast"),
        ] {
            if on {
                out.push_str(name);
            }
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let (_, h) = match ext_header(
            cx.pkt,
            proto::IPV6_FRAG,
            "fragment header cut off by the capture",
        ) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let frag_off = u16::from_be_bytes([h[2], h[3]]);
        let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let more = frag_off & 1 != 0;
        let ok = ((id >= self.ids.0 && id <= self.ids.1) != self.ids_inv)
            && !(self.res && (h[1] != 0 || frag_off & 0x6 != 0))
            && !(self.first && frag_off & 0xfff8 != 0)
            && (!self.more || more)
            && !(self.last && more);
        MatchResult::from_bool(ok)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
