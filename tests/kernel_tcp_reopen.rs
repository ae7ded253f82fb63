//! An ACK over the receiver's upper bound (`tcp_in_window`: "ACK is over upper bound") is
//! INVALID in the kernel; fwcheck calls it uncertain when it may be the sign of a gap in the
//! capture (the kernel saw data the capture does not hold), and certain when the capture
//! holds the data it acknowledges: here, a late duplicate of an ACK of the connection a SYN
//! reopened (`nf_conntrack_tcp_packet`'s `-NF_REPEAT`), met by the new entry after a reset
//! closed it, whose receiver side was never set up. Kernel-checked frame by frame. Needs root.

#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::compare;
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

/// A connection to the host's port 22 that the client closes first (TIME_WAIT, the client's
/// side marked as closing), then a SYN from the same port with a new sequence number (the
/// entry is deleted and made again), the host's challenge ACK (ignored in SYN_SENT), the
/// client's reset (CLOSE), a late duplicate of the first connection's last ACK (the data it
/// acknowledges, the host's FIN at 5,501, is in the capture) and last an ACK of host data
/// never sent (9,999).
fn frames() -> Vec<Vec<u8>> {
    let (h, c) = (HOST, CLIENT);
    vec![
        tcp4(c, h, 41000, 22, 1000, 0, SYN, 1),
        tcp4(h, c, 22, 41000, 5000, 1001, SYN | ACK, 2),
        tcp4(c, h, 41000, 22, 1001, 5001, ACK, 3),
        tcp_ip(
            h.into(),
            c.into(),
            22,
            41000,
            5001,
            1001,
            PSH | ACK,
            4,
            &[7u8; 500],
        ),
        tcp4(c, h, 41000, 22, 1001, 5501, ACK, 5),
        tcp4(c, h, 41000, 22, 1001, 5501, FIN | ACK, 6),
        tcp4(h, c, 22, 41000, 5501, 1002, FIN | ACK, 7),
        tcp4(c, h, 41000, 22, 1002, 5502, ACK, 8),
        tcp4(c, h, 41000, 22, 80000, 0, SYN, 9),
        tcp4(h, c, 22, 41000, 5502, 1002, ACK, 10),
        tcp4(c, h, 41000, 22, 1002, 0, RST, 11),
        tcp4(c, h, 41000, 22, 1002, 5502, ACK, 12),
        tcp4(c, h, 41000, 22, 1002, 9999, ACK, 13),
    ]
}

fn a_late_ack_of_data_the_capture_holds_is_certainly_invalid() {
    let loaded = load_str(
        "tcp-reopen.rules",
        INVALID_FIRST_SSH,
        ParseOptions::default(),
    );
    assert!(!loaded.has_errors());
    let cmp = compare(
        &loaded,
        decoded(frames()),
        host_sim(),
        Pacing::AsFastAsPossible,
    )
    .expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let judged = judged(&cmp);
    assert_eq!(judged.len(), 13, "{}", cmp.render(true));
    // The reopening SYN is accepted; the late duplicate ACK is INVALID, certain.
    assert_eq!(judged[8].0, "ACCEPT", "{}", cmp.render(true));
    assert_eq!(
        (judged[11].0, judged[11].1, judged[11].2),
        ("DROP", true, "DROP"),
        "{}",
        cmp.render(true)
    );
    // An ACK of data the capture never showed: the kernel's INVALID too. (Replayed from a
    // capture, where it may be the sign of a gap, fwcheck calls such an ACK uncertain:
    // `tests/engine_basic.rs`, `an_ack_of_data_the_capture_missed_is_uncertain`; the
    // frames injected here are all the kernel saw.)
    assert_eq!(judged[12].0, "DROP", "{}", cmp.render(true));
}

kernel_tests!(a_late_ack_of_data_the_capture_holds_is_certainly_invalid);
