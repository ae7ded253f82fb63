//! `-m tos --tos VALUE[/MASK]` or a name (libxt_tos.c rev 1 / kernel `xt_dscp.c` `tos_mt`):
//! `(tos & mask) == value` on the IPv4 TOS byte or the IPv6 traffic class, XOR `!`. Names
//! (Minimize-Delay 0x10, Maximize-Throughput 0x08, Maximize-Reliability 0x04, Minimize-Cost
//! 0x02, Normal-Service 0x00) take the mask 0x3f; a number without mask takes 0xff. The byte is
//! the one the packet has at this hook, after `TOS`/`DSCP` targets (`cx.skb.tos`).

use std::any::Any;
use std::fmt::Write;

use super::{bad, missing};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{strtoul_prefix, sub_span, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};

pub(crate) const TOS_NAMES: &[(&str, u8)] = &[
    ("Minimize-Delay", 0x10),
    ("Maximize-Throughput", 0x08),
    ("Maximize-Reliability", 0x04),
    ("Minimize-Cost", 0x02),
    ("Normal-Service", 0x00),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tos {
    pub value: u8,
    pub mask: u8,
    pub invert: bool,
    pub given: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Tos {
        value: 0,
        mask: 0xff,
        invert: false,
        given: false,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("tos", 1, Arg::One).inv()];

/// `xtopt_parse_tosmask`: `VALUE[/MASK]` (bytes, C base 0; mask default 0xff) or a symbolic
/// name (case-insensitive) with mask `name_mask`.
pub(crate) fn parse_tos(arg: &OptArg<'_>, name_mask: u8) -> Result<(u8, u8), Diagnostic> {
    let t = arg.text;
    let expected = "a TOS value 0-255 with optional /MASK, or one of Minimize-Delay, \
                    Maximize-Throughput, Maximize-Reliability, Minimize-Cost, Normal-Service";
    match strtoul_prefix(t) {
        Some((v, n)) if v <= 255 => {
            if n == t.len() {
                return Ok((v as u8, 0xff));
            }
            if let Some(m) = t[n..].strip_prefix('/') {
                if let Some((mv, k)) = strtoul_prefix(m) {
                    if mv <= 255 && k == m.len() {
                        return Ok((v as u8, mv as u8));
                    }
                }
                return Err(bad(
                    sub_span(arg, n + 1, t.len()),
                    format!("illegal TOS mask `{m}`"),
                    "a mask 0-255",
                ));
            }
            Err(bad(arg.span, format!("illegal TOS value `{t}`"), expected))
        }
        _ => TOS_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(t))
            .map(|(_, v)| (*v, name_mask))
            .ok_or_else(|| bad(arg.span, format!("unknown TOS name `{t}`"), expected)),
    }
}

impl Match for Tos {
    fn name(&self) -> &'static str {
        "tos"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        (self.value, self.mask) = parse_tos(&args[0], 0x3f)?;
        self.invert = invert;
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(cx, "-m tos requires --tos", "--tos VALUE[/MASK]"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        let _ = write!(out, " --tos 0x{:02x}/0x{:02x}", self.value, self.mask);
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        MatchResult::from_bool(((cx.skb.tos & self.mask) == self.value) != self.invert)
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
