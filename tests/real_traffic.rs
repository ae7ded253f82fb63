//! The real-traffic lab: fwcheck's per-rule hit counters on a capture taken by tcpdump on a real
//! server equal the kernel's own counters for that traffic.
//!
//! Two private network namespaces, a server and a client, are joined by a veth pair. The server
//! loads a stateful ruleset ([`RULES`]: INPUT policy DROP, loopback, INVALID drop,
//! RELATED/ESTABLISHED, new HTTP, a UDP echo port, ping, a TCP and a UDP REJECT; a stateful
//! OUTPUT) and runs real servers (`python3 -m http.server`, a python UDP echo server); the client
//! runs real clients (urllib GETs, UDP echo, connections to rejected and dropped ports, `ping`,
//! and two raw packets conntrack must call INVALID). tcpdump captures on the server's veth, then
//! fwcheck replays the capture through the same ruleset (`--host SERVER --iface VETH`), and every
//! rule's and policy's packet and byte counters of the filter table must equal
//! `iptables-save -c` in the server namespace.
//!
//! It runs with the veth's checksum offload on (the default) and off (`ethtool -K tx off rx off`):
//!
//! * offload ON: the server's stack leaves TCP/UDP checksums for the "NIC" (`CHECKSUM_PARTIAL`),
//!   so tcpdump on the server shows the pseudo-header sum in the checksum field of every TCP/UDP
//!   packet, in both directions (a veth passes the partial skb on untouched). The kernel never
//!   verifies those; fwcheck's default `--checksums auto` must not either. The capture must
//!   contain such frames, and `--checksums verify` must then give different counters — the
//!   proof that this test can fail (it caught fwcheck calling those packets INVALID).
//! * offload OFF: every checksum is computed in software before the packet is captured; the
//!   capture must contain no partial checksum.
//!
//! GSO. TCP on Linux always builds GSO super-packets (up to 64 KiB, one skb), whatever the
//! device offers: `ethtool -K … gso off tso off sg off` does not stop it. netfilter sees (and
//! counts) the super-packet, once; where it is cut into MSS-sized segments decides what tcpdump
//! sees:
//!
//! * offload ON: the veth has TSO, nothing cuts the skb, tcpdump on the sender and the receiver
//!   shows one frame longer than the MTU, netfilter counts one packet: counters agree. The test
//!   asserts such frames exist.
//! * offload OFF (no TSO): the server's OUTPUT hook counts the super-packet, and only then
//!   `validate_xmit_skb` segments it in software, before the capture tap: tcpdump shows N
//!   frames where OUTPUT counted 1 (measured: a 27 KB HTTP response counted as 8 packets in
//!   OUTPUT, captured as 24 frames). No capture can show what the kernel counted there, so the
//!   OFF run sets `gso_max_segs 1` on both veth ends: TCP then builds one skb per segment, and
//!   the kernel's counters and the capture speak of the same packets again. The test asserts that
//!   no captured frame is longer than the MTU in that run. (Inbound, the client's segments
//!   cross the veth already cut, and the veth does no GRO by default, so INPUT counts what
//!   tcpdump shows in both runs.)
//!
//! Needs root, iptables, iproute2 (elsewhere reported ignored by the harness), and python3,
//! tcpdump and ethtool (`.ci/run` installs them; missing, the test fails with the reason).

#[macro_use]
mod kernel_harness;
mod lab_common;

use lab_common::*;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The server's ruleset (filter table; `iptables-restore` zeroes every counter).
///
/// The REJECTs' replies (a RST, an ICMP port unreachable) go out through OUTPUT once each, and
/// the kernel calls them RELATED there (`nf_ct_attach` gives them the rejected packet's
/// conntrack): OUTPUT #2 counts them, and the capture shows them as outbound frames. fwcheck
/// simulates that reply when REJECT fires and recognises the captured copy as the same packet
/// (`SimOptions::recognise_answers`), so it is counted once; this lab found the double count
/// (OUTPUT policy 2 where the kernel has 0) before that existed.
const RULES: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT
-A INPUT -p udp -m udp --dport 7 -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset
-A INPUT -p udp -m udp --dport 9 -j REJECT --reject-with icmp-port-unreachable
-A OUTPUT -o lo -j ACCEPT
-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A OUTPUT -p tcp -m tcp --sport 80 -j DROP
COMMIT
";

const SERVER: &str = "10.203.77.1";
const CLIENT: &str = "10.203.77.2";
const MTU: usize = 1500;
const INDEX: &str = "<html><body>fwcheck lab</body></html>\n";

/// The UDP echo server (port 7); prints `ready` once bound.
const ECHO_SERVER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 7))
print("ready", flush=True)
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d, a)
"#;

/// Every client, in order; prints what each one saw as one JSON object.
const CLIENT_SCRIPT: &str = r#"
import json, socket, struct, sys, urllib.error, urllib.request
S, C = sys.argv[1], sys.argv[2]
out = {}

http = []
for path in ["/", "/index.html", "/big.bin", "/big.bin", "/missing"]:
    try:
        with urllib.request.urlopen("http://%s%s" % (S, path), timeout=5) as r:
            http.append([path, r.status, len(r.read())])
    except urllib.error.HTTPError as e:
        http.append([path, e.code, 0])
out["http"] = http

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(3)
echo = []
for i, n in enumerate([16, 512, 1400]):
    msg = bytes([65 + i]) * n
    u.sendto(msg, (S, 7))
    d, _ = u.recvfrom(65535)
    echo.append(d == msg)
out["udp_echo"] = echo

def outcome(f):
    try:
        f()
        return "answered"
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"

def udp(port, wait):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(wait)
    s.connect((S, port))
    s.send(b"anyone there?")
    return lambda: s.recv(100)

out["udp_rejected"] = outcome(udp(9, 3))
out["udp_dropped"] = outcome(udp(5000, 0.3))
out["tcp_rejected"] = outcome(lambda: socket.create_connection((S, 8080), timeout=3).close())
out["tcp_dropped"] = outcome(lambda: socket.create_connection((S, 22), timeout=0.3).close())

# Two raw packets conntrack must call INVALID: a UDP datagram to the echo port whose checksum
# is wrong (neither correct nor the partial pseudo-header sum), and a RST outside any connection.
def fold(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return s

def pseudo(proto, n):
    return socket.inet_aton(C) + socket.inet_aton(S) + struct.pack("!BBH", 0, proto, n)

payload = b"bad checksum"
n = 8 + len(payload)
good = (~fold(pseudo(17, n) + struct.pack("!HHHH", 40007, 7, n, 0) + payload)) & 0xFFFF or 0xFFFF
partial = fold(pseudo(17, n))
bad = good ^ 0x5A5A
if bad in (partial, 0):
    bad ^= 0x0101
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
raw.sendto(struct.pack("!HHHH", 40007, 7, n, bad) + payload, (S, 0))

rst = struct.pack("!HHIIBBHHH", 40080, 80, 123456789, 0, 5 << 4, 0x04, 0, 0, 0)
ck = (~fold(pseudo(6, len(rst)) + rst)) & 0xFFFF
rst = rst[:16] + struct.pack("!H", ck) + rst[18:]
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
raw.sendto(rst, (S, 0))
out["raw"] = {"udp_bad_checksum": bad, "udp_good_checksum": good, "udp_partial": partial}

print(json.dumps(out), flush=True)
"#;

// ------------------------------------------------------------------------------------------
// Tools and processes

/// python3, tcpdump and ethtool are part of this test's environment: never pass without them.
fn require_tools() {
    lab_common::require_tools(
        "the real-traffic lab",
        &[
            ("python3", "--version"),
            ("tcpdump", "--version"),
            ("ethtool", "--version"),
        ],
    );
}

// ------------------------------------------------------------------------------------------
// The lab

/// Two namespaces and their processes; Drop stops every process and deletes the namespaces,
/// panic or not.
struct Lab {
    srv_ns: String,
    cli_ns: String,
    srv_if: String,
    cli_if: String,
    children: Vec<Child>,
    dir: tempfile::TempDir,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let id = std::process::id();
        let lab = Lab {
            srv_ns: format!("fwrt-srv-{tag}-{id}"),
            cli_ns: format!("fwrt-cli-{tag}-{id}"),
            // At most 15 bytes: "rts" + tag letter + pid.
            srv_if: format!("rts{tag}{id}"),
            cli_if: format!("rtc{tag}{id}"),
            children: Vec::new(),
            dir: tempfile::tempdir().expect("tempdir"),
        };
        for ns in [&lab.srv_ns, &lab.cli_ns] {
            ip(&["netns", "add", ns]);
            // No IPv6 (router solicitations, MLD, DAD): an IPv4 lab with an IPv4 ruleset.
            for key in ["all", "default"] {
                let _ = Command::new("ip")
                    .args(["netns", "exec", ns, "sysctl", "-qw"])
                    .arg(format!("net.ipv6.conf.{key}.disable_ipv6=1"))
                    .stderr(Stdio::null())
                    .status();
            }
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        ip(&[
            "link",
            "add",
            &lab.srv_if,
            "netns",
            &lab.srv_ns,
            "type",
            "veth",
            "peer",
            "name",
            &lab.cli_if,
            "netns",
            &lab.cli_ns,
        ]);
        for (ns, ifc, addr) in [
            (&lab.srv_ns, &lab.srv_if, SERVER),
            (&lab.cli_ns, &lab.cli_if, CLIENT),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", ifc]);
            ip(&["-n", ns, "link", "set", ifc, "up"]);
        }
        lab
    }

    fn ends(&self) -> [(&str, &str); 2] {
        [(&self.srv_ns, &self.srv_if), (&self.cli_ns, &self.cli_if)]
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn spawn(&mut self, mut cmd: Command) -> usize {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        self.children.push(child);
        self.children.len() - 1
    }

    fn iptables_save(&self) -> String {
        let out = run(&mut in_ns(
            &self.srv_ns,
            10,
            &["iptables-save", "-c", "-t", "filter"],
        ));
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            stop(c, libc::SIGTERM);
        }
        for ns in [&self.srv_ns, &self.cli_ns] {
            delete_ns(ns);
        }
    }
}

/// fwcheck on the capture, as the server (`--host SERVER --iface VETH`).
fn fwcheck(lab: &Lab, rules: &Path, pcap: &Path, checksums: &str) -> FwRun {
    fwcheck_json(&[
        rules.as_os_str(),
        "--pcap".as_ref(),
        pcap.as_os_str(),
        "--host".as_ref(),
        SERVER.as_ref(),
        "--iface".as_ref(),
        lab.srv_if.as_ref(),
        "--checksums".as_ref(),
        checksums.as_ref(),
    ])
}

// ------------------------------------------------------------------------------------------
// The capture, read independently of fwcheck

#[derive(Debug, Default)]
struct CaptureStats {
    ipv4: usize,
    /// TCP/UDP frames whose checksum field holds the pseudo-header sum (offloaded) and does
    /// not verify.
    partial: usize,
    /// Their frame numbers (1-based), for a failure's message.
    partial_frames: Vec<usize>,
    /// TCP/UDP frames whose checksum verifies.
    correct: usize,
    /// TCP/UDP frames with any other checksum.
    bad: usize,
    /// IPv4 packets longer than the MTU (GSO/TSO super-packets).
    over_mtu: usize,
    max_len: usize,
}

fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

fn sum16(b: &[u8]) -> u32 {
    b.chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum()
}

fn read_capture(path: &Path) -> CaptureStats {
    let data = std::fs::read(path).expect("read pcap");
    assert!(data.len() >= 24, "pcap too short");
    let magic = u32::from_le_bytes(data[0..4].try_into().unwrap());
    let le = match magic {
        0xa1b2c3d4 | 0xa1b23c4d => true,
        0xd4c3b2a1 | 0x4d3cb2a1 => false,
        m => panic!("not a pcap file (magic {m:#x}): tcpdump -w writes pcap"),
    };
    let u32_at = |b: &[u8], at: usize| {
        let w: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    assert_eq!(u32_at(&data, 20), 1, "tcpdump on a veth captures Ethernet");
    let mut st = CaptureStats::default();
    let mut at = 24;
    let mut number = 0;
    while at + 16 <= data.len() {
        number += 1;
        let caplen = u32_at(&data, at + 8) as usize;
        let frame = &data[at + 16..at + 16 + caplen];
        at += 16 + caplen;
        if frame.len() < 34 || frame[12..14] != [0x08, 0x00] {
            continue;
        }
        let ip = &frame[14..];
        st.ipv4 += 1;
        let ihl = (ip[0] & 0xf) as usize * 4;
        let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
        assert!(total <= ip.len(), "truncated frame in the capture");
        st.max_len = st.max_len.max(total);
        if total > MTU {
            st.over_mtu += 1;
        }
        let proto = ip[9];
        let field = match proto {
            6 => 16,
            17 => 6,
            _ => continue,
        };
        let l4 = &ip[ihl..total];
        let pseudo = sum16(&ip[12..20]) + proto as u32 + l4.len() as u32;
        let value = u16::from_be_bytes([l4[field], l4[field + 1]]);
        // A checksum that verifies is correct, whatever produced it: one partial value in
        // 65,535 also verifies (2·pseudo + rest ≡ 0), and the kernel and fwcheck accept it.
        if fold(pseudo + sum16(l4)) == 0xffff {
            st.correct += 1;
        } else if value == fold(pseudo) {
            st.partial += 1;
            st.partial_frames.push(number);
        } else {
            st.bad += 1;
        }
    }
    st
}

// ------------------------------------------------------------------------------------------
// One run of the lab

struct Measured {
    kernel: Vec<(Key, Counter)>,
    auto: FwRun,
    verify: FwRun,
    capture: CaptureStats,
    client: Value,
    pinged: bool,
}

fn lab_run(offload: bool) -> Measured {
    require_tools();
    let t0 = Instant::now();
    let mut lab = Lab::new(if offload { "n" } else { "f" });

    if !offload {
        for (ns, ifc) in lab.ends() {
            run(&mut in_ns(
                ns,
                10,
                &["ethtool", "-K", ifc, "tx", "off", "rx", "off"],
            ));
            // See the module comment: without TSO, OUTPUT counts a GSO super-packet once and
            // tcpdump shows its segments; one segment per skb keeps both on the same packets.
            ip(&["-n", ns, "link", "set", ifc, "gso_max_segs", "1"]);
        }
    }
    for (ns, ifc) in lab.ends() {
        let k = run(&mut in_ns(ns, 10, &["ethtool", "-k", ifc]));
        let k = String::from_utf8_lossy(&k.stdout).into_owned();
        let want = if offload { "on" } else { "off" };
        assert!(
            k.lines()
                .any(|l| l.starts_with("tx-checksumming: ") && l.contains(want)),
            "{ifc}: expected tx-checksumming {want}:\n{k}"
        );
    }

    // What the HTTP server serves: a small page and a body spanning many segments.
    let www = lab.path("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("index.html"), INDEX).unwrap();
    let big: Vec<u8> = (0..60_000u32)
        .map(|i| b"fwcheck-lab "[(i % 12) as usize])
        .collect();
    std::fs::write(www.join("big.bin"), &big).unwrap();

    // The ruleset: loading it zeroes every counter.
    let rules = lab.path("rules.v4");
    std::fs::write(&rules, RULES).unwrap();
    let mut restore = in_ns(&lab.srv_ns, 10, &["iptables-restore"]);
    restore
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = restore.spawn().expect("iptables-restore");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(RULES.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "iptables-restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // tcpdump on the server's veth; "listening on" means the capture is active.
    let pcap = lab.path("server.pcap");
    let pcap_s = pcap.to_str().unwrap().to_string();
    let mut cmd = in_ns(
        &lab.srv_ns,
        50,
        &[
            "tcpdump",
            "-U",
            "--immediate-mode",
            // Immediate mode gives each packet a ring slot of the snapshot length (256 KiB):
            // a 64 MiB buffer holds a burst of 256 frames (an unsegmented HTTP response).
            "-B",
            "65536",
            "-n",
            "-Z",
            "root",
            "-i",
            &lab.srv_if,
            "-w",
            &pcap_s,
        ],
    );
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let td = lab.spawn(cmd);
    let (td_rx, td_err) = collect(lab.children[td].stderr.take().unwrap());
    wait_for(&td_rx, "tcpdump", "listening on", 10);

    // The servers.
    let www_s = www.to_str().unwrap().to_string();
    let mut cmd = in_ns(
        &lab.srv_ns,
        40,
        &[
            "python3",
            "-u",
            "-m",
            "http.server",
            "80",
            "--bind",
            SERVER,
            "--directory",
            &www_s,
        ],
    );
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let http = lab.spawn(cmd);
    let (http_rx, _) = collect(lab.children[http].stdout.take().unwrap());
    let mut cmd = in_ns(
        &lab.srv_ns,
        40,
        &["python3", "-u", "-c", ECHO_SERVER, SERVER],
    );
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let echo = lab.spawn(cmd);
    let (echo_rx, _) = collect(lab.children[echo].stdout.take().unwrap());
    wait_for(&http_rx, "http.server", "Serving HTTP", 10);
    wait_for(&echo_rx, "the UDP echo server", "ready", 10);

    // The clients.
    let out = run(&mut in_ns(
        &lab.cli_ns,
        25,
        &["python3", "-c", CLIENT_SCRIPT, SERVER, CLIENT],
    ));
    let client: Value = serde_json::from_slice(&out.stdout).expect("client JSON");
    let http_ok = serde_json::json!([
        ["/", 200, INDEX.len()],
        ["/index.html", 200, INDEX.len()],
        ["/big.bin", 200, 60000],
        ["/big.bin", 200, 60000],
        ["/missing", 404, 0]
    ]);
    assert_eq!(client["http"], http_ok, "HTTP client: {client}");
    assert_eq!(
        client["udp_echo"],
        serde_json::json!([true, true, true]),
        "{client}"
    );
    assert_eq!(client["udp_rejected"], "refused", "{client}");
    assert_eq!(client["udp_dropped"], "timeout", "{client}");
    assert_eq!(client["tcp_rejected"], "refused", "{client}");
    assert_eq!(client["tcp_dropped"], "timeout", "{client}");
    let pinged = tool_works("ping", "-V");
    if pinged {
        run(&mut in_ns(
            &lab.cli_ns,
            10,
            &[
                "ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "2", SERVER,
            ],
        ));
    } else {
        eprintln!("note: ping (iputils-ping) not installed: no ICMP echo in this lab run");
    }

    // Quiesce: stop the servers (no connection is open any more), read the counters, stop the
    // capture, and check nothing was counted meanwhile.
    std::thread::sleep(Duration::from_millis(300));
    for i in [http, echo] {
        stop(&mut lab.children[i], libc::SIGTERM);
    }
    std::thread::sleep(Duration::from_millis(200));
    let save = lab.iptables_save();
    wait_written(&pcap);
    let st = stop(&mut lab.children[td], libc::SIGINT);
    assert!(
        st.success(),
        "tcpdump exited with {st}:\n{}",
        td_err.lock().unwrap()
    );
    assert_all_written("tcpdump", &td_err, true);
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&lab.iptables_save()),
        strip(&save),
        "counters moved after the traffic"
    );
    // Kept for a look at a failure: FWCHECK_LAB_KEEP=DIR copies the capture there.
    if let Some(dir) = std::env::var_os("FWCHECK_LAB_KEEP") {
        let to = Path::new(&dir).join(format!("real-traffic-{}.pcap", lab.srv_if));
        std::fs::copy(&pcap, &to).expect("copy the capture");
        std::fs::write(to.with_extension("save"), &save).unwrap();
        eprintln!("capture kept in {}", to.display());
    }

    let kernel = kernel_counters(&save);
    assert!(kernel.len() > 10, "no filter counters in:\n{save}");
    let auto = fwcheck(&lab, &rules, &pcap, "auto");
    let verify = fwcheck(&lab, &rules, &pcap, "verify");
    let capture = read_capture(&pcap);
    eprintln!(
        "lab run (offload {}) took {:.1} s; tcpdump: {}",
        if offload { "on" } else { "off" },
        t0.elapsed().as_secs_f64(),
        td_err.lock().unwrap().trim().replace('\n', "; ")
    );
    Measured {
        kernel,
        auto,
        verify,
        capture,
        client,
        pinged,
    }
}

/// The common assertions: fwcheck (`--checksums auto`) counts exactly what the kernel counted.
fn assert_counters_match(m: &Measured, what: &str) {
    let s = &m.auto.summary;
    eprintln!(
        "{what}: capture {:?}; fwcheck: {} frames, {} judged, stats {}; client {}; ping {}",
        m.capture, s["frames"], s["judged"], s["stats"], m.client, m.pinged
    );
    // Every IPv4 frame of the capture is a packet fwcheck judged (ARP aside, nothing else).
    assert_eq!(s["judged"].as_u64(), Some(m.capture.ipv4 as u64), "{s}");
    assert_eq!(s["uncertain"].as_u64(), Some(0), "{s}");
    assert_eq!(
        s["stats"]["checksums_partial"].as_u64(),
        Some(m.capture.partial as u64),
        "fwcheck and the pcap reader disagree on partial checksums: {s}\nframes the reader \
         calls partial: {:?}",
        m.capture.partial_frames
    );
    match compare(&m.kernel, &m.auto.counters) {
        Ok(table) => eprintln!("{what}: kernel and fwcheck counters:\n{table}"),
        Err(table) => panic!(
            "{what}: fwcheck's counters differ from the kernel's:\n{table}\n{}",
            frames_of_differing(&m.kernel, &m.auto)
        ),
    }
    // The INVALID drop saw the two raw probes, the REJECTs fired, the policy dropped.
    let k = |chain: &str, slot: Slot| {
        let key = key("filter", chain, slot);
        m.kernel.iter().find(|(k, _)| *k == key).unwrap().1.packets
    };
    assert_eq!(
        k("INPUT", Slot::Rule(2)),
        2,
        "INVALID drop: the two raw probes"
    );
    assert!(k("INPUT", Slot::Rule(7)) >= 1 && k("INPUT", Slot::Rule(8)) >= 1);
    assert!(k("INPUT", Slot::Policy) >= 2);
}

fn offload_on_counters_equal_the_kernel() {
    let m = lab_run(true);
    assert_counters_match(&m, "offload on");
    assert!(
        m.capture.partial > 0,
        "offload on but no partial checksum in the capture: {:?}",
        m.capture
    );
    assert!(
        m.capture.over_mtu > 0,
        "offload on (TSO) but no GSO super-packet in the capture: {:?}",
        m.capture
    );
    // Sensitivity: verifying the partial checksums (fwcheck's old behaviour) is not what the
    // kernel does, and the comparison sees it: the INVALID drop gets the offloaded packets.
    let table = compare(&m.kernel, &m.verify.counters).expect_err(
        "--checksums verify gives the kernel's counters: the lab cannot tell the modes apart",
    );
    eprintln!("offload on, fwcheck --checksums verify (must differ):\n{table}");
    let invalid = key("filter", "INPUT", Slot::Rule(2));
    let kernel_invalid = m
        .kernel
        .iter()
        .find(|(k, _)| *k == invalid)
        .unwrap()
        .1
        .packets;
    assert!(
        m.verify.counters[&invalid].packets > kernel_invalid,
        "--checksums verify should call the partial-checksum packets INVALID"
    );
}

fn offload_off_counters_equal_the_kernel() {
    let m = lab_run(false);
    assert_counters_match(&m, "offload off");
    assert_eq!(
        m.capture.partial, 0,
        "offload off but partial checksums captured: {:?}",
        m.capture
    );
    assert_eq!(
        m.capture.bad, 1,
        "only the raw probe has a bad checksum: {:?}",
        m.capture
    );
    assert_eq!(
        m.capture.over_mtu, 0,
        "gso_max_segs 1 but a super-packet was captured: {:?}",
        m.capture
    );
    // Every checksum verifies but the probe's: verify and auto count the same here.
    let same = |a: &Counters, b: &Counters| {
        a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && (x.1.packets, x.1.bytes) == (y.1.packets, y.1.bytes))
    };
    assert!(
        same(&m.auto.counters, &m.verify.counters),
        "offload off: --checksums verify and auto differ"
    );
}

kernel_tests!(
    offload_on_counters_equal_the_kernel,
    offload_off_counters_equal_the_kernel
);
