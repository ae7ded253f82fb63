# Odd IP-level and ICMP probes from the client (c0 198.51.100.2, 2001:db8:a::2) through the router
# (wan0 02:00:00:00:0a:01; lan0 10.9.0.1, 2001:db8:b::1) to the server (10.9.0.2, 2001:db8:b::2),
# raw frames via AF_PACKET, built with ../lib/oddcraft.py.
import os, sys, struct, socket, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../lib'))
from craft import mac
from oddcraft import a4, a6, icmp, ip4, icmp6, ip6
RM = '02:00:00:00:0a:01'
C4, S4, C6, S6 = '198.51.100.2', '10.9.0.2', '2001:db8:a::2', '2001:db8:b::2'
def tx(f, gap=0.12):
    et = b'\x08\x00' if f[0] >> 4 == 4 else b'\x86\xdd'
    S.send(mac(RM) + mac('02:00:00:00:0a:02') + et + f); time.sleep(gap)
def q4(t, ident, pay=b'fwcheck-odd', dst=S4, **kw):
    tx(ip4(C4, dst, 1, icmp(t, 0, struct.pack('!HH', ident, 1), pay), **kw))
def quote(src, dst, t, ident):
    return ip4(src, dst, 1, icmp(t, 0, struct.pack('!HH', ident, 1), b'fwcheck-odd'))[:28]
def v4():
    q4(8, 0x101); q4(13, 0x102, b'\0' * 12); q4(15, 0x103, b''); q4(17, 0x104, b'\0' * 4)
    q4(14, 0x105, b'\0' * 12); q4(0, 0x106); q4(18, 0x107, b'\0' * 4)
    for t in (9, 10, 42, 99): q4(t, 0x110 + t, b'\0' * 8)
    q4(8, 0x120, ttl=1); q4(8, 0x121, ttl=0); q4(13, 0x122, b'\0' * 12, ttl=1)
    q4(14, 0x123, b'\0' * 12, ttl=1); q4(42, 0x124, b'\0' * 8, ttl=1); q4(15, 0x125, b'', ttl=1)
    # an ICMP error about the server's traffic, arriving with TTL 1: no time exceeded about an error
    tx(ip4(C4, S4, 1, icmp(3, 1, b'\0\0\0\0', quote(S4, C4, 8, 0x1ff)), ttl=1))
    tx(ip4(C4, S4, 1, icmp(3, 1, b'\0\0\0\0', quote(S4, C4, 0, 0x101))))   # about the server's echo reply: RELATED
    tx(ip4(C4, S4, 1, icmp(3, 1, b'\0\0\0\0', quote(S4, C4, 8, 0x1fe))))   # INVALID
    rr = bytes([7, 39, 4]) + b'\0' * 36 + b'\0'
    q4(8, 0x130, opts=rr)                                      # record route, filled by the router
    q4(8, 0x131, opts=bytes([0x44, 40, 5, 0]) + b'\0' * 36)   # timestamp option
    q4(8, 0x132, opts=bytes([0x94, 4, 0, 0]))                  # router alert
    q4(8, 0x133, dst='198.51.100.1', opts=bytes([0x83, 7, 4]) + a4(S4) + b'\0')   # LSRR via the router
    q4(8, 0x134, dst='198.51.100.1', opts=bytes([0x89, 7, 4]) + a4(S4) + b'\0')   # SSRR
    q4(8, 0x135, opts=rr, ttl=1)                               # record route and TTL 1: echoed in the error
    q4(8, 0x136, opts=bytes([0x44, 40, 5, 1]) + b'\0' * 36, ttl=1)   # timestamp with addresses and TTL 1
    q4(8, 0x137, opts=bytes([7, 10, 4]) + b'\0' * 7 + b'\1\1', ttl=1)   # no room to echo: no error
    tx(ip4(C4, S4, 253, b'x' * 8, opts=rr)); tx(ip4(C4, S4, 17, struct.pack('!HHHH', 40000, 9, 12, 0) + b'odd!', opts=bytes([0x44, 40, 5, 0]) + b'\0' * 36))
    q4(8, 0x140, dst='10.9.0.1'); q4(13, 0x141, b'\0' * 12, dst='10.9.0.1')   # the router's other address
    q4(8, 0x142, dst='10.9.0.255'); q4(17, 0x143, b'\0' * 4, dst='10.9.0.255')  # directed broadcast
    q4(8, 0x144, dst='127.0.0.1')
    inner = ip4('10.1.1.1', '10.2.2.2', 1, icmp(8, 0, struct.pack('!HH', 0x150, 1), b'tun'))
    tx(ip4(C4, S4, 4, inner)); tx(ip4(C4, S4, 47, struct.pack('!HH', 0, 0x0800) + inner))
    tx(ip4(C4, S4, 41, ip6('2001:db8:9::1', '2001:db8:9::2', 58, icmp6('2001:db8:9::1', '2001:db8:9::2', 128, 0, struct.pack('!HH', 0x151, 1)))))
    tx(ip4(C4, S4, 4, inner, ttl=1)); tx(ip4(C4, S4, 253, b'x' * 8, ttl=1))
    tx(ip4(C4, '198.51.100.1', 4, inner)); tx(ip4(C4, '198.51.100.1', 47, struct.pack('!HH', 0, 0x0800) + inner))
def v6():
    def q6(t, ident, pay=b'fwcheck-odd', dst=S6, hl=64, c=0):
        tx(ip6(C6, dst, 58, icmp6(C6, dst, t, c, struct.pack('!HH', ident, 1), pay), hl=hl))
    q6(128, 0x301); q6(139, 0x302, struct.pack('!HH', 2, 0) + b'\1' * 8 + a6(S6))
    q6(140, 0x303, b'\0' * 12); q6(129, 0x304); q6(200, 0x305); q6(101, 0x306)
    q6(128, 0x310, hl=1); q6(128, 0x311, hl=0); q6(139, 0x312, b'\0' * 12, hl=1); q6(129, 0x313, hl=1); q6(200, 0x314, hl=1)
    def quote6(src, dst, t, ident):
        return ip6(src, dst, 58, icmp6(src, dst, t, 0, struct.pack('!HH', ident, 1), b'fwcheck-odd'))
    err6 = lambda t, c, inner, hl=64: tx(ip6(C6, S6, 58, icmp6(C6, S6, t, c, b'\0\0\0\0', inner), hl=hl))
    err6(1, 4, quote6(S6, C6, 129, 0x301)); err6(1, 4, quote6(S6, C6, 128, 0x3ff))
    err6(1, 4, quote6(S6, C6, 128, 0x3fe), hl=1)
    q6(128, 0x320, dst='2001:db8:b::1'); q6(128, 0x321, dst='2001:db8:b::')   # the router's other address, subnet-router anycast
    inner4 = ip4('10.1.1.1', '10.2.2.2', 1, icmp(8, 0, struct.pack('!HH', 0x350, 1), b'tun'))
    tx(ip6(C6, S6, 4, inner4)); tx(ip6(C6, S6, 47, struct.pack('!HH', 0, 0x86dd) + b'\0' * 8)); tx(ip6(C6, S6, 59, b''))
    tx(ip6(C6, S6, 4, inner4, hl=1))
    ping = icmp6(C6, S6, 128, 0, struct.pack('!HH', 0x360, 1), b'rh')
    tx(ip6(C6, '2001:db8:a::1', 43, bytes([58, 2, 0, 1]) + b'\0' * 4 + a6(S6) + ping))   # RH0 through the router
    tx(ip6(C6, S6, 0, bytes([58, 0, 5, 2, 0, 0, 1, 0]) + ping))   # hop-by-hop router alert, forwarded
if __name__ == '__main__':
    S = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); S.bind(('c0', 0))
    v4(); v6()
