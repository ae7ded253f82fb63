#!/usr/bin/python3
"""vsend.py IFC DMAC SPEC...: send frames; SPEC = tags/proto/src/dst/sport/dport  e.g.  8100:100/udp/192.0.2.2/192.0.2.1/4000/5000
tags: '-' none, or comma list of TPID:VID[:PCP] outer first (8100:0, 88a8:100,8100:5)"""
import sys, socket, struct, time
sys.path.insert(0, '/tmp/hunt9/a-if/lib')
from craft import pkt4, mac
ifc, dmac = sys.argv[1], sys.argv[2]
smac = mac(open(f'/sys/class/net/{ifc}/address').read().strip())
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((ifc, 0))
for spec in sys.argv[3:]:
    n = 1
    if '*' in spec: spec, n = spec.split('*'); n = int(n)
    tags, proto, src, dst, a, b = spec.split('/')
    tagb = b''
    if tags != '-':
        for t in tags.split(','):
            f = t.split(':'); tp = int(f[0], 16); vid = int(f[1]); pcp = int(f[2]) if len(f) > 2 else 0
            tagb += struct.pack('!HH', tp, (pcp << 13) | vid)
    for i in range(n):
        if proto == 'udp': ip = pkt4(src, dst, 17, sport=int(a), dport=int(b), pay=b'hello')
        elif proto == 'icmp': ip = pkt4(src, dst, 1, sport=int(a), dport=int(b)+i, itype=8, pay=b'x'*16)
        elif proto == 'tcp': ip = pkt4(src, dst, 6, sport=int(a)+i, dport=int(b), flags='S')
        s.send(mac(dmac) + smac + tagb + b'\x08\x00' + ip); time.sleep(0.02)
