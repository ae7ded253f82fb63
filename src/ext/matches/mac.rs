//! `-m mac --mac-source XX:XX:XX:XX:XX:XX` (libxt_mac.c / kernel `xt_mac.c` `mac_mt`): the
//! Ethernet source address of the frame, XOR `!`; only in PREROUTING, INPUT and FORWARD.
//!
//! The kernel answers "no match" (before the `!`) when the input device is not Ethernet or the
//! frame has no MAC header. Offline: a capture that carries the source MAC (Ethernet, Linux
//! cooked) decides; a capture without link-layer addresses (raw IP) gives `Unknown`, since the
//! real device's type is not known.

use std::any::Any;
use std::fmt::Write;

use super::{bad, missing};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::Facets;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::netfilter::{Hook, HookMask};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mac {
    pub addr: [u8; 6],
    pub invert: bool,
    pub given: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Mac {
        addr: [0; 6],
        invert: false,
        given: false,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("mac-source", 1, Arg::One).inv()];

/// `xtopt_parse_ethermac`: six groups of one or two hex digits separated by `:`.
pub(crate) fn parse_mac(arg: &OptArg<'_>) -> Result<[u8; 6], Diagnostic> {
    let err = || {
        bad(
            arg.span,
            format!("invalid MAC address `{}`", arg.text),
            "a MAC address such as 00:11:22:aa:bb:cc",
        )
    };
    let parts: Vec<&str> = arg.text.split(':').collect();
    if parts.len() != 6 {
        return Err(err());
    }
    let mut out = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 2 || !p.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(err());
        }
        out[i] = u8::from_str_radix(p, 16).map_err(|_| err())?;
    }
    Ok(out)
}

pub(crate) fn fmt_mac(out: &mut String, m: &[u8; 6]) {
    let _ = write!(
        out,
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    );
}

impl Match for Mac {
    fn name(&self) -> &'static str {
        "mac"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        self.addr = parse_mac(&args[0])?;
        self.invert = invert;
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(
                cx,
                "-m mac requires --mac-source",
                "--mac-source XX:XX:XX:XX:XX:XX",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --mac-source ");
        fmt_mac(out, &self.addr);
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        match cx.pkt.link.src_mac {
            // A forwarded packet captured leaving (`Engine::leaving_copy`): the frame shows the
            // host's own address, not the one it came in with.
            Some(m) if cx.env.host.macs.contains(&m) => MatchResult::Unknown(
                "the capture shows the frame leaving the host: the link-layer source it came \
                 in with is not in the capture",
            ),
            Some(m) => MatchResult::from_bool((m == self.addr) != self.invert),
            None => MatchResult::Unknown("the capture has no link-layer source address"),
        }
    }
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Prerouting, Hook::Input, Hook::Forward])
    }
    fn facets(&self) -> Facets {
        Facets {
            pure: true,
            ..Facets::default()
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
