#!/usr/bin/python3
"""protoscan.py IFACE DMAC SRC DST FROM TO [GAP]: nmap -sO style IP protocol scan: one datagram per protocol number;
tcp/udp/icmp/sctp/igmp get a minimal header (as nmap sends), every other protocol an empty payload"""
import sys, struct, socket, time
sys.path.insert(0, __file__.rsplit('/',1)[0] + '/..')
from craft import *
ifc, dmac, src, dst, a, b = sys.argv[1:7]; gap = float(sys.argv[7]) if len(sys.argv) > 7 else 0.002
fam = 6 if ':' in src else 4
smac = mac(open(f'/sys/class/net/{ifc}/address').read().strip())
sk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); sk.bind((ifc, 0))
sa, da = socket.inet_pton(10 if fam == 6 else 2, src), socket.inet_pton(10 if fam == 6 else 2, dst)
def body(p):
    if p == 6: return l4(6, sa, da, fam, sport=43000, dport=80, flags='A', seq=1, ack=1)
    if p == 17: return l4(17, sa, da, fam, sport=43000, dport=40125)
    if p == 1 and fam == 4: return l4(1, sa, da, 4, sport=0x55, dport=1, itype=8)
    if p == 58 and fam == 6: return l4(58, sa, da, 6, sport=0x55, dport=1, itype=128)
    if p == 2 and fam == 4:
        g = struct.pack('!BBH4s', 0x11, 0, 0, b'\0'*4); return g[:2] + struct.pack('!H', csum(g)) + g[4:]
    if p == 132:
        return struct.pack('!HHII', 43000, 80, 0, 0)  # common header, no chunk (checksum left 0)
    return b''
n = 0
import os
for p in list(range(int(a), int(b) + 1)) + [int(x) for x in os.environ.get('EXTRA', '').split(',') if x]:
    if fam == 6 and p in (0, 43, 44, 60, 51, 50): continue  # extension headers need a body
    pay = body(p)
    if fam == 4: f = ip4(src, dst, p, pay, ident=0x3000 + p, df=False)
    else: f = struct.pack('!IHBB16s16s', 0x60000000, len(pay), p, 64, sa, da) + pay
    sk.send(mac(dmac) + smac + (b'\x08\x00' if fam == 4 else b'\x86\xdd') + f); n += 1
    time.sleep(gap)
print('sent', n)
