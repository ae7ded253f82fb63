//! `-j REJECT` (libipt_REJECT.c / libip6t_REJECT.c, kernel ipt_REJECT.c / ip6t_REJECT.c): drop
//! the packet and answer with an ICMP error or a TCP reset. Only in table filter, hooks INPUT,
//! FORWARD, OUTPUT.

use std::any::Any;

use crate::diag::Diagnostic;
use crate::engine::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, RejectReply, Target, TargetVerdict, E_VALUE};
use crate::ruleset::model::{Family, Hook, HookMask, TableKind};

/// `(name, alias, reply)` for IPv4.
const REJECT4: &[(&str, &str, RejectReply)] = &[
    (
        "icmp-net-unreachable",
        "net-unreach",
        RejectReply::Icmp {
            icmp_type: 3,
            code: 0,
        },
    ),
    (
        "icmp-host-unreachable",
        "host-unreach",
        RejectReply::Icmp {
            icmp_type: 3,
            code: 1,
        },
    ),
    (
        "icmp-proto-unreachable",
        "proto-unreach",
        RejectReply::Icmp {
            icmp_type: 3,
            code: 2,
        },
    ),
    (
        "icmp-port-unreachable",
        "port-unreach",
        RejectReply::Icmp {
            icmp_type: 3,
            code: 3,
        },
    ),
    (
        "icmp-net-prohibited",
        "net-prohib",
        RejectReply::Icmp {
            icmp_type: 3,
            code: 9,
        },
    ),
    (
        "icmp-host-prohibited",
        "host-prohib",
        RejectReply::Icmp {
            icmp_type: 3,
            code: 10,
        },
    ),
    ("tcp-reset", "tcp-rst", RejectReply::TcpReset),
    (
        "icmp-admin-prohibited",
        "admin-prohib",
        RejectReply::Icmp {
            icmp_type: 3,
            code: 13,
        },
    ),
];

/// `(name, alias, reply)` for IPv6.
const REJECT6: &[(&str, &str, RejectReply)] = &[
    (
        "icmp6-no-route",
        "no-route",
        RejectReply::Icmpv6 {
            icmp_type: 1,
            code: 0,
        },
    ),
    (
        "icmp6-adm-prohibited",
        "adm-prohibited",
        RejectReply::Icmpv6 {
            icmp_type: 1,
            code: 1,
        },
    ),
    (
        "icmp6-addr-unreachable",
        "addr-unreach",
        RejectReply::Icmpv6 {
            icmp_type: 1,
            code: 3,
        },
    ),
    (
        "icmp6-port-unreachable",
        "port-unreach",
        RejectReply::Icmpv6 {
            icmp_type: 1,
            code: 4,
        },
    ),
    ("tcp-reset", "tcp-rst", RejectReply::TcpReset),
    (
        "icmp6-policy-fail",
        "policy-fail",
        RejectReply::Icmpv6 {
            icmp_type: 1,
            code: 5,
        },
    ),
    (
        "icmp6-reject-route",
        "reject-route",
        RejectReply::Icmpv6 {
            icmp_type: 1,
            code: 6,
        },
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub family: Family,
    /// Index into the family's table.
    pub with: usize,
    set: bool,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Reject {
        family: Family::V4,
        with: 3,
        set: false,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("reject-with", 1, Arg::One)];

impl Reject {
    fn table(&self) -> &'static [(&'static str, &'static str, RejectReply)] {
        match self.family {
            Family::V4 => REJECT4,
            Family::V6 => REJECT6,
        }
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
        let table = self.table();
        match table.iter().position(|(n, a, _)| *n == t || *a == t) {
            Some(i) => {
                self.with = i;
                self.set = true;
                Ok(())
            }
            None => {
                let names: Vec<&str> = table.iter().map(|(n, _, _)| *n).collect();
                Err(
                    Diagnostic::error(E_VALUE, args[0].span, format!("unknown reject type `{t}`"))
                        .expected(format!("one of {}", names.join(", "))),
                )
            }
        }
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        self.family = cx.family;
        if !self.set {
            // icmp-port-unreachable / icmp6-port-unreachable
            self.with = 3;
        }
        if self.reply() == RejectReply::TcpReset && !matches!(cx.proto, Some((6, false))) {
            return Err(Diagnostic::error(
                crate::ruleset::parser::code::CONTEXT,
                cx.span,
                "REJECT --reject-with tcp-reset is only valid with -p tcp",
            )
            .expected("-p tcp in this rule, or another --reject-with type"));
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
    fn as_any(&self) -> &dyn Any {
        self
    }
}
