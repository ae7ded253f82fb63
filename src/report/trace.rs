//! Rendering of `fwcheck trace`: a text walk-through for people learning netfilter (what
//! `xtables-monitor --trace` prints, readable: every rule tried and why it matched or not), and
//! JSON Lines records (`"type": "step"` per step, then `"type": "packet"` with the verdict).

use std::fmt::Write;

use serde::Serialize;

use crate::engine::{Check, TraceEvent};
use crate::report::PacketRecord;

fn mark(c: &Check) -> &'static str {
    match c.held {
        Some(true) => "✓",
        Some(false) => "✗",
        None => "?",
    }
}

/// One traced packet: its steps and the engine's verdict for it.
#[derive(Debug, Clone, Serialize)]
pub struct TracedPacket {
    /// The packet as it entered (`tcp 198.51.100.7:40000 > 203.0.113.10:22 [S] len 44`).
    pub packet: String,
    /// Every step, in order.
    pub steps: Vec<TraceEvent>,
    /// The same record the main command prints for this frame (verdict, deciding rule).
    pub record: PacketRecord,
}

/// The text walk-through of traced packets.
pub fn text(packets: &[TracedPacket]) -> String {
    let mut out = String::new();
    for (i, t) in packets.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "frame {}: {} ({})",
            t.record.frame, t.packet, t.record.direction
        );
        let mut in_table = false;
        for s in &t.steps {
            match s {
                TraceEvent::Hook {
                    hook,
                    indev,
                    outdev,
                    packet,
                } => {
                    in_table = false;
                    let mut devs = Vec::new();
                    if !indev.is_empty() {
                        devs.push(format!("in {indev}"));
                    }
                    if !outdev.is_empty() {
                        devs.push(format!("out {outdev}"));
                    }
                    let _ = writeln!(out, "  hook {hook} [{}]  {packet}", devs.join(", "));
                }
                TraceEvent::Conntrack {
                    before,
                    after,
                    entry,
                    note,
                    ..
                } => {
                    let _ = writeln!(out, "    conntrack: {before} → {after}");
                    if let Some(e) = entry {
                        let _ = writeln!(out, "      {e}");
                    }
                    if let Some(n) = note {
                        let _ = writeln!(out, "      {n}");
                    }
                }
                TraceEvent::Table { table, chain, .. } => {
                    in_table = true;
                    let _ = writeln!(out, "    table {table}, chain {chain}");
                }
                TraceEvent::Rule {
                    chain,
                    rule,
                    line,
                    text,
                    checks,
                    matched,
                    unknown,
                    alternatives,
                    action,
                    ..
                } => {
                    let _ = writeln!(
                        out,
                        "      {chain} #{rule} (line {line}) {}: {text}",
                        if *matched {
                            "matches"
                        } else if unknown.is_some() {
                            "undecidable"
                        } else {
                            "no match"
                        }
                    );
                    for c in checks {
                        let _ = writeln!(out, "        {} {}  — {}", mark(c), c.clause, c.why);
                    }
                    if let Some(u) = unknown {
                        let _ = writeln!(out, "        ? cannot be decided offline: {u}");
                    }
                    if let Some(a) = alternatives {
                        let _ = writeln!(out, "          {a}");
                    }
                    if let Some(a) = action {
                        let _ = writeln!(out, "        → {a}");
                    }
                }
                TraceEvent::Jump {
                    from,
                    rule,
                    to,
                    goto,
                    ..
                } => {
                    let _ = writeln!(
                        out,
                        "      {} {to} (from {from} #{rule}{})",
                        if *goto { "goto" } else { "jump to" },
                        if *goto { ", no return to it" } else { "" }
                    );
                }
                TraceEvent::Return {
                    from, to, explicit, ..
                } => {
                    let how = if *explicit { "RETURN" } else { "end of chain" };
                    match to {
                        Some((c, r)) => {
                            let _ = writeln!(
                                out,
                                "      {how} from {from}: back to {c} after rule #{r}"
                            );
                        }
                        None => {
                            let _ = writeln!(out, "      {how} from {from}: to the policy");
                        }
                    }
                }
                TraceEvent::Policy { chain, policy, .. } => {
                    let _ = writeln!(out, "      end of {chain}: policy {policy}");
                }
                TraceEvent::Nat { before, after, .. } => {
                    let _ = writeln!(out, "    NAT: {before}  ⇒  {after}");
                }
                TraceEvent::Note { text } => {
                    let ind = if in_table { "      " } else { "  " };
                    let _ = writeln!(out, "{ind}{text}");
                }
            }
        }
        let r = &t.record;
        let by = r
            .rule
            .as_ref()
            .map(|i| format!(" by {}", i.short()))
            .unwrap_or_default();
        match r.verdict {
            Some(v) => {
                let _ = writeln!(
                    out,
                    "verdict: {v}{by}{}",
                    if r.certain { "" } else { " (uncertain)" }
                );
            }
            None => {
                let _ = writeln!(out, "verdict: none (not judged)");
            }
        }
        if let Some(why) = &r.reason {
            let _ = writeln!(out, "  {why}");
        }
        if let Some(rj) = &r.reject {
            let _ = writeln!(
                out,
                "  REJECT reply: {}",
                serde_json::to_string(rj).unwrap_or_default()
            );
        }
        for a in &r.alternatives {
            let rule = a
                .rule
                .as_ref()
                .map_or_else(|| "the rule".to_string(), |i| i.short());
            let by = a
                .decided_by
                .as_ref()
                .map(|i| format!(" by {}", i.short()))
                .unwrap_or_default();
            let at = a.frame.map(|f| format!("frame {f}'s ")).unwrap_or_default();
            let _ = writeln!(
                out,
                "  if {at}{rule} matched: {}{by}{}",
                a.verdict.unwrap_or("not judged"),
                if a.certain { "" } else { " (uncertain)" }
            );
        }
    }
    out
}

/// JSON Lines: every step as `{"type":"step","frame":N,"step":"rule",…}`, then the packet's
/// record (`"type":"packet"`, as the main command prints it) with the packet's description.
pub fn json_lines(packets: &[TracedPacket]) -> String {
    let mut out = String::new();
    for t in packets {
        for s in &t.steps {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            v["type"] = "step".into();
            v["frame"] = t.record.frame.into();
            let _ = writeln!(out, "{v}");
        }
        let mut v = serde_json::to_value(&t.record).unwrap_or_default();
        v["packet"] = t.packet.clone().into();
        let _ = writeln!(out, "{v}");
    }
    out
}
