//! Options shared by `fwcheck steps` and `fwcheck diff`, turned into the session's types:
//! rules are read with [`session::load_rules`] / [`session::read_text`] (family from `-6`,
//! else the content, else the file name, else IPv4, as the main command decides it), the host
//! into [`HostOptions`], the management services and admin networks as the main command's
//! `--mgmt` / `--admin`. Also `--reload-at` of the main command.

use std::net::IpAddr;
use std::path::Path;

use clap::{Args, ValueEnum};
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

use fwcheck::analysis::{CheckOptions, Net, Service};
use fwcheck::ext::ipset::IpSets;
use fwcheck::ext::Backend;
use fwcheck::ruleset::{Family, InputFormat};
use fwcheck::session::{self, Error, HostOptions, Rules, RulesSource};

use super::args::HostArgs;

/// Options shared by `steps` and `diff`: how to read the rules and who the host and admin are.
#[derive(Args, Debug, Clone)]
pub struct LearnCommon {
    /// Read IPv6 rules (ip6tables). Default: what the content shows, else IPv4.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Which iptables loads the rules: nft or legacy.
    #[arg(long, value_parser = ["nft", "legacy"], default_value = "nft")]
    pub backend: String,
    /// A management service that must stay reachable (repeatable).
    #[arg(long, value_name = "PROTO/PORT", default_value = "tcp/22")]
    pub mgmt: Vec<String>,
    /// Where the administrator connects from (repeatable CIDR).
    #[arg(long, value_name = "CIDR")]
    pub admin: Vec<String>,
    /// The simulated host: the main command's host options, converted by the same function.
    #[command(flatten)]
    pub host: HostArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearnFormat {
    Table,
    Json,
}

impl LearnCommon {
    pub fn backend(&self) -> Backend {
        if self.backend == "legacy" {
            Backend::Legacy
        } else {
            Backend::Nft
        }
    }

    /// `-6` as the session's explicit family.
    pub fn family(&self) -> Option<Family> {
        self.ipv6.then_some(Family::V6)
    }

    /// How to read a rules file or script at `path`, on a host with the sets `ipsets`.
    pub fn source(&self, path: &Path, ipsets: Option<&std::sync::Arc<IpSets>>) -> RulesSource {
        RulesSource {
            ipsets: ipsets.cloned(),
            path: path.to_path_buf(),
            family: self.family(),
            format: InputFormat::Auto,
            backend: self.backend(),
        }
    }

    /// The simulated host, as the main command builds it ([`HostArgs::host_options`]); a bad
    /// value is exit 2.
    pub fn host_options(&self) -> Result<HostOptions, Error> {
        self.host.host_options(self.backend())
    }

    /// The options of the static checks for the host `h` with (chosen) addresses `hosts`, as
    /// the session builds them ([`session::Session::check_options`]); a bad `--mgmt` /
    /// `--admin` is exit 2.
    pub fn check_options(&self, h: &HostOptions, hosts: &[IpAddr]) -> Result<CheckOptions, Error> {
        let list = |flag: &str, e: String| Error::usage(format!("--{flag} {e}"));
        Ok(CheckOptions {
            env: h.env(hosts),
            router: h.router,
            mgmt: self
                .mgmt
                .iter()
                .map(|s| Service::parse(s))
                .collect::<Result<_, _>>()
                .map_err(|e| list("mgmt", e))?,
            admin: self
                .admin
                .iter()
                .map(|s| Net::parse(s))
                .collect::<Result<_, _>>()
                .map_err(|e| list("admin", e))?,
            ct_timeouts: h.ct_timeouts,
        })
    }
}

/// A table in the style of the steps and diff reports.
pub fn table() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(160);
    t
}

/// A file and its text, read as the session reads rules (`steps` has no `--pcap`, so a capture
/// is refused without suggesting one).
pub fn read_named(path: &Path) -> Result<(String, String), Error> {
    let text = session::read_text(path).map_err(|mut e| {
        if let Some(i) = e.message.find("; did you mean --pcap") {
            e.message.truncate(i);
        }
        e
    })?;
    Ok((path.display().to_string(), text))
}

/// `--reload-at AT NEW_RULES`: the reload point and the new ruleset, loaded with `load` (the
/// main command's loader); `None` when not given.
pub fn load_reload(
    values: &[String],
    say: &mut dyn FnMut(&str),
    load: impl Fn(&Path, &mut dyn FnMut(&str)) -> Result<Rules, Error>,
) -> Result<Option<(Rules, fwcheck::replay::ReloadAt)>, Error> {
    let [at, path] = values else {
        return Ok(None);
    };
    let at = fwcheck::replay::ReloadAt::parse(at)
        .map_err(|e| Error::usage(format!("--reload-at {e}")))?;
    let rules = load(Path::new(path), say)?;
    if !rules.is_valid() {
        say(&rules.loaded.render_diagnostics(false));
        return Err(Error::invalid(format!(
            "--reload-at: {path} is not a valid ruleset ({} error(s)); nothing simulated",
            rules.loaded.error_count()
        )));
    }
    say(&format!(
        "fwcheck: {path} is loaded at {} (conntrack, recent and hashlimit state kept; limit, \
         statistic and counters start afresh); the rule counters shown are NEW_RULES' since then, and \
         the findings from the capture (FW001 seen in the capture, FW002, FW008) are not computed\n",
        match at {
            fwcheck::replay::ReloadAt::Frame(n) => format!("frame {n}"),
            fwcheck::replay::ReloadAt::Time(ns) => format!("{:.3} s", ns as f64 / 1e9),
        }
    ));
    Ok(Some((rules, at)))
}
