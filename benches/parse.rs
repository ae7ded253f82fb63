//! Parse + chain graph of a generated 10,000-rule ruleset (issue target: <= 20 ms).
//! Run: `cargo bench --bench parse`. `benches/restore-compare.sh` times `iptables-restore --test`
//! on the same file for comparison.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use fwcheck::lint::load_str;
use fwcheck::ruleset::ParseOptions;
use fwcheck::testkit::bench_support::ruleset;

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse+graph");
    for n in [1_000usize, 10_000] {
        let text = ruleset(n);
        if std::env::var_os("FWCHECK_WRITE_RULESET").is_some() {
            let _ = std::fs::write(format!("target/generated-{n}.rules.v4"), &text);
        }
        g.bench_function(format!("{n} rules"), |b| {
            b.iter_batched(
                || text.clone(),
                |t| {
                    let l = load_str("gen.rules", &t, ParseOptions::default());
                    assert!(!l.has_errors());
                    l
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
