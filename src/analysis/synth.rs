//! Traffic the checks synthesise: TCP sessions (new, or already established when the rules are
//! loaded), UDP exchanges, pings and single probes — real packets with correct checksums, built
//! by [`crate::packet::build`], fed to the same engine as captures. TCP segments and their
//! sequence numbers come from [`crate::packet::conversation`] ([`Synth::conversation`]); this
//! file adds frame numbers, time stamps and the step labels of reports.

use std::net::IpAddr;

use crate::packet::build::{build, L4Spec, PacketSpec, TcpOpt};
use crate::packet::{tcp_flags as F, Conversation, Endpoint, LinkInfo, Packet, Side, Timestamp};

/// Capture time of the first synthetic packet (2023-11-14T22:13:20Z, as the generator).
pub(crate) const T0: u64 = 1_700_000_000_000_000_000;

/// One packet of a scenario and what it is, for reports ("SYN/ACK host → admin").
#[derive(Debug, Clone)]
pub struct Step {
    pub what: String,
    pub pkt: Packet,
}

/// Builds packets with increasing frame numbers and time stamps (10 ms apart).
#[derive(Debug, Clone)]
pub struct Synth {
    pub t: u64,
    pub frame: u64,
}

impl Default for Synth {
    fn default() -> Self {
        Synth { t: T0, frame: 0 }
    }
}

impl Synth {
    pub fn at(t: u64) -> Synth {
        Synth { t, frame: 0 }
    }

    pub fn packet(&mut self, spec: PacketSpec) -> Packet {
        self.frame += 1;
        self.t += 10_000_000;
        build(&spec, self.frame, Timestamp(self.t), LinkInfo::default())
    }

    /// Advance the clock without a packet.
    pub fn wait(&mut self, ns: u64) {
        self.t += ns;
    }

    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        &mut self,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        flags: u8,
        seq: u32,
        ack: u32,
        payload: usize,
    ) -> Packet {
        self.tcp_bytes(src, dst, flags, seq, ack, vec![b'x'; payload])
    }

    fn tcp_bytes(
        &mut self,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        flags: u8,
        seq: u32,
        ack: u32,
        payload: Vec<u8>,
    ) -> Packet {
        let spec =
            Self::conversation(src, dst, 0, 0).raw_payload(Side::Client, flags, seq, ack, &payload);
        self.packet(spec)
    }

    /// A TCP connection from `client` to `server` as the checks send it: window 502, SYNs
    /// with MSS 1460, SACK-permitted and window scale 7, TTL 64, payloads of `x`.
    pub fn conversation(
        client: (IpAddr, u16),
        server: (IpAddr, u16),
        client_isn: u32,
        server_isn: u32,
    ) -> Conversation {
        let end = |(addr, port): (IpAddr, u16), isn: u32| {
            Endpoint::new(addr, port, isn)
                .with_windows(502, 502)
                .with_syn_options(vec![TcpOpt::Mss(1460), TcpOpt::SackPerm, TcpOpt::WScale(7)])
        };
        Conversation::new(end(client, client_isn), end(server, server_isn))
    }

    pub fn udp(&mut self, src: (IpAddr, u16), dst: (IpAddr, u16), payload: usize) -> Packet {
        let mut spec = PacketSpec::new(
            src.0,
            dst.0,
            L4Spec::Udp {
                sport: src.1,
                dport: dst.1,
            },
        );
        spec.payload = vec![b'q'; payload];
        self.packet(spec)
    }

    pub fn icmp(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        icmp_type: u8,
        id: u16,
        seq: u16,
        payload: Vec<u8>,
    ) -> Packet {
        let mut spec = PacketSpec::new(
            src,
            dst,
            L4Spec::Icmp {
                icmp_type,
                code: 0,
                id,
                seq,
                quote: None,
            },
        );
        spec.payload = payload;
        self.packet(spec)
    }
}

impl Synth {
    /// An ICMP(v6) error from `src` (a router) about `quoted`, a packet the host sent: the
    /// error quotes its IP header and as much of the rest as the family asks for (IPv4: 8
    /// bytes, RFC 792; IPv6: up to 1232 bytes, RFC 4443). `mtu` fills the next-hop MTU field
    /// of fragmentation-needed / packet-too-big.
    pub(crate) fn icmp_error(
        &mut self,
        src: IpAddr,
        icmp_type: u8,
        code: u8,
        mtu: u16,
        quoted: &Packet,
    ) -> Packet {
        let keep = if quoted.src.is_ipv4() {
            let hl = (quoted.data[0] & 0x0f) as usize * 4;
            hl + 8
        } else {
            1232
        };
        let q = quoted.data[..keep.min(quoted.data.len())].to_vec();
        let inner = crate::packet::build::inner_of(&q);
        let spec = PacketSpec::new(
            src,
            quoted.src,
            L4Spec::Icmp {
                icmp_type,
                code,
                id: 0,
                seq: mtu,
                quote: Some((q, inner)),
            },
        );
        self.packet(spec)
    }
}

/// Echo request/reply types of the address family.
pub(crate) fn echo_types(v6: bool) -> (u8, u8) {
    if v6 {
        (128, 129)
    } else {
        (8, 0)
    }
}

/// The steps of a 3-way handshake on `cv` (`c`/`s` name the two sides in the step labels).
pub(crate) fn tcp_handshake(sy: &mut Synth, cv: &mut Conversation, c: &str, s: &str) -> Vec<Step> {
    let [syn, synack, ack] = cv.handshake();
    vec![
        Step {
            what: format!("SYN {c} → {s}"),
            pkt: sy.packet(syn),
        },
        Step {
            what: format!("SYN/ACK {s} → {c}"),
            pkt: sy.packet(synack),
        },
        Step {
            what: format!("ACK {c} → {s}"),
            pkt: sy.packet(ack),
        },
    ]
}

/// A complete TCP session from `client` to `server`: handshake, data both ways, FIN close
/// (`c`/`s` name the two sides in the step labels).
pub fn tcp_session(
    sy: &mut Synth,
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    c: &str,
    s: &str,
) -> Vec<Step> {
    let mut cv = Synth::conversation(client, server, 1_000, 5_000);
    let mut steps = tcp_handshake(sy, &mut cv, c, s);
    let mut st = |what: String, spec: PacketSpec| {
        steps.push(Step {
            what,
            pkt: sy.packet(spec),
        })
    };
    st(format!("data {c} → {s}"), cv.data(Side::Client, 100));
    st(format!("data {s} → {c}"), cv.data(Side::Server, 200));
    let [fin, ack, sfin, last] = cv.close_acked(Side::Client);
    st(format!("FIN {c} → {s}"), fin);
    st(format!("ACK {s} → {c}"), ack);
    st(format!("FIN {s} → {c}"), sfin);
    st(format!("ACK {c} → {s}"), last);
    steps
}

/// The next packets of an established session `cv`: data both ways and the client's ACK
/// (`c`/`s` name the two sides in the step labels).
pub(crate) fn tcp_established_steps(
    sy: &mut Synth,
    cv: &mut Conversation,
    c: &str,
    s: &str,
) -> Vec<Step> {
    let st = |what: String, pkt: Packet| Step { what, pkt };
    vec![
        st(
            format!("data {c} → {s} (established session)"),
            sy.packet(cv.data(Side::Client, 40)),
        ),
        st(
            format!("data {s} → {c} (established session)"),
            sy.packet(cv.data(Side::Server, 400)),
        ),
        st(
            format!("ACK {c} → {s} (established session)"),
            sy.packet(cv.send(Side::Client, F::ACK, 0)),
        ),
    ]
}

/// A TCP session that is already established when the rules are loaded: the `warmup` packets
/// (handshake and an exchange) build the connection under no rules; the `test` packets
/// continue it (data both ways, `tcp_established_steps`) under the ruleset being checked.
pub fn tcp_established(
    sy: &mut Synth,
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    c: &str,
    s: &str,
) -> (Vec<Packet>, Vec<Step>) {
    let (warmup, test, _) = tcp_established_conv(sy, client, server, c, s);
    (warmup, test)
}

/// [`tcp_established`], and the connection as it is after the warm-up (where the `test`
/// packets continue it).
pub(crate) fn tcp_established_conv(
    sy: &mut Synth,
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    c: &str,
    s: &str,
) -> (Vec<Packet>, Vec<Step>, Conversation) {
    let mut cv = Synth::conversation(client, server, 7_000, 9_000);
    let mut warmup: Vec<Packet> = cv.handshake().into_iter().map(|p| sy.packet(p)).collect();
    warmup.push(sy.packet(cv.data(Side::Client, 50)));
    warmup.push(sy.packet(cv.data(Side::Server, 60)));
    warmup.push(sy.packet(cv.send(Side::Client, F::ACK, 0)));
    sy.wait(2_000_000_000);
    let after_warmup = cv.clone();
    let test = tcp_established_steps(sy, &mut cv, c, s);
    (warmup, test, after_warmup)
}

/// A UDP request and its reply, then a second request.
pub(crate) fn udp_exchange(
    sy: &mut Synth,
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    c: &str,
    s: &str,
) -> Vec<Step> {
    let st = |what: String, pkt: Packet| Step { what, pkt };
    vec![
        st(format!("UDP {c} → {s}"), sy.udp(client, server, 60)),
        st(format!("UDP reply {s} → {c}"), sy.udp(server, client, 120)),
        st(format!("UDP {c} → {s}"), sy.udp(client, server, 60)),
    ]
}

/// An established UDP flow (warm-up: two exchanges), then traffic both ways.
pub(crate) fn udp_established(
    sy: &mut Synth,
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    c: &str,
    s: &str,
) -> (Vec<Packet>, Vec<Step>) {
    let warmup = vec![sy.udp(client, server, 60), sy.udp(server, client, 60)];
    sy.wait(2_000_000_000);
    let st = |what: String, pkt: Packet| Step { what, pkt };
    let test = vec![
        st(
            format!("UDP {c} → {s} (established flow)"),
            sy.udp(client, server, 60),
        ),
        st(
            format!("UDP {s} → {c} (established flow)"),
            sy.udp(server, client, 60),
        ),
    ];
    (warmup, test)
}

/// Deterministic high-entropy bytes (xorshift), as a tunnel's encrypted payload looks.
pub(crate) fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.extend_from_slice(&seed.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// Shannon entropy of a byte string, in bits per byte.
pub(crate) fn entropy(b: &[u8]) -> f64 {
    if b.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for x in b {
        counts[*x as usize] += 1;
    }
    // H = log2(n) - (1/n)·Σ c·log2(c); c·log2(c) from a table for the counts a frame can have
    // (replays test every large echo payload).
    const TABLE: usize = 2048;
    static CLOG: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    let clog = CLOG.get_or_init(|| {
        (0..TABLE)
            .map(|c| {
                if c == 0 {
                    0.0
                } else {
                    c as f64 * (c as f64).log2()
                }
            })
            .collect()
    });
    let n = b.len() as f64;
    let sum: f64 = counts
        .iter()
        .filter(|c| **c > 0)
        .map(|&c| match clog.get(c as usize) {
            Some(v) => *v,
            None => c as f64 * (c as f64).log2(),
        })
        .sum();
    (n.log2() - sum / n).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::entropy;

    /// The direct definition, -Σ p·log2(p).
    fn reference(b: &[u8]) -> f64 {
        let mut counts = [0u32; 256];
        for x in b {
            counts[*x as usize] += 1;
        }
        let n = b.len() as f64;
        counts
            .iter()
            .filter(|c| **c > 0)
            .map(|c| {
                let p = *c as f64 / n;
                -p * p.log2()
            })
            .sum()
    }

    #[test]
    fn entropy_matches_the_definition() {
        assert_eq!(entropy(&[]), 0.0);
        assert_eq!(entropy(&[7; 1000]), 0.0);
        let all: Vec<u8> = (0..=255).collect();
        assert!((entropy(&all) - 8.0).abs() < 1e-12);
        assert!((entropy(&[1, 2, 1, 2]) - 1.0).abs() < 1e-12);
        // Counts beyond the table, and a skewed mix.
        let mut big = vec![0u8; 70_000];
        for (i, b) in big.iter_mut().enumerate() {
            *b = (i % 3 == 0) as u8 + (i % 7 == 0) as u8 * 2;
        }
        for b in [&big[..], &big[..1500], &big[..3]] {
            assert!((entropy(b) - reference(b)).abs() < 1e-9, "{}", b.len());
        }
    }
}
