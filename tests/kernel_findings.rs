//! FW011–FW015 and FW020 against the Linux kernel: for each finding, the packets the check reasons with
//! (built by the same code) are replayed through the real netfilter, with the ruleset as it is
//! and with the finding's fix applied. The kernel must give fwcheck's verdict for every packet,
//! the behaviour the finding describes must be what the kernel does, and the fix must change
//! exactly that. Needs root, iptables and network namespaces; elsewhere reported ignored.

#[macro_use]
mod kernel_harness;

use std::net::IpAddr;

use fwcheck::analysis::synth::{self, Step, Synth};
use fwcheck::analysis::{placement, run_scenario, services, CheckOptions, Finding};
use fwcheck::engine::{SimEnv, Verdict};
use fwcheck::lint::load_str;
use fwcheck::oracle::{self, KernelVerdict, OracleConfig, OracleFrame};
use fwcheck::packet::tcp_flags as F;
use fwcheck::ruleset::{Family, ParseOptions, Ruleset};

const HOST: &str = "203.0.113.10";

fn host() -> IpAddr {
    HOST.parse().unwrap()
}

fn guide(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/guides")
            .join(name),
    )
    .expect("guide")
}

fn load(rules: &str) -> Ruleset {
    let l = load_str(
        "rules.v4",
        rules,
        ParseOptions {
            family: Family::V4,
            ..ParseOptions::default()
        },
    );
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    l.ruleset
}

fn opts() -> CheckOptions {
    CheckOptions {
        env: SimEnv {
            hosts: vec![host()],
            ..SimEnv::default()
        },
        ..CheckOptions::default()
    }
}

/// Insert `line` into the filter table of `rules`: before the rule that starts with `before`,
/// or, when `after` is empty, just before the filter table's COMMIT.
fn with_line(rules: &str, line: &str, before: &str) -> String {
    if before.is_empty() {
        let at = rules.rfind("COMMIT").expect("COMMIT");
        format!("{}{line}\n{}", &rules[..at], &rules[at..])
    } else {
        let at = rules.find(before).expect("anchor");
        format!("{}{line}\n{}", &rules[..at], &rules[at..])
    }
}

/// The kernel's verdict for each step, checked against fwcheck's.
fn kernel(rules: &str, steps: &[Step], name: &str) -> Vec<KernelVerdict> {
    let rs = load(rules);
    let mine = run_scenario(&rs, &opts(), &[], steps);
    let frames: Vec<OracleFrame> = steps
        .iter()
        .map(|s| OracleFrame {
            frame: s.pkt.frame,
            ts: s.pkt.ts,
            ip: Some(s.pkt.data.to_vec()),
        })
        .collect();
    let cfg = OracleConfig::new(rules, Family::V4, vec![host()]);
    let k = oracle::replay(&cfg, frames).unwrap_or_else(|e| panic!("{name}: replay: {e}"));
    let mut out = Vec::new();
    let mut diffs = Vec::new();
    for (s, m) in steps.iter().zip(&mine) {
        let kv = k
            .iter()
            .find(|o| o.frame == s.pkt.frame)
            .and_then(|o| o.verdict)
            .unwrap_or_else(|| panic!("{name}: no kernel verdict for {}", s.what));
        let fv = match m.outcome.verdict {
            Some(Verdict::Accept) => KernelVerdict::Accept,
            _ => KernelVerdict::Drop,
        };
        if kv != fv {
            diffs.push(format!("{}: kernel {kv:?}, fwcheck {fv:?}", s.what));
        }
        out.push(kv);
    }
    assert!(
        diffs.is_empty(),
        "{name}: fwcheck differs from the kernel: {diffs:?}"
    );
    out
}

fn codes(fs: &[Finding]) -> Vec<&'static str> {
    fs.iter().map(|f| f.code).collect()
}

const RELATED_ESTABLISHED_OUT: &str =
    "-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT";

/// FW011: guide 001 accepts tcp/80 but its SYN/ACK never leaves; with the fix it does.
fn dead_service_is_what_the_kernel_does() {
    let g1 = guide("guide-001-apache.rules.v4");
    let client: IpAddr = "198.51.100.77".parse().unwrap();
    let steps = services::service_scenario(client, host(), 6, 80);
    let k = kernel(&g1, &steps, "guide 001");
    assert_eq!(k[0], KernelVerdict::Accept, "the SYN is accepted");
    assert_eq!(k[1], KernelVerdict::Drop, "the SYN/ACK never leaves");
    let f = services::check(&load(&g1), &opts());
    let fw011: Vec<&Finding> = f.iter().filter(|f| f.code == "FW011").collect();
    assert!(fw011
        .iter()
        .any(|f| f.message.contains("tcp/80") && f.line == Some(5)));
    assert!(fw011[0].fix.as_deref().unwrap().contains("(verified"));

    // The fix as printed: appended to OUTPUT.
    let fixed = with_line(&g1, RELATED_ESTABLISHED_OUT, "");
    let k = kernel(&fixed, &steps, "guide 001 fixed");
    assert!(k.iter().all(|v| *v == KernelVerdict::Accept), "{k:?}");
    assert!(!codes(&services::check(&load(&fixed), &opts())).contains(&"FW011"));

    // Guide 000 answers its clients.
    let g0 = guide("guide-000-webserver.rules.v4");
    let k = kernel(&g0, &steps, "guide 000");
    assert!(k.iter().all(|v| *v == KernelVerdict::Accept), "{k:?}");
    assert!(!codes(&services::check(&load(&g0), &opts())).contains(&"FW011"));
}

/// FW012: a SYN from a blocklisted source to port 80 is accepted by line 5 in the kernel; with
/// the DROP moved above line 5 it is dropped.
fn blocklist_after_accept_is_what_the_kernel_does() {
    let g1 = guide("guide-001-apache.rules.v4");
    let rs = load(&g1);
    let f = placement::check(&rs, &opts());
    let fw012: Vec<&Finding> = f.iter().filter(|f| f.code == "FW012").collect();
    assert_eq!(
        fw012.iter().map(|f| f.line.unwrap()).collect::<Vec<_>>(),
        vec![10, 11, 12]
    );
    for (src, ban) in [
        ("198.51.100.7", "-A INPUT -s 198.51.100.7/32 -j DROP"),
        (
            "203.0.113.125",
            "-A INPUT -m iprange --src-range 203.0.113.125-203.0.113.225 -j DROP",
        ),
        ("192.168.1.1", "-A INPUT -s 192.168.1.0/24 -j DROP"),
    ] {
        let mut sy = Synth::default();
        let steps = vec![Step {
            what: format!("SYN {src} → :80"),
            pkt: sy.tcp(
                (src.parse().unwrap(), 41_000),
                (host(), 80),
                F::SYN,
                1,
                0,
                0,
            ),
        }];
        assert_eq!(kernel(&g1, &steps, ban), vec![KernelVerdict::Accept]);
        let moved = with_line(
            &g1.replace(&format!("{ban}\n"), ""),
            ban,
            "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT",
        );
        assert_eq!(
            kernel(&moved, &steps, &format!("{ban} moved")),
            vec![KernelVerdict::Drop]
        );
        assert!(!placement::check(&load(&moved), &opts())
            .iter()
            .any(|f| f.code == "FW012" && f.details[0].contains(ban)));
    }
}

/// FW013: after an ESTABLISHED accept, `--limit 1/minute --limit-burst 1` lets every packet of
/// the first connection through (far more than one) and refuses the next connection's SYN.
fn limit_after_established_counts_connections_in_the_kernel() {
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
                 -A INPUT -p tcp -m tcp --dport 22 -m limit --limit 1/min --limit-burst 1 -j ACCEPT\n\
                 COMMIT\n";
    let client: IpAddr = "198.51.100.77".parse().unwrap();
    let mut steps = services::service_scenario(client, host(), 6, 22);
    let n1 = steps.len();
    let last = steps.last().unwrap().pkt.clone();
    let mut sy = Synth::at(last.ts.0);
    sy.frame = last.frame;
    steps.extend(synth::tcp_session(
        &mut sy,
        (client, 41_001),
        (host(), 22),
        "client",
        "host",
    ));
    let k = kernel(rules, &steps[..n1 + 1], "limit after ESTABLISHED");
    let from_client = steps[..n1].iter().filter(|s| s.pkt.src == client).count();
    assert!(from_client > 1);
    assert!(
        k[..n1].iter().all(|v| *v == KernelVerdict::Accept),
        "every packet of the first connection passes: {k:?}"
    );
    assert_eq!(
        k[n1],
        KernelVerdict::Drop,
        "the second connection is refused"
    );
    let f = placement::check(&load(rules), &opts());
    assert_eq!(codes(&f), vec!["FW013"]);
    // The fix (state NEW before the limit) keeps every verdict, in the kernel too.
    let fixed = rules.replace(
        "--dport 22 -m limit",
        "--dport 22 -m conntrack --ctstate NEW -m limit",
    );
    assert_eq!(kernel(&fixed, &steps[..n1 + 1], "fixed"), k);
    assert!(placement::check(&load(&fixed), &opts()).is_empty());
}

/// FW014: a fragmentation-needed quoting the host's answer on an accepted tcp/80 connection is
/// dropped by guide 000 (ESTABLISHED, no RELATED) and by an ESTABLISHED-only ruleset, and
/// accepted once RELATED is.
fn icmp_error_needs_related_in_the_kernel() {
    let client: IpAddr = "198.51.100.77".parse().unwrap();
    let steps = services::pmtu_scenario(client, host(), 6, 80);
    let n = steps.len();
    let est_only = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                    -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
                    -A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n"
        .to_string();
    let g0 = guide("guide-000-webserver.rules.v4");
    for (name, rules) in [("guide 000", g0), ("ESTABLISHED only", est_only)] {
        let k = kernel(&rules, &steps, name);
        assert!(
            k[..n - 1].iter().all(|v| *v == KernelVerdict::Accept),
            "{name}: {k:?}"
        );
        assert_eq!(
            k[n - 1],
            KernelVerdict::Drop,
            "{name}: the ICMP error is dropped"
        );
        let f = services::check(&load(&rules), &opts());
        let fw014 = f.iter().find(|f| f.code == "FW014").expect("FW014");
        assert!(
            fw014.fix.as_deref().unwrap().contains("(verified"),
            "{name}"
        );
        // The fix as printed, and the usual RELATED,ESTABLISHED.
        for fix in [
            "-A INPUT -p icmp -m conntrack --ctstate RELATED -j ACCEPT",
            "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        ] {
            let fixed = with_line(&rules, fix, "");
            let k = kernel(&fixed, &steps, &format!("{name} + {fix}"));
            assert!(
                k.iter().all(|v| *v == KernelVerdict::Accept),
                "{name} + {fix}: {k:?}"
            );
            assert!(!codes(&services::check(&load(&fixed), &opts())).contains(&"FW014"));
        }
    }
}

/// FW015: guide 001's `-A OUTPUT -p tcp --dport 25 -j DROP` repeats the policy: the kernel drops
/// the host's SMTP SYN with and without it.
fn drop_equal_to_policy_in_the_kernel() {
    let g1 = guide("guide-001-apache.rules.v4");
    let f = placement::check(&load(&g1), &opts());
    let fw015: Vec<&Finding> = f.iter().filter(|f| f.code == "FW015").collect();
    assert_eq!(fw015.len(), 1);
    assert_eq!(fw015[0].line, Some(13));
    let mut sy = Synth::default();
    let steps = vec![Step {
        what: "SYN host → :25".into(),
        pkt: sy.tcp(
            (host(), 45_000),
            ("192.0.2.199".parse().unwrap(), 25),
            F::SYN,
            1,
            0,
            0,
        ),
    }];
    assert_eq!(kernel(&g1, &steps, "guide 001"), vec![KernelVerdict::Drop]);
    let without = g1.replace("-A OUTPUT -p tcp -m tcp --dport 25 -j DROP\n", "");
    assert_eq!(
        kernel(&without, &steps, "guide 001 without line 13"),
        vec![KernelVerdict::Drop]
    );
}

/// FW020: FTP opened without the helper: the kernel drops the passive data connection; with
/// the helper attached (the fix) it is RELATED and accepted.
fn ftp_data_needs_the_helper_in_the_kernel() {
    let client: IpAddr = "198.51.100.77".parse().unwrap();
    let steps = services::ftp_passive_scenario(client, host());
    let n = steps.len();
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
                 -A INPUT -p tcp -m tcp --dport 21 -j ACCEPT\nCOMMIT\n";
    let k = kernel(rules, &steps, "no helper");
    assert!(
        k[..n - 1].iter().all(|v| *v == KernelVerdict::Accept),
        "{k:?}"
    );
    assert_eq!(
        k[n - 1],
        KernelVerdict::Drop,
        "the data connection is dropped"
    );
    let f = services::check(&load(rules), &opts());
    let fw020 = f.iter().find(|f| f.code == "FW020").expect("FW020");
    assert!(fw020.fix.as_deref().unwrap().contains("(verified"));
    let fixed = format!(
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp\nCOMMIT\n{rules}"
    );
    let k = kernel(&fixed, &steps, "with the helper");
    assert!(k.iter().all(|v| *v == KernelVerdict::Accept), "{k:?}");
    assert!(!codes(&services::check(&load(&fixed), &opts())).contains(&"FW020"));
}

kernel_tests!(
    ftp_data_needs_the_helper_in_the_kernel,
    dead_service_is_what_the_kernel_does,
    blocklist_after_accept_is_what_the_kernel_does,
    limit_after_established_counts_connections_in_the_kernel,
    icmp_error_needs_related_in_the_kernel,
    drop_equal_to_policy_in_the_kernel,
);
