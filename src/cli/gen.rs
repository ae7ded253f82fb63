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
    // The generator holds what it writes: a bound keeps it to a few GB at most (1,000,000 web
    // sessions are about 11 M packets).
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
    let packets = if !flow.is_empty() {
        if profile.is_some() {
            return Err(Error::usage("give a PROFILE or --flow, not both"));
        }
        flowspec::build(&session::parse_flows(&flow)?, &opts)
    } else {
        opts.profile = session::parse_profile(profile.as_deref().unwrap_or("webserver"))?;
        gen::generate(&opts)
    };
    let res = match output {
        Some(path) => fwcheck::packet::writer::write_pcap_file(&path, &packets).map(|_| {
            eprintln!(
                "fwcheck: wrote {} packets to {}",
                packets.len(),
                path.display()
            )
        }),
        None if io::stdout().is_terminal() => {
            return Err(Error::usage("refusing to write a capture to a terminal; use -o FILE or redirect standard output"));
        }
        None => fwcheck::packet::writer::write_pcap(io::stdout().lock(), &packets),
    };
    match res {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::usage(format!("cannot write the capture: {e}")))
        }
        _ => Ok(Exit::Ok.code()),
    }
}
