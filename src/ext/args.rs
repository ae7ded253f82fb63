//! Value parsers shared by the extensions, with libxtables' exact rules: numbers in C `strtoul`
//! base 0 (decimal, `0x` hex, leading-`0` octal), ports or service names, port ranges, protocol
//! names, addresses with prefix or dotted masks, interface names.

use std::net::Ipv6Addr;

use crate::diag::{Diagnostic, Span};
use crate::ext::OptArg;
use crate::netfilter::{AddrMask, Family};

/// Stable diagnostic codes used by value parsers.
pub const E_VALUE: &str = crate::diag::codes::VALUE;

static PROTOCOLS: &str = include_str!("data/protocols.txt");
static SERVICES: &str = include_str!("data/services.txt");

/// Parse an unsigned number as `strtoul(s, &end, 0)` with a full-string check, within `[min, max]`.
pub fn strtoul0(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// A number in `[min, max]` (base 0), or an error pointing at the value.
pub fn parse_num(arg: &OptArg<'_>, min: u64, max: u64, what: &str) -> Result<u64, Diagnostic> {
    match strtoul0(arg.text) {
        Some(v) if v >= min && v <= max => Ok(v),
        Some(_) => Err(Diagnostic::error(
            E_VALUE,
            arg.span,
            format!("{what} `{}` out of range", arg.text),
        )
        .expected(format!("a number from {min} to {max}"))),
        None => Err(
            Diagnostic::error(E_VALUE, arg.span, format!("invalid {what} `{}`", arg.text))
                .expected(format!("a number from {min} to {max}")),
        ),
    }
}

/// Same as [`parse_num`] on a sub-slice of an argument (for `a:b`, `a/b` forms).
pub fn parse_num_part(
    text: &str,
    span: Span,
    min: u64,
    max: u64,
    what: &str,
) -> Result<u64, Diagnostic> {
    parse_num(&OptArg { text, span }, min, max, what)
}

/// The span of a byte range inside an argument.
pub fn sub_span(arg: &OptArg<'_>, start: usize, end: usize) -> Span {
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

/// Protocol number → name as `iptables-save` prints it (`/etc/protocols`, then libxtables'
/// own table), or `None` when it prints the number.
pub fn proto_name(num: u8) -> Option<&'static str> {
    // Printing a rule asks for its protocol's name; reports print rules per packet.
    static NAMES: std::sync::OnceLock<[Option<&'static str>; 256]> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| std::array::from_fn(|n| proto_name_uncached(n as u8)))[num as usize]
}

fn proto_name_uncached(num: u8) -> Option<&'static str> {
    for line in PROTOCOLS.lines() {
        let mut it = line.split(' ');
        let (Some(name), Some(n)) = (it.next(), it.next()) else {
            continue;
        };
        if n.parse::<u8>().ok() == Some(num) && num != 0 {
            return Some(name);
        }
    }
    match num {
        6 => Some("tcp"),
        17 => Some("udp"),
        1 => Some("icmp"),
        58 => Some("icmpv6"),
        132 => Some("sctp"),
        136 => Some("udplite"),
        50 => Some("esp"),
        51 => Some("ah"),
        135 => Some("mh"),
        _ => None,
    }
}

/// Parse `-p` values: a number 0–255, `all`, a name from `/etc/protocols` or libxtables' list
/// (case-insensitive). `Ok(0)` means "all".
pub fn parse_protocol(arg: &OptArg<'_>) -> Result<u8, Diagnostic> {
    if let Some(v) = strtoul0(arg.text) {
        return u8::try_from(v).map_err(|_| {
            Diagnostic::error(
                E_VALUE,
                arg.span,
                format!("unknown protocol `{}`", arg.text),
            )
            .expected("a protocol number from 0 to 255 or a name such as tcp, udp, icmp")
        });
    }
    // The names nearly every rule uses (same numbers as the tables below), without a scan.
    for (name, n) in [("tcp", 6), ("udp", 17), ("icmp", 1), ("all", 0)] {
        if arg.text.eq_ignore_ascii_case(name) {
            return Ok(n);
        }
    }
    let lower = arg.text.to_ascii_lowercase();
    for line in PROTOCOLS.lines() {
        let mut it = line.split(' ');
        if let (Some(name), Some(n)) = (it.next(), it.next()) {
            if name == lower {
                if let Ok(n) = n.parse::<u8>() {
                    return Ok(n);
                }
            }
        }
    }
    let builtin = match lower.as_str() {
        "tcp" => Some(6),
        "udp" => Some(17),
        "icmp" => Some(1),
        "icmpv6" | "ipv6-icmp" => Some(58),
        "sctp" => Some(132),
        "udplite" => Some(136),
        "esp" => Some(50),
        "ah" => Some(51),
        "mh" | "ipv6-mh" => Some(135),
        _ => None,
    };
    builtin.ok_or_else(|| {
        Diagnostic::error(
            E_VALUE,
            arg.span,
            format!("unknown protocol `{}`", arg.text),
        )
        .expected("a protocol number from 0 to 255 or a name such as tcp, udp, icmp")
    })
}

/// Service name → port, from `/etc/services`. iptables 1.8 resolves it with `getaddrinfo`
/// without a protocol hint, so a name known for any protocol is accepted (`-p udp --sport ssh`
/// means port 22); an entry for `proto` itself is preferred. For sctp only its own entries
/// count: iptables 1.8.9 refuses `-p sctp --dport http` and `-m multiport --dports http` there
/// (http is tcp-only in /etc/services) and accepts `amqp` (listed for sctp).
pub fn service_port(name: &str, proto: &str) -> Option<u16> {
    if proto == "sctp" {
        return service_port_strict(name, proto);
    }
    let mut any = None;
    for line in SERVICES.lines() {
        let mut it = line.split(' ');
        let (Some(p), Some(port)) = (it.next(), it.next()) else {
            continue;
        };
        if it.any(|n| n == name) {
            let port = port.parse().ok();
            if p == proto {
                return port;
            }
            any = any.or(port);
        }
    }
    any
}

/// A service name that the services list gives for `proto` itself, without falling back to
/// other protocols (`xtables_parse_port(name, "sctp")` refuses `http`, a tcp-only service).
pub fn service_port_strict(name: &str, proto: &str) -> Option<u16> {
    SERVICES.lines().find_map(|line| {
        let mut it = line.split(' ');
        let (p, port) = (it.next()?, it.next()?);
        (p == proto && it.any(|n| n == name))
            .then(|| port.parse().ok())
            .flatten()
    })
}

/// A port: a number (base 0) up to 65535, or a service name for `proto`.
pub fn parse_port_text(text: &str, span: Span, proto: &str) -> Result<u16, Diagnostic> {
    if let Some(v) = strtoul0(text) {
        if v <= 65535 {
            return Ok(v as u16);
        }
        return Err(
            Diagnostic::error(E_VALUE, span, format!("port `{text}` is above 65535"))
                .expected("a port from 0 to 65535 or a service name"),
        );
    }
    service_port(text, proto).ok_or_else(|| {
        Diagnostic::error(E_VALUE, span, format!("invalid port/service `{text}`"))
            .expected(format!("a port from 0 to 65535 or a {proto} service name"))
    })
}

pub fn parse_port(arg: &OptArg<'_>, proto: &str) -> Result<u16, Diagnostic> {
    parse_port_text(arg.text, arg.span, proto)
}

/// A port range `a`, `a:b`, `a:` (to 65535) or `:b` (from 0); `min > max` is an error.
pub fn parse_port_range(arg: &OptArg<'_>, proto: &str) -> Result<(u16, u16), Diagnostic> {
    parse_port_range_sep(arg, proto, ':')
}

/// Like [`parse_port_range`] with another separator (multiport uses `:` too, some use `-`).
pub fn parse_port_range_sep(
    arg: &OptArg<'_>,
    proto: &str,
    sep: char,
) -> Result<(u16, u16), Diagnostic> {
    let text = arg.text;
    match text.find(sep) {
        None => {
            let p = parse_port(arg, proto)?;
            Ok((p, p))
        }
        Some(i) => {
            let (a, b) = (&text[..i], &text[i + 1..]);
            let lo = if a.is_empty() {
                0
            } else {
                parse_port_text(a, sub_span(arg, 0, i), proto)?
            };
            let hi = if b.is_empty() {
                65535
            } else {
                parse_port_text(b, sub_span(arg, i + 1, text.len()), proto)?
            };
            if lo > hi {
                return Err(Diagnostic::error(
                    E_VALUE,
                    arg.span,
                    format!("invalid port range `{text}`: {lo} is above {hi}"),
                )
                .expected("a range MIN:MAX with MIN <= MAX"));
            }
            Ok((lo, hi))
        }
    }
}

/// Print a port range as iptables-save does: `a` when single, else `a:b`.
pub fn fmt_port_range(out: &mut String, (lo, hi): (u16, u16)) {
    use std::fmt::Write;
    if lo == hi {
        let _ = write!(out, "{lo}");
    } else {
        let _ = write!(out, "{lo}:{hi}");
    }
}

/// Print a 32-bit range as iptables does: `a` when single, else `a:b`.
pub fn fmt_u32_range(out: &mut String, (lo, hi): (u32, u32)) {
    use std::fmt::Write;
    if lo == hi {
        let _ = write!(out, "{lo}");
    } else {
        let _ = write!(out, "{lo}:{hi}");
    }
}

/// libxtables `__numeric_to_ipaddr`: up to four dot-separated base-0 bytes; a network address
/// may be abbreviated (`10.1` = `10.1.0.0`), a mask may not.
pub fn parse_ipv4_dotted(text: &str, is_mask: bool) -> Option<u32> {
    let mut bytes = [0u8; 4];
    let mut n = 0;
    for p in text.split('.') {
        if n == 4 {
            return None;
        }
        bytes[n] = u8::try_from(strtoul0(p)?).ok()?;
        n += 1;
    }
    if is_mask && n != 4 {
        return None;
    }
    Some(u32::from_be_bytes(bytes))
}

fn looks_like_hostname(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_alphabetic()) && !s.contains(':')
}

/// Parse one address with optional mask (`a`, `a/len`, `a/dotted-mask`) for `family`; the
/// address is masked, as iptables stores it. Hostnames are an error: iptables would resolve them
/// once, at load time, which an offline check cannot reproduce.
pub fn parse_addr_mask_text(
    text: &str,
    span: Span,
    family: Family,
) -> Result<AddrMask, Diagnostic> {
    let (addr_s, mask_s) = match text.find('/') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let what = match family {
        Family::V4 => "an IPv4 address such as 192.0.2.1, optionally /PREFIX or /MASK",
        Family::V6 => "an IPv6 address such as 2001:db8::1, optionally /PREFIX or /MASK",
    };
    let addr_span = if mask_s.is_some() && (span.end - span.start) as usize == text.len() {
        Span::new(span.start as usize, span.start as usize + addr_s.len())
    } else {
        span
    };
    let mask_span = if (span.end - span.start) as usize == text.len() && mask_s.is_some() {
        Span::new(span.start as usize + addr_s.len() + 1, span.end as usize)
    } else {
        span
    };
    match family {
        Family::V4 => {
            let Some(addr) = parse_ipv4_dotted(addr_s, false) else {
                let msg = if looks_like_hostname(addr_s) {
                    format!("hostname `{addr_s}` cannot be resolved offline")
                } else {
                    format!("invalid address `{addr_s}`")
                };
                let mut d = Diagnostic::error(E_VALUE, addr_span, msg).expected(what);
                if looks_like_hostname(addr_s) {
                    d = d.note("iptables resolves host names once, when the rule is loaded; write the address instead");
                }
                return Err(d);
            };
            let mask = match mask_s {
                None => u32::MAX,
                Some(m) if m.contains('.') => parse_ipv4_dotted(m, true).ok_or_else(|| {
                    Diagnostic::error(E_VALUE, mask_span, format!("invalid mask `{m}`"))
                        .expected("a prefix length 0-32 or a dotted mask such as 255.255.255.0")
                })?,
                Some(m) => match strtoul0(m) {
                    Some(bits) if bits <= 32 => {
                        if bits == 0 {
                            0
                        } else {
                            u32::MAX << (32 - bits)
                        }
                    }
                    _ => {
                        return Err(Diagnostic::error(
                            E_VALUE,
                            mask_span,
                            format!("invalid mask `{m}`"),
                        )
                        .expected("a prefix length 0-32 or a dotted mask such as 255.255.255.0"))
                    }
                },
            };
            Ok(AddrMask::V4 {
                addr: addr & mask,
                mask,
            })
        }
        Family::V6 => {
            let addr: Ipv6Addr = addr_s.parse().map_err(|_| {
                let msg = if looks_like_hostname(addr_s) {
                    format!("hostname `{addr_s}` cannot be resolved offline")
                } else {
                    format!("invalid address `{addr_s}`")
                };
                Diagnostic::error(E_VALUE, addr_span, msg).expected(what)
            })?;
            let mask = match mask_s {
                None => u128::MAX,
                Some(m) if m.contains(':') => {
                    let a: Ipv6Addr = m.parse().map_err(|_| {
                        Diagnostic::error(E_VALUE, mask_span, format!("invalid mask `{m}`"))
                            .expected("a prefix length 0-128 or a mask such as ffff:ffff::")
                    })?;
                    u128::from(a)
                }
                Some(m) => match strtoul0(m) {
                    Some(bits) if bits <= 128 => {
                        if bits == 0 {
                            0
                        } else {
                            u128::MAX << (128 - bits)
                        }
                    }
                    _ => {
                        return Err(Diagnostic::error(
                            E_VALUE,
                            mask_span,
                            format!("invalid mask `{m}`"),
                        )
                        .expected("a prefix length 0-128 or a mask such as ffff:ffff::"))
                    }
                },
            };
            Ok(AddrMask::V6 {
                addr: u128::from(addr) & mask,
                mask,
            })
        }
    }
}

pub fn parse_addr_mask(arg: &OptArg<'_>, family: Family) -> Result<AddrMask, Diagnostic> {
    parse_addr_mask_text(arg.text, arg.span, family)
}

/// A single address without mask (iprange bounds, `--to-destination` and the like).
pub fn parse_addr(text: &str, span: Span, family: Family) -> Result<std::net::IpAddr, Diagnostic> {
    use std::net::{IpAddr, Ipv4Addr};
    match family {
        Family::V4 => text.parse::<Ipv4Addr>().map(IpAddr::V4).map_err(|_| {
            Diagnostic::error(E_VALUE, span, format!("invalid IPv4 address `{text}`"))
                .expected("an IPv4 address such as 192.0.2.1")
        }),
        Family::V6 => text.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| {
            Diagnostic::error(E_VALUE, span, format!("invalid IPv6 address `{text}`"))
                .expected("an IPv6 address such as 2001:db8::1")
        }),
    }
}

/// Split a comma-separated list, keeping each element's span.
pub fn split_list<'a>(arg: &OptArg<'a>, sep: char) -> Vec<OptArg<'a>> {
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

/// Interface names are at most 15 bytes (IFNAMSIZ - 1), as libxtables checks.
pub fn check_iface(arg: &OptArg<'_>) -> Result<(), Diagnostic> {
    if arg.text.len() > 15 {
        return Err(Diagnostic::error(
            E_VALUE,
            arg.span,
            format!(
                "interface name `{}` must be shorter than 16 characters",
                arg.text
            ),
        )
        .expected("an interface name such as eth0, or a prefix with + such as eth+"));
    }
    if arg.text.is_empty() {
        return Err(Diagnostic::error(E_VALUE, arg.span, "empty interface name")
            .expected("an interface name such as eth0, or a prefix with + such as eth+"));
    }
    Ok(())
}

/// C `strtoumax(s, &end, 0)` on a prefix of `s`, as `xtables_strtoul_base` calls it with an end
/// pointer: leading white space is skipped, a `-` sign refused. Returns the value and the number
/// of bytes consumed (0 when no digits were read).
pub fn strtoul_prefix(s: &str) -> Option<(u64, usize)> {
    strtoul_prefix_base(s, 0)
}

/// Like [`strtoul_prefix`] with an explicit base (0, 10 or 16).
pub fn strtoul_prefix_base(s: &str, base: u32) -> Option<(u64, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i] as char).is_ascii_whitespace() {
        i += 1;
    }
    if i < b.len() && b[i] == b'-' {
        return None;
    }
    if i < b.len() && b[i] == b'+' {
        i += 1;
    }
    let mut radix = base;
    let hex_prefix = i + 1 < b.len() && b[i] == b'0' && (b[i + 1] == b'x' || b[i + 1] == b'X');
    if (radix == 0 || radix == 16)
        && hex_prefix
        && i + 2 < b.len()
        && (b[i + 2] as char).is_ascii_hexdigit()
    {
        i += 2;
        radix = 16;
    } else if radix == 0 {
        radix = if i < b.len() && b[i] == b'0' { 8 } else { 10 };
    }
    let start = i;
    let mut v: u64 = 0;
    let mut overflow = false;
    while i < b.len() {
        let Some(d) = (b[i] as char).to_digit(radix) else {
            break;
        };
        match v
            .checked_mul(radix as u64)
            .and_then(|x| x.checked_add(d as u64))
        {
            Some(n) => v = n,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        return None;
    }
    if overflow {
        v = u64::MAX;
    }
    Some((v, i))
}

/// libxtables `XTTYPE_UINT*RC` (`xtopt_parse_mint`): `a`, `a:b`, `a:`, `:b` or `:` with numbers
/// in `[lmin, lmax]`. iptables 1.8.9 accepts a reversed range (`4:3`, which matches nothing);
/// later versions refuse it. Returns `(lo, hi)`, with `hi = lo` for a single value.
pub fn parse_mint(
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
        match strtoul0_ws(a) {
            Some(v) if v >= lmin && v <= lmax => v,
            _ => return Err(range_err(sub_span(arg, 0, a.len()), a, lmin)),
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
        match strtoul0_ws(b) {
            Some(v) if v >= lmin && v <= lmax => v,
            _ => return Err(range_err(sub_span(arg, off, t.len()), b, lmin)),
        }
    };
    Ok((lo, hi))
}

/// [`strtoul0`] after optional leading white space and `+` (what C `strtoul` accepts).
pub fn strtoul0_ws(s: &str) -> Option<u64> {
    match strtoul_prefix(s) {
        Some((v, n)) if n == s.len() => Some(v),
        _ => None,
    }
}

/// `xtables_parse_val_mask` without names: `VALUE[/MASK]`, both 32-bit numbers in C base 0;
/// the mask defaults to `0xffffffff`.
pub fn parse_val_mask(arg: &OptArg<'_>, what: &str) -> Result<(u32, u32), Diagnostic> {
    let t = arg.text;
    let expected = format!("a {what} VALUE[/MASK], numbers up to 0xffffffff such as 0x10/0xff");
    let (v, n) = match strtoul_prefix(t) {
        Some((v, n)) if v <= u32::MAX as u64 => (v as u32, n),
        _ => {
            return Err(
                Diagnostic::error(E_VALUE, arg.span, format!("bad {what} `{t}`"))
                    .expected(expected),
            )
        }
    };
    if n == t.len() {
        return Ok((v, u32::MAX));
    }
    if t.as_bytes()[n] != b'/' {
        return Err(Diagnostic::error(
            E_VALUE,
            sub_span(arg, n, t.len()),
            format!("trailing garbage after {what} value in `{t}`"),
        )
        .expected(expected));
    }
    let rest = &t[n + 1..];
    match strtoul_prefix(rest) {
        Some((m, k)) if m <= u32::MAX as u64 && k == rest.len() => Ok((v, m as u32)),
        Some((m, k)) if m <= u32::MAX as u64 => Err(Diagnostic::error(
            E_VALUE,
            sub_span(arg, n + 1 + k, t.len()),
            format!("trailing garbage after {what} mask in `{t}`"),
        )
        .expected(expected)),
        _ => Err(Diagnostic::error(
            E_VALUE,
            sub_span(arg, n + 1, t.len()),
            format!("bad {what} mask `{rest}`"),
        )
        .expected(expected)),
    }
}

/// `xtables_print_mark_mask`: ` 0xV` when the mask is all ones, else ` 0xV/0xM`.
pub fn fmt_val_mask(out: &mut String, v: u32, m: u32) {
    use std::fmt::Write;
    if m == u32::MAX {
        let _ = write!(out, " 0x{v:x}");
    } else {
        let _ = write!(out, " 0x{v:x}/0x{m:x}");
    }
}

/// Like [`parse_port_range`], without the order check (libxt_udp and libxt_conntrack accept
/// `4:3`, a range that matches nothing).
pub fn parse_port_range_unordered(arg: &OptArg<'_>, proto: &str) -> Result<(u16, u16), Diagnostic> {
    let text = arg.text;
    match text.find(':') {
        None => {
            let p = parse_port(arg, proto)?;
            Ok((p, p))
        }
        Some(i) => {
            let (a, b) = (&text[..i], &text[i + 1..]);
            let lo = if a.is_empty() {
                0
            } else {
                parse_port_text(a, sub_span(arg, 0, i), proto)?
            };
            let hi = if b.is_empty() {
                65535
            } else {
                parse_port_text(b, sub_span(arg, i + 1, text.len()), proto)?
            };
            Ok((lo, hi))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(t: &str) -> OptArg<'_> {
        OptArg {
            text: t,
            span: Span::new(0, t.len()),
        }
    }

    #[test]
    fn numbers_follow_strtoul_base0() {
        assert_eq!(strtoul0("80"), Some(80));
        assert_eq!(strtoul0("0x50"), Some(80));
        assert_eq!(strtoul0("010"), Some(8));
        assert_eq!(strtoul0("08"), None);
        assert_eq!(strtoul0("0"), Some(0));
        assert_eq!(strtoul0(""), None);
        assert_eq!(strtoul0("-1"), None);
    }

    #[test]
    fn ports_and_services() {
        assert_eq!(parse_port(&a("ssh"), "tcp").unwrap(), 22);
        assert_eq!(parse_port(&a("domain"), "udp").unwrap(), 53);
        // iptables 1.8 ignores the protocol when resolving service names.
        assert_eq!(parse_port(&a("ssh"), "udp").unwrap(), 22);
        assert!(parse_port(&a("no-such-service"), "tcp").is_err());
        assert!(parse_port(&a("65536"), "tcp").is_err());
        assert_eq!(parse_port_range(&a("1024:"), "tcp").unwrap(), (1024, 65535));
        assert_eq!(parse_port_range(&a(":1023"), "tcp").unwrap(), (0, 1023));
        assert!(parse_port_range(&a("90:80"), "tcp").is_err());
        assert_eq!(
            parse_port_range_unordered(&a("4:3"), "udp").unwrap(),
            (4, 3)
        );
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
        assert_eq!(parse_val_mask(&a("1"), "mark").unwrap(), (1, u32::MAX));
        assert!(parse_val_mask(&a("1/"), "mark").is_err());
        assert!(parse_val_mask(&a("0x100000000"), "mark").is_err());
        assert!(parse_val_mask(&a("1x"), "mark").is_err());
        assert_eq!(strtoul_prefix("0x"), Some((0, 1)));
    }

    #[test]
    fn addresses_like_libxtables() {
        let p = |t| parse_addr_mask(&a(t), Family::V4).map(|m| m.to_string());
        assert_eq!(p("10/8").unwrap(), "10.0.0.0/8");
        assert_eq!(p("10.1").unwrap(), "10.1.0.0/32");
        assert_eq!(p("010.1.1.1").unwrap(), "8.1.1.1/32");
        assert_eq!(p("1.2.3.4/255.255.0.255").unwrap(), "1.2.0.4/255.255.0.255");
        assert_eq!(p("1.2.3.4/0.0.0.255").unwrap(), "0.0.0.4/0.0.0.255");
        assert!(p("1.2.3.4/08").is_err());
        assert!(p("1.2.3.4/33").is_err());
        assert!(p("256.1.1.1").is_err());
        assert!(p("1.2.3.4.5").is_err());
        assert!(p("1..2").is_err());
        assert!(
            p("1.2.3.4/255.255.0").is_err(),
            "a dotted mask needs four parts"
        );
        assert!(p("host.example").is_err());
        let p6 = |t| parse_addr_mask(&a(t), Family::V6).map(|m| m.to_string());
        assert_eq!(p6("2001:db8::/ffff:ffff::").unwrap(), "2001:db8::/32");
        assert_eq!(p6("2001:db8::1/64").unwrap(), "2001:db8::/64");
    }

    #[test]
    fn protocols() {
        assert_eq!(parse_protocol(&a("TCP")).unwrap(), 6);
        assert_eq!(parse_protocol(&a("all")).unwrap(), 0);
        assert_eq!(parse_protocol(&a("ALL")).unwrap(), 0);
        assert_eq!(parse_protocol(&a("Udp")).unwrap(), 17);
        assert_eq!(parse_protocol(&a("ICMP")).unwrap(), 1);
        assert_eq!(parse_protocol(&a("ipv6-icmp")).unwrap(), 58);
        assert_eq!(parse_protocol(&a("gre")).unwrap(), 47);
        assert!(parse_protocol(&a("256")).is_err());
        assert_eq!(proto_name(58), Some("ipv6-icmp"));
        assert_eq!(proto_name(4), Some("ipencap"));
        assert_eq!(proto_name(250), None);
    }
}
