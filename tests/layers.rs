//! The module floors of the crate (README, Design): a top-level module of `src/` may use only
//! modules on lower floors, so the import graph between folders has no cycle. This test reads
//! every `crate::NAME` path in the code (comments left out, `use crate::{a, b}` groups
//! included) and fails on any edge that runs sideways or up, naming the file and line.
//!
//! A new top-level module must be given a floor here; a module missing from the table fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Floors from the bottom up. A module may import modules of strictly lower floors only.
const FLOORS: &[&[&str]] = &[
    &["netfilter", "host"],
    &["diag", "packet"],
    &["conntrack"],
    &["ext"],
    &["ruleset"],
    &["engine", "lint", "whatif"],
    &["analysis", "replay", "graph"],
    &["report", "oracle", "testkit", "steps"],
    &["compare", "trace", "diff"],
    &["session", "explain", "debug"],
    // The binary: `main.rs` and its argument and glue modules (`src/cli/`), which use the
    // library through `fwcheck::`, never `crate::`.
    &["main", "lib", "cli"],
];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a line without its `//` comment (string literals with `//` are rare enough in
/// `use` positions not to matter; a false edge would show up as a failure to look at).
fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Every top-level module a text names through `crate::` (`crate::a::x`, `crate::{a::x, b}`),
/// with the byte offset of its `crate::`.
fn crate_refs(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = text[at..].find("crate::") {
        let pos = at + i;
        let before = text[..pos].chars().next_back();
        at = pos + "crate::".len();
        let rest = &text[at..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::`, `my_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: split at depth 0 commas.
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push((pos, head(&item)));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            if !item.trim().is_empty() {
                out.push((pos, head(&item)));
            }
        } else {
            out.push((pos, head(rest)));
        }
    }
    out.retain(|(_, m)| !m.is_empty() && m != "self");
    out
}

fn head(s: &str) -> String {
    s.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn no_import_runs_sideways_or_up_between_floors() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    let mut unknown = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let first = rel.components().next().expect("component");
        let module = Path::new(first.as_os_str())
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let Some(from) = floor_of(&module) else {
            unknown.insert(module);
            continue;
        };
        let text = std::fs::read_to_string(f).expect("read");
        // Join lines so a `use crate::{...}` group spanning lines is read whole.
        let code: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, code_of(l)))
            .collect();
        let joined: String = code.iter().map(|(_, l)| format!("{l}\n")).collect();
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(joined.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        for (pos, target) in crate_refs(&joined) {
            if target == module {
                continue;
            }
            let line = line_starts.partition_point(|s| *s <= pos);
            match floor_of(&target) {
                None => {
                    unknown.insert(target.clone());
                }
                Some(to) if to >= from => bad.push(format!(
                    "src/{}:{line}: `{module}` (floor {from}) uses `{target}` (floor {to})",
                    rel.display()
                )),
                Some(_) => {}
            }
            edges.insert((module.clone(), target));
        }
    }
    assert!(
        unknown.is_empty(),
        "top-level modules without a floor in tests/layers.rs: {unknown:?}"
    );
    assert!(
        bad.is_empty(),
        "imports that run sideways or up between floors:\n{}",
        bad.join("\n")
    );
    // The table is not vacuous: the engine really sits on the extensions, and so on.
    for (a, b) in [
        ("engine", "ext"),
        ("ext", "conntrack"),
        ("ruleset", "ext"),
        ("analysis", "engine"),
        ("trace", "report"),
        ("diff", "replay"),
        ("session", "whatif"),
    ] {
        assert!(
            edges.contains(&(a.to_string(), b.to_string())),
            "expected an import {a} -> {b}; edges seen: {edges:?}"
        );
    }
}

#[test]
fn crate_refs_reads_paths_and_groups() {
    let names = |t: &str| -> Vec<String> { crate_refs(t).into_iter().map(|r| r.1).collect() };
    assert_eq!(names("use crate::engine::EvalCtx;"), ["engine"]);
    assert_eq!(
        names("use crate::{diag::Span, ext::{self, Match}, packet};"),
        ["diag", "ext", "packet"]
    );
    assert!(crate_refs("$crate::x").is_empty());
}
