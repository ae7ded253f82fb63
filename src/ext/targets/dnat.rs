//! `-j DNAT` (libxt_NAT.c, revision 2 for IPv4 and IPv6; kernel xt_nat.c `xt_dnat_target_v2`):
//! rewrite the destination of a new connection. Table nat, hooks PREROUTING and OUTPUT.
//!
//! - `--to-destination [ADDR[-ADDR]][:PORT[-PORT[/BASE]]]` (mandatory, once; IPv6 as
//!   `ADDR[-ADDR]` or `[ADDR[-ADDR]]:PORTS`; addresses strictly numeric, `inet_pton`). Ports need
//!   `-p tcp|udp|sctp|dccp|icmp` *before* the target (libxt_NAT reads the protocol when it
//!   parses the option). `/BASE` is a shifted port map (new port = PORT + (old - BASE) mod
//!   range).
//! - `--random`, `--persistent` (no `--random-fully` for DNAT).
//! - Save: `--to-destination RANGE` as `sprint_range` prints it, then `--random`,
//!   `--persistent`.
//! - `apply` returns [`TargetVerdict::Nat`]; the engine sets up the binding only for a
//!   connection without a DST binding (nat chains only see NEW/RELATED packets, spec §1.6) and
//!   the nat table's traversal ends (NF_ACCEPT) — the kernel target never returns XT_CONTINUE.

use std::any::Any;

use crate::diag::Diagnostic;
use crate::engine::EvalCtx;
use crate::ext::targets::common::{missing, nat_to, NatRange};
use crate::ext::{Arg, NatKind, OptArg, OptSpec, ParseCtx, Target, TargetVerdict};
use crate::ruleset::model::{Family, Hook, HookMask, TableKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnat {
    pub family: Family,
    pub range: NatRange,
    given: bool,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Dnat {
        family: Family::V4,
        range: NatRange::new(Family::V4),
        given: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("to-destination", 1, Arg::One),
    OptSpec::new("random", 2, Arg::None),
    OptSpec::new("persistent", 3, Arg::None),
];

impl Target for Dnat {
    fn name(&self) -> &'static str {
        "DNAT"
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
                self.range = r;
                self.given = true;
            }
            2 => self.range.random = true,
            _ => self.range.persistent = true,
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(cx.span, "DNAT", "--to-destination"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        self.range
            .save(out, "--to-destination", self.family == Family::V6, false);
    }
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Nat(self.range.spec(NatKind::Dnat))
    }
    fn table(&self) -> Option<TableKind> {
        Some(TableKind::Nat)
    }
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Prerouting, Hook::Output])
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
