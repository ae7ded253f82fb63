//! `fwcheck gen`: write a synthetic capture (the generator is [`fwcheck::packet::gen`]).

use std::io::{self, IsTerminal};
use std::net::IpAddr;
use std::path::PathBuf;

use fwcheck::packet::gen::{self, GenOptions};
use fwcheck::packet::{flowspec, Timestamp};
use fwcheck::session::{self, Error, Exit};

pub fn run(
    profile: Option<String>,
    output: Option<PathBuf>,
    host: Vec<IpAddr>,
    seed: u64,
    flows: usize,
    start: u64,
    flow: Vec<String>,
) -> Result<u8, Error> {
    // The generator streams what it writes (sorted runs spilled to temporary files, merged as
    // they are written): memory is bounded, the file is not; a bound keeps it to some GB (one
    // web session is about 11 packets).
    const MAX_FLOWS: usize = 1_000_000;
    if flows > MAX_FLOWS {
        return Err(Error::usage(format!(
            "gen --flows {flows}: at most {MAX_FLOWS}"
        )));
    }
    let mut opts = GenOptions {
        seed,
        flows,
        start: Timestamp::from_secs_nanos(start, 0),
        ..GenOptions::default()
    };
    if !host.is_empty() {
        opts.host = host;
    }
    let specs = if !flow.is_empty() {
        if profile.is_some() {
            return Err(Error::usage("give a PROFILE or --flow, not both"));
        }
        Some(session::parse_flows(&flow)?)
    } else {
        opts.profile = session::parse_profile(profile.as_deref().unwrap_or("webserver"))?;
        None
    };
    let write = |w: &mut dyn io::Write| match &specs {
        Some(specs) => flowspec::write_built(specs, &opts, w),
        None => gen::write_generated(&opts, w),
    };
    let res = match output {
        Some(path) => std::fs::File::create(&path)
            .and_then(|mut f| write(&mut f))
            .map(|n| eprintln!("fwcheck: wrote {n} packets to {}", path.display())),
        None if io::stdout().is_terminal() => {
            return Err(Error::usage("refusing to write a capture to a terminal; use -o FILE or redirect standard output"));
        }
        None => write(&mut io::stdout().lock()).map(|_| ()),
    };
    match res {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::usage(format!("cannot write the capture: {e}")))
        }
        _ => Ok(Exit::Ok.code()),
    }
}
