#!/usr/bin/python3
"""scan.py IFACE DMAC SRC DST TOKEN...  craft scans via AF_PACKET.
TOKEN: key=val sets state (gap, ttl, sport, win);  KIND:PORTS sends one probe per port.
KIND: syn fin null xmas ack synfin udp ;  PORTS: 1-10,22,80   ; sleep:SEC"""
import sys, time, random
sys.path.insert(0, __file__.rsplit('/',1)[0] + '/..')
from craft import *
ifc, dmac, src, dst = sys.argv[1:5]
fam = 6 if ':' in src else 4
st = dict(gap=0.002, ttl=64, sport=40000, win=1024)
FL = dict(syn='S', fin='F', null='', xmas='FPU', ack='A', synfin='SF', rst='R', synack='SA', maimon='FA')
def ports(s):
    out = []
    for part in s.split(','):
        if '-' in part: a, b = part.split('-'); out += range(int(a), int(b)+1)
        else: out.append(int(part))
    return out
smac = mac(open(f'/sys/class/net/{ifc}/address').read().strip())
sk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); sk.bind((ifc, 0))
def tx(f):
    et = b'\x08\x00' if f[0] >> 4 == 4 else b'\x86\xdd'
    sk.send(mac(dmac) + smac + et + f)
n = 0
for tok in sys.argv[5:]:
    if tok.startswith('sleep:'): time.sleep(float(tok[6:])); continue
    if '=' in tok:
        k, v = tok.split('='); st[k] = float(v) if k == 'gap' else int(v); continue
    kind, ps = tok.split(':')
    for p in ports(ps):
        if kind == 'udp':
            kw = dict(sport=st['sport'], dport=p, pay=b'')
            proto = 17
        else:
            kw = dict(sport=st['sport'], dport=p, flags=FL[kind], seq=random.randrange(1, 2**31), ack=(random.randrange(1, 2**31) if 'A' in FL[kind] else 0), win=st['win'])
            proto = 6
        if fam == 4: f = pkt4(src, dst, proto, ttl=st['ttl'], **kw)
        else: f = pkt6(src, dst, proto, hl=st['ttl'], **kw)
        tx(f); n += 1
        time.sleep(st['gap'])
print('sent', n)
