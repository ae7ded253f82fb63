//! What the target units share beyond option values (those are in [`crate::ext::xtopt`]):
//! - the wording of target errors (a missing action, options that exclude each other, a rule
//!   in the wrong table or hook);
//! - NAT ranges (`libxt_NAT.c` `parse_to`/`parse_ports`/`sprint_range`, `struct
//!   nf_nat_range2`), shared by SNAT, DNAT, MASQUERADE, REDIRECT and NETMAP;
//! - the checks a target's `checkentry` makes on its rule's table, hook and protocol.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::diag::codes as code;
use crate::diag::{Diagnostic, Span};
use crate::ext::{ntop, pton, service_port, sub_span, xt_uint_prefix, OptArg, ParseCtx, E_VALUE};
use crate::netfilter::{Family, Hook, TableKind};

/// Warning: iptables-legacy and iptables-nft (the default) disagree about this rule.
pub(crate) const W_BACKEND: &str = crate::diag::codes::BACKEND;
/// Warning: whether the kernel accepts the rule depends on host state fwcheck cannot see (a
/// conntrack helper, an ipset, an SELinux context, a timeout policy).
pub(crate) const W_HOST_STATE: &str = crate::diag::codes::HOST_STATE;

/// An error at `span`.
pub fn err(span: Span, msg: impl Into<String>, expected: impl Into<String>) -> Diagnostic {
    Diagnostic::error(E_VALUE, span, msg).expected(expected)
}

/// An error about the rule's context (table, hook, protocol) at `span`.
pub(crate) fn context_err(
    span: Span,
    msg: impl Into<String>,
    expected: impl Into<String>,
) -> Diagnostic {
    Diagnostic::error(code::CONTEXT, span, msg).expected(expected)
}

/// A mandatory option is missing (`XTOPT_MAND`, or a `final_check` requiring an action).
pub fn missing(span: Span, target: &str, what: &str) -> Diagnostic {
    Diagnostic::error(code::MISSING_VALUE, span, format!("{target} needs {what}"))
        .expected(format!("{what} after -j {target}"))
}

/// Two options that exclude each other (`xt_option_entry.excl`).
pub(crate) fn conflict(span: Span, target: &str, opt: &str, other: &str) -> Diagnostic {
    Diagnostic::error(
        code::SYNTAX,
        span,
        format!("{target}: option `--{opt}` cannot be used together with `--{other}`"),
    )
    .expected(format!("either --{opt} or --{other}"))
}

/// Protocols with ports NAT can map (`portok` in libxt_NAT.c; ICMP maps the echo id).
pub(crate) fn nat_ports_ok(proto: Option<(u8, bool)>) -> bool {
    matches!(proto, Some((6 | 17 | 132 | 33 | 1, _)))
}

/// A NAT range: `struct nf_nat_range2` as libxt_NAT.c fills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NatRange {
    /// `NF_NAT_RANGE_MAP_IPS`: the address range below is set.
    pub(crate) map_ips: bool,
    pub(crate) min_addr: IpAddr,
    pub(crate) max_addr: IpAddr,
    /// `NF_NAT_RANGE_PROTO_SPECIFIED`: the port range below is set.
    pub(crate) proto_specified: bool,
    pub(crate) min_port: u16,
    pub(crate) max_port: u16,
    /// `NF_NAT_RANGE_PROTO_OFFSET` with the base port (`a-b/base`, DNAT revision 2); targets
    /// whose kernel structure has no base field keep the flag and print base 0.
    pub offset: Option<u16>,
    pub random: bool,
    pub(crate) random_fully: bool,
    pub(crate) persistent: bool,
}

impl NatRange {
    /// What SNAT/DNAT with this range ask of the NAT engine (`nf_nat_setup_info`).
    pub fn spec(&self, kind: crate::ext::NatKind) -> crate::ext::NatSpec {
        crate::ext::NatSpec {
            kind,
            addr: self.addrs(),
            ports: self.ports(),
            base_port: self.offset,
            random: self.random || self.random_fully,
            persistent: self.persistent,
        }
    }

    pub fn new(family: Family) -> Self {
        let zero = match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        NatRange {
            map_ips: false,
            min_addr: zero,
            max_addr: zero,
            proto_specified: false,
            min_port: 0,
            max_port: 0,
            offset: None,
            random: false,
            random_fully: false,
            persistent: false,
        }
    }

    /// `sprint_range`: `[a[-b]][:p[-q][/base]]`, IPv6 addresses in brackets when ports follow.
    pub(crate) fn range_text(&self, v6: bool) -> String {
        let mut out = String::new();
        let brackets = v6 && self.proto_specified;
        if self.map_ips {
            if brackets {
                out.push('[');
            }
            out.push_str(&ntop(self.min_addr));
            if self.max_addr != self.min_addr {
                out.push('-');
                out.push_str(&ntop(self.max_addr));
            }
            if brackets {
                out.push(']');
            }
        }
        if self.proto_specified {
            let _ = write!(out, ":{}", self.min_port);
            if self.max_port != self.min_port {
                let _ = write!(out, "-{}", self.max_port);
            }
            if let Some(b) = self.offset {
                let _ = write!(out, "/{b}");
            }
        }
        out
    }

    /// `__NAT_print` in save form: ` OPT RANGE` then the flags.
    pub fn save(&self, out: &mut String, rangeopt: &str, v6: bool, skip_colon: bool) {
        let r = self.range_text(v6);
        if !r.is_empty() {
            let r = if skip_colon {
                r.strip_prefix(':').unwrap_or(&r)
            } else {
                &r
            };
            let _ = write!(out, " {rangeopt} {r}");
        }
        if self.random {
            out.push_str(" --random");
        }
        if self.random_fully {
            out.push_str(" --random-fully");
        }
        if self.persistent {
            out.push_str(" --persistent");
        }
    }

    /// The addresses, when mapped.
    pub fn addrs(&self) -> Option<(IpAddr, IpAddr)> {
        self.map_ips.then_some((self.min_addr, self.max_addr))
    }

    /// The ports, when mapped.
    pub fn ports(&self) -> Option<(u16, u16)> {
        self.proto_specified
            .then_some((self.min_port, self.max_port))
    }
}

fn port_or_service(text: &str) -> Option<u16> {
    ["tcp", "udp", "sctp", "dccp"]
        .iter()
        .find_map(|p| service_port(text, p))
}

/// `parse_ports`: `p`, `p-q` or `p-q/base` (numbers base 0; a service name only alone or as
/// base). `off` is the byte offset of `text` inside `arg`.
pub(crate) fn nat_ports(
    arg: &OptArg<'_>,
    off: usize,
    proto: Option<(u8, bool)>,
    r: &mut NatRange,
) -> Result<(), Diagnostic> {
    let text = &arg.text[off..];
    let span_all = sub_span(arg, off, arg.text.len());
    if !nat_ports_ok(proto) {
        return Err(context_err(
            span_all,
            "a port mapping needs -p tcp, udp, sctp, dccp or icmp before the target",
            "-p tcp (or udp, sctp, dccp) earlier in the rule, or no :PORT",
        ));
    }
    let expected = "PORT, PORT-PORT or PORT-PORT/BASE (numbers from 0 to 65535)";
    let (port, rest) = match xt_uint_prefix(text, 0, 65535) {
        Some((p, rest)) => (p as u16, rest),
        None => match port_or_service(text) {
            Some(p) => (p, ""),
            None => return Err(err(span_all, format!("port `{text}` not valid"), expected)),
        },
    };
    r.proto_specified = true;
    let mut pos = off + (text.len() - rest.len());
    let rest = match rest.as_bytes().first() {
        None => {
            r.min_port = port;
            r.max_port = port;
            return Ok(());
        }
        Some(b'-') => &rest[1..],
        Some(b':') => {
            return Err(err(
                sub_span(arg, pos, arg.text.len()),
                "invalid port:port syntax",
                "a port range written with a dash: PORT-PORT",
            ))
        }
        Some(_) => {
            return Err(err(
                sub_span(arg, pos, arg.text.len()),
                format!("garbage after port value: `{rest}`"),
                expected,
            ))
        }
    };
    pos += 1;
    let Some((maxport, tail)) = xt_uint_prefix(rest, 0, 65535) else {
        return Err(err(
            sub_span(arg, pos, arg.text.len()),
            format!("port `{rest}` not valid"),
            "a port number from 0 to 65535 (service names are not allowed in a range)",
        ));
    };
    if maxport < port as u64 {
        return Err(err(
            span_all,
            format!("port range `{text}` is reversed"),
            "a range MIN-MAX with MIN <= MAX",
        ));
    }
    r.min_port = port;
    r.max_port = maxport as u16;
    pos += rest.len() - tail.len();
    let base = match tail.as_bytes().first() {
        None => return Ok(()),
        Some(b'/') => &tail[1..],
        Some(_) => {
            return Err(err(
                sub_span(arg, pos, arg.text.len()),
                format!("garbage after port range: `{tail}`"),
                expected,
            ))
        }
    };
    pos += 1;
    // `xtables_strtoui` with an end pointer: a leading number in range is enough (the rest is
    // ignored); otherwise the whole text is looked up as a service name.
    let b = match xt_uint_prefix(base, 1, 65535) {
        Some((b, _)) => b as u16,
        None => port_or_service(base).ok_or_else(|| {
            err(
                sub_span(arg, pos, arg.text.len()),
                format!("port `{base}` not valid"),
                "a base port from 1 to 65535",
            )
        })?,
    };
    r.offset = Some(b);
    Ok(())
}

/// `parse_to`: `[a[-b]][:ports]`, IPv6 as `a[-b]` or `[a[-b]]:ports`.
pub(crate) fn nat_to(
    arg: &OptArg<'_>,
    family: Family,
    proto: Option<(u8, bool)>,
    r: &mut NatRange,
) -> Result<(), Diagnostic> {
    let t = arg.text;
    let (start, end, colon): (usize, usize, Option<usize>) = match t.find('[') {
        None => {
            // One colon is port information; more make an IPv6 address.
            let colon = t.find(':').filter(|c| !t[c + 1..].contains(':'));
            (0, colon.unwrap_or(t.len()), colon)
        }
        Some(ob) => {
            let close = t[ob + 1..].find(']').map(|c| ob + 1 + c);
            let Some(close) = close.filter(|_| family == Family::V6) else {
                return Err(err(
                    arg.span,
                    format!("invalid address format `{t}`"),
                    match family {
                        Family::V4 => "an IPv4 address without brackets, such as 192.0.2.1:80",
                        Family::V6 => "[ADDRESS]:PORT with a closing bracket",
                    },
                ));
            };
            let colon = t[close + 1..].find(':').map(|c| close + 1 + c);
            (ob + 1, close, colon)
        }
    };
    if let Some(c) = colon {
        nat_ports(arg, c + 1, proto, r)?;
        // Starts with a colon or `[]:`: no address.
        if c == 0 || c == 2 {
            return Ok(());
        }
    }
    r.map_ips = true;
    let addr = &t[start..end];
    let (a, b) = match addr.find('-') {
        Some(d) => (&addr[..d], Some((&addr[d + 1..], start + d + 1))),
        None => (addr, None),
    };
    r.min_addr = pton(a, sub_span(arg, start, start + a.len()), family)?;
    r.max_addr = match b {
        Some((b, bs)) => pton(b, sub_span(arg, bs, bs + b.len()), family)?,
        None => r.min_addr,
    };
    Ok(())
}

/// SNAT and MASQUERADE (IPv4 revision 0, IPv6 revision 1) keep the `/BASE` flag of a shifted
/// port map but have no field for the base: it becomes 0, and `iptables-save` prints `/0`,
/// which `iptables-restore` then refuses.
pub(crate) fn offset_unsupported(arg: &OptArg<'_>, r: &mut NatRange, cx: &mut ParseCtx<'_>) {
    if r.offset.is_some_and(|b| b != 0) {
        cx.warn(
            Diagnostic::warning(
                code::IGNORED,
                arg.span,
                "this target has no base port: `/BASE` is stored as 0",
            )
            .note("iptables-save prints the rule with `/0`, which iptables-restore refuses; only DNAT supports shifted port maps"),
        );
        r.offset = Some(0);
    }
}

/// Whether the rule is written directly in a built-in chain of its table, and which hook that
/// is. Checks the kernel makes from `par->hook_mask` inside `checkentry` only see these with
/// iptables-nft (user chains get an empty mask there), so fwcheck makes them here.
pub(crate) fn builtin_hook(cx: &ParseCtx<'_>) -> Option<Hook> {
    Hook::from_chain_name(cx.chain).filter(|h| cx.table.builtin_hooks().contains(h))
}

/// The rule's protocol when given positively (`-p tcp`, not `! -p tcp`).
pub(crate) fn positive_proto(cx: &ParseCtx<'_>) -> Option<u8> {
    match cx.proto {
        Some((p, false)) => Some(p),
        _ => None,
    }
}

/// An error unless the rule is in one of `tables` (checks made in a target's `checkentry`).
pub(crate) fn require_tables(
    cx: &ParseCtx<'_>,
    target: &str,
    tables: &[TableKind],
) -> Result<(), Diagnostic> {
    if tables.contains(&cx.table) {
        return Ok(());
    }
    let names: Vec<&str> = tables.iter().map(|t| t.name()).collect();
    Err(context_err(
        cx.span,
        format!(
            "target {target} is only valid in table {}",
            names.join(" or ")
        ),
        format!("a target valid in table {}", cx.table),
    ))
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
    fn nat_ranges() {
        let tcp = Some((6u8, false));
        let p = |t: &str, f: Family, proto| {
            let mut r = NatRange::new(f);
            nat_to(&a(t), f, proto, &mut r).map(|_| r.range_text(f == Family::V6))
        };
        assert_eq!(p("1.2.3.4", Family::V4, None).unwrap(), "1.2.3.4");
        assert_eq!(
            p("1.2.3.4-1.2.3.9:80-90", Family::V4, tcp).unwrap(),
            "1.2.3.4-1.2.3.9:80-90"
        );
        assert_eq!(p(":0x50", Family::V4, tcp).unwrap(), ":80");
        assert_eq!(p("1.2.3.4:http", Family::V4, tcp).unwrap(), "1.2.3.4:80");
        assert_eq!(p("1.2.3.4:80-80", Family::V4, tcp).unwrap(), "1.2.3.4:80");
        assert_eq!(
            p("1.2.3.4:10-20/ftp", Family::V4, tcp).unwrap(),
            "1.2.3.4:10-20/21"
        );
        assert!(p("1.2.3.4:80", Family::V4, None).is_err());
        assert!(p("1.2.3.4:80:90", Family::V4, tcp).is_err());
        assert!(p("1.2.3.4:90-80", Family::V4, tcp).is_err());
        assert!(p("1.2.3.4:80-http", Family::V4, tcp).is_err());
        assert!(p("1.2.3.4:1-2/0", Family::V4, tcp).is_err());
        assert!(p("10.1", Family::V4, None).is_err());
        assert!(p("[1.2.3.4]", Family::V4, None).is_err());
        assert_eq!(p("dead::beef", Family::V6, None).unwrap(), "dead::beef");
        assert_eq!(
            p("[dead::beef]:80", Family::V6, tcp).unwrap(),
            "[dead::beef]:80"
        );
        assert_eq!(
            p("[::1-::2]:80-90/100", Family::V6, tcp)
                .map_err(|e| format!("{e:?}"))
                .unwrap(),
            "[::1-::2]:80-90/100"
        );
        assert_eq!(p("[]:80", Family::V6, tcp).unwrap(), ":80");
    }
}
