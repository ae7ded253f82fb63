//! The option framework's value side, after libxtables' `xtoptions.c`: one library for every
//! option value an extension reads (numbers, ranges, value/mask pairs, strings in fixed-size
//! kernel fields, addresses, interfaces, ports, protocols, DiffServ classes), and **typed
//! option specs**: an [`OptSpec`] may declare its value's type ([`XtType`], iptables'
//! `enum xt_option_type`), and the framework converts the value before the unit's `parse` sees
//! it, leaving the result in [`ParseCtx::val`] (`struct xt_option_call`'s `val`). A typed option
//! therefore reads the same way, with the same error, in every unit.
//!
//! - [`num`]: `xtables_strtoul` (one C `strtoumax` under every number), `XTTYPE_UINT*`,
//!   `XTTYPE_UINT*RC`, `XTTYPE_MARKMASK32`.
//! - [`addr`]: `XTTYPE_HOST`/`XTTYPE_HOSTMASK`, `inet_aton`, `inet_pton`, `inet_ntop`,
//!   interface names.
//! - [`names`]: protocols, services and ports, DSCP classes.

pub mod addr;
pub mod names;
pub mod num;

use crate::diag::codes as code;
use crate::diag::Diagnostic;
use crate::ext::{OptArg, OptSpec, ParseCtx};

pub use addr::*;
pub use names::*;
pub(crate) use num::*;

/// An argument spanning its whole text, for the value parsers' tests.
#[cfg(test)]
pub(crate) fn test_arg(t: &str) -> OptArg<'_> {
    OptArg {
        text: t,
        span: crate::diag::Span::new(0, t.len()),
    }
}

/// Stable diagnostic code of a bad option value.
pub(crate) const E_VALUE: &str = crate::diag::codes::VALUE;

/// The type of an option's value (`enum xt_option_type`) when the framework converts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XtType {
    /// No conversion: the unit reads its arguments itself (flags, lists, composite forms).
    Raw,
    /// `XTTYPE_UINT8/16/32/64` with `.min`/`.max`: one number in `[min, max]` → [`OptVal::Uint`].
    Uint { min: u64, max: u64 },
    /// `XTTYPE_UINT*RC`: `a`, `a:b`, `a:`, `:b` with numbers in `[min, max]` →
    /// [`OptVal::Range`].
    Range { min: u64, max: u64 },
    /// `XTTYPE_MARKMASK32`: `VALUE[/MASK]` → [`OptVal::MarkMask`].
    MarkMask,
    /// `XTTYPE_STRING` with `.min = 1` → [`OptVal::Str`].
    NonEmpty,
    /// `XTTYPE_STRING` stored in a `size`-byte kernel field: at most `size - 1` bytes are kept,
    /// as iptables keeps them (silently; fwcheck warns) → [`OptVal::Str`].
    Fixed { size: usize },
    /// `XTTYPE_STRING` with `.min = 1` in a `size`-byte field.
    FixedNonEmpty { size: usize },
}

impl XtType {
    /// `XTTYPE_UINT8` without bounds.
    pub(crate) const U8: XtType = XtType::Uint { min: 0, max: 0xff };
    /// `XTTYPE_UINT16` without bounds.
    pub(crate) const U16: XtType = XtType::Uint {
        min: 0,
        max: 0xffff,
    };
    /// `XTTYPE_UINT32` without bounds.
    pub(crate) const U32: XtType = XtType::Uint {
        min: 0,
        max: 0xffff_ffff,
    };
}

/// A converted option value (`xt_option_call.val`). Read it with the accessor of the type the
/// option's spec declares; every typed option of every unit is exercised by a test, so a
/// mismatch between a spec and its unit cannot ship.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OptVal {
    /// The option is untyped ([`XtType::Raw`]), or no option is being parsed (`finish`).
    #[default]
    None,
    Uint(u64),
    Range(u64, u64),
    MarkMask(u32, u32),
    Str(String),
}

impl OptVal {
    fn mismatch(&self, want: &str) -> ! {
        unreachable!("option spec and unit disagree: the unit reads {want}, the value is {self:?}")
    }
    /// The number of an [`XtType::Uint`] option.
    pub(crate) fn uint(&self) -> u64 {
        match self {
            OptVal::Uint(v) => *v,
            _ => self.mismatch("a number"),
        }
    }
    /// The `(low, high)` of an [`XtType::Range`] option (`high = low` for a single number).
    pub fn range(&self) -> (u64, u64) {
        match self {
            OptVal::Range(a, b) => (*a, *b),
            _ => self.mismatch("a range"),
        }
    }
    /// The `(value, mask)` of an [`XtType::MarkMask`] option.
    pub(crate) fn mark_mask(&self) -> (u32, u32) {
        match self {
            OptVal::MarkMask(v, m) => (*v, *m),
            _ => self.mismatch("a value/mask"),
        }
    }
    /// The text of a string option, as the kernel will hold it.
    pub fn str(&self) -> &str {
        match self {
            OptVal::Str(s) => s,
            _ => self.mismatch("a string"),
        }
    }
}

/// Convert the value of one occurrence of `spec` (`xtopt_parse_arg`), before the unit's `parse`.
pub(crate) fn convert(
    spec: &OptSpec,
    args: &[OptArg<'_>],
    cx: &mut ParseCtx<'_>,
) -> Result<OptVal, Diagnostic> {
    let Some(arg) = args.first() else {
        return Ok(OptVal::None);
    };
    let opt = spec.name;
    Ok(match spec.ty {
        XtType::Raw => OptVal::None,
        XtType::Uint { min, max } => {
            OptVal::Uint(xt_uint(arg.text, min, max).ok_or_else(|| {
                Diagnostic::error(
                    E_VALUE,
                    arg.span,
                    format!("bad value `{}` for option --{opt}", arg.text),
                )
                .expected(format!("a number from {min} to {max}"))
            })?)
        }
        XtType::Range { min, max } => {
            let (a, b) = parse_mint(arg, min, max, &format!("value for option --{opt}"))?;
            OptVal::Range(a, b)
        }
        XtType::MarkMask => {
            let (v, m) = parse_val_mask(arg, &format!("--{opt}"))?;
            OptVal::MarkMask(v, m)
        }
        XtType::NonEmpty => OptVal::Str(nonempty(arg, opt)?.to_string()),
        XtType::Fixed { size } => OptVal::Str(fixed_string(arg, opt, size, cx)),
        XtType::FixedNonEmpty { size } => {
            nonempty(arg, opt)?;
            OptVal::Str(fixed_string(arg, opt, size, cx))
        }
    })
}

/// `XTTYPE_STRING` stored in a `size`-byte field: iptables keeps at most `size - 1` bytes and
/// drops the rest without a word; fwcheck warns.
pub(crate) fn fixed_string(
    arg: &OptArg<'_>,
    opt: &str,
    size: usize,
    cx: &mut ParseCtx<'_>,
) -> String {
    let t = arg.text;
    if t.len() < size {
        return t.to_string();
    }
    let mut end = size - 1;
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    cx.warn(
        Diagnostic::warning(
            code::IGNORED,
            sub_span(arg, end, t.len()),
            format!(
                "--{opt} keeps only the first {} characters; `{}` is dropped",
                size - 1,
                &t[end..]
            ),
        )
        .note("iptables truncates the value silently (the kernel field is fixed-size)"),
    );
    t[..end].to_string()
}

/// `XTTYPE_STRING` with `.min = 1`.
pub(crate) fn nonempty<'a>(arg: &OptArg<'a>, opt: &str) -> Result<&'a str, Diagnostic> {
    if arg.text.is_empty() {
        return Err(
            Diagnostic::error(E_VALUE, arg.span, format!("--{opt} must not be empty"))
                .expected("a value of at least 1 character"),
        );
    }
    Ok(arg.text)
}
