#!/usr/bin/python3
"""probes.py [4|6|46]: the client of the tcpedge-timeouts lab (server: ../tcpedge-router/srv.py),
against a router whose TCP conntrack timeouts are shortened by sysctl (record.sh): SYNs to a port
the server drops (retransmitted at 1, 3, 7 s past SYN_SENT's 2 s), data the server drops
(retransmitted past the 1 s max_retrans timeout), the same port again past TIME_WAIT's 2 s and
past CLOSE's 1 s, an answer 3 s after the client's FIN (past FIN_WAIT/CLOSE_WAIT), and a
handshake whose last ACK our own OUTPUT drops (the server's SYN/ACK retransmitted past
SYN_RECV's 2 s, data 3.5 s later)."""
import socket, struct, sys, time
def log(*a): print('%.3f' % time.time(), *a, flush=True)
UT = socket.TCP_USER_TIMEOUT
def conn(fam, S, port, bind=None, opts=(), timeout=5):
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for o in opts: s.setsockopt(*o)
    if bind: s.bind(bind)
    s.settimeout(timeout); s.connect((S, port)); return s
def readall(s):
    d = b''
    while True:
        x = s.recv(65536)
        if not x: return d
        d += x
def run(v):
    fam = socket.AF_INET if v == 4 else socket.AF_INET6
    C, S = ('198.51.100.2', '10.9.0.2') if v == 4 else ('2001:db8:a::2', '2001:db8:b::2')
    b = 41000 + v * 100
    try: conn(fam, S, 7010, timeout=8)                                   # SYN_SENT 2 s
    except Exception as e: log('syn blackhole', e)
    try:                                                                 # max_retrans 1 s
        s = conn(fam, S, 7011, opts=[(socket.IPPROTO_TCP, UT, 7000)], timeout=9); s.sendall(b'x\n'); log('data blackhole', s.recv(100))
    except Exception as e: log('data blackhole', e)
    s.close()
    try:                                                                 # TIME_WAIT 2 s
        s = conn(fam, S, 7002, (C, b + 11)); s.sendall(b'a\n'); s.recv(100); s.shutdown(socket.SHUT_WR); readall(s); s.close()
        time.sleep(2.6)
        s = conn(fam, S, 7002, (C, b + 11)); s.sendall(b'b\n'); log('after time_wait', s.recv(100)); s.shutdown(socket.SHUT_WR); readall(s); s.close()
    except Exception as e: log('time_wait', e)
    try:                                                                 # CLOSE 1 s
        s = conn(fam, S, 7002, (C, b + 12)); s.sendall(b'a\n'); s.recv(100)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); s.close(); time.sleep(1.6)
        s = conn(fam, S, 7002, (C, b + 12)); s.sendall(b'b\n'); log('after close', s.recv(100)); s.shutdown(socket.SHUT_WR); readall(s); s.close()
    except Exception as e: log('close', e)
    try:                                                                 # FIN_WAIT / CLOSE_WAIT 2 s
        s = conn(fam, S, 7012, timeout=8); s.sendall(b'q\n'); s.shutdown(socket.SHUT_WR); log('slow close', readall(s))
    except Exception as e: log('slow close', e)
    s.close()
    try:                                                                 # SYN_RECV 2 s
        s = conn(fam, S, 7013, opts=[(socket.IPPROTO_TCP, UT, 2500)]); time.sleep(3.5); s.sendall(b'late\n'); log('syn_recv', s.recv(100))
    except Exception as e: log('syn_recv', e)
    s.close(); time.sleep(1)
for v in sys.argv[1] if len(sys.argv) > 1 else '46': run(int(v))
