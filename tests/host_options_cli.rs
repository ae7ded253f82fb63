//! Every subcommand that simulates (`steps`, `diff`, `trace`, `graph`, `lint --chains --pcap`)
//! takes the main command's host options (one clap struct, one conversion into the session's
//! `HostOptions`) and applies them as the main command does.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fwcheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const OPEN: &str =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
const NO_FORWARD: &str =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
const DNS: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
                   -A INPUT -p udp --dport 53 -j ACCEPT\n\
                   -A OUTPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n";
/// Neither to nor from the host 203.0.113.10: only a router sees it (FORWARD).
const THROUGH: &str = "tcp 198.51.100.7:40000 > 192.0.2.20:80";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn diff_router_forwards_as_the_main_command_does() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.v4", OPEN);
    let new = write(dir.path(), "new.v4", NO_FORWARD);
    let base = [
        "diff",
        s(&old),
        s(&new),
        "--flow",
        THROUGH,
        "--host",
        "203.0.113.10",
    ];
    // Not a router: the flow is not this host's business, so nothing changes.
    let (c, out, err) = fwcheck(&base);
    assert_eq!(c, 0, "{out}{err}");
    assert!(out.contains("drops 0 packets in 0 flows"), "{out}");
    // A router: forwarded, and the new FORWARD policy drops every packet of it.
    let mut args = base.to_vec();
    args.push("--router");
    let (c, out, err) = fwcheck(&args);
    assert_eq!(c, 1, "{out}{err}");
    assert!(out.contains("drops 9 packets in 1 flows"), "{out}");
    assert!(out.contains("DROP filter FORWARD policy DROP"), "{out}");
    // The main command, asked the same question, answers the same.
    let (c, out, err) = fwcheck(&[
        s(&new),
        "--flow",
        THROUGH,
        "--host",
        "203.0.113.10",
        "--router",
        "--format",
        "json",
    ]);
    assert!(c == 0 || c == 1, "{out}{err}");
    let packets: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["type"] == "packet")
        .collect();
    assert_eq!(packets.len(), 9);
    for p in &packets {
        assert_eq!(p["direction"], "forward", "{p}");
        assert_eq!(p["verdict"], "DROP", "{p}");
        assert_eq!(p["rule"]["chain"], "FORWARD", "{p}");
    }
}

#[test]
fn trace_applies_ct_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "dns.v4", DNS);
    let spec = "udp 198.51.100.7:5353 > 203.0.113.10:53 reply";
    // Default UDP timeout: the answer belongs to the query's connection.
    let (c, out, err) = fwcheck(&["trace", s(&rules), spec]);
    assert_eq!(c, 0, "{err}");
    assert!(
        out.contains("conntrack: none → ESTABLISHED (reply direction)"),
        "{out}"
    );
    assert!(
        out.contains("verdict: ACCEPT by filter OUTPUT #1 (line 6)"),
        "{out}"
    );
    // The query's entry expires at once: the answer is NEW and the OUTPUT policy drops it.
    let (c, out, err) = fwcheck(&["trace", s(&rules), spec, "--ct-timeout", "udp=0"]);
    assert_eq!(c, 0, "{err}");
    let reply = &out[out.find("frame 2:").expect(&out)..];
    assert!(reply.contains("conntrack: none → NEW"), "{out}");
    assert!(
        reply.contains("verdict: DROP by filter OUTPUT policy DROP"),
        "{out}"
    );
    // The same in JSON Lines.
    let (_, json, _) = fwcheck(&[
        "trace",
        s(&rules),
        spec,
        "--ct-timeout",
        "udp=0",
        "--format",
        "json",
    ]);
    assert!(json.contains("\"DROP\""), "{json}");
}

#[test]
fn lint_chains_and_graph_count_forwarded_packets_with_router() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "new.v4", NO_FORWARD);
    let pcap = dir.path().join("fwd.pcap");
    let (c, _, err) = fwcheck(&[
        "gen",
        "--flow",
        THROUGH,
        "--host",
        "203.0.113.10",
        "-o",
        s(&pcap),
    ]);
    assert_eq!(c, 0, "{err}");
    let lint = |extra: &[&str]| {
        let mut a = vec![
            "lint",
            s(&rules),
            "--chains",
            "FORWARD",
            "--pcap",
            s(&pcap),
            "--host",
            "203.0.113.10",
        ];
        a.extend_from_slice(extra);
        let (c, out, err) = fwcheck(&a);
        assert_eq!(c, 0, "{err}");
        out
    };
    assert!(lint(&[]).contains("Chain FORWARD (policy DROP 0 packets, 0 bytes)"));
    assert!(lint(&["--router"]).contains("Chain FORWARD (policy DROP 9 packets, 1204 bytes)"));
    let (c, dot, err) = fwcheck(&[
        "graph",
        s(&rules),
        "--pcap",
        s(&pcap),
        "--host",
        "203.0.113.10",
        "--router",
    ]);
    assert_eq!(c, 0, "{err}");
    assert!(
        dot.contains("filter FORWARD\\npolicy DROP, 0 rules\\nrules hit 0 pkts, policy 9"),
        "{dot}"
    );
}

/// A bad host option is a clear usage error (exit 2) on every subcommand that simulates,
/// whether clap refuses it (`--hz 0`) or the shared conversion does (`--ct-timeout`).
#[test]
fn bad_host_options_are_exit_2_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "dns.v4", DNS);
    let script = write(
        dir.path(),
        "s.sh",
        "iptables -A INPUT -p tcp --dport 22 -j ACCEPT\n",
    );
    let pcap = dir.path().join("x.pcap");
    let (c, _, err) = fwcheck(&["gen", "dns", "-o", s(&pcap)]);
    assert_eq!(c, 0, "{err}");
    let spec = "udp 198.51.100.7:5353 > 203.0.113.10:53";
    let commands: Vec<Vec<&str>> = vec![
        vec!["steps", s(&script)],
        vec!["diff", s(&rules), s(&rules), "--flow", spec],
        vec!["trace", s(&rules), spec],
        vec!["graph", s(&rules), "--pcap", s(&pcap)],
        vec!["lint", s(&rules), "--chains", "--pcap", s(&pcap)],
    ];
    for cmd in &commands {
        let mut a = cmd.clone();
        a.extend(["--hz", "0"]);
        let (c, _, err) = fwcheck(&a);
        assert_eq!(c, 2, "{a:?}: {err}");
        assert!(
            err.contains("invalid value '0' for '--hz <N>': 0 is not in 24..=1200"),
            "{a:?}: {err}"
        );
        let mut a = cmd.clone();
        a.extend(["--ct-timeout", "bogus=1"]);
        let (c, _, err) = fwcheck(&a);
        assert_eq!(c, 2, "{a:?}: {err}");
        assert!(
            err.contains("fwcheck: --ct-timeout bogus=1: unknown conntrack timeout 'bogus'"),
            "{a:?}: {err}"
        );
        let mut a = cmd.clone();
        a.extend(["--route", "nonsense"]);
        let (c, _, err) = fwcheck(&a);
        assert_eq!(c, 2, "{a:?}: {err}");
        assert!(err.contains("fwcheck: --route nonsense: "), "{a:?}: {err}");
    }
}

/// The subcommands' help lists the main command's host options, with the same text.
#[test]
fn subcommand_help_has_the_host_options() {
    let (_, main, _) = fwcheck(&["--help"]);
    for sub in ["steps", "diff", "trace", "graph", "lint"] {
        let (c, help, _) = fwcheck(&[sub, "--help"]);
        assert_eq!(c, 0);
        for flag in [
            "--router",
            "--hz <N>",
            "--ct-timeout <NAME=SECS>",
            "--ct-max <N>",
            "--tcp-loose <BOOL>",
            "--tcp-be-liberal",
            "--tcp-ignore-invalid-rst",
            "--checksums <MODE>",
            "--socket-owner <[SPEC=]UID[:GID]>",
            "--iface-addr <NAME=ADDR/LEN>",
            "--route <ROUTE>",
            "--host-config <FILE>",
            "--ipsec <none>",
        ] {
            assert!(help.contains(flag), "{sub} --help lacks {flag}");
            let line = |h: &str| {
                let i = h.find(&format!("      {flag}")).unwrap();
                let rest = &h[i..];
                rest[..rest.find("\n\n").unwrap_or(rest.len())].to_string()
            };
            assert_eq!(line(&help), line(&main), "{sub}: {flag}");
        }
    }
}

/// `--ipset FILE`: the sets decide `-m set` (certain), in the main command and in `trace`; a
/// bad file is a usage error naming file, line and column.
#[test]
fn ipset_file_decides_set_matches() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.v4",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m set --match-set bad src -j DROP\nCOMMIT\n",
    );
    let sets = write(
        dir.path(),
        "sets.save",
        "create bad hash:net family inet hashsize 1024 maxelem 65536\nadd bad 198.51.100.0/24\n",
    );
    let (r, s) = (rules.to_str().unwrap(), sets.to_str().unwrap());
    let flow = "tcp 198.51.100.7:40000 > 203.0.113.10:22";
    let (rc, out, err) = fwcheck(&[r, "--flow", flow, "--host", "203.0.113.10", "--ipset", s]);
    assert!(rc == 0 || rc == 1, "{rc}: {err}");
    let syn = out.lines().find(|l| l.contains("tcp S ")).unwrap_or("");
    assert!(syn.contains("DROP") && !syn.contains("DROP?"), "{out}");
    let (_, out, _) = fwcheck(&[r, "--flow", flow, "--host", "203.0.113.10"]);
    let syn = out.lines().find(|l| l.contains("tcp S ")).unwrap_or("");
    assert!(
        syn.contains("ACCEPT?"),
        "without the sets it is unknown: {out}"
    );
    let (rc, out, err) = fwcheck(&[
        "trace",
        r,
        &format!("{flow} flags S"),
        "--host",
        "203.0.113.10",
        "--ipset",
        s,
    ]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("verdict: DROP"), "{out}");
    let bad = write(
        dir.path(),
        "bad.save",
        "create a hash:ip\nadd a 192.0.2.1,80\n",
    );
    let (rc, _, err) = fwcheck(&[r, "--flow", flow, "--ipset", bad.to_str().unwrap()]);
    assert_eq!(rc, 2, "{err}");
    assert!(
        err.contains("bad.save:2:7:") && err.contains("hash:ip"),
        "{err}"
    );
}

/// `--ipset FILE` is the host's sets: a ruleset naming a set the file does not create would
/// not load on that host, so the parser refuses the rule (E114) in every subcommand that takes
/// the host's options — a `--what-if` command too — (exit 3; `--what-if`: 2), naming the rule
/// (`kernel_ipset.rs` pins iptables-restore's refusal).
#[test]
fn a_set_missing_from_ipset_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "sets.rules",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m set --match-set here src -j ACCEPT\n\
         -A INPUT -m set --match-set gone src -j DROP\nCOMMIT\n",
    );
    let sets = write(
        dir.path(),
        "sets.txt",
        "create here hash:ip family inet hashsize 1024 maxelem 65536\n",
    );
    let flow = "udp 198.51.100.7:1 > 203.0.113.10:53";
    let common = ["--ipset", s(&sets), "--host", "203.0.113.10"];
    let runs: Vec<Vec<&str>> = vec![
        [s(&rules), "--flow", flow]
            .into_iter()
            .chain(common)
            .collect(),
        ["trace", s(&rules), flow]
            .into_iter()
            .chain(common)
            .collect(),
        ["diff", s(&rules), s(&rules), "--flow", flow]
            .into_iter()
            .chain(common)
            .collect(),
        ["steps", s(&rules)].into_iter().chain(common).collect(),
        ["lint", s(&rules)].into_iter().chain(common).collect(),
        ["lint", s(&rules), "--chains"]
            .into_iter()
            .chain(common)
            .collect(),
        ["graph", s(&rules)].into_iter().chain(common).collect(),
    ];
    for args in runs {
        let (code, _, err) = fwcheck(&args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(
            err.contains("sets.rules:6:10") && err.contains("set `gone` is not in --ipset"),
            "{args:?}: {err}"
        );
    }
    // A --what-if command is checked against the same sets.
    let good = write(
        dir.path(),
        "good.rules",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
    );
    let (code, _, err) = fwcheck(
        &[
            s(&good),
            "--flow",
            flow,
            "--what-if",
            "-A INPUT -m set --match-set gone src -j DROP",
        ]
        .into_iter()
        .chain(common)
        .collect::<Vec<_>>(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--what-if #1:1:10: set `gone` is not in --ipset"),
        "{err}"
    );
    // Without --ipset the sets are unknown, not missing: the rules load.
    let (code, _, err) = fwcheck(&[s(&rules), "--flow", flow, "--host", "203.0.113.10"]);
    assert!(code == 0 || code == 1, "{err}");
}

/// An invalid ruleset is reported as such (exit 3, its errors) even when another option is bad
/// too: only `--ipset`, which decides which rules load, is read before the rules.
#[test]
fn an_invalid_ruleset_is_exit_3_before_the_other_options() {
    let (code, _, err) = fwcheck(&["fixtures/invalid/bad-address.v4", "--mgmt", "bogus/1"]);
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = fwcheck(&[
        "fixtures/guides/guide-000-webserver.rules.v4",
        "--mgmt",
        "bogus/1",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--mgmt"), "{err}");
}
