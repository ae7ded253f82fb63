//! Real-traffic labs through a router: three private network namespaces, a client, a router
//! and a server, joined by veth pairs (client `rc0` 198.51.100.2 — `wan0` 198.51.100.1 router
//! `lan0` 10.9.0.1 — `rs0` 10.9.0.2 server). The router loads a ruleset, real sockets make
//! traffic (python3), tcpdump captures on the router's interfaces (each capture written as one
//! interface of a pcapng, with its name), and fwcheck replays the capture as the router
//! (`--router --iface-addr wan0=… --iface-addr lan0=…`). Every rule's and policy's packet and
//! byte counters of every table must equal `iptables-save -c` in the router's namespace.
//!
//! Each lab pins what a real router does where fwcheck once said something else, with a
//! certain verdict:
//!
//! * `reject_errors_skip_nat`: the ICMP errors REJECT sends for a forwarded and a local SYN are
//!   RELATED ICMP, which the nat hooks translate without walking the nat table
//!   (`nf_nat_ipv4_fn`); the RST of `--reject-with tcp-reset` is TCP and walks nat POSTROUTING.
//! * `time_exceeded_is_related`: the router's own "time exceeded" for a packet whose TTL ran
//!   out is RELATED in OUTPUT (`icmp_send` attaches the dropped packet's connection), never
//!   INVALID.
//! * `df_packets_larger_than_the_mtu_are_not_forwarded`: a DF datagram longer than the output
//!   interface's MTU (`--mtu`) never reaches FORWARD (`ip_exceeds_mtu`); the router's
//!   "fragmentation needed" is RELATED; a smaller one and one without DF are forwarded.
//! * `icmp_errors_are_rate_limited_per_peer`: REJECT's ICMP errors to one peer leave six at
//!   once, then one a second (`inet_peer_xrlim_allow`); the others are never sent, never
//!   counted in OUTPUT.
//!
//! Needs root, iptables, iproute2 (elsewhere reported ignored by the harness), python3 and
//! tcpdump (`.ci/run` installs them; missing, the test fails with the reason).

#[macro_use]
mod kernel_harness;
mod lab_common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fwcheck::packet::writer::{write_pcapng, NgInterface, Record};
use fwcheck::packet::Timestamp;
use lab_common::*;

const CLIENT: &str = "198.51.100.2";
const WAN: &str = "198.51.100.1";
const LAN: &str = "10.9.0.1";
const SERVER: &str = "10.9.0.2";

/// A tcpdump running on one of the router's devices.
struct Capture {
    dev: String,
    /// `-Q`: `in`, `out` or `inout`.
    dir: String,
    path: PathBuf,
    tcpdump: Child,
    /// tcpdump's standard error so far.
    stderr: Arc<Mutex<String>>,
}

/// The three namespaces and the captures running in them; Drop deletes them, panic or not.
struct RouterLab {
    client: String,
    router: String,
    server: String,
    captures: Vec<Capture>,
    /// Servers started in the namespaces.
    children: Vec<Child>,
    dir: tempfile::TempDir,
}

impl RouterLab {
    fn new(tag: &str) -> RouterLab {
        require_tools(
            "the router labs",
            &[("python3", "--version"), ("tcpdump", "--version")],
        );
        let id = std::process::id();
        let lab = RouterLab {
            client: format!("fwlab-c-{tag}-{id}"),
            router: format!("fwlab-r-{tag}-{id}"),
            server: format!("fwlab-s-{tag}-{id}"),
            captures: Vec::new(),
            children: Vec::new(),
            dir: tempfile::tempdir().expect("tempdir"),
        };
        for ns in [&lab.client, &lab.router, &lab.server] {
            ip(&["netns", "add", ns]);
            // An IPv4 lab: no router solicitations, MLD or DAD in the captures.
            for k in ["all", "default"] {
                run(Command::new("ip")
                    .args(["netns", "exec", ns, "sysctl", "-qw"])
                    .arg(format!("net.ipv6.conf.{k}.disable_ipv6=1")));
            }
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        let veth = |a: &str, ans: &str, b: &str, bns: &str| {
            ip(&[
                "link", "add", a, "netns", ans, "type", "veth", "peer", "name", b, "netns", bns,
            ])
        };
        veth("rc0", &lab.client, "wan0", &lab.router);
        veth("lan0", &lab.router, "rs0", &lab.server);
        for (ns, dev, addr) in [
            (&lab.client, "rc0", CLIENT),
            (&lab.router, "wan0", WAN),
            (&lab.router, "lan0", LAN),
            (&lab.server, "rs0", SERVER),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        ip(&["-n", &lab.client, "route", "add", "10.9.0.0/24", "via", WAN]);
        ip(&["-n", &lab.server, "route", "add", "default", "via", LAN]);
        run(Command::new("ip").args([
            "netns",
            "exec",
            &lab.router,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ]));
        // Neighbours resolved before any capture (no ARP in the middle of a lab), by datagrams
        // from end to end: the router answers none of them itself, so its ICMP rate limits
        // start untouched.
        lab.python(
            &lab.client,
            &format!("import socket;s=socket.socket(2,2);s.sendto(b'a',('{SERVER}',9))"),
        );
        lab.python(
            &lab.server,
            &format!("import socket;s=socket.socket(2,2);s.sendto(b'a',('{CLIENT}',9))"),
        );
        std::thread::sleep(Duration::from_millis(300));
        lab
    }

    /// A python process left running in `ns` (killed with the lab); returns once it printed
    /// `ready`.
    fn spawn_python(&mut self, ns: &str, code: &str) {
        let mut child = in_ns(ns, 60, &["python3", "-c", code])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3");
        let (rx, _) = collect(child.stdout.take().unwrap());
        wait_for(&rx, "python3", "ready", 10);
        self.children.push(child);
    }

    fn python(&self, ns: &str, code: &str) -> String {
        let out = run(&mut in_ns(ns, 20, &["python3", "-c", code]));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn restore(&self, rules: &str) -> PathBuf {
        let path = self.dir.path().join("rules.v4");
        std::fs::write(&path, rules).unwrap();
        let mut cmd = in_ns(&self.router, 10, &["iptables-restore"]);
        let f = std::fs::File::open(&path).unwrap();
        let out = cmd.stdin(f).output().expect("iptables-restore");
        assert!(
            out.status.success(),
            "iptables-restore: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        path
    }

    /// tcpdump on the router's `dev`, `-Q in|out|inout`.
    fn capture(&mut self, dev: &str, dir: &str) {
        let path = self.dir.path().join(format!("{dev}-{dir}.pcap"));
        let mut child = in_ns(
            &self.router,
            60,
            &[
                "tcpdump",
                "-U",
                "--immediate-mode",
                "-B",
                "65536",
                "-n",
                "-Z",
                "root",
                "-i",
                dev,
                "-Q",
                dir,
                "-w",
            ],
        )
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump");
        let (rx, err) = collect(child.stderr.take().unwrap());
        wait_for(&rx, "tcpdump", "listening on", 10);
        self.captures.push(Capture {
            dev: dev.to_string(),
            dir: dir.to_string(),
            path,
            tcpdump: child,
            stderr: err,
        });
    }

    /// Stops the captures and merges them into one pcapng, one interface per capture, the
    /// records in time order; returns its path and the router's `iptables-save -c`.
    fn finish(&mut self) -> (PathBuf, String) {
        std::thread::sleep(Duration::from_millis(300));
        let save =
            String::from_utf8(run(&mut in_ns(&self.router, 10, &["iptables-save", "-c"])).stdout)
                .unwrap();
        // Every packet the kernel counted is in tcpdump's ring by now; on SIGINT tcpdump
        // leaves what it has not read yet, so wait until it has written everything (a loaded
        // machine delays it: a FORWARD packet was once missing from the capture).
        for c in &self.captures {
            wait_written(&c.path);
        }
        for c in self.captures.iter_mut() {
            let st = stop(&mut c.tcpdump, libc::SIGINT);
            assert!(st.success(), "tcpdump on {}: {st}", c.dev);
            // (`-Q in|out` drops the other direction's packets after the filter counted them.)
            assert_all_written(
                &format!("tcpdump on {}", c.dev),
                &c.stderr,
                c.dir == "inout",
            );
        }
        // `tcpdump -i any`: one Linux cooked v2 capture, used as it is.
        if let [c] = &self.captures[..] {
            if c.dev == "any" {
                return (c.path.clone(), save);
            }
        }
        let mut interfaces = Vec::new();
        let mut records: Vec<Record> = Vec::new();
        for (i, Capture { dev, path, .. }) in self.captures.iter().enumerate() {
            let mut r = pcap_file::pcap::PcapReader::new(std::fs::File::open(path).unwrap())
                .expect("tcpdump's pcap");
            interfaces.push(NgInterface {
                linktype: 1,
                tsresol: Some(9),
                name: dev.clone(),
                addrs: Vec::new(),
            });
            while let Some(p) = r.next_packet() {
                let p = p.expect("pcap record");
                let mut rec = Record::new(
                    Timestamp(p.timestamp().as_nanos() as u64),
                    p.data().to_vec(),
                );
                rec.interface = i as u32;
                records.push(rec);
            }
        }
        records.sort_by_key(|r| r.ts.0);
        let out = self.dir.path().join("router.pcapng");
        write_pcapng(std::fs::File::create(&out).unwrap(), &interfaces, &records).unwrap();
        if let Some(keep) = std::env::var_os("FWCHECK_LAB_KEEP") {
            let to = Path::new(&keep).join(format!("{}.pcapng", self.router));
            std::fs::copy(&out, &to).unwrap();
            std::fs::write(to.with_extension("save"), &save).unwrap();
        }
        (out, save)
    }

    /// fwcheck on the capture as the router, with `extra` options.
    fn replay(&self, rules: &Path, pcap: &Path, extra: &[&str]) -> FwRun {
        let mut args: Vec<std::ffi::OsString> = vec![
            rules.into(),
            "--pcap".into(),
            pcap.into(),
            "--router".into(),
            "--iface-addr".into(),
            format!("wan0={WAN}/24").into(),
            "--iface-addr".into(),
            format!("lan0={LAN}/24").into(),
        ];
        args.extend(extra.iter().map(Into::into));
        fwcheck_json(&args)
    }

    /// [`RouterLab::replay`]; panics with both tables when a counter differs from `save`'s.
    fn check(&self, rules: &Path, pcap: &Path, save: &str, extra: &[&str]) -> FwRun {
        let fw = self.replay(rules, pcap, extra);
        let kernel = kernel_counters(save);
        match compare(&kernel, &fw.counters) {
            Ok(t) => eprintln!("{}: counters equal:\n{t}", self.router),
            Err(t) => panic!(
                "{}: fwcheck's counters differ from the kernel's:\n{t}\n{}",
                self.router,
                frames_of_differing(&kernel, &fw)
            ),
        }
        fw
    }
}

impl Drop for RouterLab {
    fn drop(&mut self) {
        for Capture { tcpdump: c, .. } in &mut self.captures {
            stop(c, libc::SIGINT);
        }
        for c in &mut self.children {
            stop(c, libc::SIGTERM);
        }
        for ns in [&self.client, &self.router, &self.server] {
            delete_ns(ns);
        }
    }
}

fn uncertain(fw: &FwRun) -> u64 {
    fw.summary["uncertain"].as_u64().expect("summary.uncertain")
}

fn reject_errors_skip_nat() {
    let mut lab = RouterLab::new("nat");
    let rules = lab.restore(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
         -A POSTROUTING -p icmp\n-A POSTROUTING -p tcp\nCOMMIT\n\
         *filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with icmp-port-unreachable\n\
         -A FORWARD -p tcp -m tcp --dport 22 -j REJECT --reject-with icmp-host-prohibited\n\
         -A FORWARD -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset\n\
         -A OUTPUT -p icmp -m conntrack --ctstate RELATED\n\
         -A OUTPUT -p icmp -m conntrack --ctstate INVALID\nCOMMIT\n",
    );
    lab.capture("wan0", "in");
    lab.python(
        &lab.client,
        &format!(
            "import socket\nfor a,p in [('{SERVER}',22),('{SERVER}',23),('{WAN}',22)]:\n    \
             try: socket.create_connection((a,p),timeout=1)\n    except Exception as e: print(a,p,e)"
        ),
    );
    let (pcap, save) = lab.finish();
    let fw = lab.check(&rules, &pcap, &save, &[]);
    assert_eq!(uncertain(&fw), 0);
    // The kernel: only the RST walked nat POSTROUTING.
    let k = kernel_counters(&save);
    let hits = |chain: &str, slot: Slot| {
        let key = key("nat", chain, slot);
        k.iter().find(|(x, _)| *x == key).unwrap().1.packets
    };
    assert_eq!(
        (
            hits("POSTROUTING", Slot::Rule(1)),
            hits("POSTROUTING", Slot::Rule(2))
        ),
        (0, 1)
    );
}

fn time_exceeded_is_related() {
    let mut lab = RouterLab::new("ttl");
    let rules = lab.restore(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A OUTPUT -m conntrack --ctstate INVALID -j DROP\n\
         -A OUTPUT -m conntrack --ctstate RELATED -j ACCEPT\nCOMMIT\n",
    );
    // Both directions of wan0: the expiring datagram in, the router's answer out.
    lab.capture("wan0", "inout");
    lab.python(
        &lab.client,
        &format!(
            "import socket\ns=socket.socket(2,2)\ns.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)\n\
             s.sendto(b'traceroute probe', ('{SERVER}', 33434))"
        ),
    );
    let (pcap, save) = lab.finish();
    let fw = lab.check(&rules, &pcap, &save, &[]);
    assert_eq!(uncertain(&fw), 0);
    // The answer is in the capture and fwcheck calls it RELATED, the stack's error.
    let answer = fw
        .packets
        .iter()
        .find(|p| p["icmp_type"] == 11)
        .unwrap_or_else(|| panic!("no time exceeded in the capture: {:?}", fw.packets));
    assert_eq!(answer["ctstate"], "RELATED", "{answer}");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("the stack's ICMP error"),
        "{answer}"
    );
}

fn df_packets_larger_than_the_mtu_are_not_forwarded() {
    let mut lab = RouterLab::new("mtu");
    for (ns, dev) in [(&lab.router, "lan0"), (&lab.server, "rs0")] {
        ip(&["-n", ns, "link", "set", dev, "mtu", "1280"]);
    }
    let rules = lab.restore(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A FORWARD -p udp -m udp --dport 9 -j ACCEPT\n\
         -A OUTPUT -p icmp -m conntrack --ctstate RELATED -j ACCEPT\nCOMMIT\n",
    );
    lab.capture("wan0", "inout");
    // 1400 and 1200 bytes of UDP with DF (IP_PMTUDISC_DO), 1400 without it (fragmented).
    lab.python(
        &lab.client,
        &format!(
            "import socket\nfor df, n in [(2, 1372), (2, 1172), (0, 1372)]:\n    \
             s=socket.socket(2,2)\n    s.setsockopt(socket.IPPROTO_IP, 10, df)\n    \
             s.sendto(b'x'*n, ('{SERVER}', 9))"
        ),
    );
    let (pcap, save) = lab.finish();
    let fw = lab.check(
        &rules,
        &pcap,
        &save,
        &["--mtu", "lan0=1280", "--mtu", "wan0=1500"],
    );
    assert_eq!(uncertain(&fw), 0);
    let big = &fw.packets[0];
    assert_eq!(big["verdict"], "DROP", "{big}");
    assert!(
        big["rule"]["stack"].as_str().unwrap().contains("MTU"),
        "{big}"
    );
    // The router's "fragmentation needed" is in the capture, RELATED.
    assert!(fw
        .packets
        .iter()
        .any(|p| p["icmp_type"] == 3 && p["icmp_code"] == 4 && p["ctstate"] == "RELATED"));
    // Without the MTUs the router's drop is not seen: the counters differ.
    let kernel = kernel_counters(&save);
    let blind = lab.replay(&rules, &pcap, &[]);
    assert!(compare(&kernel, &blind.counters).is_err());
}

fn icmp_errors_are_rate_limited_per_peer() {
    let mut lab = RouterLab::new("rate");
    let rules = lab.restore(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p udp -m udp --dport 7 -j REJECT --reject-with icmp-port-unreachable\n\
         -A OUTPUT -p icmp\nCOMMIT\n",
    );
    lab.capture("wan0", "inout");
    // Nine datagrams at once (six answers, the burst), then two more 1.2 s later (one token
    // back: one answer).
    lab.python(
        &lab.client,
        &format!(
            "import socket, time\ns=socket.socket(2,2)\nfor i in range(9): s.sendto(b'x', ('{WAN}', 7))\n\
             time.sleep(1.2)\nfor i in range(2): s.sendto(b'x', ('{WAN}', 7))"
        ),
    );
    let (pcap, save) = lab.finish();
    let fw = lab.check(&rules, &pcap, &save, &[]);
    assert_eq!(uncertain(&fw), 0);
    let k = kernel_counters(&save);
    let hits = |chain: &str, slot: Slot| {
        let key = key("filter", chain, slot);
        k.iter().find(|(x, _)| *x == key).unwrap().1.packets
    };
    assert_eq!(
        (hits("INPUT", Slot::Rule(1)), hits("OUTPUT", Slot::Rule(1))),
        (11, 7)
    );
    let refused = fw
        .packets
        .iter()
        .filter(|p| p["reject"]["sent"] == false)
        .count();
    assert_eq!(refused, 4, "{:?}", fw.packets);
}

/// `tcpdump -i any` on a router, both directions: the outgoing copy of every forwarded packet
/// is in the capture beside the packet as it came in, and the Linux cooked v2 header names
/// the interface only by its index. With `ip -j addr` (which maps indexes to names) and `ip -j
/// route` from the router, fwcheck names each packet's interface and recognises each copy, so
/// every counter — DNAT, MASQUERADE, FORWARD both ways — equals the kernel's.
fn any_interface_captures_on_a_router() {
    let mut lab = RouterLab::new("any");
    let rules = lab.restore(&format!(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
         -A PREROUTING -d {WAN}/32 -p udp -m udp --dport 5353 -j DNAT --to-destination {SERVER}:7\n\
         -A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n\
         *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A FORWARD -i wan0 -o lan0 -p udp -m udp --dport 7 -j ACCEPT\n\
         -A FORWARD -i lan0 -o wan0 -j ACCEPT\nCOMMIT\n"
    ));
    let host = lab.dir.path().join("router.json");
    let addr = run(&mut in_ns(&lab.router, 10, &["ip", "-j", "addr"])).stdout;
    let route = run(&mut in_ns(&lab.router, 10, &["ip", "-j", "route"])).stdout;
    std::fs::write(
        &host,
        format!(
            "{{\"addr\": {}, \"route\": {}}}",
            String::from_utf8_lossy(&addr),
            String::from_utf8_lossy(&route)
        ),
    )
    .unwrap();
    let server_ns = lab.server.clone();
    lab.spawn_python(
        &server_ns,
        "import socket\ns=socket.socket(2,2)\ns.bind(('0.0.0.0',7))\nprint('ready',flush=True)\n\
         while True:\n    d,a=s.recvfrom(2000)\n    s.sendto(d,a)",
    );
    lab.capture("any", "inout");
    // Through the DNAT to the echo server and back; the server's own datagram out through
    // the MASQUERADE to the client and its answer back.
    lab.python(
        &lab.client,
        &format!(
            "import socket\ns=socket.socket(2,2)\ns.settimeout(2)\n\
             for i in range(3):\n    s.sendto(b'ping %d' % i, ('{WAN}', 5353))\n    s.recvfrom(100)"
        ),
    );
    lab.python(
        &lab.server,
        &format!("import socket\ns=socket.socket(2,2)\ns.sendto(b'out', ('{CLIENT}', 9))"),
    );
    let (pcap, save) = lab.finish();
    let fw = lab.check(
        &rules,
        &pcap,
        &save,
        &["--host-config", host.to_str().unwrap()],
    );
    assert_eq!(uncertain(&fw), 0);
    let copies = fw.packets.iter().filter(|p| p["copy_of"].is_u64()).count();
    assert!(
        copies >= 6,
        "the outgoing copies are recognised: {:?}",
        fw.packets
    );
}

kernel_tests!(
    any_interface_captures_on_a_router,
    reject_errors_skip_nat,
    time_exceeded_is_related,
    df_packets_larger_than_the_mtu_are_not_forwarded,
    icmp_errors_are_rate_limited_per_peer
);
