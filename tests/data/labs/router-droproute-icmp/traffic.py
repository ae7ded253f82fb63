import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from nattraffic import *
if role == 's':
    # unreachable, prohibit, blackhole and throw routes on the router (record.sh): ip_error /
    # ip6_pkt_discard / ip6_pkt_prohibit answer, a blackhole does not, throw is no route
    for a in ('203.0.113.5', '203.0.113.70', '203.0.113.130', '203.0.113.200'):
        log('v4', a, udp(a, 9, sport=33000))
    for a in ('2001:db8:c::5', '2001:db8:c:0:4000::5', '2001:db8:c:0:8000::5', '2001:db8:c:0:c000::5'):
        log('v6', a, udp(a, 9, sport=33000))
    log('v4 routed', udp(WC, 5353, sport=33001))
