//! The README's `console` examples are real output: every `$ fwcheck …` example whose inputs
//! ship with the repository (or are written by a `$ cat FILE` example before it in the same
//! block) is run, and each line the README shows must appear, in order, in what the binary
//! prints (stderr merged into stdout, as a terminal shows them). Lines `...` and `│ ...` mark
//! output the README leaves out. `$ echo $?` checks the previous command's exit status.
//! Examples whose inputs are hypothetical (`lab.rules.v4 --pcap real-traffic.pcap`) are
//! listed as skipped; the test fails if fewer than [`AT_LEAST`] examples were checked, so a
//! parsing slip cannot make it check nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// How many examples must be checked (the README holds more than 40 runnable ones).
const AT_LEAST: usize = 35;

struct Example {
    line: usize,
    cmd: String,
    shown: Vec<String>,
}

/// The examples of each fenced block, in order.
fn blocks(readme: &str) -> Vec<Vec<Example>> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<(usize, &str)>> = None;
    for (i, l) in readme.lines().enumerate() {
        if l.starts_with("```") {
            match cur.take() {
                Some(b) => out.push(examples(&b)),
                None => cur = Some(Vec::new()),
            }
        } else if let Some(b) = cur.as_mut() {
            b.push((i + 1, l));
        }
    }
    out
}

fn examples(block: &[(usize, &str)]) -> Vec<Example> {
    let mut out = Vec::new();
    let mut k = 0;
    while k < block.len() {
        let (line, l) = block[k];
        k += 1;
        let Some(first) = l.strip_prefix("$ ") else {
            continue;
        };
        let mut cmd = first.to_string();
        while cmd.ends_with('\\') && k < block.len() {
            cmd.pop();
            cmd.push(' ');
            cmd.push_str(block[k].1.trim());
            k += 1;
        }
        let mut shown = Vec::new();
        while k < block.len() && !block[k].1.starts_with("$ ") {
            shown.push(block[k].1.to_string());
            k += 1;
        }
        out.push(Example { line, cmd, shown });
    }
    out
}

/// The command without a trailing `# comment`.
fn uncommented(cmd: &str) -> &str {
    match cmd.find("  #").or_else(|| cmd.find(" # ")) {
        Some(i) => cmd[..i].trim_end(),
        None => cmd,
    }
}

/// Input files the command names that are not there (an `-o` target is an output).
fn missing_inputs(cmd: &str, dir: &Path) -> Vec<String> {
    const EXTS: [&str; 10] = [
        ".v4", ".v6", ".pcap", ".pcapng", ".sh", ".json", ".rules", ".toml", ".txt", ".save",
    ];
    let toks: Vec<&str> = cmd.split_whitespace().collect();
    let mut missing = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.starts_with('-') || t.starts_with('\'') || t.ends_with('\'') || t.contains('>') {
            continue;
        }
        let pathlike = EXTS.iter().any(|e| t.ends_with(e))
            || ["fixtures/", "pcaps/", "tests/"]
                .iter()
                .any(|p| t.starts_with(p));
        if pathlike && (i == 0 || toks[i - 1] != "-o") && !dir.join(t).exists() {
            missing.push(t.to_string());
        }
    }
    missing
}

/// Whether every shown line appears in `got`, in order; the first one that does not.
fn first_missing<'a>(shown: &'a [String], got: &str) -> Option<&'a str> {
    let got: Vec<&str> = got.lines().map(str::trim_end).collect();
    let mut j = 0;
    for s in shown {
        let t = s.trim();
        if t.is_empty() || t == "..." || t == "…" || t.starts_with("│ ...") {
            continue;
        }
        match got[j..].iter().position(|g| *g == s.trim_end()) {
            Some(p) => j += p + 1,
            None => return Some(s),
        }
    }
    None
}

fn scratch(n: usize) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("fwcheck-readme-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for d in ["fixtures", "pcaps", "tests"] {
        std::os::unix::fs::symlink(root.join(d), dir.join(d)).unwrap();
    }
    dir
}

#[test]
fn readme_console_examples_are_real_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_fwcheck")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (mut checked, mut skipped, mut failures) = (0, Vec::new(), Vec::new());
    for (n, block) in blocks(&readme).into_iter().enumerate() {
        if !block.iter().any(|e| e.cmd.starts_with("fwcheck")) {
            continue;
        }
        let dir = scratch(n);
        let mut last_status: Option<i32> = None;
        for ex in block {
            let cmd = uncommented(&ex.cmd);
            if let Some(file) = cmd.strip_prefix("cat ").filter(|f| !f.contains(' ')) {
                let mut text = ex.shown.join("\n");
                text.push('\n');
                std::fs::write(dir.join(file), text).unwrap();
                continue;
            }
            if cmd == "echo $?" {
                if let (Some(st), Some(want)) = (last_status, ex.shown.first()) {
                    if want.trim() != st.to_string() {
                        failures.push(format!("README:{}: exit {st}, README says {want}", ex.line));
                    }
                }
                continue;
            }
            if !cmd.starts_with("fwcheck") {
                continue;
            }
            let missing = missing_inputs(cmd, &dir);
            if !missing.is_empty() {
                skipped.push(format!("README:{} ({})", ex.line, missing.join(", ")));
                last_status = None;
                continue;
            }
            let out = Command::new("bash")
                .arg("-c")
                .arg(format!("{cmd} 2>&1"))
                .current_dir(&dir)
                .env("PATH", &path)
                .output()
                .expect("run bash");
            let got = String::from_utf8_lossy(&out.stdout);
            // The exit status of a pipeline is its last command's; only a plain command's counts.
            last_status = if cmd.contains('|') {
                None
            } else {
                out.status.code()
            };
            checked += 1;
            if let Some(line) = first_missing(&ex.shown, &got) {
                failures.push(format!(
                    "README:{}: `{cmd}` does not print\n  {line}\nit prints:\n{got}",
                    ex.line
                ));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    eprintln!(
        "{checked} examples checked; skipped (inputs not shipped): {}",
        skipped.join("; ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        checked >= AT_LEAST,
        "only {checked} README examples were checked (at least {AT_LEAST} expected)"
    );
}

#[test]
fn a_changed_line_is_caught() {
    let shown = vec![
        "a".to_string(),
        "...".to_string(),
        "c".to_string(),
        "│ ...".to_string(),
    ];
    assert_eq!(first_missing(&shown, "a\nb\nc\n"), None);
    assert_eq!(first_missing(&shown, "a\nb\nC\n"), Some("c"));
    // Order matters.
    assert_eq!(first_missing(&shown, "c\na\n"), Some("c"));
}
