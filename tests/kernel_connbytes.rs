//! `-m connbytes` (`xt_connbytes.c`) against the kernel: conntrack's per-direction packet and
//! byte counts (`nf_conn_acct`), switched on by loading the rule.
//!
//! One TCP connection per variant, each with the same eight packets (handshake, data both
//! ways, ACKs); a DROP rule per variant shows at which packets the match held:
//!
//! * port 81, `--connbytes 3:3` original packets: the third packet from the client;
//! * port 82, `--connbytes 200:` bytes both ways: from the first data segment on;
//! * port 83 (in OUTPUT), `! --connbytes 2` reply packets: the SYN/ACK, the first reply;
//! * port 84, `--connbytes 60:100` avgpkt both ways;
//! * port 85 in raw PREROUTING: never (raw runs before conntrack: no connection yet);
//! * port 86 in mangle PREROUTING, `--connbytes 0`: the SYN itself (already counted);
//! * port 87: a connection picked up mid-stream (no SYN), which the kernel counts from there
//!   but a real host may have counted from before the capture: fwcheck says uncertain.
//!
//! And a connection tracked before the ruleset with `connbytes` is loaded has no counters: the
//! match is false for it, true for a new one (`compare_with_reload`; the first ruleset tracks
//! connections too — without it the kernel would pick the old connection up mid-stream at the
//! reload, with counters).
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::compare_with_reload;
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const RULES: &str = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A PREROUTING -p tcp -m tcp --dport 85 -m connbytes --connbytes 0 --connbytes-mode packets --connbytes-dir both -j DROP\n\
COMMIT\n\
*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
-A PREROUTING -p tcp -m tcp --dport 86 -m connbytes --connbytes 0 --connbytes-mode packets --connbytes-dir both -j DROP\n\
COMMIT\n\
*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p tcp -m tcp --dport 81 -m connbytes --connbytes 3:3 --connbytes-mode packets --connbytes-dir original -j DROP\n\
-A INPUT -p tcp -m tcp --dport 82 -m connbytes --connbytes 200: --connbytes-mode bytes --connbytes-dir both -j DROP\n\
-A OUTPUT -p tcp -m tcp --sport 83 -m connbytes ! --connbytes 2 --connbytes-mode packets --connbytes-dir reply -j DROP\n\
-A INPUT -p tcp -m tcp --dport 84 -m connbytes --connbytes 60:100 --connbytes-mode avgpkt --connbytes-dir both -j DROP\n\
-A INPUT -p tcp -m tcp --dport 87 -m connbytes --connbytes 1:1 --connbytes-mode packets --connbytes-dir original -j DROP\n\
COMMIT\n";

/// The eight packets of a connection from the client's port `sport` to the host's `port`
/// (IP lengths 40, 40, 40, 140, 40, 340, 100, 40).
fn session(sport: u16, port: u16, id: u16) -> Vec<Vec<u8>> {
    let (h, c) = (HOST.into(), CLIENT.into());
    let pad = |n: usize| vec![0x61u8; n];
    vec![
        tcp_ip(c, h, sport, port, 1000, 0, SYN, id, &[]),
        tcp_ip(h, c, port, sport, 5000, 1001, SYN | ACK, id + 1, &[]),
        tcp_ip(c, h, sport, port, 1001, 5001, ACK, id + 2, &[]),
        tcp_ip(c, h, sport, port, 1001, 5001, PSH | ACK, id + 3, &pad(100)),
        tcp_ip(h, c, port, sport, 5001, 1101, ACK, id + 4, &[]),
        tcp_ip(c, h, sport, port, 1101, 5001, PSH | ACK, id + 5, &pad(300)),
        tcp_ip(h, c, port, sport, 5001, 1401, PSH | ACK, id + 6, &pad(60)),
        tcp_ip(c, h, sport, port, 1401, 5061, ACK, id + 7, &[]),
    ]
}

/// The kernel's verdicts as `A`/`D` per frame, and fwcheck's certainty per frame.
fn verdicts(cmp: &fwcheck::compare::Comparison) -> String {
    kernel_and_rule(cmp)
        .into_iter()
        .map(|(k, _)| match k {
            "ACCEPT" => 'A',
            "DROP" => 'D',
            _ => '-',
        })
        .collect()
}

fn counts_by_direction_mode_and_table() {
    let mut frames = Vec::new();
    for (i, port) in [81u16, 82, 83, 84, 85].into_iter().enumerate() {
        frames.extend(session(40000 + i as u16, port, 100 * i as u16 + 1));
    }
    frames.push(tcp4(CLIENT, HOST, 40010, 86, 1000, 0, SYN, 900));
    let (h, c) = (HOST.into(), CLIENT.into());
    frames.push(tcp_ip(
        c,
        h,
        40011,
        87,
        7000,
        8000,
        PSH | ACK,
        901,
        &[0x62; 20],
    ));
    let cmp = compared_on_host("connbytes.rules", RULES, frames);
    let v = verdicts(&cmp);
    let per: Vec<&str> = (0..5).map(|i| &v[i * 8..i * 8 + 8]).collect();
    // Port 81: the client's third packet (its first data segment).
    assert_eq!(per[0], "AAADAAAA");
    // Port 82: both ways ≥ 200 bytes from the first data segment (40+40+40+140) on, inbound.
    assert_eq!(per[1], "AAADADAD");
    // Port 83: the SYN/ACK is the first reply packet (fewer than 2).
    assert_eq!(per[2], "ADAAAAAA");
    // Port 84: average size 260/4 = 65 and (600+180)/8 = 97 are in 60..=100.
    assert_eq!(per[3], "AAADAAAD");
    // Port 85: raw PREROUTING has no connection yet.
    assert_eq!(per[4], "AAAAAAAA");
    // Port 86: the SYN, counted by conntrack before mangle; port 87: picked up and counted.
    assert_eq!(&v[40..], "DD");
    // Only the mid-stream pickup is uncertain.
    assert_eq!(cmp.uncertain, 1, "{}", cmp.render(true));
    assert!(
        cmp.frames[41].line().contains("picked up mid-stream"),
        "{}",
        cmp.frames[41].line()
    );
}

fn connections_older_than_the_rule_have_no_counters() {
    let before = load_str(
        "before.rules",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n",
        ParseOptions::default(),
    );
    let after = load_str(
        "after.rules",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m conntrack --ctstate INVALID -j DROP\n\
         -A INPUT -p tcp -m tcp --dport 88 -m connbytes --connbytes 0 --connbytes-mode packets --connbytes-dir both -j DROP\n\
         COMMIT\n",
        ParseOptions::default(),
    );
    assert!(!before.has_errors() && !after.has_errors());
    let mut frames = session(40020, 88, 1);
    // The reload comes before frame 4: the old connection's data passes; a new one's SYN is
    // counted (accounting is on now) and dropped.
    let tail = frames.split_off(3);
    frames.extend(tail);
    frames.push(tcp4(CLIENT, HOST, 40021, 88, 1000, 0, SYN, 50));
    let cmp = compare_with_reload(
        &before,
        Some((&after, 4)),
        decoded(frames),
        host_sim(),
        Pacing::AsFastAsPossible,
    )
    .expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let lines: Vec<String> = cmp.frames.iter().map(|f| f.line()).collect();
    assert_eq!(cmp.uncertain, 0, "{}", lines.join("\n"));
    assert_eq!(verdicts(&cmp), "AAAAAAAAD");
}

kernel_tests!(
    counts_by_direction_mode_and_table,
    connections_older_than_the_rule_have_no_counters
);
