//! `fwcheck fleet MANIFEST.toml`: the manifest that lists many hosts, each checked as
//! `fwcheck RULES [--pcap CAPTURE] [OPTIONS...]` would check it. This module reads and validates
//! the manifest; every host's options are the main command's own (the binary parses them with
//! the same definitions), so a host in a fleet is judged exactly as it would be alone.
//!
//! ```toml
//! # options every host gets, before its own
//! options = ["--mgmt", "tcp/22"]
//!
//! [[host]]
//! name = "web1"
//! rules = "web1/rules.v4"          # relative paths are relative to the manifest
//! pcap = "web1/capture.pcapng"     # optional
//! options = ["--host-config", "web1/host.json", "--router"]
//! ```
//!
//! Mirrors no kernel code.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diag::SourceFile;

use super::Error;

/// At most this many hosts in one manifest (a bound on what one run holds: every host's part
/// of the merged report is kept until it is written).
pub(crate) const MAX_HOSTS: usize = 100_000;

/// One host of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetHost {
    /// Its name, unique in the manifest.
    pub name: String,
    /// `file:line:column` of its `[[host]]` entry, for errors about it.
    pub at: String,
    /// Its own arguments: the rules file, `--pcap FILE` when given, its `options`
    /// ([`Manifest::args`] puts the manifest's shared options between).
    own: Vec<String>,
    /// How many of `own` come before the shared options (the rules file and `--pcap FILE`).
    files: usize,
}

/// A parsed manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The directory relative file names are resolved against (the manifest's).
    pub dir: PathBuf,
    pub hosts: Vec<FleetHost>,
    /// The options every host gets, kept once.
    shared: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    options: Vec<toml::Spanned<String>>,
    #[serde(default)]
    host: Vec<toml::Spanned<HostEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostEntry {
    name: String,
    rules: String,
    pcap: Option<String>,
    #[serde(default)]
    options: Vec<toml::Spanned<String>>,
}

/// Options that shape one run's packet output; a fleet writes one merged report instead.
const PER_RUN_OUTPUT: &[&str] = &["--format", "--limit", "--only", "--flows"];

impl Manifest {
    /// Read and validate `path`. Errors name `file:line:column` and what was expected.
    pub fn read(path: &Path) -> Result<Manifest, Error> {
        let text = super::read_text(path)?;
        Manifest::parse(&path.display().to_string(), &text, manifest_dir(path))
    }

    /// Parse manifest text named `name`, relative paths resolved against `dir`.
    pub fn parse(name: &str, text: &str, dir: PathBuf) -> Result<Manifest, Error> {
        let src = SourceFile::new(name, text);
        let at = |offset: usize| {
            let (l, c) = src.line_col(offset);
            format!("{name}:{l}:{c}")
        };
        let file: File = toml::from_str(text).map_err(|e| {
            let pos = at(e.span().map_or(0, |s| s.start));
            Error::usage(format!("{pos}: {}", e.message().trim_end()))
        })?;
        if file.host.is_empty() {
            return Err(Error::usage(format!(
                "{}: no hosts: expected at least one [[host]] with `name` and `rules`",
                at(text.len())
            )));
        }
        if file.host.len() > MAX_HOSTS {
            let (l, c) = src.line_col(file.host[MAX_HOSTS].span().start);
            return Err(Error::usage(format!(
                "{name}:{l}:{c}: host {}: at most {MAX_HOSTS} hosts in one manifest (split it \
                 into several files)",
                MAX_HOSTS + 1
            )));
        }
        let options_at = |opts: &[toml::Spanned<String>], i: usize, fallback: usize| {
            at(opts.get(i).map_or(fallback, |o| o.span().start))
        };
        if let Err((i, m)) = check_options(&file.options) {
            return Err(Error::usage(format!(
                "{}: {m}",
                options_at(&file.options, i, 0)
            )));
        }
        let mut hosts: Vec<FleetHost> = Vec::with_capacity(file.host.len());
        let mut names: std::collections::HashMap<&str, usize> = Default::default();
        for entry in &file.host {
            let pos = at(entry.span().start);
            let h = entry.get_ref();
            let bad = |pos: &str, m: String| Error::usage(format!("{pos}: host `{}`: {m}", h.name));
            if h.name.is_empty() || h.name.chars().any(|c| c.is_control()) {
                return Err(Error::usage(format!(
                    "{pos}: expected a host name (non-empty, no control characters)"
                )));
            }
            if let Some(&first) = names.get(h.name.as_str()) {
                return Err(bad(
                    &pos,
                    format!("the name is also used at {}", hosts[first].at),
                ));
            }
            names.insert(&h.name, hosts.len());
            for (what, v) in [("rules", Some(&h.rules)), ("pcap", h.pcap.as_ref())] {
                if v.is_some_and(|v| v.is_empty() || v.starts_with('-')) {
                    return Err(bad(
                        &pos,
                        format!(
                            "`{what}` must name a file (not standard input; a name starting \
                             with `-` is written ./NAME)"
                        ),
                    ));
                }
            }
            if let Err((i, m)) = check_options(&h.options) {
                return Err(bad(&options_at(&h.options, i, entry.span().start), m));
            }
            let mut own = vec![h.rules.clone()];
            if let Some(p) = &h.pcap {
                own.extend(["--pcap".to_string(), p.clone()]);
            }
            let files = own.len();
            own.extend(h.options.iter().map(|o| o.get_ref().clone()));
            hosts.push(FleetHost {
                name: h.name.clone(),
                at: pos,
                own,
                files,
            });
        }
        Ok(Manifest {
            dir,
            hosts,
            shared: file.options.into_iter().map(|o| o.into_inner()).collect(),
        })
    }

    /// The main command's arguments for `h`: the rules file, `--pcap FILE` when given, the
    /// manifest's shared `options`, then the host's. File names are as written (relative to
    /// [`Manifest::dir`]).
    pub fn args(&self, h: &FleetHost) -> Vec<String> {
        let (files, options) = h.own.split_at(h.files);
        files
            .iter()
            .chain(&self.shared)
            .chain(options)
            .cloned()
            .collect()
    }

    /// The rules file of `h`, as its run opens it.
    pub fn rules_of(&self, h: &FleetHost) -> PathBuf {
        self.resolve(Path::new(&h.own[0]))
    }

    /// The hosts of shard `k` of `n` (1-based): every `n`th host from the `k`th, so shards
    /// `1/n` … `n/n` partition the manifest.
    pub fn shard(&mut self, k: usize, n: usize) {
        let n = n.max(1);
        let hosts = std::mem::take(&mut self.hosts);
        self.hosts = hosts
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n + 1 == k)
            .map(|(_, h)| h)
            .collect();
    }

    /// `p` as the host's run opens it: relative to the manifest's directory, `..` folded
    /// away when that names the same file (`fleet/../rules.v4` is `rules.v4`, unless `fleet`
    /// is a symbolic link).
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() || p == Path::new("-") {
            return p.to_path_buf();
        }
        let joined = self.dir.join(p);
        let clean = lexically_clean(&joined);
        match (
            std::fs::canonicalize(&joined),
            std::fs::canonicalize(&clean),
        ) {
            (Ok(a), Ok(b)) if a == b => clean,
            _ => joined,
        }
    }
}

/// `p` without `.` components, and without `dir/..` pairs.
fn lexically_clean(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

fn manifest_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A host's (or the manifest's) `options`: the main command's, without those that shape one
/// run's own output or read standard input. `Err` names the option's index.
fn check_options(options: &[toml::Spanned<String>]) -> Result<(), (usize, String)> {
    for (i, o) in options.iter().enumerate() {
        let o = o.get_ref();
        let (flag, value) = match o.split_once('=') {
            Some((f, v)) => (f, Some(v)),
            None => (o.as_str(), None),
        };
        if PER_RUN_OUTPUT.contains(&flag) {
            return Err((
                i,
                format!(
                    "`{o}` shapes one run's output; give `--format` to `fwcheck fleet` (the \
                     merged report has a line per host)"
                ),
            ));
        }
        // `-` names standard input for every file option (--pcap, --parity, --rules6, ...).
        if o == "-" || (flag.starts_with("--") && value == Some("-")) {
            return Err((i, format!("`{o}`: a fleet cannot read standard input")));
        }
    }
    Ok(())
}

/// `--shard K/N`: 1 ≤ K ≤ N.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let err = || format!("`{s}`: expected K/N with 1 <= K <= N, e.g. 2/4");
    let (k, n) = s.split_once('/').ok_or_else(err)?;
    let k: usize = k.trim().parse().map_err(|_| err())?;
    let n: usize = n.trim().parse().map_err(|_| err())?;
    if k == 0 || n == 0 || k > n {
        return Err(err());
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, Error> {
        Manifest::parse("m.toml", text, PathBuf::from("dir"))
    }

    #[test]
    fn hosts_get_the_shared_options_then_their_own() {
        let m = parse(
            "options = [\"--mgmt\", \"tcp/2222\"]\n\
             [[host]]\nname = \"a\"\nrules = \"a.v4\"\npcap = \"a.pcap\"\noptions = [\"--router\"]\n\
             [[host]]\nname = \"b\"\nrules = \"/abs/b.v4\"\n",
        )
        .unwrap();
        assert_eq!(
            m.args(&m.hosts[0]),
            ["a.v4", "--pcap", "a.pcap", "--mgmt", "tcp/2222", "--router"]
        );
        assert_eq!(m.hosts[0].at, "m.toml:2:1");
        assert_eq!(m.args(&m.hosts[1]), ["/abs/b.v4", "--mgmt", "tcp/2222"]);
        assert_eq!(m.resolve(Path::new("a.v4")), Path::new("dir/a.v4"));
        assert_eq!(m.resolve(Path::new("/abs/b.v4")), Path::new("/abs/b.v4"));
        // `..` is folded only where both names are the same existing file.
        assert_eq!(m.resolve(Path::new("../x")), Path::new("dir/../x"));
        assert_eq!(
            lexically_clean(Path::new("./a/b/../../c/./d")),
            Path::new("c/d")
        );
        assert_eq!(lexically_clean(Path::new("../a/..")), Path::new(".."));
    }

    #[test]
    fn errors_name_the_position_and_what_was_expected() {
        let e = parse("[[host]]\nname = \"a\"\n").unwrap_err();
        assert!(e.message.starts_with("m.toml:1:1:"), "{}", e.message);
        assert!(e.message.contains("rules"), "{}", e.message);
        let e = parse("[[host]]\nname = \"a\"\nrules = \"x\"\nrule = 3\n").unwrap_err();
        assert!(e.message.starts_with("m.toml:4:1:"), "{}", e.message);
        let e =
            parse("[[host]]\nname = \"a\"\nrules = \"x\"\n[[host]]\nname = \"a\"\nrules = \"y\"\n")
                .unwrap_err();
        assert!(
            e.message
                .starts_with("m.toml:4:1: host `a`: the name is also used at m.toml:1:1"),
            "{}",
            e.message
        );
        let e =
            parse("options = [\"--format\", \"json\"]\n[[host]]\nname = \"a\"\nrules = \"x\"\n")
                .unwrap_err();
        assert!(e.message.contains("--format"), "{}", e.message);
        let e = parse("[[host]]\nname = \"a\"\nrules = \"x\"\noptions = [\"--limit=0\"]\n")
            .unwrap_err();
        assert!(e.message.contains("host `a`"), "{}", e.message);
        let e = parse("# nothing\n").unwrap_err();
        assert!(e.message.contains("no hosts"), "{}", e.message);
        let e = parse("[[host]]\nname = \"a\"\nrules = \"-\"\n").unwrap_err();
        assert!(e.message.contains("must name a file"), "{}", e.message);
        let e = parse("[[host]]\nname = \"a\"\nrules = \"-x.v4\"\n").unwrap_err();
        assert!(e.message.contains("./NAME"), "{}", e.message);
        // Standard input through any file option, at the option's position.
        let e = parse(
            "[[host]]\nname = \"a\"\nrules = \"x\"\noptions = [\"--router\", \"--rules6=-\"]\n",
        )
        .unwrap_err();
        assert!(e.message.starts_with("m.toml:4:24:"), "{}", e.message);
        let e = parse("options = [\"--parity\", \"-\"]\n[[host]]\nname = \"a\"\nrules = \"x\"\n")
            .unwrap_err();
        assert!(
            e.message.starts_with("m.toml:1:24:") && e.message.contains("standard input"),
            "{}",
            e.message
        );
    }

    #[test]
    fn shards_partition_the_hosts() {
        let text: String = (0..10)
            .map(|i| format!("[[host]]\nname = \"h{i}\"\nrules = \"r\"\n"))
            .collect();
        let all = parse(&text).unwrap();
        let mut seen = Vec::new();
        for k in 1..=3 {
            let mut m = all.clone();
            m.shard(k, 3);
            seen.extend(m.hosts.into_iter().map(|h| h.name));
        }
        seen.sort();
        let mut names: Vec<String> = all.hosts.iter().map(|h| h.name.clone()).collect();
        names.sort();
        assert_eq!(seen, names);
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        assert!(parse_shard("0/4").is_err());
        assert!(parse_shard("5/4").is_err());
        assert!(parse_shard("4").is_err());
    }
}
