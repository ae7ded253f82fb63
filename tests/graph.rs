//! `fwcheck graph`: the DOT output parsed back and checked against the ruleset's chains,
//! jumps and the replay's counters; the SVG is well-formed XML with one box per chain and hook;
//! `lint --chains` lists counters equal to the engine's.

use std::collections::{BTreeMap, BTreeSet};

use fwcheck::engine::{Engine, SimEnv, SimOptions};
use fwcheck::lint::{load_str, Loaded};
use fwcheck::replay::{self, Source};
use fwcheck::ruleset::model::Action;
use fwcheck::ruleset::ParseOptions;

fn load_text(name: &str, text: &str) -> Loaded {
    let l = load_str(name, text, ParseOptions::default());
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    l
}

fn load(path: &str) -> Loaded {
    load_text(path, &std::fs::read_to_string(path).unwrap())
}

/// A small DOT reader: node statements `"id" [attrs];` and edges `"a" -> "b" [attrs];`.
struct Dot {
    nodes: BTreeMap<String, BTreeMap<String, String>>,
    edges: Vec<(String, String, BTreeMap<String, String>)>,
}

fn quoted(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start().strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, n) = chars.next()?;
                if n == 'n' {
                    out.push_str("\\n");
                } else {
                    out.push(n);
                }
            }
            '"' => return Some((out, &s[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

fn attrs(s: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let Some(body) = s
        .trim()
        .strip_prefix('[')
        .and_then(|b| b.trim_end_matches(';').strip_suffix(']'))
    else {
        return m;
    };
    let mut rest = body;
    while !rest.trim().is_empty() {
        let (k, after) = rest.split_once('=').expect("key=value");
        let k = k.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (v, more) = if after.starts_with('"') {
            quoted(after).expect("quoted value")
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        m.insert(k, v);
        rest = more.trim_start().trim_start_matches(',');
    }
    m
}

fn parse_dot(text: &str) -> Dot {
    assert!(text.starts_with("digraph fwcheck {"));
    assert!(text.trim_end().ends_with('}'));
    let mut d = Dot {
        nodes: BTreeMap::new(),
        edges: Vec::new(),
    };
    for line in text.lines() {
        let l = line.trim();
        if !l.starts_with('"') {
            continue;
        }
        let (a, rest) = quoted(l).expect("id");
        if let Some(rest) = rest.trim_start().strip_prefix("->") {
            let (b, rest) = quoted(rest).expect("edge target");
            d.edges.push((a, b, attrs(rest)));
        } else {
            d.nodes.insert(a, attrs(rest));
        }
    }
    d
}

fn replayed<'r>(l: &'r Loaded, pcap: &str) -> Engine<'r> {
    let src = Source::Capture(pcap.into());
    let hosts = replay::choose_hosts(&[], &src).unwrap().hosts;
    let opts = SimOptions {
        env: SimEnv {
            hosts,
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    replay::replay(&l.ruleset, opts, src, |_| {}).unwrap().0
}

fn check_against_ruleset(l: &Loaded, engine: Option<&Engine<'_>>) {
    let pic = fwcheck::graph::build(&l.ruleset, engine);
    let dot = parse_dot(&fwcheck::graph::to_dot(&pic));
    // Every chain is a node, plus the five hooks; nothing else.
    let mut want: BTreeSet<String> = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]
        .iter()
        .map(|h| format!("hook/{h}"))
        .collect();
    let mut jumps = BTreeSet::new();
    for (ti, t) in l.ruleset.tables.iter().enumerate() {
        for (ci, c) in t.chains.iter().enumerate() {
            want.insert(format!("{}/{}", t.kind.name(), c.name));
            for (ri, r) in c.rules.iter().enumerate() {
                let (to, kind) = match &r.action {
                    Action::Jump(cr) => (&cr.name, "jump"),
                    Action::Goto(cr) => (&cr.name, "goto"),
                    _ => continue,
                };
                let mut label = format!("#{} {kind}", ri + 1);
                if let Some(e) = engine {
                    label.push_str(&format!(" ({} pkts)", e.rule_counters(ti, ci, ri).packets));
                }
                jumps.insert((
                    format!("{}/{}", t.kind.name(), c.name),
                    format!("{}/{to}", t.kind.name()),
                    label,
                ));
            }
        }
    }
    let got: BTreeSet<String> = dot.nodes.keys().cloned().collect();
    assert_eq!(got, want);
    let got_jumps: BTreeSet<_> = dot
        .edges
        .iter()
        .filter(|(_, _, a)| a.get("label").is_some_and(|l| l.starts_with('#')))
        .map(|(a, b, at)| (a.clone(), b.clone(), at["label"].clone()))
        .collect();
    assert_eq!(got_jumps, jumps);
    // Hook edges: each hook leads to its tables' built-in chains in priority order.
    for (hook, at) in &pic.hooks {
        let mut prev = format!("hook/{}", hook.chain_name());
        for &ni in at {
            let id = pic.nodes[ni].id();
            assert!(
                dot.edges.iter().any(|(a, b, _)| *a == prev && *b == id),
                "{prev} -> {id}"
            );
            prev = id;
        }
    }
    // Policies and unreachable chains in the labels.
    for n in &pic.nodes {
        let label = &dot.nodes[&n.id()]["label"];
        if let Some(p) = n.policy {
            assert!(label.contains(&format!("policy {p}")), "{label}");
        }
        assert_eq!(label.contains("unreachable"), !n.reachable, "{label}");
        assert_eq!(
            dot.nodes[&n.id()].get("fillcolor").map(String::as_str) == Some("gray90"),
            !n.reachable
        );
        if let (Some(e), None) = (engine, n.hook) {
            let _ = e;
            let entered: u64 = pic
                .edges
                .iter()
                .filter(|j| j.table == n.table && j.to == n.chain)
                .map(|j| j.packets.unwrap())
                .sum();
            assert!(
                label.contains(&format!("entered {entered} pkts")),
                "{label}"
            );
        }
    }
}

#[test]
fn dot_of_both_guides_and_real_rulesets_reads_back() {
    for f in [
        "fixtures/guides/guide-000-webserver.rules.v4",
        "fixtures/guides/guide-001-apache.rules.v4",
        "fixtures/real/ufw.rules.v4",
        "fixtures/real/docker.rules.v4",
        "fixtures/real/kube-proxy.rules.v4",
    ] {
        check_against_ruleset(&load(f), None);
    }
}

#[test]
fn dot_counts_are_the_replay_counters() {
    let l = load("fixtures/real/ufw.rules.v4");
    let e = replayed(&l, "pcaps/webserver.pcap");
    check_against_ruleset(&l, Some(&e));
    let pic = fwcheck::graph::build(&l.ruleset, Some(&e));
    // Traffic went through ufw's chains: some jump counted packets.
    assert!(pic.edges.iter().any(|j| j.packets.unwrap() > 0));
    let l = load("fixtures/guides/guide-000-webserver.rules.v4");
    let e = replayed(&l, "pcaps/webserver.pcap");
    check_against_ruleset(&l, Some(&e));
}

#[test]
fn unreachable_chain_is_greyed() {
    let l = load_text(
        "t.rules",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         :USED - [0:0]\n:ORPHAN - [0:0]\n:ORPHAN2 - [0:0]\n-A INPUT -p tcp -j USED\n\
         -A USED -g ORPHAN2\n-A ORPHAN -j DROP\nCOMMIT\n",
    );
    let pic = fwcheck::graph::build(&l.ruleset, None);
    let reach: BTreeMap<_, _> = pic
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.reachable))
        .collect();
    assert!(reach["USED"]);
    assert!(reach["ORPHAN2"]);
    assert!(!reach["ORPHAN"]);
    check_against_ruleset(&l, None);
    let dot = parse_dot(&fwcheck::graph::to_dot(&pic));
    let goto = dot
        .edges
        .iter()
        .find(|(a, b, _)| a == "filter/USED" && b == "filter/ORPHAN2")
        .unwrap();
    assert_eq!(goto.2["style"], "dashed");
    assert_eq!(goto.2["label"], "#1 goto");
}

#[test]
fn svg_is_well_formed_with_a_box_per_chain_and_hook() {
    for f in [
        "fixtures/guides/guide-000-webserver.rules.v4",
        "fixtures/real/docker.rules.v4",
    ] {
        let l = load(f);
        let pic = fwcheck::graph::build(&l.ruleset, None);
        let svg = fwcheck::graph::to_svg(&pic);
        let mut r = quick_xml::Reader::from_str(&svg);
        let mut rects = 0;
        loop {
            match r.read_event().expect("well-formed SVG") {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Empty(e) | quick_xml::events::Event::Start(e)
                    if e.name().as_ref() == b"rect" =>
                {
                    rects += 1
                }
                _ => {}
            }
        }
        // One background, five hooks, one per chain.
        assert_eq!(rects, 1 + 5 + pic.nodes.len(), "{f}");
        for n in &pic.nodes {
            assert!(
                svg.contains(&format!(">{}<", n.name))
                    || svg.contains(&format!("{} {}<", n.table.name(), n.name)),
                "{}",
                n.name
            );
        }
    }
}

#[test]
fn chain_listing_counters_are_the_engines() {
    let l = load("fixtures/guides/guide-000-webserver.rules.v4");
    let e = replayed(&l, "pcaps/webserver.pcap");
    let text = fwcheck::report::chains::listing(&l.ruleset, Some(&e), Some("INPUT")).unwrap();
    let t = &l.ruleset.tables[0];
    let (ci, c) = t.builtin(fwcheck::ruleset::model::Hook::Input).unwrap();
    let pc = e.policy_counters(0, ci);
    assert!(text.contains(&format!(
        "Chain INPUT (policy DROP {} packets, {} bytes)",
        pc.packets, pc.bytes
    )));
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(rows.len(), c.rules.len());
    for (ri, row) in rows.iter().enumerate() {
        let f: Vec<&str> = row.split_whitespace().collect();
        let ctr = e.rule_counters(0, ci, ri);
        assert_eq!(f[0], (ri + 1).to_string());
        assert_eq!(f[1], ctr.packets.to_string());
        assert_eq!(f[2], ctr.bytes.to_string());
    }
    let err = fwcheck::report::chains::listing(&l.ruleset, None, Some("NOPE")).unwrap_err();
    assert!(err.contains("NOPE"));
}
