//! `fwcheck explain [CODE]`: what a diagnostic code means, an example and the fix, from the one
//! table in [`crate::diag::codes`]; without a code, every code with its title.

use std::io::Write as _;

use crate::diag::codes::{self, CodeInfo, CODES};

/// Output format of `explain`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExplainFormat {
    #[default]
    Text,
    Json,
    /// The README's table of codes (all codes, whatever CODE says).
    Markdown,
}

/// Arguments of `fwcheck explain`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExplainArgs {
    /// A code (E104, W009, FW001, …; case-insensitive). Without it: every code.
    pub code: Option<String>,
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    pub format: ExplainFormat,
}

/// What `explain` prints, or the error for an unknown code.
pub fn render(args: &ExplainArgs) -> Result<String, String> {
    let one = match &args.code {
        Some(c) => Some(
            codes::info(c)
                .ok_or_else(|| format!("unknown code `{c}`; `fwcheck explain` lists every code"))?,
        ),
        None => None,
    };
    Ok(match (args.format, one) {
        (ExplainFormat::Markdown, _) => codes::markdown_table(),
        (ExplainFormat::Json, Some(c)) => json(c),
        (ExplainFormat::Json, None) => {
            let mut s = String::new();
            for c in CODES {
                s.push_str(&json(c));
            }
            s
        }
        (ExplainFormat::Text, Some(c)) => codes::explain_text(c),
        (ExplainFormat::Text, None) => {
            let mut s = String::new();
            for c in CODES {
                s.push_str(&format!(
                    "{:<6} {:<8} {}\n",
                    c.code,
                    c.severity.as_str(),
                    c.title
                ));
            }
            s
        }
    })
}

/// One JSON object per line (`"type":"code"`), as the other JSON outputs.
fn json(c: &CodeInfo) -> String {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    v["type"] = "code".into();
    format!("{v}\n")
}

/// Run `explain`: print to standard output; exit status 0, or 2 for an unknown code.
pub fn run(args: &ExplainArgs) -> u8 {
    match render(args) {
        Ok(s) => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`fwcheck explain | head`) is not an error.
            let _ = out.write_all(s.as_bytes()).and_then(|_| out.flush());
            0
        }
        Err(e) => {
            eprintln!("fwcheck: {e}");
            2
        }
    }
}
