# raw frames from kac's c0 at the router (wan0 02:00:00:00:0a:01); ORACLE=1 prints the router's counter changes after each frame
import os, sys
os.environ.setdefault('RNS', 'kar'); os.environ.setdefault('PROBE_GAP', '0.05')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from rprobe import *
# the subnet-router anycast addresses 2001:db8:b:: (lan0's prefix) and 2001:db8:a:: (wan0's), which a forwarding
# router joins: INPUT REJECTs UDP (icmp6-port-unreachable) and TCP to port 23 (tcp-reset); the replies leave from the anycast address
u6('2001:db8:b::', 9, RM); t6('2001:db8:b::', 23, RM); u6('2001:db8:a::', 9, RM); t6('2001:db8:a::', 23, RM)
# control: the router's unicast address
u6('2001:db8:a::1', 9, RM); t6('2001:db8:a::1', 23, RM)
