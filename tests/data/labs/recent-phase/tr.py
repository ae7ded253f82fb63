import sys, time, socket; sys.path.insert(0,'../lib')
from craft import *
D='02:00:00:00:00:01'
s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('p0',0))
smac=mac(open('/sys/class/net/p0/address').read().strip())
def tx(src,port):
    f=pkt4(src,'192.0.2.1',17,sport=4000,dport=port,pay=b'hello'); s.send(mac(D)+smac+b'\x08\x00'+f)
gaps=[0.990,0.994,0.996,0.997,0.998,0.999,1.000,1.001,1.002,1.003,1.004,1.006,1.010]
def until(t):
    while True:
        d=t-time.time()
        if d<=0: return
        time.sleep(d if d>0.002 else 0)
# port 5000: per source: packet, gap, packet
t0=time.time()+0.1
for i,g in enumerate(gaps):
    a='198.51.100.%d'%(i+1); ts=t0+i*0.077
    # schedule: send at ts and ts+g, interleaved via sorted events
evs=[]
for i,g in enumerate(gaps):
    a='198.51.100.%d'%(i+1); ts=t0+i*0.077
    evs+= [(ts,a,5000),(ts+g,a,5000)]
    b='198.51.100.%d'%(i+101); ts2=ts+2.2
    evs+= [(ts2,b,5001),(ts2+g/2,b,5001),(ts2+g,b,5001)]
for t,a,p in sorted(evs):
    until(t); tx(a,p)
