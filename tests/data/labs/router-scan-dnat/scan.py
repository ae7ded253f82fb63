import socket, sys, time, random
sys.path.insert(0,'../lib'); from craft import *
r=socket.socket(2,socket.SOCK_RAW,255)
me='198.51.100.2'
def tx(dst,proto,**kw):
    r.sendto(pkt4(me,dst,proto,**kw),(dst,0)); time.sleep(0.03)
sp=40000
def scan(dst,ports,flags):
    global sp
    for p in ports:
        sp+=1; tx(dst,6,sport=sp,dport=p,flags=flags,seq=random.randrange(1<<32),ack=(random.randrange(1<<32) if 'A' in flags else 0))
R='198.51.100.1'; S='10.9.0.2'
scan(R,[21,22,23,25,53,80,443,2323,8443,5300],'S'); time.sleep(1.1)
scan(R,[22,80,81],'F'); scan(R,[22,80,81],''); time.sleep(1.1)
scan(R,[22,80,81],'FPU'); scan(R,[22,80,81],'A'); time.sleep(1.1)
scan(S,[22,8080,23],'S'); scan(S,[8080],'F'); scan(S,[8080],'A'); scan(S,[8080],'FPU'); time.sleep(1.1)
for p in [53,54,5300,161]: sp+=1; tx(R,17,sport=sp,dport=p,pay=b'\0'*8)
time.sleep(1.1)
for p in [53,5301]: sp+=1; tx(S,17,sport=sp,dport=p,pay=b'\0'*8)
