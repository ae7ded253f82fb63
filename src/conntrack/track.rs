//! `nf_conntrack_in`: classify a packet at PREROUTING or OUTPUT, look up or create its entry,
//! and run the protocol tracker — TCP ([`super::tcp`]), UDP/UDP-Lite, ICMP/ICMPv6 (including
//! errors that are RELATED to the connection they quote), SCTP ([`super::sctp`]), GRE and the
//! generic tracker (also DCCP's since the kernel dropped its tracker).

use std::net::IpAddr;

use super::sctp;
use super::tcp::{self, TcpCt, TcpVerdict};
use super::*;
use crate::packet::{proto, ChecksumMode, Family, InnerPacket, Packet, L4};

/// Where conntrack runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtHook {
    /// `ipv4_conntrack_in` at PREROUTING: checksums are verified.
    PreRouting,
    /// `ipv4_conntrack_local` at OUTPUT: checksums are trusted.
    LocalOut,
}

/// What conntrack decided for a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CtOutcome {
    pub attach: Attach,
    /// A new, unconfirmed entry created for this packet: confirm it if the packet survives.
    pub new: Option<CtId>,
    /// Why the packet is INVALID, as the kernel would log it.
    pub invalid: Option<&'static str>,
    /// The capture does not hold what the kernel would have looked at.
    pub uncertain: Option<&'static str>,
    /// Conntrack itself dropped the packet (`nf_conntrack_in` returning `NF_DROP`: the table
    /// is full and `early_drop` freed nothing).
    pub drop: Option<&'static str>,
}

fn invalid(why: &'static str) -> CtOutcome {
    CtOutcome {
        invalid: Some(why),
        ..CtOutcome::default()
    }
}

fn uncertain(why: &'static str) -> CtOutcome {
    CtOutcome {
        invalid: Some(why),
        uncertain: Some(why),
        ..CtOutcome::default()
    }
}

/// ICMP `invmap`: the reply type of a query type, if any.
fn icmp_invert(t: u8) -> Option<u8> {
    match t {
        8 => Some(0),
        0 => Some(8),
        13 => Some(14),
        14 => Some(13),
        15 => Some(16),
        16 => Some(15),
        17 => Some(18),
        18 => Some(17),
        _ => None,
    }
}

/// ICMPv6 `invmap`.
fn icmpv6_invert(t: u8) -> Option<u8> {
    match t {
        128 => Some(129),
        129 => Some(128),
        139 => Some(140),
        140 => Some(139),
        _ => None,
    }
}

/// ICMPv6 types conntrack never tracks (`noct_valid_new`): MLD, NDP, MRD.
fn icmpv6_untracked(t: u8) -> bool {
    matches!(t, 130..=136 | 143 | 151 | 152)
}

/// Protocols whose tuple has ports. DCCP has none: its tracker is gone from the kernel (6.16),
/// DCCP is tracked by the generic one.
fn has_ports(p: u8) -> bool {
    matches!(p, proto::TCP | proto::UDP | proto::UDPLITE | proto::SCTP)
}

/// `nf_ct_invert_tuple`; `None` when the protocol cannot invert it (unmapped ICMP types).
pub fn invert(t: &Tuple) -> Option<Tuple> {
    let mut r = Tuple {
        src: t.dst,
        dst: t.src,
        proto: t.proto,
        sport: t.dport,
        dport: t.sport,
        zone: t.zone,
    };
    match t.proto {
        proto::ICMP | proto::ICMPV6 => {
            let ty = t.icmp_type();
            let inv = if t.proto == proto::ICMP {
                icmp_invert(ty)
            } else {
                icmpv6_invert(ty)
            }?;
            r.sport = t.sport; // the echo id stays in the source part
            r.dport = (inv as u16) << 8 | t.icmp_code() as u16;
        }
        // GRE keys swap like ports (`nf_ct_invert_tuple` swaps `u.all`).
        proto::GRE => {}
        p if !has_ports(p) => {
            r.sport = 0;
            r.dport = 0;
        }
        _ => {}
    }
    Some(r)
}

/// `gre_pkt_to_tuple`: GRE other than version 1 is tracked like the generic protocol (keys 0);
/// version 1 (PPTP's enhanced GRE) must carry PPP and is keyed by its call id (destination
/// key; the source key comes from a PPTP helper's keymap, which fwcheck never has: 0).
/// Returns (source key, destination key).
fn gre_keys(pkt: &Packet) -> Result<(u16, u16), CtOutcome> {
    let hl = pkt.ip_hdr_len as usize;
    let avail = pkt.data.len().min(pkt.ip_len as usize);
    let l4len = (pkt.ip_len as usize).saturating_sub(hl);
    let have = avail.saturating_sub(hl);
    let b = pkt.data.get(hl..avail).unwrap_or(&[]);
    if l4len < 4 {
        return Ok((0, 0));
    }
    if have < 4 {
        return Err(uncertain("GRE header cut off by the capture"));
    }
    let flags = u16::from_be_bytes([b[0], b[1]]);
    if flags & 0x0007 != 1 {
        return Ok((0, 0));
    }
    if l4len < 8 {
        return Ok((0, 0));
    }
    if have < 8 {
        return Err(uncertain("GRE header cut off by the capture"));
    }
    if u16::from_be_bytes([b[2], b[3]]) != 0x880b {
        return Err(invalid("GRE version 1 without PPP (no tuple)"));
    }
    Ok((0, u16::from_be_bytes([b[6], b[7]])))
}

/// `udplite_error`: coverage, mandatory checksum, and (at PREROUTING) the checksum — which the
/// kernel verifies with protocol 17 (UDP) in the pseudo header (`nf_checksum_partial(…,
/// IPPROTO_UDP, …)`), so an RFC 3828 checksum (protocol 136) makes the packet INVALID.
fn udplite_error(pkt: &Packet, hook: CtHook, p: &Params) -> Option<CtOutcome> {
    let hl = pkt.ip_hdr_len as usize;
    let udplen = (pkt.ip_len as usize).saturating_sub(hl);
    if udplen < 8 {
        return Some(invalid("short UDP-Lite packet"));
    }
    let end = (pkt.ip_len as usize).min(pkt.data.len());
    let seg = pkt.data.get(hl..end).unwrap_or(&[]);
    if seg.len() < 8 {
        return Some(uncertain("UDP-Lite header cut off by the capture"));
    }
    let cov = u16::from_be_bytes([seg[4], seg[5]]) as usize;
    let cscov = if cov == 0 { udplen } else { cov };
    if cscov < 8 || cscov > udplen {
        return Some(invalid("UDP-Lite: invalid checksum coverage"));
    }
    if seg[6] == 0 && seg[7] == 0 {
        return Some(invalid("UDP-Lite: checksum missing"));
    }
    if hook == CtHook::PreRouting && p.checksum && p.checksums != ChecksumMode::Ignore {
        if seg.len() < cscov {
            return Some(uncertain(
                "UDP-Lite checksum coverage cut off by the capture",
            ));
        }
        let mut covered = seg[..cscov].to_vec();
        covered.resize(udplen, 0);
        if !crate::packet::checksum::verify_l4(pkt.src, pkt.dst, proto::UDP, &covered) {
            return Some(invalid("UDP-Lite: bad checksum"));
        }
    }
    None
}

/// Tuple of a packet (`nf_ct_get_tuple`).
fn packet_tuple(pkt: &Packet, zone: u16) -> Result<Tuple, CtOutcome> {
    let mut t = Tuple {
        src: pkt.src,
        dst: pkt.dst,
        proto: pkt.proto,
        sport: 0,
        dport: 0,
        zone,
    };
    match (&pkt.l4, pkt.proto) {
        (L4::Tcp(th), _) => {
            t.sport = th.sport;
            t.dport = th.dport;
        }
        (L4::Udp(u), _) => {
            t.sport = u.sport;
            t.dport = u.dport;
        }
        (L4::Ports { sport, dport }, p) if has_ports(p) => {
            t.sport = *sport;
            t.dport = *dport;
        }
        (L4::Icmp(i) | L4::Icmpv6(i), _) => {
            t.sport = i.id;
            t.dport = (i.icmp_type as u16) << 8 | i.code as u16;
        }
        (_, proto::GRE) => {
            let (s, d) = gre_keys(pkt)?;
            t.sport = s;
            t.dport = d;
        }
        (_, p) if has_ports(p) || p == proto::ICMP || p == proto::ICMPV6 => {
            let need = if has_ports(p) { 4 } else { 8 };
            return Err(if pkt.ip_len >= pkt.ip_hdr_len as u32 + need {
                uncertain("transport header cut off by the capture")
            } else {
                invalid("transport header too short for a tuple")
            });
        }
        _ => {}
    }
    Ok(t)
}

/// Tuple of the packet quoted in an ICMP error (`nf_ct_get_tuplepr`).
fn inner_tuple(inner: &InnerPacket, zone: u16) -> Option<Tuple> {
    if inner.frag_offset != 0 {
        return None;
    }
    let mut t = Tuple {
        src: inner.src,
        dst: inner.dst,
        proto: inner.proto,
        sport: 0,
        dport: 0,
        zone,
    };
    if has_ports(inner.proto) {
        let (s, d) = inner.ports?;
        t.sport = s;
        t.dport = d;
    } else if inner.proto == proto::ICMP || inner.proto == proto::ICMPV6 {
        let (ty, code, id) = inner.icmp?;
        t.sport = id;
        t.dport = (ty as u16) << 8 | code as u16;
    }
    Some(t)
}

/// `nf_conntrack_inet_error`: an ICMP error is RELATED to the confirmed connection it quotes.
fn inet_error(
    ct: &mut Conntrack,
    outer_dst: IpAddr,
    inner: Option<&InnerPacket>,
    tmpl: Template,
    now: u64,
) -> CtOutcome {
    let Some(inner) = inner else {
        return invalid("ICMP error without a usable quoted packet");
    };
    let Some(orig) = inner_tuple(inner, tmpl.zone_id(CtDir::Original)) else {
        return invalid("ICMP error quotes a fragment or too few bytes");
    };
    let Some(inv) = invert(&orig) else {
        return invalid("ICMP error quotes a packet that cannot be inverted");
    };
    let Some((id, dir)) = ct.lookup_zoned(&inv, tmpl, now) else {
        return invalid("ICMP error for an unknown connection");
    };
    let e = ct.get(id).expect("found entry");
    if e.tuple[dir as usize].dst != outer_dst {
        return invalid("ICMP error: outer destination differs from the connection's");
    }
    CtOutcome {
        attach: Attach::Ct {
            id,
            info: if dir == CtDir::Reply {
                CtInfo::RelatedReply
            } else {
                CtInfo::Related
            },
        },
        ..CtOutcome::default()
    }
}

fn checksum_bad(pkt: &Packet, hook: CtHook, p: &Params) -> bool {
    hook == CtHook::PreRouting && p.checksum && pkt.l4_checksum_bad(p.checksums)
}

/// The first part of `nf_conntrack_in` for ICMP: errors, untracked ICMPv6, invalid types.
/// `None` = continue with normal tracking.
fn handle_icmp(
    ct: &mut Conntrack,
    pkt: &Packet,
    hook: CtHook,
    tmpl: Template,
    p: &Params,
    now: u64,
) -> Option<CtOutcome> {
    let ic = match &pkt.l4 {
        L4::Icmp(i) | L4::Icmpv6(i) => i,
        _ => {
            return Some(if pkt.ip_len >= pkt.ip_hdr_len as u32 + 8 {
                uncertain("ICMP header cut off by the capture")
            } else {
                invalid("short ICMP packet")
            })
        }
    };
    if checksum_bad(pkt, hook, p) {
        return Some(invalid("bad ICMP checksum"));
    }
    if pkt.family == Family::V4 {
        if ic.icmp_type > 18 {
            return Some(invalid("invalid ICMP type"));
        }
        if matches!(ic.icmp_type, 3 | 4 | 5 | 11 | 12) {
            return Some(inet_error(ct, pkt.dst, ic.inner.as_deref(), tmpl, now));
        }
        None
    } else {
        if icmpv6_untracked(ic.icmp_type) {
            return Some(CtOutcome {
                attach: Attach::Untracked,
                ..CtOutcome::default()
            });
        }
        if ic.icmp_type == 137
            && ic.code == 0
            && pkt.ttl == 255
            && is_link_local(pkt.src)
            && ic.inner.is_some()
        {
            return Some(inet_error(ct, pkt.dst, ic.inner.as_deref(), tmpl, now));
        }
        if ic.icmp_type >= 128 {
            return None;
        }
        Some(inet_error(ct, pkt.dst, ic.inner.as_deref(), tmpl, now))
    }
}

fn is_link_local(a: IpAddr) -> bool {
    match a {
        IpAddr::V6(v) => v.segments()[0] & 0xffc0 == 0xfe80,
        IpAddr::V4(_) => false,
    }
}

/// What a `CT` target in the raw table set for the connection a packet may create
/// (`nf_ct_tmpl`): its zone and helper.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Template {
    pub zone: u16,
    /// `--zone-orig` / `--zone-reply`: the one direction the zone applies to (`None`: both).
    pub zone_only: Option<CtDir>,
    pub helper: Option<super::helper::HelperId>,
}

impl Template {
    /// `nf_ct_zone_id(zone, dir)`: the zone's id in direction `d`, the default zone (0) in a
    /// direction it does not apply to.
    pub fn zone_id(&self, d: CtDir) -> u16 {
        zone_id(self.zone, self.zone_only, d)
    }
}

/// `nf_ct_zone_id` for a zone `id` limited to `only` (`None`: both directions).
pub fn zone_id(id: u16, only: Option<CtDir>, d: CtDir) -> u16 {
    match only {
        Some(o) if o != d => 0,
        _ => id,
    }
}

/// Classify `pkt` and update the conntrack table, as `nf_conntrack_in` does.
/// `attached` is what the packet already carries (NOTRACK from the raw table, or a
/// connection attached at OUTPUT for loopback traffic): such packets are left alone.
#[allow(clippy::too_many_arguments)]
pub fn conntrack_in(
    ct: &mut Conntrack,
    pkt: &Packet,
    hook: CtHook,
    attached: Attach,
    tmpl: Template,
    p: &Params,
    now: u64,
    frame: u64,
) -> CtOutcome {
    // resolve_normal_ct hashes the tuple with the zone's id for the original direction.
    let zone = tmpl.zone_id(CtDir::Original);
    if attached != Attach::None {
        return CtOutcome {
            attach: attached,
            ..CtOutcome::default()
        };
    }
    if pkt.frag.offset != 0 {
        return invalid("non-first fragment (not reassembled)");
    }
    if pkt.family == Family::V6 && pkt.proto == proto::IPV6_NONXT {
        // ipv6_skip_exthdr gives up at "no next header": no protocol, no tuple.
        return invalid("IPv6 packet without an upper-layer header (no next header)");
    }
    if pkt.proto == proto::UDPLITE {
        if let Some(o) = udplite_error(pkt, hook, p) {
            return o;
        }
    }
    if pkt.proto == proto::ICMP || pkt.proto == proto::ICMPV6 {
        if let Some(o) = handle_icmp(ct, pkt, hook, tmpl, p, now) {
            return o;
        }
    }
    let tuple = match packet_tuple(pkt, zone) {
        Ok(t) => t,
        Err(o) => return o,
    };
    // Protocol error checks that come before any entry is touched.
    match &pkt.l4 {
        L4::Tcp(th) => {
            let tcplen = pkt.ip_len.saturating_sub(pkt.ip_hdr_len as u32);
            if th.doff < 5 || tcplen < th.doff as u32 * 4 {
                return invalid("truncated TCP packet");
            }
            if checksum_bad(pkt, hook, p) {
                return invalid("bad TCP checksum");
            }
            if !tcp::valid_flags(th.flags) {
                return invalid("invalid TCP flag combination");
            }
        }
        L4::Udp(u) if pkt.proto == proto::UDP || pkt.proto == proto::UDPLITE => {
            let udplen = pkt.ip_len.saturating_sub(pkt.ip_hdr_len as u32);
            if pkt.proto == proto::UDP && ((u.length as u32) > udplen || u.length < 8) {
                return invalid("truncated/malformed UDP packet");
            }
            if u.checksum != 0 && checksum_bad(pkt, hook, p) {
                return invalid("bad UDP checksum");
            }
        }
        _ => {}
    }
    let mut repeat = 0;
    let mut room_note = None;
    loop {
        let (id, info, is_new) = match ct.lookup_zoned(&tuple, tmpl, now) {
            Some((id, dir)) => {
                let e = ct.get(id).expect("found entry");
                let info = if dir == CtDir::Reply {
                    CtInfo::EstablishedReply
                } else if e.status & status::SEEN_REPLY != 0 {
                    CtInfo::Established
                } else if e.status & status::EXPECTED != 0 {
                    CtInfo::Related
                } else {
                    CtInfo::New
                };
                (id, info, false)
            }
            None => {
                let Some(mut reply) = invert(&tuple) else {
                    return invalid("tuple cannot be inverted (no reply type for this ICMP type)");
                };
                reply.zone = tmpl.zone_id(CtDir::Reply);
                // __nf_conntrack_alloc: nf_conntrack_max, before the protocol looks at the packet.
                match ct.make_room(p.ct_max, p.ct_buckets, now, p.hz) {
                    Room::Free { uncertain } => room_note = room_note.or(uncertain),
                    Room::Evicted { uncertain, .. } => room_note = room_note.or(Some(uncertain)),
                    Room::Full { uncertain } => {
                        return CtOutcome {
                            drop: Some("nf_conntrack: table full, dropping packet"),
                            uncertain,
                            ..CtOutcome::default()
                        };
                    }
                }
                let proto_state = match pkt.proto {
                    proto::TCP => ProtoState::Tcp(Box::default()),
                    proto::UDP => ProtoState::Udp {
                        stream_ts: now + 2 * p.hz as u64,
                    },
                    proto::ICMP | proto::ICMPV6 => ProtoState::Icmp,
                    proto::SCTP => ProtoState::Sctp(Default::default()),
                    _ => ProtoState::Generic,
                };
                // init_conntrack: an expected connection is RELATED, takes its master's mark
                // and never the template's helper.
                let expected = ct.find_expectation(&tuple, tmpl.zone, now);
                let id = ct.alloc(CtEntry {
                    tuple: [tuple, reply],
                    status: if expected.is_some() {
                        status::EXPECTED
                    } else {
                        0
                    },
                    timeout: 0,
                    mark: expected.map_or(0, |(mark, _)| mark),
                    zone: tmpl.zone,
                    zone_only: tmpl.zone_only,
                    proto: proto_state,
                    created_frame: frame,
                    serial: 0,
                    dying: false,
                    help: match expected {
                        None => tmpl.helper.map(|h| Box::new(super::helper::Help::new(h))),
                        Some(_) => None,
                    },
                    master_helper: expected.map(|(_, h)| h),
                });
                let info = if expected.is_some() {
                    CtInfo::Related
                } else {
                    CtInfo::New
                };
                (id, info, true)
            }
        };
        let dir = info.dir();
        let hz = p.hz as u64;
        let status_now = ct.get(id).map(|e| e.status).unwrap_or(0);
        let remaining = ct.remaining(id, now);
        let verdict: Result<(), &'static str> = match pkt.proto {
            proto::TCP => {
                let L4::Tcp(th) = &pkt.l4 else {
                    unreachable!("tuple built from TCP")
                };
                let e = ct.get_mut(id).expect("entry");
                let ProtoState::Tcp(tc) = &mut e.proto else {
                    unreachable!("TCP entry")
                };
                let tc: &mut TcpCt = tc;
                if is_new && !tcp::tcp_new(tc, pkt, th, p.tcp_loose) {
                    Err("invalid new TCP connection (not a SYN, or pickup disabled)")
                } else {
                    let closed = |s: tcp::TcpState| {
                        matches!(s, tcp::TcpState::TimeWait | tcp::TcpState::Close)
                    };
                    let was_closed = closed(tc.state);
                    let r = tcp::tcp_packet(tc, status_now, pkt, th, dir, p);
                    let mut ended = closed(tc.state) && !was_closed;
                    if let Some(cap) = r.shrink_to {
                        // nf_tcp_handle_invalid: only when more than 120 s are left.
                        if remaining >= 120 * p.hz as u64 && remaining > cap {
                            e.timeout = now + cap;
                            ended = true;
                        }
                    }
                    if r.set_assured {
                        e.status |= status::ASSURED;
                    }
                    if ended {
                        ct.deaths += 1;
                    }
                    match r.verdict {
                        TcpVerdict::Accept => {
                            if let Some(t) = r.refresh {
                                ct.refresh(id, t, now);
                            }
                            Ok(())
                        }
                        TcpVerdict::Ignore => Ok(()),
                        TcpVerdict::Invalid(why) => Err(why),
                        TcpVerdict::Kill => {
                            ct.kill(id);
                            Ok(())
                        }
                        TcpVerdict::Repeat => {
                            ct.remove(id);
                            repeat += 1;
                            if repeat > 1 {
                                return invalid("TCP reopen repeated");
                            }
                            continue;
                        }
                    }
                }
            }
            proto::UDPLITE => {
                // nf_conntrack_udplite_packet: no stream delay, assured on any packet after a
                // reply was seen.
                if status_now & status::SEEN_REPLY != 0 {
                    ct.refresh(id, p.timeouts.udp_stream * hz, now);
                    ct.get_mut(id).expect("entry").status |= status::ASSURED;
                } else {
                    ct.refresh(id, p.timeouts.udp * hz, now);
                }
                Ok(())
            }
            proto::UDP => {
                let e = ct.get_mut(id).expect("entry");
                let ProtoState::Udp { stream_ts } = &mut e.proto else {
                    unreachable!("UDP entry")
                };
                if e.status & status::CONFIRMED == 0 {
                    *stream_ts = now + 2 * hz;
                }
                let stream_ts = *stream_ts;
                if e.status & status::SEEN_REPLY != 0 {
                    let mut extra = p.timeouts.udp * hz;
                    let mut stream = false;
                    if now > stream_ts {
                        extra = p.timeouts.udp_stream * hz;
                        stream = e.status & status::ASSURED == 0;
                    }
                    ct.refresh(id, extra, now);
                    if stream {
                        ct.get_mut(id).expect("entry").status |= status::ASSURED;
                    }
                } else {
                    ct.refresh(id, p.timeouts.udp * hz, now);
                }
                Ok(())
            }
            proto::ICMP | proto::ICMPV6 => {
                let e = ct.get(id).expect("entry");
                let ty = e.tuple[0].icmp_type();
                let valid_new = if pkt.proto == proto::ICMP {
                    pkt.family == Family::V4 && matches!(ty, 8 | 13 | 15 | 17)
                } else {
                    pkt.family == Family::V6 && matches!(ty, 128 | 139)
                };
                if !valid_new {
                    Err("ICMP type cannot start a connection (reply without request)")
                } else {
                    let secs = if pkt.proto == proto::ICMP {
                        p.timeouts.icmp
                    } else {
                        p.timeouts.icmpv6
                    };
                    ct.refresh(id, secs * hz, now);
                    Ok(())
                }
            }
            proto::SCTP => {
                let hl = pkt.ip_hdr_len as usize;
                let len = (pkt.ip_len as usize).saturating_sub(hl);
                let end = (pkt.ip_len as usize).min(pkt.data.len());
                let seg = pkt.data.get(hl..end).unwrap_or(&[]);
                let verify =
                    hook == CtHook::PreRouting && p.checksum && p.checksums != ChecksumMode::Ignore;
                let e = ct.get_mut(id).expect("entry");
                let confirmed = e.status & status::CONFIRMED != 0;
                let ProtoState::Sctp(sc) = &mut e.proto else {
                    unreachable!("SCTP entry")
                };
                match sctp::sctp_packet(sc, confirmed, seg, len, dir, verify, &p.timeouts) {
                    Ok(r) => {
                        if r.assured {
                            e.status |= status::ASSURED;
                        }
                        if let Some(secs) = r.refresh {
                            ct.refresh(id, secs * hz, now);
                        }
                        Ok(())
                    }
                    Err(sctp::SctpFail::Invalid(why)) => Err(why),
                    Err(sctp::SctpFail::Uncertain(why)) => {
                        if is_new {
                            ct.discard(id);
                        }
                        return uncertain(why);
                    }
                }
            }
            proto::GRE => {
                let seen_reply = status_now & status::SEEN_REPLY != 0;
                if seen_reply {
                    ct.refresh(id, p.timeouts.gre_stream * hz, now);
                    ct.get_mut(id).expect("entry").status |= status::ASSURED;
                } else {
                    ct.refresh(id, p.timeouts.gre * hz, now);
                }
                Ok(())
            }
            _ => {
                ct.refresh(id, p.timeouts.generic * hz, now);
                Ok(())
            }
        };
        if let Err(why) = verdict {
            if is_new {
                ct.discard(id);
            }
            return invalid(why);
        }
        if info == CtInfo::EstablishedReply {
            if let Some(e) = ct.get_mut(id) {
                e.status |= status::SEEN_REPLY;
            }
        }
        return CtOutcome {
            attach: Attach::Ct { id, info },
            new: is_new.then_some(id),
            invalid: None,
            uncertain: room_note,
            drop: None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::build::{build, L4Spec, PacketSpec};
    use crate::packet::decode::{decode_ip, FrameMeta};
    use crate::packet::{LinkInfo, Timestamp};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A packet as the capture decoder produces it.
    fn raw(src: &str, dst: &str, proto: u8, body: Vec<u8>) -> Packet {
        let mut s = PacketSpec::new(ip(src), ip(dst), L4Spec::Raw { proto });
        s.payload = body;
        let b = build(&s, 1, Timestamp(0), LinkInfo::default());
        let meta = FrameMeta {
            frame: 1,
            ts: Timestamp(0),
            linktype: 101,
            interface: 0,
            wire_len: 0,
        };
        decode_ip(&meta, LinkInfo::default(), &b.data, b.data.len(), None).unwrap()
    }

    /// Run `pkt` through conntrack at PREROUTING (or OUTPUT when `out`) and confirm a new
    /// entry, as if the packet was accepted.
    fn track(ct: &mut Conntrack, pkt: &Packet, out: bool) -> CtOutcome {
        let hook = if out {
            CtHook::LocalOut
        } else {
            CtHook::PreRouting
        };
        let o = conntrack_in(
            ct,
            pkt,
            hook,
            Attach::None,
            Template::default(),
            &Params::default(),
            100,
            1,
        );
        if let Some(id) = o.new {
            ct.confirm(id, 100);
        }
        if let Attach::Ct { id, .. } = o.attach {
            ct.release(id);
        }
        o
    }

    fn pptp_gre(call_id: u16) -> Vec<u8> {
        let mut b = vec![0x30, 0x01, 0x88, 0x0b, 0x00, 0x04];
        b.extend_from_slice(&call_id.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 1, 1, 2, 3, 4]);
        b
    }

    /// Kernel fact (proto-edge.pcap, scenario 2): PPTP's GRE is keyed by the call id, and
    /// without a PPTP helper the two directions (each carrying the peer's call id) are two
    /// connections; plain GRE has no keys.
    #[test]
    fn gre_version_1_is_keyed_by_call_id() {
        let mut ct = Conntrack::new();
        let a = track(
            &mut ct,
            &raw("203.0.113.10", "192.0.2.1", proto::GRE, pptp_gre(0x1111)),
            true,
        );
        assert_eq!(a.attach.info(), Some(CtInfo::New));
        let b = track(
            &mut ct,
            &raw("192.0.2.1", "203.0.113.10", proto::GRE, pptp_gre(0x2222)),
            false,
        );
        assert_eq!(b.attach.info(), Some(CtInfo::New), "another connection");
        let plain = |src, dst| raw(src, dst, proto::GRE, vec![0, 0, 8, 0, 0x45, 0]);
        track(&mut ct, &plain("203.0.113.10", "192.0.2.1"), true);
        let r = track(&mut ct, &plain("192.0.2.1", "203.0.113.10"), false);
        assert_eq!(r.attach.info(), Some(CtInfo::EstablishedReply));
        // Version 1 carrying something else than PPP has no tuple.
        let mut bad = pptp_gre(0x3333);
        bad[3] = 0x0c;
        let o = track(
            &mut ct,
            &raw("192.0.2.1", "203.0.113.10", proto::GRE, bad),
            false,
        );
        assert_eq!(o.attach, Attach::None);
    }

    fn udplite(cov: u16, pseudo_proto: u8, zero: bool) -> Packet {
        let (src, dst) = (ip("192.0.2.5"), ip("203.0.113.10"));
        let mut b = vec![0x1b, 0x58, 0x1b, 0x59];
        b.extend_from_slice(&cov.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&[7u8; 24]);
        let n = if cov == 0 { b.len() } else { cov as usize };
        let mut covered = b[..n].to_vec();
        covered.resize(b.len(), 0);
        let ck = if zero {
            0
        } else {
            crate::packet::checksum::compute_l4(src, dst, pseudo_proto, &covered)
        };
        b[6..8].copy_from_slice(&ck.to_be_bytes());
        raw("192.0.2.5", "203.0.113.10", proto::UDPLITE, b)
    }

    /// Kernel fact (proto-edge.pcap, scenario 4): conntrack verifies UDP-Lite checksums with
    /// protocol 17 in the pseudo header, so the RFC 3828 checksum is "bad"; a zero checksum
    /// and a coverage below 8 are invalid everywhere.
    #[test]
    fn udplite_checksum_uses_the_udp_pseudo_header() {
        let mut ct = Conntrack::new();
        assert!(track(&mut ct, &udplite(8, proto::UDPLITE, false), false)
            .invalid
            .is_some());
        assert_eq!(
            track(&mut ct, &udplite(8, proto::UDP, false), false)
                .attach
                .info(),
            Some(CtInfo::New)
        );
        assert!(track(&mut ct, &udplite(0, proto::UDP, true), true)
            .invalid
            .is_some());
        assert!(track(&mut ct, &udplite(4, proto::UDP, false), true)
            .invalid
            .is_some());
        // Leaving the host the checksum is not checked.
        let mut ct = Conntrack::new();
        assert_eq!(
            track(&mut ct, &udplite(8, proto::UDPLITE, false), true)
                .attach
                .info(),
            Some(CtInfo::New)
        );
    }

    /// Kernel fact (ipv6-ext.pcap, frame 5): an IPv6 packet whose header chain ends in "no
    /// next header" (59) has no layer-4 protocol for conntrack: INVALID.
    #[test]
    fn ipv6_no_next_header_is_invalid() {
        let mut ct = Conntrack::new();
        let p = raw("2001:db8:1::7", "2001:db8::10", proto::IPV6_NONXT, vec![]);
        assert_eq!(track(&mut ct, &p, false).attach, Attach::None);
    }
}
