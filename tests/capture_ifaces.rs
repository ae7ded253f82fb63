//! Interface names from the capture: a pcapng's `if_name` is what `-i`/`-o` see for the packets
//! captured on that interface (several interfaces, several names), `--iface` overrides them, a
//! classic pcap keeps `eth0`, SLL2 interface indexes without a name are reported, and rules
//! naming an interface no packet was seen on are warned about. (The kernel side is
//! `kernel_ifaces.rs`.)

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::Command;
use std::sync::Arc;

use fwcheck::packet::capture::{read_all, usable_ifname, CaptureReader};
use fwcheck::packet::writer::{frame_packet, write_pcapng, NgInterface, Record};
use fwcheck::packet::{Family, Packet};
use fwcheck::testkit::fixtures::sample_packets;

const HOST: &str = "203.0.113.10";

const RULES: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -i eth0 -j ACCEPT
-A INPUT -i eth1 -j ACCEPT
-A INPUT -i fwnc-s0 -j ACCEPT
-A INPUT -i eth+ -j ACCEPT
-A INPUT -i docker+ -j ACCEPT
-A OUTPUT -o eth0 -j ACCEPT
-A OUTPUT -o eth1 -j ACCEPT
-A OUTPUT -o fwnc-s0 -j ACCEPT
COMMIT
";

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fwcheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rules_file() -> tempfile::NamedTempFile {
    let f = tempfile::Builder::new()
        .suffix(".rules.v4")
        .tempfile()
        .unwrap();
    std::fs::write(f.path(), RULES).unwrap();
    f
}

/// Rule line → packets, from fwcheck's JSON `rule` records.
fn hits(stdout: &str) -> BTreeMap<u64, u64> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "rule")
        .map(|v| (v["line"].as_u64().unwrap(), v["packets"].as_u64().unwrap()))
        .collect()
}

/// (inbound, outbound) IPv4 packets per interface name, from the capture itself.
fn per_interface(path: &str) -> BTreeMap<String, (u64, u64)> {
    let (pk, _, _) = read_all(path).unwrap();
    let host: IpAddr = HOST.parse().unwrap();
    let mut m: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for p in pk.iter().filter(|p| p.family == Family::V4) {
        let name = p.link.ifname.as_deref().unwrap_or("eth0").to_string();
        let e = m.entry(name).or_default();
        if p.dst == host {
            e.0 += 1;
        } else if p.src == host {
            e.1 += 1;
        }
    }
    m
}

#[test]
fn pcapng_packets_carry_the_name_of_their_interface() {
    let mut r = CaptureReader::open("pcaps/two-interfaces.pcapng").unwrap();
    let pk: Vec<Packet> = (&mut r).filter_map(|i| i.ok()).collect();
    assert_eq!(pk.len(), 22);
    let mut first: [Option<Arc<str>>; 2] = [None, None];
    for p in &pk {
        let want = ["eth0", "eth1"][p.link.interface as usize];
        let name = p.link.ifname.clone().expect("a name");
        assert_eq!(&*name, want, "frame {}", p.frame);
        // One allocation per interface, shared by its packets.
        let f = first[p.link.interface as usize].get_or_insert_with(|| name.clone());
        assert!(Arc::ptr_eq(f, &name), "frame {}", p.frame);
    }
    let t = r.interfaces();
    assert_eq!(t.interfaces.len(), 2);
    assert_eq!(
        t.interfaces
            .iter()
            .map(|i| (i.id, i.recorded_name.as_deref(), i.packets))
            .collect::<Vec<_>>(),
        vec![(0, Some("eth0"), 11), (1, Some("eth1"), 11)]
    );
    assert!(t.named());
    assert!(t.ifindexes.is_empty());

    // A classic pcap names nothing.
    let mut r = CaptureReader::open("pcaps/flows.pcap").unwrap();
    assert!((&mut r)
        .filter_map(|i| i.ok())
        .all(|p| p.link.ifname.is_none()));
    assert!(r.interfaces().interfaces.is_empty());
    assert!(!r.interfaces().named());
}

fn ng(ifaces: &[(&str, u16)], packets: &[Packet], iface_of: impl Fn(usize) -> u32) -> Vec<u8> {
    let ifs: Vec<NgInterface> = ifaces
        .iter()
        .map(|&(name, linktype)| NgInterface {
            linktype,
            tsresol: None,
            name: name.into(),
            addrs: Vec::new(),
        })
        .collect();
    let recs: Vec<Record> = packets
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let iface = iface_of(i);
            let mut r = Record::new(
                p.ts,
                frame_packet(u32::from(ifs[iface as usize].linktype), p),
            );
            r.interface = iface;
            r
        })
        .collect();
    let mut v = Vec::new();
    write_pcapng(&mut v, &ifs, &recs).unwrap();
    v
}

#[test]
fn interface_ids_start_again_in_each_section() {
    let pk = sample_packets();
    let (a, b) = pk.split_at(6);
    // Two sections, each with its own interface 0.
    let mut bytes = ng(&[("eth0", 1)], a, |_| 0);
    bytes.extend(ng(&[("wan0", 1), ("eth0", 1)], b, |i| (i % 2) as u32));
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), &bytes).unwrap();
    let mut r = CaptureReader::open(f.path()).unwrap();
    let names: Vec<String> = (&mut r)
        .filter_map(|i| i.ok())
        .map(|p| p.link.ifname.as_deref().unwrap_or("-").to_string())
        .collect();
    let mut want = vec!["eth0"; 6];
    want.extend((0..b.len()).map(|i| if i % 2 == 0 { "wan0" } else { "eth0" }));
    assert_eq!(names, want);
    let t: Vec<(u32, u32, Option<&str>, u64)> = r
        .interfaces()
        .interfaces
        .iter()
        .map(|i| (i.section, i.id, i.name.as_deref(), i.packets))
        .collect();
    let n = b.len() as u64;
    assert_eq!(
        t,
        vec![
            (0, 0, Some("eth0"), 6),
            (1, 0, Some("wan0"), n.div_ceil(2)),
            (1, 1, Some("eth0"), n / 2)
        ]
    );
}

#[test]
fn names_no_linux_interface_can_have_are_not_used() {
    for good in ["eth0", "fwnc-s0", "br-0123456789ab", "wlp3s0.100"] {
        assert!(usable_ifname(good), "{good}");
    }
    for bad in [
        "",
        "any",
        ".",
        "..",
        "a/b",
        "eth0:1",
        "my if",
        "0123456789abcdef",
        r"\Device\NPF_{5E0A3B2C}",
    ] {
        assert!(!usable_ifname(bad), "{bad}");
    }
    let pk = sample_packets();
    let long = r"\Device\NPF_{5E0A3B2C-0000-0000-0000-000000000000}";
    let bytes = ng(&[("any", 276), (long, 1)], &pk, |i| (i % 2) as u32);
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), &bytes).unwrap();
    let mut r = CaptureReader::open(f.path()).unwrap();
    assert!((&mut r)
        .filter_map(|i| i.ok())
        .all(|p| p.link.ifname.is_none()));
    let t = r.interfaces();
    assert_eq!(t.interfaces[0].recorded_name.as_deref(), Some("any"));
    assert_eq!(t.interfaces[1].recorded_name.as_deref(), Some(long));
    assert!(!t.named());
    // The SLL2 packets captured on `any` have interface indexes but no name.
    assert_eq!(t.ifindexes, vec![(2, 11)]);
    // SLL2 on a named interface: the name, and nothing to say about the index.
    let g = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(g.path(), ng(&[("eth3", 276)], &pk, |_| 0)).unwrap();
    let mut r2 = CaptureReader::open(g.path()).unwrap();
    assert!((&mut r2)
        .filter_map(|i| i.ok())
        .all(|p| p.link.ifname.as_deref() == Some("eth3") && p.link.ifindex == Some(2)));
    assert!(r2.interfaces().ifindexes.is_empty());

    let rules = rules_file();
    let rp = rules.path().to_str().unwrap();
    let (code, out, err) = run(&[rp, "--pcap", f.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("fwcheck: 11 packets carry a Linux cooked (SLL2) interface index (2) but no interface name; they are seen on eth0 (use --iface NAME to name it, or --host-config with `ip -j addr`, whose ifindex names each)\n"),
        "{err}"
    );
    assert!(!err.contains("interfaces from the capture"), "{err}");
    // Everything is on eth0.
    let h = hits(&out);
    assert_eq!((h[&7], h[&8], h[&12], h[&13]), (0, 0, 0, 0), "{out}");
    assert!(h[&6] > 0 && h[&11] > 0, "{out}");
    // `ip -j addr` names index 2: those packets are on eth1.
    let hc = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        hc.path(),
        r#"[{"ifindex": 2, "ifname": "eth1", "mtu": 1500, "addr_info": []}]"#,
    )
    .unwrap();
    let (code, out, err) = run(&[
        rp,
        "--pcap",
        f.path().to_str().unwrap(),
        "--format",
        "json",
        "--host-config",
        hc.path().to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("Linux cooked"), "{err}");
    let h = hits(&out);
    assert!(h[&7] + h[&12] > 0, "{out}");
}

#[test]
fn hit_counters_follow_the_capture_interface_names() {
    let rules = rules_file();
    let rp = rules.path().to_str().unwrap();
    let pcap = "pcaps/two-interfaces.pcapng";
    let per = per_interface(pcap);
    let (e0, e1) = (per["eth0"], per["eth1"]);
    assert!(e0.0 > 0 && e0.1 > 0 && e1.0 > 0 && e1.1 > 0, "{per:?}");
    let (code, out, err) = run(&[rp, "--pcap", pcap, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let h = hits(&out);
    // INPUT -i eth0 / -i eth1 / -i fwnc-s0 / -i eth+; OUTPUT -o eth0 / -o eth1 / -o fwnc-s0.
    assert_eq!(h[&6], e0.0, "{out}");
    assert_eq!(h[&7], e1.0, "{out}");
    assert_eq!((h[&8], h[&9]), (0, 0), "{out}");
    assert_eq!(h[&11], e0.1, "{out}");
    assert_eq!(h[&12], e1.1, "{out}");
    assert_eq!(h[&13], 0, "{out}");

    // Said once, with the names used; a warning per unseen name, none for a seen one, `lo`, or
    // a wildcard matching a seen name.
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("interfaces from the capture"))
            .collect::<Vec<_>>(),
        vec![
            "fwcheck: interfaces from the capture: eth0 (if 0, 11 packets), eth1 (if 1, 11 packets); \
             lockout and expectations use eth0; use --iface NAME to see every packet on one"
        ],
        "{err}"
    );
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(
        warnings,
        vec![
            "fwcheck: warning: rules name interface fwnc-s0 (lines 8, 13) but no packet of the \
             capture was seen on it (interfaces seen: eth0, eth1)",
            "fwcheck: warning: rules name interface docker+ (line 10) but no packet of the \
             capture was seen on it (interfaces seen: eth0, eth1)",
        ],
        "{err}"
    );
}

#[test]
fn iface_overrides_the_capture_names() {
    let rules = rules_file();
    let rp = rules.path().to_str().unwrap();
    let pcap = "pcaps/two-interfaces.pcapng";
    let per = per_interface(pcap);
    let (in_all, out_all) = (per["eth0"].0 + per["eth1"].0, per["eth0"].1 + per["eth1"].1);
    let (code, out, err) = run(&[rp, "--pcap", pcap, "--iface", "fwnc-s0", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let h = hits(&out);
    assert_eq!((h[&6], h[&7], h[&8]), (0, 0, in_all), "{out}");
    assert_eq!((h[&11], h[&12], h[&13]), (0, 0, out_all), "{out}");
    assert!(
        err.contains(
            "fwcheck: every packet is seen on fwnc-s0 (--iface); the capture names eth0 (if 0), eth1 (if 1)\n"
        ),
        "{err}"
    );
    assert!(!err.contains("interfaces from the capture"), "{err}");
    let warned: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("warning: rules name interface"))
        .map(|l| l.split(' ').nth(5).unwrap())
        .collect();
    assert_eq!(warned, vec!["eth0", "eth1", "eth+", "docker+"], "{err}");
    assert!(err.contains("(interfaces seen: fwnc-s0)\n"), "{err}");
}

#[test]
fn a_classic_pcap_keeps_eth0() {
    let rules = rules_file();
    let rp = rules.path().to_str().unwrap();
    // The same packets as two-interfaces.pcapng, in a classic pcap.
    let pcap = "pcaps/flows.pcap";
    let per = per_interface(pcap);
    assert_eq!(per.keys().collect::<Vec<_>>(), vec!["eth0"]);
    let (code, out, err) = run(&[rp, "--pcap", pcap, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let h = hits(&out);
    assert_eq!((h[&6], h[&7], h[&8]), (per["eth0"].0, 0, 0), "{out}");
    assert_eq!((h[&11], h[&12], h[&13]), (per["eth0"].1, 0, 0), "{out}");
    assert!(!err.contains("interfaces from the capture"), "{err}");
    assert!(!err.contains("SLL2"), "{err}");
    assert!(
        err.contains(
            "fwcheck: warning: rules name interface eth1 (lines 7, 12) but no packet of the capture \
             was seen on it (interfaces seen: eth0; the capture names no interface: use --iface NAME)\n"
        ),
        "{err}"
    );
    assert!(!err.contains("interface eth0 "), "{err}");
}

#[test]
fn generated_traffic_is_not_warned_about() {
    let rules = rules_file();
    let rp = rules.path().to_str().unwrap();
    let (code, _, err) = run(&[rp, "--synthetic", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("interface"), "{err}");
}

/// A pcapng naming its interfaces and their addresses (`if_name`, `if_IPv4addr`) is the host's
/// configuration by itself: eth0 192.0.2.10/24 and docker0 172.17.0.1/16. A router's packet to
/// 172.17.0.2 leaves by docker0 (its connected route: `-o docker0` matches), one to an address
/// beyond both subnets by the interface it was captured on (no route is known), and the subnet
/// broadcast of docker0 is the host's. With `--iface`, or a host configuration given, the
/// capture's interfaces are not taken.
#[test]
fn the_interfaces_a_capture_names_are_the_host_configuration() {
    use fwcheck::packet::build::{build, L4Spec, PacketSpec};
    const FWD: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m addrtype --dst-type BROADCAST -j ACCEPT
-A FORWARD -o docker0 -j ACCEPT
COMMIT
";
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let udp = |src: &str, dst: &str, n: u64| {
        let spec = PacketSpec::new(
            ip(src),
            ip(dst),
            L4Spec::Udp {
                sport: 40000,
                dport: 5000,
            },
        );
        build(
            &spec,
            n,
            fwcheck::packet::Timestamp(n * 1_000_000),
            fwcheck::packet::LinkInfo::default(),
        )
    };
    let pkts = [
        udp("198.51.100.7", "172.17.0.2", 1),
        udp("198.51.100.7", "203.0.113.99", 2),
        udp("198.51.100.7", "172.17.255.255", 3),
    ];
    let ifs = [
        NgInterface {
            linktype: 1,
            tsresol: None,
            name: "eth0".into(),
            addrs: vec![(ip("192.0.2.10"), 24)],
        },
        NgInterface {
            linktype: 1,
            tsresol: None,
            name: "docker0".into(),
            addrs: vec![(ip("172.17.0.1"), 16)],
        },
    ];
    let recs: Vec<Record> = pkts
        .iter()
        .map(|p| Record::new(p.ts, frame_packet(1, p)))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("two.pcapng");
    write_pcapng(std::fs::File::create(&cap).unwrap(), &ifs, &recs).unwrap();
    let rules = dir.path().join("fwd.v4");
    std::fs::write(&rules, FWD).unwrap();
    let verdicts = |extra: &[&str]| {
        let mut args = vec![
            rules.to_str().unwrap(),
            "--pcap",
            cap.to_str().unwrap(),
            "--router",
            "--format",
            "json",
            "--fail-on",
            "never",
        ];
        args.extend(extra);
        let (code, out, err) = run(&args);
        assert_eq!(code, Some(0), "{out}{err}");
        let v: Vec<(String, String)> = out
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["type"] == "packet")
            .map(|v| {
                (
                    v["direction"].as_str().unwrap().to_string(),
                    v["verdict"].as_str().unwrap_or("-").to_string(),
                )
            })
            .collect();
        (v, err)
    };
    let (v, err) = verdicts(&[]);
    assert!(
        err.contains(
            "host interfaces taken from the capture: eth0 192.0.2.10/24, docker0 172.17.0.1/16"
        ),
        "{err}"
    );
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        v,
        [
            s("forward", "ACCEPT"),
            s("forward", "DROP"),
            s("in", "ACCEPT")
        ],
        "{err}"
    );
    // A configuration given: it is the host's, the capture's interfaces are not added (no
    // route to 172.17.0.0/16 then, and 172.17.255.255 is nobody's broadcast).
    let (v, err) = verdicts(&["--iface-addr", "eth0=192.0.2.10/24"]);
    assert!(!err.contains("taken from the capture"), "{err}");
    assert_eq!(
        v,
        [
            s("forward", "DROP"),
            s("forward", "DROP"),
            s("forward", "DROP")
        ],
        "{err}"
    );
    // --iface: every packet on eth0, one interface; 172.17.255.255 is nobody's broadcast.
    let (v, err) = verdicts(&["--iface", "eth0", "--host", "192.0.2.10"]);
    assert!(!err.contains("taken from the capture"), "{err}");
    assert_eq!(
        v,
        [
            s("forward", "DROP"),
            s("forward", "DROP"),
            s("forward", "DROP")
        ],
        "{err}"
    );
}

/// The device a frame reaches IP on is not always the one it was captured on. A frame with an
/// 802.1Q tag is the VLAN device's (`vlan_do_receive`): `ip -d -j addr` names the device for
/// each id; a host whose configuration lists no VLAN device on the interface drops it before
/// netfilter (PACKET_OTHERHOST; kernel-checked in `tests/data/labs/vlan-no-device`); without a
/// configuration saying which, the verdict is uncertain. A frame captured on a bridge's port is
/// the bridge's (`br_pass_frame_up`; kernel-checked in `tests/data/labs/bridge-host`).
#[test]
fn frames_reach_ip_on_their_vlan_device_or_their_bridge() {
    use fwcheck::packet::build::{build, L4Spec, PacketSpec};
    const R: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i eth0.100 -j ACCEPT
-A INPUT -i br0 -j ACCEPT
-A INPUT -i eth0 -j ACCEPT
COMMIT
";
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let rules = write("r.rules.v4", R);
    let pkt = |n: u64, vlan: Option<u16>| {
        let spec = PacketSpec::new(
            "198.51.100.7".parse().unwrap(),
            "192.0.2.1".parse().unwrap(),
            L4Spec::Udp {
                sport: 40000 + n as u16,
                dport: 5000,
            },
        );
        let mut p = build(
            &spec,
            n,
            fwcheck::packet::Timestamp(n * 1_000_000),
            fwcheck::packet::LinkInfo::default(),
        );
        p.link.vlan = vlan;
        p
    };
    let pcap = dir.path().join("c.pcap");
    fwcheck::packet::writer::write_pcap(
        std::fs::File::create(&pcap).unwrap(),
        &[pkt(1, Some(100)), pkt(2, Some(0)), pkt(3, None)],
    )
    .unwrap();
    let pcap = pcap.to_str().unwrap();
    let summary = |out: &str| -> serde_json::Value {
        let line = out
            .lines()
            .find(|l| l.contains("\"type\":\"summary\""))
            .expect("summary");
        serde_json::from_str(line).unwrap()
    };
    let addr = |extra: &str| {
        format!(
            r#"[{{"ifindex":2,"ifname":"eth0","promiscuity":0{extra},
                "addr_info":[{{"family":"inet","local":"192.0.2.1","prefixlen":24}}]}},
              {{"ifindex":3,"ifname":"eth0.100","link":"eth0","promiscuity":0,
                "linkinfo":{{"info_kind":"vlan","info_data":{{"protocol":"802.1Q","id":100}}}},
                "addr_info":[]}}]"#
        )
    };
    let base = [
        rules.as_str(),
        "--pcap",
        pcap,
        "--format",
        "json",
        "--iface",
        "eth0",
    ];
    let with = |cfg: &str| {
        let mut a = base.to_vec();
        a.extend(["--host-config", cfg]);
        let (code, out, err) = run(&a);
        assert!(code.is_some(), "{err}");
        (hits(&out), summary(&out), out)
    };
    // Given the VLAN device: frame 1 on eth0.100, the priority-tagged and untagged ones on eth0.
    let (h, s, out) = with(&write("vlan.json", &addr("")));
    assert_eq!((h[&5], h[&6], h[&7]), (1, 0, 2), "{out}");
    assert_eq!(s["uncertain"], 0, "{out}");
    // A host with no VLAN device: frame 1 dropped before netfilter, certain.
    let only = r#"[{"ifindex":2,"ifname":"eth0","promiscuity":0,
        "addr_info":[{"family":"inet","local":"192.0.2.1","prefixlen":24}]}]"#;
    let (h, s, out) = with(&write("novlan.json", only));
    assert_eq!((h[&5], h[&6], h[&7]), (0, 0, 2), "{out}");
    assert_eq!(
        (s["dropped"].as_u64(), s["uncertain"].as_u64()),
        (Some(1), Some(0)),
        "{out}"
    );
    // Nothing said about the host: frame 1 is uncertain.
    let (code, out, err) = run(&base);
    assert!(code.is_some(), "{err}");
    assert_eq!(summary(&out)["uncertain"], 1, "{out}");
    // eth0 a port of br0, which holds the address: the frames reach IP on br0.
    let (h, s, out) = with(&write(
        "bridge.json",
        &addr(r#","master":"br0""#).replace(
            r#"{"ifindex":2,"ifname":"eth0""#,
            r#"{"ifindex":4,"ifname":"br0","addr_info":[]},{"ifindex":2,"ifname":"eth0""#,
        ),
    ));
    assert_eq!((h[&5], h[&6], h[&7]), (1, 2, 0), "{out}");
    assert_eq!(s["uncertain"], 0, "{out}");
}

/// A `tcpdump -i any` capture whose interface indexes the host configuration names: the
/// warning about a rule's unseen interface lists the names, and does not say the capture names
/// no interface.
#[test]
fn cooked_indexes_the_host_configuration_names_are_names() {
    let rules = rules_file();
    let rp = rules.path().to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("host.json");
    std::fs::write(
        &cfg,
        r#"[{"ifindex":2,"ifname":"wan0","addr_info":[{"family":"inet","local":"203.0.113.10","prefixlen":24}]}]"#,
    )
    .unwrap();
    let (code, _, err) = run(&[
        rp,
        "--pcap",
        "pcaps/sll2.pcap",
        "--host-config",
        cfg.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(code.is_some(), "{err}");
    assert!(err.contains("(interfaces seen: wan0)"), "{err}");
    assert!(!err.contains("names no interface"), "{err}");
}

/// The host sends a datagram the capture shows leaving by eth1 although `--host-config`'s
/// routes (the main table) send it out of eth0: a policy route (`ip rule`), which OUTPUT's
/// `-o` saw too, as POSTROUTING's did (kernel-checked in the recorded lab `policy-route`). With
/// a ruleset that sets no mark, certain; with one whose mangle OUTPUT could have set the mark
/// that rerouted it (after OUTPUT, which then saw eth0), uncertain unless the packet's mark
/// changed there.
#[test]
fn a_packet_leaving_by_another_route_was_routed_by_a_policy_rule() {
    use fwcheck::packet::build::{build, L4Spec, PacketSpec};
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    const R: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
-A OUTPUT -o eth1 -j ACCEPT\nCOMMIT\n";
    let marks = format!(
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
-A OUTPUT -p tcp --dport 443 -j MARK --set-mark 2\nCOMMIT\n{R}"
    );
    let cfg = write(
        "host.json",
        r#"{"addr": [{"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet","local":"192.0.2.1","prefixlen":24}]},
                     {"ifindex":3,"ifname":"eth1","addr_info":[{"family":"inet","local":"203.0.113.1","prefixlen":24}]}],
            "route": [{"dst":"default","gateway":"192.0.2.254","dev":"eth0"}]}"#,
    );
    let spec = PacketSpec::new(
        "192.0.2.1".parse().unwrap(),
        "198.51.100.4".parse().unwrap(),
        L4Spec::Udp {
            sport: 40000,
            dport: 53,
        },
    );
    let p = build(
        &spec,
        1,
        fwcheck::packet::Timestamp(1_000_000),
        fwcheck::packet::LinkInfo::default(),
    );
    let cap = dir.path().join("c.pcapng");
    std::fs::write(&cap, ng(&[("eth0", 1), ("eth1", 1)], &[p], |_| 1)).unwrap();
    let cap = cap.to_str().unwrap();
    let verdict = |rules: &str| {
        let rp = write("r.rules.v4", rules);
        let (code, out, err) = run(&[
            &rp,
            "--pcap",
            cap,
            "--host-config",
            &cfg,
            "--format",
            "json",
        ]);
        assert!(code.is_some(), "{err}");
        let line = out
            .lines()
            .find(|l| l.contains("\"type\":\"packet\""))
            .expect("packet")
            .to_string();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        (
            v["verdict"].as_str().unwrap().to_string(),
            v["certain"].as_bool().unwrap(),
        )
    };
    assert_eq!(verdict(R), ("ACCEPT".to_string(), true));
    assert_eq!(verdict(&marks), ("DROP".to_string(), false));
}

/// The interface lockout and expectations run on is the one the hooks see most packets on:
/// a bridge port's packets are the bridge's.
#[test]
fn the_main_interface_of_a_bridge_port_capture_is_the_bridge() {
    let rules = rules_file();
    let rp = rules.path().to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pkts = sample_packets();
    let cap = dir.path().join("c.pcapng");
    std::fs::write(
        &cap,
        ng(&[("veth1", 1), ("eth0", 1)], &pkts, |i| (i % 4 == 0) as u32),
    )
    .unwrap();
    let cfg = dir.path().join("host.json");
    std::fs::write(
        &cfg,
        r#"[{"ifname":"br0","addr_info":[{"family":"inet","local":"203.0.113.10","prefixlen":24}]},
            {"ifname":"veth1","master":"br0","addr_info":[]},
            {"ifname":"eth0","addr_info":[]}]"#,
    )
    .unwrap();
    let (code, _, err) = run(&[
        rp,
        "--pcap",
        cap.to_str().unwrap(),
        "--host-config",
        cfg.to_str().unwrap(),
    ]);
    assert!(code.is_some(), "{err}");
    assert!(err.contains("lockout and expectations use br0"), "{err}");
}
