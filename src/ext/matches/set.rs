//! `-m set [!] --match-set NAME src|dst[,src|dst…]` (libxt_set.c rev 4 / kernel `xt_set.c`
//! `set_match_v4`), with `--return-nomatch`, `! --update-counters`, `! --update-subcounters`,
//! `[!] --packets-eq N`, `--packets-lt N`, `--packets-gt N` and the same for bytes. `--set` is the
//! deprecated name of `--match-set`. Direction flags are matched by their first three letters, at
//! most 6 of them.
//!
//! iptables resolves the set name against the kernel's ipsets when it loads the rule (and fails
//! when the set does not exist); offline the name is kept as written. With the host's sets
//! (`--ipset FILE`, see `ext::ipset`) the match is `ip_set_test`'s answer, `!` and
//! `--return-nomatch` applied; without them, or with the counter options (element counters are
//! not kept), it is `Unknown`.

use std::any::Any;
use std::fmt::Write;

use super::{bad, conflict, missing};
use crate::diag::Diagnostic;
use crate::ext::ipset::{IpSets, Test};
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};

pub(crate) const DIM_MAX: usize = 6;

/// The named store holding the sets once `-j SET` changed them.
pub(crate) const LIVE_SETS: &str = "ipset:live";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterOp {
    Eq,
    Ne,
    Lt,
    Gt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    pub name: String,
    /// `true` = src for each dimension.
    pub dirs: Vec<bool>,
    pub invert: bool,
    pub(crate) return_nomatch: bool,
    pub(crate) skip_counter_update: bool,
    pub(crate) skip_subcounter_update: bool,
    pub packets: Option<(CounterOp, u64)>,
    pub bytes: Option<(CounterOp, u64)>,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Set {
        name: String::new(),
        dirs: Vec::new(),
        invert: false,
        return_nomatch: false,
        skip_counter_update: false,
        skip_subcounter_update: false,
        packets: None,
        bytes: None,
    })
}

const MATCH_SET: u8 = 1;
const RETURN_NOMATCH: u8 = 3;
const UPDATE_COUNTERS: u8 = 4;
const UPDATE_SUBCOUNTERS: u8 = 5;
const PACKETS_EQ: u8 = 6;
const PACKETS_LT: u8 = 7;
const PACKETS_GT: u8 = 8;
const BYTES_EQ: u8 = 9;
const BYTES_LT: u8 = 10;
const BYTES_GT: u8 = 11;

static OPTS: &[OptSpec] = &[
    OptSpec::new("match-set", MATCH_SET, Arg::Two).inv(),
    OptSpec::new("set", MATCH_SET, Arg::Two).inv(),
    OptSpec::new("return-nomatch", RETURN_NOMATCH, Arg::None),
    OptSpec::new("update-counters", UPDATE_COUNTERS, Arg::None).inv(),
    OptSpec::new("update-subcounters", UPDATE_SUBCOUNTERS, Arg::None).inv(),
    OptSpec::new("packets-eq", PACKETS_EQ, Arg::One)
        .ty(XtType::Uint {
            min: 0,
            max: u64::MAX,
        })
        .inv(),
    OptSpec::new("packets-lt", PACKETS_LT, Arg::One).ty(XtType::Uint {
        min: 0,
        max: u64::MAX,
    }),
    OptSpec::new("packets-gt", PACKETS_GT, Arg::One).ty(XtType::Uint {
        min: 0,
        max: u64::MAX,
    }),
    OptSpec::new("bytes-eq", BYTES_EQ, Arg::One)
        .ty(XtType::Uint {
            min: 0,
            max: u64::MAX,
        })
        .inv(),
    OptSpec::new("bytes-lt", BYTES_LT, Arg::One).ty(XtType::Uint {
        min: 0,
        max: u64::MAX,
    }),
    OptSpec::new("bytes-gt", BYTES_GT, Arg::One).ty(XtType::Uint {
        min: 0,
        max: u64::MAX,
    }),
];

/// `parse_dirs`.
pub(crate) fn parse_dirs(a: &OptArg<'_>) -> Result<Vec<bool>, Diagnostic> {
    let parts: Vec<OptArg<'_>> = crate::ext::split_list(a, ',');
    if parts.len() > DIM_MAX {
        return Err(bad(
            a.span,
            format!("more than {DIM_MAX} src/dst flags"),
            "at most 6 comma-separated src/dst flags",
        ));
    }
    parts
        .iter()
        .map(|p| {
            if p.text.starts_with("src") {
                Ok(true)
            } else if p.text.starts_with("dst") {
                Ok(false)
            } else {
                Err(bad(
                    p.span,
                    format!("bad direction `{}`", p.text),
                    "a comma-separated list of src or dst",
                ))
            }
        })
        .collect()
}

impl Match for Set {
    fn name(&self) -> &'static str {
        "set"
    }
    fn ipsets(&self) -> Vec<&str> {
        vec![&self.name]
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
        match opt.id {
            MATCH_SET => {
                if !self.dirs.is_empty() {
                    return Err(conflict(
                        cx,
                        "--match-set can be given only once",
                        "one --match-set per -m set",
                    ));
                }
                let n = &args[0];
                if n.text.is_empty() || n.text.len() > 31 {
                    return Err(bad(
                        n.span,
                        format!("invalid set name `{}`", n.text),
                        "a set name of 1 to 31 characters",
                    ));
                }
                if args[1].text.starts_with('-') || args[1].text.starts_with('!') {
                    return Err(bad(
                        args[1].span,
                        "--match-set requires two arguments",
                        "--match-set NAME src|dst[,src|dst...]",
                    ));
                }
                self.name = n.text.to_string();
                self.dirs = parse_dirs(&args[1])?;
                self.invert = invert;
            }
            RETURN_NOMATCH => self.return_nomatch = true,
            UPDATE_COUNTERS => self.skip_counter_update |= invert,
            UPDATE_SUBCOUNTERS => self.skip_subcounter_update |= invert,
            _ => {
                let v = cx.val.uint();
                let op = match opt.id {
                    PACKETS_EQ | BYTES_EQ if invert => CounterOp::Ne,
                    PACKETS_EQ | BYTES_EQ => CounterOp::Eq,
                    PACKETS_LT | BYTES_LT => CounterOp::Lt,
                    _ => CounterOp::Gt,
                };
                let slot = if opt.id <= PACKETS_GT {
                    &mut self.packets
                } else {
                    &mut self.bytes
                };
                if slot.is_some() {
                    let what = if opt.id <= PACKETS_GT {
                        "packets"
                    } else {
                        "bytes"
                    };
                    return Err(conflict(
                        cx,
                        format!("only one of the --{what}-[eq|lt|gt] is allowed"),
                        format!("a single --{what}-eq, --{what}-lt or --{what}-gt"),
                    ));
                }
                *slot = Some((op, v));
            }
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.dirs.is_empty() {
            return Err(missing(
                cx,
                "-m set requires --match-set",
                "--match-set NAME src|dst[,src|dst...]",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        let _ = write!(out, " --match-set {}", self.name);
        for (i, src) in self.dirs.iter().enumerate() {
            out.push(if i == 0 { ' ' } else { ',' });
            out.push_str(if *src { "src" } else { "dst" });
        }
        if self.return_nomatch {
            out.push_str(" --return-nomatch");
        }
        if self.skip_counter_update {
            out.push_str(" ! --update-counters");
        }
        if self.skip_subcounter_update {
            out.push_str(" ! --update-subcounters");
        }
        for (name, c) in [("packets", self.packets), ("bytes", self.bytes)] {
            if let Some((op, v)) = c {
                let _ = match op {
                    CounterOp::Eq => write!(out, " --{name}-eq {v}"),
                    CounterOp::Ne => write!(out, " ! --{name}-eq {v}"),
                    CounterOp::Lt => write!(out, " --{name}-lt {v}"),
                    CounterOp::Gt => write!(out, " --{name}-gt {v}"),
                };
            }
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        // Sets changed by `-j SET` live in the named store; else the --ipset file's.
        let live = cx
            .ext
            .named
            .get(LIVE_SETS)
            .and_then(|b| b.as_any().downcast_ref::<IpSets>());
        let Some(sets) = live.or(cx.env.ipsets.as_deref()) else {
            return MatchResult::Unknown(
                "ipset contents are not known offline (give them with --ipset FILE)",
            );
        };
        if self.packets.is_some() || self.bytes.is_some() {
            return MatchResult::Unknown("ipset element counters are not known offline");
        }
        let now = (cx.now_ns, 1_000_000_000 / u64::from(cx.env.hz.max(1)));
        let t = sets.test(
            &self.name,
            cx.pkt,
            &self.dirs,
            (cx.indev, cx.outdev),
            now,
            self.return_nomatch,
        );
        match t {
            Test::Yes => MatchResult::from_bool(!self.invert),
            Test::No | Test::NoMatch => MatchResult::from_bool(self.invert),
            Test::Unknown(why) => MatchResult::Unknown(why),
        }
    }
    /// Entries with a timeout expire on the clock (`ip_set_timeout_expired`).
    fn reads_clock(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
