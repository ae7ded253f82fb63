//! The `fwcheck` command line: argument parsing, output formats and exit codes. All work is done
//! by the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, ContentArrangement, Table};

use fwcheck::lint::{self, Loaded};
use fwcheck::ruleset::printer::{print_ruleset, PrintOptions};
use fwcheck::ruleset::{Family, InputFormat, ParseOptions};

/// Exit codes (documented in the README).
mod exit {
    pub const OK: u8 = 0;
    pub const FINDINGS: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const INVALID: u8 = 3;
}

#[derive(Parser, Debug)]
#[command(
    name = "fwcheck",
    version,
    about = "Offline iptables ruleset verifier and packet simulator",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a ruleset: summary of tables, chains and policies, warnings and errors.
    Lint {
        /// Ruleset file (iptables-save output, iptables-restore input, or a script of iptables commands).
        rules: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        #[arg(long, value_enum, default_value_t = LintFormat::Table)]
        format: LintFormat,
        /// Exit 1 when there are warnings.
        #[arg(long)]
        strict: bool,
    },
    /// Print the ruleset exactly as iptables-save prints it after restoring it.
    Fmt {
        rules: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        /// Print rule counters as [packets:bytes] prefixes (like iptables-save -c).
        #[arg(long)]
        counters: bool,
    },
}

#[derive(clap::Args, Debug, Clone)]
struct InputArgs {
    /// Read IPv6 rules (ip6tables-save output).
    #[arg(short = '6', long = "ipv6")]
    ipv6: bool,
    /// Input syntax.
    #[arg(long = "input-format", value_enum, default_value_t = InFormat::Auto)]
    input_format: InFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum InFormat {
    Auto,
    Restore,
    Script,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LintFormat {
    Table,
    Json,
}

impl InputArgs {
    fn options(&self) -> ParseOptions {
        ParseOptions {
            family: if self.ipv6 { Family::V6 } else { Family::V4 },
            format: match self.input_format {
                InFormat::Auto => InputFormat::Auto,
                InFormat::Restore => InputFormat::Restore,
                InFormat::Script => InputFormat::Script,
            },
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let Some(cmd) = cli.command else {
        eprintln!("fwcheck: nothing to do; try `fwcheck --help`");
        return ExitCode::from(exit::USAGE);
    };
    let code = match cmd {
        Command::Lint {
            rules,
            input,
            format,
            strict,
        } => cmd_lint(&rules, &input, format, strict),
        Command::Fmt {
            rules,
            input,
            counters,
        } => cmd_fmt(&rules, &input, counters),
    };
    ExitCode::from(code)
}

fn load(path: &std::path::Path, input: &InputArgs) -> Result<Loaded, u8> {
    lint::load_file(path, input.options()).map_err(|e| {
        eprintln!("fwcheck: cannot read {}: {e}", path.display());
        exit::USAGE
    })
}

fn color_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn cmd_lint(path: &std::path::Path, input: &InputArgs, format: LintFormat, strict: bool) -> u8 {
    let loaded = match load(path, input) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let rep = lint::report(&loaded);
    let mut out = std::io::stdout().lock();
    match format {
        LintFormat::Json => {
            for t in &rep.tables {
                let mut v = serde_json::to_value(t).unwrap_or_default();
                v["type"] = "table".into();
                let _ = writeln!(out, "{v}");
            }
            for d in &rep.diagnostics {
                let mut v = serde_json::to_value(d).unwrap_or_default();
                v["type"] = "diagnostic".into();
                let _ = writeln!(out, "{v}");
            }
            let mut v = serde_json::to_value(&rep.summary).unwrap_or_default();
            v["type"] = "summary".into();
            let _ = writeln!(out, "{v}");
        }
        LintFormat::Table => {
            let _ = write!(
                std::io::stderr(),
                "{}",
                loaded.render_diagnostics(color_stderr())
            );
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic);
            t.set_header(vec!["table", "chain", "policy", "rules", "reached from"]);
            for ts in &rep.tables {
                for c in &ts.chains {
                    t.add_row(vec![
                        Cell::new(ts.table),
                        Cell::new(&c.name),
                        Cell::new(c.policy.unwrap_or("-")),
                        Cell::new(c.rules),
                        Cell::new(if c.reached_from.is_empty() {
                            "(never)".to_string()
                        } else {
                            c.reached_from.join(",")
                        }),
                    ]);
                }
            }
            let s = &rep.summary;
            let _ = writeln!(
                out,
                "{}: {} table(s), {} chain(s), {} rule(s)",
                s.file, s.tables, s.chains, s.rules
            );
            let _ = writeln!(out, "{t}");
            let _ = writeln!(out, "{} error(s), {} warning(s)", s.errors, s.warnings);
        }
    }
    if rep.summary.errors > 0 {
        exit::INVALID
    } else if strict && rep.summary.warnings > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

fn cmd_fmt(path: &std::path::Path, input: &InputArgs, counters: bool) -> u8 {
    let loaded = match load(path, input) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let _ = write!(
        std::io::stderr(),
        "{}",
        loaded.render_diagnostics(color_stderr())
    );
    if loaded.has_errors() {
        return exit::INVALID;
    }
    let text = print_ruleset(&loaded.ruleset, PrintOptions { counters });
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    exit::OK
}
