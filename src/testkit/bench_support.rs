//! Deterministic generated inputs shared by the benchmarks and their tests.

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
