//! Fixture-driven tests of the ruleset model:
//! - `fixtures/roundtrip/*.in`: `fwcheck fmt` must print exactly `*.saved`, which the real
//!   `iptables-save` printed after `iptables-restore` of the `.in` file (see `regen.sh`), and
//!   formatting `*.saved` again must give it back unchanged (fixed point).
//! - `fixtures/invalid/*`: every `# expect: CODE LINE:COL` line names a diagnostic that must be
//!   reported at exactly that place; no other error may appear.
//! - `fixtures/guides/*` and the other real-world dumps load without errors and round-trip.

use std::path::{Path, PathBuf};

use fwcheck::lint::{load_file, Loaded};
use fwcheck::ruleset::printer::{print_ruleset, PrintOptions};
use fwcheck::ruleset::{Family, InputFormat, ParseOptions};

fn files(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.contains(&e))
        })
        .collect();
    v.sort();
    v
}

fn opts_for(p: &Path) -> ParseOptions {
    let v6 = p.extension().is_some_and(|e| e == "in6" || e == "v6");
    ParseOptions {
        family: if v6 { Family::V6 } else { Family::V4 },
        format: InputFormat::Auto,
        ..ParseOptions::default()
    }
}

fn load(p: &Path) -> Loaded {
    load_file(p, opts_for(p)).expect("readable fixture")
}

fn errors_of(l: &Loaded) -> String {
    l.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.render(&l.ruleset.source, false))
        .collect()
}

#[test]
fn roundtrip_matches_iptables_save() {
    let inputs = files("fixtures/roundtrip", &["in", "in6"]);
    assert!(!inputs.is_empty());
    let mut failures = Vec::new();
    for input in inputs {
        let saved = input.with_extension("saved");
        let expected = std::fs::read_to_string(&saved)
            .unwrap_or_else(|_| panic!("{} has no .saved reference", input.display()));
        let l = load(&input);
        assert!(!l.has_errors(), "{}:\n{}", input.display(), errors_of(&l));
        let got = print_ruleset(&l.ruleset, PrintOptions::default());
        if got != expected {
            let diff: Vec<String> = expected
                .lines()
                .zip(got.lines())
                .filter(|(a, b)| a != b)
                .take(5)
                .map(|(a, b)| format!("  iptables-save: {a}\n  fwcheck fmt:   {b}"))
                .collect();
            failures.push(format!(
                "{} ({} vs {} lines)\n{}",
                input.display(),
                expected.lines().count(),
                got.lines().count(),
                diff.join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "fmt differs from iptables-save:\n{}",
        failures.join("\n")
    );
}

#[test]
fn saved_forms_are_fixed_points() {
    for input in files("fixtures/roundtrip", &["in", "in6"]) {
        let saved = input.with_extension("saved");
        let text = std::fs::read_to_string(&saved).expect("saved");
        let opts = opts_for(&input);
        let l = fwcheck::lint::load_str(&saved.display().to_string(), &text, opts);
        assert!(!l.has_errors(), "{}:\n{}", saved.display(), errors_of(&l));
        assert_eq!(
            print_ruleset(&l.ruleset, PrintOptions::default()),
            text,
            "{} is not a fixed point",
            saved.display()
        );
    }
}

#[test]
fn invalid_inputs_report_expected_errors() {
    let inputs = files("fixtures/invalid", &["v4", "v6", "sh"]);
    assert!(inputs.len() >= 20);
    let mut failures = Vec::new();
    for input in inputs {
        let text = std::fs::read_to_string(&input).expect("read");
        let expected: Vec<(String, usize, usize)> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .map(|e| {
                let (code, pos) = e.split_once(' ').expect("CODE LINE:COL");
                let (l, c) = pos.trim().split_once(':').expect("LINE:COL");
                (
                    code.to_string(),
                    l.parse().expect("line"),
                    c.parse().expect("col"),
                )
            })
            .collect();
        assert!(
            !expected.is_empty(),
            "{} has no # expect lines",
            input.display()
        );
        let l = load(&input);
        let got: Vec<(String, usize, usize)> = l
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                let (line, col) = l.ruleset.source.line_col(d.span.start as usize);
                (d.code.to_string(), line, col)
            })
            .collect();
        if got != expected {
            failures.push(format!(
                "{}: expected {:?}, got {:?}\n{}",
                input.display(),
                expected,
                got,
                errors_of(&l)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn guides_load_cleanly() {
    for input in files("fixtures/guides", &["v4", "sh"]) {
        let l = load(&input);
        assert!(!l.has_errors(), "{}:\n{}", input.display(), errors_of(&l));
        assert!(l.ruleset.rule_count() > 0, "{} has rules", input.display());
    }
}

#[test]
fn guide_000_script_builds_the_saved_ruleset() {
    // The guide's command sequence, run as a script, must give exactly what iptables-save
    // printed after running those commands on a real system.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/guides");
    let script = load(&dir.join("guide-000-commands.sh"));
    let saved = std::fs::read_to_string(dir.join("guide-000-webserver.rules.v4")).expect("saved");
    let want: String = saved
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        print_ruleset(&script.ruleset, PrintOptions::default()),
        want
    );
}

#[test]
fn real_world_rulesets_load_and_are_fixed_points() {
    // Made by ufw, fail2ban's actions, Docker's and kube-proxy's commands (fixtures/real/README.md).
    let files = files("fixtures/real", &["v4", "v6"]);
    assert!(files.len() >= 5);
    for f in files {
        let l = load(&f);
        assert!(!l.has_errors(), "{}:\n{}", f.display(), errors_of(&l));
        let text = std::fs::read_to_string(&f).expect("read");
        assert_eq!(
            print_ruleset(&l.ruleset, PrintOptions::default()),
            text,
            "{} is not printed back unchanged",
            f.display()
        );
    }
}

#[test]
fn container_layouts_are_what_iptables_save_printed() {
    // fixtures/containers/: each layout is iptables-save's text after a header comment
    // (fixtures/containers/gen/); `fwcheck fmt` prints that text back byte for byte.
    // docker-host.rules.v4 is older, written by hand nat table first, and is not in this list.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/containers");
    for name in [
        "docker-forward-chains.rules.v4",
        "docker-ufw.rules.v4",
        "docker-ufw-fixed.rules.v4",
        "podman-netavark.rules.v4",
        "kube-proxy-nodeport.rules.v4",
        "firewalld-docker.rules.v4",
        "docker-host.rules.v6",
        "docker-host-noip6tables.rules.v6",
    ] {
        let f = dir.join(name);
        let l = load(&f);
        assert!(!l.has_errors(), "{name}:\n{}", errors_of(&l));
        let text = std::fs::read_to_string(&f).expect("read");
        assert!(text.starts_with("# "), "{name} says which tool wrote it");
        let saved: String = text
            .lines()
            .skip_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(!saved.contains("\n#"), "{name}");
        assert_eq!(
            print_ruleset(&l.ruleset, PrintOptions::default()),
            saved,
            "{name} is not printed back unchanged"
        );
    }
}

#[test]
fn scripts_expand_simple_shell_variables_and_warn_about_what_they_cannot_follow() {
    let script = "#!/bin/sh\nIPT=/sbin/iptables\nADMIN=\"198.51.100.0/24\"\nexport WEB=80\n\
        $IPT -F\n$IPT -P INPUT DROP\n\
        $IPT -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
        ${IPT} -A INPUT -p tcp -s $ADMIN --dport 22 -j ACCEPT\n\
        $IPT -A INPUT -p tcp --dport $WEB -j ACCEPT\n\
        for ip in 192.0.2.1 192.0.2.2; do\n  $IPT -A INPUT -s $ip -j DROP\ndone\n\
        if true; then\n  iptables -A INPUT -j LOG\nfi\n\
        $IPT -A INPUT -p tcp --dport $UNSET -j ACCEPT\necho done\n";
    let l = fwcheck::lint::load_str("fw.sh", script, ParseOptions::default());
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    let text = fwcheck::ruleset::printer::print_ruleset(
        &l.ruleset,
        fwcheck::ruleset::printer::PrintOptions::default(),
    );
    assert!(text.contains(":INPUT DROP"), "{text}");
    assert!(
        text.contains("-A INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 22 -j ACCEPT"),
        "{text}"
    );
    assert!(
        text.contains("-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT"),
        "{text}"
    );
    assert_eq!(l.ruleset.rule_count(), 3, "{text}");
    let warnings: Vec<_> = l
        .diagnostics
        .iter()
        .map(|d| d.locate(&l.ruleset.source))
        .filter(|d| d.code == "W005")
        .map(|d| (d.line, d.message))
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert_eq!(warnings[0].0, 11);
    assert!(
        warnings[0].1.contains("loop or conditional"),
        "{warnings:?}"
    );
    assert_eq!(warnings[1].0, 14);
    assert_eq!(warnings[2].0, 16);
    assert!(
        warnings[2].1.contains("cannot expand $UNSET"),
        "{warnings:?}"
    );
}

/// `IPT=$(which iptables)` and its kin name iptables: the commands apply (they were silently
/// dropped, leaving an empty ruleset a lockout check called safe); a variable set by a
/// command substitution fwcheck cannot run is warned about on each command using it.
#[test]
fn scripts_find_iptables_through_which_and_defaults() {
    let body = "$IPT -F\n$IPT -P INPUT DROP\n$IPT -A INPUT -p tcp --dport 80 -j ACCEPT\n";
    for set in [
        "IPT=$(which iptables)",
        "IPT=`which iptables`",
        "IPT=\"$(command -v iptables)\"",
        "IPT=$(type -P /usr/sbin/iptables-nft)",
        "IPT=${IPT:-iptables}",
    ] {
        let l =
            fwcheck::lint::load_str("fw.sh", &format!("{set}\n{body}"), ParseOptions::default());
        assert!(!l.has_errors(), "{set}: {}", l.render_diagnostics(false));
        assert_eq!(l.ruleset.rule_count(), 1, "{set}");
        let policy = l
            .ruleset
            .table(fwcheck::ruleset::TableKind::Filter)
            .and_then(|t| t.chains.iter().find(|c| c.name == "INPUT"))
            .and_then(|c| c.policy);
        assert_eq!(policy, Some(fwcheck::ruleset::Policy::Drop), "{set}");
    }
    let l = fwcheck::lint::load_str(
        "fw.sh",
        &format!("IPT=$(find / -name iptables)\n{body}"),
        ParseOptions::default(),
    );
    let w005 = l.diagnostics.iter().filter(|d| d.code == "W005").count();
    assert_eq!(w005, 3, "{:?}", l.diagnostics);
    // iptables-legacy beside iptables: two rulesets in the kernel, one here: warned once.
    let l = fwcheck::lint::load_str(
        "fw.sh",
        "iptables -A INPUT -p tcp --dport 22 -j ACCEPT\n\
         iptables-legacy -A INPUT -p tcp --dport 25 -j ACCEPT\n\
         iptables-legacy -A INPUT -p tcp --dport 26 -j ACCEPT\niptables -A INPUT -j DROP\n",
        ParseOptions::default(),
    );
    let w006: Vec<_> = l.diagnostics.iter().filter(|d| d.code == "W006").collect();
    assert_eq!(w006.len(), 1, "{:?}", l.diagnostics);
    assert!(w006[0].message.contains("iptables-legacy"), "{w006:?}");
}

/// `iptables-restore <<EOF` in a script: the here-document is applied as iptables-restore
/// applies it (each table it names flushed, a step per COMMIT), between the commands around
/// it (a kernel lab's live session died at that restore while fwcheck skipped it).
#[test]
fn scripts_apply_a_restore_here_document() {
    let script = "iptables -A INPUT -p tcp --dport 80 -j ACCEPT\n\
                  iptables-restore <<'EOT'\n*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n\
                  :OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\nEOT\n\
                  iptables -A INPUT -p tcp --dport 443 -j ACCEPT\n\
                  iptables-restore -n <<EOT\n*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\nEOT\n";
    let l = fwcheck::lint::load_str("fw.sh", script, ParseOptions::default());
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    assert!(
        l.diagnostics.iter().all(|d| d.code != "W005"),
        "{:?}",
        l.diagnostics
    );
    let text = fwcheck::ruleset::printer::print_ruleset(
        &l.ruleset,
        fwcheck::ruleset::printer::PrintOptions::default(),
    );
    assert!(text.contains(":INPUT DROP"), "{text}");
    // The restore flushed the --dport 80 rule; --noflush kept what was there.
    assert!(!text.contains("--dport 80"), "{text}");
    assert!(
        text.contains("--dport 443") && text.contains("--dport 22"),
        "{text}"
    );
    assert_eq!(l.ruleset.rule_count(), 3, "{text}");
}

#[test]
fn weird_interface_names_warn_and_empty_module_names_are_refused_as_iptables_does() {
    let base = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
    // iptables-restore 1.8.9: "Warning: weird character in interface `a b'", loads it.
    let l = fwcheck::lint::load_str(
        "w.rules",
        &format!("{base}-A INPUT -i \"a b\" -j ACCEPT\nCOMMIT\n"),
        ParseOptions::default(),
    );
    assert!(!l.has_errors());
    let d: Vec<_> = l
        .diagnostics
        .iter()
        .map(|d| d.locate(&l.ruleset.source))
        .collect();
    assert!(
        d.iter()
            .any(|d| d.code == "W008" && d.line == 5 && d.column == 13),
        "{d:?}"
    );
    // iptables-restore: "Couldn't load match `'" — refused.
    let l = fwcheck::lint::load_str(
        "e.rules",
        &format!("{base}-A INPUT -m \"\" -j ACCEPT\nCOMMIT\n"),
        ParseOptions::default(),
    );
    let d: Vec<_> = l
        .diagnostics
        .iter()
        .map(|d| d.locate(&l.ruleset.source))
        .collect();
    assert!(
        d.iter()
            .any(|d| d.code == "E107" && d.line == 5 && d.column == 13),
        "{d:?}"
    );
}

#[test]
fn rules_whose_saved_form_changes_meaning_are_warned_about() {
    let base = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
    for (rule, what) in [
        ("-A INPUT -m time --monthdays 0 -j ACCEPT", "--monthdays"),
        (
            "-A INPUT -m time --datestop 1970-01-01T00:00:00 -j ACCEPT",
            "--datestop",
        ),
    ] {
        let l = fwcheck::lint::load_str(
            "t.rules",
            &format!("{base}{rule}\nCOMMIT\n"),
            ParseOptions::default(),
        );
        assert!(!l.has_errors());
        let w: Vec<_> = l
            .diagnostics
            .iter()
            .map(|d| d.locate(&l.ruleset.source))
            .filter(|d| d.code == "W009")
            .collect();
        assert_eq!(w.len(), 1, "{rule}: {w:?}");
        assert!(w[0].message.contains(what), "{w:?}");
    }
    let l = fwcheck::lint::load_str(
        "t.rules",
        &format!("{base}-A INPUT -m time --monthdays 5 --datestop 2030-01-01 -j ACCEPT\nCOMMIT\n"),
        ParseOptions::default(),
    );
    assert!(l.diagnostics.iter().all(|d| d.code != "W009"));
}
