//! `-m dscp --dscp N | --dscp-class CLASS` (libxt_dscp.c / kernel `xt_dscp.c` `dscp_mt`): the
//! upper six bits of the IPv4 TOS byte / IPv6 traffic class equal N (0-63), XOR `!`. Classes
//! (CS0-CS7, BE, AF11-AF43, EF) are matched by prefix as `class_to_dscp` does. The byte is the
//! one the packet has at this hook (`cx.skb.tos`).

use std::any::Any;
use std::fmt::Write;

use super::{conflict, missing};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{parse_dscp_class, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dscp {
    pub dscp: u8,
    pub invert: bool,
    pub given: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Dscp {
        dscp: 0,
        invert: false,
        given: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("dscp", 1, Arg::One)
        .ty(XtType::Uint { min: 0, max: 63 })
        .inv(),
    OptSpec::new("dscp-class", 2, Arg::One).inv(),
];

impl Match for Dscp {
    fn name(&self) -> &'static str {
        "dscp"
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
        if self.given {
            return Err(conflict(
                cx,
                "--dscp and --dscp-class cannot be used together",
                "either --dscp N or --dscp-class CLASS",
            ));
        }
        self.dscp = if opt.id == 1 {
            cx.val.uint() as u8
        } else {
            parse_dscp_class(&args[0])?
        };
        self.invert = invert;
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(
                cx,
                "-m dscp requires --dscp or --dscp-class",
                "--dscp N (0-63) or --dscp-class CLASS",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        let _ = write!(out, " --dscp 0x{:02x}", self.dscp);
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        MatchResult::from_bool(((cx.skb.tos >> 2) == self.dscp) != self.invert)
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
