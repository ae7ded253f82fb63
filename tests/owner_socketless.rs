//! REJECT's TCP reset is built by netfilter with no socket (`nf_send_reset`: `ip_local_out`
//! with `nskb->sk` NULL), so `-m owner` in OUTPUT takes its no-socket branch for it whatever
//! `--socket-owner` says of the host's sockets: `! --socket-exists` matches. Kernel hunt
//! (`owner-rst`: a server as uid 1000, `--socket-owner` given): fwcheck matched the reset by the
//! uid rule, certain; the kernel counted it on `! --socket-exists`.

use std::process::Command;

#[test]
fn rejects_reset_has_no_socket_whatever_the_owner_of_the_hosts_sockets() {
    let rules = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        rules.path(),
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
         -A INPUT -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset\n\
         -A OUTPUT -m owner ! --socket-exists -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .arg(rules.path())
        .args(["--flow", "tcp 198.51.100.7:40000 > 203.0.113.10:23"])
        .args(["--host", "203.0.113.10", "--socket-owner", "0"])
        .args(["--format", "json", "--fail-on", "never"])
        .output()
        .expect("run fwcheck");
    let text = String::from_utf8(out.stdout).unwrap();
    let syn: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["type"] == "packet" && r["frame"] == 1)
        .expect("frame 1");
    assert_eq!(syn["verdict"], "REJECT", "{syn}");
    // OUTPUT let the reset out: its `! --socket-exists` rule matched.
    assert_eq!(syn["reject"]["sent"], true, "{syn}");
    assert_eq!(syn["certain"], true, "{syn}");
}
