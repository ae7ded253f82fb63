//! Packets in: reading captures (pcap, pcapng) in constant memory, decoding each frame once into
//! a [`Packet`](crate::packet::Packet), and the kernel's pre-conntrack defragmentation. What a
//! frame that yields no packet is: [`problem`].

pub mod ahead;
pub mod capture;
pub mod decode;
pub mod defrag;
pub(crate) mod gso;
pub mod problem;
