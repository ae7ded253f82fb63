//! Writes the fixture captures (see `fwcheck::packet::fixtures` and `pcaps/README.md`).
//!
//! Usage: `cargo run --release --example make_pcaps [DIR]` (default `pcaps`).

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "pcaps".into()));
    std::fs::create_dir_all(&dir)?;
    for f in fwcheck::packet::fixtures::all() {
        let path = dir.join(f.name);
        std::fs::write(&path, &f.bytes)?;
        println!("{:>8} bytes  {}", f.bytes.len(), path.display());
    }
    Ok(())
}
