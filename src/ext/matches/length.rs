//! `-m length --length MIN[:MAX]` (libxt_length.c / kernel `xt_length.c`): the IPv4 total
//! length field, or the IPv6 payload length + 40, inside `[MIN, MAX]`, XOR `!`. These are the
//! header fields, not the captured size, so truncated captures still decide.

use std::any::Any;

use super::missing;
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Length {
    pub min: u16,
    pub max: u16,
    pub invert: bool,
    pub given: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Length {
        min: 0,
        max: 0,
        invert: false,
        given: false,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("length", 1, Arg::One)
    .ty(XtType::Range { min: 0, max: 65535 })
    .inv()];

impl Match for Length {
    fn name(&self) -> &'static str {
        "length"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        invert: bool,
        _args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        let (lo, hi) = cx.val.range();
        (self.min, self.max) = (lo as u16, hi as u16);
        self.invert = invert;
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(
                cx,
                "-m length requires --length",
                "--length MIN[:MAX]",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --length ");
        crate::ext::fmt_port_range(out, (self.min, self.max));
    }
    fn explain(&self, cx: &EvalCtx<'_>, _held: bool) -> Option<String> {
        let len = cx.skb.len(cx.pkt).min(65535 + 40);
        let inside = len >= self.min as u32 && len <= self.max as u32;
        Some(format!(
            "length {len} {} {}:{}{}",
            if inside { "∈" } else { "∉" },
            self.min,
            self.max,
            if self.invert { " (negated)" } else { "" }
        ))
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        // `ntohs(iph->tot_len)` / `ntohs(ip6h->payload_len) + 40`: 16-bit header arithmetic
        // (a jumbogram's payload_len 0 gives 40).
        let len = cx.skb.len(cx.pkt).min(65535 + 40);
        let inside = len >= self.min as u32 && len <= self.max as u32;
        MatchResult::from_bool(inside != self.invert)
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
