//! The `fwcheck` command line: parse the arguments ([`cli::args`]), dispatch, write. All work
//! is done by the library ([`fwcheck::session`] runs a check, [`fwcheck::report`] owns the
//! output formats); the subcommands' glue is in [`cli`].

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use fwcheck::lint;
use fwcheck::report;
use fwcheck::report::check::Format;
use fwcheck::report::lint::Format as LintFormat;
use fwcheck::report::rows::{Progress, RowMode, RowWriter};
use fwcheck::ruleset::printer::{print_ruleset, PrintOptions};
use fwcheck::session::{Error, Exit};

mod cli;

use cli::args::{Cli, Command, HostArgs, InputArgs, SimArgs};
use cli::sim::Prepared;
use cli::{color_stderr, color_stdout, load, written, CliSink, COLOR};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            let code = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
            return ExitCode::from(code.code());
        }
    };
    let _ = COLOR.set(cli.color);
    let code = match cli.command {
        Some(Command::Lint {
            rules,
            input,
            chains: Some(chain),
            pcap,
            host,
            ..
        }) => cli::why::chains(
            &rules,
            &input,
            &host,
            Some(chain.as_str()).filter(|c| !c.is_empty()),
            pcap.as_deref(),
        ),
        Some(Command::Lint {
            rules,
            input,
            format,
            strict,
            host,
            ..
        }) => cmd_lint(&rules, &input, &host, format, strict),
        Some(Command::Fmt {
            rules,
            input,
            counters,
        }) => cmd_fmt(&rules, &input, counters),
        Some(Command::Gen {
            profile,
            output,
            host,
            seed,
            flows,
            start,
            flow,
        }) => cli::gen::run(profile, output, host, seed, flows, start, flow),
        Some(Command::Explain(a)) => Ok(fwcheck::explain::run(&a)),
        Some(Command::Debug(a)) => Ok(fwcheck::debug::run(&a)),
        Some(Command::Trace(a)) => cli::why::trace(a),
        Some(Command::Graph(a)) => cli::why::graph(a),
        Some(Command::Steps(a)) => cli::steps::run(a),
        Some(Command::Diff(a)) => cli::diff::run(a),
        Some(Command::Fleet(a)) => cli::fleet::run(a),
        Some(Command::Exposure(a)) => cli::exposure::run(a),
        None => cmd_sim(cli.sim),
    };
    ExitCode::from(code.unwrap_or_else(|e| {
        eprintln!("fwcheck: {e}");
        e.exit.code()
    }))
}

fn cmd_lint(
    path: &Path,
    input: &InputArgs,
    host: &HostArgs,
    format: LintFormat,
    strict: bool,
) -> Result<u8, Error> {
    // `--ipset FILE`: the rules are checked against the host's sets.
    let sets = host.ipsets()?;
    let rules = load(&input.source(path, sets.as_ref()))?;
    let rep = lint::report(&rules.loaded);
    if format == LintFormat::Table {
        let _ = write!(
            io::stderr(),
            "{}",
            rules.loaded.render_diagnostics(color_stderr())
        );
    }
    let mut out = io::stdout().lock();
    let res = report::lint::write(&mut out, format, &rep).and_then(|()| out.flush());
    written(res, report::lint::exit_code(&rep, strict))
}

fn cmd_fmt(path: &Path, input: &InputArgs, counters: bool) -> Result<u8, Error> {
    let rules = load(&input.source(path, None))?;
    let _ = write!(
        io::stderr(),
        "{}",
        rules.loaded.render_diagnostics(color_stderr())
    );
    if !rules.is_valid() {
        return Ok(Exit::Invalid.code());
    }
    let text = print_ruleset(&rules.loaded.ruleset, PrintOptions { counters });
    let mut out = io::stdout().lock();
    written(
        out.write_all(text.as_bytes()).and_then(|()| out.flush()),
        Exit::Ok,
    )
}

fn cmd_sim(a: SimArgs) -> Result<u8, Error> {
    let (session, traffic) = match cli::sim::prepare(&a, color_stderr(), &mut |s| eprint!("{s}"))? {
        Prepared::Ready { session, traffic } => (session, traffic),
        Prepared::Invalid(rules) => {
            let mut out = io::stdout().lock();
            let res = report::check::write_invalid(
                &mut out,
                a.format,
                &rules.loaded,
                Exit::Invalid.code(),
            );
            written(res.and_then(|()| out.flush()), Exit::Invalid)?;
            return Err(rules.invalid_error());
        }
    };
    let table = a.format == Format::Table;
    let mode = match (a.format, a.flows, a.limit) {
        (Format::Json, _, _) => RowMode::Json,
        (Format::Table, false, 0) => RowMode::Stream,
        (Format::Table, false, limit) => RowMode::Table { limit },
        _ => RowMode::None,
    };
    // Not locked: the rows may be written from a second thread.
    let out = io::BufWriter::new(io::stdout());
    let mut sink = CliSink {
        rows: RowWriter::new(out, mode, color_stdout()),
        progress: (table && io::stderr().is_terminal()).then(Progress::new),
    };
    let result = session.run(traffic.as_ref(), &mut sink);
    let (out, rows, row_error) = sink.rows.finish();
    let Some(mut out) = out else {
        return written(
            Err(row_error.unwrap_or_else(|| io::Error::other("the output was lost"))),
            Exit::Ok,
        );
    };
    let report = result.inspect_err(|_| {
        let _ = out.flush();
    })?;
    let opts = report::check::TableOptions {
        flows: a.flows,
        streamed: mode == RowMode::Stream,
        color: io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let res = match row_error {
        Some(e) => Err(e),
        None => {
            report::check::write(&mut out, a.format, &report, rows, opts).and_then(|()| out.flush())
        }
    };
    written(res, report.exit())
}
