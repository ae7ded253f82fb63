//! Match modules, one file each (`mark` also serves `connmark`). Every module mirrors
//! iptables' `libxt_NAME.c` (option parsing and save format) and the kernel's `xt_NAME.c`
//! (match semantics).

pub mod addrtype;
pub mod comment;
pub mod connbytes;
pub mod connlimit;
pub mod conntrack;
pub mod dscp;
pub(crate) mod ecn;
pub mod esp;
pub mod frag;
pub mod hashlimit;
pub mod helper;
pub mod icmp;
pub mod iprange;
pub mod ipv6header;
pub mod length;
pub mod limit;
pub(crate) mod mac;
pub mod mark;
pub mod multiport;
pub mod nfacct;
pub mod owner;
pub mod physdev;
pub mod pkttype;
pub mod policy;
pub mod quota;
pub mod recent;
pub mod rpfilter;
pub mod rt;
pub mod sctp;
pub mod set;
pub mod statistic;
pub mod string;
pub mod tcp;
pub(crate) mod tcpmss;
pub mod time;
pub mod tos;
pub mod ttl;
pub mod u32;
pub mod udp;

use crate::packet::{Packet, L4};

/// Why a `tcp`/`udp` match iptables-nft translated into payload expressions (ports, flags)
/// cannot be decided on a later fragment (the rules meet one without conntrack: IPv4 in
/// PREROUTING and FORWARD, IPv6 anywhere): the kernel's fast path (`nft_payload_fast_eval`)
/// loads the bytes at the transport offset without testing `pkt->fragoff` on kernels up to
/// 6.18 — the fragment's data for IPv4, the IPv6 header itself for IPv6, where that offset
/// is 0 — while kernels with netfilter's 2026 fix, like the slow path and `xt_tcpudp`, match
/// nothing. Kernel-checked on 6.18 (`tests/kernel_frag6.rs`).
pub(crate) const NFT_LATER_FRAGMENT: &str =
    "a later fragment meets a tcp/udp match iptables-nft compiled to payload loads: kernels up \
     to 6.18 read its data (IPv6: its IPv6 header) as the transport header, later kernels \
     match nothing; which kernel the host runs is not known";

/// What iptables-nft's payload loads read of a transport header shorter than the xt match
/// needs (`nft_payload_eval` fails, and the rule does not match, only past the packet's
/// end; xt_tcpudp hot-drops the whole short header): each load reads its own bytes — the
/// ports at 0 and 2, TCP's flags at 13. `sport`/`dport` are a match's port ranges and their
/// `!` (the full range, not negated, tests nothing), `flags` its mask, value and `!` (a zero
/// mask, not negated, tests nothing). Unknown where the capture cut off bytes the packet has
/// (kernel-checked: `tests/kernel_hunt_regressions.rs`).
pub(crate) fn nft_short_header(
    pkt: &Packet,
    sport: ((u16, u16), bool),
    dport: ((u16, u16), bool),
    flags: (u8, u8, bool),
    cut: &'static str,
) -> crate::ext::MatchResult {
    let Some(b) = pkt.data.get(pkt.ip_hdr_len as usize..pkt.ip_len as usize) else {
        return crate::ext::MatchResult::Unknown(cut);
    };
    let ports = |at: usize, ((lo, hi), inv): ((u16, u16), bool)| {
        ((lo, hi) == (0, 0xFFFF) && !inv)
            || b.get(at..at + 2)
                .is_some_and(|w| port_match(lo, hi, u16::from_be_bytes([w[0], w[1]]), inv))
    };
    let (mask, cmp, inv) = flags;
    let flags_ok = (mask == 0 && !inv) || b.get(13).is_some_and(|&f| ((f & mask) == cmp) != inv);
    crate::ext::MatchResult::from_bool(ports(0, sport) && ports(2, dport) && flags_ok)
}

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

/// The port facet of a `tcp`/`udp` port option (`None` for the full range, which tests nothing).
pub(crate) fn port_facet((lo, hi): (u16, u16), invert: bool) -> Option<crate::ext::PortSet> {
    ((lo, hi) != (0, 0xFFFF) || invert).then(|| crate::ext::PortSet::range(lo, hi, invert))
}

/// For `-L` listings: ` dpt:22`, ` spts:!1024:2048` (nothing for the full range).
pub(crate) fn list_ports(out: &mut String, what: &str, (lo, hi): (u16, u16), inv: bool) {
    use std::fmt::Write as _;
    if (lo, hi) == (0, 0xFFFF) && !inv {
        return;
    }
    let bang = if inv { "!" } else { "" };
    if lo == hi {
        let _ = write!(out, " {what}:{bang}{lo}");
    } else {
        let _ = write!(out, " {what}s:{bang}{lo}:{hi}");
    }
}

/// For `trace`: `dport 80 ≠ 22`, `sport 40000 ∈ 1024:65535` (the packet's value first).
fn port_reason(what: &str, port: u16, (lo, hi): (u16, u16), invert: bool) -> String {
    let inside = port >= lo && port <= hi;
    let set = if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}:{hi}")
    };
    let rel = match (lo == hi, inside) {
        (true, true) => "=",
        (true, false) => "≠",
        (false, true) => "∈",
        (false, false) => "∉",
    };
    let neg = if invert { " (negated)" } else { "" };
    format!("{what} {port} {rel} {set}{neg}")
}

/// For `trace`: the source and destination port tests of `xt_tcpudp` that a rule makes (a
/// range other than 0:65535, or a negation), each as [`port_reason`] words them.
pub(crate) fn port_reasons(
    (sport, dport): (u16, u16),
    (spts, dpts): ((u16, u16), (u16, u16)),
    (inv_sport, inv_dport): (bool, bool),
) -> Vec<String> {
    let mut parts = Vec::new();
    if spts != (0, 0xFFFF) || inv_sport {
        parts.push(port_reason("sport", sport, spts, inv_sport));
    }
    if dpts != (0, 0xFFFF) || inv_dport {
        parts.push(port_reason("dport", dport, dpts, inv_dport));
    }
    parts
}

/// For `trace`: why an L4 match saw no header (a later fragment, a cut or missing header).
pub(crate) fn l4_absent_reason(pkt: &Packet, need: u32, proto: &str) -> String {
    match l4_view(pkt, need) {
        L4View::Fragment(o) => format!(
            "a later fragment (offset {}): it has no {proto} header, the match fails",
            o as u32 * 8
        ),
        L4View::Tinygram => format!("the {proto} header is shorter than {need} bytes"),
        L4View::CutByCapture => format!("the {proto} header is cut off by the capture"),
        L4View::Header(_) => format!("not a {proto} packet"),
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
    crate::diag::Diagnostic::error(crate::diag::codes::MISSING_VALUE, cx.span.after(), msg)
        .expected(expected)
}

/// Two options of a module that exclude each other: error at the option token.
pub(crate) fn conflict(
    cx: &crate::ext::ParseCtx<'_>,
    msg: impl Into<String>,
    expected: impl Into<String>,
) -> crate::diag::Diagnostic {
    crate::diag::Diagnostic::error(crate::diag::codes::SYNTAX, cx.span, msg).expected(expected)
}

/// Evaluation tests through a real [`crate::ext::EvalCtx`].
#[cfg(test)]
mod eval_tests {
    use std::net::IpAddr;

    use crate::conntrack::Conntrack;
    use crate::diag::Span;
    use crate::ext::{EvalCtx, ExtState, SimEnv, Skb};
    use crate::ext::{Match, MatchResult, OptArg, ParseCtx};
    use crate::netfilter::{Family, Hook, TableKind};
    use crate::packet::{FragInfo, LinkInfo, Packet, Timestamp, UdpInfo, L4};

    /// A UDP packet with real header bytes.
    fn udp(src: &str, dst: &str, sport: u16, dport: u16) -> Packet {
        let (s, d): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        let mut data = vec![0u8; 28];
        data[0] = 0x45;
        data[3] = 28;
        data[8] = 64;
        data[9] = 17;
        if let (IpAddr::V4(a), IpAddr::V4(b)) = (s, d) {
            data[12..16].copy_from_slice(&a.octets());
            data[16..20].copy_from_slice(&b.octets());
        }
        data[20..22].copy_from_slice(&sport.to_be_bytes());
        data[22..24].copy_from_slice(&dport.to_be_bytes());
        Packet {
            frame: 1,
            ts: Timestamp(0),
            link: LinkInfo::default(),
            family: Family::V4,
            src: s,
            dst: d,
            proto: 17,
            ttl: 64,
            tos: 0,
            ip_len: 28,
            ip_hdr_len: 20,
            frag: FragInfo::default(),
            ip_checksum_ok: true,
            l4: L4::Udp(UdpInfo {
                sport,
                dport,
                length: 8,
                checksum: 0,
            }),
            l4_checksum_ok: None,
            payload_len: 0,
            data: data.into(),
            ..Packet::default()
        }
    }

    /// Build a module from `name` and `(option, invert, args)` as the parser would.
    fn build(name: &str, proto: Option<u8>, opts: &[(&str, bool, &[&str])]) -> Box<dyn Match> {
        let mut m = crate::ext::registry::new_match(name, Family::V4).expect("module");
        let mut warnings = Vec::new();
        for (o, inv, args) in opts {
            let spec = *m.options().iter().find(|s| s.name == *o).expect("option");
            let argv: Vec<OptArg<'_>> = args
                .iter()
                .map(|t| OptArg {
                    text: t,
                    span: Span::new(0, t.len()),
                })
                .collect();
            let mut cx = ParseCtx {
                family: Family::V4,
                backend: crate::ext::Backend::Nft,
                table: TableKind::Filter,
                chain: "INPUT",
                proto: proto.map(|p| (p, false)),
                span: Span::new(0, 1),
                warnings: &mut warnings,
                val: crate::ext::OptVal::None,
            };
            cx.val = crate::ext::convert(&spec, &argv, &mut cx).expect("value");
            m.parse(&spec, *inv, &argv, &mut cx).expect("parse");
        }
        let mut cx = ParseCtx {
            family: Family::V4,
            backend: crate::ext::Backend::Nft,
            table: TableKind::Filter,
            chain: "INPUT",
            proto: proto.map(|p| (p, false)),
            span: Span::new(0, 1),
            warnings: &mut warnings,
            val: crate::ext::OptVal::None,
        };
        m.finish(&mut cx).expect("finish");
        m
    }

    struct World {
        env: SimEnv,
        skb: Skb,
        ct: Conntrack,
        ext: ExtState,
    }

    impl World {
        fn new() -> World {
            let mut env = SimEnv::default();
            env.hosts.push("192.0.2.10".parse().unwrap());
            env.networks.push(("192.0.2.0".parse().unwrap(), 24));
            World {
                env,
                skb: Skb {
                    ttl: 64,
                    ..Skb::default()
                },
                ct: Conntrack::new(),
                ext: ExtState::default(),
            }
        }
        fn eval(&mut self, m: &dyn Match, p: &Packet, now: u64, slot: usize) -> MatchResult {
            let mut cx = EvalCtx {
                pkt: p,
                hook: Hook::Input,
                table: TableKind::Filter,
                indev: "eth0",
                outdev: "",
                env: &self.env,
                now,
                now_ns: now * 4_000_000,
                skb: &mut self.skb,
                conntrack: &mut self.ct,
                ext: &mut self.ext,
                slot,
            };
            m.eval(&mut cx)
        }
    }

    /// An SCTP packet 198.51.100.7 -> 192.0.2.10 with `chunks`, decoded from its first `cap`
    /// bytes (the capture's snap length).
    fn sctp_cut(dport: u16, chunks: &[&[u8]], cap: usize) -> Packet {
        let mut l4 = vec![0x0f, 0xa0];
        l4.extend_from_slice(&dport.to_be_bytes());
        l4.extend_from_slice(&[0; 8]);
        for c in chunks {
            l4.extend_from_slice(c);
        }
        let crc = crate::conntrack::sctp::crc32c(&l4);
        l4[8..12].copy_from_slice(&crc.to_le_bytes());
        let mut b = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 132, 0, 0];
        b[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
        b.extend_from_slice(&[198, 51, 100, 7, 192, 0, 2, 10]);
        b.extend_from_slice(&l4);
        let meta = crate::packet::decode::FrameMeta {
            frame: 1,
            ts: Timestamp(0),
            linktype: 101,
            interface: 0,
            wire_len: b.len() as u32,
        };
        let cap = cap.min(b.len());
        crate::packet::decode::decode_ip(&meta, LinkInfo::default(), &b[..cap], b.len(), None)
            .expect("decodes")
    }

    /// `-m sctp` never guesses past the capture: a header or a chunk the snap length cut off
    /// is uncertain, unless the walk decided before reaching it.
    #[test]
    fn sctp_cut_by_capture() {
        let mut w = World::new();
        let data: &[u8] = &[0, 3, 0, 8, 1, 2, 3, 4];
        let init: &[u8] = &[1, 0, 0, 4];
        let d1 = build("sctp", Some(132), &[("dport", false, &["1"])]);
        let any_init = build(
            "sctp",
            Some(132),
            &[("chunk-types", false, &["any", "INIT"])],
        );
        let any_data = build(
            "sctp",
            Some(132),
            &[("chunk-types", false, &["any", "DATA"])],
        );
        let d2_init = build(
            "sctp",
            Some(132),
            &[
                ("dport", false, &["2"]),
                ("chunk-types", false, &["any", "INIT"]),
            ],
        );
        let whole = sctp_cut(1, &[data, init], 100);
        assert_eq!(w.eval(&*d1, &whole, 0, 0), MatchResult::Yes);
        assert_eq!(w.eval(&*any_init, &whole, 0, 0), MatchResult::Yes);
        for cap in [22, 28] {
            let p = sctp_cut(1, &[data, init], cap);
            assert!(
                matches!(w.eval(&*d1, &p, 0, 0), MatchResult::Unknown(_)),
                "{cap}"
            );
        }
        let p = sctp_cut(1, &[data, init], 20 + 12 + 8);
        assert!(matches!(
            w.eval(&*any_init, &p, 0, 0),
            MatchResult::Unknown(_)
        ));
        assert_eq!(w.eval(&*any_data, &p, 0, 0), MatchResult::Yes);
        assert_eq!(w.eval(&*d2_init, &p, 0, 0), MatchResult::No);
    }

    #[test]
    fn stateless_modules() {
        let mut w = World::new();
        let p = udp("198.51.100.7", "192.0.2.255", 5353, 53);
        let yes = MatchResult::Yes;
        let no = MatchResult::No;
        let mp = build("multiport", Some(17), &[("dports", false, &["53,67:68"])]);
        assert_eq!(w.eval(&*mp, &p, 0, 0), yes);
        let mp = build("multiport", Some(17), &[("sports", true, &["5353"])]);
        assert_eq!(w.eval(&*mp, &p, 0, 0), no);
        let at = build("addrtype", None, &[("dst-type", false, &["BROADCAST"])]);
        assert_eq!(w.eval(&*at, &p, 0, 0), yes);
        let at = build("addrtype", None, &[("src-type", false, &["LOCAL"])]);
        assert_eq!(w.eval(&*at, &p, 0, 0), no);
        let pt = build("pkttype", None, &[("pkt-type", false, &["broadcast"])]);
        assert_eq!(w.eval(&*pt, &p, 0, 0), yes);
        let ir = build(
            "iprange",
            None,
            &[("src-range", false, &["198.51.100.1-198.51.100.9"])],
        );
        assert_eq!(w.eval(&*ir, &p, 0, 0), yes);
        let ln = build("length", None, &[("length", true, &["0:27"])]);
        assert_eq!(w.eval(&*ln, &p, 0, 0), yes);
        let u = build("u32", None, &[("u32", false, &["0>>22&0x3C@0&0xFFFF=53"])]);
        assert_eq!(w.eval(&*u, &p, 0, 0), yes);
        w.skb.mark = 0x12;
        let mk = build("mark", None, &[("mark", false, &["0x2/0xf"])]);
        assert_eq!(w.eval(&*mk, &p, 0, 0), yes);
        let ow = build("physdev", None, &[("physdev-is-bridged", true, &[])]);
        assert_eq!(w.eval(&*ow, &p, 0, 0), yes);
    }

    /// Each unit describes what it tests (its facets), so analyses and the classifier need no
    /// list of module names; and the port facets keep their contract: a port outside a
    /// non-negated facet means the match says No.
    #[test]
    fn facets_describe_each_unit() {
        use crate::ext::PortSet;
        let tcp = build(
            "tcp",
            Some(6),
            &[("dport", false, &["22"]), ("syn", false, &[])],
        );
        let f = tcp.facets();
        assert_eq!(f.dport, Some(PortSet::range(22, 22, false)));
        assert_eq!(f.tcp_flags, Some((0x17, 0x02, false)));
        assert!(f.complete && !f.pure && f.sport.is_none());
        let mp = build(
            "multiport",
            Some(17),
            &[("dports", false, &["53,1000:1010"])],
        );
        let f = mp.facets();
        assert_eq!(
            f.dport.map(|p| p.ranges),
            Some(vec![(53, 53), (1000, 1010)])
        );
        assert!(!f.complete);
        let ct = build("conntrack", None, &[("ctstate", false, &["NEW"])]);
        let f = ct.facets();
        assert!(f.reads_conntrack && f.pure && f.complete && f.ct_state.is_some());
        let lim = build("limit", None, &[("limit", false, &["1/s"])]);
        let f = lim.facets();
        assert!(!f.pure && !f.complete);
        let c = build("comment", None, &[("comment", false, &["x"])]);
        assert!(c.facets().pure && c.facets().complete);

        let mut w = World::new();
        let udp_m = build("udp", Some(17), &[("sport", false, &["53"])]);
        for m in [&udp_m, &mp] {
            for (sp, dp) in [(53, 1005), (53, 80), (99, 53), (99, 1000), (1, 2)] {
                let p = udp("198.51.100.7", "192.0.2.10", sp, dp);
                let f = m.facets();
                let outside = |set: &Option<PortSet>, v: u16| {
                    set.as_ref().is_some_and(|s| {
                        !s.invert && !s.ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&v))
                    })
                };
                if outside(&f.sport, sp) || outside(&f.dport, dp) {
                    assert_eq!(w.eval(&**m, &p, 0, 0), MatchResult::No, "{m:?} {sp} {dp}");
                }
            }
        }
    }

    #[test]
    fn stateful_modules() {
        let mut w = World::new();
        let p = udp("198.51.100.7", "192.0.2.10", 1000, 53);
        // limit 1/s burst 2 at HZ 250: two at once, the next a second later.
        let lim = build(
            "limit",
            None,
            &[("limit", false, &["1/s"]), ("limit-burst", false, &["2"])],
        );
        let r: Vec<MatchResult> = [0, 0, 0, 249, 250]
            .iter()
            .map(|t| w.eval(&*lim, &p, 1000 + t, 0))
            .collect();
        use MatchResult::{No, Yes};
        assert_eq!(r, vec![Yes, Yes, No, No, Yes]);
        // nth: every 3rd packet starting with the first.
        let nth = build(
            "statistic",
            None,
            &[
                ("mode", false, &["nth"]),
                ("every", false, &["3"]),
                ("packet", false, &["0"]),
            ],
        );
        let r: Vec<MatchResult> = (0..6).map(|_| w.eval(&*nth, &p, 0, 1)).collect();
        assert_eq!(r, vec![Yes, No, No, Yes, No, No]);
        // recent lists are shared by name across instances.
        let set = build(
            "recent",
            None,
            &[("set", false, &[]), ("name", false, &["L"])],
        );
        let chk = build(
            "recent",
            None,
            &[("rcheck", false, &[]), ("name", false, &["L"])],
        );
        // Loaded with the ruleset (`recent_mt_check`): a list no rule `--set`s is filled
        // from outside it (`/proc/net/xt_recent`), and its checks are unknown.
        assert!(matches!(w.eval(&*chk, &p, 9, 2), MatchResult::Unknown(_)));
        set.load(&mut w.ext);
        chk.load(&mut w.ext);
        assert_eq!(w.eval(&*chk, &p, 10, 2), No);
        assert_eq!(w.eval(&*set, &p, 10, 3), Yes);
        assert_eq!(w.eval(&*chk, &p, 11, 2), Yes);
        // hashlimit: per-source buckets.
        let hl = build(
            "hashlimit",
            None,
            &[
                ("hashlimit-upto", false, &["1/min"]),
                ("hashlimit-burst", false, &["1"]),
                ("hashlimit-mode", false, &["srcip"]),
                ("hashlimit-name", false, &["h"]),
            ],
        );
        assert_eq!(w.eval(&*hl, &p, 100, 4), Yes);
        assert_eq!(w.eval(&*hl, &p, 101, 4), No);
        let q = udp("198.51.100.8", "192.0.2.10", 1000, 53);
        assert_eq!(w.eval(&*hl, &q, 102, 4), Yes);
        // hashlimit rate match, 2/s + burst 1 per 1 s interval, entries expire after 1 s: an
        // expired entry may or may not have been collected, and the two states keep giving
        // different answers for the following packets until they agree again.
        let rm = build(
            "hashlimit",
            None,
            &[
                ("hashlimit-upto", false, &["2/sec"]),
                ("hashlimit-burst", false, &["1"]),
                ("hashlimit-mode", false, &["srcip"]),
                ("hashlimit-name", false, &["rm"]),
                ("hashlimit-rate-match", false, &[]),
            ],
        );
        let got: Vec<_> = (0..4).map(|_| w.eval(&*rm, &p, 1000, 5)).collect();
        assert_eq!(got, [Yes, Yes, Yes, No]);
        assert!(matches!(w.eval(&*rm, &p, 1260, 5), MatchResult::Unknown(_)));
        assert!(matches!(w.eval(&*rm, &p, 1270, 5), MatchResult::Unknown(_)));
        assert_eq!(w.eval(&*rm, &p, 1530, 5), Yes);
        assert_eq!(w.eval(&*rm, &p, 1531, 5), Yes);
    }
}
