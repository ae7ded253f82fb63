//! `cargo run --release --example parse_gen -- [N] [OUT]`: generate the benchmark's N-rule
//! ruleset (default 10,000), time one parse + graph, and write it to OUT if given
//! (`benches/restore-compare.sh` uses this).
fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let text = fwcheck::bench_support::ruleset(n);
    if let Some(out) = args.next() {
        if let Err(e) = std::fs::write(&out, &text) {
            eprintln!("parse_gen: {out}: {e}");
            std::process::exit(2);
        }
    }
    let t = std::time::Instant::now();
    let l = fwcheck::lint::load_str("gen", &text, Default::default());
    eprintln!(
        "{} rules, {} diags: {:?}",
        l.ruleset.rule_count(),
        l.diagnostics.len(),
        t.elapsed()
    );
}
