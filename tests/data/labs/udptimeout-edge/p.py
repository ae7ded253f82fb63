import sys,time,socket,struct; sys.path.insert(0,'../lib')
from craft import *
T=float(sys.argv[1]); ds=[float(x) for x in sys.argv[2].split(',')]
sink=socket.socket(2,2); sink.bind(('',9))
s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('p0',0))
smac=mac(open('/sys/class/net/p0/address').read().strip())
ev=sorted((T+i*0.08+d,i) for i,d in enumerate(ds))
for t,i in ev:
    f=pkt4('192.0.2.2','192.0.2.1',17,sport=9,dport=41000+i,pay=b'pong')
    while time.time()<t: time.sleep(0.0003 if t-time.time()>0.002 else 0)
    s.send(mac('02:00:00:00:00:01')+smac+b'\x08\x00'+f)
