//! fwcheck — an offline iptables ruleset verifier and packet simulator.
//!
//! The pipeline: [`ruleset`] parses `iptables-save`/`iptables-restore` input (or a script of
//! `iptables` commands) into a model with source spans and a chain graph; [`packet`] turns
//! captures or synthetic traffic into decoded [`packet::Packet`]s; the [`engine`] replays them
//! through the ruleset with the [`conntrack`] emulator; reports and analyses are built on the
//! per-packet outcomes.

pub mod analysis;
#[cfg(all(target_os = "linux", feature = "oracle"))]
pub mod compare;
pub mod conntrack;
#[doc(hidden)]
pub mod debug;
pub mod diag;
pub mod diff;
pub mod engine;
pub mod explain;
pub mod ext;
pub mod graph;
pub mod host;
pub mod lint;
pub mod netfilter;
pub mod packet;
pub mod replay;
pub mod report;
pub mod ruleset;
pub mod session;
pub mod steps;
/// Test support, not part of the product: the recipes of the shipped captures and of the
/// kernel tests' traffic, and the benchmarks' inputs. Built with the `testkit` feature (the
/// `oracle` feature enables it).
#[cfg(feature = "testkit")]
#[doc(hidden)]
pub mod testkit;
pub mod trace;
pub(crate) mod whatif;

/// Kernel oracle: replays packets through a real ruleset in a private network namespace.
#[cfg(all(target_os = "linux", feature = "oracle"))]
pub mod oracle;
