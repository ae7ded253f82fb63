# IPv4/IPv6 and ICMP/ICMPv6 packet builders for the odd IP-level labs (host-icmp-odd,
# router-icmp-odd): options, fragment bits, TTL/hop limit, deliberately bad checksums.
import socket, struct
from craft import csum
def a4(x): return socket.inet_aton(x)
def a6(x): return socket.inet_pton(socket.AF_INET6, x)
def icmp(t, c, rest=b'\0\0\0\0', pay=b'', bad=False):
    m = struct.pack('!BBH', t, c, 0) + rest + pay
    k = csum(m) ^ (0x5555 if bad else 0)
    return m[:2] + struct.pack('!H', k) + m[4:]
def ip4(src, dst, proto, pl, ttl=64, opts=b'', ident=0x4242, frag=0x4000):
    ihl = 5 + len(opts) // 4
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, ihl * 4 + len(pl), ident, frag, ttl, proto, 0, a4(src), a4(dst)) + opts
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + pl
def icmp6(src, dst, t, c, rest=b'\0\0\0\0', pay=b'', bad=False):
    m = struct.pack('!BBH', t, c, 0) + rest + pay
    ph = a6(src) + a6(dst) + struct.pack('!IxxxB', len(m), 58)
    k = csum(ph + m) ^ (0x5555 if bad else 0)
    return m[:2] + struct.pack('!H', k) + m[4:]
def ip6(src, dst, nh, pl, hl=64): return struct.pack('!IHBB16s16s', 0x60000000, len(pl), nh, hl, a6(src), a6(dst)) + pl
