//! Rules copied from a web page or a word processor, whose `-` became an en dash, em dash or
//! minus sign: iptables reads such a token as a word ("Bad argument"), fwcheck says which
//! character it is and what to type, at the token.

use fwcheck::diag::{lookalike_dash, Diagnostic};
use fwcheck::lint::load_str;
use fwcheck::ruleset::ParseOptions;

fn errors(name: &str, text: &str) -> Vec<Diagnostic> {
    let l = load_str(name, text, ParseOptions::default());
    l.diagnostics.into_iter().filter(|d| d.is_error()).collect()
}

/// The one error's code, the text its span covers, and its notes.
fn only_error(name: &str, text: &str) -> (&'static str, String, Vec<String>) {
    let e = errors(name, text);
    assert_eq!(e.len(), 1, "{e:?}");
    let d = &e[0];
    (
        d.code,
        text[d.span.start as usize..d.span.end as usize].to_string(),
        d.notes.clone(),
    )
}

#[test]
fn the_note_names_the_character_and_what_to_type() {
    let n = |t: &str| lookalike_dash(t).unwrap_or_default();
    assert!(n("–A").contains("an en dash (U+2013)") && n("–A").ends_with("Type `-A`"));
    // One dash before a long name stood for two.
    assert!(n("–dport").ends_with("Type `--dport`"), "{}", n("–dport"));
    assert!(n("—dport").contains("an em dash (U+2014)") && n("—dport").ends_with("`--dport`"));
    assert!(n("−j").contains("a minus sign (U+2212)") && n("−j").ends_with("Type `-j`"));
    assert!(n("–-dport").ends_with("Type `--dport`"), "{}", n("–-dport"));
    assert_eq!(lookalike_dash("-A"), None);
    assert_eq!(lookalike_dash("ACCEPT"), None);
    assert_eq!(lookalike_dash(""), None);
}

#[test]
fn a_script_line_pasted_from_a_blog() {
    let text = "sudo iptables –A INPUT –p tcp –dport 22 –j ACCEPT\nsudo iptables -P INPUT DROP\n";
    let (code, at, notes) = only_error("blog.sh", text);
    assert_eq!(code, "E111");
    assert_eq!(at, "–A");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("Type `-A`"), "{notes:?}");
}

#[test]
fn a_rule_option_with_a_lookalike_dash() {
    let rules = |line: &str| {
        format!("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{line}\nCOMMIT\n")
    };
    let text = rules("-A INPUT -p tcp —dport 22 -j ACCEPT");
    let (code, at, notes) = only_error("x.rules", &text);
    assert_eq!((code, at.as_str()), ("E100", "—dport"));
    assert!(
        notes.iter().any(|n| n.contains("Type `--dport`")),
        "{notes:?}"
    );
    // A restore file's line that begins with one.
    let text = rules("–A INPUT -j ACCEPT");
    let (code, at, notes) = only_error("x.rules", &text);
    assert_eq!((code, at.as_str()), ("E100", "–A"));
    assert!(notes.iter().any(|n| n.contains("Type `-A`")), "{notes:?}");
    // An ordinary unexpected word gets no such note.
    let text = rules("-A INPUT -p tcp tcp -j ACCEPT");
    let e = errors("x.rules", &text);
    assert!(!e.is_empty());
    assert!(e
        .iter()
        .all(|d| d.notes.iter().all(|n| !n.contains("begins with"))));
}
