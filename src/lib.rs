//! fwcheck — an offline iptables ruleset verifier and packet simulator.
//!
//! The pipeline: [`ruleset`] parses `iptables-save`/`iptables-restore` input (or a script of
//! `iptables` commands) into a model with source spans and a chain graph; [`packet`] turns
//! captures or synthetic traffic into decoded [`packet::Packet`]s; the [`engine`] replays them
//! through the ruleset with the [`conntrack`] emulator; reports and analyses are built on the
//! per-packet outcomes.

pub mod analysis;
#[doc(hidden)]
pub mod bench_support;
#[cfg(all(target_os = "linux", feature = "oracle"))]
pub mod compare;
pub mod conntrack;
pub mod diag;
pub mod engine;
pub mod ext;
pub mod host;
pub mod lint;
pub mod netfilter;
pub mod packet;
pub mod replay;
pub mod report;
pub mod ruleset;

/// Kernel oracle: replays packets through a real ruleset in a private network namespace.
#[cfg(all(target_os = "linux", feature = "oracle"))]
pub mod oracle;
