//! Kernel oracle: basic filtering verdicts, directions, skips.
mod oracle_common;

use fwcheck::oracle::{self, KernelDirection, OracleConfig};
use fwcheck::packet::Family;
use oracle_common::*;

const PORT80: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 80 -j ACCEPT\nCOMMIT\n";

#[test]
fn syn_to_80_accepted_81_dropped() {
    if !oracle_ready("syn_to_80_accepted_81_dropped") {
        return;
    }
    let cfg = OracleConfig::new(PORT80, Family::V4, host());
    let out = oracle::replay(
        &cfg,
        frames(vec![
            tcp4(CLIENT, HOST, 40000, 80, 1, 0, SYN, 1),
            tcp4(CLIENT, HOST, 40001, 81, 1, 0, SYN, 2),
        ]),
    )
    .unwrap();
    assert_eq!(verdicts(&out), vec![A, D], "{}", dump(&out));
    assert_eq!(dirs(&out), vec![KernelDirection::In, KernelDirection::In]);
}
