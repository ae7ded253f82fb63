//! `-m multiport [!] --sports|--dports|--ports LIST` (libxt_multiport.c rev 1 / kernel
//! `xt_multiport.c` `multiport_mt`, `ports_match_v1`): up to 15 ports, a range `A:B` taking
//! two slots (`A < B` required); `--ports` matches either port. Requires `-p tcp`, `udp`,
//! `udplite`, `sctp` or `dccp`, not negated. Non-first fragments never match; a packet too short
//! for the two port fields is hot-dropped. Ports come from the decoded header or, when the
//! decoder gave none, from the raw bytes; `Unknown` only when the capture cut them off.

use std::any::Any;
use std::fmt::Write;

use super::{bad, conflict, missing};
use crate::diag::codes as code;
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{parse_port_text, split_list, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::ext::{Facets, PortSet};
use crate::packet::Packet;

pub(crate) const MAX_PORTS: usize = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Dest,
    Either,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Multiport {
    pub side: Option<Side>,
    /// `(lo, hi)` entries; a single port has `lo == hi` and takes one slot.
    pub ports: Vec<(u16, u16, bool)>,
    pub invert: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Multiport {
        side: None,
        ports: Vec::new(),
        invert: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("source-ports", 1, Arg::One).inv(),
    OptSpec::new("sports", 1, Arg::One).inv(),
    OptSpec::new("destination-ports", 2, Arg::One).inv(),
    OptSpec::new("dports", 2, Arg::One).inv(),
    OptSpec::new("ports", 3, Arg::One).inv(),
];

/// Protocol name for port lookups, as `check_proto` allows them.
fn proto_for(cx: &ParseCtx<'_>) -> Result<&'static str, Diagnostic> {
    let expected = "-p tcp, -p udp, -p udplite, -p sctp or -p dccp before -m multiport";
    match cx.proto {
        Some((6, false)) => Ok("tcp"),
        Some((17, false)) => Ok("udp"),
        Some((136, false)) => Ok("udplite"),
        Some((132, false)) => Ok("sctp"),
        Some((33, false)) => Ok("dccp"),
        None | Some((0, _)) => Err(Diagnostic::error(
            code::CONTEXT,
            cx.span,
            "multiport needs `-p tcp`, `-p udp`, `-p udplite`, `-p sctp` or `-p dccp`",
        )
        .expected(expected)),
        Some(_) => Err(Diagnostic::error(
            code::CONTEXT,
            cx.span,
            "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP (not negated)",
        )
        .expected(expected)),
    }
}

/// `parse_multi_ports_v1`.
pub(crate) fn parse_ports(
    arg: &OptArg<'_>,
    proto: &str,
) -> Result<Vec<(u16, u16, bool)>, Diagnostic> {
    let mut out = Vec::new();
    let mut slots = 0;
    for p in split_list(arg, ',') {
        if slots >= MAX_PORTS {
            return Err(bad(
                p.span,
                "too many ports specified",
                "at most 15 ports (a range A:B counts as two)",
            ));
        }
        match p.text.find(':') {
            None => {
                let v = parse_port_text(p.text, p.span, proto)?;
                out.push((v, v, false));
                slots += 1;
            }
            Some(i) => {
                if slots == MAX_PORTS - 1 {
                    return Err(bad(
                        p.span,
                        "too many ports specified",
                        "at most 15 ports (a range A:B counts as two)",
                    ));
                }
                let sp = |a: usize, b: usize| crate::ext::sub_span(&p, a, b);
                let lo = parse_port_text(&p.text[..i], sp(0, i), proto)?;
                let hi = parse_port_text(&p.text[i + 1..], sp(i + 1, p.text.len()), proto)?;
                if lo >= hi {
                    return Err(bad(
                        p.span,
                        format!("invalid port range `{}`", p.text),
                        "a range A:B with A below B",
                    ));
                }
                out.push((lo, hi, true));
                slots += 2;
            }
        }
    }
    Ok(out)
}

/// The two port fields of the transport header.
pub(crate) enum PortView {
    Fragment,
    Tinygram,
    Cut,
    Ports(u16, u16),
}

pub(crate) fn port_view(pkt: &Packet) -> PortView {
    if pkt.frag.offset != 0 {
        return PortView::Fragment;
    }
    if let Some((s, d)) = pkt.ports() {
        return PortView::Ports(s, d);
    }
    let off = pkt.ip_hdr_len as usize;
    if (pkt.ip_len as usize) < off + 4 {
        return PortView::Tinygram;
    }
    match pkt.data.get(off..off + 4) {
        Some(b) => PortView::Ports(
            u16::from_be_bytes([b[0], b[1]]),
            u16::from_be_bytes([b[2], b[3]]),
        ),
        None => PortView::Cut,
    }
}

impl Match for Multiport {
    fn name(&self) -> &'static str {
        "multiport"
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
        if self.side.is_some() {
            return Err(conflict(
                cx,
                "only one of --sports, --dports and --ports may be given",
                "a single --sports, --dports or --ports",
            ));
        }
        let proto = proto_for(cx)?;
        self.ports = parse_ports(&args[0], proto)?;
        self.side = Some(match opt.id {
            1 => Side::Source,
            2 => Side::Dest,
            _ => Side::Either,
        });
        self.invert = invert;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.side.is_none() {
            return Err(missing(
                cx,
                "-m multiport requires --sports, --dports or --ports",
                "--dports PORT[,PORT|,A:B]...",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(match self.side {
            Some(Side::Source) => " --sports ",
            Some(Side::Dest) => " --dports ",
            _ => " --ports ",
        });
        for (i, (lo, hi, range)) in self.ports.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if *range {
                let _ = write!(out, "{lo}:{hi}");
            } else {
                let _ = write!(out, "{lo}");
            }
        }
    }
    fn explain(&self, cx: &EvalCtx<'_>, _held: bool) -> Option<String> {
        let (s, d) = match port_view(cx.pkt) {
            PortView::Ports(s, d) => (s, d),
            PortView::Fragment => {
                return Some("a later fragment: no ports, the match fails".into())
            }
            _ => return Some("the ports are not in the packet".into()),
        };
        let set = self
            .ports
            .iter()
            .map(|(lo, hi, _)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}:{hi}")
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        let inr = |p: u16| self.ports.iter().any(|(lo, hi, _)| p >= *lo && p <= *hi);
        let one =
            |what: &str, p: u16| format!("{what} {p} {} {{{set}}}", if inr(p) { "∈" } else { "∉" });
        let mut out = match self.side {
            Some(Side::Source) => one("sport", s),
            Some(Side::Dest) => one("dport", d),
            _ => format!("{}, {}", one("sport", s), one("dport", d)),
        };
        if self.invert {
            out.push_str(" (negated)");
        }
        Some(out)
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let (s, d) = match port_view(cx.pkt) {
            PortView::Fragment => return MatchResult::No,
            PortView::Tinygram => return MatchResult::HotDrop,
            PortView::Cut => {
                return MatchResult::Unknown("ports cut off by the capture's snap length")
            }
            PortView::Ports(s, d) => (s, d),
        };
        let inr = |p: u16, lo: u16, hi: u16| p >= lo && p <= hi;
        for (lo, hi, _) in &self.ports {
            let hit = match self.side {
                Some(Side::Source) => inr(s, *lo, *hi),
                Some(Side::Dest) => inr(d, *lo, *hi),
                _ => inr(s, *lo, *hi) || inr(d, *lo, *hi),
            };
            if hit {
                return MatchResult::from_bool(!self.invert);
            }
        }
        MatchResult::from_bool(self.invert)
    }
    fn facets(&self) -> Facets {
        let set = Some(PortSet {
            ranges: self.ports.iter().map(|&(lo, hi, _)| (lo, hi)).collect(),
            invert: self.invert,
        });
        match self.side {
            Some(Side::Source) => Facets {
                sport: set,
                ..Facets::default()
            },
            Some(Side::Dest) => Facets {
                dport: set,
                ..Facets::default()
            },
            _ => Facets {
                either_port: set,
                ..Facets::default()
            },
        }
    }
    fn listing(&self, out: &mut String) {
        let side = match self.side {
            Some(Side::Source) => "sports",
            Some(Side::Dest) => "dports",
            _ => "ports",
        };
        let _ = write!(
            out,
            " multiport {side} {}",
            if self.invert { "! " } else { "" }
        );
        for (i, (lo, hi, _)) in self.ports.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = if lo == hi {
                write!(out, "{sep}{lo}")
            } else {
                write!(out, "{sep}{lo}:{hi}")
            };
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
