import socket, sys
def t(a,p,msg=b'hi'):
    try:
        s=socket.create_connection((a,p),timeout=1.5); s.sendall(msg); print(a,p,s.recv(100)); s.close()
    except Exception as e: print(a,p,'ERR',e)
def u(a,p):
    x=socket.socket(2,2); x.settimeout(1.5)
    try: x.sendto(b'q',(a,p)); print(a,p,x.recvfrom(100))
    except Exception as e: print(a,p,'ERR',e)
for arg in sys.argv[1:]:
    k,a,p=arg.split(':'); (t if k=='t' else u)(a,int(p))
