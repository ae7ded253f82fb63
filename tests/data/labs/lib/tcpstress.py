#!/usr/bin/python3
"""tcpstress.py srv | tcpstress.py cli HOST: TCP the trackers see less of on clean links. Server ports:
9100 a slow reader (small receive buffer, reads after 2 s: zero window, window probes), 9101
reads until EOF and answers (keepalive sessions), 9102 answers each line (the peer that
restarts), 9103 answers with a burst and aborts, udp 9104 answers each datagram twice. The client (run in its own namespace, with iptables) does each in turn, then many
short connections, aborts and UDP (SCALE scales the amounts)."""
import socket, threading, sys, time, struct, subprocess, os
K = float(os.environ.get('SCALE', '1'))   # SCALE<1: fewer and smaller (a recorded lab)
ZW = int(600000 * K)
def log(*a): print('%.3f' % time.time(), *a, flush=True)
def serve(port, h, rcvbuf=None):   # both families
    s = socket.socket(socket.AF_INET6); s.setsockopt(1, 2, 1); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    if rcvbuf: s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(('', port)); s.listen(50)
    while True:
        c, a = s.accept(); threading.Thread(target=h, args=(c,), daemon=True).start()
def slow(c):
    try:
        time.sleep(2); n = 0
        while True:
            d = c.recv(4096)
            if not d: break
            n += len(d); time.sleep(0.001)
        c.sendall(b'ok %d\n' % n)
    except Exception as e: log('slow', e)
    c.close()
def sink(c):
    try:
        n = 0
        while True:
            d = c.recv(65536)
            if not d: break
            n += len(d)
        c.sendall(b'ok %d\n' % n)
    except Exception as e: log('sink', e)
    c.close()
def burst(c):   # answers 200 KB at once and aborts (RST racing its own data and the client's)
    try:
        c.recv(100); c.send(b'r' * int(200000 * K))
    except Exception as e: log('burst', e)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); c.close()
def udpecho():
    s = socket.socket(socket.AF_INET6, 2); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(('', 9104))
    while True:
        d, a = s.recvfrom(2000); s.sendto(d, a); s.sendto(d, a)
def lines(c):
    try:
        f = c.makefile('rb')
        for l in f: c.sendall(b'=' + l)
    except Exception as e: log('lines', e)
    c.close()
def recvall(s):
    r = b''
    while True:
        d = s.recv(100)
        if not d: return r
        r += d
if sys.argv[1] == 'srv':
    threading.Thread(target=udpecho, daemon=True).start()
    for p, h, b in ((9100, slow, 4096), (9101, sink, None), (9102, lines, None), (9103, burst, None)):
        threading.Thread(target=serve, args=(p, h, b), daemon=True).start()
    threading.Event().wait()
T = sys.argv[2]; FAM = socket.AF_INET6 if ':' in T else socket.AF_INET
def conn(port, sport=None, to=5):
    s = socket.socket(FAM); s.setsockopt(1, 2, 1); s.settimeout(to)
    if sport: s.bind(('', sport))
    s.connect((T, port)); return s
def zerowin():
    try:
        s = conn(9100, to=20); s.sendall(b'z' * ZW); s.shutdown(socket.SHUT_WR); log('zerowin', recvall(s)); s.close()
    except Exception as e: log('zerowin err', e)
def keepalive():
    try:
        s = conn(9101, to=20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        s.sendall(b'k' * 100); time.sleep(4.5); s.sendall(b'k' * 100); s.shutdown(socket.SHUT_WR); log('keepalive', recvall(s)); s.close()
    except Exception as e: log('keepalive err', e)
def restart():
    try:
        s = conn(9102, sport=41000); s.sendall(b'a\n'); log('restart 1', s.recv(100))
        subprocess.run(('ip6tables' if FAM == socket.AF_INET6 else 'iptables') + ' -I OUTPUT -p tcp --sport 41000 --tcp-flags RST RST -j DROP', shell=True)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); s.close()   # the client "crashes": its RST never leaves
        subprocess.run(('ip6tables' if FAM == socket.AF_INET6 else 'iptables') + ' -D OUTPUT -p tcp --sport 41000 --tcp-flags RST RST -j DROP', shell=True)
        time.sleep(0.2)
        s = conn(9102, sport=41000, to=8); s.sendall(b'b\n'); log('restart 2', s.recv(100)); s.shutdown(socket.SHUT_WR); recvall(s); s.close()
    except Exception as e: log('restart err', e)
def short(n):
    ok = 0
    for i in range(n):
        try:
            s = conn(9102, to=2); s.sendall(b'x\n'); s.recv(100); s.close(); ok += 1
        except Exception as e: log('short err', e)
    log('short', ok, n)
def aborts(n):   # uploads aborted mid-flight (RST past the peer's ACK), and 9103's bursts
    for i in range(n):
        try:
            s = conn(9101 if i % 2 else 9103, to=2); s.sendall(b'u' * int(30000 * K * (i % 5 + 1)))
            if i % 3 == 0: s.recv(5000)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); s.close()
        except Exception as e: log('abort err', e)
    log('aborts', n)
def udp(n):
    u = socket.socket(FAM, 2); u.settimeout(0.05); got = 0
    for i in range(n):
        u.sendto(b'q%d' % i * 20, (T, 9104))
        try:
            while True: u.recv(2000); got += 1
        except Exception: pass
    log('udp', n, got)
zerowin(); keepalive(); restart(); short(int(30 * K)); aborts(int(40 * K)); udp(int(100 * K))
