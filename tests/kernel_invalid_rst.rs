//! `--tcp-ignore-invalid-rst` (`net.netfilter.nf_conntrack_tcp_ignore_invalid_rst`) against
//! the kernel: a reset whose sequence number is behind what the host has acknowledged is
//! INVALID by default (`nf_conntrack_tcp_packet`: "invalid rst"), and goes on to the window
//! checks when the sysctl is on. The kernel comparison sets the sysctl in the oracle's
//! namespace as fwcheck is told, and every frame must agree, certain. Needs root.

#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::compare;
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

/// A connection to the host's port 22, 1,000 bytes from the client acknowledged, then a reset
/// from the client whose sequence number (1,500) is behind the host's acknowledgment (2,001).
fn frames() -> Vec<Vec<u8>> {
    let (h, c) = (HOST, CLIENT);
    vec![
        tcp4(c, h, 41000, 22, 1000, 0, SYN, 1),
        tcp4(h, c, 22, 41000, 5000, 1001, SYN | ACK, 2),
        tcp4(c, h, 41000, 22, 1001, 5001, ACK, 3),
        tcp_ip(
            c.into(),
            h.into(),
            41000,
            22,
            1001,
            5001,
            PSH | ACK,
            4,
            &[7u8; 1000],
        ),
        tcp4(h, c, 22, 41000, 5001, 2001, ACK, 5),
        tcp4(c, h, 41000, 22, 1500, 0, RST, 6),
    ]
}

fn a_reset_behind_the_acknowledgment_follows_the_sysctl() {
    let loaded = load_str(
        "invalid-rst.rules",
        INVALID_FIRST_SSH,
        ParseOptions::default(),
    );
    assert!(!loaded.has_errors());
    for ignore in [false, true] {
        let mut sim = host_sim();
        sim.tcp_ignore_invalid_rst = ignore;
        let cmp =
            compare(&loaded, decoded(frames()), sim, Pacing::AsFastAsPossible).expect("compare");
        assert_eq!(cmp.mismatches, 0, "ignore {ignore}: {}", cmp.render(true));
        assert_eq!(cmp.uncertain, 0, "ignore {ignore}: {}", cmp.render(true));
        let last = judged(&cmp).last().copied().expect("frames");
        // Default: INVALID, dropped; with the sysctl: in window, ESTABLISHED, accepted.
        assert_eq!(
            last.0,
            if ignore { "ACCEPT" } else { "DROP" },
            "{}",
            cmp.render(true)
        );
    }
}

kernel_tests!(a_reset_behind_the_acknowledgment_follows_the_sysctl);
