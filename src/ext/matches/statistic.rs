//! `-m statistic --mode random --probability P` / `--mode nth --every N --packet P`
//! (libxt_statistic.c / kernel `xt_statistic.c` `statistic_mt`).
//!
//! nth mode is exact: one counter per rule, starting at `every − packet` (after `every` is
//! stored as N−1); each evaluation advances it (wrapping from N−1 to 0) and the packet matches
//! when it becomes 0, so the (P+1)-th, (P+1+N)-th, … packets reaching the rule match. `!` inverts
//! the result. Once a packet may have gone another way in the kernel (an undecided match or
//! verdict, as for `limit` buckets), the kernel's counter may differ by any amount: from then
//! on the rule's answer is unknown (`--every 1` always matches and stays exact). random mode draws `get_random_u32() & 0x7FFFFFFF < round(P·2³¹)`: decided only
//! for P = 0 (never) and P = 1 (always), `Unknown` otherwise.

use std::any::Any;
use std::fmt::Write;

use super::{bad, missing};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};

/// An nth counter (`xt_statistic_priv.count`).
#[derive(Debug, Clone)]
struct Nth {
    count: u32,
    /// The doubt events (`Doubt::mark_limits`) taken in.
    seen: u64,
    /// Since one of them, the kernel's counter may differ: it is not known any more (every
    /// value of it gives other answers, and nothing brings it back).
    lost: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Random,
    Nth,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statistic {
    pub mode: Option<Mode>,
    pub invert: bool,
    /// `lround(P * 0x80000000)`.
    pub probability: u32,
    /// N − 1.
    pub every: u32,
    pub packet: u32,
    pub given: u8,
}

const PROB: u8 = 2;
const EVERY: u8 = 3;
const PACKET: u8 = 4;

pub fn new() -> Box<dyn Match> {
    Box::new(Statistic {
        mode: None,
        invert: false,
        probability: 0,
        every: 0,
        packet: 0,
        given: 0,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("mode", 1, Arg::One),
    OptSpec::new("probability", PROB, Arg::One).inv(),
    OptSpec::new("every", EVERY, Arg::One)
        .ty(XtType::Uint {
            min: 1,
            max: u32::MAX as u64,
        })
        .inv(),
    OptSpec::new("packet", PACKET, Arg::One).ty(XtType::U32),
];

impl Match for Statistic {
    fn name(&self) -> &'static str {
        "statistic"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        let a = &args[0];
        if invert {
            self.invert = true;
        }
        let bit = 1 << opt.id;
        let excl = match opt.id {
            PROB => (1 << EVERY) | (1 << PACKET),
            EVERY | PACKET => 1 << PROB,
            _ => 0,
        };
        if self.given & excl != 0 {
            return Err(super::conflict(
                cx,
                "--probability cannot be combined with --every/--packet",
                "--probability for random mode, --every and --packet for nth mode",
            ));
        }
        self.given |= bit;
        match opt.id {
            1 => {
                self.mode = Some(match a.text {
                    "random" => Mode::Random,
                    "nth" => Mode::Nth,
                    _ => {
                        return Err(bad(
                            a.span,
                            format!("bad mode `{}`", a.text),
                            "random or nth",
                        ))
                    }
                })
            }
            PROB => {
                let p: f64 = a.text.trim().parse().map_err(|_| {
                    bad(
                        a.span,
                        format!("bad probability `{}`", a.text),
                        "a number from 0 to 1",
                    )
                })?;
                if !(0.0..=1.0).contains(&p) {
                    return Err(bad(
                        a.span,
                        format!("probability `{}` out of range", a.text),
                        "a number from 0 to 1",
                    ));
                }
                self.probability = (p * 2147483648.0).round() as u32;
            }
            EVERY => {
                self.every = (cx.val.uint() - 1) as u32;
            }
            _ => self.packet = cx.val.uint() as u32,
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        match self.mode {
            None => Err(missing(
                cx,
                "-m statistic requires --mode",
                "--mode random or --mode nth",
            )),
            Some(Mode::Random) if self.given & (1 << PROB) == 0 => Err(missing(
                cx,
                "--probability must be given in random mode",
                "--probability P (0 to 1)",
            )),
            Some(Mode::Nth) if self.given & ((1 << EVERY) | (1 << PACKET)) == 0 => Err(missing(
                cx,
                "--every and --packet must be given in nth mode",
                "--every N --packet P",
            )),
            _ if self.packet > self.every => Err(missing(
                cx,
                "the --packet p must be 0 <= p <= n-1",
                "--packet below --every",
            )),
            _ if (self.given & (1 << EVERY) != 0) != (self.given & (1 << PACKET) != 0) => {
                Err(missing(
                    cx,
                    "--every and --packet require each other",
                    "--every N --packet P",
                ))
            }
            _ => Ok(()),
        }
    }
    fn save(&self, out: &mut String) {
        let inv = if self.invert { " !" } else { "" };
        match self.mode {
            Some(Mode::Random) | None => {
                let _ = write!(
                    out,
                    " --mode random{inv} --probability {:.11}",
                    self.probability as f64 / 2147483648.0
                );
            }
            Some(Mode::Nth) => {
                let _ = write!(
                    out,
                    " --mode nth{inv} --every {} --packet {}",
                    self.every as u64 + 1,
                    self.packet
                );
            }
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        match self.mode {
            Some(Mode::Nth) => {
                let start = self.every - self.packet;
                let epoch = cx.ext.doubt.limits().settled(cx.pkt.frame);
                let c = cx.ext.slot(cx.slot, || Nth {
                    count: start,
                    seen: 0,
                    lost: false,
                });
                if epoch != c.seen {
                    // An earlier packet may have gone another way in the kernel since this
                    // counter was last exact (`Doubt::mark_limits`): it may have reached this
                    // rule more or fewer times there. (This packet's own doubt, raised before
                    // this rule, counts from the next packet on, as for `limit` buckets.)
                    c.seen = epoch;
                    c.lost |= self.every > 0;
                }
                let n = if c.count == self.every {
                    0
                } else {
                    c.count + 1
                };
                c.count = n;
                if c.lost {
                    return MatchResult::Unknown(
                        "statistic --mode nth: an earlier uncertain packet may have advanced \
                         this counter in the kernel",
                    );
                }
                MatchResult::from_bool((n == 0) != self.invert)
            }
            _ => {
                if self.probability == 0 {
                    MatchResult::from_bool(self.invert)
                } else if self.probability >= 0x8000_0000 {
                    MatchResult::from_bool(!self.invert)
                } else {
                    MatchResult::Unknown("statistic --mode random draws a random number")
                }
            }
        }
    }
    fn stateful(&self) -> bool {
        self.mode == Some(Mode::Nth)
    }
    /// Counts packets (`--mode nth`), not time.
    fn reads_clock(&self) -> bool {
        false
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
