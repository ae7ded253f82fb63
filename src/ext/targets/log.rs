//! `-j LOG` (libxt_LOG.c; kernel xt_LOG.c / nf_log_syslog.c): log the packet to the kernel log
//! and continue (XT_CONTINUE). Any table, any hook.
//!
//! - `--log-level`: a number 0–7 (libxtables number rules: `0x3`, `+3` work) or one of the
//!   names alert, crit, debug, emerg, error, info, notice, panic, warning — exact and
//!   case-sensitive (`warn`, `err`, `WARNING` are refused). Saved as a number, omitted when 4.
//! - `--log-prefix`: at least 1 character, no newline; the kernel field holds 29 characters and
//!   iptables cuts longer prefixes silently (fwcheck warns). Saved quoted when needed.
//! - Flags are saved in the order tcp-sequence, tcp-options, ip-options, uid, macdecode.
//! - Nothing about logging is simulated beyond "continue" (the kernel log rate limits and the
//!   `nf_log` backend choice do not change verdicts).

use std::any::Any;
use std::fmt::Write;

use crate::diag::Diagnostic;
use crate::ext::targets::common::err;
use crate::ext::EvalCtx;
use crate::ext::{
    fixed_string, xt_uint, Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, XtType,
};
use crate::netfilter::save_string;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Log {
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

/// libxtables' `xtopt_parse_sysloglevel` names (looked up with `strcmp`).
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
];

/// `struct xt_log_info.prefix` is 30 bytes.
const PREFIX_SIZE: usize = 30;

static OPTS: &[OptSpec] = &[
    OptSpec::new("log-level", 1, Arg::One),
    OptSpec::new("log-prefix", 2, Arg::One).ty(XtType::NonEmpty),
    OptSpec::new("log-tcp-sequence", 3, Arg::None),
    OptSpec::new("log-tcp-options", 4, Arg::None),
    OptSpec::new("log-ip-options", 5, Arg::None),
    OptSpec::new("log-uid", 6, Arg::None),
    OptSpec::new("log-macdecode", 7, Arg::None),
];

/// `--log-*` flags with their `XT_LOG_*` bit, in save order.
const FLAGS: [(&str, u8); 5] = [
    ("log-tcp-sequence", 0x01),
    ("log-tcp-options", 0x02),
    ("log-ip-options", 0x04),
    ("log-uid", 0x08),
    ("log-macdecode", 0x20),
];

/// A syslog level as `--log-level` and `--nflog-*`-style options read it.
pub(crate) fn parse_level(arg: &OptArg<'_>) -> Result<u8, Diagnostic> {
    let t = arg.text;
    xt_uint(t, 0, 7)
        .map(|v| v as u8)
        .or_else(|| LEVELS.iter().find(|(n, _)| *n == t).map(|(_, v)| *v))
        .ok_or_else(|| {
            err(
                arg.span,
                format!("log level `{t}` unknown"),
                "0-7 or emerg, alert, crit, error, warning, notice, info, debug (lower case)",
            )
        })
}

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
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        match opt.id {
            1 => self.level = parse_level(&args[0])?,
            2 => {
                if args[0].text.contains('\n') {
                    return Err(err(
                        args[0].span,
                        "newlines not allowed in --log-prefix",
                        "a prefix on one line",
                    ));
                }
                self.prefix = fixed_string(&args[0], "log-prefix", PREFIX_SIZE, cx);
            }
            n => {
                if let Some((_, bit)) = FLAGS.get(usize::from(n) - 3) {
                    self.flags |= bit;
                }
            }
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
        for (n, bit) in FLAGS {
            if self.flags & bit != 0 {
                let _ = write!(out, " --{n}");
            }
        }
    }
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Continue
    }
    fn observes_only(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    #[test]
    fn levels_like_libxtables() {
        let l = |t: &str| {
            parse_level(&OptArg {
                text: t,
                span: Span::new(0, t.len()),
            })
            .ok()
        };
        assert_eq!(l("warning"), Some(4));
        assert_eq!(l("panic"), Some(0));
        assert_eq!(l("error"), Some(3));
        assert_eq!(l("0x3"), Some(3));
        assert_eq!(l("+3"), Some(3));
        assert_eq!(l("warn"), None);
        assert_eq!(l("err"), None);
        assert_eq!(l("WARNING"), None);
        assert_eq!(l("8"), None);
    }
}
