import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from nattraffic import *
if role == 's':
    log('flow 5005', udp(WC, 5353, sport=5005))          # 10.9.0.2:5005 -> C:5353, masqueraded as 198.51.100.1:5005
if role == 'c':
    # ICMP port unreachable from C about the masqueraded flow, quoting the IP header + 8, + 4 (ports only) bytes
    full = iph(W, WC, 17, udph(W, WC, 5005, 5353, b'x' * 10))
    tx('c0', RMAC, iph(WC, W, 1, icmph(3, 3, b'\0' * 4, full[:28])))
    tx('c0', RMAC, iph(WC, W, 1, icmph(3, 3, b'\0' * 4, full[:24])))
    time.sleep(0.3)
