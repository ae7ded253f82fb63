import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from nattraffic import *
if role == 's':
    # the router has no route to 203.0.113.0/24 nor 2001:db8:c::/64: ip_route_input / ip6_route_input fail,
    # ip_error / ip6_pkt_drop send ICMP (net) unreachable, with the dropped packet's unconfirmed connection attached
    log('v4 no route', udp('203.0.113.5', 9, sport=33000))
    log('v4 no route again', udp('203.0.113.6', 9, sport=33000))
    log('v6 no route', udp('2001:db8:c::5', 9, sport=33000))
    log('v4 routed', udp(WC, 5353, sport=33001))
