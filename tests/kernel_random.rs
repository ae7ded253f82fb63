//! Random rulesets and random traffic, fwcheck beside the kernel: no certain verdict may
//! differ from the kernel's. The fixtures pin what their authors thought of; this explores the
//! combinations nobody wrote down — chains with jumps, gotos and RETURN, conntrack and state,
//! ports, multiport, flags, addresses and ranges, lengths, marks and connmarks set on the way,
//! `recent`, `connlimit`, `statistic --mode nth`, the host's ipsets (and `-j SET` filling
//! one with timeouts), the connection's tuples and NAT (IPv4 and IPv6 routers), REJECT in its
//! variants — over interleaved TCP handshakes, data and teardowns in both directions,
//! connections that live on (SACK, timestamps, retransmissions, keepalives, zero windows, bulk
//! runs long enough for the walk memo to engage), strays, UDP queries and answers, and pings.
//! Nothing depends on time (the oracle replays as fast as it can). Three more tests add
//! odd matches and odd traffic (TCP flag sets, `-f`, other protocols, strays, ICMP errors of
//! every kind, SCTP, GRE, ESP, extension headers, bad checksums) and datagrams in fragments —
//! tiny, reordered, overlapping, duplicated, incomplete, forwarded — with half the rulesets
//! loading no conntrack, so that fragments meet the rules one by one (a kernel hunt with them
//! found the cases of `tests/kernel_hunt_regressions.rs`).
//!
//! Each case is a seed: `FWCHECK_RANDOM_CASES=N` runs N cases (default 24, a few seconds),
//! `FWCHECK_RANDOM_SEED=S` starts at seed S, `FWCHECK_RANDOM_SHOW=1` prints each ruleset,
//! `FWCHECK_RANDOM_DUMP=DIR` writes each case's ruleset and capture there, and the sets as
//! `ipsets.v4`/`ipsets.v6` (for `fwcheck debug kernel-diff --ipset DIR/ipsets.v4 [--router]
//! --host 192.0.2.10 RULES CAPTURE`); a failure prints the ruleset, the frames and the seed
//! that reproduces it.
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
    dst_range: &'static str,
    u32s: [&'static str; 7],
    /// Odd matches (TCP flag sets, `-f`, other protocols, addrtype, conntrack status and
    /// direction, multiport, length, pkttype) and odd traffic (strays, odd flags, out of
    /// window, reopened connections, ICMP errors quoting errors, SCTP, GRE, ESP, UDP-Lite,
    /// IPv4 options, extension headers, bad checksums and lengths, TTL 0 and 1).
    odd: bool,
    /// Datagrams in fragments: tiny, reordered, overlapping, duplicated, incomplete, a lone
    /// tail.
    frags: bool,
    /// Half the rulesets without anything that loads conntrack (fragments then meet the rules
    /// one by one).
    noct: bool,
    /// On a router, half the fragmented datagrams go through it.
    fwd: bool,
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
    dst_range: "192.0.2.1-192.0.2.10",
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
    odd: false,
    frags: false,
    noct: false,
    fwd: false,
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
    dst_range: "2001:db8:a::b-2001:db8:c::7",
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
    odd: false,
    frags: false,
    noct: false,
    fwd: false,
};
/// The host's ipsets (`ipset restore` in the kernel's namespace, `--ipset` for fwcheck): a
/// net set with a `nomatch` hole, an ip,port set, a port bitmap, and one the rules fill
/// (`-j SET`), whose entries time out.
const SETS4: &str = "create rs_net hash:net family inet hashsize 64 maxelem 1024\n\
add rs_net 198.51.100.0/24\n\
add rs_net 198.51.100.8/31 nomatch\n\
create rs_svc hash:ip,port family inet hashsize 64 maxelem 1024\n\
add rs_svc 192.0.2.10,tcp:22\n\
add rs_svc 192.0.2.10,udp:53\n\
add rs_svc 198.51.100.7,tcp:80\n\
create rs_ports bitmap:port range 0-1024\n\
add rs_ports 22\n\
add rs_ports 53\n\
create rs_seen hash:ip family inet hashsize 64 maxelem 1024 timeout 2\n";
const SETS6: &str = "create rs_net hash:net family inet6 hashsize 64 maxelem 1024\n\
add rs_net 2001:db8:c::/48\n\
add rs_net 2001:db8:c::8/127 nomatch\n\
create rs_svc hash:ip,port family inet6 hashsize 64 maxelem 1024\n\
add rs_svc 2001:db8:a::a,tcp:22\n\
add rs_svc 2001:db8:a::a,udp:53\n\
add rs_svc 2001:db8:c::7,tcp:80\n\
create rs_ports bitmap:port range 0-1024\n\
add rs_ports 22\n\
add rs_ports 53\n\
create rs_seen hash:ip family inet6 hashsize 64 maxelem 1024 timeout 2\n";
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
                "-m multiport {}--{} {},{}",
                not(r),
                r.pick(&["ports", "ports", "dports", "sports"]),
                r.pick(&["22", "53", "80", "1:1023", "20:22"]),
                r.pick(&["443", "8080", "40000:40005", "33000:34010", "46000:46010"])
            )),
            3 if proto == "tcp" => m.push(
                r.pick(&[
                    "--syn",
                    "! --syn",
                    "--tcp-flags SYN,ACK SYN,ACK",
                    "--tcp-flags ALL ACK",
                    "--tcp-flags FIN,RST NONE",
                    "! --tcp-flags SYN,ACK SYN",
                    "! --tcp-flags ALL ACK",
                    "! --tcp-flags FIN,RST,PSH NONE",
                    "--tcp-flags SYN,ACK,FIN,RST ACK",
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
        // (Only `--ttl-eq`/`--hl-eq` can be negated.)
        let op = *r.pick(&["gt", "lt", "eq"]);
        let neg = if op == "eq" { not(r) } else { "" };
        m.push(format!(
            "-m {m_} {neg}--{o}-{op} {}",
            r.pick(&["63", "63", "64", "1", "254"])
        ));
    }
    if r.one_in(8) {
        m.push(format!(
            "-m mark {}--mark {}",
            not(r),
            r.pick(&["0x1", "0x1", "0x1/0x3", "0x4/0x4", "0x0/0x5"])
        ));
    }
    if r.one_in(10) {
        m.push(format!("-m connmark {}--mark 0x2/0x2", not(r)));
    }
    if r.one_in(12) {
        m.push(format!("-m iprange {}--src-range {}", not(r), f.src_range));
    }
    if r.one_in(14) {
        m.push(format!("-m iprange {}--dst-range {}", not(r), f.dst_range));
    }
    if r.one_in(12) {
        // `--limit-iface-in` only where there is an input device, `-out` an output one.
        let limit = match (chain, r.below(3)) {
            ("INPUT" | "FORWARD", 0) => " --limit-iface-in",
            ("OUTPUT" | "FORWARD", 1) => " --limit-iface-out",
            _ => "",
        };
        m.push(format!(
            "-m addrtype {}--{}-type {}{limit}",
            not(r),
            r.pick(&["dst", "dst", "src"]),
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
    if r.one_in(10) {
        // The connection's tuples and status: what NAT rewrote, which way the packet goes.
        let (orig, repl, public) = if f.v6 {
            ("2001:db8:c::/48", "2001:db8:a::a", "2001:db8:e::9")
        } else {
            ("198.51.100.0/24", "192.0.2.10", "203.0.113.9")
        };
        let w = match r.below(10) {
            0 => format!("--ctorigsrc {orig}"),
            1 => format!("--ctorigdst {public}"),
            2 => format!("--ctreplsrc {orig}"),
            3 => format!("--ctrepldst {repl}"),
            4 => format!("--ctorigdstport {}", r.pick(&["80", "8080", "53:5353"])),
            5 => format!("--ctreplsrcport {}", r.pick(&["80", "53", "22"])),
            6 => format!(
                "--ctrepldstport {}",
                r.pick(&["20000:20010", "40000:50000"])
            ),
            7 => format!(
                "--ctstatus {}",
                r.pick(&["NONE", "SEEN_REPLY", "ASSURED,SEEN_REPLY", "EXPECTED"])
            ),
            8 => format!("--ctdir {}", r.pick(&["ORIGINAL", "REPLY"])),
            _ => format!(
                "--ctstate {}",
                r.pick(&["DNAT", "SNAT", "SNAT,DNAT", "NEW,DNAT"])
            ),
        };
        // (`--ctdir` cannot be negated.)
        let neg = if w.starts_with("--ctdir") { "" } else { not(r) };
        m.push(format!("-m conntrack {neg}{w}"));
    }
    if r.one_in(12) {
        let neg = not(r);
        m.push(
            r.pick(&[
                format!("-m set {neg}--match-set rs_net src"),
                "-m set --match-set rs_net src --return-nomatch".to_string(),
                format!("-m set {neg}--match-set rs_net dst"),
                format!("-m set {neg}--match-set rs_svc dst,dst"),
                "-m set --match-set rs_svc src,src".to_string(),
                format!("-m set {neg}--match-set rs_ports dst"),
                format!("-m set {neg}--match-set rs_seen src"),
                "-m set --match-set rs_seen dst".to_string(),
            ])
            .clone(),
        );
    }
    if r.one_in(16) {
        m.push(format!(
            "-m connbytes --connbytes {} --connbytes-dir {} --connbytes-mode {}",
            r.pick(&["2:", "0:1", "3:5", "400:"]),
            r.pick(&["original", "reply", "both"]),
            r.pick(&["packets", "bytes", "avgpkt"])
        ));
    }
    if f.odd && r.one_in(5) {
        let w = weird_match(f, r, proto);
        // (Not a second flag test, nor a second protocol.)
        let flags_twice = w.contains("--tcp-flags")
            && m.iter()
                .any(|x| x.contains("syn") || x.contains("tcp-flags"));
        let proto_twice = w.starts_with("-p") && !proto.is_empty();
        if !flags_twice && !proto_twice {
            m.push(w);
        }
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
        r.pick(&[
            "-j MARK --set-xmark 0x5/0x7",
            "-j MARK --and-mark 0x2",
            "-j MARK --or-mark 0x4",
            "-j MARK --xor-mark 0x1",
            "-j CONNMARK --save-mark --nfmask 0x1 --ctmask 0x3",
            "-j CONNMARK --restore-mark --nfmask 0x6 --ctmask 0x2",
            "-j CONNMARK --restore-mark --mask 0x1",
            "-j CONNMARK --set-xmark 0x4/0x6",
            "-j CONNMARK --or-mark 0x1",
        ])
        .to_string(),
        r.pick(&[
            "-j SET --add-set rs_seen src",
            "-j SET --add-set rs_seen src --exist --timeout 1",
            "-j SET --del-set rs_seen src",
            "-j SET --add-set rs_seen dst",
        ])
        .to_string(),
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

/// A nat table for a router: DNAT, NETMAP and REDIRECT in, SNAT, NETMAP and MASQUERADE out,
/// DNAT of the host's own connections; `203.0.113.9` (`2001:db8:e::9`) is a public address
/// DNATed to a client.
fn nat_table(f: &Fam, r: &mut Rng) -> String {
    let mut s = String::from(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         :POSTROUTING ACCEPT [0:0]\n",
    );
    const V6: [(&str, &str); 13] = [
        (
            "PREROUTING",
            "-p tcp --dport 8080 -j DNAT --to-destination [2001:db8:c::8]:80",
        ),
        (
            "PREROUTING",
            "-d 2001:db8:e::9/128 -j DNAT --to-destination 2001:db8:c::8",
        ),
        (
            "PREROUTING",
            "-d 2001:db8:e::9/128 -j NETMAP --to 2001:db8:c::8/128",
        ),
        (
            "PREROUTING",
            "-p tcp --dport 2222 -j REDIRECT --to-ports 22",
        ),
        (
            "PREROUTING",
            "-p udp --dport 5353 -j DNAT --to-destination [2001:db8:c::7]:53",
        ),
        ("PREROUTING", "-s 2001:db8:e::/48 -j RETURN"),
        (
            "POSTROUTING",
            "-s 2001:db8:c::/48 ! -d 2001:db8:c::/48 -j MASQUERADE",
        ),
        (
            "POSTROUTING",
            "-o eth0 -p udp -j SNAT --to-source 2001:db8:a::a",
        ),
        (
            "POSTROUTING",
            "-d 2001:db8:c::8/128 -j SNAT --to-source 2001:db8:a::a",
        ),
        (
            "POSTROUTING",
            "-s 2001:db8:c::/112 -d 2001:db8:e::/48 -j NETMAP --to 2001:db8:a::/112",
        ),
        (
            "OUTPUT",
            "-p tcp --dport 8080 -j DNAT --to-destination [2001:db8:c::8]:80",
        ),
        (
            "OUTPUT",
            "-d 2001:db8:e::9/128 -j DNAT --to-destination 2001:db8:c::7",
        ),
        (
            "INPUT",
            "-p udp -s 2001:db8:e::/48 -j SNAT --to-source 2001:db8:a::99",
        ),
    ];
    for _ in 0..1 + r.below(4) {
        if f.v6 {
            let (chain, rule) = *r.pick(&V6);
            s.push_str(&format!("-A {chain} {rule}\n"));
            continue;
        }
        let (chain, rule) = *r.pick(&[
            (
                "PREROUTING",
                "-d 203.0.113.9/32 -j NETMAP --to 198.51.100.8/32",
            ),
            (
                "PREROUTING",
                "-p tcp --dport 8080 -j DNAT --to-destination 198.51.100.8:80-81",
            ),
            (
                "POSTROUTING",
                "-s 198.51.100.4/30 -d 203.0.113.0/24 -j NETMAP --to 192.0.2.4/30",
            ),
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
    if router && !r.one_in(4) {
        s += &nat_table(f, r);
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
    if f.noct && r.one_in(2) {
        let mut in_nat = false;
        s = s
            .lines()
            .filter(|l| {
                if *l == "*nat" {
                    in_nat = true;
                }
                if in_nat {
                    if *l == "COMMIT" {
                        in_nat = false;
                    }
                    return false;
                }
                ![
                    "state",
                    "conntrack",
                    "connmark",
                    "CONNMARK",
                    "connlimit",
                    "connbytes",
                    "helper",
                    "CT --zone",
                    "*nat",
                    "DNAT",
                    "SNAT",
                    "MASQUERADE",
                    "REDIRECT",
                    ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT",
                ]
                .iter()
                .any(|w| l.contains(w))
            })
            .map(|l| format!("{l}\n"))
            .collect();
    }
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

/// A TCP segment from `a` to `b` with options, a receive window and a payload, in IP.
#[allow(clippy::too_many_arguments)]
fn tcp_win(
    (a, b): (IpAddr, IpAddr),
    (sp, dp): (u16, u16),
    seq: u32,
    ack: u32,
    fl: u8,
    opts: &[u8],
    win: u16,
    pl: &[u8],
    id: u16,
) -> Vec<u8> {
    let mut t = tcp_seg_opts(a, b, sp, dp, seq, ack, fl, opts, pl);
    t[14..16].copy_from_slice(&win.to_be_bytes());
    if fl & 0x20 != 0 {
        t[18..20].copy_from_slice(&1u16.to_be_bytes()); // the urgent pointer
    }
    t[16..18].copy_from_slice(&[0, 0]);
    let c = l4_csum(a, b, 6, &t);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    ip_packet(a, b, 6, id, &t)
}

/// A TCP connection that lives on, from `a` to `b`: window scaling, SACK and timestamps
/// offered in the handshake, data both ways (now and then a bulk run, long enough for the walk
/// memo to engage), retransmissions, duplicate ACKs with SACK blocks (within what was sent or
/// past it), keepalives, a zero window and its probe, an old ACK, a segment past the window,
/// and an end (FIN both ways, a RST, or none).
fn long_tcp(
    a: IpAddr,
    b: IpAddr,
    short: bool,
    r: &mut Rng,
    k: u16,
    id: &mut dyn FnMut() -> u16,
) -> Vec<Vec<u8>> {
    let ab = (a, b);
    let ba = (b, a);
    let (sp, dp) = (46000 + k, *r.pick(&[22u16, 80, 443]));
    let (p_ab, p_ba) = ((sp, dp), (dp, sp));
    let isn_a = 10_000 + r.below(1 << 30) as u32;
    let isn_b = 3_000_000_000u32.wrapping_add(r.below(1 << 30) as u32);
    let ts = |t: u32, e: u32| -> Vec<u8> {
        let mut o = vec![1, 1, 8, 10];
        o.extend_from_slice(&t.to_be_bytes());
        o.extend_from_slice(&e.to_be_bytes());
        o
    };
    // What each side offers: MSS, SACK permitted, timestamps, window scale.
    let offer = |r: &mut Rng, t: u32, e: u32| -> Vec<u8> {
        let mut o = vec![2, 4, 0x05, 0xb4];
        if r.one_in(2) {
            o.extend_from_slice(&[1, 1, 4, 2]);
        }
        if r.one_in(2) {
            o.extend_from_slice(&ts(t, e));
        }
        if r.one_in(2) {
            o.extend_from_slice(&[1, 3, 3, *r.pick(&[0u8, 2, 7, 14])]);
        }
        o
    };
    let mut v = Vec::new();
    let o = offer(r, 100, 0);
    v.push(tcp_win(ab, p_ab, isn_a, 0, SYN, &o, 64240, &[], id()));
    let o = offer(r, 900, 100);
    v.push(tcp_win(
        ba,
        p_ba,
        isn_b,
        isn_a + 1,
        SYN | ACK,
        &o,
        65160,
        &[],
        id(),
    ));
    let (mut sa, mut sb) = (isn_a + 1, isn_b.wrapping_add(1));
    v.push(tcp_win(ab, p_ab, sa, sb, ACK, &[], 502, &[], id()));
    // (Segments of at most 540 bytes: an ICMP "fragmentation needed" elsewhere in the case
    // may have lowered the path MTU to 576, and the kernel refuses to send a DF packet past it
    // (`ip_fragment`: EMSGSIZE), where a real host would never have sent it.)
    let bulk = !short && r.one_in(4);
    let steps = if bulk {
        90 + r.below(60)
    } else if short {
        1 + r.below(5)
    } else {
        3 + r.below(12)
    };
    let mut last_a: Option<(u32, Vec<u8>)> = None;
    for i in 0..steps {
        let what = if bulk && i % 8 != 7 {
            i % 2
        } else {
            r.below(11)
        };
        match what {
            0 => {
                let body = vec![b'a'; 1 + r.below(if bulk { 500 } else { 300 }) as usize];
                v.push(tcp_win(ab, p_ab, sa, sb, PSH | ACK, &[], 502, &body, id()));
                last_a = Some((sa, body.clone()));
                sa = sa.wrapping_add(body.len() as u32);
                v.push(tcp_win(ba, p_ba, sb, sa, ACK, &[], 509, &[], id()));
            }
            1 => {
                let body = vec![b'b'; 1 + r.below(if bulk { 500 } else { 300 }) as usize];
                v.push(tcp_win(ba, p_ba, sb, sa, PSH | ACK, &[], 509, &body, id()));
                sb = sb.wrapping_add(body.len() as u32);
                if !bulk || r.one_in(2) {
                    v.push(tcp_win(ab, p_ab, sa, sb, ACK, &[], 502, &[], id()));
                }
            }
            // A retransmission of a's last data.
            2 => {
                if let Some((seq, body)) = &last_a {
                    v.push(tcp_win(ab, p_ab, *seq, sb, PSH | ACK, &[], 502, body, id()));
                }
            }
            // A duplicate ACK with a SACK block: within what a sent, or past it.
            3 => {
                let (l, rr) = *r.pick(&[(0u32, 0u32), (1, 10), (100, 200), (0, 70000)]);
                let mut o = vec![1, 1, 5, 10];
                let base = sa.wrapping_sub(if r.one_in(2) { 0 } else { 50 });
                o.extend_from_slice(&base.wrapping_add(l).to_be_bytes());
                o.extend_from_slice(&base.wrapping_add(rr).to_be_bytes());
                v.push(tcp_win(ba, p_ba, sb, sa, ACK, &o, 509, &[], id()));
            }
            // A keepalive: one byte before what a sent next, empty or holding a byte.
            4 => {
                let pl: &[u8] = if r.one_in(2) { b"" } else { b"k" };
                v.push(tcp_win(
                    ab,
                    p_ab,
                    sa.wrapping_sub(1),
                    sb,
                    ACK,
                    &[],
                    502,
                    pl,
                    id(),
                ));
                if r.one_in(2) {
                    v.push(tcp_win(ba, p_ba, sb, sa, ACK, &[], 509, &[], id()));
                }
            }
            // b's window closes; a probes it with a byte.
            5 => {
                v.push(tcp_win(ba, p_ba, sb, sa, ACK, &[], 0, &[], id()));
                v.push(tcp_win(ab, p_ab, sa, sb, ACK, &[], 502, b"p", id()));
                v.push(tcp_win(ba, p_ba, sb, sa, ACK, &[], 0, &[], id()));
            }
            // A pure ACK carrying timestamps.
            6 => v.push(tcp_win(
                ab,
                p_ab,
                sa,
                sb,
                ACK,
                &ts(200 + i as u32, 950),
                502,
                &[],
                id(),
            )),
            // An old ACK: behind what b has already acknowledged.
            7 => {
                let back = *r.pick(&[1u32, 1000, 70000]);
                v.push(tcp_win(
                    ba,
                    p_ba,
                    sb,
                    sa.wrapping_sub(back),
                    ACK,
                    &[],
                    509,
                    &[],
                    id(),
                ));
            }
            // A segment far past the window, or acknowledging data never sent.
            8 => {
                if r.one_in(2) {
                    let ahead = *r.pick(&[70_000u32, 1 << 24, 1 << 31]);
                    v.push(tcp_win(
                        ab,
                        p_ab,
                        sa.wrapping_add(ahead),
                        sb,
                        ACK,
                        &[],
                        502,
                        b"far",
                        id(),
                    ));
                } else {
                    let ahead = *r.pick(&[1u32, 5000, 1 << 20]);
                    v.push(tcp_win(
                        ab,
                        p_ab,
                        sa,
                        sb.wrapping_add(ahead),
                        ACK,
                        &[],
                        502,
                        &[],
                        id(),
                    ));
                }
            }
            // Data overlapping what b sent last.
            9 => {
                let back = *r.pick(&[1u32, 10]);
                v.push(tcp_win(
                    ba,
                    p_ba,
                    sb.wrapping_sub(back),
                    sa,
                    PSH | ACK,
                    &[],
                    509,
                    b"overlap!!!",
                    id(),
                ));
                sb = sb.wrapping_sub(back).wrapping_add(10);
            }
            // URG data.
            _ => {
                v.push(tcp_win(
                    ab,
                    p_ab,
                    sa,
                    sb,
                    PSH | ACK | 0x20,
                    &[],
                    502,
                    b"!",
                    id(),
                ));
                sa = sa.wrapping_add(1);
            }
        }
    }
    match r.below(4) {
        0 => {
            v.push(tcp_win(ab, p_ab, sa, sb, FIN | ACK, &[], 502, &[], id()));
            v.push(tcp_win(
                ba,
                p_ba,
                sb,
                sa.wrapping_add(1),
                FIN | ACK,
                &[],
                509,
                &[],
                id(),
            ));
            v.push(tcp_win(
                ab,
                p_ab,
                sa.wrapping_add(1),
                sb.wrapping_add(1),
                ACK,
                &[],
                502,
                &[],
                id(),
            ));
        }
        1 => v.push(tcp_win(ba, p_ba, sb, 0, RST, &[], 0, &[], id())),
        2 => {
            v.push(tcp_win(ab, p_ab, sa, sb, FIN | ACK, &[], 502, &[], id()));
            v.push(tcp_win(
                ba,
                p_ba,
                sb,
                sa.wrapping_add(1),
                ACK,
                &[],
                509,
                &[],
                id(),
            ));
            v.push(tcp_win(
                ba,
                p_ba,
                sb,
                sa.wrapping_add(1),
                PSH | ACK,
                &[],
                509,
                b"late",
                id(),
            ));
        }
        _ => {}
    }
    v
}

/// Interleaved conversations between the clients and the host (and, for a router, between
/// clients through it); `paced` (real time, a few hundred milliseconds between frames): no
/// bulk runs.
fn traffic(f: &Fam, r: &mut Rng, router: bool, paced: bool) -> Vec<Vec<u8>> {
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
            if r.one_in(6) {
                let b = *r.pick(&f.clients);
                let b = if b == c { f.router } else { b };
                convs.push(long_tcp(c, b, paced, r, k as u16, &mut next_id));
            } else {
                convs.push(forwarded(f, r, k as u16, &mut next_id));
            }
            continue;
        }
        if r.one_in(8) {
            let (a, b) = if r.one_in(3) { (h, c) } else { (c, h) };
            convs.push(long_tcp(a, b, paced, r, k as u16, &mut next_id));
            continue;
        }
        if f.frags && r.one_in(2) {
            convs.push(frags(f, r, k as u16, &mut next_id));
            continue;
        }
        if f.odd && r.one_in(2) {
            convs.push(weird(f, r, k as u16, &mut next_id));
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
        let frames = traffic(f, &mut r, router, paced);
        if std::env::var_os("FWCHECK_RANDOM_SHOW").is_some() {
            eprintln!("seed {seed}:\n{rules}");
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
        let sets = if f.v6 { SETS6 } else { SETS4 };
        let mut sim = SimOptions {
            env: SimEnv {
                hosts: vec![f.host],
                ipsets: Some(std::sync::Arc::new(
                    fwcheck::ext::ipset::IpSets::parse(sets).expect("sets"),
                )),
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
        if let Some(dir) = std::env::var_os("FWCHECK_RANDOM_DUMP") {
            // The case as files, for `fwcheck debug kernel-diff RULES CAPTURE` (a paced case's
            // capture keeps its gaps: `--realtime`).
            let dir = std::path::Path::new(&dir);
            let ext = if f.v6 { "v6" } else { "v4" };
            std::fs::write(dir.join(format!("seed-{seed}.rules.{ext}")), &rules).unwrap();
            std::fs::write(dir.join(format!("ipsets.{ext}")), sets).unwrap();
            let pkts: Vec<_> = packets.iter().flatten().cloned().collect();
            let out = std::fs::File::create(dir.join(format!("seed-{seed}.pcap"))).unwrap();
            fwcheck::packet::write_pcap(out, &pkts).unwrap();
            if paced {
                eprintln!("seed {seed}: with --realtime and --ct-timeout as short_timeouts()");
            }
        }
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
    if f.odd {
        eprintln!("  (with odd matches and traffic, fragments, and rulesets without conntrack)");
    }
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

/// Odd matches and traffic, fragments, and half the rulesets without conntrack (found seven
/// kinds of certain disagreement in fragment handling: `tests/kernel_hunt_regressions.rs`).
const V4_ODD: Fam = Fam {
    odd: true,
    frags: true,
    noct: true,
    fwd: true,
    ..V4
};
const V6_ODD: Fam = Fam {
    odd: true,
    frags: true,
    noct: true,
    fwd: true,
    ..V6
};

fn random_rulesets_with_fragments_agree_with_the_kernel() {
    agree_with_the_kernel(&V4_ODD, false, 1);
}

fn random_ip6tables_rulesets_with_fragments_agree_with_the_kernel() {
    agree_with_the_kernel(&V6_ODD, false, 1);
}

fn random_ip6tables_router_rulesets_with_fragments_agree_with_the_kernel() {
    agree_with_the_kernel(&V6_ODD, true, 1);
}

kernel_tests!(
    random_rulesets_agree_with_the_kernel,
    random_ip6tables_rulesets_agree_with_the_kernel,
    random_router_rulesets_agree_with_the_kernel,
    random_ip6tables_router_rulesets_agree_with_the_kernel,
    random_rulesets_in_real_time_agree_with_the_kernel,
    random_ip6tables_router_rulesets_in_real_time_agree_with_the_kernel,
    random_rulesets_with_fragments_agree_with_the_kernel,
    random_ip6tables_rulesets_with_fragments_agree_with_the_kernel,
    random_ip6tables_router_rulesets_with_fragments_agree_with_the_kernel
);

// ------------------------------------------------ odd matches, odd traffic, fragment plans

fn weird_match(f: &Fam, r: &mut Rng, proto: &str) -> String {
    match r.below(10) {
        0 | 1 if proto == "tcp" => r
            .pick(&[
                "--tcp-flags ALL NONE",
                "--tcp-flags SYN,FIN SYN,FIN",
                "--tcp-flags SYN,RST SYN,RST",
                "--tcp-flags ALL FIN,PSH,URG",
                "--tcp-flags FIN,ACK FIN",
                "--tcp-flags ACK,URG URG",
                "! --tcp-flags SYN,ACK,FIN,RST SYN",
                "--tcp-flags ALL ALL",
            ])
            .to_string(),
        2 if !f.v6 => r.pick(&["-f", "! -f"]).to_string(),
        3 if proto.is_empty() => r
            .pick(&[
                "-p gre",
                "-p sctp",
                "-p esp",
                "-p 253",
                "-p udplite",
                "! -p tcp",
                "! -p udp",
            ])
            .to_string(),
        4 => format!(
            "-m addrtype {}--src-type {}",
            not(r),
            if f.v6 {
                r.pick(&["LOCAL", "UNICAST", "ANYCAST", "MULTICAST", "UNSPEC"])
            } else {
                r.pick(&["LOCAL", "UNICAST", "BROADCAST", "MULTICAST", "UNSPEC"])
            }
        ),
        5 => format!(
            "-m conntrack --ctstate {} {}",
            states(r),
            r.pick(&[
                "--ctstatus ASSURED",
                "--ctstatus CONFIRMED",
                "--ctdir REPLY",
                "--ctorigsrc 198.51.100.0/24",
                "--ctexpire 0:100",
                "",
            ])
        )
        .replace(
            "--ctorigsrc 198.51.100.0/24",
            if f.v6 {
                "--ctorigsrc 2001:db8:c::/48"
            } else {
                "--ctorigsrc 198.51.100.0/24"
            },
        ),
        6 if proto == "udp" || proto == "tcp" => r
            .pick(&[
                "-m multiport --sports 53,1024:65535",
                "-m multiport ! --dports 22,80,443",
                "-m multiport --dports 0:52",
            ])
            .to_string(),
        7 => format!(
            "-m length {}--length {}",
            not(r),
            r.pick(&["0:27", "28:28", "20:40", "41:60", "1280:65535"])
        ),
        8 => r
            .pick(&[
                "-m pkttype --pkt-type broadcast",
                "-m pkttype ! --pkt-type unicast",
                "-m state --state INVALID,UNTRACKED -m conntrack --ctstate UNTRACKED",
            ])
            .to_string()
            .replace(
                "-m state --state INVALID,UNTRACKED -m conntrack --ctstate UNTRACKED",
                "-m conntrack ! --ctstate INVALID",
            ),
        _ => "-m conntrack --ctstate INVALID".into(),
    }
}

fn icmp_msg(src: IpAddr, dst: IpAddr, typ: u8, code: u8, rest: &[u8], id: u16) -> Vec<u8> {
    let mut m = vec![typ, code, 0, 0];
    m.extend_from_slice(rest);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let c = csum(&m, 0);
            m[2..4].copy_from_slice(&c.to_be_bytes());
            ipv4(s, d, 1, id, &m)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let c = l4_csum(src, dst, 58, &m);
            m[2..4].copy_from_slice(&c.to_be_bytes());
            ipv6(s, d, 58, &m)
        }
        _ => panic!("one family"),
    }
}

/// An ICMP(v6) error of `typ`/`code` quoting `quoted`.
fn icmp_err(src: IpAddr, dst: IpAddr, typ: u8, code: u8, quoted: &[u8], id: u16) -> Vec<u8> {
    let n = if src.is_ipv4() {
        28.min(quoted.len())
    } else {
        48.min(quoted.len())
    };
    let mut rest = vec![0, 0, 0, 0];
    if !src.is_ipv4() && typ == 2 {
        rest = 1280u32.to_be_bytes().to_vec();
    }
    rest.extend_from_slice(&quoted[..n]);
    icmp_msg(src, dst, typ, code, &rest, id)
}

fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn sctp_init(sport: u16, dport: u16, vtag: u32, chunk_type: u8, good: bool) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    s.extend_from_slice(&vtag.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]);
    // INIT chunk: type, flags, length 20, init tag, a_rwnd, os, mis, initial tsn
    s.extend_from_slice(&[chunk_type, 0, 0, 20]);
    s.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    s.extend_from_slice(&65535u32.to_be_bytes());
    s.extend_from_slice(&[0, 10, 0, 10]);
    s.extend_from_slice(&1u32.to_be_bytes());
    let c = crc32c(&s);
    let c = if good { c } else { c ^ 1 };
    s[8..12].copy_from_slice(&c.to_le_bytes());
    s
}

/// IPv4 with a 4-byte options field, or IPv6 with an extension header before `proto`.
fn with_options(src: IpAddr, dst: IpAddr, proto: u8, id: u16, payload: &[u8], kind: u8) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let opt: [u8; 4] = match kind % 3 {
                0 => [1, 1, 1, 0],    // NOPs, EOL
                1 => [7, 3, 4, 0],    // record route, no room, EOL
                _ => [0x94, 4, 0, 0], // router alert
            };
            let tot = (24 + payload.len()) as u16;
            let mut p = vec![0x46, 0];
            p.extend_from_slice(&tot.to_be_bytes());
            p.extend_from_slice(&id.to_be_bytes());
            p.extend_from_slice(&0x4000u16.to_be_bytes());
            p.extend_from_slice(&[64, proto, 0, 0]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&opt);
            let c = csum(&p, 0);
            p[10..12].copy_from_slice(&c.to_be_bytes());
            p.extend_from_slice(payload);
            p
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let (next, hdr): (u8, Vec<u8>) = match kind % 3 {
                0 => (0, vec![proto, 0, 1, 4, 0, 0, 0, 0]), // hop-by-hop, PadN
                1 => (60, vec![proto, 0, 1, 4, 0, 0, 0, 0]), // destination options
                _ => (44, vec![proto, 0, 0, 0, 0, 0, 0x12, 0x34]), // atomic fragment
            };
            let mut pl = hdr;
            pl.extend_from_slice(payload);
            ipv6(s, d, next, &pl)
        }
        _ => panic!("one family"),
    }
}

fn weird(f: &Fam, r: &mut Rng, k: u16, id: &mut dyn FnMut() -> u16) -> Vec<Vec<u8>> {
    let h = f.host;
    let c = *r.pick(&f.clients);
    let mut v = Vec::new();
    let sp = 44000 + k;
    let dp = *r.pick(&[22u16, 80, 443]);
    let isn_c = 2000 + r.below(1000) as u32;
    let isn_h = 7000 + r.below(1000) as u32;
    let hs = |v: &mut Vec<Vec<u8>>, id: &mut dyn FnMut() -> u16| {
        v.push(tcp_ip(c, h, sp, dp, isn_c, 0, SYN, id(), &[]));
        v.push(tcp_ip(h, c, dp, sp, isn_h, isn_c + 1, SYN | ACK, id(), &[]));
        v.push(tcp_ip(c, h, sp, dp, isn_c + 1, isn_h + 1, ACK, id(), &[]));
    };
    const ODD: [u8; 12] = [
        SYN | FIN,
        SYN | RST,
        FIN,
        0,
        FIN | PSH | 0x20,
        SYN | ACK | FIN,
        0x20 | ACK,
        0x3f,
        0xc2,
        RST | ACK | FIN,
        SYN | 0x20,
        PSH,
    ];
    match r.below(13) {
        0 => {
            let fl = *r.pick(&ODD);
            v.push(tcp_ip(
                c,
                h,
                sp,
                dp,
                77 + r.below(9) as u32,
                88,
                fl,
                id(),
                &[],
            ));
            if r.one_in(2) {
                v.push(tcp_ip(h, c, dp, sp, 0, 78, RST | ACK, id(), &[]));
            }
        }
        1 => {
            hs(&mut v, id);
            let fl = *r.pick(&ODD);
            v.push(tcp_ip(
                c,
                h,
                sp,
                dp,
                isn_c + 1,
                isn_h + 1,
                fl,
                id(),
                b"data",
            ));
            v.push(tcp_ip(h, c, dp, sp, isn_h + 1, isn_c + 5, ACK, id(), &[]));
            v.push(tcp_ip(
                c,
                h,
                sp,
                dp,
                isn_c + 5,
                isn_h + 1,
                ACK | PSH,
                id(),
                b"more",
            ));
        }
        2 => {
            hs(&mut v, id);
            let off = *r.pick(&[0u32, 70000, 1 << 31, 0u32.wrapping_sub(100), 1]);
            let ackd = *r.pick(&[1u32, 50000, 0u32.wrapping_sub(70000), 0]);
            v.push(tcp_ip(
                c,
                h,
                sp,
                dp,
                isn_c + 1 + off,
                isn_h + ackd,
                ACK | PSH,
                id(),
                b"xyz",
            ));
            v.push(tcp_ip(h, c, dp, sp, isn_h + 1, isn_c + 4, ACK, id(), &[]));
            if r.one_in(2) {
                let roff = *r.pick(&[0u32, 3, 100000, 1]);
                v.push(tcp_ip(c, h, sp, dp, isn_c + 1 + roff, 0, RST, id(), &[]));
                v.push(tcp_ip(
                    c,
                    h,
                    sp,
                    dp,
                    isn_c + 4,
                    isn_h + 1,
                    ACK,
                    id(),
                    b"after",
                ));
            }
        }
        3 => {
            v.push(tcp_ip(c, h, sp, dp, isn_c, 0, SYN, id(), &[]));
            let isn2 = isn_c + *r.pick(&[0u32, 5000, 1 << 30]);
            v.push(tcp_ip(c, h, sp, dp, isn2, 0, SYN, id(), &[]));
            let a = if r.one_in(2) { isn2 + 1 } else { isn_c + 1 };
            v.push(tcp_ip(h, c, dp, sp, isn_h, a, SYN | ACK, id(), &[]));
            v.push(tcp_ip(c, h, sp, dp, a, isn_h + 1, ACK, id(), &[]));
            if r.one_in(2) {
                v.push(tcp_ip(c, h, sp, dp, isn_c, 0, SYN, id(), &[]));
            }
        }
        4 => {
            hs(&mut v, id);
            match r.below(4) {
                0 => v.push(tcp_ip(c, h, sp, dp, isn_c + 1, 0, RST, id(), &[])),
                1 => v.push(tcp_ip(
                    h,
                    c,
                    dp,
                    sp,
                    isn_h + 1,
                    isn_c + 1,
                    RST | ACK,
                    id(),
                    &[],
                )),
                2 => {
                    v.push(tcp_ip(
                        c,
                        h,
                        sp,
                        dp,
                        isn_c + 1,
                        isn_h + 1,
                        FIN | ACK,
                        id(),
                        &[],
                    ));
                    v.push(tcp_ip(
                        h,
                        c,
                        dp,
                        sp,
                        isn_h + 1,
                        isn_c + 2,
                        FIN | ACK,
                        id(),
                        &[],
                    ));
                    v.push(tcp_ip(c, h, sp, dp, isn_c + 2, isn_h + 2, ACK, id(), &[]));
                }
                _ => {}
            }
            let isn3 = isn_c + *r.pick(&[100000u32, 10, 0u32.wrapping_sub(10)]);
            v.push(tcp_ip(c, h, sp, dp, isn3, 0, SYN, id(), &[]));
            v.push(tcp_ip(
                h,
                c,
                dp,
                sp,
                isn_h + 9999,
                isn3 + 1,
                SYN | ACK,
                id(),
                &[],
            ));
            v.push(tcp_ip(
                c,
                h,
                sp,
                dp,
                isn3 + 1,
                isn_h + 10000,
                ACK,
                id(),
                &[],
            ));
        }
        5 => {
            let hp = 51000 + k;
            v.push(tcp_ip(h, c, hp, dp, isn_h, 0, SYN, id(), &[]));
            v.push(tcp_ip(c, h, dp, hp, isn_c, 0, SYN, id(), &[]));
            v.push(tcp_ip(h, c, hp, dp, isn_h, isn_c + 1, SYN | ACK, id(), &[]));
            v.push(tcp_ip(c, h, dp, hp, isn_c, isn_h + 1, SYN | ACK, id(), &[]));
            v.push(tcp_ip(h, c, hp, dp, isn_h + 1, isn_c + 1, ACK, id(), &[]));
        }
        6 => {
            // ICMP errors quoting various things.
            let from = if r.one_in(2) { f.router } else { c };
            let (t, code) = if f.v6 {
                *r.pick(&[(1u8, 4u8), (3, 0), (2, 0), (4, 1), (1, 1)])
            } else {
                *r.pick(&[
                    (3u8, 3u8),
                    (11, 0),
                    (3, 4),
                    (12, 0),
                    (4, 0),
                    (5, 1),
                    (3, 13),
                ])
            };
            match r.below(6) {
                0 => {
                    v.push(tcp_ip(c, h, sp, dp, isn_c, 0, SYN, id(), &[]));
                    let sa = tcp_ip(h, c, dp, sp, isn_h, isn_c + 1, SYN | ACK, id(), &[]);
                    v.push(sa.clone());
                    v.push(icmp_err(from, h, t, code, &sa, id()));
                }
                1 => {
                    // quoting the peer's own packet (wrong direction)
                    let syn = tcp_ip(c, h, sp, dp, isn_c, 0, SYN, id(), &[]);
                    v.push(syn.clone());
                    v.push(icmp_err(from, h, t, code, &syn, id()));
                }
                2 => {
                    let p = ping(h, c, false, k);
                    v.push(p.clone());
                    v.push(icmp_err(from, h, t, code, &p, id()));
                }
                3 => {
                    let q = udp_ip(h, c, sp, 53, id(), b"query");
                    v.push(q.clone());
                    let e1 = icmp_err(c, h, t, code, &q, id());
                    v.push(icmp_err(from, h, t, code, &e1, id()));
                }
                4 => {
                    let q = udp_ip(h, c, sp, 53, id(), b"query");
                    v.push(q.clone());
                    // quoted with an altered source port (no connection)
                    let mut q2 = q.clone();
                    let o = if f.v6 { 40 } else { 20 };
                    q2[o] ^= 0x10;
                    v.push(icmp_err(from, h, t, code, &q2, id()));
                    v.push(icmp_err(from, h, t, code, &q, id()));
                }
                _ => {
                    // an error sent by the host about a client's packet
                    let q = udp_ip(c, h, sp, 9999, id(), b"probe");
                    v.push(q.clone());
                    v.push(icmp_err(
                        h,
                        c,
                        if f.v6 { 1 } else { 3 },
                        if f.v6 { 4 } else { 3 },
                        &q,
                        id(),
                    ));
                }
            }
        }
        7 => {
            let rest = [
                0x12u8,
                0x34,
                0,
                (k & 0xff) as u8,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ];
            let (qt, qc, at) = if f.v6 {
                *r.pick(&[
                    (128u8, 1u8, 129u8),
                    (139, 0, 140),
                    (200, 0, 201),
                    (130, 0, 131),
                    (128, 0, 129),
                    (129, 0, 128),
                ])
            } else {
                *r.pick(&[
                    (13u8, 0u8, 14u8),
                    (15, 0, 16),
                    (17, 0, 18),
                    (8, 1, 0),
                    (42, 0, 43),
                    (9, 0, 10),
                    (0, 0, 8),
                    (14, 0, 13),
                ])
            };
            let (a, b) = if r.one_in(3) { (h, c) } else { (c, h) };
            v.push(icmp_msg(
                a,
                b,
                qt,
                qc,
                &rest[..4 + 12 * (qt == 13) as usize],
                id(),
            ));
            v.push(icmp_msg(
                b,
                a,
                at,
                0,
                &rest[..4 + 12 * (at == 14) as usize],
                id(),
            ));
            if r.one_in(2) {
                v.push(icmp_msg(
                    a,
                    b,
                    qt,
                    qc,
                    &rest[..4 + 12 * (qt == 13) as usize],
                    id(),
                ));
            }
        }
        8 => {
            // UDP oddities
            let mut u = udp_seg(c, h, sp, 53, b"query");
            match r.below(4) {
                0 => u[6..8].copy_from_slice(&[0, 0]),
                1 => u[7] ^= 0x55,
                2 => u[4..6].copy_from_slice(&20u16.to_be_bytes()),
                _ => u[4..6].copy_from_slice(&10u16.to_be_bytes()),
            }
            v.push(ip_packet(c, h, 17, id(), &u));
            v.push(udp_ip(h, c, 53, sp, id(), b"answer"));
            v.push(udp_ip(c, h, sp, 53, id(), b"query2"));
        }
        9 => {
            match r.below(5) {
                0 => {
                    let good = !r.one_in(3);
                    v.push(ip_packet(c, h, 132, id(), &sctp_init(sp, 80, 0, 1, good)));
                    v.push(ip_packet(
                        h,
                        c,
                        132,
                        id(),
                        &sctp_init(80, sp, 0x1234_5678, 2, true),
                    ));
                }
                1 => {
                    let g = [0u8, 0, 0x08, 0x00, 0x45, 0, 0, 20];
                    v.push(ip_packet(c, h, 47, id(), &g));
                    v.push(ip_packet(h, c, 47, id(), &g));
                }
                2 => {
                    let e = [0u8, 0, 1, 0, 0, 0, 0, 1, 1, 2, 3, 4];
                    v.push(ip_packet(c, h, 50, id(), &e));
                    v.push(ip_packet(h, c, 50, id(), &e));
                }
                3 => {
                    v.push(ip_packet(c, h, 253, id(), b"abcd"));
                    v.push(ip_packet(h, c, 253, id(), b"efgh"));
                }
                _ => {
                    // UDP-Lite, coverage 8
                    let mut u = udp_seg(c, h, sp, 53, b"lite");
                    u[4..6].copy_from_slice(&8u16.to_be_bytes());
                    u[6..8].copy_from_slice(&[0, 0]);
                    v.push(ip_packet(c, h, 136, id(), &u));
                    v.push(ip_packet(h, c, 136, id(), &u));
                }
            }
        }
        10 => {
            let kind = r.below(3) as u8;
            let u = udp_seg(c, h, sp, 53, b"query");
            v.push(with_options(c, h, 17, id(), &u, kind));
            v.push(udp_ip(h, c, 53, sp, id(), b"answer"));
            let t = tcp_seg(c, h, sp + 1, dp, isn_c, 0, SYN, &[]);
            v.push(with_options(c, h, 6, id(), &t, kind + 1));
            v.push(tcp_ip(
                h,
                c,
                dp,
                sp + 1,
                isn_h,
                isn_c + 1,
                SYN | ACK,
                id(),
                &[],
            ));
        }
        11 => {
            // TCP header oddities: data offset < 5 or past the end, or a truncated header
            let mut t = tcp_seg(c, h, sp, dp, isn_c, 0, SYN, &[]);
            match r.below(3) {
                0 => t[12] = 4 << 4,
                1 => t[12] = 15 << 4,
                _ => t.truncate(12),
            }
            v.push(ip_packet(c, h, 6, id(), &t));
            v.push(tcp_ip(h, c, dp, sp, isn_h, isn_c + 1, SYN | ACK, id(), &[]));
        }
        _ => {
            // TTL / hop limit 0 or 1, to the host; and a SYN with data
            let mut p = tcp_ip(c, h, sp, dp, isn_c, 0, SYN, id(), b"syndata");
            set_tos_ttl(&mut p, 0, *r.pick(&[0u8, 1, 255]));
            v.push(p);
            v.push(tcp_ip(h, c, dp, sp, isn_h, isn_c + 8, SYN | ACK, id(), &[]));
            v.push(tcp_ip(c, h, sp, dp, isn_c + 8, isn_h + 1, ACK, id(), &[]));
        }
    }
    v
}

/// One fragment of `seg` (the whole transport segment of protocol `proto`) covering
/// `seg[off..end]`, `more` = MF.
#[allow(clippy::too_many_arguments)]
fn frag_of(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    fid: u16,
    seg: &[u8],
    off: usize,
    end: usize,
    more: bool,
) -> Vec<u8> {
    let end = end.min(seg.len());
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let fl = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
            ipv4_frag(s, d, proto, fid, fl, &seg[off..end])
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let fo = ((off / 8) as u16) << 3 | more as u16;
            let mut pl = vec![proto, 0];
            pl.extend_from_slice(&fo.to_be_bytes());
            pl.extend_from_slice(&(0x10000u32 + fid as u32).to_be_bytes());
            pl.extend_from_slice(&seg[off..end]);
            ipv6(s, d, 44, &pl)
        }
        _ => panic!("one family"),
    }
}

fn frags(f: &Fam, r: &mut Rng, k: u16, id: &mut dyn FnMut() -> u16) -> Vec<Vec<u8>> {
    let c = *r.pick(&f.clients);
    let h = if f.fwd && r.one_in(2) {
        *r.pick(
            &f.clients
                .iter()
                .copied()
                .filter(|x| *x != c)
                .collect::<Vec<_>>(),
        )
    } else {
        f.host
    };
    let mut v = Vec::new();
    let sp = 45000 + k;
    let (proto, seg): (u8, Vec<u8>) = match r.below(3) {
        0 => (
            17,
            udp_seg(c, h, sp, *r.pick(&[53u16, 8080, 22]), &[b'q'; 56]),
        ),
        1 => (
            6,
            tcp_seg(c, h, sp, *r.pick(&[22u16, 80]), 3000, 0, SYN, &[b's'; 40]),
        ),
        _ => {
            if f.v6 {
                let IpAddr::V6(c6) = c else { unreachable!() };
                let IpAddr::V6(h6) = h else { unreachable!() };
                (58, icmp6_echo(c6, h6, false, 0x77, k, &[b'p'; 56]))
            } else {
                (1, icmp_echo(false, 0x77, k, &[b'p'; 56]))
            }
        }
    };
    let fid = id();
    let n = seg.len(); // 64 (udp), 60 (tcp), 64 (icmp)
    let mut pick = r.below(8);
    if f.v6 && proto == 6 && (pick == 0 || pick == 2) {
        pick = 3; // known: truncated first fragment
    }
    let plan: Vec<(usize, usize, bool)> = match pick {
        0 => vec![(0, 8, true), (8, n, false)],
        1 => vec![(8, n, false), (0, 8, true)],
        2 => vec![(0, 16, true), (16, 32, true), (32, n, false)],
        3 => vec![(0, 24, true), (16, n, false)], // overlap
        4 => vec![(0, 24, true), (0, 24, true), (24, n, false)], // duplicate
        5 => vec![(0, 24, true)],                 // never completed
        6 => vec![(24, n, false)],                // a lone tail
        _ => vec![(0, 32, true), (32, n, false), (0, 32, true), (32, n, false)], // twice
    };
    for (a, b, m) in plan {
        v.push(frag_of(c, h, proto, fid, &seg, a, b, m));
    }
    if r.one_in(2) {
        // the answer, unfragmented
        match proto {
            17 => {
                let dport = u16::from_be_bytes([seg[2], seg[3]]);
                v.push(udp_ip(h, c, dport, sp, id(), b"answer"));
            }
            6 => {
                let dport = u16::from_be_bytes([seg[2], seg[3]]);
                v.push(tcp_ip(h, c, dport, sp, 9000, 3041, SYN | ACK, id(), &[]));
            }
            _ => v.push(ping(h, c, true, k)),
        }
    }
    v
}
