//! The dual-family replay against the Linux kernel: a host running iptables and ip6tables side
//! by side. Both rulesets are loaded together into one network namespace (`iptables-restore`
//! and `ip6tables-restore`, `OracleConfig::other_ruleset`), a capture with IPv4 and IPv6 frames
//! is replayed through it in capture order, and fwcheck's dual replay (one `Replayer` per family,
//! as `fwcheck RULES --pcap F --parity OTHER` runs it) must give the kernel's verdict for every
//! frame of both families. The kernel code this pins: `nf_conntrack_tuple` carries the layer-3
//! family (an IPv4 packet never matches an IPv6 connection), `ipt_do_table` / `ip6t_do_table`
//! hooked separately (`iptable_filter`, `ip6table_filter`). Needs root, iptables and network
//! namespaces; elsewhere reported ignored.

#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use fwcheck::compare::{compare_families, Comparison, Status};
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::{load_file, Loaded};
use fwcheck::oracle::Pacing;
use fwcheck::packet::tcp_flags::{ACK, SYN};
use fwcheck::packet::{Family, Packet, PacketProblem};
use fwcheck::ruleset::ParseOptions;
use fwcheck::session::{self, Collect, Config, RulesSource, Session, TrafficSpec};

use oracle_common::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(file: &str) -> Loaded {
    let family = if file.ends_with(".v6") {
        Family::V6
    } else {
        Family::V4
    };
    let l = load_file(
        &root().join(file),
        ParseOptions {
            family,
            ..ParseOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    l
}

fn sim(hosts: &[IpAddr]) -> SimOptions {
    SimOptions {
        env: SimEnv {
            hosts: hosts.to_vec(),
            ..SimEnv::default()
        },
        ..SimOptions::default()
    }
}

/// Frame number → family of the decoded frames.
fn families(frames: &[Result<Packet, PacketProblem>]) -> HashMap<u64, Family> {
    frames
        .iter()
        .filter_map(|f| f.as_ref().ok())
        .map(|p| (p.frame, p.family))
        .collect()
}

/// No mismatch; frames of both families compared; returns the comparison.
fn check(label: &str, cmp: &Comparison, fam: &HashMap<u64, Family>) {
    assert_eq!(
        cmp.mismatches,
        0,
        "{label}: fwcheck differs from the kernel\n{}",
        cmp.render(true)
    );
    let compared = |f: Family| {
        cmp.frames
            .iter()
            .filter(|c| c.status != Status::NotCompared && fam.get(&c.frame) == Some(&f))
            .count()
    };
    let (n4, n6) = (compared(Family::V4), compared(Family::V6));
    assert!(
        n4 > 0 && n6 > 0,
        "{label}: {n4} IPv4 and {n6} IPv6 frames compared"
    );
    eprintln!(
        "{label}: {} frames identical to the kernel ({n4} IPv4, {n6} IPv6), {} uncertain",
        cmp.matches, cmp.uncertain
    );
}

/// `pcaps/webserver-dual.pcap` (the same flows over IPv4 and IPv6) through a rules.v4 and a
/// rules.v6 that differ (`no-ssh.rules.v6` refuses the IPv6 SSH sessions the main command
/// reports as FW001): every frame as the kernel judges it, and the same HTTPS connection
/// accepted over IPv4 and dropped over IPv6 by the kernel. fwcheck's main command (the
/// session, on the capture's clock) gives the same verdicts as the compared replay.
fn dual_capture_through_both_rulesets() {
    let capture = root().join("pcaps/webserver-dual.pcap");
    let frames: Vec<Result<Packet, PacketProblem>> =
        fwcheck::packet::capture::CaptureReader::open(&capture)
            .expect("capture")
            .collect();
    let fam = families(&frames);
    let hosts: Vec<IpAddr> = vec![
        "203.0.113.10".parse().unwrap(),
        "2001:db8::10".parse().unwrap(),
    ];
    for (v4, v6) in [
        (
            "fixtures/guides/guide-000-webserver.rules.v4",
            "fixtures/parity/web.rules.v6",
        ),
        (
            "fixtures/parity/web.rules.v4",
            "fixtures/parity/open.rules.v6",
        ),
        (
            "fixtures/guides/guide-000-webserver.rules.v4",
            "fixtures/parity/no-ssh.rules.v6",
        ),
    ] {
        let label = format!("{v4} + {v6}");
        let (a, b) = (load(v4), load(v6));
        let cmp = compare_families(
            &a,
            &b,
            frames.clone(),
            sim(&hosts),
            Pacing::AsFastAsPossible,
        )
        .unwrap_or_else(|e| panic!("{label}: {e}"));
        check(&label, &cmp, &fam);
        // IPv6 frames are named by rules.v6's rules, IPv4 frames by rules.v4's.
        for c in &cmp.frames {
            let (Some(rule), Some(f)) = (&c.fwcheck_rule, fam.get(&c.frame)) else {
                continue;
            };
            if rule.starts_with("stack:") {
                continue;
            }
            let file = if *f == Family::V6 { v6 } else { v4 };
            assert!(rule.contains(file), "{label}: frame {}: {rule}", c.frame);
        }

        // The CLI's replay (Session with --parity) on the same capture, on the capture's
        // clock: the kernel's verdict for every frame. As in the comparison, the host's
        // answers to dropped requests are replayed as ordinary packets (the main command
        // recognises them as never sent, which the kernel cannot replay) and REJECT's replies
        // are not simulated.
        let source = |p: &str| RulesSource {
            path: p.into(),
            family: None,
            format: fwcheck::ruleset::InputFormat::Auto,
            backend: fwcheck::ext::Backend::Nft,
            ipsets: None,
        };
        let rules =
            session::load_rules(&source(&root().join(v4).display().to_string())).expect("rules.v4");
        let other =
            session::load_rules(&source(&root().join(v6).display().to_string())).expect("rules.v6");
        let traffic =
            session::traffic(TrafficSpec::Capture(capture.clone()), &[], false).expect("traffic");
        let chosen = session::choose_hosts_per_family(&[], Some(&traffic)).expect("hosts");
        assert_eq!(chosen.hosts, hosts);
        let s = Session::new(Config::default(), rules, chosen)
            .with_parity(other)
            .expect("parity");
        let mut rows = Collect::default();
        let opts = SimOptions {
            simulate_replies: false,
            recognise_answers: false,
            ..s.sim_options()
        };
        s.run_with(opts, Some(&traffic), &mut rows).expect("run");
        let kernel: HashMap<u64, Option<&str>> =
            cmp.frames.iter().map(|c| (c.frame, c.kernel)).collect();
        let mut same = 0;
        for r in &rows.records {
            let (Some(v), Some(Some(k))) = (r.verdict, kernel.get(&r.frame)) else {
                continue;
            };
            let accepted = v == "ACCEPT";
            assert_eq!(
                accepted,
                *k == "ACCEPT",
                "{label}: frame {}: fwcheck {v}, kernel {k}",
                r.frame
            );
            same += 1;
        }
        assert!(same > 500, "{label}: {same} frames");
    }
    // The families' verdicts differ in the kernel: frame 1 (IPv4, tcp/443) is accepted by the
    // guide's rules.v4, frame 2 (IPv6, the same connection's packet) dropped by web.rules.v6.
    let cmp = compare_families(
        &load("fixtures/guides/guide-000-webserver.rules.v4"),
        &load("fixtures/parity/web.rules.v6"),
        frames.iter().take(4).cloned().collect(),
        sim(&hosts),
        Pacing::AsFastAsPossible,
    )
    .expect("compare");
    let k: Vec<Option<&str>> = cmp.frames.iter().map(|c| c.kernel).collect();
    assert_eq!(fam[&1], Family::V4);
    assert_eq!(fam[&2], Family::V6);
    assert_eq!(k[0], Some("ACCEPT"), "{}", cmp.render(false));
    assert_eq!(k[1], Some("DROP"), "{}", cmp.render(false));
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
}

/// Conntrack is per family: the host's IPv6 SYN to a server, then an IPv4 SYN/ACK with the same
/// ports from that server's IPv4 address, is no answer (the kernel's tuples carry the family):
/// rules.v4 accepts only ESTABLISHED inbound, so the kernel drops it — and accepts the IPv6
/// SYN/ACK. Interleaved families, each with its own state.
fn conntrack_is_per_family() {
    let v4 = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
              -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n";
    let v6 = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
              -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
              -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let load_text = |name: &str, text: &str, family| {
        let l = fwcheck::lint::load_str(
            name,
            text,
            ParseOptions {
                family,
                ..ParseOptions::default()
            },
        );
        assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
        l
    };
    let a = load_text("rules.v4", v4, Family::V4);
    let b = load_text("rules.v6", v6, Family::V6);
    let server4 = Ipv4Addr::new(198, 51, 100, 80);
    let server6 = Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 80);
    let packets = vec![
        // 1: the host's IPv6 SYN out; 2: an IPv4 SYN/ACK with the same ports (no connection).
        tcp6(HOST6, server6, 40000, 80, 1000, 0, SYN),
        tcp4(server4, HOST, 80, 40000, 5000, 1001, SYN | ACK, 1),
        // 3: the IPv6 SYN/ACK: ESTABLISHED.
        tcp6(server6, HOST6, 80, 40000, 5000, 1001, SYN | ACK),
        // 4: an IPv4 SYN to tcp/22: rules.v4 has no such rule; 5: the IPv6 one is accepted.
        tcp4(CLIENT, HOST, 41000, 22, 7000, 0, SYN, 2),
        tcp6(CLIENT6, HOST6, 41000, 22, 7000, 0, SYN),
        // 6: the host's IPv4 SYN out, 7: its IPv4 SYN/ACK: ESTABLISHED over IPv4 too.
        tcp4(HOST, server4, 40001, 80, 9000, 0, SYN, 3),
        tcp4(server4, HOST, 80, 40001, 3000, 9001, SYN | ACK, 4),
    ];
    let frames = decoded(&packets);
    let fam = families(&frames);
    let hosts = vec![IpAddr::V4(HOST), IpAddr::V6(HOST6)];
    let cmp =
        compare_families(&a, &b, frames, sim(&hosts), Pacing::AsFastAsPossible).expect("compare");
    check("conntrack per family", &cmp, &fam);
    let k: Vec<Option<&str>> = cmp.frames.iter().map(|c| c.kernel).collect();
    let (acc, drop) = (Some("ACCEPT"), Some("DROP"));
    assert_eq!(
        k,
        vec![acc, drop, acc, drop, acc, acc, acc],
        "{}",
        cmp.render(false)
    );
}

kernel_tests!(dual_capture_through_both_rulesets, conntrack_is_per_family);
