//! `-m esp [!] --espspi SPI[:SPI]` (libxt_esp.c / kernel `xt_esp.c` `esp_mt`), requires
//! `-p esp`: the Security Parameters Index (the first four bytes of the ESP header) inside the
//! range, XOR `!`. Also the shared code of `-m ah` (IPv4, `--ahspi`, SPI at bytes 4–7 of the AH
//! header). Non-first fragments never match; a packet too short for the header (8 bytes for ESP,
//! 12 for AH) is hot-dropped; `Unknown` only when the capture cut the SPI off.

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spi {
    /// `true` for `-m ah`.
    pub ah: bool,
    pub(crate) spis: (u32, u32),
    pub invert: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Spi {
        ah: false,
        spis: (0, u32::MAX),
        invert: false,
    })
}

pub(crate) fn new_ah() -> Box<dyn Match> {
    Box::new(Spi {
        ah: true,
        spis: (0, u32::MAX),
        invert: false,
    })
}

static OPTS_ESP: &[OptSpec] = &[OptSpec::new("espspi", 1, Arg::One)
    .ty(XtType::Range {
        min: 0,
        max: u32::MAX as u64,
    })
    .inv()];
static OPTS_AH: &[OptSpec] = &[OptSpec::new("ahspi", 1, Arg::One)
    .ty(XtType::Range {
        min: 0,
        max: u32::MAX as u64,
    })
    .inv()];

impl Match for Spi {
    fn name(&self) -> &'static str {
        if self.ah {
            "ah"
        } else {
            "esp"
        }
    }
    fn options(&self) -> &'static [OptSpec] {
        if self.ah {
            OPTS_AH
        } else {
            OPTS_ESP
        }
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        invert: bool,
        _args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        let (lo, hi) = cx.val.range();
        self.spis = (lo as u32, hi as u32);
        self.invert = invert;
        Ok(())
    }
    fn save(&self, out: &mut String) {
        // iptables 1.8.9 leaves out a full range even when negated (the kernel still has the
        // negation: such a rule never matches).
        if self.spis == (0, u32::MAX) {
            return;
        }
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(if self.ah { " --ahspi " } else { " --espspi " });
        crate::ext::fmt_u32_range(out, self.spis);
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let p = cx.pkt;
        if p.frag.offset != 0 {
            return MatchResult::No;
        }
        let (off, need) = if self.ah { (4, 12) } else { (0, 8) };
        let base = p.ip_hdr_len as usize;
        if (p.ip_len as usize) < base + need {
            return MatchResult::HotDrop;
        }
        let Some(b) = p.data.get(base + off..base + off + 4) else {
            return MatchResult::Unknown("SPI cut off by the capture's snap length");
        };
        let spi = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        MatchResult::from_bool((spi >= self.spis.0 && spi <= self.spis.1) != self.invert)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
