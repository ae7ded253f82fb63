//! The main command (`fwcheck RULES [--pcap F] ...`) up to the replay: load the rules (with
//! `--what-if`, `--reload-at`, `--parity`), the host options, the traffic and the host. Shared
//! by the main command and `fleet`, whose hosts are main-command runs; what a run would write
//! on standard error goes to a `say` callback, so a fleet can keep each host's apart.
//!
//! Mirrors no kernel code.

use std::path::Path;

use fwcheck::session::{self, Error, Rules, Session, Traffic};

use super::args::SimArgs;
use super::learn::load_reload;

/// A run ready to replay, or a ruleset with errors (reported by the caller in its format).
pub enum Prepared {
    Ready {
        session: Box<Session>,
        traffic: Option<Traffic>,
    },
    Invalid(Rules),
}

/// Load a ruleset, telling `say` what there is to tell about the file as a whole.
pub fn load_with(source: &session::RulesSource, say: &mut dyn FnMut(&str)) -> Result<Rules, Error> {
    let rules = session::load_rules(source)?;
    for n in &rules.notices {
        say(&format!("fwcheck: {n}\n"));
    }
    Ok(rules)
}

/// Everything the main command does before the replay. `color`: diagnostics rendered in
/// colour; `say`: the text for standard error, in the order a run writes it.
pub fn prepare(a: &SimArgs, color: bool, say: &mut dyn FnMut(&str)) -> Result<Prepared, Error> {
    let Some(rules_path) = a.rules.clone() else {
        return Err(Error::usage(
            "a ruleset file is required; try `fwcheck --help`",
        ));
    };
    // The host's sets first: they decide which rules load (E114). The other host options are
    // converted once the ruleset is known to be valid, so an invalid one is reported as such
    // (exit 3, every format's document) whatever else is wrong.
    let sets = a.host.ipsets()?;
    let mut rules = load_with(&a.input.source(&rules_path, sets.as_ref()), say)?;
    rules.what_if(&a.what_if)?;
    let reload = load_reload(&a.reload_at, say, |p, say| {
        load_with(&a.input.source(p, sets.as_ref()), say)
    })?;
    if !rules.is_valid() {
        say(&rules.loaded.render_diagnostics(color));
        return Ok(Prepared::Invalid(rules));
    }
    // FW101/FW102 are in the report's findings: said there, once.
    let diag_text = rules.loaded.render_load_notes(color);
    let mut config = a.config_with(sets.clone())?;
    let traffic = match a.traffic()? {
        Some(spec) => Some(session::traffic(
            spec,
            &config.host.hosts,
            rules_path == Path::new("-"),
        )?),
        None => None,
    };
    // The other family's file (--parity): its family is told by its content (or its name), not
    // by -4/-6. Loaded before the host is chosen (with a capture, each family's packets give
    // that family's address); what loading it says is told where it always was.
    // `--rules6 F` / `--rules4 F` are --parity naming the family F must have.
    use fwcheck::ruleset::Family;
    let named = [
        (a.parity.as_ref(), None),
        (
            a.rules6.as_ref(),
            Some((Family::V6, "--rules6", "IPv4", "ip6tables")),
        ),
        (
            a.rules4.as_ref(),
            Some((Family::V4, "--rules4", "IPv6", "iptables")),
        ),
    ];
    let mut parity_said = String::new();
    let other = match named.into_iter().find_map(|(p, f)| Some((p?, f))) {
        Some((path, expected)) => {
            let mut src = a.input.source(path, sets.as_ref());
            src.family = None;
            let other = load_with(&src, &mut |s: &str| parity_said.push_str(s))?;
            if let Some((family, flag, is, tool)) = expected {
                // The main file must be of the other family: --rules6 goes beside rules.v4.
                if rules.loaded.ruleset.family == family {
                    return Err(Error::usage(format!(
                        "{flag} {}: {} is an {} ruleset already; {flag} goes beside the other \
                         family's file",
                        path.display(),
                        rules_path.display(),
                        if family == fwcheck::ruleset::Family::V6 {
                            "IPv6"
                        } else {
                            "IPv4"
                        }
                    )));
                }
                if other.loaded.ruleset.family != family {
                    return Err(Error::usage(format!(
                        "{flag} {}: an {is} ruleset; {flag} takes the host's {tool} ruleset",
                        path.display()
                    )));
                }
            }
            // A valid file's FW101/FW102 are among the findings (an invalid one ends the run).
            parity_said.push_str(&if other.is_valid() {
                other.loaded.render_load_notes(color)
            } else {
                other.loaded.render_diagnostics(color)
            });
            Some(other)
        }
        None => None,
    };
    let adopted = traffic
        .as_ref()
        .and_then(|t| session::adopt_capture_interfaces(&mut config.host, t));
    let hosts = match &other {
        // Judged side by side, each family by its ruleset: a host address per family.
        Some(o) if o.is_valid() && o.loaded.ruleset.family != rules.loaded.ruleset.family => {
            session::choose_hosts_per_family(&config.host.hosts, traffic.as_ref())?
        }
        _ => session::choose_hosts(&config.host.hosts, traffic.as_ref())?,
    };
    say(&diag_text);
    if let Some(n) = session::host_notice(&hosts) {
        say(&format!("fwcheck: {n}\n"));
    }
    if let Some(n) = adopted {
        say(&format!("fwcheck: {n}\n"));
    }
    let mut session = Session::new(config, rules, hosts);
    if let Some((new_rules, at)) = reload {
        session = session.with_reload(new_rules, at);
    }
    if let Some(other) = other {
        say(&parity_said);
        session = session.with_parity(other)?;
    }
    Ok(Prepared::Ready {
        session: Box::new(session),
        traffic,
    })
}
