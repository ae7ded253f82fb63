//! FW001 for IPv6 rulesets: neighbour discovery (ICMPv6 135/136, hop limit 255) must pass, or
//! no neighbour reaches the host at all. The packets the check sends (the router soliciting
//! the host's address and the host's advertisement, the host soliciting the router and its
//! advertisement) go through a real kernel with each ruleset: fwcheck's verdicts must be the
//! kernel's, and FW001 must fire exactly when the kernel drops one. Needs root, ip6tables and
//! network namespaces.

#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::IpAddr;

use fwcheck::analysis::lockout::{self, nd_steps, ND_HOST_LINK_LOCAL};
use fwcheck::analysis::{run_scenario, CheckOptions};
use fwcheck::engine::{SimEnv, Verdict};
use fwcheck::oracle::{self, KernelVerdict, OracleConfig, OracleFrame};
use fwcheck::packet::Family;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const HEAD: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n";

fn neighbour_discovery_verdicts_match_the_kernel() {
    let cases = [
        // The usual mistake: sessions accepted, ND forgotten (UNTRACKED, not ESTABLISHED).
        (
            "no ICMPv6 rule",
            format!(
                "{HEAD}-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
                 -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
            ),
            true,
        ),
        (
            "ND accepted with hop limit 255",
            format!(
                "{HEAD}-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -m hl --hl-eq 255 -j ACCEPT\n\
                 -A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-advertisement -m hl --hl-eq 255 -j ACCEPT\n\
                 -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n"
            ),
            false,
        ),
        (
            "all ICMPv6 accepted",
            format!("{HEAD}-A INPUT -p ipv6-icmp -j ACCEPT\nCOMMIT\n"),
            false,
        ),
        (
            "UNTRACKED dropped",
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A OUTPUT -m conntrack --ctstate UNTRACKED -j DROP\nCOMMIT\n"
                .to_string(),
            true,
        ),
    ];
    let host = IpAddr::V6(HOST6);
    let host_ll: IpAddr = ND_HOST_LINK_LOCAL.parse().unwrap();
    // The oracle's host sits on a tun device (no link layer: no solicited-node groups), so
    // the router's solicitation goes to the host's address, as neighbour unreachability
    // detection sends it; the rules under test tell the two forms apart by nothing.
    let steps = nd_steps(host, host_ll, true);
    let mut failures = Vec::new();
    for (name, rules, cut) in cases {
        let loaded = fwcheck::lint::load_str(
            "rules.v6",
            &rules,
            ParseOptions {
                family: Family::V6,
                ..ParseOptions::default()
            },
        );
        assert!(
            !loaded.has_errors(),
            "{name}: {}",
            loaded.render_diagnostics(false)
        );
        let opts = CheckOptions {
            env: SimEnv {
                hosts: vec![host, host_ll],
                ..SimEnv::default()
            },
            ..CheckOptions::default()
        };
        let mine = run_scenario(&loaded.ruleset, &opts, &[], &steps);
        let frames: Vec<OracleFrame> = steps
            .iter()
            .map(|s| OracleFrame {
                frame: s.pkt.frame,
                ts: s.pkt.ts,
                ip: Some(s.pkt.data.to_vec()),
            })
            .collect();
        let cfg = OracleConfig::new(&rules, Family::V6, vec![host, host_ll]);
        let kernel = oracle::replay(&cfg, frames).expect("kernel replay");
        let mut kernel_cut = false;
        for s in &mine {
            let kv = kernel
                .iter()
                .find(|o| o.frame == s.pkt.frame)
                .and_then(|o| o.verdict);
            kernel_cut |= kv != Some(KernelVerdict::Accept);
            let fv = match s.outcome.verdict {
                Some(Verdict::Accept) => Some(KernelVerdict::Accept),
                Some(_) => Some(KernelVerdict::Drop),
                None => None,
            };
            if kv != fv || !s.outcome.certain {
                failures.push(format!(
                    "{name}: {}: kernel {kv:?}, fwcheck {fv:?} (certain {})",
                    s.what, s.outcome.certain
                ));
            }
        }
        assert_eq!(
            kernel_cut,
            cut,
            "{name}: {kernel:?}\n{}",
            failures.join("\n")
        );
        let found = lockout::evaluate(&loaded.ruleset, &opts)
            .into_iter()
            .find(|r| r.check == "neighbour discovery")
            .and_then(|r| r.finding);
        assert_eq!(found.is_some(), cut, "{name}: {found:?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

kernel_tests!(neighbour_discovery_verdicts_match_the_kernel);
