//! `cargo run --release --example gate_phases -- RULES`: time each phase of the static gate
//! (load, then every analysis) on one rules file, for the profile note in README's
//! Performance section (`benches/gate.sh` times the whole `fwcheck RULES`).
use std::time::Instant;

use fwcheck::analysis::{self, CheckOptions};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: gate_phases RULES");
        std::process::exit(2);
    };
    let t = Instant::now();
    let l = match fwcheck::lint::load_file(path.as_ref(), Default::default()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("gate_phases: {path}: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "{:<12} {:>9.3} s  {} rules",
        "load",
        t.elapsed().as_secs_f64(),
        l.ruleset.rule_count()
    );
    let o = CheckOptions::default();
    let rs = &l.ruleset;
    type Phase<'a> = (&'a str, Box<dyn Fn() -> usize + 'a>);
    let phases: Vec<Phase> = vec![
        (
            "lockout",
            Box::new(|| analysis::lockout::check(rs, &o).len()),
        ),
        ("probes", Box::new(|| analysis::probes::check(rs, &o).len())),
        (
            "services",
            Box::new(|| analysis::services::check(rs, &o).len()),
        ),
        ("shadow", Box::new(|| analysis::shadow::check(rs).len())),
        (
            "placement",
            Box::new(|| analysis::placement::check(rs, &o).len()),
        ),
        ("structural", Box::new(|| analysis::structural(&l).len())),
    ];
    for (name, f) in phases {
        let t = Instant::now();
        let n = f();
        println!(
            "{name:<12} {:>9.3} s  {n} findings",
            t.elapsed().as_secs_f64()
        );
    }
}
