//! `fwcheck steps`: a script of iptables commands (or restore input, one step per COMMIT)
//! applied in order to a starting ruleset, with the administrator's session checked after
//! **every** step — as on a live host, where each command takes effect the moment it runs
//! (`do_command4` → `iptc_commit` / an nf_tables transaction per command) and the session the
//! administrator types in stays in conntrack all along.
//!
//! One engine runs the whole script: the admin's session is established before step 1 (under
//! no rules with conntrack loaded, as `lockout` assumes: the admin was logged in before the
//! starting ruleset was loaded), then
//! after each step its next packets (data both ways) are judged against the ruleset of that
//! step with the conntrack entry it has built so far (the engine's state carried from one
//! step's ruleset to the next: [`Engine::suspend`], [`Engine::resume`]). A new session is also
//! tried against each step's ruleset (a fresh engine, as `lockout` does). The last ruleset
//! also gets the full lockout check ([`lockout::evaluate`]).
//!
//! The script is applied twice: first to learn what each step did, then to check the
//! sessions, each step's ruleset built, run and dropped in turn — a script of thousands of
//! commands holds one ruleset at a time (it held one per step: 4.8 GB for 4,000 commands).
//! Where a session's verdict is in doubt because conntrack's table before step 1 is not
//! known, a third pass follows it in each world of that table and settles what they agree on.

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::analysis::lockout::{self, describe_packet};
use crate::analysis::synth::{self, Step, Synth};
use crate::analysis::{
    admin_candidates, decided_by, host_for, run_scenario_with, CheckOptions, Finding, Level, Net,
    Service, StepResult,
};
use crate::diag::{Diagnostic, SourceFile, Span};
use crate::engine::{Direction, Engine, SimOptions};
use crate::packet::Conversation;
use crate::ruleset::graph::commit_error;
use crate::ruleset::parser::{apply, apply_refusing, AppliedStep, ParseOptions};
use crate::ruleset::{Family, Ruleset};

/// The input of a steps run.
#[derive(Debug, Clone)]
pub struct StepsInput {
    /// Name and text of the script (or restore file).
    pub name: String,
    pub text: String,
    /// The ruleset the script starts from (`--initial`): name and text (restore format or a
    /// script itself). `None`: an empty server with ACCEPT policies.
    pub initial: Option<(String, String)>,
    /// Apply restore input as `iptables-restore --noflush` does.
    pub noflush: bool,
    pub parse: ParseOptions,
}

/// How a management session fared at one step.
#[derive(Debug, Clone, Serialize)]
pub struct SessionAt {
    /// `tcp/22`.
    pub service: String,
    /// The administrator's address.
    pub admin: IpAddr,
    /// The established session's packets all passed.
    pub established: bool,
    /// A new session could complete.
    pub new: bool,
    /// The first packet that failed (established first, else new), its verdict and decider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// No verdict behind `established` and `new` was uncertain.
    pub certain: bool,
    /// Why `established` is not certain: the first uncertain verdict of the session's packets
    /// up to the first that failed, as `what: why`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub established_doubt: Option<String>,
    /// Why `new` is not certain, likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_doubt: Option<String>,
    /// The chain whose rules the failing packet went through (INPUT or OUTPUT).
    #[serde(skip)]
    pub(crate) hook_chain: &'static str,
}

/// One step: a command (or a restore block) and what it did to the sessions.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub step: usize,
    /// The command, on one line (`\`-continuations joined).
    pub command: String,
    pub file: String,
    pub line: usize,
    /// False for commands that only read (`-L`): the sessions are as at the step before.
    pub changes: bool,
    /// iptables refused the command (what it said): the script went on without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    pub sessions: Vec<SessionAt>,
}

/// A step that cuts an established session.
#[derive(Debug, Clone, Serialize)]
pub struct Cut {
    pub service: String,
    pub admin: IpAddr,
    pub step: usize,
    pub command: String,
    pub file: String,
    pub line: usize,
    /// The packet that failed and what decided it.
    pub failure: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// The failure rests on no uncertain verdict. An uncertain one is a possible cut: the
    /// kernel may pass the session (FW001 at warning level).
    pub certain: bool,
    /// Why the failure is not certain (`what: why`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doubt: Option<String>,
    /// The first later step after which the session certainly passes again (and to the end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub works_again_after: Option<usize>,
    /// Without a certain one: the first later step after which the session passes again (and
    /// to the end) with some verdict not certain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub may_work_again_after: Option<usize>,
    /// What to do.
    pub advice: String,
}

impl Cut {
    /// The one-line report.
    pub fn message(&self) -> String {
        let again = match (self.works_again_after, self.may_work_again_after) {
            (Some(k), _) => format!("; the session works again after step {k}"),
            (None, Some(k)) => format!(
                "; the session may work again after step {k} (the verdicts are not certain)"
            ),
            (None, None) => "; it does not work again before the script ends".into(),
        };
        format!(
            "step {} `{}` ({}:{}) {} the established {} session from {}: {}{again} — {}",
            self.step,
            self.command,
            self.file,
            self.line,
            if self.certain { "cuts" } else { "may cut" },
            self.service,
            self.admin,
            self.failure,
            self.advice
        )
    }
}

/// The result of a steps run.
#[derive(Debug, Clone)]
pub struct StepsReport {
    pub steps: Vec<StepRecord>,
    pub cuts: Vec<Cut>,
    /// The full lockout check of the last ruleset (FW001/FW009).
    pub final_lockout: Vec<lockout::LockoutResult>,
    pub host: IpAddr,
    pub admins: Vec<IpAddr>,
    /// The last ruleset (for reports).
    pub final_ruleset: Ruleset,
    /// The script's diagnostics, located in [`StepsReport::source`]: warnings (commands not
    /// applied, W005; mixed backends, W006; …) and the errors of the commands iptables
    /// refused (those steps are [`StepRecord::refused`]).
    pub diagnostics: Vec<Diagnostic>,
    pub source: Arc<SourceFile>,
}

impl StepsReport {
    /// Some step certainly cuts the session, or the final ruleset certainly locks the admin out
    /// (FW001 at error level).
    pub fn locks_out(&self) -> bool {
        self.cuts.iter().any(|c| c.certain)
            || self
                .final_findings()
                .any(|f| f.code == "FW001" && f.severity == Level::Error)
    }
    /// Some step may cut the session, or the final ruleset may lock the admin out, resting
    /// on a verdict fwcheck cannot decide (FW001 at warning level).
    pub fn may_lock_out(&self) -> bool {
        self.cuts.iter().any(|c| !c.certain)
            || self
                .final_findings()
                .any(|f| f.code == "FW001" && f.severity != Level::Error)
    }
    pub fn final_findings(&self) -> impl Iterator<Item = &Finding> {
        self.final_lockout.iter().filter_map(|l| l.finding.as_ref())
    }
}

/// Why a steps run could not start.
#[derive(Debug)]
pub struct StepsError {
    /// Diagnostics, with the source they point into.
    pub diagnostics: Vec<Diagnostic>,
    pub source: Arc<SourceFile>,
}

/// A live management session: one connection of the administrator's, continued step after
/// step with consecutive sequence numbers (`tcp`, for a TCP service).
#[derive(Clone)]
struct Live {
    svc: Service,
    admin: (IpAddr, u16),
    host: (IpAddr, u16),
    tcp: Option<Conversation>,
}

impl Live {
    /// The next packets of the session (data admin → host, data host → admin, ACK), and the
    /// connection as it is once they all got through.
    fn next(&self, sy: &mut Synth) -> (Vec<Step>, Option<Conversation>) {
        let st = |what: &str, pkt| Step {
            what: what.to_string(),
            pkt,
        };
        let Some(mut tcp) = self.tcp.clone() else {
            let steps = vec![
                st(
                    "UDP admin → host (established flow)",
                    sy.udp(self.admin, self.host, 60),
                ),
                st(
                    "UDP host → admin (established flow)",
                    sy.udp(self.host, self.admin, 60),
                ),
            ];
            return (steps, None);
        };
        let steps = synth::tcp_established_steps(sy, &mut tcp, "admin", "host");
        (steps, Some(tcp))
    }
}

/// The packets that establish a live session (under no rules, before step 1) and its TCP
/// connection as they leave it.
fn warm_up(sy: &mut Synth, live: &Live) -> (Vec<crate::packet::Packet>, Option<Conversation>) {
    if live.svc.proto == 6 {
        let (warm, _, tcp) =
            synth::tcp_established_conv(sy, live.admin, live.host, "admin", "host");
        (warm, Some(tcp))
    } else {
        let (warm, _) = synth::udp_established(sy, live.admin, live.host, "admin", "host");
        (warm, None)
    }
}

/// Whether an established session passed at a step, and why that is not certain.
type Passed = (bool, Option<String>);

/// The live sessions followed in one world of what conntrack held before step 1 (the
/// table empty, or the sessions tracked all along): their engine's state between steps.
struct World {
    carried: Option<crate::engine::Carried>,
    lives: Vec<Live>,
    sy: Synth,
}

impl World {
    /// Whether each established session passes after a step whose ruleset is `rs`, and why
    /// that is not certain.
    fn probe(&mut self, rs: &Ruleset, layout: &crate::engine::SlotLayout) -> Vec<Passed> {
        let state = self.carried.take().expect("carried state");
        let mut engine = Engine::resume_with(rs, state, layout.clone());
        self.sy.wait(1_000_000_000);
        let out = self
            .lives
            .iter_mut()
            .map(|live| {
                let (failed, doubt) = probe_established(&mut engine, &mut self.sy, live);
                (failed.is_none(), doubt)
            })
            .collect();
        self.carried = Some(engine.suspend());
        out
    }
}

/// Settle the established session's verdict at one step (`at`, from the engine that does
/// not know what conntrack held before step 1) by the worlds: if every world's answer is the
/// same, and certain in each, that answer is certain (the truth is one of the worlds).
fn settle<'a>(at: &mut SessionAt, worlds: impl Iterator<Item = &'a Passed>) {
    let worlds: Vec<_> = worlds.collect();
    if at.established_doubt.is_none()
        || worlds
            .iter()
            .any(|(passed, doubt)| *passed != at.established || doubt.is_some())
    {
        return;
    }
    at.established_doubt = None;
    at.certain = at.new_doubt.is_none();
}

/// Apply the script step by step and check the sessions after each step.
pub fn run(input: &StepsInput, check: &CheckOptions) -> Result<StepsReport, StepsError> {
    // A command the kernel refuses when it commits its table (a jump loop, jumps nested too
    // deep) is found only once the tables it leaves are built: the run then starts over with
    // that command refused, as the shell script goes on without it.
    let mut refused = Vec::new();
    loop {
        match attempt(input, check, &refused) {
            Attempt::Done(r) => return r,
            Attempt::Refuse(d) => refused.push(d),
        }
    }
}

/// How many commands the kernel refuses at commit a run follows (each makes it start over);
/// past them the script is an error.
const MAX_COMMIT_REFUSALS: usize = 16;

enum Attempt {
    Done(Result<StepsReport, StepsError>),
    /// Start over with this command refused too.
    Refuse(Diagnostic),
}

fn attempt(input: &StepsInput, check: &CheckOptions, refused: &[Diagnostic]) -> Attempt {
    // One source: the script first (its lines are the user's), then the initial ruleset.
    let mut text = input.text.clone();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let script_end = text.len();
    let initial_start = text.len();
    if let Some((_, t)) = &input.initial {
        text.push_str(t);
    }
    let source = Arc::new(SourceFile::new(input.name.clone(), text));
    let base = match &input.initial {
        None => None,
        Some(_) => {
            let p = apply(
                None,
                source.clone(),
                initial_start..source.text.len(),
                input.parse.clone(),
                false,
                None,
            );
            if p.has_errors() {
                return Attempt::Done(Err(StepsError {
                    diagnostics: p.diagnostics,
                    source,
                }));
            }
            // What the kernel checks when the tables are loaded (a loop its hooks reach, jumps
            // nested too deep, a target at a hook it cannot be used at), as loading the file.
            if let Some(d) = commit_error(&p.ruleset) {
                return Attempt::Done(Err(StepsError {
                    diagnostics: vec![d],
                    source,
                }));
            }
            Some(p.ruleset)
        }
    };
    let start = base.clone().unwrap_or_else(|| Ruleset {
        source: source.clone(),
        family: input.parse.family,
        backend: input.parse.backend,
        tables: Vec::new(),
    });
    // The script is applied twice (a third time for the worlds below, where in doubt): first
    // to learn what each step did (no ruleset is built), then again to check the sessions
    // step by step, each step's ruleset built, run and dropped in turn (a script of
    // thousands of commands never holds more than one).
    let replay = |f: &mut dyn FnMut(AppliedStep<'_>)| {
        apply_refusing(
            base.as_ref(),
            source.clone(),
            0..script_end,
            input.parse.clone(),
            input.noflush,
            Some(f),
            refused,
        )
    };
    // Each step's span, whether it changes the ruleset, and whether iptables refused it.
    let mut marks: Vec<(Span, bool, bool)> = Vec::new();
    let parsed = replay(&mut |s| marks.push((s.span, s.changes, s.errors)));
    // A shell script goes on after a command iptables refuses (without `set -e`): that step
    // changes nothing, and the rest runs. Restore input is refused whole, as
    // iptables-restore refuses it; so is an error outside any command.
    let script = parsed.format == crate::ruleset::InputFormat::Script;
    let errexit = source.text[..script_end].lines().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        matches!(w.as_slice(), ["set", opt, ..] if opt.starts_with('-') && !opt.starts_with("--") && opt.contains('e'))
            || matches!(w.as_slice(), ["set", "-o", "errexit", ..])
    });
    let in_failed_step = |d: &Diagnostic| {
        marks
            .iter()
            .any(|a| a.2 && a.0.start <= d.span.start && d.span.end <= a.0.end)
    };
    if parsed.has_errors() && (!script || errexit || !parsed.errors().all(in_failed_step)) {
        return Attempt::Done(Err(StepsError {
            diagnostics: parsed.diagnostics,
            source,
        }));
    }
    // What iptables said about each refused step.
    let refusals: Vec<Option<String>> = marks
        .iter()
        .map(|a| {
            a.2.then(|| {
                // Its errors, or the warning a script's failing clean-up command gets.
                parsed
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error() || d.code == crate::diag::codes::IGNORED)
                    .filter(|d| a.0.start <= d.span.start && d.span.end <= a.0.end)
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        })
        .collect();
    // A refused command leaves the ruleset as it was.
    for m in &mut marks {
        m.1 &= !m.2;
    }
    // The last ruleset: the last step iptables applied left it.
    let final_rs = match marks.iter().rposition(|m| !m.2) {
        None => start.clone(),
        Some(last) => {
            let (mut k, mut out) = (0, None);
            replay(&mut |s| {
                if k == last {
                    out = Some(s.ruleset());
                }
                k += 1;
            });
            out.unwrap_or_else(|| start.clone())
        }
    };
    if let Some(last_error) = commit_error(&final_rs) {
        // Some step made a table the kernel refuses to commit: find the first.
        let (mut k, mut refusal) = (0, None);
        replay(&mut |s| {
            if refusal.is_none() && marks.get(k).is_some_and(|m| m.1) {
                refusal = refused_at_commit(&s.ruleset(), s.span);
            }
            k += 1;
        });
        return match refusal {
            Some(d) if script && refused.len() < MAX_COMMIT_REFUSALS => Attempt::Refuse(d),
            _ => Attempt::Done(Err(StepsError {
                diagnostics: vec![refusal.unwrap_or(last_error)],
                source,
            })),
        };
    }
    let family = input.parse.family;
    let (host, given) = host_for(&final_rs, &check.env, family);
    let mut check = check.clone();
    if !given {
        check.env.hosts.push(host);
    }
    let admins = pick_admins(&final_rs, &check, host, family);

    // The live sessions, established before step 1 under no rules. Conntrack tracked them if
    // the starting rules use it; otherwise it starts with the first step that does, and picks
    // them up mid-stream then — NEW, where the kernel may also have tracked them all along
    // for some other user of conntrack (`--conntrack-start unknown`: a rule answering
    // differently makes the session's verdict uncertain; `empty`: NEW).
    let tracked_before = crate::engine::conntrack_active(&start);
    let mut sy = Synth::default();
    let base_opts = SimOptions {
        env: check.env.clone(),
        router: check.router,
        simulate_replies: true,
        recognise_answers: false,
        time_origin: Some(synth::T0),
        ct_timeouts: check.ct_timeouts,
        force_conntrack: tracked_before,
        ..SimOptions::default()
    };
    let no_rules = Ruleset {
        tables: Vec::new(),
        ..start.clone()
    };
    let mut engine = Engine::new(&no_rules, base_opts.clone());
    let mut lives: Vec<Live> = Vec::new();
    for (i, admin) in admins.iter().enumerate() {
        for (j, svc) in check.mgmt.iter().enumerate() {
            let port = 50_000 + (i * check.mgmt.len() + j) as u16 % 10_000;
            let mut live = Live {
                svc: *svc,
                admin: (*admin, port),
                host: (host, svc.port),
                tcp: None,
            };
            let (warm, tcp) = warm_up(&mut sy, &live);
            for p in &warm {
                engine.process(p);
            }
            live.tcp = tcp;
            lives.push(live);
        }
    }

    // The sessions as established, for the worlds below.
    let lives_at_start = lives.clone();

    let mut steps: Vec<StepRecord> = Vec::with_capacity(marks.len());
    let mut prev: Option<Vec<SessionAt>> = None;
    let mut carried = Some(engine.suspend());
    // A step whose tables the kernel would refuse to commit (one in the middle of the script;
    // the last ruleset's were checked above): the run starts over with it refused.
    let mut commit_refusal: Option<Diagnostic> = None;
    replay(&mut |s| {
        let k = steps.len();
        let Some(&(span, changes, refused)) = marks.get(k) else {
            return;
        };
        if commit_refusal.is_some() {
            return;
        }
        let line = source.line_of(span.start as usize);
        let command = one_line(&source.text[span.range()]);
        let sessions = match (&prev, changes) {
            (Some(p), false) => p.clone(),
            _ => {
                // Only before any step was applied can a refused step get here: the rules
                // are still the starting ones.
                let rs = if refused { start.clone() } else { s.ruleset() };
                if let Some(d) = refused_at_commit(&rs, span) {
                    commit_refusal = Some(d);
                    return;
                }
                // One slot layout for the live sessions' engine and the new sessions' ones.
                let layout = crate::engine::slot_layout(&rs);
                let carried_state = carried.take().expect("carried state");
                let mut engine = Engine::resume_with(&rs, carried_state, layout.clone());
                sy.wait(1_000_000_000);
                let mut out = Vec::new();
                for live in &mut lives {
                    out.push(probe(&mut engine, &mut sy, live, &rs, &check, &layout));
                }
                carried = Some(engine.suspend());
                out
            }
        };
        prev = Some(sessions.clone());
        steps.push(StepRecord {
            step: k + 1,
            command,
            file: input.name.clone(),
            line,
            changes,
            refused: refusals[k].clone(),
            sessions,
        });
    });

    if let Some(d) = commit_refusal {
        if script && refused.len() < MAX_COMMIT_REFUSALS {
            return Attempt::Refuse(d);
        }
        return Attempt::Done(Err(StepsError {
            diagnostics: vec![d],
            source,
        }));
    }

    // Not told what conntrack held (and the starting rules do not track): where a session's
    // verdict is in doubt, it is followed in each world too — the table empty (NEW when
    // conntrack starts), and the session tracked all along (ESTABLISHED) — for the truth is
    // one of them: a step both answer alike is certain whatever the first engine guessed (its
    // verdicts after a mid-stream pickup rest on that guess). The worlds run the script
    // again, probed at the same steps as above; a script without doubt never runs them.
    let env = &check.env;
    let doubted = steps
        .iter()
        .any(|st| st.sessions.iter().any(|s| s.established_doubt.is_some()));
    if doubted
        && !tracked_before
        && !env.conntrack_empty_at_start
        && !env.conntrack_tracked_at_start
    {
        let mut worlds: Vec<World> = [false, true]
            .into_iter()
            .map(|tracked| {
                let mut opts = base_opts.clone();
                opts.env.conntrack_empty_at_start = !tracked;
                opts.env.conntrack_tracked_at_start = tracked;
                let mut engine = Engine::new(&no_rules, opts);
                let mut wsy = Synth::default();
                for live in &lives_at_start {
                    let (warm, _) = warm_up(&mut wsy, live);
                    for p in &warm {
                        engine.process(p);
                    }
                }
                World {
                    carried: Some(engine.suspend()),
                    lives: lives_at_start.clone(),
                    sy: wsy,
                }
            })
            .collect();
        let mut seen: Option<Vec<Vec<Passed>>> = None;
        let mut k = 0;
        replay(&mut |s| {
            let Some(&(_, changes, refused)) = marks.get(k) else {
                return;
            };
            if seen.is_none() || changes {
                let rs = if refused { start.clone() } else { s.ruleset() };
                let layout = crate::engine::slot_layout(&rs);
                seen = Some(worlds.iter_mut().map(|w| w.probe(&rs, &layout)).collect());
            }
            if let (Some(seen), Some(st)) = (&seen, steps.get_mut(k)) {
                for (i, at) in st.sessions.iter_mut().enumerate() {
                    settle(at, seen.iter().map(|w| &w[i]));
                }
            }
            k += 1;
        });
    }

    // Cuts: a step where an established session stops passing.
    let mut cuts = Vec::new();
    for (si, live) in lives.iter().enumerate() {
        // The first step from which on the session passes to the end (certainly, or at
        // all): one pass backwards, not a scan of the rest at each cut.
        let passing_suffix = |certainly: bool| {
            steps
                .iter()
                .rposition(|x| {
                    let s = &x.sessions[si];
                    !(s.established && (!certainly || s.established_doubt.is_none()))
                })
                .map_or(0, |j| j + 1)
        };
        let (suffix_certain, suffix_any) = (passing_suffix(true), passing_suffix(false));
        let mut was_ok = true;
        for (k, st) in steps.iter().enumerate() {
            let s = &st.sessions[si];
            if was_ok && !s.established {
                // The first step after this one from which on the session passes (1-based).
                let passes_from = |certainly: bool| {
                    let from = if certainly {
                        suffix_certain
                    } else {
                        suffix_any
                    };
                    let j = from.max(k + 1);
                    (j < steps.len()).then_some(j + 1)
                };
                let certain_again = passes_from(true);
                let again = certain_again.or_else(|| passes_from(false));
                // Every chain that drops the session while it is cut.
                let mut chains: Vec<&str> = Vec::new();
                for x in &steps[k..again.unwrap_or(steps.len())] {
                    let c = x.sessions[si].hook_chain;
                    if !x.sessions[si].established && !chains.contains(&c) {
                        chains.push(c);
                    }
                }
                let start_with = chains
                    .iter()
                    .map(|c| {
                        format!(
                            "`iptables -I {c} 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`"
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" and ");
                let policy = s
                    .decided_by
                    .as_deref()
                    .is_some_and(|d| d.contains("policy"));
                // A rule put first is flushed by a later flush (`-F`, a restore) before the
                // cut: then it belongs right after the last such step.
                let flushes = |c: &str| {
                    c.split_whitespace()
                        .any(|w| matches!(w, "-F" | "--flush") || w.starts_with('*'))
                };
                let start_with = match (0..=k).rev().find(|&j| flushes(&steps[j].command)) {
                    Some(j) => format!(
                        "add {start_with} right after step {} (`{}`, which flushes what comes \
                         before it)",
                        j + 1,
                        steps[j].command
                    ),
                    None => format!("start the script with {start_with}"),
                };
                let advice = match again {
                    Some(j) if j == k + 2 || !policy => format!(
                        "run step {j} (`{}`) before step {}, or {start_with}",
                        steps[j - 1].command,
                        k + 1
                    ),
                    Some(j) => format!(
                        "set the DROP policies after the accept rules (steps up to {j}), or \
                         {start_with}"
                    ),
                    None => start_with,
                };
                cuts.push(Cut {
                    service: live.svc.name(),
                    admin: live.admin.0,
                    step: k + 1,
                    command: st.command.clone(),
                    file: st.file.clone(),
                    line: st.line,
                    failure: s.failure.clone().unwrap_or_default(),
                    decided_by: s.decided_by.clone(),
                    certain: s.established_doubt.is_none(),
                    doubt: s.established_doubt.clone(),
                    works_again_after: certain_again,
                    may_work_again_after: again.filter(|_| certain_again.is_none()),
                    advice,
                });
            }
            was_ok = s.established;
        }
    }
    let final_lockout = lockout::evaluate(&final_rs, &check);
    Attempt::Done(Ok(StepsReport {
        steps,
        cuts,
        final_lockout,
        host,
        admins,
        final_ruleset: final_rs,
        diagnostics: parsed.diagnostics,
        source,
    }))
}

/// The error iptables gives the command at `span` when its table is committed (the chain
/// graph's checks: a jump loop a hook reaches, jumps nested too deep, a target or match at a
/// hook it cannot be used at), if `rs`, the ruleset after it, fails them.
fn refused_at_commit(rs: &Ruleset, span: Span) -> Option<Diagnostic> {
    let d = commit_error(rs)?;
    let line = rs.source.line_of(d.span.start as usize);
    let mut out = Diagnostic::error(
        d.code,
        span,
        format!(
            "the table this command leaves fails the kernel's check when it is committed: {} \
             (line {line})",
            d.message
        ),
    );
    out.expected = d.expected;
    out.notes = d.notes;
    Some(out)
}

/// The administrators whose sessions are followed: with `--admin`, the sample addresses of
/// the admin networks (at most 4); without, the first candidate address the final ruleset
/// lets in by every management service (the admin is someone the script means to let in),
/// else the first candidate.
fn pick_admins(rs: &Ruleset, check: &CheckOptions, host: IpAddr, family: Family) -> Vec<IpAddr> {
    let nets: Vec<Net> = check
        .admin
        .iter()
        .filter(|n| n.addr.is_ipv4() == (family == Family::V4))
        .copied()
        .collect();
    let cands = admin_candidates(rs, &nets, family);
    if !nets.is_empty() {
        return cands.into_iter().take(4).collect();
    }
    cands
        .iter()
        .copied()
        .find(|a| {
            check.mgmt.iter().all(|svc| {
                lockout::session_check(rs, check, *a, host, *svc, 3)
                    .0
                    .is_none()
            })
        })
        .or(cands.first().copied())
        .into_iter()
        .collect()
}

/// The established session's next packets through `engine`: the first that failed, and
/// why the verdicts up to it are not certain. The session moves on when all got through.
fn probe_established(
    engine: &mut Engine<'_>,
    sy: &mut Synth,
    live: &mut Live,
) -> (Option<StepResult>, Option<String>) {
    let (pkts, moved) = live.next(sy);
    let results: Vec<StepResult> = pkts
        .iter()
        .map(|s| StepResult {
            what: s.what.clone(),
            pkt: s.pkt.clone(),
            outcome: engine.process(&s.pkt),
        })
        .collect();
    let established_doubt = lockout::doubt_of(&results);
    let failed = results.into_iter().find(|r| !r.passed());
    if failed.is_none() {
        // Everything was delivered: the session moves on.
        live.tcp = moved;
    }
    (failed, established_doubt)
}

/// The session's next packets under the engine's current ruleset, and a new session against
/// `rs` from a fresh engine.
fn probe(
    engine: &mut Engine<'_>,
    sy: &mut Synth,
    live: &mut Live,
    rs: &Ruleset,
    check: &CheckOptions,
    layout: &crate::engine::SlotLayout,
) -> SessionAt {
    let (failed, established_doubt) = probe_established(engine, sy, live);
    let mut nsy = Synth::at(sy.t);
    let session = if live.svc.proto == 6 {
        synth::tcp_session(&mut nsy, (live.admin.0, 40_000), live.host, "admin", "host")
    } else {
        synth::udp_exchange(&mut nsy, (live.admin.0, 40_000), live.host, "admin", "host")
    };
    let new_results = run_scenario_with(rs, check, &session, Some(layout));
    let new_doubt = lockout::doubt_of(&new_results);
    let new_fail = new_results.into_iter().find(|s| !s.passed());
    let established = failed.is_none();
    let new = new_fail.is_none();
    let shown = failed.or(new_fail);
    let hook_chain = match shown.as_ref().map(|s| s.outcome.direction) {
        Some(Direction::Out) => "OUTPUT",
        _ => "INPUT",
    };
    let (failure, decided) = match &shown {
        None => (None, None),
        Some(s) => {
            let by = decided_by(rs, &s.outcome).map(|r| r.short());
            let verdict = s
                .outcome
                .verdict
                .map(|v| v.as_str())
                .unwrap_or("not judged");
            (
                Some(format!(
                    "{} is {verdict}{}",
                    describe_packet(s),
                    by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default()
                )),
                by,
            )
        }
    };
    SessionAt {
        service: live.svc.name(),
        admin: live.admin.0,
        established,
        new,
        failure,
        decided_by: decided,
        certain: established_doubt.is_none() && new_doubt.is_none(),
        established_doubt,
        new_doubt,
        hook_chain,
    }
}

/// A command on one line: `\`-newline continuations and runs of blanks collapsed, a trailing
/// `;` or `\` dropped.
fn one_line(s: &str) -> String {
    let joined = s.replace("\\\n", " ");
    let words: Vec<&str> = joined.split_whitespace().collect();
    let mut out = words.join(" ");
    while out.ends_with(';') || out.ends_with('\\') {
        out.pop();
        out = out.trim_end().to_string();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn commands_on_one_line() {
        assert_eq!(
            one_line("sudo iptables -A INPUT \\\n  -j ACCEPT;"),
            "sudo iptables -A INPUT -j ACCEPT"
        );
    }
}
