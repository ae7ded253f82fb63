//! FW001 from a capture only for real lockouts: an administrator's session to this host that
//! was established and is cut, or that the capture shows happened and the ruleset would
//! refuse. Scans, attempts turned away by a rate or brute-force guard, forwarded traffic and
//! peers outside `--admin` are not lockouts. Captures are built packet by packet.

use std::process::Command;

use fwcheck::analysis::capture::CaptureAnalyzer;
use fwcheck::analysis::synth::Synth;
use fwcheck::analysis::{CheckOptions, Finding, Net, Service};
use fwcheck::engine::{SimEnv, SimOptions, Verdict};
use fwcheck::lint::Loaded;
use fwcheck::packet::Packet;
use fwcheck::replay::{replay, Item, Source};

mod lockout_captures;
use lockout_captures::*;

struct Run {
    fw001: Vec<Finding>,
    verdicts: Vec<Option<Verdict>>,
}

fn run(l: &Loaded, pkts: Vec<Packet>, router: bool, admin: &[&str]) -> Run {
    let check = CheckOptions {
        router,
        admin: admin.iter().map(|a| Net::parse(a).unwrap()).collect(),
        ..CheckOptions::default()
    };
    run_with(l, pkts, check)
}

fn run_with(l: &Loaded, pkts: Vec<Packet>, check: CheckOptions) -> Run {
    let hosts = vec![ip(HOST)];
    let opts = SimOptions {
        env: SimEnv {
            hosts: hosts.clone(),
            ..SimEnv::default()
        },
        router: check.router,
        ..SimOptions::default()
    };
    let mut a = CaptureAnalyzer::new(&check, &hosts, &l.ruleset);
    let mut verdicts = Vec::new();
    let (engine, _) = replay(&l.ruleset, opts, Source::Packets(pkts), |item| {
        if let Item::Packet(p, o) = item {
            a.observe(p, o);
            verdicts.push(o.verdict);
        }
    })
    .unwrap();
    let fw001 = a
        .finish(l, &engine)
        .into_iter()
        .filter(|f| f.code == "FW001")
        .collect();
    Run { fw001, verdicts }
}

#[test]
fn scans_to_the_ssh_port_are_not_a_lockout() {
    let l = rules(GUARDED);
    let mut sy = Synth::default();
    let pkts = scans(&mut sy);
    let r = run(&l, pkts, false, &[]);
    // The ruleset does drop them…
    assert!(r.verdicts.iter().any(|v| matches!(v, Some(Verdict::Drop))));
    // …but no session was ever opened.
    assert!(r.fw001.is_empty(), "{:#?}", r.fw001);
}

#[test]
fn a_syn_scan_answered_by_the_host_is_not_a_lockout() {
    // Captured without the ruleset: the host answered a SYN scan's SYN with a SYN/ACK and the
    // scanner reset it. Under a ruleset that does not admit the scanner, that is no session.
    let l = rules(
        "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
",
    );
    let mut sy = Synth::default();
    let mut c = Conv::new(SCANNER, 50_123, HOST, 22);
    let pkts = vec![
        c.syn(&mut sy),
        c.synack(&mut sy),
        c.rst_from_client(&mut sy),
    ];
    let r = run(&l, pkts, false, &[]);
    assert_eq!(r.verdicts[0], Some(Verdict::Drop));
    assert!(r.fw001.is_empty(), "{:#?}", r.fw001);
}

#[test]
fn attempts_refused_by_a_recent_guard_are_not_a_lockout() {
    // Six SSH connections from one address within a few seconds, captured on a host without
    // the guard: every one was answered. Under the guard, the fourth and later are dropped.
    let l = rules(GUARDED);
    let mut sy = Synth::default();
    let r = run(&l, six_attempts(&mut sy), false, &[]);
    let dropped = r
        .verdicts
        .iter()
        .filter(|v| matches!(v, Some(Verdict::Drop)))
        .count();
    assert!(dropped >= 3, "the guard must refuse some: {:?}", r.verdicts);
    assert!(r.fw001.is_empty(), "{:#?}", r.fw001);
}

#[test]
fn a_guard_reached_through_a_user_chain_is_still_a_guard() {
    let l = rules(
        "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:LOGDROP - [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --set --name SSH --rsource
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --update --seconds 60 --hitcount 3 --name SSH --rsource -j LOGDROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A LOGDROP -j LOG --log-prefix \"ssh-brute \"
-A LOGDROP -j DROP
COMMIT
",
    );
    let mut sy = Synth::default();
    let mut pkts = Vec::new();
    for i in 0..5u16 {
        let mut c = Conv::new(ADMIN, 50_000 + i, HOST, 22);
        pkts.extend(c.session(&mut sy, 1));
    }
    let r = run(&l, pkts, false, &[]);
    assert!(r.verdicts.contains(&Some(Verdict::Drop)));
    assert!(r.fw001.is_empty(), "{:#?}", r.fw001);
}

#[test]
fn forwarded_ssh_between_two_other_hosts_is_not_a_lockout() {
    // Router mode: SSH from one network to a server behind the host; FORWARD has no rule for
    // the server's replies, so they are dropped. Not this host's administrator.
    let l = rules(
        "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -d 10.0.0.5/32 -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
",
    );
    let mut sy = Synth::default();
    let mut pkts = Vec::new();
    for i in 0..2u16 {
        let mut c = Conv::new(ADMIN, 50_000 + i, "10.0.0.5", 22);
        pkts.extend(c.session(&mut sy, 2));
        // And the other way round: the server behind the host as an SSH client.
        let mut c = Conv::new("10.0.0.5", 40_000 + i, "192.0.2.200", 22);
        pkts.extend(c.session(&mut sy, 2));
    }
    let r = run(&l, pkts, true, &[]);
    assert!(
        r.verdicts.contains(&Some(Verdict::Drop)),
        "{:?}",
        r.verdicts
    );
    assert!(r.fw001.is_empty(), "{:#?}", r.fw001);
}

#[test]
fn an_established_session_cut_is_one_finding_for_its_administrator() {
    let l = rules(NEW_ONLY);
    let mut sy = Synth::default();
    let mut c = Conv::new(ADMIN, 50_000, HOST, 22);
    let mut pkts = c.session(&mut sy, 3);
    // Scans from elsewhere in the same capture change nothing.
    pkts.extend(scans(&mut sy));
    let r = run(&l, pkts, false, &[]);
    assert_eq!(r.verdicts[0], Some(Verdict::Accept), "SYN");
    assert_eq!(r.verdicts[1], Some(Verdict::Accept), "SYN/ACK");
    assert_eq!(r.verdicts[2], Some(Verdict::Drop), "ACK");
    assert_eq!(r.fw001.len(), 1, "{:#?}", r.fw001);
    let f = &r.fw001[0];
    assert!(
        f.message
            .contains(&format!("the tcp/22 session from {ADMIN} (port 50000)")),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("cut after it was established"),
        "{}",
        f.message
    );
    assert_eq!(f.frame, Some(3));
    // The policy cuts it: file:line of `:INPUT DROP`.
    assert_eq!(f.line, Some(2));
    assert_eq!(f.details.len(), 1, "{:#?}", f.details);
    assert!(
        f.details[0].contains("established at frame 2")
            && f.details[0].contains("4 packet(s) to the host not accepted")
            && f.details[0].contains("(frames 3,4,6,8)")
            && f.details[0].contains("filter INPUT policy DROP"),
        "{}",
        f.details[0]
    );
}

#[test]
fn a_syn_ack_dropped_in_output_is_a_refused_handshake_not_a_cut() {
    // OUTPUT policy DROP: the SYN passes INPUT, the host's SYN/ACK is dropped. Conntrack has
    // seen that SYN/ACK (it runs before filter OUTPUT) and labels the peer's next ACK
    // ESTABLISHED, but the session never came up: the handshake is refused.
    let l = rules(
        "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
",
    );
    let mut sy = Synth::default();
    let pkts = Conv::new(ADMIN, 50_000, HOST, 22).session(&mut sy, 2);
    let r = run(&l, pkts, false, &[]);
    assert_eq!(r.verdicts[1], Some(Verdict::Drop));
    assert_eq!(r.fw001.len(), 1, "{:#?}", r.fw001);
    let f = &r.fw001[0];
    assert!(
        f.message
            .contains("refused although the capture shows it happened"),
        "{}",
        f.message
    );
    assert_eq!((f.frame, f.line), (Some(2), Some(4)));
    assert!(
        f.details[0].contains("the first DROP by filter OUTPUT policy DROP"),
        "{}",
        f.details[0]
    );
}

#[test]
fn a_stray_segment_dropped_mid_session_cuts_nothing() {
    // The correct ruleset drops an INVALID (out-of-window) segment of the admin's session; the
    // session goes on. Nothing is cut.
    let l = rules(GUARDED);
    let mut sy = Synth::default();
    let r = run(&l, stray_invalid_segment(&mut sy), false, &[]);
    assert_eq!(r.verdicts[7], Some(Verdict::Drop), "{:?}", r.verdicts);
    assert!(r.verdicts[8..].iter().all(|v| *v == Some(Verdict::Accept)));
    assert!(r.fw001.is_empty(), "{:#?}", r.fw001);
}

#[test]
fn a_guard_that_counts_established_packets_cuts_the_session() {
    // `recent` without a state restriction counts every packet of the session: the guard
    // refuses no attempt, it cuts the session in use. That is a lockout.
    let l = rules(
        "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m recent --set --name SSH --rsource
-A INPUT -p tcp -m tcp --dport 22 -m recent --update --seconds 60 --hitcount 4 --name SSH --rsource -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
",
    );
    let mut sy = Synth::default();
    let mut c = Conv::new(ADMIN, 50_000, HOST, 22);
    let r = run(&l, c.session(&mut sy, 4), false, &[]);
    assert_eq!(r.fw001.len(), 1, "{:#?}", r.fw001);
    let f = &r.fw001[0];
    assert_eq!(f.line, Some(6), "{f:#?}");
    assert!(
        f.details[0].contains("restrict it to new connections"),
        "{}",
        f.details[0]
    );
}

#[test]
fn sessions_the_capture_shows_but_the_ruleset_refuses_are_one_finding_per_admin() {
    // Captured before the change: two SSH sessions from the admin and one from a colleague,
    // each answered by the host. The new ruleset admits only 10.0.0.0/8.
    let l = rules(
        "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
",
    );
    let mut sy = Synth::default();
    let mut pkts = Vec::new();
    pkts.extend(Conv::new(ADMIN, 50_000, HOST, 22).session(&mut sy, 2));
    pkts.extend(Conv::new("198.51.100.8", 51_000, HOST, 22).session(&mut sy, 1));
    pkts.extend(Conv::new(ADMIN, 50_001, HOST, 22).session(&mut sy, 2));
    // From the admitted network: fine.
    pkts.extend(Conv::new("10.1.2.3", 52_000, HOST, 22).session(&mut sy, 1));
    let r = run(&l, pkts, false, &[]);
    assert_eq!(r.fw001.len(), 2, "{:#?}", r.fw001);
    let admin = r
        .fw001
        .iter()
        .find(|f| f.message.contains(ADMIN))
        .expect("a finding for the admin");
    assert!(
        admin.message.contains(&format!(
            "2 tcp/22 sessions from {ADMIN} (ports 50000, 50001) are"
        )),
        "{}",
        admin.message
    );
    assert!(
        admin
            .message
            .contains("are refused although the capture shows they happened"),
        "{}",
        admin.message
    );
    assert_eq!(admin.frame, Some(1));
    assert_eq!(admin.details.len(), 2, "{:#?}", admin.details);
    assert!(admin.details[0].contains("the host's SYN/ACK is frame 2"));
    assert!(admin.details[0].contains("filter INPUT policy DROP"));
    assert!(admin.details[1].contains(&format!("{ADMIN}:50001 → {HOST}:22")));
    // With --admin naming the admin's network only, the colleague is not reported.
    let mut sy = Synth::default();
    let mut pkts = Vec::new();
    pkts.extend(Conv::new(ADMIN, 50_000, HOST, 22).session(&mut sy, 2));
    pkts.extend(Conv::new("192.0.2.8", 51_000, HOST, 22).session(&mut sy, 1));
    let r = run(&l, pkts, false, &["198.51.100.0/24"]);
    assert_eq!(r.fw001.len(), 1, "{:#?}", r.fw001);
    assert!(r.fw001[0].message.contains(ADMIN));
}

#[test]
fn a_capture_starting_mid_session_is_not_a_lockout() {
    // tcpdump started inside the admin's own SSH session: no SYN in the capture. A ruleset
    // that admits new sessions with --syn only drops the first segments until the host's
    // reply is seen — on the real host the session is already in conntrack.
    let l = rules(SYN_ONLY);
    let mut sy = Synth::default();
    let pkts = mid_session(&mut sy);
    let r = run(&l, pkts, false, &[]);
    assert_eq!(r.verdicts[0], Some(Verdict::Drop));
    assert!(r.fw001.is_empty(), "{:#?}", r.fw001);
}

#[test]
fn udp_management_service_refused_after_the_host_answered() {
    let l = rules(
        "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p udp -m udp --dport 1194 -s 10.0.0.0/8 -j ACCEPT
COMMIT
",
    );
    let check = CheckOptions {
        mgmt: vec![Service::parse("udp/1194").unwrap()],
        ..CheckOptions::default()
    };
    let mut sy = Synth::default();
    let (a, h) = ((ip(ADMIN), 40_000), (ip(HOST), 1194));
    let pkts = vec![sy.udp(a, h, 40), sy.udp(h, a, 40), sy.udp(a, h, 40)];
    // An unanswered probe from elsewhere is no session.
    let mut probe = vec![sy.udp((ip(SCANNER), 40_001), h, 40)];
    let mut all = pkts;
    all.append(&mut probe);
    let r = run_with(&l, all, check);
    assert_eq!(r.fw001.len(), 1, "{:#?}", r.fw001);
    assert!(r.fw001[0].message.contains("udp/1194"));
    assert!(r.fw001[0].details[0].contains("the host answered in frame 2"));
}

#[test]
fn cli_correct_ruleset_with_scans_and_guarded_attempts_passes() {
    let mut sy = Synth::default();
    let mut pkts = scans(&mut sy);
    pkts.extend(six_attempts(&mut sy));
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("c.pcap");
    let rs = dir.path().join("rules.v4");
    fwcheck::packet::write_pcap(std::fs::File::create(&cap).unwrap(), &pkts).unwrap();
    std::fs::write(&rs, GUARDED).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args([
            rs.to_str().unwrap(),
            "--pcap",
            cap.to_str().unwrap(),
            "--host",
            HOST,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("FW001"), "{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // The same capture under a ruleset that cuts the sessions: exit 1, one FW001 from the
    // capture (the static lockout check finds its own).
    std::fs::write(&rs, NEW_ONLY).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args([
            rs.to_str().unwrap(),
            "--pcap",
            cap.to_str().unwrap(),
            "--host",
            HOST,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(
        stdout.matches("lockout seen in the capture").count(),
        1,
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("6 tcp/22 sessions from {ADMIN}")),
        "{stdout}"
    );
}
