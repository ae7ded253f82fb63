//! A Docker host against the kernel, frame by frame: the oracle's namespace has eth0 (the
//! frames come in on it) and docker0 (172.17.0.1/16, a second tun device), so a published
//! port's SYN is DNATed in PREROUTING and routed out of docker0 through FORWARD — past INPUT's
//! DROP policy — exactly as fwcheck's host configuration (src/host.rs) says; FW016's fix
//! (DOCKER-USER on --ctorigdstport) drops it in both.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::compare;
use fwcheck::engine::SimOptions;
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const SYN: u8 = 0x02;

/// The Docker host fixture, frames in on eth0.
fn sim() -> SimOptions {
    container_sim("docker-host.json", "eth0")
}

/// SYNs from outside to 8080 and 5432 (published), 3306 (not), 22 (INPUT allows).
fn syns() -> Vec<Vec<u8>> {
    [8080u16, 5432, 3306, 22]
        .iter()
        .enumerate()
        .map(|(i, &port)| {
            tcp4(
                CLIENT,
                HOST,
                40000 + i as u16,
                port,
                1000,
                0,
                SYN,
                i as u16 + 1,
            )
        })
        .collect()
}

fn verdicts(rules: &str) -> (Vec<Option<&'static str>>, Vec<Option<String>>) {
    let loaded = load_str("docker-host.rules.v4", rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let cmp = compare(&loaded, decoded(syns()), sim(), Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    assert_eq!(cmp.compared, 4, "{}", cmp.render(true));
    (
        cmp.frames.iter().map(|f| f.kernel).collect(),
        cmp.frames.iter().map(|f| f.fwcheck_rule.clone()).collect(),
    )
}

fn published_ports_bypass_input() {
    let (kernel, rules) = verdicts(&container_fixture("docker-host.rules.v4"));
    assert_eq!(
        kernel,
        [Some("ACCEPT"), Some("ACCEPT"), Some("DROP"), Some("ACCEPT")]
    );
    let rules: Vec<String> = rules.into_iter().map(|r| r.unwrap_or_default()).collect();
    assert!(rules[0].contains("DOCKER #1"), "{rules:?}");
    assert!(rules[2].contains("INPUT"), "{rules:?}");
}

fn fw016_fix_drops_the_published_port() {
    let fixed = container_fixture("docker-host.rules.v4").replace(
        "-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP",
        "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP",
    );
    let (kernel, _) = verdicts(&fixed);
    assert_eq!(
        kernel,
        [Some("DROP"), Some("ACCEPT"), Some("DROP"), Some("ACCEPT")]
    );
}

/// `pcaps/docker-published.pcap` through the kernel and fwcheck: every frame's verdict, and
/// the rule fwcheck names for it.
fn capture_verdicts(rules: &str) -> Vec<(&'static str, String)> {
    let loaded = load_str("docker-host.rules.v4", rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let pcap = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps/docker-published.pcap");
    let (pk, problems, _) = fwcheck::packet::capture::read_all(&pcap).expect("capture");
    assert!(problems.is_empty(), "{problems:?}");
    let cmp = compare(
        &loaded,
        pk.into_iter().map(Ok).collect(),
        sim(),
        Pacing::AsFastAsPossible,
    )
    .expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    assert_eq!(cmp.uncertain, 0, "{}", cmp.render(true));
    assert_eq!(cmp.compared, 8, "{}", cmp.render(true));
    kernel_and_rule(&cmp)
}

fn short(v: &[(&'static str, String)]) -> Vec<String> {
    v.iter()
        .map(|(k, r)| {
            // "filter DOCKER #1 (line 38)…" -> "ACCEPT filter DOCKER #1"
            let r = r.split(" (").next().unwrap_or_default();
            format!("{k} {r}")
        })
        .collect()
}

fn the_shipped_capture_frame_by_frame() {
    let got = capture_verdicts(&container_fixture("docker-host.rules.v4"));
    assert_eq!(
        short(&got),
        [
            // 8080 from two clients and a retransmitted SYN, 5432: DNATed, forwarded to
            // docker0, accepted past INPUT's DROP policy.
            "ACCEPT filter DOCKER #1",
            "ACCEPT filter DOCKER #1",
            "ACCEPT filter DOCKER #1",
            "ACCEPT filter DOCKER #2",
            // SSH: INPUT.
            "ACCEPT filter INPUT #3",
            // 3306 (twice) and UDP 5432: INPUT's policy.
            "DROP filter INPUT policy DROP",
            "DROP filter INPUT policy DROP",
            "DROP filter INPUT policy DROP",
        ],
        "{got:?}"
    );
}

fn the_shipped_capture_with_fw016s_fix() {
    let fixed = container_fixture("docker-host.rules.v4").replace(
        "-A DOCKER-USER -j RETURN",
        "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP\n\
         -A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 5432 --ctdir ORIGINAL -j DROP\n\
         -A DOCKER-USER -j RETURN",
    );
    let got = capture_verdicts(&fixed);
    assert_eq!(
        short(&got),
        [
            "DROP filter DOCKER-USER #2",
            "DROP filter DOCKER-USER #2",
            "DROP filter DOCKER-USER #2",
            "DROP filter DOCKER-USER #3",
            "ACCEPT filter INPUT #3",
            "DROP filter INPUT policy DROP",
            "DROP filter INPUT policy DROP",
            "DROP filter INPUT policy DROP",
        ],
        "{got:?}"
    );
}

/// Every row of the "reachable from outside" matrix (`fwcheck exposure`) is the kernel's
/// verdict on the same probe: each one's packet sent into the namespace on eth0.
fn exposure_matrix_is_the_kernels() {
    use fwcheck::analysis::{exposure, CheckOptions};
    let loaded = load_str(
        "docker-host.rules.v4",
        &container_fixture("docker-host.rules.v4"),
        ParseOptions::default(),
    );
    let check = CheckOptions {
        env: sim().env,
        ..CheckOptions::default()
    };
    let rows = exposure::matrix(&loaded.ruleset, &check);
    assert!(rows.len() >= 6, "{rows:#?}");
    let client: std::net::Ipv4Addr = "198.51.100.77".parse().unwrap();
    let frames: Vec<Vec<u8>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let std::net::IpAddr::V4(to) = r.addr else {
                panic!("{r:?}")
            };
            // Each probe its own connection (the matrix runs each on fresh state).
            let sport = 41000 + i as u16;
            if r.proto == "tcp" {
                tcp4(client, to, sport, r.port, 1000, 0, SYN, i as u16 + 1)
            } else {
                udp4(client, to, sport, r.port, i as u16 + 1, &[0; 32])
            }
        })
        .collect();
    let cmp = compare(&loaded, decoded(frames), sim(), Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<Option<&str>> = cmp.frames.iter().map(|f| f.kernel).collect();
    let ours: Vec<Option<&str>> = rows.iter().map(|r| r.verdict).collect();
    assert_eq!(kernel, ours, "{rows:#?}");
    assert!(ours.contains(&Some("ACCEPT")) && ours.contains(&Some("DROP")));
}

kernel_tests!(
    exposure_matrix_is_the_kernels,
    published_ports_bypass_input,
    fw016_fix_drops_the_published_port,
    the_shipped_capture_frame_by_frame,
    the_shipped_capture_with_fw016s_fix
);
