//! Real container layouts against the kernel, frame by frame (fixtures/containers/: what
//! dockerd 28, netavark, ufw with Docker, firewalld with Docker and kube-proxy write, each as
//! iptables-save printed it, and dockerd 20.10 over IPv6 as ip6tables-save printed it). The
//! oracle's namespace has the host configuration's interfaces as tun devices (eth0 and the
//! bridge: docker0, podman0, cni0), with its IPv4 or IPv6 addresses by the ruleset's family;
//! frames are injected on the interface the test names;
//! the kernel's verdicts and fwcheck's deciding rules are pinned. The static findings on the
//! same fixtures: tests/container_layouts.rs.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::{Ipv4Addr, Ipv6Addr};

use fwcheck::compare::{compare, Comparison};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::packet::Family;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

/// Replays `packets` arriving on `iface` through the kernel and fwcheck: no frame may differ.
/// Returns each frame's kernel verdict and fwcheck's deciding rule.
fn run(
    rules: &str,
    host_json: &str,
    iface: &str,
    packets: Vec<Vec<u8>>,
) -> Vec<(&'static str, String)> {
    run_family(Family::V4, rules, host_json, iface, packets)
}

/// [`run`] for an ip6tables ruleset (`layout.rules.v6`): the oracle loads it with
/// ip6tables-restore and gives its interfaces the host configuration's IPv6 addresses.
fn run6(
    rules: &str,
    host_json: &str,
    iface: &str,
    packets: Vec<Vec<u8>>,
) -> Vec<(&'static str, String)> {
    run_family(Family::V6, rules, host_json, iface, packets)
}

fn run_family(
    family: Family,
    rules: &str,
    host_json: &str,
    iface: &str,
    packets: Vec<Vec<u8>>,
) -> Vec<(&'static str, String)> {
    let name = match family {
        Family::V4 => "layout.rules.v4",
        Family::V6 => "layout.rules.v6",
    };
    let opts = ParseOptions {
        family,
        ..ParseOptions::default()
    };
    let loaded = load_str(name, rules, opts);
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics(false));
    let n = packets.len();
    let cmp: Comparison = compare(
        &loaded,
        decoded(packets),
        container_sim(host_json, iface),
        Pacing::AsFastAsPossible,
    )
    .expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    assert_eq!(cmp.compared, n, "{}", cmp.render(true));
    kernel_and_rule(&cmp)
}

fn syn(src: Ipv4Addr, dst: Ipv4Addr, dport: u16, i: u16) -> Vec<u8> {
    tcp4(src, dst, 40000 + i, dport, 1000, 0, SYN, i)
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn syn6(src: Ipv6Addr, dst: Ipv6Addr, dport: u16, i: u16) -> Vec<u8> {
    tcp6(src, dst, 40000 + i, dport, 1000, 0, SYN)
}

fn ip6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn udp6(src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let seg = udp_seg(src.into(), dst.into(), sport, dport, payload);
    ipv6(src, dst, 17, &seg)
}

/// Asserts each frame's (kernel verdict, start of fwcheck's deciding rule).
fn expect(got: &[(&'static str, String)], want: &[(&str, &str)]) {
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (i, ((kv, rule), (wv, wr))) in got.iter().zip(want).enumerate() {
        assert!(
            kv == wv && rule.starts_with(wr),
            "frame {}: kernel {kv} by {rule:?}, want {wv} by {wr:?}\n{got:#?}",
            i + 1
        );
    }
}

// --- dockerd 28: DOCKER-FORWARD, DOCKER-CT, DOCKER-BRIDGE, raw direct-access DROP ---

fn docker28_from_outside() {
    let got = run(
        &container_fixture("docker-forward-chains.rules.v4"),
        "docker-host.json",
        "eth0",
        vec![
            syn(CLIENT, HOST, 8080, 1),
            syn(CLIENT, HOST, 3306, 2),
            syn(CLIENT, HOST, 22, 3),
            // Routed straight to the published container's address: raw PREROUTING drops it.
            syn(CLIENT, ip("172.17.0.2"), 80, 4),
            // Straight to a container without published ports: DOCKER's catch-all DROP.
            syn(CLIENT, ip("172.17.0.3"), 5432, 5),
            udp4(CLIENT, HOST, 40006, 8080, 6, b"x"),
        ],
    );
    expect(
        &got,
        &[
            // DNATed to 172.17.0.2:80 and forwarded to docker0, past INPUT's DROP policy.
            ("ACCEPT", "filter DOCKER #1 "),
            ("DROP", "filter INPUT policy"),
            ("ACCEPT", "filter INPUT #3 "),
            ("DROP", "raw PREROUTING #1 "),
            ("DROP", "filter DOCKER #2 "),
            ("DROP", "filter INPUT policy"),
        ],
    );
}

fn docker28_from_the_bridge() {
    let c2 = ip("172.17.0.2");
    let got = run(
        &container_fixture("docker-forward-chains.rules.v4"),
        "docker-host.json",
        "docker0",
        vec![
            // Out to the world (MASQUERADE on eth0).
            syn(c2, ip("203.0.113.7"), 443, 1),
            // To another container on the same bridge.
            syn(c2, ip("172.17.0.3"), 5432, 2),
            // To the host's bridge address: INPUT's policy.
            udp4(c2, ip("172.17.0.1"), 40003, 53, 3, b"q"),
        ],
    );
    expect(
        &got,
        &[
            ("ACCEPT", "filter DOCKER-FORWARD #4 "),
            ("ACCEPT", "filter DOCKER-FORWARD #4 "),
            ("DROP", "filter INPUT policy"),
        ],
    );
}

/// Hairpin: a container reaching a published port through the host's own address. dockerd
/// (userland proxy on, its default) returns bridge traffic from the DOCKER nat chain (`-i
/// docker0 -j RETURN`): no DNAT, so the packet is for the host and meets INPUT, where
/// docker-proxy would listen; this host's INPUT drops it. The container's own port through
/// the bridge address is INPUT's too.
fn docker_hairpin_from_the_bridge() {
    let c3 = ip("172.17.0.3");
    for rules in ["docker-forward-chains.rules.v4", "docker-host.rules.v4"] {
        let got = run(
            &container_fixture(rules),
            "docker-host.json",
            "docker0",
            vec![
                syn(c3, HOST, 8080, 1),
                syn(c3, ip("172.17.0.1"), 8080, 2),
                // Container to container directly (not through the host's port).
                syn(c3, ip("172.17.0.2"), 80, 3),
            ],
        );
        expect(
            &got,
            &[
                ("DROP", "filter INPUT policy"),
                ("DROP", "filter INPUT policy"),
                ("ACCEPT", "filter "),
            ],
        );
        // With `"userland-proxy": false` dockerd writes its DNAT rules without `! -i docker0`
        // and no RETURN for the bridge: the hairpin is DNATed to 172.17.0.2:80 and forwarded
        // back out of docker0 (the container reaching itself is masqueraded by the hairpin
        // MASQUERADE rule).
        let no_proxy = container_fixture(rules)
            .replace("-A DOCKER -i docker0 -j RETURN\n", "")
            .replace("-A DOCKER ! -i docker0 -p tcp", "-A DOCKER -p tcp");
        let got = run(
            &no_proxy,
            "docker-host.json",
            "docker0",
            vec![syn(c3, HOST, 8080, 1), syn(ip("172.17.0.2"), HOST, 8080, 2)],
        );
        expect(&got, &[("ACCEPT", "filter "), ("ACCEPT", "filter ")]);
    }
}

// --- dockerd 20.10 over IPv6 (`"ipv6": true, "ip6tables": true`, fixed-cidr-v6) ---

/// web's address on docker0 (2001:db8:d0c::/64): dockerd 20.10 derives it from the MAC address.
const WEB6: &str = "2001:db8:d0c::242:ac11:2";

/// The host's address on eth0 (docker-host6.json).
fn host6_docker() -> Ipv6Addr {
    ip6("2001:db8:a::10")
}

fn docker_ipv6_from_outside() {
    let web6 = ip6(WEB6);
    let got = run6(
        &container_fixture("docker-host.rules.v6"),
        "docker-host6.json",
        "eth0",
        vec![
            syn6(CLIENT6, host6_docker(), 8080, 1),
            syn6(CLIENT6, host6_docker(), 3306, 2),
            syn6(CLIENT6, host6_docker(), 22, 3),
            // Routed straight to web's global address, its container port: 20.10 has no raw
            // direct-access DROP (dockerd 28 added it) and DOCKER's ACCEPT names the container
            // address and port, not the host's - IPv6 needs no DNAT to get there.
            syn6(CLIENT6, web6, 80, 4),
            // Straight to web, a port it does not publish: DOCKER has no catch-all DROP in
            // 20.10, FORWARD's policy (dockerd set it to DROP in ip6tables too).
            syn6(CLIENT6, web6, 22, 5),
            // The --net=host service's port 9000: INPUT's, and INPUT drops it.
            syn6(CLIENT6, host6_docker(), 9000, 6),
            udp6(CLIENT6, host6_docker(), 40007, 8080, b"x"),
        ],
    );
    expect(
        &got,
        &[
            // DNATed to [2001:db8:d0c::242:ac11:2]:80 and forwarded to docker0, past INPUT.
            ("ACCEPT", "filter DOCKER #1 "),
            ("DROP", "filter INPUT policy"),
            ("ACCEPT", "filter INPUT #3 "),
            ("ACCEPT", "filter DOCKER #1 "),
            ("DROP", "filter FORWARD policy"),
            ("DROP", "filter INPUT policy"),
            ("DROP", "filter INPUT policy"),
        ],
    );
}

fn docker_ipv6_from_the_bridge() {
    let web6 = ip6(WEB6);
    let got = run6(
        &container_fixture("docker-host.rules.v6"),
        "docker-host6.json",
        "docker0",
        vec![
            // Out to the world (MASQUERADE on eth0: IPv6 NAT, as for IPv4).
            syn6(web6, ip6("2001:db8:ffff::7"), 443, 1),
            // To another container on the same bridge.
            syn6(web6, ip6("2001:db8:d0c::242:ac11:3"), 5432, 2),
            // Hairpin through the host's address: the nat DOCKER chain returns bridge
            // traffic (userland proxy on), so INPUT decides, and drops it.
            syn6(web6, host6_docker(), 8080, 3),
            // To the host's bridge address: INPUT's policy.
            udp6(web6, ip6("2001:db8:d0c::1"), 40004, 53, b"q"),
        ],
    );
    expect(
        &got,
        &[
            ("ACCEPT", "filter FORWARD #4 "),
            ("ACCEPT", "filter FORWARD #5 "),
            ("DROP", "filter INPUT policy"),
            ("DROP", "filter INPUT policy"),
        ],
    );
}

/// dockerd before 27 by default (`"ipv6": true` without `"ip6tables": true`): no ip6tables
/// rule of Docker's, so no DNAT - the published port on the host's address is docker-proxy's
/// and INPUT's, which drops it here - while the container's global address is routed to on
/// every port by FORWARD's policy ACCEPT.
fn docker_ipv6_before_27_routes_to_the_container() {
    let web6 = ip6(WEB6);
    let got = run6(
        &container_fixture("docker-host-noip6tables.rules.v6"),
        "docker-host6.json",
        "eth0",
        vec![
            syn6(CLIENT6, host6_docker(), 8080, 1),
            syn6(CLIENT6, web6, 80, 2),
            syn6(CLIENT6, web6, 22, 3),
            syn6(CLIENT6, host6_docker(), 22, 4),
        ],
    );
    expect(
        &got,
        &[
            ("DROP", "filter INPUT policy"),
            ("ACCEPT", "filter FORWARD policy"),
            ("ACCEPT", "filter FORWARD policy"),
            ("ACCEPT", "filter INPUT #3 "),
        ],
    );
}

// --- `docker run --net=host`: a host process, judged by INPUT ---

/// A container with host networking listens on the host's own addresses: dockerd writes no
/// rule for it (gen/docker-ipv6.sh runs one on port 9000 and the ip6tables-save output has
/// nothing for it), so a SYN to its port is for the host, goes through INPUT and never meets
/// DOCKER or FORWARD. Dropped by INPUT's policy as the layouts are; accepted once the
/// operator adds `-A INPUT -p tcp -m tcp --dport 9000 -j ACCEPT` after the SSH rule.
fn host_network_service_is_judged_by_input() {
    let allow = |rules: &str| {
        let ssh = "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n";
        assert!(rules.contains(ssh));
        rules.replace(
            ssh,
            &format!("{ssh}-A INPUT -p tcp -m tcp --dport 9000 -j ACCEPT\n"),
        )
    };
    let v4 = container_fixture("docker-host.rules.v4");
    let probes4 = || vec![syn(CLIENT, HOST, 9000, 1), syn(CLIENT, HOST, 8080, 2)];
    let got = run(&v4, "docker-host.json", "eth0", probes4());
    expect(
        &got,
        &[
            ("DROP", "filter INPUT policy"),
            ("ACCEPT", "filter DOCKER #1 "),
        ],
    );
    let got = run(&allow(&v4), "docker-host.json", "eth0", probes4());
    expect(
        &got,
        &[
            ("ACCEPT", "filter INPUT #4 "),
            ("ACCEPT", "filter DOCKER #1 "),
        ],
    );
    let v6 = container_fixture("docker-host.rules.v6");
    let probes6 = || {
        vec![
            syn6(CLIENT6, host6_docker(), 9000, 1),
            syn6(CLIENT6, host6_docker(), 8080, 2),
        ]
    };
    let got = run6(&v6, "docker-host6.json", "eth0", probes6());
    expect(
        &got,
        &[
            ("DROP", "filter INPUT policy"),
            ("ACCEPT", "filter DOCKER #1 "),
        ],
    );
    let got = run6(&allow(&v6), "docker-host6.json", "eth0", probes6());
    expect(
        &got,
        &[
            ("ACCEPT", "filter INPUT #4 "),
            ("ACCEPT", "filter DOCKER #1 "),
        ],
    );
}

// --- Podman 4.3 / netavark 1.4: NETAVARK-HOSTPORT-DNAT, NETAVARK_FORWARD, FORWARD policy ACCEPT ---

fn podman_from_outside() {
    let got = run(
        &container_fixture("podman-netavark.rules.v4"),
        "podman-host.json",
        "eth0",
        vec![
            syn(CLIENT, HOST, 8080, 1),
            udp4(CLIENT, HOST, 40002, 5353, 2, b"q"),
            syn(CLIENT, HOST, 3306, 3),
            syn(CLIENT, HOST, 22, 4),
            udp4(CLIENT, HOST, 40005, 53, 5, b"q"),
            // Routed straight to the container, any port: nothing of netavark's stops it.
            syn(CLIENT, ip("10.88.0.2"), 22, 6),
        ],
    );
    expect(
        &got,
        &[
            // DNATed to 10.88.0.2:80 / :53; NETAVARK_FORWARD only accepts replies and the
            // bridge's own traffic, so FORWARD's policy ACCEPT lets them through.
            ("ACCEPT", "filter FORWARD policy"),
            ("ACCEPT", "filter FORWARD policy"),
            ("DROP", "filter INPUT policy"),
            ("ACCEPT", "filter INPUT #3 "),
            ("DROP", "filter INPUT policy"),
            ("ACCEPT", "filter FORWARD policy"),
        ],
    );
}

fn podman_from_the_bridge() {
    let c = ip("10.88.0.2");
    let got = run(
        &container_fixture("podman-netavark.rules.v4"),
        "podman-host.json",
        "podman0",
        vec![
            syn(c, ip("203.0.113.7"), 443, 1),
            syn(c, ip("10.88.0.3"), 5432, 2),
            udp4(c, ip("10.88.0.1"), 40003, 53, 3, b"q"),
        ],
    );
    expect(
        &got,
        &[
            ("ACCEPT", "filter NETAVARK_FORWARD #2 "),
            ("ACCEPT", "filter NETAVARK_FORWARD #2 "),
            ("DROP", "filter INPUT policy"),
        ],
    );
}

// --- ufw 0.36 with dockerd 28, and ufw-docker's fix ---

/// SYNs from outside to web's 8080 and db's 5432 (published), 3306 (not), 22 (ufw allows).
fn ufw_outside() -> Vec<Vec<u8>> {
    vec![
        syn(CLIENT, HOST, 8080, 1),
        syn(CLIENT, HOST, 5432, 2),
        syn(CLIENT, HOST, 3306, 3),
        syn(CLIENT, HOST, 22, 4),
    ]
}

fn ufw_published_ports_bypass_deny_incoming() {
    let got = run(
        &container_fixture("docker-ufw.rules.v4"),
        "docker-host.json",
        "eth0",
        ufw_outside(),
    );
    expect(
        &got,
        &[
            // Docker's FORWARD jumps come before ufw's: DOCKER accepts both published ports.
            ("ACCEPT", "filter DOCKER #2 "),
            ("ACCEPT", "filter DOCKER #1 "),
            ("DROP", "filter INPUT policy"),
            ("ACCEPT", "filter ufw-user-input #1 "),
        ],
    );
}

fn ufw_docker_fix_closes_what_ufw_does_not_allow() {
    let got = run(
        &container_fixture("docker-ufw-fixed.rules.v4"),
        "docker-host.json",
        "eth0",
        ufw_outside(),
    );
    expect(
        &got,
        &[
            // `ufw route allow ... to 172.17.0.2 port 80`, reached from DOCKER-USER.
            ("ACCEPT", "filter ufw-user-forward #1 "),
            // db: ufw-docker's drop of new connections to private container addresses.
            ("DROP", "filter ufw-docker-logging-deny #2 "),
            ("DROP", "filter INPUT policy"),
            ("ACCEPT", "filter ufw-user-input #1 "),
        ],
    );
    let c2 = ip("172.17.0.2");
    let got = run(
        &container_fixture("docker-ufw-fixed.rules.v4"),
        "docker-host.json",
        "docker0",
        vec![
            syn(c2, ip("203.0.113.7"), 443, 1),
            syn(c2, ip("172.17.0.3"), 5432, 2),
        ],
    );
    // DOCKER-USER returns for private sources: the containers' own traffic is Docker's.
    expect(
        &got,
        &[
            ("ACCEPT", "filter DOCKER-FORWARD #4 "),
            ("ACCEPT", "filter DOCKER-FORWARD #4 "),
        ],
    );
}

// --- firewalld 1.3.3 (iptables backend) zones, with dockerd 28 beside it ---

/// From outside on eth0 (zone public): the published ports, public's services and port, a
/// port no zone allows, a ping, and packets routed straight to the containers.
fn firewalld_outside() -> Vec<Vec<u8>> {
    vec![
        syn(CLIENT, HOST, 8080, 1),
        syn(CLIENT, HOST, 5432, 2),
        syn(CLIENT, HOST, 22, 3),
        syn(CLIENT, HOST, 80, 4),
        syn(CLIENT, HOST, 8443, 5),
        syn(CLIENT, HOST, 3306, 6),
        udp4(CLIENT, HOST, 40007, 53, 7, b"q"),
        ping4(CLIENT, HOST, false, 8),
        syn(CLIENT, ip("172.17.0.2"), 80, 9),
        syn(CLIENT, ip("172.17.0.3"), 22, 10),
    ]
}

fn firewalld_published_ports_bypass_the_zone() {
    let got = run(
        &container_fixture("firewalld-docker.rules.v4"),
        "docker-host.json",
        "eth0",
        firewalld_outside(),
    );
    expect(
        &got,
        &[
            // DNATed in nat DOCKER (after firewalld's PREROUTING_ZONES), accepted by Docker's
            // chains at the top of FORWARD: the zone public is never consulted.
            ("ACCEPT", "filter DOCKER #2 "),
            ("ACCEPT", "filter DOCKER #1 "),
            ("ACCEPT", "filter IN_public_allow #1 "),
            ("ACCEPT", "filter IN_public_allow #2 "),
            ("ACCEPT", "filter IN_public_allow #3 "),
            // IN_public's REJECT (icmp-port-unreachable): not delivered, in the kernel a DROP.
            ("DROP", "filter IN_public #9 "),
            ("DROP", "filter IN_public #9 "),
            ("ACCEPT", "filter IN_public #8 "),
            // Docker's raw PREROUTING rules, after firewalld's jumps there.
            ("DROP", "raw PREROUTING #3 "),
            ("DROP", "raw PREROUTING #4 "),
        ],
    );
}

/// Variants of the real layout: the fix in DOCKER-USER closes the ports in the kernel too; and
/// without Docker's FORWARD jumps firewalld's own first FORWARD rule (`--ctstate
/// RELATED,ESTABLISHED,DNAT -j ACCEPT`) accepts the DNATed packets all the same.
fn firewalld_docker_user_fix_and_firewalld_alone() {
    let fw = container_fixture("firewalld-docker.rules.v4");
    let fixed = fw.replace(
        "-A DOCKER-CT ",
        "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j \
         DROP\n-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 5432 --ctdir ORIGINAL \
         -j DROP\n-A DOCKER-CT ",
    );
    assert_ne!(fixed, fw);
    let got = run(
        &fixed,
        "docker-host.json",
        "eth0",
        vec![
            syn(CLIENT, HOST, 8080, 1),
            syn(CLIENT, HOST, 5432, 2),
            syn(CLIENT, HOST, 22, 3),
        ],
    );
    expect(
        &got,
        &[
            ("DROP", "filter DOCKER-USER #1 "),
            ("DROP", "filter DOCKER-USER #2 "),
            ("ACCEPT", "filter IN_public_allow #1 "),
        ],
    );
    let jumps = "-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-FORWARD\n";
    assert!(fw.contains(jumps));
    let got = run(
        &fw.replace(jumps, ""),
        "docker-host.json",
        "eth0",
        vec![syn(CLIENT, HOST, 8080, 1), syn(CLIENT, HOST, 5432, 2)],
    );
    expect(
        &got,
        &[
            ("ACCEPT", "filter FORWARD #1 "),
            ("ACCEPT", "filter FORWARD #1 "),
        ],
    );
}

/// From docker0 (zone docker, target ACCEPT): out, to another container, to the host.
fn firewalld_from_the_bridge() {
    let c2 = ip("172.17.0.2");
    let got = run(
        &container_fixture("firewalld-docker.rules.v4"),
        "docker-host.json",
        "docker0",
        vec![
            syn(c2, ip("203.0.113.7"), 443, 1),
            syn(c2, ip("172.17.0.3"), 5432, 2),
            udp4(c2, ip("172.17.0.1"), 40003, 53, 3, b"q"),
            syn(c2, HOST, 22, 4),
            // Hairpin to a published port: nat DOCKER returns bridge traffic, so it is the
            // host's (docker-proxy's) and the zone docker accepts it.
            syn(ip("172.17.0.3"), HOST, 8080, 5),
        ],
    );
    expect(
        &got,
        &[
            ("ACCEPT", "filter DOCKER-FORWARD #4 "),
            ("ACCEPT", "filter DOCKER-FORWARD #4 "),
            // The zone docker's target ACCEPT: IN_docker's last rule.
            ("ACCEPT", "filter IN_docker #8 "),
            ("ACCEPT", "filter IN_docker #8 "),
            ("ACCEPT", "filter IN_docker #8 "),
        ],
    );
}

// --- kube-proxy (iptables mode): a NodePort service with one endpoint ---

fn kube_nodeport_from_outside() {
    let got = run(
        &container_fixture("kube-proxy-nodeport.rules.v4"),
        "kube-node.json",
        "eth0",
        vec![
            syn(CLIENT, HOST, 30080, 1),
            syn(CLIENT, HOST, 3306, 2),
            syn(CLIENT, HOST, 22, 3),
            // Straight to the pod: not marked, FORWARD's policy.
            syn(CLIENT, ip("10.244.0.5"), 8080, 4),
            // The cluster IP, routed to the node by a neighbour: KUBE-SERVICES DNATs it too.
            syn(CLIENT, ip("10.96.0.20"), 80, 5),
        ],
    );
    expect(
        &got,
        &[
            // KUBE-NODEPORTS -> KUBE-EXT (mark 0x4000) -> KUBE-SVC -> KUBE-SEP DNAT to the pod;
            // KUBE-FORWARD accepts the marked packet, past INPUT's and FORWARD's DROP.
            ("ACCEPT", "filter KUBE-FORWARD #2 "),
            ("DROP", "filter INPUT policy"),
            ("ACCEPT", "filter INPUT #6 "),
            ("DROP", "filter FORWARD policy"),
            ("ACCEPT", "filter KUBE-FORWARD #2 "),
        ],
    );
}

fn kube_nodeport_from_the_pod_bridge() {
    let pod = ip("10.244.0.5");
    let got = run(
        &container_fixture("kube-proxy-nodeport.rules.v4"),
        "kube-node.json",
        "cni0",
        vec![
            // The pod reaches its own service (hairpin: KUBE-SEP marks it for masquerade).
            syn(pod, ip("10.96.0.20"), 80, 1),
            syn(pod, ip("203.0.113.7"), 443, 2),
        ],
    );
    expect(
        &got,
        &[
            ("ACCEPT", "filter KUBE-FORWARD #2 "),
            // No CNI rule lets pods out here: the hand-written FORWARD policy.
            ("DROP", "filter FORWARD policy"),
        ],
    );
}

// --- FW016's fixes (tests/container_layouts.rs): the kernel drops the probes too ---

fn fw016_fixes_close_the_ports() {
    let podman = container_fixture("podman-netavark.rules.v4").replace(
        "-A FORWARD -m comment",
        "-A FORWARD -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP\n\
         -A FORWARD -i eth0 -p udp -m conntrack --ctorigdstport 5353 --ctdir ORIGINAL -j DROP\n\
         -A FORWARD -m comment",
    );
    let got = run(
        &podman,
        "podman-host.json",
        "eth0",
        vec![
            syn(CLIENT, HOST, 8080, 1),
            udp4(CLIENT, HOST, 40002, 5353, 2, b"q"),
        ],
    );
    expect(
        &got,
        &[
            ("DROP", "filter FORWARD #1 "),
            ("DROP", "filter FORWARD #2 "),
        ],
    );
    let kube = container_fixture("kube-proxy-nodeport.rules.v4").replacen(
        "-A FORWARD ",
        "-A FORWARD -i eth0 -p tcp -m conntrack --ctorigdstport 30080 --ctdir ORIGINAL -j DROP\n\
         -A FORWARD ",
        1,
    );
    let got = run(
        &kube,
        "kube-node.json",
        "eth0",
        vec![syn(CLIENT, HOST, 30080, 1)],
    );
    expect(&got, &[("DROP", "filter FORWARD #1 ")]);
}

kernel_tests!(
    docker_hairpin_from_the_bridge,
    docker_ipv6_before_27_routes_to_the_container,
    docker_ipv6_from_outside,
    docker_ipv6_from_the_bridge,
    host_network_service_is_judged_by_input,
    firewalld_docker_user_fix_and_firewalld_alone,
    firewalld_from_the_bridge,
    firewalld_published_ports_bypass_the_zone,
    fw016_fixes_close_the_ports,
    kube_nodeport_from_outside,
    kube_nodeport_from_the_pod_bridge,
    ufw_published_ports_bypass_deny_incoming,
    ufw_docker_fix_closes_what_ufw_does_not_allow,
    docker28_from_outside,
    docker28_from_the_bridge,
    podman_from_outside,
    podman_from_the_bridge
);
