//! `-j SET` (libxt_SET.c revision 3; kernel xt_set.c `set_target_v3`): add or delete the packet's
//! addresses/ports in ipsets, or set the packet's mark/priority/queue from a set entry. Any
//! table, any hook (with the limits below). Always XT_CONTINUE.
//!
//! - `--add-set NAME FLAGS`, `--del-set NAME FLAGS`, `--map-set NAME FLAGS` (each at most once;
//!   NAME ≤ 31 characters; FLAGS a comma list of up to 6 `src`/`dst` — only the first three
//!   letters are compared), `--exist` and `--timeout N` (0–4294967294; both only with
//!   `--add-set`), `--map-mark`, `--map-prio`, `--map-queue` (only with `--map-set`, which
//!   needs one of them).
//! - Kernel (`set_target_v3_checkentry`): `--map-set` only in table mangle; with `--map-prio`
//!   or `--map-queue` only from FORWARD, OUTPUT, POSTROUTING (checked for rules in built-in
//!   chains, as iptables-nft does). Every named set must exist when the rule is loaded —
//!   invisible offline (fwcheck warns).
//! - Save: `--add-set N F [--exist] [--timeout N] --del-set N F --map-set N F [--map-mark]
//!   [--map-prio] [--map-queue]`.
//! - Side effect: with the host's sets given (`--ipset FILE`) additions and deletions change
//!   them for later `-m set` matches (element timeouts from `--timeout` or the set's default;
//!   an element already there keeps its timeout unless `--exist`). Without them `-m set` is
//!   unknown anyway.

use std::any::Any;

use crate::ext::matches::set::LIVE_SETS;
use std::fmt::Write;

use crate::diag::codes as code;
use crate::diag::Diagnostic;
use crate::ext::targets::common::{builtin_hook, context_err, err, missing, W_HOST_STATE};
use crate::ext::EvalCtx;
use crate::ext::{split_list, Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, XtType};
use crate::netfilter::{Hook, TableKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetRef {
    pub name: String,
    /// `true` = src, `false` = dst, per dimension.
    pub dirs: Vec<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetTarget {
    pub add: Option<SetRef>,
    pub del: Option<SetRef>,
    pub map: Option<SetRef>,
    pub exist: bool,
    pub timeout: Option<u32>,
    pub(crate) map_mark: bool,
    pub(crate) map_prio: bool,
    pub(crate) map_queue: bool,
}

pub fn new() -> Box<dyn Target> {
    Box::new(SetTarget {
        add: None,
        del: None,
        map: None,
        exist: false,
        timeout: None,
        map_mark: false,
        map_prio: false,
        map_queue: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("add-set", 1, Arg::Two),
    OptSpec::new("del-set", 2, Arg::Two),
    OptSpec::new("exist", 3, Arg::None),
    OptSpec::new("timeout", 4, Arg::One).ty(XtType::Uint {
        min: 0,
        max: u32::MAX as u64 - 1,
    }),
    OptSpec::new("map-set", 5, Arg::Two),
    OptSpec::new("map-mark", 6, Arg::None),
    OptSpec::new("map-prio", 7, Arg::None),
    OptSpec::new("map-queue", 8, Arg::None),
];

fn parse_ref(opt: &str, args: &[OptArg<'_>]) -> Result<SetRef, Diagnostic> {
    let (name, flags) = (&args[0], &args[1]);
    if flags.text.starts_with('-') || flags.text.starts_with('!') {
        return Err(err(
            flags.span,
            format!("--{opt} requires two arguments"),
            format!("--{opt} SETNAME src|dst[,src|dst…]"),
        ));
    }
    if name.text.len() > 31 {
        return Err(err(
            name.span,
            format!("set name `{}` is too long", name.text),
            "a set name of at most 31 characters",
        ));
    }
    let mut dirs = Vec::new();
    for part in split_list(flags, ',') {
        if dirs.len() == 6 {
            return Err(err(
                part.span,
                "more than 6 src/dst flags",
                "at most 6 comma-separated src/dst flags",
            ));
        }
        if part.text.starts_with("src") {
            dirs.push(true);
        } else if part.text.starts_with("dst") {
            dirs.push(false);
        } else {
            return Err(err(
                part.span,
                format!("`{}` is not src or dst", part.text),
                "a comma-separated list of src and dst",
            ));
        }
    }
    Ok(SetRef {
        name: name.text.to_string(),
        dirs,
    })
}

fn save_ref(out: &mut String, opt: &str, r: &Option<SetRef>) {
    if let Some(r) = r {
        let dirs: Vec<&str> = r
            .dirs
            .iter()
            .map(|s| if *s { "src" } else { "dst" })
            .collect();
        let _ = write!(out, " --{opt} {} {}", r.name, dirs.join(","));
    }
}

impl Target for SetTarget {
    fn name(&self) -> &'static str {
        "SET"
    }
    fn ipsets(&self) -> Vec<&str> {
        [&self.add, &self.del, &self.map]
            .into_iter()
            .flatten()
            .map(|r| r.name.as_str())
            .collect()
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
            1 => self.add = Some(parse_ref(opt.name, args)?),
            2 => self.del = Some(parse_ref(opt.name, args)?),
            5 => self.map = Some(parse_ref(opt.name, args)?),
            3 => self.exist = true,
            4 => self.timeout = Some(cx.val.uint() as u32),
            6 => self.map_mark = true,
            7 => self.map_prio = true,
            _ => self.map_queue = true,
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        let need = |what: &str, with: &str| {
            Diagnostic::error(
                code::SYNTAX,
                cx.span,
                format!("SET: {what} can be used with --{with} only"),
            )
            .expected(format!("--{with} in the rule, or no {what}"))
        };
        if self.add.is_none() && self.del.is_none() && self.map.is_none() {
            return Err(missing(cx.span, "SET", "--add-set, --del-set or --map-set"));
        }
        if self.add.is_none() {
            if self.exist {
                return Err(need("--exist", "add-set"));
            }
            if self.timeout.is_some() {
                return Err(need("--timeout", "add-set"));
            }
        }
        if self.map.is_none() {
            for (f, n) in [
                (self.map_mark, "--map-mark"),
                (self.map_prio, "--map-prio"),
                (self.map_queue, "--map-queue"),
            ] {
                if f {
                    return Err(need(n, "map-set"));
                }
            }
        } else {
            if !(self.map_mark || self.map_prio || self.map_queue) {
                return Err(missing(
                    cx.span,
                    "SET --map-set",
                    "--map-mark, --map-prio or --map-queue",
                ));
            }
            if cx.table != TableKind::Mangle {
                return Err(context_err(
                    cx.span,
                    "SET --map-set is only usable from table mangle",
                    "the rule in table mangle",
                ));
            }
            if self.map_prio || self.map_queue {
                if let Some(h) = builtin_hook(cx) {
                    if !matches!(h, Hook::Forward | Hook::Output | Hook::Postrouting) {
                        return Err(context_err(
                            cx.span,
                            format!("SET --map-prio/--map-queue is not allowed in {h}"),
                            "FORWARD, OUTPUT or POSTROUTING",
                        ));
                    }
                }
            }
        }
        let names: Vec<&str> = [&self.add, &self.del, &self.map]
            .iter()
            .filter_map(|r| r.as_ref().map(|r| r.name.as_str()))
            .collect();
        cx.warn(
            Diagnostic::warning(
                W_HOST_STATE,
                cx.span,
                format!(
                    "ipset {} must exist when the rule is loaded",
                    names.join(", ")
                ),
            )
            .note("fwcheck does not see ipsets; iptables refuses the rule if a set is missing")
            .note("the SET target changes set contents, which fwcheck does not simulate"),
        );
        Ok(())
    }
    fn save(&self, out: &mut String) {
        save_ref(out, "add-set", &self.add);
        if self.exist {
            out.push_str(" --exist");
        }
        if let Some(t) = self.timeout {
            let _ = write!(out, " --timeout {t}");
        }
        save_ref(out, "del-set", &self.del);
        save_ref(out, "map-set", &self.map);
        if self.map_mark {
            out.push_str(" --map-mark");
        }
        if self.map_prio {
            out.push_str(" --map-prio");
        }
        if self.map_queue {
            out.push_str(" --map-queue");
        }
    }
    /// An entry added with a timeout expires on the clock.
    fn reads_clock(&self) -> bool {
        true
    }
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict {
        if self.map.is_some() {
            // The mark/priority/queue come from the set entry the packet matches.
            return TargetVerdict::Unknown("SET --map-set takes values from ipset contents");
        }
        // With the host's sets known, additions and deletions are state, like recent's.
        let Some(base) = cx.env.ipsets.clone() else {
            return TargetVerdict::Continue;
        };
        let now = (cx.now_ns, 1_000_000_000 / u64::from(cx.env.hz.max(1)));
        let (pkt, devs) = (cx.pkt, (cx.indev, cx.outdev));
        let live = cx.ext.named(LIVE_SETS, || (*base).clone());
        if let Some(a) = &self.add {
            let timeout = self.timeout.map(u64::from);
            if let Err(why) = live.add(&a.name, pkt, &a.dirs, devs, now, timeout, self.exist) {
                return TargetVerdict::Unknown(why);
            }
        }
        if let Some(d) = &self.del {
            live.del(&d.name, pkt, &d.dirs, devs);
        }
        TargetVerdict::Continue
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
