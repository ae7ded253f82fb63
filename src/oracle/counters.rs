//! Per-namespace IP statistics (`/proc/thread-self/net/{snmp,netstat,snmp6}`), used to explain
//! why an inbound packet was not delivered when netfilter is not the reason: the receive path
//! counts header errors, truncation and checksum errors; netfilter drops are counted nowhere
//! here. Also counts fragments entering reassembly.
//!
//! `/proc/thread-self` matters: `/proc/self/net` would show the namespace of the process's
//! main thread, not of the oracle thread that unshared its own namespace.

use std::collections::BTreeMap;

/// The counters that only ever move synchronously while a received packet is processed.
pub(crate) const V4_RX_ERRORS: &[&str] = &[
    "Ip:InHdrErrors",
    "Ip:InAddrErrors",
    "IpExt:InTruncatedPkts",
    "IpExt:InCsumErrors",
    "IpExt:InNoRoutes",
];
pub(crate) const V6_RX_ERRORS: &[&str] = &[
    "Ip6InHdrErrors",
    "Ip6InAddrErrors",
    "Ip6InTruncatedPkts",
    "Ip6InNoRoutes",
    "Ip6InDiscards",
];
/// Counted once a packet passed every LOCAL_IN hook: delivered to a protocol or raw socket, or
/// found no handler for its protocol (the latter still passed netfilter).
pub(crate) const V4_DELIVERED: &[&str] = &["Ip:InDelivers", "Ip:InUnknownProtos"];
pub(crate) const V6_DELIVERED: &[&str] = &["Ip6InDelivers", "Ip6InUnknownProtos"];
pub(crate) const V4_REASM: &str = "Ip:ReasmReqds";
pub(crate) const V6_REASM: &str = "Ip6ReasmReqds";
pub(crate) const V4_REASM_OK: &str = "Ip:ReasmOKs";
pub(crate) const V6_REASM_OK: &str = "Ip6ReasmOKs";
pub(crate) const ICMP6_IN: &str = "Icmp6InMsgs";

/// A snapshot of named counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Snapshot(pub BTreeMap<String, u64>);

impl Snapshot {
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// Sum of the counters `names`.
    pub fn sum(&self, names: &[&str]) -> u64 {
        names.iter().map(|n| self.get(n)).sum()
    }

    /// `"Name+N"` for every counter of `names` that grew since `before`.
    pub fn grown(&self, before: &Snapshot, names: &[&str]) -> Vec<String> {
        names
            .iter()
            .filter_map(|n| {
                let d = self.get(n).saturating_sub(before.get(n));
                (d > 0).then(|| format!("{}+{d}", n.rsplit(':').next().unwrap_or(n)))
            })
            .collect()
    }
}

/// Parse the two-line-per-group format of `snmp`/`netstat` ("Ip: names…" / "Ip: values…").
fn parse_paired(text: &str, into: &mut BTreeMap<String, u64>) {
    let mut lines = text.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        let (Some((g1, names)), Some((g2, values))) =
            (names.split_once(':'), values.split_once(':'))
        else {
            continue;
        };
        if g1 != g2 {
            continue;
        }
        for (n, v) in names.split_whitespace().zip(values.split_whitespace()) {
            if let Ok(v) = v.parse::<u64>() {
                into.insert(format!("{g1}:{n}"), v);
            }
        }
    }
}

/// Read the IPv4 counters of the calling thread's namespace.
pub(crate) fn read_v4() -> Snapshot {
    let mut m = BTreeMap::new();
    for f in ["snmp", "netstat"] {
        if let Ok(t) = std::fs::read_to_string(format!("/proc/thread-self/net/{f}")) {
            parse_paired(&t, &mut m);
        }
    }
    Snapshot(m)
}

/// Read the IPv6 counters of the calling thread's namespace.
pub(crate) fn read_v6() -> Snapshot {
    let mut m = BTreeMap::new();
    if let Ok(t) = std::fs::read_to_string("/proc/thread-self/net/snmp6") {
        for line in t.lines() {
            let mut it = line.split_whitespace();
            if let (Some(n), Some(v)) = (it.next(), it.next()) {
                if let Ok(v) = v.parse() {
                    m.insert(n.to_string(), v);
                }
            }
        }
    }
    Snapshot(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired() {
        let mut m = BTreeMap::new();
        parse_paired(
            "Ip: Forwarding InHdrErrors\nIp: 2 7\nIcmp: InMsgs\nIcmp: 3\n",
            &mut m,
        );
        assert_eq!(m["Ip:InHdrErrors"], 7);
        assert_eq!(m["Icmp:InMsgs"], 3);
        let a = Snapshot(m.clone());
        m.insert("Ip:InHdrErrors".into(), 9);
        let b = Snapshot(m);
        assert_eq!(
            b.grown(&a, &["Ip:InHdrErrors", "Icmp:InMsgs"]),
            vec!["InHdrErrors+2"]
        );
    }
}
