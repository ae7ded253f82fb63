//! Command-line glue of `fwcheck steps` and `fwcheck diff` (the work is in the library:
//! `fwcheck::steps`, `fwcheck::diff`). Self-contained so that `main.rs` only declares the
//! subcommands and calls [`run_steps`] / [`run_diff`].

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
    load: impl Fn(&Path) -> Result<fwcheck::lint::Loaded, u8>,
) -> Result<Option<(fwcheck::lint::Loaded, fwcheck::replay::ReloadAt)>, u8> {
    let [at, path] = values else {
        return Ok(None);
    };
    let at = fwcheck::replay::ReloadAt::parse(at).map_err(|e| {
        eprintln!("fwcheck: --reload-at {e}");
        USAGE
    })?;
    let loaded = load(Path::new(path))?;
    if loaded.has_errors() {
        eprint!("{}", loaded.render_diagnostics(false));
        eprintln!(
            "fwcheck: --reload-at: {path} is not a valid ruleset ({} error(s)); nothing simulated",
            loaded.error_count()
        );
        return Err(INVALID);
    }
    eprintln!(
        "fwcheck: {path} is loaded at {} (conntrack, recent and hashlimit state kept; limit, \
         quota and counters start afresh); the rule counters shown are NEW_RULES' since then, and \
         the findings from the capture (FW001 seen in the capture, FW002, FW008) are not computed",
        match at {
            fwcheck::replay::ReloadAt::Frame(n) => format!("frame {n}"),
            fwcheck::replay::ReloadAt::Time(ns) => format!("{:.3} s", ns as f64 / 1e9),
        }
    );
    Ok(Some((loaded, at)))
}
