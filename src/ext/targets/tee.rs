//! `-j TEE` (libxt_TEE.c revision 1; kernel xt_TEE.c): send a copy of the packet to a gateway
//! and continue with the original. Any table, any hook.
//!
//! - `--gateway ADDR` (mandatory; `XTTYPE_HOST`: numeric, IPv4 in `inet_aton` forms — host
//!   names are resolved by iptables at load time and refused here), `--oif NAME` (15 characters
//!   kept). Saved as `--gateway ADDR [--oif NAME]`.
//! - `tee_tg_check` refuses the all-zero gateway.
//! - `apply` (`tee_tg4` / `tee_tg6` → `nf_dup_ipv4` / `nf_dup_ipv6`): the clone is made
//!   ([`crate::ext::TeeClone`]) and the engine sends it through OUTPUT and POSTROUTING when the
//!   table returns; the original continues (XT_CONTINUE). A clone in flight makes none
//!   (`nf_skb_duplicated`).

use std::any::Any;
use std::fmt::Write;
use std::net::IpAddr;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{err, missing};
use crate::ext::{host_addr, ntop, Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, XtType};
use crate::ext::{EvalCtx, TeeClone};
use crate::netfilter::Hook;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tee {
    pub(crate) gateway: Option<IpAddr>,
    pub(crate) oif: String,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Tee {
        gateway: None,
        oif: String::new(),
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("gateway", 1, Arg::One),
    OptSpec::new("oif", 2, Arg::One).ty(XtType::Fixed { size: 16 }),
];

impl Target for Tee {
    fn name(&self) -> &'static str {
        "TEE"
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
                let a = host_addr(args[0].text, args[0].span, cx.family)?;
                if a.is_unspecified() {
                    return Err(err(
                        args[0].span,
                        "the TEE gateway must not be the zero address",
                        "the address of a neighbour to send the copies to",
                    ));
                }
                self.gateway = Some(a);
            }
            _ => self.oif = cx.val.str().to_string(),
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.gateway.is_none() {
            return Err(missing(cx.span, "TEE", "--gateway"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if let Some(g) = self.gateway {
            let _ = write!(out, " --gateway {}", ntop(g));
        }
        if !self.oif.is_empty() {
            let _ = write!(out, " --oif {}", self.oif);
        }
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        let Some(gateway) = self.gateway else {
            return TargetVerdict::Continue;
        };
        if cx.skb.duplicated {
            return TargetVerdict::Continue;
        }
        let mut skb = cx.skb.clone();
        // `nf_reset_ct` + `nf_ct_set(skb, NULL, IP_CT_UNTRACKED)`: the template and what the
        // connection's world said go with the connection.
        skb.ct = crate::conntrack::Attach::Untracked;
        skb.ct_template = None;
        skb.nfct_null = false;
        skb.zone = 0;
        skb.zone_only = None;
        skb.helper = None;
        skb.pickup_world = false;
        skb.pickup_doubt = None;
        skb.checksum_doubt = None;
        skb.may_predate = false;
        skb.duplicated = true;
        if matches!(cx.hook, Hook::Prerouting | Hook::Input) {
            skb.ttl = skb.ttl.saturating_sub(1);
        }
        cx.ext.tee.push(TeeClone {
            pkt: cx.pkt.clone(),
            skb,
            gateway,
            oif: self.oif.clone(),
        });
        TargetVerdict::Continue
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
