# raw frames from the client's c0 at the router (wan0 02:00:00:00:0a:01), each to a host on the sender's own link
# (198.51.100.3, 2001:db8:a::3, held by the client namespace too): the router forwards them back out wan0 and sends the
# sender a redirect first (ip_forward -> ip_rt_send_redirect; ip6_forward -> ndisc_send_redirect), before FORWARD.
# Flows FORWARD accepts, rejects and drops, a reply-direction packet, an untracked one. The pauses (PROBE_GAP, and the
# sources .2/.4/.5) keep every redirect clear of the kernel's redirect backoff and IPv6's per-peer redirect limit.
import os, sys
os.environ.setdefault('RNS', 'rdnr'); os.environ.setdefault('PROBE_GAP', '1.2')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from rprobe import *
O='198.51.100.3'; O6='2001:db8:a::3'
# IPv4, from 198.51.100.2: accepted SYN, then its reply (198.51.100.3:80 -> .2, the connection's reply direction)
t4(O, 80, RM, sport=41000); t4(C4, 41000, RM, src=O, sport=80, flags='SA')
# ... and its third packet (198.51.100.2 -> .3:80 ACK): a confirmed connection's
t4(O, 80, RM, sport=41000, flags='A')
# from 198.51.100.4: dropped UDP (FORWARD's policy), rejected SYN (tcp-reset), untracked UDP (raw notrack), accepted echo
u4(O, 53, RM, src='198.51.100.4'); t4(O, 81, RM, src='198.51.100.4'); u4(O, 5353, RM, src='198.51.100.4')
# from 198.51.100.5: UDP rejected with a port unreachable (refused: the redirect reset the peer's clock), dropped UDP
u4(O, 54, RM, src='198.51.100.5'); u4(O, 55, RM, src='198.51.100.5')
i4(O, RM, src='198.51.100.2')
# IPv6 (per destination and per source: at most one redirect a second after a burst of six)
t6(O6, 80, RM, sport=42000); t6(O6, 80, RM, sport=42000); u6(O6, 53, RM); t6(O6, 81, RM); u6(O6, 5353, RM); u6(O6, 54, RM); i6(O6, RM)
# DNATed back out wan0 (198.51.100.1:8080 -> 198.51.100.3:80), from 198.51.100.4: its first packet and a later one
t4('198.51.100.1', 8080, RM, src='198.51.100.4', sport=43000); t4('198.51.100.1', 8080, RM, src='198.51.100.4', sport=43000, flags='A')
