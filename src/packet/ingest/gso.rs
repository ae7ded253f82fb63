//! Segments of one GSO packet, as a capture on the sending host shows them. Mirrors
//! `tcp_gso_segment` (net/ipv4/tcp_offload.c), `__udp_gso_segment` (net/ipv4/udp_offload.c) and
//! `inet_gso_segment` (net/ipv4/af_inet.c), which `validate_xmit_skb` (net/core/dev.c) runs
//! when the output device cannot segment (a veth with `tso off`, `tx-udp-segmentation off`, a
//! virtual NIC without USO): after POSTROUTING and before the packet tap. OUTPUT and
//! POSTROUTING saw one packet — `-m length` its whole length, `limit` one token, the counters
//! one packet —, tcpdump shows its segments, back to back.
//!
//! Each segment carries the super-packet's headers: the same addresses and ports, the TCP
//! ACK, window and options (the time stamp value too); sequence numbers continue; PSH and FIN
//! only on the last segment (CWR only on the first); every segment but the last carries
//! `gso_size` bytes (the UDP segments too, each with a UDP header of its own); IPv4 ids count
//! up by one. They leave in one loop, microseconds apart (kernel hunt, 6.18, veth without
//! offloads: 1–14 µs, 35 µs once on `-i any`; separate super-packets of one TCP flow 36–211 µs
//! apart), and no other frame is captured between them.
//!
//! Whether two such frames were one packet in OUTPUT is not certain: separate sends can look
//! the same (UDP `sendmmsg` bursts of equal datagrams; TCP with `gso_max_segs 1`, one skb per
//! segment). The reader marks the pairs that may be ([`Anomalies::GSO_CONTINUED`]); the replay
//! judges each frame as before and says uncertain where the difference can change a verdict
//! (a length, a count, a rate, the payload a match reads: [`crate::engine::Engine`]'s
//! `gso_sensitive`).

use crate::packet::tcp_flags::{FIN, PSH, RST, SYN, URG};
use crate::packet::{Anomalies, Family, Packet, PacketProblem, L4};

/// Segments of one packet are captured at most this far apart.
pub(crate) const GSO_GAP_NS: u64 = 50_000;

/// Whether `next`, the frame captured right after `p`, may be the next segment of the GSO
/// packet `p` is a segment of (see the module docs). `size`: the segments' payload size when
/// `p` itself continues a train (all but the last segment carry exactly that much).
pub(crate) fn continues(p: &Packet, next: &Packet, size: Option<u32>) -> bool {
    if next.frame != p.frame + 1
        || next.link.interface != p.link.interface
        || next.src != p.src
        || next.dst != p.dst
        || next.proto != p.proto
        || next.frag.is_fragment()
        || p.frag.is_fragment()
        || next.ts.0 < p.ts.0
        || next.ts.0 - p.ts.0 > GSO_GAP_NS
        || next.payload_len == 0
        || next.payload_len > p.payload_len
        || size.is_some_and(|s| s != p.payload_len)
        || next.anomalies.has(Anomalies::CAP_TRUNCATED)
    {
        return false;
    }
    if p.family == Family::V4 && next.frag.id != (p.frag.id + 1) & 0xffff {
        return false;
    }
    match (&p.l4, &next.l4) {
        (L4::Tcp(a), L4::Tcp(b)) => {
            a.sport == b.sport
                && a.dport == b.dport
                && b.seq == a.seq.wrapping_add(p.payload_len)
                && a.ack == b.ack
                && a.window == b.window
                && a.flags & (PSH | FIN | SYN | RST | URG) == 0
                && b.flags & (SYN | RST) == 0
                && a.options.timestamp.map(|t| t.0) == b.options.timestamp.map(|t| t.0)
        }
        (L4::Udp(a), L4::Udp(b)) => a.sport == b.sport && a.dport == b.dport,
        _ => false,
    }
}

/// Whether the frame captured after `p` could continue it (TCP without PSH, FIN, SYN, RST or
/// URG, or UDP, with a payload, whole): only then does the reader look ahead before yielding
/// `p`.
pub(crate) fn may_continue(p: &Packet) -> bool {
    p.payload_len > 0
        && !p.frag.is_fragment()
        && match &p.l4 {
            L4::Tcp(t) => t.flags & (PSH | FIN | SYN | RST | URG) == 0,
            L4::Udp(_) => true,
            _ => false,
        }
}

/// Marks `p` ([`Anomalies::GSO_CONTINUED`]) when `next`, the frame captured right after it,
/// [`continues`] it. `size`: the payload size of the train `p` continues, if it does; left as
/// the size of the train `next` continues.
pub(crate) fn mark(p: &mut Packet, next: Option<&Packet>, size: &mut Option<u32>) {
    let within = size.take();
    if next.is_some_and(|n| may_continue(p) && continues(p, n, within)) {
        p.anomalies.set(Anomalies::GSO_CONTINUED);
        *size = Some(p.payload_len);
    }
}

/// Marks each item of `items` but the last from the one after it ([`mark`]); `size` carries
/// the train state from and to the neighbouring runs. The caller marks the last item once
/// the next is known (the decoding pipeline holds it back for the next batch).
pub(crate) fn mark_run(items: &mut [Result<Packet, PacketProblem>], size: &mut Option<u32>) {
    for i in 1..items.len() {
        let (before, after) = items.split_at_mut(i);
        match &mut before[i - 1] {
            Ok(p) => mark(p, after[0].as_ref().ok(), size),
            Err(_) => *size = None,
        }
    }
}

/// Marks the trains in packets in memory (synthetic traffic, flow specs, a capture read
/// whole), as the decoding pipeline does: frames that follow each other (their numbers) only.
pub fn mark_trains(pkts: &mut [Packet]) {
    let mut size = None;
    for i in 0..pkts.len() {
        let (p, rest) = pkts[i..].split_first_mut().expect("i < len");
        mark(p, rest.first(), &mut size);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::packet::build::{build, L4Spec, PacketSpec};
    use crate::packet::tcp_flags::ACK;
    use crate::packet::{LinkInfo, Timestamp};

    fn seg(ts_us: u64, id: u16, seq: u32, flags: u8, len: usize) -> Packet {
        let mut s = PacketSpec::new(
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            L4Spec::Tcp {
                sport: 40000,
                dport: 7000,
                seq,
                ack: 7,
                flags,
                window: 500,
                options: Vec::new(),
            },
        );
        s.ip_id = id;
        s.payload = vec![0; len];
        build(&s, id as u64, Timestamp(ts_us * 1000), LinkInfo::default())
    }

    /// A UDP segment from 192.0.2.1:40000 to 192.0.2.2:5000, frame `id` with IPv4 id `id`.
    pub(crate) fn udp(ts_us: u64, id: u16, len: usize) -> Packet {
        let mut s = PacketSpec::new(
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            L4Spec::Udp {
                sport: 40000,
                dport: 5000,
            },
        );
        s.ip_id = id;
        s.payload = vec![0; len];
        build(&s, id as u64, Timestamp(ts_us * 1000), LinkInfo::default())
    }

    /// `tcp_gso_segment`'s segments continue each other; PSH or FIN ends a packet, a gap of
    /// more than 50 µs, a sequence gap, an IPv4 id that does not count up or a longer next
    /// segment part two.
    #[test]
    fn what_continues_a_tcp_segment() {
        let a = seg(10, 100, 1000, ACK, 1448);
        assert!(continues(&a, &seg(12, 101, 2448, ACK, 1448), None));
        assert!(continues(&a, &seg(12, 101, 2448, ACK | PSH, 900), None));
        assert!(!continues(
            &seg(10, 100, 1000, ACK | PSH, 1448),
            &seg(12, 101, 2448, ACK, 1448),
            None
        ));
        assert!(!continues(&a, &seg(70, 101, 2448, ACK, 1448), None));
        assert!(!continues(&a, &seg(12, 101, 2449, ACK, 1448), None));
        assert!(!continues(&a, &seg(12, 102, 2448, ACK, 1448), None));
        assert!(!continues(&a, &seg(12, 101, 2448, ACK, 1460), None));
        // A train's segments all carry its size but the last.
        assert!(!continues(
            &seg(10, 100, 1000, ACK, 1000),
            &seg(12, 101, 2000, ACK, 900),
            Some(1448)
        ));
    }

    /// The reader marks every segment but the last of a UDP GSO datagram, and no plain
    /// datagram after it.
    #[test]
    fn a_udp_train_is_marked_up_to_its_last_segment() {
        let mut frames = vec![
            udp(0, 7, 1400),
            udp(2, 8, 1400),
            udp(4, 9, 1400),
            udp(6, 10, 900),
            udp(8, 11, 1400),
            udp(60_000, 12, 1000),
        ];
        mark_trains(&mut frames);
        let marks: Vec<bool> = frames
            .iter()
            .map(|p| p.anomalies.has(Anomalies::GSO_CONTINUED))
            .collect();
        assert_eq!(marks, [true, true, true, false, false, false]);
    }
}
