//! `-j NFLOG` (libxt_NFLOG.c; kernel xt_NFLOG.c): send the packet to a netlink log group and
//! continue (XT_CONTINUE). Any table, any hook.
//!
//! - `--nflog-group N` (0–65535, saved when not 0), `--nflog-prefix TEXT` (at least 1
//!   character, no newline), `--nflog-size N` (32-bit, saved even when 0),
//!   `--nflog-range N` (obsolete; excludes --nflog-size), `--nflog-threshold N` (16-bit; the
//!   default is 0 and only a non-zero value is saved — iptables 1.8.9 as shipped by Debian
//!   prints `--nflog-threshold 1` back, unlike the upstream sources that treat 1 as default).
//! - Save order: prefix, group, size/range, threshold.
//! - iptables-nft turns NFLOG into the native nft `log` expression and back, which changes two
//!   things (fwcheck follows nft): the prefix keeps up to 127 characters (legacy: 63), and
//!   `--nflog-range` is lost (`-j NFLOG --nflog-range 100` saves as `-j NFLOG`; legacy keeps it).

use std::any::Any;
use std::fmt::Write;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{conflict, err, W_BACKEND};
use crate::ext::EvalCtx;
use crate::ext::{fixed_string, Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, XtType};
use crate::netfilter::save_string;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Nflog {
    pub group: u16,
    pub prefix: String,
    /// `--nflog-size`: copy at most this many bytes.
    pub size: Option<u32>,
    pub(crate) threshold: u16,
    range_given: bool,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Nflog {
        group: 0,
        prefix: String::new(),
        size: None,
        threshold: 0,
        range_given: false,
    })
}

/// `NF_LOG_PREFIXLEN` (the nft log prefix buffer).
const PREFIX_SIZE: usize = 128;

static OPTS: &[OptSpec] = &[
    OptSpec::new("nflog-group", 1, Arg::One).ty(XtType::U16),
    OptSpec::new("nflog-prefix", 2, Arg::One).ty(XtType::NonEmpty),
    OptSpec::new("nflog-range", 3, Arg::One).ty(XtType::U32),
    OptSpec::new("nflog-size", 4, Arg::One).ty(XtType::U32),
    OptSpec::new("nflog-threshold", 5, Arg::One).ty(XtType::U16),
];

impl Target for Nflog {
    fn name(&self) -> &'static str {
        "NFLOG"
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
        let a = &args[0];
        match opt.id {
            1 => self.group = cx.val.uint() as u16,
            2 => {
                if a.text.contains('\n') {
                    return Err(err(
                        a.span,
                        "newlines not allowed in --nflog-prefix",
                        "a prefix on one line",
                    ));
                }
                if a.text.len() >= 64 && a.text.len() < PREFIX_SIZE {
                    cx.warn(
                        Diagnostic::warning(
                            W_BACKEND,
                            a.span,
                            "iptables-legacy keeps only the first 63 characters of --nflog-prefix",
                        )
                        .note("iptables-nft keeps up to 127"),
                    );
                }
                self.prefix = fixed_string(a, opt.name, PREFIX_SIZE, cx);
            }
            3 => {
                if self.size.is_some() {
                    return Err(conflict(cx.span, "NFLOG", "nflog-range", "nflog-size"));
                }
                self.range_given = true;
                cx.warn(
                    Diagnostic::warning(
                        W_BACKEND,
                        cx.span,
                        "--nflog-range has never worked; iptables-nft drops it",
                    )
                    .note("use --nflog-size to limit the copied bytes"),
                );
            }
            4 => {
                if self.range_given {
                    return Err(conflict(cx.span, "NFLOG", "nflog-size", "nflog-range"));
                }
                self.size = Some(cx.val.uint() as u32);
            }
            _ => self.threshold = cx.val.uint() as u16,
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if !self.prefix.is_empty() {
            out.push_str(" --nflog-prefix");
            save_string(out, &self.prefix);
        }
        if self.group != 0 {
            let _ = write!(out, " --nflog-group {}", self.group);
        }
        if let Some(s) = self.size {
            let _ = write!(out, " --nflog-size {s}");
        }
        if self.threshold != 0 {
            let _ = write!(out, " --nflog-threshold {}", self.threshold);
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
