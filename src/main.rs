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
use fwcheck::session::{self, Error, Exit, Session};

mod cli;

use cli::args::{Cli, Command, InputArgs, SimArgs};
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
            ..
        }) => cmd_lint(&rules, &input, format, strict),
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
        None => cmd_sim(cli.sim),
    };
    ExitCode::from(code.unwrap_or_else(|e| {
        eprintln!("fwcheck: {e}");
        e.exit.code()
    }))
}

fn cmd_lint(path: &Path, input: &InputArgs, format: LintFormat, strict: bool) -> Result<u8, Error> {
    let rules = load(&input.source(path))?;
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
    let rules = load(&input.source(path))?;
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
    let Some(rules_path) = a.rules.clone() else {
        return Err(Error::usage(
            "a ruleset file is required; try `fwcheck --help`",
        ));
    };
    let mut rules = load(&a.input.source(&rules_path))?;
    rules.what_if(&a.what_if)?;
    let reload = cli::learn::load_reload(&a.reload_at, |p| load(&a.input.source(p)))?;
    let format = a.format;
    let diag_text = rules.loaded.render_diagnostics(color_stderr());
    if !rules.is_valid() {
        let _ = write!(io::stderr(), "{diag_text}");
        let mut out = io::stdout().lock();
        let res =
            report::check::write_invalid(&mut out, format, &rules.loaded, Exit::Invalid.code());
        written(res.and_then(|()| out.flush()), Exit::Invalid)?;
        return Err(rules.invalid_error());
    }
    let config = a.config()?;
    rules.check_ipsets(config.host.ipsets.as_deref())?;
    if let Some((r, _)) = &reload {
        r.check_ipsets(config.host.ipsets.as_deref())?;
    }
    let traffic = match a.traffic()? {
        Some(spec) => Some(session::traffic(
            spec,
            &config.host.hosts,
            rules_path == Path::new("-"),
        )?),
        None => None,
    };
    let hosts = session::choose_hosts(&config.host.hosts, traffic.as_ref())?;
    let _ = write!(io::stderr(), "{diag_text}");
    if let Some(n) = session::host_notice(&hosts) {
        eprintln!("fwcheck: {n}");
    }
    let mut session = Session::new(config, rules, hosts);
    if let Some((new_rules, at)) = reload {
        session = session.with_reload(new_rules, at);
    }
    if let Some(path) = &a.parity {
        // The other family's file: its family is told by its content (or its name), not by -4/-6.
        let mut src = a.input.source(path);
        src.family = None;
        let other = load(&src)?;
        let _ = write!(
            io::stderr(),
            "{}",
            other.loaded.render_diagnostics(color_stderr())
        );
        session = session.with_parity(other)?;
    }
    let table = a.format == Format::Table;
    let mode = match (a.format, a.flows, a.limit) {
        (Format::Json, _, _) => RowMode::Json,
        (Format::Table, false, 0) => RowMode::Stream,
        (Format::Table, false, limit) => RowMode::Table { limit },
        _ => RowMode::None,
    };
    let out = io::BufWriter::new(io::stdout().lock());
    let mut sink = CliSink {
        rows: RowWriter::new(out, mode, color_stdout()),
        progress: (table && io::stderr().is_terminal()).then(Progress::new),
    };
    let result = session.run(traffic.as_ref(), &mut sink);
    let (mut out, rows, row_error) = sink.rows.finish();
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
            report::check::write(&mut out, format, &report, rows, opts).and_then(|()| out.flush())
        }
    };
    written(res, report.exit())
}
