//! `-m conntrack --ctexpire` (`xt_conntrack.c`, `nf_ct_expires`) against the kernel. A
//! confirmed connection's expiry is its deadline minus now, in seconds: certain. A connection's
//! first packet sees an entry not yet confirmed, whose timeout the kernel holds relative (the
//! duration, not a deadline), so `nf_ct_expires` subtracts the kernel's 32-bit jiffies counter
//! from a duration — 0 for much of that counter's range, a huge number for the rest, and the
//! capture does not say which: that answer is uncertain, never the full timeout (which a hunt
//! found fwcheck giving, with certainty, where the kernel read 0).
#[macro_use]
mod kernel_harness;
mod oracle_common;

use oracle_common::*;

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p udp -m udp --dport 9 -m conntrack --ctexpire 20:30 -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 9 -m conntrack --ctexpire 0 -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 10 -m conntrack --ctstate NEW -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 10 -m conntrack --ctexpire 20:30 -j ACCEPT\n\
COMMIT\n";

fn first_packets_are_uncertain_later_ones_exact() {
    let frames = vec![
        // The first packet of a flow: --ctexpire reads an unconfirmed entry.
        udp4(CLIENT, HOST, 40000, 9, 1, b"one"),
        // Port 10: the first is accepted as NEW (certain); the second reads the confirmed
        // entry, 30 s (UDP, unreplied) minus the moment since: 20:30 matches, certain.
        udp4(CLIENT, HOST, 40001, 10, 2, b"two"),
        udp4(CLIENT, HOST, 40001, 10, 3, b"three"),
    ];
    // No certain answer differs from the kernel's.
    let cmp = compared_on_host("ctexpire.rules", RULES, frames);
    let kernel: Vec<&str> = kernel_and_rule(&cmp).into_iter().map(|(k, _)| k).collect();
    let certain: Vec<bool> = judged(&cmp).into_iter().map(|j| j.1).collect();
    assert!(!certain[0], "the first packet's --ctexpire cannot be known");
    assert_eq!(&certain[1..], [true, true], "kernel {kernel:?}");
    assert_eq!(&kernel[1..], ["ACCEPT", "ACCEPT"]);
}

kernel_tests!(first_packets_are_uncertain_later_ones_exact);
