//! Alternatives of uncertain verdicts (`--alternatives`, and always in `trace`): for each
//! match fwcheck cannot decide, the packet runs again on a fork of the state it met with that
//! match taken as matching. The main replay rebuilds that state from a checkpoint and the
//! packets since; `trace --frame N` rebuilds it by replaying frames 1..N-1. Both must give the
//! same alternatives, with state that matters (conntrack, a `limit` bucket), and with the
//! checkpoint moved after every packet. The kernel pins what the alternatives say
//! (`kernel_alternatives.rs`).

use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::packet::{flowspec, gen::GenOptions, Packet};
use fwcheck::replay::{Item, Replayer};
use fwcheck::ruleset::ParseOptions;

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:WATCH - [0:0]\n\
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n\
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n\
-A INPUT -m set --match-set trusted src -j WATCH\n\
-A INPUT -p tcp -m tcp --dport 443 -m limit --limit 2/sec --limit-burst 2 -j ACCEPT\n\
-A WATCH -p tcp -m tcp --dport 22 -j ACCEPT\n\
-A WATCH -p tcp -m tcp --dport 443 -m limit --limit 1/sec --limit-burst 1 -j DROP\n\
COMMIT\n";

fn opts(alternatives: u64) -> SimOptions {
    SimOptions {
        env: SimEnv {
            hosts: vec!["203.0.113.10".parse().unwrap()],
            conntrack_empty_at_start: true,
            ..SimEnv::default()
        },
        alternatives,
        ..SimOptions::default()
    }
}

fn traffic() -> Vec<Packet> {
    let specs = flowspec::parse_many(
        "tcp 198.51.100.7:40000 > 203.0.113.10:80; \
         tcp 198.51.100.8:40001 > 203.0.113.10:22; \
         tcp 198.51.100.9:40002 > 203.0.113.10:443; \
         tcp 198.51.100.10:40003 > 203.0.113.10:443; \
         tcp 198.51.100.11:40004 > 203.0.113.10:443; \
         udp 198.51.100.12:40005 > 203.0.113.10:53",
    )
    .expect("specs");
    flowspec::build(&specs, &GenOptions::default())
}

/// `(frame, verdict, [alternative verdicts])` of every frame, from the main replay.
fn replayed(pkts: &[Packet], log_limit: Option<usize>) -> Vec<(u64, String, Vec<String>)> {
    let l = load_str("alt.rules", RULES, ParseOptions::default());
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    let mut r = Replayer::new(&l.ruleset, opts(1000));
    if let Some(b) = log_limit {
        r.set_alternatives_log_limit(b);
    }
    let mut out = Vec::new();
    for p in pkts {
        r.feed(p, None, &mut |item| {
            if let Item::Packet(_, o) = item {
                out.push((
                    o.frame,
                    format!("{:?}/{}", o.verdict, o.certain),
                    o.alternatives
                        .iter()
                        .map(|a| format!("{:?}/{}/{:?}", a.verdict, a.certain, a.decision))
                        .collect(),
                ));
            }
        });
    }
    out
}

#[test]
fn replay_and_trace_fork_the_same_state() {
    let pkts = traffic();
    let main = replayed(&pkts, None);
    assert!(
        main.iter().filter(|(_, _, a)| !a.is_empty()).count() >= 4,
        "the traffic meets the undecidable set: {main:?}"
    );
    // The checkpoint moved after every packet gives the same.
    assert_eq!(replayed(&pkts, Some(0)), main);

    // trace --frame N rebuilds the state by replaying the frames before N.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alt.pcap");
    fwcheck::packet::write_pcap(std::fs::File::create(&path).unwrap(), &pkts).unwrap();
    let l = load_str("alt.rules", RULES, ParseOptions::default());
    for (frame, _, alts) in &main {
        let t = fwcheck::trace::trace_frame(&l.ruleset, opts(0), &path, *frame).expect("trace");
        let traced: Vec<Option<&str>> =
            t[0].record.alternatives.iter().map(|a| a.verdict).collect();
        let replayed: Vec<Option<&str>> = alts
            .iter()
            .map(|a| {
                ["Accept", "Drop", "Reject"]
                    .into_iter()
                    .find(|v| a.starts_with(&format!("Some({v})")))
                    .map(|v| match v {
                        "Accept" => "ACCEPT",
                        "Drop" => "DROP",
                        _ => "REJECT",
                    })
            })
            .collect();
        assert_eq!(traced, replayed, "frame {frame}");
    }
}

#[test]
fn limits_decide_the_alternatives_where_state_matters() {
    let main = replayed(&traffic(), None);
    // The three SYNs to 443 from the trusted-or-not sources: had the set matched, WATCH's
    // limit (burst 1) drops the first and lets the others fall back to INPUT's limit.
    let syn443: Vec<&Vec<String>> = main
        .iter()
        .filter(|(_, _, a)| !a.is_empty())
        .map(|(_, _, a)| a)
        .collect();
    assert!(
        syn443.iter().any(|a| a[0].starts_with("Some(Drop)")),
        "{main:?}"
    );
    assert!(
        syn443.iter().any(|a| a[0].starts_with("Some(Accept)")),
        "{main:?}"
    );
}

#[test]
fn without_alternatives_nothing_is_forked() {
    let l = load_str("alt.rules", RULES, ParseOptions::default());
    let mut r = Replayer::new(&l.ruleset, opts(0));
    let mut n = 0;
    for p in traffic() {
        r.feed(&p, None, &mut |item| {
            if let Item::Packet(_, o) = item {
                assert!(o.alternatives.is_empty());
                n += !o.undecided.is_empty() as usize;
            }
        });
    }
    assert!(n > 0, "undecided matches are still named");
}

/// Doubt through state: a later packet of a connection whose first packet was uncertain gets
/// the alternatives of that first packet's undecided match (`frame` names it), from the
/// timeline kept for it, even when other uncertain packets moved the checkpoint in between.
/// The kernel pins the verdicts (`kernel_alternatives.rs`).
#[test]
fn state_doubt_has_the_earlier_frames_alternatives() {
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
        -A INPUT -p tcp --syn -m set --match-set trusted src -j ACCEPT\nCOMMIT\n";
    let l = load_str("state.rules", rules, ParseOptions::default());
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    use fwcheck::packet::build::{build, L4Spec, PacketSpec};
    use fwcheck::packet::{tcp_flags as F, LinkInfo, Timestamp};
    let seg = |n: u64, from: (&str, u16), to: (&str, u16), flags: u8, seq: u32, ack: u32| {
        let spec = PacketSpec::new(
            from.0.parse().unwrap(),
            to.0.parse().unwrap(),
            L4Spec::Tcp {
                sport: from.1,
                dport: to.1,
                seq,
                ack,
                flags,
                window: 64240,
                options: Vec::new(),
            },
        );
        build(&spec, n, Timestamp(n * 1_000_000), LinkInfo::default())
    };
    let (h, c) = ("203.0.113.10", "198.51.100.7");
    let pkts = vec![
        seg(1, (c, 40000), (h, 22), F::SYN, 1, 0),
        seg(2, ("198.51.100.8", 40001), (h, 22), F::SYN, 1, 0),
        seg(3, ("198.51.100.9", 40002), (h, 22), F::SYN, 1, 0),
        seg(4, (h, 22), (c, 40000), F::SYN | F::ACK, 5000, 2),
        seg(5, (c, 40000), (h, 22), F::ACK, 2, 5001),
    ];
    for log_limit in [None, Some(0)] {
        let mut r = Replayer::new(&l.ruleset, opts(1000));
        if let Some(b) = log_limit {
            r.set_alternatives_log_limit(b);
        }
        let mut got = Vec::new();
        for p in &pkts {
            r.feed(p, None, &mut |item| {
                if let Item::Packet(_, o) = item {
                    got.push((
                        o.frame,
                        o.verdict,
                        o.certain,
                        o.alternatives
                            .iter()
                            .map(|a| (a.frame, a.verdict, a.certain))
                            .collect::<Vec<_>>(),
                    ));
                }
            });
        }
        use fwcheck::engine::Verdict::{Accept, Drop};
        let n = got.len() as u64;
        assert!(n >= 5, "{got:?}");
        // The three SYNs: their own alternative.
        for g in &got[..3] {
            assert_eq!((g.1, g.2), (Some(Drop), false), "{got:?}");
            assert_eq!(g.3, vec![(None, Some(Accept), true)], "{got:?}");
        }
        // The ACK: DROP (no connection), ACCEPT had frame 1's set match held.
        let ack = got.iter().find(|g| g.0 == n).expect("ack");
        assert_eq!((ack.1, ack.2), (Some(Drop), false), "{got:?}");
        assert_eq!(ack.3, vec![(Some(1), Some(Accept), true)], "{got:?}");
    }
}
