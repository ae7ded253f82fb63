# raw frames from kuc's c0 at the router (wan0 02:00:00:00:0a:01); ORACLE=1 prints the router's counter changes after each frame
import os, sys
os.environ.setdefault('RNS', 'kur'); os.environ.setdefault('PROBE_GAP', '0.05')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from rprobe import *
# the unspecified source :: to the remote 2001:db8:b::2 (behind lan0, not the input interface): ip6_forward drops it
# ("This check is security critical": source type ANY, MULTICAST or LOOPBACK) before FORWARD, silently
i6('2001:db8:b::2', RM, src='::'); t6('2001:db8:b::2', 80, RM, src='::'); u6('2001:db8:b::2', 53, RM, src='::')
# control: the same from the client's address
i6('2001:db8:b::2', RM); t6('2001:db8:b::2', 80, RM)
