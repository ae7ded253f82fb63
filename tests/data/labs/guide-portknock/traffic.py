# Port knocking clients (namespace hg-c; FAM 4 or 6 from argv): single-SYN knocks (a connect
# abandoned after 0.15 s: one SYN, no retransmission), in order, out of order, interrupted; then the
# WEB list (--mask /24 or /64, --rcheck --seconds 3 --reap) from two subnets, timed so that the
# reap removes the oldest entry of the list, another subnet's.
import socket, sys, time, select
fam = int(sys.argv[1]); AF = 2 if fam == 4 else 10
def a(net, n): return ('10.9.%d.%d' if fam == 4 else '2001:db8:%x::%d') % ((net, n) if fam == 4 else (9 + net, n))
SRV = a(0, 1)
T0 = time.time()
def log(*x): print('%.3f' % (time.time() - T0), fam, *x, flush=True)
def knock(src, port):
    s = socket.socket(AF, 1); s.setblocking(False); s.bind((src, 0))
    try: s.connect((SRV, port))
    except BlockingIOError: pass
    r = select.select([], [s], [], 0.15)[1]
    e = s.getsockopt(1, 4) if r else None
    s.close(); log('knock', src, port, 'answered' if r else 'silent', e); time.sleep(0.1)
def tcp(src, port, send=b'hi\n'):
    s = socket.socket(AF, 1); s.settimeout(0.8); s.bind((src, 0))
    try:
        s.connect((SRV, port)); s.sendall(send); r = s.recv(200); log('tcp', src, port, 'ok', r[:20])
    except Exception as e: log('tcp', src, port, 'ERR', e)
    s.close(); time.sleep(0.1)
def http(src):
    tcp(src, 80, b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
def udp(src, port):
    s = socket.socket(AF, 2); s.settimeout(0.3); s.bind((src, 0)); s.sendto(b'knock', (SRV, port))
    try: log('udp', src, port, s.recvfrom(100))
    except Exception as e: log('udp', src, port, 'ERR', e)
    s.close()
def at(t):
    d = T0 + t - time.time()
    if d > 0: time.sleep(d)
# the right sequence, then ssh twice
for p in (8881, 7777, 9991): knock(a(0, 2), p)
tcp(a(0, 2), 22); tcp(a(0, 2), 22)
# out of order: 7777 first, then 8881 9991 22
for p in (7777, 8881, 9991): knock(a(0, 3), p)
tcp(a(0, 3), 22)
# interrupted: 8881 7777, a probe of 5555 (removes SSH1), 9991, 22
for p in (8881, 7777, 5555, 9991): knock(a(0, 4), p)
tcp(a(0, 4), 22)
# a port with no knock at all, and a UDP port
tcp(a(0, 3), 23); udp(a(0, 3), 161)
# the WEB list: two subnets' entries, reaped
at(5.0); udp(a(1, 5), 4444)
at(5.5); udp(a(0, 5), 4444)
at(6.0); http(a(0, 6))
at(8.3); http(a(0, 7))     # 10.9.0/24 fresh (2.8 s); the reap removes 10.9.1/24 (3.3 s old)
at(8.6); http(a(1, 6))     # 10.9.1/24 gone: admin-prohibited, not host-prohibited
at(9.0); http(a(0, 8))     # 10.9.0/24 3.5 s old: not within 3 s, and reaped (the LRU head)
at(9.3); http(a(0, 2))     # gone: admin-prohibited
# ssh by the first client still open (its SSH2 entry is 9 s old, within 30 s)
tcp(a(0, 2), 22)
time.sleep(0.3)
