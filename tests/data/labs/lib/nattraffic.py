# Traffic roles of the NAT-router hunt labs (their traffic.py import this): `csrv` the WAN
# host's UDP echo, then each lab's own steps; ROLE is sys.argv[1].
import socket, struct, time, sys, os, threading
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from craft import csum, mac
role = sys.argv[1]
def log(*a): print(role, *a, flush=True)
if role == 'csrv':   # WAN host: UDP echo on 5353 (v4 and v6)
    def udpecho(fam):
        s = socket.socket(fam, 2)
        if fam == 10: s.setsockopt(41, 26, 1)
        s.bind(('', 5353))
        while True:
            d, a = s.recvfrom(65535); s.sendto(d, a)
    for fam in (2, 10): threading.Thread(target=udpecho, args=(fam,), daemon=True).start()
    threading.Event().wait()
def udp(dst, port, n=10, sport=0):
    s = socket.socket(10 if ':' in dst else 2, 2); s.settimeout(0.4)
    if sport: s.bind(('', sport))
    try: s.sendto(b'x' * n, (dst, port)); d = s.recvfrom(65535); return (len(d[0]), d[1])
    except Exception as e: return repr(e)
    finally: s.close()
P = None
def tx(ifc, dmac, f):
    global P
    if P is None: P = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); P.bind((ifc, 0))
    smac = mac(open(f'/sys/class/net/{ifc}/address').read().strip())
    P.send(mac(dmac) + smac + b'\x08\x00' + f); time.sleep(0.05)
def iph(src, dst, proto, pay, ttl=64, ident=0x3333, frag=0):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(pay), ident, frag, ttl, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + pay
def udph(src, dst, sp, dp, pay):
    u = struct.pack('!HHHH', sp, dp, 8 + len(pay), 0) + pay
    c = csum(socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 17, len(u)) + u) or 0xffff
    return u[:6] + struct.pack('!H', c) + u[8:]
def icmph(t, c, rest, pay):
    u = struct.pack('!BBH', t, c, 0) + rest + pay; return u[:2] + struct.pack('!H', csum(u)) + u[4:]
RMAC = '02:00:00:00:0a:01'; LMAC = '02:00:00:00:0b:01'
W, WC, L2 = '198.51.100.1', '198.51.100.2', '10.9.0.2'
