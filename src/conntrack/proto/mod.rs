//! The layer-4 trackers as units, after the kernel's `struct nf_conntrack_l4proto`
//! (`include/net/netfilter/nf_conntrack_l4proto.h`) and its registry `nf_ct_l4proto_find`
//! (`net/netfilter/nf_conntrack_proto.c`).
//!
//! Each protocol is one [`L4Tracker`] in its own file, mirroring its
//! `net/netfilter/nf_conntrack_proto_*.c`: the checks that make a packet INVALID before any
//! entry is touched ([`L4Tracker::error`]), the protocol part of the tuple
//! ([`L4Tracker::pkt_to_tuple`], [`L4Tracker::invert_tuple`], [`L4Tracker::quoted_tuple`]), the
//! state a new entry starts with ([`L4Tracker::new_state`]), the per-packet step
//! ([`L4Tracker::packet`], `nf_conntrack_*_packet`) and the timeouts the protocol owns
//! ([`L4Tracker::timeouts`]: short name, sysctl, kernel default, one line of doc). The
//! protocol-independent part (`nf_conntrack_in`, `resolve_normal_ct`) is in
//! `super::track`; [`tracker`] maps a protocol number to its unit.
//!
//! Every timeout table is listed once in `TIMEOUT_TABLES`; [`super::Timeouts`] (the values,
//! an array), its names for `--ct-timeout`, its sysctls and its defaults all derive from it.
//! A tracker reads its timeouts through [`TimeoutSlot`] constants resolved at compile time.
//!
//! The trackers rely on what the packet decoder guarantees: `L4::Tcp` only for TCP, `L4::Udp`
//! only for UDP, `L4::Icmp` only for ICMP over IPv4, `L4::Icmpv6` only for ICMPv6 over IPv6,
//! `L4::Ports` only for SCTP, DCCP and UDP-Lite.

use super::track::{CtHook, CtOutcome, Template};
use super::{Conntrack, CtDir, CtId, Params, ProtoState, Tuple};
use crate::packet::{proto, InnerPacket, Packet};

pub mod generic;
pub(crate) mod gre;
pub mod icmp;
pub mod icmpv6;
pub mod sctp;
pub mod tcp;
pub mod udp;
pub(crate) mod udplite;

/// What a tracker sees of the packet and where it is: the arguments `nf_conntrack_in` hands
/// down (`struct nf_hook_state`, the template, the sysctls).
#[derive(Debug, Clone, Copy)]
pub struct Cx<'a> {
    pub pkt: &'a Packet,
    pub hook: CtHook,
    pub(crate) tmpl: Template,
    pub p: &'a Params,
    /// Jiffies.
    pub now: u64,
}

/// The entry a packet belongs to, as `nf_conntrack_handle_packet` passes it on.
#[derive(Debug, Clone, Copy)]
pub struct EntryCx {
    pub id: CtId,
    pub dir: CtDir,
    /// The entry was created for this packet (not confirmed yet).
    pub(crate) is_new: bool,
    /// The entry's status bits before this packet.
    pub status: u32,
}

/// What a tracker's per-packet step decided (`nf_conntrack_*_packet`'s return value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4Verdict {
    /// `NF_ACCEPT`: the packet belongs to the connection.
    Accept,
    /// `-NF_ACCEPT`: INVALID, with the reason the kernel would log.
    Invalid(&'static str),
    /// The capture cut off bytes the kernel reads: INVALID here, but uncertain.
    Uncertain(&'static str),
    /// `-NF_REPEAT`: the tracker removed the entry (a TCP reopen); look the packet up again.
    Repeat,
}

/// One layer-4 protocol's connection tracking (`struct nf_conntrack_l4proto`).
pub trait L4Tracker: Sync {
    /// The tracker's name, as the kernel's source files call it (`tcp`, `generic`, …).
    fn name(&self) -> &'static str;

    /// The timeouts this protocol owns, in the kernel's order (its `*_timeouts[]` array); empty
    /// when it uses another protocol's (UDP-Lite uses UDP's).
    fn timeouts(&self) -> &'static [TimeoutDef] {
        &[]
    }

    /// The protocol's error checks, before the tuple is taken and any entry is touched
    /// (`nf_conntrack_*_error`, `nf_conntrack_handle_icmp`). `Some` ends conntrack for the
    /// packet with that outcome (INVALID, uncertain, RELATED for an ICMP error, UNTRACKED).
    fn error(&self, _ct: &mut Conntrack, _cx: &Cx<'_>) -> Option<CtOutcome> {
        None
    }

    /// The protocol part of the packet's tuple (`->pkt_to_tuple`, ports by default): `t`
    /// holds the addresses, protocol and zone with both ports 0.
    fn pkt_to_tuple(&self, pkt: &Packet, t: &mut Tuple) -> Result<(), CtOutcome>;

    /// The protocol part of the tuple of a packet quoted in an ICMP error
    /// (`nf_ct_get_tuplepr`); `false` when the quote lacks it. By default: none (ports 0).
    fn quoted_tuple(&self, _inner: &InnerPacket, _t: &mut Tuple) -> bool {
        true
    }

    /// `nf_ct_invert_tuple`: the reply tuple; `None` when the protocol cannot invert it.
    /// By default the ports (or keys) swap with the addresses.
    fn invert_tuple(&self, t: &Tuple) -> Option<Tuple> {
        Some(swapped(t))
    }

    /// The tracker state of an entry created for `cx.pkt` (`init_conntrack`'s
    /// `nf_ct_ext_add`/`->new` part; what `tcp_new` checks is in [`L4Tracker::packet`]).
    fn new_state(&self, _cx: &Cx<'_>) -> ProtoState {
        ProtoState::Generic
    }

    /// `nf_conntrack_*_packet`: the packet against its entry — state, refresh, ASSURED, or a
    /// verdict that makes it INVALID.
    fn packet(&self, ct: &mut Conntrack, cx: &Cx<'_>, e: EntryCx) -> L4Verdict;
}

/// `nf_ct_l4proto_find`: the tracker of a layer-4 protocol number. DCCP and every protocol
/// without a tracker of its own get the generic one.
#[inline]
pub fn tracker(l4proto: u8) -> &'static dyn L4Tracker {
    match l4proto {
        proto::TCP => &tcp::TCP,
        proto::UDP => &udp::UDP,
        proto::UDPLITE => &udplite::UDPLITE,
        proto::ICMP => &icmp::ICMP,
        proto::ICMPV6 => &icmpv6::ICMPV6,
        proto::SCTP => &sctp::SCTP,
        proto::GRE => &gre::GRE,
        _ => &generic::GENERIC,
    }
}

/// Every tracker [`tracker`] can return.
pub fn trackers() -> [&'static dyn L4Tracker; 8] {
    [
        &tcp::TCP,
        &udp::UDP,
        &udplite::UDPLITE,
        &icmp::ICMP,
        &icmpv6::ICMPV6,
        &sctp::SCTP,
        &gre::GRE,
        &generic::GENERIC,
    ]
}

/// The tuple with source and destination swapped, ports (or keys) included.
pub(crate) fn swapped(t: &Tuple) -> Tuple {
    Tuple {
        src: t.dst,
        dst: t.src,
        proto: t.proto,
        sport: t.dport,
        dport: t.sport,
        zone: t.zone,
    }
}

/// `nf_ct_invert_tuple`; `None` when the protocol cannot invert it (unmapped ICMP types).
#[inline]
pub fn invert(t: &Tuple) -> Option<Tuple> {
    tracker(t.proto).invert_tuple(t)
}

/// At PREROUTING with `nf_conntrack_checksum` on, the transport checksum is bad
/// (`nf_checksum`).
/// The per-packet step of the trackers without a state machine or a stream delay (GRE,
/// UDP-Lite): the `replied` timeout and ASSURED once a reply was seen, else `unreplied`.
pub(crate) fn refresh_by_reply(
    ct: &mut Conntrack,
    cx: &Cx<'_>,
    e: EntryCx,
    replied: TimeoutSlot,
    unreplied: TimeoutSlot,
) -> L4Verdict {
    let hz = cx.p.hz as u64;
    if e.status & super::status::SEEN_REPLY != 0 {
        ct.refresh_acct(
            e.id,
            e.dir,
            cx.pkt.ip_len,
            cx.p.timeouts.get(replied) * hz,
            cx.now,
        );
        if let Some(entry) = ct.get_mut(e.id) {
            entry.status |= super::status::ASSURED;
        }
    } else {
        ct.refresh_acct(
            e.id,
            e.dir,
            cx.pkt.ip_len,
            cx.p.timeouts.get(unreplied) * hz,
            cx.now,
        );
    }
    L4Verdict::Accept
}

pub(crate) fn checksum_bad(cx: &Cx<'_>) -> bool {
    cx.hook == CtHook::PreRouting && cx.p.checksum && cx.pkt.l4_checksum_bad(cx.p.checksums)
}

/// The tuple of a protocol with ports (TCP, UDP, UDP-Lite, SCTP): the decoded ports, or
/// INVALID / uncertain when the header is not all there.
pub(crate) fn ports_to_tuple(pkt: &Packet, t: &mut Tuple) -> Result<(), CtOutcome> {
    match pkt.ports() {
        Some((s, d)) => {
            t.sport = s;
            t.dport = d;
            Ok(())
        }
        None => Err(header_short(pkt, 4)),
    }
}

/// The quoted ports of a protocol with ports.
pub(crate) fn quoted_ports(inner: &InnerPacket, t: &mut Tuple) -> bool {
    match inner.ports {
        Some((s, d)) => {
            t.sport = s;
            t.dport = d;
            true
        }
        None => false,
    }
}

/// No tuple: the transport header (`need` bytes of it) is cut off by the capture, or shorter
/// than that in the packet itself.
pub(crate) fn header_short(pkt: &Packet, need: u32) -> CtOutcome {
    use super::track::{invalid, uncertain};
    // (A first fragment may hold less than the header — a fragment the IPv6 stack's
    // reassembly refuses — whatever its IP length: INVALID, as the capture shows it.)
    if pkt.anomalies.has(crate::packet::Anomalies::CAP_TRUNCATED)
        && pkt.ip_len >= pkt.ip_hdr_len as u32 + need
    {
        uncertain("transport header cut off by the capture")
    } else {
        invalid("transport header too short for a tuple")
    }
}

/// One timeout a tracker owns: a `net.netfilter.nf_conntrack_*timeout*` sysctl (or, for
/// fragment reassembly in front of conntrack, its `ipfrag_time`/`frag6_timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutDef {
    /// The name `--ct-timeout` takes: the sysctl's without `nf_conntrack_` and `_timeout`
    /// (`udp_stream`, `tcp_time_wait`).
    pub name: &'static str,
    /// The sysctl key (`net.netfilter.nf_conntrack_udp_timeout_stream`).
    pub sysctl: &'static str,
    /// The kernel's default, in seconds.
    pub default: u64,
    /// What the timeout applies to, in one line.
    pub doc: &'static str,
}

/// Fragment reassembly in front of conntrack (`nf_defrag_ipv4`, `nf_defrag_ipv6`): not a
/// tracker, but its timeouts are set like theirs.
pub(crate) const DEFRAG_TIMEOUTS: &[TimeoutDef] = &[
    TimeoutDef {
        name: "frag4",
        sysctl: "net.ipv4.ipfrag_time",
        default: 30,
        doc: "an incomplete IPv4 fragment queue, from its first fragment (`ip_defrag`)",
    },
    TimeoutDef {
        name: "frag6",
        sysctl: "net.netfilter.nf_conntrack_frag6_timeout",
        default: 60,
        doc: "an incomplete IPv6 fragment queue, from its first fragment (`nf_ct_frag6_gather`)",
    },
];

/// Every timeout table, in the order `--ct-timeout` and the README list them. A table appears
/// once even when several trackers use it (UDP-Lite uses UDP's).
pub(crate) const TIMEOUT_TABLES: [&[TimeoutDef]; 8] = [
    tcp::TIMEOUTS,
    udp::TIMEOUTS,
    icmp::TIMEOUTS,
    icmpv6::TIMEOUTS,
    generic::TIMEOUTS,
    gre::TIMEOUTS,
    sctp::TIMEOUTS,
    DEFRAG_TIMEOUTS,
];

/// Number of timeouts in all tables.
pub(crate) const TIMEOUT_COUNT: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < TIMEOUT_TABLES.len() {
        n += TIMEOUT_TABLES[i].len();
        i += 1;
    }
    n
};

/// Every timeout, in [`TIMEOUT_TABLES`] order: the index of one is its [`TimeoutSlot`].
pub(crate) static TIMEOUT_DEFS: [TimeoutDef; TIMEOUT_COUNT] = {
    let blank = TimeoutDef {
        name: "",
        sysctl: "",
        default: 0,
        doc: "",
    };
    let mut all = [blank; TIMEOUT_COUNT];
    let mut k = 0;
    let mut i = 0;
    while i < TIMEOUT_TABLES.len() {
        let mut j = 0;
        while j < TIMEOUT_TABLES[i].len() {
            all[k] = TIMEOUT_TABLES[i][j];
            // Names are unique: `--ct-timeout NAME` and [`TimeoutSlot::named`] find one.
            let mut m = 0;
            while m < k {
                assert!(
                    !str_eq(all[m].name, all[k].name),
                    "two conntrack timeouts with one name"
                );
                m += 1;
            }
            k += 1;
            j += 1;
        }
        i += 1;
    }
    all
};

/// The kernel's defaults, in slot order.
pub(crate) const TIMEOUT_DEFAULTS: [u64; TIMEOUT_COUNT] = {
    let mut d = [0; TIMEOUT_COUNT];
    let mut k = 0;
    let mut i = 0;
    while i < TIMEOUT_TABLES.len() {
        let mut j = 0;
        while j < TIMEOUT_TABLES[i].len() {
            d[k] = TIMEOUT_TABLES[i][j].default;
            k += 1;
            j += 1;
        }
        i += 1;
    }
    d
};

/// Where a timeout's value is in [`super::Timeouts`]: resolved from its name at compile time,
/// so reading a timeout on the per-packet path is an array access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutSlot(usize);

impl TimeoutSlot {
    /// The slot of the timeout called `name` in `TIMEOUT_TABLES`; for constants (an unknown
    /// name fails the build).
    pub const fn named(name: &str) -> TimeoutSlot {
        let mut k = 0;
        let mut i = 0;
        while i < TIMEOUT_TABLES.len() {
            let mut j = 0;
            while j < TIMEOUT_TABLES[i].len() {
                if str_eq(TIMEOUT_TABLES[i][j].name, name) {
                    return TimeoutSlot(k);
                }
                k += 1;
                j += 1;
            }
            i += 1;
        }
        panic!("no conntrack timeout of that name in TIMEOUT_TABLES")
    }

    /// The slot's index in `TIMEOUT_DEFS`.
    pub const fn index(self) -> usize {
        self.0
    }

    /// The timeout's name, sysctl, default and doc.
    pub fn def(self) -> &'static TimeoutDef {
        &TIMEOUT_DEFS[self.0]
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry and the timeout tables agree: every table a tracker owns is listed once in
    /// `TIMEOUT_TABLES`, and every table there but fragment reassembly's has its tracker.
    #[test]
    fn every_tracker_table_is_listed_once() {
        let same = |a: &[TimeoutDef], b: &[TimeoutDef]| std::ptr::eq(a, b);
        let owned: Vec<&[TimeoutDef]> = trackers()
            .iter()
            .map(|t| t.timeouts())
            .filter(|t| !t.is_empty())
            .collect();
        for t in &owned {
            let n = TIMEOUT_TABLES.iter().filter(|x| same(x, t)).count();
            assert_eq!(n, 1, "{:?}", t[0].name);
        }
        for x in TIMEOUT_TABLES {
            let n = owned.iter().filter(|t| same(x, t)).count();
            let want = usize::from(!same(x, DEFRAG_TIMEOUTS));
            assert_eq!(n, want, "{:?}", x[0].name);
        }
        assert_eq!(TIMEOUT_COUNT, TIMEOUT_DEFS.len());
        assert_eq!(TimeoutSlot::named("frag6").index(), TIMEOUT_COUNT - 1);
        assert_eq!(TimeoutSlot::named("udp_stream").def().default, 120);
    }

    /// The registry gives each protocol the tracker of its name.
    #[test]
    fn registry_maps_protocols_to_their_units() {
        let name = |p| tracker(p).name();
        assert_eq!(name(proto::TCP), "tcp");
        assert_eq!(name(proto::UDP), "udp");
        assert_eq!(name(proto::UDPLITE), "udplite");
        assert_eq!(name(proto::ICMP), "icmp");
        assert_eq!(name(proto::ICMPV6), "icmpv6");
        assert_eq!(name(proto::SCTP), "sctp");
        assert_eq!(name(proto::GRE), "gre");
        assert_eq!(name(proto::DCCP), "generic");
        assert_eq!(name(proto::IPV6_NONXT), "generic");
        for t in trackers() {
            let n = (0..=255u8)
                .filter(|&p| tracker(p).name() == t.name())
                .count();
            assert!(n >= 1, "{}", t.name());
        }
        let names: Vec<&str> = trackers().iter().map(|t| t.name()).collect();
        for p in 0..=255u8 {
            assert!(names.contains(&tracker(p).name()), "{p}");
        }
    }

    /// `nf_ct_invert_tuple` per protocol: ports and GRE keys swap, the generic tracker (DCCP
    /// included) has none, ICMP and ICMPv6 queries become their replies with the id kept, and
    /// a type without a reply type cannot be inverted.
    #[test]
    fn reply_tuples_per_protocol() {
        let t = |proto: u8, sport: u16, dport: u16| Tuple {
            src: "192.0.2.1".parse().unwrap(),
            dst: "203.0.113.10".parse().unwrap(),
            proto,
            sport,
            dport,
            zone: 3,
        };
        let parts = |r: Option<Tuple>| r.map(|r| (r.src.to_string(), r.sport, r.dport, r.zone));
        let src = || "203.0.113.10".to_string();
        for p in [
            proto::TCP,
            proto::UDP,
            proto::UDPLITE,
            proto::SCTP,
            proto::GRE,
        ] {
            assert_eq!(parts(invert(&t(p, 1, 2))), Some((src(), 2, 1, 3)), "{p}");
        }
        assert_eq!(parts(invert(&t(proto::DCCP, 1, 2))), Some((src(), 0, 0, 3)));
        assert_eq!(
            parts(invert(&t(proto::ICMP, 7, 8 << 8))),
            Some((src(), 7, 0, 3))
        );
        assert_eq!(invert(&t(proto::ICMP, 7, 3 << 8 | 1)), None);
        assert_eq!(
            parts(invert(&t(proto::ICMPV6, 7, 128 << 8))),
            Some((src(), 7, 129 << 8, 3))
        );
        assert_eq!(invert(&t(proto::ICMPV6, 7, 1 << 8)), None);
    }
}
