//! Extension targets, one file each, mirroring iptables' `libxt_NAME.c`/`libipt_NAME.c` and the
//! kernel's `xt_NAME.c`/`ipt_NAME.c` (DNAT and SNAT share `nat`, as they share libxt_NAT.c);
//! `common` holds the value parsers they share.

pub(crate) mod audit;
pub mod checksum;
pub mod classify;
pub mod common;
pub mod connmark;
pub(crate) mod connsecmark;
pub mod ct;
pub mod dscp;
pub(crate) mod ecn;
pub mod log;
pub mod mark;
pub(crate) mod masquerade;
pub mod nat;
pub(crate) mod netmap;
pub(crate) mod nflog;
pub(crate) mod nfqueue;
pub mod notrack;
pub mod redirect;
pub mod reject;
pub(crate) mod secmark;
pub mod set;
pub(crate) mod synproxy;
pub(crate) mod tcpmss;
pub(crate) mod tee;
pub mod tos;
pub(crate) mod tproxy;
pub mod trace;
pub mod ttl;
pub(crate) mod ulog;
