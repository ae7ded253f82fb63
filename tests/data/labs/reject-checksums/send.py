#!/usr/bin/python3
"""send.py IFACE DMAC SRC DST: packets REJECT answers or not by their transport checksum (nf_reject_verify_csum,
nf_ip_checksum): an echo request with a good and a bad checksum, protocol 253 with no payload, a zero payload and a
payload that does not sum to zero, UDP with a bad checksum and with checksum 0, a TCP SYN with a good and a bad
checksum. 0.1 s apart; fewer than the per-peer ICMP burst (6) of errors."""
import sys, struct, socket
sys.path.insert(0, __file__.rsplit('/', 1)[0] + '/../lib')
from craft import *
ifc, dmac, src, dst = sys.argv[1:5]
sa, da = socket.inet_aton(src), socket.inet_aton(dst)
def bad(u, off):
    return u[:off] + struct.pack('!H', struct.unpack('!H', u[off:off + 2])[0] ^ 0x5a5a) + u[off + 2:]
echo = l4(1, sa, da, 4, sport=0x77, dport=1, itype=8, pay=b'fwcheck')
udp = l4(17, sa, da, 4, sport=41000, dport=9, pay=b'x' * 8)
udp0 = udp[:6] + b'\0\0' + udp[8:]
syn = l4(6, sa, da, 4, sport=42000, dport=81, flags='S')
frames = [
    ip4(src, dst, 1, echo, ident=1, df=False),
    ip4(src, dst, 1, bad(echo, 2), ident=2, df=False),
    ip4(src, dst, 253, b'', ident=3, df=False),
    ip4(src, dst, 253, b'\0' * 8, ident=4, df=False),
    ip4(src, dst, 253, b'\x01\x02\x03\x04', ident=5, df=False),
    ip4(src, dst, 17, bad(udp, 6), ident=6, df=False),
    ip4(src, dst, 17, udp0, ident=7, df=False),
    ip4(src, dst, 6, syn, ident=8, df=False),
    ip4(src, dst, 6, bad(syn, 16), ident=9, df=False),
]
send(ifc, dmac, frames, gap=0.1)
print('sent', len(frames))
