//! The one table of diagnostic codes (`fwcheck::diag::codes`) against what is generated from it
//! and what emits it: the README's table, `fwcheck explain`, the SARIF rules, and the codes the
//! parser reports for each E-code's own example.

use std::process::Command;

use fwcheck::diag::codes::{self, CODES};

#[test]
fn readme_table_is_the_code_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = "<!-- codes: generated from src/diag/codes.rs -->\n";
    let i = readme
        .find(start)
        .expect("README: start marker of the codes table")
        + start.len();
    let e = readme[i..]
        .find("<!-- end of codes -->")
        .expect("README: end marker of the codes table");
    let expected = codes::markdown_table();
    assert!(
        readme[i..i + e] == expected,
        "README's code table differs from src/diag/codes.rs; replace it with the output of \
         `fwcheck explain --format markdown`:\n{expected}"
    );
}

fn fwcheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .output()
        .expect("run fwcheck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn explain_prints_every_code_from_the_table() {
    let (rc, list, _) = fwcheck(&["explain"]);
    assert_eq!(rc, 0);
    assert_eq!(list.lines().count(), CODES.len());
    for c in CODES {
        assert!(list.contains(c.code), "{} missing from `explain`", c.code);
        let (rc, text, _) = fwcheck(&["explain", &c.code.to_lowercase()]);
        assert_eq!(rc, 0, "{}", c.code);
        assert!(
            text.starts_with(&format!("{} ({}, ", c.code, c.name)),
            "{text}"
        );
        for part in [c.means, c.fix] {
            assert!(text.contains(part), "{}: `{part}` not in\n{text}", c.code);
        }
    }
    let (rc, json, _) = fwcheck(&["explain", "E104", "--format", "json"]);
    assert_eq!(rc, 0);
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON object");
    assert_eq!(v["code"], "E104");
    assert_eq!(v["severity"], "error");
    assert_eq!(v["type"], "code");
    let (rc, _, err) = fwcheck(&["explain", "FW999"]);
    assert_eq!(rc, 2);
    assert!(err.contains("unknown code `FW999`"), "{err}");
}

#[test]
fn sarif_rules_are_the_code_table() {
    let log = fwcheck::report::ci::sarif(&[], &[], "rules.v4");
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let table: Vec<&str> = CODES.iter().map(|c| c.code).collect();
    assert_eq!(ids, table);
}

/// Each input error's example, put in a restore file, gives that error.
#[test]
fn error_examples_give_their_code() {
    use fwcheck::ruleset::{parse_str, ParseOptions};
    for c in CODES.iter().filter(|c| c.code.starts_with('E')) {
        // The example without its explanation in parentheses.
        let ex = c.example.split("   (").next().unwrap();
        let body = if ex.starts_with('*') || ex.starts_with('-') && ex.contains("\n*") {
            ex.to_string()
        } else if ex.starts_with("iptables ") || ex.contains("->") {
            continue; // a script command or a path, not a restore line
        } else {
            format!("*filter\n:A - [0:0]\n:B - [0:0]\n{ex}\nCOMMIT\n")
        };
        let body =
            if body.starts_with('*') && !body.contains("COMMIT") && c.code != codes::NO_COMMIT {
                format!("{body}\nCOMMIT\n")
            } else {
                body
            };
        // E114's example is checked against the host's sets: here, none.
        let opts = if c.code == codes::NO_SET {
            ParseOptions {
                ipsets: Some(std::sync::Arc::new(
                    fwcheck::ext::ipset::IpSets::parse("").expect("no sets"),
                )),
                ..ParseOptions::default()
            }
        } else {
            ParseOptions::default()
        };
        let loaded = fwcheck::lint::Loaded::from_parsed(parse_str("ex.v4", &body, opts));
        let got: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
        assert!(
            got.contains(&c.code),
            "{}: example\n{body}\ngave {got:?}",
            c.code
        );
    }
}

/// W010: `-p icmp` in ip6tables rules (and `-p ipv6-icmp` in iptables rules) loads but
/// matches the other family's protocol number. A real ip6tables-save file holding such a rule
/// is still read as IPv6 (its header and addresses outweigh the protocol name).
#[test]
fn other_family_icmp_is_w010() {
    use fwcheck::lint::load_str;
    use fwcheck::ruleset::{Family, ParseOptions};
    let w010 = |text: &str, family| {
        load_str(
            "rules",
            text,
            ParseOptions {
                family,
                ..ParseOptions::default()
            },
        )
        .diagnostics
        .iter()
        .filter(|d| d.code == "W010")
        .count()
    };
    let v6 = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p icmp -j ACCEPT\n\
              -A INPUT -p ipv6-icmp -j ACCEPT\nCOMMIT\n";
    assert_eq!(w010(v6, Family::V6), 1);
    let v4 = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p icmpv6 -j ACCEPT\n\
              -A INPUT -p icmp -j ACCEPT\nCOMMIT\n";
    assert_eq!(w010(v4, Family::V4), 1);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("saved");
    std::fs::write(
        &f,
        "# Generated by ip6tables-save v1.8.9 (nf_tables)\n*filter\n:INPUT DROP [0:0]\n\
         -A INPUT -p icmp -j ACCEPT\n-A INPUT -s fe80::/10 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let (rc, out, err) = fwcheck(&["lint", f.to_str().unwrap()]);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("W010") || err.contains("W010"), "{out}{err}");
    assert!(!out.contains("E104") && !err.contains("E104"), "{out}{err}");
}
