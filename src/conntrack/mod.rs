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
pub mod sctp;
pub mod table;
pub mod tcp;
pub mod tftp;
pub mod track;

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
    pub fn state_bit(self) -> u32 {
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
}

/// `enum ip_conntrack_status` bits.
pub mod status {
    pub const EXPECTED: u32 = 1 << 0;
    pub const SEEN_REPLY: u32 = 1 << 1;
    pub const ASSURED: u32 = 1 << 2;
    pub const CONFIRMED: u32 = 1 << 3;
    pub const SRC_NAT: u32 = 1 << 4;
    pub const DST_NAT: u32 = 1 << 5;
    pub const SRC_NAT_DONE: u32 = 1 << 7;
    pub const DST_NAT_DONE: u32 = 1 << 8;
}

/// A conntrack tuple. For ICMP, `sport` holds the echo id and `dport` holds `type << 8 | code`
/// (as `tuple.src.u.icmp.id` / `tuple.dst.u.icmp.{type,code}`); generic protocols use 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    /// Conntrack zone (`CT --zone`), part of every lookup.
    pub zone: u16,
}

impl Tuple {
    pub fn icmp_type(&self) -> u8 {
        (self.dport >> 8) as u8
    }
    pub fn icmp_code(&self) -> u8 {
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
    pub fn state_bit(&self) -> u32 {
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
            ct_max: DEFAULT_CT_MAX,
            ct_buckets: DEFAULT_CT_MAX,
        }
    }
}

/// Conntrack timeouts in seconds: the `net.netfilter.nf_conntrack_*timeout*` sysctls of a
/// network namespace, defaults as in the kernel. TCP's SYN_SENT2 state has no sysctl (120 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp_syn_sent: u64,
    pub tcp_syn_recv: u64,
    pub tcp_established: u64,
    pub tcp_fin_wait: u64,
    pub tcp_close_wait: u64,
    pub tcp_last_ack: u64,
    pub tcp_time_wait: u64,
    pub tcp_close: u64,
    /// `nf_conntrack_tcp_timeout_max_retrans` (also used for a zero window).
    pub tcp_max_retrans: u64,
    pub tcp_unacknowledged: u64,
    pub udp: u64,
    pub udp_stream: u64,
    pub icmp: u64,
    pub icmpv6: u64,
    pub generic: u64,
    pub gre: u64,
    pub gre_stream: u64,
    pub sctp_closed: u64,
    pub sctp_cookie_wait: u64,
    pub sctp_cookie_echoed: u64,
    pub sctp_established: u64,
    pub sctp_shutdown_sent: u64,
    pub sctp_shutdown_recd: u64,
    pub sctp_shutdown_ack_sent: u64,
    pub sctp_heartbeat_sent: u64,
    /// Fragment reassembly in front of conntrack: `net.ipv4.ipfrag_time` (IPv4) and
    /// `net.netfilter.nf_conntrack_frag6_timeout` (IPv6).
    pub frag4: u64,
    pub frag6: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp_syn_sent: 120,
            tcp_syn_recv: 60,
            tcp_established: 432_000,
            tcp_fin_wait: 120,
            tcp_close_wait: 60,
            tcp_last_ack: 30,
            tcp_time_wait: 120,
            tcp_close: 10,
            tcp_max_retrans: 300,
            tcp_unacknowledged: 300,
            udp: 30,
            udp_stream: 120,
            icmp: 30,
            icmpv6: 30,
            generic: 600,
            gre: 30,
            gre_stream: 180,
            sctp_closed: 10,
            sctp_cookie_wait: 3,
            sctp_cookie_echoed: 3,
            sctp_established: 210,
            sctp_shutdown_sent: 3,
            sctp_shutdown_recd: 3,
            sctp_shutdown_ack_sent: 3,
            sctp_heartbeat_sent: 30,
            frag4: 30,
            frag6: 60,
        }
    }
}

impl Timeouts {
    /// Every timeout with its short name (the sysctl name without `nf_conntrack_` and
    /// `_timeout`, e.g. `udp_stream`, `tcp_time_wait`) and its sysctl key.
    pub fn entries(&self) -> Vec<(&'static str, &'static str, u64)> {
        vec![
            (
                "tcp_syn_sent",
                "net.netfilter.nf_conntrack_tcp_timeout_syn_sent",
                self.tcp_syn_sent,
            ),
            (
                "tcp_syn_recv",
                "net.netfilter.nf_conntrack_tcp_timeout_syn_recv",
                self.tcp_syn_recv,
            ),
            (
                "tcp_established",
                "net.netfilter.nf_conntrack_tcp_timeout_established",
                self.tcp_established,
            ),
            (
                "tcp_fin_wait",
                "net.netfilter.nf_conntrack_tcp_timeout_fin_wait",
                self.tcp_fin_wait,
            ),
            (
                "tcp_close_wait",
                "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
                self.tcp_close_wait,
            ),
            (
                "tcp_last_ack",
                "net.netfilter.nf_conntrack_tcp_timeout_last_ack",
                self.tcp_last_ack,
            ),
            (
                "tcp_time_wait",
                "net.netfilter.nf_conntrack_tcp_timeout_time_wait",
                self.tcp_time_wait,
            ),
            (
                "tcp_close",
                "net.netfilter.nf_conntrack_tcp_timeout_close",
                self.tcp_close,
            ),
            (
                "tcp_max_retrans",
                "net.netfilter.nf_conntrack_tcp_timeout_max_retrans",
                self.tcp_max_retrans,
            ),
            (
                "tcp_unacknowledged",
                "net.netfilter.nf_conntrack_tcp_timeout_unacknowledged",
                self.tcp_unacknowledged,
            ),
            ("udp", "net.netfilter.nf_conntrack_udp_timeout", self.udp),
            (
                "udp_stream",
                "net.netfilter.nf_conntrack_udp_timeout_stream",
                self.udp_stream,
            ),
            ("icmp", "net.netfilter.nf_conntrack_icmp_timeout", self.icmp),
            (
                "icmpv6",
                "net.netfilter.nf_conntrack_icmpv6_timeout",
                self.icmpv6,
            ),
            (
                "generic",
                "net.netfilter.nf_conntrack_generic_timeout",
                self.generic,
            ),
            ("gre", "net.netfilter.nf_conntrack_gre_timeout", self.gre),
            (
                "gre_stream",
                "net.netfilter.nf_conntrack_gre_timeout_stream",
                self.gre_stream,
            ),
            (
                "sctp_closed",
                "net.netfilter.nf_conntrack_sctp_timeout_closed",
                self.sctp_closed,
            ),
            (
                "sctp_cookie_wait",
                "net.netfilter.nf_conntrack_sctp_timeout_cookie_wait",
                self.sctp_cookie_wait,
            ),
            (
                "sctp_cookie_echoed",
                "net.netfilter.nf_conntrack_sctp_timeout_cookie_echoed",
                self.sctp_cookie_echoed,
            ),
            (
                "sctp_established",
                "net.netfilter.nf_conntrack_sctp_timeout_established",
                self.sctp_established,
            ),
            (
                "sctp_shutdown_sent",
                "net.netfilter.nf_conntrack_sctp_timeout_shutdown_sent",
                self.sctp_shutdown_sent,
            ),
            (
                "sctp_shutdown_recd",
                "net.netfilter.nf_conntrack_sctp_timeout_shutdown_recd",
                self.sctp_shutdown_recd,
            ),
            (
                "sctp_shutdown_ack_sent",
                "net.netfilter.nf_conntrack_sctp_timeout_shutdown_ack_sent",
                self.sctp_shutdown_ack_sent,
            ),
            (
                "sctp_heartbeat_sent",
                "net.netfilter.nf_conntrack_sctp_timeout_heartbeat_sent",
                self.sctp_heartbeat_sent,
            ),
            ("frag4", "net.ipv4.ipfrag_time", self.frag4),
            (
                "frag6",
                "net.netfilter.nf_conntrack_frag6_timeout",
                self.frag6,
            ),
        ]
    }

    /// Set one timeout by its short name (see [`Timeouts::entries`]); `Err` names the known
    /// ones. For a command line such as `--ct-timeout udp=10`.
    pub fn set(&mut self, name: &str, secs: u64) -> Result<(), String> {
        let slot = match name {
            "tcp_syn_sent" => &mut self.tcp_syn_sent,
            "tcp_syn_recv" => &mut self.tcp_syn_recv,
            "tcp_established" => &mut self.tcp_established,
            "tcp_fin_wait" => &mut self.tcp_fin_wait,
            "tcp_close_wait" => &mut self.tcp_close_wait,
            "tcp_last_ack" => &mut self.tcp_last_ack,
            "tcp_time_wait" => &mut self.tcp_time_wait,
            "tcp_close" => &mut self.tcp_close,
            "tcp_max_retrans" => &mut self.tcp_max_retrans,
            "tcp_unacknowledged" => &mut self.tcp_unacknowledged,
            "udp" => &mut self.udp,
            "udp_stream" => &mut self.udp_stream,
            "icmp" => &mut self.icmp,
            "icmpv6" => &mut self.icmpv6,
            "generic" => &mut self.generic,
            "gre" => &mut self.gre,
            "gre_stream" => &mut self.gre_stream,
            "sctp_closed" => &mut self.sctp_closed,
            "sctp_cookie_wait" => &mut self.sctp_cookie_wait,
            "sctp_cookie_echoed" => &mut self.sctp_cookie_echoed,
            "sctp_established" => &mut self.sctp_established,
            "sctp_shutdown_sent" => &mut self.sctp_shutdown_sent,
            "sctp_shutdown_recd" => &mut self.sctp_shutdown_recd,
            "sctp_shutdown_ack_sent" => &mut self.sctp_shutdown_ack_sent,
            "sctp_heartbeat_sent" => &mut self.sctp_heartbeat_sent,
            "frag4" => &mut self.frag4,
            "frag6" => &mut self.frag6,
            _ => {
                let names: Vec<&str> = self.entries().iter().map(|e| e.0).collect();
                return Err(format!(
                    "unknown conntrack timeout '{name}' (expected one of: {})",
                    names.join(", ")
                ));
            }
        };
        *slot = secs;
        Ok(())
    }

    /// The timeout of a TCP state, in seconds (`tcp_timeouts[state]`).
    pub fn tcp_state(&self, s: tcp::TcpState) -> u64 {
        use tcp::TcpState as T;
        match s {
            T::None => 0,
            T::SynSent => self.tcp_syn_sent,
            T::SynRecv => self.tcp_syn_recv,
            T::Established => self.tcp_established,
            T::FinWait => self.tcp_fin_wait,
            T::CloseWait => self.tcp_close_wait,
            T::LastAck => self.tcp_last_ack,
            T::TimeWait => self.tcp_time_wait,
            T::Close => self.tcp_close,
            T::SynSent2 => 120,
        }
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
}
