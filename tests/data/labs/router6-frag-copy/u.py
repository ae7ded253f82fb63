import socket, sys
if sys.argv[1]=='srv':
    s=socket.socket(10,2); s.bind(('',5000)); s.settimeout(3)
    try:
        while True:
            d,a=s.recvfrom(70000); s.sendto(b'R'*len(d),a)
    except Exception: pass
else:
    s=socket.socket(10,2); s.settimeout(1)
    for n in (3000, 100, 2000):
        s.sendto(b'Q'*n,(sys.argv[2],5000))
        try: print(n, len(s.recv(70000)))
        except Exception as e: print(n, e)
