//! fwcheck — an offline iptables ruleset verifier and packet simulator.
//!
//! The pipeline: [`ruleset`] parses `iptables-save`/`iptables-restore` input into a model with
//! source spans and a chain graph; [`packet`] turns captures or synthetic traffic into decoded
//! [`packet::Packet`]s; the engine replays them through the ruleset with a connection-tracking
//! emulator; reports and analyses are built on the per-packet outcomes.

pub mod packet;

// Kernel oracle: replays packets through a real ruleset in a private network namespace.
#[cfg(target_os = "linux")]
pub mod oracle;
