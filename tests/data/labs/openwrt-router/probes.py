# Traffic of the openwrt-router lab (run by rlab.sh in the WAN client's namespace $RLAB"c"; the router
# is $RLAB"r", the LAN server $RLAB"s"): servers on all three (serve6.py: dual-stack TCP echo and UDP
# echo; ftpnat.py: FTP and TFTP on the WAN client), then WAN -> router (SSH open, other ports
# rejected, pings, UDP), WAN -> the port forward 8080 (DNAT to 10.9.0.2:80), WAN -> LAN directly
# (refused; IPv6 unNATed, refused; ICMPv6 forwarded; ISAKMP forwarded), LAN -> WAN (MASQUERADE:
# TCP, UDP, DNS to a closed port, ping, FTP and TFTP through the lan zone's helpers), LAN -> router,
# NAT reflection (the LAN server to the router's WAN address:8080), nmap scans from both sides and a
# SYN burst past syn_flood's limit (25/s, burst 50).
import os, sys, time, socket, subprocess
ns = os.environ['RLAB']; C, R, S = ns + 'c', ns + 'r', ns + 's'
HERE = os.path.dirname(os.path.abspath(__file__)); LIB = os.path.join(HERE, '..', 'lib')
def nsx(n, *cmd, bg=False):
    c = ['ip', 'netns', 'exec', n] + list(cmd)
    if bg:
        return subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = subprocess.run(c, capture_output=True, text=True); print(' '.join(cmd[:6]), '->', (r.stdout + r.stderr).strip()[-300:], flush=True)
def me(n, *a):  # this script's own roles in namespace n
    nsx(n, sys.executable, os.path.abspath(__file__), *a)
def tcp(src, dst, ports):
    fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
    for p in ports:
        s = socket.socket(fam); s.settimeout(0.7)
        try:
            s.bind((src, 0)); s.connect((dst, int(p))); s.sendall(b'SSH-2.0-probe\r\n')
            try: s.recv(100)
            except OSError: pass
            print(src, dst, p, 'open')
        except OSError as e: print(src, dst, p, e)
        s.close()
def udp(src, dst, ports):
    fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
    for p in ports:
        u = socket.socket(fam, socket.SOCK_DGRAM); u.settimeout(0.4); u.bind((src, 0))
        u.sendto(b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01', (dst, int(p)))
        try: print(src, dst, p, u.recvfrom(200)[0][:10])
        except OSError as e: print(src, dst, p, e)
        u.close()
if len(sys.argv) > 1 and sys.argv[1] in ('tcp', 'udp'):
    {'tcp': tcp, 'udp': udp}[sys.argv[1]](sys.argv[2], sys.argv[3], sys.argv[4:]); sys.exit()
srv = [nsx(R, sys.executable, os.path.join(LIB, 'serve6.py'), 't:22', 't:80', 'u:53', bg=True),
       nsx(S, sys.executable, os.path.join(LIB, 'serve6.py'), 't:80', 't:22', 'u:53', bg=True),
       nsx(C, sys.executable, os.path.join(LIB, 'serve6.py'), 't:7000', 'u:7001', bg=True),
       nsx(C, sys.executable, os.path.join(LIB, 'ftpnat.py'), 'ftpd', '198.51.100.2', bg=True),
       nsx(C, sys.executable, os.path.join(LIB, 'ftpnat.py'), 'tftpd', '198.51.100.2', bg=True)]
time.sleep(0.8)
c4, c6, r4, r6, l4, l6, s4, s6 = '198.51.100.2', '2001:db8:a::2', '198.51.100.1', '2001:db8:a::1', '10.9.0.1', '2001:db8:b::1', '10.9.0.2', '2001:db8:b::2'
# WAN client -> router, port forward, LAN
tcp(c4, r4, [22, 22, 80, 23, 443, 8080, 8080, 8080])
udp(c4, r4, [53, 68, 5000])
nsx(C, 'ping', '-c2', '-i0.2', '-W1', r4)
tcp(c4, s4, [80, 22])
udp(c4, s4, [500, 53])
nsx(C, 'ping', '-c2', '-i0.2', '-W1', s4)
tcp(c6, r6, [22, 80, 23])
udp(c6, r6, [53, 546])
nsx(C, 'ping', '-6', '-c2', '-i0.2', '-W1', r6)
tcp(c6, s6, [80, 22])
udp(c6, s6, [500, 53])
nsx(C, 'ping', '-6', '-c2', '-i0.2', '-W1', s6)
# LAN server -> WAN (MASQUERADE), -> router, NAT reflection
me(S, 'tcp', s4, c4, '7000', '7002', '7000')
me(S, 'udp', s4, c4, '7001', '53')
nsx(S, 'ping', '-c2', '-i0.2', '-W1', c4)
nsx(S, sys.executable, os.path.join(LIB, 'ftpnat.py'), 'ftp', c4, 'pasv', 'port')
nsx(S, sys.executable, os.path.join(LIB, 'ftpnat.py'), 'tftp', c4, 'get', 'f')
me(S, 'tcp', s4, l4, '22', '80', '23')
me(S, 'udp', s4, l4, '53', '5000')
nsx(S, 'ping', '-c2', '-i0.2', '-W1', l4)
me(S, 'tcp', s4, r4, '8080', '8080', '22')
me(S, 'tcp', s6, c6, '7000', '7002')
me(S, 'udp', s6, c6, '7001', '53')
nsx(S, 'ping', '-6', '-c2', '-i0.2', '-W1', c6)
me(S, 'tcp', s6, l6, '22', '23')
nsx(S, 'ping', '-6', '-c2', '-i0.2', '-W1', l6)
# scans: WAN -> router (a SYN burst past syn_flood's limit), WAN -> the LAN, LAN -> router
nsx(C, 'nmap', '-n', '-Pn', '-T5', '--max-retries', '0', '-sS', '-p', '1-160', r4)
nsx(C, 'nmap', '-n', '-Pn', '-T4', '-sU', '-p', '53,67,68,123,161,500', r4)
nsx(C, 'nmap', '-n', '-Pn', '-T4', '-sA', '-p', '22,80,8080', r4)
nsx(C, 'nmap', '-n', '-Pn', '-T4', '-sX', '-p', '22,80', r4)
nsx(C, 'nmap', '-n', '-Pn', '-T4', '-sS', '-p', '22,80,443', s4)
nsx(C, 'nmap', '-6', '-n', '-Pn', '-T4', '-sS', '-p', '22,80,443', r6)
nsx(C, 'nmap', '-6', '-n', '-Pn', '-T4', '-sS', '-p', '22,80,443', s6)
nsx(S, 'nmap', '-n', '-Pn', '-T4', '-sS', '-p', '22,53,80,443', l4)
nsx(S, 'nmap', '-n', '-Pn', '-T4', '-sX', '-p', '22,80', l4)
nsx(S, 'nmap', '-n', '-Pn', '-T4', '-sA', '-p', '22,80', l4)
time.sleep(0.5)
for p in srv: p.kill()
