//! `-j REDIRECT` (libxt_NAT.c revision 0; kernel xt_REDIRECT.c, nf_nat_redirect.c): destination
//! NAT to the host itself. Table nat, hooks PREROUTING and OUTPUT.
//!
//! - `--to-ports PORT[-PORT]` (needs `-p tcp|udp|sctp|dccp|icmp` before the target; a `/BASE`
//!   shifted map is refused: "Shifted portmap ranges not supported with this kernel"),
//!   `--random`. Save: `--to-ports RANGE --random`.
//! - `apply` returns [`TargetVerdict::Nat`] with no address: the engine uses 127.0.0.1 (::1)
//!   in OUTPUT and the primary address of the incoming interface in PREROUTING (IPv6: an address
//!   of the interface with the destination's scope); with no address there the kernel drops the
//!   packet.

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{err, nat_ports, NatRange};
use crate::ext::EvalCtx;
use crate::ext::{Arg, NatKind, NatSpec, OptArg, OptSpec, ParseCtx, Target, TargetVerdict};
use crate::netfilter::{Family, Hook, HookMask, TableKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Redirect {
    pub range: NatRange,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Redirect {
        range: NatRange::new(Family::V4),
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("to-ports", 1, Arg::One),
    OptSpec::new("random", 2, Arg::None),
];

impl Target for Redirect {
    fn name(&self) -> &'static str {
        "REDIRECT"
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
                if r.offset.is_some() {
                    return Err(err(
                        args[0].span,
                        "REDIRECT does not support a shifted port map (/BASE)",
                        "--to-ports PORT or PORT-PORT",
                    ));
                }
                self.range = r;
            }
            _ => self.range.random = true,
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        self.range.save(out, "--to-ports", false, true);
    }
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Nat(NatSpec {
            kind: NatKind::Redirect,
            addr: None,
            ports: self.range.ports(),
            base_port: None,
            random: self.range.random,
            persistent: false,
        })
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
