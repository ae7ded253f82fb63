//! The kernel's vocabulary shared by every layer: address families, the iptables backend,
//! tables, hooks and hook masks, address/mask pairs and iptables' quoting of saved strings.
//!
//! Mirrors `include/uapi/linux/netfilter.h` (`NFPROTO_*`, `NF_INET_*` hooks),
//! `net/ipv4/netfilter/ip_tables.c` / `ip6_tables.c` (tables and their valid hooks, `ipt_ip`
//! address/mask pairs) and libxtables' `xtables_save_string`. It is the bottom floor: it imports
//! nothing from the crate, and every folder may use it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

/// Address family of a packet or ruleset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn number(self) -> u8 {
        match self {
            Family::V4 => 4,
            Family::V6 => 6,
        }
    }

    /// The command that manages this family's rules: `iptables` or `ip6tables`.
    pub(crate) fn program(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }
}

/// The two iptables implementations. They print the same rules but do not always load the
/// same kernel code: iptables-nft (Debian's and Ubuntu's default) turns `-m limit`, `-m mark`
/// and simple `-m tcp`/`-m udp` matches into native nftables expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    #[default]
    Nft,
    Legacy,
}

/// The five iptables tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    Raw,
    Mangle,
    Nat,
    Filter,
    Security,
}

impl TableKind {
    pub const ALL: [TableKind; 5] = [
        TableKind::Raw,
        TableKind::Mangle,
        TableKind::Nat,
        TableKind::Filter,
        TableKind::Security,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TableKind::Raw => "raw",
            TableKind::Mangle => "mangle",
            TableKind::Nat => "nat",
            TableKind::Filter => "filter",
            TableKind::Security => "security",
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<TableKind> {
        TableKind::ALL.into_iter().find(|t| t.name() == s)
    }

    /// Built-in chains of the table, in the order `iptables-save` prints them.
    pub(crate) fn builtin_hooks(self) -> &'static [Hook] {
        use Hook::*;
        match self {
            TableKind::Raw => &[Prerouting, Output],
            TableKind::Mangle => &[Prerouting, Input, Forward, Output, Postrouting],
            TableKind::Nat => &[Prerouting, Input, Output, Postrouting],
            TableKind::Filter | TableKind::Security => &[Input, Forward, Output],
        }
    }
}

impl fmt::Display for TableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Netfilter hooks, i.e. the built-in chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    pub const ALL: [Hook; 5] = [
        Hook::Prerouting,
        Hook::Input,
        Hook::Forward,
        Hook::Output,
        Hook::Postrouting,
    ];

    pub fn chain_name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }

    pub(crate) fn from_chain_name(s: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.chain_name() == s)
    }

    /// Bit for hook masks (`1 << NF_INET_*`).
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Hooks at which a packet has an input device.
    pub(crate) fn has_indev(self) -> bool {
        matches!(self, Hook::Prerouting | Hook::Input | Hook::Forward)
    }

    /// Hooks at which a packet has an output device.
    pub(crate) fn has_outdev(self) -> bool {
        matches!(self, Hook::Forward | Hook::Output | Hook::Postrouting)
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.chain_name())
    }
}

/// A set of hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HookMask(pub u8);

impl HookMask {
    pub const ALL: HookMask = HookMask(0x1f);
    pub fn of(hooks: &[Hook]) -> HookMask {
        HookMask(hooks.iter().fold(0, |m, h| m | h.bit()))
    }
    pub fn contains(self, h: Hook) -> bool {
        self.0 & h.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Hook> {
        Hook::ALL.into_iter().filter(move |h| self.contains(*h))
    }
}

/// An address with a (possibly non-contiguous) mask, for `-s`/`-d` and similar options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrMask {
    V4 { addr: u32, mask: u32 },
    V6 { addr: u128, mask: u128 },
}

impl AddrMask {
    /// Does `ip` fall in this address/mask? Family mismatch never matches.
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (AddrMask::V4 { addr, mask }, IpAddr::V4(a)) => u32::from(a) & mask == *addr,
            (AddrMask::V6 { addr, mask }, IpAddr::V6(a)) => u128::from(a) & mask == *addr,
            _ => false,
        }
    }

    /// The mask as a prefix length, if it is contiguous.
    pub(crate) fn prefix_len(&self) -> Option<u8> {
        match *self {
            AddrMask::V4 { mask, .. } => {
                let l = mask.leading_ones();
                (mask.checked_shl(l).unwrap_or(0) == 0).then_some(l as u8)
            }
            AddrMask::V6 { mask, .. } => {
                let l = mask.leading_ones();
                (mask.checked_shl(l).unwrap_or(0) == 0).then_some(l as u8)
            }
        }
    }

    pub(crate) fn is_any(&self) -> bool {
        match *self {
            AddrMask::V4 { mask, .. } => mask == 0,
            AddrMask::V6 { mask, .. } => mask == 0,
        }
    }

    pub fn addr(&self) -> IpAddr {
        match *self {
            AddrMask::V4 { addr, .. } => IpAddr::V4(Ipv4Addr::from(addr)),
            AddrMask::V6 { addr, .. } => IpAddr::V6(Ipv6Addr::from(addr)),
        }
    }
}

impl fmt::Display for AddrMask {
    /// The form `iptables-save` prints: `a.b.c.d/len`, or `a.b.c.d/m.m.m.m` for a
    /// non-contiguous mask (IPv6 likewise with a full address as mask).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (*self, self.prefix_len()) {
            (AddrMask::V4 { addr, .. }, Some(l)) => write!(f, "{}/{}", Ipv4Addr::from(addr), l),
            (AddrMask::V4 { addr, mask }, None) => {
                write!(f, "{}/{}", Ipv4Addr::from(addr), Ipv4Addr::from(mask))
            }
            (AddrMask::V6 { addr, .. }, Some(l)) => write!(f, "{}/{}", Ipv6Ntop(addr), l),
            (AddrMask::V6 { addr, mask }, None) => {
                write!(f, "{}/{}", Ipv6Ntop(addr), Ipv6Ntop(mask))
            }
        }
    }
}

/// An IPv6 address printed as glibc's `inet_ntop` does, which is what iptables prints. It is
/// Rust's formatting except for IPv4-compatible addresses: when the first six groups are zero
/// and that run is the longest, glibc prints the last 32 bits as a dotted quad (`::1.2.3.4`,
/// also `::0.1.0.2` for `::1:2`), while `::2` stays `::2` (the zero run is seven groups).
pub struct Ipv6Ntop(pub u128);

impl fmt::Display for Ipv6Ntop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = Ipv6Addr::from(self.0);
        let w = a.segments();
        // glibc: the longest run of zero groups (first one on ties, at least 2 long).
        let (mut best, mut best_len, mut cur, mut cur_len) = (None, 0, 0, 0);
        for (i, g) in w.iter().enumerate() {
            if *g == 0 {
                if cur_len == 0 {
                    cur = i;
                }
                cur_len += 1;
                if cur_len > best_len {
                    best = Some(cur);
                    best_len = cur_len;
                }
            } else {
                cur_len = 0;
            }
        }
        if best == Some(0) && best_len == 6 {
            let v4 = Ipv4Addr::from(self.0 as u32);
            return write!(f, "::{v4}");
        }
        write!(f, "{a}")
    }
}

/// Print a string value as `xtables_save_string` does: bare when it consists only of
/// `[A-Za-z0-9_-]`, else double-quoted with `"`, `\` and `'` escaped by a backslash.
pub fn save_string(out: &mut String, value: &str) {
    out.push(' ');
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_printed_like_glibc() {
        let p = |s: &str| Ipv6Ntop(u128::from(s.parse::<Ipv6Addr>().unwrap())).to_string();
        // Reference: ip6tables-save 1.8.9 on glibc.
        assert_eq!(p("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(p("::2"), "::2");
        assert_eq!(p("::1:2"), "::0.1.0.2");
        assert_eq!(p("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(p("2001:db8::1"), "2001:db8::1");
    }
}
