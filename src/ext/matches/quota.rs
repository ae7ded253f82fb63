//! `-m quota [!] --quota BYTES` (libxt_quota.c / kernel `xt_quota.c` `quota_mt`): a byte budget
//! per rule, spent by the packets that reach it.
//!
//! Each rule holds its own counter (`xt_quota_priv`), set to BYTES when the rule is loaded: a
//! packet whose `skb->len` fits takes it from the budget and matches; the first one that does
//! not fit empties the budget ("we do not allow even small packets from now on"), so from then
//! on nothing matches — not even a smaller packet. `!` inverts the answer, not the spending.
//! A reload starts every budget again (a new rule); iptables-save prints BYTES as given.
//!
//! Once a packet may have gone another way in the kernel (an undecided match or verdict, as
//! for `limit` buckets and `statistic --mode nth`), it may have spent the budget there and not
//! here, or the other way round: from then on the rule's answer is unknown. Kernel-checked in
//! `tests/kernel_quota.rs`.

use std::any::Any;

use super::missing;
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};

/// What is left of a rule's budget.
#[derive(Debug, Clone)]
struct Budget {
    left: u64,
    /// The doubt events (`Doubt::mark_limits`) taken in.
    seen: u64,
    /// Since one of them the kernel's budget may differ.
    lost: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Quota {
    quota: u64,
    invert: bool,
    given: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Quota {
        quota: 0,
        invert: false,
        given: false,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("quota", 1, Arg::One)
    .ty(XtType::Uint {
        min: 0,
        max: u64::MAX,
    })
    .inv()];

impl Match for Quota {
    fn name(&self) -> &'static str {
        "quota"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        invert: bool,
        _args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        self.quota = cx.val.uint();
        self.invert = invert;
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(cx, "-m quota requires --quota", "--quota BYTES"));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --quota ");
        out.push_str(itoa::Buffer::new().format(self.quota));
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let len = cx.skb.len(cx.pkt) as u64;
        let epoch = cx.ext.doubt.limits().settled(cx.pkt.frame);
        let quota = self.quota;
        let b = cx.ext.slot(cx.slot, || Budget {
            left: quota,
            seen: 0,
            lost: false,
        });
        if epoch != b.seen {
            // An earlier packet may have reached this rule in the kernel and not here, or the
            // other way round (`Doubt::mark_limits`).
            b.seen = epoch;
            b.lost = true;
        }
        let fits = b.left >= len;
        b.left = if fits { b.left - len } else { 0 };
        if b.lost {
            return MatchResult::Unknown(
                "quota: an earlier uncertain packet may have spent this budget in the kernel",
            );
        }
        MatchResult::from_bool(fits != self.invert)
    }
    fn explain(&self, cx: &EvalCtx<'_>, held: bool) -> Option<String> {
        let left = cx
            .ext
            .peek::<Budget>(cx.slot)
            .map_or(self.quota, |b| b.left);
        Some(format!(
            "quota {} ({left} of {} bytes left after this packet)",
            if held { "held" } else { "did not hold" },
            self.quota
        ))
    }
    fn stateful(&self) -> bool {
        true
    }
    /// Counts bytes, not time.
    fn reads_clock(&self) -> bool {
        false
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
