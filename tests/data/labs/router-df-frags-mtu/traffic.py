import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from nattraffic import *
def frags(src, dst, l4, cuts, ident, df):
    out = []
    for (off, ln), d in zip(cuts, df):
        mf = 0x2000 if off + ln < len(l4) else 0
        out.append(iph(src, dst, 17, l4[off:off + ln], ident=ident, frag=(0x4000 if d else 0) | mf | (off // 8)))
    return out
if role == 's':
    # wan0 (and C's c0) MTU 1400, lan0 1500. Datagram 1 (2028 bytes): two fragments (1500 + 548), both with DF:
    # ip_frag_reasm sets DF and frag_max_size 1500 > 1400 -> ip_forward: ICMP frag needed (mtu 1400), never FORWARD.
    pl = udph(L2, WC, 5401, 5353, b'y' * 2000)
    for f in frags(L2, WC, pl, [(0, 1480), (1480, 528)], 0x5151, (True, True)): tx('s0', LMAC, f)
    time.sleep(0.3)
    # datagram 2: the same without DF: forwarded, refragmented by wan0's MTU, echoed back
    pl = udph(L2, WC, 5402, 5353, b'z' * 2000)
    for f in frags(L2, WC, pl, [(0, 1480), (1480, 528)], 0x5152, (False, False)): tx('s0', LMAC, f)
    time.sleep(0.3)
    # datagram 3: only the small last fragment with DF (max_df_size 548 < max_size 1500): DF cleared, forwarded
    pl = udph(L2, WC, 5403, 5353, b'w' * 2000)
    for f in frags(L2, WC, pl, [(0, 1480), (1480, 528)], 0x5153, (False, True)): tx('s0', LMAC, f)
    time.sleep(0.3)
