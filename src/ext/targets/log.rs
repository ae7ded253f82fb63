//! `-j LOG` (libxt_LOG.c / xt_LOG.c): log the packet to the kernel log and continue.

use std::any::Any;
use std::fmt::Write;

use crate::diag::Diagnostic;
use crate::engine::EvalCtx;
use crate::ext::{strtoul0, Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, E_VALUE};
use crate::ruleset::lexer::save_string;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    pub prefix: String,
    pub level: u8,
    pub flags: u8,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Log {
        prefix: String::new(),
        level: 4,
        flags: 0,
    })
}

const LEVELS: &[(&str, u8)] = &[
    ("alert", 1),
    ("crit", 2),
    ("debug", 7),
    ("emerg", 0),
    ("error", 3),
    ("info", 6),
    ("notice", 5),
    ("panic", 0),
    ("warning", 4),
    ("warn", 4),
    ("err", 3),
];

static OPTS: &[OptSpec] = &[
    OptSpec::new("log-level", 1, Arg::One),
    OptSpec::new("log-prefix", 2, Arg::One),
    OptSpec::new("log-tcp-sequence", 3, Arg::None),
    OptSpec::new("log-tcp-options", 4, Arg::None),
    OptSpec::new("log-ip-options", 5, Arg::None),
    OptSpec::new("log-uid", 6, Arg::None),
    OptSpec::new("log-macdecode", 7, Arg::None),
];

const FLAG_NAMES: [&str; 5] = [
    "log-tcp-sequence",
    "log-tcp-options",
    "log-ip-options",
    "log-uid",
    "log-macdecode",
];

impl Target for Log {
    fn name(&self) -> &'static str {
        "LOG"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        _invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        match opt.id {
            1 => {
                let t = args[0].text;
                let lv = strtoul0(t)
                    .filter(|v| *v <= 7)
                    .map(|v| v as u8)
                    .or_else(|| {
                        LEVELS
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case(t))
                            .map(|(_, v)| *v)
                    });
                match lv {
                    Some(v) => self.level = v,
                    None => {
                        return Err(Diagnostic::error(
                            E_VALUE,
                            args[0].span,
                            format!("invalid log level `{t}`"),
                        )
                        .expected(
                            "0-7 or emerg, alert, crit, error, warning, notice, info, debug",
                        ))
                    }
                }
            }
            2 => {
                let t = args[0].text;
                if t.len() > 29 {
                    return Err(Diagnostic::error(
                        E_VALUE,
                        args[0].span,
                        "log prefix is longer than 29 characters",
                    )
                    .expected("a prefix of at most 29 characters"));
                }
                self.prefix = t.to_string();
            }
            n => self.flags |= 1 << (n - 3),
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if !self.prefix.is_empty() {
            out.push_str(" --log-prefix");
            save_string(out, &self.prefix);
        }
        if self.level != 4 {
            let _ = write!(out, " --log-level {}", self.level);
        }
        for (i, n) in FLAG_NAMES.iter().enumerate() {
            if self.flags & (1 << i) != 0 {
                let _ = write!(out, " --{n}");
            }
        }
    }
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Continue
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
