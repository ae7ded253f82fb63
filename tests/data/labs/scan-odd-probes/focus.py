# focused odd probes, one source address per case (no ICMP rate-limit interplay); 0.3 s apart
import sys, os, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from odd import *
G=0.3
def case(name): print('CASE', name, time.time(), flush=True)
case('1 otherhost dmac 02:00:00:00:09:99 from 10.9.0.11')
s='10.9.0.11'
for f in (T(s,H,80,50001), T(s,H,25,50002), iph(s,H,17,udp(s,H,50003,9999)), iph(s,H,1,icmp(8,0))): tx(f, dmac='02:00:00:00:09:99', gap=G)
case('2 L2 broadcast dmac, unicast IP, from 10.9.0.12')
s='10.9.0.12'
for f in (iph(s,H,17,udp(s,H,50011,9999)), T(s,H,25,50012)): tx(f, dmac='ff:ff:ff:ff:ff:ff', gap=G)
case('3 L2 multicast dmac, unicast IP, from 10.9.0.13')
s='10.9.0.13'
for f in (iph(s,H,17,udp(s,H,50021,9999)),): tx(f, dmac='01:00:5e:00:00:01', gap=G)
case('4 dst 127.0.0.1 on t0 from 10.9.0.14')
s='10.9.0.14'
for f in (T(s,'127.0.0.1',80,50031), iph(s,'127.0.0.1',17,udp(s,'127.0.0.1',50032,53)), iph(s,'127.0.0.1',1,icmp(8,0))): tx(f, gap=G)
case('5 REJECT tcp-reset for SYNs to broadcast/multicast IPs from 10.9.0.15')
s='10.9.0.15'
for d in ('10.9.0.255','255.255.255.255','224.0.0.1'): tx(T(s,d,25,50041), gap=G)
case('6 malformed RR option -> ICMP parameter problem, from 10.9.0.16/.17')
BAD=bytes([7,40,4,0])
tx(iph('10.9.0.16',H,6,tcp('10.9.0.16',H,50051,80),opts=BAD), gap=G)
tx(iph('10.9.0.17',H,17,udp('10.9.0.17',H,50052,53),opts=BAD), gap=G)
case('7 spoofed source 10.9.0.255: SYN :80 and echo request; replies go to broadcast')
tx(T('10.9.0.255',H,80,50061), gap=G)
tx(iph('10.9.0.255',H,1,icmp(8,0,rest=b'\0\7\0\1')), gap=G)
time.sleep(3.5)
case('end')
