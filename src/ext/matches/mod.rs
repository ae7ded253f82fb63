//! Match modules, one file each. Every module mirrors iptables' `libxt_NAME.c` (option parsing
//! and save format) and the kernel's `xt_NAME.c` (match semantics).

pub mod addrtype;
pub mod comment;
pub mod connlimit;
pub mod connmark;
pub mod conntrack;
pub mod dscp;
pub mod hashlimit;
pub mod helper;
pub mod icmp;
pub mod iprange;
pub mod length;
pub mod limit;
pub mod mac;
pub mod mark;
pub mod multiport;
pub mod owner;
pub mod physdev;
pub mod pkttype;
pub mod recent;
pub mod statistic;
pub mod string;
pub mod tcp;
pub mod time;
pub mod tos;
pub mod ttl;
pub mod u32;
pub mod udp;

use crate::packet::{Packet, L4};

/// Transport header visibility for port/type matches, as `skb_header_pointer` sees it.
pub(crate) enum L4View<'a> {
    /// Not the first fragment: L4 matches are false (`par->fragoff != 0`).
    Fragment(u16),
    /// The header is not there: the kernel hot-drops (tinygram).
    Tinygram,
    /// The header existed on the wire but the capture cut it off: cannot decide.
    CutByCapture,
    Header(&'a L4),
}

/// What an L4 match may look at, given that it needs `need` header bytes.
pub(crate) fn l4_view(pkt: &Packet, need: u32) -> L4View<'_> {
    if pkt.frag.offset != 0 {
        return L4View::Fragment(pkt.frag.offset);
    }
    match &pkt.l4 {
        L4::Truncated | L4::Other => {
            if pkt.ip_len < pkt.ip_hdr_len as u32 + need {
                L4View::Tinygram
            } else {
                L4View::CutByCapture
            }
        }
        l4 => L4View::Header(l4),
    }
}

#[inline]
pub(crate) fn port_match(min: u16, max: u16, port: u16, invert: bool) -> bool {
    (port >= min && port <= max) != invert
}

/// ` [!] --NAME a[:b]`.
pub(crate) fn save_ports(out: &mut String, name: &str, range: (u16, u16), invert: bool) {
    if invert {
        out.push_str(" !");
    }
    out.push_str(" --");
    out.push_str(name);
    out.push(' ');
    crate::ext::fmt_port_range(out, range);
}

/// An invalid value: error at `span`, saying what was expected.
pub(crate) fn bad(
    span: crate::diag::Span,
    msg: impl Into<String>,
    expected: impl Into<String>,
) -> crate::diag::Diagnostic {
    crate::diag::Diagnostic::error(crate::ext::E_VALUE, span, msg).expected(expected)
}

/// A whole-module constraint failed (a mandatory option is missing, options conflict): error
/// just after the module's options.
pub(crate) fn missing(
    cx: &crate::ext::ParseCtx<'_>,
    msg: impl Into<String>,
    expected: impl Into<String>,
) -> crate::diag::Diagnostic {
    crate::diag::Diagnostic::error(
        crate::ruleset::parser::code::MISSING_VALUE,
        cx.span.after(),
        msg,
    )
    .expected(expected)
}

/// Two options of a module that exclude each other: error at the option token.
pub(crate) fn conflict(
    cx: &crate::ext::ParseCtx<'_>,
    msg: impl Into<String>,
    expected: impl Into<String>,
) -> crate::diag::Diagnostic {
    crate::diag::Diagnostic::error(crate::ruleset::parser::code::SYNTAX, cx.span, msg)
        .expected(expected)
}
