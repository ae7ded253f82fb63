//! `-j SNAT` (libxt_NAT.c: IPv4 revision 0 with `nf_nat_ipv4_multi_range_compat`, IPv6
//! revision 1 with `nf_nat_range`; kernel xt_nat.c): rewrite the source of a new connection.
//! Table nat, hooks POSTROUTING and INPUT.
//!
//! - `--to-source [ADDR[-ADDR]][:PORT[-PORT]]` (mandatory, once; same syntax as DNAT; ports
//!   need `-p tcp|udp|sctp|dccp|icmp` before the target). The kernel structures of these
//!   revisions have no base port: `:a-b/BASE` is accepted but saved as `:a-b/0`, which
//!   iptables then refuses to restore (fwcheck warns).
//! - `--random`, `--random-fully`, `--persistent`; saved in that order after the range.
//! - `apply` returns [`TargetVerdict::Nat`] (NF_ACCEPT for the nat table).

use std::any::Any;

use crate::diag::Diagnostic;
use crate::engine::EvalCtx;
use crate::ext::targets::common::{missing, nat_to, offset_unsupported, NatRange};
use crate::ext::{Arg, NatKind, OptArg, OptSpec, ParseCtx, Target, TargetVerdict};
use crate::ruleset::model::{Family, Hook, HookMask, TableKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snat {
    pub family: Family,
    pub range: NatRange,
    given: bool,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Snat {
        family: Family::V4,
        range: NatRange::new(Family::V4),
        given: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("to-source", 1, Arg::One),
    OptSpec::new("random", 2, Arg::None),
    OptSpec::new("random-fully", 3, Arg::None),
    OptSpec::new("persistent", 4, Arg::None),
];

impl Target for Snat {
    fn name(&self) -> &'static str {
        "SNAT"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        _invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        if self.family != cx.family {
            self.family = cx.family;
            self.range = NatRange::new(cx.family);
        }
        match opt.id {
            1 => {
                let mut r = self.range;
                nat_to(&args[0], cx.family, cx.proto, &mut r)?;
                offset_unsupported(&args[0], &mut r, cx);
                self.range = r;
                self.given = true;
            }
            2 => self.range.random = true,
            3 => self.range.random_fully = true,
            _ => self.range.persistent = true,
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(cx.span, "SNAT", "--to-source"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        self.range
            .save(out, "--to-source", self.family == Family::V6, false);
    }
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Nat(self.range.spec(NatKind::Snat))
    }
    fn table(&self) -> Option<TableKind> {
        Some(TableKind::Nat)
    }
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Postrouting, Hook::Input])
    }
    fn is_terminal(&self) -> bool {
        true
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
