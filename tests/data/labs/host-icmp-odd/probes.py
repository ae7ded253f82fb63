# Odd IP-level and ICMP probes from icP (p0) at the host icH (h0 192.0.2.10, 2001:db8:1::10; its other interface d1
# 203.0.113.10, 2001:db8:2::10), raw frames via AF_PACKET (lib/craft.py). `python3 probes.py [own]`:
# `own` runs in the host and sends its own echo requests (ids 0x201, 0x202) that later errors quote.
import os, sys, socket, struct, time, subprocess
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../lib'))
from craft import csum, mac
from oddcraft import a4, a6, icmp, ip4, icmp6, ip6
HM, PM = '02:00:00:00:0e:10', '02:00:00:00:0e:01'
H4, P4, H6, P6 = '192.0.2.10', '192.0.2.1', '2001:db8:1::10', '2001:db8:1::1'
S = None
def tx(f, dm=HM, gap=0.12):
    et = b'\x08\x00' if f[0] >> 4 == 4 else b'\x86\xdd'
    S.send(mac(dm) + mac(PM) + et + f); time.sleep(gap)
def q4(t, ident, pay=b'fwcheck-odd', **kw):  # an ICMP query from the peer to the host
    dm, dst, bad = kw.pop('dm', HM), kw.pop('dst', H4), kw.pop('bad', False)
    tx(ip4(P4, dst, 1, icmp(t, 0, struct.pack('!HH', ident, 1), pay, bad), **kw), dm)
def own():
    # the host's own echo requests to the peer (the peer answers 0x201; 0x202 goes to an absent address)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(icmp(8, 0, struct.pack('!HH', 0x201, 1), b'own'), (P4, 0))
    s.sendto(icmp(8, 0, struct.pack('!HH', 0x202, 1), b'own'), ('203.0.113.77', 0))
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s6.sendto(struct.pack('!BBHHH', 128, 0, 0, 0x601, 1) + b'own', (P6, 0))
def v4():
    q4(8, 0x101)                                  # echo: answered
    q4(13, 0x102, b'\0' * 12)                     # timestamp: answered (14)
    q4(15, 0x103, b'')                            # information request: tracked, discarded
    q4(17, 0x104, b'\0' * 4)                      # address mask request: tracked, discarded
    q4(14, 0x105, b'\0' * 12)                     # unsolicited replies: INVALID (16: NOTRACK)
    q4(16, 0x106, b''); q4(18, 0x107, b'\0' * 4); q4(0, 0x108)
    for t in (9, 10, 6, 19, 30, 42, 99): q4(t, 0x110 + t, b'\0' * 8)   # no invmap / above 18
    q4(8, 0x120, bad=True)                        # bad checksum
    tx(ip4(P4, H4, 1, struct.pack('!BBH', 8, 0, 0xf7ff)))   # 4-byte ICMP: short
    q4(8, 0x121, dst='192.0.2.255', dm='ff:ff:ff:ff:ff:ff')  # broadcasts: echo and timestamp ignored
    q4(13, 0x122, b'\0' * 12, dst='192.0.2.255', dm='ff:ff:ff:ff:ff:ff')
    q4(17, 0x123, b'\0' * 4, dst='192.0.2.255', dm='ff:ff:ff:ff:ff:ff')
    q4(8, 0x124, dst='203.0.113.10')              # the address of another interface
    q4(8, 0x125, dst='127.0.0.1')                 # loopback from outside: martian
    q4(8, 0x129, dst='198.18.0.1'); q4(8, 0x12a, dst='203.0.113.77')   # not forwarded: no answer
    q4(8, 0x126, ttl=0); q4(8, 0x127, ttl=1); q4(13, 0x128, b'\0' * 12, ttl=1)
    rr = bytes([7, 39, 4]) + b'\0' * 36 + b'\0'
    q4(8, 0x130, opts=rr)                                      # record route: answered with it
    q4(8, 0x131, opts=bytes([0x44, 40, 5, 0]) + b'\0' * 36)   # timestamp option (tsonly)
    q4(8, 0x132, opts=bytes([0x94, 4, 0, 0]))                  # router alert
    q4(8, 0x133, opts=bytes([0x83, 7, 8]) + a4(H4) + b'\0')    # LSRR, exhausted: refused
    q4(8, 0x134, opts=bytes([0x89, 7, 4]) + a4('192.0.2.99') + b'\0')  # SSRR with a hop left
    q4(8, 0x135, opts=bytes([0x1e, 4, 0, 0]))                  # unknown option
    q4(13, 0x136, b'\0' * 12, opts=rr)                        # timestamp request with record route
    # REJECTed with options: the error echoes record route and timestamp (__ip_options_echo)
    udp = lambda dport, opts: tx(ip4(P4, H4, 17, struct.pack('!HHHH', 40000, dport, 12, 0) + b'odd!', opts=opts))
    udp(9, rr); udp(10, bytes([0x44, 40, 5, 0]) + b'\0' * 36); udp(11, bytes([0x94, 4, 0, 0]))
    udp(12, bytes([7, 10, 4]) + b'\0' * 7 + b'\1\1')          # record route with room for one entry: no error
    udp(13, bytes([0x44, 12, 7, 0]) + b'\0' * 8)              # timestamp likewise: no error
    tx(ip4(P4, H4, 47, struct.pack('!HH', 0, 0x0800) + b'\0' * 20, opts=rr))
    # errors: about the host's echo reply 0x101, its own request 0x201, an unknown one, an error, fragments
    def quote(src, dst, t, ident, frag=0x4000, opts=b''):
        return ip4(src, dst, 1, icmp(t, 0, struct.pack('!HH', ident, 1), b'fwcheck-odd'), frag=frag, opts=opts)[:28 + len(opts)]
    err = lambda t, c, inner, **kw: tx(ip4(P4, H4, 1, icmp(t, c, b'\0\0\0\0', inner), **kw))
    err(3, 1, quote(H4, P4, 0, 0x101))            # RELATED (reply direction)
    err(3, 1, quote(H4, P4, 8, 0x201))            # RELATED
    err(11, 0, quote(H4, '203.0.113.77', 8, 0x202))  # RELATED
    err(3, 1, quote(H4, P4, 8, 0x2ff))            # no connection: INVALID
    err(3, 1, quote(H4, P4, 8, 0x201, frag=0x2000))  # first fragment quoted: RELATED
    err(3, 1, quote(H4, P4, 8, 0x201, frag=0x0005))  # a later fragment quoted: INVALID
    err(3, 1, quote(H4, P4, 8, 0x201, opts=bytes([0x94, 4, 0, 0])))  # quote with options
    inner_err = ip4(H4, P4, 1, icmp(3, 3, b'\0\0\0\0', ip4(P4, H4, 17, struct.pack('!HHHH', 5000, 53, 8, 0))))[:56]
    err(3, 1, inner_err)                          # an error about an error
    err(12, 0, quote(H4, P4, 13, 0x102))          # parameter problem about the host's timestamp reply? (13 quoted)
    err(3, 1, quote(H4, P4, 14, 0x102))           # about the host's timestamp reply: RELATED
    err(5, 1, quote(H4, P4, 8, 0x201))            # redirect
    err(4, 0, quote(H4, P4, 8, 0x201))            # source quench
    err(3, 1, quote(H4, P4, 8, 0x201), ttl=1)
    # other protocols: IPIP (ICMP inside), 6in4, GRE, ESP, 253 (NOTRACK), 255
    inner = ip4('10.1.1.1', '10.2.2.2', 1, icmp(8, 0, struct.pack('!HH', 0x140, 1), b'tun'))
    tx(ip4(P4, H4, 4, inner))
    tx(ip4(P4, H4, 41, ip6('2001:db8:9::1', '2001:db8:9::2', 58, icmp6('2001:db8:9::1', '2001:db8:9::2', 128, 0, struct.pack('!HH', 0x141, 1)))))
    tx(ip4(P4, H4, 47, struct.pack('!HH', 0, 0x0800) + inner))
    tx(ip4(P4, H4, 50, struct.pack('!II', 0x1000, 1) + b'\0' * 16))
    tx(ip4(P4, H4, 253, b'x' * 8)); tx(ip4(P4, H4, 255, b'x' * 8)); tx(ip4(P4, H4, 254, b'x' * 8))
    tx(ip4(P4, H4, 4, inner, ttl=1)); tx(ip4(P4, '203.0.113.10', 47, struct.pack('!HH', 0, 0x0800) + inner))
def v6():
    def q6(t, ident, pay=b'fwcheck-odd', dst=H6, hl=64, bad=False, dm=HM, c=0):
        tx(ip6(P6, dst, 58, icmp6(P6, dst, t, c, struct.pack('!HH', ident, 1), pay, bad), hl=hl), dm)
    q6(128, 0x301)
    q6(139, 0x302, struct.pack('!HH', 2, 0) + b'\1' * 8 + a6(H6), c=0)   # node information query
    q6(140, 0x303, struct.pack('!HH', 2, 0) + b'\1' * 8)
    q6(129, 0x304); q6(200, 0x305); q6(201, 0x306); q6(150, 0x307)
    q6(101, 0x308)                                # private error type with garbage
    q6(128, 0x309, bad=True)
    q6(128, 0x30a, hl=0); q6(128, 0x30b, hl=1)
    q6(128, 0x30c, dst='2001:db8:2::10')
    q6(128, 0x30d, dst='::1')
    q6(128, 0x30e, dst='2001:db8:3::10')         # no route: ip6_pkt_discard answers (RELATED)
    q6(128, 0x30f, dst='2001:db8:4::10')         # routed, not forwarded: dropped silently
    def quote6(src, dst, t, ident):
        return ip6(src, dst, 58, icmp6(src, dst, t, 0, struct.pack('!HH', ident, 1), b'fwcheck-odd'))
    err6 = lambda t, c, inner: tx(ip6(P6, H6, 58, icmp6(P6, H6, t, c, b'\0\0\0\0', inner)))
    err6(1, 4, quote6(H6, P6, 129, 0x301))        # about the host's echo reply: RELATED
    err6(1, 4, quote6(H6, P6, 128, 0x601))        # about the host's own request: RELATED
    err6(1, 4, quote6(H6, P6, 128, 0x6ff))        # INVALID
    in_err = ip6(H6, P6, 58, icmp6(H6, P6, 1, 4, b'\0\0\0\0', ip6(P6, H6, 17, struct.pack('!HHHH', 5000, 53, 8, 0))))
    err6(1, 4, in_err)                            # an error about an error
    err6(3, 0, quote6(H6, P6, 140, 0x302))        # about a node information reply never sent
    err6(2, 0, quote6(H6, P6, 128, 0x601))        # packet too big (mtu 0 here)
    # next headers: IPv4 inside, IPv6 inside, GRE, no next header, 253 (NOTRACK), routing header type 0
    inner4 = ip4('10.1.1.1', '10.2.2.2', 1, icmp(8, 0, struct.pack('!HH', 0x340, 1), b'tun'))
    tx(ip6(P6, H6, 4, inner4))
    tx(ip6(P6, H6, 41, ip6('2001:db8:9::1', '2001:db8:9::2', 58, icmp6('2001:db8:9::1', '2001:db8:9::2', 128, 0, struct.pack('!HH', 0x341, 1)))))
    tx(ip6(P6, H6, 47, struct.pack('!HH', 0, 0x0800) + inner4))
    tx(ip6(P6, H6, 59, b'')); tx(ip6(P6, H6, 253, b'x' * 8))
    ping = icmp6(P6, H6, 128, 0, struct.pack('!HH', 0x342, 1), b'rh')
    tx(ip6(P6, H6, 43, bytes([58, 2, 0, 0]) + b'\0' * 4 + a6('2001:db8:1::99') + ping))   # RH0, no segment left
    ping = icmp6(P6, '2001:db8:1::99', 128, 0, struct.pack('!HH', 0x343, 1), b'rh')
    tx(ip6(P6, H6, 43, bytes([58, 2, 0, 1]) + b'\0' * 4 + a6('2001:db8:1::99') + ping))   # RH0, one left
    ping = icmp6(P6, H6, 128, 0, struct.pack('!HH', 0x344, 1), b'ra')
    tx(ip6(P6, H6, 0, bytes([58, 0, 5, 2, 0, 0, 1, 0]) + ping))   # hop-by-hop router alert
if __name__ == '__main__':
    if sys.argv[1:] == ['own']: own(); sys.exit()
    S = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); S.bind(('p0', 0))
    if sys.argv[1:] in ([], ['all'], ['v4']): v4()
    if sys.argv[1:] in ([], ['all'], ['v6']): v6()
