//! The published-port findings (src/analysis/exposure.rs: FW016, FW017) on the real container
//! layouts of fixtures/containers/ — dockerd 28's DOCKER-FORWARD chains, netavark (Podman), ufw
//! with Docker and ufw-docker's fix, firewalld's zones with Docker, kube-proxy's NodePort — with
//! the host configuration of each. The kernel's verdicts on the same layouts: tests/kernel_container_layouts.rs.

mod common;

use common::*;
use fwcheck::analysis::{self, CheckOptions, Finding};
use fwcheck::engine::SimEnv;
use fwcheck::host::HostConfig;
use fwcheck::lint::Loaded;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/containers")
            .join(name),
    )
    .expect("fixture")
}

fn findings(l: &Loaded, host_json: &str) -> Vec<Finding> {
    assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
    let mut h = HostConfig::default();
    h.load_json(host_json, &fixture(host_json)).unwrap();
    let mut env = SimEnv {
        iface: "eth0".into(),
        iface_from_capture: false,
        ..SimEnv::default()
    };
    env.apply_host(&h);
    let check = CheckOptions {
        env,
        ..CheckOptions::default()
    };
    analysis::exposure::check(&l.ruleset, &check)
}

/// (code, message) of each finding.
fn codes(f: &[Finding]) -> Vec<(&'static str, String)> {
    f.iter().map(|f| (f.code, f.message.clone())).collect()
}

fn fw016(f: &[Finding]) -> Vec<&Finding> {
    f.iter().filter(|f| f.code == "FW016").collect()
}

#[test]
fn docker28_forward_chains() {
    let f = findings(
        &rules(&fixture("docker-forward-chains.rules.v4")),
        "docker-host.json",
    );
    assert_eq!(
        codes(&f),
        vec![(
            "FW016",
            "tcp/8080 on 192.0.2.10 (eth0) is reachable from outside through PREROUTING DNAT \
             nat DOCKER #2 -> FORWARD -> docker0 -> 172.17.0.2:80, although INPUT would drop it \
             (filter INPUT policy); let through by filter DOCKER #1"
                .to_string()
        )]
    );
    assert_eq!(
        f[0].fix.as_deref().unwrap().split(';').next().unwrap(),
        "iptables -I DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir \
         ORIGINAL -j DROP (verified: the probe is then dropped)"
    );
    // The fix, in the empty DOCKER-USER dockerd 28 leaves: nothing is reported.
    let fixed = fixture("docker-forward-chains.rules.v4").replace(
        "-A FORWARD -j DOCKER-USER\n",
        "-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -i eth0 -p tcp -m conntrack \
         --ctorigdstport 8080 --ctdir ORIGINAL -j DROP\n",
    );
    assert!(findings(&rules(&fixed), "docker-host.json").is_empty());
    // FW017: the DOCKER-USER rule an operator writes on the host port never fires.
    let wrong = fixture("docker-forward-chains.rules.v4").replace(
        "-A FORWARD -j DOCKER-USER\n",
        "-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP\n",
    );
    let f = findings(&rules(&wrong), "docker-host.json");
    let c: Vec<_> = f.iter().map(|f| f.code).collect();
    assert_eq!(c, ["FW017", "FW016"], "{f:#?}");
    assert!(f[0]
        .message
        .starts_with("filter DOCKER-USER #1 matches --dport 8080, the published host port"));
}

#[test]
fn podman_netavark() {
    let l = rules(&fixture("podman-netavark.rules.v4"));
    let f = findings(&l, "podman-host.json");
    assert_eq!(
        codes(&f),
        vec![
            (
                "FW016",
                "tcp/8080 on 192.0.2.10 (eth0) is reachable from outside through PREROUTING \
                 DNAT nat NETAVARK-DN-1D8721804F16F #3 -> FORWARD -> podman0 -> 10.88.0.2:80, \
                 although INPUT would drop it (filter INPUT policy); let through by filter \
                 FORWARD policy ACCEPT"
                    .to_string()
            ),
            (
                "FW016",
                "udp/5353 on 192.0.2.10 (eth0) is reachable from outside through PREROUTING \
                 DNAT nat NETAVARK-DN-1D8721804F16F #6 -> FORWARD -> podman0 -> 10.88.0.2:53, \
                 although INPUT would drop it (filter INPUT policy); let through by filter \
                 FORWARD policy ACCEPT"
                    .to_string()
            ),
        ]
    );
    // No DOCKER-USER: the fix goes to the top of FORWARD.
    assert_eq!(
        f[1].fix.as_deref().unwrap(),
        "iptables -I FORWARD -i eth0 -p udp -m conntrack --ctorigdstport 5353 --ctdir ORIGINAL \
         -j DROP (verified: the probe is then dropped)"
    );
    let fixed = fixture("podman-netavark.rules.v4").replace(
        "-A FORWARD -m comment",
        "-A FORWARD -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP\n\
         -A FORWARD -i eth0 -p udp -m conntrack --ctorigdstport 5353 --ctdir ORIGINAL -j DROP\n\
         -A FORWARD -m comment",
    );
    assert!(findings(&rules(&fixed), "podman-host.json").is_empty());
}

#[test]
fn ufw_with_docker_and_ufw_docker_fix() {
    let f = findings(&rules(&fixture("docker-ufw.rules.v4")), "docker-host.json");
    let paths: Vec<_> = fw016(&f)
        .iter()
        .map(|f| f.message.split_once(" through ").unwrap().1.to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "PREROUTING DNAT nat DOCKER #2 -> FORWARD -> docker0 -> 172.17.0.2:80, although \
             INPUT would drop it (filter INPUT policy); let through by filter DOCKER #2",
            "PREROUTING DNAT nat DOCKER #3 -> FORWARD -> docker0 -> 172.17.0.3:5432, although \
             INPUT would drop it (filter INPUT policy); let through by filter DOCKER #1",
        ]
    );
    assert_eq!(f.len(), 2, "{f:#?}");
    // ufw-docker's rules close db's 5432; web's 80 is open on purpose (`ufw route allow ... to
    // 172.17.0.2 port 80`), and still reported, now let through by that rule.
    let fixed = fixture("docker-ufw-fixed.rules.v4");
    let f = findings(&rules(&fixed), "docker-host.json");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.starts_with("tcp/8080 on 192.0.2.10"), "{f:#?}");
    assert!(
        f[0].message
            .ends_with("let through by filter ufw-user-forward #1"),
        "{f:#?}"
    );
    // Without the route rule nothing published is reachable.
    let route = "-A ufw-user-forward -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT\n";
    assert!(fixed.contains(route));
    assert!(findings(&rules(&fixed.replace(route, "")), "docker-host.json").is_empty());
    // What `ufw route allow 8080/tcp` writes — the host port — never fires after DNAT: FW017,
    // and the port stays closed.
    let wrong = fixed.replace(
        route,
        "-A ufw-user-forward -p tcp -m tcp --dport 8080 -j ACCEPT\n",
    );
    let f = findings(&rules(&wrong), "docker-host.json");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].code, "FW017");
    assert!(f[0]
        .message
        .starts_with("filter ufw-user-forward #1 matches --dport 8080, the published host port"));
}

#[test]
fn firewalld_zones_with_docker() {
    let fw = fixture("firewalld-docker.rules.v4");
    let f = findings(&rules(&fw), "docker-host.json");
    // The zone public rejects everything but ssh, dhcpv6-client, http and 8443/tcp in INPUT
    // (IN_public's last rule); both published ports are DNATed and accepted in Docker's chains,
    // which dockerd inserted at the top of FORWARD ahead of firewalld's.
    assert_eq!(
        codes(&f),
        vec![
            (
                "FW016",
                "tcp/8080 on 192.0.2.10 (eth0) is reachable from outside through PREROUTING \
                 DNAT nat DOCKER #2 -> FORWARD -> docker0 -> 172.17.0.2:80, although INPUT would \
                 reject it (filter IN_public #9); let through by filter DOCKER #2"
                    .to_string()
            ),
            (
                "FW016",
                "tcp/5432 on 192.0.2.10 (eth0) is reachable from outside through PREROUTING \
                 DNAT nat DOCKER #3 -> FORWARD -> docker0 -> 172.17.0.3:5432, although INPUT \
                 would reject it (filter IN_public #9); let through by filter DOCKER #1"
                    .to_string()
            ),
        ]
    );
    assert_eq!(
        f[0].fix.as_deref().unwrap().split(';').next().unwrap(),
        "iptables -I DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir \
         ORIGINAL -j DROP (verified: the probe is then dropped)"
    );
    let fixed = fw.replace(
        "-A DOCKER-CT ",
        "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j \
         DROP\n-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 5432 --ctdir ORIGINAL \
         -j DROP\n-A DOCKER-CT ",
    );
    assert_ne!(fixed, fw);
    assert!(findings(&rules(&fixed), "docker-host.json").is_empty());
    // Without Docker's jumps firewalld's own FORWARD accepts a DNATed packet (`--ctstate
    // RELATED,ESTABLISHED,DNAT -j ACCEPT`, its first rule then): the ports stay reachable.
    let jumps = "-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-FORWARD\n";
    assert!(fw.contains(jumps));
    let f = findings(&rules(&fw.replace(jumps, "")), "docker-host.json");
    assert_eq!(f.len(), 2, "{f:#?}");
    for f in &f {
        assert!(
            f.message.ends_with("let through by filter FORWARD #1"),
            "{f:#?}"
        );
        // DOCKER-USER is no longer on the path: the fix goes to the top of FORWARD.
        let fix = f.fix.as_deref().unwrap();
        assert!(
            fix.starts_with("iptables -I FORWARD -i eth0 -p tcp -m conntrack --ctorigdstport")
                && fix.contains("(verified: the probe is then dropped)"),
            "{fix}"
        );
    }
}

#[test]
fn kube_proxy_nodeport() {
    let l = rules(&fixture("kube-proxy-nodeport.rules.v4"));
    let f = findings(&l, "kube-node.json");
    // The DNAT in KUBE-SEP-… names no port: the probe takes KUBE-NODEPORTS' --dport 30080
    // (the cluster IP's --dport 80 is for 10.96.0.20, not the node, and is not forwarded).
    assert_eq!(
        codes(&f),
        vec![(
            "FW016",
            "tcp/30080 on 192.0.2.10 (eth0) is reachable from outside through PREROUTING DNAT \
             nat KUBE-SEP-BQZUIPSZ4JQ5D7VA #2 -> FORWARD -> cni0 -> 10.244.0.5:8080, although \
             INPUT would drop it (filter INPUT policy); let through by filter KUBE-FORWARD #2"
                .to_string()
        )]
    );
    let fixed = fixture("kube-proxy-nodeport.rules.v4").replacen(
        "-A FORWARD ",
        "-A FORWARD -i eth0 -p tcp -m conntrack --ctorigdstport 30080 --ctdir ORIGINAL -j DROP\n\
         -A FORWARD ",
        1,
    );
    assert!(findings(&rules(&fixed), "kube-node.json").is_empty());
}

/// Without a host configuration, dockerd's masquerade rule (`-s 172.17.0.0/16 ! -o docker0 -j
/// MASQUERADE`) makes docker0 and its subnet evident: the Docker layouts give the findings they
/// give with `docker-host.json` (the probe to the host address the checks assume), each saying
/// what was assumed. Layouts without such a rule (netavark, kube-proxy) probe nothing.
#[test]
fn layouts_without_a_host_configuration() {
    let ports = |f: &[Finding]| {
        let mut v: Vec<String> = f
            .iter()
            .map(|f| {
                let m = &f.message;
                format!("{} {}", f.code, &m[..m.find(" on ").unwrap_or(m.len())])
            })
            .collect();
        v.sort();
        v
    };
    for name in [
        "docker-host.rules.v4",
        "docker-forward-chains.rules.v4",
        "docker-ufw.rules.v4",
        "docker-ufw-fixed.rules.v4",
        "firewalld-docker.rules.v4",
    ] {
        let l = rules(&fixture(name));
        let bare = analysis::exposure::check(&l.ruleset, &CheckOptions::default());
        assert!(!bare.is_empty(), "{name}");
        assert_eq!(
            ports(&bare),
            ports(&findings(&l, "docker-host.json")),
            "{name}"
        );
        for f in &bare {
            assert!(
                f.details.iter().any(|d| d.starts_with(
                    "assumed, no host configuration given: docker0 holds 172.17.0.1/16 \
                     (`-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`"
                )),
                "{name}: {f:#?}"
            );
        }
        // What the static FW016 proposes also closes the port there.
        assert!(
            bare.iter().filter(|f| f.code == "FW016").all(|f| f
                .fix
                .as_deref()
                .unwrap()
                .contains("(verified:")),
            "{name}: {bare:#?}"
        );
    }
    for name in ["podman-netavark.rules.v4", "kube-proxy-nodeport.rules.v4"] {
        let l = rules(&fixture(name));
        assert!(
            analysis::exposure::check(&l.ruleset, &CheckOptions::default()).is_empty(),
            "{name}"
        );
    }
}

/// dockerd 20.10 over IPv6 (gen/docker-ipv6.sh): the published port is DNATed past INPUT as
/// for IPv4. 20.10 writes no DOCKER-USER to ip6tables, so the fix goes to the top of FORWARD.
/// The pre-27 default (no "ip6tables": true) has no DNAT: nothing to report.
#[test]
fn docker_over_ipv6() {
    let v6 = |text: &str| {
        let opts = fwcheck::ruleset::ParseOptions {
            family: fwcheck::packet::Family::V6,
            ..Default::default()
        };
        let l = fwcheck::lint::load_str("rules.v6", text, opts);
        assert!(!l.has_errors(), "{}", l.render_diagnostics(false));
        l
    };
    let text = fixture("docker-host.rules.v6");
    let f = findings(&v6(&text), "docker-host6.json");
    assert_eq!(
        codes(&f),
        vec![(
            "FW016",
            "tcp/8080 on 2001:db8:a::10 (eth0) is reachable from outside through PREROUTING \
             DNAT nat DOCKER #2 -> FORWARD -> docker0 -> [2001:db8:d0c::242:ac11:2]:80, although \
             INPUT would drop it (filter INPUT policy); let through by filter DOCKER #1"
                .to_string()
        )]
    );
    assert!(
        f[0].fix.as_deref().unwrap().contains(
            "ip6tables -I FORWARD -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir \
             ORIGINAL -j DROP (verified: the probe is then dropped)"
        ),
        "{f:#?}"
    );
    assert_eq!(
        f[0].packet.as_deref(),
        Some("tcp [2001:db8:77::77]:41000 > [2001:db8:a::10]:8080 on eth0")
    );
    assert!(
        f[0].details
            .iter()
            .any(|d| d.contains("net.ipv6.conf.all.forwarding=1")),
        "{f:#?}"
    );
    let fixed = text.replace(
        "-A FORWARD -j DOCKER-ISOLATION-STAGE-1\n",
        "-A FORWARD -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP\n\
         -A FORWARD -j DOCKER-ISOLATION-STAGE-1\n",
    );
    assert_ne!(fixed, text);
    assert!(findings(&v6(&fixed), "docker-host6.json").is_empty());
    let before27 = v6(&fixture("docker-host-noip6tables.rules.v6"));
    assert!(findings(&before27, "docker-host6.json").is_empty());
}
