//! `-m udp` (libxt_udp.c / xt_tcpudp.c `udp_mt`): source and destination ports.

use std::any::Any;

use super::{l4_view, port_match, save_ports, L4View};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{parse_port_range_unordered, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::packet::L4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Udp {
    pub(crate) spts: (u16, u16),
    pub(crate) dpts: (u16, u16),
    pub(crate) inv_sport: bool,
    pub(crate) inv_dport: bool,
    /// iptables-nft translated the match into payload expressions (see [`Udp::finish`]).
    pub nft: bool,
    /// Nothing was left to translate: the match is not in the kernel rule nor in the saved text.
    pub(crate) elided: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Udp {
        spts: (0, 0xFFFF),
        dpts: (0, 0xFFFF),
        inv_sport: false,
        inv_dport: false,
        nft: false,
        elided: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("source-port", 1, Arg::One).inv(),
    OptSpec::new("sport", 1, Arg::One).inv(),
    OptSpec::new("destination-port", 2, Arg::One).inv(),
    OptSpec::new("dport", 2, Arg::One).inv(),
];

impl Match for Udp {
    fn name(&self) -> &'static str {
        "udp"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        if opt.id == 1 {
            self.spts = parse_port_range_unordered(&args[0], "udp")?;
            self.inv_sport = invert;
        } else {
            self.dpts = parse_port_range_unordered(&args[0], "udp")?;
            self.inv_dport = invert;
        }
        Ok(())
    }
    /// iptables-nft 1.8.9 (`add_nft_udp`) keeps the xt match only when it is all defaults;
    /// otherwise it emits payload expressions, none for a full port range (negated or not).
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if cx.backend != crate::ext::Backend::Nft {
            return Ok(());
        }
        let full = (0, 0xFFFF);
        if self.spts == full && self.dpts == full && !self.inv_sport && !self.inv_dport {
            return Ok(());
        }
        self.nft = true;
        if self.spts == full {
            self.inv_sport = false;
        }
        if self.dpts == full {
            self.inv_dport = false;
        }
        self.elided = self.spts == full && self.dpts == full;
        Ok(())
    }
    fn printed(&self) -> bool {
        !self.elided
    }
    fn save(&self, out: &mut String) {
        if self.spts != (0, 0xFFFF) {
            save_ports(out, "sport", self.spts, self.inv_sport);
        }
        if self.dpts != (0, 0xFFFF) {
            save_ports(out, "dport", self.dpts, self.inv_dport);
        }
    }
    fn explain(&self, cx: &EvalCtx<'_>, _held: bool) -> Option<String> {
        if self.elided {
            return Some("nothing left to test (iptables-nft drops it): holds".into());
        }
        let L4View::Header(L4::Udp(uh)) = l4_view(cx.pkt, 8) else {
            return Some(super::l4_absent_reason(cx.pkt, 8, "UDP"));
        };
        let mut parts = super::port_reasons(
            (uh.sport, uh.dport),
            (self.spts, self.dpts),
            (self.inv_sport, self.inv_dport),
        );
        if parts.is_empty() {
            parts.push("a UDP packet".into());
        }
        Some(parts.join(", "))
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        if self.elided {
            return MatchResult::Yes;
        }
        let uh = match l4_view(cx.pkt, 8) {
            L4View::Fragment(_) if self.nft => {
                return MatchResult::Unknown(super::NFT_LATER_FRAGMENT)
            }
            L4View::Fragment(_) => return MatchResult::No,
            L4View::Tinygram if self.nft => {
                return super::nft_short_header(
                    cx.pkt,
                    (self.spts, self.inv_sport),
                    (self.dpts, self.inv_dport),
                    (0, 0, false),
                    "UDP header cut off by the capture's snap length",
                )
            }
            L4View::Tinygram => return MatchResult::HotDrop,
            L4View::CutByCapture => {
                return MatchResult::Unknown("UDP header cut off by the capture's snap length")
            }
            L4View::Header(L4::Udp(u)) => u,
            L4View::Header(_) => return MatchResult::No,
        };
        MatchResult::from_bool(
            port_match(self.spts.0, self.spts.1, uh.sport, self.inv_sport)
                && port_match(self.dpts.0, self.dpts.1, uh.dport, self.inv_dport),
        )
    }
    fn facets(&self) -> Facets {
        if self.elided {
            return Facets {
                complete: true,
                ..Facets::default()
            };
        }
        Facets {
            sport: super::port_facet(self.spts, self.inv_sport),
            dport: super::port_facet(self.dpts, self.inv_dport),
            complete: true,
            ..Facets::default()
        }
    }
    fn listing(&self, out: &mut String) {
        if self.elided {
            return;
        }
        out.push_str(" udp");
        super::list_ports(out, "spt", self.spts, self.inv_sport);
        super::list_ports(out, "dpt", self.dpts, self.inv_dport);
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
