#!/usr/bin/python3
"""srv.py: the server of the tcpedge labs (both families). 7001 answers a line and closes first
(its side in TIME_WAIT), 7002/7004/7006/7007 answer each line until EOF (the client closes first),
7003 reads to EOF then sends 200 KB (half-close, data the other way), 7005 answers a line and
aborts (SO_LINGER 0: a reset), 7010, 7011 and 7013 answer lines (the
tcpedge-timeouts lab's server rules drop SYNs to 7010 and data to 7011), 7012 reads to EOF and
answers 3 s later, 7008 a control port: "SIM4"/"SIM6" makes the server connect from
port 7100 to the client's 7101 (simultaneous open with the client)."""
import socket, threading, time, struct, sys
C4, C6 = '198.51.100.2', '2001:db8:a::2'
def log(*a): print('%.3f' % time.time(), *a, flush=True)
def lines(c):
    f = c.makefile('rb')
    for l in f: c.sendall(b'=' + l)
def close_first(c):
    l = c.makefile('rb').readline(); c.sendall(b'bye ' + l); time.sleep(0.05)
def halfclose(c):
    n = 0
    while True:
        d = c.recv(65536)
        if not d: break
        n += len(d)
    for i in range(50): c.sendall(b'h' * 4000); time.sleep(0.002)
    c.sendall(b'ok %d\n' % n)
def slowclose(c):   # reads to EOF, answers 3 s later (gives up after 4 s unacknowledged)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 4000)
    while c.recv(65536): pass
    time.sleep(3); c.sendall(b'late answer\n')
def abort(c):
    c.makefile('rb').readline(); c.sendall(b'abort\n'); time.sleep(0.1)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
def simopen(fam):
    s = socket.socket(fam); s.setsockopt(1, 2, 1)
    s.bind(('10.9.0.2' if fam == socket.AF_INET else '2001:db8:b::2', 7100))
    try:
        s.connect((C4 if fam == socket.AF_INET else C6, 7101)); log('sim connected', fam)
        s.sendall(b'from server\n'); log('sim got', s.recv(100)); s.shutdown(socket.SHUT_WR)
        while s.recv(100): pass
    except Exception as e: log('sim', e)
    s.close()
def ctl(c):
    cmd = c.recv(10).strip()
    c.sendall(b'go\n')
    threading.Thread(target=simopen, args=(socket.AF_INET if cmd == b'SIM4' else socket.AF_INET6,), daemon=True).start()
H = {7001: close_first, 7002: lines, 7003: halfclose, 7004: lines, 7005: abort, 7006: lines, 7007: lines, 7008: ctl, 7010: lines, 7011: lines, 7012: slowclose, 7013: lines}
def wrap(h, c):
    try: h(c)
    except Exception as e: log(h.__name__, e)
    c.close()
def serve(port, h):
    s = socket.socket(socket.AF_INET6); s.setsockopt(1, 2, 1); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16); s.bind(('', port)); s.listen(50)
    while True:
        c, a = s.accept(); threading.Thread(target=wrap, args=(h, c), daemon=True).start()
for p, h in H.items(): threading.Thread(target=serve, args=(p, h), daemon=True).start()
log('serving'); time.sleep(3600)
