//! Packets made: wire bytes for synthetic packets ([`build`]), the traffic profiles of
//! `fwcheck gen` ([`gen`]), the `--flow` grammar ([`flowspec`]), and the pcap/pcapng writers
//! ([`writer`]). Everything is derived from a seed (`rng`): the same options give the same
//! bytes.

pub mod build;
pub mod flowspec;
pub mod gen;
pub(crate) mod rng;
pub mod writer;
