# UDP probes to REJECTed ports from a peer behind H's default route, at fixed spacing (AF_PACKET)
import sys, time, socket; sys.path.insert(0,'../lib')
from craft import *
H='2001:db8:1::1'; HM='02:00:00:00:00:01'
src=sys.argv[1]; n=int(sys.argv[2]); gap=float(sys.argv[3])
smac=mac(open('/sys/class/net/p0/address').read().strip())
s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('p0',0))
frames=[mac(HM)+smac+b'\x86\xdd'+pkt6(src,H,17,sport=40000,dport=7000+i,pay=b'probe%03d'%i) for i in range(n)]
start=time.monotonic()
for i,f in enumerate(frames):
    while time.monotonic()<start+i*gap: pass
    s.send(f)
print('sent',n,'from',src,'gap',gap)
