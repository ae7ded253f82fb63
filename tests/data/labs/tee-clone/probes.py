# TEE's clones (kernel hunt, 2026-12-07): echo requests to the server (forwarded) and to the router, a DNS
# query and a UDP datagram to a closed port (forwarded), a SYN; each family.
import os, sys
os.environ.setdefault('RNS', 'ter'); os.environ.setdefault('PROBE_GAP', '0.3')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from rprobe import *
S='10.9.0.2'; S6='2001:db8:b::2'
i4(S, RM); i4(S, RM); i4('198.51.100.1', RM); u4(S, 53, RM); u4(S, 54, RM); t4(S, 80, RM)
i6(S6, RM); i6(S6, RM); i6('2001:db8:a::1', RM); u6(S6, 53, RM); u6(S6, 54, RM); t6(S6, 80, RM)
