//! `-m icmp` (libipt_icmp.c) and `-m icmp6` (libip6t_icmp6.c), kernel `icmp_match` /
//! `icmp6_match`: type with a code range, names matched case-insensitively by prefix.

use std::any::Any;
use std::fmt::Write;

use super::{l4_view, L4View};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{sub_span, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, E_VALUE};
use crate::packet::L4;

/// `(name, type, code_min, code_max)` — iptables' `icmp_codes` table.
pub(crate) const ICMP_NAMES: &[(&str, u8, u8, u8)] = &[
    ("any", 0xFF, 0, 0xFF),
    ("echo-reply", 0, 0, 0xFF),
    ("pong", 0, 0, 0xFF),
    ("destination-unreachable", 3, 0, 0xFF),
    ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1),
    ("protocol-unreachable", 3, 2, 2),
    ("port-unreachable", 3, 3, 3),
    ("fragmentation-needed", 3, 4, 4),
    ("source-route-failed", 3, 5, 5),
    ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7),
    ("network-prohibited", 3, 9, 9),
    ("host-prohibited", 3, 10, 10),
    ("TOS-network-unreachable", 3, 11, 11),
    ("TOS-host-unreachable", 3, 12, 12),
    ("communication-prohibited", 3, 13, 13),
    ("host-precedence-violation", 3, 14, 14),
    ("precedence-cutoff", 3, 15, 15),
    ("source-quench", 4, 0, 0xFF),
    ("redirect", 5, 0, 0xFF),
    ("network-redirect", 5, 0, 0),
    ("host-redirect", 5, 1, 1),
    ("TOS-network-redirect", 5, 2, 2),
    ("TOS-host-redirect", 5, 3, 3),
    ("echo-request", 8, 0, 0xFF),
    ("ping", 8, 0, 0xFF),
    ("router-advertisement", 9, 0, 0xFF),
    ("router-solicitation", 10, 0, 0xFF),
    ("time-exceeded", 11, 0, 0xFF),
    ("ttl-exceeded", 11, 0, 0xFF),
    ("ttl-zero-during-transit", 11, 0, 0),
    ("ttl-zero-during-reassembly", 11, 1, 1),
    ("parameter-problem", 12, 0, 0xFF),
    ("ip-header-bad", 12, 0, 0),
    ("required-option-missing", 12, 1, 1),
    ("timestamp-request", 13, 0, 0xFF),
    ("timestamp-reply", 14, 0, 0xFF),
    ("address-mask-request", 17, 0, 0xFF),
    ("address-mask-reply", 18, 0, 0xFF),
];

/// ip6tables' `icmpv6_codes` table.
pub(crate) const ICMPV6_NAMES: &[(&str, u8, u8, u8)] = &[
    ("destination-unreachable", 1, 0, 0xFF),
    ("no-route", 1, 0, 0),
    ("communication-prohibited", 1, 1, 1),
    ("beyond-scope", 1, 2, 2),
    ("address-unreachable", 1, 3, 3),
    ("port-unreachable", 1, 4, 4),
    ("failed-policy", 1, 5, 5),
    ("reject-route", 1, 6, 6),
    ("packet-too-big", 2, 0, 0xFF),
    ("time-exceeded", 3, 0, 0xFF),
    ("ttl-exceeded", 3, 0, 0xFF),
    ("ttl-zero-during-transit", 3, 0, 0),
    ("ttl-zero-during-reassembly", 3, 1, 1),
    ("parameter-problem", 4, 0, 0xFF),
    ("bad-header", 4, 0, 0),
    ("unknown-header-type", 4, 1, 1),
    ("unknown-option", 4, 2, 2),
    ("echo-request", 128, 0, 0xFF),
    ("ping", 128, 0, 0xFF),
    ("echo-reply", 129, 0, 0xFF),
    ("pong", 129, 0, 0xFF),
    ("router-solicitation", 133, 0, 0xFF),
    ("router-advertisement", 134, 0, 0xFF),
    ("neighbour-solicitation", 135, 0, 0xFF),
    ("neighbor-solicitation", 135, 0, 0xFF),
    ("neighbour-advertisement", 136, 0, 0xFF),
    ("neighbor-advertisement", 136, 0, 0xFF),
    ("redirect", 137, 0, 0xFF),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmp {
    pub v6: bool,
    pub icmp_type: u8,
    pub code: (u8, u8),
    pub invert: bool,
    /// The type option was given (it is mandatory).
    pub given: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Icmp {
        v6: false,
        icmp_type: 0xFF,
        code: (0, 0xFF),
        invert: false,
        given: false,
    })
}

pub(crate) fn new6() -> Box<dyn Match> {
    Box::new(Icmp {
        v6: true,
        icmp_type: 0,
        code: (0, 0xFF),
        invert: false,
        given: false,
    })
}

static OPTS4: &[OptSpec] = &[OptSpec::new("icmp-type", 1, Arg::One).inv()];
static OPTS6: &[OptSpec] = &[OptSpec::new("icmpv6-type", 1, Arg::One).inv()];

/// Parse `NAME`, `TYPE` or `TYPE/CODE` as `__parse_icmp` does.
pub(crate) fn parse_icmp_type(
    arg: &OptArg<'_>,
    names: &'static [(&'static str, u8, u8, u8)],
    v6: bool,
) -> Result<(u8, u8, u8), Diagnostic> {
    let t = arg.text;
    let mut found: Option<usize> = None;
    for (i, (n, ..)) in names.iter().enumerate() {
        if n.len() >= t.len() && !t.is_empty() && n[..t.len()].eq_ignore_ascii_case(t) {
            if let Some(prev) = found {
                return Err(Diagnostic::error(
                    E_VALUE,
                    arg.span,
                    format!("ambiguous ICMP type `{t}`"),
                )
                .expected(format!(
                    "`{}` or `{}` (or another unambiguous name)",
                    names[prev].0, n
                )));
            }
            found = Some(i);
        }
    }
    if let Some(i) = found {
        let (_, ty, lo, hi) = names[i];
        return Ok((ty, lo, hi));
    }
    let expected = if v6 {
        "an ICMPv6 type name such as echo-request, a number 0-255, or TYPE/CODE"
    } else {
        "an ICMP type name such as echo-request, a number 0-255, or TYPE/CODE"
    };
    // `parse_range`: a number (C base 0, at most 255), optionally `:NUMBER`.
    fn range(s: &str) -> Option<(u64, Option<u64>, usize)> {
        let (a, n) = crate::ext::strtoul_prefix(s).filter(|(v, _)| *v <= 255)?;
        if s[n..].starts_with(':') {
            let (b, m) = crate::ext::strtoul_prefix(&s[n + 1..]).filter(|(v, _)| *v <= 255)?;
            return Some((a, Some(b), n + 1 + m));
        }
        Some((a, None, n))
    }
    let Some((ty, ty_hi, n)) = range(t) else {
        return Err(
            Diagnostic::error(E_VALUE, arg.span, format!("unknown ICMP type `{t}`"))
                .expected(expected),
        );
    };
    if ty_hi.is_some_and(|h| h != ty) {
        return Err(Diagnostic::error(
            E_VALUE,
            sub_span(arg, 0, n),
            format!("ICMP type range `{}` not supported", &t[..n]),
        )
        .expected(expected));
    }
    let rest = &t[n..];
    if rest.is_empty() {
        return Ok((ty as u8, 0, 0xFF));
    }
    if let Some(c) = rest.strip_prefix('/') {
        let Some((lo, hi, m)) = range(c) else {
            return Err(Diagnostic::error(
                E_VALUE,
                sub_span(arg, n + 1, t.len()),
                format!("unknown ICMP code `{c}`"),
            )
            .expected("a code number 0-255 or a code range MIN:MAX"));
        };
        if m == c.len() {
            return Ok((ty as u8, lo as u8, hi.unwrap_or(lo) as u8));
        }
        return Err(Diagnostic::error(
            E_VALUE,
            sub_span(arg, n + 1 + m, t.len()),
            format!("unexpected `{}` after the ICMP code", &c[m..]),
        )
        .expected("TYPE/CODE or TYPE/MIN:MAX"));
    }
    Err(Diagnostic::error(
        E_VALUE,
        sub_span(arg, n, t.len()),
        format!("unexpected `{rest}` after the ICMP type"),
    )
    .expected(expected))
}

impl Match for Icmp {
    fn name(&self) -> &'static str {
        if self.v6 {
            "icmp6"
        } else {
            "icmp"
        }
    }
    fn options(&self) -> &'static [OptSpec] {
        if self.v6 {
            OPTS6
        } else {
            OPTS4
        }
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        let names = if self.v6 { ICMPV6_NAMES } else { ICMP_NAMES };
        let (t, lo, hi) = parse_icmp_type(&args[0], names, self.v6)?;
        self.icmp_type = t;
        self.code = (lo, hi);
        self.invert = invert;
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            let opt = if self.v6 {
                "--icmpv6-type"
            } else {
                "--icmp-type"
            };
            return Err(super::missing(
                cx,
                format!("-m {} requires {opt}", self.name()),
                format!("{opt} TYPE[/CODE]"),
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        if self.v6 {
            let _ = write!(out, " --icmpv6-type {}", self.icmp_type);
        } else if self.icmp_type == 0xFF {
            out.push_str(" --icmp-type any");
            return;
        } else {
            let _ = write!(out, " --icmp-type {}", self.icmp_type);
        }
        if self.code != (0, 0xFF) {
            let _ = write!(out, "/{}", self.code.0);
        }
    }
    fn explain(&self, cx: &EvalCtx<'_>, _held: bool) -> Option<String> {
        let name = if self.v6 { "ICMPv6" } else { "ICMP" };
        let ic = match l4_view(cx.pkt, 8) {
            L4View::Header(L4::Icmp(i)) if !self.v6 => i,
            L4View::Header(L4::Icmpv6(i)) if self.v6 => i,
            _ => return Some(super::l4_absent_reason(cx.pkt, 8, name)),
        };
        if !self.v6 && self.icmp_type == 0xFF {
            return Some(format!("{name} type any (the packet's: {})", ic.icmp_type));
        }
        let want = if self.code == (0, 0xFF) {
            format!("{}", self.icmp_type)
        } else if self.code.0 == self.code.1 {
            format!("{}/{}", self.icmp_type, self.code.0)
        } else {
            format!("{}/{}-{}", self.icmp_type, self.code.0, self.code.1)
        };
        let hit =
            ic.icmp_type == self.icmp_type && ic.code >= self.code.0 && ic.code <= self.code.1;
        Some(format!(
            "{name} type/code {}/{} {} {want}{}",
            ic.icmp_type,
            ic.code,
            if hit { "=" } else { "≠" },
            if self.invert { " (negated)" } else { "" }
        ))
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let ic = match l4_view(cx.pkt, 8) {
            L4View::Fragment(_) => return MatchResult::No,
            L4View::Tinygram => return MatchResult::HotDrop,
            L4View::CutByCapture => {
                return MatchResult::Unknown("ICMP header cut off by the capture's snap length")
            }
            L4View::Header(L4::Icmp(i)) if !self.v6 => i,
            L4View::Header(L4::Icmpv6(i)) if self.v6 => i,
            L4View::Header(_) => return MatchResult::No,
        };
        let any = !self.v6 && self.icmp_type == 0xFF;
        let hit = any
            || (ic.icmp_type == self.icmp_type && ic.code >= self.code.0 && ic.code <= self.code.1);
        MatchResult::from_bool(hit != self.invert)
    }
    fn facets(&self) -> Facets {
        Facets {
            icmp: Some((self.icmp_type, self.code, self.invert)),
            complete: true,
            ..Facets::default()
        }
    }
    fn listing(&self, out: &mut String) {
        if self.v6 {
            out.push_str(" -m icmp6");
            self.save(out);
            return;
        }
        let bang = if self.invert { "!" } else { "" };
        let t = self.icmp_type;
        let _ = if t == 0xFF {
            write!(out, " icmp {bang}any")
        } else if self.code == (0, 0xFF) {
            write!(out, " icmptype {bang}{t}")
        } else if self.code.0 == self.code.1 {
            write!(out, " icmptype {bang}{t} code {}", self.code.0)
        } else {
            write!(
                out,
                " icmptype {bang}{t} codes {}-{}",
                self.code.0, self.code.1
            )
        };
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
