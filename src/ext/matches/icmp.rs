//! `-m icmp` (libipt_icmp.c) and `-m icmp6` (libip6t_icmp6.c), kernel `icmp_match` /
//! `icmp6_match`: type with a code range, names matched case-insensitively by prefix.

use std::any::Any;
use std::fmt::Write;

use super::{l4_view, L4View};
use crate::diag::Diagnostic;
use crate::engine::EvalCtx;
use crate::ext::{strtoul0, sub_span, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, E_VALUE};
use crate::packet::L4;

/// `(name, type, code_min, code_max)` — iptables' `icmp_codes` table.
pub const ICMP_NAMES: &[(&str, u8, u8, u8)] = &[
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
pub const ICMPV6_NAMES: &[(&str, u8, u8, u8)] = &[
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
    ("mld-listener-query", 130, 0, 0xFF),
    ("mld-listener-report", 131, 0, 0xFF),
    ("mld-listener-done", 132, 0, 0xFF),
    ("mld-listener-reduction", 132, 0, 0xFF),
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
}

pub fn new() -> Box<dyn Match> {
    Box::new(Icmp {
        v6: false,
        icmp_type: 0xFF,
        code: (0, 0xFF),
        invert: false,
    })
}

pub fn new6() -> Box<dyn Match> {
    Box::new(Icmp {
        v6: true,
        icmp_type: 0,
        code: (0, 0xFF),
        invert: false,
    })
}

static OPTS4: &[OptSpec] = &[OptSpec::new("icmp-type", 1, Arg::One).inv()];
static OPTS6: &[OptSpec] = &[OptSpec::new("icmpv6-type", 1, Arg::One).inv()];

/// Parse `NAME`, `TYPE` or `TYPE/CODE` as `__parse_icmp` does.
pub fn parse_icmp_type(
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
    let (ty_s, code_s) = match t.find('/') {
        Some(i) => (&t[..i], Some((i, &t[i + 1..]))),
        None => (t, None),
    };
    let ty = strtoul0(ty_s).filter(|v| *v <= 255).ok_or_else(|| {
        Diagnostic::error(E_VALUE, arg.span, format!("invalid ICMP type `{t}`")).expected(expected)
    })?;
    match code_s {
        None => Ok((ty as u8, 0, 0xFF)),
        Some((i, c)) => {
            let code = strtoul0(c).filter(|v| *v <= 255).ok_or_else(|| {
                Diagnostic::error(
                    E_VALUE,
                    sub_span(arg, i + 1, t.len()),
                    format!("invalid ICMP code `{c}`"),
                )
                .expected("a code number 0-255")
            })?;
            Ok((ty as u8, code as u8, code as u8))
        }
    }
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
    fn as_any(&self) -> &dyn Any {
        self
    }
}
