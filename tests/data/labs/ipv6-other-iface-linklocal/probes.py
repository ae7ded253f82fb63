# raw frames from klc's c0 at the router (wan0 02:00:00:00:0a:01); ORACLE=1 prints the router's counter changes after each frame
import os, sys
os.environ.setdefault('RNS', 'klr'); os.environ.setdefault('PROBE_GAP', '0.05')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from rprobe import *
# the router's lan0 link-local address (fe80::ff:fe00:b01) sent to it on wan0, in frames for the router's MAC:
# not local there (a link-local address is on its link only): routed back out wan0 (fe80::/64 dev wan0), FORWARD decides
t6('fe80::ff:fe00:b01', 22, RM); u6('fe80::ff:fe00:b01', 9, RM); t6('fe80::ff:fe00:b01', 23, RM)
# control: wan0's own link-local address, local
t6('fe80::ff:fe00:a01', 22, RM); u6('fe80::ff:fe00:a01', 9, RM)
