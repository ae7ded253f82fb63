//! Names libxtables looks up, and the values behind them: protocol names (`/etc/protocols`,
//! then `xtables_chain_protos`), service names for ports (`/etc/services` through
//! `getaddrinfo`, `xtables_parse_port`), port ranges (`xtables_parse_port`, `parse_multi_ports`),
//! and the DiffServ class names (`xtables_dscp_class_to_value`'s `ds_classes`).

use crate::diag::{Diagnostic, Span};
use crate::ext::OptArg;

use super::num::{strtoul0, sub_span};
use super::E_VALUE;

static PROTOCOLS: &str = include_str!("../data/protocols.txt");
static SERVICES: &str = include_str!("../data/services.txt");

/// Protocol number → name as `iptables-save` prints it (`/etc/protocols`, then libxtables'
/// own table), or `None` when it prints the number.
pub fn proto_name(num: u8) -> Option<&'static str> {
    // Printing a rule asks for its protocol's name; reports print rules per packet.
    static NAMES: std::sync::OnceLock<[Option<&'static str>; 256]> = std::sync::OnceLock::new();
    NAMES.get_or_init(proto_names)[num as usize]
}

/// Every number's name, in one pass over `/etc/protocols` (the first line naming a number
/// wins, as `getprotobynumber` reads the file), then libxtables' own table for the rest.
fn proto_names() -> [Option<&'static str>; 256] {
    let mut names = [None; 256];
    for line in PROTOCOLS.lines() {
        let mut it = line.split(' ');
        let (Some(name), Some(n)) = (it.next(), it.next()) else {
            continue;
        };
        if let Ok(n) = n.parse::<u8>() {
            if n != 0 && names[n as usize].is_none() {
                names[n as usize] = Some(name);
            }
        }
    }
    for (n, name) in names.iter_mut().enumerate() {
        if name.is_none() {
            *name = chain_proto(n as u8);
        }
    }
    names
}

/// `xtables_chain_protos`: the names libxtables knows without `/etc/protocols`.
fn chain_proto(num: u8) -> Option<&'static str> {
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

/// `getprotobyname`: the number of a protocol name as `/etc/protocols` writes it.
pub fn protocol_by_name(name: &str) -> Option<u8> {
    PROTOCOLS.lines().find_map(|line| {
        let mut it = line.split(' ');
        let (n, v) = (it.next()?, it.next()?);
        if n == name {
            v.parse().ok()
        } else {
            None
        }
    })
}

/// Parse `-p` values: a number 0–255, `all`, a name from `/etc/protocols` or libxtables' list
/// (case-insensitive). `Ok(0)` means "all".
pub(crate) fn parse_protocol(arg: &OptArg<'_>) -> Result<u8, Diagnostic> {
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
        // Red Hat's /etc/protocols (IANA's keywords) names 4 `ipv4` where Debian's says
        // `ipencap`; iptables-save on such a host prints `-p ipv4` (Calico's IPIP rules).
        "ipv4" => Some(4),
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
pub(crate) fn service_port(name: &str, proto: &str) -> Option<u16> {
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
pub(crate) fn service_port_strict(name: &str, proto: &str) -> Option<u16> {
    SERVICES.lines().find_map(|line| {
        let mut it = line.split(' ');
        let (p, port) = (it.next()?, it.next()?);
        (p == proto && it.any(|n| n == name))
            .then(|| port.parse().ok())
            .flatten()
    })
}

/// A port: a number (base 0) up to 65535, or a service name for `proto`.
pub(crate) fn parse_port_text(text: &str, span: Span, proto: &str) -> Result<u16, Diagnostic> {
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

pub(crate) fn parse_port(arg: &OptArg<'_>, proto: &str) -> Result<u16, Diagnostic> {
    parse_port_text(arg.text, arg.span, proto)
}

/// A port range `a`, `a:b`, `a:` (to 65535) or `:b` (from 0); `min > max` is an error.
pub(crate) fn parse_port_range(arg: &OptArg<'_>, proto: &str) -> Result<(u16, u16), Diagnostic> {
    parse_port_range_sep(arg, proto, ':')
}

/// Like [`parse_port_range`] with another separator (multiport uses `:` too, some use `-`).
pub(crate) fn parse_port_range_sep(
    arg: &OptArg<'_>,
    proto: &str,
    sep: char,
) -> Result<(u16, u16), Diagnostic> {
    let (lo, hi) = port_range(arg, proto, sep)?;
    if lo > hi {
        return Err(Diagnostic::error(
            E_VALUE,
            arg.span,
            format!("invalid port range `{}`: {lo} is above {hi}", arg.text),
        )
        .expected("a range MIN:MAX with MIN <= MAX"));
    }
    Ok((lo, hi))
}

/// `a`, `a:b`, `a:` (to 65535) or `:b` (from 0), in any order.
fn port_range(arg: &OptArg<'_>, proto: &str, sep: char) -> Result<(u16, u16), Diagnostic> {
    let text = arg.text;
    let Some(i) = text.find(sep) else {
        let p = parse_port(arg, proto)?;
        return Ok((p, p));
    };
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

/// Print a port range as iptables-save does: `a` when single, else `a:b`.
pub(crate) fn fmt_port_range(out: &mut String, (lo, hi): (u16, u16)) {
    use std::fmt::Write;
    if lo == hi {
        let _ = write!(out, "{lo}");
    } else {
        let _ = write!(out, "{lo}:{hi}");
    }
}

/// Like [`parse_port_range`], without the order check (libxt_udp and libxt_conntrack accept
/// `4:3`, a range that matches nothing).
pub(crate) fn parse_port_range_unordered(
    arg: &OptArg<'_>,
    proto: &str,
) -> Result<(u16, u16), Diagnostic> {
    port_range(arg, proto, ':')
}

/// libxtables' `ds_classes`, in lookup order.
pub(crate) const DSCP_CLASSES: &[(&str, u8)] = &[
    ("CS0", 0x00),
    ("CS1", 0x08),
    ("CS2", 0x10),
    ("CS3", 0x18),
    ("CS4", 0x20),
    ("CS5", 0x28),
    ("CS6", 0x30),
    ("CS7", 0x38),
    ("BE", 0x00),
    ("AF11", 0x0a),
    ("AF12", 0x0c),
    ("AF13", 0x0e),
    ("AF21", 0x12),
    ("AF22", 0x14),
    ("AF23", 0x16),
    ("AF31", 0x1a),
    ("AF32", 0x1c),
    ("AF33", 0x1e),
    ("AF41", 0x22),
    ("AF42", 0x24),
    ("AF43", 0x26),
    ("EF", 0x2e),
];

/// `class_to_dscp`: the first class whose name starts the text (case-insensitive), so
/// `ef-foo` is EF.
pub(crate) fn class_to_dscp(name: &str) -> Option<u8> {
    let t = name.as_bytes();
    DSCP_CLASSES
        .iter()
        .find(|(n, _)| t.len() >= n.len() && t[..n.len()].eq_ignore_ascii_case(n.as_bytes()))
        .map(|(_, v)| *v)
}

/// [`class_to_dscp`] with an error pointing at the value.
pub(crate) fn parse_dscp_class(arg: &OptArg<'_>) -> Result<u8, Diagnostic> {
    class_to_dscp(arg.text).ok_or_else(|| {
        Diagnostic::error(
            E_VALUE,
            arg.span,
            format!("invalid DSCP class `{}`", arg.text),
        )
        .expected("CS0-CS7, BE, AF11-AF13, AF21-AF23, AF31-AF33, AF41-AF43 or EF")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_arg as a;

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
        // Red Hat's name for 4, as Calico's saved rules carry it.
        assert_eq!(parse_protocol(&a("ipv4")).unwrap(), 4);
        assert_eq!(proto_name(250), None);
    }

    #[test]
    fn dscp_classes_by_prefix() {
        assert_eq!(class_to_dscp("EF"), Some(0x2e));
        assert_eq!(class_to_dscp("ef-foo"), Some(0x2e));
        assert_eq!(class_to_dscp("af41"), Some(0x22));
        assert_eq!(class_to_dscp("be"), Some(0));
        assert_eq!(class_to_dscp("CS"), None);
        assert!(parse_dscp_class(&a("XX")).is_err());
    }

    #[test]
    fn ports_take_xtables_numbers() {
        assert_eq!(parse_port(&a("+80"), "tcp").unwrap(), 80);
        assert_eq!(parse_port(&a(" 80"), "tcp").unwrap(), 80);
        assert_eq!(parse_protocol(&a("+6")).unwrap(), 6);
        assert!(parse_port(&a("-80"), "tcp").is_err());
    }
}
