# raw frames from kqc's c0 at the router (wan0 02:00:00:00:0a:01); ORACLE=1 prints the router's counter changes after each frame
import os, sys
os.environ.setdefault('RNS', 'kqr'); os.environ.setdefault('PROBE_GAP', '0.7')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from rprobe import *
# hairpin: 198.51.100.2 -> 198.51.100.3 (on wan0's link, like the sender) comes in and goes back out wan0: ip_forward
# sends an ICMP redirect (before FORWARD), which sets the sender's inet_peer rate_last; FORWARD REJECTs the UDP one, and
# its port unreachable, right after the redirect, finds no token (icmpv4_xrlim_allow) and is never sent: no OUTPUT
t4('198.51.100.3', 80, RM); u4('198.51.100.3', 53, RM); i4('198.51.100.3', RM); u4('198.51.100.3', 53, RM)
