//! Replay: packets from a capture or from the synthetic generator, in capture order, through the
//! engine — with the kernel's defragmentation in front when the ruleset makes it track
//! connections — handing every frame's [`Outcome`] to a sink as it is decided (constant memory).

use foldhash::HashMap;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::{
    Alternative, Clock, Direction, Engine, Outcome, SimEnv, SimOptions, Skb, Stage, Verdict,
};
use crate::packet::capture::{CaptureError, CaptureInterfaces, CaptureReader};
use crate::packet::defrag::{DefragConfig, DefragEvent, Defragmenter};
use crate::packet::{Anomalies, ChecksumMode, Packet, PacketProblem};
use crate::ruleset::Ruleset;

/// Whether the host's own fragment `p` can come from the kernel's fragmentation (`ip_fragment`,
/// `ip6_fragment` after POSTROUTING), which cuts to the path MTU — never below
/// `net.ipv4.route.min_pmtu` (552) nor IPv6's 1280: a first fragment at least that long, or a
/// later one at least that far in. Smaller ones were sent as fragments (a raw socket), and
/// each crossed OUTPUT on its own.
fn kernel_fragmented(p: &Packet) -> bool {
    let (min_mtu, hdr) = if p.src.is_ipv4() {
        (552u32, 20u32)
    } else {
        (1280, 48)
    };
    if p.frag.offset == 0 {
        p.ip_len >= min_mtu
    } else {
        u32::from(p.frag.offset) * 8 >= (min_mtu - hdr) & !7
    }
}

/// An IPv6 fragment that INPUT accepted whole, not reassembled by conntrack (which passed it
/// through, or is not there): the stack's own reassembly (`ipv6_frag_rcv`) may refuse it
/// ([`defrag::ipv6_frag_rcv_refuses`]), a drop after the tables (kernel-checked:
/// `tests/kernel_frag6.rs`).
fn ipv6_stack_reassembly(pkt: &Packet, o: &mut Outcome) {
    if o.verdict != Some(Verdict::Accept) || o.direction != Direction::In || pkt.frag.reassembled {
        return;
    }
    if let Some(why) = crate::packet::defrag::ipv6_frag_rcv_refuses(pkt) {
        o.verdict = Some(Verdict::Drop);
        o.decision = Some(crate::engine::Decision::Stack(why));
        if o.certain {
            o.reason = Some(format!("dropped by the IP stack after INPUT: {why}"));
        }
    }
}

/// Datagrams with a doubtful fragment remembered at most (`Replayer::doubtful_trains`).
const DOUBTFUL_TRAINS: usize = 4096;

/// Where packets come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A pcap or pcapng file, streamed.
    Capture(PathBuf),
    /// Packets already in memory (synthetic traffic, flow specs).
    Packets(Vec<Packet>),
}

/// What the sink receives for each frame.
#[derive(Debug)]
pub enum Item<'a> {
    /// A frame that was judged or deliberately not judged (with a reason).
    Packet(&'a Packet, &'a Outcome),
    /// A frame that could not be decoded into an IP packet (non-IP, malformed, cut).
    Problem(&'a PacketProblem),
}

/// Fragment events listed in [`ReplayStats::fragment_events`]; later ones are counted.
pub const FRAGMENT_EVENTS_KEPT: usize = 1000;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ReplayStats {
    /// Records a fragment event, keeping at most [`FRAGMENT_EVENTS_KEPT`] of them.
    fn fragment_event(&mut self, ev: &DefragEvent) {
        if self.fragment_events.len() < FRAGMENT_EVENTS_KEPT {
            self.fragment_events.push(describe(ev));
        } else {
            self.fragment_events_more += 1;
        }
    }
}

/// Counts over the whole replay.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReplayStats {
    pub frames: u64,
    pub packets: u64,
    pub problems: u64,
    pub(crate) skipped_non_ip: u64,
    /// Packets whose transport checksum field is wrong but which the kernel never verifies
    /// under `--checksums` (offloaded: partial checksums in `auto`, any in `ignore`).
    pub checksums_offloaded: u64,
    /// Packets whose TCP/UDP checksum holds the pseudo-header sum (left for offload by the
    /// sender), or is a UDP tunnel's outer checksum made by local checksum offload, whatever
    /// `--checksums` says.
    pub checksums_partial: u64,
    /// Outbound TCP or UDP frames that look like the 2nd, 3rd... segment of a GSO super-packet
    /// cut after OUTPUT (`packet::ingest::gso`): the kernel's OUTPUT counters count each train
    /// once.
    pub gso_continuations: u64,
    /// The capture could not be read to its end (a corrupt record): what and where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) capture_error: Option<String>,
    /// Fragments held for reassembly, and trains that never completed or were discarded.
    pub(crate) fragments_held: u64,
    /// The first [`FRAGMENT_EVENTS_KEPT`] fragment events; the rest are only counted in
    /// `fragment_events_more` (a fragment flood must not grow memory with its length).
    pub fragment_events: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub fragment_events_more: u64,
    /// The capture's interfaces and their names (pcapng), SLL2 interface indexes.
    #[serde(skip)]
    pub interfaces: CaptureInterfaces,
}

/// The interface names the packets of a replay were seen on, as `-i`/`-o` saw them: the
/// capture's names (when `env.iface_from_capture`), and `env.iface` for packets without one.
/// In order of first appearance; `lo` (local traffic) is not listed.
/// A bridge's or bond's port stands for its master too (IP sees the port's frames there).
pub(crate) fn interfaces_seen(stats: &ReplayStats, env: &SimEnv) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        for n in std::iter::once(name).chain(env.host.ip_master(name)) {
            if !seen.iter().any(|s| s == n) {
                seen.push(n.to_string());
            }
        }
    };
    if !env.iface_from_capture {
        add(&env.iface);
        return seen;
    }
    let mut named = 0u64;
    for i in &stats.interfaces.interfaces {
        if let (Some(n), true) = (&i.name, i.packets > 0) {
            named += i.packets;
            add(n);
        }
    }
    // Linux cooked v2 indexes the host configuration names.
    for &(ix, n) in &stats.interfaces.ifindexes {
        if let Some(name) = env.host.ifname_of(ix) {
            named += n;
            add(name);
        }
    }
    if stats.packets > named {
        add(&env.iface);
    }
    seen
}

/// An interface the ruleset's `-i`/`-o` name that no packet was seen on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UnseenInterface {
    /// As written (`eth+` for a prefix).
    pub name: String,
    /// Lines of the rules naming it.
    pub lines: Vec<usize>,
}

/// The interfaces the rules name (`-i`/`-o`, negated or not) that none of `seen` is — `lo`
/// excepted (local traffic is always on it), and a `+` prefix only when it matches no seen
/// name. In rule order, each name once.
pub(crate) fn rules_naming_unseen(rs: &Ruleset, seen: &[String]) -> Vec<UnseenInterface> {
    let mut out: Vec<UnseenInterface> = Vec::new();
    for t in &rs.tables {
        for c in &t.chains {
            for r in &c.rules {
                for m in [&r.iniface, &r.outiface].into_iter().flatten() {
                    let name = m.name.as_str();
                    if name == "lo" {
                        continue;
                    }
                    let hit = match name.strip_suffix('+') {
                        Some(prefix) => {
                            "lo".starts_with(prefix) || seen.iter().any(|s| s.starts_with(prefix))
                        }
                        None => seen.iter().any(|s| s == name),
                    };
                    if hit {
                        continue;
                    }
                    let line = rs.line_of(r.span);
                    match out.iter_mut().find(|u| u.name == name) {
                        Some(u) => {
                            if !u.lines.contains(&line) {
                                u.lines.push(line);
                            }
                        }
                        None => out.push(UnseenInterface {
                            name: name.to_string(),
                            lines: vec![line],
                        }),
                    }
                }
            }
        }
    }
    out
}

impl ReplayStats {
    /// Add the counts of the other family's replay of the same capture (two rulesets side by
    /// side): frames and packets it judged, its checksum, segment and fragment counts. The
    /// capture's interfaces and read error are this replay's (it reads the capture).
    pub(crate) fn absorb(&mut self, other: ReplayStats) {
        self.frames += other.frames;
        self.packets += other.packets;
        self.problems += other.problems;
        self.skipped_non_ip += other.skipped_non_ip;
        self.checksums_offloaded += other.checksums_offloaded;
        self.checksums_partial += other.checksums_partial;
        self.gso_continuations += other.gso_continuations;
        self.fragments_held += other.fragments_held;
        let room = FRAGMENT_EVENTS_KEPT.saturating_sub(self.fragment_events.len());
        let n = other.fragment_events.len();
        self.fragment_events_more += other.fragment_events_more + n.saturating_sub(room) as u64;
        self.fragment_events
            .extend(other.fragment_events.into_iter().take(room));
        if self.capture_error.is_none() {
            self.capture_error = other.capture_error;
        }
    }

    /// One line on the checksums the kernel would not have verified (or did, against the
    /// sender's offload), for the summary; `None` when every checksum was right.
    pub(crate) fn checksum_note(&self, mode: ChecksumMode) -> Option<String> {
        match mode {
            ChecksumMode::Auto if self.checksums_offloaded > 0 => Some(format!(
                "{} packets carry offloaded (partial) TCP/UDP checksums, which the kernel does not \
                 verify (--checksums auto)",
                self.checksums_offloaded
            )),
            ChecksumMode::Ignore if self.checksums_offloaded > 0 => Some(format!(
                "{} packets with wrong transport checksums treated as offloaded, not verified \
                 (--checksums ignore)",
                self.checksums_offloaded
            )),
            ChecksumMode::Verify if self.checksums_partial > 0 => Some(format!(
                "{} packets carry partial (offloaded) TCP/UDP checksums and were verified as bad \
                 (--checksums verify); a capture taken on the host, a veth, VM or container \
                 wants --checksums auto",
                self.checksums_partial
            )),
            _ => None,
        }
    }

    /// One line on outbound frames that look like segments of GSO super-packets, for the
    /// summary; `None` when there are none.
    pub fn gso_note(&self) -> Option<String> {
        (self.gso_continuations > 0).then(|| {
            format!(
                "{} outbound frames look like later segments of GSO super-packets cut after \
                 OUTPUT (the same flow back to back, < 50 µs apart, a TCP sequence continuing \
                 with the same ACK and time stamp and no PSH before, or UDP datagrams of one \
                 size): iptables -L -v counts each train once, so its OUTPUT counters show about \
                 {} fewer packets than fwcheck's",
                self.gso_continuations, self.gso_continuations
            )
        })
    }
}

/// The host addresses a replay used, and how they were chosen.
#[derive(Debug, Clone, Serialize)]
pub struct HostChoice {
    pub hosts: Vec<IpAddr>,
    /// Inferred from the capture (see `HostEvidence`).
    pub inferred: bool,
    /// For an inferred host: in how many packets it appeared, out of how many.
    pub seen_in: Option<(u64, u64)>,
    /// For an inferred host chosen among addresses seen equally often: why this one.
    pub because: Option<String>,
    /// With two rulesets (IPv4 and IPv6 side by side): how each family's address was chosen,
    /// IPv4 first (`hosts` holds them all). Empty otherwise.
    #[serde(skip)]
    pub families: Vec<HostChoice>,
}

/// Why no host could be inferred.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Several addresses fit equally well; a guess would judge everything from the wrong side.
    #[error("{0}")]
    Ambiguous(String),
}

/// Evidence, gathered in one pass over the packets, for which address is the capture's host —
/// the way a person reading the capture would decide: the address present in the most packets
/// (a capture taken on a host contains the host in every packet); among addresses present
/// equally often (a capture of one conversation), the one that *answers* as a server: it sends
/// the SYN/ACKs of TCP handshakes (a listening socket), the echo replies, UDP from a service's
/// lower port; when none answers (the ruleset under test dropped every attempt, a scan), the
/// one that is *asked*: the target of SYNs, echo requests, UDP to the lower port.
#[derive(Debug, Default)]
pub(crate) struct HostEvidence {
    total: u64,
    counts: HashMap<IpAddr, u64>,
    answers: HashMap<IpAddr, u64>,
    asked: HashMap<IpAddr, u64>,
    /// Addresses the capture itself declares for its interfaces (pcapng `if_IPv4addr`,
    /// `if_IPv6addr`): the strongest evidence, when packets carry them.
    pub declared: Vec<IpAddr>,
}

impl HostEvidence {
    pub fn add(&mut self, p: &Packet) {
        use crate::packet::tcp_flags::{ACK, RST, SYN};
        self.total += 1;
        *self.counts.entry(p.src).or_default() += 1;
        if p.dst != p.src {
            *self.counts.entry(p.dst).or_default() += 1;
        }
        let (answer, ask) = match &p.l4 {
            crate::packet::L4::Tcp(t) => {
                let f = t.flags & (SYN | ACK | RST);
                (f == SYN | ACK, f == SYN)
            }
            crate::packet::L4::Icmp(i) => (i.icmp_type == 0, i.icmp_type == 8),
            crate::packet::L4::Icmpv6(i) => (i.icmp_type == 129, i.icmp_type == 128),
            // A service answers from its (lower, well-known) port to a client's ephemeral one.
            crate::packet::L4::Udp(u) => (u.sport < u.dport, u.dport < u.sport),
            _ => (false, false),
        };
        if answer {
            *self.answers.entry(p.src).or_default() += 1;
        }
        if ask {
            *self.asked.entry(p.dst).or_default() += 1;
        }
    }

    /// The host, `Ok(None)` when there was no usable address at all, or an error naming the
    /// candidates when the evidence does not decide.
    pub fn decide(&self) -> Result<Option<HostChoice>, HostError> {
        let usable = |a: &IpAddr| {
            !a.is_loopback()
                && !a.is_unspecified()
                && !a.is_multicast()
                && *a != IpAddr::V4(std::net::Ipv4Addr::BROADCAST)
        };
        // The capture says which addresses its interfaces have: every one packets carry is a
        // host address (both families at once).
        let mut declared: Vec<IpAddr> = self
            .declared
            .iter()
            .copied()
            .filter(|a| self.counts.contains_key(a))
            .collect();
        declared.sort();
        declared.dedup();
        if let Some(&first) = declared.first() {
            return Ok(Some(HostChoice {
                seen_in: Some((self.counts[&first], self.total)),
                because: Some(
                    "the capture declares it as its interface's address (pcapng if_IPv4addr / \
                     if_IPv6addr)"
                        .into(),
                ),
                hosts: declared,
                inferred: true,
                families: Vec::new(),
            }));
        }
        let Some(max) = self
            .counts
            .iter()
            .filter(|(a, _)| usable(a))
            .map(|(_, &c)| c)
            .max()
        else {
            return Ok(None);
        };
        let mut top: Vec<IpAddr> = self
            .counts
            .iter()
            .filter(|&(a, &c)| usable(a) && c == max)
            .map(|(&a, _)| a)
            .collect();
        top.sort();
        let choice = |a: IpAddr, because: Option<String>| HostChoice {
            hosts: vec![a],
            inferred: true,
            seen_in: Some((max, self.total)),
            because,
            families: Vec::new(),
        };
        if let [only] = top[..] {
            // One conversation seen from the server, whose other address (IPv6 link-local,
            // neighbour discovery) takes a few packets from its count: the client is then in
            // the most packets. An address nearly as present (90 %) that answers as a server
            // while the most present one never does leaves the capture's side undecided.
            let answers = |a: &IpAddr| self.answers.get(a).copied().unwrap_or(0);
            let rivals: Vec<IpAddr> = self
                .counts
                .iter()
                .filter(|&(a, &c)| usable(a) && *a != only && c * 10 >= max * 9 && answers(a) > 0)
                .map(|(&a, _)| a)
                .collect();
            if answers(&only) == 0 && !rivals.is_empty() {
                let mut named: Vec<String> = rivals
                    .iter()
                    .map(|a| {
                        format!(
                            "{a} (in {} packets, answers {})",
                            self.counts[a],
                            answers(a)
                        )
                    })
                    .collect();
                named.sort();
                return Err(HostError::Ambiguous(format!(
                    "cannot tell which address is the host: {only} appears in {max} of {} packets \
                     but never answers as a server, while {} answer as one; give --host ADDR \
                     (an address of the machine whose ruleset this is)",
                    self.total,
                    named.join(", ")
                )));
            }
            return Ok(Some(choice(only, None)));
        }
        // Tie-breakers, strongest first: who answers, then who is asked.
        for (map, what) in [
            (
                &self.answers,
                "answers as a server (SYN/ACKs, echo replies, UDP from the lower port)",
            ),
            (
                &self.asked,
                "is asked as a server (SYNs, echo requests, UDP to the lower port)",
            ),
        ] {
            let n = |a: &IpAddr| map.get(a).copied().unwrap_or(0);
            let best = top.iter().map(n).max().unwrap_or(0);
            let winners: Vec<IpAddr> = top.iter().copied().filter(|a| n(a) == best).collect();
            if best > 0 && winners.len() == 1 {
                let a = winners[0];
                let others: Vec<String> = top
                    .iter()
                    .filter(|&&o| o != a)
                    .map(|o| format!("{o}: {}", n(o)))
                    .collect();
                return Ok(Some(choice(
                    a,
                    Some(format!(
                        "only it, of the addresses in every packet, {what}: {best} (vs {})",
                        others.join(", ")
                    )),
                )));
            }
        }
        Err(HostError::Ambiguous(format!(
            "cannot tell which address is the host: {} each appear in {max} of {} packets and \
             neither answers nor receives connections more than the other; give --host ADDR \
             (an address of the machine whose ruleset this is)",
            top.iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            self.total,
        )))
    }
}

/// Decide the host: `--host` if given, else inferred from the source's packets
/// (`HostEvidence`).
pub fn choose_hosts(given: &[IpAddr], source: &Source) -> Result<HostChoice, HostError> {
    if !given.is_empty() {
        return Ok(HostChoice {
            hosts: given.to_vec(),
            inferred: false,
            seen_in: None,
            because: None,
            families: Vec::new(),
        });
    }
    let mut ev = HostEvidence::default();
    match source {
        Source::Packets(p) => p.iter().for_each(|p| ev.add(p)),
        Source::Capture(path) => {
            let mut r = CaptureReader::open(path)?;
            for p in r.by_ref().filter_map(|i| i.ok()) {
                ev.add(&p);
            }
            for i in &r.interfaces().interfaces {
                ev.declared.extend(i.addrs.iter().map(|&(a, _)| a));
            }
        }
    }
    Ok(ev.decide()?.unwrap_or(HostChoice {
        hosts: Vec::new(),
        inferred: true,
        seen_in: None,
        because: None,
        families: Vec::new(),
    }))
}

/// The host of a machine running iptables and ip6tables side by side: an address per family.
/// A family with addresses in `given` (`--host`) keeps them; the other is inferred from its own
/// packets alone (`HostEvidence`: the IPv4 host is the address in most IPv4 packets, the IPv6
/// host likewise), and has none when the capture has no packet of it. The capture is read only
/// when a family has to be inferred.
pub(crate) fn choose_hosts_per_family(
    given: &[IpAddr],
    source: &Source,
) -> Result<HostChoice, HostError> {
    let v4 = |a: &IpAddr| a.is_ipv4();
    let given_of =
        |is4: bool| -> Vec<IpAddr> { given.iter().copied().filter(|a| v4(a) == is4).collect() };
    let mut ev = [HostEvidence::default(), HostEvidence::default()];
    let slot = |a: &IpAddr| usize::from(!v4(a));
    if given_of(true).is_empty() || given_of(false).is_empty() {
        match source {
            Source::Packets(p) => p.iter().for_each(|p| ev[slot(&p.src)].add(p)),
            Source::Capture(path) => {
                let mut r = CaptureReader::open(path)?;
                for p in r.by_ref().filter_map(|i| i.ok()) {
                    ev[slot(&p.src)].add(&p);
                }
                for i in &r.interfaces().interfaces {
                    for (a, _) in &i.addrs {
                        ev[slot(a)].declared.push(*a);
                    }
                }
            }
        }
    }
    let mut families = Vec::new();
    for (is4, ev) in [(true, &ev[0]), (false, &ev[1])] {
        let mine = given_of(is4);
        if !mine.is_empty() {
            families.push(HostChoice {
                hosts: mine,
                inferred: false,
                seen_in: None,
                because: None,
                families: Vec::new(),
            });
        } else if let Some(c) = ev.decide()? {
            families.push(c);
        }
    }
    Ok(HostChoice {
        hosts: families
            .iter()
            .flat_map(|c| c.hosts.iter().copied())
            .collect(),
        inferred: families.iter().any(|c| c.inferred),
        seen_in: None,
        because: None,
        families,
    })
}

/// Where a frame stands in a train that may be one GSO packet's segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gso {
    No,
    Starts,
    Continues,
}

/// The copies one frame leaves in a capture of a bridge (or bond) and its ports (`tcpdump -i
/// any`, a pcapng naming both): received from a port, it is on the port, then on the bridge
/// after `br_pass_frame_up` (with `br_netfilter`, after the bridge's PREROUTING: a reply
/// already un-SNATed, a DNAT applied); sent, on the bridge (`br_dev_xmit`), then on the port;
/// forwarded between two ports, on both. The first copy is what the kernel's first hook saw;
/// it is judged (on the bridge: [`SimEnv::iface_of`]) and the later ones are recognised by
/// what no translation in PREROUTING or the bridge changes — the source address, the
/// protocol, the length, the transport header but its checksum and destination port, the
/// payload — within a second, on another device of the same bridge.
#[derive(Debug, Clone, Default)]
struct BridgeCopies {
    /// By the copy's key: (the bridge, the device it was seen on, its frame, when (ns)).
    seen: foldhash::HashMap<u64, (u32, u32, u64, u64)>,
    /// Keys in the order they were seen, with their time, to forget those older than a second.
    order: std::collections::VecDeque<(u64, u64)>,
    /// Keys pushed out within their second (past [`Self::CAP`]): a frame matching one may be
    /// a copy, and is judged uncertain.
    forgotten: Option<Box<crate::engine::forgotten::Forgotten>>,
}

/// What [`BridgeCopies::copy_of`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BridgeCopy {
    /// A later copy of this frame.
    Of(u64),
    /// Perhaps a copy of a frame the table pushed out.
    Maybe,
    No,
}

impl BridgeCopies {
    /// Keys followed at most (a second of a busy bridge); beyond, the oldest are pushed out
    /// into [`Self::forgotten`].
    const CAP: usize = 65_536;

    /// Whether `pkt`, seen on `dev` of bridge `group` at `ns`, is a later copy of a frame;
    /// otherwise remembers it.
    fn copy_of(&mut self, pkt: &Packet, group: u32, dev: u32, ns: u64) -> BridgeCopy {
        use std::hash::{BuildHasher, Hash, Hasher};
        while let Some(&(k, t)) = self.order.front() {
            if ns.saturating_sub(t) < 1_000_000_000 {
                break;
            }
            self.order.pop_front();
            if self.seen.get(&k).is_some_and(|e| e.3 == t) {
                self.seen.remove(&k);
            }
        }
        let mut h = foldhash::fast::FixedState::with_seed(0xb41d).build_hasher();
        group.hash(&mut h);
        pkt.src.hash(&mut h);
        pkt.proto.hash(&mut h);
        pkt.ip_len.hash(&mut h);
        let l4 = pkt.data.get(pkt.ip_hdr_len as usize..).unwrap_or(&[]);
        match &pkt.l4 {
            // Source port, sequence, acknowledgment, offset, flags, window; then the payload.
            crate::packet::L4::Tcp(_) => {
                l4.get(..2).hash(&mut h);
                l4.get(4..16).hash(&mut h);
                l4.get(20..).hash(&mut h);
            }
            crate::packet::L4::Udp(_) => {
                l4.get(..2).hash(&mut h);
                l4.get(4..6).hash(&mut h);
                l4.get(8..).hash(&mut h);
            }
            // Type and code, then past the checksum (an echo's identifier may be NATed:
            // rare enough, and then the copy is judged again).
            _ => {
                l4.get(..2).hash(&mut h);
                l4.get(4..).hash(&mut h);
            }
        }
        if pkt.family == crate::packet::Family::V4 {
            pkt.data.get(4..6).hash(&mut h);
        }
        let key = h.finish();
        if let Some(&(g, d, frame, t)) = self.seen.get(&key) {
            if g == group && d != dev && ns.saturating_sub(t) < 1_000_000_000 {
                return BridgeCopy::Of(frame);
            }
        }
        let maybe = self.forgotten.as_ref().is_some_and(|f| f.contains(&key));
        if self.order.len() >= Self::CAP {
            if let Some((k, t)) = self.order.pop_front() {
                if self.seen.get(&k).is_some_and(|e| e.3 == t) {
                    self.seen.remove(&k);
                    self.forgotten
                        .get_or_insert_with(|| Box::new(crate::engine::forgotten::Forgotten::new()))
                        .insert(&k);
                }
            }
        }
        self.seen.insert(key, (group, dev, pkt.frame, ns));
        self.order.push_back((key, ns));
        if maybe {
            BridgeCopy::Maybe
        } else {
            BridgeCopy::No
        }
    }
}

/// The per-packet replay step shared by [`replay`] and the kernel comparison: defragmentation
/// in front of the engine when conntrack is active, then the engine. A clone is a fork: the
/// same state, to run a packet another way (see [`Replayer::enable_alternatives`]).
pub struct Replayer<'r> {
    pub engine: Engine<'r>,
    defrag: Option<Defragmenter>,
    /// Without connection tracking: the reassembly of the local delivery path (IPv4 between
    /// PREROUTING and INPUT, IPv6 after INPUT).
    local_defrag: Option<Defragmenter>,
    /// What each IPv4 datagram's first fragment got in PREROUTING (marks, TOS/TTL changes): the
    /// reassembled datagram crosses INPUT with it (the kernel morphs the completing fragment
    /// into the head fragment's skb). Keyed like the reassembly queue.
    first_fragment_skb: HashMap<(IpAddr, IpAddr, u32, u8), Skb>,
    /// Datagrams (keyed like the reassembly queue) one of whose fragments got an uncertain
    /// verdict before the stack's reassembly, and that fragment: the kernel may have queued it
    /// where fwcheck did not, or the other way, so what becomes of the datagram is uncertain.
    /// At most [`DOUBTFUL_TRAINS`] (then it starts again).
    doubtful_trains: HashMap<(IpAddr, IpAddr, u32, u8), u64>,
    checksums: ChecksumMode,
    /// The frame fed last may be continued by the next as a segment of one GSO packet
    /// (`Anomalies::GSO_CONTINUED`).
    gso_before: bool,
    bridge_copies: BridgeCopies,
    pub stats: ReplayStats,
    /// Checkpoint and log for alternatives, when enabled.
    forks: Option<Box<Forks<'r>>>,
}

impl Clone for Replayer<'_> {
    /// A fork: the same state, without the alternatives' checkpoint (a fork computes none).
    fn clone(&self) -> Self {
        Replayer {
            engine: self.engine.clone(),
            defrag: self.defrag.clone(),
            local_defrag: self.local_defrag.clone(),
            first_fragment_skb: self.first_fragment_skb.clone(),
            doubtful_trains: self.doubtful_trains.clone(),
            checksums: self.checksums,
            gso_before: self.gso_before,
            bridge_copies: self.bridge_copies.clone(),
            stats: self.stats.clone(),
            forks: None,
        }
    }
}

/// What alternatives need: the replay as it was at a checkpoint and everything fed since, so
/// the state before any packet can be rebuilt (checkpoint cloned, log replayed) without
/// cloning the state for every packet. The checkpoint moves to each packet that needed a fork,
/// and forward whenever the log holds more than [`Forks::LOG_BYTES`] of packets.
struct Forks<'r> {
    base: Box<Replayer<'r>>,
    log: Vec<Logged<'r>>,
    log_bytes: usize,
    /// Packet bytes the log holds before the checkpoint moves forward ([`Forks::LOG_BYTES`]).
    log_limit: usize,
    /// Packets that may still get alternatives.
    points_left: u64,
    /// The other timelines of recent uncertain packets: for a packet uncertain through its
    /// flow's state, where each undecided match of the frame it depends on would have led it.
    shadows: VecDeque<Shadow<'r>>,
}

/// The replay as it would have gone had one undecided match of frame `frame` matched: the fork
/// that computed that alternative, kept, and brought up to date (from `pending`, everything
/// fed since) only when a later packet's doubt comes from `frame`.
struct Shadow<'r> {
    frame: u64,
    rule: crate::engine::RuleRef,
    why: &'static str,
    world: Replayer<'r>,
    pending: Vec<Logged<'r>>,
    pending_bytes: usize,
}

impl<'r> Shadow<'r> {
    /// Catch up, and return what the last pending packet (frame `frame`) got.
    fn catch_up(
        &mut self,
        frame: u64,
    ) -> Option<(Option<Verdict>, bool, Option<crate::engine::Decision>)> {
        let mut got = None;
        for ev in std::mem::take(&mut self.pending) {
            match ev {
                Logged::Feed(p, now) => {
                    let last = p.frame == frame;
                    self.world.feed(&p, now, &mut |item| {
                        if let Item::Packet(_, o) = item {
                            if last && o.frame == frame && got.is_none() {
                                got = Some((o.verdict, o.certain, o.decision));
                            }
                        }
                    })
                }
                Logged::Problem(p) => self.world.problem(&p, &mut |_| {}),
                Logged::Reload(rs) => self.world.reload(rs),
            }
        }
        self.pending_bytes = 0;
        got
    }
}

impl Logged<'_> {
    fn copy(&self) -> Self {
        match self {
            Logged::Feed(p, now) => Logged::Feed(p.clone(), *now),
            Logged::Problem(p) => Logged::Problem(p.clone()),
            Logged::Reload(rs) => Logged::Reload(rs),
        }
    }
}

// Feed is nearly every entry: boxing it would add an allocation per packet for nothing.
#[allow(clippy::large_enum_variant)]
enum Logged<'r> {
    Feed(Packet, Option<Clock>),
    Problem(PacketProblem),
    Reload(&'r Ruleset),
}

impl<'r> Forks<'r> {
    /// Packet bytes the log holds before the checkpoint moves forward (memory bound).
    const LOG_BYTES: usize = 8 << 20;

    /// The replay as it was after the last logged event.
    fn rebuild(&self) -> Replayer<'r> {
        let mut r = (*self.base).clone();
        for ev in &self.log {
            match ev {
                Logged::Feed(p, now) => r.feed(p, *now, &mut |_| {}),
                Logged::Problem(p) => r.problem(p, &mut |_| {}),
                Logged::Reload(rs) => r.reload(rs),
            }
        }
        r
    }

    /// Most shadows kept (the oldest goes first).
    const SHADOWS: usize = 8;

    /// Give `ev` to every shadow; one whose backlog passes [`Forks::LOG_BYTES`] is dropped
    /// (later packets depending on its frame get no alternative from it).
    fn give_shadows(&mut self, ev: &Logged<'r>, bytes: usize) {
        for s in self.shadows.iter_mut() {
            s.pending.push(ev.copy());
            s.pending_bytes += bytes;
        }
        self.shadows.retain(|s| s.pending_bytes <= Self::LOG_BYTES);
    }

    /// Keep the forks that computed frame `frame`'s alternatives as shadows.
    fn keep_shadows(&mut self, frame: u64, worlds: Vec<(Alternative, Replayer<'r>)>) {
        for (a, world) in worlds {
            if self.shadows.len() == Self::SHADOWS {
                self.shadows.pop_front();
            }
            self.shadows.push_back(Shadow {
                frame,
                rule: a.rule,
                why: a.why,
                world,
                pending: Vec::new(),
                pending_bytes: 0,
            });
        }
    }

    /// The alternatives of frame `frame`, uncertain through the state frame `cause` left:
    /// what it gets in each of `cause`'s shadows.
    fn shadow_alternatives(&mut self, cause: u64, frame: u64) -> Vec<Alternative> {
        self.shadows
            .iter_mut()
            .filter(|s| s.frame == cause)
            .map(|s| {
                let (verdict, certain, decision) = s.catch_up(frame).unwrap_or((None, false, None));
                Alternative {
                    frame: Some(cause),
                    rule: s.rule,
                    why: s.why,
                    verdict,
                    certain,
                    decision,
                }
            })
            .collect()
    }

    fn push(&mut self, ev: Logged<'r>, bytes: usize, now: &Replayer<'r>) {
        if !matches!(ev, Logged::Feed(..)) {
            self.give_shadows(&ev, bytes);
        }
        self.log.push(ev);
        self.log_bytes += bytes;
        if self.log_bytes > self.log_limit {
            *self.base = now.clone();
            self.log.clear();
            self.log_bytes = 0;
        }
    }
}

/// Where each undecided match of `o` leads: `pkt` fed to a fork of `before` (the replay before
/// `pkt`) with that match taken as matching. Each with its fork, which has seen `pkt`.
fn alternatives_of<'r>(
    before: &Replayer<'r>,
    pkt: &Packet,
    now: Option<Clock>,
    o: &Outcome,
) -> Vec<(Alternative, Replayer<'r>)> {
    o.undecided
        .iter()
        .map(|u| {
            let mut fork = before.clone();
            fork.engine.set_trace(false);
            fork.engine.force_unknown(Some(u.k));
            let mut got = None;
            fork.feed(pkt, now, &mut |item| {
                if let Item::Packet(p, alt) = item {
                    if p.frame == o.frame && got.is_none() {
                        got = Some((alt.verdict, alt.certain, alt.decision));
                    }
                }
            });
            let (verdict, certain, decision) = got.unwrap_or((None, false, None));
            let a = Alternative {
                frame: None,
                rule: u.rule,
                why: u.why,
                verdict,
                certain,
                decision,
            };
            (a, fork)
        })
        .collect()
}

impl<'r> Replayer<'r> {
    pub fn new(rs: &'r Ruleset, opts: SimOptions) -> Replayer<'r> {
        let t = opts.ct_timeouts;
        let high = opts.frag_high_thresh;
        let checksums = opts.env.checksums;
        let alternatives = opts.alternatives;
        let engine = Engine::new(rs, opts);
        let make = |tracked: bool| {
            Defragmenter::with_config(DefragConfig {
                ipv4_timeout: t
                    .get(crate::conntrack::FRAG4_TIMEOUT)
                    .saturating_mul(1_000_000_000),
                ipv6_timeout: t
                    .get(crate::conntrack::FRAG6_TIMEOUT)
                    .saturating_mul(1_000_000_000),
                ipv4_high_thresh: high,
                ipv6_high_thresh: high,
                v6_atomic: tracked,
                ..DefragConfig::default()
            })
        };
        let ct = engine.conntrack_active();
        let mut r = Replayer {
            engine,
            defrag: ct.then(|| make(true)),
            local_defrag: (!ct).then(|| make(false)),
            first_fragment_skb: HashMap::default(),
            doubtful_trains: HashMap::default(),
            checksums,
            gso_before: false,
            bridge_copies: BridgeCopies::default(),
            stats: ReplayStats::default(),
            forks: None,
        };
        r.enable_alternatives(alternatives);
        r
    }

    /// From the next packet on, give every packet whose verdict hinged on a match fwcheck
    /// could not decide its alternatives ([`Outcome::alternatives`]): the packet is run again
    /// on a fork of the state it met, once per such match, with the match taken as matching.
    /// At most `packets` packets get them (each costs a copy of the state); the replay itself
    /// is unchanged.
    pub fn enable_alternatives(&mut self, packets: u64) {
        self.forks = (packets > 0).then(|| {
            Box::new(Forks {
                base: Box::new(self.clone()),
                log: Vec::new(),
                log_bytes: 0,
                log_limit: Forks::LOG_BYTES,
                points_left: packets,
                shadows: VecDeque::new(),
            })
        });
    }

    /// How many more packets may get alternatives (when they are enabled): 0 stops new forks
    /// while the shadows kept so far stay up to date (`trace` of a frame whose doubt comes
    /// from an earlier one).
    pub fn set_alternatives_budget(&mut self, packets: u64) {
        if let Some(f) = self.forks.as_mut() {
            f.points_left = packets;
        }
    }

    /// Move the alternatives' checkpoint forward whenever the log holds more than `bytes` of
    /// packets (tests: 0 moves it after every packet).
    #[doc(hidden)]
    pub fn set_alternatives_log_limit(&mut self, bytes: usize) {
        if let Some(f) = self.forks.as_mut() {
            f.log_limit = bytes;
        }
    }

    /// Without connection tracking, an inbound fragment: IPv4 fragments cross PREROUTING one
    /// by one and are reassembled before INPUT (`ip_local_deliver`), which sees the datagram;
    /// IPv6 fragments cross PREROUTING and INPUT one by one and are reassembled afterwards
    /// (`ipv6_frag_rcv`). A fragment that is held gets no verdict (as with conntrack).
    fn feed_local_fragment(&mut self, pkt: Packet, clock: Clock, sink: &mut dyn FnMut(Item<'_>)) {
        let frame = pkt.frame;
        let v6 = pkt.family == crate::packet::Family::V6;
        let stage = if v6 {
            Stage::Whole
        } else {
            Stage::PreroutingOnly
        };
        let (mut o, skb) = self.engine.process_with_skb(&pkt, clock, stage, None);
        let key = (pkt.src, pkt.dst, pkt.frag.id, pkt.proto);
        let doubt = self.train_doubt(key, frame, o.certain);
        if o.verdict != Some(Verdict::Accept) {
            sink(Item::Packet(&pkt, &o));
            return;
        }
        // The stack's reassembly reads the ECN bits the tables left (`ip_frag_queue`,
        // `ip6_frag_queue` on the skb after PREROUTING, after INPUT): a TOS or ECN target may
        // have changed them.
        let tos = skb.tos;
        let Some(d) = self.local_defrag.as_ref() else {
            sink(Item::Packet(&pkt, &o));
            return;
        };
        if !v6 && pkt.frag.offset == 0 {
            // The head whose header the datagram keeps (`ip_frag_reasm`): the queue's first
            // first fragment — a duplicate is dropped — and not what a queue of the same id
            // that ended without completing left (discarded for mixing ECN codepoints, re-armed
            // by `ip_frag_too_far`, expired: kernel hunt, a datagram reassembled after such a
            // queue took its dead head's ECT bits). Entries of queues no longer held go first,
            // so the map holds no more than the defragmenter does.
            let first = d.v4_first_in(pkt.src, pkt.dst, pkt.proto, pkt.frag.id);
            if self.first_fragment_skb.len() > 2 * d.pending() + 64 {
                self.first_fragment_skb
                    .retain(|k, _| d.v4_first_in(k.0, k.1, k.3, k.2).is_some());
            }
            if first == Some(true) {
                self.first_fragment_skb.entry(key).or_insert(skb);
            } else {
                self.first_fragment_skb.insert(key, skb);
            }
        }
        let rewritten;
        let queued = if tos == pkt.tos {
            &pkt
        } else {
            rewritten = Packet { tos, ..pkt.clone() };
            &rewritten
        };
        match self.local_reassembly(queued, clock) {
            None => {
                let why = if v6 {
                    "fragment passed INPUT and is held for reassembly (without connection \
                     tracking IPv6 fragments cross the tables one by one)"
                } else {
                    "fragment passed PREROUTING and is held for reassembly (without connection \
                     tracking IPv4 is reassembled after PREROUTING, before INPUT)"
                };
                let mut h = Outcome::unjudged(frame, why);
                h.direction = o.direction;
                if !o.certain {
                    // Held if the tables passed it, as fwcheck takes them to have.
                    h.certain = false;
                    h.reason = o.reason.map(|r| format!("{why}; uncertain: {r}"));
                } else if let Some(d) = doubt {
                    h.certain = false;
                    h.reason = Some(format!("{why}; uncertain: {d}"));
                }
                sink(Item::Packet(&pkt, &h));
            }
            Some(dg) if v6 => {
                // The datagram goes on to its upper layer: this fragment's INPUT verdict —
                // unless the stack's reassembly refused the fragment it passed through.
                if !dg.frag.reassembled {
                    ipv6_stack_reassembly(&pkt, &mut o);
                } else {
                    self.doubtful_trains.remove(&key);
                }
                if let (true, Some(why)) = (o.certain, doubt) {
                    o.certain = false;
                    o.reason = Some(why);
                }
                if let Some(from) = &dg.reassembled_from {
                    o.fragments = from.to_vec();
                }
                sink(Item::Packet(&pkt, &o));
            }
            Some(dg) => {
                // ip_frag_reasm: `iph->tos |= ecn` on the head's header, CE when the
                // fragments mixed CE with ECT (`ip_frag_ecn_table`).
                let head = self.first_fragment_skb.remove(&key).map(|mut s| {
                    if dg.tos & 3 == 3 {
                        s.tos |= 3;
                    }
                    s
                });
                let (mut o2, _) = self
                    .engine
                    .process_with_skb(&dg, clock, Stage::FromInput, head);
                if let Some(from) = &dg.reassembled_from {
                    o2.fragments = from.to_vec();
                }
                self.doubtful_trains.remove(&key);
                // This fragment's own PREROUTING verdict was uncertain (`train_doubt` keeps
                // only earlier fragments'): the kernel may have dropped it there, and never
                // completed the datagram (kernel hunt: an nf_tables port rule matching a
                // later fragment's bytes in raw PREROUTING).
                let own = (!o.certain).then(|| {
                    format!(
                        "frame {frame}, the fragment that completed the datagram, got an \
                         uncertain verdict before reassembly: {}",
                        o.reason.as_deref().unwrap_or("unknown")
                    )
                });
                if let (true, Some(why)) = (o2.certain, own.or(doubt)) {
                    o2.certain = false;
                    o2.reason = Some(why);
                }
                sink(Item::Packet(&dg, &o2));
            }
        }
    }

    /// The doubt an earlier fragment of datagram `key` left on what becomes of it (see
    /// `doubtful_trains`), for fragment `frame`; records this one's when `certain` is false.
    fn train_doubt(
        &mut self,
        key: (IpAddr, IpAddr, u32, u8),
        frame: u64,
        certain: bool,
    ) -> Option<String> {
        let earlier = self.doubtful_trains.get(&key).copied();
        if !certain && earlier.is_none() {
            if self.doubtful_trains.len() >= DOUBTFUL_TRAINS {
                self.doubtful_trains.clear();
            }
            self.doubtful_trains.insert(key, frame);
        }
        earlier.filter(|&f| f != frame).map(|f| {
            format!(
                "frame {f}, a fragment of the same datagram, got an uncertain verdict before \
                 reassembly: the kernel may have queued it where fwcheck did not, or the other \
                 way, and completed the datagram otherwise"
            )
        })
    }

    /// Without connection tracking, a fragment the host's own stack made: its datagram crossed
    /// OUTPUT and POSTROUTING whole (`ip_fragment`, `ip6_fragment` run after POSTROUTING), so
    /// it is judged once, whole, when its last fragment is captured (recorded lab
    /// `own-fragments`).
    fn feed_own_fragment(&mut self, pkt: Packet, clock: Clock, sink: &mut dyn FnMut(Item<'_>)) {
        match self.local_reassembly(&pkt, clock) {
            None => {
                let mut h = Outcome::unjudged(
                    pkt.frame,
                    "fragment of the host's own datagram, which crossed OUTPUT whole before it \
                     was fragmented: judged with its last fragment",
                );
                h.direction = Direction::Out;
                sink(Item::Packet(&pkt, &h));
            }
            Some(dg) => {
                let mut o = self.engine.process_at(&dg, clock);
                if let Some(from) = &dg.reassembled_from {
                    o.fragments = from.to_vec();
                }
                sink(Item::Packet(&dg, &o));
            }
        }
    }

    /// `pkt` into the reassembly of the path without connection tracking (which the caller
    /// checked is there): the datagram it completes, or `None` while held (counted) or
    /// dropped; its events recorded.
    fn local_reassembly(&mut self, pkt: &Packet, clock: Clock) -> Option<Packet> {
        let d = self.local_defrag.as_mut()?;
        let out = d.push_at(pkt.clone(), crate::packet::Timestamp(clock.ns));
        for ev in d.drain_events() {
            self.stats.fragment_event(&ev);
        }
        if out.is_none() {
            self.stats.fragments_held += 1;
        }
        out
    }

    /// Replay one decoded packet; `now` overrides the time (else capture time).
    pub fn feed(&mut self, pkt: &Packet, now: Option<Clock>, sink: &mut dyn FnMut(Item<'_>)) {
        let Some(mut forks) = self.forks.take() else {
            return self.feed_one(pkt, now, sink);
        };
        // The log's own copy of the bytes, so that its byte bound is what it holds (a share
        // of the capture's read buffer would keep the whole buffer).
        let logged = Packet {
            data: pkt.data.detached(),
            ..pkt.clone()
        };
        let bytes = logged.data.len() + std::mem::size_of::<Packet>();
        if !forks.shadows.is_empty() {
            forks.give_shadows(&Logged::Feed(logged.clone(), now), bytes);
        }
        let mut before: Option<Replayer<'r>> = None;
        let mut points = 0;
        let forks_ref = &mut forks;
        self.feed_one(pkt, now, &mut |item| match item {
            Item::Packet(p, o) if !o.undecided.is_empty() && forks_ref.points_left > points => {
                let before = before.get_or_insert_with(|| forks_ref.rebuild());
                let mut o2 = o.clone();
                let worlds = alternatives_of(before, &logged, now, o);
                o2.alternatives = worlds.iter().map(|(a, _)| a.clone()).collect();
                if before.engine.conntrack_active() {
                    forks_ref.keep_shadows(o.frame, worlds);
                }
                points += 1;
                sink(Item::Packet(p, &o2));
            }
            Item::Packet(p, o)
                if o.undecided.is_empty()
                    && forks_ref.points_left > points
                    && o.tainted_by
                        .is_some_and(|f| forks_ref.shadows.iter().any(|s| s.frame == f)) =>
            {
                let mut o2 = o.clone();
                let cause = o.tainted_by.expect("checked");
                o2.alternatives = forks_ref.shadow_alternatives(cause, o.frame);
                points += 1;
                sink(Item::Packet(p, &o2));
            }
            other => sink(other),
        });
        forks.points_left = forks.points_left.saturating_sub(points);
        if let Some(b) = before {
            // The checkpoint moves to just before this packet.
            *forks.base = b;
            forks.log.clear();
            forks.log_bytes = 0;
        }
        forks.push(Logged::Feed(logged, now), bytes, self);
        self.forks = Some(forks);
    }

    #[inline(always)]
    fn feed_one(&mut self, pkt: &Packet, now: Option<Clock>, sink: &mut dyn FnMut(Item<'_>)) {
        self.stats.packets += 1;
        let gso = self.gso_position(pkt);
        if pkt.l4_checksum_ok == Some(false) {
            self.stats.checksums_offloaded += pkt.l4_checksum_offloaded(self.checksums) as u64;
            self.stats.checksums_partial +=
                pkt.anomalies.has(crate::packet::Anomalies::L4_CSUM_PARTIAL) as u64;
        }
        let frame = pkt.frame;
        if !self.engine.env.host.links.is_empty() {
            match self.bridge_copy(pkt, now) {
                BridgeCopy::Of(copied) => {
                    let o = Outcome::unjudged(
                        frame,
                        format!(
                            "a later copy of frame {copied} on another device of its bridge (a \
                             port's or the bridge's own capture): judged there (the kernel's \
                             hooks see it once)"
                        ),
                    );
                    return sink(Item::Packet(pkt, &o));
                }
                BridgeCopy::Maybe => self.engine.doubt_next(
                    "it may be a later copy, on another device of its bridge, of a frame \
                     fwcheck no longer holds (more than 65,536 frames on the bridge within a \
                     second): then the kernel's hooks saw it once, already"
                        .into(),
                ),
                BridgeCopy::No => {}
            }
        }
        if self.local_defrag.is_some()
            && pkt.frag.is_fragment()
            && pkt.kernel_drop_reason().is_none()
        {
            let dir = self.engine.classify(pkt);
            // Frames injected one by one (the kernel comparison's oracle) crossed OUTPUT as
            // they are; in a capture of the host, MTU-sized ones are its stack's.
            let kernel_made = dir == Ok(Direction::Out)
                && self.engine.captured_on_host()
                && kernel_fragmented(pkt);
            if dir == Ok(Direction::In) || kernel_made {
                let clock = match now {
                    Some(c) => c,
                    None => self.engine.capture_clock(pkt.ts),
                };
                if dir == Ok(Direction::In) {
                    self.feed_local_fragment(pkt.clone(), clock, sink);
                } else {
                    self.feed_own_fragment(pkt.clone(), clock, sink);
                }
                return;
            }
        }
        let mut frag_unsure = None;
        // Borrowed, not moved: a packet is a few hundred bytes, copied again at every move.
        let reassembled;
        let pkt: &Packet = match self.defrag.as_mut() {
            Some(d) if d.takes(pkt) => {
                // Fragment queues expire on the same clock the engine runs on.
                let out = match now {
                    Some(c) => d.push_at(pkt.clone(), crate::packet::Timestamp(c.ns)),
                    None => d.push(pkt.clone()),
                };
                frag_unsure = d.take_uncertain();
                // What became of this fragment, when the defragmenter dropped it.
                let mut dropped = None;
                for ev in d.drain_events() {
                    match &ev {
                        DefragEvent::FragmentDropped { frame: f, reason } if *f == frame => {
                            dropped = Some(format!(
                                "fragment dropped before any table ({})",
                                reason.as_str()
                            ));
                        }
                        DefragEvent::QueueDiscarded {
                            frame: f, reason, ..
                        } if *f == frame => {
                            dropped = Some(format!(
                                "fragment dropped before any table, with its train ({})",
                                reason.as_str()
                            ));
                        }
                        _ => {}
                    }
                    self.stats.fragment_event(&ev);
                }
                match out {
                    Some(p) => {
                        reassembled = p;
                        &reassembled
                    }
                    None => {
                        let dropped_unsure = dropped.is_some() && frag_unsure.is_some();
                        let why = dropped.unwrap_or_else(|| {
                            self.stats.fragments_held += 1;
                            "fragment held for reassembly (conntrack defragments before any table)"
                                .into()
                        });
                        let mut o = Outcome::unjudged(frame, why);
                        // Dropped for memory near the limit: the kernel may have kept it.
                        o.certain = !dropped_unsure;
                        sink(Item::Packet(pkt, &o));
                        return;
                    }
                }
            }
            _ => pkt,
        };
        if gso != Gso::No {
            self.gso_doubt();
        }
        let mut o = match now {
            Some(j) => self.engine.process_at(pkt, j),
            None => self.engine.process(pkt),
        };
        if pkt.frag.is_fragment() {
            ipv6_stack_reassembly(pkt, &mut o);
        }
        if let Some(from) = &pkt.reassembled_from {
            o.fragments = from.to_vec();
        }
        if let Some(why) = frag_unsure {
            if o.certain {
                o.certain = false;
                o.reason = Some(format!("reassembly: {why}"));
            }
        }
        if pkt.frag.is_fragment()
            && !self.engine.conntrack_active()
            && o.verdict.is_some()
            && o.direction == Direction::Local
        {
            // A datagram the host sent itself over loopback crossed OUTPUT whole and was
            // fragmented afterwards; the capture only shows the fragments (those leaving on
            // an interface are reassembled first: `feed_own_fragment`).
            o.certain = false;
            o.reason.get_or_insert_with(|| {
                "IP fragment without connection tracking: the host filtered the whole datagram \
                 before fragmenting it"
                    .into()
            });
        }
        if o.direction == Direction::Out && gso == Gso::Continues {
            self.stats.gso_continuations += 1;
        }
        sink(Item::Packet(pkt, &o));
    }

    /// Where `pkt` stands in a train of frames that may be segments of one GSO packet
    /// ([`crate::packet::ingest::gso`]).
    fn gso_position(&mut self, pkt: &Packet) -> Gso {
        let continued = pkt.anomalies.has(Anomalies::GSO_CONTINUED);
        match std::mem::replace(&mut self.gso_before, continued) {
            true => Gso::Continues,
            false if continued => Gso::Starts,
            false => Gso::No,
        }
    }

    /// A frame of such a train, in a capture of the host through a ruleset the difference
    /// can change (`Engine::gso_sensitive`): if the host sent it, what reads its length,
    /// payload or counts packets is undecided for it.
    fn gso_doubt(&mut self) {
        if self.engine.gso_sensitive() && self.engine.captured_on_host() {
            self.engine.gso_next();
        }
    }

    /// The frame `pkt` is a later copy of, when the capture shows a bridge (or bond) and its
    /// ports and `pkt` was seen on one of them (see [`BridgeCopies`]).
    #[inline(never)]
    fn bridge_copy(&mut self, pkt: &Packet, now: Option<Clock>) -> BridgeCopy {
        let env = &self.engine.env;
        if env.host.captured == crate::host::CapturedDevices::One {
            return BridgeCopy::No;
        }
        let dev = env.captured_on(pkt);
        let group = env.host.ip_master(dev).unwrap_or(dev);
        if !env.host.has_port_of(group) {
            return BridgeCopy::No;
        }
        let index = |n: &str| {
            env.host
                .links
                .iter()
                .position(|l| l.dev == n)
                .unwrap_or(usize::MAX) as u32
        };
        let (g, d) = (index(group), index(dev));
        let ns = match now {
            Some(c) => c.ns,
            None => pkt.ts.0,
        };
        self.bridge_copies.copy_of(pkt, g, d, ns)
    }

    /// Load `rs` from the next packet on, keeping conntrack and the named match state
    /// ([`Engine::reload`]); fragments held for reassembly stay held.
    pub fn reload(&mut self, rs: &'r Ruleset) {
        self.engine.reload(rs);
        if let Some(mut f) = self.forks.take() {
            f.push(Logged::Reload(rs), 0, self);
            self.forks = Some(f);
        }
    }

    /// A frame that did not decode.
    pub fn problem(&mut self, problem: &PacketProblem, sink: &mut dyn FnMut(Item<'_>)) {
        self.gso_before = false;
        if problem.kind.is_skip() {
            self.stats.skipped_non_ip += 1;
        } else {
            self.stats.problems += 1;
        }
        if problem.kind == crate::packet::ProblemKind::CorruptRecord {
            self.stats.capture_error = Some(format!("frame {}: {}", problem.frame, problem.reason));
        }
        if let Some(a) = &problem.arp {
            self.engine.arp_seen(a);
        }
        if let Some(mut f) = self.forks.take() {
            f.push(Logged::Problem(problem.clone()), 256, self);
            self.forks = Some(f);
        }
        sink(Item::Problem(problem));
    }

    /// End of input: report fragment trains that never completed.
    pub fn finish(mut self) -> (Engine<'r>, ReplayStats) {
        if let Some(d) = self.defrag.as_mut() {
            for ev in d.finish() {
                self.stats.fragment_event(&ev);
            }
        }
        self.engine.settle_neighbours();
        (self.engine, self.stats)
    }
}

/// Replay `source` through `rs`. The engine is handed back for counters and conntrack state.
pub fn replay<'r>(
    rs: &'r Ruleset,
    opts: SimOptions,
    source: Source,
    sink: impl FnMut(Item<'_>),
) -> Result<(Engine<'r>, ReplayStats), CaptureError> {
    replay_with_reload(rs, opts, source, None, sink)
}

/// When `--reload-at` loads the new ruleset: before frame N, or before the first frame
/// captured at or after a time (seconds after the first frame, as the packet table's `time`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReloadAt {
    Frame(u64),
    /// Nanoseconds after the first frame's time stamp.
    Time(u64),
}

impl ReloadAt {
    /// `frame:N` or `SECONDS` (`12`, `0.25`).
    pub fn parse(s: &str) -> Result<ReloadAt, String> {
        if let Some(n) = s.strip_prefix("frame:") {
            return match n.trim().parse::<u64>() {
                Ok(n) if n >= 1 => Ok(ReloadAt::Frame(n)),
                _ => Err(format!(
                    "`{s}`: expected frame:N with N a frame number from 1"
                )),
            };
        }
        match s.trim().parse::<f64>() {
            Ok(t) if (0.0..1e9).contains(&t) => Ok(ReloadAt::Time((t * 1e9).round() as u64)),
            _ => Err(format!(
                "`{s}`: expected frame:N or a time in seconds after the first frame, e.g. 12.5"
            )),
        }
    }
}

/// Follows the frames of a replay and says when the reload point is reached (it stays
/// reached). The replay and a report use one each, fed the same frames.
#[derive(Debug, Clone)]
pub(crate) struct ReloadPoint {
    at: ReloadAt,
    first_ts: Option<u64>,
    reached: bool,
}

impl ReloadPoint {
    pub fn new(at: ReloadAt) -> ReloadPoint {
        ReloadPoint {
            at,
            first_ts: None,
            reached: false,
        }
    }
    /// Whether the frame numbered `frame`, captured at `ts` (ns, if known), runs under the
    /// new ruleset.
    pub fn step(&mut self, frame: u64, ts: Option<u64>) -> bool {
        if let Some(t) = ts {
            self.first_ts.get_or_insert(t);
        }
        if !self.reached {
            self.reached = match self.at {
                ReloadAt::Frame(n) => frame >= n,
                ReloadAt::Time(d) => match (ts, self.first_ts) {
                    (Some(t), Some(f)) => t.saturating_sub(f) >= d,
                    _ => false,
                },
            };
        }
        self.reached
    }
}

/// [`replay`], loading `reload`'s ruleset at its point ([`Replayer::reload`]: conntrack and
/// named match state kept, as `iptables-restore` on a live host).
pub(crate) fn replay_with_reload<'r>(
    rs: &'r Ruleset,
    opts: SimOptions,
    source: Source,
    reload: Option<(&'r Ruleset, ReloadAt)>,
    sink: impl FnMut(Item<'_>),
) -> Result<(Engine<'r>, ReplayStats), CaptureError> {
    replay_families(rs, None, opts, source, reload, sink).map(|(one, _)| one)
}

/// What a replay with two rulesets hands back: the engine and counts of each family's replay.
pub(crate) type FamilyReplays<'r> = ((Engine<'r>, ReplayStats), Option<(Engine<'r>, ReplayStats)>);

/// [`replay_with_reload`] for a host running iptables and ip6tables side by side: with
/// `other` (the other family's ruleset), every decoded frame is fed, in capture order, to the
/// replay of its family's ruleset — two [`Replayer`]s, each with its own engine, conntrack
/// table, defragmenter and named match state, as the kernel keeps them per family
/// (`nf_conntrack_tuple` carries the layer-3 family, `iptable_filter` and `ip6table_filter` are
/// separate hooks). They share only the capture's clock: both engines count time from the
/// capture's first packet, whichever family it is. Frames that do not decode go to `rs`'s
/// replay (it reads the capture, so it owns its interfaces and read error). A reload applies
/// to the replay of its ruleset's family.
pub(crate) fn replay_families<'r>(
    rs: &'r Ruleset,
    other: Option<&'r Ruleset>,
    opts: SimOptions,
    source: Source,
    reload: Option<(&'r Ruleset, ReloadAt)>,
    mut sink: impl FnMut(Item<'_>),
) -> Result<FamilyReplays<'r>, CaptureError> {
    let mut opts = opts;
    if let Source::Capture(path) = &source {
        opts.for_capture(path);
    }
    let mut f = Families::new(rs, other, opts);
    let mut point = reload.map(|(new, at)| (new, ReloadPoint::new(at), false));
    let mut check = |f: &mut Families<'r>, frame: u64, ts: Option<u64>| {
        if let Some((new, p, done)) = point.as_mut() {
            if p.step(frame, ts) && !*done {
                *done = true;
                f.reload(new);
            }
        }
    };
    match source {
        Source::Packets(mut pkts) => {
            crate::packet::ingest::gso::mark_trains(&mut pkts);
            for p in pkts {
                check(&mut f, p.frame, Some(p.ts.0));
                f.feed(&p, None, &mut sink);
            }
        }
        Source::Capture(path) => {
            let mut reader = crate::packet::ahead::DecodeAhead::open(&path)?;
            while let Some(item) = reader.next_ref() {
                match item {
                    Ok(p) => {
                        check(&mut f, p.frame, Some(p.ts.0));
                        f.feed(p, None, &mut sink)
                    }
                    Err(problem) => {
                        check(&mut f, problem.frame, problem.ts.map(|t| t.0));
                        f.problem(problem, &mut sink)
                    }
                }
            }
            f.main.stats.interfaces = reader.interfaces().clone();
        }
    }
    Ok(f.finish())
}

/// One [`Replayer`] per family (the second only with the other family's ruleset): each frame
/// goes to its family's, in order. The one two-family dispatch, shared by the replay and the
/// kernel comparison ([`crate::compare`]).
pub(crate) struct Families<'r> {
    pub(crate) main: Replayer<'r>,
    pub(crate) other: Option<Replayer<'r>>,
    /// `nf_conntrack_max` (0: none).
    ct_max: usize,
    /// The two tables together met `ct_max` (see [`Families::feed`]).
    shared_full: bool,
    /// Both engines' clocks were started at the first packet.
    started: bool,
}

impl<'r> Families<'r> {
    pub(crate) fn new(rs: &'r Ruleset, other: Option<&'r Ruleset>, opts: SimOptions) -> Self {
        Families {
            other: other.map(|o| Replayer::new(o, opts.clone())),
            ct_max: opts.ct_max as usize,
            shared_full: false,
            started: false,
            main: Replayer::new(rs, opts),
        }
    }

    /// Load `new` into the replay of its family, keeping state.
    pub(crate) fn reload(&mut self, new: &'r Ruleset) {
        match self.other.as_mut() {
            Some(s) if s.engine.ruleset().family == new.family => s.reload(new),
            _ => self.main.reload(new),
        }
    }

    /// Feed `p` (at `now`, else its own time stamp) to its family's replay.
    ///
    /// `nf_conntrack_max` bounds one table per namespace, shared by both families; fwcheck
    /// keeps one per family. From the first packet that meets the two tables together at the
    /// limit (where the kernel early-drops from either family, or drops as "table full"), no
    /// verdict of the two-family replay is claimed certain.
    pub(crate) fn feed(
        &mut self,
        p: &Packet,
        now: Option<crate::engine::Clock>,
        sink: &mut dyn FnMut(Item<'_>),
    ) {
        let Some(s) = self.other.as_mut() else {
            self.main.stats.frames += 1;
            return self.main.feed(p, now, sink);
        };
        if !self.started && now.is_none() {
            self.started = true;
            self.main.engine.jiffies(p.ts.0);
            s.engine.jiffies(p.ts.0);
        }
        if !self.shared_full && self.ct_max > 0 {
            self.shared_full =
                self.main.engine.conntrack.len() + s.engine.conntrack.len() >= self.ct_max;
        }
        let to = if p.family == s.engine.ruleset().family {
            s
        } else {
            &mut self.main
        };
        to.stats.frames += 1;
        if !self.shared_full {
            return to.feed(p, now, sink);
        }
        let ct_max = self.ct_max;
        to.feed(p, now, &mut |item: Item<'_>| match item {
            Item::Packet(p, o) if o.certain && o.verdict.is_some() => {
                let mut o = o.clone();
                o.certain = false;
                o.reason = Some(format!(
                    "the two families' conntrack tables together reached nf_conntrack_max \
                     ({ct_max}): the kernel keeps one table for both and early-drops from either; \
                     fwcheck keeps one per family"
                ));
                sink(Item::Packet(p, &o))
            }
            other => sink(other),
        });
    }

    /// A frame that is no packet: the main replay counts and reports it.
    pub(crate) fn problem(&mut self, problem: &PacketProblem, sink: &mut dyn FnMut(Item<'_>)) {
        self.main.stats.frames += 1;
        self.main.problem(problem, sink)
    }

    pub(crate) fn finish(self) -> FamilyReplays<'r> {
        (self.main.finish(), self.other.map(Replayer::finish))
    }
}

fn describe(ev: &DefragEvent) -> String {
    match ev {
        DefragEvent::FragmentDropped { frame, reason } => {
            format!("frame {frame}: fragment dropped ({})", reason.as_str())
        }
        DefragEvent::QueueDiscarded {
            frame,
            frames,
            reason,
        } => format!(
            "frame {frame}: fragment train discarded ({}), frames {}",
            reason.as_str(),
            frame_list(frames)
        ),
        DefragEvent::PassedThrough { frame, reason } => {
            format!("frame {frame}: IPv6 fragment passed through ({reason})")
        }
        DefragEvent::TimedOut { frames, at_end, .. } => {
            if *at_end {
                format!(
                    "incomplete fragment train at the end of the capture, frames {}",
                    frame_list(frames)
                )
            } else {
                format!("fragment train timed out, frames {}", frame_list(frames))
            }
        }
    }
}

/// A train's frames: all of them up to 10, else the first 10 and how many (a train of
/// thousands of fragments is one line, not a megabyte).
fn frame_list(frames: &[u64]) -> String {
    if frames.len() <= 10 {
        format!("{frames:?}")
    } else {
        let head: Vec<String> = frames[..10].iter().map(u64::to_string).collect();
        format!("[{}, … {} in all]", head.join(", "), frames.len())
    }
}

/// Convenience: replay a capture file and collect every outcome (tests, small captures).
pub fn replay_file(
    rs: &Ruleset,
    opts: SimOptions,
    path: &Path,
) -> Result<Vec<Outcome>, CaptureError> {
    let mut v = Vec::new();
    replay(rs, opts, Source::Capture(path.to_path_buf()), |i| {
        if let Item::Packet(_, o) = i {
            v.push(o.clone());
        }
    })?;
    Ok(v)
}

#[cfg(test)]
mod bridge_copies_tests {
    use super::*;

    fn frame(n: u64, len: u32) -> Packet {
        Packet {
            frame: n,
            ip_len: len,
            ..Packet::default()
        }
    }

    /// A copy on another device of the bridge is recognised; on the same device it is a new
    /// frame. Past the table's bound, a copy of a frame it pushed out is a maybe, never a
    /// certain "not a copy".
    #[test]
    fn copies_are_recognised_and_pushed_out_ones_are_in_doubt() {
        let mut b = BridgeCopies::default();
        assert_eq!(b.copy_of(&frame(1, 60), 0, 1, 0), BridgeCopy::No);
        assert_eq!(b.copy_of(&frame(2, 60), 0, 2, 10), BridgeCopy::Of(1));
        assert_eq!(b.copy_of(&frame(3, 61), 0, 1, 20), BridgeCopy::No);
        assert_eq!(b.copy_of(&frame(4, 61), 0, 1, 30), BridgeCopy::No);
        // A second later it is forgotten: a new frame.
        assert_eq!(
            b.copy_of(&frame(5, 60), 0, 2, 2_000_000_000),
            BridgeCopy::No
        );
        let mut b = BridgeCopies::default();
        for i in 0..=BridgeCopies::CAP as u32 {
            assert_eq!(
                b.copy_of(&frame(i as u64, 100 + i), 0, 1, i as u64),
                BridgeCopy::No
            );
        }
        assert_eq!(b.copy_of(&frame(9, 100), 0, 2, 70_000), BridgeCopy::Maybe);
        assert_eq!(
            b.copy_of(&frame(9, 101 + BridgeCopies::CAP as u32 / 2), 0, 2, 70_001),
            BridgeCopy::Of(1 + BridgeCopies::CAP as u64 / 2)
        );
    }
}

#[cfg(test)]
mod local_defrag_tests {
    use super::*;
    use crate::packet::build::{build, v4_fragment_bytes, L4Spec, PacketSpec};
    use crate::packet::decode::{decode_ip, FrameMeta};
    use crate::packet::{LinkInfo, Timestamp};

    /// A flood of first fragments that never complete, to a host without conntrack (IPv4
    /// reassembled before INPUT): the heads kept for their datagrams stay within the queues
    /// the defragmenter holds (before, one head a fragment, forever).
    #[test]
    fn heads_of_datagrams_that_never_complete_are_not_kept() {
        let text =
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
        let l = crate::lint::load_str("r", text, crate::ruleset::ParseOptions::default());
        let host: IpAddr = "192.0.2.10".parse().unwrap();
        let opts = SimOptions {
            env: crate::engine::SimEnv {
                hosts: vec![host],
                ..Default::default()
            },
            ..SimOptions::default()
        };
        let mut r = Replayer::new(&l.ruleset, opts);
        assert!(!r.engine.conntrack_active());
        for i in 0..20_000u32 {
            let src = IpAddr::V4(std::net::Ipv4Addr::from(0xc633_0000 | (i & 0xffff)));
            let mut s = PacketSpec::new(src, host, L4Spec::Udp { sport: 1, dport: 2 });
            s.payload = vec![7; 64];
            let d = build(&s, 0, Timestamp(0), LinkInfo::default()).data;
            let mut b = v4_fragment_bytes(&d[..20], &d[20..36], 0, true);
            b[4..6].copy_from_slice(&(i as u16).to_be_bytes());
            b[10..12].copy_from_slice(&[0, 0]);
            let c = crate::packet::checksum::compute(&b[..20]);
            b[10..12].copy_from_slice(&c.to_be_bytes());
            let meta = FrameMeta {
                frame: i as u64 + 1,
                ts: Timestamp(1_000_000 + i as u64 * 1_000),
                linktype: 101,
                interface: 0,
                wire_len: 0,
            };
            let p = decode_ip(&meta, LinkInfo::default(), &b, b.len(), None).unwrap();
            r.feed(&p, None, &mut |_| {});
        }
        let pending = r.local_defrag.as_ref().map_or(0, |d| d.pending());
        assert!(
            r.first_fragment_skb.len() <= 2 * pending + 65,
            "{} heads for {pending} queues",
            r.first_fragment_skb.len()
        );
    }
}
