# raw frames from ktc's c0 at the router (wan0 02:00:00:00:0a:01); ORACLE=1 prints the router's counter changes after each frame
import os, sys
os.environ.setdefault('RNS', 'ktr'); os.environ.setdefault('PROBE_GAP', '0.05')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from rprobe import *
# the router has a default route and, in its main table, `throw 198.18.0.0/15` / `throw 2001:db8:f00::/48` (the
# lookup leaves the table: no route, ICMP net unreachable, before FORWARD) and `local 192.0.2.0/25`
# (AnyIP: delivered locally, INPUT; IPv4 only: `ip -6 -j route` does not list an IPv6 local route of the main table)
for d in ('198.18.0.5', '192.0.2.5'):
    t4(d, 22, RM); u4(d, 53, RM); time.sleep(1.1)
for d in ('2001:db8:f00::5',):
    t6(d, 22, RM); u6(d, 53, RM); time.sleep(1.1)
