//! Shared by the `decode` and `replay` benches: a large capture written to disk, the webserver
//! profile (seed 1) repeated with increasing time stamps.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use fwcheck::packet::decode::linktype;
use fwcheck::packet::gen::{generate, GenOptions};
use fwcheck::packet::writer::{
    frame_packet, write_pcap_header, write_pcap_record, PcapOptions, Record,
};
use fwcheck::packet::Timestamp;

pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Write `n` packets to `path`; returns the file size in bytes.
pub fn write_capture(path: &Path, n: u64) -> std::io::Result<u64> {
    let base = generate(&GenOptions::default());
    let frames: Vec<(u64, Vec<u8>)> = base
        .iter()
        .map(|p| (p.ts.0 - base[0].ts.0, frame_packet(linktype::ETHERNET, p)))
        .collect();
    let span = frames.last().map(|f| f.0).unwrap_or(0) + 1_000_000;
    let o = PcapOptions::default();
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    write_pcap_header(&mut w, &o)?;
    let start = base[0].ts.0;
    let mut bytes = 24u64;
    for i in 0..n {
        let k = (i % frames.len() as u64) as usize;
        let round = i / frames.len() as u64;
        let (dt, f) = &frames[k];
        let r = Record::new(Timestamp(start + round * span + dt), f.clone());
        write_pcap_record(&mut w, &o, &r)?;
        bytes += 16 + f.len() as u64;
    }
    w.flush()?;
    Ok(bytes)
}
