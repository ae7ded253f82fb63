//! Inputs of a session, from the user's words to typed values: a rules file read the way
//! `iptables-restore` would get it (refusing captures and binary data), its family decided from
//! content and name, and the option values (`--host`, `--ct-timeout`, `--flow`, profiles,
//! `--expect` files) parsed with the error message the CLI prints.

use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::expect::{self, Expectation};
use crate::conntrack::Timeouts;
use crate::ext::ipset::IpSets;
use crate::ext::Backend;
use crate::lint::{self, Loaded};
use crate::packet::flowspec::{self, FlowSpec};
use crate::packet::gen::Profile;
use crate::ruleset::{sniff, Family, InputFormat, ParseOptions};

use super::Error;

/// The largest rules file read (iptables-save of a very large ruleset is a few hundred MB at
/// most); larger input is refused instead of read until memory runs out.
pub const MAX_RULES_BYTES: u64 = 256 << 20;

/// Where a ruleset comes from and how to read it.
#[derive(Debug, Clone)]
pub struct RulesSource {
    /// The rules file; `-` is standard input.
    pub path: PathBuf,
    /// `-4`/`-6`: the family the user says. `None`: decided by [`family`].
    pub family: Option<Family>,
    /// Input syntax (restore file, script of commands, or decided from the content).
    pub format: InputFormat,
    /// iptables-nft or iptables-legacy.
    pub backend: Backend,
    /// The host's ipsets (`--ipset FILE`): a rule naming a set they do not hold is an error
    /// (E114), as iptables-restore on that host refuses it. `None`: sets unknown.
    pub ipsets: Option<Arc<IpSets>>,
}

/// A loaded ruleset (possibly with errors: see [`Rules::is_valid`]), with what should be told
/// about it before anything else.
#[derive(Debug, Clone)]
pub struct Rules {
    pub path: PathBuf,
    /// The ruleset, its chain graph and every diagnostic. Shared with the reports built from it.
    pub loaded: Arc<Loaded>,
    /// Warnings about the input as a whole (an empty file), without the `fwcheck: ` prefix.
    pub notices: Vec<String>,
    /// The host's sets it was checked against ([`RulesSource::ipsets`]); `--what-if` commands
    /// are checked against them too.
    pub ipsets: Option<Arc<IpSets>>,
}

impl Rules {
    /// No diagnostic of error severity: the ruleset is what `iptables-restore` would load.
    pub fn is_valid(&self) -> bool {
        !self.loaded.has_errors()
    }

    /// Apply `--what-if` commands in order (`-D INPUT 3`, `-P OUTPUT ACCEPT`, ...) to a valid
    /// ruleset, and rebuild its chain graph. A command that does not apply is a usage error
    /// naming its position (`--what-if #2:1:10: ...`).
    pub fn what_if(&mut self, commands: &[String]) -> Result<(), Error> {
        if commands.is_empty() || !self.is_valid() {
            return Ok(());
        }
        let loaded = Arc::make_mut(&mut self.loaded);
        crate::whatif::apply_what_if(&mut loaded.ruleset, self.ipsets.clone(), commands)
            .map_err(|e| Error::usage(e.to_string()))?;
        loaded.graph = crate::ruleset::graph::build(&loaded.ruleset).0;
        Ok(())
    }

    /// Why nothing is simulated on an invalid ruleset (exit 3).
    pub fn invalid_error(&self) -> Error {
        Error::invalid(format!(
            "{} is not a valid ruleset ({} error(s)); nothing simulated",
            self.path.display(),
            self.loaded.error_count()
        ))
    }
}

/// Read and parse a ruleset. Refuses (exit 2) an unreadable file, a capture or binary file, a
/// file over [`MAX_RULES_BYTES`], invalid UTF-8, and a family contradiction; a ruleset with
/// syntax errors is *returned* (every report format shows its diagnostics).
pub fn load_rules(src: &RulesSource) -> Result<Rules, Error> {
    let path = src.path.as_path();
    let text = read_text(path)?;
    let family = family(src.family, path, &text).map_err(Error::usage)?;
    let opts = ParseOptions {
        family,
        format: src.format,
        backend: src.backend,
        ipsets: src.ipsets.clone(),
    };
    let loaded = lint::load_str(&path.display().to_string(), &text, opts);
    let mut notices = Vec::new();
    if loaded.ruleset.tables.is_empty() && !loaded.has_errors() {
        notices.push(format!(
            "warning: {} holds no tables or rules: iptables-restore would change nothing",
            path.display()
        ));
    }
    Ok(Rules {
        path: path.to_path_buf(),
        loaded: Arc::new(loaded),
        notices,
        ipsets: src.ipsets.clone(),
    })
}

/// The text of a ruleset or script file (`-`: standard input), with the refusals of
/// [`load_rules`] (exit 2): unreadable, a capture or binary file, too large, invalid UTF-8.
pub fn read_text(path: &Path) -> Result<String, Error> {
    let mut bytes = Vec::new();
    // The first 64 KiB first: a capture or binary data is refused before the rest is read.
    let read = |from: &mut dyn Read, bytes: &mut Vec<u8>| -> std::io::Result<()> {
        from.take(64 * 1024).read_to_end(bytes)?;
        if sniff::not_text(bytes).is_none() {
            from.take(MAX_RULES_BYTES + 1 - bytes.len() as u64)
                .read_to_end(bytes)?;
        }
        Ok(())
    };
    let read = if path == Path::new("-") {
        read(&mut std::io::stdin().lock(), &mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| read(&mut f, &mut bytes))
    };
    if let Err(e) = read {
        return Err(Error::usage(format!("cannot read {}: {e}", path.display())));
    }
    if bytes.len() as u64 > MAX_RULES_BYTES {
        return Err(Error::usage(format!(
            "{} is larger than {} MiB: not a ruleset fwcheck will read",
            path.display(),
            MAX_RULES_BYTES >> 20
        )));
    }
    match sniff::not_text(&bytes) {
        Some(sniff::NotText::Capture(kind)) => {
            return Err(Error::usage(format!(
                "{} is a {kind} capture, not a ruleset; did you mean --pcap {}?",
                path.display(),
                path.display()
            )))
        }
        Some(sniff::NotText::Binary(at)) => return Err(not_utf8(path, &bytes, at)),
        None => {}
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| not_utf8(path, e.as_bytes(), e.utf8_error().valid_up_to()))?;
    Ok(text)
}

/// A ruleset that is not UTF-8 text: where (file:line:column) and what byte.
fn not_utf8(path: &Path, bytes: &[u8], at: usize) -> Error {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    let byte = bytes.get(at).copied().unwrap_or(0);
    let text_like = bytes[..bytes.len().min(64 * 1024)]
        .iter()
        .all(|&b| b >= 0x20 || matches!(b, b'\n' | b'\r' | b'\t'));
    Error::usage(if text_like {
        format!(
            "{}:{line}:{column}: byte 0x{byte:02x} is not UTF-8 (fwcheck reads rulesets as \
             UTF-8; iptables takes such bytes in comments and log prefixes): convert the file, \
             for example `iconv -f latin1 -t utf-8`",
            path.display()
        )
    } else {
        format!(
            "{}:{line}:{column}: not a text file (byte 0x{byte:02x}); a ruleset is iptables-save \
             output, an iptables-restore file or a script of iptables commands",
            path.display()
        )
    })
}

/// The family to read `text` (from `path`) as: `explicit` (`-4`/`-6`), else what the content
/// shows, else what the name says, else IPv4. A contradiction is an error naming both sides.
pub fn family(explicit: Option<Family>, path: &Path, text: &str) -> Result<Family, String> {
    let fam = |f: Family| if f == Family::V6 { "IPv6" } else { "IPv4" };
    let evidence = sniff::family_evidence(text);
    let content = evidence.family();
    let shown = |f: Family| {
        evidence
            .sign(f)
            .map(|s| format!("line {}: `{}`", s.line, s.text))
            .unwrap_or_default()
    };
    // Weak evidence (`-p icmp`) guesses; it never contradicts what was said.
    let strong = content.filter(|&c| evidence.sign(c).is_some_and(|s| !s.weak));
    if let Some(want) = explicit {
        return match strong {
            Some(c) if c != want => Err(format!(
                "{} was given but {} holds {} rules ({}); drop the option or give the other file",
                if want == Family::V6 { "-6" } else { "-4" },
                path.display(),
                fam(c),
                shown(c)
            )),
            _ => Ok(want),
        };
    }
    let name = sniff::family_from_name(path);
    let content = if name.is_some() { strong } else { content };
    match (content, name) {
        (Some(c), Some(n)) if c != n => Err(format!(
            "the name of {} says {} but its rules are {} ({}); give -4 or -6 to say which",
            path.display(),
            fam(n),
            fam(c),
            shown(c)
        )),
        (Some(c), _) => Ok(c),
        (None, Some(n)) => Ok(n),
        (None, None) => Ok(Family::V4),
    }
}

/// Host addresses and the networks named with ADDR/LEN.
pub type HostList = (Vec<IpAddr>, Vec<(IpAddr, u8)>);

/// Parse `--host` values: an address, or ADDR/LEN which also names the host's network.
pub fn parse_hosts(values: &[String]) -> Result<HostList, Error> {
    let mut hosts = Vec::new();
    let mut nets = Vec::new();
    for v in values {
        let (a, len) = match v.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (v.as_str(), None),
        };
        let Ok(addr) = a.parse::<IpAddr>() else {
            return Err(Error::usage(format!("--host {v}: expected an IP address such as 203.0.113.10 or 2001:db8::10, optionally /LEN")));
        };
        hosts.push(addr);
        if let Some(l) = len {
            match l.parse::<u8>() {
                Ok(n) if n <= if addr.is_ipv4() { 32 } else { 128 } => nets.push((addr, n)),
                _ => {
                    return Err(Error::usage(format!(
                        "--host {v}: invalid prefix length `{l}`"
                    )))
                }
            }
        }
    }
    Ok((hosts, nets))
}

/// Parse `--ct-timeout NAME=SECS` values into `timeouts`, refusing what the kernel's sysctl
/// refuses (more than INT_MAX / HZ seconds).
pub fn parse_ct_timeouts(specs: &[String], hz: u32, timeouts: &mut Timeouts) -> Result<(), Error> {
    for spec in specs {
        let Some((name, secs)) = spec.split_once('=') else {
            return Err(Error::usage(format!(
                "--ct-timeout {spec}: expected NAME=SECS, e.g. udp=30"
            )));
        };
        let Ok(secs) = secs.trim().parse::<u64>() else {
            return Err(Error::usage(format!(
                "--ct-timeout {spec}: `{secs}` is not a number of seconds"
            )));
        };
        // The sysctls take seconds as an int converted to jiffies (`proc_dointvec_jiffies`),
        // refusing more than INT_MAX / HZ.
        let max = i32::MAX as u64 / u64::from(hz);
        if secs > max {
            return Err(Error::usage(format!(
                "--ct-timeout {spec}: at most {max} seconds (INT_MAX / HZ {hz}), as the \
                 kernel's sysctl refuses larger values"
            )));
        }
        timeouts
            .set(name.trim(), secs)
            .map_err(|e| Error::usage(format!("--ct-timeout {spec}: {e}")))?;
    }
    Ok(())
}

/// A traffic profile by name (`webserver`, `scan`, ...).
pub fn parse_profile(name: &str) -> Result<Profile, Error> {
    Profile::ALL
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
            Error::usage(format!(
                "unknown traffic profile `{name}`; expected one of {}",
                names.join(", ")
            ))
        })
}

/// Parse `--flow` specs; the error puts a caret under the offending character of the spec as
/// the CLI prints it (after `fwcheck: --flow '`).
pub fn parse_flows(specs: &[String]) -> Result<Vec<FlowSpec>, Error> {
    specs
        .iter()
        .map(|s| {
            flowspec::parse(s).map_err(|e| {
                let prefix = "fwcheck: --flow '";
                let col = s.chars().take(e.column.saturating_sub(1)).count();
                Error::usage(format!(
                    "--flow '{s}'\n{}^ {e}",
                    " ".repeat(prefix.len() + col)
                ))
            })
        })
        .collect()
}

/// Read and parse an `--expect` file; errors name `file:line:column`.
pub fn read_expectations(path: &Path) -> Result<Vec<Expectation>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    expect::parse(&text).map_err(|e| {
        Error::usage(if e.line > 0 {
            format!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message)
        } else {
            format!("{}: {}", path.display(), e.message)
        })
    })
}
