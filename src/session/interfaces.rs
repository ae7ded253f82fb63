//! What a replayed capture says about interfaces: which names its packets were seen on (pcapng
//! `if_name`, SLL2 indexes) and which interfaces the rules name that no packet was seen on.

use crate::engine::SimEnv;
use crate::lint::Loaded;
use crate::packet::capture::CaptureInterface;
use crate::replay::{self, ReplayStats};

/// After replaying a capture: the notices (without the `fwcheck: ` prefix) saying once which
/// interface names the packets were seen on, and warning about interfaces the rules name that
/// no packet was seen on; and the name most packets were captured on when it comes from the
/// capture (the checks without a capture then use it). `other_file`: the rules are the second
/// ruleset of a two-family replay, named in the warnings; the capture's interfaces are told
/// with the first.
pub(crate) fn interface_notices(
    loaded: &Loaded,
    stats: &ReplayStats,
    env: &SimEnv,
    other_file: Option<&str>,
) -> (Vec<String>, Option<String>) {
    let mut notices = Vec::new();
    let ci = &stats.interfaces;
    let used: Vec<_> = ci.interfaces.iter().filter(|i| i.packets > 0).collect();
    let sections = used.iter().any(|i| i.section > 0);
    let label = |i: &CaptureInterface| {
        if sections {
            format!("section {}, if {}", i.section, i.id)
        } else {
            format!("if {}", i.id)
        }
    };
    let mut main_name = None;
    if env.iface_from_capture && ci.named() && other_file.is_none() {
        let parts: Vec<String> = used
            .iter()
            .map(|i| {
                let n = i.packets;
                let pk = if n == 1 { "packet" } else { "packets" };
                match (&i.name, &i.recorded_name) {
                    (Some(name), _) => format!("{name} ({}, {n} {pk})", label(i)),
                    (None, Some(r)) if r == "any" => format!(
                        "any ({}, {n} {pk}: libpcap's any device, seen as {})",
                        label(i),
                        env.iface
                    ),
                    (None, Some(r)) => format!(
                        "{r:?} ({}, {n} {pk}: not a Linux interface name, seen as {})",
                        label(i),
                        env.iface
                    ),
                    (None, None) => {
                        format!("{} ({n} {pk}: no name, seen as {})", label(i), env.iface)
                    }
                }
            })
            .collect();
        // The first of the named interfaces with the most packets — as the hooks see it: a
        // bridge's or bond's port stands for its master.
        let best = used
            .iter()
            .filter(|i| i.name.is_some())
            .rev()
            .max_by_key(|i| i.packets)
            .and_then(|i| i.name.as_deref())
            .map(|n| env.host.ip_master(n).unwrap_or(n).to_string());
        let gate = match (&best, used.len() > 1) {
            (Some(b), true) => format!("; lockout and expectations use {b}"),
            _ => String::new(),
        };
        notices.push(format!(
            "interfaces from the capture: {}{gate}; use --iface NAME to see every packet on one",
            parts.join(", ")
        ));
        main_name = best;
    } else if !env.iface_from_capture && ci.named() {
        let names: Vec<String> = used
            .iter()
            .filter_map(|i| i.name.as_ref().map(|n| format!("{n} ({})", label(i))))
            .collect();
        notices.push(format!(
            "every packet is seen on {} (--iface); the capture names {}",
            env.iface,
            names.join(", ")
        ));
    }
    let unnamed: Vec<(u32, u64)> = ci
        .ifindexes
        .iter()
        .copied()
        .filter(|(i, _)| env.host.ifname_of(*i).is_none())
        .collect();
    if env.iface_from_capture && !unnamed.is_empty() {
        let ix: Vec<String> = unnamed.iter().map(|(i, _)| i.to_string()).collect();
        let n: u64 = unnamed.iter().map(|(_, n)| n).sum();
        notices.push(format!(
            "{n} packets carry a Linux cooked (SLL2) interface index ({}) but no interface \
             name; they are seen on {} (use --iface NAME to name it, or --host-config with \
             `ip -j addr`, whose ifindex names each)",
            ix.join(", "),
            env.iface
        ));
    }
    // No name in the capture: its packets are on the device holding the host's address, when
    // the host configuration gives one (`HostOptions::env`); said when it is not the `eth0`
    // such packets were seen on before.
    if env.iface_from_capture
        && !ci.named()
        && ci.ifindexes.is_empty()
        && stats.packets > 0
        && other_file.is_none()
        && env.iface != "eth0"
        && env.host.main_device(&env.hosts) == Some(env.iface.as_str())
    {
        notices.push(format!(
            "the capture names no interface: its packets are seen on {}, the device holding \
             the host's address (--host-config); use --iface NAME to choose another",
            env.iface
        ));
    }
    if stats.packets == 0 {
        return (notices, main_name);
    }
    let seen = replay::interfaces_seen(stats, env);
    // Cooked captures' indexes the host configuration named are names too.
    let named_by_host = ci
        .ifindexes
        .iter()
        .any(|(i, _)| env.host.ifname_of(*i).is_some());
    let hint = if env.iface_from_capture && !ci.named() && !named_by_host {
        "; the capture names no interface: use --iface NAME"
    } else {
        ""
    };
    for u in replay::rules_naming_unseen(&loaded.ruleset, &seen) {
        let lines: Vec<String> = u.lines.iter().map(|l| l.to_string()).collect();
        let which = if lines.len() == 1 { "line" } else { "lines" };
        let rules = match other_file {
            Some(f) => format!("rules of {f}"),
            None => "rules".to_string(),
        };
        notices.push(format!(
            "warning: {rules} name interface {} ({which} {}) but no packet of the capture \
             was seen on it (interfaces seen: {}{hint})",
            u.name,
            lines.join(", "),
            seen.join(", ")
        ));
    }
    (notices, main_name)
}
