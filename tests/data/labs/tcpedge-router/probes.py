#!/usr/bin/python3
"""probes.py [4|6|46]: the client of the tcpedge labs (see srv.py), one scenario after the other
for each family: the same 4-tuple again while the server's side is in TIME_WAIT (and a raw SYN
reusing it with an ISN far below the old window), again after the client's own TIME_WAIT
(tcp_tw_reuse), a half-close with data still flowing back, keepalives, a server's reset then the
same port again (and a client's reset then the same port), a refused port twice, a connection
idle past the router's ESTABLISHED timeout, crafted resets and a SYN inside a live connection
(in the window but not at its edge: a challenge ACK; behind the acknowledged data: invalid; a SYN:
ignored, challenge ACK; data far over the window; an ACK far under it), and a simultaneous open
with the server (its SYN dropped by the client's own INPUT)."""
import socket, struct, sys, time, threading, os
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../lib'))
import craft
RMAC = '02:00:00:00:0a:01'
def log(*a): print('%.3f' % time.time(), *a, flush=True)

class Sniff:
    """The TCP segments of one client port seen on c0 (AF_PACKET), for the crafted frames."""
    def __init__(self, port):
        self.port, self.segs = port, []
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); self.s.bind(('c0', 0))
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
            t = ip[hl:]; sp, dp, seq, ack = struct.unpack('!HHII', t[:12]); fl = t[13]; doff = (t[12] >> 4) * 4
            ln = plen - doff + (1 if fl & 3 else 0)
            if sp == self.port: self.segs.append(('c', seq, ack, ln, fl))
            elif dp == self.port: self.segs.append(('s', seq, ack, ln, fl))
    def nxt(self, who):
        return max(((s[1] + s[3]) & 0xffffffff for s in self.segs if s[0] == who), key=lambda x: (x - self.segs[0][1]) & 0xffffffff)
    def close(self): self.stop = True; self.t.join()

def conn(fam, S, port, bind=None, opts=()):
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for o in opts: s.setsockopt(*o)
    if bind: s.bind(bind)
    s.settimeout(5); s.connect((S, port)); return s
def readall(s):
    d = b''
    while True:
        x = s.recv(65536)
        if not x: return d
        d += x

def run(v):
    fam = socket.AF_INET if v == 4 else socket.AF_INET6
    C, S = ('198.51.100.2', '10.9.0.2') if v == 4 else ('2001:db8:a::2', '2001:db8:b::2')
    pk = (lambda **kw: craft.pkt4(C, S, 6, **kw)) if v == 4 else (lambda **kw: craft.pkt6(C, S, 6, **kw))
    b = 40000 + v * 100
    # 1. the server closes first (its side in TIME_WAIT); the same 4-tuple twice more at once
    for i in range(3):
        try:
            s = conn(fam, S, 7001, (C, b + 1)); s.sendall(b'tw%d\n' % i); log('tw-server', i, readall(s)); s.close()
        except Exception as e: log('tw-server', i, e)
        time.sleep(0.2)
    # ... and a raw SYN on it with an ISN far below the old window (the server's TIME_WAIT answers)
    sn = Sniff(b + 2)
    try:
        s = conn(fam, S, 7001, (C, b + 2)); s.sendall(b'low\n'); log('tw-low', readall(s)); s.close()
    except Exception as e: log('tw-low', e)
    time.sleep(0.3); isn = min(x[1] for x in sn.segs if x[0] == 'c'); sn.close()
    craft.send('c0', RMAC, [pk(sport=b + 2, dport=7001, flags='S', seq=(isn - 5000000) & 0xffffffff, win=64800)])
    time.sleep(0.5)
    # 2. the client closes first; the same port again past a second (tcp_tw_reuse)
    for i in range(2):
        try:
            s = conn(fam, S, 7002, (C, b + 3)); s.sendall(b'cw%d\n' % i); log('tw-client', s.recv(100)); s.shutdown(socket.SHUT_WR); readall(s); s.close()
        except Exception as e: log('tw-client', i, e)
        time.sleep(1.3)
    # 3. half-close: the client's FIN, then 200 KB from the server
    try:
        s = conn(fam, S, 7003); s.sendall(b'd' * 10000); s.shutdown(socket.SHUT_WR); log('halfclose', len(readall(s))); s.close()
    except Exception as e: log('halfclose', e)
    # 4. keepalives every second while idle
    try:
        s = conn(fam, S, 7004, opts=[(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1), (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1),
                                     (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)])
        s.sendall(b'ka\n'); s.recv(100); time.sleep(3.6); s.sendall(b'ka2\n'); log('keepalive', s.recv(100)); s.close()
    except Exception as e: log('keepalive', e)
    # 5. the server aborts (a reset from the reply side), the same port at once; then the client aborts, the same port again
    for i in range(2):
        try:
            s = conn(fam, S, 7005, (C, b + 5)); s.sendall(b'ab\n'); log('abort', s.recv(100)); time.sleep(0.3)
            try: log('abort read', s.recv(100))
            except Exception as e: log('abort read', e)
            s.close()
        except Exception as e: log('abort', i, e)
    try:
        s = conn(fam, S, 7002, (C, b + 6)); s.sendall(b'x\n'); s.recv(100)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); s.close()
        s = conn(fam, S, 7002, (C, b + 6)); s.sendall(b'y\n'); log('after client abort', s.recv(100)); s.shutdown(socket.SHUT_WR); readall(s); s.close()
    except Exception as e: log('client abort', e)
    # 6. a refused port, twice from the same port (a reset in SYN_SENT)
    for i in range(2):
        try: conn(fam, S, 7099, (C, b + 7))
        except Exception as e: log('refused', e)
    # 8. crafted segments inside a live connection
    sn = Sniff(b + 8)
    try:
        s = conn(fam, S, 7007, (C, b + 8)); s.sendall(b'a\n'); s.recv(100); s.sendall(b'x' * 3000 + b'\n')
        n = 0
        while n < 3002: n += len(s.recv(10000))
        time.sleep(0.3); cn, sv = sn.nxt('c'), sn.nxt('s')
        F = lambda **kw: craft.send('c0', RMAC, [pk(sport=b + 8, dport=7007, **kw)])
        F(flags='R', seq=(cn + 3000) & 0xffffffff); time.sleep(0.3)                       # in the window, not at its edge
        F(flags='R', seq=(cn - 300000) & 0xffffffff); time.sleep(0.3)                     # behind the acknowledged data
        F(flags='S', seq=(cn + 777777) & 0xffffffff); time.sleep(0.3)                     # a SYN on the live connection
        F(flags='PA', seq=(cn + 50000000) & 0xffffffff, ack=sv, pay=b'far'); time.sleep(0.3)  # data far over the window
        F(flags='A', seq=cn, ack=(sv - 10000000) & 0xffffffff); time.sleep(0.3)          # an ACK far under
        F(flags='PA', seq=(cn - 2000) & 0xffffffff, ack=sv, pay=b'o' * 100); time.sleep(0.3)  # data already acknowledged
        s.sendall(b'b\n'); log('raw live', s.recv(100)); s.shutdown(socket.SHUT_WR); readall(s); s.close()
    except Exception as e: log('raw', e)
    time.sleep(0.3); sn.close()
    # 9. simultaneous open: the server connects from 7100 to our 7101 (its SYN dropped here), we connect back
    try:
        c = conn(fam, S, 7008); c.sendall(b'SIM%d\n' % v); c.recv(10); time.sleep(0.4)
        s = conn(fam, S, 7100, (C, 7101)); log('sim', s.recv(100)); s.sendall(b'from client\n'); readall(s); s.close(); c.close()
    except Exception as e: log('sim', e)
    # 10. TCP Fast Open: the first connection gets a cookie, the second's SYN carries data
    for i in range(2):
        try:
            s = socket.socket(fam); s.settimeout(5); s.sendto(b'tfo%d\n' % i, socket.MSG_FASTOPEN, (S, 7002))
            log('tfo', i, s.recv(100)); s.shutdown(socket.SHUT_WR); readall(s); s.close()
        except Exception as e: log('tfo', i, e)
        time.sleep(0.2)
    # 11. raw SYNs from one port with a changed ISN (our kernel's resets to the SYN/ACKs dropped by our OUTPUT), then a reset
    isn = 123456789 + v
    F = lambda **kw: craft.send('c0', RMAC, [pk(sport=b + 9, dport=7002, **kw)])
    F(flags='S', seq=isn, win=64800); time.sleep(0.3)
    F(flags='S', seq=isn + 100000, win=64800); time.sleep(0.3)
    F(flags='S', seq=isn + 100000, win=64800); time.sleep(0.3)
    F(flags='R', seq=isn + 1); time.sleep(0.3)
    F(flags='R', seq=isn + 100001); time.sleep(0.3)
    # 7. idle past the router's ESTABLISHED timeout (6 s), then a line (dropped: not a SYN, NEW)
    try:
        s = conn(fam, S, 7006, opts=[(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 2500)])
        s.sendall(b'i\n'); s.recv(100); time.sleep(8); s.sendall(b'late\n'); log('idle', s.recv(100))
    except Exception as e: log('idle', e)
    s.close()

for v in sys.argv[1] if len(sys.argv) > 1 else '46': run(int(v)); time.sleep(1)
