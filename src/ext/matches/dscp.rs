//! `-m dscp --dscp N | --dscp-class CLASS` (libxt_dscp.c / kernel `xt_dscp.c` `dscp_mt`): the
//! upper six bits of the IPv4 TOS byte / IPv6 traffic class equal N (0-63), XOR `!`. Classes
//! (CS0-CS7, BE, AF11-AF43, EF) are matched by prefix as `class_to_dscp` does. The byte is the
//! one the packet has at this hook (`cx.skb.tos`).

use std::any::Any;
use std::fmt::Write;

use super::{bad, conflict, missing};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{parse_num, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};

pub const DSCP_CLASSES: &[(&str, u8)] = &[
    ("CS0", 0x00),
    ("CS1", 0x08),
    ("CS2", 0x10),
    ("CS3", 0x18),
    ("CS4", 0x20),
    ("CS5", 0x28),
    ("CS6", 0x30),
    ("CS7", 0x38),
    ("BE", 0x00),
    ("AF11", 0x0a),
    ("AF12", 0x0c),
    ("AF13", 0x0e),
    ("AF21", 0x12),
    ("AF22", 0x14),
    ("AF23", 0x16),
    ("AF31", 0x1a),
    ("AF32", 0x1c),
    ("AF33", 0x1e),
    ("AF41", 0x22),
    ("AF42", 0x24),
    ("AF43", 0x26),
    ("EF", 0x2e),
];

/// `class_to_dscp`: the first class whose name starts the argument (case-insensitive).
pub fn parse_dscp_class(arg: &OptArg<'_>) -> Result<u8, Diagnostic> {
    let t = arg.text.as_bytes();
    DSCP_CLASSES
        .iter()
        .find(|(n, _)| t.len() >= n.len() && t[..n.len()].eq_ignore_ascii_case(n.as_bytes()))
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            bad(
                arg.span,
                format!("invalid DSCP class `{}`", arg.text),
                "CS0-CS7, BE, AF11-AF13, AF21-AF23, AF31-AF33, AF41-AF43 or EF",
            )
        })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dscp {
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
    OptSpec::new("dscp", 1, Arg::One).inv(),
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
            parse_num(&args[0], 0, 63, "DSCP value")? as u8
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
