//! `-m physdev` on a host whose configuration lists a bridge: a frame that came in through one
//! of its ports carries the ports with `br_netfilter` (`br_nf_pre_routing` stores the input
//! port, `br_nf_forward_ip` the output port of a bridged frame): fwcheck follows them from the
//! port the capture shows the frame on and the bridge's learnt forwarding entries, and where it
//! cannot tell the output port a rule testing it is undecided, never a certain "not bridged"
//! answer. Data: a kernel hunt's lab (`tests/data/hunt/bridge-physdev/record.sh`: br0 with
//! ports h0 and h2, `bridge-nf-call-iptables=1`, captured on both ports), where the kernel
//! dropped frame 49 by FORWARD's policy and frame 102 by `--physdev-in h2 -j DROP` while
//! fwcheck once accepted both, certain.

mod common;

use serde_json::Value;

fn packets(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["rules", "--pcap", "ports.pcapng", "--router"];
    all.extend_from_slice(args);
    common::json_packets("tests/data/hunt/bridge-physdev", &all)
}

fn frame(v: &[Value], n: u64) -> &Value {
    v.iter().find(|r| r["frame"] == n).expect("the frame")
}

#[test]
fn physdev_rules_on_frames_through_a_listed_bridge_follow_the_ports() {
    let v = packets(&["--host-config", "host.json"]);
    // Frame 49 (p0's SYN to the VM's port 9999: no `--physdev-in h0 --physdev-out h2` for it,
    // FORWARD's policy) and frame 102 (the VM's SYN to the host: `--physdev-in h2 -j DROP`)
    // are dropped, certain, as the kernel dropped them.
    for n in [49, 102] {
        let r = frame(&v, n);
        assert_eq!(
            (&r["verdict"], &r["certain"]),
            (&"DROP".into(), &true.into()),
            "{r}"
        );
    }
    assert_eq!(frame(&v, 102)["rule"]["chain"], "INPUT");
    // Frame 9, p0's first SYN to the VM, leaves by the port the bridge learnt the VM's link
    // address behind from its ARP reply, which fwcheck does not learn from: undecided.
    let r = frame(&v, 9);
    assert_eq!(r["certain"], false, "{r}");
    assert!(
        r["reason"].as_str().unwrap_or("").contains("-m physdev"),
        "{r}"
    );
}

#[test]
fn without_a_listed_bridge_physdev_is_the_kernels_not_bridged_answer() {
    // Without the host configuration no bridge is known: every frame is taken as carrying no
    // bridge information, the kernel's answer for a routed packet, certain.
    let v = packets(&["--iface", "eth0"]);
    for r in &v {
        assert!(
            !r["reason"].as_str().unwrap_or("").contains("-m physdev"),
            "{r}"
        );
    }
    assert_eq!(frame(&v, 49)["certain"], true);
}
