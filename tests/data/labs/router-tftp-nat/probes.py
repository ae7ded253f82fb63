# TFTP both ways through the router's NAT: a LAN client (fas) behind MASQUERADE reads and writes on the WAN host's
# server (fac), and a WAN client (fac) reads and writes on the router's port 69, DNATed to the LAN server (fas);
# IPv4 and IPv6 (NAT66). Runs in fac (rlab.sh).
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from ftpnat import run, inns
ns = os.environ['RLAB']; C, S = ns + 'c', ns + 's'
srv = [run(C, 'tftpd', '198.51.100.2'), run(C, 'tftpd', '2001:db8:a::2'), run(S, 'tftpd', '10.9.0.2'), run(S, 'tftpd', '2001:db8:b::2')]
time.sleep(0.5)
for a, b, n in (('198.51.100.2', '198.51.100.1', S), ('2001:db8:a::2', '2001:db8:a::1', S)):
    inns(S, 'tftp', a, 'get', 'f1'); inns(S, 'tftp', a, 'put', 'f2')
    inns(C, 'tftp', b, 'get', 'f3'); inns(C, 'tftp', b, 'put', 'f4')
time.sleep(0.5)
for p in srv: p.kill()
