//! `-j SECMARK` (libxt_SECMARK.c revision 1; kernel xt_SECMARK.c): set the packet's security
//! mark from an SELinux context. Only in tables mangle and security (`secmark_tg_check`).
//! `--selctx CONTEXT` is mandatory (255 characters kept); saved as `--selctx CONTEXT`. The kernel
//! refuses the rule unless the security module knows the context — not knowable offline
//! (fwcheck warns). Always XT_CONTINUE; security marks are not simulated.

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::targets::common::{missing, require_tables, W_HOST_STATE};
use crate::ext::EvalCtx;
use crate::ext::{Arg, OptArg, OptSpec, ParseCtx, Target, TargetVerdict, XtType};
use crate::netfilter::TableKind;

pub(crate) const TABLES: &[TableKind] = &[TableKind::Mangle, TableKind::Security];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Secmark {
    pub(crate) context: Option<String>,
}

pub fn new() -> Box<dyn Target> {
    Box::new(Secmark { context: None })
}

static OPTS: &[OptSpec] = &[OptSpec::new("selctx", 1, Arg::One).ty(XtType::Fixed { size: 256 })];

impl Target for Secmark {
    fn name(&self) -> &'static str {
        "SECMARK"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        _opt: &OptSpec,
        _invert: bool,
        _args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        self.context = Some(cx.val.str().to_string());
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.context.is_none() {
            return Err(missing(cx.span, "SECMARK", "--selctx"));
        }
        require_tables(cx, "SECMARK", TABLES)?;
        cx.warn(
            Diagnostic::warning(
                W_HOST_STATE,
                cx.span,
                "SECMARK loads only on a host whose security module knows this context",
            )
            .note("without SELinux (or with an unknown context) the kernel refuses the rule"),
        );
        Ok(())
    }
    fn save(&self, out: &mut String) {
        if let Some(c) = &self.context {
            out.push_str(" --selctx ");
            out.push_str(c);
        }
    }
    fn apply(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Continue
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
