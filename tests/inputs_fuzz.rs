//! Fuzz-style property tests for the small input languages beside rulesets and captures: no
//! `ipset save` file, expectations file, host configuration (`ip -j` JSON), `--iface-addr`,
//! `--route`, `--socket-owner` value or fleet manifest makes fwcheck panic; each is an answer or
//! an error.
//! Inputs are built from each language's own words (structure-aware) as well as arbitrary text.

use proptest::prelude::*;

use fwcheck::analysis::expect;
use fwcheck::engine::SocketOwner;
use fwcheck::ext::ipset::IpSets;
use fwcheck::host::HostConfig;
use fwcheck::session::fleet::Manifest;

/// Pieces of a fleet manifest (TOML), valid and not.
const MANIFEST_WORDS: &[&str] = &[
    "[[host]]",
    "[host]",
    "name",
    "rules",
    "pcap",
    "options",
    "=",
    "\"a\"",
    "\"b\"",
    "\"\"",
    "\"-\"",
    "\"-x\"",
    "\"x.v4\"",
    "\"../y.pcap\"",
    "[",
    "]",
    ",",
    "\"--router\"",
    "\"--parity\"",
    "\"--format=json\"",
    "\"--rules6=-\"",
    "\"--mgmt\"",
    "\"tcp/22\"",
    "1",
    "#",
    "\"",
];

/// Words an `ipset save` file is made of, and pieces that break it.
const IPSET_WORDS: &[&str] = &[
    "create",
    "add",
    "s",
    "t",
    "hash:ip",
    "hash:net",
    "hash:ip,port",
    "hash:net,port",
    "hash:ip,port,ip",
    "hash:ip,port,net",
    "hash:net,iface",
    "bitmap:ip",
    "bitmap:port",
    "list:set",
    "family",
    "inet",
    "inet6",
    "hashsize",
    "1024",
    "maxelem",
    "65536",
    "timeout",
    "0",
    "60",
    "nomatch",
    "netmask",
    "24",
    "range",
    "0-1024",
    "192.0.2.0/24",
    "192.0.2.1",
    "2001:db8::1",
    "2001:db8::/48",
    "192.0.2.1,tcp:80",
    "192.0.2.0/24,eth0",
    "tcp:80",
    "udp:53",
    "icmp:8/0",
    "80",
    "65536",
    "-1",
    "1.2.3.4-1.2.3.0",
    "comment",
    "\"x y\"",
    "packets",
    "bytes",
    ",",
    ":",
    "/",
    "physdev:eth0",
    "#",
    "",
];

const EXPECT_WORDS: &[&str] = &[
    "[[expect]]",
    "[[flow]]",
    "flow",
    "=",
    "\"tcp 198.51.100.7:40000 > 203.0.113.10:22\"",
    "verdict",
    "\"ACCEPT\"",
    "\"DROP\"",
    "size",
    "9223372036854775807",
    "4000000000",
    "60",
    "name",
    "\"ssh\"",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "#",
    "\n",
    "true",
    "flags",
    "\"S\"",
];

fn sentence(words: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::collection::vec(proptest::sample::select(words), 0..8).prop_map(|w| w.join(" ")),
        0..12,
    )
    .prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn ipset_files(text in sentence(IPSET_WORDS)) {
        if let Ok(sets) = IpSets::parse(&text) {
            // What parses can be tested against any packet without panicking.
            let p = fwcheck::packet::Packet::default();
            for s in &sets.sets {
                let now = (5_000_000_000, 4_000_000);
                let _ = sets.test(&s.name, &p, &[true, false, true], ("eth0", ""), now, false);
            }
        }
    }

    #[test]
    fn ipset_arbitrary_text(text in "\\PC{0,400}") {
        let _ = IpSets::parse(&text);
    }

    #[test]
    fn expectation_files(text in sentence(EXPECT_WORDS)) {
        let _ = expect::parse(&text);
    }

    #[test]
    fn expectation_arbitrary_text(text in "\\PC{0,400}") {
        let _ = expect::parse(&text);
    }

    #[test]
    fn host_configs(text in "\\PC{0,300}") {
        let _ = HostConfig::default().load_json("h.json", &text);
        let _ = HostConfig::parse_iface_addr(&text);
        let _ = HostConfig::parse_route(&text);
        let _ = HostConfig::default().parse_join(&text);
        let _ = SocketOwner::parse(&text);
    }

    #[test]
    fn host_config_json_shapes(
        addr in "[0-9a-f:.]{0,20}",
        len in proptest::num::i64::ANY,
        dev in "[a-z0-9]{0,20}",
    ) {
        let text = format!(
            "[{{\"ifname\":\"{dev}\",\"addr_info\":[{{\"family\":\"inet\",\"local\":\"{addr}\",\"prefixlen\":{len}}}]}}]"
        );
        let _ = HostConfig::default().load_json("h.json", &text);
        let route = format!("[{{\"dst\":\"{addr}/{len}\",\"dev\":\"{dev}\"}}]");
        let _ = HostConfig::default().load_json("r.json", &route);
        // `ip -j maddr`, and the three arrays in one object.
        let maddr = format!(
            "[{{\"ifname\":\"{dev}\",\"maddr\":[{{\"family\":\"inet\",\"address\":\"{addr}\"}},{{\"link\":\"{addr}\"}}]}}]"
        );
        let mut h = HostConfig::default();
        if h.load_json("m.json", &maddr).is_ok() {
            // What loaded is a multicast group on that interface.
            prop_assert!(h.groups_known);
            prop_assert!(h.groups.iter().all(|g| g.group.is_multicast()));
        }
        let all = format!("{{\"addr\": {text}, \"route\": {route}, \"maddr\": {maddr}}}");
        let _ = HostConfig::default().load_json("all.json", &all);
    }

    #[test]
    fn fleet_manifests(text in sentence(MANIFEST_WORDS)) {
        check_manifest(&text);
    }

    #[test]
    fn fleet_manifest_shapes(
        hosts in proptest::collection::vec(
            (
                proptest::sample::select(&["a", "b", "c", "", "a b"][..]),
                proptest::sample::select(&["x.v4", "-", "", "-x", "/abs/r.v4"][..]),
                proptest::option::of(proptest::sample::select(&["c.pcap", "-", ""][..])),
                proptest::collection::vec(
                    proptest::sample::select(
                        &["--router", "--parity", "-", "--format=json", "--mgmt", "tcp/22", "--limit"][..],
                    ),
                    0..4,
                ),
            ),
            0..6,
        ),
        shared in proptest::collection::vec(proptest::sample::select(&["--router", "-", "--only"][..]), 0..3),
    ) {
        let list = |v: &[&str]| v.iter().map(|o| format!("{o:?}")).collect::<Vec<_>>().join(", ");
        let mut text = format!("options = [{}]\n", list(&shared));
        for (name, rules, pcap, opts) in &hosts {
            text += &format!("[[host]]\nname = {name:?}\nrules = {rules:?}\n");
            if let Some(p) = pcap {
                text += &format!("pcap = {p:?}\n");
            }
            text += &format!("options = [{}]\n", list(opts));
        }
        check_manifest(&text);
        if let Ok(m) = Manifest::parse("m.toml", &text, std::path::PathBuf::from("d")) {
            let mut names: Vec<&str> = m.hosts.iter().map(|h| h.name.as_str()).collect();
            names.sort();
            names.dedup();
            prop_assert_eq!(names.len(), m.hosts.len());
            for h in &m.hosts {
                prop_assert!(!m.args(h).iter().any(|a| a == "-"));
            }
        }
    }

    #[test]
    fn fleet_manifest_arbitrary_text(text in "\\PC{0,400}") {
        check_manifest(&text);
    }
}

/// A manifest is parsed or refused with its position; a parsed one gives every host its rules
/// file first, and its shards partition it.
fn check_manifest(text: &str) {
    match Manifest::parse("m.toml", text, std::path::PathBuf::from("d")) {
        Err(e) => assert!(e.message.starts_with("m.toml"), "{}", e.message),
        Ok(m) => {
            assert!(!m.hosts.is_empty());
            for h in &m.hosts {
                let args = m.args(h);
                assert!(!args[0].is_empty() && !args[0].starts_with('-'), "{args:?}");
            }
            let mut n = 0;
            for k in 1..=3 {
                let mut s = m.clone();
                s.shard(k, 3);
                n += s.hosts.len();
            }
            assert_eq!(n, m.hosts.len());
        }
    }
}

/// Windows line endings: iptables-restore refuses the file (the carriage return stays in each
/// line's last word: `table name 'filter' invalid`, checked with iptables 1.8.9, nft and
/// legacy); fwcheck says so once, at the first one, and still reads the rules.
#[test]
fn crlf_line_endings_are_refused_once() {
    let text = "*filter\r\n:INPUT DROP [0:0]\r\n-A INPUT -p tcp --dport 22 -j ACCEPT\r\nCOMMIT\r\n";
    let p = fwcheck::ruleset::parse_str("crlf.v4", text, Default::default());
    let errors: Vec<_> = p
        .diagnostics
        .iter()
        .filter(|d| d.severity == fwcheck::diag::Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{:?}", p.diagnostics);
    assert_eq!(errors[0].code, "E100");
    assert_eq!(errors[0].span.start, 7, "at the first carriage return");
    assert!(
        errors[0].message.contains("4 lines"),
        "{}",
        errors[0].message
    );
    assert_eq!(p.ruleset.tables[0].chains[0].rules.len(), 1);
    let lf = text.replace("\r\n", "\n");
    assert!(
        fwcheck::ruleset::parse_str("lf.v4", &lf, Default::default())
            .diagnostics
            .is_empty()
    );
}

/// Scripts as people write them: `-w`/`--wait [SECONDS]` and `-W` (iptables takes them, checked
/// with 1.8.9), redirections (`2>/dev/null`, `>/dev/null 2>&1 &`, `>>log`), and here-documents,
/// whose lines are input to a program, not commands (an `iptables-restore` fed one applies
/// them, as iptables-restore does).
#[test]
fn scripts_take_wait_redirections_and_here_documents() {
    let text = "iptables -w -A INPUT -p tcp --dport 1 -j ACCEPT\n\
                iptables --wait 3 -A INPUT -p tcp --dport 2 -j ACCEPT\n\
                iptables -w5 -W 100 -A INPUT -p tcp --dport 3 -j ACCEPT\n\
                iptables -A INPUT -p tcp --dport 4 -j ACCEPT 2>/dev/null || true\n\
                iptables -A INPUT -p tcp --dport 5 -j ACCEPT >/dev/null 2>&1 &\n\
                iptables -A INPUT -p tcp --dport 6 -j ACCEPT>>/tmp/log\n\
                cat > /tmp/other.sh <<'EOF'\niptables -A INPUT -j DROP\nEOF\n\
                iptables-restore -n <<RULES\n*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\nRULES\n\
                iptables -A INPUT -p tcp --dport 7 -j ACCEPT\n";
    let opts = fwcheck::ruleset::ParseOptions {
        format: fwcheck::ruleset::InputFormat::Script,
        ..Default::default()
    };
    let p = fwcheck::ruleset::parse_str("fw.sh", text, opts);
    let errors: Vec<_> = p.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let saved = fwcheck::ruleset::printer::print_ruleset(&p.ruleset, Default::default());
    let ports: Vec<&str> = saved
        .lines()
        .filter(|l| l.starts_with("-A INPUT"))
        .collect();
    assert_eq!(ports.len(), 8, "{ports:#?}");
    for (r, port) in ports.iter().zip([1, 2, 3, 4, 5, 6, 22, 7]) {
        assert!(r.contains(&format!("--dport {port} ")), "{r}");
    }
    assert!(
        p.diagnostics.iter().all(|d| d.code != "W005"),
        "{:?}",
        p.diagnostics
    );
}

/// A ruleset that is not UTF-8 is refused with its file:line:column and the byte: a Latin-1
/// comment (which iptables itself takes) is told apart from binary data.
#[test]
fn non_utf8_rulesets_are_refused_with_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let latin1 = dir.path().join("latin1.v4");
    std::fs::write(
        &latin1,
        b"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment \"caf\xe9\" -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(["lint", latin1.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("latin1.v4:3:35: byte 0xe9 is not UTF-8"),
        "{err}"
    );
    assert!(err.contains("iconv"), "{err}");
}
