# The clients (namespace hg-c, a0: .2 ... .8 in 10.9.0.0/24 and 2001:db8:9::/64), one role per
# source address; FAM=4 or 6 from argv. Real sockets except the scanner's raw-socket probes.
import socket, struct, sys, time, threading, subprocess, random
sys.path.insert(0, '../lib')
from craft import l4
fam = int(sys.argv[1]); AF = 2 if fam == 4 else 10
def a(n): return '10.9.0.%d' % n if fam == 4 else '2001:db8:9::%d' % n
SRV = a(1)
def log(*x): print('%.3f' % time.time(), fam, *x, flush=True)
def tcp(src, port, send=b'hi\n', ttl=None, timeout=2.5, hold=0):
    s = socket.socket(AF, 1); s.settimeout(timeout); s.bind((src, 0))
    if ttl: s.setsockopt(0 if fam == 4 else 41, 2 if fam == 4 else 16, ttl)
    try:
        s.connect((SRV, port)); s.sendall(send); r = s.recv(200)
        if hold: time.sleep(hold)
        log('tcp', src, port, 'ok', r[:30]); return s
    except Exception as e:
        log('tcp', src, port, 'ERR', e); s.close(); return None
def http_keepalive(src, paths, hold=0):
    s = socket.socket(AF, 1); s.settimeout(2); s.bind((src, 0))
    try:
        s.connect((SRV, 80))
        for p in paths:
            s.sendall(b'GET /' + p.encode() + b' HTTP/1.1\r\nHost: x\r\n\r\n'); r = s.recv(500); log('http', src, p, r[:15])
        return s
    except Exception as e:
        log('http', src, 'ERR', e); s.close(); return None
def udp(src, port, n=1, sport=0, gap=0.0, wait=0.3, fresh=False):
    s = socket.socket(AF, 2); s.settimeout(wait); s.bind((src, sport)); got = 0; olds = []
    for i in range(n):
        if fresh and i:
            olds.append(s); s = socket.socket(AF, 2); s.settimeout(wait); s.bind((src, 0))
        s.sendto(struct.pack('!H', i) + b'\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01', (SRV, port))
        if gap: time.sleep(gap)
    for x in olds + [s]:
        try:
            while True: x.recvfrom(600); got += 1
        except Exception: pass
        x.close()
    log('udp', src, port, sport, 'sent', n, 'answers', got)
def raw_tcp(src, port, flags, sport, ttl=64):
    s = socket.socket(AF, 3, 6)
    if fam == 4: s.setsockopt(0, 2, ttl)
    else: s.setsockopt(41, 16, ttl)
    sa, da = socket.inet_pton(AF, src), socket.inet_pton(AF, SRV)
    seg = l4(6, sa, da, fam, sport=sport, dport=port, flags=flags, seq=random.randrange(1 << 31))
    s.bind((src, 0)); s.sendto(seg, (SRV, 0)); s.close(); time.sleep(0.05)
def raw_icmp(src, typ, ttl):
    p = 1 if fam == 4 else 58
    s = socket.socket(AF, 3, p)
    if fam == 4: s.setsockopt(0, 2, ttl)
    else: s.setsockopt(41, 16, ttl)
    sa, da = socket.inet_pton(AF, src), socket.inet_pton(AF, SRV)
    m = l4(p, sa, da, fam, sport=0x77, dport=1, itype=typ, pay=b'\0' * 12)
    s.bind((src, 0)); s.sendto(m, (SRV, 0)); s.close(); time.sleep(0.05)
ADMIN, BRUTE, WEB, DNS, PING, SCAN = a(2), a(3), a(4), a(5), a(6), a(7)
# 1. the admin: ssh sessions (the mac+iprange rule), http keep-alive, dns, ping
for i in range(3):
    s = tcp(ADMIN, 22); s and s.close()
s = http_keepalive(ADMIN, ['a', 'b', 'c']); s and s.close()
udp(ADMIN, 53, n=3, gap=0.05)
subprocess.run(['ping', '-%d' % fam, '-c', '3', '-i', '0.2', '-I', ADMIN, SRV], capture_output=True)
# 2. the brute-forcer: ssh connections one after another; the 4th NEW in 60 s is dropped (its SYN
# retransmitted inside the window); then two with another TTL (--rttl: not the recorded one)
for i in range(6):
    s = tcp(BRUTE, 22, timeout=1.5); s and s.close()
for i in range(2):
    s = tcp(BRUTE, 22, ttl=50, timeout=1.5); s and s.close()
# 3. the web client: 6 concurrent keep-alive connections (connlimit above 3: 4th to 6th reset), closed,
# then 3 more (the closed ones no longer counted)
held = [http_keepalive(WEB, ['p%d' % i]) for i in range(6)]
for s in held:
    s and s.close()
time.sleep(0.3)
held = [http_keepalive(WEB, ['q%d' % i, 'r%d' % i]) for i in range(3)]
held.append(tcp(WEB, 443, send=b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
for s in held:
    s and s.close()
# 4. the dns client: a burst of 40 queries (hashlimit above 10/s, burst 10), queries from ports 53 and 500
udp(DNS, 53, n=40, gap=0.005, fresh=True)
udp(DNS, 53, n=1, sport=53); udp(DNS, 53, n=1, sport=500)
time.sleep(1.2)
udp(DNS, 53, n=5, gap=0.05, fresh=True)
# 5. a fast ping (one connection: only its first request is NEW), a flood of one-request pings (limit 1/s burst 4), a big ping (length), ICMP with TTL 1 and 64
subprocess.run(['ping', '-%d' % fam, '-c', '40', '-i', '0.005', '-I', PING, SRV], capture_output=True)
for i in range(10):  # ten pings of one request each, 50 ms apart: each a NEW connection
    subprocess.Popen(['ping', '-%d' % fam, '-c', '1', '-W', '1', '-I', PING, SRV], stdout=subprocess.DEVNULL); time.sleep(0.05)
time.sleep(1)
subprocess.run(['ping', '-%d' % fam, '-c', '1', '-s', '400', '-I', PING, SRV], capture_output=True)
for ttl in (1, 64):
    raw_icmp(PING, 13 if fam == 4 else 139, ttl)
# 6. the scanner: SYN, FIN, NULL, XMAS, SYN+FIN, SYN+RST, ACK, UDP probes
sp = 40000
for port in (21, 23, 25, 80, 8080):
    raw_tcp(SCAN, port, 'S', sp); sp += 1
for flags in ('F', '', 'FPU', 'SF', 'SR', 'A', 'FPUSRA'):
    for port in (80, 81):
        raw_tcp(SCAN, port, flags, sp); sp += 1
for port in (161, 137, 123):
    udp(SCAN, port, wait=0.1)
# 7. broadcast and multicast
if fam == 4:
    b = socket.socket(2, 2); b.setsockopt(1, 6, 1); b.bind((a(8), 0)); b.sendto(b'bcast', ('10.9.0.255', 9999)); b.close()
    m = socket.socket(2, 2); m.setsockopt(0, 32, socket.inet_aton(a(8))); m.sendto(b'mcast', ('224.0.0.251', 5353)); m.close()
else:
    m = socket.socket(10, 2); m.setsockopt(41, 17, socket.if_nametoindex('a0')); m.sendto(b'mcast', ('ff02::fb', 5353)); m.close()
time.sleep(0.5)
