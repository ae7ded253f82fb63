# raw frames from kbc's c0 at the router (wan0 02:00:00:00:0a:01); ORACLE=1 prints the router's counter changes after each frame
import os, sys
os.environ.setdefault('RNS', 'kbr'); os.environ.setdefault('PROBE_GAP', '0.05')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from rprobe import *
# unicast IP to the remote 10.9.0.2 / 2001:db8:b::2 and DNATed router ports, in frames for the router's MAC (control),
# the broadcast MAC and a multicast MAC; TTL 1 too; then one SYN twice, broadcast first (never confirmed), unicast second (NEW again)
for fam, M, dst, rtr, tt, uu, ii in ((4, M4, '10.9.0.2', '198.51.100.1', t4, u4, i4), (6, M6, '2001:db8:b::2', '2001:db8:a::1', t6, u6, i6)):
    tt(dst, 80, RM)
    tt(dst, 80, BC); uu(dst, 53, M); ii(dst, BC)
    tt(dst, 80, BC, 1); uu(dst, 53, M, 1)
    tt(rtr, 8080, BC); uu(rtr, 5353, M)
    s = P(); tt(dst, 80, BC, sport=s); tt(dst, 80, RM, sport=s)
