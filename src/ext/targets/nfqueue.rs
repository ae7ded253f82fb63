//! `-j NFQUEUE` (libxt_NFQUEUE.c revision 3; kernel xt_NFQUEUE.c `nfqueue_tg_v3`): hand the
//! packet to a userspace queue. Any table, any hook.
//!
//! - `--queue-num N` (0–65535, default 0) or `--queue-balance FIRST:LAST` (FIRST < LAST ≤
//!   65534; the two exclude each other); `--queue-bypass`; `--queue-cpu-fanout` (needs
//!   `--queue-balance`). There is no `--fail-open` in iptables: that is a flag a listener sets
//!   on its queue (`NFQA_CFG_F_FAIL_OPEN`), not a rule option.
//! - Save: `--queue-num N` or `--queue-balance F:L`, then `--queue-bypass`,
//!   `--queue-cpu-fanout`.
//! - The verdict is the listener's (a userspace program bound to the queue: an IPS, a
//!   proxy), and whether the host runs one is not in a capture. Without one `nf_queue` fails
//!   with -ESRCH and the kernel drops the packet, or, with `--queue-bypass`, accepts it (the
//!   hook continues with the next table): kernel-checked in a namespace without a listener
//!   (`tests/kernel_targets.rs`). fwcheck takes that answer, uncertain, and forks the other
//!   (a listener's ACCEPT; with `--queue-bypass`, its DROP), as for `TPROXY`. The queue a
//!   balanced rule would pick (flow hash or CPU) does not matter to either answer.

use std::any::Any;
use std::fmt::Write;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{conflict, context_err, err};
use crate::ext::EvalCtx;
use crate::ext::{
    sub_span, xt_uint_prefix, Arg, OptArg, OptSpec, ParseCtx, Taken, Target, TargetVerdict, XtType,
};

/// Why a queued packet's verdict is uncertain (`-j NFQUEUE`, and `-j QUEUE`: queue 0).
pub(crate) const QUEUE_UNDECIDED: &str = "a listener on the queue decides (a userspace program \
     the capture does not show); without one the kernel drops the packet";
/// The same behind `--queue-bypass`.
const QUEUE_BYPASS_UNDECIDED: &str = "a listener on the queue decides (a userspace program \
     the capture does not show); without one the packet goes on (--queue-bypass)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Nfqueue {
    pub queue: u16,
    pub total: u16,
    pub bypass: bool,
    pub(crate) cpu_fanout: bool,
    num_given: bool,
    balance_given: bool,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Nfqueue {
        queue: 0,
        total: 1,
        bypass: false,
        cpu_fanout: false,
        num_given: false,
        balance_given: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("queue-num", 1, Arg::One).ty(XtType::U16),
    OptSpec::new("queue-balance", 2, Arg::One),
    OptSpec::new("queue-bypass", 3, Arg::None),
    OptSpec::new("queue-cpu-fanout", 4, Arg::None),
];

/// `XTTYPE_UINT16RC`: `a:b`, `:b`, `a:` (a missing part is 0, or 65535 for the second; the
/// option's `.max = 65534` is not applied by `xtopt_parse_mint`). `0:65535` makes 65536 queues,
/// which wraps the 16-bit count to 0: the kernel refuses it (`nfqueue_tg_check`).
fn parse_balance(arg: &OptArg<'_>) -> Result<(u16, u16), Diagnostic> {
    let t = arg.text;
    let expected = "FIRST:LAST with FIRST < LAST <= 65535";
    let mut vals = Vec::with_capacity(2);
    let mut pos = 0;
    loop {
        if vals.len() == 2 {
            return Err(err(
                arg.span,
                format!("too many components in --queue-balance `{t}`"),
                expected,
            ));
        }
        let part = &t[pos..];
        let (v, used) = if part.is_empty() || part.starts_with(':') {
            (if vals.len() == 1 { 65535 } else { 0 }, 0)
        } else {
            match xt_uint_prefix(part, 0, 65535) {
                Some((v, rest)) => {
                    if !rest.is_empty() && !rest.starts_with(':') {
                        return Err(err(
                            sub_span(arg, pos + part.len() - rest.len(), t.len()),
                            format!("unexpected characters `{rest}` in --queue-balance"),
                            expected,
                        ));
                    }
                    (v as u16, part.len() - rest.len())
                }
                None => {
                    return Err(err(
                        sub_span(arg, pos, t.len()),
                        format!("bad value for --queue-balance near `{part}`"),
                        expected,
                    ))
                }
            }
        };
        vals.push(v);
        pos += used;
        if pos >= t.len() {
            break;
        }
        pos += 1; // the ':'
    }
    if vals.len() != 2 {
        return Err(err(arg.span, format!("bad range `{t}`"), expected));
    }
    if vals[0] >= vals[1] {
        return Err(err(
            arg.span,
            format!("{} should be less than {}", vals[0], vals[1]),
            expected,
        ));
    }
    if vals[0] == 0 && vals[1] == 65535 {
        return Err(err(
            arg.span,
            "--queue-balance 0:65535 makes 65536 queues, which the kernel refuses",
            "at most 65535 queues (FIRST:LAST with LAST - FIRST < 65535)",
        ));
    }
    Ok((vals[0], vals[1]))
}

impl Target for Nfqueue {
    fn name(&self) -> &'static str {
        "NFQUEUE"
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
                if self.balance_given {
                    return Err(conflict(cx.span, "NFQUEUE", "queue-num", "queue-balance"));
                }
                self.queue = cx.val.uint() as u16;
                self.num_given = true;
            }
            2 => {
                if self.num_given {
                    return Err(conflict(cx.span, "NFQUEUE", "queue-balance", "queue-num"));
                }
                let (a, b) = parse_balance(&args[0])?;
                self.queue = a;
                self.total = b - a + 1;
                self.balance_given = true;
            }
            3 => self.bypass = true,
            _ => self.cpu_fanout = true,
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.cpu_fanout && !self.balance_given {
            return Err(context_err(
                cx.span,
                "NFQUEUE --queue-cpu-fanout also requires --queue-balance",
                "--queue-balance FIRST:LAST with --queue-cpu-fanout",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.total > 1 {
            let last = u32::from(self.queue) + u32::from(self.total) - 1;
            let _ = write!(out, " --queue-balance {}:{last}", self.queue);
        } else {
            let _ = write!(out, " --queue-num {}", self.queue);
        }
        if self.bypass {
            out.push_str(" --queue-bypass");
        }
        if self.cpu_fanout {
            out.push_str(" --queue-cpu-fanout");
        }
    }
    /// `nfqueue_tg_v3` → `nf_queue`: taken as no listener (DROP, or ACCEPT with
    /// `--queue-bypass`), uncertain.
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        if self.bypass {
            TargetVerdict::Undecided {
                why: QUEUE_BYPASS_UNDECIDED,
                taken: Taken::Accept,
            }
        } else {
            TargetVerdict::Undecided {
                why: QUEUE_UNDECIDED,
                taken: Taken::Drop,
            }
        }
    }
    /// A listener's verdict, the other way: it accepted the packet, or, behind
    /// `--queue-bypass`, dropped it (`nf_reinject`).
    fn forced(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        if self.bypass {
            TargetVerdict::Drop
        } else {
            TargetVerdict::Accept
        }
    }
    fn is_terminal(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    #[test]
    fn balance_ranges() {
        let b = |t: &str| {
            parse_balance(&OptArg {
                text: t,
                span: Span::new(0, t.len()),
            })
            .ok()
        };
        assert_eq!(b("0:6"), Some((0, 6)));
        assert_eq!(b("0:65534"), Some((0, 65534)));
        assert_eq!(b("0:65535"), None);
        assert_eq!(b("1:65535"), Some((1, 65535)));
        assert_eq!(b("3:"), Some((3, 65535)));
        assert_eq!(b(":5"), Some((0, 5)));
        assert_eq!(b("5"), None);
        assert_eq!(b("5:5"), None);
        assert_eq!(b("6:5"), None);
        assert_eq!(b("1:2:3"), None);
        assert_eq!(b("-1:3"), None);
    }
}
