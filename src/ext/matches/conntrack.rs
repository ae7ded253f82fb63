//! `-m conntrack` (libxt_conntrack.c rev 3 / xt_conntrack.c `conntrack_mt`) and `-m state`
//! (in iptables 1.8 an alias of conntrack, saved back as `-m state --state …`).

use std::any::Any;
use std::fmt::Write;

use super::port_match;
use crate::conntrack::{state, status, CtDir};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{
    parse_addr_mask, parse_addr_mask_text, parse_num, parse_num_part, parse_port_range_unordered,
    parse_protocol, split_list, sub_span, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx,
    E_VALUE,
};
use crate::netfilter::AddrMask;
use crate::packet::L4;

/// `XT_CONNTRACK_*` match flags.
mod flag {
    pub(crate) const STATE: u16 = 1 << 0;
    pub const PROTO: u16 = 1 << 1;
    pub(crate) const ORIGSRC: u16 = 1 << 2;
    pub(crate) const ORIGDST: u16 = 1 << 3;
    pub(crate) const REPLSRC: u16 = 1 << 4;
    pub(crate) const REPLDST: u16 = 1 << 5;
    pub(crate) const STATUS: u16 = 1 << 6;
    pub(crate) const EXPIRES: u16 = 1 << 7;
    pub(crate) const ORIGSRC_PORT: u16 = 1 << 8;
    pub(crate) const ORIGDST_PORT: u16 = 1 << 9;
    pub(crate) const REPLSRC_PORT: u16 = 1 << 10;
    pub(crate) const REPLDST_PORT: u16 = 1 << 11;
    pub(crate) const DIRECTION: u16 = 1 << 12;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conntrack {
    /// Printed as `-m state --state` (the alias) rather than `-m conntrack --ctstate`.
    pub(crate) alias: bool,
    pub(crate) match_flags: u16,
    pub(crate) invert_flags: u16,
    pub(crate) state_mask: u32,
    pub(crate) status_mask: u32,
    pub(crate) l4proto: u8,
    /// orig src, orig dst, repl src, repl dst.
    pub addrs: [Option<AddrMask>; 4],
    /// The same addresses as written, before the mask: libxt_conntrack stores them unmasked
    /// (`XTTYPE_HOSTMASK`) and prints them so (`--ctorigsrc 192.0.2.7/24` saves as written); the
    /// kernel masks both sides when it compares (`conntrack_addrcmp`), so only printing and
    /// rule identity (`-D`) see them.
    pub(crate) written: [Option<std::net::IpAddr>; 4],
    /// orig src, orig dst, repl src, repl dst port ranges.
    pub ports: [(u16, u16); 4],
    pub expires: (u32, u32),
}

pub fn new() -> Box<dyn Match> {
    Box::new(Conntrack::default_with(false))
}

pub(crate) fn new_state() -> Box<dyn Match> {
    Box::new(Conntrack::default_with(true))
}

impl Conntrack {
    fn default_with(alias: bool) -> Self {
        Conntrack {
            alias,
            match_flags: 0,
            invert_flags: 0,
            state_mask: 0,
            status_mask: 0,
            l4proto: 0,
            addrs: [None; 4],
            written: [None; 4],
            ports: [(0, 0); 4],
            expires: (0, 0),
        }
    }
}

const CTSTATE: u8 = 1;
const CTPROTO: u8 = 2;
const ORIGSRC: u8 = 3;
const ORIGDST: u8 = 4;
const REPLSRC: u8 = 5;
const REPLDST: u8 = 6;
const ORIGSRCPORT: u8 = 7;
const ORIGDSTPORT: u8 = 8;
const REPLSRCPORT: u8 = 9;
const REPLDSTPORT: u8 = 10;
const CTSTATUS: u8 = 11;
const CTEXPIRE: u8 = 12;
const CTDIR: u8 = 13;

static OPTS: &[OptSpec] = &[
    OptSpec::new("ctstate", CTSTATE, Arg::One).inv(),
    OptSpec::new("ctproto", CTPROTO, Arg::One).inv(),
    OptSpec::new("ctorigsrc", ORIGSRC, Arg::One).inv(),
    OptSpec::new("ctorigdst", ORIGDST, Arg::One).inv(),
    OptSpec::new("ctreplsrc", REPLSRC, Arg::One).inv(),
    OptSpec::new("ctrepldst", REPLDST, Arg::One).inv(),
    OptSpec::new("ctorigsrcport", ORIGSRCPORT, Arg::One).inv(),
    OptSpec::new("ctorigdstport", ORIGDSTPORT, Arg::One).inv(),
    OptSpec::new("ctreplsrcport", REPLSRCPORT, Arg::One).inv(),
    OptSpec::new("ctrepldstport", REPLDSTPORT, Arg::One).inv(),
    OptSpec::new("ctstatus", CTSTATUS, Arg::One).inv(),
    OptSpec::new("ctexpire", CTEXPIRE, Arg::One).inv(),
    OptSpec::new("ctdir", CTDIR, Arg::One),
];

static STATE_OPTS: &[OptSpec] = &[OptSpec::new("state", CTSTATE, Arg::One).inv()];

const STATE_NAMES: &[(&str, u32)] = &[
    ("INVALID", state::INVALID),
    ("NEW", state::NEW),
    ("RELATED", state::RELATED),
    ("ESTABLISHED", state::ESTABLISHED),
    ("UNTRACKED", state::UNTRACKED),
    ("SNAT", state::SNAT),
    ("DNAT", state::DNAT),
];

const STATUS_NAMES: &[(&str, u32)] = &[
    ("EXPECTED", status::EXPECTED),
    ("SEEN_REPLY", status::SEEN_REPLY),
    ("ASSURED", status::ASSURED),
    ("CONFIRMED", status::CONFIRMED),
];

fn parse_states(arg: &OptArg<'_>, alias: bool) -> Result<u32, Diagnostic> {
    let mut mask = 0;
    let names: &[(&str, u32)] = if alias {
        &STATE_NAMES[..5]
    } else {
        STATE_NAMES
    };
    for p in split_list(arg, ',') {
        match names.iter().find(|(n, _)| n.eq_ignore_ascii_case(p.text)) {
            Some((_, b)) => mask |= b,
            None => {
                let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                return Err(
                    Diagnostic::error(E_VALUE, p.span, format!("bad state `{}`", p.text))
                        .expected(format!("a comma-separated list of {}", list.join(", "))),
                );
            }
        }
    }
    Ok(mask)
}

fn parse_status(arg: &OptArg<'_>) -> Result<u32, Diagnostic> {
    let mut mask = 0;
    for p in split_list(arg, ',') {
        if p.text.eq_ignore_ascii_case("NONE") {
            continue;
        }
        match STATUS_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(p.text))
        {
            Some((_, b)) => mask |= b,
            None => {
                return Err(Diagnostic::error(
                    E_VALUE,
                    p.span,
                    format!("bad ctstatus `{}`", p.text),
                )
                .expected(
                    "a comma-separated list of NONE, EXPECTED, SEEN_REPLY, ASSURED, CONFIRMED",
                ))
            }
        }
    }
    Ok(mask)
}

/// libxt_conntrack's `conntrack_dump_addr` as iptables 1.8.9 saves it: the address as written
/// (`written`, else the masked one), then `/LEN` for a contiguous mask short of the host mask;
/// a non-contiguous mask is not printed at all (as for `-m policy`'s tunnel addresses).
fn fmt_addr_written(out: &mut String, a: &AddrMask, written: Option<std::net::IpAddr>) {
    let _ = write!(out, "{}", written.unwrap_or(a.addr()));
    let (mask, w) = match *a {
        AddrMask::V4 { mask, .. } => (u128::from(mask), 32u32),
        AddrMask::V6 { mask, .. } => (mask, 128),
    };
    let ones = mask.count_ones();
    if ones == w {
        return;
    }
    let full: u128 = if w == 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    };
    if ones == 0 || mask == (full << (w - ones)) & full {
        let _ = write!(out, "/{ones}");
    }
}

/// What a conntrack match reads of a packet's connection: the state bit, the direction, the
/// tuples and the status (`tracked`: the packet has a connection at all).
#[derive(Debug, Clone, Copy)]
struct View {
    statebit: u32,
    tracked: bool,
    dir: Option<CtDir>,
    tuple: [crate::conntrack::Tuple; 2],
    status: u32,
}

/// The unspecified address of `a`'s family.
fn unspecified(a: std::net::IpAddr) -> std::net::IpAddr {
    match a {
        std::net::IpAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
        std::net::IpAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    }
}

/// The tuple of no connection (read only when `tracked`).
const NO_TUPLE: crate::conntrack::Tuple = crate::conntrack::Tuple {
    src: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    dst: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    proto: 0,
    sport: 0,
    dport: 0,
    zone: 0,
};

impl View {
    fn of(cx: &EvalCtx<'_>) -> View {
        if cx.ct_template() {
            let zero = crate::conntrack::Tuple {
                src: unspecified(cx.pkt.dst),
                dst: unspecified(cx.pkt.dst),
                ..NO_TUPLE
            };
            return View {
                statebit: crate::conntrack::state::NEW,
                tracked: true,
                dir: Some(CtDir::Original),
                tuple: [zero; 2],
                status: status::CONFIRMED | status::TEMPLATE,
            };
        }
        let e = cx.ct();
        View {
            statebit: cx.skb.ct.state_bit(),
            tracked: e.is_some(),
            dir: cx.ct_dir(),
            tuple: e.map_or([NO_TUPLE; 2], |e| e.tuple),
            status: e.map_or(0, |e| e.status),
        }
    }
}

/// How the packet looks in the worlds where the kernel tracked its connection before the
/// capture began (ESTABLISHED, with a reply seen), when the packet says it may have: the
/// first captured segment of a TCP connection whose SYN the capture did not show (either
/// direction); within its timeout of the capture's start (`Skb::may_predate`), the first
/// datagram of a UDP flow that looks like an answer (from a port below 1024 to one above,
/// unicast) and an ICMP query reply with no request in the capture (INVALID here: "reply
/// without request") — both the reply direction there —, and an echo request numbered past a
/// ping's first (the original direction). `None` when the packet's state is the same in every
/// world.
fn tracked_worlds(cx: &EvalCtx<'_>, seen: &View) -> Option<[Option<View>; 2]> {
    // A packet that may be INVALID in the kernel has a confirmed connection here: its other
    // world is weighed by the traversal (`Skb::checksum_doubt`).
    if cx.skb.checksum_doubt.is_some() {
        return None;
    }
    // A later packet of a connection from a neighbour the host solicits and that has not
    // answered (`Skb::neigh_wait`): a reply of the host's may wait in the neighbour's queue,
    // unseen, its conntrack hook passed (`nf_conntrack_in`: IPS_SEEN_REPLY), so the kernel
    // finds it ESTABLISHED.
    if cx.skb.neigh_wait
        && seen.dir == Some(CtDir::Original)
        && seen.status & status::SEEN_REPLY == 0
    {
        if let Some(e) = cx.ct().filter(|e| e.is_confirmed()) {
            return Some([
                Some(View {
                    statebit: state::ESTABLISHED,
                    tracked: true,
                    dir: Some(CtDir::Original),
                    tuple: e.tuple,
                    status: seen.status | status::SEEN_REPLY,
                }),
                None,
            ]);
        }
    }
    if cx.env.conntrack_empty_at_start {
        return None;
    }
    let tracked = |reversed: bool, tuple: [crate::conntrack::Tuple; 2]| View {
        statebit: state::ESTABLISHED,
        tracked: true,
        dir: Some(if reversed {
            CtDir::Reply
        } else {
            CtDir::Original
        }),
        tuple: if reversed {
            [tuple[1], tuple[0]]
        } else {
            tuple
        },
        status: seen.status | status::SEEN_REPLY | status::ASSURED,
    };
    let both = |t| Some([Some(tracked(false, t)), Some(tracked(true, t))]);
    match cx.ct() {
        Some(e) if e.is_confirmed() => None,
        Some(e) => {
            if e.tcp().is_some_and(|t| t.picked_up_mid_stream()) {
                if cx.conntrack.syn_seen(&e.tuple[0]) {
                    return None;
                }
                // `--conntrack-start tracked`: ESTABLISHED already (`conntrack_in`); only
                // which side opened the connection is unknown.
                if cx.env.conntrack_tracked_at_start {
                    return Some([Some(tracked(true, seen.tuple)), None]);
                }
                return both(seen.tuple);
            }
            if !cx.skb.may_predate || e.status & status::EXPECTED != 0 {
                return None;
            }
            // A datagram from a service port to an ephemeral one looks like an answer: its
            // request may have left before the capture. (A flow that does not look like one is
            // taken to start with the capture, as a TCP connection with its SYN is.)
            let answer = match &cx.pkt.l4 {
                L4::Udp(u) => u.sport < 1024 && u.dport >= 1024,
                _ => false,
            };
            let unicast = match cx.pkt.dst {
                std::net::IpAddr::V4(a) => !a.is_multicast() && !a.is_broadcast(),
                std::net::IpAddr::V6(a) => !a.is_multicast(),
            };
            // An echo request numbered past a `ping`'s first (Linux counts from 1, BusyBox
            // from 0) continues a ping that may have begun before the capture: its connection
            // replied to, ESTABLISHED in the original direction.
            let continues_ping = match &cx.pkt.l4 {
                L4::Icmp(i) => i.icmp_type == 8 && i.inner.is_none() && i.seq > 1,
                L4::Icmpv6(i) => i.icmp_type == 128 && i.inner.is_none() && i.seq > 1,
                _ => false,
            };
            match e.proto {
                crate::conntrack::ProtoState::Udp { .. } if answer && unicast => {
                    Some([Some(tracked(true, seen.tuple)), None])
                }
                _ if continues_ping && unicast => Some([Some(tracked(false, seen.tuple)), None]),
                _ => None,
            }
        }
        None => {
            // An ICMP query reply without its request: the request may have left before the
            // capture began, its connection waiting for this reply.
            // (The raw table comes before conntrack: nothing is attached there in any world.)
            if !cx.skb.may_predate
                || cx.skb.ct != crate::conntrack::Attach::None
                || cx.table == crate::netfilter::TableKind::Raw
            {
                return None;
            }
            let (req, rep, id, code) = match &cx.pkt.l4 {
                L4::Icmp(i) if i.inner.is_none() => match i.icmp_type {
                    0 => (8, 0, i.id, i.code),
                    14 | 16 | 18 => (i.icmp_type - 1, i.icmp_type, i.id, i.code),
                    _ => return None,
                },
                L4::Icmpv6(i) if i.inner.is_none() => match i.icmp_type {
                    129 | 140 => (i.icmp_type - 1, i.icmp_type, i.id, i.code),
                    _ => return None,
                },
                _ => return None,
            };
            let reply = crate::conntrack::Tuple {
                src: cx.pkt.src,
                dst: cx.pkt.dst,
                proto: cx.pkt.proto,
                sport: id,
                dport: (rep as u16) << 8 | code as u16,
                zone: cx.skb.zone,
            };
            let orig = crate::conntrack::Tuple {
                src: cx.pkt.dst,
                dst: cx.pkt.src,
                dport: (req as u16) << 8,
                ..reply
            };
            Some([Some(tracked(true, [orig, reply])), None])
        }
    }
}

impl Conntrack {
    fn eval_view(&self, cx: &EvalCtx<'_>, v: &View) -> MatchResult {
        let inv = |f: u16| self.invert_flags & f != 0;
        let has = |f: u16| self.match_flags & f != 0;
        let mut statebit = v.statebit;
        if has(flag::STATE) {
            if v.tracked {
                statebit |= state::nat(v.status);
            }
            if ((self.state_mask & statebit) != 0) == inv(flag::STATE) {
                return MatchResult::No;
            }
        }
        if !v.tracked {
            return MatchResult::from_bool(has(flag::STATE));
        }
        if has(flag::DIRECTION) {
            let orig = v.dir == Some(CtDir::Original);
            if orig == inv(flag::DIRECTION) {
                return MatchResult::No;
            }
        }
        let fl = [flag::ORIGSRC, flag::ORIGDST, flag::REPLSRC, flag::REPLDST];
        for (i, f) in fl.iter().enumerate() {
            if has(*f) {
                let t = &v.tuple[i / 2];
                let addr = if i % 2 == 0 { t.src } else { t.dst };
                let hit = self.addrs[i].is_some_and(|a| a.contains(addr));
                if hit == inv(*f) {
                    return MatchResult::No;
                }
            }
        }
        if has(flag::PROTO) && (v.tuple[0].proto == self.l4proto) == inv(flag::PROTO) {
            return MatchResult::No;
        }
        let pfl = [
            flag::ORIGSRC_PORT,
            flag::ORIGDST_PORT,
            flag::REPLSRC_PORT,
            flag::REPLDST_PORT,
        ];
        for (i, f) in pfl.iter().enumerate() {
            if has(*f) {
                let t = &v.tuple[i / 2];
                let port = if i % 2 == 0 { t.sport } else { t.dport };
                if !port_match(self.ports[i].0, self.ports[i].1, port, inv(*f)) {
                    return MatchResult::No;
                }
            }
        }
        if has(flag::STATUS) && ((self.status_mask & v.status) != 0) == inv(flag::STATUS) {
            return MatchResult::No;
        }
        if has(flag::EXPIRES) {
            let id = match cx.skb.ct {
                crate::conntrack::Attach::Ct { id, .. } => id,
                // A template's timeout is 0: `nf_ct_expires` reads 0.
                _ if cx.ct_template() => {
                    return MatchResult::from_bool((self.expires.0 == 0) != inv(flag::EXPIRES))
                }
                _ => return MatchResult::No,
            };
            // `nf_ct_expires`: `max((s32)(ct->timeout - nfct_time_stamp), 0)`. A connection
            // not yet confirmed (its first packet) holds its timeout relative, so the kernel
            // subtracts its 32-bit jiffies counter from a duration: 0 while that counter is
            // past the timeout and less than 2^31 beyond it (a kernel lab: every first packet
            // read 0), a huge value for most of the other half of its range — which, the
            // capture does not tell.
            if cx.conntrack.get(id).is_some_and(|e| !e.is_confirmed()) {
                return MatchResult::Unknown(
                    "--ctexpire of a connection's first packet: its timeout minus the kernel's \
                     32-bit jiffies counter, which the capture does not tell",
                );
            }
            let hz = cx.env.hz.max(1) as u64;
            let inside = |left: u64| {
                let secs = left / hz;
                secs >= self.expires.0 as u64 && secs <= self.expires.1 as u64
            };
            let fits = inside(cx.conntrack.remaining(id, cx.now));
            // One tick more or fewer may have passed since the timeout was set, as the
            // kernel's tick phase has it (a kernel lab: 29 or 28 s left for gaps of one
            // second and a fraction of a jiffy).
            if cx
                .conntrack
                .remaining_other(id, cx.now)
                .is_some_and(|other| inside(other) != fits)
            {
                return MatchResult::Unknown(
                    "--ctexpire: the connection's time left is within one jiffy of a whole \
                     second, and whether the kernel's clock ticked once more since its timeout \
                     was set is not in the capture",
                );
            }
            if fits == inv(flag::EXPIRES) {
                return MatchResult::No;
            }
        }
        MatchResult::Yes
    }
}

impl Match for Conntrack {
    fn name(&self) -> &'static str {
        if self.alias {
            "state"
        } else {
            "conntrack"
        }
    }
    fn options(&self) -> &'static [OptSpec] {
        if self.alias {
            STATE_OPTS
        } else {
            OPTS
        }
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        let a = &args[0];
        let f = match opt.id {
            CTSTATE => {
                self.state_mask = parse_states(a, self.alias)?;
                flag::STATE
            }
            CTPROTO => {
                // iptables 1.8.9 accepts `--ctproto 0` (it never matches) and its negation.
                let p = parse_protocol(a)?;
                self.l4proto = p;
                flag::PROTO
            }
            ORIGSRC | ORIGDST | REPLSRC | REPLDST => {
                let i = (opt.id - ORIGSRC) as usize;
                let am = parse_addr_mask(a, cx.family)?;
                let host = a.text.split('/').next().unwrap_or(a.text);
                self.written[i] = Some(
                    parse_addr_mask_text(host, a.span, cx.family).map_or(am.addr(), |h| h.addr()),
                );
                self.addrs[i] = Some(am);
                [flag::ORIGSRC, flag::ORIGDST, flag::REPLSRC, flag::REPLDST][i]
            }
            ORIGSRCPORT | ORIGDSTPORT | REPLSRCPORT | REPLDSTPORT => {
                let i = (opt.id - ORIGSRCPORT) as usize;
                self.ports[i] = parse_port_range_unordered(a, "tcp")?;
                [
                    flag::ORIGSRC_PORT,
                    flag::ORIGDST_PORT,
                    flag::REPLSRC_PORT,
                    flag::REPLDST_PORT,
                ][i]
            }
            CTSTATUS => {
                self.status_mask = parse_status(a)?;
                flag::STATUS
            }
            CTEXPIRE => {
                let t = a.text;
                let (lo, hi) = match t.find(':') {
                    Some(i) => (
                        parse_num_part(
                            &t[..i],
                            sub_span(a, 0, i),
                            0,
                            u32::MAX as u64,
                            "expire time",
                        )?,
                        parse_num_part(
                            &t[i + 1..],
                            sub_span(a, i + 1, t.len()),
                            0,
                            u32::MAX as u64,
                            "expire time",
                        )?,
                    ),
                    None => {
                        let v = parse_num(a, 0, u32::MAX as u64, "expire time")?;
                        (v, v)
                    }
                };
                // iptables 1.8.9 accepts a reversed range (it never matches).
                self.expires = (lo as u32, hi as u32);
                flag::EXPIRES
            }
            CTDIR => {
                if a.text.eq_ignore_ascii_case("ORIGINAL") {
                    self.invert_flags &= !flag::DIRECTION;
                } else if a.text.eq_ignore_ascii_case("REPLY") {
                    self.invert_flags |= flag::DIRECTION;
                } else {
                    return Err(Diagnostic::error(
                        E_VALUE,
                        a.span,
                        format!("bad --ctdir `{}`", a.text),
                    )
                    .expected("ORIGINAL or REPLY"));
                }
                self.match_flags |= flag::DIRECTION;
                return Ok(());
            }
            _ => return Ok(()),
        };
        self.match_flags |= f;
        if invert {
            self.invert_flags |= f;
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.match_flags == 0 {
            let what = if self.alias {
                "--state"
            } else {
                "an option such as --ctstate"
            };
            return Err(Diagnostic::error(
                crate::diag::codes::MISSING_VALUE,
                cx.span.after(),
                format!("-m {} needs {what}", self.name()),
            )
            .expected(what.to_string()));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let inv = |out: &mut String, f: u16| {
            if self.invert_flags & f != 0 {
                out.push_str(" !");
            }
        };
        if self.match_flags & flag::STATE != 0 {
            inv(out, flag::STATE);
            out.push_str(if self.alias { " --state" } else { " --ctstate" });
            let mut sep = ' ';
            for (n, b) in STATE_NAMES {
                if self.state_mask & b != 0 {
                    out.push(sep);
                    out.push_str(n);
                    sep = ',';
                }
            }
        }
        if self.match_flags & flag::PROTO != 0 {
            inv(out, flag::PROTO);
            let _ = write!(out, " --ctproto {}", self.l4proto);
        }
        let names = ["ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst"];
        let fl = [flag::ORIGSRC, flag::ORIGDST, flag::REPLSRC, flag::REPLDST];
        for i in 0..4 {
            if self.match_flags & fl[i] != 0 {
                inv(out, fl[i]);
                let _ = write!(out, " --{} ", names[i]);
                if let Some(a) = &self.addrs[i] {
                    fmt_addr_written(out, a, self.written[i]);
                }
            }
        }
        let pnames = [
            "ctorigsrcport",
            "ctorigdstport",
            "ctreplsrcport",
            "ctrepldstport",
        ];
        let pfl = [
            flag::ORIGSRC_PORT,
            flag::ORIGDST_PORT,
            flag::REPLSRC_PORT,
            flag::REPLDST_PORT,
        ];
        for i in 0..4 {
            if self.match_flags & pfl[i] != 0 {
                inv(out, pfl[i]);
                let _ = write!(out, " --{} ", pnames[i]);
                crate::ext::fmt_port_range(out, self.ports[i]);
            }
        }
        if self.match_flags & flag::STATUS != 0 {
            inv(out, flag::STATUS);
            out.push_str(" --ctstatus");
            let mut sep = ' ';
            for (n, b) in STATUS_NAMES {
                if self.status_mask & b != 0 {
                    out.push(sep);
                    out.push_str(n);
                    sep = ',';
                }
            }
            if self.status_mask == 0 {
                out.push_str(" NONE");
            }
        }
        if self.match_flags & flag::EXPIRES != 0 {
            inv(out, flag::EXPIRES);
            if self.expires.0 == self.expires.1 {
                let _ = write!(out, " --ctexpire {}", self.expires.0);
            } else {
                let _ = write!(out, " --ctexpire {}:{}", self.expires.0, self.expires.1);
            }
        }
        if self.match_flags & flag::DIRECTION != 0 {
            if self.invert_flags & flag::DIRECTION != 0 {
                out.push_str(" --ctdir REPLY");
            } else {
                out.push_str(" --ctdir ORIGINAL");
            }
        }
    }
    fn explain(&self, cx: &EvalCtx<'_>, held: bool) -> Option<String> {
        if self.match_flags & flag::STATE == 0 {
            return None;
        }
        let names = |m: u32| {
            let all = [
                (state::INVALID, "INVALID"),
                (state::NEW, "NEW"),
                (state::ESTABLISHED, "ESTABLISHED"),
                (state::RELATED, "RELATED"),
                (state::UNTRACKED, "UNTRACKED"),
                (state::SNAT, "SNAT"),
                (state::DNAT, "DNAT"),
            ];
            all.iter()
                .filter(|(b, _)| m & b != 0)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
        };
        let mut bit = if cx.ct_template() {
            state::NEW
        } else {
            cx.skb.ct.state_bit()
        };
        if let Some(e) = cx.ct() {
            bit |= state::nat(e.status);
        }
        let inside = self.state_mask & bit != 0;
        let inv = self.invert_flags & flag::STATE != 0;
        let word = if self.alias { "state" } else { "ctstate" };
        let mut s = format!(
            "{word} {} {} {{{}}}{}",
            names(bit).join(","),
            if inside { "∈" } else { "∉" },
            names(self.state_mask).join(","),
            if inv { " (negated)" } else { "" }
        );
        if held && self.match_flags & !flag::STATE != 0 {
            s.push_str("; the other conntrack conditions held too");
        } else if !held && inside != inv {
            s.push_str("; another conntrack condition failed");
        }
        Some(s)
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let seen = View::of(cx);
        // A connection the capture shows from its middle may be one the kernel tracked before
        // the capture began (unless `--conntrack-start empty` says it held nothing): then this
        // packet is ESTABLISHED.
        if let Some(worlds) = tracked_worlds(cx, &seen) {
            let picked = self.eval_view(cx, &seen);
            // An earlier conntrack match of this packet already found the worlds apart:
            // the traversal goes on in the picked-up one.
            if cx.skb.pickup_world {
                return picked;
            }
            if worlds
                .iter()
                .flatten()
                .any(|w| self.eval_view(cx, w) != picked)
            {
                let why = if cx.skb.neigh_wait {
                    crate::ext::NEIGH_DOUBT
                } else {
                    crate::ext::PICKUP_DOUBT
                };
                return cx.skb.worlds_apart(picked, why);
            }
            return picked;
        }
        self.eval_view(cx, &seen)
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
    fn facets(&self) -> Facets {
        // Only a pure state test is described completely.
        let state_only = self.match_flags == flag::STATE;
        Facets {
            ct_state: state_only.then_some((self.state_mask, self.invert_flags & flag::STATE != 0)),
            reads_conntrack: true,
            complete: state_only,
            pure: true,
            ..Facets::default()
        }
    }
    fn listing(&self, out: &mut String) {
        let mut s = String::new();
        self.save(&mut s);
        // `--ctstate X` → `ctstate X`, `--state X` → `state X`; other options as saved.
        let s = s
            .replace(" --ctstate ", " ctstate ")
            .replace(" --state ", " state ");
        out.push_str(&s);
    }
    /// `--ctexpire` reads the connection's time left.
    fn reads_clock(&self) -> bool {
        self.match_flags & flag::EXPIRES != 0
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
