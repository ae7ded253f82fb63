# raw frames from kwc's c0 at the router (wan0 02:00:00:00:0a:01); ORACLE=1 prints the router's counter changes after each frame
import os, sys
os.environ.setdefault('RNS', 'kwr'); os.environ.setdefault('PROBE_GAP', '0.05')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from rprobe import *
LM = '02:00:00:00:0b:01'   # the router's lan0 MAC, sent to on wan0: PACKET_OTHERHOST there, dropped by ip_rcv_core / ipv6_rcv
t4('198.51.100.1', 22, LM); t4('10.9.0.2', 80, LM); i6('2001:db8:a::1', LM); t6('2001:db8:b::2', 80, LM)
# forwarded both ways: the answers (RST from kws's closed port 80 and 81, echo replies) come in on lan0 (not captured)
# and leave by wan0, captured only as the router's outgoing copies
t4('10.9.0.2', 80, RM); t4('10.9.0.2', 81, RM); i4('10.9.0.2', RM)
t6('2001:db8:b::2', 80, RM); i6('2001:db8:b::2', RM)
