# raw frames from kdc's c0 at the router (wan0 02:00:00:00:0a:01); ORACLE=1 prints the router's counter changes after each frame
import os, sys
os.environ.setdefault('RNS', 'kdr'); os.environ.setdefault('PROBE_GAP', '0.05')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from rprobe import *
# destinations under the router's blackhole (2001:db8:dead::/48), unreachable (2001:db8:beef::/48) and prohibit
# (2001:db8:cafe::/48) routes: the input route discards them after PREROUTING (ip6_pkt_discard / ip6_pkt_prohibit), never FORWARD
for d in ('2001:db8:dead::5', '2001:db8:beef::5', '2001:db8:cafe::5'):
    t6(d, 80, RM); u6(d, 53, RM); i6(d, RM); time.sleep(1.1)
