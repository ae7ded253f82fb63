//! Replay: packets from a capture or from the synthetic generator, in capture order, through the
//! engine — with the kernel's defragmentation in front when the ruleset makes it track
//! connections — handing every frame's [`Outcome`] to a sink as it is decided (constant memory).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::{Engine, Outcome, SimOptions};
use crate::packet::capture::{CaptureError, CaptureReader};
use crate::packet::defrag::{DefragEvent, Defragmenter};
use crate::packet::{Packet, PacketProblem};
use crate::ruleset::Ruleset;

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

/// Counts over the whole replay.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReplayStats {
    pub frames: u64,
    pub packets: u64,
    pub problems: u64,
    pub skipped_non_ip: u64,
    /// Fragments held for reassembly, and trains that never completed or were discarded.
    pub fragments_held: u64,
    pub fragment_events: Vec<String>,
}

/// The host addresses a replay used, and how they were chosen.
#[derive(Debug, Clone, Serialize)]
pub struct HostChoice {
    pub hosts: Vec<IpAddr>,
    /// Inferred from the capture (the address seen in the most packets).
    pub inferred: bool,
    /// For an inferred host: in how many packets it appeared, out of how many.
    pub seen_in: Option<(u64, u64)>,
}

/// The address present in the most packets (source or destination), per family, most frequent
/// first; ties go to the numerically smaller address so the choice is deterministic.
pub fn infer_hosts(packets: impl Iterator<Item = (IpAddr, IpAddr)>) -> Option<(IpAddr, u64, u64)> {
    let mut counts: HashMap<IpAddr, u64> = HashMap::new();
    let mut total = 0u64;
    for (s, d) in packets {
        total += 1;
        *counts.entry(s).or_default() += 1;
        if d != s {
            *counts.entry(d).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .filter(|(a, _)| {
            !a.is_loopback()
                && !a.is_unspecified()
                && !a.is_multicast()
                && *a != IpAddr::V4(std::net::Ipv4Addr::BROADCAST)
        })
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(a, c)| (a, c, total))
}

/// Decide the host: `--host` if given, else the most frequent address of the source.
pub fn choose_hosts(given: &[IpAddr], source: &Source) -> Result<HostChoice, CaptureError> {
    if !given.is_empty() {
        return Ok(HostChoice {
            hosts: given.to_vec(),
            inferred: false,
            seen_in: None,
        });
    }
    let best = match source {
        Source::Packets(p) => infer_hosts(p.iter().map(|p| (p.src, p.dst))),
        Source::Capture(path) => {
            let r = CaptureReader::open(path)?;
            infer_hosts(r.filter_map(|i| i.ok()).map(|p| (p.src, p.dst)))
        }
    };
    Ok(match best {
        Some((a, c, t)) => HostChoice {
            hosts: vec![a],
            inferred: true,
            seen_in: Some((c, t)),
        },
        None => HostChoice {
            hosts: Vec::new(),
            inferred: true,
            seen_in: None,
        },
    })
}

/// Replay `source` through `rs`. The engine is handed back for counters and conntrack state.
pub fn replay<'r>(
    rs: &'r Ruleset,
    opts: SimOptions,
    source: Source,
    mut sink: impl FnMut(Item<'_>),
) -> Result<(Engine<'r>, ReplayStats), CaptureError> {
    let mut engine = Engine::new(rs, opts);
    let mut stats = ReplayStats::default();
    let mut defrag = engine.conntrack_active().then(Defragmenter::new);
    let mut feed = |engine: &mut Engine<'r>,
                    stats: &mut ReplayStats,
                    pkt: Packet,
                    sink: &mut dyn FnMut(Item<'_>)| {
        stats.packets += 1;
        let frame = pkt.frame;
        let pkt = match defrag.as_mut() {
            Some(d) if pkt.frag.is_fragment() => {
                let out = d.push(pkt.clone());
                for ev in d.drain_events() {
                    stats.fragment_events.push(describe(&ev));
                }
                match out {
                    Some(p) => p,
                    None => {
                        stats.fragments_held += 1;
                        let o = Outcome::unjudged(
                            frame,
                            "fragment held for reassembly (conntrack defragments before any table)",
                        );
                        sink(Item::Packet(&pkt, &o));
                        return;
                    }
                }
            }
            _ => pkt,
        };
        let mut o = engine.process(&pkt);
        if let Some(from) = &pkt.reassembled_from {
            o.fragments = from.to_vec();
        }
        if pkt.frag.is_fragment() && !engine.conntrack_active() && o.verdict.is_some() {
            o.certain = false;
            o.reason.get_or_insert_with(|| "IP fragment without connection tracking: the kernel reassembles it before INPUT, after PREROUTING".into());
        }
        sink(Item::Packet(&pkt, &o));
    };
    match source {
        Source::Packets(pkts) => {
            for p in pkts {
                stats.frames += 1;
                feed(&mut engine, &mut stats, p, &mut sink);
            }
        }
        Source::Capture(path) => {
            let mut r = CaptureReader::open(&path)?;
            for item in &mut r {
                stats.frames += 1;
                match item {
                    Ok(p) => feed(&mut engine, &mut stats, p, &mut sink),
                    Err(problem) => {
                        if problem.kind.is_skip() {
                            stats.skipped_non_ip += 1;
                        } else {
                            stats.problems += 1;
                        }
                        sink(Item::Problem(&problem));
                    }
                }
            }
        }
    }
    if let Some(d) = defrag.as_mut() {
        for ev in d.finish() {
            stats.fragment_events.push(describe(&ev));
        }
    }
    Ok((engine, stats))
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
            "frame {frame}: fragment train discarded ({}), frames {:?}",
            reason.as_str(),
            frames
        ),
        DefragEvent::PassedThrough { frame, reason } => {
            format!("frame {frame}: IPv6 fragment passed through ({reason})")
        }
        DefragEvent::TimedOut { frames, at_end, .. } => {
            if *at_end {
                format!("incomplete fragment train at the end of the capture, frames {frames:?}")
            } else {
                format!("fragment train timed out, frames {frames:?}")
            }
        }
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
