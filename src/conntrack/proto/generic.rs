//! The generic tracker, after `nf_conntrack_proto_generic.c`: every protocol without a
//! tracker of its own — DCCP too since the kernel dropped its tracker (6.16) — is tracked by
//! addresses and protocol alone, refreshed to `nf_conntrack_generic_timeout` on every packet.

use super::super::{Conntrack, CtOutcome, Tuple};
use super::{Cx, EntryCx, L4Tracker, L4Verdict, TimeoutDef, TimeoutSlot};
use crate::packet::Packet;

/// The generic timeout.
pub(crate) const TIMEOUTS: &[TimeoutDef] = &[TimeoutDef {
    name: "generic",
    sysctl: "net.netfilter.nf_conntrack_generic_timeout",
    default: 600,
    doc: "any other protocol (DCCP included): addresses and protocol only",
}];

pub(crate) const TIMEOUT_GENERIC: TimeoutSlot = TimeoutSlot::named("generic");

/// The generic tracker (`nf_conntrack_l4proto_generic`).
#[derive(Debug)]
pub(crate) struct Generic;

/// The one [`Generic`].
pub(crate) static GENERIC: Generic = Generic;

impl L4Tracker for Generic {
    fn name(&self) -> &'static str {
        "generic"
    }

    fn timeouts(&self) -> &'static [TimeoutDef] {
        TIMEOUTS
    }

    /// No ports: the tuple is addresses and protocol.
    fn pkt_to_tuple(&self, _pkt: &Packet, _t: &mut Tuple) -> Result<(), CtOutcome> {
        Ok(())
    }

    /// Addresses swap; there are no ports.
    fn invert_tuple(&self, t: &Tuple) -> Option<Tuple> {
        Some(Tuple {
            sport: 0,
            dport: 0,
            ..super::swapped(t)
        })
    }

    fn packet(&self, ct: &mut Conntrack, cx: &Cx<'_>, e: EntryCx) -> L4Verdict {
        ct.refresh_acct(
            e.id,
            e.dir,
            cx.pkt.ip_len,
            cx.p.timeouts.get(TIMEOUT_GENERIC) * cx.p.hz as u64,
            cx.now,
        );
        L4Verdict::Accept
    }
}
