//! The indexed static analyses (FW006/FW007 shadowing, FW012 placement) against their pairwise
//! references (`shadow::check_pairwise`, `placement::check_pairwise`: every rule compared with
//! every earlier rule) on random rulesets built from a small vocabulary, so that covering,
//! overlapping, inverted, prefix, interface-wildcard, port-range and unmodelled-match cases all
//! occur often. The findings must be identical, byte for byte once serialized.

use fwcheck::analysis::{placement, shadow, CheckOptions};
use fwcheck::lint::load_str;
use proptest::prelude::*;

fn src() -> impl Strategy<Value = String> {
    let a = prop_oneof![
        Just("192.0.2.0/24"),
        Just("192.0.2.0/25"),
        Just("192.0.2.128/25"),
        Just("192.0.2.1"),
        Just("192.0.2.200"),
        Just("198.51.100.0/24"),
        Just("198.51.100.7"),
        Just("0.0.0.0/0"),
        Just("192.0.2.0/255.255.0.255"),
    ];
    prop_oneof![
        3 => Just(String::new()),
        4 => a.clone().prop_map(|a| format!("-s {a} ")),
        1 => a.prop_map(|a| format!("! -s {a} ")),
    ]
}

fn dst() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(String::new()),
        1 => Just("-d 203.0.113.0/24 ".to_string()),
        1 => Just("-d 203.0.113.10 ".to_string()),
        1 => Just("! -d 203.0.113.10 ".to_string()),
    ]
}

fn iface(dir: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(String::new()),
        1 => Just(format!("-{dir} eth0 ")),
        1 => Just(format!("-{dir} eth1 ")),
        1 => Just(format!("-{dir} eth+ ")),
        1 => Just(format!("! -{dir} eth0 ")),
        1 => Just(format!("-{dir} lo ")),
    ]
}

fn l4() -> impl Strategy<Value = String> {
    let port = prop_oneof![Just(22u16), Just(53), Just(80), Just(443)];
    prop_oneof![
        2 => Just(String::new()),
        1 => Just("-p tcp ".to_string()),
        1 => Just("-p udp ".to_string()),
        1 => Just("! -p tcp ".to_string()),
        2 => port.clone().prop_map(|p| format!("-p tcp -m tcp --dport {p} ")),
        1 => port.clone().prop_map(|p| format!("-p udp -m udp --dport {p} ")),
        1 => port.clone().prop_map(|p| format!("-p tcp -m tcp ! --dport {p} ")),
        1 => Just("-p tcp -m tcp --dport 20:100 ".to_string()),
        1 => Just("-p tcp -m tcp --dport 1:1024 ".to_string()),
        1 => Just("-p udp -m udp --sport 53 ".to_string()),
        1 => Just("-p tcp -m tcp --sport 443 --dport 1024:65535 ".to_string()),
        1 => Just("-p tcp -m multiport --dports 80,443 ".to_string()),
        1 => Just("-p tcp -m tcp --tcp-flags SYN,RST SYN ".to_string()),
        1 => Just("-p icmp -m icmp --icmp-type 8 ".to_string()),
        1 => Just("-p icmp -m icmp --icmp-type any ".to_string()),
    ]
}

fn extra() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just(String::new()),
        1 => Just("-m conntrack --ctstate NEW ".to_string()),
        1 => Just("-m conntrack --ctstate RELATED,ESTABLISHED ".to_string()),
        1 => Just("-m conntrack --ctstate INVALID ".to_string()),
        1 => Just("-m limit --limit 5/sec ".to_string()),
        1 => Just("-m iprange --src-range 192.0.2.10-192.0.2.20 ".to_string()),
        1 => Just("-m comment --comment \"x\" ".to_string()),
    ]
}

fn action(user: bool) -> impl Strategy<Value = String> {
    let mut v = vec![
        (3, "-j ACCEPT"),
        (3, "-j DROP"),
        (1, "-j REJECT --reject-with icmp-port-unreachable"),
        (1, "-j LOG"),
    ];
    if user {
        v.push((1, "-j RETURN"));
    } else {
        v.push((1, "-j u1"));
        v.push((1, "-g u1"));
    }
    proptest::sample::select(
        v.into_iter()
            .flat_map(|(w, a)| std::iter::repeat_n(a.to_string(), w))
            .collect::<Vec<_>>(),
    )
}

fn rules(chain: &'static str, dir: &'static str, user: bool) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (src(), dst(), iface(dir), l4(), extra(), action(user)),
        0..28,
    )
    .prop_map(move |rs| {
        rs.into_iter()
            .map(|(s, d, i, p, m, a)| format!("-A {chain} {s}{d}{i}{p}{m}{a}\n"))
            .collect()
    })
}

fn ruleset() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("DROP"), Just("ACCEPT")],
        rules("INPUT", "i", false),
        rules("OUTPUT", "o", false),
        rules("u1", "i", true),
    )
        .prop_map(|(pol, i, o, u)| {
            format!(
                "*filter\n:INPUT {pol} [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT {pol} [0:0]\n:u1 - [0:0]\n{i}{o}{u}COMMIT\n"
            )
        })
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).expect("serialize")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn shadow_index_equals_pairwise(text in ruleset()) {
        let l = load_str("r.rules", &text, Default::default());
        prop_assume!(!l.has_errors());
        let a = shadow::check(&l.ruleset);
        let b = shadow::check_pairwise(&l.ruleset);
        prop_assert_eq!(json(&a), json(&b), "{}", text);
    }

    #[test]
    fn placement_index_equals_pairwise(text in ruleset()) {
        let l = load_str("r.rules", &text, Default::default());
        prop_assume!(!l.has_errors());
        let o = CheckOptions::default();
        let a = placement::check(&l.ruleset, &o);
        let b = placement::check_pairwise(&l.ruleset, &o);
        prop_assert_eq!(json(&a), json(&b), "{}", text);
    }
}

/// The generator does produce findings of each kind (otherwise the comparison above proves
/// little): a fixed ruleset with a shadowed rule, a redundant one and a misplaced DROP.
#[test]
fn vocabulary_reaches_findings() {
    let text = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -s 192.0.2.0/24 -j ACCEPT\n-A INPUT -s 192.0.2.1 -p tcp -m tcp --dport 22 -j DROP\n\
-A INPUT -s 192.0.2.0/25 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n\
-A INPUT -s 198.51.100.7 -j DROP\nCOMMIT\n";
    let l = load_str("r.rules", text, Default::default());
    let s = shadow::check(&l.ruleset);
    let codes: Vec<&str> = s.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["FW006", "FW007"]);
    assert_eq!(json(&s), json(&shadow::check_pairwise(&l.ruleset)));
    let p = placement::check(&l.ruleset, &CheckOptions::default());
    assert!(p.iter().any(|f| f.code == "FW012"), "{p:?}");
    assert_eq!(
        json(&p),
        json(&placement::check_pairwise(
            &l.ruleset,
            &CheckOptions::default()
        ))
    );
}
