//! `-m quota` (`xt_quota.c`) against the kernel: each rule's byte budget, spent by the packets
//! that reach it (`skb->len`), emptied by the first that does not fit — after which not even a
//! smaller packet matches — and `!` inverting the answer, not the spending. After an uncertain
//! packet the budget is unknown: the later answers are uncertain, never guessed.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use oracle_common::*;

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p udp -m udp --dport 11 -m statistic --mode random --probability 0.5 -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 9 -m quota --quota 250 -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 10 -m quota ! --quota 150 -j ACCEPT\n\
COMMIT\n";

/// A UDP datagram to `port` of `len` IP bytes.
fn udp(port: u16, len: usize, id: u16) -> Vec<u8> {
    udp4(CLIENT, HOST, 40000 + id, port, id, &vec![0x71; len - 28])
}

/// The kernel's verdicts (`A`/`D`) and whether fwcheck was certain of each frame's.
fn run(frames: Vec<Vec<u8>>) -> (String, Vec<bool>) {
    let cmp = compared_on_host("quota.rules", RULES, frames);
    let v = kernel_and_rule(&cmp)
        .into_iter()
        .map(|(k, _)| if k == "ACCEPT" { 'A' } else { 'D' })
        .collect();
    (v, judged(&cmp).into_iter().map(|j| j.1).collect())
}

fn budgets_are_spent_then_empty() {
    let frames = vec![
        // 250 bytes: 100, 100 fit; the third does not and empties it; 40 then does not either.
        udp(9, 100, 1),
        udp(9, 100, 2),
        udp(9, 100, 3),
        udp(9, 40, 4),
        // ! 150: 100 fits (no match), 100 does not (match, empty), 40 (match).
        udp(10, 100, 5),
        udp(10, 100, 6),
        udp(10, 40, 7),
    ];
    assert_eq!(run(frames), ("AADDDAA".to_string(), vec![true; 7]));
}

fn an_uncertain_packet_leaves_the_budget_unknown() {
    let frames = vec![
        udp(9, 100, 1),
        // Accepted or not at random: every later answer of a budget is uncertain.
        udp(11, 100, 2),
        udp(9, 100, 3),
        udp(9, 100, 4),
    ];
    let (v, certain) = run(frames);
    assert_eq!(&v[..1], "A");
    assert_eq!(certain, [true, false, false, false], "{v}");
}

kernel_tests!(
    budgets_are_spent_then_empty,
    an_uncertain_packet_leaves_the_budget_unknown
);
