//! `-m ttl` (libipt_ttl.c / kernel `xt_ttl.c` `ttl_mt`) and `-m hl` (libip6t_hl.c / `hl_mt6`):
//! `--ttl-eq/--ttl-lt/--ttl-gt N` (`--ttl N` = `--ttl-eq N`; only `--ttl-eq` may be negated),
//! IPv6 `--hl-eq/--hl-lt/--hl-gt`/`--hl`. The value tested is the TTL/hop limit as the packet
//! has it at this hook, after `TTL`/`HL` targets (`cx.skb.ttl`). Always decidable offline.

use std::any::Any;
use std::fmt::Write;

use super::{conflict, missing};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Eq,
    Ne,
    Lt,
    Gt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ttl {
    pub v6: bool,
    pub mode: Option<Mode>,
    pub value: u8,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Ttl {
        v6: false,
        mode: None,
        value: 0,
    })
}

pub(crate) fn new6() -> Box<dyn Match> {
    Box::new(Ttl {
        v6: true,
        mode: None,
        value: 0,
    })
}

const EQ: u8 = 1;
const LT: u8 = 2;
const GT: u8 = 3;
const PLAIN: u8 = 4;

static OPTS4: &[OptSpec] = &[
    OptSpec::new("ttl-lt", LT, Arg::One).ty(XtType::U8),
    OptSpec::new("ttl-gt", GT, Arg::One).ty(XtType::U8),
    OptSpec::new("ttl-eq", EQ, Arg::One).ty(XtType::U8).inv(),
    OptSpec::new("ttl", PLAIN, Arg::One).ty(XtType::U8),
];

static OPTS6: &[OptSpec] = &[
    OptSpec::new("hl-lt", LT, Arg::One).ty(XtType::U8),
    OptSpec::new("hl-gt", GT, Arg::One).ty(XtType::U8),
    OptSpec::new("hl-eq", EQ, Arg::One).ty(XtType::U8).inv(),
    OptSpec::new("hl", PLAIN, Arg::One).ty(XtType::U8),
];

impl Match for Ttl {
    fn name(&self) -> &'static str {
        if self.v6 {
            "hl"
        } else {
            "ttl"
        }
    }
    fn options(&self) -> &'static [OptSpec] {
        if self.v6 {
            OPTS6
        } else {
            OPTS4
        }
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        _args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        let p = if self.v6 { "hl" } else { "ttl" };
        if self.mode.is_some() {
            return Err(conflict(
                cx,
                format!("only one of --{p}-eq, --{p}-lt, --{p}-gt may be given"),
                format!("a single --{p}-eq, --{p}-lt or --{p}-gt"),
            ));
        }
        self.value = cx.val.uint() as u8;
        self.mode = Some(match opt.id {
            LT => Mode::Lt,
            GT => Mode::Gt,
            _ if invert => Mode::Ne,
            _ => Mode::Eq,
        });
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.mode.is_none() {
            let p = if self.v6 { "hl" } else { "ttl" };
            return Err(missing(
                cx,
                format!("-m {p} requires one of --{p}-eq, --{p}-lt, --{p}-gt"),
                format!("--{p}-eq N, --{p}-lt N or --{p}-gt N"),
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let p = if self.v6 { "hl" } else { "ttl" };
        let op = match self.mode {
            Some(Mode::Eq) | None => format!("--{p}-eq"),
            Some(Mode::Ne) => format!("! --{p}-eq"),
            Some(Mode::Lt) => format!("--{p}-lt"),
            Some(Mode::Gt) => format!("--{p}-gt"),
        };
        let _ = write!(out, " {op} {}", self.value);
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let t = cx.skb.ttl;
        MatchResult::from_bool(match self.mode {
            Some(Mode::Eq) | None => t == self.value,
            Some(Mode::Ne) => t != self.value,
            Some(Mode::Lt) => t < self.value,
            Some(Mode::Gt) => t > self.value,
        })
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
