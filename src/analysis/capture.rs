//! Findings from a replayed capture: administrators' sessions the ruleset cuts or refuses
//! (FW001), ICMP echo traffic that looks like a tunnel (FW002), rules the capture never hit
//! (FW008), and published ports reached from outside past INPUT (FW016).
//!
//! FW016 here is what the replay did, not a probe: a packet from a remote address, in on an
//! interface that is not on the containers' side (`exposure::container_side`), for one of
//! the host's addresses, opening a connection (conntrack NEW) that the replay forwarded and
//! accepted. The engine classifies a packet by its destination before PREROUTING and moves it
//! to FORWARD only when, after PREROUTING, that destination is no longer the host's (net/ipv4/
//! ip_input.c `ip_rcv_finish` routes after the hook): so an [`Outcome`] of direction
//! `forward` for a packet captured with a host address as destination is one a DNAT rewrote,
//! and its decision is the FORWARD rule or policy that let it through. One finding per
//! (protocol, port), confirmed by the engine (`exposure::seen_in_capture`): the same
//! packet without NAT must be dropped by INPUT.
//!
//! FW001 here is about sessions, not packets. A management flow (a remote peer to a management
//! port of one of the host's addresses; never forwarded traffic, never a peer outside `--admin`)
//! is a lockout when
//!
//! * it **was established and is cut**: the replay accepted its opening and the host's answer
//!   (the session came up), and from some packet on nothing more of it is accepted one way (a
//!   stray segment dropped while the session goes on cuts nothing); or
//! * it **would be established**: the capture shows the session happened — the host answered
//!   the SYN with a SYN/ACK the peer did not reset, data went both ways, or (UDP) the host
//!   answered — but the ruleset does not let its handshake through.
//!
//! Not lockouts: packets that never open a session (scans, stray RSTs and FINs, a capture that
//! starts in the middle of a session the replay cannot pick up — the static check covers
//! sessions that exist when the rules are loaded), and attempts refused by a rule with a rate
//! or brute-force guard (`limit`, `hashlimit`, `recent`, `connlimit`: [`Match::rate_guard`]),
//! which is that rule doing its job. Findings are grouped by peer address: one FW001 per
//! administrator, naming each session, its frames and the rule that cuts it.
//!
//! [`Match::rate_guard`]: crate::ext::Match::rate_guard

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::*;
use crate::diag::codes;
use crate::engine::{AnswerTo, CtLabel, Decision, Direction};
use crate::packet::{tcp_flags as F, Packet, L4};
use crate::ruleset::model::{Action, TableKind};

/// Management sessions tracked at most; beyond, idle ones that can no longer become a finding
/// are forgotten first, then new ones are counted but not tracked.
const MAX_SESSIONS: usize = 65_536;
/// A session with nothing that could make it a finding is forgotten after this many frames.
const IDLE_FRAMES: u64 = 4_096;
/// Frames listed per session.
const LISTED: usize = 10;
/// Published ports (protocol, port) followed for FW016.
const MAX_PUBLISHED: usize = 64;

/// Packets of a session the ruleset does not accept, in one phase (before or after it is
/// established).
#[derive(Debug, Default)]
struct Blocked {
    count: usize,
    frames: Vec<u64>,
    /// The first one: its outcome and a short description (boxed: most sessions have none,
    /// and an outcome is a few hundred bytes).
    first: Option<Box<(Outcome, String)>>,
}

impl Blocked {
    fn push(&mut self, o: &Outcome, what: impl FnOnce() -> String) {
        self.count += 1;
        if self.frames.len() < LISTED {
            self.frames.push(o.frame);
        }
        if self.first.is_none() {
            self.first = Some(Box::new((o.clone(), what())));
        }
    }
    fn list(&self) -> String {
        let v: Vec<String> = self.frames.iter().map(|x| x.to_string()).collect();
        format!(
            "{}{}",
            v.join(","),
            if self.count > self.frames.len() {
                ",…"
            } else {
                ""
            }
        )
    }
}

/// One session from a remote peer to a management service of the host.
#[derive(Debug)]
struct Session {
    svc: Service,
    last_frame: u64,
    /// A SYN (without ACK) came in.
    saw_syn: bool,
    /// An inbound packet that opens or carries a session (TCP: a SYN, or a segment with ACK;
    /// never a RST) was accepted.
    in_accepted: bool,
    /// A packet from the host (not a RST) was accepted.
    out_accepted: bool,
    /// Frame at which the replay has let packets through both ways (the opening in, the
    /// host's answer out). Not conntrack's ESTABLISHED label: conntrack sees the host's
    /// SYN/ACK before filter OUTPUT drops it, and calls the peer's next ACK ESTABLISHED although
    /// the session never came up.
    established: Option<u64>,
    /// The host's answer in the capture (TCP: its SYN/ACK; UDP: a datagram from the service),
    /// whatever the ruleset does with it.
    answered: Option<u64>,
    /// What the peer sent first after that answer: `Some(true)` for a RST (a half-open probe).
    reset_after_answer: Option<bool>,
    data_in: bool,
    data_out: bool,
    fin_in: bool,
    fin_out: bool,
    rst: bool,
    /// Host answers the replay says would not be sent.
    not_sent: usize,
    before: Blocked,
    /// After it was established, per direction (in, out): the packets not accepted since the
    /// last one that was. A drop followed by accepted packets the same way (a stray
    /// out-of-window segment) cut nothing.
    after: [Blocked; 2],
}

impl Session {
    fn new(svc: Service, frame: u64) -> Session {
        Session {
            svc,
            last_frame: frame,
            saw_syn: false,
            in_accepted: false,
            out_accepted: false,
            established: None,
            answered: None,
            reset_after_answer: None,
            data_in: false,
            data_out: false,
            fin_in: false,
            fin_out: false,
            rst: false,
            not_sent: 0,
            before: Blocked::default(),
            after: Default::default(),
        }
    }

    /// What the capture shows happened, if it shows the session was real.
    fn evidence(&self) -> Option<String> {
        let tcp = self.svc.proto == 6;
        match self.answered {
            Some(f) if !tcp => return Some(format!("the host answered in frame {f}")),
            Some(f) if self.reset_after_answer != Some(true) => {
                return Some(format!("the host's SYN/ACK is frame {f}"))
            }
            _ => {}
        }
        (self.data_in && self.data_out).then(|| "data went both ways".to_string())
    }

    /// The packets that cut the session: of the direction cut first, those not accepted until
    /// the end of the capture.
    fn cut(&self) -> Option<&Blocked> {
        self.after
            .iter()
            .filter(|b| b.count > 0)
            .min_by_key(|b| b.frames.first().copied())
    }

    /// Nothing can make this session a finding any more.
    fn settled(&self, now: u64) -> bool {
        if self.cut().is_some() {
            return false;
        }
        let closed = self.rst || (self.fin_in && self.fin_out);
        match self.established {
            Some(_) => closed,
            None => self.evidence().is_none() && now.saturating_sub(self.last_frame) > IDLE_FRAMES,
        }
    }
}

/// (peer address, peer port, host address, host port, protocol).
type Key = (IpAddr, u16, IpAddr, u16, u8);

/// Collects what a capture shows while it is replayed.
#[derive(Debug, Default)]
pub struct CaptureAnalyzer {
    hosts: Vec<IpAddr>,
    mgmt: Vec<Service>,
    admin: Vec<Net>,
    /// Looked up for every management packet; ordered only for the findings. Boxed: a
    /// session is a few hundred bytes, and a map's spare buckets would hold as much.
    sessions: foldhash::HashMap<Key, Box<Session>>,
    /// Management sessions not tracked because the table was full.
    untracked: u64,
    tunnel_in: Vec<u64>,
    tunnel_out: Vec<u64>,
    /// What accepted the first tunnel-like echo request.
    tunnel_rule: Option<Outcome>,
    /// Packets not judged, per family (IPv4, IPv6): how many, and the first frame. Those of the
    /// family the ruleset is not for (an iptables ruleset never sees IPv6 packets) are FW019.
    unjudged: [(u64, Option<u64>); 2],
    /// FW021: the latest time stamp seen, and frames stamped before it: how many, the first,
    /// and the longest step back (ns).
    latest_ts: u64,
    backwards: (u64, Option<u64>, u64),
    /// The options of the checks (the host's interfaces and routes), for FW016's probes.
    opts: CheckOptions,
    /// Interfaces on the containers' side: packets coming in on them are not from outside.
    container_side: Vec<String>,
    /// FW016: published ports reached from outside, in order of first sight.
    published: Vec<exposure::SeenPort>,
    /// The connections counted for them: (protocol, port, client address, client port).
    published_conns: foldhash::HashSet<(u8, u16, IpAddr, u16)>,
}

impl CaptureAnalyzer {
    /// An analyzer for a capture replayed through `rs` (whose DNAT destinations, routed by the
    /// host configuration of `opts`, say which interfaces are the containers' side).
    pub fn new(opts: &CheckOptions, hosts: &[IpAddr], rs: &Ruleset) -> CaptureAnalyzer {
        CaptureAnalyzer {
            hosts: hosts.to_vec(),
            mgmt: opts.mgmt.clone(),
            admin: opts.admin.clone(),
            opts: opts.clone(),
            container_side: exposure::container_side(rs, &opts.env.host),
            ..CaptureAnalyzer::default()
        }
    }

    pub fn observe(&mut self, pkt: &Packet, o: &Outcome) {
        if pkt.ts.0 < self.latest_ts {
            let b = &mut self.backwards;
            b.0 += 1;
            b.1.get_or_insert(pkt.frame);
            b.2 = b.2.max(self.latest_ts - pkt.ts.0);
        } else {
            self.latest_ts = pkt.ts.0;
        }
        self.observe_session(pkt, o);
        self.observe_published(pkt, o);
        let Some(v) = o.verdict else {
            let u = &mut self.unjudged[(pkt.family == crate::packet::Family::V6) as usize];
            u.0 += 1;
            u.1.get_or_insert(o.frame);
            return;
        };
        // ICMP tunnels: big, high-entropy echo payloads accepted.
        if let L4::Icmp(i) | L4::Icmpv6(i) = &pkt.l4 {
            let payload = pkt.payload();
            if v == Verdict::Accept && payload.len() >= 512 && synth::entropy(payload) > 7.0 {
                match i.icmp_type {
                    8 | 128 => {
                        self.tunnel_in.push(o.frame);
                        self.tunnel_rule.get_or_insert_with(|| o.clone());
                    }
                    0 | 129 => self.tunnel_out.push(o.frame),
                    _ => {}
                }
            }
        }
    }

    /// FW016: a new connection from outside to one of the host's addresses that the replay
    /// DNATed (it was forwarded) and accepted.
    fn observe_published(&mut self, pkt: &Packet, o: &Outcome) {
        if o.direction != Direction::Forward
            || o.verdict != Some(Verdict::Accept)
            || !o.certain
            || o.ctstate != Some(CtLabel::New)
        {
            return;
        }
        let env = &self.opts.env;
        if !env.is_local(pkt.dst) || env.is_local(pkt.src) || self.hosts.contains(&pkt.src) {
            return;
        }
        let (sport, dport) = match &pkt.l4 {
            L4::Tcp(t) => (t.sport, t.dport),
            L4::Udp(u) => (u.sport, u.dport),
            _ => return,
        };
        let iface = env.iface_of(pkt);
        if exposure::is_container_side(&self.container_side, iface) {
            return;
        }
        let at = self
            .published
            .iter()
            .position(|s| s.proto == pkt.proto && s.port == dport);
        let at = match at {
            Some(i) => i,
            None if self.published.len() < MAX_PUBLISHED => {
                self.published.push(exposure::SeenPort {
                    proto: pkt.proto,
                    port: dport,
                    iface: iface.to_string(),
                    first: pkt.clone(),
                    outcome: o.clone(),
                    connections: 0,
                    more: false,
                    frames: Vec::new(),
                });
                self.published.len() - 1
            }
            None => return,
        };
        let s = &mut self.published[at];
        let key = (pkt.proto, dport, pkt.src, sport);
        if self.published_conns.contains(&key) {
            return;
        }
        if self.published_conns.len() >= MAX_SESSIONS {
            s.more = true;
            return;
        }
        self.published_conns.insert(key);
        s.connections += 1;
        if s.frames.len() < exposure::SEEN_FRAMES {
            s.frames.push(o.frame);
        }
    }

    /// Management sessions: a remote peer and a management port of one of the host's own
    /// addresses (not forwarded, not loopback).
    fn observe_session(&mut self, pkt: &Packet, o: &Outcome) {
        let inbound = match o.direction {
            Direction::In if self.hosts.contains(&pkt.dst) => true,
            Direction::Out if self.hosts.contains(&pkt.src) => false,
            _ => return,
        };
        let (flags, (sp, dp)) = match &pkt.l4 {
            L4::Tcp(t) => (Some(t.flags), (t.sport, t.dport)),
            L4::Udp(u) => (None, (u.sport, u.dport)),
            _ => return,
        };
        let (remote, remote_port, host, host_port) = if inbound {
            (pkt.src, sp, pkt.dst, dp)
        } else {
            (pkt.dst, dp, pkt.src, sp)
        };
        if self.hosts.contains(&remote) || remote.is_loopback() {
            return;
        }
        let Some(svc) = self
            .mgmt
            .iter()
            .find(|s| s.proto == pkt.proto && s.port == host_port)
            .copied()
        else {
            return;
        };
        if !self.admin.is_empty() && !self.admin.iter().any(|n| n.contains(remote)) {
            return;
        }
        let key = (remote, remote_port, host, host_port, pkt.proto);
        if self.sessions.len() >= MAX_SESSIONS && !self.sessions.contains_key(&key) {
            let now = o.frame;
            self.sessions.retain(|_, s| !s.settled(now));
            if self.sessions.len() >= MAX_SESSIONS {
                self.untracked += 1;
                return;
            }
        }
        let s = self
            .sessions
            .entry(key)
            .or_insert_with(|| Box::new(Session::new(svc, o.frame)));
        s.last_frame = o.frame;
        let was_closed = s.rst || (s.fin_in && s.fin_out);
        let accepted = o.verdict == Some(Verdict::Accept);
        let data = !pkt.payload().is_empty();
        let flags = flags.unwrap_or(0);
        let rst = flags & F::RST != 0;
        let tcp = pkt.proto == 6;
        let syn = tcp && flags & (F::SYN | F::ACK | F::RST) == F::SYN;
        let synack = tcp && flags & (F::SYN | F::ACK | F::RST) == F::SYN | F::ACK;
        s.rst |= rst;
        if inbound {
            s.saw_syn |= syn;
            s.data_in |= data;
            s.fin_in |= flags & F::FIN != 0;
            if s.answered.is_some() && s.reset_after_answer.is_none() && !syn {
                s.reset_after_answer = Some(rst);
            }
            if accepted && !rst && (!tcp || syn || flags & F::ACK != 0) {
                s.in_accepted = true;
            }
        } else {
            s.data_out |= data;
            s.fin_out |= flags & F::FIN != 0;
            if (synack || !tcp) && s.answered.is_none() {
                s.answered = Some(o.frame);
            }
            if matches!(o.answer_to, Some(AnswerTo::NotSent(_))) {
                s.not_sent += 1;
            }
            s.out_accepted |= accepted && !rst;
        }
        if s.established.is_none() && s.in_accepted && s.out_accepted {
            s.established = Some(o.frame);
        }
        let way = usize::from(!inbound);
        if s.established.is_some() && accepted && !rst {
            s.after[way] = Blocked::default();
        }
        if o.verdict.is_none() || accepted {
            return;
        }
        let what = || {
            format!(
                "frame {}: {} → {} {}{}",
                o.frame,
                lockout::endpoint(pkt.src, Some(sp)),
                lockout::endpoint(pkt.dst, Some(dp)),
                crate::engine::describe::proto_name(pkt.proto),
                if tcp {
                    format!(" [{}]", crate::engine::describe::tcp_flags(flags))
                } else {
                    String::new()
                }
            )
        };
        match s.established {
            // A RST the ruleset drops cuts nothing, nor does anything after the close.
            Some(_) if !rst && !was_closed => s.after[way].push(o, what),
            Some(_) => {}
            None => s.before.push(o, what),
        }
    }

    /// Findings, given the engine's counters after the replay.
    pub fn finish(self, loaded: &Loaded, engine: &Engine<'_>) -> Vec<Finding> {
        let rs = &loaded.ruleset;
        let file = rs.source.name.clone();
        let other = &self.unjudged[(rs.family == Family::V4) as usize];
        let mut out = self.lockouts(rs, &file);
        out.extend(exposure::seen_in_capture(rs, &self.opts, &self.published));
        if let (n, Some(first), back) = self.backwards {
            let mut f = Finding::new(
                codes::TIME_BACKWARDS,
                format!(
                    "capture time stamps go backwards: {n} frame{} stamped earlier than a frame \
                     before (first: frame {first}; up to {:.3} s back); replayed at the latest \
                     earlier time, their verdicts are uncertain where they read the clock: a \
                     rate (limit, hashlimit, recent), a timeout at its edge, the ICMP rate limit \
                     may differ from the host's",
                    if n == 1 { " is" } else { "s are" },
                    back as f64 / 1e9
                ),
                &file,
            );
            f.frame = Some(first);
            f.fix = code_info(codes::TIME_BACKWARDS).map(|c| c.fix.to_string());
            out.push(f);
        }
        if other.0 > 0 {
            let (mine, theirs, tool, ext) = if rs.family == Family::V4 {
                ("an iptables (IPv4)", "IPv6", "ip6tables", "v6")
            } else {
                ("an ip6tables (IPv6)", "IPv4", "iptables", "v4")
            };
            let mut f = Finding::new(
                codes::OTHER_FAMILY_UNCHECKED,
                format!(
                    "the capture has {} {theirs} packets, which {mine} ruleset never sees: the host's {tool} ruleset decides them, and it was not checked",
                    other.0
                ),
                &file,
            );
            f.frame = other.1;
            f.fix = Some(format!(
                "check the {theirs} side too: `fwcheck rules.{ext} --pcap CAPTURE`, and compare the two \
                 families with `--parity rules.{ext}`"
            ));
            out.push(f);
        }
        if !self.tunnel_in.is_empty() && !self.tunnel_out.is_empty() {
            let mut f = Finding::new(
                codes::ICMP_TUNNEL,
                format!(
                    "ICMP tunnel exposure seen in the capture: {} large high-entropy echo requests accepted inbound and {} replies outbound",
                    self.tunnel_in.len(),
                    self.tunnel_out.len()
                ),
                &file,
            );
            f.frame = self.tunnel_in.first().copied();
            if let Some(o) = &self.tunnel_rule {
                f = f.at_rule(decided_by(rs, o));
            }
            f.details.push(format!(
                "requests: frames {:?}",
                &self.tunnel_in[..self.tunnel_in.len().min(10)]
            ));
            f.details.push(format!(
                "replies: frames {:?}",
                &self.tunnel_out[..self.tunnel_out.len().min(10)]
            ));
            out.push(f);
        }
        // Rules never hit, in chains the traffic could reach.
        for (ti, t) in rs.tables.iter().enumerate() {
            let graph = loaded.graph.table(t.kind);
            for (ci, c) in t.chains.iter().enumerate() {
                if graph.is_some_and(|g| g.reach[ci].is_empty()) {
                    continue;
                }
                let dead_after = c
                    .rules
                    .iter()
                    .position(|r| r.is_unconditional() && r.action.is_terminal())
                    .map(|p| p + 1)
                    .unwrap_or(usize::MAX);
                for (ri, r) in c.rules.iter().enumerate() {
                    // A counter that is a lower bound may have been hit in the kernel.
                    if ri >= dead_after
                        || engine.rule_counters(ti, ci, ri).packets > 0
                        || engine.rule_counter_doubt(ti, ci, ri)
                    {
                        continue;
                    }
                    let mut f = Finding::new(
                        codes::RULE_NEVER_HIT,
                        format!(
                            "rule never hit by the capture: {} {} #{}",
                            t.kind,
                            c.name,
                            ri + 1
                        ),
                        &file,
                    );
                    f.line = Some(rs.line_of(r.span));
                    f.details
                        .push(crate::ruleset::printer::rule_text(&c.name, r));
                    out.push(f);
                }
            }
        }
        out
    }
}

/// Why a session is a lockout.
enum Loss<'a> {
    /// Established in the replay, then packets not accepted.
    Cut(&'a Blocked),
    /// The capture shows it happened; the ruleset refuses its handshake.
    Refused(&'a Blocked, String),
}

impl Loss<'_> {
    fn blocked(&self) -> &Blocked {
        match self {
            Loss::Cut(b) | Loss::Refused(b, _) => b,
        }
    }
}

impl CaptureAnalyzer {
    /// FW001: one finding per administrator address whose sessions are cut or refused.
    fn lockouts(&self, rs: &Ruleset, file: &str) -> Vec<Finding> {
        struct Admin<'a> {
            lost: Vec<(&'a Key, &'a Session, Loss<'a>)>,
            /// Attempts refused by a rate or brute-force guard: (count, first deciding rule).
            guarded: usize,
            guard_rule: Option<String>,
        }
        let mut by_admin: BTreeMap<IpAddr, Admin<'_>> = BTreeMap::new();
        let mut sessions: Vec<(&Key, &Session)> =
            self.sessions.iter().map(|(k, s)| (k, &**s)).collect();
        sessions.sort_unstable_by_key(|&(k, _)| k);
        for (key, s) in sessions {
            let loss = if s.established.is_some() {
                s.cut().map(Loss::Cut)
            } else if s.before.count == 0 || (s.svc.proto == 6 && !s.saw_syn) {
                // Nothing refused, or a session whose opening the capture does not show.
                None
            } else if let Some(ev) = s.evidence() {
                let (o, _) = s.before.first.as_deref().expect("a first blocked packet");
                if let Some(g) = o.decision.as_ref().and_then(|d| rate_guard(rs, d)) {
                    let a = by_admin.entry(key.0).or_insert_with(|| Admin {
                        lost: Vec::new(),
                        guarded: 0,
                        guard_rule: None,
                    });
                    a.guarded += 1;
                    a.guard_rule.get_or_insert_with(|| {
                        let who = decided_by(rs, o)
                            .map(|r| r.short())
                            .unwrap_or_else(|| "a rule".into());
                        format!("{who}, -m {g}")
                    });
                    None
                } else {
                    Some(Loss::Refused(&s.before, ev))
                }
            } else {
                None
            };
            if let Some(l) = loss {
                by_admin
                    .entry(key.0)
                    .or_insert_with(|| Admin {
                        lost: Vec::new(),
                        guarded: 0,
                        guard_rule: None,
                    })
                    .lost
                    .push((key, s, l));
            }
        }
        let mut out = Vec::new();
        for (remote, mut a) in by_admin {
            if a.lost.is_empty() {
                continue;
            }
            a.lost
                .sort_by_key(|(_, _, l)| l.blocked().frames.first().copied());
            let (_, _, first) = &a.lost[0];
            let Some((o, what)) = first.blocked().first.as_deref() else {
                continue;
            };
            let rule = decided_by(rs, o);
            let who = |o: &Outcome| {
                decided_by(rs, o)
                    .map(|r| r.short())
                    .unwrap_or_else(|| "the IP stack".into())
            };
            let mut svcs: Vec<String> = a.lost.iter().map(|(_, s, _)| s.svc.name()).collect();
            svcs.dedup();
            let n = a.lost.len();
            let cut = a
                .lost
                .iter()
                .filter(|(_, _, l)| matches!(l, Loss::Cut(_)))
                .count();
            let kinds = match (n, cut, n - cut) {
                (1, 1, _) => "is cut after it was established".to_string(),
                (1, _, _) => "is refused although the capture shows it happened".to_string(),
                (_, _, 0) => "are cut after they were established".to_string(),
                (_, 0, _) => "are refused although the capture shows they happened".to_string(),
                (_, c, r) => format!(
                    "are lost: {c} cut after they were established, {r} refused although the capture shows they happened"
                ),
            };
            let ports: Vec<String> = a
                .lost
                .iter()
                .take(LISTED)
                .map(|(k, _, _)| k.1.to_string())
                .collect();
            let mut finding = Finding::new(
                codes::LOCKOUT,
                format!(
                    "lockout seen in the capture: {} from {remote} (port{} {}{}) {kinds}; first at frame {} by {}",
                    if n == 1 {
                        format!("the {} session", svcs.join(", "))
                    } else {
                        format!("{n} {} sessions", svcs.join(", "))
                    },
                    if n == 1 { "" } else { "s" },
                    ports.join(", "),
                    if n > LISTED { ", …" } else { "" },
                    o.frame,
                    who(o),
                ),
                file,
            )
            .at_rule(rule);
            finding.frame = Some(o.frame);
            finding.packet = Some(what.clone());
            for (k, s, l) in &a.lost {
                let b = l.blocked();
                let Some((fo, _)) = b.first.as_deref() else {
                    continue;
                };
                let verdict = fo.verdict.map(|v| v.as_str()).unwrap_or("not judged");
                let session = format!(
                    "session {} → {} ({})",
                    lockout::endpoint(k.0, Some(k.1)),
                    lockout::endpoint(k.2, Some(k.3)),
                    s.svc.name()
                );
                let line = match l {
                    Loss::Cut(_) => {
                        let way = if fo.direction == Direction::In {
                            "to the host"
                        } else {
                            "from the host"
                        };
                        let mut t = format!(
                            "{session}: established at frame {}, then cut: {} packet(s) {way} not accepted from there to the end of the capture (frames {}), the first {verdict} by {}",
                            s.established.unwrap_or(0),
                            b.count,
                            b.list(),
                            who(fo)
                        );
                        if let Some(g) = fo.decision.as_ref().and_then(|d| rate_guard(rs, d)) {
                            t.push_str(&format!(
                                "; that rule's -m {g} guard also counts the session's own packets: restrict it to new connections (-m conntrack --ctstate NEW)"
                            ));
                        }
                        t
                    }
                    Loss::Refused(_, ev) => format!(
                        "{session}: the capture shows it happened ({ev}), but its handshake is not accepted: {} packet(s) (frames {}), the first {verdict} by {}{}",
                        b.count,
                        b.list(),
                        who(fo),
                        if s.not_sent > 0 {
                            format!("; {} answer(s) of the host would not be sent", s.not_sent)
                        } else {
                            String::new()
                        }
                    ),
                };
                finding.details.push(line);
            }
            if a.guarded > 0 {
                finding.details.push(format!(
                    "{} further attempt(s) from {remote} refused by a rate or brute-force guard ({}) are not counted",
                    a.guarded,
                    a.guard_rule.as_deref().unwrap_or("")
                ));
            }
            if self.untracked > 0 {
                finding.details.push(format!(
                    "{} management sessions of the capture were not tracked (more than {MAX_SESSIONS} at once)",
                    self.untracked
                ));
            }
            out.push(finding);
        }
        out
    }
}

/// The rate or brute-force guard (`limit`, `hashlimit`, `recent`, `connlimit`) behind a
/// decision, by module name: a match of the deciding rule, or — when that rule sits in a user
/// chain (`-j LOGDROP`) — a match of every rule that leads to that chain.
fn rate_guard(rs: &Ruleset, d: &Decision) -> Option<&'static str> {
    let Decision::Rule(r) = d else { return None };
    let t = rs.table(r.table)?;
    let rule = t.chains.get(r.chain)?.rules.get(r.rule)?;
    guard_in(rule).or_else(|| entered_through_guard(rs, r.table, r.chain, 0))
}

fn guard_in(r: &crate::ruleset::Rule) -> Option<&'static str> {
    r.matches
        .iter()
        .find(|m| m.module.rate_guard())
        .map(|m| m.module.name())
}

/// Every way into user chain `chain` passes a rule with a rate guard.
fn entered_through_guard(
    rs: &Ruleset,
    table: TableKind,
    chain: usize,
    depth: usize,
) -> Option<&'static str> {
    let t = rs.table(table)?;
    if depth > 8 || t.chains.get(chain)?.is_builtin() {
        return None;
    }
    let mut found = None;
    for (ci, c) in t.chains.iter().enumerate() {
        for r in &c.rules {
            let (Action::Jump(to) | Action::Goto(to)) = &r.action else {
                continue;
            };
            if to.index != chain {
                continue;
            }
            found = Some(guard_in(r).or_else(|| entered_through_guard(rs, table, ci, depth + 1))?);
        }
    }
    found
}
