//! `nf_conntrack_in` and `resolve_normal_ct`: classify a packet at PREROUTING or OUTPUT, look
//! up or create its entry, and hand it to its protocol's tracker ([`super::proto`]: TCP,
//! UDP, UDP-Lite, ICMP and ICMPv6 — including errors that are RELATED to the connection they
//! quote —, SCTP, GRE and the generic tracker, also DCCP's since the kernel dropped its
//! tracker). Nothing here depends on the protocol: the tracker's hooks do.

use super::proto::{tracker, Cx, EntryCx, L4Tracker, L4Verdict};
use super::*;
use crate::packet::{proto, Family, Packet};

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
    /// The kernel may have found this packet INVALID where fwcheck tracked it (its transport
    /// checksum, verified at PREROUTING, is cut off by the capture): a match reading its
    /// connection that answers an INVALID packet otherwise is undecided.
    pub maybe_invalid: Option<&'static str>,
    /// Conntrack itself dropped the packet (`nf_conntrack_in` returning `NF_DROP`: the table
    /// is full and `early_drop` freed nothing).
    pub drop: Option<&'static str>,
}

pub(crate) fn invalid(why: &'static str) -> CtOutcome {
    CtOutcome {
        invalid: Some(why),
        ..CtOutcome::default()
    }
}

pub(crate) fn uncertain(why: &'static str) -> CtOutcome {
    CtOutcome {
        invalid: Some(why),
        uncertain: Some(why),
        ..CtOutcome::default()
    }
}

/// What a `CT` target in the raw table set for the connection a packet may create
/// (`nf_ct_tmpl`): its zone and helper.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Template {
    pub zone: u16,
    /// `--zone-orig` / `--zone-reply`: the one direction the zone applies to (`None`: both).
    pub(crate) zone_only: Option<CtDir>,
    pub helper: Option<super::helper::HelperId>,
}

impl Template {
    /// `nf_ct_zone_id(zone, dir)`: the zone's id in direction `d`, the default zone (0) in a
    /// direction it does not apply to.
    pub(crate) fn zone_id(&self, d: CtDir) -> u16 {
        zone_id(self.zone, self.zone_only, d)
    }
}

/// `nf_ct_zone_id` for a zone `id` limited to `only` (`None`: both directions).
pub(crate) fn zone_id(id: u16, only: Option<CtDir>, d: CtDir) -> u16 {
    match only {
        Some(o) if o != d => 0,
        _ => id,
    }
}

/// The packet's tuple (`nf_ct_get_tuple`): addresses, protocol and zone here, the rest from
/// the protocol's tracker.
fn packet_tuple(l4: &dyn L4Tracker, pkt: &Packet, zone: u16) -> Result<Tuple, CtOutcome> {
    let mut t = Tuple {
        src: pkt.src,
        dst: pkt.dst,
        proto: pkt.proto,
        sport: 0,
        dport: 0,
        zone,
    };
    l4.pkt_to_tuple(pkt, &mut t)?;
    Ok(t)
}

/// Whether conntrack holds a confirmed connection of `pkt` (its tuple in the default zone, in
/// either direction), without touching the table.
pub(crate) fn knows(ct: &Conntrack, pkt: &Packet) -> bool {
    packet_tuple(super::tracker(pkt.proto), pkt, 0).is_ok_and(|t| ct.find(&t).is_some())
}

/// Why a packet's connection state is uncertain when a lookup met its connection (or the
/// connection an ICMP error quotes) within one jiffy of its timeout.
pub(crate) const EXPIRY_EDGE: &str =
    "the connection's timeout ends within one jiffy of this packet: whether the kernel's clock \
     ticked past it depends on where its ticks fell, which the capture does not tell";

/// Classify `pkt` and update the conntrack table, as `nf_conntrack_in` does.
/// `attached` is what the packet already carries (NOTRACK from the raw table, or a
/// connection attached at OUTPUT for loopback traffic): such packets are left alone.
/// A connection met at its expiry edge (on a capture's clock) makes the outcome uncertain.
/// Why a packet stamped before an earlier frame is uncertain when its connection's (or its
/// expectation's) timeout falls between its own time stamp and the later one it runs at.
const EXPIRY_BEHIND: &str = "its time stamp is before an earlier frame's, and its connection's \
     timeout ends between the two: whether the kernel, handling it at its own time, still had \
     the connection is not known";

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
    ct.take_expiry_doubt();
    ct.take_behind_doubt();
    let mut o = resolve(ct, pkt, hook, attached, tmpl, p, now, frame);
    if ct.take_expiry_doubt() && o.uncertain.is_none() {
        o.uncertain = Some(EXPIRY_EDGE);
    }
    if ct.take_behind_doubt() && o.uncertain.is_none() {
        o.uncertain = Some(EXPIRY_BEHIND);
    }
    if o.invalid.is_none()
        && o.uncertain.is_none()
        && hook == CtHook::PreRouting
        && p.checksum
        && p.checksums != crate::packet::ChecksumMode::Ignore
        && pkt.l4_checksum_cut()
    {
        checksum_cut(ct, pkt, &mut o);
    }
    o
}

/// Why a packet whose verified checksum the capture cut off is uncertain.
pub(crate) const CHECKSUM_CUT: &str =
    "the capture's snap length cut off bytes the transport checksum covers, which conntrack \
     verifies at PREROUTING: with a bad checksum the kernel calls the packet INVALID \
     (--checksums ignore: the checksums were good)";

/// A packet tracked as though its cut-off checksum were good: where the kernel's other answer
/// (INVALID: no connection for the packet) would change only what matches read of its
/// connection — an established, untranslated connection, a segment that changes no TCP
/// state — those matches weigh both ([`CtOutcome::maybe_invalid`]); where it would also have
/// left the table otherwise (no new entry, no SYN, FIN or RST taken in, no NAT applied), the
/// packet is uncertain.
fn checksum_cut(ct: &Conntrack, pkt: &Packet, o: &mut CtOutcome) {
    use crate::packet::tcp_flags::{FIN, RST, SYN};
    let changes_state = pkt.tcp().is_some_and(|t| t.flags & (SYN | FIN | RST) != 0);
    let plain_entry = match o.attach {
        Attach::Ct { id, .. } => ct.get(id).is_some_and(|e| {
            e.is_confirmed() && e.status & (status::SRC_NAT | status::DST_NAT) == 0
        }),
        _ => false,
    };
    if o.new.is_none() && !changes_state && plain_entry {
        o.maybe_invalid = Some(CHECKSUM_CUT);
    } else {
        o.uncertain = Some(CHECKSUM_CUT);
    }
}

/// An IPv6 datagram whose extension header chain runs past its end (nmap -6 -sO sends each
/// extension header's number with no payload): `get_l4proto` finds no protocol where
/// `ipv6_skip_exthdr` cannot read a header's first bytes, and the protocol's
/// `pkt_to_tuple` (`nf_ct_get_tuple_ports`, `icmpv6_pkt_to_tuple`; `icmpv6_error` first) finds
/// no header past the end: no entry, INVALID either way. A chain whose last header only
/// claims more bytes than there are, before a protocol without ports, is tracked (as the
/// extension header's protocol here: README, not yet modelled). Kernel-checked:
/// ipv6-cut-exthdr.
fn cut_chain(pkt: &Packet) -> Option<CtOutcome> {
    let b = &pkt.data[..];
    let len = (pkt.ip_len as usize).min(b.len());
    let nh0 = *b.get(6)?;
    match crate::packet::decode::ipv6_skip_exthdr(b, nh0, 40, len) {
        None => Some(invalid(
            "IPv6 extension header cut off by the end of the datagram (ipv6_skip_exthdr finds \
             no protocol)",
        )),
        Some((_, _, fo)) if fo & !7 != 0 => Some(invalid("non-first fragment (not reassembled)")),
        Some((nh, off, _)) => {
            let need = match nh {
                proto::TCP | proto::UDP | proto::UDPLITE | proto::SCTP | proto::DCCP => 4,
                proto::ICMPV6 => 8,
                _ => return None,
            };
            (off + need > len).then(|| {
                invalid(
                    "IPv6 upper-layer header past the end of the datagram (its extension \
                     headers claim more bytes than there are: no tuple)",
                )
            })
        }
    }
}

/// [`conntrack_in`] without the expiry-edge note.
#[allow(clippy::too_many_arguments)]
fn resolve(
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
    if attached == Attach::Untracked && pkt.proto == proto::TCP {
        // NOTRACK'd: conntrack never sees the segment, but the capture holds it — an ACK of
        // its data from the other side is one of data conntrack did not see (kernel:
        // "ACK is over upper bound", INVALID), not a sign of a gap in the capture.
        if let Ok(t) = packet_tuple(tracker(proto::TCP), pkt, zone) {
            if let Some((id, dir)) = ct.find_dir(&t) {
                crate::conntrack::proto::tcp::hold_untracked(ct, id, dir, pkt);
            }
        }
    }
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
    if pkt.family == Family::V6 && pkt.anomalies.has(crate::packet::Anomalies::IPV6_BAD_EXT) {
        if let Some(o) = cut_chain(pkt) {
            return o;
        }
    }
    let l4 = tracker(pkt.proto);
    let cx = Cx {
        pkt,
        hook,
        tmpl,
        p,
        now,
    };
    // Protocol error checks that come before any entry is touched.
    if let Some(o) = l4.error(ct, &cx) {
        return o;
    }
    let tuple = match packet_tuple(l4, pkt, zone) {
        Ok(t) => t,
        Err(o) => return o,
    };
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
                let Some(mut reply) = l4.invert_tuple(&tuple) else {
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
                let proto_state = l4.new_state(&cx);
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
                    timeout_phase: 0,
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
        let entry = EntryCx {
            id,
            dir: info.dir(),
            is_new,
            status: ct.get(id).map(|e| e.status).unwrap_or(0),
        };
        // nf_conntrack_handle_packet
        match l4.packet(ct, &cx, entry) {
            L4Verdict::Accept => {}
            L4Verdict::Invalid(why) => {
                if is_new {
                    ct.discard(id);
                }
                return invalid(why);
            }
            L4Verdict::Uncertain(why) => {
                if is_new {
                    ct.discard(id);
                }
                return uncertain(why);
            }
            L4Verdict::Repeat => {
                // The tracker removed the entry: look the packet up again, once.
                repeat += 1;
                if repeat > 1 {
                    return invalid("TCP reopen repeated");
                }
                continue;
            }
        }
        if info == CtInfo::EstablishedReply {
            if let Some(e) = ct.get_mut(id) {
                e.status |= status::SEEN_REPLY;
            }
        }
        // `--conntrack-start tracked`: a TCP connection met mid-stream (no SYN in the capture)
        // is one the kernel tracked before the capture: established, both ways seen. Which
        // side opened it is not known: taken as the side of its first captured segment
        // (the conntrack match doubts where `--ctdir` or the tuple's orientation decides).
        let mut info = info;
        if is_new && p.tracked_at_start {
            let older = ct
                .get(id)
                .is_some_and(|e| e.tcp().is_some_and(|t| t.picked_up_mid_stream()))
                && !ct.syn_seen(&tuple);
            if older {
                if let Some(e) = ct.get_mut(id) {
                    e.status |= status::SEEN_REPLY | status::ASSURED;
                }
                info = CtInfo::Established;
            }
        }
        return CtOutcome {
            attach: Attach::Ct { id, info },
            new: is_new.then_some(id),
            invalid: None,
            uncertain: room_note,
            maybe_invalid: None,
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
