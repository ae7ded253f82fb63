//! The learning commands against the kernel: `fwcheck trace`'s verdict for each packet is the
//! kernel's (both guides' rulesets, independent packets), and `fwcheck lint --chains` prints
//! what `iptables -L -v -n --line-numbers` prints for the same ruleset loaded in a namespace.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::{self, KernelVerdict, OracleConfig};
use fwcheck::packet::Family;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const GUIDES: [&str; 2] = [
    include_str!("../fixtures/guides/guide-000-webserver.rules.v4"),
    include_str!("../fixtures/guides/guide-001-apache.rules.v4"),
];

fn trace_verdicts_are_the_kernels() {
    let (h, c) = (HOST, CLIENT);
    let other = std::net::Ipv4Addr::new(203, 0, 113, 150);
    let pkts: Vec<Vec<u8>> = vec![
        tcp4(c, h, 40001, 22, 1000, 0, SYN, 1),
        tcp4(c, h, 40002, 80, 1000, 0, SYN, 2),
        tcp4(c, h, 40003, 8080, 1000, 0, SYN, 3),
        tcp4(other, h, 40004, 443, 1000, 0, SYN, 4),
        tcp4(other, h, 40005, 21, 1000, 0, SYN, 5),
        tcp4(other, h, 40006, 25, 1000, 0, SYN, 6),
        udp4(other, h, 53, 5353, 7, b"x"),
        ping4(other, h, false, 1),
        tcp4(h, other, 80, 40007, 1000, 0, SYN | ACK, 9),
        tcp4(h, other, 40008, 25, 1000, 0, SYN, 10),
    ];
    for rules in GUIDES {
        let cfg = OracleConfig::new(rules, Family::V4, host());
        let out = oracle::replay(&cfg, frames(pkts.clone())).expect("kernel replay");
        let l = load_str("guide.rules", rules, ParseOptions::default());
        assert!(!l.has_errors());
        let opts = SimOptions {
            env: SimEnv {
                hosts: host(),
                ..SimEnv::default()
            },
            recognise_answers: false,
            ..SimOptions::default()
        };
        // Each packet alone, as the oracle injects them (a fresh engine each time).
        for (i, p) in decoded(&pkts).into_iter().enumerate() {
            let p = p.expect("decodes");
            let t = fwcheck::trace::trace_packets(&l.ruleset, opts.clone(), vec![p]);
            let got = t[0].record.verdict;
            let want = match out[i].verdict {
                Some(KernelVerdict::Accept) => Some("ACCEPT"),
                Some(KernelVerdict::Drop) => Some("DROP"),
                _ => None,
            };
            assert_eq!(
                got,
                want,
                "packet {}: {}",
                i + 1,
                fwcheck::report::trace::text(&t)
            );
            assert!(!t[0].steps.is_empty());
        }
    }
}

/// Runs `ip netns exec NS iptables ARGS` and returns standard output.
fn in_ns(ns: &str, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut cmd = std::process::Command::new("ip");
    cmd.args(["netns", "exec", ns]).args(args);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("ip netns exec");
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn chain_listing_is_iptables_l() {
    let ns = format!("fwck-why-{}", std::process::id());
    let st = std::process::Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .unwrap();
    assert!(st.success());
    let extra = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 :LOGDROP - [0:0]\n\
                 -A INPUT -s 192.0.2.0/24 ! -i eth0 -p tcp -m tcp --dport 22 -j LOGDROP\n\
                 -A INPUT -f -j DROP\n\
                 -A INPUT -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT\n\
                 -A INPUT -p icmp -m icmp --icmp-type 3/4 -j ACCEPT\n\
                 -A INPUT -m comment --comment \"hello there\" -j ACCEPT\n\
                 -A OUTPUT ! -d 198.51.100.0/24 -o eth1 -p udp -m udp --sport 1000:2000 -j RETURN\n\
                 -A LOGDROP -m limit --limit 3/min -j DROP\n\
                 -A LOGDROP -j DROP\nCOMMIT\n";
    let result = std::panic::catch_unwind(|| {
        for rules in GUIDES.iter().copied().chain([extra]) {
            in_ns(&ns, &["iptables", "-F"], None);
            in_ns(&ns, &["iptables", "-X"], None);
            in_ns(&ns, &["iptables-restore"], Some(rules));
            let kernel = in_ns(&ns, &["iptables", "-L", "-v", "-n", "--line-numbers"], None);
            let l = load_str("r.rules", rules, ParseOptions::default());
            assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
            let ours = fwcheck::report::chains::listing(&l.ruleset, None, None).unwrap();
            assert_eq!(ours, kernel, "\nours:\n{ours}\niptables:\n{kernel}");
        }
    });
    let _ = std::process::Command::new("ip")
        .args(["netns", "del", &ns])
        .status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

kernel_tests!(trace_verdicts_are_the_kernels, chain_listing_is_iptables_l);
