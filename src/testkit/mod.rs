//! Test support, not part of the product (cargo feature `testkit`, enabled by `oracle`):
//! `fixtures` are the recipes of the captures shipped in `pcaps/` (a test checks each shipped
//! file equals its recipe), `scenario` builds the traffic of the kernel tests and real-traffic
//! replays packet by packet, `bench_support` generates the benchmarks' rulesets.

pub mod bench_support;
pub mod fixtures;
pub mod scenario;
