//! Extension targets, one file each, mirroring iptables' `libxt_NAME.c`/`libipt_NAME.c` and the
//! kernel's `xt_NAME.c`/`ipt_NAME.c` (DNAT and SNAT share `nat`, as they share libxt_NAT.c);
//! `common` holds the value parsers they share.

pub mod audit;
pub mod checksum;
pub mod classify;
pub mod common;
pub mod connmark;
pub mod connsecmark;
pub mod ct;
pub mod dscp;
pub mod log;
pub mod mark;
pub mod masquerade;
pub mod nat;
pub mod netmap;
pub mod nflog;
pub mod nfqueue;
pub mod notrack;
pub mod redirect;
pub mod reject;
pub mod secmark;
pub mod set;
pub mod synproxy;
pub mod tcpmss;
pub mod tee;
pub mod tos;
pub mod tproxy;
pub mod trace;
pub mod ttl;
pub mod ulog;
