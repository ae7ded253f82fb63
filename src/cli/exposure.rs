//! `fwcheck exposure RULES [--rules6 FILE]`: the ports reachable from outside, per interface
//! and family ([`fwcheck::analysis::exposure::matrix`]), with the path each takes (INPUT, or
//! DNAT and FORWARD to a container) and the rule that decided. Informational: exit 0 (the
//! gate's findings, FW016/FW017, are the main command's).
//!
//! Mirrors no kernel code itself (the probes run through the engine).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use fwcheck::analysis::exposure::{self, matrix, Reach};
use fwcheck::analysis::port_name;
use fwcheck::ruleset::Family;
use fwcheck::session::{Error, Exit};

use super::learn::{table, LearnCommon, LearnFormat};
use super::{load_valid, written};

#[derive(Args, Debug)]
pub struct ExposureArgs {
    /// The ruleset (iptables-save output, a restore file or a script).
    pub rules: PathBuf,
    /// The host's ip6tables ruleset, beside an iptables one: its ports too.
    #[arg(long, value_name = "RULES_V6", conflicts_with = "rules4")]
    pub rules6: Option<PathBuf>,
    /// The host's iptables ruleset, beside an ip6tables one.
    #[arg(long, value_name = "RULES_V4")]
    pub rules4: Option<PathBuf>,
    #[command(flatten)]
    pub common: LearnCommon,
    #[arg(long, value_enum, default_value_t = LearnFormat::Table)]
    pub format: LearnFormat,
}

pub fn run(a: ExposureArgs) -> Result<u8, Error> {
    let host = a.common.host_options()?;
    let sets = host.ipsets.as_ref();
    let rules = load_valid(&a.common.source(&a.rules, sets))?;
    let mut all = vec![rules];
    if let Some((path, want)) = a
        .rules6
        .as_ref()
        .map(|p| (p, Family::V6))
        .or(a.rules4.as_ref().map(|p| (p, Family::V4)))
    {
        let mut src = a.common.source(path, sets);
        src.family = Some(want);
        let other = load_valid(&src)?;
        if other.loaded.ruleset.family == all[0].loaded.ruleset.family {
            return Err(Error::usage(format!(
                "{} and {} are of the same family; give the other family's file",
                a.rules.display(),
                path.display()
            )));
        }
        all.push(other);
    }
    let mut check = a.common.check_options(&host, &host.hosts)?;
    if check.env.host.is_empty() {
        // The bridges the rulesets make evident (dockerd's MASQUERADE), said on stderr.
        let evident: Vec<_> = all
            .iter()
            .filter_map(|r| exposure::evident_host(&r.loaded.ruleset, &check))
            .collect();
        let mut both = fwcheck::host::HostConfig::default();
        for (h, why) in &evident {
            eprintln!("fwcheck: {why}");
            h.addrs.iter().for_each(|a| both.add_addr(a.clone()));
            h.routes.iter().for_each(|r| both.add_route(r.clone()));
        }
        if !both.is_empty() {
            check.env.apply_host(&both);
        }
    }
    let rows: Vec<Reach> = all
        .iter()
        .flat_map(|r| matrix(&r.loaded.ruleset, &check))
        .collect();
    // Past the matrix's bound: named, never left out silently.
    let left: Vec<(&str, Vec<(u8, u16)>)> = all
        .iter()
        .map(|r| {
            let rs = &r.loaded.ruleset;
            let family = if rs.family == Family::V4 {
                "ipv4"
            } else {
                "ipv6"
            };
            (family, exposure::not_probed(rs))
        })
        .filter(|(_, ports)| !ports.is_empty())
        .collect();
    let mut out = std::io::stdout().lock();
    let res = match a.format {
        LearnFormat::Json => rows
            .iter()
            .try_for_each(|r| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                v["type"] = "reach".into();
                writeln!(out, "{v}")
            })
            .and_then(|()| {
                left.iter().try_for_each(|(family, ports)| {
                    let names: Vec<String> = ports.iter().map(|&p| port_name(p)).collect();
                    let v = serde_json::json!({
                        "type": "not_probed",
                        "family": family,
                        "ports": names,
                    });
                    writeln!(out, "{v}")
                })
            }),
        LearnFormat::Table => write_table(&mut out, &rows).and_then(|()| {
            left.iter().try_for_each(|(family, ports)| {
                let names: Vec<String> = ports.iter().take(32).map(|&p| port_name(p)).collect();
                let more = match ports.len() {
                    n if n > 32 => format!(", … and {} more", n - 32),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "not probed over {family} (past the {} lowest ports): {}{more}",
                    exposure::MATRIX_PORTS,
                    names.join(", ")
                )
            })
        }),
    };
    written(res.and_then(|()| out.flush()), Exit::Ok)
}

fn write_table(out: &mut dyn Write, rows: &[Reach]) -> std::io::Result<()> {
    let mut t = table();
    t.set_header(vec![
        "interface",
        "family",
        "port",
        "verdict",
        "via",
        "decided by",
    ]);
    for r in rows {
        let verdict = match (r.verdict, r.certain) {
            (Some(v), true) => v.to_string(),
            (Some(v), false) => format!("{v}?"),
            (None, _) => "-".to_string(),
        };
        t.add_row(vec![
            format!("{} ({})", r.iface, r.addr),
            r.family.to_string(),
            format!("{}/{}", r.proto, r.port),
            verdict,
            r.via.clone(),
            r.decided_by.clone(),
        ]);
    }
    writeln!(out, "{t}")?;
    // The answer in one line per interface and family: what is open from outside.
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        if !keys.contains(&(r.iface.as_str(), r.family)) {
            keys.push((r.iface.as_str(), r.family));
        }
    }
    for (iface, family) in keys {
        let open: Vec<String> = rows
            .iter()
            .filter(|r| r.iface == iface && r.family == family && r.verdict == Some("ACCEPT"))
            .map(|r| {
                let mut s = format!("{}/{}", r.proto, r.port);
                if r.via != "INPUT" {
                    s.push_str(" (forwarded)");
                }
                if !r.certain {
                    s.push('?');
                }
                s
            })
            .collect();
        writeln!(
            out,
            "reachable from outside on {iface} over {family}: {}",
            if open.is_empty() {
                "nothing probed".to_string()
            } else {
                open.join(", ")
            }
        )?;
    }
    Ok(())
}
