//! `-j DNAT` and `-j SNAT` (libxt_NAT.c; kernel xt_nat.c): rewrite the destination or the source
//! of a new connection. One unit, parameterised by [`NatKind`]:
//!
//! - DNAT (revision 2 for IPv4 and IPv6, `xt_dnat_target_v2`): table nat, hooks PREROUTING and
//!   OUTPUT. `--to-destination [ADDR[-ADDR]][:PORT[-PORT[/BASE]]]` (mandatory, once; IPv6 as
//!   `ADDR[-ADDR]` or `[ADDR[-ADDR]]:PORTS`; addresses strictly numeric, `inet_pton`). Ports
//!   need `-p tcp|udp|sctp|dccp|icmp` *before* the target (libxt_NAT reads the protocol when it
//!   parses the option). `/BASE` is a shifted port map (new port = PORT + (old - BASE) mod
//!   range). `--random`, `--persistent` (no `--random-fully`).
//! - SNAT (IPv4 revision 0 with `nf_nat_ipv4_multi_range_compat`, IPv6 revision 1 with
//!   `nf_nat_range`): table nat, hooks POSTROUTING and INPUT. `--to-source`, same syntax; the
//!   kernel structures of these revisions have no base port: `:a-b/BASE` is accepted but saved
//!   as `:a-b/0`, which iptables then refuses to restore (fwcheck warns). `--random`,
//!   `--random-fully`, `--persistent`.
//! - Save: the range as `sprint_range` prints it, then the flags in the order above.
//! - `apply` returns [`TargetVerdict::Nat`]; the engine sets up the binding only for a
//!   connection without a binding of that kind (nat chains only see NEW/RELATED packets, spec
//!   §1.6) and the nat table's traversal ends (NF_ACCEPT) — the kernel target never returns
//!   XT_CONTINUE.

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{missing, nat_to, offset_unsupported, NatRange};
use crate::ext::EvalCtx;
use crate::ext::{Arg, NatKind, NatSpec, OptArg, OptSpec, ParseCtx, Target, TargetVerdict};
use crate::netfilter::{Family, Hook, HookMask, TableKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Nat {
    /// [`NatKind::Dnat`] or [`NatKind::Snat`] (the only constructors are [`dnat`] and [`snat`]).
    pub kind: NatKind,
    pub family: Family,
    pub range: NatRange,
    given: bool,
}

fn with(kind: NatKind) -> Box<dyn Target> {
    Box::new(Nat {
        kind,
        family: Family::V4,
        range: NatRange::new(Family::V4),
        given: false,
    })
}

pub(crate) fn dnat() -> Box<dyn Target> {
    with(NatKind::Dnat)
}

pub fn snat() -> Box<dyn Target> {
    with(NatKind::Snat)
}

const TO: u8 = 1;
const RANDOM: u8 = 2;
const PERSISTENT: u8 = 3;
const RANDOM_FULLY: u8 = 4;

static DNAT_OPTS: &[OptSpec] = &[
    OptSpec::new("to-destination", TO, Arg::One),
    OptSpec::new("random", RANDOM, Arg::None),
    OptSpec::new("persistent", PERSISTENT, Arg::None),
];

static SNAT_OPTS: &[OptSpec] = &[
    OptSpec::new("to-source", TO, Arg::One),
    OptSpec::new("random", RANDOM, Arg::None),
    OptSpec::new("random-fully", RANDOM_FULLY, Arg::None),
    OptSpec::new("persistent", PERSISTENT, Arg::None),
];

impl Nat {
    fn is_dnat(&self) -> bool {
        self.kind == NatKind::Dnat
    }
    fn to_option(&self) -> &'static str {
        if self.is_dnat() {
            "--to-destination"
        } else {
            "--to-source"
        }
    }
}

impl Target for Nat {
    fn name(&self) -> &'static str {
        if self.is_dnat() {
            "DNAT"
        } else {
            "SNAT"
        }
    }
    fn options(&self) -> &'static [OptSpec] {
        if self.is_dnat() {
            DNAT_OPTS
        } else {
            SNAT_OPTS
        }
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
            TO => {
                let mut r = self.range;
                nat_to(&args[0], cx.family, cx.proto, &mut r)?;
                if !self.is_dnat() {
                    offset_unsupported(&args[0], &mut r, cx);
                }
                self.range = r;
                self.given = true;
            }
            RANDOM => self.range.random = true,
            RANDOM_FULLY => self.range.random_fully = true,
            _ => self.range.persistent = true,
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(cx.span, self.name(), self.to_option()));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        self.range
            .save(out, self.to_option(), self.family == Family::V6, false);
    }
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Nat(self.range.spec(self.kind))
    }
    fn table(&self) -> Option<TableKind> {
        Some(TableKind::Nat)
    }
    fn hooks(&self) -> HookMask {
        if self.is_dnat() {
            HookMask::of(&[Hook::Prerouting, Hook::Output])
        } else {
            HookMask::of(&[Hook::Postrouting, Hook::Input])
        }
    }
    fn is_terminal(&self) -> bool {
        true
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
    fn nat_spec(&self) -> Option<NatSpec> {
        Some(self.range.spec(self.kind))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
