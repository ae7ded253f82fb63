//! Extension targets, one file each, mirroring iptables' `libxt_NAME.c`/`libipt_NAME.c` and the
//! kernel's `xt_NAME.c`/`ipt_NAME.c`.

pub mod log;
pub mod reject;
