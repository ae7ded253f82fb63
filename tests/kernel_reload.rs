//! `--reload-at` against the kernel: a ruleset replaced mid-capture with `iptables-restore`, as
//! on a live host. The oracle loads the first ruleset, replays frames, runs iptables-restore
//! with the second right before frame 15, and replays the rest; fwcheck reloads its engine at
//! the same frame (`Replayer::reload`). Every frame's verdict must be the kernel's, and the
//! kernel's verdicts pin what survives a reload:
//! - conntrack entries: the established TCP session meets the new rules (which accept only
//!   UDP ESTABLISHED) and dies; the answered UDP flow goes on as ESTABLISHED;
//! - `recent` lists (kept per namespace by name): a source recorded with `--set` by the old
//!   rules is found by the new rules' `--rcheck`;
//! - `hashlimit` tables (kept by name): the bucket exhausted under the old rules stays empty;
//! - `limit` buckets and `statistic --mode nth` counters (per rule): the new rule starts afresh.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::Ipv4Addr;

use fwcheck::compare::compare_with_reload;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::ext::Backend;
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const OLD: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p udp -m recent --set --name SEEN --rsource\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 53 -j ACCEPT\n\
-A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 1/min --limit-burst 2 -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 7000 -m hashlimit --hashlimit-upto 1/min --hashlimit-burst 2 --hashlimit-mode srcip --hashlimit-name H7 -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 8000 -m statistic --mode nth --every 2 --packet 0 -j ACCEPT\n\
COMMIT\n";

const NEW: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p udp -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 6000 -m recent --rcheck --name SEEN --rsource -j ACCEPT\n\
-A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 1/min --limit-burst 2 -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 7000 -m hashlimit --hashlimit-upto 1/min --hashlimit-burst 2 --hashlimit-mode srcip --hashlimit-name H7 -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 8000 -m statistic --mode nth --every 2 --packet 0 -j ACCEPT\n\
COMMIT\n";

fn frames() -> Vec<Vec<u8>> {
    let h = HOST;
    let admin = CLIENT;
    let dns = Ipv4Addr::new(198, 51, 100, 8);
    let pinger = Ipv4Addr::new(198, 51, 100, 9);
    let other = Ipv4Addr::new(198, 51, 100, 12);
    let flood = Ipv4Addr::new(198, 51, 100, 11);
    let nth = Ipv4Addr::new(198, 51, 100, 13);
    vec![
        // 1-5: an SSH session, established under the old rules.
        tcp4(admin, h, 50000, 22, 1000, 0, SYN, 1),
        tcp4(h, admin, 22, 50000, 5000, 1001, SYN | ACK, 2),
        tcp4(admin, h, 50000, 22, 1001, 5001, ACK, 3),
        tcp4(admin, h, 50000, 22, 1001, 5001, PSH | ACK, 4),
        tcp4(h, admin, 22, 50000, 5001, 1001, ACK, 5),
        // 6-7: a DNS exchange (recorded by `recent --set` too).
        udp4(dns, h, 5353, 53, 6, b"query"),
        udp4(h, dns, 53, 5353, 7, b"answer"),
        // 8-10: three pings, the third over the limit's burst.
        ping4(pinger, h, false, 1),
        ping4(pinger, h, false, 2),
        ping4(pinger, h, false, 3),
        // 11-13: three datagrams to 7000, the third over the hashlimit burst.
        udp4(flood, h, 7001, 7000, 11, b"a"),
        udp4(flood, h, 7001, 7000, 12, b"b"),
        udp4(flood, h, 7001, 7000, 13, b"c"),
        // 14: the first datagram to 8000: `--every 2 --packet 0` takes the first of each two.
        udp4(nth, h, 8001, 8000, 14, b"1"),
        // --- iptables-restore NEW here ---
        // 15: the SSH session goes on: the new rules drop it.
        tcp4(admin, h, 50000, 22, 1001, 5001, ACK, 14),
        // 16: the DNS flow goes on: ESTABLISHED in conntrack, accepted.
        udp4(dns, h, 5353, 53, 15, b"query2"),
        // 17-18: `recent --rcheck`: the source the old rules recorded passes, another not.
        udp4(dns, h, 5354, 6000, 16, b"x"),
        udp4(other, h, 5354, 6000, 17, b"x"),
        // 19-20: the limit starts afresh: two pings pass again.
        ping4(pinger, h, false, 4),
        ping4(pinger, h, false, 5),
        // 21: the hashlimit bucket stays empty.
        udp4(flood, h, 7001, 7000, 20, b"d"),
        // 22-23: the nth counter starts afresh: the first datagram after the reload is the
        // new rule's first (taken), the next is not.
        udp4(nth, h, 8001, 8000, 21, b"2"),
        udp4(nth, h, 8001, 8000, 22, b"3"),
    ]
}

fn reload_keeps_conntrack_and_named_match_state() {
    for backend in [Backend::Nft, Backend::Legacy] {
        let opts = ParseOptions {
            backend,
            ..ParseOptions::default()
        };
        let old = load_str("old.rules", OLD, opts.clone());
        let new = load_str("new.rules", NEW, opts);
        assert!(!old.has_errors() && !new.has_errors());
        let sim = SimOptions {
            env: SimEnv {
                hosts: vec![HOST.into()],
                backend,
                ..SimEnv::default()
            },
            ..SimOptions::default()
        };
        let cmp = match compare_with_reload(
            &old,
            Some((&new, 15)),
            decoded(frames()),
            sim,
            Pacing::AsFastAsPossible,
        ) {
            Ok(c) => c,
            Err(e) if backend == Backend::Legacy => {
                eprintln!("SKIP: iptables-legacy: {e}");
                continue;
            }
            Err(e) => panic!("compare: {e}"),
        };
        assert_eq!(cmp.mismatches, 0, "{backend:?}\n{}", cmp.render(true));
        assert_eq!(cmp.compared, 23, "{}", cmp.render(true));
        let kernel: Vec<&str> = cmp.frames.iter().map(|f| f.kernel.unwrap_or("-")).collect();
        let (a, d) = ("ACCEPT", "DROP");
        assert_eq!(
            kernel,
            [
                a, a, a, a, a, // SSH under the old rules
                a, a, // DNS
                a, a, d, // limit: burst 2
                a, a, d, // hashlimit: burst 2
                a, // 14: nth, the first packet is taken
                d, // 15: the established SSH session dies
                a, // 16: the UDP flow survives
                a, d, // 17-18: the recent list survives
                a, a, // 19-20: the limit bucket is new
                d, // 21: the hashlimit table survives
                a, d, // 22-23: the nth counter is new (kept, 22 would be dropped)
            ],
            "{backend:?}\n{}",
            cmp.render(true)
        );
    }
}

kernel_tests!(reload_keeps_conntrack_and_named_match_state);
