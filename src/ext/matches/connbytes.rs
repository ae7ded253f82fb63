//! `-m connbytes [!] --connbytes FROM[:TO] --connbytes-dir original|reply|both
//! --connbytes-mode packets|bytes|avgpkt` (libxt_connbytes.c / kernel `xt_connbytes.c`
//! `connbytes_mt`): the connection's packet or byte count so far, or its average packet size,
//! in one direction or both, against a range.
//!
//! The counts are conntrack's accounting (`nf_conn_acct`, [`crate::conntrack::Acct`]): every
//! packet the tracker accepts is counted with its `skb->len` where the kernel's trackers call
//! `nf_ct_refresh_acct` — the packet being judged included, as conntrack runs before mangle
//! and filter; not a TCP SYN retransmission nor a segment the window check ignores, nor an
//! INVALID packet or an ICMP error. Loading a `connbytes` rule switches accounting on
//! (`connbytes_mt_check` → `nf_ct_set_acct`); a connection created before that has no counters
//! and the match is false for it, as it is for a packet without a connection (INVALID,
//! untracked, raw's rules before conntrack).
//!
//! A range whose `TO` is below `FROM` is the negation (`!` swaps the two): the count must lie
//! outside. `! --connbytes N:N` swaps nothing and is not negated, as in the kernel.
//!
//! Offline, a TCP connection picked up mid-stream (its first captured packet not a SYN) had
//! packets before the capture that the kernel counted: the match is then unknown. Kernel-checked
//! in `tests/kernel_connbytes.rs`.

use std::any::Any;
use std::fmt::Write;

use super::time::W_SAVE_CHANGES_MEANING;
use super::{bad, missing};
use crate::conntrack::Attach;
use crate::diag::Diagnostic;
use crate::ext::xtopt::parse_mint;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Packets,
    Bytes,
    AvgPkt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Original,
    Reply,
    Both,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Connbytes {
    /// `count.from`, `count.to` as the kernel holds them (swapped by `!`).
    from: u64,
    to: u64,
    what: Option<What>,
    dir: Option<Dir>,
    given: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Connbytes {
        from: 0,
        to: u64::MAX,
        what: None,
        dir: None,
        given: false,
    })
}

const COUNT: u8 = 1;
const DIR: u8 = 2;
const MODE: u8 = 3;

static OPTS: &[OptSpec] = &[
    OptSpec::new("connbytes", COUNT, Arg::One).inv(),
    OptSpec::new("connbytes-dir", DIR, Arg::One),
    OptSpec::new("connbytes-mode", MODE, Arg::One),
];

const MODES: &[(&str, What)] = &[
    ("packets", What::Packets),
    ("bytes", What::Bytes),
    ("avgpkt", What::AvgPkt),
];
const DIRS: &[(&str, Dir)] = &[
    ("original", Dir::Original),
    ("reply", Dir::Reply),
    ("both", Dir::Both),
];

impl Match for Connbytes {
    fn name(&self) -> &'static str {
        "connbytes"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        let a = &args[0];
        match opt.id {
            COUNT => {
                // XTTYPE_UINT64RC: a single number leaves `to` at UINT64_MAX.
                let (from, hi) = parse_mint(a, 0, u64::MAX, "value for option --connbytes")?;
                let to = if a.text.contains(':') { hi } else { u64::MAX };
                if to < from {
                    return Err(bad(
                        a.span,
                        format!("{from} should be less than {to}"),
                        "FROM:TO with FROM ≤ TO (write `!` before --connbytes to negate)",
                    ));
                }
                (self.from, self.to) = if invert { (to, from) } else { (from, to) };
                self.given = true;
            }
            DIR => match DIRS.iter().find(|(n, _)| *n == a.text) {
                Some((_, d)) => self.dir = Some(*d),
                None => {
                    return Err(bad(
                        a.span,
                        format!("Unknown --connbytes-dir `{}'", a.text),
                        "original, reply or both",
                    ))
                }
            },
            _ => match MODES.iter().find(|(n, _)| *n == a.text) {
                Some((_, w)) => self.what = Some(*w),
                None => {
                    return Err(bad(
                        a.span,
                        format!("Unknown --connbytes-mode `{}'", a.text),
                        "packets, bytes or avgpkt",
                    ))
                }
            },
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        for (ok, opt) in [
            (self.given, "--connbytes"),
            (self.dir.is_some(), "--connbytes-dir"),
            (self.what.is_some(), "--connbytes-mode"),
        ] {
            if !ok {
                return Err(missing(
                    cx,
                    format!("-m connbytes requires {opt}"),
                    "--connbytes FROM[:TO] --connbytes-dir original|reply|both --connbytes-mode packets|bytes|avgpkt",
                ));
            }
        }
        // `print_from_to` leaves out a `TO` of 0: `0:0` saves as `0`, which reads back as 0:.
        if self.from.min(self.to) == 0 && self.from.max(self.to) == 0 {
            let span = cx.span;
            cx.warn(
                Diagnostic::warning(
                    W_SAVE_CHANGES_MEANING,
                    span,
                    "--connbytes 0:0 matches a count of 0 only; iptables-save prints it as \
                     `--connbytes 0`, which matches every count",
                )
                .note(
                    "iptables loads this rule, but the form iptables-save prints for it reads \
                     back as a different rule",
                ),
            );
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let (from, to) = if self.from > self.to {
            out.push_str(" !");
            (self.to, self.from)
        } else {
            (self.from, self.to)
        };
        let _ = write!(out, " --connbytes {from}");
        if to != 0 && to < u64::MAX {
            let _ = write!(out, ":{to}");
        }
        let mode = MODES.iter().find(|(_, w)| Some(*w) == self.what);
        let dir = DIRS.iter().find(|(_, d)| Some(*d) == self.dir);
        let _ = write!(
            out,
            " --connbytes-mode {} --connbytes-dir {}",
            mode.map_or("unknown", |m| m.0),
            dir.map_or("unknown", |d| d.0)
        );
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let Attach::Ct { id, .. } = cx.skb.ct else {
            return MatchResult::No;
        };
        let Some(acct) = cx.conntrack.acct(id) else {
            return MatchResult::No;
        };
        if cx
            .conntrack
            .get(id)
            .and_then(|e| e.tcp())
            .is_some_and(|t| t.picked_up_mid_stream())
        {
            return MatchResult::Unknown(
                "connbytes: the TCP connection was picked up mid-stream: the packets the kernel \
                 counted before the capture began are not known",
            );
        }
        let [o, r] = acct;
        let (packets, bytes) = match self.dir.unwrap_or(Dir::Both) {
            Dir::Original => (o.packets, o.bytes),
            Dir::Reply => (r.packets, r.bytes),
            Dir::Both => (o.packets + r.packets, o.bytes + r.bytes),
        };
        let what = match self.what.unwrap_or(What::Bytes) {
            What::Packets => packets,
            What::Bytes => bytes,
            What::AvgPkt => bytes.checked_div(packets).unwrap_or(0),
        };
        MatchResult::from_bool(if self.to >= self.from {
            what >= self.from && what <= self.to
        } else {
            what < self.to || what > self.from
        })
    }
    fn explain(&self, cx: &EvalCtx<'_>, held: bool) -> Option<String> {
        let Attach::Ct { id, .. } = cx.skb.ct else {
            return Some("connbytes did not hold (the packet has no connection)".into());
        };
        let Some([o, r]) = cx.conntrack.acct(id) else {
            return Some(
                "connbytes did not hold (the connection was created before accounting was on)"
                    .into(),
            );
        };
        Some(format!(
            "connbytes {} (original {} packets {} bytes, reply {} packets {} bytes)",
            if held { "held" } else { "did not hold" },
            o.packets,
            o.bytes,
            r.packets,
            r.bytes
        ))
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
    fn enables_acct(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
