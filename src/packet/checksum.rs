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

/// In-place checksum updates, as the kernel makes them when a target or the stack rewrites a
/// header field (`include/net/checksum.h`, `include/net/dsfield.h`, `include/net/ip.h`,
/// `arch/x86/include/asm/checksum_64.h`). A field is given and returned as its two bytes in
/// the packet; the arithmetic is the kernel's on a little-endian machine, step for step, so
/// the result equals what a kernel on x86 leaves (an update can leave `0xffff` where a full
/// recomputation gives `0x0000`, and the next update starts from that).
pub(crate) mod update {
    fn ne(b: [u8; 2]) -> u16 {
        u16::from_le_bytes(b)
    }

    /// `csum16_add`.
    fn csum16_add(csum: u16, addend: u16) -> u16 {
        let res = csum.wrapping_add(addend);
        res.wrapping_add(u16::from(res < addend))
    }

    /// `csum_replace2`: a 16-bit word of the covered bytes went from `old` to `new`.
    pub(crate) fn replace2(sum: [u8; 2], old: [u8; 2], new: [u8; 2]) -> [u8; 2] {
        (!csum16_add(csum16_add(!ne(sum), !ne(old)), ne(new))).to_le_bytes()
    }

    /// `csum_add` on 32-bit partial sums.
    fn csum_add(csum: u32, addend: u32) -> u32 {
        let res = csum.wrapping_add(addend);
        res.wrapping_add(u32::from(res < addend))
    }

    /// `csum_fold` (x86: `addl; adcl $0xffff`, then the complement of the high half).
    fn csum_fold(sum: u32) -> u16 {
        let (s, carry) = (sum & 0xffff_0000).overflowing_add(sum << 16);
        let s = s.wrapping_add(0xffff).wrapping_add(u32::from(carry));
        (!s >> 16) as u16
    }

    /// `csum_replace4`: a 32-bit word (an IPv4 address) went from `old` to `new`.
    pub(crate) fn replace4(sum: [u8; 2], old: [u8; 4], new: [u8; 4]) -> [u8; 2] {
        let unfolded = u32::from(ne(sum));
        let tmp = csum_add(!unfolded, !u32::from_le_bytes(old));
        csum_fold(csum_add(tmp, u32::from_le_bytes(new))).to_le_bytes()
    }

    /// `ipv4_change_dsfield(iph, mask, value)` after it computed the new field: its own
    /// arithmetic, on the host-order checksum.
    pub(crate) fn change_dsfield(sum: [u8; 2], old_tos: u8, new_tos: u8) -> [u8; 2] {
        let mut check = u32::from(u16::from_be_bytes(sum));
        check += u32::from(old_tos);
        if (check + 1) >> 16 != 0 {
            check = (check + 1) & 0xffff;
        }
        check = check.wrapping_sub(u32::from(new_tos));
        check = check.wrapping_add(check >> 16);
        (check as u16).to_be_bytes()
    }

    /// `ip_decrease_ttl`: the forwarding path's TTL decrement.
    pub(crate) fn decrease_ttl(sum: [u8; 2]) -> [u8; 2] {
        let check = u32::from(ne(sum)) + u32::from(ne(0x0100u16.to_be_bytes()));
        let check = check + u32::from(check >= 0xffff);
        (check as u16).to_le_bytes()
    }
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

    /// Every in-place update leaves a header that verifies, whatever the header and the new
    /// value (the kernel's updates are exact up to the sign of a zero sum).
    #[test]
    fn updates_keep_the_header_valid() {
        use proptest::prelude::*;
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 5000,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let header = proptest::array::uniform20(any::<u8>()).prop_map(|mut h| {
            h[0] = 0x45;
            h[10] = 0;
            h[11] = 0;
            let c = compute(&h).to_be_bytes();
            h[10..12].copy_from_slice(&c);
            h
        });
        runner
            .run(
                &(header, any::<u8>(), any::<[u8; 4]>(), 0..5u8),
                |(mut h, v, addr, op)| {
                    let sum = [h[10], h[11]];
                    let new_sum = match op {
                        0 => {
                            let s = update::change_dsfield(sum, h[1], v);
                            h[1] = v;
                            s
                        }
                        1 => {
                            let s = update::replace2(sum, [h[8], h[9]], [v, h[9]]);
                            h[8] = v;
                            s
                        }
                        2 => {
                            let s = update::replace2(sum, [h[0], h[1]], [h[0], v]);
                            h[1] = v;
                            s
                        }
                        3 if h[8] > 0 => {
                            h[8] -= 1;
                            update::decrease_ttl(sum)
                        }
                        _ => {
                            let old = [h[16], h[17], h[18], h[19]];
                            h[16..20].copy_from_slice(&addr);
                            update::replace4(sum, old, addr)
                        }
                    };
                    h[10..12].copy_from_slice(&new_sum);
                    prop_assert!(verify(&h), "{h:02x?}");
                    Ok(())
                },
            )
            .unwrap();
    }
}
