import socket, sys
dsts=sys.argv[1:]
u=socket.socket(2,2); u.setsockopt(1,6,1); u.settimeout(0.3)
for d in dsts:
    a,p=d.split(':')
    u.sendto(b'hi',(a,int(p)))
    try: print(d, u.recv(99))
    except Exception as e: print(d, e)
