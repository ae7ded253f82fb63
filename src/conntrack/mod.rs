//! Connection tracking: an emulator of the kernel's `nf_conntrack` — tuples, directions,
//! ctinfo, status bits, per-protocol trackers and timeouts — driven by capture time.
//!
//! Entries are created unconfirmed for the first packet of a connection and only inserted when
//! that packet survives every table ([`Conntrack::confirm`]), as `__nf_conntrack_confirm` does.
//! Updates to confirmed entries happen at lookup time, before filtering, and persist even when
//! the packet is dropped later.

use std::net::IpAddr;

use serde::Serialize;

pub mod table;
pub mod tcp;
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
}

impl Default for Params {
    fn default() -> Self {
        Params {
            hz: 250,
            tcp_loose: true,
            tcp_be_liberal: false,
            tcp_ignore_invalid_rst: false,
            tcp_max_retrans: 3,
            checksum: true,
        }
    }
}
