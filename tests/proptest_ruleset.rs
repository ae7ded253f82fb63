//! Property tests of the ruleset model:
//! - `fmt` is a fixed point: formatting the formatted text gives it back, for generated rulesets
//!   built from every form the parser accepts (abbreviations, names, negations, address lists).
//! - The parser never panics, on arbitrary bytes and on mutations of valid rulesets.

use fwcheck::lint::load_str;
use fwcheck::ruleset::printer::{print_ruleset, PrintOptions};
use fwcheck::ruleset::{InputFormat, ParseOptions};
use proptest::prelude::*;

fn addr() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("192.0.2.1".to_string()),
        Just("198.51.100.0/24".to_string()),
        Just("203.0.113.7/255.255.255.0".to_string()),
        Just("10/8".to_string()),
        Just("192.0.2.1,192.0.2.9".to_string()),
        (0u8..=255, 0u8..=32).prop_map(|(a, l)| format!("203.0.113.{a}/{l}")),
    ]
}

fn port(tcp: bool) -> impl Strategy<Value = String> {
    // iptables resolves service names for any protocol (`-p udp --sport ssh` is port 22).
    let service = if tcp { "http" } else { "ssh" };
    prop_oneof![
        (0u16..=65535).prop_map(|p| p.to_string()),
        (0u16..=1000, 1000u16..=65535).prop_map(|(a, b)| format!("{a}:{b}")),
        (1u16..=65535).prop_map(|a| format!("{a}:")),
        (0u16..=65535).prop_map(|b| format!(":{b}")),
        Just(service.to_string()),
        Just("0x50".to_string()),
    ]
}

fn neg() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), Just("! ")]
}

fn rule_body() -> impl Strategy<Value = String> {
    let header = (
        proptest::option::of((neg(), addr())),
        proptest::option::of(addr()),
        proptest::option::of((
            neg(),
            prop_oneof![Just("eth0"), Just("eth+"), Just("lo"), Just("wg0")],
        )),
    );
    let l4 = prop_oneof![
        Just(String::new()),
        (neg(), port(true), proptest::option::of(port(true))).prop_map(|(n, a, b)| format!(
            "-p tcp {n}--dport {a}{}",
            b.map(|b| format!(" --sport {b}")).unwrap_or_default()
        )),
        (port(false),).prop_map(|(a,)| format!("-p udp -m udp --sport {a}")),
        Just("-p tcp --syn".to_string()),
        Just("-p tcp ! --syn".to_string()),
        Just("-p tcp --tcp-flags SYN,RST SYN".to_string()),
        Just("-p tcp --tcp-flags ALL NONE".to_string()),
        prop_oneof![
            Just("echo-request"),
            Just("8"),
            Just("3/4"),
            Just("any"),
            Just("port-unr"),
            Just("ping")
        ]
        .prop_map(|t| format!("-p icmp --icmp-type {t}")),
        Just("-p 47".to_string()),
        Just("! -p udp".to_string()),
        Just("-f".to_string()),
    ];
    let m = prop_oneof![
        Just(String::new()),
        prop_oneof![
            Just("NEW"),
            Just("ESTABLISHED,RELATED"),
            Just("INVALID"),
            Just("NEW,UNTRACKED,DNAT")
        ]
        .prop_map(|s| format!("-m conntrack --ctstate {s}")),
        Just("-m state --state ESTABLISHED,RELATED".to_string()),
        Just("-m conntrack ! --ctstate NEW --ctdir REPLY".to_string()),
        Just("-m conntrack --ctstatus ASSURED --ctexpire 5:60".to_string()),
        "[a-z \"]{0,12}"
            .prop_map(|c| format!("-m comment --comment \"{}\"", c.replace('"', "\\\""))),
    ];
    let target = prop_oneof![
        Just("-j ACCEPT".to_string()),
        Just("-j DROP".to_string()),
        Just("-j RETURN".to_string()),
        Just("-j LOG --log-prefix \"x: \"".to_string()),
        Just(String::new()),
        Just("-j SUB".to_string()),
    ];
    (header, l4, m, target).prop_map(|((s, d, i), l4, m, t)| {
        let mut parts = Vec::new();
        if let Some((n, a)) = s {
            if n != "! " || !(a.contains(',') || a.ends_with("/0")) {
                parts.push(format!("{n}-s {a}"));
            }
        }
        if let Some(d) = d {
            parts.push(format!("-d {d}"));
        }
        if let Some((n, i)) = i {
            parts.push(format!("{n}-i {i}"));
        }
        parts.push(l4);
        parts.push(m);
        parts.push(t);
        parts.retain(|p| !p.is_empty());
        parts.join(" ")
    })
}

fn ruleset() -> impl Strategy<Value = String> {
    proptest::collection::vec(rule_body(), 0..20).prop_map(|rules| {
        let mut s = String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [3:120]\n:SUB - [0:0]\n");
        for r in &rules {
            s.push_str(&format!("-A INPUT {r}\n"));
        }
        s.push_str("-A SUB -j RETURN\nCOMMIT\n");
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn fmt_is_a_fixed_point(text in ruleset()) {
        let l = load_str("gen.rules", &text, ParseOptions::default());
        prop_assert!(!l.has_errors(), "{}\n{}", text, l.render_diagnostics(false));
        let once = print_ruleset(&l.ruleset, PrintOptions::default());
        let l2 = load_str("once.rules", &once, ParseOptions::default());
        prop_assert!(!l2.has_errors(), "{}\n{}", once, l2.render_diagnostics(false));
        let twice = print_ruleset(&l2.ruleset, PrintOptions::default());
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        for format in [InputFormat::Restore, InputFormat::Script] {
            let l = load_str("fuzz", &text, ParseOptions { format, ..ParseOptions::default() });
            for d in &l.diagnostics {
                let _ = d.render(&l.ruleset.source, false);
            }
        }
    }

    #[test]
    fn parser_never_panics_on_mutated_rules(text in ruleset(), cut in 0usize..2000, junk in "[-!\"' a-zA-Z0-9:/,.\\[\\]\\\\]{0,8}") {
        let mut t = text.clone();
        let at = cut.min(t.len());
        let at = (0..=at).rev().find(|i| t.is_char_boundary(*i)).unwrap_or(0);
        t.insert_str(at, &junk);
        let l = load_str("mut", &t, ParseOptions::default());
        for d in &l.diagnostics {
            let _ = d.render(&l.ruleset.source, false);
        }
        if !l.has_errors() {
            let _ = print_ruleset(&l.ruleset, PrintOptions::default());
        }
    }
}
