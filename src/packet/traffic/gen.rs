//! Synthetic traffic (`fwcheck gen PROFILE`): deterministic, plausible captures seen from one
//! host's network interface, for trying a ruleset without a real capture and as fixtures to
//! compare with a real kernel.
//!
//! Owns: the profiles ([`Profile`]), the options ([`GenOptions`]) and the session-level
//! builders (TCP sessions with realistic timing and time stamps, DNS, ICMP) shared with
//! [`crate::packet::flowspec`]. The TCP segments and their sequence numbers come from
//! [`crate::packet::conversation`]. Everything is derived from the seed: no wall clock, no hash-map order,
//! no threads. Same options ⇒ same packets ⇒ same bytes.
//!
//! Addresses are documentation ranges only: the host is 203.0.113.10 unless `--host` says
//! otherwise; clients and servers come from 198.51.100.0/24 and 192.0.2.0/24, the resolver is
//! 192.0.2.53; with an IPv6 `--host`, IPv6 peers come from 2001:db8::/32 (resolver
//! 2001:db8::53). MAC addresses are locally administered (02:…): the host is
//! 02:00:00:00:00:0a, every remote packet comes through the gateway 02:00:00:00:00:01.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::packet::build::{build, L4Spec, PacketSpec, TcpOpt};
use crate::packet::tcp_flags::{ACK, FIN, PSH, RST, SYN, URG};
use crate::packet::traffic::rng::Rng;
use crate::packet::writer::{DEFAULT_HOST_MAC, DEFAULT_PEER_MAC};
use crate::packet::{
    Conversation, Endpoint, Family, InnerPacket, LinkInfo, Packet, PktType, Side as ConvSide,
    Timestamp,
};

/// A traffic profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Profile {
    /// A public web server's day in 20 seconds (the default; see `Profile::description`).
    #[default]
    Webserver,
    /// Port scans: SYN scan, NULL/XMAS/FIN/SYN+FIN probes, UDP probes, a ping.
    Scan,
    /// DNS: clients querying the host's resolver, the host's own lookups, unsolicited replies,
    /// a DNS-over-TCP exchange and an ICMP port-unreachable quoting a query.
    Dns,
    /// An ICMP echo-request flood at 1 ms intervals from one source (no replies).
    PingFlood,
    /// Port knocking: a correct knock sequence followed by SSH, a wrong-order knock and a
    /// direct SSH attempt without knocking.
    Knock,
    /// FTP sessions to the host: control connections and the data connections they announce.
    Ftp,
}

impl Profile {
    pub const ALL: [Profile; 6] = [
        Profile::Webserver,
        Profile::Scan,
        Profile::Dns,
        Profile::PingFlood,
        Profile::Knock,
        Profile::Ftp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Profile::Webserver => "webserver",
            Profile::Scan => "scan",
            Profile::Dns => "dns",
            Profile::PingFlood => "ping-flood",
            Profile::Knock => "knock",
            Profile::Ftp => "ftp",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown profile '{s}' (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// The default start time of generated captures (2023-11-14T22:13:20Z).
pub const DEFAULT_START_SECS: u64 = 1_700_000_000;

/// The default host address.
pub(crate) const DEFAULT_HOST: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

/// Options of `fwcheck gen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenOptions {
    pub profile: Profile,
    /// The capturing host's addresses. Flows are generated for each family present (the first
    /// address of each family is used). Default: 203.0.113.10.
    pub host: Vec<IpAddr>,
    pub seed: u64,
    /// Scale: number of client sessions (webserver), see each profile. Default 12.
    pub flows: usize,
    /// Time stamp of the first packet. Default 1700000000 s.
    pub start: Timestamp,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            profile: Profile::Webserver,
            host: vec![IpAddr::V4(DEFAULT_HOST)],
            seed: 1,
            flows: 12,
            start: Timestamp::from_secs_nanos(DEFAULT_START_SECS, 0),
        }
    }
}

/// Generates the packets of `opts.profile`, time-ordered, frames numbered from 1.
pub fn generate(opts: &GenOptions) -> Vec<Packet> {
    let mut sim = Sim::new(opts.seed, opts.start);
    run_profile(&mut sim, opts);
    sim.finish()
}

/// [`generate`] written as a classic pcap to `w` in bounded memory: the packets are kept as
/// frames and spilled in sorted runs to temporary files, merged in time order as they are
/// written. The bytes are those of `write_pcap(w, &generate(opts))`. Returns the number of
/// packets written.
pub fn write_generated<W: std::io::Write>(opts: &GenOptions, w: W) -> std::io::Result<u64> {
    let mut sim = Sim::streaming(opts.seed, opts.start, SPILL_BYTES);
    run_profile(&mut sim, opts);
    sim.finish_into(w)
}

/// Frame bytes a streaming generator holds before it spills a sorted run to disk.
pub(crate) const SPILL_BYTES: usize = 32 << 20;

fn run_profile(sim: &mut Sim, opts: &GenOptions) {
    let hosts = host_per_family(&opts.host);
    for (i, host) in hosts.iter().enumerate() {
        let peers = Peers::for_host(*host);
        let mut rng = sim.rng.fork(i as u64 + 1);
        match opts.profile {
            Profile::Webserver => webserver(sim, &mut rng, &peers, opts.flows),
            Profile::Scan => scan(sim, &mut rng, &peers, opts.flows),
            Profile::Dns => dns_profile(sim, &mut rng, &peers, opts.flows),
            Profile::PingFlood => ping_flood(sim, &mut rng, &peers, opts.flows),
            Profile::Knock => knock(sim, &mut rng, &peers, opts.flows),
            Profile::Ftp => ftp(sim, &mut rng, &peers, opts.flows),
        }
    }
}

fn host_per_family(hosts: &[IpAddr]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    if let Some(h) = hosts.iter().find(|a| a.is_ipv4()) {
        out.push(*h);
    }
    if let Some(h) = hosts.iter().find(|a| a.is_ipv6()) {
        out.push(*h);
    }
    if out.is_empty() {
        out.push(IpAddr::V4(DEFAULT_HOST));
    }
    out
}

/// Remote peers for one family.
#[derive(Debug, Clone)]
pub(crate) struct Peers {
    pub(crate) host: IpAddr,
    pub(crate) family: Family,
}

impl Peers {
    pub(crate) fn for_host(host: IpAddr) -> Self {
        Peers {
            host,
            family: match host {
                IpAddr::V4(_) => Family::V4,
                IpAddr::V6(_) => Family::V6,
            },
        }
    }

    /// Address number `n` of network `net` (0: 198.51.100.0/24 or 2001:db8:1::/64, 1:
    /// 192.0.2.0/24 or 2001:db8:2::/64).
    fn addr(&self, net: u8, n: u8) -> IpAddr {
        match self.family {
            Family::V4 => {
                if net == 0 {
                    IpAddr::V4(Ipv4Addr::new(198, 51, 100, n))
                } else {
                    IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))
                }
            }
            Family::V6 => IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                1 + net as u16,
                0,
                0,
                0,
                0,
                n as u16,
            )),
        }
    }

    fn resolver(&self) -> IpAddr {
        match self.family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53)),
            Family::V6 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53)),
        }
    }

    fn client(&self, rng: &mut Rng) -> IpAddr {
        let net = rng.range(0, 1) as u8;
        // avoid the named servers below (.22 .25 .53 .66 .77 .80 .99 .200)
        let mut n = rng.range(100, 190) as u8;
        if n == 99 {
            n = 101;
        }
        self.addr(net, n)
    }
}

/// Who sends a packet, for timing and link-layer addressing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Host,
    Remote,
}

/// The event list being built: (time in µs since start, insertion order, packet), kept as
/// packets or, streaming, as frames spilled in sorted runs ([`Spill`]).
pub(crate) struct Sim {
    start: Timestamp,
    pub(crate) rng: Rng,
    out: Vec<(u64, u64, Packet)>,
    spill: Option<Spill>,
    order: u64,
    ip_ids: std::collections::BTreeMap<IpAddr, u16>,
    hosts: Vec<IpAddr>,
}

impl Sim {
    pub(crate) fn new(seed: u64, start: Timestamp) -> Self {
        Sim {
            start,
            rng: Rng::new(seed),
            out: Vec::new(),
            spill: None,
            order: 0,
            ip_ids: Default::default(),
            hosts: Vec::new(),
        }
    }

    /// A generator that keeps frames, not packets, spilling a sorted run to a temporary file
    /// whenever `limit` bytes of them are held ([`Sim::finish_into`] merges the runs).
    pub(crate) fn streaming(seed: u64, start: Timestamp, limit: usize) -> Self {
        Sim {
            spill: Some(Spill {
                held: Vec::new(),
                bytes: 0,
                limit,
                runs: Vec::new(),
                error: None,
            }),
            ..Sim::new(seed, start)
        }
    }

    fn side(&self, src: IpAddr) -> Side {
        if self.hosts.contains(&src) {
            Side::Host
        } else {
            Side::Remote
        }
    }

    pub(crate) fn add_host(&mut self, h: IpAddr) {
        if !self.hosts.contains(&h) {
            self.hosts.push(h);
        }
    }

    fn next_ip_id(&mut self, src: IpAddr) -> u16 {
        let seed = self.rng.next_u32() as u16;
        let e = self.ip_ids.entry(src).or_insert(seed);
        *e = e.wrapping_add(1);
        *e
    }

    /// Emits one packet at `t` µs.
    fn emit(&mut self, t: u64, mut spec: PacketSpec) -> Packet {
        let side = self.side(spec.src);
        spec.ip_id = self.next_ip_id(spec.src);
        let (src_mac, dst_mac) = match side {
            Side::Host => (DEFAULT_HOST_MAC, DEFAULT_PEER_MAC),
            Side::Remote => (DEFAULT_PEER_MAC, DEFAULT_HOST_MAC),
        };
        let link = LinkInfo {
            linktype: 1,
            src_mac: Some(src_mac),
            dst_mac: Some(dst_mac),
            pkt_type: PktType::Host,
            vlan: None,
            interface: 0,
            ifname: None,
            ifindex: None,
        };
        let p = build(&spec, 0, Timestamp(t), link);
        self.order += 1;
        match &mut self.spill {
            Some(sp) => sp.push(
                t,
                self.order,
                crate::packet::writer::frame_packet(crate::packet::decode::linktype::ETHERNET, &p),
            ),
            None => self.out.push((t, self.order, p.clone())),
        }
        p
    }

    pub(crate) fn is_host(&self, a: IpAddr) -> bool {
        self.hosts.contains(&a)
    }

    /// Emits a fully specified packet at `t` µs (IP id assigned here).
    pub(crate) fn emit_spec(&mut self, t: u64, spec: PacketSpec) -> Packet {
        self.emit(t, spec)
    }

    /// Sorts, makes time stamps strictly increasing, numbers frames.
    pub(crate) fn finish(mut self) -> Vec<Packet> {
        self.out.sort_by_key(|(t, o, _)| (*t, *o));
        let mut last: Option<u64> = None;
        let mut v = Vec::with_capacity(self.out.len());
        for (i, (t, _, mut p)) in self.out.into_iter().enumerate() {
            let t = strictly_after(&mut last, t);
            p.frame = i as u64 + 1;
            p.ts = Timestamp(self.start.0 + t * 1000);
            v.push(p);
        }
        v
    }

    /// A streaming generator's frames as a classic pcap (the bytes [`Sim::finish`] and
    /// `write_pcap` give): the runs on disk and the frames held merged by (time, order), time
    /// stamps made strictly increasing as they are written. Returns the number of packets.
    pub(crate) fn finish_into<W: std::io::Write>(self, w: W) -> std::io::Result<u64> {
        use crate::packet::writer::{write_pcap_header, write_pcap_record, PcapOptions, Record};
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        use std::io::Write as _;
        let start = self.start;
        let Some(Spill {
            mut held,
            mut runs,
            error,
            ..
        }) = self.spill
        else {
            let packets = self.finish();
            crate::packet::writer::write_pcap(w, &packets)?;
            return Ok(packets.len() as u64);
        };
        if let Some(e) = error {
            return Err(e);
        }
        held.sort_unstable_by_key(|(t, o, _)| (*t, *o));
        let mut held = held.into_iter();
        let n = runs.len();
        // Source i < n: run i on disk; source n: the frames still held.
        let mut read = |i: usize| match runs.get_mut(i) {
            Some(r) => Spill::read(r),
            None => Ok(held.next()),
        };
        let mut frames: Vec<Vec<u8>> = vec![Vec::new(); n + 1];
        let mut heap = BinaryHeap::with_capacity(n + 1);
        for (i, slot) in frames.iter_mut().enumerate() {
            if let Some((t, o, f)) = read(i)? {
                *slot = f;
                heap.push(Reverse((t, o, i)));
            }
        }
        let o = PcapOptions::default();
        let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
        write_pcap_header(&mut w, &o)?;
        let (mut last, mut count) = (None, 0u64);
        while let Some(Reverse((t, _, i))) = heap.pop() {
            let data = std::mem::take(&mut frames[i]);
            let t = strictly_after(&mut last, t);
            let r = Record {
                ts: Timestamp(start.0 + t * 1000),
                orig_len: data.len() as u32,
                data,
                interface: 0,
            };
            write_pcap_record(&mut w, &o, &r)?;
            count += 1;
            if let Some((t, ord, f)) = read(i)? {
                frames[i] = f;
                heap.push(Reverse((t, ord, i)));
            }
        }
        w.flush()?;
        Ok(count)
    }
}

/// `t`, or just after the last time stamp given when it is not later (time stamps strictly
/// increase).
fn strictly_after(last: &mut Option<u64>, t: u64) -> u64 {
    let t = match *last {
        Some(l) if t <= l => l + 1,
        _ => t,
    };
    *last = Some(t);
    t
}

/// A streaming generator's frames: (time, order, frame bytes) held until `limit` bytes, then
/// sorted and written as a run to an anonymous temporary file (a merge sort's runs; memory
/// stays bounded whatever the number of flows).
struct Spill {
    held: Vec<(u64, u64, Vec<u8>)>,
    bytes: usize,
    limit: usize,
    runs: Vec<std::io::BufReader<std::fs::File>>,
    /// The first error writing a run (reported by [`Sim::finish_into`]).
    error: Option<std::io::Error>,
}

impl Spill {
    fn push(&mut self, t: u64, order: u64, frame: Vec<u8>) {
        if self.error.is_some() {
            return;
        }
        self.bytes += frame.len() + 40;
        self.held.push((t, order, frame));
        if self.bytes >= self.limit {
            if let Err(e) = self.spill_run() {
                self.held.clear();
                self.error = Some(e);
            }
        }
    }

    /// Records: time and order (u64 LE), length (u32 LE), frame.
    fn spill_run(&mut self) -> std::io::Result<()> {
        use std::io::{Seek, Write};
        self.held.sort_unstable_by_key(|(t, o, _)| (*t, *o));
        let mut f = tempfile::tempfile()?;
        {
            let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut f);
            for (t, o, d) in self.held.drain(..) {
                w.write_all(&t.to_le_bytes())?;
                w.write_all(&o.to_le_bytes())?;
                w.write_all(&(d.len() as u32).to_le_bytes())?;
                w.write_all(&d)?;
            }
            w.flush()?;
        }
        f.seek(std::io::SeekFrom::Start(0))?;
        self.runs
            .push(std::io::BufReader::with_capacity(1 << 16, f));
        self.bytes = 0;
        Ok(())
    }

    fn read(
        r: &mut std::io::BufReader<std::fs::File>,
    ) -> std::io::Result<Option<(u64, u64, Vec<u8>)>> {
        use std::io::Read;
        let mut h = [0u8; 20];
        match r.read_exact(&mut h) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let word = |a: usize| u64::from_le_bytes(h[a..a + 8].try_into().expect("8 bytes"));
        let len = u32::from_le_bytes(h[16..20].try_into().expect("4 bytes")) as usize;
        let mut d = vec![0u8; len];
        r.read_exact(&mut d)?;
        Ok(Some((word(0), word(8), d)))
    }
}

fn ttl_for(rng: &mut Rng, side: Side) -> u8 {
    match side {
        Side::Host => 64,
        Side::Remote => {
            if rng.range(0, 3) == 0 {
                128 - rng.range(8, 20) as u8
            } else {
                64 - rng.range(5, 18) as u8
            }
        }
    }
}

/// One end of a TCP connection: the [`Endpoint`] (address, port, next sequence number,
/// windows, TTL) and the base of its TCP time stamps.
#[derive(Debug, Clone)]
pub(crate) struct TcpEnd {
    pub(crate) end: Endpoint,
    ts_val: u32,
}

impl TcpEnd {
    pub(crate) fn new(rng: &mut Rng, ip: IpAddr, port: u16, side_host: bool) -> Self {
        let side = if side_host { Side::Host } else { Side::Remote };
        let seq = rng.next_u32();
        let ts_val = rng.next_u32() >> 1;
        let ttl = ttl_for(rng, side);
        let syn_window = *rng.pick(&[64240, 65535, 29200]);
        let window = *rng.pick(&[501, 502, 509, 1026, 2048]);
        TcpEnd {
            end: Endpoint::new(ip, port, seq)
                .with_windows(syn_window, window)
                .with_ttl(ttl),
            ts_val,
        }
    }
}

/// A message in a TCP session: which end sends it and the bytes.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    pub(crate) from_client: bool,
    pub(crate) data: Vec<u8>,
}

/// How a scripted TCP exchange begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    Handshake,
    /// The capture starts mid-stream: no handshake is seen.
    MidStream,
}

/// Timing state of one session: RTT and the current time.
struct Clock {
    t: u64,
    rtt: u64,
    last: Option<bool>,
}

impl Clock {
    /// Advances the clock for a packet sent by the client (`true`) or server, where `client_is_host`
    /// tells which side the capture sits on.
    fn step(&mut self, rng: &mut Rng, from_client: bool, client_is_host: bool) -> u64 {
        let sender_is_host = from_client == client_is_host;
        let dt = match self.last {
            None => 0,
            Some(prev) if prev == from_client => rng.range(60, 400),
            Some(_) => {
                if sender_is_host {
                    rng.range(40, 600)
                } else {
                    self.rtt + rng.range(0, 3000)
                }
            }
        };
        self.last = Some(from_client);
        self.t += dt;
        self.t
    }
}

const MSS: usize = 1448;

/// A complete scripted TCP session; returns the time of its last packet.
#[allow(clippy::too_many_arguments)]
pub(crate) fn tcp_session(
    sim: &mut Sim,
    rng: &mut Rng,
    t0: u64,
    c: TcpEnd,
    s: TcpEnd,
    msgs: &[Msg],
    start: Start,
    close: bool,
) -> u64 {
    tcp_exchange(sim, rng, t0, c, s, msgs, start, close).0
}

/// [`tcp_session`] returning the two ends as they are after it, so a session can go on
/// ([`Start::MidStream`]) after something else happened.
#[allow(clippy::too_many_arguments)]
pub(crate) fn tcp_exchange(
    sim: &mut Sim,
    rng: &mut Rng,
    t0: u64,
    c: TcpEnd,
    s: TcpEnd,
    msgs: &[Msg],
    start: Start,
    close: bool,
) -> (u64, TcpEnd, TcpEnd) {
    let client_is_host = sim.side(c.end.addr) == Side::Host;
    let mut clk = Clock {
        t: t0,
        rtt: rng.range(20_000, 50_000),
        last: None,
    };
    let ms0 = t0 / 1000;
    // TSval of an end (by its base) at time `t`.
    let ts = |base: u32, t: u64| base.wrapping_add((t / 1000 - ms0) as u32);
    let mut last_ts = [0u32; 2]; // the last TSval seen from the client, the server
    let mut conv = Conversation::new(c.end, s.end).with_dont_fragment(true);
    let base = [c.ts_val, s.ts_val];
    let mut send = |sim: &mut Sim,
                    rng: &mut Rng,
                    clk: &mut Clock,
                    conv: &mut Conversation,
                    from: ConvSide,
                    flags: u8,
                    payload: &[u8],
                    syn_opts: bool| {
        let from_client = from == ConvSide::Client;
        let t = clk.step(rng, from_client, client_is_host);
        let (me, peer) = if from_client { (0, 1) } else { (1, 0) };
        let my_ts = ts(base[me], t);
        let options = if syn_opts {
            vec![
                TcpOpt::Mss(1460),
                TcpOpt::SackPerm,
                TcpOpt::Timestamp(my_ts, last_ts[peer]),
                TcpOpt::Nop,
                TcpOpt::WScale(7),
            ]
        } else {
            vec![
                TcpOpt::Nop,
                TcpOpt::Nop,
                TcpOpt::Timestamp(my_ts, last_ts[peer]),
            ]
        };
        sim.emit(t, conv.send_with(from, flags, payload.to_vec(), options));
        last_ts[me] = my_ts;
    };
    use ConvSide::{Client, Server};
    if start == Start::Handshake {
        send(sim, rng, &mut clk, &mut conv, Client, SYN, &[], true);
        send(sim, rng, &mut clk, &mut conv, Server, SYN | ACK, &[], true);
        send(sim, rng, &mut clk, &mut conv, Client, ACK, &[], false);
    }
    for (i, m) in msgs.iter().enumerate() {
        let (from, to) = if m.from_client {
            (Client, Server)
        } else {
            (Server, Client)
        };
        let chunks: Vec<&[u8]> = m.data.chunks(MSS).collect();
        for (j, ch) in chunks.iter().enumerate() {
            let last = j + 1 == chunks.len();
            let flags = if last { PSH | ACK } else { ACK };
            send(sim, rng, &mut clk, &mut conv, from, flags, ch, false);
            // The receiver ACKs every second segment.
            if !last && j % 2 == 1 {
                send(sim, rng, &mut clk, &mut conv, to, ACK, &[], false);
            }
        }
        let next_from_receiver = msgs
            .get(i + 1)
            .map(|n| n.from_client != m.from_client)
            .unwrap_or(false);
        if !next_from_receiver {
            send(sim, rng, &mut clk, &mut conv, to, ACK, &[], false);
        }
    }
    if close {
        send(sim, rng, &mut clk, &mut conv, Client, FIN | ACK, &[], false);
        send(sim, rng, &mut clk, &mut conv, Server, FIN | ACK, &[], false);
        send(sim, rng, &mut clk, &mut conv, Client, ACK, &[], false);
    }
    // Timestamps go on from here if the session continues.
    let elapsed = (clk.t / 1000 - ms0) as u32;
    let end = |end: Endpoint, base: u32| TcpEnd {
        end,
        ts_val: base.wrapping_add(elapsed),
    };
    (clk.t, end(conv.client, base[0]), end(conv.server, base[1]))
}

/// A single TCP segment with arbitrary flags (scans, probes).
#[allow(clippy::too_many_arguments)]
pub(crate) fn tcp_probe(
    sim: &mut Sim,
    t: u64,
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    flags: u8,
    seq: u32,
    ttl: u8,
) {
    let options = if flags & SYN != 0 {
        vec![TcpOpt::Mss(1460)]
    } else {
        vec![]
    };
    let mut spec = PacketSpec::new(
        src,
        dst,
        L4Spec::Tcp {
            sport,
            dport,
            seq,
            ack: 0,
            flags,
            window: 1024,
            options,
        },
    );
    spec.ttl = ttl;
    sim.emit(t, spec);
}

fn encode_name(out: &mut Vec<u8>, name: &str) {
    for label in name.split('.').filter(|l| !l.is_empty()) {
        let l = &label.as_bytes()[..label.len().min(63)];
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.push(0);
}

/// A DNS query message (RD set).
pub(crate) fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    encode_name(&mut m, name);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

/// A DNS response answering `name` with the given addresses (type A or AAAA by family).
pub(crate) fn dns_response(id: u16, name: &str, answers: &[IpAddr]) -> Vec<u8> {
    let qtype = match answers.first() {
        Some(IpAddr::V6(_)) => 28u16,
        _ => 1,
    };
    let mut m = Vec::with_capacity(128);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x81, 0x80, 0, 1]);
    m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    encode_name(&mut m, name);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    for a in answers {
        m.extend_from_slice(&[0xc0, 0x0c]);
        match a {
            IpAddr::V4(v) => {
                m.extend_from_slice(&[0, 1, 0, 1]);
                m.extend_from_slice(&300u32.to_be_bytes());
                m.extend_from_slice(&4u16.to_be_bytes());
                m.extend_from_slice(&v.octets());
            }
            IpAddr::V6(v) => {
                m.extend_from_slice(&[0, 28, 0, 1]);
                m.extend_from_slice(&300u32.to_be_bytes());
                m.extend_from_slice(&16u16.to_be_bytes());
                m.extend_from_slice(&v.octets());
            }
        }
    }
    m
}

/// One UDP datagram; returns the built packet.
#[allow(clippy::too_many_arguments)]
pub(crate) fn udp(
    sim: &mut Sim,
    t: u64,
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    ttl: u8,
    payload: Vec<u8>,
) -> Packet {
    let mut spec = PacketSpec::new(src, dst, L4Spec::Udp { sport, dport });
    spec.ttl = ttl;
    spec.payload = payload;
    sim.emit(t, spec)
}

/// An ICMP/ICMPv6 echo request (`reply = false`) or reply.
#[allow(clippy::too_many_arguments)]
pub(crate) fn echo(
    sim: &mut Sim,
    t: u64,
    src: IpAddr,
    dst: IpAddr,
    reply: bool,
    id: u16,
    seq: u16,
    ttl: u8,
    payload: Vec<u8>,
) {
    let v6 = src.is_ipv6();
    let icmp_type = match (v6, reply) {
        (false, false) => 8,
        (false, true) => 0,
        (true, false) => 128,
        (true, true) => 129,
    };
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
    spec.ttl = ttl;
    spec.dont_fragment = !v6;
    spec.payload = payload;
    sim.emit(t, spec);
}

/// The 56-byte payload of Linux `ping`: a timeval, then 0x10, 0x11, ...
fn ping_payload(t_us: u64, start: Timestamp) -> Vec<u8> {
    let abs = start.0 / 1000 + t_us;
    let mut p = Vec::with_capacity(56);
    p.extend_from_slice(&(abs / 1_000_000).to_le_bytes());
    p.extend_from_slice(&(abs % 1_000_000).to_le_bytes());
    p.extend((0x10u8..).take(40));
    p
}

/// A ping exchange of `count` request/reply pairs, one per second; returns the end time.
#[allow(clippy::too_many_arguments)]
pub(crate) fn ping(
    sim: &mut Sim,
    rng: &mut Rng,
    t0: u64,
    from: IpAddr,
    to: IpAddr,
    count: u16,
    replies: bool,
    interval_us: u64,
) -> u64 {
    let id = rng.next_u32() as u16;
    let from_side = sim.side(from);
    let ttl_from = ttl_for(rng, from_side);
    let ttl_to = ttl_for(
        rng,
        if from_side == Side::Host {
            Side::Remote
        } else {
            Side::Host
        },
    );
    let rtt = rng.range(20_000, 50_000);
    let mut t = t0;
    for seq in 1..=count {
        let pl = ping_payload(t, sim.start);
        echo(sim, t, from, to, false, id, seq, ttl_from, pl.clone());
        if replies {
            let dt = if from_side == Side::Host {
                rtt
            } else {
                rng.range(30, 200)
            };
            echo(sim, t + dt, to, from, true, id, seq, ttl_to, pl);
        }
        t += interval_us + rng.range(0, 900);
    }
    t
}

/// An ICMP destination-unreachable (port unreachable) from `from` quoting `orig`.
pub(crate) fn port_unreachable(sim: &mut Sim, t: u64, from: IpAddr, orig: &Packet, ttl: u8) {
    let v6 = from.is_ipv6();
    // RFC 1812: quote as much as fits in 576 bytes (IPv4) / 1280 (IPv6).
    let max = if v6 { 1280 - 48 } else { 576 - 28 };
    let quote = orig.data[..orig.data.len().min(max)].to_vec();
    let inner = InnerPacket {
        family: orig.family,
        src: orig.src,
        dst: orig.dst,
        proto: orig.proto,
        frag_offset: orig.frag.offset,
        ports: orig.ports(),
        icmp: None,
        tcp_seq: orig.tcp().map(|t| t.seq),
        l4_len: quote.len().saturating_sub(usize::from(orig.ip_hdr_len)) as u16,
    };
    let (icmp_type, code) = if v6 { (1, 4) } else { (3, 3) };
    let mut spec = PacketSpec::new(
        from,
        orig.src,
        L4Spec::Icmp {
            icmp_type,
            code,
            id: 0,
            seq: 0,
            quote: Some((quote, inner)),
        },
    );
    spec.ttl = ttl;
    sim.emit(t, spec);
}

/// One ICMP(v6) message `icmp_type`/`code` from `src` to `dst`. Error types quote a UDP
/// packet `dst`:40000 → `src`:33434 (as if `dst` had sent it, traceroute-style).
pub(crate) fn port_unreachable_like(
    sim: &mut Sim,
    rng: &mut Rng,
    t: u64,
    src: IpAddr,
    dst: IpAddr,
    icmp_type: u8,
    code: u8,
) {
    let fam = if src.is_ipv6() {
        Family::V6
    } else {
        Family::V4
    };
    let quote = if crate::packet::decode::icmp_is_error(fam, icmp_type) {
        let mut q = PacketSpec::new(
            dst,
            src,
            L4Spec::Udp {
                sport: 40000,
                dport: 33434,
            },
        );
        q.payload = vec![0x40; 24];
        q.ip_id = rng.next_u32() as u16;
        let orig = build(&q, 0, Timestamp(0), LinkInfo::default());
        let inner = InnerPacket {
            family: fam,
            src: dst,
            dst: src,
            proto: orig.proto,
            frag_offset: 0,
            ports: Some((40000, 33434)),
            icmp: None,
            tcp_seq: None,
            l4_len: orig.data.len().saturating_sub(usize::from(orig.ip_hdr_len)) as u16,
        };
        Some((orig.data.to_vec(), inner))
    } else {
        None
    };
    let (id, seq) = if quote.is_some() {
        (0, 0)
    } else {
        (rng.next_u32() as u16, 1)
    };
    let mut spec = PacketSpec::new(
        src,
        dst,
        L4Spec::Icmp {
            icmp_type,
            code,
            id,
            seq,
            quote,
        },
    );
    spec.ttl = 64;
    sim.emit(t, spec);
}

fn ephemeral(rng: &mut Rng) -> u16 {
    rng.range(32768, 60999) as u16
}

fn http_request(rng: &mut Rng, host: &str, path: &str) -> Vec<u8> {
    let agents = [
        "curl/8.5.0",
        "Mozilla/5.0 (X11; Linux x86_64)",
        "Debian APT-HTTP/1.3 (2.6.1)",
    ];
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {}\r\nAccept: */*\r\n\r\n",
        rng.pick(&agents)
    )
    .into_bytes()
}

fn http_response(rng: &mut Rng, body_len: usize) -> Vec<u8> {
    let words: [&[u8]; 5] = [b"lorem ", b"ipsum ", b"dolor ", b"sit ", b"amet "];
    let mut body: Vec<u8> = Vec::with_capacity(body_len + 8);
    let mut line = 0;
    while body.len() < body_len {
        let w = *rng.pick::<&[u8]>(&words[..]);
        body.extend_from_slice(w);
        line += w.len();
        if line > 64 {
            body.push(b'\n');
            line = 0;
        }
    }
    body.truncate(body_len);
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: {body_len}\r\n\r\n"
    )
    .into_bytes();
    r.extend_from_slice(&body);
    r
}

/// TLS-looking record: content type, version, length, random body.
fn tls_record(rng: &mut Rng, ctype: u8, len: usize) -> Vec<u8> {
    let mut r = vec![ctype, 3, 3];
    r.extend_from_slice(&(len as u16).to_be_bytes());
    r.extend(rng.bytes(len));
    r
}

fn ssh_banner(server: bool) -> Vec<u8> {
    if server {
        b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n".to_vec()
    } else {
        b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()
    }
}

fn service_msgs(rng: &mut Rng, port: u16, host_name: &str) -> Vec<Msg> {
    let c = |d: Vec<u8>| Msg {
        from_client: true,
        data: d,
    };
    let s = |d: Vec<u8>| Msg {
        from_client: false,
        data: d,
    };
    match port {
        80 => {
            let body = rng.range(200, 3500) as usize;
            vec![
                c(http_request(rng, host_name, "/index.html")),
                s(http_response(rng, body)),
            ]
        }
        443 => {
            let hello = rng.range(250, 520) as usize;
            let srv = rng.range(1200, 3000) as usize;
            let app = rng.range(80, 400) as usize;
            let resp = rng.range(300, 2500) as usize;
            vec![
                c(tls_record(rng, 0x16, hello)),
                s(tls_record(rng, 0x16, srv)),
                c(tls_record(rng, 0x17, app)),
                s(tls_record(rng, 0x17, resp)),
            ]
        }
        22 => {
            let kex_c = rng.range(1200, 1500) as usize;
            let kex_s = rng.range(1000, 1200) as usize;
            let a = rng.range(100, 700) as usize;
            let b = rng.range(100, 900) as usize;
            vec![
                s(ssh_banner(true)),
                c(ssh_banner(false)),
                c(rng.bytes(kex_c)),
                s(rng.bytes(kex_s)),
                c(rng.bytes(a)),
                s(rng.bytes(b)),
            ]
        }
        25 => vec![
            s(b"220 mail.example.net ESMTP Postfix\r\n".to_vec()),
            c(b"EHLO www.example.com\r\n".to_vec()),
            s(b"250-mail.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n".to_vec()),
            c(b"QUIT\r\n".to_vec()),
            s(b"221 2.0.0 Bye\r\n".to_vec()),
        ],
        _ => vec![c(rng.bytes(64)), s(rng.bytes(128))],
    }
}

fn host_name(p: &Peers) -> String {
    format!("{}", p.host)
}

/// The webserver profile.
fn webserver(sim: &mut Sim, rng: &mut Rng, p: &Peers, flows: usize) {
    let h = p.host;
    sim.add_host(h);
    let span = 15_000_000u64;
    // Inbound client sessions to 80 / 443 / 22.
    for i in 0..flows {
        let mut r = rng.fork(100 + i as u64);
        let port = match r.range(0, 19) {
            0..=9 => 80,
            10..=16 => 443,
            _ => 22,
        };
        let t0 = r.range(0, span);
        let cip = p.client(&mut r);
        let cport = ephemeral(&mut r);
        let client = TcpEnd::new(&mut r, cip, cport, false);
        let server = TcpEnd::new(&mut r, h, port, true);
        let msgs = service_msgs(&mut r, port, &host_name(p));
        tcp_session(
            sim,
            &mut r,
            t0,
            client,
            server,
            &msgs,
            Start::Handshake,
            true,
        );
    }
    // The host's own DNS lookups, and unsolicited "replies".
    let mut r = rng.fork(2);
    let names = [
        "deb.debian.org",
        "security.debian.org",
        "mail.example.net",
        "ntp.example.org",
    ];
    let resolver = p.resolver();
    for (i, name) in names.iter().enumerate() {
        let t = 200_000 + i as u64 * 3_000_000 + r.range(0, 500_000);
        dns_lookup(sim, &mut r, t, h, resolver, name, p);
    }
    for i in 0..2u64 {
        let t = 4_000_000 + i * 5_000_000 + r.range(0, 900_000);
        let from = p.addr(0, 53);
        let id = r.next_u32() as u16;
        let answer = p.addr(1, 7);
        let ttl = ttl_for(&mut r, Side::Remote);
        let sport_host = ephemeral(&mut r);
        udp(
            sim,
            t,
            from,
            53,
            h,
            sport_host,
            ttl,
            dns_response(id, "example.com", &[answer]),
        );
    }
    // ICMP port unreachable from the resolver quoting the host's query.
    let t = 9_500_000 + r.range(0, 300_000);
    let sport = ephemeral(&mut r);
    let q = udp(
        sim,
        t,
        h,
        sport,
        resolver,
        53,
        64,
        dns_query(r.next_u32() as u16, "example.org", 1),
    );
    let ttl = ttl_for(&mut r, Side::Remote);
    port_unreachable(sim, t + r.range(20_000, 40_000), resolver, &q, ttl);
    // Pings both ways.
    let mut r = rng.fork(3);
    ping(sim, &mut r, 1_000_000, p.addr(1, 77), h, 4, true, 1_000_000);
    ping(sim, &mut r, 6_000_000, h, p.addr(0, 22), 4, true, 1_000_000);
    // Tunnelled ICMP: long echo flow with large high-entropy payloads both ways.
    let mut r = rng.fork(4);
    let peer = p.addr(0, 66);
    let id = r.next_u32() as u16;
    let ttl_r = ttl_for(&mut r, Side::Remote);
    let mut t = 2_000_000;
    for seq in 1..=15u16 {
        let n = r.range(900, 1400) as usize;
        echo(sim, t, peer, h, false, id, seq, ttl_r, r.bytes(n));
        let n2 = r.range(900, 1400) as usize;
        echo(
            sim,
            t + r.range(200, 900),
            h,
            peer,
            true,
            id,
            seq,
            64,
            r.bytes(n2),
        );
        t += r.range(150_000, 600_000);
    }
    // The host as a client: apt over 80 and 443, outbound SSH, SMTP.
    let mut r = rng.fork(5);
    let out = [
        (p.addr(0, 80), 80u16, 1_500_000u64),
        (p.addr(1, 80), 443, 5_500_000),
        (p.addr(0, 22), 22, 8_000_000),
        (p.addr(1, 25), 25, 12_000_000),
    ];
    for (srv, port, t0) in out {
        let cport = ephemeral(&mut r);
        let client = TcpEnd::new(&mut r, h, cport, true);
        let server = TcpEnd::new(&mut r, srv, port, false);
        let msgs = if port == 80 {
            let body = r.range(1500, 4000) as usize;
            vec![
                Msg {
                    from_client: true,
                    data: http_request(
                        &mut r,
                        "deb.debian.org",
                        "/debian/dists/bookworm/InRelease",
                    ),
                },
                Msg {
                    from_client: false,
                    data: http_response(&mut r, body),
                },
            ]
        } else {
            service_msgs(&mut r, port, "deb.debian.org")
        };
        let ts0 = t0 + r.range(0, 400_000);
        tcp_session(
            sim,
            &mut r,
            ts0,
            client,
            server,
            &msgs,
            Start::Handshake,
            true,
        );
    }
    // Port scan of closed ports (SYNs only: the answers are the host's business).
    let mut r = rng.fork(6);
    let scanner = p.addr(1, 99);
    let sport = ephemeral(&mut r);
    let ttl = ttl_for(&mut r, Side::Remote);
    let mut t = 11_000_000;
    for port in [
        21u16, 23, 25, 110, 135, 139, 445, 1433, 3306, 3389, 5900, 8080,
    ] {
        tcp_probe(sim, t, scanner, sport, h, port, SYN, r.next_u32(), ttl);
        t += r.range(300, 3000);
    }
    // Invalid flag combinations.
    let bad = p.addr(0, 200);
    let ttl = ttl_for(&mut r, Side::Remote);
    let sport = ephemeral(&mut r);
    for (k, flags) in [0u8, FIN | PSH | URG, SYN | FIN].into_iter().enumerate() {
        tcp_probe(
            sim,
            13_000_000 + k as u64 * 150_000,
            bad,
            sport,
            h,
            80,
            flags,
            r.next_u32(),
            ttl,
        );
    }
    // A session whose capture starts mid-stream (first packet: ACK with data).
    let mut r = rng.fork(7);
    let cip = p.client(&mut r);
    let cport = ephemeral(&mut r);
    let client = TcpEnd::new(&mut r, cip, cport, false);
    let server = TcpEnd::new(&mut r, h, 443, true);
    let app = r.range(100, 300) as usize;
    let resp = r.range(400, 1800) as usize;
    let msgs = vec![
        Msg {
            from_client: true,
            data: tls_record(&mut r, 0x17, app),
        },
        Msg {
            from_client: false,
            data: tls_record(&mut r, 0x17, resp),
        },
    ];
    tcp_session(
        sim,
        &mut r,
        50_000,
        client,
        server,
        &msgs,
        Start::MidStream,
        true,
    );
}

/// The host (`h`) resolves `name` through `resolver`; the reply follows one RTT later.
fn dns_lookup(
    sim: &mut Sim,
    r: &mut Rng,
    t: u64,
    h: IpAddr,
    resolver: IpAddr,
    name: &str,
    p: &Peers,
) {
    let id = r.next_u32() as u16;
    let sport = ephemeral(r);
    let qtype = if p.family == Family::V6 { 28 } else { 1 };
    udp(
        sim,
        t,
        h,
        sport,
        resolver,
        53,
        64,
        dns_query(id, name, qtype),
    );
    let ans = [p.addr(1, r.range(10, 90) as u8)];
    let ttl = ttl_for(r, Side::Remote);
    let dt = r.range(8_000, 40_000);
    udp(
        sim,
        t + dt,
        resolver,
        53,
        h,
        sport,
        ttl,
        dns_response(id, name, &ans),
    );
}

fn scan(sim: &mut Sim, rng: &mut Rng, p: &Peers, flows: usize) {
    let h = p.host;
    sim.add_host(h);
    let scanner = p.addr(1, 99);
    let sport = ephemeral(rng);
    let ttl = ttl_for(rng, Side::Remote);
    let n = (flows * 8).clamp(1, 4000);
    let mut ports: Vec<u16> = Vec::new();
    let mut guard = 0;
    while ports.len() < n && guard < 100_000 {
        guard += 1;
        let pt = if ports.len() < 20 {
            [
                21u16, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1723, 3306,
                3389, 5900, 8080,
            ][ports.len()]
        } else {
            rng.range(1, 65535) as u16
        };
        if !ports.contains(&pt) {
            ports.push(pt);
        }
    }
    let mut t = 100_000;
    for pt in &ports {
        tcp_probe(sim, t, scanner, sport, h, *pt, SYN, rng.next_u32(), ttl);
        t += rng.range(200, 2000);
    }
    let prober = p.addr(0, 200);
    let ttl2 = ttl_for(rng, Side::Remote);
    let sp2 = ephemeral(rng);
    let mut t = t + 500_000;
    for flags in [0u8, FIN, FIN | PSH | URG, SYN | FIN, SYN | RST] {
        for pt in [22u16, 80, 443] {
            tcp_probe(sim, t, prober, sp2, h, pt, flags, rng.next_u32(), ttl2);
            t += rng.range(1000, 5000);
        }
    }
    // UDP probes with well-formed payloads: DNS, NTP client request, SNMP get sysDescr.
    let mut ntp = vec![0u8; 48];
    ntp[0] = 0x23;
    let snmp: Vec<u8> = vec![
        0x30, 0x26, 0x02, 0x01, 0x00, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0, 0x19,
        0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08,
        0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00,
    ];
    let probes = [
        (53u16, dns_query(rng.next_u32() as u16, "version.bind", 16)),
        (123, ntp),
        (161, snmp),
    ];
    for (pt, payload) in probes {
        udp(sim, t, scanner, sport, h, pt, ttl, payload);
        t += rng.range(1000, 5000);
    }
    ping(sim, rng, t + 100_000, scanner, h, 1, false, 1_000_000);
}

fn dns_profile(sim: &mut Sim, rng: &mut Rng, p: &Peers, flows: usize) {
    let h = p.host;
    sim.add_host(h);
    let names = [
        "www.example.com",
        "mail.example.net",
        "example.org",
        "ns1.example.com",
    ];
    for i in 0..flows.max(1) {
        let mut r = rng.fork(200 + i as u64);
        let c = p.client(&mut r);
        let sport = ephemeral(&mut r);
        let id = r.next_u32() as u16;
        let name = *r.pick(&names);
        let t = r.range(0, 15_000_000);
        let ttl = ttl_for(&mut r, Side::Remote);
        let qtype = if p.family == Family::V6 { 28 } else { 1 };
        udp(sim, t, c, sport, h, 53, ttl, dns_query(id, name, qtype));
        let ans = [p.addr(1, r.range(10, 90) as u8)];
        udp(
            sim,
            t + r.range(100, 2000),
            h,
            53,
            c,
            sport,
            64,
            dns_response(id, name, &ans),
        );
    }
    let mut r = rng.fork(3);
    let resolver = p.resolver();
    for (i, name) in ["deb.debian.org", "security.debian.org"].iter().enumerate() {
        dns_lookup(
            sim,
            &mut r,
            500_000 + i as u64 * 4_000_000,
            h,
            resolver,
            name,
            p,
        );
    }
    for i in 0..3u64 {
        let from = p.addr(0, 53);
        let id = r.next_u32() as u16;
        let ttl = ttl_for(&mut r, Side::Remote);
        let dport = ephemeral(&mut r);
        let ans = [p.addr(1, 7)];
        udp(
            sim,
            2_000_000 + i * 4_000_000,
            from,
            53,
            h,
            dport,
            ttl,
            dns_response(id, "example.com", &ans),
        );
    }
    // DNS over TCP (length-prefixed messages).
    let c = p.client(&mut r);
    let cport = ephemeral(&mut r);
    let client = TcpEnd::new(&mut r, c, cport, false);
    let server = TcpEnd::new(&mut r, h, 53, true);
    let id = r.next_u32() as u16;
    let q = dns_query(id, "example.com", 255);
    let a = dns_response(id, "example.com", &[p.addr(1, 7), p.addr(1, 8)]);
    let lp = |m: Vec<u8>| {
        let mut v = (m.len() as u16).to_be_bytes().to_vec();
        v.extend(m);
        v
    };
    let msgs = vec![
        Msg {
            from_client: true,
            data: lp(q),
        },
        Msg {
            from_client: false,
            data: lp(a),
        },
    ];
    tcp_session(
        sim,
        &mut r,
        7_000_000,
        client,
        server,
        &msgs,
        Start::Handshake,
        true,
    );
    let sport = ephemeral(&mut r);
    let qp = udp(
        sim,
        12_000_000,
        h,
        sport,
        resolver,
        53,
        64,
        dns_query(r.next_u32() as u16, "example.net", 1),
    );
    let ttl = ttl_for(&mut r, Side::Remote);
    port_unreachable(sim, 12_030_000, resolver, &qp, ttl);
}

fn ping_flood(sim: &mut Sim, rng: &mut Rng, p: &Peers, flows: usize) {
    sim.add_host(p.host);
    let n = (flows * 40).clamp(1, 60_000) as u16;
    let src = p.addr(0, 66);
    let id = rng.next_u32() as u16;
    let ttl = ttl_for(rng, Side::Remote);
    for seq in 0..n {
        let t = 10_000 + seq as u64 * 1000;
        let pl = ping_payload(t, sim.start);
        echo(sim, t, src, p.host, false, id, seq.wrapping_add(1), ttl, pl);
    }
}

/// FTP: per flow a control connection up to `150`, the data connection it announced, then
/// `226` and `QUIT`. The data ports are what the helper reads from the control payload.
fn ftp(sim: &mut Sim, rng: &mut Rng, p: &Peers, flows: usize) {
    let h = p.host;
    sim.add_host(h);
    let v6 = h.is_ipv6();
    let msg = |from_client: bool, text: &str| Msg {
        from_client,
        data: text.as_bytes().to_vec(),
    };
    let commas = |a: IpAddr, port: u16| match a {
        IpAddr::V4(a) => port_arg(a.octets(), port),
        IpAddr::V6(_) => String::new(),
    };
    let mut t = 100_000;
    for i in 0..flows.max(1) {
        let c = p.client(rng);
        let cport = ephemeral(rng);
        let client = TcpEnd::new(rng, c, cport, false);
        let server = TcpEnd::new(rng, h, 21, true);
        let data_port = 40_000 + (i % 10_000) as u16;
        let mode = i % 3;
        let mut script = vec![
            msg(false, "220 (vsFTPd 3.0.5)\r\n"),
            msg(true, "USER anonymous\r\n"),
            msg(false, "331 Please specify the password.\r\n"),
            msg(true, "PASS guest@\r\n"),
            msg(false, "230 Login successful.\r\n"),
            msg(true, "TYPE I\r\n"),
            msg(false, "200 Switching to Binary mode.\r\n"),
        ];
        match (mode, v6) {
            (0, false) => {
                script.push(msg(true, "PASV\r\n"));
                script.push(msg(
                    false,
                    &format!("227 Entering Passive Mode ({}).\r\n", commas(h, data_port)),
                ));
            }
            (0 | 1, _) => {
                script.push(msg(true, "EPSV\r\n"));
                script.push(msg(
                    false,
                    &format!("229 Entering Extended Passive Mode (|||{data_port}|)\r\n"),
                ));
            }
            (_, false) => {
                script.push(msg(true, &format!("PORT {}\r\n", commas(c, data_port))));
                script.push(msg(false, "200 PORT command successful.\r\n"));
            }
            (_, true) => {
                script.push(msg(true, &format!("EPRT |2|{c}|{data_port}|\r\n")));
                script.push(msg(false, "200 EPRT command successful.\r\n"));
            }
        }
        script.push(msg(true, "RETR release.tar.gz\r\n"));
        script.push(msg(
            false,
            "150 Opening BINARY mode data connection for release.tar.gz (4000 bytes).\r\n",
        ));
        let (t1, client, server) = tcp_exchange(
            sim,
            rng,
            t,
            client,
            server,
            &script,
            Start::Handshake,
            false,
        );
        // The data connection: the client connects in passive mode, the host from port 20 in
        // active mode; the host sends the file.
        let file_msgs = [Msg {
            from_client: mode == 2,
            data: rng.bytes(4000),
        }];
        let (dc, ds) = if mode == 2 {
            (
                TcpEnd::new(rng, h, 20, true),
                TcpEnd::new(rng, c, data_port, false),
            )
        } else {
            let dport = ephemeral(rng);
            (
                TcpEnd::new(rng, c, dport, false),
                TcpEnd::new(rng, h, data_port, true),
            )
        };
        let t2 = tcp_session(
            sim,
            rng,
            t1 + 2_000,
            dc,
            ds,
            &file_msgs,
            Start::Handshake,
            true,
        );
        let end = [
            msg(false, "226 Transfer complete.\r\n"),
            msg(true, "QUIT\r\n"),
            msg(false, "221 Goodbye.\r\n"),
        ];
        let t3 = tcp_exchange(
            sim,
            rng,
            t2 + 2_000,
            client,
            server,
            &end,
            Start::MidStream,
            true,
        )
        .0;
        t = t3 + 50_000;
    }
    // A data port nobody announced.
    let c = p.client(rng);
    let ttl = ttl_for(rng, Side::Remote);
    tcp_probe(
        sim,
        t,
        c,
        ephemeral(rng),
        h,
        40_999,
        SYN,
        rng.next_u32(),
        ttl,
    );
}

fn knock(sim: &mut Sim, rng: &mut Rng, p: &Peers, _flows: usize) {
    let h = p.host;
    sim.add_host(h);
    // Correct knock, then SSH.
    let good = p.addr(0, 7);
    let ttl = ttl_for(rng, Side::Remote);
    let mut t = 100_000;
    for port in [7000u16, 8000, 9000] {
        tcp_probe(
            sim,
            t,
            good,
            ephemeral(rng),
            h,
            port,
            SYN,
            rng.next_u32(),
            ttl,
        );
        t += 500_000;
    }
    let cport = ephemeral(rng);
    let client = TcpEnd::new(rng, good, cport, false);
    let server = TcpEnd::new(rng, h, 22, true);
    let msgs = service_msgs(rng, 22, "host");
    tcp_session(sim, rng, t, client, server, &msgs, Start::Handshake, true);
    // Wrong order, then SYNs to 22 (retransmitted, unanswered).
    let bad = p.addr(1, 8);
    let ttl = ttl_for(rng, Side::Remote);
    let mut t = 6_000_000;
    for port in [9000u16, 8000, 7000] {
        tcp_probe(
            sim,
            t,
            bad,
            ephemeral(rng),
            h,
            port,
            SYN,
            rng.next_u32(),
            ttl,
        );
        t += 500_000;
    }
    let sp = ephemeral(rng);
    let isn = rng.next_u32();
    for k in 0..2u64 {
        tcp_probe(sim, t + k * 1_000_000, bad, sp, h, 22, SYN, isn, ttl);
    }
    // No knock at all.
    let other = p.addr(0, 9);
    let ttl = ttl_for(rng, Side::Remote);
    let sp = ephemeral(rng);
    let isn = rng.next_u32();
    for k in 0..2u64 {
        tcp_probe(
            sim,
            11_000_000 + k * 1_000_000,
            other,
            sp,
            h,
            22,
            SYN,
            isn,
            ttl,
        );
    }
}

/// The `h1,h2,h3,h4,p1,p2` form of `PORT` and the 227 reply (`nf_nat_ftp_fmt_cmd`'s
/// `"%u,%u,%u,%u,%u,%u"`): four address bytes and the port's two.
pub(crate) fn port_arg(a: [u8; 4], port: u16) -> String {
    format!(
        "{},{},{},{},{},{}",
        a[0],
        a[1],
        a[2],
        a[3],
        port >> 8,
        port & 0xff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streaming writer's bytes are the in-memory generator's, with the default spill limit
    /// and with runs of a few frames (many runs merged), for every profile, both families and
    /// flow specs.
    #[test]
    fn streaming_writes_the_same_bytes_in_bounded_memory() {
        let in_memory = |packets: &[Packet]| {
            let mut v = Vec::new();
            crate::packet::writer::write_pcap(&mut v, packets).unwrap();
            v
        };
        for profile in Profile::ALL {
            let opts = GenOptions {
                profile,
                flows: 40,
                host: vec![IpAddr::V4(DEFAULT_HOST), "2001:db8::10".parse().unwrap()],
                ..GenOptions::default()
            };
            let want = in_memory(&generate(&opts));
            let mut got = Vec::new();
            let n = write_generated(&opts, &mut got).unwrap();
            assert_eq!(got, want, "{profile:?}");
            for limit in [1, 700, 5_000] {
                let mut sim = Sim::streaming(opts.seed, opts.start, limit);
                run_profile(&mut sim, &opts);
                assert!(
                    sim.spill.as_ref().unwrap().runs.len() > 1,
                    "{profile:?} {limit}: no runs spilled"
                );
                let mut got = Vec::new();
                assert_eq!(sim.finish_into(&mut got).unwrap(), n);
                assert_eq!(got, want, "{profile:?}, spill limit {limit}");
            }
        }
        let specs: Vec<_> = [
            "tcp 198.51.100.7:40000 > 203.0.113.10:22",
            "udp 198.51.100.7:5353 > 224.0.0.251:5353",
            "icmp echo 198.51.100.7 > 203.0.113.10",
        ]
        .iter()
        .map(|s| crate::packet::flowspec::parse(s).unwrap())
        .collect();
        let opts = GenOptions::default();
        let want = in_memory(&crate::packet::flowspec::build(&specs, &opts));
        let mut got = Vec::new();
        crate::packet::flowspec::write_built(&specs, &opts, &mut got).unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn same_seed_same_packets_different_seed_different() {
        let o = GenOptions::default();
        let a = generate(&o);
        let b = generate(&o);
        assert_eq!(a, b);
        let c = generate(&GenOptions { seed: 2, ..o });
        assert_ne!(a, c);
    }

    #[test]
    fn webserver_default_is_small_short_and_ordered() {
        let v = generate(&GenOptions::default());
        assert!(v.len() > 150 && v.len() < 800, "{} packets", v.len());
        let span = v.last().unwrap().ts.0 - v[0].ts.0;
        assert!(span < 20_000_000_000, "span {span}");
        for w in v.windows(2) {
            assert!(w[0].ts < w[1].ts);
            assert_eq!(w[0].frame + 1, w[1].frame);
        }
        assert!(v.iter().all(|p| p.family == Family::V4));
    }

    #[test]
    fn v6_host_adds_v6_flows() {
        let o = GenOptions {
            host: vec![
                "203.0.113.10".parse().unwrap(),
                "2001:db8::10".parse().unwrap(),
            ],
            ..GenOptions::default()
        };
        let v = generate(&o);
        assert!(v.iter().any(|p| p.family == Family::V6));
        assert!(v.iter().any(|p| p.family == Family::V4));
    }

    #[test]
    fn profiles_parse() {
        for p in Profile::ALL {
            assert_eq!(p.name().parse::<Profile>().unwrap(), p);
        }
        assert!("nope".parse::<Profile>().is_err());
    }
}
