# LAN client (fas, 10.9.0.2 / 2001:db8:b::2) behind the router's MASQUERADE to an FTP server on the WAN host
# (fac, 198.51.100.2 / 2001:db8:a::2): one session per mode (IPv4 PASV, EPSV, PORT, EPRT; IPv6 EPSV, EPRT), then a
# SYN to a port no one announced (NEW: FORWARD policy DROP). Runs in fac (rlab.sh).
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from ftpnat import run, inns
ns = os.environ['RLAB']; C, S = ns + 'c', ns + 's'
srv = [run(C, 'ftpd', '198.51.100.2'), run(C, 'ftpd', '2001:db8:a::2')]
time.sleep(0.5)
inns(S, 'ftp', '198.51.100.2', 'pasv', 'epsv', 'port', 'eprt')
inns(S, 'stray', '198.51.100.2', '40000')
inns(S, 'ftp', '2001:db8:a::2', 'epsv', 'eprt')
inns(S, 'stray', '2001:db8:a::2', '40000')
time.sleep(0.5)
for p in srv: p.kill()
