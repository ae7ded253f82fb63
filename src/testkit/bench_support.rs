//! Deterministic generated inputs shared by the benchmarks and their tests.

use std::fmt::Write as _;

/// A realistic `iptables-save` ruleset with `n` rules: a stateful INPUT chain with service
/// rules, per-service user chains, and long ban lists (fail2ban style), in the canonical form.
pub fn ruleset(n: usize) -> String {
    let mut s = String::with_capacity(n * 90);
    s.push_str("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    let chains = [
        "f2b-dovecot",
        "f2b-nginx",
        "f2b-postfix",
        "f2b-sshd",
        "svc-in",
    ];
    for c in chains {
        s.push_str(&format!(":{c} - [0:0]\n"));
    }
    let head = [
        "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A INPUT -i lo -j ACCEPT",
        "-A INPUT -m conntrack --ctstate INVALID -j DROP",
        "-A INPUT -p tcp -m tcp --dport 22 -j f2b-sshd",
        "-A INPUT -p tcp -m tcp --dport 443 -j f2b-nginx",
        "-A INPUT -p tcp -m tcp --dport 25 -j f2b-postfix",
        "-A INPUT -p tcp -m tcp --dport 993 -j f2b-dovecot",
        "-A INPUT -j svc-in",
        "-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT",
    ];
    let mut count = 0;
    for r in head {
        s.push_str(r);
        s.push('\n');
        count += 1;
    }
    let mut i = 0u32;
    while count < n {
        let chain = chains[(i % 5) as usize];
        let host = i / 5;
        let (a, b) = (host / 254 % 254 + 1, host % 254 + 1);
        let line = match i % 7 {
            0 => format!("-A {chain} -s 203.0.{a}.{b}/32 -j REJECT --reject-with icmp-port-unreachable"),
            1 => format!("-A {chain} -s 198.51.{a}.0/24 -p tcp -m tcp --dport {} -j DROP", 1024 + i % 4000),
            2 => format!("-A {chain} -p udp -m udp --sport 53 --dport {}:{} -m conntrack --ctstate ESTABLISHED -j ACCEPT", 1024 + i % 1000, 2048 + i % 1000),
            3 => format!("-A {chain} -d 192.0.{a}.{b}/32 -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT"),
            4 => format!("-A {chain} -s 192.0.2.{b}/32 -m comment --comment \"ban #{i}\" -j DROP"),
            5 => format!("-A {chain} -i eth{} -p tcp -m tcp --sport {} -j RETURN", i % 4, i % 65535),
            _ => format!("-A {chain} ! -s 10.{a}.{b}.0/24 -p icmp -m icmp --icmp-type 3/4 -j ACCEPT"),
        };
        s.push_str(&line);
        s.push('\n');
        i += 1;
        count += 1;
    }
    for c in chains {
        s.push_str(&format!("-A {c} -j RETURN\n"));
    }
    s.push_str("COMMIT\n");
    s
}

// The static gate's rulesets at scale (`benches/gate.sh`): `blocklist` (fail2ban/ipset-less
// style: `-s x/32 -j DROP` after a stateful head), `mixed` (port/protocol/interface/address
// rules of every kind), `chains` (many user chains of a few rules each, reached by jumps).

/// An N-rule `iptables-save` ruleset of one of the gate benchmark's shapes (`blocklist`,
/// `mixed`, `chains`), or `None` for an unknown shape.
pub fn gate_ruleset(shape: &str, n: usize) -> Option<String> {
    Some(match shape {
        "blocklist" => gate_blocklist(n),
        "mixed" => gate_mixed(n),
        "chains" => gate_chains(n),
        _ => return None,
    })
}

const GATE_HEAD: &str = "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -i lo -j ACCEPT\n\
-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n";

fn gate_v4(i: usize) -> String {
    // Distinct addresses spread over 198.18.0.0/15 and 100.64.0.0/10.
    let i = i as u32;
    if i < 1 << 17 {
        format!("198.{}.{}.{}", 18 + (i >> 16), (i >> 8) & 255, i & 255)
    } else {
        let j = i - (1 << 17);
        format!(
            "100.{}.{}.{}",
            64 + ((j >> 16) & 63),
            (j >> 8) & 255,
            j & 255
        )
    }
}

fn gate_blocklist(n: usize) -> String {
    let mut s =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    s.push_str(GATE_HEAD);
    for i in 0..n.saturating_sub(4) {
        let _ = writeln!(s, "-A INPUT -s {}/32 -j DROP", gate_v4(i));
    }
    s.push_str("COMMIT\n");
    s
}

fn gate_mixed(n: usize) -> String {
    let mut s =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    s.push_str(GATE_HEAD);
    for i in 0..n.saturating_sub(4) {
        let port = 1024 + (i * 7919) % 60000;
        let line = match i % 8 {
            0 => format!("-A INPUT -s {}/32 -p tcp -m tcp --dport {port} -j ACCEPT", gate_v4(i)),
            1 => format!("-A INPUT -i eth{} -p udp -m udp --dport {port} -j DROP", i % 16),
            2 => format!("-A INPUT -d {}/24 -p tcp -m tcp --sport {port} -j REJECT --reject-with tcp-reset", gate_v4(i * 256)),
            3 => format!("-A INPUT -s {}/28 -p udp -m udp --sport 53 --dport {port}:{} -j ACCEPT", gate_v4(i * 16), port + 10),
            4 => format!("-A INPUT -p tcp -m tcp --dport {port} --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j ACCEPT"),
            5 => format!("-A INPUT -i veth{} -s {}/32 -j DROP", i % 64, gate_v4(i)),
            6 => format!("-A INPUT -p icmp -m icmp --icmp-type {} -s {}/32 -j ACCEPT", i % 16, gate_v4(i)),
            _ => format!("-A INPUT -s {}/32 -p tcp -m multiport --dports {port},{} -j DROP", gate_v4(i), port + 1),
        };
        s.push_str(&line);
        s.push('\n');
    }
    s.push_str("COMMIT\n");
    s
}

fn gate_chains(n: usize) -> String {
    let per = 9;
    let k = n.saturating_sub(4) / (per + 1);
    let mut s =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for c in 0..k {
        let _ = writeln!(s, ":u{c} - [0:0]");
    }
    s.push_str(GATE_HEAD);
    for c in 0..k {
        let _ = writeln!(s, "-A INPUT -s {}/24 -j u{c}", gate_v4(c * 256));
    }
    for c in 0..k {
        for r in 0..per {
            let port = 1 + (c * per + r) % 65000;
            let line = match r % 3 {
                0 => format!("-A u{c} -p tcp -m tcp --dport {port} -j ACCEPT"),
                1 => format!(
                    "-A u{c} -s {}/32 -p udp -m udp --dport {port} -j DROP",
                    gate_v4(c * 256 + r)
                ),
                _ => format!("-A u{c} -i eth{} -p tcp -m tcp --sport {port} -j RETURN", r),
            };
            s.push_str(&line);
            s.push('\n');
        }
    }
    s.push_str("COMMIT\n");
    s
}
