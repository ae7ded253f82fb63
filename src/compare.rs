//! Proof against the kernel: replay the same frames through a real kernel (the [`oracle`]) and
//! through fwcheck, and compare verdicts frame by frame. fwcheck is fed the jiffies the kernel
//! had when it processed each frame, so time-dependent rules (`limit`, `recent`, timeouts) see
//! identical clocks.
//!
//! [`oracle`]: crate::oracle

use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::describe::{rule_info, tcp_flags};
use crate::engine::{Clock, SimEnv, SimOptions, Verdict};
use crate::lint::Loaded;
use crate::oracle::{
    self, KernelDirection, KernelOutcome, KernelVerdict, OracleConfig, OracleFrame, Pacing,
    ReplayOptions,
};
use crate::packet::{Anomalies, Packet, PacketProblem};
use crate::replay::Item;

/// How one frame compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Same verdict (REJECT counts as DROP: the kernel oracle sees the packet not delivered).
    Match,
    Mismatch,
    /// fwcheck marked its verdict uncertain; not counted as a mismatch.
    Uncertain,
    /// Not comparable (skipped by both, not reproducible in the kernel).
    NotCompared,
}

/// One frame of a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct FrameComparison {
    pub frame: u64,
    pub status: Status,
    /// `src > dst proto flags`.
    pub packet: String,
    pub kernel: Option<&'static str>,
    pub kernel_note: Option<String>,
    pub fwcheck: Option<&'static str>,
    pub fwcheck_rule: Option<String>,
    pub(crate) fwcheck_ctstate: Option<&'static str>,
    pub fwcheck_reason: Option<String>,
    /// fwcheck's verdict was certain (also for matching frames).
    pub fwcheck_certain: bool,
}

/// The result of comparing a capture.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub frames: Vec<FrameComparison>,
    pub compared: usize,
    pub matches: usize,
    pub mismatches: usize,
    pub uncertain: usize,
    pub(crate) kernel_anomalies: Vec<String>,
}

impl Comparison {
    /// A readable diff of the frames that differ (and the uncertain ones), with the three
    /// frames before each mismatch for context.
    pub fn render(&self, with_context: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} frames compared: {} match, {} mismatch, {} uncertain",
            self.compared, self.matches, self.mismatches, self.uncertain
        );
        for (i, f) in self.frames.iter().enumerate() {
            if f.status != Status::Mismatch {
                continue;
            }
            if with_context {
                for c in &self.frames[i.saturating_sub(3)..i] {
                    let _ = writeln!(out, "    {}", c.line());
                }
            }
            let _ = writeln!(out, "  ! {}", f.line());
        }
        out
    }
}

impl FrameComparison {
    /// One line: frame, packet, both verdicts, fwcheck's state and rule, both notes.
    pub fn line(&self) -> String {
        let f = self;
        format!(
            "frame {:>5} {:<48} kernel {:<6} fwcheck {:<6} {} {}{}{}",
            f.frame,
            f.packet,
            f.kernel.unwrap_or("-"),
            f.fwcheck.unwrap_or("-"),
            f.fwcheck_ctstate.unwrap_or(""),
            f.fwcheck_rule.as_deref().unwrap_or(""),
            f.kernel_note
                .as_ref()
                .map(|n| format!(" [kernel: {n}]"))
                .unwrap_or_default(),
            f.fwcheck_reason
                .as_ref()
                .map(|n| format!(" [fwcheck: {n}]"))
                .unwrap_or_default(),
        )
    }
}

/// Errors that prevent a comparison.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("the kernel oracle is not available here: {0}")]
    Unavailable(String),
    #[error("kernel replay failed: {0}")]
    Oracle(#[from] oracle::OracleError),
}

fn describe(p: &Packet) -> String {
    let mut s = match p.ports() {
        Some((a, b)) => format!("{}:{a} > {}:{b}", p.src, p.dst),
        None => format!("{} > {}", p.src, p.dst),
    };
    s.push(' ');
    s.push_str(&crate::engine::describe::proto_name(p.proto));
    if let Some(t) = p.tcp() {
        s.push(' ');
        s.push_str(&tcp_flags(t.flags));
    }
    if let Some(i) = p.icmp() {
        let _ = write!(s, " {}/{}", i.icmp_type, i.code);
    }
    s
}

/// fwcheck's side of one frame.
struct Mine {
    frame: u64,
    packet: String,
    verdict: Option<Verdict>,
    certain: bool,
    rule: Option<String>,
    ctstate: Option<&'static str>,
    reason: Option<String>,
    /// The capture's snap length cut the frame.
    cut: bool,
}

/// The namespace sysctls that make the kernel's conntrack behave as `sim` tells fwcheck to:
/// TCP pickup and window checks, checksum verification, the timeouts that differ from the
/// defaults.
pub(crate) fn kernel_sysctls(sim: &SimOptions) -> Vec<(String, String)> {
    let flag = |b: bool| u8::from(b).to_string();
    let mut v = vec![
        (
            "net.netfilter.nf_conntrack_tcp_loose".to_string(),
            flag(sim.env.tcp_loose),
        ),
        (
            "net.netfilter.nf_conntrack_tcp_be_liberal".to_string(),
            flag(sim.env.tcp_be_liberal),
        ),
        (
            "net.netfilter.nf_conntrack_tcp_ignore_invalid_rst".to_string(),
            flag(sim.tcp_ignore_invalid_rst),
        ),
        (
            "net.netfilter.nf_conntrack_checksum".to_string(),
            flag(sim.env.ct_checksum),
        ),
    ];
    // Reverse-path filtering, when set (the lab's namespace starts with it off everywhere).
    let rp = &sim.env.host.rp_filter;
    if *rp != crate::host::RpFilter::default() {
        v.extend(rp.sysctls());
    }
    // Timeouts other than the kernel's defaults (some keys exist only when their module is
    // loaded, e.g. nf_conntrack_frag6_timeout with nf_defrag_ipv6).
    let defaults = crate::conntrack::Timeouts::default().entries();
    for ((_, key, secs), (_, _, default)) in sim.ct_timeouts.entries().into_iter().zip(defaults) {
        if secs != default {
            v.push((key.to_string(), secs.to_string()));
        }
    }
    // Fragment memory limits: low_thresh (unused since 4.17) must stay ≤ high_thresh.
    if sim.frag_high_thresh != crate::packet::defrag::DEFAULT_HIGH_THRESH {
        let high = sim.frag_high_thresh.to_string();
        for (low_key, high_key) in [
            ("net.ipv4.ipfrag_low_thresh", "net.ipv4.ipfrag_high_thresh"),
            (
                "net.netfilter.nf_conntrack_frag6_low_thresh",
                "net.netfilter.nf_conntrack_frag6_high_thresh",
            ),
        ] {
            v.push((low_key.to_string(), "0".to_string()));
            v.push((high_key.to_string(), high.clone()));
        }
    }
    v
}

/// Compare a sequence of decoded frames (in capture order).
pub fn compare(
    loaded: &Loaded,
    frames: Vec<Result<Packet, PacketProblem>>,
    sim: SimOptions,
    pacing: Pacing,
) -> Result<Comparison, CompareError> {
    compare_with_reload(loaded, None, frames, sim, pacing)
}

/// [`compare`] with a second ruleset loaded right before frame `before_frame` (the first frame
/// numbered so or later): the kernel runs `iptables-restore` with it mid-replay
/// ([`crate::oracle::Reload`]), fwcheck reloads its engine at the same frame
/// ([`crate::replay::Replayer::reload`]).
pub fn compare_with_reload(
    loaded: &Loaded,
    reload: Option<(&Loaded, u64)>,
    frames: Vec<Result<Packet, PacketProblem>>,
    sim: SimOptions,
    pacing: Pacing,
) -> Result<Comparison, CompareError> {
    compare_inner(loaded, None, reload, frames, sim, pacing)
}

/// [`compare`] for a host running iptables and ip6tables side by side: `loaded` and `other`
/// (the other family's ruleset) are loaded together into the kernel's namespace
/// ([`OracleConfig::other_ruleset`]), and fwcheck judges each frame with its family's ruleset,
/// one [`crate::replay::Replayer`] per family as `fwcheck RULES --pcap F --parity OTHER` does. `sim.env.hosts`
/// needs an address of each family. Rules are named `filter INPUT #2 (FILE line 6)`.
pub fn compare_families(
    loaded: &Loaded,
    other: &Loaded,
    frames: Vec<Result<Packet, PacketProblem>>,
    sim: SimOptions,
    pacing: Pacing,
) -> Result<Comparison, CompareError> {
    compare_inner(loaded, Some(other), None, frames, sim, pacing)
}

fn compare_inner(
    loaded: &Loaded,
    other: Option<&Loaded>,
    reload: Option<(&Loaded, u64)>,
    frames: Vec<Result<Packet, PacketProblem>>,
    mut sim: SimOptions,
    pacing: Pacing,
) -> Result<Comparison, CompareError> {
    oracle::available().map_err(CompareError::Unavailable)?;
    // The oracle's namespace is new: its conntrack table starts empty with the frames.
    sim.env.conntrack_empty_at_start = true;
    // It sends the host's frames through a raw socket of its own.
    sim.env.frames_injected = true;
    let rs = &loaded.ruleset;
    let reloaded = std::cell::Cell::new(false);
    // With two rulesets, each rule is named with its file.
    let named = |rs: &crate::ruleset::Ruleset, d: &crate::engine::Decision| {
        let mut infos = match other {
            Some(_) => crate::engine::describe::RuleInfos::with_file(rs),
            None => crate::engine::describe::RuleInfos::new(rs),
        };
        infos.get(d).map(|r| (*r).clone())
    };
    let current = |family: crate::packet::Family, d: &crate::engine::Decision| match (reload, other)
    {
        (Some((new, _)), _) if reloaded.get() => rule_info(&new.ruleset, d),
        (_, Some(o)) if o.ruleset.family == family => named(&o.ruleset, d),
        _ => named(rs, d),
    };
    let oracle_frames: Vec<OracleFrame> = frames
        .iter()
        .map(|f| match f {
            Ok(p) => OracleFrame {
                frame: p.frame,
                ts: p.ts,
                ip: Some(p.data.to_vec()),
            },
            Err(e) => OracleFrame {
                frame: e.frame,
                ts: e.ts.unwrap_or_default(),
                ip: None,
            },
        })
        .collect();
    // Addresses on other interfaces of the host configuration get devices of their own; the
    // routes go to the interfaces they name, the frames' own included (a bridge's connected
    // route when the frames come in on the bridge).
    let other_dev = |dev: &str| dev != sim.env.iface && dev != "lo";
    let extra_ifaces: Vec<(String, std::net::IpAddr, u8)> = sim
        .env
        .host
        .addrs
        .iter()
        .filter(|a| other_dev(&a.dev))
        .map(|a| (a.dev.clone(), a.addr, a.len))
        .collect();
    let extra_routes = sim
        .env
        .host
        .routes
        .iter()
        .filter_map(|r| Some((r.dest, r.len, r.dev.clone().filter(|d| d != "lo")?)))
        .collect();
    let cfg = OracleConfig {
        ruleset: rs.source.text.clone(),
        family: rs.family,
        hosts: sim
            .env
            .hosts
            .iter()
            .copied()
            .filter(|h| !extra_ifaces.iter().any(|e| e.1 == *h))
            .collect(),
        extra_ifaces,
        extra_routes,
        iface: sim.env.iface.clone(),
        pacing,
        backend: sim.env.backend,
        sysctls: kernel_sysctls(&sim),
        reload: reload.map(|(new, before_frame)| crate::oracle::Reload {
            before_frame,
            ruleset: new.ruleset.source.text.clone(),
        }),
        router: sim.router,
        rx_checksums: sim.env.checksums,
        ipsets: sim.env.ipsets.as_ref().map(|s| s.source.clone()),
        other_ruleset: other.map(|o| o.ruleset.source.text.clone()),
        networks: sim.env.networks.clone(),
        groups: sim
            .env
            .host
            .groups
            .iter()
            .map(|m| (m.dev.clone(), m.group))
            .collect(),
    };
    let report = oracle::replay_with(&cfg, &ReplayOptions::default(), oracle_frames)?;
    let kernel: std::collections::HashMap<u64, &KernelOutcome> =
        report.outcomes.iter().map(|o| (o.frame, o)).collect();
    let clocks: std::collections::HashMap<u64, Clock> = report
        .details
        .iter()
        .filter_map(|d| {
            d.jiffies.map(|(lo, _)| {
                (
                    d.frame,
                    Clock {
                        jiffies: lo,
                        ns: d.sent_at_ns,
                        phase: None,
                    },
                )
            })
        })
        .collect();

    // fwcheck, on the kernel's clock; REJECT replies are not simulated (the oracle silences
    // the namespace's own packets before any table).
    // The oracle has one device, named `sim.env.iface`: fwcheck sees every packet on it too,
    // whatever interface names the capture records.
    let sim = SimOptions {
        simulate_replies: false,
        recognise_answers: false,
        env: SimEnv {
            iface_from_capture: false,
            ..sim.env
        },
        ..sim
    };
    // One replay per family: the other family's frames go to the other ruleset's.
    let mut families = crate::replay::Families::new(rs, other.map(|o| &o.ruleset), sim);
    let mut mine: Vec<Mine> = Vec::new();
    {
        let mut sink = |item: Item<'_>| match item {
            Item::Packet(p, o) => mine.push(Mine {
                frame: o.frame,
                packet: describe(p),
                verdict: o.verdict,
                certain: o.certain,
                rule: o
                    .decision
                    .as_ref()
                    .and_then(|d| current(p.family, d))
                    .map(|r| r.short()),
                ctstate: o.ctstate.map(|c| c.as_str()),
                reason: o.reason.clone(),
                cut: p.anomalies.has(Anomalies::CAP_TRUNCATED),
            }),
            Item::Problem(p) => mine.push(Mine {
                frame: p.frame,
                packet: format!("(undecodable: {})", p.reason),
                verdict: None,
                certain: true,
                rule: None,
                ctstate: None,
                reason: Some(p.reason.clone()),
                cut: false,
            }),
        };
        // Frames the kernel did not replay (other family, not for the host) still pass
        // fwcheck's defragmenter: they run on the clock of the last frame the kernel saw.
        let mut last = clocks.values().min_by_key(|c| c.ns).copied();
        for f in frames {
            if let Some((new, before_frame)) = reload {
                let frame = match &f {
                    Ok(p) => p.frame,
                    Err(e) => e.frame,
                };
                if !reloaded.get() && frame >= before_frame {
                    families.reload(&new.ruleset);
                    reloaded.set(true);
                }
            }
            match f {
                Ok(p) => {
                    let now = clocks.get(&p.frame).copied().or(last);
                    last = now;
                    families.feed(&p, now, &mut sink)
                }
                Err(e) => families.problem(&e, &mut sink),
            }
        }
    }
    let _ = families.finish();

    let mut out = Comparison {
        frames: Vec::with_capacity(mine.len()),
        compared: 0,
        matches: 0,
        mismatches: 0,
        uncertain: 0,
        kernel_anomalies: report.anomalies.clone(),
    };
    for Mine {
        frame,
        packet,
        verdict,
        certain,
        rule,
        ctstate,
        reason,
        cut,
    } in mine
    {
        let k = kernel.get(&frame).copied();
        let kv = k.and_then(|k| k.verdict);
        let kdir = k.map(|k| k.direction);
        // Not delivered / not sent = DROP, REJECT included.
        let mine_passes = verdict.map(|v| v == Verdict::Accept);
        let status = match (kdir, kv, mine_passes) {
            // The capture cut the frame: the kernel would have seen it whole, the oracle can
            // only inject what was captured.
            _ if cut => Status::NotCompared,
            (Some(KernelDirection::Skip), _, None) | (None, _, _) => Status::NotCompared,
            (_, None, _) => Status::NotCompared,
            (_, Some(kv), Some(p)) => {
                if (kv == KernelVerdict::Accept) == p {
                    Status::Match
                } else if !certain {
                    Status::Uncertain
                } else {
                    Status::Mismatch
                }
            }
            // fwcheck gave no verdict (held fragment, not for this host, malformed): the kernel
            // must not have delivered it either.
            (_, Some(kv), None) => {
                if kv == KernelVerdict::Drop {
                    Status::Match
                } else if !certain {
                    Status::Uncertain
                } else {
                    Status::Mismatch
                }
            }
        };
        match status {
            Status::Match => out.matches += 1,
            Status::Mismatch => out.mismatches += 1,
            Status::Uncertain => out.uncertain += 1,
            Status::NotCompared => {}
        }
        if status != Status::NotCompared {
            out.compared += 1;
        }
        out.frames.push(FrameComparison {
            frame,
            status,
            packet,
            kernel: kv.map(|v| match v {
                KernelVerdict::Accept => "ACCEPT",
                KernelVerdict::Drop => "DROP",
            }),
            kernel_note: k.and_then(|k| k.note.clone()),
            fwcheck: verdict.map(|v| v.as_str()),
            fwcheck_rule: rule,
            fwcheck_ctstate: ctstate,
            fwcheck_reason: reason,
            fwcheck_certain: certain,
        });
    }
    Ok(out)
}

/// Compare a capture file.
pub fn compare_capture(
    loaded: &Loaded,
    path: &std::path::Path,
    sim: SimOptions,
    pacing: Pacing,
) -> Result<Comparison, CompareError> {
    let frames: Vec<Result<Packet, PacketProblem>> =
        match crate::packet::capture::CaptureReader::open(path) {
            Ok(r) => r.collect(),
            Err(e) => {
                return Err(CompareError::Unavailable(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
    compare(loaded, frames, sim, pacing)
}
