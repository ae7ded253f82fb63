//! Command-line glue of `fwcheck steps` and `fwcheck diff` (the work is in the library:
//! `fwcheck::steps`, `fwcheck::diff`). Self-contained so that `main.rs` only declares the
//! subcommands and calls [`run_steps`] / [`run_diff`].

use fwcheck::session::{Error, Rules};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

use fwcheck::analysis::{CheckOptions, Net, Service};
use fwcheck::diag::SourceFile;
use fwcheck::ext::Backend;
use fwcheck::ruleset::{sniff, Family, InputFormat, ParseOptions};
use fwcheck::steps::{self, StepsInput};

const OK: u8 = 0;
const FINDINGS: u8 = 1;
const USAGE: u8 = 2;
const INVALID: u8 = 3;

/// Options shared by `steps` and `diff`: how to read the rules and who the host and admin are.
#[derive(Args, Debug, Clone)]
pub struct LearnCommon {
    /// Read IPv6 rules (ip6tables). Default: what the content shows, else IPv4.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Which iptables loads the rules: nft or legacy.
    #[arg(long, value_parser = ["nft", "legacy"], default_value = "nft")]
    pub backend: String,
    /// An address of the host (repeatable). Default: from the rules, else 203.0.113.10.
    #[arg(long, value_name = "ADDR")]
    pub host: Vec<IpAddr>,
    /// A management service that must stay reachable (repeatable).
    #[arg(long, value_name = "PROTO/PORT", default_value = "tcp/22")]
    pub mgmt: Vec<String>,
    /// Where the administrator connects from (repeatable CIDR).
    #[arg(long, value_name = "CIDR")]
    pub admin: Vec<String>,
    /// Interface name every packet is seen on.
    #[arg(long, value_name = "NAME", default_value = "eth0")]
    pub iface: String,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearnFormat {
    Table,
    Json,
}

/// `fwcheck steps SCRIPT`.
#[derive(Args, Debug)]
pub struct StepsArgs {
    /// A script of iptables commands (or iptables-restore input: one step per COMMIT).
    pub script: PathBuf,
    /// The ruleset the script starts from (default: no rules, ACCEPT policies).
    #[arg(long, value_name = "RULES")]
    pub initial: Option<PathBuf>,
    /// Apply restore input as `iptables-restore --noflush` (on top of --initial).
    #[arg(long)]
    pub noflush: bool,
    #[command(flatten)]
    pub common: LearnCommon,
    #[arg(long, value_enum, default_value_t = LearnFormat::Table)]
    pub format: LearnFormat,
}

fn read_text(path: &Path) -> Result<String, u8> {
    let bytes = std::fs::read(path).map_err(|e| {
        eprintln!("fwcheck: cannot read {}: {e}", path.display());
        USAGE
    })?;
    if sniff::not_text(&bytes).is_some() {
        eprintln!(
            "fwcheck: {} is not a text file: a ruleset or a script of iptables commands",
            path.display()
        );
        return Err(USAGE);
    }
    String::from_utf8(bytes).map_err(|e| {
        eprintln!(
            "fwcheck: {} is not a text file (invalid UTF-8 at byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        );
        USAGE
    })
}

fn family_of(common: &LearnCommon, texts: &[&str]) -> Family {
    if common.ipv6 {
        return Family::V6;
    }
    texts
        .iter()
        .find_map(|t| sniff::family_evidence(t).family())
        .unwrap_or(Family::V4)
}

fn backend(common: &LearnCommon) -> Backend {
    if common.backend == "legacy" {
        Backend::Legacy
    } else {
        Backend::Nft
    }
}

/// The check options from the common arguments.
pub fn check_options(common: &LearnCommon) -> Result<CheckOptions, u8> {
    let mut check = CheckOptions::default();
    check.env.hosts = common.host.clone();
    check.env.iface = common.iface.clone();
    check.env.backend = backend(common);
    check.mgmt = common
        .mgmt
        .iter()
        .map(|s| Service::parse(s))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            eprintln!("fwcheck: --mgmt {e}");
            USAGE
        })?;
    check.admin = common
        .admin
        .iter()
        .map(|s| Net::parse(s))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            eprintln!("fwcheck: --admin {e}");
            USAGE
        })?;
    Ok(check)
}

fn table() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(160);
    t
}

/// `fwcheck steps`: exit 1 when a step cuts the administrator's session or the final ruleset
/// locks them out.
pub fn run_steps(a: StepsArgs) -> u8 {
    let text = match read_text(&a.script) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let initial = match &a.initial {
        None => None,
        Some(p) => match read_text(p) {
            Ok(t) => Some((p.display().to_string(), t)),
            Err(c) => return c,
        },
    };
    let mut texts = vec![text.as_str()];
    if let Some((_, t)) = &initial {
        texts.push(t);
    }
    let family = family_of(&a.common, &texts);
    let check = match check_options(&a.common) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let input = StepsInput {
        name: a.script.display().to_string(),
        text,
        initial,
        noflush: a.noflush,
        parse: ParseOptions {
            family,
            format: InputFormat::Auto,
            backend: backend(&a.common),
        },
    };
    let report = match steps::run(&input, &check) {
        Ok(r) => r,
        Err(e) => {
            let located: Vec<String> = e
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| locate(&e.source, &input, d))
                .collect();
            for l in &located {
                eprintln!("fwcheck: {l}");
            }
            eprintln!(
                "fwcheck: {} cannot be applied ({} error(s)); no step simulated",
                a.script.display(),
                located.len()
            );
            return INVALID;
        }
    };
    if report.steps.is_empty() {
        eprintln!(
            "fwcheck: warning: {} holds no iptables command for this family: there is no step to check",
            a.script.display()
        );
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match a.format {
        LearnFormat::Table => {
            let mut t = table();
            let mut header = vec!["step".to_string(), "line".into(), "command".into()];
            for s in report.steps.first().map(|s| &s.sessions[..]).unwrap_or(&[]) {
                header.push(format!("{} from {}", s.service, s.admin));
            }
            t.set_header(header);
            for st in &report.steps {
                let mut row = vec![st.step.to_string(), st.line.to_string(), st.command.clone()];
                for s in &st.sessions {
                    row.push(match (st.changes, s.established, s.new) {
                        (false, _, _) => "(no change)".into(),
                        (_, true, true) => "ok".into(),
                        (_, true, false) => format!(
                            "ok; new sessions refused: {}",
                            s.failure.clone().unwrap_or_default()
                        ),
                        (_, false, _) => {
                            format!("CUT: {}", s.failure.clone().unwrap_or_default())
                        }
                    });
                }
                t.add_row(row);
            }
            let _ = writeln!(out, "{t}");
            for c in &report.cuts {
                let _ = writeln!(out, "error[FW001]: {}", c.message());
            }
            for f in report.final_findings() {
                let _ = writeln!(
                    out,
                    "{}[{}]: after the last step: {}",
                    f.severity.as_str(),
                    f.code,
                    f.message
                );
                if let Some(fix) = &f.fix {
                    let _ = writeln!(out, "  = fix: {fix}");
                }
            }
            if !report.locks_out() {
                let _ = writeln!(
                    out,
                    "every step is safe: the established {} session{} from {} keep{} passing after each of the {} steps",
                    check.mgmt.iter().map(|m| m.name()).collect::<Vec<_>>().join(", "),
                    if check.mgmt.len() > 1 { "s" } else { "" },
                    report.admins.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
                    if check.mgmt.len() > 1 { "" } else { "s" },
                    report.steps.len()
                );
            }
        }
        LearnFormat::Json => {
            for st in &report.steps {
                let mut v = serde_json::to_value(st).unwrap_or_default();
                v["type"] = "step".into();
                let _ = writeln!(out, "{v}");
            }
            for c in &report.cuts {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                v["type"] = "cut".into();
                v["message"] = c.message().into();
                let _ = writeln!(out, "{v}");
            }
            for f in report.final_findings() {
                let mut v = serde_json::to_value(f).unwrap_or_default();
                v["type"] = "finding".into();
                let _ = writeln!(out, "{v}");
            }
            let _ = writeln!(
                out,
                "{}",
                serde_json::json!({
                    "type": "summary",
                    "steps": report.steps.len(),
                    "cuts": report.cuts.len(),
                    "host": report.host,
                    "admins": report.admins,
                    "final_lockout": report.final_findings().any(|f| f.code == "FW001"),
                    "exit": if report.locks_out() { FINDINGS } else { OK },
                })
            );
        }
    }
    let _ = out.flush();
    if report.locks_out() {
        FINDINGS
    } else {
        OK
    }
}

/// `file:line:column: message`, with the line in the script, or in the initial ruleset (its
/// text follows the script's in the source the steps were applied from).
fn locate(source: &SourceFile, input: &StepsInput, d: &fwcheck::diag::Diagnostic) -> String {
    let at = d.span.start as usize;
    let script_len = input.text.len() + usize::from(!input.text.ends_with('\n'));
    let (name, text, offset) = match &input.initial {
        Some((n, t)) if at >= script_len => (n.as_str(), t.as_str(), script_len),
        _ => (input.name.as_str(), input.text.as_str(), 0),
    };
    let rel = (at - offset).min(text.len());
    let line = text[..rel].matches('\n').count() + 1;
    let col = text[..rel]
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    let _ = source;
    format!(
        "{name}:{line}:{col}: {}{}",
        d.message,
        d.expected
            .as_ref()
            .map(|e| format!(" (expected {e})"))
            .unwrap_or_default()
    )
}

/// `--reload-at AT NEW_RULES`: the reload point and the new ruleset, loaded with `load` (the
/// main command's loader); `None` when not given.
pub fn load_reload(
    values: &[String],
    load: impl Fn(&Path) -> Result<Rules, Error>,
) -> Result<Option<(Rules, fwcheck::replay::ReloadAt)>, Error> {
    let [at, path] = values else {
        return Ok(None);
    };
    let at = fwcheck::replay::ReloadAt::parse(at)
        .map_err(|e| Error::usage(format!("--reload-at {e}")))?;
    let rules = load(Path::new(path))?;
    if !rules.is_valid() {
        eprint!("{}", rules.loaded.render_diagnostics(false));
        return Err(Error::invalid(format!(
            "--reload-at: {path} is not a valid ruleset ({} error(s)); nothing simulated",
            rules.loaded.error_count()
        )));
    }
    eprintln!(
        "fwcheck: {path} is loaded at {} (conntrack, recent and hashlimit state kept; limit, \
         statistic and counters start afresh); the rule counters shown are NEW_RULES' since then, and \
         the findings from the capture (FW001 seen in the capture, FW002, FW008) are not computed",
        match at {
            fwcheck::replay::ReloadAt::Frame(n) => format!("frame {n}"),
            fwcheck::replay::ReloadAt::Time(ns) => format!("{:.3} s", ns as f64 / 1e9),
        }
    );
    Ok(Some((rules, at)))
}

/// `fwcheck diff OLD NEW`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The ruleset in place (a rules file or a script).
    pub old: PathBuf,
    /// The ruleset to deploy.
    pub new: PathBuf,
    /// Replay this capture through both.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["synthetic", "flow"])]
    pub pcap: Option<PathBuf>,
    /// Replay generated traffic of this profile through both.
    #[arg(long, value_name = "PROFILE", num_args = 0..=1, default_missing_value = "webserver", conflicts_with = "flow")]
    pub synthetic: Option<String>,
    /// Replay an ad-hoc flow through both (repeatable).
    #[arg(long, value_name = "SPEC")]
    pub flow: Vec<String>,
    /// Exit 0 even when verdicts or findings change.
    #[arg(long)]
    pub allow_change: bool,
    /// At most this many changed packets listed in the table (0 = all).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    #[command(flatten)]
    pub common: LearnCommon,
    #[arg(long, value_enum, default_value_t = LearnFormat::Table)]
    pub format: LearnFormat,
}

fn load_rules(path: &Path, common: &LearnCommon) -> Result<fwcheck::lint::Loaded, u8> {
    let text = read_text(path)?;
    let family = family_of(common, &[&text]);
    let loaded = fwcheck::lint::load_str(
        &path.display().to_string(),
        &text,
        ParseOptions {
            family,
            format: InputFormat::Auto,
            backend: backend(common),
        },
    );
    if loaded.has_errors() {
        eprint!("{}", loaded.render_diagnostics(false));
        eprintln!(
            "fwcheck: {} is not a valid ruleset ({} error(s)); nothing compared",
            path.display(),
            loaded.error_count()
        );
        return Err(INVALID);
    }
    Ok(loaded)
}

/// `fwcheck diff`: exit 1 when a verdict or a finding changes, unless `--allow-change`.
pub fn run_diff(a: DiffArgs) -> u8 {
    use fwcheck::packet::gen::{self, GenOptions};
    use fwcheck::replay::Source;
    let (old, new) = match (load_rules(&a.old, &a.common), load_rules(&a.new, &a.common)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(c), _) | (_, Err(c)) => return c,
    };
    let mut go = GenOptions::default();
    if !a.common.host.is_empty() {
        go.host = a.common.host.clone();
    }
    let source = if let Some(p) = &a.pcap {
        Source::Capture(p.clone())
    } else if !a.flow.is_empty() {
        let mut specs = Vec::new();
        for f in &a.flow {
            match fwcheck::packet::flowspec::parse(f) {
                Ok(s) => specs.push(s),
                Err(e) => {
                    eprintln!("fwcheck: --flow {f}: {e}");
                    return USAGE;
                }
            }
        }
        Source::Packets(fwcheck::packet::flowspec::build(&specs, &go))
    } else {
        let name = a.synthetic.as_deref().unwrap_or("webserver");
        match name.parse() {
            Ok(profile) => {
                go.profile = profile;
                Source::Packets(gen::generate(&go))
            }
            Err(e) => {
                eprintln!("fwcheck: --synthetic: {e}");
                return USAGE;
            }
        }
    };
    let mut check = match check_options(&a.common) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let hosts = match fwcheck::replay::choose_hosts(&a.common.host, &source) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("fwcheck: {e}");
            return USAGE;
        }
    };
    if hosts.hosts.is_empty() {
        eprintln!("fwcheck: no IP packets to infer the host from; give --host ADDR");
        return USAGE;
    }
    check.env.hosts = hosts.hosts.clone();
    let sim = fwcheck::engine::SimOptions {
        env: check.env.clone(),
        ..Default::default()
    };
    let report = match fwcheck::diff::diff(&old, &new, sim, &check, source) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fwcheck: {e}");
            return INVALID;
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let side = |s: &fwcheck::diff::Side| {
        format!(
            "{}{} {}",
            s.verdict,
            if s.certain { "" } else { "?" },
            s.rule.as_deref().unwrap_or("")
        )
    };
    match a.format {
        LearnFormat::Table => {
            if !report.changed.is_empty() {
                let mut t = table();
                t.set_header(vec!["frame", "packet", "old", "new"]);
                let n = if a.limit == 0 { usize::MAX } else { a.limit };
                for c in report.changed.iter().take(n) {
                    t.add_row(vec![
                        c.frame.to_string(),
                        c.packet.clone(),
                        side(&c.old),
                        side(&c.new),
                    ]);
                }
                let _ = writeln!(out, "{t}");
                if report.changed.len() > n {
                    let _ = writeln!(
                        out,
                        "({} more changed packets; --limit 0 or --format json lists them all)",
                        report.changed.len() - n
                    );
                }
                let mut t = table();
                t.set_header(vec!["flow", "change", "pkts", "frames", "old", "new"]);
                for f in &report.flows {
                    let frames: Vec<String> = f.frames.iter().map(|x| x.to_string()).collect();
                    t.add_row(vec![
                        f.flow.clone(),
                        f.change.to_string(),
                        f.packets.to_string(),
                        format!(
                            "{}{}",
                            frames.join(","),
                            if f.packets > 10 { ",…" } else { "" }
                        ),
                        side(&f.old),
                        side(&f.new),
                    ]);
                }
                let _ = writeln!(out, "{t}");
            }
            let _ = writeln!(out, "{}", report.headline());
            for (label, list) in [
                ("new", &report.findings.new),
                ("resolved", &report.findings.resolved),
            ] {
                for f in list {
                    let _ = writeln!(
                        out,
                        "{label}: {}[{}]: {}",
                        f.severity.as_str(),
                        f.code,
                        f.message
                    );
                }
            }
            let _ = writeln!(
                out,
                "findings: {} new, {} resolved, {} unchanged",
                report.findings.new.len(),
                report.findings.resolved.len(),
                report.findings.unchanged.len()
            );
        }
        LearnFormat::Json => {
            for c in &report.changed {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                v["type"] = "changed".into();
                let _ = writeln!(out, "{v}");
            }
            for f in &report.flows {
                let mut v = serde_json::to_value(f).unwrap_or_default();
                v["type"] = "flow".into();
                let _ = writeln!(out, "{v}");
            }
            for (label, list) in [
                ("new", &report.findings.new),
                ("resolved", &report.findings.resolved),
                ("unchanged", &report.findings.unchanged),
            ] {
                for f in list {
                    let mut v = serde_json::to_value(f).unwrap_or_default();
                    v["type"] = "finding".into();
                    v["status"] = label.into();
                    let _ = writeln!(out, "{v}");
                }
            }
            let _ = writeln!(
                out,
                "{}",
                serde_json::json!({
                    "type": "summary",
                    "frames": report.frames,
                    "changed_packets": report.changed.len(),
                    "dropped_packets": report.dropped_packets,
                    "dropped_flows": report.dropped_flows,
                    "accepted_packets": report.accepted_packets,
                    "accepted_flows": report.accepted_flows,
                    "findings": {
                        "new": report.findings.new.len(),
                        "resolved": report.findings.resolved.len(),
                        "unchanged": report.findings.unchanged.len(),
                    },
                    "headline": report.headline(),
                    "exit": if report.changes_anything() && !a.allow_change { FINDINGS } else { OK },
                })
            );
        }
    }
    let _ = out.flush();
    if report.changes_anything() && !a.allow_change {
        FINDINGS
    } else {
        OK
    }
}
