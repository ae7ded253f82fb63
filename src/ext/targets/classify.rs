//! `-j CLASSIFY` (libxt_CLASSIFY.c; kernel xt_CLASSIFY.c): set `skb->priority` (a tc class
//! `MAJOR:MINOR`) and continue. Any table; hooks FORWARD, OUTPUT, POSTROUTING.
//!
//! - `--set-class MAJOR:MINOR` (mandatory), read with `sscanf("%x:%x")`: hexadecimal with an
//!   optional `0x`, leading blanks and sign allowed, anything after the minor ignored; the
//!   priority is `(MAJOR << 16) | (MINOR & 0xffff)`, so `1:-1` is `1:ffff`.
//! - Saved as `--set-class %04x:%04x`.

use std::any::Any;
use std::fmt::Write;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{err, missing};
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict};
use crate::netfilter::{Hook, HookMask};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Classify {
    pub priority: u32,
    given: bool,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Classify {
        priority: 0,
        given: false,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("set-class", 1, Arg::One)];

/// One `%x` conversion: white space, sign, optional `0x`, hex digits (as `strtoul(…, 16)`,
/// saturating on overflow), stored into an `unsigned int`. Returns the value and the rest.
fn scan_hex(s: &str) -> Option<(u32, &str)> {
    let s = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let s = if (s.starts_with("0x") || s.starts_with("0X"))
        && s.as_bytes().get(2).is_some_and(|c| c.is_ascii_hexdigit())
    {
        &s[2..]
    } else {
        s
    };
    let n = s.bytes().take_while(|c| c.is_ascii_hexdigit()).count();
    if n == 0 {
        return None;
    }
    let mut v: Option<u64> = Some(0);
    for c in s[..n].chars() {
        v = v
            .and_then(|v| v.checked_mul(16))
            .and_then(|v| v.checked_add(c.to_digit(16).unwrap_or(0) as u64));
    }
    // Overflow gives ULONG_MAX whatever the sign.
    let v = match v {
        None => u64::MAX,
        Some(v) if neg => v.wrapping_neg(),
        Some(v) => v,
    };
    Some((v as u32, &s[n..]))
}

/// `sscanf(s, "%x:%x")` == 2, then `TC_H_MAKE(major << 16, minor)`.
pub(crate) fn parse_class(s: &str) -> Option<u32> {
    let (maj, rest) = scan_hex(s)?;
    let rest = rest.strip_prefix(':')?;
    let (min, _) = scan_hex(rest)?;
    Some((maj << 16) | (min & 0xffff))
}

impl Target for Classify {
    fn name(&self) -> &'static str {
        "CLASSIFY"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        _invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        self.priority = parse_class(args[0].text).ok_or_else(|| {
            err(
                args[0].span,
                format!("bad class value `{}`", args[0].text),
                "MAJOR:MINOR in hexadecimal, such as 1:10",
            )
        })?;
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(cx.span, "CLASSIFY", "--set-class"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let _ = write!(
            out,
            " --set-class {:04x}:{:04x}",
            self.priority >> 16,
            self.priority & 0xffff
        );
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        cx.skb.priority = self.priority;
        TargetVerdict::Continue
    }
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Forward, Hook::Output, Hook::Postrouting])
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sscanf_hex() {
        assert_eq!(parse_class("1:1"), Some(0x0001_0001));
        assert_eq!(parse_class("0x10:0x20"), Some(0x0010_0020));
        assert_eq!(parse_class("ffff:ffff"), Some(0xffff_ffff));
        assert_eq!(parse_class("1:-1"), Some(0x0001_ffff));
        assert_eq!(parse_class("0000:ffffffff"), Some(0x0000_ffff));
        assert_eq!(parse_class("1:2junk"), Some(0x0001_0002));
        assert_eq!(parse_class("10000:1"), Some(0x0000_0001));
        assert_eq!(parse_class("1"), None);
        assert_eq!(parse_class("1 :2"), None);
        assert_eq!(parse_class("g:1"), None);
    }
}
