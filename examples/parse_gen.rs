fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let text = fwcheck::bench_support::ruleset(n);
    let t = std::time::Instant::now();
    let l = fwcheck::lint::load_str("gen", &text, Default::default());
    eprintln!(
        "{} rules, {} diags: {:?}",
        l.ruleset.rule_count(),
        l.diagnostics.len(),
        t.elapsed()
    );
}
