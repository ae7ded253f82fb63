//! `-m string --algo bm|kmp [!] --string S | [!] --hex-string H [--from N] [--to N] [--icase]`
//! (libxt_string.c rev 1 / kernel `xt_string.c` `string_mt`, `skb_find_text`).
//!
//! The pattern (at most 128 bytes; `--hex-string` mixes text and `|41 42|` hex blocks, `\`
//! quotes the next character) is searched in the packet bytes from offset `--from` (default 0)
//! up to `--to` (default 65535, exclusive) counted from the start of the IP header, as the
//! kernel does at the IP hooks; it must lie entirely before `--to`. `--icase` compares ASCII
//! letters without case. Saved as `--string "…"` when every byte is printable (and the last is
//! not `\`), else as `--hex-string "|…|"`.
//!
//! Evaluation searches `cx.pkt.data`; `Unknown` when the pattern is not in the captured part but
//! the searched range goes past what the capture kept. A datagram reassembled by conntrack's
//! defragmentation is one skb holding each fragment in its own buffer, which `skb_find_text`
//! hands to the algorithm block by block: `kmp` keeps its state across blocks and finds a
//! pattern that straddles two fragments, `bm` (`ts_bm`, restarting in every block) does not.
//! Conntrack's defragmentation never merges the fragments' buffers (`inet_frag_reasm_finish`
//! coalesces only for local delivery, `ip_frag_coalesce_ok`), so this holds on every host. An
//! unfragmented packet's buffer may be split too, past its IP header, where the capture does
//! not show (page fragments: a peer's `sendfile`, GRO, the driver's receive buffers; a kernel
//! lab: a string straddling a page of a file sent with `sendfile` is missed by `bm`): a `bm`
//! match past the IP header is `Unknown` (`bm` finding nothing is certain: a string that is not
//! in the bytes is in no block of them). `--algo fsm` (a different pattern language) is
//! accepted and evaluates to `Unknown`.

use std::any::Any;
use std::fmt::Write;

use super::{bad, conflict, missing};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};

pub(crate) const MAX_PATTERN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StringMatch {
    pub pattern: Vec<u8>,
    pub algo: String,
    pub from: u16,
    pub to: u16,
    pub(crate) icase: bool,
    pub invert: bool,
    given: bool,
    /// The pattern's searcher, made once when the rule is loaded (case-sensitive patterns).
    searcher: Searcher,
}

/// A prepared substring searcher; it follows from the pattern, so it never makes two
/// matches differ.
#[derive(Debug, Clone, Default)]
struct Searcher(Option<memchr::memmem::Finder<'static>>);

impl PartialEq for Searcher {
    fn eq(&self, _: &Searcher) -> bool {
        true
    }
}

impl Eq for Searcher {}

pub fn new() -> Box<dyn Match> {
    Box::new(StringMatch {
        pattern: Vec::new(),
        algo: String::new(),
        from: 0,
        to: u16::MAX,
        icase: false,
        invert: false,
        given: false,
        searcher: Searcher::default(),
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("from", 1, Arg::One).ty(XtType::U16),
    OptSpec::new("to", 2, Arg::One).ty(XtType::U16),
    OptSpec::new("algo", 3, Arg::One),
    OptSpec::new("string", 4, Arg::One).inv(),
    OptSpec::new("hex-string", 5, Arg::One).inv(),
    OptSpec::new("icase", 6, Arg::None),
];

/// `parse_hex_string`.
pub(crate) fn parse_hex(arg: &OptArg<'_>) -> Result<Vec<u8>, Diagnostic> {
    let s = arg.text.as_bytes();
    let e = |m: String| bad(arg.span, m, "text with |hex| blocks such as `|0d 0a|Host:`");
    if s.is_empty() {
        return Err(e("the string must contain at least one character".into()));
    }
    let mut out = Vec::new();
    let (mut i, mut hex, mut lit) = (0usize, false, false);
    let slen = s.len();
    while i < slen {
        if out.len() >= MAX_PATTERN {
            return Err(e("string longer than 128 bytes".into()));
        }
        if s[i] == b'\\' && !hex {
            lit = true;
        } else if s[i] == b'\\' {
            return Err(e("cannot include literals in hex data".into()));
        } else if s[i] == b'|' {
            if hex {
                hex = false;
            } else {
                hex = true;
                while i + 1 < slen && s[i + 1] == b' ' {
                    i += 1;
                }
            }
            if i + 1 >= slen {
                break;
            }
            i += 1;
        }
        if lit {
            if i + 1 >= slen {
                return Err(e("bad literal placement at end of string".into()));
            }
            out.push(s[i + 1]);
            i += 2;
            lit = false;
        } else if hex {
            if i + 1 >= slen {
                return Err(e("odd number of hex digits".into()));
            }
            if i + 2 >= slen {
                return Err(e("invalid hex block (it must end with `|`)".into()));
            }
            let (a, b) = (s[i] as char, s[i + 1] as char);
            if !a.is_ascii_hexdigit() || !b.is_ascii_hexdigit() {
                let c = if a.is_ascii_hexdigit() { b } else { a };
                return Err(e(format!("invalid hex char `{c}`")));
            }
            out.push((a.to_digit(16).unwrap_or(0) * 16 + b.to_digit(16).unwrap_or(0)) as u8);
            i += if s[i + 2] == b' ' { 3 } else { 2 };
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn is_hex(p: &[u8]) -> bool {
    p.iter().any(|c| !(0x20..0x7f).contains(c)) || p.last() == Some(&b'\\')
}

/// First position of `pat` in `hay`, optionally ignoring ASCII case.
pub fn find(hay: &[u8], pat: &[u8], icase: bool) -> Option<usize> {
    if pat.is_empty() || pat.len() > hay.len() {
        return if pat.is_empty() { Some(0) } else { None };
    }
    if !icase {
        // SIMD substring search (the naive walk cost 0.7 µs per rule and packet).
        return memchr::memmem::find(hay, pat);
    }
    // ASCII case folded: look for the first byte in either case, then compare the rest.
    let (lo, up) = (pat[0].to_ascii_lowercase(), pat[0].to_ascii_uppercase());
    let last = hay.len() - pat.len();
    memchr::memchr2_iter(lo, up, &hay[..=last])
        .find(|&at| hay[at..at + pat.len()].eq_ignore_ascii_case(pat))
}

impl Match for StringMatch {
    fn name(&self) -> &'static str {
        "string"
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
        match opt.id {
            1 => self.from = cx.val.uint() as u16,
            2 => self.to = cx.val.uint() as u16,
            3 => {
                let a = &args[0];
                if !matches!(a.text, "bm" | "kmp" | "fsm") {
                    return Err(bad(
                        a.span,
                        format!("unknown string search algorithm `{}`", a.text),
                        "bm or kmp",
                    ));
                }
                self.algo = a.text.to_string();
            }
            4 | 5 => {
                if self.given {
                    return Err(conflict(
                        cx,
                        "--string and --hex-string cannot be used together",
                        "one of --string or --hex-string",
                    ));
                }
                let a = &args[0];
                self.pattern = if opt.id == 4 {
                    if a.text.len() > MAX_PATTERN {
                        return Err(bad(
                            a.span,
                            "string longer than 128 bytes",
                            "at most 128 bytes",
                        ));
                    }
                    a.text.as_bytes().to_vec()
                } else {
                    parse_hex(a)?
                };
                self.invert = invert;
                self.given = true;
            }
            _ => self.icase = true,
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.algo.is_empty() {
            return Err(missing(
                cx,
                "-m string requires --algo",
                "--algo bm or --algo kmp",
            ));
        }
        if !self.given {
            return Err(missing(
                cx,
                "-m string requires --string or --hex-string",
                "--string TEXT or --hex-string |HEX|",
            ));
        }
        if self.pattern.is_empty() {
            return Err(missing(
                cx,
                "the string must not be empty",
                "at least one byte",
            ));
        }
        if !self.icase {
            self.searcher = Searcher(Some(
                memchr::memmem::Finder::new(&self.pattern).into_owned(),
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let inv = if self.invert { " !" } else { "" };
        if is_hex(&self.pattern) {
            let _ = write!(out, "{inv} --hex-string \"|");
            for b in &self.pattern {
                let _ = write!(out, "{b:02x}");
            }
            out.push_str("|\"");
        } else {
            let _ = write!(out, "{inv} --string \"");
            for &b in &self.pattern {
                if b == b'"' || b == b'\\' {
                    out.push('\\');
                }
                out.push(b as char);
            }
            out.push('"');
        }
        let _ = write!(out, " --algo {}", self.algo);
        if self.from != 0 {
            let _ = write!(out, " --from {}", self.from);
        }
        if self.to != u16::MAX {
            let _ = write!(out, " --to {}", self.to);
        }
        if self.icase {
            out.push_str(" --icase");
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        if self.algo == "fsm" {
            return MatchResult::Unknown("string --algo fsm is not simulated");
        }
        let from = self.from as usize;
        let end = (self.to as usize).min(cx.pkt.ip_len as usize);
        if from >= end {
            return MatchResult::from_bool(self.invert);
        }
        let bytes = cx.skb.bytes(cx.pkt);
        let data = bytes.data;
        let cap_end = end.min(data.len());
        // ts_bm searches each buffer of the skb on its own; a reassembled datagram keeps each
        // fragment in its own buffer (kmp carries its state across buffers).
        let bounds = match cx.pkt.frag_bounds.as_deref() {
            Some(b) if self.algo == "bm" => b,
            _ => &[],
        };
        let (pat, icase) = (&self.pattern[..], self.icase);
        // Bytes rewritten to a value fwcheck does not know are searched around; the pattern
        // may still lie over them.
        let unknown = bytes
            .unknown
            .clone()
            .filter(|u| u.start < cap_end && from < u.end);
        // The pattern may lie in bytes the capture did not keep.
        let mut maybe = cap_end < end;
        for (a, b) in blocks(from, cap_end, bounds) {
            let known = match &unknown {
                Some(u) if u.start < b && a < u.end => [(a, u.start.max(a)), (u.end.min(b), b)],
                _ => [(a, b), (b, b)],
            };
            let found = known
                .iter()
                .find_map(|&(x, y)| (x < y).then(|| self.search(&data[x..y]).map(|p| x + p))?);
            if let Some(at) = found {
                // bm misses a string across two blocks of the skb, and a received packet's
                // payload may be split anywhere past the IP header (page fragments: sendfile,
                // GRO, the driver's buffers), which the capture does not show.
                if self.algo == "bm" && pat.len() > 1 && at + pat.len() > cx.pkt.ip_hdr_len as usize
                {
                    return MatchResult::Unknown(
                        "--algo bm searches each block of the packet's buffer on its own \
                         (lib/ts_bm.c) and misses a string lying across two; where the packet \
                         was split into blocks (page fragments: sendfile, GRO, the driver) the \
                         capture does not show (--algo kmp finds it in any case)",
                    );
                }
                return MatchResult::from_bool(!self.invert);
            }
            if let Some(u) = &unknown {
                maybe |= fits_over(data, (a, b), u, pat, icase);
            }
        }
        if maybe {
            return MatchResult::Unknown(if unknown.is_some() {
                "the string may lie over transport-header bytes rewritten in place (NAT, ECN, \
                 TCPMSS), or in bytes the capture did not keep"
            } else {
                "the string may lie in bytes the capture did not keep"
            });
        }
        MatchResult::from_bool(self.invert)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl StringMatch {
    /// First position of the pattern in `hay` ([`find`], with the prepared searcher).
    fn search(&self, hay: &[u8]) -> Option<usize> {
        match &self.searcher.0 {
            Some(f) => f.find(hay),
            None => find(hay, &self.pattern, self.icase),
        }
    }
}

/// Whether `pat` could lie in `data[a..b]` over the bytes `unknown`, whatever they hold: the
/// known bytes of some placement that covers one of them agree with it.
fn fits_over(
    data: &[u8],
    (a, b): (usize, usize),
    unknown: &std::ops::Range<usize>,
    pat: &[u8],
    icase: bool,
) -> bool {
    let n = pat.len();
    if n == 0 || b < a + n {
        return false;
    }
    let first = a.max((unknown.start + 1).saturating_sub(n));
    let last = (b - n).min(unknown.end.saturating_sub(1));
    (first..=last).any(|start| {
        pat.iter().enumerate().all(|(k, &c)| {
            let at = start + k;
            unknown.contains(&at)
                || if icase {
                    data[at].eq_ignore_ascii_case(&c)
                } else {
                    data[at] == c
                }
        })
    })
}

/// `[from, to)` cut at the fragment boundaries `bounds` (sorted).
fn blocks(from: usize, to: usize, bounds: &[u32]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let cuts = bounds
        .iter()
        .map(|&b| b as usize)
        .filter(move |&b| b > from && b < to);
    std::iter::once(from)
        .chain(cuts.clone())
        .zip(cuts.chain(std::iter::once(to)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    fn h(s: &str) -> Result<Vec<u8>, Diagnostic> {
        parse_hex(&OptArg {
            text: s,
            span: Span::new(0, s.len()),
        })
    }

    #[test]
    fn hex_strings() {
        assert_eq!(h("|41424344|").unwrap(), b"ABCD");
        assert_eq!(h("|0d 0a|Host:").unwrap(), b"\r\nHost:");
        assert_eq!(h("a\\|b").unwrap(), b"a|b");
        assert!(h("|4|").is_err());
        assert!(h("|4g|").is_err());
        assert!(h("|41").is_err());
        assert!(h("").is_err());
        assert!(is_hex(b"\r\n"));
        assert!(!is_hex(b"abc"));
        assert!(is_hex(b"ab\\"));
    }

    /// `find` (memchr) gives the first position the plain walk gives, with and without
    /// `--icase`, over bytes of every value (ASCII letters in both cases, and bytes whose
    /// lowercase is not a letter's).
    #[test]
    fn find_is_the_first_match() {
        use proptest::prelude::*;
        fn walk(hay: &[u8], pat: &[u8], icase: bool) -> Option<usize> {
            if pat.len() > hay.len() {
                return None;
            }
            hay.windows(pat.len()).position(|w| {
                if icase {
                    w.eq_ignore_ascii_case(pat)
                } else {
                    w == pat
                }
            })
        }
        let byte = prop_oneof![
            Just(b'a'),
            Just(b'A'),
            Just(b'b'),
            Just(b'B'),
            Just(b'@'),
            Just(b'`'),
            any::<u8>()
        ];
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 5000,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        runner
            .run(
                &(
                    proptest::collection::vec(byte.clone(), 0..40),
                    proptest::collection::vec(byte, 1..5),
                    any::<bool>(),
                ),
                |(hay, pat, icase)| {
                    prop_assert_eq!(find(&hay, &pat, icase), walk(&hay, &pat, icase));
                    Ok(())
                },
            )
            .unwrap();
    }

    /// A pattern may lie over unknown bytes only where the known bytes around agree with it.
    #[test]
    fn patterns_over_unknown_bytes() {
        let data = b"abcXXdef";
        let unknown = 3..5;
        let fits = |pat: &[u8], icase| fits_over(data, (0, data.len()), &unknown, pat, icase);
        assert!(fits(b"cQQd", false));
        assert!(fits(b"bc?", false));
        assert!(fits(b"?de", false));
        assert!(fits(b"CQQD", true));
        assert!(!fits(b"CQQD", false));
        assert!(fits(b"zz", false));
        assert!(!fits(b"zzz", false));
        assert!(!fits(b"abc", false));
        assert!(!fits(b"cQQx", false));
        // Only placements inside the block count.
        assert!(!fits_over(data, (0, 4), &unknown, b"cQQd", false));
        assert!(fits_over(data, (0, 4), &unknown, b"cQ", false));
    }

    #[test]
    fn fragment_blocks() {
        let b: Vec<_> = blocks(0, 100, &[48, 88]).collect();
        assert_eq!(b, [(0, 48), (48, 88), (88, 100)]);
        let b: Vec<_> = blocks(50, 90, &[48, 88]).collect();
        assert_eq!(b, [(50, 88), (88, 90)]);
        assert_eq!(blocks(0, 10, &[]).collect::<Vec<_>>(), [(0, 10)]);
    }

    #[test]
    fn search() {
        assert_eq!(find(b"GET / HTTP/1.1", b"http", true), Some(6));
        assert_eq!(find(b"GET / HTTP/1.1", b"http", false), None);
        assert_eq!(find(b"ab", b"abc", false), None);
    }
}
