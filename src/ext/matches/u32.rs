//! `-m u32 [!] --u32 TESTS` (libxt_u32.c / kernel `xt_u32.c` `u32_mt`): tests joined by `&&`,
//! each `LOCATION=VALUES`; a location is a number (byte offset from the IP header) followed by
//! operators `&MASK`, `<<N`, `>>N`, `@OFFSET` (move the base by the current value and read the
//! word at OFFSET from there); values are `N` or `N:M`, joined by `,`. At most 10 tests, 10
//! location numbers and 10 values each. Saved as iptables prints it: every number in hex, no
//! spaces, quoted.
//!
//! Evaluation reads big-endian 32-bit words from `cx.pkt.data` exactly as the kernel bounds-checks
//! them against the packet length (`skb->len`, the IP length): a word past the end makes the
//! whole match false (before `!`). Shift counts are taken modulo 32, as x86 does. `Unknown` only
//! when a word the test reads lies in the packet but past what the capture kept.

use std::any::Any;
use std::fmt::Write;

use super::{bad, missing};
use crate::diag::Diagnostic;
use crate::ext::{strtoul_prefix, sub_span, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::ext::{EvalCtx, PacketBytes};

pub(crate) const MAXSIZE: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    And,
    Shl,
    Shr,
    At,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Test {
    pub first: u32,
    pub ops: Vec<(Op, u32)>,
    pub values: Vec<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct U32 {
    pub tests: Vec<Test>,
    pub invert: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(U32 {
        tests: Vec::new(),
        invert: false,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("u32", 1, Arg::One).inv()];

/// Parse the `--u32` argument (the state machine of `u32_parse`).
pub(crate) fn parse_tests(arg: &OptArg<'_>) -> Result<Vec<Test>, Diagnostic> {
    let s = arg.text;
    let b = s.as_bytes();
    let err = |at: usize, msg: &str, exp: &str| {
        bad(
            sub_span(arg, at.min(s.len()), (at + 1).min(s.len())),
            format!("u32: at char {at}: {msg}"),
            exp.to_string(),
        )
    };
    let num = |i: &mut usize| -> Result<u32, Diagnostic> {
        match strtoul_prefix(&s[*i..]) {
            Some((v, n)) if v <= u32::MAX as u64 => {
                *i += n;
                Ok(v as u32)
            }
            _ => Err(err(
                *i,
                "not a number or out of range",
                "a number (decimal, 0x hex or 0 octal) up to 0xffffffff",
            )),
        }
    };
    let mut tests = Vec::new();
    let mut cur = Test {
        first: 0,
        ops: Vec::new(),
        values: Vec::new(),
    };
    let mut locind = 0;
    let mut state = 0;
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            if state == 0 {
                return Err(err(
                    i,
                    "abrupt end of input after location specifier",
                    "`=VALUE` after the location",
                ));
            }
            if cur.values.is_empty() {
                return Err(err(
                    i,
                    "test ended with no value specified",
                    "a value or range after `=`",
                ));
            }
            tests.push(cur);
            if tests.len() > MAXSIZE {
                return Err(err(i, "too many \"&&\"s", "at most 10 tests"));
            }
            return Ok(tests);
        }
        if state == 0 {
            if b[i] == b'=' {
                if locind == 0 {
                    return Err(err(i, "location spec missing", "a location before `=`"));
                }
                i += 1;
                state = 1;
                continue;
            }
            let op = if locind != 0 {
                let op = match b[i] {
                    b'&' => Op::And,
                    b'<' | b'>' => {
                        let c = b[i];
                        i += 1;
                        if i >= b.len() || b[i] != c {
                            return Err(err(
                                i,
                                &format!("a second '{}' was expected", c as char),
                                "`<<` or `>>`",
                            ));
                        }
                        if c == b'<' {
                            Op::Shl
                        } else {
                            Op::Shr
                        }
                    }
                    b'@' => Op::At,
                    _ => return Err(err(i, "operator expected", "`&`, `<<`, `>>`, `@` or `=`")),
                };
                i += 1;
                Some(op)
            } else {
                None
            };
            let n = num(&mut i)?;
            match op {
                None => cur.first = n,
                Some(o) => cur.ops.push((o, n)),
            }
            locind += 1;
            if locind > MAXSIZE {
                return Err(err(
                    i,
                    "too many operators",
                    "at most 10 numbers in a location",
                ));
            }
        } else if b[i] == b'&' {
            i += 1;
            if i >= b.len() || b[i] != b'&' {
                return Err(err(i, "a second '&' was expected", "`&&` between tests"));
            }
            if cur.values.is_empty() {
                return Err(err(i, "value spec missing", "a value before `&&`"));
            }
            tests.push(std::mem::replace(
                &mut cur,
                Test {
                    first: 0,
                    ops: Vec::new(),
                    values: Vec::new(),
                },
            ));
            if tests.len() > MAXSIZE {
                return Err(err(i, "too many \"&&\"s", "at most 10 tests"));
            }
            i += 1;
            state = 0;
            locind = 0;
        } else {
            if !cur.values.is_empty() {
                if b[i] != b',' {
                    return Err(err(i, "expected \",\" or \"&&\"", "`,` or `&&`"));
                }
                i += 1;
            }
            let lo = num(&mut i)?;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let hi = if i < b.len() && b[i] == b':' {
                i += 1;
                num(&mut i)?
            } else {
                lo
            };
            cur.values.push((lo, hi));
            if cur.values.len() > MAXSIZE {
                return Err(err(i, "too many \",\"s", "at most 10 values"));
            }
        }
    }
}

/// Why a word cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unread {
    /// The capture cut it off.
    NotCaptured,
    /// It holds bytes rewritten in place to a value fwcheck does not know.
    Rewritten,
}

/// Read the big-endian word at `pos`.
fn word(b: &PacketBytes<'_>, pos: usize) -> Result<u32, Unread> {
    if b.touches_unknown(pos..pos + 4) {
        return Err(Unread::Rewritten);
    }
    b.data
        .get(pos..pos + 4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        .ok_or(Unread::NotCaptured)
}

/// `u32_match_it`: `Ok(bool)`, or why a word a test reads is not known.
pub(crate) fn match_it(tests: &[Test], b: &PacketBytes<'_>, len: u32) -> Result<bool, Unread> {
    let len = len as u64;
    for t in tests {
        let mut at: u32 = 0;
        let pos = t.first as u64;
        if len < 4 || pos > len - 4 {
            return Ok(false);
        }
        let mut val = word(b, pos as usize)?;
        for (op, n) in &t.ops {
            match op {
                Op::And => val &= n,
                Op::Shl => val = val.wrapping_shl(*n),
                Op::Shr => val = val.wrapping_shr(*n),
                Op::At => {
                    let (nat, of) = at.overflowing_add(val);
                    if of {
                        return Ok(false);
                    }
                    at = nat;
                    let pos = *n as u64;
                    if at.checked_add(4).is_none()
                        || len < at as u64 + 4
                        || pos > len - at as u64 - 4
                    {
                        return Ok(false);
                    }
                    val = word(b, (at as u64 + pos) as usize)?;
                }
            }
        }
        if !t.values.iter().any(|(lo, hi)| *lo <= val && val <= *hi) {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Match for U32 {
    fn name(&self) -> &'static str {
        "u32"
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
        self.tests = parse_tests(&args[0])?;
        self.invert = invert;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.tests.is_empty() {
            return Err(missing(cx, "-m u32 requires --u32", "--u32 TESTS"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --u32 \"");
        for (k, t) in self.tests.iter().enumerate() {
            if k > 0 {
                out.push_str("&&");
            }
            let _ = write!(out, "0x{:x}", t.first);
            for (op, n) in &t.ops {
                out.push_str(match op {
                    Op::And => "&",
                    Op::Shl => "<<",
                    Op::Shr => ">>",
                    Op::At => "@",
                });
                let _ = write!(out, "0x{n:x}");
            }
            out.push('=');
            for (j, (lo, hi)) in t.values.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                if lo == hi {
                    let _ = write!(out, "0x{lo:x}");
                } else {
                    let _ = write!(out, "0x{lo:x}:0x{hi:x}");
                }
            }
        }
        out.push('"');
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        match match_it(&self.tests, &cx.skb.bytes(cx.pkt), cx.pkt.ip_len) {
            Ok(r) => MatchResult::from_bool(r != self.invert),
            Err(Unread::NotCaptured) => {
                MatchResult::Unknown("u32 reads bytes the capture did not keep")
            }
            Err(Unread::Rewritten) => MatchResult::Unknown(
                "u32 reads transport-header bytes rewritten in place (a checksum NAT or ECN \
                 updated, which depends on checksum offload, or what TCPMSS rewrote)",
            ),
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    fn p(s: &str) -> Result<Vec<Test>, Diagnostic> {
        parse_tests(&OptArg {
            text: s,
            span: Span::new(0, s.len()),
        })
    }

    #[test]
    fn grammar() {
        let t = p("0>>22&0x3C@0>>16=80").unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].ops.len(), 4);
        let t = p(" 0 >> 28 = 4 && 8 & 0xFF0000 >> 16 = 6 , 17").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].values, vec![(6, 6), (17, 17)]);
        assert_eq!(p("6&0xFF=1:5").unwrap()[0].values, vec![(1, 5)]);
        assert!(p("0>>22").is_err());
        assert!(p("=1").is_err());
        assert!(p("0=").is_err());
        assert!(p("0<22=1").is_err());
        assert!(p("0=1&2=3").is_err());
        assert!(p("0=1 2").is_err());
        assert!(p("0&1&1&1&1&1&1&1&1&1&1=1").is_err());
        assert!(p("0&1&1&1&1&1&1&1&1&1=1").is_ok());
        assert!(p("0=1,2,3,4,5,6,7,8,9,10,11").is_err());
        assert!(p("0=0x100000000").is_err());
    }

    fn m(t: &[Test], d: &[u8]) -> Result<bool, Unread> {
        let b = PacketBytes {
            data: d,
            unknown: None,
        };
        match_it(t, &b, 44)
    }

    #[test]
    fn evaluation() {
        // IPv4 header (IHL 5), TCP to port 80 with 4 bytes of payload.
        let mut d = vec![0u8; 44];
        d[0] = 0x45;
        d[2] = 0;
        d[3] = 44;
        d[9] = 6;
        d[22] = 0;
        d[23] = 80;
        let t = p("0>>22&0x3C@0>>16=80").unwrap();
        // (0x4500002c >> 22) & 0x3c = 0x14 = 20: the TCP header; its first word >> 16 = sport.
        assert_eq!(m(&t, &d), Ok(false));
        let t = p("0>>22&0x3C@0&0xFFFF=80").unwrap();
        assert_eq!(m(&t, &d), Ok(true));
        let t = p("6&0xFF=6").unwrap();
        assert_eq!(m(&t, &d), Ok(true));
        // Past the packet: false; past the capture only: unknown.
        let t = p("41=0").unwrap();
        assert_eq!(m(&t, &d), Ok(false));
        assert_eq!(m(&t, &d[..30]), Ok(false));
        let t = p("36=0").unwrap();
        assert_eq!(m(&t, &d[..30]), Err(Unread::NotCaptured));
        let t = p("40=0").unwrap();
        assert_eq!(m(&t, &d), Ok(true));
        // Shifts of 32 or more act modulo 32.
        let t = p("0<<32=0x4500002c").unwrap();
        assert_eq!(m(&t, &d), Ok(true));
        // A word over a rewritten checksum (TCP's, bytes 36..38) is unknown; its neighbours
        // are not.
        let b = PacketBytes {
            data: &d[..],
            unknown: Some(36..38),
        };
        for (test, read) in [
            ("35=0", Err(Unread::Rewritten)),
            ("37=0", Err(Unread::Rewritten)),
        ] {
            assert_eq!(match_it(&p(test).unwrap(), &b, 44), read);
        }
        assert_eq!(match_it(&p("32=0").unwrap(), &b, 44), Ok(true));
        assert_eq!(match_it(&p("38=0").unwrap(), &b, 44), Ok(true));
    }
}
