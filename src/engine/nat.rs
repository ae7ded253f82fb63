//! NAT bindings (`nf_nat_setup_info`, `get_unique_tuple`) and packet rewriting
//! (`nf_nat_packet`): the first packet of a connection picks the translated tuple, which becomes
//! the connection's reply tuple; every later packet is rewritten from the tuples.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Engine;
use crate::conntrack::{invert, status, Conntrack, CtDir, CtId, ProtoState, Tuple};
use crate::ext::{NatKind, NatSpec};
use crate::packet::{Packet, L4};
use crate::ruleset::model::Hook;

/// Which half of a tuple a hook translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Manip {
    Src,
    Dst,
}

impl Manip {
    /// `HOOK2MANIP`: destination NAT before routing (PREROUTING, OUTPUT), source NAT after.
    pub fn of(hook: Hook) -> Manip {
        match hook {
            Hook::Prerouting | Hook::Output => Manip::Dst,
            _ => Manip::Src,
        }
    }
    pub(crate) fn done_bit(self) -> u32 {
        match self {
            Manip::Src => status::SRC_NAT_DONE,
            Manip::Dst => status::DST_NAT_DONE,
        }
    }
    fn nat_bit(self) -> u32 {
        match self {
            Manip::Src => status::SRC_NAT,
            Manip::Dst => status::DST_NAT,
        }
    }
}

fn has_ports(p: u8) -> bool {
    matches!(p, 6 | 17 | 33 | 132 | 136)
}

/// An ICMP or ICMPv6 query's tuple (echo, timestamp, information, node information…): its
/// id, in `sport`, is what NAT keeps unique.
fn is_icmp_query(t: &Tuple) -> bool {
    let ty = t.icmp_type();
    match t.proto {
        1 => matches!(ty, 8 | 13 | 15 | 17 | 0 | 14 | 16 | 18),
        58 => matches!(ty, 128 | 129 | 139 | 140),
        _ => false,
    }
}

fn addr_count(lo: IpAddr, hi: IpAddr) -> u128 {
    match (lo, hi) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(b).saturating_sub(u32::from(a)) as u128 + 1,
        (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(b)
            .saturating_sub(u128::from(a))
            .saturating_add(1),
        _ => 1,
    }
}

/// `NF_NAT_MAX_ATTEMPTS`: ports `nf_nat_l4proto_unique_tuple` tries in a row.
const NF_NAT_MAX_ATTEMPTS: u32 = 128;

/// `NF_NAT_HARDER_THRESH`: the last tries of a round that may evict a closing connection
/// ([`evictable`]).
const NF_NAT_HARDER_THRESH: u32 = NF_NAT_MAX_ATTEMPTS / 4;

/// `nf_nat_used_tuple_harder`: the connection the kernel evicts to give a taken tuple `t` to
/// `me`, in the last [`NF_NAT_HARDER_THRESH`] tries of a port search. `me` must be a TCP
/// connection in SYN_SENT; the one holding `t`'s reply as its own reply tuple must be closing
/// (TIME_WAIT, CLOSE or SYN_SENT2: `nf_nat_may_kill`, a state past TIME_WAIT), source-NATed,
/// and behind `me` in sequence (`nf_seq_has_advanced`: `me`'s first segment ends after the
/// last the old connection's originator sent, so the reply direction's late segments of the
/// old one are out of window for the new).
fn evictable(ct: &Conntrack, t: &Tuple, me: CtId, now: u64) -> Option<CtId> {
    use crate::conntrack::tcp::TcpState;
    if t.proto != 6 {
        return None;
    }
    let (other, dir) = ct.find_dir(&invert(t)?)?;
    if other == me || dir != CtDir::Reply {
        return None;
    }
    let (o, m) = (ct.get(other)?, ct.get(me)?);
    if crate::conntrack::time_after_eq(now, o.timeout) || o.status & status::SRC_NAT == 0 {
        return None;
    }
    let (ot, mt) = (o.tcp()?, m.tcp()?);
    let advanced = (mt.seen[0].td_end.wrapping_sub(ot.seen[0].td_end) as i32) > 0;
    (mt.state == TcpState::SynSent && ot.state >= TcpState::TimeWait && advanced).then_some(other)
}

/// Whether the connection holding tuple `t`'s reply (what makes `t` taken) has a state that
/// depends on an earlier uncertain verdict: the kernel may not hold it.
fn holder_in_doubt(engine: &Engine<'_>, t: &Tuple) -> bool {
    let Some((holder, _)) = invert(t).and_then(|r| engine.conntrack.find_dir(&r)) else {
        return false;
    };
    engine.conntrack.get(holder).is_some_and(|e| {
        e.tuple
            .iter()
            .any(|x| engine.taint.tuple_cause(x).is_some())
    })
}

/// `nf_nat_used_tuple`: would connection `me` with original tuple `t` collide with another?
/// Its reply (the inverted tuple) is looked up in the table (`nf_conntrack_tuple_taken`, one
/// hash lookup): taken if a live confirmed connection other than `me` has it in either
/// direction — unless that connection's original tuple is `me`'s (the same flow, a clash the
/// confirmation resolves).
fn tuple_taken(ct: &Conntrack, t: &Tuple, me: CtId, now: u64) -> bool {
    let Some(reply) = invert(t) else { return false };
    let Some(other) = ct.find(&reply).filter(|&id| id != me) else {
        return false;
    };
    let (Some(o), mine) = (ct.get(other), ct.get(me)) else {
        return false;
    };
    if crate::conntrack::time_after_eq(now, o.timeout) {
        return false;
    }
    mine.is_none_or(|m| m.tuple[0] != o.tuple[0])
}

/// Set up the binding for connection `id` from the NAT target's request. Errors name what the
/// kernel would choose unpredictably (random ports, hash-chosen addresses); the first candidate
/// is used then. `dev` is the device MASQUERADE takes its address from (the output one) or
/// REDIRECT in PREROUTING (the input one).
#[allow(clippy::too_many_arguments)]
pub fn setup(
    engine: &mut Engine<'_>,
    id: CtId,
    spec: NatSpec,
    manip: Manip,
    hook: Hook,
    pkt: &Packet,
    dev: &str,
    now: u64,
) -> Result<(), &'static str> {
    let Some(e) = engine.conntrack.get(id) else {
        return Ok(());
    };
    let Some(curr) = invert(&e.tuple[1]) else {
        return Ok(());
    };
    let e_orig = e.tuple[0];
    engine.nat_pick = None;
    let mut new = curr;
    let mut uncertain: Option<&'static str> = None;
    // An address the kernel chose from a range (`find_best_ips_proto`'s hash), and a doubt
    // the router's outgoing copy cannot settle.
    let mut addr_range: Option<(IpAddr, IpAddr)> = None;
    let mut other_doubt = false;
    let v4 = curr.src.is_ipv4();
    let host_addr =
        |engine: &Engine<'_>| engine.env.hosts.iter().copied().find(|h| h.is_ipv4() == v4);
    // MASQUERADE: an address of the output device (`inet_select_addr`, IPv6 source address
    // selection), one in the destination's subnet first; REDIRECT: the input device's first
    // (`in_dev->ifa_list`). Without the host's interfaces, the first host address.
    let dev_addr = |engine: &Engine<'_>, toward: IpAddr| {
        engine
            .env
            .host
            .addr_on(dev, toward)
            .or_else(|| host_addr(engine))
    };
    // Address.
    let addr: Option<IpAddr> = match spec.kind {
        NatKind::Masquerade => dev_addr(engine, curr.dst),
        NatKind::Redirect => {
            if hook == Hook::Output {
                Some(if v4 {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                } else {
                    IpAddr::V6(Ipv6Addr::LOCALHOST)
                })
            } else {
                dev_addr(engine, curr.src)
            }
        }
        NatKind::Netmap { .. } => {
            let (prefix, mask) = spec.addr.ok_or("NETMAP without a prefix")?;
            let old = if manip == Manip::Src {
                curr.src
            } else {
                curr.dst
            };
            Some(crate::ext::netmap_addr(old, prefix, mask))
        }
        NatKind::Snat | NatKind::Dnat => match spec.addr {
            None => None,
            Some((lo, hi)) => {
                if addr_count(lo, hi) > 1 {
                    uncertain = Some("address chosen by hash from a range");
                    addr_range = Some((lo, hi));
                }
                Some(lo)
            }
        },
    };
    if let Some(a) = addr {
        match manip {
            Manip::Src => new.src = a,
            Manip::Dst => new.dst = a,
        }
    }
    // Where the kernel's choice is random, every flow between the peer and the translated
    // address may be this connection (its copy and replies carry the kernel's port).
    let random_port = |engine: &mut Engine<'_>, new: &Tuple, why: &str| {
        let (peer, natted) = match manip {
            Manip::Src => ((new.dst, new.dport), new.src),
            Manip::Dst => ((new.src, new.sport), new.dst),
        };
        engine
            .taint
            .mark_any_port(new.proto, peer, natted, pkt.frame, why);
    };
    // nf_nat_l4proto_unique_tuple for ICMP queries: the echo id stands for the port; kept
    // when no other connection holds the tuple, else chosen at random (from 0 up for DNAT).
    // A source port or id the kernel chose at random, and the range it chose from: the
    // router's outgoing copy shows it (`Engine::settle_pick`).
    let mut picked: Option<(u16, u16)> = None;
    if is_icmp_query(&curr) && tuple_taken(&engine.conntrack, &new, id, now) {
        let why = "ICMP id chosen at random by the kernel (another connection holds this one)";
        uncertain.get_or_insert(why);
        random_port(engine, &new, why);
        // nf_nat_l4proto_unique_tuple: ids 0 to 65535 unless a range is given. The stand-in
        // is the first free one (a taken one would clash with its holder here).
        let (lo, hi) = spec.ports.unwrap_or((0, u16::MAX));
        picked = Some((lo, hi));
        let mut cand = new;
        for i in (lo..=hi).take(NF_NAT_MAX_ATTEMPTS as usize) {
            cand.sport = i;
            if !tuple_taken(&engine.conntrack, &cand, id, now) {
                new = cand;
                break;
            }
        }
    }
    // Port: keep it when in range and unique; DNAT otherwise walks up from the range start;
    // SNAT starts at a random offset.
    if has_ports(curr.proto) {
        let port = &match manip {
            Manip::Src => new.sport,
            Manip::Dst => new.dport,
        };
        // get_unique_tuple: keep the port when it is in the range (a one-port range always)
        // and unused; without a range DNAT keeps it and SNAT keeps it when unused.
        let keep = !spec.random
            && match spec.ports {
                Some((lo, hi)) => {
                    *port >= lo
                        && *port <= hi
                        && (lo == hi || !tuple_taken(&engine.conntrack, &new, id, now))
                }
                None => manip == Manip::Dst || !tuple_taken(&engine.conntrack, &new, id, now),
            };
        // A port fwcheck keeps may be bound in the kernel by a connection whose first packet
        // fwcheck dropped with an uncertain verdict: the kernel would then choose another.
        if keep
            && manip == Manip::Src
            && engine
                .taint
                .port_in_doubt(new.proto, new.dst, new.dport, new.sport)
        {
            other_doubt = true;
            uncertain.get_or_insert(
                "the kernel may hold this port for an earlier connection whose verdict was \
                 uncertain, and then choose another",
            );
        }
        // nf_nat_l4proto_unique_tuple's range without --to-ports: the port's class.
        let (lo, hi) = spec.ports.unwrap_or(match *port {
            0..512 => (1, 511),
            512..1024 => (600, 1023),
            _ => (1024, 65535),
        });
        // From an address the kernel chose, the port is kept or chosen in the range.
        if addr_range.is_some() {
            picked = Some(if keep {
                (lo.min(*port), hi.max(*port))
            } else {
                (lo, hi)
            });
        }
        if !keep {
            let size = u32::from(hi - lo) + 1;
            let cand_of = |p: u16| {
                let mut c = new;
                match manip {
                    Manip::Src => c.sport = p,
                    Manip::Dst => c.dport = p,
                }
                c
            };
            if (manip == Manip::Src || spec.random) && size <= NF_NAT_MAX_ATTEMPTS {
                // nf_nat_l4proto_unique_tuple from a random offset: one round tries every
                // port of the range, the last NF_NAT_HARDER_THRESH of them evicting a closing
                // connection (all of them in a range that small). The offset decides only
                // between several usable ports.
                let harder = size <= NF_NAT_HARDER_THRESH;
                let (mut usable, mut may_evict) = (Vec::new(), false);
                for p in lo..=hi {
                    let c = cand_of(p);
                    if !tuple_taken(&engine.conntrack, &c, id, now) {
                        usable.push((c, None));
                    } else if let Some(old) = evictable(&engine.conntrack, &c, id, now) {
                        may_evict = true;
                        if harder {
                            usable.push((c, Some(old)));
                        }
                    }
                }
                // Which ports the kernel finds usable rests on fwcheck's table: a port held
                // by a connection whose state depends on an earlier guess, or one the kernel
                // may hold for a connection fwcheck dropped on an uncertain verdict, leaves
                // the choice to the kernel's offset.
                let exact = !(lo..=hi).any(|p| {
                    let c = cand_of(p);
                    holder_in_doubt(engine, &c)
                        || (manip == Manip::Src
                            && engine.taint.port_in_doubt(c.proto, c.dst, c.dport, c.sport))
                });
                match usable[..] {
                    // The one port the kernel can take, whatever the offset.
                    [(c, old)] if exact && (harder || !may_evict) => {
                        new = c;
                        if let Some(old) = old {
                            engine.conntrack.kill(old);
                            engine.conntrack.release(old);
                        }
                    }
                    // Every port taken, none evictable: the tuple the last try left clashes,
                    // and TCP's confirmation drops the packet whichever port it was.
                    [] if exact && curr.proto == 6 && !may_evict => new = cand_of(lo),
                    _ => {
                        new = usable.first().map_or(cand_of(lo), |u| u.0);
                        let why = "port chosen at random by the kernel";
                        uncertain.get_or_insert(why);
                        random_port(engine, &new, why);
                        picked = Some((lo, hi));
                    }
                }
            } else {
                if manip == Manip::Src || spec.random {
                    let why = "port chosen at random by the kernel";
                    uncertain.get_or_insert(why);
                    random_port(engine, &new, why);
                    picked = Some((lo, hi));
                }
                // nf_nat_l4proto_unique_tuple: at most NF_NAT_MAX_ATTEMPTS (128) ports in a
                // row (from the range start for DNAT; SNAT starts at a random one), the last
                // NF_NAT_HARDER_THRESH of them evicting a closing connection, then fewer at
                // random offsets: past the first 128 the choice is the kernel's luck. Where
                // the kernel starts at random, fwcheck's stand-in walk starts at an offset of
                // the tuple's hash (a walk from the range start would pack every stand-in at
                // its low end, and find none free after 128 connections), and evicts nothing.
                let random_start = manip == Manip::Src || spec.random;
                let attempts = size.min(NF_NAT_MAX_ATTEMPTS);
                let mix = |salt: u64| {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    (curr, salt).hash(&mut h);
                    (h.finish() % u64::from(size)) as u32
                };
                let off = if random_start { mix(0) } else { 0 };
                let port_at = |off: u32, i: u32| lo + ((off + i) % size) as u16;
                let mut tries = 0;
                loop {
                    let cand = cand_of(port_at(off, tries));
                    tries += 1;
                    let old = (!random_start && attempts + 1 - tries <= NF_NAT_HARDER_THRESH)
                        .then(|| evictable(&engine.conntrack, &cand, id, now))
                        .flatten();
                    if !tuple_taken(&engine.conntrack, &cand, id, now)
                        || old.is_some()
                        || tries >= size
                    {
                        new = cand;
                        if let Some(old) = old {
                            engine.conntrack.kill(old);
                            engine.conntrack.release(old);
                        }
                        break;
                    }
                    if tries >= NF_NAT_MAX_ATTEMPTS {
                        // The kernel goes on at random offsets and most likely finds a free
                        // port where one is left: the stand-in is the first free one of up to
                        // 128 from another offset (a taken one clashes, below, if none is).
                        let off = mix(1);
                        new = (0..attempts)
                            .map(|i| cand_of(port_at(off, i)))
                            .find(|c| !tuple_taken(&engine.conntrack, c, id, now))
                            .unwrap_or(cand);
                        let why = "no free port among the kernel's first 128 tries: it goes on at \
                                   random ports";
                        uncertain.get_or_insert(why);
                        random_port(engine, &new, why);
                        break;
                    }
                }
            }
        }
    }
    let _ = pkt;
    if new != curr {
        if let Some(r) = invert(&new) {
            engine.conntrack.set_reply(id, r);
            engine.conntrack.get_mut(id).expect("entry").status |= manip.nat_bit();
        }
    }
    // A source the kernel chose (a random port or ICMP id, an address from a range), and no
    // other doubt: the router's outgoing copy shows the choice.
    if addr_range.is_some() && picked.is_none() && is_icmp_query(&curr) {
        picked = Some(spec.ports.unwrap_or((0, u16::MAX)));
    }
    engine.nat_pick = match picked {
        Some((lo, hi))
            if manip == Manip::Src
                && !other_doubt
                && (has_ports(curr.proto) || is_icmp_query(&curr)) =>
        {
            Some(super::answers::Pick {
                frame: pkt.frame,
                ct: id,
                orig: e_orig,
                lo,
                hi,
                addrs: addr_range.unwrap_or((new.src, new.src)),
            })
        }
        _ => None,
    };
    match uncertain {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// The outgoing copy of pick `pick`'s packet showed the kernel's choice, `addr` and `port` (a
/// source port, or an ICMP query's id): the connection's reply tuple takes it, and the doubt the
/// pick raised is settled. Not where fwcheck's table would not let the kernel have chosen it
/// (another connection holds that tuple, or the connection is gone): whether it was.
pub(crate) fn settle_pick(
    engine: &mut Engine<'_>,
    pick: super::answers::Pick,
    (addr, port): (IpAddr, u16),
    now: u64,
) -> bool {
    let Some(e) = engine
        .conntrack
        .get(pick.ct)
        .filter(|e| e.tuple[0] == pick.orig)
    else {
        return false;
    };
    let Some(mut new) = invert(&e.tuple[1]) else {
        return false;
    };
    new.src = addr;
    new.sport = port;
    if tuple_taken(&engine.conntrack, &new, pick.ct, now) {
        return false;
    }
    let Some(r) = invert(&new) else { return false };
    engine.conntrack.set_reply(pick.ct, r);
    engine.taint.settle(pick.frame)
}

/// `nf_nat_follow_master`, from `init_conntrack` for the connection `id` an expectation of a
/// NATed master created: its source becomes the address the master sends to (`MAP_IPS`: the
/// port kept where unique), its destination the master's other end and the port the helper
/// saved; both bindings are done, so the nat table never sees the connection.
pub(crate) fn follow_master(
    engine: &mut Engine<'_>,
    id: CtId,
    f: crate::conntrack::FollowNat,
    pkt: &Packet,
    now: u64,
) -> Result<(), &'static str> {
    let spec = |kind, addr, ports| NatSpec {
        kind,
        addr: Some((addr, addr)),
        ports,
        base_port: None,
        random: false,
        persistent: false,
    };
    let src = setup(
        engine,
        id,
        spec(NatKind::Snat, f.src, None),
        Manip::Src,
        Hook::Postrouting,
        pkt,
        "",
        now,
    );
    let dst = setup(
        engine,
        id,
        spec(NatKind::Dnat, f.dst, Some((f.port, f.port))),
        Manip::Dst,
        Hook::Prerouting,
        pkt,
        "",
        now,
    );
    if let Some(e) = engine.conntrack.get_mut(id) {
        e.status |= status::SRC_NAT_DONE | status::DST_NAT_DONE;
    }
    src.and(dst)
}

/// The packet quoted by an ICMP error the host sends about connection `id` (the error in
/// direction `dir`), as it leaves: `nf_nat_icmp_reply_translation` at OUTPUT (the DST manip's
/// hook: the quoted source) and at POSTROUTING (the SRC manip's: the quoted destination) turns
/// it back into the packet as the other side saw it, where the connection is NATed that way.
/// (The outer header is [`manip_packet`]'s, as for any packet of the connection.)
pub(crate) fn quoted_as_sent(
    ct: &Conntrack,
    id: CtId,
    dir: CtDir,
    quoted: (IpAddr, IpAddr, u8, Option<(u16, u16)>),
) -> (IpAddr, IpAddr, u8, Option<(u16, u16)>) {
    let Some(e) = ct.get(id) else { return quoted };
    let t = e.tuple[if dir == CtDir::Original { 1 } else { 0 }];
    let (mut src, mut dst, proto, mut ports) = quoted;
    for manip in [Manip::Dst, Manip::Src] {
        let mut bit = manip.nat_bit();
        if dir == CtDir::Reply {
            bit ^= status::SRC_NAT | status::DST_NAT;
        }
        if e.status & bit == 0 {
            continue;
        }
        // `nf_nat_ipv4_manip_pkt(…, &ct->tuplehash[!dir].tuple, !manip)` on the quoted header.
        match manip {
            Manip::Dst => {
                src = t.src;
                ports = ports.map(|(_, d)| (t.sport, d));
            }
            Manip::Src => {
                dst = t.dst;
                ports = ports.map(|(s, _)| (s, t.dport));
            }
        }
    }
    (src, dst, proto, ports)
}

/// `nf_nat_packet`: rewrite the packet's addresses/ports for this hook's manipulation.
/// `nf_nat_icmp_reply_translation` for an ICMP error about connection `id` (`dir`: the
/// error's direction): when this manipulation applies to it, the quoted packet is translated
/// too (`nf_nat_ipv4_manip_pkt` on the inner header), which needs the quoted transport header
/// whole — 8 bytes for TCP (`tcp_manip_pkt` takes 8 when fewer than 20 are there), UDP,
/// UDP-Lite, ICMP and ICMPv6 — or it fails and the error is dropped (kernel hunt: a port
/// unreachable quoting 4 bytes of a MASQUERADEd datagram's header). `Some(short)` when the
/// translation fails, `short` the bytes quoted.
pub(crate) fn quote_too_short(
    ct: &Conntrack,
    id: CtId,
    dir: CtDir,
    manip: Manip,
    pkt: &Packet,
) -> Option<u16> {
    let e = ct.get(id)?;
    let mut bit = manip.nat_bit();
    if dir == CtDir::Reply {
        bit ^= status::SRC_NAT | status::DST_NAT;
    }
    if e.status & bit == 0 {
        return None;
    }
    let (L4::Icmp(i) | L4::Icmpv6(i)) = &pkt.l4 else {
        return None;
    };
    let inner = i.inner.as_ref()?;
    let needs = matches!(inner.proto, 1 | 6 | 17 | 58 | 136) && inner.frag_offset == 0;
    (needs && inner.l4_len < 8).then_some(inner.l4_len)
}

pub(crate) fn manip_packet(
    ct: &Conntrack,
    id: CtId,
    dir: CtDir,
    manip: Manip,
    pkt: &mut Cow<'_, Packet>,
    skb: &mut crate::ext::Skb,
) {
    let Some(e) = ct.get(id) else { return };
    let mut bit = manip.nat_bit();
    if dir == CtDir::Reply {
        bit ^= status::SRC_NAT | status::DST_NAT;
    }
    if e.status & bit == 0 {
        return;
    }
    let other = if dir == CtDir::Original { 1 } else { 0 };
    let Some(target) = invert(&e.tuple[other]) else {
        return;
    };
    let (addr, port) = match manip {
        Manip::Src => (target.src, target.sport),
        Manip::Dst => (target.dst, target.dport),
    };
    let cur_addr = if manip == Manip::Src {
        pkt.src
    } else {
        pkt.dst
    };
    let cur_port = pkt
        .ports()
        .map(|(s, d)| if manip == Manip::Src { s } else { d });
    // An ICMP query's id is the tuple's, whichever the manipulation (`icmp_manip_pkt`,
    // `icmpv6_manip_pkt` write the target's id): SNAT may have chosen another.
    let query_id = match &pkt.l4 {
        L4::Icmp(i) | L4::Icmpv6(i) if is_icmp_query(&target) && i.inner.is_none() => {
            Some(i.id).filter(|&old| old != target.sport)
        }
        _ => None,
    };
    if cur_addr == addr && (cur_port.is_none() || cur_port == Some(port)) && query_id.is_none() {
        return;
    }
    if let (IpAddr::V4(old), IpAddr::V4(new)) = (cur_addr, addr) {
        skb.nat_rewrote(pkt, Some((old, new)));
    } else {
        skb.nat_rewrote(pkt, None);
    }
    let p = pkt.to_mut();
    match manip {
        Manip::Src => p.src = addr,
        Manip::Dst => p.dst = addr,
    }
    if query_id.is_some() {
        if let L4::Icmp(i) | L4::Icmpv6(i) = &mut p.l4 {
            i.id = target.sport;
        }
    }
    if has_ports(target.proto) {
        match &mut p.l4 {
            L4::Tcp(t) => set_port(&mut t.sport, &mut t.dport, manip, port),
            L4::Udp(u) => set_port(&mut u.sport, &mut u.dport, manip, port),
            L4::Ports { sport, dport } => set_port(sport, dport, manip, port),
            _ => {}
        }
    }
}

/// A packet the host sent, as a capture on the host shows it — after POSTROUTING, with its
/// connection's translation done: a locally DNATed or REDIRECTed connection's replies leave with
/// the address and port the client asked for, a connection SNATed on its way out with its new
/// source. The engine runs the host's packets from OUTPUT, so it needs them as the socket sent
/// them: the connection's own tuple for that direction. `None` when the packet is already that
/// (it is found as it is) or belongs to no NATed connection.
pub(crate) fn as_sent(ct: &mut Conntrack, pkt: &Packet, now: u64) -> Option<Packet> {
    if let L4::Icmp(i) | L4::Icmpv6(i) = &pkt.l4 {
        return error_as_sent(ct, pkt, i.inner.as_deref()?, now);
    }
    if !has_ports(pkt.proto) {
        return None;
    }
    let (sport, dport) = pkt.ports()?;
    let t = crate::conntrack::Tuple {
        src: pkt.src,
        dst: pkt.dst,
        proto: pkt.proto,
        sport,
        dport,
        zone: 0,
    };
    if ct.lookup(&t, now).is_some() {
        return None;
    }
    let (id, dir) = ct.lookup(&invert(&t)?, now)?;
    let e = ct.get(id)?;
    let sent = e.tuple[if dir == CtDir::Original { 1 } else { 0 }];
    if sent == t || sent.zone != 0 {
        return None;
    }
    let mut p = pkt.clone();
    p.src = sent.src;
    p.dst = sent.dst;
    match &mut p.l4 {
        L4::Tcp(x) => (x.sport, x.dport) = (sent.sport, sent.dport),
        L4::Udp(x) => (x.sport, x.dport) = (sent.sport, sent.dport),
        L4::Ports { sport, dport } => (*sport, *dport) = (sent.sport, sent.dport),
        _ => return None,
    }
    Some(p)
}

/// [`as_sent`] for an ICMP error the host sent about a packet of a NATed connection (a
/// router's "host unreachable" when no neighbour answered for a MASQUERADEd packet): the
/// kernel quoted the packet as it left, translated, and addressed the error to that packet's
/// source; nat OUTPUT translated both back (`nf_nat_icmp_reply_translation`), and the capture
/// shows the quote as the connection's own tuple `tuple[d]`, the error to its source. As sent,
/// the quote is the packet of direction `d` after NAT — the inverse of `tuple[!d]` — and the
/// error goes to its source (kernel hunt, lab `router-neigh-unreachable`: the captured errors
/// were INVALID and dropped by OUTPUT's `--ctstate INVALID -j DROP`, certain).
fn error_as_sent(
    ct: &mut Conntrack,
    pkt: &Packet,
    inner: &crate::packet::InnerPacket,
    now: u64,
) -> Option<Packet> {
    let q = crate::conntrack::proto::icmp::inner_tuple(inner, 0)?;
    if pkt.dst != q.src || ct.lookup(&invert(&q)?, now).is_some() {
        return None;
    }
    let (id, d) = ct.lookup(&q, now)?;
    let e = ct.get(id)?;
    let sent = invert(&e.tuple[1 - d as usize])?;
    if sent == q || sent.zone != 0 {
        return None;
    }
    let mut p = pkt.clone();
    p.dst = sent.src;
    let (L4::Icmp(i) | L4::Icmpv6(i)) = &mut p.l4 else {
        return None;
    };
    let q = i.inner.as_deref_mut()?;
    (q.src, q.dst) = (sent.src, sent.dst);
    if let Some(ports) = &mut q.ports {
        *ports = (sent.sport, sent.dport);
    }
    if let Some((_, _, id)) = &mut q.icmp {
        *id = sent.sport;
    }
    Some(p)
}

fn set_port(s: &mut u16, d: &mut u16, manip: Manip, port: u16) {
    match manip {
        Manip::Src => *s = port,
        Manip::Dst => *d = port,
    }
}

/// `nf_conntrack_tcp_set_closing`: a confirmed TCP connection goes to CLOSE (10 s).
pub(crate) fn set_closing(ct: &mut Conntrack, id: CtId, hz: u32, close_secs: u64, now: u64) {
    let phase = ct.phase_now();
    let Some(e) = ct.get_mut(id) else { return };
    if !e.is_confirmed() {
        return;
    }
    if let ProtoState::Tcp(t) = &mut e.proto {
        let old = t.state;
        t.state = crate::conntrack::tcp::TcpState::Close;
        if old != crate::conntrack::tcp::TcpState::Close {
            e.timeout = now + close_secs * hz as u64;
            e.timeout_phase = phase;
            let tuples = e.tuple;
            ct.ending(tuples);
        }
    }
}

/// A destination NAT a connection the host makes may take: a `DNAT` or `REDIRECT` of the nat
/// table in OUTPUT or in a user chain OUTPUT reaches, with the protocol its rule
/// asks for. A capture shows the host's packets as they leave, after nat OUTPUT: one sent to
/// such a target may have been addressed elsewhere by its socket (a container's published
/// port on the host's own address), which the capture cannot tell from a connection made to
/// the target directly.
#[derive(Debug, Clone)]
pub(crate) struct LocalDnat {
    proto: Option<u8>,
    spec: NatSpec,
    /// The rule's line in the ruleset.
    line: usize,
}

impl LocalDnat {
    /// The nat table's candidates (none without one).
    pub(crate) fn of(rs: &crate::ruleset::model::Ruleset) -> Vec<LocalDnat> {
        use crate::ruleset::model::{Action, TableKind};
        let Some(nat) = rs.tables.iter().find(|t| t.kind == TableKind::Nat) else {
            return Vec::new();
        };
        // The chains nat OUTPUT reaches by its jumps and gotos: firewalld's zone chains, which
        // only PREROUTING jumps to, hold DNATs (forward-ports) no connection of the host's
        // takes (kernel hunt with nmap from a firewalld host: its connections to port 80 were
        // uncertain for a PREROUTING-only DNAT to port 80; recorded lab firewalld-host-out).
        let mut reach: Vec<bool> = nat
            .chains
            .iter()
            .map(|c| c.hook == Some(Hook::Output))
            .collect();
        let mut todo: Vec<usize> = (0..reach.len()).filter(|&i| reach[i]).collect();
        while let Some(i) = todo.pop() {
            for r in &nat.chains[i].rules {
                if let Some(cr) = r.action.chain_ref() {
                    if cr.index < reach.len() && !reach[cr.index] {
                        reach[cr.index] = true;
                        todo.push(cr.index);
                    }
                }
            }
        }
        nat.chains
            .iter()
            .zip(reach)
            .filter(|(_, r)| *r)
            .flat_map(|(c, _)| &c.rules)
            .filter_map(|r| {
                let Action::Target(t) = &r.action else {
                    return None;
                };
                let spec = t.nat_spec()?;
                matches!(spec.kind, NatKind::Dnat | NatKind::Redirect).then(|| LocalDnat {
                    proto: r.proto.and_then(|(p, inv)| (!inv).then_some(p)),
                    spec,
                    line: rs.line_of(r.span),
                })
            })
            .collect()
    }

    /// Whether `pkt`, sent by the host, may be what this translation made: its protocol, its
    /// destination within the target's addresses (REDIRECT in OUTPUT: the loopback address)
    /// and its port within the target's ports.
    pub(crate) fn covers(&self, pkt: &Packet) -> bool {
        if self.proto.is_some_and(|p| p != pkt.proto) {
            return false;
        }
        let addr_ok = match (self.spec.kind, self.spec.addr) {
            (NatKind::Redirect, _) => pkt.dst.is_loopback(),
            (_, Some((lo, hi))) => {
                lo.is_ipv4() == pkt.dst.is_ipv4() && lo <= pkt.dst && pkt.dst <= hi
            }
            (_, None) => true,
        };
        let port_ok = match (self.spec.ports, pkt.ports()) {
            (Some((lo, hi)), Some((_, dport))) => (lo..=hi).contains(&dport),
            (Some(_), None) => false,
            (None, _) => true,
        };
        addr_ok && port_ok
    }

    pub(crate) fn line(&self) -> usize {
        self.line
    }
}
