//! `-j MASQUERADE` (libxt_NAT.c; kernel xt_MASQUERADE.c, nf_nat_masquerade.c): source NAT to
//! the address of the outgoing interface (the route's preferred source). Table nat, hook
//! POSTROUTING.
//!
//! - `--to-ports PORT[-PORT]` (needs `-p tcp|udp|sctp|dccp|icmp` before the target; `/BASE` is
//!   accepted but saved as `/0`, which cannot be restored — fwcheck warns), `--random`,
//!   `--random-fully`. Save: `--to-ports RANGE --random --random-fully`.
//! - `apply` returns [`TargetVerdict::Nat`] with no address: the engine uses the host's address
//!   on the outgoing interface (`inet_select_addr`); without one the kernel drops the packet.
//!   Masqueraded connections are also flushed when the interface goes down — not simulated.

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{nat_ports, offset_unsupported, NatRange};
use crate::ext::EvalCtx;
use crate::ext::{Arg, NatKind, NatSpec, OptArg, OptSpec, ParseCtx, Target, TargetVerdict};
use crate::netfilter::{Family, Hook, HookMask, TableKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Masquerade {
    pub range: NatRange,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Masquerade {
        range: NatRange::new(Family::V4),
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("to-ports", 1, Arg::One),
    OptSpec::new("random", 2, Arg::None),
    OptSpec::new("random-fully", 3, Arg::None),
];

impl Target for Masquerade {
    fn name(&self) -> &'static str {
        "MASQUERADE"
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
        match opt.id {
            1 => {
                let mut r = self.range;
                nat_ports(&args[0], 0, cx.proto, &mut r)?;
                offset_unsupported(&args[0], &mut r, cx);
                self.range = r;
            }
            2 => self.range.random = true,
            _ => self.range.random_fully = true,
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        self.range.save(out, "--to-ports", false, true);
    }
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Nat(NatSpec {
            kind: NatKind::Masquerade,
            addr: None,
            ports: self.range.ports(),
            base_port: self.range.offset,
            random: self.range.random || self.range.random_fully,
            persistent: false,
        })
    }
    fn table(&self) -> Option<TableKind> {
        Some(TableKind::Nat)
    }
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Postrouting])
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
