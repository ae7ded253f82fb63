//! Internet checksum (RFC 1071) helpers: the one's-complement sum over bytes, IPv4/IPv6
//! pseudo-headers, and verify/compute wrappers used by the decoder and the packet builder.
//!
//! The sum is computed 8 bytes at a time with end-around carry and folded to 16 bits at the
//! end, which gives the same result as the textbook 16-bit loop (2^16 ≡ 1 mod 0xffff) at a
//! fraction of the cost on the hot decode path.

use std::net::IpAddr;

/// One's-complement sum of `data` (as big-endian 16-bit words, an odd last byte padded with a
/// zero), added to `initial`. Not folded; feed the result to [`fold`].
///
/// The bytes are summed as native-endian 32-bit words into a 64-bit accumulator (no carry
/// handling needed below 2^32 words, and the loop vectorises); the folded 16-bit result is
/// then put in big-endian order — the one's-complement sum commutes with byte swapping
/// (RFC 1071 §2(B)).
#[inline]
pub fn sum(data: &[u8], initial: u64) -> u64 {
    // Two independent 64-bit accumulators with end-around carries counted separately
    // (2^64 ≡ 1 mod 0xffff, so each carry is worth 1).
    let (mut a, mut b, mut carries) = (0u64, 0u64, 0u64);
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        let x = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let y = u64::from_ne_bytes([c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15]]);
        let (s, o) = a.overflowing_add(x);
        a = s;
        carries += o as u64;
        let (s, o) = b.overflowing_add(y);
        b = s;
        carries += o as u64;
    }
    let rem = chunks.remainder();
    let mut acc: u64 = (a & 0xffff_ffff) + (a >> 32) + (b & 0xffff_ffff) + (b >> 32) + carries;
    // The tail, without a memcpy through a stack buffer (a store-forwarding stall on the
    // 20-byte IPv4 header path).
    let mut words = rem.chunks_exact(4);
    for w in &mut words {
        acc += u32::from_ne_bytes([w[0], w[1], w[2], w[3]]) as u64;
    }
    acc += match *words.remainder() {
        [a] => u32::from_ne_bytes([a, 0, 0, 0]),
        [a, b] => u32::from_ne_bytes([a, b, 0, 0]),
        [a, b, c] => u32::from_ne_bytes([a, b, c, 0]),
        _ => 0,
    } as u64;
    let folded = fold(acc);
    let be = if cfg!(target_endian = "little") {
        folded.swap_bytes()
    } else {
        folded
    };
    initial + be as u64
}

/// Folds a 64-bit partial sum to 16 bits (not complemented).
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Partial sum of the pseudo-header for TCP/UDP/ICMPv6 (`len` is the upper-layer length).
#[inline]
pub fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: u32) -> u64 {
    let mut acc: u64 = proto as u64 + len as u64;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc += u32::from_be_bytes(s.octets()) as u64;
            acc += u32::from_be_bytes(d.octets()) as u64;
        }
        (s, d) => {
            for a in [s, d] {
                let o = match a {
                    IpAddr::V6(a) => a.octets(),
                    IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
                };
                let hi = u64::from_be_bytes([o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]]);
                let lo = u64::from_be_bytes([o[8], o[9], o[10], o[11], o[12], o[13], o[14], o[15]]);
                // add with end-around carry
                for v in [hi, lo] {
                    let (s, c) = acc.overflowing_add(v);
                    acc = s + c as u64;
                }
            }
        }
    }
    acc
}

/// Checksum value to store in a header whose checksum field is zero in `data`.
#[inline]
pub fn compute(data: &[u8]) -> u16 {
    !fold(sum(data, 0))
}

/// True when `data` (checksum field included) sums to 0xffff.
#[inline]
pub fn verify(data: &[u8]) -> bool {
    fold(sum(data, 0)) == 0xffff
}

/// Checksum value for an upper-layer segment `seg` (checksum field zeroed) with pseudo-header.
pub(crate) fn compute_l4(src: IpAddr, dst: IpAddr, proto: u8, seg: &[u8]) -> u16 {
    !fold(sum(seg, pseudo_header(src, dst, proto, seg.len() as u32)))
}

/// Verifies an upper-layer segment including its checksum field.
#[inline]
pub(crate) fn verify_l4(src: IpAddr, dst: IpAddr, proto: u8, seg: &[u8]) -> bool {
    fold(sum(seg, pseudo_header(src, dst, proto, seg.len() as u32))) == 0xffff
}

/// True when `field`, the checksum field of a TCP/UDP segment of `len` bytes, holds exactly the
/// folded pseudo-header sum: what a stack stores for a NIC to complete (`CHECKSUM_PARTIAL`:
/// `th->check = ~tcp_v4_check(len, saddr, daddr, 0)`, likewise UDP and IPv6). The fold of a
/// non-zero sum is never 0, so the kernel's value is unique.
#[inline]
pub(crate) fn is_partial_l4(src: IpAddr, dst: IpAddr, proto: u8, len: u32, field: u16) -> bool {
    fold(pseudo_header(src, dst, proto, len)) == field
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(data: &[u8]) -> u16 {
        let mut s: u32 = 0;
        let mut i = 0;
        while i + 1 < data.len() {
            s += u16::from_be_bytes([data[i], data[i + 1]]) as u32;
            i += 2;
        }
        if i < data.len() {
            s += (data[i] as u32) << 8;
        }
        while s >> 16 != 0 {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    #[test]
    fn matches_naive_sum_for_all_lengths() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 37 + 11) as u8 ^ 0xa5).collect();
        for n in 0..data.len() {
            assert_eq!(fold(sum(&data[..n], 0)), naive(&data[..n]), "len {n}");
        }
        let ff = vec![0xffu8; 77];
        assert_eq!(fold(sum(&ff, 0)), naive(&ff));
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(
            fold(sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0)),
            0xddf2
        );
    }

    #[test]
    fn known_ipv4_header() {
        // A real header (checksum 0xb861 at bytes 10..12).
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert!(verify(&h));
        let mut z = h;
        z[10] = 0;
        z[11] = 0;
        assert_eq!(compute(&z), 0xb861);
        z[11] = 1;
        assert!(!verify(&z));
    }
}
