import socket, sys, time, struct
T=sys.argv[1]; role=sys.argv[2]
def log(*a): print('%.3f'%time.time(), *a, flush=True)
def sock(sport=None):
    s=socket.socket(); s.setsockopt(1,2,1); s.settimeout(3)
    if sport: s.bind(('',sport))
    return s
def dl(port, n, sport=None, abort_after=None):
    s=sock(sport)
    try:
        s.connect((T,port)); s.sendall(b'GET %d\n'%n); got=0
        while True:
            d=s.recv(65536)
            if not d: break
            got+=len(d)
            if abort_after and got>=abort_after:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii',1,0)); s.close(); log('dl abort',port,got); return
        s.close(); log('dl',port,n,got)
    except Exception as e: log('dl err',port,e); s.close()
def ul(port, n, sport=None):
    s=sock(sport)
    try:
        s.connect((T,port)); s.sendall(b'y'*n); s.shutdown(socket.SHUT_WR)
        r=b''
        while True:
            d=s.recv(100)
            if not d: break
            r+=d
        s.close(); log('ul',port,n,r)
    except Exception as e: log('ul err',port,e); s.close()
def tcpc(port):
    s=sock(); s.settimeout(1)
    try: s.connect((T,port)); log('conn',port,'ok'); s.close()
    except Exception as e: log('conn',port,e)
def udp(port, n=1):
    u=socket.socket(2,2); u.settimeout(0.3)
    for i in range(n):
        u.sendto(b'q%d'%i,(T,port))
        try: log('udp',port,u.recv(100))
        except Exception as e: log('udp',port,e)
if role=='p':
    dl(80, 4000000)
    ul(22, 3000000)
    for i in range(3): dl(80, 5000, sport=40000)      # server closes first: server TIME_WAIT, reopen from same port
    dl(80, 3000000, sport=40001, abort_after=200000)  # RST abort mid-transfer
    time.sleep(0.05)
    dl(80, 1000, sport=40001)                          # reuse after RST
    ul(22, 100000, sport=40002); ul(22, 1000, sport=40002)   # client half-closes first; server closes; reuse
    tcpc(23); tcpc(9000); tcpc(8080)
    udp(53, 3); udp(9001); udp(5353, 2)
    for i in range(5): dl(80, 20000)
else:
    ul(7000, 2000000)
    dl(7001, 1500000)
    udp(7999, 2)
    tcpc(7998)
