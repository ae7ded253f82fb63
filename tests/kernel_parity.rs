//! FW018 against the Linux kernel: every probe `--parity` reasons with (a new connection's first
//! packet to each compared port, over IPv4 through `iptables-restore` and over IPv6 through
//! `ip6tables-restore`) is replayed through the real netfilter; the kernel must give fwcheck's
//! verdict for each, and the ports FW018 reports must be exactly those the kernel accepts over
//! one family and refuses over the other. Needs root, iptables and network namespaces;
//! elsewhere reported ignored.

#[macro_use]
mod kernel_harness;

use std::collections::BTreeSet;

use fwcheck::analysis::{parity, run_scenario, CheckOptions};
use fwcheck::engine::Verdict;
use fwcheck::lint::load_str;
use fwcheck::oracle::{self, KernelVerdict, OracleConfig, OracleFrame};
use fwcheck::ruleset::{ParseOptions, Ruleset};

fn load(file: &str) -> Ruleset {
    let path = format!("{}/fixtures/parity/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture");
    let family = if file.ends_with(".v6") {
        fwcheck::ruleset::Family::V6
    } else {
        fwcheck::ruleset::Family::V4
    };
    let l = load_str(
        file,
        &text,
        ParseOptions {
            family,
            ..ParseOptions::default()
        },
    );
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    l.ruleset
}

/// The kernel's and fwcheck's "accepted" for the probe to each port, which must agree.
fn accepted(file: &str, ports: &[(u8, u16)]) -> Vec<bool> {
    let rs = load(file);
    let text = std::fs::read_to_string(format!(
        "{}/fixtures/parity/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut out = Vec::new();
    for &(proto, port) in ports {
        let (step, opts, host) = parity::probe_step(&rs, &CheckOptions::default(), proto, port);
        let mine = run_scenario(&rs, &opts, &[], std::slice::from_ref(&step));
        let cfg = OracleConfig::new(text.clone(), rs.family, vec![host]);
        let k = oracle::replay(
            &cfg,
            [OracleFrame {
                frame: step.pkt.frame,
                ts: step.pkt.ts,
                ip: Some(step.pkt.data.to_vec()),
            }],
        )
        .unwrap_or_else(|e| panic!("{file}: replay: {e}"));
        let kv = k[0].verdict.expect("the kernel judged the probe") == KernelVerdict::Accept;
        let fv = mine[0].outcome.verdict == Some(Verdict::Accept);
        assert_eq!(
            kv, fv,
            "{file} {proto}/{port}: kernel accepted={kv}, fwcheck {fv}"
        );
        out.push(kv);
    }
    out
}

fn compare(v4: &str, v6: &str) {
    let ports = [(6u8, parity::CANARY), (6, 22), (6, 80), (6, 443), (17, 53)];
    let a = accepted(v4, &ports);
    let b = accepted(v6, &ports);
    let differ: BTreeSet<String> = ports
        .iter()
        .zip(a.iter().zip(&b))
        .filter(|(_, (x, y))| x != y)
        .map(|((p, port), _)| format!("{}/{port}", if *p == 6 { "tcp" } else { "udp" }))
        .collect();
    let findings = parity::check(&load(v4), &load(v6), &CheckOptions::default());
    let reported: BTreeSet<String> = findings
        .iter()
        .map(|f| {
            let m = &f.message;
            let start = m.find("tcp/").or_else(|| m.find("udp/")).unwrap();
            let end = m[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '/'))
                .map_or(m.len(), |e| start + e);
            m[start..end].to_string()
        })
        .collect();
    // When the defaults differ, the ports decided by the defaults are the arbitrary port's one
    // finding; every reported port differs in the kernel, and every differing port is reported
    // or decided like the arbitrary port.
    assert!(reported.is_subset(&differ), "{reported:?} ⊄ {differ:?}");
    if !differ.contains(&format!("tcp/{}", parity::CANARY)) {
        assert_eq!(reported, differ);
    }
}

/// web.rules.v4 and web.rules.v6 open different ports: tcp/80, tcp/443 and udp/53 differ in the
/// kernel, and FW018 says exactly those.
fn ports_that_differ_are_what_the_kernel_does() {
    compare("web.rules.v4", "web.rules.v6");
}

/// An ip6tables INPUT at policy ACCEPT beside a default-deny rules.v4: the kernel accepts the
/// arbitrary port over IPv6 only, and FW018 reports it.
fn a_different_default_is_what_the_kernel_does() {
    compare("web.rules.v4", "open.rules.v6");
}

kernel_tests!(
    ports_that_differ_are_what_the_kernel_does,
    a_different_default_is_what_the_kernel_does,
);
