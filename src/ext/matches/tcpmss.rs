//! `-m tcpmss [!] --mss MIN[:MAX]` (libxt_tcpmss.c / kernel `xt_tcpmss.c` `tcpmss_mt`), requires
//! `-p tcp`: the value of the first well-formed MSS option of the TCP header inside the range,
//! XOR `!`; a header without MSS option gives `!`'s value. The options are walked from the raw
//! header bytes as the kernel walks them; a header or option area shorter than the packet claims
//! hot-drops. `Unknown` only when the capture cut the header off.

use std::any::Any;

use super::{bad, missing};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx, XtType};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tcpmss {
    pub min: u16,
    pub max: u16,
    pub invert: bool,
    given: bool,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Tcpmss {
        min: 0,
        max: 0,
        invert: false,
        given: false,
    })
}

static OPTS: &[OptSpec] = &[OptSpec::new("mss", 1, Arg::One)
    .ty(XtType::Range { min: 0, max: 65535 })
    .inv()];

/// The kernel's option walk: `Ok(Some(mss))`, `Ok(None)` without MSS, `Err(true)` to hot-drop,
/// `Err(false)` when the capture lacks the bytes.
pub(crate) fn find_mss(data: &[u8], ip_len: usize, thoff: usize) -> Result<Option<u16>, bool> {
    if ip_len < thoff + 20 {
        return Err(true);
    }
    let th = data.get(thoff..thoff + 20).ok_or(false)?;
    let doff = (th[12] >> 4) as usize * 4;
    if doff < 20 {
        return Err(true);
    }
    let optlen = doff - 20;
    if optlen == 0 {
        return Ok(None);
    }
    if ip_len < thoff + doff {
        return Err(true);
    }
    let op = data.get(thoff + 20..thoff + doff).ok_or(false)?;
    let mut i = 0;
    while i < optlen {
        if op[i] == 2 && optlen - i >= 4 && op[i + 1] == 4 {
            return Ok(Some(u16::from_be_bytes([op[i + 2], op[i + 3]])));
        }
        if op[i] < 2 {
            i += 1;
        } else {
            let l = op.get(i + 1).copied().unwrap_or(0) as usize;
            i += if l == 0 { 1 } else { l };
        }
    }
    Ok(None)
}

impl Match for Tcpmss {
    fn name(&self) -> &'static str {
        "tcpmss"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        let (lo, hi) = cx.val.range();
        if hi < lo {
            return Err(bad(
                args[0].span,
                format!("invalid MSS range `{}`", args[0].text),
                "a range MIN:MAX with MIN <= MAX",
            ));
        }
        (self.min, self.max) = (lo as u16, hi as u16);
        self.invert = invert;
        self.given = true;
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if !self.given {
            return Err(missing(
                cx,
                "-m tcpmss requires --mss",
                "--mss VALUE[:VALUE]",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --mss ");
        crate::ext::fmt_port_range(out, (self.min, self.max));
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        if cx.skb.tcp_rewritten {
            return match cx.skb.tcp_mss {
                Some(m) => MatchResult::from_bool((m >= self.min && m <= self.max) != self.invert),
                None => MatchResult::Unknown(
                    "TCPMSS clamped this packet's MSS option to the path MTU, which is not \
                     known offline",
                ),
            };
        }
        let p = cx.pkt;
        // `par->thoff`, which no fragment test guards here: for an IPv6 later fragment 0
        // (`ipv6_find_hdr` returns its protocol without setting the offset), so the IPv6
        // header is read as the TCP header (kernel-checked, `tests/kernel_frag6.rs`).
        let thoff = if p.frag.offset != 0 && p.family == crate::packet::Family::V6 {
            0
        } else {
            p.ip_hdr_len as usize
        };
        match find_mss(&p.data, p.ip_len as usize, thoff) {
            Ok(Some(m)) => MatchResult::from_bool((m >= self.min && m <= self.max) != self.invert),
            Ok(None) => MatchResult::from_bool(self.invert),
            Err(true) => MatchResult::HotDrop,
            Err(false) => MatchResult::Unknown("TCP options cut off by the capture's snap length"),
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_walk() {
        let mut d = vec![0u8; 20 + 20 + 8];
        d[20 + 12] = 7 << 4; // doff 7: 8 bytes of options
        d[40..48].copy_from_slice(&[1, 1, 2, 4, 0x05, 0xb4, 0, 0]);
        assert_eq!(find_mss(&d, 48, 20), Ok(Some(1460)));
        d[43] = 3; // bad length: skipped by its length byte
        assert_eq!(find_mss(&d, 48, 20), Ok(None));
        assert_eq!(find_mss(&d, 44, 20), Err(true));
        assert_eq!(find_mss(&d[..44], 48, 20), Err(false));
    }
}
