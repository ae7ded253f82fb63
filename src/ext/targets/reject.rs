//! `-j REJECT` (libipt_REJECT.c / libip6t_REJECT.c; kernel ipt_REJECT.c / ip6t_REJECT.c): drop
//! the packet and answer with an ICMP/ICMPv6 error or a TCP reset.
//!
//! - `--reject-with TYPE`: libxtables compares TYPE as a case-insensitive *prefix* of each name
//!   and alias, in the kernel's enum order, and takes the first hit (`icmp` is
//!   icmp-net-unreachable, `p` is proto-unreach); the empty string picks the first entry. The
//!   IPv6 alias of tcp-reset is `tcp-reset` itself (no `tcp-rst`).
//! - `iptables-save` always prints `--reject-with NAME`, the default being
//!   icmp-port-unreachable / icmp6-port-unreachable.
//! - Kernel: table filter only (`xt_target.table`), hooks INPUT, FORWARD, OUTPUT;
//!   `reject_tg_check` refuses tcp-reset unless the rule has `-p tcp` (not negated).
//! - Simulation: always NF_DROP; whether the reply is actually sent (rate limits, no RST for a
//!   RST, broken checksums) is the engine's business (spec §7).

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::targets::common::context_err;
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, RejectReply, Target, TargetVerdict, E_VALUE};
use crate::netfilter::{Family, Hook, HookMask, TableKind};

const fn icmp(code: u8) -> RejectReply {
    RejectReply::Icmp { icmp_type: 3, code }
}

const fn icmp6(code: u8) -> RejectReply {
    RejectReply::Icmpv6 { icmp_type: 1, code }
}

/// `(name, alias, reply)` for IPv4, in `enum ipt_reject_with` order (echo-reply left out).
const REJECT4: &[(&str, &str, RejectReply)] = &[
    ("icmp-net-unreachable", "net-unreach", icmp(0)),
    ("icmp-host-unreachable", "host-unreach", icmp(1)),
    ("icmp-proto-unreachable", "proto-unreach", icmp(2)),
    ("icmp-port-unreachable", "port-unreach", icmp(3)),
    ("icmp-net-prohibited", "net-prohib", icmp(9)),
    ("icmp-host-prohibited", "host-prohib", icmp(10)),
    ("tcp-reset", "tcp-rst", RejectReply::TcpReset),
    ("icmp-admin-prohibited", "admin-prohib", icmp(13)),
];

/// `(name, alias, reply)` for IPv6, in `enum ip6t_reject_with` order (not-neighbour and
/// echo-reply are not offered by ip6tables).
const REJECT6: &[(&str, &str, RejectReply)] = &[
    ("icmp6-no-route", "no-route", icmp6(0)),
    ("icmp6-adm-prohibited", "adm-prohibited", icmp6(1)),
    ("icmp6-addr-unreachable", "addr-unreach", icmp6(3)),
    ("icmp6-port-unreachable", "port-unreach", icmp6(4)),
    ("tcp-reset", "tcp-reset", RejectReply::TcpReset),
    ("icmp6-policy-fail", "policy-fail", icmp6(5)),
    ("icmp6-reject-route", "reject-route", icmp6(6)),
];

/// Index of icmp(6)-port-unreachable, the default.
const DEFAULT: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub family: Family,
    /// Index into the family's table.
    pub with: usize,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Reject {
        family: Family::V4,
        with: DEFAULT,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("reject-with", 1, Arg::One)];

fn table_of(f: Family) -> &'static [(&'static str, &'static str, RejectReply)] {
    match f {
        Family::V4 => REJECT4,
        Family::V6 => REJECT6,
    }
}

/// `strncasecmp(name, arg, strlen(arg)) == 0`: `arg` is a case-insensitive prefix of `name`.
fn is_prefix(name: &str, arg: &str) -> bool {
    name.len() >= arg.len() && name.as_bytes()[..arg.len()].eq_ignore_ascii_case(arg.as_bytes())
}

/// The first table entry whose name or alias starts with `arg` (libipt_REJECT's lookup).
pub fn lookup(family: Family, arg: &str) -> Option<usize> {
    table_of(family)
        .iter()
        .position(|(n, a, _)| is_prefix(n, arg) || is_prefix(a, arg))
}

impl Reject {
    fn table(&self) -> &'static [(&'static str, &'static str, RejectReply)] {
        table_of(self.family)
    }
    pub fn reply(&self) -> RejectReply {
        self.table()[self.with].2
    }
}

impl Target for Reject {
    fn name(&self) -> &'static str {
        "REJECT"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        _invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        self.family = cx.family;
        let t = args[0].text;
        match lookup(cx.family, t) {
            Some(i) => {
                self.with = i;
                Ok(())
            }
            None => {
                let names: Vec<&str> = self.table().iter().map(|(n, _, _)| *n).collect();
                Err(
                    Diagnostic::error(E_VALUE, args[0].span, format!("unknown reject type `{t}`"))
                        .expected(format!("one of {}", names.join(", ")))
                        .note("a beginning of a name or alias is enough; the first in table order wins (`icmp-host` is icmp-host-unreachable)"),
                )
            }
        }
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        self.family = cx.family;
        if self.reply() == RejectReply::TcpReset && !matches!(cx.proto, Some((6, false))) {
            return Err(context_err(
                cx.span,
                "REJECT --reject-with tcp-reset is only valid with -p tcp",
                "-p tcp in this rule, or another --reject-with type",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        out.push_str(" --reject-with ");
        out.push_str(self.table()[self.with].0);
    }
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Reject(self.reply())
    }
    fn table(&self) -> Option<TableKind> {
        Some(TableKind::Filter)
    }
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Input, Hook::Forward, Hook::Output])
    }
    fn is_terminal(&self) -> bool {
        true
    }
    fn reject_reply(&self) -> Option<RejectReply> {
        Some(self.reply())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_lookup_in_table_order() {
        let n = |f, t| lookup(f, t).map(|i| table_of(f)[i].0);
        assert_eq!(n(Family::V4, "icmp"), Some("icmp-net-unreachable"));
        assert_eq!(n(Family::V4, "p"), Some("icmp-proto-unreachable"));
        assert_eq!(n(Family::V4, "icmp-host"), Some("icmp-host-unreachable"));
        assert_eq!(n(Family::V4, "icmp-host-p"), Some("icmp-host-prohibited"));
        assert_eq!(n(Family::V4, "TCP-RST"), Some("tcp-reset"));
        assert_eq!(n(Family::V4, ""), Some("icmp-net-unreachable"));
        assert_eq!(n(Family::V4, "icmp6-no-route"), None);
        assert_eq!(n(Family::V6, "tcp-rst"), None);
        assert_eq!(n(Family::V6, "a"), Some("icmp6-adm-prohibited"));
        assert_eq!(n(Family::V6, "icmp6"), Some("icmp6-no-route"));
        assert_eq!(n(Family::V6, "icmp-port-unreachable"), None);
    }
}
