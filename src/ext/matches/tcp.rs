//! `-m tcp` (libxt_tcp.c / xt_tcpudp.c `tcp_mt`): ports, flags, `--syn`, `--tcp-option`.

use std::any::Any;
use std::fmt::Write as _;

use super::{l4_view, port_match, save_ports, L4View};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{
    parse_port_range, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType, E_VALUE,
};
use crate::packet::L4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tcp {
    pub(crate) spts: (u16, u16),
    pub(crate) dpts: (u16, u16),
    pub(crate) inv_sport: bool,
    pub(crate) inv_dport: bool,
    pub option: u8,
    pub(crate) inv_option: bool,
    pub(crate) flg_mask: u8,
    pub(crate) flg_cmp: u8,
    pub(crate) inv_flags: bool,
    /// iptables-nft translated the match into payload expressions (see [`Tcp::finish`]).
    pub nft: bool,
    /// Nothing was left to translate: the match is not in the kernel rule nor in the saved text.
    pub(crate) elided: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Tcp {
        spts: (0, 0xFFFF),
        dpts: (0, 0xFFFF),
        inv_sport: false,
        inv_dport: false,
        option: 0,
        inv_option: false,
        flg_mask: 0,
        flg_cmp: 0,
        inv_flags: false,
        nft: false,
        elided: false,
    })
}

const SPORT: u8 = 1;
const DPORT: u8 = 2;
const FLAGS: u8 = 3;
const OPTION: u8 = 4;

static OPTS: &[OptSpec] = &[
    OptSpec::new("source-port", SPORT, Arg::One).inv(),
    OptSpec::new("sport", SPORT, Arg::One).inv(),
    OptSpec::new("destination-port", DPORT, Arg::One).inv(),
    OptSpec::new("dport", DPORT, Arg::One).inv(),
    OptSpec::new("syn", FLAGS, Arg::None).inv(),
    OptSpec::new("tcp-flags", FLAGS, Arg::Two).inv(),
    OptSpec::new("tcp-option", OPTION, Arg::One)
        .ty(XtType::Uint { min: 1, max: 255 })
        .inv(),
];

const FLAG_NAMES: &[(&str, u8)] = &[
    ("FIN", 0x01),
    ("SYN", 0x02),
    ("RST", 0x04),
    ("PSH", 0x08),
    ("ACK", 0x10),
    ("URG", 0x20),
    ("ALL", 0x3F),
    ("NONE", 0),
];

/// Parse a comma-separated TCP flag list (`SYN,ACK`, `ALL`, `NONE`).
pub(crate) fn parse_tcp_flags(arg: &OptArg<'_>) -> Result<u8, Diagnostic> {
    let mut v = 0u8;
    for part in crate::ext::split_list(arg, ',') {
        match FLAG_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(part.text))
        {
            Some((_, b)) => v |= b,
            None => {
                return Err(Diagnostic::error(
                    E_VALUE,
                    part.span,
                    format!("unknown TCP flag `{}`", part.text),
                )
                .expected("FIN, SYN, RST, PSH, ACK, URG, ALL or NONE, separated by commas"))
            }
        }
    }
    Ok(v)
}

/// Print flags as `print_tcpf` does: names of set bits in FIN..URG order, or `NONE`.
pub(crate) fn save_tcp_flags(out: &mut String, mut flags: u8) {
    let mut first = true;
    while flags != 0 {
        let Some((name, bit)) = FLAG_NAMES.iter().find(|(_, b)| *b != 0 && flags & b != 0) else {
            break;
        };
        if !first {
            out.push(',');
        }
        out.push_str(name);
        first = false;
        flags &= !bit;
    }
    if first {
        out.push_str("NONE");
    }
}

impl Match for Tcp {
    fn name(&self) -> &'static str {
        "tcp"
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
        match opt.id {
            SPORT => {
                self.spts = parse_port_range(&args[0], "tcp")?;
                self.inv_sport = invert;
            }
            DPORT => {
                self.dpts = parse_port_range(&args[0], "tcp")?;
                self.inv_dport = invert;
            }
            FLAGS => {
                if opt.name == "syn" {
                    self.flg_mask = 0x17;
                    self.flg_cmp = 0x02;
                } else {
                    self.flg_mask = parse_tcp_flags(&args[0])?;
                    self.flg_cmp = parse_tcp_flags(&args[1])?;
                }
                self.inv_flags = invert;
            }
            OPTION => {
                self.option = cx.val.uint() as u8;
                self.inv_option = invert;
            }
            _ => {}
        }
        let _ = cx;
        Ok(())
    }
    /// iptables-nft 1.8.9 (`add_nft_tcp`) keeps the xt match only when it tests a TCP option, has
    /// an inverted option test, or is all defaults; otherwise it emits payload expressions, and
    /// emits none for a full port range (negated or not) or an empty flag mask. The saved rule
    /// is rebuilt from those expressions, so the dropped parts vanish.
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if cx.backend != crate::ext::Backend::Nft {
            return Ok(());
        }
        let full = (0, 0xFFFF);
        let all_zero = self.spts == full
            && self.dpts == full
            && self.option == 0
            && self.flg_mask == 0
            && self.flg_cmp == 0
            && !self.inv_sport
            && !self.inv_dport
            && !self.inv_flags
            && !self.inv_option;
        if self.option != 0 || self.inv_option || all_zero {
            return Ok(());
        }
        self.nft = true;
        if self.spts == full {
            self.inv_sport = false;
        }
        if self.dpts == full {
            self.inv_dport = false;
        }
        if self.flg_mask == 0 {
            self.flg_cmp = 0;
            self.inv_flags = false;
        }
        self.elided = self.spts == full
            && self.dpts == full
            && self.flg_mask == 0
            && !self.inv_sport
            && !self.inv_dport;
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
        if self.option != 0 || self.inv_option {
            if self.inv_option {
                out.push_str(" !");
            }
            out.push_str(&format!(" --tcp-option {}", self.option));
        }
        if self.flg_mask != 0 || self.inv_flags {
            if self.inv_flags {
                out.push_str(" !");
            }
            out.push_str(" --tcp-flags ");
            save_tcp_flags(out, self.flg_mask);
            out.push(' ');
            save_tcp_flags(out, self.flg_cmp);
        }
    }
    fn explain(&self, cx: &EvalCtx<'_>, _held: bool) -> Option<String> {
        if self.elided {
            return Some("nothing left to test (iptables-nft drops it): holds".into());
        }
        let L4View::Header(L4::Tcp(th)) = l4_view(cx.pkt, 20) else {
            return Some(super::l4_absent_reason(cx.pkt, 20, "TCP"));
        };
        let mut parts = super::port_reasons(
            (th.sport, th.dport),
            (self.spts, self.dpts),
            (self.inv_sport, self.inv_dport),
        );
        if self.flg_mask != 0 || self.inv_flags {
            use crate::packet::tcp_flags::tcpdump as tcp_flags;
            let got = th.flags & self.flg_mask;
            let eq = got == self.flg_cmp;
            parts.push(format!(
                "flags [{}] masked with [{}] = [{}] {} [{}]{}",
                tcp_flags(th.flags),
                tcp_flags(self.flg_mask),
                tcp_flags(got),
                if eq { "=" } else { "≠" },
                tcp_flags(self.flg_cmp),
                if self.inv_flags { " (negated)" } else { "" }
            ));
        }
        if self.option != 0 {
            parts.push(format!(
                "tcp option {} {}{}",
                self.option,
                if th.options.has_kind(self.option) {
                    "present"
                } else {
                    "absent"
                },
                if self.inv_option { " (negated)" } else { "" }
            ));
        }
        if parts.is_empty() {
            parts.push("a TCP packet".into());
        }
        Some(parts.join(", "))
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        if self.elided {
            return MatchResult::Yes;
        }
        // nft payload expressions break (no match) where xt_tcpudp hot-drops.
        let th = match l4_view(cx.pkt, 20) {
            // `tcp_mt`: `par->fragoff == 1` hot-drops ("evil TCP offset=1 frag"). IPv4's
            // `fragoff` counts 8-byte units (`ip_hdr(skb)->frag_off & IP_OFFSET`), IPv6's bytes
            // (`ipv6_find_hdr`: `ntohs(frag_off) & ~0x7`, for `ip6_packet_match` and
            // nf_tables' `pkt->fragoff` alike): an IPv6 fragment at byte 8 has `fragoff` 8, so
            // IPv6 never hot-drops here, the match just says no.
            L4View::Fragment(1) if !self.nft && cx.pkt.family == crate::packet::Family::V4 => {
                return MatchResult::HotDrop
            }
            L4View::Fragment(_) if self.nft => {
                return MatchResult::Unknown(super::NFT_LATER_FRAGMENT)
            }
            L4View::Fragment(_) => return MatchResult::No,
            L4View::Tinygram if self.nft => {
                return super::nft_short_header(
                    cx.pkt,
                    (self.spts, self.inv_sport),
                    (self.dpts, self.inv_dport),
                    (self.flg_mask, self.flg_cmp, self.inv_flags),
                    "TCP header cut off by the capture's snap length",
                )
            }
            L4View::Tinygram => return MatchResult::HotDrop,
            L4View::CutByCapture => {
                return MatchResult::Unknown("TCP header cut off by the capture's snap length")
            }
            L4View::Header(L4::Tcp(t)) => t,
            L4View::Header(_) => return MatchResult::No,
        };
        if !port_match(self.spts.0, self.spts.1, th.sport, self.inv_sport) {
            return MatchResult::No;
        }
        if !port_match(self.dpts.0, self.dpts.1, th.dport, self.inv_dport) {
            return MatchResult::No;
        }
        if ((th.flags & self.flg_mask) == self.flg_cmp) == self.inv_flags {
            return MatchResult::No;
        }
        if self.option != 0 {
            if th.doff < 5 {
                return MatchResult::HotDrop;
            }
            // TCPMSS may have added an MSS option in front of the others (kinds unchanged).
            if self.option == 2 && cx.skb.tcp_grown {
                return MatchResult::from_bool(!self.inv_option);
            }
            // The kernel's walk over the bytes (it goes on past an end-of-list and over
            // bad lengths); a packet built without its bytes has only the decoded kinds.
            let found = match find_option(cx.pkt, th.doff, self.option) {
                Ok(f) => f,
                Err(MatchResult::Unknown(_)) if cx.pkt.data.is_empty() && !th.options.malformed => {
                    th.options.has_kind(self.option)
                }
                Err(r) => return r,
            };
            if found == self.inv_option {
                return MatchResult::No;
            }
        }
        MatchResult::Yes
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
            tcp_flags: (self.flg_mask != 0 || self.inv_flags).then_some((
                self.flg_mask,
                self.flg_cmp,
                self.inv_flags,
            )),
            complete: self.option == 0,
            ..Facets::default()
        }
    }
    fn listing(&self, out: &mut String) {
        if self.elided {
            return;
        }
        out.push_str(" tcp");
        super::list_ports(out, "spt", self.spts, self.inv_sport);
        super::list_ports(out, "dpt", self.dpts, self.inv_dport);
        if self.flg_mask != 0 || self.inv_flags {
            let _ = write!(
                out,
                " flags:{}0x{:02X}/0x{:02X}",
                if self.inv_flags { "!" } else { "" },
                self.flg_mask,
                self.flg_cmp
            );
        }
        if self.option != 0 {
            let _ = write!(
                out,
                " option={}{}",
                if self.inv_option { "!" } else { "" },
                self.option
            );
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `tcp_find_option` over the packet's own option bytes, whatever their lengths say: a kind
/// below 2 is one byte, any other is skipped by its length byte (0 counts as 1). The walk never
/// needs the byte after the options: a length read there moves past the end whatever it is.
/// Options the packet does not hold hot-drop; options the capture cut off are unknown.
fn find_option(pkt: &crate::packet::Packet, doff: u8, option: u8) -> Result<bool, MatchResult> {
    let start = pkt.ip_hdr_len as usize + 20;
    let optlen = doff as usize * 4 - 20;
    if (pkt.ip_len as usize) < start + optlen {
        return Err(MatchResult::HotDrop);
    }
    let opts = pkt.data.get(start..).unwrap_or(&[]);
    let cut = || MatchResult::Unknown("TCP options cut off by the capture's snap length");
    let mut i = 0;
    while i < optlen {
        let kind = *opts.get(i).ok_or_else(cut)?;
        if kind == option {
            return Ok(true);
        }
        i += if kind < 2 || i + 1 >= optlen {
            1
        } else {
            match *opts.get(i + 1).ok_or_else(cut)? {
                0 => 1,
                l => l as usize,
            }
        };
    }
    Ok(false)
}
