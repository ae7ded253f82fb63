# raw frames from the client's c0 at the router (wan0 02:00:00:00:0a:01), each to a destination the router sends back
# out of wan0 (ip6_forward: a redirect before FORWARD, rate-limited by destination then by source, 1 s, burst 6).
import os, sys, time
os.environ.setdefault('RNS', 'rdr')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from rprobe import *
def A(n): return '2001:db8:a::%d' % n
def burst(): os.environ['PROBE_GAP'] = '0.002'
def pause(s=1.3): time.sleep(s)
# 1. eight datagrams a::2 -> a::3 at once: six redirects (the destination's burst), then none; a REJECTed one right
#    after: no redirect, and its port unreachable to a::2 is refused (a::2's bucket spent by the redirects)
burst()
for i in range(8): u6(A(3), 53, RM)
u6(A(3), 54, RM)
pause()
# 2. a::2 -> a::4 (fresh destination), three at once: one redirect (a::2's bucket gathered 1.3 s), then none
burst()
for i in range(3): u6(A(4), 53, RM)
pause(2.5)
# 3. a::6 -> 2001:db8:c::1, routed via fe80::ff:fe00:a02 on wan0: a redirect naming that gateway (echo, TCP)
i6('2001:db8:c::1', RM, src=A(6)); t6('2001:db8:c::1', 80, RM, src=A(6))
# 4. a::6 -> 2001:db8:d::1, via the global 2001:db8:a::3: no redirect (target not link-local)
u6('2001:db8:d::1', 53, RM, src=A(6))
# 5. from off-link 2001:db8:e::9 to a::7: no redirect (the route back to the source has a gateway), forwarded
u6(A(7), 53, RM, src='2001:db8:e::9')
# 6. eight a::5 -> a::8 at once: six redirects filter OUTPUT drops (never in the capture), then none; two a::5 -> a::7:
#    none (a::5's bucket spent: limited by source)
for i in range(8): u6(A(8), 53, RM, src=A(5))
u6(A(7), 53, RM, src=A(5)); u6(A(7), 53, RM, src=A(5))
# 7. a::9 -> a::8: none (a::8's bucket spent), then after a second one redirect
t6(A(8), 80, RM, src=A(9)); t6(A(8), 80, RM, src=A(9))
pause(1.1)
t6(A(8), 80, RM, src=A(9))
pause(0.5)
