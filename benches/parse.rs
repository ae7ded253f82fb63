//! Parse + chain graph of a generated 10,000-rule ruleset (issue target: <= 20 ms), and of a
//! script of 60,000 `iptables` commands on one line (issue 15's regression case: it took 15.7 s
//! when every rule's line and column were counted from the line start).
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
    let one_line: String = (0..60_000)
        .map(|i| {
            format!(
                "iptables -A INPUT -s 198.51.100.{}/32 -p tcp --dport {} -j DROP",
                i % 250 + 1,
                1000 + i % 60_000
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    g.bench_function("60000 commands on one line", |b| {
        b.iter(|| {
            let l = load_str("one-line.sh", &one_line, ParseOptions::default());
            assert!(!l.has_errors());
            assert_eq!(l.ruleset.tables[0].chains[0].rules.len(), 60_000);
            l
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
