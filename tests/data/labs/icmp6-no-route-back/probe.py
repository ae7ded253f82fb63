# one UDP probe and one TCP SYN to REJECTed ports from an off-link source H has no route to (AF_PACKET)
import sys; sys.path.insert(0,'../lib')
from craft import *
H='2001:db8:1::1'; HM='02:00:00:00:00:01'; S='2001:db8:77::5'
f=[pkt6(S,H,17,sport=40000,dport=7000,pay=b'probe'), pkt6(S,H,6,sport=40001,dport=23,flags='S',seq=1), pkt6('2001:db8:1::2',H,17,sport=40000,dport=7001,pay=b'onlink')]
send('p0',HM,f,gap=0.2)
