//! `cargo run --release --example gate_gen -- SHAPE N OUT`: write an N-rule `iptables-save`
//! ruleset of one shape for `benches/gate.sh` (the static gate and `lint` at scale).
//!
//! Shapes: `blocklist` (fail2ban/ipset-less style: `-s x/32 -j DROP` after a stateful head),
//! `mixed` (port/protocol/interface/address rules of every kind), `chains` (many user chains
//! of a few rules each, reached by jumps from INPUT).
use std::fmt::Write;

const HEAD: &str = "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -i lo -j ACCEPT\n\
-A INPUT -m conntrack --ctstate INVALID -j DROP\n\
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n";

fn v4(i: usize) -> String {
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

fn blocklist(n: usize) -> String {
    let mut s =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    s.push_str(HEAD);
    for i in 0..n.saturating_sub(4) {
        let _ = writeln!(s, "-A INPUT -s {}/32 -j DROP", v4(i));
    }
    s.push_str("COMMIT\n");
    s
}

fn mixed(n: usize) -> String {
    let mut s =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    s.push_str(HEAD);
    for i in 0..n.saturating_sub(4) {
        let port = 1024 + (i * 7919) % 60000;
        let line = match i % 8 {
            0 => format!("-A INPUT -s {}/32 -p tcp -m tcp --dport {port} -j ACCEPT", v4(i)),
            1 => format!("-A INPUT -i eth{} -p udp -m udp --dport {port} -j DROP", i % 16),
            2 => format!("-A INPUT -d {}/24 -p tcp -m tcp --sport {port} -j REJECT --reject-with tcp-reset", v4(i * 256)),
            3 => format!("-A INPUT -s {}/28 -p udp -m udp --sport 53 --dport {port}:{} -j ACCEPT", v4(i * 16), port + 10),
            4 => format!("-A INPUT -p tcp -m tcp --dport {port} --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j ACCEPT"),
            5 => format!("-A INPUT -i veth{} -s {}/32 -j DROP", i % 64, v4(i)),
            6 => format!("-A INPUT -p icmp -m icmp --icmp-type {} -s {}/32 -j ACCEPT", i % 16, v4(i)),
            _ => format!("-A INPUT -s {}/32 -p tcp -m multiport --dports {port},{} -j DROP", v4(i), port + 1),
        };
        s.push_str(&line);
        s.push('\n');
    }
    s.push_str("COMMIT\n");
    s
}

fn chains(n: usize) -> String {
    let per = 9;
    let k = n.saturating_sub(4) / (per + 1);
    let mut s =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for c in 0..k {
        let _ = writeln!(s, ":u{c} - [0:0]");
    }
    s.push_str(HEAD);
    for c in 0..k {
        let _ = writeln!(s, "-A INPUT -s {}/24 -j u{c}", v4(c * 256));
    }
    for c in 0..k {
        for r in 0..per {
            let port = 1 + (c * per + r) % 65000;
            let line = match r % 3 {
                0 => format!("-A u{c} -p tcp -m tcp --dport {port} -j ACCEPT"),
                1 => format!(
                    "-A u{c} -s {}/32 -p udp -m udp --dport {port} -j DROP",
                    v4(c * 256 + r)
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

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let (Some(shape), Some(n), Some(out)) =
        (a.first(), a.get(1).and_then(|n| n.parse().ok()), a.get(2))
    else {
        eprintln!("usage: gate_gen blocklist|mixed|chains N OUT");
        std::process::exit(2);
    };
    let text = match shape.as_str() {
        "blocklist" => blocklist(n),
        "mixed" => mixed(n),
        "chains" => chains(n),
        _ => {
            eprintln!("gate_gen: unknown shape {shape}");
            std::process::exit(2);
        }
    };
    if let Err(e) = std::fs::write(out, text) {
        eprintln!("gate_gen: {out}: {e}");
        std::process::exit(2);
    }
}
