//! The replay loop: one thread, one namespace, one frame at a time.
//!
//! Owns the detection sockets (one non-blocking raw socket per IP protocol seen inbound, opened
//! lazily), the per-frame decision, pacing and timing, fragment bookkeeping and the checks for
//! late deliveries. See the module documentation of [`super`] for why the detection is exact.
//!
//! Per inbound frame: drain anything unexpected → `write()` to the tun → `poll(…, 0)` over the
//! tun and all raw sockets → ACCEPT iff a copy of the packet arrived on a raw socket of its
//! protocol. Per outbound frame: `sendto()` on the raw send socket → `EPERM` = DROP by
//! netfilter; success → read the tun: the packet must be there (ACCEPT), else wait up to
//! `outbound_grace` and call it DROP with a note.

use std::collections::{HashMap, HashSet, VecDeque};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::mpsc;

use super::clock::{self, JiffiesMap};
use super::counters::{self, Snapshot};
use super::error::OracleError;
use super::inspect::{self, FragKey, Inspected, Parsed, Way};
use super::lab::{self, Lab};
use super::sys;
use super::{
    FrameDetail, KernelClock, KernelDirection, KernelOutcome, KernelVerdict, OracleConfig,
    OracleFrame, Pacing, ReplayOptions, ReplayReport,
};
use crate::packet::{Family, Timestamp};

/// Run a replay on a fresh thread in a fresh network namespace, streaming `frames` to it.
pub(super) fn replay_threaded(
    cfg: &OracleConfig,
    opts: &ReplayOptions,
    frames: impl IntoIterator<Item = OracleFrame>,
) -> Result<ReplayReport, OracleError> {
    let (tx, rx) = mpsc::sync_channel::<OracleFrame>(1024);
    let cfg = cfg.clone();
    let opts = opts.clone();
    let handle = std::thread::Builder::new()
        .name("fwcheck-oracle".into())
        .spawn(move || -> Result<ReplayReport, OracleError> {
            sys::unshare_net().map_err(|e| {
                OracleError::Unavailable(format!("unshare(CLONE_NEWNET) failed: {e}"))
            })?;
            if opts.pin_cpu {
                let _ = sys::pin_to_current_cpu();
            }
            let lab = lab::setup(&cfg, &opts)?;
            let mut r = Replayer::new(&cfg, &opts, lab);
            for f in rx {
                r.frame(f)?;
            }
            r.finish()
        })
        .map_err(|e| OracleError::io("cannot spawn the oracle thread", e))?;
    for f in frames {
        if tx.send(f).is_err() {
            break; // the thread stopped (setup error); join tells why
        }
    }
    drop(tx);
    match handle.join() {
        Ok(r) => r,
        Err(p) => Err(OracleError::Panicked(
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into()),
        )),
    }
}

/// The IP counters of every family the namespace replays (their names differ: `Ip:…` and
/// `Ip6…`, so one snapshot holds both).
fn read_counters(cfg: &OracleConfig) -> Snapshot {
    let mut snap = Snapshot::default();
    for f in cfg.families() {
        let s = match f {
            Family::V4 => counters::read_v4(),
            Family::V6 => counters::read_v6(),
        };
        snap.0.extend(s.0);
    }
    snap
}

struct RecvSock {
    v6: bool,
    proto: u8,
    fd: OwnedFd,
}

/// What showed up after an injection.
#[derive(Default)]
struct Seen {
    /// Copies delivered to the local stack: (IPv6?, raw socket protocol, bytes). IPv4 bytes
    /// start at the IP header, IPv6 bytes at the header of `proto`.
    local: Vec<(bool, u8, Vec<u8>)>,
    /// Packets transmitted through the tun device.
    wire: Vec<Vec<u8>>,
}

/// An inbound frame that might still be delivered late (for the late-delivery check).
struct Recent {
    idx: usize,
    v6: bool,
    proto: u8,
    ip_id: u32,
    l4: Vec<u8>,
}

struct Replayer<'a> {
    cfg: &'a OracleConfig,
    opts: &'a ReplayOptions,
    lab: Lab,
    recv: Vec<RecvSock>,
    /// Protocols no raw socket can be opened for.
    unobservable: HashSet<(bool, u8)>,
    pfds: Vec<libc::pollfd>,
    buf: Vec<u8>,
    outcomes: Vec<KernelOutcome>,
    details: Vec<FrameDetail>,
    /// (monotonic ns, capture ts) of the first injection.
    origin: Option<(u64, u64)>,
    /// Counters at setup, to find receive-path drops nobody explained (checked at the end).
    snap_start: Snapshot,
    attributed_rx_errors: u64,
    pending_frags: HashMap<FragKey, Vec<usize>>,
    recent: VecDeque<Recent>,
    late: usize,
    anomalies: Vec<String>,
    jmap: Option<JiffiesMap>,
    jiffies_start: Option<u64>,
    /// The caller's number of the frame being processed.
    current_frame: u64,
    /// [`OracleConfig::reload`] has been applied.
    reloaded: bool,
}

const RECENT_KEEP: usize = 64;

/// With `avoid_tick_edges`, no frame is injected this close before a tick boundary (a frame's
/// processing takes a few to a few tens of microseconds).
const TICK_EDGE_GUARD_NS: u64 = 400_000;

fn join_notes(notes: Vec<String>) -> Option<String> {
    (!notes.is_empty()).then(|| notes.join("; "))
}

impl<'a> Replayer<'a> {
    fn new(cfg: &'a OracleConfig, opts: &'a ReplayOptions, lab: Lab) -> Self {
        let jmap = clock::jiffies_map();
        let jiffies_start = clock::jiffies_now().map(|(j, _)| j);
        let snap = read_counters(cfg);
        let tun_fd = lab.tun.raw_fd();
        Replayer {
            cfg,
            opts,
            lab,
            recv: Vec::new(),
            unobservable: HashSet::new(),
            pfds: vec![libc::pollfd {
                fd: tun_fd,
                events: libc::POLLIN,
                revents: 0,
            }],
            buf: vec![0u8; 65536 + 256],
            outcomes: Vec::new(),
            details: Vec::new(),
            origin: None,
            snap_start: snap,
            attributed_rx_errors: 0,
            pending_frags: HashMap::new(),
            recent: VecDeque::new(),
            late: 0,
            anomalies: Vec::new(),
            jmap,
            jiffies_start,
            current_frame: 0,
            reloaded: false,
        }
    }

    fn rel(&self, mono: u64) -> u64 {
        self.origin.map_or(0, |(o, _)| mono.saturating_sub(o))
    }

    fn read_counters(&self) -> Snapshot {
        read_counters(self.cfg)
    }

    /// Make sure a raw socket watches `proto`; `false` if the kernel refuses raw sockets for it
    /// (e.g. IPv4 protocol 0), in which case delivery is read from the IP counters instead.
    fn ensure_recv(&mut self, v6: bool, proto: u8) -> Result<bool, OracleError> {
        if self.recv.iter().any(|r| r.v6 == v6 && r.proto == proto) {
            return Ok(true);
        }
        if self.unobservable.contains(&(v6, proto)) {
            return Ok(false);
        }
        let fd = match sys::raw_socket(v6, proto, true) {
            Ok(fd) => fd,
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EPROTONOSUPPORT) | Some(libc::EINVAL)
                ) =>
            {
                self.unobservable.insert((v6, proto));
                return Ok(false);
            }
            Err(e) => {
                return Err(OracleError::io(
                    format!("cannot open raw socket for protocol {proto}"),
                    e,
                ))
            }
        };
        sys::set_int_opt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 8 << 20)
            .map_err(|e| OracleError::io("setsockopt SO_RCVBUFFORCE", e))?;
        self.pfds.push(libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        self.recv.push(RecvSock { v6, proto, fd });
        Ok(true)
    }

    /// Poll the tun and every raw socket (waiting up to `timeout_ms`), draining what is there.
    fn collect(&mut self, timeout_ms: i32) -> Result<Seen, OracleError> {
        let mut seen = Seen::default();
        for p in &mut self.pfds {
            p.revents = 0;
        }
        let ready = sys::poll(&mut self.pfds, timeout_ms)
            .map_err(|e| OracleError::io("poll on the oracle sockets", e))?;
        // The extra interfaces (non-blocking reads): what was routed out of them.
        for t in &self.lab.extra {
            loop {
                match t.read(&mut self.buf) {
                    Ok(Some(n)) => seen.wire.push(self.buf[..n].to_vec()),
                    Ok(None) => break,
                    Err(e) => {
                        self.anomalies
                            .push(format!("reading an extra tun device: {e}"));
                        break;
                    }
                }
            }
        }
        if ready == 0 {
            return Ok(seen);
        }
        if self.pfds[0].revents != 0 {
            loop {
                match self.lab.tun.read(&mut self.buf) {
                    Ok(Some(n)) => seen.wire.push(self.buf[..n].to_vec()),
                    Ok(None) => break,
                    Err(e) => {
                        self.anomalies.push(format!("reading the tun device: {e}"));
                        break;
                    }
                }
            }
        }
        for i in 0..self.recv.len() {
            if self.pfds[i + 1].revents == 0 {
                continue;
            }
            loop {
                match sys::recv(&self.recv[i].fd, &mut self.buf) {
                    Ok(Some(n)) => seen.local.push((
                        self.recv[i].v6,
                        self.recv[i].proto,
                        self.buf[..n].to_vec(),
                    )),
                    Ok(None) => break,
                    Err(e) => {
                        self.anomalies.push(format!(
                            "raw socket for protocol {}: {e}",
                            self.recv[i].proto
                        ));
                        break;
                    }
                }
            }
        }
        Ok(seen)
    }

    /// Anything queued between injections is either a late delivery (attributed to the frame
    /// it belongs to) or an anomaly. Called before every injection and at the end.
    fn check_stray(&mut self, timeout_ms: i32) -> Result<(), OracleError> {
        let seen = self.collect(timeout_ms)?;
        for (v6, proto, bytes) in seen.local {
            let id = if v6 || bytes.len() < 20 {
                0
            } else {
                u16::from_be_bytes([bytes[4], bytes[5]]) as u32
            };
            let l4 = if v6 {
                &bytes[..]
            } else {
                let ihl = ((bytes.first().copied().unwrap_or(0x45) & 15) as usize * 4)
                    .clamp(20, bytes.len().max(20));
                bytes.get(ihl..).unwrap_or(&[])
            };
            let found = self.recent.iter().rev().find(|r| {
                r.v6 == v6 && r.proto == proto && (if v6 { r.l4 == l4 } else { r.ip_id == id })
            });
            match found.map(|r| r.idx) {
                Some(idx) if self.outcomes[idx].verdict == Some(KernelVerdict::Drop) => {
                    self.late += 1;
                    let o = &mut self.outcomes[idx];
                    o.verdict = Some(KernelVerdict::Accept);
                    let n = "delivered late (after the next check), verdict corrected".to_string();
                    o.note = Some(match o.note.take() {
                        Some(prev) => format!("{prev}; {n}"),
                        None => n,
                    });
                }
                _ => self.anomalies.push(format!(
                    "unexpected local delivery between frames (protocol {proto}, {} bytes)",
                    bytes.len()
                )),
            }
        }
        for w in seen.wire {
            self.anomalies.push(format!(
                "unexpected packet left the interface between frames ({} bytes)",
                w.len()
            ));
        }
        Ok(())
    }

    /// Keep an injected packet's identity, so a late local delivery can be matched to it.
    fn remember(&mut self, idx: usize, ins: &Inspected, sent: &[u8]) {
        self.recent.push_back(Recent {
            idx,
            v6: ins.family == Family::V6,
            proto: ins.proto,
            ip_id: ins.ip_id,
            l4: sent[ins.l4_offset.min(sent.len())..].to_vec(),
        });
        if self.recent.len() > RECENT_KEEP {
            self.recent.pop_front();
        }
    }

    fn push(&mut self, o: KernelOutcome, d: FrameDetail) {
        self.outcomes.push(o);
        self.details.push(d);
    }

    fn skip(&mut self, frame: u64, note: String) {
        let at = self.rel(sys::monotonic_ns());
        self.push(
            KernelOutcome {
                frame,
                direction: KernelDirection::Skip,
                verdict: None,
                sent_at_ns: at,
                note: Some(note),
            },
            FrameDetail {
                frame,
                sent_at_ns: at,
                done_at_ns: at,
                jiffies: None,
                conntrack_count: None,
            },
        );
    }

    fn pace(&self, ts: Timestamp) {
        if let (Pacing::Realtime { speed }, Some((o_mono, o_ts))) = (self.cfg.pacing, self.origin) {
            let gap = ts.0.saturating_sub(o_ts) as f64 / speed;
            let target = o_mono.saturating_add(gap.min(u64::MAX as f64 / 2.0) as u64);
            if target > sys::monotonic_ns() {
                sys::sleep_until_monotonic(target);
            }
        }
    }

    /// Take the injection time stamp (setting the origin on the first injection). With
    /// [`ReplayOptions::avoid_tick_edges`], first wait until the current tick has long enough
    /// to run, so that the whole processing of the frame sees a single jiffies value.
    fn stamp(&mut self, ts: Timestamp) -> u64 {
        if let (true, Some(m)) = (self.opts.avoid_tick_edges, self.jmap) {
            let now = sys::monotonic_ns();
            let phase = now % m.tick_ns;
            let guard = TICK_EDGE_GUARD_NS.min(m.tick_ns / 4);
            if phase < clock::TICK_LATENCY_NS || phase + guard > m.tick_ns {
                let next = if phase < clock::TICK_LATENCY_NS {
                    now - phase
                } else {
                    now - phase + m.tick_ns
                };
                sys::sleep_until_monotonic(next + clock::TICK_LATENCY_NS + 20_000);
            }
        }
        let t = sys::monotonic_ns();
        if self.origin.is_none() {
            self.origin = Some((t, ts.0));
        }
        t
    }

    fn frame(&mut self, f: OracleFrame) -> Result<(), OracleError> {
        self.current_frame = f.frame;
        if let Some(r) = self.cfg.reload.as_ref() {
            if !self.reloaded && f.frame >= r.before_frame {
                self.lab.reload(self.cfg, &r.ruleset)?;
                self.reloaded = true;
            }
        }
        let Some(ip) = f.ip.as_deref() else {
            self.skip(f.frame, "not an IP frame".into());
            return Ok(());
        };
        let ins = match inspect::parse(ip) {
            Parsed::Skip(why) => {
                self.skip(f.frame, why);
                return Ok(());
            }
            Parsed::Ip(ins) => ins,
        };
        if !self.cfg.families().contains(&ins.family) {
            let why = format!(
                "{:?} packet, but the ruleset family is {:?}",
                ins.family, self.cfg.family
            );
            self.skip(f.frame, why);
            return Ok(());
        }
        if inspect::is_loopback(&ins.src) || inspect::is_loopback(&ins.dst) {
            let why = format!(
                "loopback traffic ({} -> {}) is not replayed",
                ins.src, ins.dst
            );
            self.skip(f.frame, why);
            return Ok(());
        }
        if ins.dst.is_unspecified() {
            let why = format!("unspecified destination address {}", ins.dst);
            self.skip(f.frame, why);
            return Ok(());
        }
        let Some(way) = inspect::direction(&ins, &self.cfg.hosts, self.cfg.router, |d| {
            self.cfg.keeps(d)
        }) else {
            let why = format!(
                "neither source {} nor destination {} is a host address",
                ins.src, ins.dst
            );
            self.skip(f.frame, why);
            return Ok(());
        };
        self.check_stray(0)?;
        let idx = self.outcomes.len();
        let (direction, verdict, notes, t0, t1) = match way {
            Way::In => {
                let (v, n, t0, t1) = self.inbound(idx, f.ts, ip, &ins)?;
                (KernelDirection::In, v, n, t0, t1)
            }
            Way::Out => {
                let (v, n, t0, t1) = self.outbound(idx, f.ts, ip, &ins)?;
                (KernelDirection::Out, v, n, t0, t1)
            }
            Way::Forward => {
                let (v, n, t0, t1) = self.forward(idx, f.ts, ip, &ins)?;
                (KernelDirection::Forward, v, n, t0, t1)
            }
        };
        let done = sys::monotonic_ns();
        let jiffies = self.jmap.as_ref().map(|m| clock::jiffies_range(m, t0, t1));
        let conntrack_count = if self.opts.record_conntrack_count {
            lab::read_sysctl("net.netfilter.nf_conntrack_count").and_then(|s| s.parse().ok())
        } else {
            None
        };
        let sent_at_ns = self.rel(t0);
        let done_at_ns = self.rel(done);
        self.push(
            KernelOutcome {
                frame: f.frame,
                direction,
                verdict,
                sent_at_ns,
                note: join_notes(notes),
            },
            FrameDetail {
                frame: f.frame,
                sent_at_ns,
                done_at_ns,
                jiffies,
                conntrack_count,
            },
        );
        Ok(())
    }

    /// Note every earlier fragment of `key` as completed by frame `idx`.
    fn complete_fragments(&mut self, key: &FragKey, frame: u64, notes: &mut Vec<String>) {
        if let Some(held) = self.pending_frags.remove(key) {
            let frames: Vec<String> = held
                .iter()
                .map(|&i| self.outcomes[i].frame.to_string())
                .collect();
            for i in held {
                let o = &mut self.outcomes[i];
                let n = format!("datagram completed by frame {frame}");
                o.note = Some(match o.note.take() {
                    Some(prev) => format!("{prev}; {n}"),
                    None => n,
                });
            }
            notes.push(format!(
                "completes the reassembly of fragments held from frame(s) {}",
                frames.join(", ")
            ));
        }
    }

    #[allow(clippy::type_complexity)]
    fn inbound(
        &mut self,
        idx: usize,
        ts: Timestamp,
        ip: &[u8],
        ins: &Inspected,
    ) -> Result<(Option<KernelVerdict>, Vec<String>, u64, u64), OracleError> {
        let v6 = ins.family == Family::V6;
        let observable = self.ensure_recv(v6, ins.proto)?;
        for &ext in &ins.ext_chain {
            self.ensure_recv(true, ext)?;
        }
        let mut notes = Vec::new();
        if self.cfg.hosts.contains(&ins.src) {
            notes.push(
                "source is a host address too: injected inbound (input routing discards such \
                 martians unless accept_local=1)"
                    .into(),
            );
        }
        let need_before = !observable
            || ins.frag.is_some()
            || ins.icmp6_bad_checksum
            || ins.icmp_short
            || !ins.rx_defects.is_empty();
        let before = need_before.then(|| self.read_counters());
        self.pace(ts);
        let t0 = self.stamp(ts);
        let offload = inspect::offload_slot(ip, ins, self.cfg.rx_checksums);
        let written = self.lab.tun.write(ip, offload);
        let t1 = sys::monotonic_ns();
        let seen = self.collect(0)?;

        if let Err(e) = written {
            notes.push(format!(
                "the tun device refused the packet ({e}): dropped before the IP stack"
            ));
            notes.extend(ins.rx_defects.iter().map(|d| format!("header defect: {d}")));
            return Ok((Some(KernelVerdict::Drop), notes, t0, t1));
        }
        let sent = &ip[..ins.send_len(ip.len()).unwrap_or(ip.len())];
        let mut delivered: Option<Vec<u8>> = None;
        let mut frag_passed_input = false;
        // Extension headers whose raw sockets saw the packet: it passed INPUT.
        let mut ext_seen: Vec<u8> = Vec::new();
        for (sv6, proto, bytes) in seen.local {
            let ours = sv6 == v6
                && if proto == ins.proto {
                    v6 || (bytes.len() >= 20
                        && u16::from_be_bytes([bytes[4], bytes[5]]) as u32 == ins.ip_id)
                } else {
                    false
                };
            if ours && delivered.is_none() {
                delivered = Some(bytes);
            } else if v6 && proto == 44 && ins.frag.is_some() {
                frag_passed_input = true;
            } else if v6 && ins.ext_chain.contains(&proto) {
                ext_seen.push(proto);
            } else {
                self.anomalies.push(format!(
                    "frame {}: an unrelated local delivery (protocol {proto}, {} bytes)",
                    self.current_frame,
                    bytes.len()
                ));
            }
        }
        if !seen.wire.is_empty() {
            notes.push(format!(
                "{} packet(s) left {} while this packet was processed (routed/forwarded, not \
                 delivered locally)",
                seen.wire.len(),
                self.cfg.iface
            ));
        }

        let mut verdict = KernelVerdict::Drop;
        if delivered.is_none() && self.cfg.router && !seen.wire.is_empty() {
            // A router un-NATs a reply to its own address (MASQUERADE/SNAT) in PREROUTING and
            // forwards it: it passed PREROUTING, FORWARD and POSTROUTING.
            verdict = KernelVerdict::Accept;
            notes.push("forwarded after PREROUTING changed its destination (un-NAT)".into());
            if let Some(key) = &ins.frag {
                self.complete_fragments(key, self.current_frame, &mut notes);
            }
        } else if let Some(got) = delivered {
            verdict = KernelVerdict::Accept;
            if let Some(key) = &ins.frag {
                self.complete_fragments(key, self.current_frame, &mut notes);
                notes.push("datagram reassembled and delivered".into());
            } else if v6 {
                let l4 = &sent[ins.l4_offset.min(sent.len())..];
                if got != l4 {
                    notes.push(format!(
                        "delivered modified: {}",
                        inspect::l4_change(l4, &got)
                    ));
                }
            } else if let Some(ch) = inspect::describe_changes(sent, ins, &got) {
                notes.push(format!("delivered modified: {ch}"));
            }
        } else {
            // Not delivered. Explain what the counters can explain (flagged packets only).
            let rx = if v6 {
                counters::V6_RX_ERRORS
            } else {
                counters::V4_RX_ERRORS
            };
            let reasm = if v6 {
                counters::V6_REASM
            } else {
                counters::V4_REASM
            };
            let reasm_ok = if v6 {
                counters::V6_REASM_OK
            } else {
                counters::V4_REASM_OK
            };
            let mut queued = false;
            let mut reassembled = false;
            if let Some(b) = &before {
                let after = self.read_counters();
                let dl = if v6 {
                    counters::V6_DELIVERED
                } else {
                    counters::V4_DELIVERED
                };
                if !observable && after.sum(dl) > b.sum(dl) {
                    verdict = KernelVerdict::Accept;
                    notes.push(format!(
                        "delivered (seen in the IP counters: no raw socket can watch protocol {})",
                        ins.proto
                    ));
                }
                if ins.icmp_short && after.sum(dl) > b.sum(dl) {
                    verdict = KernelVerdict::Accept;
                    notes.push(
                        "delivered to ICMP (seen in the IP counters), which discarded it as too \
                         short; raw ICMP sockets never receive such packets"
                            .into(),
                    );
                }
                if ins.icmp6_bad_checksum
                    && after.get(counters::ICMP6_IN) > b.get(counters::ICMP6_IN)
                {
                    verdict = KernelVerdict::Accept;
                    notes.push(
                        "delivered to ICMPv6 with a bad checksum (seen in Icmp6InMsgs; raw \
                         ICMPv6 sockets never receive such packets)"
                            .into(),
                    );
                }
                let g = after.grown(b, rx);
                if !g.is_empty() {
                    self.attributed_rx_errors += after.sum(rx) - b.sum(rx);
                    notes.push(format!(
                        "dropped by the IP receive path, not by netfilter ({})",
                        g.join(", ")
                    ));
                }
                queued = after.get(reasm) > b.get(reasm);
                reassembled = after.get(reasm_ok) > b.get(reasm_ok);
            }
            if let (Some(key), true) = (&ins.frag, reassembled) {
                self.complete_fragments(key, self.current_frame, &mut notes);
                notes.push("the reassembled datagram was not delivered".into());
            } else if let Some(key) = &ins.frag {
                if frag_passed_input {
                    notes.push("fragment held for reassembly (it passed INPUT on its own)".into());
                } else if queued {
                    notes.push("fragment held for reassembly".into());
                } else {
                    notes.push(
                        "fragment held for reassembly or dropped (not delivered on its own)".into(),
                    );
                }
                self.pending_frags.entry(key.clone()).or_default().push(idx);
            } else if ins.icmp6_bad_checksum && verdict == KernelVerdict::Drop {
                notes.push("ICMPv6 checksum is bad".into());
            }
            if verdict == KernelVerdict::Drop && ins.frag.is_none() {
                if let Some(last) = ext_seen.last() {
                    // Such discards count one Ip6InHdrErrors (see the end-of-replay check).
                    self.attributed_rx_errors += 1;
                    verdict = KernelVerdict::Accept;
                    notes.push(format!(
                        "delivered: it passed INPUT (a raw socket of extension header {last} \
                         saw it), then IPv6 extension header processing discarded it"
                    ));
                }
            }
        }
        if verdict == KernelVerdict::Drop {
            notes.extend(ins.rx_defects.iter().map(|d| format!("header defect: {d}")));
            notes.extend(ins.route_hints.iter().cloned());
        }
        self.remember(idx, ins, sent);
        Ok((Some(verdict), notes, t0, t1))
    }
}

impl Replayer<'_> {
    /// A packet neither to nor from the host, on a router: injected on the interface like an
    /// inbound one; ACCEPT when it leaves the interface again (PREROUTING, FORWARD and
    /// POSTROUTING passed), or when a DNAT made it local and it was delivered.
    #[allow(clippy::type_complexity)]
    fn forward(
        &mut self,
        idx: usize,
        ts: Timestamp,
        ip: &[u8],
        ins: &Inspected,
    ) -> Result<(Option<KernelVerdict>, Vec<String>, u64, u64), OracleError> {
        let v6 = ins.family == Family::V6;
        // A PREROUTING DNAT to a host address turns the packet into a local delivery.
        self.ensure_recv(v6, ins.proto)?;
        let mut notes = Vec::new();
        let before = self.read_counters();
        self.pace(ts);
        let t0 = self.stamp(ts);
        let offload = inspect::offload_slot(ip, ins, self.cfg.rx_checksums);
        let written = self.lab.tun.write(ip, offload);
        let t1 = sys::monotonic_ns();
        let seen = self.collect(0)?;
        if let Err(e) = written {
            notes.push(format!(
                "the tun device refused the packet ({e}): dropped before the IP stack"
            ));
            notes.extend(ins.rx_defects.iter().map(|d| format!("header defect: {d}")));
            return Ok((Some(KernelVerdict::Drop), notes, t0, t1));
        }
        let sent = &ip[..ins.send_len(ip.len()).unwrap_or(ip.len())];
        let after = self.read_counters();
        let rx = if v6 {
            counters::V6_RX_ERRORS
        } else {
            counters::V4_RX_ERRORS
        };
        let grown = after.grown(&before, rx);
        if !grown.is_empty() {
            self.attributed_rx_errors += after.sum(rx) - before.sum(rx);
        }
        let reasm = if v6 {
            counters::V6_REASM
        } else {
            counters::V4_REASM
        };
        let verdict = if !seen.wire.is_empty() {
            if seen.wire.len() > 1 {
                notes.push(format!("left as {} packets", seen.wire.len()));
            }
            if let Some(key) = &ins.frag {
                self.complete_fragments(key, self.current_frame, &mut notes);
            }
            if seen.wire.len() == 1 {
                if let Some(ch) = inspect::describe_changes(sent, ins, &seen.wire[0]) {
                    notes.push(format!("forwarded modified: {ch}"));
                }
            }
            if !seen.local.is_empty() {
                notes.push(format!(
                    "{} copy(ies) delivered to the local stack too",
                    seen.local.len()
                ));
            }
            KernelVerdict::Accept
        } else if !seen.local.is_empty() {
            notes.push(
                "not forwarded: delivered to the local stack (DNAT to a host address, broadcast or a \
                 joined group) after PREROUTING and INPUT"
                    .into(),
            );
            if let Some(key) = &ins.frag {
                self.complete_fragments(key, self.current_frame, &mut notes);
            }
            KernelVerdict::Accept
        } else {
            if !grown.is_empty() {
                notes.push(format!(
                    "dropped by the IP stack, not by netfilter ({}; e.g. TTL/hop limit \
                     exhausted, martian or unroutable address)",
                    grown.join(", ")
                ));
            }
            if let Some(key) = &ins.frag {
                if after.get(reasm) > before.get(reasm) {
                    notes.push("fragment held for reassembly".into());
                } else {
                    notes.push("fragment not forwarded on its own".into());
                }
                self.pending_frags.entry(key.clone()).or_default().push(idx);
            }
            notes.extend(ins.rx_defects.iter().map(|d| format!("header defect: {d}")));
            KernelVerdict::Drop
        };
        self.remember(idx, ins, sent);
        Ok((Some(verdict), notes, t0, t1))
    }

    #[allow(clippy::type_complexity)]
    fn outbound(
        &mut self,
        idx: usize,
        ts: Timestamp,
        ip: &[u8],
        ins: &Inspected,
    ) -> Result<(Option<KernelVerdict>, Vec<String>, u64, u64), OracleError> {
        let mut notes = Vec::new();
        let Some(len) = ins.send_len(ip.len()) else {
            notes.push(format!(
                "not sent: truncated capture (the packet declares {} bytes, {} captured)",
                ins.declared_len.unwrap_or(0),
                ip.len()
            ));
            let t = sys::monotonic_ns();
            return Ok((None, notes, t, t));
        };
        let bytes = &ip[..len];
        // Watch for copies the stack delivers to itself (broadcasts are looped back; nat OUTPUT
        // may redirect a packet to a local address).
        self.ensure_recv(ins.family == Family::V6, ins.proto)?;
        if ins.family == Family::V4 && ins.rx_defects.iter().any(|d| d.contains("checksum")) {
            notes.push(
                "the capture has a bad IPv4 header checksum; the kernel recomputes it on a raw \
                 send"
                    .into(),
            );
        }
        let scope = if inspect::needs_scope(&ins.dst) {
            self.lab.tun.ifindex
        } else {
            0
        };
        self.pace(ts);
        let t0 = self.stamp(ts);
        let sent = sys::send_to(self.lab.send_socket(ins.family), bytes, ins.dst, scope);
        let t1 = sys::monotonic_ns();
        let mut seen = self.collect(0)?;
        if sent.is_ok() && seen.wire.is_empty() && seen.local.is_empty() && ins.frag.is_none() {
            // Only stolen/queued packets get here; give them a bounded chance to appear.
            let deadline = t1 + self.opts.outbound_grace.as_nanos() as u64;
            loop {
                let now = sys::monotonic_ns();
                if now >= deadline {
                    break;
                }
                let ms = ((deadline - now) / 1_000_000).max(1) as i32;
                let more = self.collect(ms)?;
                let got_wire = !more.wire.is_empty();
                seen.wire.extend(more.wire);
                seen.local.extend(more.local);
                if got_wire {
                    notes.push("left the interface only after a delay".into());
                    break;
                }
            }
        }
        if !seen.local.is_empty() && !seen.wire.is_empty() {
            notes.push(format!(
                "{} copy(ies) looped back to the local stack (broadcast/multicast)",
                seen.local.len()
            ));
        }
        let verdict = match sent {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                notes.push("dropped by netfilter in OUTPUT/POSTROUTING (sendto: EPERM)".into());
                if !seen.wire.is_empty() {
                    self.anomalies.push(format!(
                        "frame {}: sendto returned EPERM but {} packet(s) left the interface",
                        self.current_frame,
                        seen.wire.len()
                    ));
                }
                Some(KernelVerdict::Drop)
            }
            Err(e) => {
                notes.push(format!(
                    "not sent: the stack refused it before/outside netfilter (sendto: {e})"
                ));
                Some(KernelVerdict::Drop)
            }
            Ok(_) if !seen.wire.is_empty() => {
                if seen.wire.len() > 1 {
                    notes.push(format!("left as {} packets", seen.wire.len()));
                }
                if let Some(key) = &ins.frag {
                    self.complete_fragments(key, self.current_frame, &mut notes);
                }
                if seen.wire.len() == 1 {
                    if let Some(ch) = inspect::describe_changes(bytes, ins, &seen.wire[0]) {
                        notes.push(format!("left modified: {ch}"));
                    }
                }
                Some(KernelVerdict::Accept)
            }
            Ok(_) if !seen.local.is_empty() => {
                notes.push(format!(
                    "did not leave {}: delivered to the local stack instead (rerouted to a local \
                     address?); it passed OUTPUT, POSTROUTING and INPUT",
                    self.cfg.iface
                ));
                Some(KernelVerdict::Accept)
            }
            Ok(_) if ins.frag.is_some() => {
                notes.push("fragment held for reassembly (in OUTPUT)".into());
                if let Some(key) = &ins.frag {
                    self.pending_frags.entry(key.clone()).or_default().push(idx);
                }
                Some(KernelVerdict::Drop)
            }
            Ok(_) => {
                notes.push(format!(
                    "sendto succeeded but nothing left {} within {} ms (stolen or queued)",
                    self.cfg.iface,
                    self.opts.outbound_grace.as_millis()
                ));
                Some(KernelVerdict::Drop)
            }
        };
        Ok((verdict, notes, t0, t1))
    }

    fn finish(mut self) -> Result<ReplayReport, OracleError> {
        let settle = self.opts.final_settle.as_millis().min(10_000) as i32;
        if !self.outcomes.is_empty() && settle > 0 {
            self.check_stray(settle)?;
        }
        for (key, held) in std::mem::take(&mut self.pending_frags) {
            for i in held {
                let o = &mut self.outcomes[i];
                let n = "reassembly never completed".to_string();
                o.note = Some(match o.note.take() {
                    Some(prev) => format!("{prev}; {n}"),
                    None => n,
                });
            }
            let _ = key;
        }
        let now = self.read_counters();
        let unexplained = self
            .cfg
            .families()
            .into_iter()
            .map(|f| {
                let rx = match f {
                    Family::V4 => counters::V4_RX_ERRORS,
                    Family::V6 => counters::V6_RX_ERRORS,
                };
                now.sum(rx).saturating_sub(self.snap_start.sum(rx))
            })
            .sum::<u64>()
            .saturating_sub(self.attributed_rx_errors);
        if unexplained > 0 {
            self.anomalies.push(format!(
                "{unexplained} inbound packet(s) were counted as IP header/address errors the \
                 oracle did not flag (e.g. IPv6 extension headers rejected after INPUT): their \
                 DROP verdict stands, their note may lack the reason"
            ));
        }
        let jiffies_end = clock::jiffies_now().map(|(j, _)| j);
        let own = self.lab.guard_drops();
        let conntrack_count_end =
            lab::read_sysctl("net.netfilter.nf_conntrack_count").and_then(|s| s.parse().ok());
        Ok(ReplayReport {
            outcomes: self.outcomes,
            details: self.details,
            clock: KernelClock {
                jiffies_map: self.jmap,
                origin_monotonic_ns: self.origin.map(|(m, _)| m),
                jiffies_start: self.jiffies_start,
                jiffies_end,
            },
            guard: self.lab.guard,
            own_packets_suppressed: own,
            late_deliveries: self.late,
            conntrack_count_end,
            anomalies: self.anomalies,
        })
    }
}
