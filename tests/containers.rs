//! Hosts with several interfaces (src/host.rs): the output interface from the routes after
//! DNAT, FORWARD vs INPUT by the post-DNAT destination, and the Docker published-port
//! findings (src/analysis/exposure.rs: FW016, FW017) on the Docker host fixture
//! (fixtures/containers/). The kernel's verdicts on the same frames: tests/kernel_containers.rs.

mod common;

use common::*;
use fwcheck::analysis::{self, CheckOptions};
use fwcheck::engine::{Decision, Direction, Engine, SimEnv, SimOptions};
use fwcheck::host::HostConfig;
use fwcheck::lint::{load_file, Loaded};
use fwcheck::report::rule_info;
use fwcheck::ruleset::ParseOptions;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/containers")
        .join(name)
}

fn docker() -> Loaded {
    let l = load_file(&fixture("docker-host.rules.v4"), ParseOptions::default()).unwrap();
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    l
}

fn docker_host() -> HostConfig {
    let mut h = HostConfig::default();
    let p = fixture("docker-host.json");
    h.load_json("docker-host.json", &std::fs::read_to_string(p).unwrap())
        .unwrap();
    h
}

fn env(h: &HostConfig, iface: &str) -> SimEnv {
    let mut env = SimEnv {
        iface: iface.to_string(),
        iface_from_capture: false,
        ..SimEnv::default()
    };
    env.apply_host(h);
    env
}

fn engine<'a>(l: &'a Loaded, env: SimEnv) -> Engine<'a> {
    Engine::new(
        &l.ruleset,
        SimOptions {
            env,
            router: true,
            recognise_answers: false,
            ..SimOptions::default()
        },
    )
}

fn decided(l: &Loaded, o: &fwcheck::engine::Outcome) -> String {
    match o.decision {
        Some(d @ Decision::Rule(_)) | Some(d @ Decision::Policy { .. }) => {
            let ri = rule_info(&l.ruleset, &d).unwrap();
            match ri.number {
                Some(n) => format!("{} {} #{n}", ri.table, ri.chain),
                None => format!("{} {} policy", ri.table, ri.chain),
            }
        }
        Some(Decision::Stack(s)) => format!("stack: {s}"),
        d => format!("{d:?}"),
    }
}

#[test]
fn published_port_is_forwarded_to_docker0_past_input() {
    let l = docker();
    let h = docker_host();
    let mut e = engine(&l, env(&h, "eth0"));
    let syn = |f, port| {
        tcp(
            f,
            f,
            ("203.0.113.7", 40000 + f as u16),
            ("192.0.2.10", port),
            "S",
            1,
            0,
            0,
        )
    };
    // 8080: DNAT to 172.17.0.2:80, routed to docker0, accepted by filter DOCKER #1; the
    // DOCKER-USER rule on --dport 8080 never fires.
    let o = e.process(&syn(1, 8080));
    assert_eq!((o.direction, v(&o)), (Direction::Forward, "ACCEPT"));
    assert_eq!(decided(&l, &o), "filter DOCKER #1");
    let o = e.process(&syn(2, 5432));
    assert_eq!((o.direction, v(&o)), (Direction::Forward, "ACCEPT"));
    assert_eq!(decided(&l, &o), "filter DOCKER #2");
    // Not published: INPUT's policy.
    let o = e.process(&syn(3, 3306));
    assert_eq!((o.direction, v(&o)), (Direction::In, "DROP"));
    assert_eq!(decided(&l, &o), "filter INPUT policy");
    let o = e.process(&syn(4, 22));
    assert_eq!((o.direction, v(&o)), (Direction::In, "ACCEPT"));
    // The container's answer, in on docker0, out by the default route on eth0.
    let mut e = engine(&l, env(&h, "docker0"));
    let o = e.process(&tcp(
        5,
        5,
        ("172.17.0.2", 80),
        ("203.0.113.7", 41000),
        "S",
        1,
        0,
        0,
    ));
    assert_eq!((o.direction, v(&o)), (Direction::Forward, "ACCEPT"));
    assert_eq!(decided(&l, &o), "filter FORWARD #5");
    // From a container to another on the same bridge: -i docker0 -o docker0.
    let o = e.process(&tcp(
        6,
        6,
        ("172.17.0.2", 41000),
        ("172.17.0.3", 5432),
        "S",
        1,
        0,
        0,
    ));
    assert_eq!((o.direction, v(&o)), (Direction::Forward, "ACCEPT"));
    assert_eq!(decided(&l, &o), "filter FORWARD #6");
}

#[test]
fn without_interfaces_the_single_interface_model_is_unchanged() {
    // No host configuration: everything leaves by --iface, so `-o docker0` never matches.
    let l = docker();
    let mut e = engine(
        &l,
        SimEnv {
            hosts: vec![ip("192.0.2.10")],
            iface_from_capture: false,
            ..SimEnv::default()
        },
    );
    let o = e.process(&tcp(
        1,
        1,
        ("203.0.113.7", 40000),
        ("192.0.2.10", 8080),
        "S",
        1,
        0,
        0,
    ));
    assert_eq!((o.direction, v(&o)), (Direction::Forward, "DROP"));
    assert_eq!(decided(&l, &o), "filter FORWARD policy");
}

/// `ip -j route` lists IPv4 alone: a configuration with IPv4 routes and none of IPv6 says
/// nothing of IPv6's (a default route may exist), so a forwarded IPv6 packet beyond the
/// router's subnets is not taken as unrouted (it was a certain DROP, "no route", with the
/// stack's error); once IPv6 routes are listed, one they do not cover is.
#[test]
fn ipv4_routes_say_nothing_of_ipv6() {
    let l = fwcheck::lint::load_str(
        "v6.rules",
        "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -s 2001:db8:1::/64 -j ACCEPT\nCOMMIT\n",
        ParseOptions {
            family: fwcheck::ruleset::Family::V6,
            ..ParseOptions::default()
        },
    );
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    let mut h = HostConfig::default();
    h.add_addr(HostConfig::parse_iface_addr("eth0=192.0.2.10/24").unwrap());
    h.add_addr(HostConfig::parse_iface_addr("eth0=2001:db8:1::10/64").unwrap());
    h.add_route(HostConfig::parse_route("default via 192.0.2.1 dev eth0").unwrap());
    let seg = || {
        tcp(
            1,
            1,
            ("2001:db8:1::50", 40000),
            ("2001:db8:9::9", 80),
            "S",
            1,
            0,
            0,
        )
    };
    let mut e = engine(&l, env(&h, "eth0"));
    let o = e.process(&seg());
    assert_eq!((o.direction, v(&o)), (Direction::Forward, "ACCEPT"));
    assert!(o.certain);
    h.add_route(HostConfig::parse_route("2001:db8:1::/64 dev eth0").unwrap());
    let mut e = engine(&l, env(&h, "eth0"));
    let o = e.process(&seg());
    assert_eq!(v(&o), "DROP");
    assert!(
        decided(&l, &o).starts_with("stack: no route"),
        "{}",
        decided(&l, &o)
    );
}

#[test]
fn no_route_is_dropped_before_forward() {
    let l = rules("*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n");
    let mut h = HostConfig::default();
    h.add_addr(HostConfig::parse_iface_addr("eth0=192.0.2.10/24").unwrap());
    h.add_addr(HostConfig::parse_iface_addr("eth1=198.51.100.1/24").unwrap());
    let mut e = engine(&l, env(&h, "eth0"));
    let o = e.process(&tcp(
        1,
        1,
        ("192.0.2.50", 40000),
        ("203.0.113.9", 80),
        "S",
        1,
        0,
        0,
    ));
    assert_eq!(v(&o), "DROP");
    assert!(
        decided(&l, &o).starts_with("stack: no route"),
        "{}",
        decided(&l, &o)
    );
    // -o from the connected route.
    let l = rules("*filter\n:FORWARD DROP [0:0]\n-A FORWARD -i eth0 -o eth1 -j ACCEPT\nCOMMIT\n");
    let mut e = engine(&l, env(&h, "eth0"));
    let o = e.process(&tcp(
        1,
        1,
        ("192.0.2.50", 40000),
        ("198.51.100.9", 80),
        "S",
        1,
        0,
        0,
    ));
    assert_eq!((o.direction, v(&o)), (Direction::Forward, "ACCEPT"));
    let o = e.process(&tcp(
        2,
        2,
        ("192.0.2.50", 40001),
        ("192.0.2.77", 80),
        "S",
        1,
        0,
        0,
    ));
    assert_eq!((o.direction, v(&o)), (Direction::Forward, "DROP"));
}

#[test]
fn addrtype_sees_every_interface_address() {
    let l = rules(
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT\n\
         -A INPUT -m addrtype --dst-type BROADCAST -j REJECT\nCOMMIT\n",
    );
    let h = docker_host();
    let mut e = engine(&l, env(&h, "docker0"));
    let o = e.process(&udp(1, 1, ("172.17.0.2", 5000), ("172.17.0.1", 53), 10));
    assert_eq!((o.direction, v(&o)), (Direction::In, "ACCEPT"));
    let o = e.process(&udp(2, 2, ("172.17.0.2", 5000), ("172.17.255.255", 53), 10));
    assert_eq!(v(&o), "REJECT");
}

fn docker_findings() -> Vec<analysis::Finding> {
    let l = docker();
    let check = CheckOptions {
        env: env(&docker_host(), "eth0"),
        ..CheckOptions::default()
    };
    analysis::exposure::check(&l.ruleset, &check)
}

#[test]
fn fw016_names_the_path_and_a_verified_fix() {
    let f = docker_findings();
    let fw016: Vec<_> = f.iter().filter(|f| f.code == "FW016").collect();
    assert_eq!(fw016.len(), 2, "{f:#?}");
    let a = fw016[0];
    assert_eq!(a.severity, analysis::Level::Error);
    assert!(
        a.message.contains(
            "tcp/8080 on 192.0.2.10 (eth0) is reachable from outside through PREROUTING DNAT \
             nat DOCKER #2 -> FORWARD -> docker0 -> 172.17.0.2:80"
        ),
        "{}",
        a.message
    );
    assert!(a.message.contains("filter INPUT policy"), "{}", a.message);
    assert!(
        a.message.contains("let through by filter DOCKER #1"),
        "{}",
        a.message
    );
    assert_eq!(
        a.fix.as_deref().unwrap().split(';').next().unwrap(),
        "iptables -I DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir \
         ORIGINAL -j DROP (verified: the probe is then dropped)"
    );
    assert!(fw016[1]
        .message
        .contains("nat DOCKER #3 -> FORWARD -> docker0 -> 172.17.0.3:5432"));
}

#[test]
fn fw017_the_docker_user_rule_on_the_host_port_never_fires() {
    let f = docker_findings();
    let fw017: Vec<_> = f.iter().filter(|f| f.code == "FW017").collect();
    assert_eq!(fw017.len(), 1, "{f:#?}");
    assert!(
        fw017[0]
            .message
            .starts_with("filter DOCKER-USER #1 matches --dport 8080, the published host port"),
        "{}",
        fw017[0].message
    );
    assert_eq!(fw017[0].line, Some(44));
}

#[test]
fn no_finding_when_input_allows_or_without_interfaces() {
    // Without interfaces and without a bridge the ruleset makes evident (no MASQUERADE `!
    // -o BRIDGE`), nothing can be forwarded to docker0: no probe is run.
    let text = std::fs::read_to_string(fixture("docker-host.rules.v4")).unwrap();
    let masq = "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n";
    assert!(text.contains(masq));
    let l = rules(&text.replace(masq, ""));
    assert!(analysis::exposure::check(&l.ruleset, &CheckOptions::default()).is_empty());
    let l = docker();
    assert!(!analysis::exposure::check(&l.ruleset, &CheckOptions::default()).is_empty());
    // With the fix in DOCKER-USER, 8080 is closed; 5432 is still published.
    let text = std::fs::read_to_string(fixture("docker-host.rules.v4")).unwrap().replace(
        "-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP",
        "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP",
    );
    let l = rules(&text);
    let check = CheckOptions {
        env: env(&docker_host(), "eth0"),
        ..CheckOptions::default()
    };
    let f = analysis::exposure::check(&l.ruleset, &check);
    let codes: Vec<_> = f
        .iter()
        .map(|f| (f.code, f.packet.clone().unwrap()))
        .collect();
    assert_eq!(
        codes,
        vec![(
            "FW016",
            "tcp 198.51.100.77:41000 > 192.0.2.10:5432 on eth0".to_string()
        )]
    );
}

fn fwcheck(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run fwcheck");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn cli_host_configuration() {
    let rules = "fixtures/containers/docker-host.rules.v4";
    // Options and the JSON file give the same host.
    let (code, text) = fwcheck(&[
        rules,
        "--iface-addr",
        "eth0=192.0.2.10/24",
        "--iface-addr",
        "docker0=172.17.0.1/16",
        "--route",
        "default via 192.0.2.1 dev eth0",
        "--router",
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("error[FW016]: tcp/8080 on 192.0.2.10 (eth0)"),
        "{text}"
    );
    let (code, text2) = fwcheck(&[
        rules,
        "--host-config",
        "fixtures/containers/docker-host.json",
        "--router",
    ]);
    assert_eq!(code, 1, "{text2}");
    assert!(
        text2.contains("error[FW016]: tcp/8080 on 192.0.2.10 (eth0)"),
        "{text2}"
    );
    // Bad input: what was expected, and where.
    let (code, text) = fwcheck(&[rules, "--route", "10.0.0.0/8 via 192.0.2.1"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains(
            "--route 10.0.0.0/8 via 192.0.2.1: `10.0.0.0/8 via 192.0.2.1`: expected `dev NAME`"
        ),
        "{text}"
    );
    let (code, text) = fwcheck(&[rules, "--iface-addr", "docker0"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("expected NAME=ADDR/LEN"), "{text}");
    let bad = std::env::temp_dir().join(format!("fwcheck-bad-host-{}.json", std::process::id()));
    std::fs::write(&bad, "[\n  {\"dst\": }\n]\n").unwrap();
    let (code, text) = fwcheck(&[rules, "--host-config", bad.to_str().unwrap()]);
    let _ = std::fs::remove_file(&bad);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains(".json:2:11:"), "{text}");
}

/// The Docker host's options as the session gives them (`--host-config docker-host.json
/// --router`), and the FW016 findings of replaying `pcaps/docker-published.pcap` through
/// `text` (the capture's own, not the probes').
fn fw016_from_capture(text: &str) -> (Vec<analysis::Finding>, Vec<(Direction, String)>) {
    use fwcheck::analysis::capture::CaptureAnalyzer;
    use fwcheck::replay::{replay, Item, Source};
    let l = rules(text);
    let h = docker_host();
    let mut e = env(&h, "eth0");
    e.iface_from_capture = true;
    let check = CheckOptions {
        env: e.clone(),
        router: true,
        ..CheckOptions::default()
    };
    let opts = SimOptions {
        env: e.clone(),
        router: true,
        ..SimOptions::default()
    };
    let mut a = CaptureAnalyzer::new(&check, &e.hosts, &l.ruleset);
    let mut seen = Vec::new();
    let pcap = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps/docker-published.pcap");
    let (engine, _) = replay(&l.ruleset, opts, Source::Capture(pcap), |item| {
        if let Item::Packet(p, o) = item {
            a.observe(p, o);
            seen.push((o.direction, format!("{} {}", v(o), decided(&l, o))));
        }
    })
    .unwrap();
    let f = a
        .finish(&l, &engine)
        .into_iter()
        .filter(|f| f.code == "FW016")
        .collect();
    (f, seen)
}

fn docker_text() -> String {
    std::fs::read_to_string(fixture("docker-host.rules.v4")).unwrap()
}

#[test]
fn fw016_from_a_capture_names_the_first_frame_the_path_the_rule_and_the_count() {
    let (f, seen) = fw016_from_capture(&docker_text());
    // The replay (the kernel's verdicts on the same frames: kernel_containers.rs).
    let s = |d, t: &str| (d, t.to_string());
    assert_eq!(
        seen,
        vec![
            s(Direction::Forward, "ACCEPT filter DOCKER #1"),
            s(Direction::Forward, "ACCEPT filter DOCKER #1"),
            s(Direction::Forward, "ACCEPT filter DOCKER #1"),
            s(Direction::Forward, "ACCEPT filter DOCKER #2"),
            s(Direction::In, "ACCEPT filter INPUT #3"),
            s(Direction::In, "DROP filter INPUT policy"),
            s(Direction::In, "DROP filter INPUT policy"),
            s(Direction::In, "DROP filter INPUT policy"),
        ]
    );
    // One finding per published port: 8080 (two connections, the retransmitted SYN of frame
    // 3 is the first one's), 5432; nothing for 22 (INPUT allows it) nor 3306 (not forwarded).
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(f[0].severity, analysis::Level::Error);
    assert_eq!(
        f[0].message,
        "tcp/8080 on 192.0.2.10 (eth0) was reached from outside in the capture: 2 connections, \
         the first at frame 1, through PREROUTING DNAT nat DOCKER #2 -> FORWARD -> docker0 -> \
         172.17.0.2:80, although INPUT would drop it (filter INPUT policy); let through by \
         filter DOCKER #1"
    );
    assert_eq!(f[0].frame, Some(1));
    assert_eq!(f[0].line, Some(38));
    assert_eq!(
        f[0].packet.as_deref(),
        Some("frame 1: tcp 198.51.100.20:40001 > 192.0.2.10:8080 [S] len 48 on eth0")
    );
    assert!(
        f[0].details
            .contains(&"the connections were opened in frames 1,2".to_string()),
        "{:?}",
        f[0].details
    );
    // The static FW016's fix, verified on the captured packet.
    assert_eq!(
        f[0].fix.as_deref().unwrap().split(';').next().unwrap(),
        "iptables -I DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir \
         ORIGINAL -j DROP (verified: frame 1 is then dropped)"
    );
    assert!(
        f[1].message.starts_with(
            "tcp/5432 on 192.0.2.10 (eth0) was reached from outside in the capture: 1 \
             connection, the first at frame 4, through PREROUTING DNAT nat DOCKER #3 -> FORWARD \
             -> docker0 -> 172.17.0.3:5432"
        ),
        "{}",
        f[1].message
    );
    // The static check finds the same ports, with the same fix.
    let stat = docker_findings();
    let stat: Vec<_> = stat.iter().filter(|f| f.code == "FW016").collect();
    for (c, s) in f.iter().zip(&stat) {
        let fix = |f: &analysis::Finding| {
            f.fix
                .as_deref()
                .unwrap()
                .split(" (verified")
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(fix(c), fix(s));
    }
}

#[test]
fn fw016_fix_makes_the_capture_finding_go_away() {
    let fixed = docker_text().replace(
        "-A DOCKER-USER -j RETURN",
        "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP\n\
         -A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 5432 --ctdir ORIGINAL -j DROP\n\
         -A DOCKER-USER -j RETURN",
    );
    let (f, seen) = fw016_from_capture(&fixed);
    assert!(f.is_empty(), "{f:#?}");
    let verdicts: Vec<&str> = seen.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        verdicts,
        [
            "DROP filter DOCKER-USER #2",
            "DROP filter DOCKER-USER #2",
            "DROP filter DOCKER-USER #2",
            "DROP filter DOCKER-USER #3",
            "ACCEPT filter INPUT #3",
            "DROP filter INPUT policy",
            "DROP filter INPUT policy",
            "DROP filter INPUT policy",
        ]
    );
    // Only 8080 fixed: 5432 is still reported.
    let half = docker_text().replace(
        "-A DOCKER-USER -j RETURN",
        "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP\n\
         -A DOCKER-USER -j RETURN",
    );
    let (f, _) = fw016_from_capture(&half);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.starts_with("tcp/5432"), "{}", f[0].message);
}

#[test]
fn fw016_from_a_capture_needs_outside_traffic_and_input_denying_it() {
    // INPUT accepting 8080 too: forwarded, but INPUT would not drop it — no finding.
    let open = docker_text().replace(
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT",
    );
    let (f, _) = fw016_from_capture(&open);
    let ports: Vec<&str> = f.iter().map(|f| &f.message[..8]).collect();
    assert_eq!(ports, ["tcp/5432"]);

    // A port forward without Docker's `! -i docker0`: a container reaching it through the
    // host's address (in on docker0, the hairpin), or one on another bridge (br-…), is
    // forwarded past INPUT too, but is not from outside; a client in on eth1 is.
    let l = rules(
        "*nat\n:PREROUTING ACCEPT [0:0]\n\
         -A PREROUTING -d 192.0.2.10/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n\
         COMMIT\n*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n",
    );
    let ports_from = |iface: &str, src: &str| {
        let h = docker_host();
        let mut e = env(&h, "eth0");
        e.iface_from_capture = true;
        let mut pk = tcp(1, 1, (src, 40000), ("192.0.2.10", 8080), "S", 1, 0, 0);
        pk.link.ifname = Some(iface.into());
        let check = CheckOptions {
            env: e.clone(),
            router: true,
            ..CheckOptions::default()
        };
        let mut a = fwcheck::analysis::capture::CaptureAnalyzer::new(&check, &e.hosts, &l.ruleset);
        let opts = SimOptions {
            env: e.clone(),
            router: true,
            ..SimOptions::default()
        };
        let mut dirs = Vec::new();
        let (engine, _) = fwcheck::replay::replay(
            &l.ruleset,
            opts,
            fwcheck::replay::Source::Packets(vec![pk]),
            |item| {
                if let fwcheck::replay::Item::Packet(p, o) = item {
                    a.observe(p, o);
                    dirs.push((o.direction, v(o)));
                }
            },
        )
        .unwrap();
        assert_eq!(dirs, [(Direction::Forward, "ACCEPT")], "{iface}");
        a.finish(&l, &engine)
            .into_iter()
            .filter(|f| f.code == "FW016")
            .map(|f| f.message)
            .collect::<Vec<_>>()
    };
    assert!(ports_from("docker0", "172.17.0.3").is_empty());
    assert!(ports_from("br-5e3a9c0d7f21", "172.18.0.2").is_empty());
    let f = ports_from("eth1", "198.51.100.9");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].starts_with(
            "tcp/8080 on 192.0.2.10 (eth1) was reached from outside in the capture: 1 \
             connection, the first at frame 1, through PREROUTING DNAT nat PREROUTING #1 -> \
             FORWARD -> docker0 -> 172.17.0.2:80, although INPUT would drop it (filter INPUT \
             policy); let through by filter FORWARD policy ACCEPT"
        ),
        "{}",
        f[0]
    );
}

#[test]
fn cli_fw016_from_the_shipped_capture() {
    let (code, text) = fwcheck(&[
        "fixtures/containers/docker-host.rules.v4",
        "--host-config",
        "fixtures/containers/docker-host.json",
        "--router",
        "--pcap",
        "pcaps/docker-published.pcap",
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(
            "error[FW016]: tcp/8080 on 192.0.2.10 (eth0) was reached from outside in the capture: 2 connections, the first at frame 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "error[FW016]: tcp/5432 on 192.0.2.10 (eth0) was reached from outside in the capture: 1 connection, the first at frame 4"
        ),
        "{text}"
    );
}

/// The Docker host with `--rp-filter` (`rp` as the option takes it).
fn rp_host(rp: &[&str]) -> HostConfig {
    let mut h = docker_host();
    for s in rp {
        h.rp_filter.parse(s).unwrap();
    }
    h
}

#[test]
fn rp_filter_strict_drops_a_spoofed_source_after_prerouting() {
    // The kernel's side: tests/kernel_rp_filter.rs.
    let l = rules(
        "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -s 172.17.0.0/16\nCOMMIT\n\
         *nat\n:PREROUTING ACCEPT [0:0]\n\
         -A PREROUTING -d 192.0.2.10/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n\
         COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n",
    );
    let spoofed = |f, port| {
        tcp(
            f,
            f,
            ("172.17.0.9", 40000 + f as u16),
            ("192.0.2.10", port),
            "S",
            1,
            0,
            0,
        )
    };
    for (rp, dropped) in [(&[][..], false), (&["2"][..], false), (&["1"][..], true)] {
        let mut e = engine(&l, env(&rp_host(rp), "eth0"));
        // To the host, and DNATed to docker0: raw PREROUTING counts both, nat PREROUTING the
        // second; the routing decision drops them in strict mode.
        let a = e.process(&spoofed(1, 22));
        let b = e.process(&spoofed(2, 8080));
        let raw = l
            .ruleset
            .tables
            .iter()
            .position(|t| t.kind == fwcheck::ruleset::TableKind::Raw)
            .unwrap();
        let nat = l
            .ruleset
            .tables
            .iter()
            .position(|t| t.kind == fwcheck::ruleset::TableKind::Nat)
            .unwrap();
        assert_eq!(e.rule_counters(raw, 0, 0).packets, 2, "{rp:?}");
        assert_eq!(e.rule_counters(nat, 0, 0).packets, 1, "{rp:?}");
        assert_eq!(
            (a.direction, b.direction),
            (Direction::In, Direction::Forward)
        );
        if dropped {
            for o in [&a, &b] {
                assert_eq!(v(o), "DROP");
                assert_eq!(
                    decided(&l, o),
                    "stack: reverse path filter: the route back to the source leaves by \
                     another interface (rp_filter 1, strict; fib_validate_source)"
                );
                assert_eq!(o.ctstate, Some(fwcheck::engine::CtLabel::New));
            }
            // Their connections were never confirmed.
            assert_eq!(e.conntrack.len(), 0);
        } else {
            assert_eq!((v(&a), v(&b)), ("ACCEPT", "ACCEPT"), "{rp:?}");
            assert_eq!(e.conntrack.len(), 2);
        }
        // The same source in on docker0, where its route leads: never filtered.
        let mut e = engine(&l, env(&rp_host(rp), "docker0"));
        assert_eq!(v(&e.process(&spoofed(3, 22))), "ACCEPT", "{rp:?}");
    }
}

#[test]
fn rp_filter_modes_interfaces_and_what_it_leaves_alone() {
    let l = rules("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n");
    let from = |src: &str| tcp(1, 1, (src, 40000), ("192.0.2.10", 22), "S", 1, 0, 0);
    let verdict = |h: &HostConfig, iface: &str, src: &str| {
        let mut e = engine(&l, env(h, iface));
        let o = e.process(&from(src));
        format!("{} {}", v(&o), decided(&l, &o))
    };
    // The higher of all and the interface's.
    for (rp, strict) in [
        (&["eth0=1"][..], true),
        (&["1", "eth0=0"][..], true),
        (&["2", "eth0=1"][..], false),
        (&["docker0=1"][..], false),
    ] {
        let got = verdict(&rp_host(rp), "eth0", "172.17.0.9");
        assert_eq!(got.starts_with("DROP"), strict, "{rp:?}: {got}");
    }
    // An outside source in on eth0 (default route): fine in both modes; in on docker0 it is
    // refused by strict, not by loose.
    assert!(verdict(&rp_host(&["1"]), "eth0", "203.0.113.7").starts_with("ACCEPT"));
    assert!(verdict(&rp_host(&["1"]), "docker0", "203.0.113.7").starts_with("DROP"));
    assert!(verdict(&rp_host(&["2"]), "docker0", "203.0.113.7").starts_with("ACCEPT"));
    // No route back at all (no default route): refused in loose mode too.
    let mut h = HostConfig::default();
    h.add_addr(HostConfig::parse_iface_addr("eth0=192.0.2.10/24").unwrap());
    h.add_addr(HostConfig::parse_iface_addr("eth1=198.51.100.1/24").unwrap());
    h.rp_filter.parse("2").unwrap();
    assert_eq!(
        verdict(&h, "eth0", "203.0.113.7"),
        "DROP stack: reverse path filter: no route back to the source (rp_filter, \
         fib_validate_source)"
    );
    assert!(verdict(&h, "eth0", "192.0.2.77").starts_with("ACCEPT"));
    // Without interfaces and routes it changes nothing (one interface, routes everywhere).
    let mut none = HostConfig::default();
    none.rp_filter.parse("1").unwrap();
    let mut e = engine(
        &l,
        SimEnv {
            hosts: vec![ip("192.0.2.10")],
            iface_from_capture: false,
            host: none,
            ..SimEnv::default()
        },
    );
    assert_eq!(v(&e.process(&from("172.17.0.9"))), "ACCEPT");
    // Bad values.
    let mut r = fwcheck::host::RpFilter::default();
    assert!(r
        .parse("3")
        .unwrap_err()
        .contains("expected 0 (off), 1 (strict) or 2 (loose)"));
    assert!(r
        .parse("a/b=1")
        .unwrap_err()
        .contains("not an interface name"));
    r.parse("all=2").unwrap();
    r.parse("eth0=1").unwrap();
    assert_eq!((r.mode("eth0"), r.mode("docker0")), (2, 2));
}

#[test]
fn rp_filter_ipv6_is_not_filtered() {
    let l = fwcheck::lint::load_str(
        "r.v6",
        "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n",
        ParseOptions {
            family: fwcheck::ruleset::Family::V6,
            ..ParseOptions::default()
        },
    );
    let mut h = HostConfig::default();
    h.add_addr(HostConfig::parse_iface_addr("eth0=2001:db8::10/64").unwrap());
    h.add_addr(HostConfig::parse_iface_addr("docker0=2001:db8:1::1/64").unwrap());
    h.rp_filter.parse("1").unwrap();
    let mut e = engine(&l, env(&h, "eth0"));
    let o = e.process(&tcp(
        1,
        1,
        ("2001:db8:1::9", 40000),
        ("2001:db8::10", 22),
        "S",
        1,
        0,
        0,
    ));
    assert_eq!(v(&o), "ACCEPT");
}

#[test]
fn cli_rp_filter() {
    let rules = "fixtures/containers/docker-host.rules.v4";
    let flow = "tcp 172.17.0.9:40000 > 192.0.2.10:22";
    let base = [
        rules,
        "--host-config",
        "fixtures/containers/docker-host.json",
        "--router",
        "--iface",
        "eth0",
        "--flow",
        flow,
        "--format",
        "json",
    ];
    let (_, text) = fwcheck(&base);
    assert!(text.contains("\"verdict\":\"ACCEPT\""), "{text}");
    let (_, text) = fwcheck(&[&base[..], &["--rp-filter", "1"]].concat());
    assert!(text.contains("reverse path filter"), "{text}");
    let (code, text) = fwcheck(&[rules, "--rp-filter", "strict"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("--rp-filter strict: `strict`: expected 0 (off), 1 (strict) or 2 (loose)"),
        "{text}"
    );
    let (_, help) = fwcheck(&["--help"]);
    assert!(help.contains("Debian and Ubuntu often set 2"), "{help}");
}

/// The "reachable from outside" matrix (`fwcheck exposure`, analysis::exposure::matrix) of the
/// Docker host: SSH through INPUT, both published ports forwarded to their containers, the
/// rest dropped by INPUT's policy; FW016's fix closes 8080. The kernel's verdicts on the same
/// probes: tests/kernel_containers.rs.
#[test]
fn exposure_matrix_of_the_docker_host() {
    let l = docker();
    let check = CheckOptions {
        env: env(&docker_host(), "eth0"),
        ..CheckOptions::default()
    };
    let rows = analysis::exposure::matrix(&l.ruleset, &check);
    let open: Vec<(String, u16, String)> = rows
        .iter()
        .filter(|r| r.verdict == Some("ACCEPT"))
        .map(|r| (r.iface.clone(), r.port, r.via.clone()))
        .collect();
    assert_eq!(
        open,
        [
            ("eth0".to_string(), 22, "INPUT".to_string()),
            (
                "eth0".to_string(),
                5432,
                "PREROUTING DNAT nat DOCKER #3 -> FORWARD -> docker0 -> 172.17.0.3:5432"
                    .to_string()
            ),
            (
                "eth0".to_string(),
                8080,
                "PREROUTING DNAT nat DOCKER #2 -> FORWARD -> docker0 -> 172.17.0.2:80".to_string()
            ),
        ],
        "{rows:#?}"
    );
    // docker0 is the containers' side: not in the matrix; every row is certain.
    assert!(
        rows.iter().all(|r| r.iface == "eth0" && r.certain),
        "{rows:#?}"
    );
    assert!(rows
        .iter()
        .any(|r| r.port == 33333 && r.verdict == Some("DROP")));
    // With FW016's fix, 8080 is closed.
    let fixed_text = std::fs::read_to_string(fixture("docker-host.rules.v4"))
        .unwrap()
        .replace(
            "-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP",
            "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP",
        );
    let fixed = fwcheck::lint::load_str("fixed", &fixed_text, ParseOptions::default());
    let rows = analysis::exposure::matrix(&fixed.ruleset, &check);
    let r8080 = rows.iter().find(|r| r.port == 8080).unwrap();
    assert_eq!(r8080.verdict, Some("DROP"), "{r8080:?}");
    assert!(r8080.decided_by.contains("DOCKER-USER #1"), "{r8080:?}");
}

#[test]
fn cli_exposure_per_interface_and_family() {
    let (code, text) = fwcheck(&[
        "exposure",
        "fixtures/containers/docker-host.rules.v4",
        "--host-config",
        "fixtures/containers/docker-host.json",
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(
            "reachable from outside on eth0 over ipv4: tcp/22, tcp/5432 (forwarded), tcp/8080 (forwarded)"
        ),
        "{text}"
    );
    // Both families: the v6 file's ports are probed on the host's IPv6 address.
    let (code, text) = fwcheck(&[
        "exposure",
        "fixtures/guides/guide-000-webserver.rules.v4",
        "--rules6",
        "fixtures/parity/web.rules.v6",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{text}");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(rows.iter().any(|r| r["family"] == "ipv4"));
    assert!(rows
        .iter()
        .any(|r| r["family"] == "ipv6" && r["file"] == "fixtures/parity/web.rules.v6"));
    // Two files of one family are refused.
    let (code, text) = fwcheck(&[
        "exposure",
        "fixtures/guides/guide-000-webserver.rules.v4",
        "--rules4",
        "fixtures/guides/guide-001-apache.rules.v4",
    ]);
    assert_eq!(code, 2, "{text}");
}

/// A host publishing more ports than FW016 and the matrix probe (64 each): the ones past the
/// bound are named — FW016 in a note, the matrix in `not_probed` and a line of `fwcheck
/// exposure` — never left out silently.
#[test]
fn ports_past_the_probes_bound_are_named() {
    let text = fixture_text("docker-host.rules.v4").replace(
        "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 5432 -j DNAT --to-destination 172.17.0.3:5432\n",
        &(0..70u16).fold(
            "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 5432 -j DNAT --to-destination 172.17.0.3:5432\n"
                .to_string(),
            |t, i| {
                t + &format!(
                    "-A DOCKER ! -i docker0 -p tcp -m tcp --dport {} -j DNAT --to-destination \
                     172.17.0.2:80\n",
                    10_000 + i
                )
            },
        ),
    );
    let l = fwcheck::lint::load_str("many.rules.v4", &text, ParseOptions::default());
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    let check = CheckOptions {
        env: env(&docker_host(), "eth0"),
        ..CheckOptions::default()
    };
    // FW016 probes 8080, 5432 and 10000–10061 (rule order); 10062–10069 are named.
    let f = analysis::exposure::check(&l.ruleset, &check);
    let notes: Vec<_> = f
        .iter()
        .filter(|f| f.code == "FW016" && f.severity == analysis::Level::Note)
        .collect();
    assert_eq!(notes.len(), 1, "{f:#?}");
    assert!(notes[0].message.contains("8 more were not"), "{notes:#?}");
    let named: Vec<String> = (10_062..10_070).map(|p| format!("tcp/{p}")).collect();
    assert_eq!(notes[0].details, named);
    // The matrix probes the 64 lowest of 77 ports: 22, 80, 443, 5432, 8080 and 10000–10058.
    let rows = analysis::exposure::matrix(&l.ruleset, &check);
    assert!(rows.iter().any(|r| r.port == 10_058));
    assert!(!rows.iter().any(|r| r.port == 10_059));
    let mut left: Vec<(u8, u16)> = (10_059..10_070).map(|p| (6, p)).collect();
    left.extend([(6, 33_333), (17, 33_333)]);
    assert_eq!(analysis::exposure::not_probed(&l.ruleset), left);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.rules.v4");
    std::fs::write(&path, &text).unwrap();
    let (code, out) = fwcheck(&[
        "exposure",
        path.to_str().unwrap(),
        "--host-config",
        "fixtures/containers/docker-host.json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "not probed over ipv4 (past the 64 lowest ports): tcp/10059, tcp/10060, tcp/10061, \
             tcp/10062, tcp/10063, tcp/10064, tcp/10065, tcp/10066, tcp/10067, tcp/10068, \
             tcp/10069, tcp/33333, udp/33333"
        ),
        "{out}"
    );
}

// --- Docker over IPv6 (dockerd 20.10.24, gen/docker-ipv6.sh) and a --net=host service ---

/// An ip6tables ruleset of fixtures/containers/.
fn rules6(text: &str) -> Loaded {
    let opts = ParseOptions {
        family: fwcheck::packet::Family::V6,
        ..ParseOptions::default()
    };
    let l = fwcheck::lint::load_str("rules.v6", text, opts);
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    l
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

/// docker-host6.json: eth0 192.0.2.10/24 and 2001:db8:a::10/64, docker0 172.17.0.1/16 and
/// 2001:db8:d0c::1/64, as `ip -j addr` / `ip -j route` showed them where dockerd ran.
fn docker_host6() -> HostConfig {
    let mut h = HostConfig::default();
    h.load_json("docker-host6.json", &fixture_text("docker-host6.json"))
        .unwrap();
    h
}

/// web's address: dockerd 20.10 derives it from the MAC address (02:42:ac:11:00:02).
const WEB6: &str = "2001:db8:d0c::242:ac11:2";

/// A SYN from outside to `to`, with its bytes: an IPv6 `-p tcp` walks the header chain in
/// them (`ipv6_find_hdr`).
fn syn_to(f: u64, to: (&str, u16)) -> fwcheck::packet::Packet {
    use fwcheck::packet::traffic::build::{build, L4Spec, PacketSpec};
    let from = if to.0.contains(':') {
        "2001:db8:c::7"
    } else {
        "203.0.113.7"
    };
    let l4 = L4Spec::Tcp {
        sport: 40000 + f as u16,
        dport: to.1,
        seq: 1,
        ack: 0,
        flags: fwcheck::packet::tcp_flags::SYN,
        window: 64240,
        options: Vec::new(),
    };
    let spec = PacketSpec::new(ip(from), ip(to.0), l4);
    build(
        &spec,
        f,
        fwcheck::packet::Timestamp(1_700_000_000_000_000_000 + f * 1_000_000),
        fwcheck::packet::LinkInfo::default(),
    )
}

#[test]
fn docker_over_ipv6_publishes_through_dnat_and_routes_to_the_container() {
    let l = rules6(&fixture_text("docker-host.rules.v6"));
    let h = docker_host6();
    let mut e = engine(&l, env(&h, "eth0"));
    // The published port: DNAT to [web]:80, routed to docker0, past INPUT's policy.
    let o = e.process(&syn_to(1, ("2001:db8:a::10", 8080)));
    assert_eq!((o.direction, v(&o)), (Direction::Forward, "ACCEPT"));
    assert_eq!(decided(&l, &o), "filter DOCKER #1");
    let o = e.process(&syn_to(2, ("2001:db8:a::10", 3306)));
    assert_eq!((o.direction, v(&o)), (Direction::In, "DROP"));
    assert_eq!(decided(&l, &o), "filter INPUT policy");
    // The container's global address, routed to it: its published port needs no DNAT.
    let o = e.process(&syn_to(3, (WEB6, 80)));
    assert_eq!((o.direction, v(&o)), (Direction::Forward, "ACCEPT"));
    assert_eq!(decided(&l, &o), "filter DOCKER #1");
    let o = e.process(&syn_to(4, (WEB6, 22)));
    assert_eq!((o.direction, v(&o)), (Direction::Forward, "DROP"));
    assert_eq!(decided(&l, &o), "filter FORWARD policy");
    // Before dockerd 27, by default (no "ip6tables": true): no DNAT, so 8080 is the host's
    // (docker-proxy's) and INPUT drops it; the container is reached on every port.
    let l = rules6(&fixture_text("docker-host-noip6tables.rules.v6"));
    let mut e = engine(&l, env(&h, "eth0"));
    let o = e.process(&syn_to(5, ("2001:db8:a::10", 8080)));
    assert_eq!((o.direction, v(&o)), (Direction::In, "DROP"));
    assert_eq!(decided(&l, &o), "filter INPUT policy");
    let o = e.process(&syn_to(6, (WEB6, 22)));
    assert_eq!((o.direction, v(&o)), (Direction::Forward, "ACCEPT"));
    assert_eq!(decided(&l, &o), "filter FORWARD policy");
}

#[test]
fn cli_exposure_of_docker_over_ipv6() {
    let v4 = "fixtures/containers/docker-host.rules.v4";
    let host = "fixtures/containers/docker-host6.json";
    let (code, text) = fwcheck(&[
        "exposure",
        v4,
        "--rules6",
        "fixtures/containers/docker-host.rules.v6",
        "--host-config",
        host,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{text}");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let open6: Vec<(String, String, String)> = rows
        .iter()
        .filter(|r| r["family"] == "ipv6" && r["verdict"] == "ACCEPT")
        .map(|r| {
            (
                format!("{}/{}", r["proto"].as_str().unwrap(), r["port"]),
                r["via"].as_str().unwrap().to_string(),
                r["decided_by"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        open6,
        [
            (
                "tcp/22".to_string(),
                "INPUT".to_string(),
                "filter INPUT #3 (line 18)".to_string()
            ),
            (
                "tcp/8080".to_string(),
                format!("PREROUTING DNAT nat DOCKER #2 -> FORWARD -> docker0 -> [{WEB6}]:80"),
                "filter DOCKER #1 (line 25)".to_string()
            ),
        ],
        "{text}"
    );
    assert!(rows
        .iter()
        .filter(|r| r["family"] == "ipv6")
        .all(|r| r["iface"] == "eth0" && r["addr"] == "2001:db8:a::10"));
    // The table's summary lines, and the pre-27 default: nothing published over IPv6.
    let (code, text) = fwcheck(&[
        "exposure",
        v4,
        "--rules6",
        "fixtures/containers/docker-host.rules.v6",
        "--host-config",
        host,
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("reachable from outside on eth0 over ipv6: tcp/22, tcp/8080 (forwarded)"),
        "{text}"
    );
    let (code, text) = fwcheck(&[
        "exposure",
        v4,
        "--rules6",
        "fixtures/containers/docker-host-noip6tables.rules.v6",
        "--host-config",
        host,
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("reachable from outside on eth0 over ipv6: tcp/22\n"),
        "{text}"
    );
}

/// `docker run --net=host` is a host process: dockerd writes no rule for it
/// (gen/docker-ipv6.sh runs one on port 9000), so its port is the host's, judged by INPUT -
/// dropped by the policy as the layouts are, accepted once INPUT allows it (the fixture plus
/// `-A INPUT -p tcp -m tcp --dport 9000 -j ACCEPT` after the SSH rule). The kernel's verdicts:
/// tests/kernel_container_layouts.rs.
#[test]
fn host_network_service_is_judged_by_input() {
    let ssh = "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n";
    let allow = |t: &str| {
        assert!(t.contains(ssh));
        t.replace(
            ssh,
            &format!("{ssh}-A INPUT -p tcp -m tcp --dport 9000 -j ACCEPT\n"),
        )
    };
    let v4 = fixture_text("docker-host.rules.v4");
    let v6 = fixture_text("docker-host.rules.v6");
    let cases = [
        (docker_host(), "192.0.2.10", rules(&v4), rules(&allow(&v4))),
        (
            docker_host6(),
            "2001:db8:a::10",
            rules6(&v6),
            rules6(&allow(&v6)),
        ),
    ];
    for (h, addr, closed, open) in &cases {
        let check = CheckOptions {
            env: env(h, "eth0"),
            ..CheckOptions::default()
        };
        // As dockerd left it: a SYN to 9000 is the host's, INPUT's policy drops it; the matrix
        // has no row of its own for 9000 (nothing names it): the unnamed port's row says so.
        let mut e = engine(closed, env(h, "eth0"));
        let o = e.process(&syn_to(1, (addr, 9000)));
        assert_eq!((o.direction, v(&o)), (Direction::In, "DROP"), "{addr}");
        assert_eq!(decided(closed, &o), "filter INPUT policy");
        let rows = analysis::exposure::matrix(&closed.ruleset, &check);
        assert!(!rows.iter().any(|r| r.port == 9000), "{rows:#?}");
        let canary = rows.iter().find(|r| r.port == 33333).unwrap();
        assert_eq!(
            (canary.via.as_str(), canary.verdict),
            ("INPUT", Some("DROP"))
        );
        // INPUT allows it: accepted by that rule, the path INPUT - not DOCKER, not FORWARD.
        let mut e = engine(open, env(h, "eth0"));
        let o = e.process(&syn_to(2, (addr, 9000)));
        assert_eq!((o.direction, v(&o)), (Direction::In, "ACCEPT"), "{addr}");
        assert_eq!(decided(open, &o), "filter INPUT #4");
        let rows = analysis::exposure::matrix(&open.ruleset, &check);
        let r = rows.iter().find(|r| r.port == 9000).unwrap();
        assert_eq!(
            (r.via.as_str(), r.verdict, r.addr.to_string().as_str()),
            ("INPUT", Some("ACCEPT"), *addr),
            "{r:?}"
        );
        assert!(r.decided_by.starts_with("filter INPUT #4"), "{r:?}");
    }
}

/// `exposure` without a host configuration takes the bridge dockerd's MASQUERADE rule makes
/// evident (and says so): the published ports are forwarded to docker0 and accepted, not sent
/// back out of eth0 to FORWARD's policy.
#[test]
fn cli_exposure_without_a_host_configuration() {
    let (code, text) = fwcheck(&[
        "exposure",
        "fixtures/containers/docker-host.rules.v4",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("fwcheck: assumed, no host configuration given: docker0 holds 172.17.0.1/16"),
        "{text}"
    );
    let rows: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let row = |port: u64| {
        rows.iter()
            .find(|r| r["port"] == port && r["proto"] == "tcp")
            .unwrap_or_else(|| panic!("no row for {port}: {text}"))
    };
    for (port, via) in [
        (8080, "-> docker0 -> 172.17.0.2:80"),
        (5432, "-> docker0 -> 172.17.0.3:5432"),
    ] {
        let r = row(port);
        assert_eq!(r["verdict"], "ACCEPT", "{r}");
        assert!(r["via"].as_str().unwrap().ends_with(via), "{r}");
    }
    assert_eq!(row(22)["verdict"], "ACCEPT");
    assert_eq!(row(80)["verdict"], "DROP");
}

/// A port forward the ruleset accepts *as* one — OpenWrt fw3's `--ctstate DNAT -j ACCEPT` in
/// the wan zone's forward chain (recorded lab `openwrt-router`) — is meant to reach past
/// INPUT: FW016 is a note there, while Docker's published ports stay errors (above).
#[test]
fn an_accepted_port_forward_is_a_note() {
    let lab =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/labs/openwrt-router");
    let l = load_file(&lab.join("rules"), ParseOptions::default()).unwrap();
    let mut h = HostConfig::default();
    h.load_json(
        "host.json",
        &std::fs::read_to_string(lab.join("host.json")).unwrap(),
    )
    .unwrap();
    let check = CheckOptions {
        env: env(&h, "wan0"),
        router: true,
        ..CheckOptions::default()
    };
    let f = analysis::exposure::check(&l.ruleset, &check);
    let fw016: Vec<_> = f.iter().filter(|f| f.code == "FW016").collect();
    assert_eq!(fw016.len(), 1, "{f:#?}");
    assert_eq!(fw016[0].severity, analysis::Level::Note);
    assert!(
        fw016[0].message.contains("tcp/8080") && fw016[0].message.contains("a port forward"),
        "{}",
        fw016[0].message
    );
}
