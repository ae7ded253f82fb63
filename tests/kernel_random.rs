//! Random rulesets and random traffic, fwcheck beside the kernel: no certain verdict may
//! differ from the kernel's. The fixtures pin what their authors thought of; this explores the
//! combinations nobody wrote down — chains with jumps, gotos and RETURN, conntrack and state,
//! ports, multiport, flags, addresses and ranges, lengths, marks and connmarks set on the way,
//! `recent`, `connlimit`, `statistic --mode nth`, REJECT in its variants — over interleaved
//! TCP handshakes, data and teardowns in both directions, strays, UDP queries and answers, and
//! pings. Nothing depends on time (the oracle replays as fast as it can).
//!
//! Each case is a seed: `FWCHECK_RANDOM_CASES=N` runs N cases (default 24, a few seconds),
//! `FWCHECK_RANDOM_SEED=S` starts at seed S, `FWCHECK_RANDOM_SHOW=1` prints each ruleset,
//! `FWCHECK_RANDOM_DUMP=DIR` writes each case's ruleset and capture there (for `fwcheck debug
//! kernel-diff`); a failure prints the ruleset, the frames and the seed that reproduces it.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use fwcheck::compare::compare;
use fwcheck::conntrack::Timeouts;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::netfilter::Family;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// What differs between iptables and ip6tables here: addresses, names, packets.
struct Fam {
    v6: bool,
    host: IpAddr,
    clients: [IpAddr; 3],
    /// An address that is neither (a router sending ICMP errors).
    router: IpAddr,
    nets: [&'static str; 7],
    icmp: &'static str,
    icmp_types: [&'static str; 4],
    prohibited: &'static str,
    src_range: &'static str,
    u32s: [&'static str; 7],
}

const V4: Fam = Fam {
    v6: false,
    host: IpAddr::V4(HOST),
    clients: [
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 8)),
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5)),
    ],
    router: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1)),
    nets: [
        "198.51.100.7/32",
        "198.51.100.0/24",
        "198.51.100.8/31",
        "203.0.113.0/24",
        "192.0.2.10/32",
        "10.0.0.0/8",
        "0.0.0.0/1",
    ],
    icmp: "icmp",
    icmp_types: [
        "echo-request",
        "echo-reply",
        "destination-unreachable",
        "3/3",
    ],
    prohibited: "icmp-host-prohibited",
    src_range: "198.51.100.5-198.51.100.7",
    u32s: [
        "6&0xFF=6",
        "0>>22&0x3C@0>>16=53",
        "0>>22&0x3C@0&0xFFFF=22:80",
        "0&0xFFFF=0:100",
        // What mangle targets and forwarding rewrite: TTL and TOS, the header checksum's low
        // bits, the TCP flags ECN sets or clears.
        "5&0xFF=63&&0>>16&0xFF=0x10:0x13",
        "8&0x3=1:2",
        "0>>22&0x3C@12>>16&0xC0=0x40",
    ],
};

const V6: Fam = Fam {
    v6: true,
    host: IpAddr::V6(HOST6),
    clients: [
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 7)),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 8)),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xe, 0, 0, 0, 0, 5)),
    ],
    router: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xe, 0, 0, 0, 0, 1)),
    nets: [
        "2001:db8:c::7/128",
        "2001:db8:c::/48",
        "2001:db8:c::8/127",
        "2001:db8:e::/48",
        "2001:db8:a::a/128",
        "fd00::/8",
        "::/1",
    ],
    icmp: "ipv6-icmp",
    icmp_types: [
        "echo-request",
        "echo-reply",
        "destination-unreachable",
        "1/4",
    ],
    prohibited: "icmp6-adm-prohibited",
    src_range: "2001:db8:c::5-2001:db8:c::7",
    u32s: [
        "4>>8&0xFF=6",
        "0>>28=6",
        "4>>8&0xFF=17:58",
        "0&0xFFFF=0:100",
        // The hop limit and traffic class HL, TOS and forwarding rewrite.
        "4&0xFF=63",
        "0>>20&0xFF=0x10:0x13",
        "40&0xFFFF=0:1000",
    ],
};
const PORTS: [&str; 8] = [
    "22",
    "53",
    "80",
    "443",
    "8080",
    "1024:65535",
    "1:1023",
    "40000:40010",
];
const STATES: [&str; 5] = ["NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"];

fn not(r: &mut Rng) -> &'static str {
    if r.one_in(5) {
        "! "
    } else {
        ""
    }
}

fn states(r: &mut Rng) -> String {
    let mut s: Vec<&str> = STATES.iter().copied().filter(|_| r.one_in(2)).collect();
    if s.is_empty() {
        s.push(*r.pick(&STATES));
    }
    s.join(",")
}

/// One rule's matches and target for `chain` (`user`: a user chain, where RETURN makes
/// sense; `jumps`: the user chains it may jump to).
fn rule(f: &Fam, r: &mut Rng, chain: &str, user: bool, jumps: &[&str]) -> String {
    let mut m = Vec::new();
    let proto = match r.below(8) {
        0..=2 => "tcp",
        3 | 4 => "udp",
        5 => f.icmp,
        _ => "",
    };
    if !proto.is_empty() {
        m.push(format!("-p {proto}"));
    }
    if r.one_in(3) {
        m.push(format!("{}-s {}", not(r), r.pick(&f.nets)));
    }
    if r.one_in(5) {
        m.push(format!("{}-d {}", not(r), r.pick(&f.nets)));
    }
    match proto {
        "tcp" | "udp" => match r.below(6) {
            0 => m.push(format!("{}--dport {}", not(r), r.pick(&PORTS))),
            1 => m.push(format!("{}--sport {}", not(r), r.pick(&PORTS))),
            2 => m.push(format!(
                "-m multiport {}--ports {},{}",
                not(r),
                r.pick(&["22", "53", "80"]),
                r.pick(&["443", "8080", "40000:40005"])
            )),
            3 if proto == "tcp" => m.push(
                r.pick(&[
                    "--syn",
                    "! --syn",
                    "--tcp-flags SYN,ACK SYN,ACK",
                    "--tcp-flags ALL ACK",
                    "--tcp-flags FIN,RST NONE",
                ])
                .to_string(),
            ),
            _ => {}
        },
        p if p == f.icmp && r.one_in(2) => m.push(format!(
            "{}--{} {}",
            not(r),
            if f.v6 { "icmpv6-type" } else { "icmp-type" },
            r.pick(&f.icmp_types)
        )),
        _ => {}
    }
    if r.one_in(3) {
        let st = states(r);
        if r.one_in(3) && !st.contains("UNTRACKED") {
            m.push(format!("-m state --state {st}"));
        } else {
            m.push(format!("-m conntrack {}--ctstate {st}", not(r)));
        }
    }
    if r.one_in(9) {
        m.push(format!(
            "-m length {}--length {}",
            not(r),
            r.pick(&["0:60", "40:40", "61:1500", "100:65535"])
        ));
    }
    if r.one_in(10) {
        let (m_, o) = if f.v6 { ("hl", "hl") } else { ("ttl", "ttl") };
        m.push(format!("-m {m_} --{o}-{} 63", r.pick(&["gt", "lt", "eq"])));
    }
    if r.one_in(8) {
        m.push(format!("-m mark {}--mark 0x1", not(r)));
    }
    if r.one_in(10) {
        m.push(format!("-m connmark {}--mark 0x2/0x2", not(r)));
    }
    if r.one_in(12) {
        m.push(format!("-m iprange {}--src-range {}", not(r), f.src_range));
    }
    if r.one_in(12) {
        m.push(format!(
            "-m addrtype {}--dst-type {}",
            not(r),
            r.pick(&["LOCAL", "UNICAST"])
        ));
    }
    if r.one_in(10) {
        m.push(
            r.pick(&[
                "-m recent --name r1 --set",
                "-m recent --name r1 --rcheck",
                "-m recent --name r1 --update --hitcount 2",
                "-m recent --name r2 --rdest --set",
                "-m recent --name r1 ! --rcheck",
            ])
            .to_string(),
        );
    }
    if proto == "tcp" && r.one_in(12) {
        m.push(format!(
            "-m tcpmss {}--mss {}",
            not(r),
            r.pick(&["1000:1460", "536", "1461:65535"])
        ));
    }
    if proto == "tcp" && r.one_in(12) {
        m.push(format!(
            "{}--tcp-option {}",
            not(r),
            r.pick(&["2", "3", "4", "8"])
        ));
    }
    if r.one_in(14) {
        m.push(
            r.pick(&[
                "-m ecn --ecn-ip-ect 3",
                "-m ecn ! --ecn-ip-ect 0",
                "-m dscp --dscp-class EF",
                "-m tos --tos Minimize-Delay",
            ])
            .to_string(),
        );
    }
    if proto == "tcp" && r.one_in(12) {
        m.push(format!(
            "-m connlimit --connlimit-above {} --connlimit-mask {}",
            r.pick(&["0", "1", "2"]),
            r.pick(&["32", "24", "0"])
        ));
    }
    if r.one_in(14) {
        m.push("-m statistic --mode nth --every 3 --packet 1".into());
    }
    // Matches that read the clock: the oracle feeds fwcheck the kernel's jiffies per frame.
    if r.one_in(10) {
        m.push(format!(
            "-m limit --limit {} --limit-burst {}",
            r.pick(&["1/sec", "5/sec", "20/min", "3/sec"]),
            r.pick(&["1", "2", "3"])
        ));
    }
    if r.one_in(12) {
        m.push(format!(
            "-m hashlimit --hashlimit-{} {} --hashlimit-burst {} --hashlimit-mode {} \
             --hashlimit-name h{}",
            r.pick(&["upto", "above"]),
            r.pick(&["1/sec", "4/sec", "30/min"]),
            r.pick(&["1", "2", "4"]),
            r.pick(&["srcip", "srcip,dstport", "dstip", "srcip,srcport"]),
            r.below(2)
        ));
    }
    if r.one_in(12) {
        m.push(
            r.pick(&[
                "-m recent --name r3 --rcheck --seconds 1",
                "-m recent --name r3 --update --seconds 2 --hitcount 2",
                "-m recent --name r3 --set",
                "-m recent --name r4 --rcheck --seconds 1 --reap",
            ])
            .to_string(),
        );
    }
    if r.one_in(14) {
        m.push(format!(
            "-m string --algo {} {}--string \"{}\"",
            r.pick(&["bm", "kmp"]),
            not(r),
            r.pick(&["query", "xxxx", "answer", "fwcheck"])
        ));
    }
    if r.one_in(16) {
        m.push(format!("-m u32 {}--u32 \"{}\"", not(r), r.pick(&f.u32s)));
    }
    if r.one_in(12) {
        m.push(
            r.pick(&[
                "-m dscp --dscp 0x0a",
                "-m dscp ! --dscp 0",
                "-m tos --tos 0x10/0x3f",
                "-m pkttype --pkt-type unicast",
                "-m helper --helper ftp",
                "-m conntrack --ctstatus SEEN_REPLY",
                "-m conntrack --ctdir ORIGINAL",
                "-m conntrack --ctproto udp",
                "-m conntrack --ctorigdstport 53",
            ])
            .to_string(),
        );
    }
    let mut targets: Vec<String> = vec![
        "-j ACCEPT".into(),
        "-j ACCEPT".into(),
        "-j DROP".into(),
        "-j DROP".into(),
        "-j REJECT".into(),
        format!("-j REJECT --reject-with {}", f.prohibited),
        "-j LOG --log-prefix \"fw \"".into(),
        "-j MARK --set-mark 0x1".into(),
        "-j CONNMARK --set-xmark 0x2/0x2".into(),
        "-j CONNMARK --restore-mark".into(),
        "-j NFQUEUE --queue-num 3 --queue-bypass".into(),
        "-j NFQUEUE --queue-num 4".into(),
        "-j NFLOG --nflog-group 2".into(),
        String::new(),
    ];
    if proto == "tcp" {
        targets.push("-j REJECT --reject-with tcp-reset".into());
    }
    if user {
        targets.push("-j RETURN".into());
        targets.push("-j RETURN".into());
    }
    for j in jumps {
        targets.push(format!("-j {j}"));
        targets.push(format!("-j {j}"));
        targets.push(format!("-g {j}"));
    }
    let t = r.pick(&targets).clone();
    let mut line = format!("-A {chain}");
    for x in m {
        line.push(' ');
        line.push_str(&x);
    }
    if !t.is_empty() {
        line.push(' ');
        line.push_str(&t);
    }
    line
}

/// A raw table untracking some traffic, or a mangle table marking and re-marking it.
fn other_tables(f: &Fam, r: &mut Rng) -> String {
    let mut s = String::new();
    if r.one_in(3) {
        s.push_str("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
        for _ in 0..1 + r.below(3) {
            let chain = r.pick(&["PREROUTING", "OUTPUT"]);
            let icmp = format!("-p {}", f.icmp);
            let net = format!("-s {}", f.nets[3]);
            let whats = [
                "-p udp --dport 53",
                "-p udp --sport 53",
                &icmp,
                "-p tcp --dport 8080",
                &net,
            ];
            let what = r.pick(&whats);
            let t = r.pick(&[
                "-j NOTRACK",
                "-j CT --notrack",
                "-j CT --zone 3",
                "-j ACCEPT",
            ]);
            s.push_str(&format!("-A {chain} {what} {t}\n"));
        }
        s.push_str("COMMIT\n");
    }
    if r.one_in(3) {
        s.push_str(
            "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
             :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n",
        );
        for _ in 0..1 + r.below(4) {
            let chain = r.pick(&["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]);
            let icmp = format!("-p {}", f.icmp);
            let net = format!("-s {}", f.nets[1]);
            let whats = ["-p tcp --dport 80", "-p udp", &icmp, &net, ""];
            let mut what = r.pick(&whats).to_string();
            let t = r.pick(&[
                "-j MARK --set-mark 0x1",
                "-j MARK --set-xmark 0x3/0x1",
                "-j CONNMARK --save-mark",
                "-j CONNMARK --set-mark 0x2",
                "-j DSCP --set-dscp 0x0a",
                "-j TOS --set-tos 0x10/0x3f",
                "-j TTL --ttl-dec 1",
                "-j DROP",
                "-j TCPMSS --set-mss 1200",
                "-j TCPMSS --clamp-mss-to-pmtu",
                "-j ECN --ecn-tcp-remove",
                "-j ECN --ecn-tcp-ece 1",
                "-j ECN --ecn-ip-ect 3",
                "-j TTL --ttl-set 63",
                "-j CLASSIFY --set-class 1:1",
            ]);
            if t.contains("TCPMSS") {
                if t.contains("clamp") && matches!(*chain, "PREROUTING" | "INPUT") {
                    continue;
                }
                what = "-p tcp --tcp-flags SYN,RST SYN".into();
            } else if t.contains("ECN") {
                if f.v6 {
                    continue; // libipt_ECN: IPv4 only
                }
                if t.contains("tcp") {
                    what = "-p tcp".into();
                }
            } else if t.contains("CLASSIFY") && matches!(*chain, "PREROUTING" | "INPUT") {
                continue;
            }
            let t = if f.v6 {
                t.replace("TTL --ttl-", "HL --hl-")
            } else {
                t.to_string()
            };
            s.push_str(&format!("-A {chain} {what} {t}\n"));
        }
        s.push_str("COMMIT\n");
    }
    s
}

/// A nat table for a router (IPv4): DNAT and REDIRECT in, SNAT and MASQUERADE out, DNAT of
/// the host's own connections; `203.0.113.9` is a public address DNATed to a client.
fn nat_table(r: &mut Rng) -> String {
    let mut s = String::from(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         :POSTROUTING ACCEPT [0:0]\n",
    );
    for _ in 0..1 + r.below(4) {
        let (chain, rule) = *r.pick(&[
            (
                "PREROUTING",
                "-p tcp --dport 8080 -j DNAT --to-destination 198.51.100.8:80",
            ),
            (
                "PREROUTING",
                "-d 203.0.113.9/32 -j DNAT --to-destination 198.51.100.8",
            ),
            (
                "PREROUTING",
                "-p tcp --dport 2222 -j REDIRECT --to-ports 22",
            ),
            (
                "PREROUTING",
                "-p udp --dport 5353 -j DNAT --to-destination 198.51.100.7:53",
            ),
            ("PREROUTING", "-s 203.0.113.0/24 -j RETURN"),
            (
                "POSTROUTING",
                "-s 198.51.100.0/24 ! -d 198.51.100.0/24 -j MASQUERADE",
            ),
            (
                "POSTROUTING",
                "-o eth0 -p udp -j SNAT --to-source 192.0.2.10",
            ),
            (
                "POSTROUTING",
                "-d 198.51.100.8/32 -j SNAT --to-source 192.0.2.10",
            ),
            ("POSTROUTING", "-p tcp -j MASQUERADE --to-ports 20000-20010"),
            (
                "OUTPUT",
                "-p tcp --dport 8080 -j DNAT --to-destination 198.51.100.8:80",
            ),
            (
                "OUTPUT",
                "-d 203.0.113.9/32 -j DNAT --to-destination 198.51.100.7",
            ),
            (
                "INPUT",
                "-p udp -s 203.0.113.0/24 -j SNAT --to-source 192.0.2.99",
            ),
        ]);
        s.push_str(&format!("-A {chain} {rule}\n"));
    }
    s.push_str("COMMIT\n");
    s
}

fn ruleset(f: &Fam, r: &mut Rng, router: bool) -> String {
    let users: Vec<String> = (0..r.below(3)).map(|i| format!("U{i}")).collect();
    let pol = |r: &mut Rng| if r.one_in(2) { "ACCEPT" } else { "DROP" };
    let mut s = other_tables(f, r);
    if router && !f.v6 && !r.one_in(4) {
        s += &nat_table(r);
    }
    let forward = if router { pol(r) } else { "DROP" };
    s += &format!(
        "*filter\n:INPUT {} [0:0]\n:FORWARD {forward} [0:0]\n:OUTPUT {} [0:0]\n",
        pol(r),
        pol(r)
    );
    for u in &users {
        s.push_str(&format!(":{u} - [0:0]\n"));
    }
    let all: Vec<&str> = users.iter().map(String::as_str).collect();
    let chains: &[&str] = if router {
        &["INPUT", "FORWARD", "OUTPUT"]
    } else {
        &["INPUT", "OUTPUT"]
    };
    for chain in chains {
        for _ in 0..2 + r.below(8) {
            s.push_str(&rule(f, r, chain, false, &all));
            s.push('\n');
        }
    }
    // A user chain jumps only to later ones: no loops (iptables refuses them).
    for (i, u) in users.iter().enumerate() {
        for _ in 0..1 + r.below(5) {
            s.push_str(&rule(f, r, u, true, &all[i + 1..]));
            s.push('\n');
        }
    }
    s.push_str("COMMIT\n");
    s
}

fn udp_ip(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, id: u16, payload: &[u8]) -> Vec<u8> {
    ip_packet(src, dst, 17, id, &udp_seg(src, dst, sport, dport, payload))
}

fn ping(src: IpAddr, dst: IpAddr, reply: bool, seq: u16) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ping4(s, d, reply, seq),
        (IpAddr::V6(s), IpAddr::V6(d)) => ping6(s, d, reply, seq),
        _ => panic!("one family"),
    }
}

/// An ICMP(v6) destination-unreachable from `from` to `to` quoting `quoted` (an IP packet).
fn unreachable(from: IpAddr, to: IpAddr, code: u8, quoted: &[u8], id: u16) -> Vec<u8> {
    match (from, to) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut m = vec![3, code, 0, 0, 0, 0, 0, 0];
            if code == 4 {
                m[6..8].copy_from_slice(&576u16.to_be_bytes());
            }
            m.extend_from_slice(&quoted[..28]);
            let cs = csum(&m, 0);
            m[2..4].copy_from_slice(&cs.to_be_bytes());
            ipv4(s, d, 1, id, &m)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut m = vec![1, code % 7, 0, 0, 0, 0, 0, 0];
            m.extend_from_slice(&quoted[..48]);
            let cs = l4_csum(from, to, 58, &m);
            m[2..4].copy_from_slice(&cs.to_be_bytes());
            ipv6(s, d, 58, &m)
        }
        _ => panic!("one family"),
    }
}

/// A conversation the router forwards: from one client to another (or to the public address
/// a DNAT may map to a client), with the answers from the real server, from the address asked,
/// or to the router's own address (what an SNAT or MASQUERADE that kept the port gets back).
fn forwarded(f: &Fam, r: &mut Rng, k: u16, id: &mut dyn FnMut() -> u16) -> Vec<Vec<u8>> {
    let a = *r.pick(&f.clients);
    let public: IpAddr = if f.v6 {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xe, 0, 0, 0, 0, 9))
    } else {
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9))
    };
    let b = if r.one_in(4) {
        public
    } else {
        *r.pick(&f.clients)
    };
    let server = if b == public && r.one_in(2) {
        f.clients[1]
    } else {
        b
    };
    let back_to = if r.one_in(4) { f.host } else { a };
    let mut v = Vec::new();
    match r.below(3) {
        0 => {
            let (sp, dp) = (42000 + k, *r.pick(&[80u16, 8080, 22, 443]));
            let rdp = if server != b && dp == 8080 { 80 } else { dp };
            v.push(tcp_ip(a, b, sp, dp, 100, 0, SYN, id(), &[]));
            v.push(tcp_ip(
                server,
                back_to,
                rdp,
                sp,
                700,
                101,
                SYN | ACK,
                id(),
                &[],
            ));
            v.push(tcp_ip(a, b, sp, dp, 101, 701, ACK, id(), &[]));
            if r.one_in(2) {
                v.push(tcp_ip(
                    a,
                    b,
                    sp,
                    dp,
                    101,
                    701,
                    PSH | ACK,
                    id(),
                    b"GET / HTTP/1.0",
                ));
                v.push(tcp_ip(server, back_to, rdp, sp, 701, 115, ACK, id(), &[]));
            }
        }
        1 => {
            let (sp, dp) = (43000 + k, *r.pick(&[53u16, 5353, 123]));
            v.push(udp_ip(a, b, sp, dp, id(), b"query"));
            let rsp = if dp == 5353 && !r.one_in(3) { 53 } else { dp };
            v.push(udp_ip(server, back_to, rsp, sp, id(), b"answer"));
        }
        _ => {
            v.push(ping(a, b, false, k));
            v.push(ping(server, back_to, true, k));
        }
    }
    v
}

/// Interleaved conversations between the clients and the host (and, for a router, between
/// clients through it).
fn traffic(f: &Fam, r: &mut Rng, router: bool) -> Vec<Vec<u8>> {
    let h = f.host;
    let mut convs: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut id = 1u16;
    let mut next_id = || {
        id = id.wrapping_add(1);
        id
    };
    let tcp = |a: IpAddr, b: IpAddr, sp: u16, dp: u16, seq: u32, ack: u32, fl: u8, id: u16| {
        tcp_ip(a, b, sp, dp, seq, ack, fl, id, &[])
    };
    for k in 0..3 + r.below(5) {
        let c = *r.pick(&f.clients);
        let mut v = Vec::new();
        if router && r.one_in(2) {
            convs.push(forwarded(f, r, k as u16, &mut next_id));
            continue;
        }
        match r.below(8) {
            // A TCP connection from a client, cut short at a random point.
            0..=2 => {
                let (sp, dp) = (40000 + k as u16, *r.pick(&[22u16, 80, 443, 8080, 53]));
                let isn_c = 1000 + r.below(1000) as u32;
                let isn_h = 5000 + r.below(1000) as u32;
                let n = 1 + r.below(7);
                let body = vec![b'x'; r.below(300) as usize];
                let end = isn_c + 1 + body.len() as u32;
                let syn = if r.one_in(2) {
                    const OPTS: [&[u8]; 4] = [
                        &[2, 4, 0x05, 0xb4],
                        &[2, 4, 0x02, 0x18, 1, 3, 3, 7, 4, 2],
                        &[2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0],
                        &[1, 1, 1, 3, 3, 14],
                    ];
                    let opts = *r.pick(&OPTS);
                    let seg = tcp_seg_opts(c, h, sp, dp, isn_c, 0, SYN, opts, &[]);
                    ip_packet(c, h, 6, next_id(), &seg)
                } else {
                    tcp(c, h, sp, dp, isn_c, 0, SYN, next_id())
                };
                let steps: Vec<Vec<u8>> = vec![
                    syn,
                    tcp(h, c, dp, sp, isn_h, isn_c + 1, SYN | ACK, next_id()),
                    tcp(c, h, sp, dp, isn_c + 1, isn_h + 1, ACK, next_id()),
                    tcp_ip(
                        c,
                        h,
                        sp,
                        dp,
                        isn_c + 1,
                        isn_h + 1,
                        PSH | ACK,
                        next_id(),
                        &body,
                    ),
                    tcp(h, c, dp, sp, isn_h + 1, end, ACK, next_id()),
                    tcp(c, h, sp, dp, end, isn_h + 1, FIN | ACK, next_id()),
                    tcp(h, c, dp, sp, isn_h + 1, end + 1, RST, next_id()),
                ];
                v.extend(steps.into_iter().take(n as usize));
            }
            // An outbound connection from the host.
            3 => {
                let (sp, dp) = (50000 + k as u16, *r.pick(&[80u16, 443, 22]));
                v.push(tcp(h, c, sp, dp, 300, 0, SYN, next_id()));
                if r.one_in(4) {
                    v.push(tcp(c, h, dp, sp, 900, 301, RST | ACK, next_id()));
                } else {
                    v.push(tcp(c, h, dp, sp, 900, 301, SYN | ACK, next_id()));
                    v.push(tcp(h, c, sp, dp, 301, 901, ACK, next_id()));
                }
            }
            // A stray segment.
            4 => {
                let flags = *r.pick(&[ACK, RST, FIN | ACK, SYN | ACK, PSH | ACK]);
                v.push(tcp(c, h, 41000 + k as u16, 22, 77, 88, flags, next_id()));
            }
            // A UDP query and its answer (or the host asking).
            5 => {
                let q = b"query".as_slice();
                if r.one_in(3) {
                    v.push(udp_ip(h, c, 33000 + k as u16, 53, next_id(), q));
                    v.push(udp_ip(c, h, 53, 33000 + k as u16, next_id(), b"answer"));
                } else {
                    let dp = *r.pick(&[53u16, 123, 8080]);
                    v.push(udp_ip(c, h, 33000 + k as u16, dp, next_id(), q));
                    v.push(udp_ip(h, c, dp, 33000 + k as u16, next_id(), b"answer"));
                }
            }
            // An ICMP error about a datagram: the client's port unreachable for the host's
            // query (RELATED), or a router's about it, or one about nothing the host sent.
            6 if f.v6 || r.one_in(2) => {
                let sp = 34000 + k as u16;
                let q = udp_ip(h, c, sp, 53, next_id(), b"query");
                if !r.one_in(4) {
                    v.push(q.clone());
                }
                let from = if r.one_in(3) { f.router } else { c };
                let code = *r.pick(&[3u8, 1, 4, 13]);
                v.push(unreachable(from, h, code, &q, next_id()));
            }
            // A UDP datagram in two fragments, perhaps out of order.
            6 => {
                let (IpAddr::V4(c4), IpAddr::V4(h4)) = (c, h) else {
                    unreachable!("IPv4 only")
                };
                let seg = udp_seg(c, h, 35000 + k as u16, 53, &[b'q'; 40]);
                let fid = next_id();
                let a = ipv4_frag(c4, h4, 17, fid, 0x2000, &seg[..24]);
                let b = ipv4_frag(c4, h4, 17, fid, 3, &seg[24..]);
                if r.one_in(3) {
                    v.push(b);
                    v.push(a);
                } else {
                    v.push(a);
                    v.push(b);
                }
            }
            // Pings, both ways.
            _ => {
                let out = r.one_in(2);
                let (a, b) = if out { (h, c) } else { (c, h) };
                v.push(ping(a, b, false, k as u16));
                v.push(ping(b, a, true, k as u16));
            }
        }
        convs.push(v);
    }
    // Now and then another TOS/traffic class (DSCP, ECN bits) or TTL/hop limit.
    for v in convs.iter_mut() {
        for p in v.iter_mut() {
            if r.one_in(6) {
                let tos = *r.pick(&[0x10u8, 0x28, 0xb8, 0x03, 0x02]);
                let ttl = *r.pick(&[64u8, 1, 2, 128, 255, 63]);
                set_tos_ttl(p, tos, ttl);
            }
        }
    }
    // Interleave, each conversation in its own order.
    let mut out = Vec::new();
    let mut at = vec![0usize; convs.len()];
    while out.len() < convs.iter().map(Vec::len).sum() {
        let i = r.below(convs.len() as u64) as usize;
        if at[i] < convs[i].len() {
            out.push(convs[i][at[i]].clone());
            at[i] += 1;
        }
    }
    out
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `frames` decoded as a raw-IP capture whose gaps are random: mostly a few hundred
/// milliseconds, now and then past a second (limits refill, `recent --seconds` windows and the
/// shortened conntrack timeouts run out).
fn decoded_paced(
    r: &mut Rng,
    frames: &[Vec<u8>],
) -> Vec<Result<fwcheck::packet::Packet, fwcheck::packet::PacketProblem>> {
    let mut t = 1_000_000u64;
    let mut stamps = Vec::new();
    for _ in frames {
        t += if r.one_in(7) {
            1_100_000_000 + r.below(1_000_000_000)
        } else {
            r.below(400_000_000)
        };
        stamps.push(t);
    }
    decoded(frames)
        .into_iter()
        .zip(stamps)
        .map(|(p, ts)| {
            p.map(|mut p| {
                p.ts = fwcheck::packet::Timestamp(ts);
                p
            })
        })
        .collect()
}

/// Conntrack timeouts of a second or two, so a paced case sees entries expire.
fn short_timeouts() -> Timeouts {
    let mut t = Timeouts::default();
    for (name, secs) in [
        ("udp", 1),
        ("udp_stream", 2),
        ("icmp", 1),
        ("generic", 1),
        ("tcp_syn_sent", 2),
        ("tcp_syn_recv", 2),
        ("tcp_time_wait", 1),
        ("tcp_close", 1),
        ("tcp_fin_wait", 2),
        ("tcp_close_wait", 2),
        ("tcp_last_ack", 2),
        ("frag4", 1),
        ("frag6", 1),
    ] {
        t.set(name, secs).expect("timeout name");
    }
    t
}

fn agree_with_the_kernel(f: &Fam, router: bool, default_seed: u64) {
    agree(f, router, false, default_seed)
}

/// `paced`: the frames keep random gaps (real time) and conntrack timeouts are short.
fn agree(f: &Fam, router: bool, paced: bool, default_seed: u64) {
    let default_cases = if paced { 4 } else { 24 };
    let cases = env_u64("FWCHECK_RANDOM_CASES", default_cases);
    let first = env_u64("FWCHECK_RANDOM_SEED", default_seed);
    let (mut frames_total, mut uncertain_total) = (0, 0);
    for seed in first..first + cases {
        let mut r = Rng::new(seed);
        let rules = ruleset(f, &mut r, router);
        let frames = traffic(f, &mut r, router);
        if std::env::var_os("FWCHECK_RANDOM_SHOW").is_some() {
            eprintln!("seed {seed}:\n{rules}");
        }
        if let Some(dir) = std::env::var_os("FWCHECK_RANDOM_DUMP") {
            // The case as files, for `fwcheck debug kernel-diff RULES CAPTURE`.
            let dir = std::path::Path::new(&dir);
            let ext = if f.v6 { "v6" } else { "v4" };
            std::fs::write(dir.join(format!("seed-{seed}.rules.{ext}")), &rules).unwrap();
            let pkts: Vec<_> = decoded(&frames).into_iter().flatten().collect();
            let out = std::fs::File::create(dir.join(format!("seed-{seed}.pcap"))).unwrap();
            fwcheck::packet::write_pcap(out, &pkts).unwrap();
        }
        let name = if f.v6 {
            "random.rules.v6"
        } else {
            "random.rules.v4"
        };
        let opts = ParseOptions {
            family: if f.v6 { Family::V6 } else { Family::V4 },
            ..ParseOptions::default()
        };
        let loaded = load_str(name, &rules, opts);
        assert!(
            !loaded.has_errors(),
            "seed {seed}: fwcheck refuses a ruleset iptables loads?\n{rules}\n{:?}",
            loaded.diagnostics
        );
        let mut sim = SimOptions {
            env: SimEnv {
                hosts: vec![f.host],
                ..SimEnv::default()
            },
            router,
            ..SimOptions::default()
        };
        let (packets, pacing) = if paced {
            sim.ct_timeouts = short_timeouts();
            let p = decoded_paced(&mut r, &frames);
            (p, Pacing::Realtime { speed: 1.0 })
        } else {
            (decoded(&frames), Pacing::AsFastAsPossible)
        };
        let cmp = compare(&loaded, packets, sim, pacing)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{rules}"));
        let all: Vec<String> = cmp.frames.iter().map(|f| f.line()).collect();
        assert_eq!(
            cmp.mismatches,
            0,
            "seed {seed} (FWCHECK_RANDOM_SEED={seed} FWCHECK_RANDOM_CASES=1):\n{rules}\n{}\n{}",
            cmp.render(true),
            all.join("\n")
        );
        if std::env::var_os("FWCHECK_RANDOM_SHOW").is_some() {
            for f in cmp.frames.iter().filter(|f| !f.fwcheck_certain) {
                eprintln!("  uncertain: {}", f.line());
            }
        }
        frames_total += cmp.compared;
        uncertain_total += cmp.frames.iter().filter(|f| !f.fwcheck_certain).count();
    }
    eprintln!(
        "{cases} random {} rulesets{}{}: {frames_total} frames compared, {uncertain_total} \
         uncertain, 0 certain and different",
        if f.v6 { "ip6tables" } else { "iptables" },
        if router { " on a router" } else { "" },
        if paced { " in real time" } else { "" }
    );
}

fn random_rulesets_agree_with_the_kernel() {
    agree_with_the_kernel(&V4, false, 1);
}

fn random_ip6tables_rulesets_agree_with_the_kernel() {
    agree_with_the_kernel(&V6, false, 1);
}

/// A router: FORWARD, NAT (IPv4), conversations between clients through the host.
fn random_router_rulesets_agree_with_the_kernel() {
    agree_with_the_kernel(&V4, true, 1);
}

fn random_ip6tables_router_rulesets_agree_with_the_kernel() {
    agree_with_the_kernel(&V6, true, 1);
}

/// In real time, with random gaps and short conntrack timeouts: limits refill, `recent
/// --seconds` windows close, connections expire (4 seeds in CI: each lasts seconds).
fn random_rulesets_in_real_time_agree_with_the_kernel() {
    agree(&V4, false, true, 1);
}

fn random_ip6tables_router_rulesets_in_real_time_agree_with_the_kernel() {
    agree(&V6, true, true, 1);
}

kernel_tests!(
    random_rulesets_agree_with_the_kernel,
    random_ip6tables_rulesets_agree_with_the_kernel,
    random_router_rulesets_agree_with_the_kernel,
    random_ip6tables_router_rulesets_agree_with_the_kernel,
    random_rulesets_in_real_time_agree_with_the_kernel,
    random_ip6tables_router_rulesets_in_real_time_agree_with_the_kernel
);
