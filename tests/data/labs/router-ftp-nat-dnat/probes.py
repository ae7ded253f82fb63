# WAN client (fac, 198.51.100.2 / 2001:db8:a::2) to the router's port 21, DNATed to the LAN FTP server (fas,
# 10.9.0.2 / 2001:db8:b::2): one session per mode (IPv4 PASV, EPSV, PORT, EPRT; IPv6 EPSV, EPRT), then a SYN to a
# port of the router no one announced (INPUT policy DROP). Runs in fac (rlab.sh).
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from ftpnat import run, inns
ns = os.environ['RLAB']; C, S = ns + 'c', ns + 's'
srv = [run(S, 'ftpd', '10.9.0.2'), run(S, 'ftpd', '2001:db8:b::2')]
time.sleep(0.5)
inns(C, 'ftp', '198.51.100.1', 'pasv', 'epsv', 'port', 'eprt')
inns(C, 'stray', '198.51.100.1', '40000')
inns(C, 'ftp', '2001:db8:a::1', 'epsv', 'eprt')
inns(C, 'stray', '2001:db8:a::1', '40000')
time.sleep(0.5)
for p in srv: p.kill()
