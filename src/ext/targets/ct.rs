//! `-j CT` (libxt_CT.c revision 2; kernel xt_CT.c `xt_ct_target`, `xt_ct_tg_check`): attach a
//! conntrack template to the packet before connection tracking runs — or, with `--notrack`, mark
//! it untracked. Table raw only (`xt_target.table`), any of its hooks. Always XT_CONTINUE.
//!
//! Options: `--notrack`; `--helper NAME` (15 characters kept); `--timeout NAME` (31 kept);
//! `--ctevents LIST` (new, related, destroy, reply, assured, protoinfo, helper, mark,
//! natseqinfo, secmark); `--expevents new`; `--zone ID|mark`, `--zone-orig ID|mark`,
//! `--zone-reply ID|mark` (ID 0–65535; `mark` in any case; direction flags accumulate, the last
//! ID wins). Save order: `--notrack --helper --timeout --ctevents --expevents --zone…`; the zone
//! is printed only when it is not 0 or is `mark`, as `--zone-orig`/`--zone-reply` when exactly
//! one direction flag is set.
//!
//! Kernel checks (`xt_ct_tg_check`), made unless `--notrack` is given: `--helper` and
//! `--timeout` need `-p PROTO` (not negated); the helper must exist for the family and
//! protocol (the in-kernel helpers are `conntrack::helper::HELPERS`; other names are only
//! possible with a userspace helper registered by `nfct`, which fwcheck cannot see); the
//! helper is resolved for the rule's protocol at load, as `xt_ct_set_helper` does; a timeout policy must have
//! been created with `nfct timeout add` (never visible offline).
//!
//! `apply` follows `xt_ct_target`: if the packet already carries conntrack state
//! (`skb->_nfct != 0`: a connection, untracked, or an earlier template) nothing happens;
//! otherwise `--notrack` marks it untracked, and a template sets the zone (`mark`: the low 16
//! bits of the packet mark) and helper the engine's conntrack uses for the new connection
//! (FTP and TFTP are modelled, see `conntrack::helper`).
//! `--zone-orig`/`--zone-reply` limit the zone to one direction (`nf_ct_zone_id`): the other
//! direction's tuple is in the default zone, which is where the peer's packets without a
//! template find it (see `conntrack::Conntrack::lookup_zoned`).

use std::any::Any;
use std::fmt::Write;

use crate::conntrack::helper::{HelperDef, HelperId, HELPERS};
use crate::conntrack::{Attach, CtDir};
use crate::diag::Diagnostic;
use crate::ext::targets::common::{context_err, err, positive_proto, W_HOST_STATE};
use crate::ext::EvalCtx;
use crate::ext::{xt_uint, Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, XtType};
use crate::netfilter::{Family, TableKind};

const CT_EVENTS: &[&str] = &[
    "new",
    "related",
    "destroy",
    "reply",
    "assured",
    "protoinfo",
    "helper",
    "mark",
    "natseqinfo",
    "secmark",
];
const EXP_EVENTS: &[&str] = &["new"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ct {
    pub notrack: bool,
    pub helper: String,
    pub timeout: String,
    /// Bit `i` set: `CT_EVENTS[i]`.
    pub(crate) ct_events: u16,
    pub(crate) exp_events: u16,
    pub zone: u16,
    pub(crate) zone_mark: bool,
    pub(crate) zone_orig: bool,
    pub(crate) zone_reply: bool,
    /// The helper `--helper` names for the rule's protocol (resolved at load, as
    /// `xt_ct_set_helper` does).
    pub(crate) helper_id: Option<HelperId>,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Ct {
        notrack: false,
        helper: String::new(),
        timeout: String::new(),
        ct_events: 0,
        exp_events: 0,
        zone: 0,
        zone_mark: false,
        zone_orig: false,
        zone_reply: false,
        helper_id: None,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("notrack", 1, Arg::None),
    OptSpec::new("helper", 2, Arg::One).ty(XtType::Fixed { size: 16 }),
    OptSpec::new("timeout", 3, Arg::One).ty(XtType::Fixed { size: 32 }),
    OptSpec::new("ctevents", 4, Arg::One),
    OptSpec::new("expevents", 5, Arg::One),
    OptSpec::new("zone-orig", 6, Arg::One),
    OptSpec::new("zone-reply", 7, Arg::One),
    OptSpec::new("zone", 8, Arg::One),
];

fn parse_events(arg: &OptArg<'_>, table: &[&str]) -> Result<u16, Diagnostic> {
    let mut mask = 0u16;
    for part in crate::ext::split_list(arg, ',') {
        match table.iter().position(|e| *e == part.text) {
            Some(i) => mask |= 1 << i,
            None => {
                return Err(err(
                    part.span,
                    format!("unknown event type `{}`", part.text),
                    format!("a comma-separated list of {}", table.join(", ")),
                ))
            }
        }
    }
    Ok(mask)
}

fn save_events(out: &mut String, opt: &str, table: &[&str], mask: u16) {
    let names: Vec<&str> = table
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    let _ = write!(out, " --{opt} {}", names.join(","));
}

/// `skb->_nfct != 0`: the packet already carries conntrack state (an earlier CT template is
/// recognised by its zone or helper only).
pub(crate) fn nfct_set(cx: &EvalCtx<'_>) -> bool {
    cx.skb.ct != Attach::None || cx.skb.ct_template.is_some() || cx.skb.nfct_null
}

impl Target for Ct {
    fn name(&self) -> &'static str {
        "CT"
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
            1 => self.notrack = true,
            2 => self.helper = cx.val.str().to_string(),
            3 => self.timeout = cx.val.str().to_string(),
            4 => self.ct_events = parse_events(&args[0], CT_EVENTS)?,
            5 => self.exp_events = parse_events(&args[0], EXP_EVENTS)?,
            _ => {
                let a = &args[0];
                match opt.id {
                    6 => self.zone_orig = true,
                    7 => self.zone_reply = true,
                    _ => {}
                }
                self.zone = 0;
                if a.text.eq_ignore_ascii_case("mark") {
                    self.zone_mark = true;
                } else {
                    self.zone = xt_uint(a.text, 0, 65535).ok_or_else(|| {
                        err(
                            a.span,
                            format!("cannot parse `{}` as a zone ID", a.text),
                            "a zone number from 0 to 65535, or `mark`",
                        )
                    })? as u16;
                }
            }
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.notrack {
            return Ok(());
        }
        let proto = positive_proto(cx);
        if (!self.helper.is_empty() || !self.timeout.is_empty()) && proto.is_none() {
            let what = if self.helper.is_empty() {
                "--timeout"
            } else {
                "--helper"
            };
            return Err(context_err(
                cx.span,
                format!("CT {what} needs a layer-4 protocol (-p, not negated) in the rule"),
                "-p tcp or -p udp before -j CT",
            ));
        }
        if let (false, Some(p)) = (self.helper.is_empty(), proto) {
            self.helper_id = Some(HelperId::lookup(&self.helper, p));
            let named: Vec<&HelperDef> = HELPERS.iter().filter(|h| h.name == self.helper).collect();
            if named.is_empty() {
                cx.warn(
                    Diagnostic::warning(
                        W_HOST_STATE,
                        cx.span,
                        format!("`{}` is not a conntrack helper of the kernel", self.helper),
                    )
                    .note("the kernel refuses the rule (ENOENT) unless a userspace helper of that name was registered with `nfct helper add`")
                    .note("kernel helpers: ftp, tftp, irc, sip, RAS, Q.931, H.245, pptp, amanda, sane, netbios-ns, snmp, snmp_trap"),
                );
            } else if !named
                .iter()
                .any(|h| h.proto == p && (cx.family == Family::V4 || h.ipv6))
            {
                let protos: Vec<String> = named
                    .iter()
                    .filter(|h| cx.family == Family::V4 || h.ipv6)
                    .map(|h| crate::ext::proto_name(h.proto).unwrap_or("?").to_string())
                    .collect();
                return Err(context_err(
                    cx.span,
                    if protos.is_empty() {
                        format!("conntrack helper `{}` does not exist for IPv6", self.helper)
                    } else {
                        format!(
                            "conntrack helper `{}` does not exist for this protocol",
                            self.helper
                        )
                    },
                    if protos.is_empty() {
                        "a helper the kernel has for IPv6".to_string()
                    } else {
                        format!("-p {}", protos.join(" or -p "))
                    },
                ));
            }
        }
        if !self.timeout.is_empty() {
            cx.warn(
                Diagnostic::warning(
                    W_HOST_STATE,
                    cx.span,
                    format!(
                        "CT --timeout `{}` needs a timeout policy created with `nfct timeout add`",
                        self.timeout
                    ),
                )
                .note("fwcheck cannot see timeout policies; the kernel refuses the rule without one, and the policy's timeouts are not simulated"),
            );
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.notrack {
            out.push_str(" --notrack");
        }
        if !self.helper.is_empty() {
            let _ = write!(out, " --helper {}", self.helper);
        }
        if !self.timeout.is_empty() {
            let _ = write!(out, " --timeout {}", self.timeout);
        }
        if self.ct_events != 0 {
            save_events(out, "ctevents", CT_EVENTS, self.ct_events);
        }
        if self.exp_events != 0 {
            save_events(out, "expevents", EXP_EVENTS, self.exp_events);
        }
        if self.zone_mark || self.zone != 0 {
            out.push_str(" --zone");
            match (self.zone_orig, self.zone_reply) {
                (true, false) => out.push_str("-orig"),
                (false, true) => out.push_str("-reply"),
                _ => {}
            }
            if self.zone_mark {
                out.push_str(" mark");
            } else {
                let _ = write!(out, " {}", self.zone);
            }
        }
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        if nfct_set(cx) {
            return TargetVerdict::Continue;
        }
        if self.notrack {
            cx.skb.ct = Attach::Untracked;
            return TargetVerdict::Continue;
        }
        cx.skb.ct_template = Some(cx.slot);
        cx.skb.zone = if self.zone_mark {
            cx.skb.mark as u16
        } else {
            self.zone
        };
        // xt_ct_flags_to_dir: one flag alone limits the zone to that direction.
        cx.skb.zone_only = match (self.zone_orig, self.zone_reply) {
            (true, false) => Some(CtDir::Original),
            (false, true) => Some(CtDir::Reply),
            _ => None,
        };
        if self.helper_id.is_some() {
            cx.skb.helper = self.helper_id;
        }
        TargetVerdict::Continue
    }
    fn table(&self) -> Option<TableKind> {
        Some(TableKind::Raw)
    }
    fn needs_conntrack(&self) -> bool {
        !self.notrack
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
