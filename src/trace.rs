//! `fwcheck trace`: one packet (or the packets of one flow spec, or one frame of a capture)
//! through the ruleset, every step recorded by the normal engine ([`crate::engine::trace`]).
//!
//! The kernel's counterpart is `nft monitor trace` / `xtables-monitor --trace` (`nft_trace_notify`
//! in `net/netfilter/nf_tables_trace.c`): it names the hook, table, chain, rule and verdict of each
//! step. fwcheck adds why each rule matched or not, conntrack, NAT and reassembly.
//!
//! A frame of a capture is traced with the state the capture built up before it: frames 1..N-1
//! go through the ordinary replay (defragmentation, conntrack, `recent`, `limit`, `hashlimit`…)
//! with tracing off, then frame N with tracing on.
//!
//! When a match cannot be decided offline (a socket's owner, an IPsec policy, a module fwcheck
//! does not know), the traced run takes it as not matching. Each such match whose other answer
//! could change the verdict is then tried the other way: the packet runs again on a fork of the
//! state it met (the engine and the reassembly queues cloned before it), with that match taken as
//! matching, and the verdict it gets there is reported as an alternative (the replay's own
//! mechanism, [`Replayer::enable_alternatives`], which `--alternatives` uses for the main report).

use std::path::Path;

use crate::engine::{SimOptions, TraceEvent};
use crate::packet::ahead::DecodeAhead;
use crate::packet::capture::CaptureError;
use crate::packet::Packet;
use crate::replay::{Item, Replayer};
use crate::report::{PacketRecord, RuleInfos};
use crate::ruleset::Ruleset;

/// One traced packet (the record type is the report's, which formats it).
pub use crate::report::trace::TracedPacket;

/// Why a frame could not be traced.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("frame {frame}: not an IP packet fwcheck can judge: {reason}")]
    Undecodable { frame: u64, reason: String },
    #[error("the capture has {frames} frame(s); there is no frame {frame}")]
    NoSuchFrame { frame: u64, frames: u64 },
    #[error("frames are numbered from 1")]
    FrameZero,
}

fn traced(rules: &mut RuleInfos<'_>, pkt: &Packet, o: &crate::engine::Outcome) -> TracedPacket {
    let mut steps = Vec::with_capacity(o.trace.len() + 1);
    if !o.fragments.is_empty() {
        steps.push(TraceEvent::Note {
            text: format!(
                "reassembled from frames {:?} before the tables saw it (defragmentation)",
                o.fragments
            ),
        });
    }
    steps.extend(o.trace.iter().cloned());
    if o.verdict.is_none() || o.answer_to.is_some() {
        if let Some(r) = &o.reason {
            steps.push(TraceEvent::Note { text: r.clone() });
        }
    }
    TracedPacket {
        packet: crate::engine::trace::describe_packet(pkt),
        steps,
        record: PacketRecord::new(rules, pkt, o),
    }
}

/// Trace `packets` in order, each with the state the ones before it left (a flow spec's
/// handshake, then its data…).
pub fn trace_packets(
    rs: &Ruleset,
    mut opts: SimOptions,
    mut packets: Vec<Packet>,
) -> Vec<TracedPacket> {
    crate::packet::ingest::gso::mark_trains(&mut packets);
    opts.trace = true;
    opts.alternatives = u64::MAX;
    let mut r = Replayer::new(rs, opts);
    let mut rules = RuleInfos::new(rs);
    let mut out = Vec::new();
    for p in packets {
        r.feed(&p, None, &mut |item| {
            if let Item::Packet(p, o) = item {
                out.push(traced(&mut rules, p, o));
            }
        });
    }
    out
}

/// Trace frame `frame` (1-based) of the capture at `path`, after replaying the frames before
/// it. Usually one packet; more when frame N completes a reassembly that yields several.
///
/// When the frame is uncertain through its connection's state, the capture is replayed a
/// second time with frame F (the one it depends on) forked as the main replay forks it, so its
/// alternatives are F's (as `--alternatives` gives them).
pub fn trace_frame(
    rs: &Ruleset,
    opts: SimOptions,
    path: &Path,
    frame: u64,
) -> Result<Vec<TracedPacket>, TraceError> {
    if frame == 0 {
        return Err(TraceError::FrameZero);
    }
    let (out, cause) = trace_frame_from(rs, opts.clone(), path, frame, None)?;
    match cause {
        Some(f) if f < frame => Ok(trace_frame_from(rs, opts, path, frame, Some(f))?.0),
        _ => Ok(out),
    }
}

/// [`trace_frame`], forking frame `shadow_of` on the way when given; also returns the frame
/// the traced packet's doubt comes from, when that is its connection's state.
fn trace_frame_from(
    rs: &Ruleset,
    mut opts: SimOptions,
    path: &Path,
    frame: u64,
    shadow_of: Option<u64>,
) -> Result<(Vec<TracedPacket>, Option<u64>), TraceError> {
    opts.trace = false;
    opts.for_capture(path);
    let mut r = Replayer::new(rs, opts);
    let mut rules = RuleInfos::new(rs);
    let mut reader = DecodeAhead::open(path)?;
    let mut seen = 0u64;
    while let Some(item) = reader.next_ref() {
        seen += 1;
        if seen < frame {
            let fork_here = shadow_of == Some(seen);
            if fork_here {
                r.enable_alternatives(u64::MAX);
            }
            match item {
                Ok(p) => r.feed(p, None, &mut |_| {}),
                Err(problem) => r.problem(problem, &mut |_| {}),
            }
            if fork_here {
                r.set_alternatives_budget(0);
            }
            continue;
        }
        let p = match item {
            Ok(p) => p,
            Err(problem) => {
                return Err(TraceError::Undecodable {
                    frame,
                    reason: problem.reason.to_string(),
                })
            }
        };
        r.engine.set_trace(true);
        if shadow_of.is_some() {
            r.set_alternatives_budget(u64::MAX);
        } else {
            r.enable_alternatives(u64::MAX);
        }
        let mut out = Vec::new();
        let mut cause = None;
        r.feed(p, None, &mut |item| {
            if let Item::Packet(p, o) = item {
                if o.alternatives.is_empty() && o.undecided.is_empty() {
                    cause = cause.or(o.tainted_by);
                }
                out.push(traced(&mut rules, p, o));
            }
        });
        return Ok((out, cause));
    }
    Err(TraceError::NoSuchFrame {
        frame,
        frames: seen,
    })
}
