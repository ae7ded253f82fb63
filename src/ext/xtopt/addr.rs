//! Addresses and interface names as libxtables reads them (`xtables.c`
//! `xtables_numeric_to_ipaddr`, `xtables_ipparse_any`, `xtables_ip6parse_any`,
//! `xtables_parse_interface`; `xtoptions.c` `XTTYPE_HOST`, `XTTYPE_HOSTMASK`): dotted IPv4
//! with abbreviations and base-0 bytes, `inet_aton` and `inet_pton` forms where the extension
//! uses them, prefix or dotted masks, glibc's `inet_ntop` for printing.
//!
//! Host names are refused: iptables resolves them once, at load time, which cannot be
//! reproduced offline.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::diag::{Diagnostic, Span};
use crate::ext::OptArg;
use crate::netfilter::{AddrMask, Family};

use super::num::{strtoul0, xt_uint};
use super::E_VALUE;

fn err(span: Span, msg: impl Into<String>, expected: impl Into<String>) -> Diagnostic {
    Diagnostic::error(E_VALUE, span, msg).expected(expected)
}

/// A text that fails as a number but reads as a host name (`www.example.org`, not `0x0a`).
fn looks_like_hostname(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_alphabetic()) && !s.contains(':') && !s.starts_with("0x")
}

/// libxtables `__numeric_to_ipaddr`: up to four dot-separated base-0 bytes; a network address
/// may be abbreviated (`10.1` = `10.1.0.0`), a mask may not.
pub(crate) fn parse_ipv4_dotted(text: &str, is_mask: bool) -> Option<u32> {
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

/// Parse one address with optional mask (`a`, `a/len`, `a/dotted-mask`) for `family`; the
/// address is masked, as iptables stores it. Hostnames are an error: iptables would resolve them
/// once, at load time, which an offline check cannot reproduce.
pub(crate) fn parse_addr_mask_text(
    text: &str,
    span: Span,
    family: Family,
) -> Result<AddrMask, Diagnostic> {
    let (addr_s, mask_s) = match text.find('/') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    // The one name every host resolves alike (RFC 6761; /etc/hosts): iptables saves
    // `-s localhost` as 127.0.0.1/32, ip6tables as ::1/128.
    let addr_s = if addr_s.eq_ignore_ascii_case("localhost") {
        match family {
            Family::V4 => "127.0.0.1",
            Family::V6 => "::1",
        }
    } else {
        addr_s
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

pub(crate) fn parse_addr_mask(arg: &OptArg<'_>, family: Family) -> Result<AddrMask, Diagnostic> {
    parse_addr_mask_text(arg.text, arg.span, family)
}

/// `inet_aton`: `a`, `a.b`, `a.b.c` or `a.b.c.d`, each part decimal, `0x` hex or `0` octal; the
/// last part fills the remaining bytes.
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut vals = Vec::with_capacity(4);
    for p in &parts {
        // inet_aton takes no sign and no white space.
        if p.is_empty() || !p.as_bytes()[0].is_ascii_digit() {
            return None;
        }
        vals.push(xt_uint(p, 0, u64::from(u32::MAX))? as u32);
    }
    let n = vals.len();
    let mut addr: u32 = 0;
    for (i, v) in vals.iter().enumerate() {
        if i + 1 < n {
            if *v > 255 {
                return None;
            }
            addr |= v << (24 - 8 * i);
        } else {
            let bits = 32 - 8 * i as u32;
            if bits < 32 && *v >= 1u32 << bits {
                return None;
            }
            addr |= v;
        }
    }
    Some(Ipv4Addr::from(addr))
}

/// `XTTYPE_HOST`: one numeric address as `getaddrinfo` reads it for the family.
pub(crate) fn host_addr(text: &str, span: Span, family: Family) -> Result<IpAddr, Diagnostic> {
    let parsed = match family {
        Family::V4 => inet_aton(text).map(IpAddr::V4),
        Family::V6 => text.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
    };
    parsed.ok_or_else(|| {
        let what = match family {
            Family::V4 => "an IPv4 address such as 192.0.2.1",
            Family::V6 => "an IPv6 address such as 2001:db8::1",
        };
        if looks_like_hostname(text) {
            err(
                span,
                format!("host name `{text}` cannot be resolved offline"),
                what,
            )
            .note("iptables resolves host names once, when the rule is loaded; write the address instead")
        } else {
            err(span, format!("invalid address `{text}`"), what)
        }
    })
}

/// `inet_pton`: the strict numeric form (NAT ranges).
pub(crate) fn pton(text: &str, span: Span, family: Family) -> Result<IpAddr, Diagnostic> {
    let parsed = match family {
        Family::V4 => text.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
        Family::V6 => text.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
    };
    parsed.ok_or_else(|| {
        let what = match family {
            Family::V4 => "a dotted-quad IPv4 address such as 192.0.2.1",
            Family::V6 => "an IPv6 address such as 2001:db8::1",
        };
        let mut d = err(span, format!("bad IP address `{text}`"), what);
        if looks_like_hostname(text) {
            d = d.note("NAT targets take numeric addresses only");
        }
        d
    })
}

/// An address as `inet_ntop` prints it (also `xtables_ip6addr_to_numeric`).
pub(crate) fn ntop(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v) => v.to_string(),
        IpAddr::V6(v) => ntop6(v),
    }
}

/// glibc `inet_ntop(AF_INET6)`: like Rust's, except that it prints the last 32 bits dotted when
/// the first 96 bits are zero and the 7th group is not (`::1.2.3.4`, but `::2`), as for
/// IPv4-mapped addresses.
pub(crate) fn ntop6(a: Ipv6Addr) -> String {
    let s = a.segments();
    let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0; 6] && s[6] != 0 {
        return format!("::{v4}");
    }
    if s[..5] == [0; 5] && s[5] == 0xffff {
        return format!("::ffff:{v4}");
    }
    a.to_string()
}

/// Interface names are at most 15 bytes (IFNAMSIZ - 1), as libxtables checks.
pub(crate) fn check_iface(arg: &OptArg<'_>) -> Result<(), Diagnostic> {
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

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_arg as a;

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
    fn aton_forms() {
        assert_eq!(inet_aton("10.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(inet_aton("10.1.2"), Some(Ipv4Addr::new(10, 1, 0, 2)));
        assert_eq!(inet_aton("010.0x10.0.1"), Some(Ipv4Addr::new(8, 16, 0, 1)));
        assert_eq!(inet_aton("167772161"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(inet_aton("256.1.1.1"), None);
        assert_eq!(inet_aton("1.2.3.4.5"), None);
        assert_eq!(inet_aton("1.2.3.256"), None);
        assert_eq!(inet_aton("1.2.65535"), Some(Ipv4Addr::new(1, 2, 255, 255)));
        assert_eq!(inet_aton("+1.2.3.4"), None);
    }

    #[test]
    fn ntop6_like_glibc() {
        let f = |s: &str| ntop6(s.parse().unwrap());
        assert_eq!(f("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(f("::1"), "::1");
        assert_eq!(f("::"), "::");
        assert_eq!(f("2001:db8::1"), "2001:db8::1");
        assert_eq!(f("::2"), "::2");
        assert_eq!(f("::1.2.3.4"), "::1.2.3.4");
    }

    #[test]
    fn dotted_bytes_take_xtables_numbers() {
        let p = |t| parse_addr_mask(&a(t), Family::V4).map(|m| m.to_string());
        assert_eq!(p("1.+2.3.4").unwrap(), "1.2.3.4/32");
        assert_eq!(p(" 1.2.3.4/+24").unwrap(), "1.2.3.0/24");
        assert!(p("1.-2.3.4").is_err());
    }
}
