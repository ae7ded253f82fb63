//! Numbers as libxtables reads them (`xtables.c` `xtables_strtoul_base`, `xtoptions.c`
//! `xtopt_parse_int`, `xtopt_parse_mint`, `xtopt_parse_markmask`, `xtables_parse_val_mask`):
//! one C `strtoumax` underneath every option value, so a number written `+5`, ` 5`, `0x5` or
//! `05` means the same in every match and target, exactly as iptables 1.8 reads it.

use crate::diag::{Diagnostic, Span};
use crate::ext::OptArg;

use super::E_VALUE;

/// C `isspace` in the "C" locale (also `\v`, which Rust's `is_ascii_whitespace` leaves out).
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What C `strtoumax(s, &end, base)` read from the start of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Strtoul {
    /// The value; `u64::MAX` when it overflowed (`ERANGE`).
    pub value: u64,
    /// Bytes consumed, white space and sign included.
    pub len: usize,
    pub overflow: bool,
}

/// C `strtoumax(s, &end, base)` for base 0, 10 or 16, after `xtables_strtoul_base`'s own check:
/// optional leading white space and `+`, a `-` refused; base 0 reads `0x` hex and `0` octal, and
/// a `0x` not followed by a hex digit is the number 0 ending before the `x`. `None` when no digit
/// was read.
pub(crate) fn strtoumax(s: &str, base: u32) -> Option<Strtoul> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    match b.get(i) {
        Some(b'-') => return None,
        Some(b'+') => i += 1,
        _ => {}
    }
    let mut radix = base;
    let hex_prefix = b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x' | b'X'))
        && b.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit());
    if (radix == 0 || radix == 16) && hex_prefix {
        i += 2;
        radix = 16;
    } else if radix == 0 {
        radix = if b.get(i) == Some(&b'0') { 8 } else { 10 };
    }
    let start = i;
    let mut value: u64 = 0;
    let mut overflow = false;
    while let Some(d) = b.get(i).and_then(|c| (*c as char).to_digit(radix)) {
        match value
            .checked_mul(u64::from(radix))
            .and_then(|x| x.checked_add(u64::from(d)))
        {
            Some(n) => value = n,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        return None;
    }
    if overflow {
        value = u64::MAX;
    }
    Some(Strtoul {
        value,
        len: i,
        overflow,
    })
}

/// [`strtoumax`] base 0 on a prefix: the value (saturated on overflow, as C returns it) and the
/// bytes consumed.
pub(crate) fn strtoul_prefix(s: &str) -> Option<(u64, usize)> {
    strtoumax(s, 0).map(|r| (r.value, r.len))
}

/// [`strtoul_prefix`] with an explicit base (0, 10 or 16).
pub(crate) fn strtoul_prefix_base(s: &str, base: u32) -> Option<(u64, usize)> {
    strtoumax(s, base).map(|r| (r.value, r.len))
}

/// `xtables_strtoul(s, NULL, &v, min, max)`: the whole text is a number in `[min, max]` (base 0,
/// overflow refused).
pub(crate) fn xt_uint(s: &str, min: u64, max: u64) -> Option<u64> {
    match strtoumax(s, 0) {
        Some(r) if r.len == s.len() && !r.overflow && r.value >= min && r.value <= max => {
            Some(r.value)
        }
        _ => None,
    }
}

/// `xtables_strtoul(s, &end, &v, min, max)`: a number in `[min, max]` at the start of the text,
/// and the rest.
pub(crate) fn xt_uint_prefix(s: &str, min: u64, max: u64) -> Option<(u64, &str)> {
    match strtoumax(s, 0) {
        Some(r) if !r.overflow && r.value >= min && r.value <= max => Some((r.value, &s[r.len..])),
        _ => None,
    }
}

/// A whole text read as one unsigned number (base 0), whatever its size.
pub(crate) fn strtoul0(s: &str) -> Option<u64> {
    xt_uint(s, 0, u64::MAX)
}

/// A number in `[min, max]` (base 0), or an error pointing at the value.
pub(crate) fn parse_num(
    arg: &OptArg<'_>,
    min: u64,
    max: u64,
    what: &str,
) -> Result<u64, Diagnostic> {
    match strtoumax(arg.text, 0) {
        Some(r) if r.len == arg.text.len() && !r.overflow && r.value >= min && r.value <= max => {
            Ok(r.value)
        }
        Some(r) if r.len == arg.text.len() => Err(Diagnostic::error(
            E_VALUE,
            arg.span,
            format!("{what} `{}` out of range", arg.text),
        )
        .expected(format!("a number from {min} to {max}"))),
        _ => Err(
            Diagnostic::error(E_VALUE, arg.span, format!("invalid {what} `{}`", arg.text))
                .expected(format!("a number from {min} to {max}")),
        ),
    }
}

/// Same as [`parse_num`] on a sub-slice of an argument (for `a:b`, `a/b` forms).
pub(crate) fn parse_num_part(
    text: &str,
    span: Span,
    min: u64,
    max: u64,
    what: &str,
) -> Result<u64, Diagnostic> {
    parse_num(&OptArg { text, span }, min, max, what)
}

/// The span of a byte range inside an argument.
pub(crate) fn sub_span(arg: &OptArg<'_>, start: usize, end: usize) -> Span {
    // Arguments may have been unquoted; only narrow when the text maps 1:1 onto the span.
    if (arg.span.end - arg.span.start) as usize == arg.text.len() {
        Span::new(
            arg.span.start as usize + start,
            arg.span.start as usize + end,
        )
    } else {
        arg.span
    }
}

/// Split a comma-separated list, keeping each element's span.
pub(crate) fn split_list<'a>(arg: &OptArg<'a>, sep: char) -> Vec<OptArg<'a>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in arg.text.char_indices() {
        if c == sep {
            out.push(OptArg {
                text: &arg.text[start..i],
                span: sub_span(arg, start, i),
            });
            start = i + 1;
        }
    }
    out.push(OptArg {
        text: &arg.text[start..],
        span: sub_span(arg, start, arg.text.len()),
    });
    out
}

/// `xtopt_parse_mint` (`XTTYPE_UINT*RC`): `a`, `a:b`, `a:`, `:b` or `:` with numbers in
/// `[lmin, lmax]`. iptables 1.8.9 accepts a reversed range (`4:3`, which matches nothing);
/// later versions refuse it. Returns `(lo, hi)`, with `hi = lo` for a single value.
pub(crate) fn parse_mint(
    arg: &OptArg<'_>,
    lmin: u64,
    lmax: u64,
    what: &str,
) -> Result<(u64, u64), Diagnostic> {
    let t = arg.text;
    let range_err = |span: Span, part: &str, lo: u64| {
        Diagnostic::error(E_VALUE, span, format!("bad {what} `{part}`"))
            .expected(format!("a number from {lo} to {lmax}, or a range LOW:HIGH"))
    };
    let (a, b) = match t.find(':') {
        Some(i) => (&t[..i], Some((i + 1, &t[i + 1..]))),
        None => (t, None),
    };
    let lo = if a.is_empty() {
        lmin
    } else {
        match xt_uint(a, lmin, lmax) {
            Some(v) => v,
            None => return Err(range_err(sub_span(arg, 0, a.len()), a, lmin)),
        }
    };
    let Some((off, b)) = b else {
        return Ok((lo, lo));
    };
    if b.contains(':') {
        return Err(
            Diagnostic::error(E_VALUE, arg.span, format!("too many `:` in {what} `{t}`")).expected(
                format!("a number from {lmin} to {lmax}, or a range LOW:HIGH"),
            ),
        );
    }
    let hi = if b.is_empty() {
        lmax
    } else {
        match xt_uint(b, lmin, lmax) {
            Some(v) => v,
            None => return Err(range_err(sub_span(arg, off, t.len()), b, lmin)),
        }
    };
    Ok((lo, hi))
}

/// `xtables_parse_val_mask` / `XTTYPE_MARKMASK32` without names: `VALUE[/MASK]`, both 32-bit
/// numbers in base 0; the mask defaults to `0xffffffff`. `what` names the value in messages
/// (`mark`, `--set-mark`).
pub(crate) fn parse_val_mask(arg: &OptArg<'_>, what: &str) -> Result<(u32, u32), Diagnostic> {
    let t = arg.text;
    let expected = format!("a {what} VALUE[/MASK], numbers up to 0xffffffff such as 0x10/0xff");
    let Some((v, rest)) = xt_uint_prefix(t, 0, u64::from(u32::MAX)) else {
        return Err(
            Diagnostic::error(E_VALUE, arg.span, format!("bad {what} `{t}`")).expected(expected),
        );
    };
    if rest.is_empty() {
        return Ok((v as u32, u32::MAX));
    }
    let slash = t.len() - rest.len();
    let Some(m) = rest.strip_prefix('/') else {
        return Err(Diagnostic::error(
            E_VALUE,
            sub_span(arg, slash, t.len()),
            format!("trailing garbage after {what} value in `{t}`"),
        )
        .expected(expected));
    };
    match xt_uint_prefix(m, 0, u64::from(u32::MAX)) {
        Some((mask, "")) => Ok((v as u32, mask as u32)),
        Some((_, tail)) => Err(Diagnostic::error(
            E_VALUE,
            sub_span(arg, t.len() - tail.len(), t.len()),
            format!("trailing garbage after {what} mask in `{t}`"),
        )
        .expected(expected)),
        None if m.is_empty() => Err(Diagnostic::error(
            E_VALUE,
            sub_span(arg, slash, t.len()),
            format!("{what} `{t}` has no mask after `/`"),
        )
        .expected(expected)),
        None => Err(Diagnostic::error(
            E_VALUE,
            sub_span(arg, slash + 1, t.len()),
            format!("bad {what} mask `{m}`"),
        )
        .expected(expected)),
    }
}

/// `xtables_print_mark_mask`: ` 0xV` when the mask is all ones, else ` 0xV/0xM`.
pub(crate) fn fmt_val_mask(out: &mut String, v: u32, m: u32) {
    use std::fmt::Write;
    if m == u32::MAX {
        let _ = write!(out, " 0x{v:x}");
    } else {
        let _ = write!(out, " 0x{v:x}/0x{m:x}");
    }
}

/// Print a range as iptables does: `a` when single, else `a:b`.
pub(crate) fn fmt_u32_range(out: &mut String, (lo, hi): (u32, u32)) {
    use std::fmt::Write;
    if lo == hi {
        let _ = write!(out, "{lo}");
    } else {
        let _ = write!(out, "{lo}:{hi}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_arg as a;

    /// iptables 1.8.9 reads every number through `xtables_strtoul`: leading white space and
    /// `+` are accepted (checked with iptables-nft: `--ttl-eq +5`, `--dport ' 80'`,
    /// `-s 1.+2.3.4` all load as 5, 80, 1.2.3.4).
    #[test]
    fn numbers_follow_xtables_strtoul() {
        assert_eq!(strtoul0("80"), Some(80));
        assert_eq!(strtoul0("0x50"), Some(80));
        assert_eq!(strtoul0("010"), Some(8));
        assert_eq!(strtoul0("+5"), Some(5));
        assert_eq!(strtoul0(" \x0b5"), Some(5));
        assert_eq!(strtoul0("08"), None);
        assert_eq!(strtoul0("0x"), None);
        assert_eq!(strtoul0("0"), Some(0));
        assert_eq!(strtoul0(""), None);
        assert_eq!(strtoul0(" "), None);
        assert_eq!(strtoul0("-1"), None);
        assert_eq!(strtoul0(" -1"), None);
        assert_eq!(strtoul0("5 "), None);
        assert_eq!(strtoul0("99999999999999999999999"), None);
        assert_eq!(strtoul0("18446744073709551615"), Some(u64::MAX));
        assert_eq!(strtoul_prefix("0x"), Some((0, 1)));
        assert_eq!(strtoul_prefix("0x1f/3"), Some((31, 4)));
        assert_eq!(strtoul_prefix("08"), Some((0, 1)));
        assert_eq!(
            strtoul_prefix("99999999999999999999999"),
            Some((u64::MAX, 23))
        );
        assert_eq!(strtoul_prefix_base("0x1f", 16), Some((31, 4)));
        assert_eq!(strtoul_prefix_base("010", 10), Some((10, 3)));
        assert_eq!(xt_uint("010", 0, 10), Some(8));
        assert_eq!(xt_uint("11", 0, 10), None);
        assert_eq!(xt_uint_prefix("5/7", 0, 10), Some((5, "/7")));
    }

    #[test]
    fn numbers_in_range_report_why() {
        assert_eq!(parse_num(&a("+7"), 0, 255, "TTL").unwrap(), 7);
        let e = parse_num(&a("256"), 0, 255, "TTL").unwrap_err();
        assert!(e.message.contains("out of range"), "{}", e.message);
        let e = parse_num(&a("x"), 0, 255, "TTL").unwrap_err();
        assert!(e.message.contains("invalid TTL"), "{}", e.message);
    }

    #[test]
    fn mint_and_val_mask() {
        assert_eq!(
            parse_mint(&a("10:20"), 0, 65535, "length").unwrap(),
            (10, 20)
        );
        assert_eq!(parse_mint(&a(":"), 0, 65535, "length").unwrap(), (0, 65535));
        assert_eq!(
            parse_mint(&a("5:"), 0, 65535, "length").unwrap(),
            (5, 65535)
        );
        assert_eq!(parse_mint(&a(" 5:+9"), 0, 65535, "length").unwrap(), (5, 9));
        assert_eq!(
            parse_mint(&a("0x10"), 0, 65535, "length").unwrap(),
            (16, 16)
        );
        assert_eq!(
            parse_mint(&a("20:10"), 0, 65535, "length").unwrap(),
            (20, 10)
        );
        assert!(parse_mint(&a("1:2:3"), 0, 65535, "length").is_err());
        assert!(parse_mint(&a("65536"), 0, 65535, "length").is_err());
        assert_eq!(parse_val_mask(&a("0x10/0xff"), "mark").unwrap(), (16, 255));
        assert_eq!(parse_val_mask(&a(" 0x5/+7"), "mark").unwrap(), (5, 7));
        assert_eq!(parse_val_mask(&a("1"), "mark").unwrap(), (1, u32::MAX));
        assert!(parse_val_mask(&a("1/"), "mark").is_err());
        assert!(parse_val_mask(&a("0x100000000"), "mark").is_err());
        assert!(parse_val_mask(&a("1x"), "mark").is_err());
        assert!(parse_val_mask(&a("1/2/3"), "mark").is_err());
    }
}
