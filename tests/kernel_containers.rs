//! A Docker host against the kernel, frame by frame: the oracle's namespace has eth0 (the
//! frames come in on it) and docker0 (172.17.0.1/16, a second tun device), so a published
//! port's SYN is DNATed in PREROUTING and routed out of docker0 through FORWARD — past INPUT's
//! DROP policy — exactly as fwcheck's host configuration (src/host.rs) says; FW016's fix
//! (DOCKER-USER on --ctorigdstport) drops it in both.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::host::HostConfig;
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const SYN: u8 = 0x02;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/containers")
            .join(name),
    )
    .expect("fixture")
}

fn sim() -> SimOptions {
    let mut h = HostConfig::default();
    h.load_json("docker-host.json", &fixture("docker-host.json"))
        .expect("host config");
    let mut env = SimEnv {
        iface: "eth0".into(),
        ..SimEnv::default()
    };
    env.apply_host(&h);
    SimOptions {
        env,
        router: true,
        ..SimOptions::default()
    }
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
    let (kernel, rules) = verdicts(&fixture("docker-host.rules.v4"));
    assert_eq!(
        kernel,
        [Some("ACCEPT"), Some("ACCEPT"), Some("DROP"), Some("ACCEPT")]
    );
    let rules: Vec<String> = rules.into_iter().map(|r| r.unwrap_or_default()).collect();
    assert!(rules[0].contains("DOCKER #1"), "{rules:?}");
    assert!(rules[2].contains("INPUT"), "{rules:?}");
}

fn fw016_fix_drops_the_published_port() {
    let fixed = fixture("docker-host.rules.v4").replace(
        "-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP",
        "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP",
    );
    let (kernel, _) = verdicts(&fixed);
    assert_eq!(
        kernel,
        [Some("DROP"), Some("ACCEPT"), Some("DROP"), Some("ACCEPT")]
    );
}

kernel_tests!(
    published_ports_bypass_input,
    fw016_fix_drops_the_published_port
);
