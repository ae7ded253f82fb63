#!/usr/bin/python3
"""probes.py [4|6|46]: the LAN client of the tcpedge-nat lab, two addresses (A, B), through the
router's MASQUERADE to ../tcpedge-router/srv.py outside: the same 4-tuple again while the
router's entry is in TIME_WAIT (the server closed first; then the client, tcp_tw_reuse); port
7010 masqueraded to the one port 50000: A's connection, then B's (its port outside the range:
the kernel evicts A's closing entry if B's ISN is past A's sequence, nf_nat_used_tuple_harder,
else the tuple clashes at confirmation and the SYN is dropped), then raw SYNs from B with an ISN
behind and past the last connection's; port 7011 SNATed to 198.51.100.1:50010 (2001:db8:a::1)
from source port 50010 (kept: in the one-port range): A, then B while A's entry is in TIME_WAIT
(a clash at confirmation: dropped), then A again."""
import socket, struct, sys, time, threading, os
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../lib'))
import craft
RMAC = '02:00:00:00:0b:01'
def log(*a): print('%.3f' % time.time(), *a, flush=True)
class Sniff:
    """The sequence numbers a port of ours sent, seen on s0 (AF_PACKET)."""
    def __init__(self, port):
        self.port, self.ends = port, []
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); self.s.bind(('s0', 0))
        self.s.settimeout(0.2); self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True); self.t.start()
    def run(self):
        while not self.stop:
            try: f = self.s.recv(70000)
            except socket.timeout: continue
            et = struct.unpack('!H', f[12:14])[0]; ip = f[14:]
            if et == 0x800 and ip[9] == 6: hl = (ip[0] & 15) * 4; plen = struct.unpack('!H', ip[2:4])[0] - hl
            elif et == 0x86dd and ip[6] == 6: hl = 40; plen = struct.unpack('!H', ip[4:6])[0]
            else: continue
            t = ip[hl:]; sp, dp, seq = struct.unpack('!HHI', t[:8]); fl = t[13]; doff = (t[12] >> 4) * 4
            if sp == self.port: self.ends.append((seq + plen - doff + (1 if fl & 3 else 0)) & 0xffffffff)
    def end(self):
        self.stop = True; self.t.join(); e0 = self.ends[0]
        return max(self.ends, key=lambda x: (x - e0) & 0xffffffff)
def conn(fam, S, port, bind=None, timeout=5):
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if bind: s.bind(bind)
    s.settimeout(timeout); s.connect((S, port)); return s
def readall(s):
    d = b''
    while True:
        x = s.recv(65536)
        if not x: return d
        d += x
def session(fam, S, port, bind, first='client', timeout=5):
    try:
        s = conn(fam, S, port, bind, timeout); s.sendall(b'x\n'); r = s.recv(100)
        if first == 'client': s.shutdown(socket.SHUT_WR)
        readall(s); s.close(); log(port, bind, 'ok', r)
    except Exception as e: log(port, bind, e)
def run(v):
    fam = socket.AF_INET if v == 4 else socket.AF_INET6
    A, B, S = ('10.9.0.2', '10.9.0.3', '198.51.100.2') if v == 4 else ('2001:db8:b::2', '2001:db8:b::3', '2001:db8:a::2')
    b = 40000 + v * 100
    for i in range(3): session(fam, S, 7001, (A, b + 1), first='server'); time.sleep(0.2)
    for i in range(2): session(fam, S, 7002, (A, b + 2)); time.sleep(1.3)
    # one port for 7010: A's connection, then B's from another port
    session(fam, S, 7010, (A, b + 10))
    time.sleep(0.3)
    session(fam, S, 7010, (B, b + 10), timeout=3.5)
    time.sleep(0.3)
    sn = Sniff(b + 11); session(fam, S, 7010, (A, b + 11)); time.sleep(0.3); end = sn.end()
    pk = (lambda **kw: craft.pkt4(B, S, 6, **kw)) if v == 4 else (lambda **kw: craft.pkt6(B, S, 6, **kw))
    craft.send('s0', RMAC, [pk(sport=b + 12, dport=7010, flags='S', seq=(end - 1000000) & 0xffffffff, win=64800)]); time.sleep(0.5)
    craft.send('s0', RMAC, [pk(sport=b + 13, dport=7010, flags='S', seq=(end + 1000000) & 0xffffffff, win=64800)]); time.sleep(0.5)
    # 7011 SNATed to port 50010: A from 50010, B from 50010 (kept: clash), A again
    session(fam, S, 7011, (A, 50010))
    time.sleep(0.3)
    session(fam, S, 7011, (B, 50010), timeout=3.5)
    time.sleep(0.3)
    session(fam, S, 7011, (A, 50010))
    time.sleep(1)
for v in sys.argv[1] if len(sys.argv) > 1 else '46': run(int(v))
