//! Packets made: wire bytes for synthetic packets ([`build`]), TCP conversations with both
//! sides' sequence numbers ([`conversation`]), the traffic profiles of `fwcheck gen` ([`gen`]),
//! the `--flow` grammar ([`flowspec`]), and the pcap/pcapng writers ([`writer`]). Everything
//! is derived from a seed (`rng`): the same options give the same bytes.

pub mod build;
pub mod conversation;
pub mod flowspec;
pub mod gen;
pub(crate) mod rng;
pub mod writer;
