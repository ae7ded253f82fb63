//! Connection tracking: an emulator of the kernel's `nf_conntrack` — tuples, directions,
//! ctinfo, status bits, per-protocol trackers and timeouts — driven by capture time.
//!
//! Entries are created unconfirmed for the first packet of a connection and only inserted when
//! that packet survives every table ([`Conntrack::confirm`]), as `__nf_conntrack_confirm` does.
//! Updates to confirmed entries happen at lookup time, before filtering, and persist even when
//! the packet is dropped later.

use std::net::IpAddr;

use serde::Serialize;

pub mod expect;
pub mod ftp;
pub mod helper;
pub mod proto;
pub mod table;
pub mod tftp;
pub(crate) mod track;

pub(crate) use expect::FollowNat;
pub use proto::{invert, sctp, tcp, tracker, L4Tracker, TimeoutDef, TimeoutSlot};
pub use table::*;
pub use track::*;

/// Direction of a packet relative to its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CtDir {
    Original,
    Reply,
}

/// `enum ip_conntrack_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtInfo {
    Established,
    Related,
    New,
    EstablishedReply,
    RelatedReply,
}

impl CtInfo {
    pub fn dir(self) -> CtDir {
        match self {
            CtInfo::EstablishedReply | CtInfo::RelatedReply => CtDir::Reply,
            _ => CtDir::Original,
        }
    }
    /// The state-match bit (`XT_STATE_BIT(ctinfo)`).
    pub(crate) fn state_bit(self) -> u32 {
        match self {
            CtInfo::Established | CtInfo::EstablishedReply => state::ESTABLISHED,
            CtInfo::Related | CtInfo::RelatedReply => state::RELATED,
            CtInfo::New => state::NEW,
        }
    }
}

/// State bits as `xt_conntrack` uses them (`XT_CONNTRACK_STATE_*`).
pub mod state {
    pub const INVALID: u32 = 1 << 0;
    pub const ESTABLISHED: u32 = 1 << 1;
    pub const RELATED: u32 = 1 << 2;
    pub const NEW: u32 = 1 << 3;
    pub const SNAT: u32 = 1 << 6;
    pub const DNAT: u32 = 1 << 7;
    pub const UNTRACKED: u32 = 1 << 8;

    /// The virtual states of a tracked connection whose status is `status`: SNAT and DNAT for
    /// `IPS_SRC_NAT` and `IPS_DST_NAT` (`conntrack_mt`).
    pub(crate) fn nat(status: u32) -> u32 {
        use super::status::{DST_NAT, SRC_NAT};
        (if status & SRC_NAT != 0 { SNAT } else { 0 })
            | (if status & DST_NAT != 0 { DNAT } else { 0 })
    }
}

/// `enum ip_conntrack_status` bits.
pub mod status {
    pub const EXPECTED: u32 = 1 << 0;
    pub(crate) const SEEN_REPLY: u32 = 1 << 1;
    pub const ASSURED: u32 = 1 << 2;
    pub(crate) const CONFIRMED: u32 = 1 << 3;
    pub(crate) const SRC_NAT: u32 = 1 << 4;
    pub(crate) const DST_NAT: u32 = 1 << 5;
    /// `IPS_SEQ_ADJUST`: a NAT helper changed a segment's length (`nf_ct_seqadj_set`).
    pub(crate) const SEQ_ADJUST: u32 = 1 << 6;
    pub(crate) const SRC_NAT_DONE: u32 = 1 << 7;
    pub(crate) const DST_NAT_DONE: u32 = 1 << 8;
    /// `IPS_TEMPLATE`: a `CT` target's template.
    pub(crate) const TEMPLATE: u32 = 1 << 11;
}

/// A conntrack tuple. For ICMP, `sport` holds the echo id and `dport` holds `type << 8 | code`
/// (as `tuple.src.u.icmp.id` / `tuple.dst.u.icmp.{type,code}`); generic protocols use 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    /// Conntrack zone (`CT --zone`), part of every lookup.
    pub zone: u16,
}

/// Hashed as whole words (the addresses' bits, then protocol, ports and zone in one word):
/// the per-packet lookup's key, where the derived field-by-field hash cost a write per byte
/// array, length and discriminant. Equal tuples hash equally; a v4 and a v6 address with the
/// same low bits still differ in the last word's family bit.
impl std::hash::Hash for Tuple {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let v6 = |a: &IpAddr| match a {
            IpAddr::V4(a) => (false, u32::from(*a) as u128),
            IpAddr::V6(a) => (true, u128::from(*a)),
        };
        let ((s6, s), (d6, d)) = (v6(&self.src), v6(&self.dst));
        if s6 || d6 {
            h.write_u128(s);
            h.write_u128(d);
        } else {
            h.write_u64((s as u64) << 32 | d as u64);
        }
        h.write_u64(
            (self.proto as u64) << 48
                | (self.sport as u64) << 32
                | (self.dport as u64) << 16
                | self.zone as u64
                | (s6 as u64) << 56
                | (d6 as u64) << 57,
        );
    }
}

impl Tuple {
    pub fn icmp_type(&self) -> u8 {
        (self.dport >> 8) as u8
    }
    pub(crate) fn icmp_code(&self) -> u8 {
        self.dport as u8
    }
}

/// What conntrack attached to a packet (`skb->_nfct` + ctinfo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Attach {
    /// No conntrack: conntrack is not active in this ruleset, or the packet has not reached the
    /// conntrack hook yet (raw table), or it was classified INVALID.
    #[default]
    None,
    /// Marked by NOTRACK / `CT --notrack`, or an untracked ICMPv6 type.
    Untracked,
    /// A connection, confirmed or still pending confirmation.
    Ct { id: CtId, info: CtInfo },
}

impl Attach {
    /// The bit `xt_state`/`xt_conntrack` compute (INVALID when there is no ct).
    pub(crate) fn state_bit(&self) -> u32 {
        match self {
            Attach::None => state::INVALID,
            Attach::Untracked => state::UNTRACKED,
            Attach::Ct { info, .. } => info.state_bit(),
        }
    }
    pub fn info(&self) -> Option<CtInfo> {
        match self {
            Attach::Ct { info, .. } => Some(*info),
            _ => None,
        }
    }
}

/// Handle of an entry in a [`Conntrack`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CtId(pub u32);

/// Conntrack sysctls and the kernel's HZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub hz: u32,
    /// `nf_conntrack_tcp_loose`.
    pub tcp_loose: bool,
    /// `nf_conntrack_tcp_be_liberal`.
    pub tcp_be_liberal: bool,
    /// `nf_conntrack_tcp_ignore_invalid_rst`.
    pub tcp_ignore_invalid_rst: bool,
    /// `nf_conntrack_tcp_max_retrans`.
    pub tcp_max_retrans: u8,
    /// `nf_conntrack_checksum`.
    pub checksum: bool,
    /// Which packets' transport checksums are verified at all (`skb->ip_summed`).
    pub checksums: crate::packet::ChecksumMode,
    /// The per-protocol timeouts (`nf_conntrack_*_timeout*`).
    pub timeouts: Timeouts,
    /// `net.netfilter.nf_conntrack_max` (0: no limit).
    pub ct_max: u32,
    /// `net.netfilter.nf_conntrack_buckets` (the hash size `early_drop` scans).
    pub ct_buckets: u32,
    /// The kernel tracked the connections open when the capture began
    /// (`SimEnv::conntrack_tracked_at_start`).
    pub tracked_at_start: bool,
}

/// The kernel's default `nf_conntrack_buckets` and `nf_conntrack_max` on a 64-bit host with
/// more than 4 GiB of memory (`nf_conntrack_init_start`: 262,144 buckets, max = buckets).
pub const DEFAULT_CT_MAX: u32 = 262_144;

impl Default for Params {
    fn default() -> Self {
        Params {
            hz: 250,
            tcp_loose: true,
            tcp_be_liberal: false,
            tcp_ignore_invalid_rst: false,
            tcp_max_retrans: 3,
            checksum: true,
            checksums: crate::packet::ChecksumMode::default(),
            timeouts: Timeouts::default(),
            tracked_at_start: false,
            ct_max: DEFAULT_CT_MAX,
            ct_buckets: DEFAULT_CT_MAX,
        }
    }
}

/// Conntrack timeouts in seconds: the `net.netfilter.nf_conntrack_*timeout*` sysctls of a
/// network namespace, defaults as in the kernel, and fragment reassembly's. Each tracker
/// declares the ones it owns ([`proto::L4Tracker::timeouts`]); the values are an array in
/// `proto::TIMEOUT_TABLES` order, read with the trackers' [`TimeoutSlot`] constants. TCP's
/// SYN_SENT2 state has no sysctl (120 s).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Timeouts([u64; proto::TIMEOUT_COUNT]);

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts(proto::TIMEOUT_DEFAULTS)
    }
}

impl std::fmt::Debug for Timeouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Timeouts");
        for (def, v) in proto::TIMEOUT_DEFS.iter().zip(&self.0) {
            d.field(def.name, v);
        }
        d.finish()
    }
}

/// The slot of IPv4 fragment reassembly's timeout (`net.ipv4.ipfrag_time`).
pub(crate) const FRAG4_TIMEOUT: TimeoutSlot = TimeoutSlot::named("frag4");
/// The slot of IPv6 fragment reassembly's timeout (`nf_conntrack_frag6_timeout`).
pub(crate) const FRAG6_TIMEOUT: TimeoutSlot = TimeoutSlot::named("frag6");

impl Timeouts {
    /// One timeout, in seconds.
    #[inline]
    pub fn get(&self, slot: TimeoutSlot) -> u64 {
        self.0[slot.index()]
    }

    /// Every timeout with its short name (the sysctl name without `nf_conntrack_` and
    /// `_timeout`, e.g. `udp_stream`, `tcp_time_wait`) and its sysctl key.
    pub fn entries(&self) -> Vec<(&'static str, &'static str, u64)> {
        proto::TIMEOUT_DEFS
            .iter()
            .zip(self.0)
            .map(|(d, v)| (d.name, d.sysctl, v))
            .collect()
    }

    /// The names `--ct-timeout` takes, in order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        proto::TIMEOUT_DEFS.iter().map(|d| d.name)
    }

    /// Set one timeout by its short name (see [`Timeouts::entries`]); `Err` names the known
    /// ones. For a command line such as `--ct-timeout udp=10`.
    pub fn set(&mut self, name: &str, secs: u64) -> Result<(), String> {
        match proto::TIMEOUT_DEFS.iter().position(|d| d.name == name) {
            Some(i) => {
                self.0[i] = secs;
                Ok(())
            }
            None => {
                let names: Vec<&str> = Self::names().collect();
                Err(format!(
                    "unknown conntrack timeout '{name}' (expected one of: {})",
                    names.join(", ")
                ))
            }
        }
    }

    /// The timeouts as the README's table (name, sysctl, kernel default, what it applies
    /// to), generated from the trackers' tables.
    pub fn markdown_table() -> String {
        let mut s =
            String::from("| name | sysctl | default (s) | applies to |\n|---|---|---|---|\n");
        for d in &proto::TIMEOUT_DEFS {
            s += &format!(
                "| `{}` | `{}` | {} | {} |\n",
                d.name, d.sysctl, d.default, d.doc
            );
        }
        s
    }

    /// The timeouts for `--help`: one line each, name, kernel default and what it applies to.
    pub fn help_text() -> String {
        let mut s = String::new();
        for d in &proto::TIMEOUT_DEFS {
            s += &format!("\n  {} ({} s): {}", d.name, d.default, d.doc);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every knob has a sysctl, and `set` knows every name `entries` lists (and only those).
    #[test]
    fn timeout_names_and_sysctls_agree() {
        let d = Timeouts::default();
        let e = d.entries();
        assert_eq!(e.len(), 27);
        for (i, (name, key, secs)) in e.iter().enumerate() {
            assert!(key.starts_with("net."), "{key}");
            let mut t = d;
            t.set(name, secs + 7).unwrap();
            assert_eq!(t.entries()[i].2, secs + 7, "{name}");
            assert_ne!(t, d);
        }
        let mut t = d;
        assert!(t.set("udp_streams", 1).is_err());
    }

    /// The trackers' tables give exactly the timeouts, sysctls, defaults and order there were
    /// before the trackers owned them (the order is the one `--ct-timeout` errors list).
    #[test]
    fn timeout_tables_are_the_kernels_knobs() {
        let tcp = "net.netfilter.nf_conntrack_tcp_timeout_";
        let sctp = "net.netfilter.nf_conntrack_sctp_timeout_";
        let mut want: Vec<(String, String, u64)> = Vec::new();
        for (n, secs) in [
            ("syn_sent", 120),
            ("syn_recv", 60),
            ("established", 432_000),
            ("fin_wait", 120),
            ("close_wait", 60),
            ("last_ack", 30),
            ("time_wait", 120),
            ("close", 10),
            ("max_retrans", 300),
            ("unacknowledged", 300),
        ] {
            want.push((format!("tcp_{n}"), format!("{tcp}{n}"), secs));
        }
        for (n, key, secs) in [
            ("udp", "udp_timeout", 30),
            ("udp_stream", "udp_timeout_stream", 120),
            ("icmp", "icmp_timeout", 30),
            ("icmpv6", "icmpv6_timeout", 30),
            ("generic", "generic_timeout", 600),
            ("gre", "gre_timeout", 30),
            ("gre_stream", "gre_timeout_stream", 180),
        ] {
            want.push((n.into(), format!("net.netfilter.nf_conntrack_{key}"), secs));
        }
        for (n, secs) in [
            ("closed", 10),
            ("cookie_wait", 3),
            ("cookie_echoed", 3),
            ("established", 210),
            ("shutdown_sent", 3),
            ("shutdown_recd", 3),
            ("shutdown_ack_sent", 3),
            ("heartbeat_sent", 30),
        ] {
            want.push((format!("sctp_{n}"), format!("{sctp}{n}"), secs));
        }
        want.push(("frag4".into(), "net.ipv4.ipfrag_time".into(), 30));
        want.push((
            "frag6".into(),
            "net.netfilter.nf_conntrack_frag6_timeout".into(),
            60,
        ));
        let got: Vec<(String, String, u64)> = Timeouts::default()
            .entries()
            .into_iter()
            .map(|(n, k, s)| (n.to_string(), k.to_string(), s))
            .collect();
        assert_eq!(got, want);
        // Every tracker reads its own: the slots name what they read.
        let t = Timeouts::default();
        assert_eq!(t.get(tcp::TIMEOUT_CLOSE), 10);
        assert_eq!(t.get(proto::udp::TIMEOUT_REPLIED), 120);
        assert_eq!(t.get(proto::gre::TIMEOUT_REPLIED), 180);
        assert_eq!(t.get(sctp::TIMEOUT_HEARTBEAT_SENT), 30);
        assert_eq!(t.get(FRAG6_TIMEOUT), 60);
        assert_eq!(tcp::TcpState::SynSent2.timeout(&t), 120);
        assert_eq!(
            format!("{t:?}").split(", ").next(),
            Some("Timeouts { tcp_syn_sent: 120")
        );
    }

    /// README's table of timeouts is the one the trackers declare.
    #[test]
    fn readme_lists_the_trackers_timeouts() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README.md");
        let start = "<!-- ct-timeouts: generated from src/conntrack/proto/ -->\n";
        let i = readme
            .find(start)
            .expect("README: start marker of the timeouts")
            + start.len();
        let e = readme[i..]
            .find("<!-- end of ct-timeouts -->")
            .expect("README: end marker of the timeouts");
        let expected = Timeouts::markdown_table();
        assert!(
            readme[i..i + e] == expected,
            "README's conntrack timeouts differ from the trackers' tables; replace them with:\n{expected}"
        );
    }
}
