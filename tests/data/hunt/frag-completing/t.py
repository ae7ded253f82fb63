# UDP to :53 and TCP SYN to :80, each in two fragments whose second fragment's bytes 2-3 read as port 9999 / 25
import sys, os, time, struct
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'labs', 'lib'))
from odd import *
def frags(src, pl, parts, ident, proto):
    return [iph(src,H,proto,pl[o:o+l],ident=ident,frag=((0x2000 if mf else 0)|(o//8))) for o,l,mf in parts]
s='10.9.0.31'
pay=b'A'*24 + b'\0\0' + struct.pack('!H',9999) + b'B'*36      # datagram bytes 32.. = payload[24..]: 2nd fragment's bytes 2-3 = 9999
pl=udp(s,H,52001,53,pay=pay)
for f in frags(s,pl,[(0,32,1),(32,len(pl)-32,0)],0x5001,17): tx(f,gap=0.2)
s='10.9.0.32'
pay=b'\0\0' + struct.pack('!H',25) + b'C'*36                  # segment bytes 24.. : 2nd fragment (offset 24) bytes 2-3 = 25
pl=tcp(s,H,52002,80,pay=pay)
for f in frags(s,pl,[(0,24,1),(24,len(pl)-24,0)],0x5002,6): tx(f,gap=0.2)
s='10.9.0.33'   # control: same shapes, harmless bytes
pl=udp(s,H,52003,53,pay=b'Z'*64)
for f in frags(s,pl,[(0,32,1),(32,len(pl)-32,0)],0x5003,17): tx(f,gap=0.2)
time.sleep(32)
