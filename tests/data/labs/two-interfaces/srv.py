import socket
s=socket.socket(2,2); s.setsockopt(1,6,1); s.bind(('',5000))
t=socket.socket(2,2); t.setsockopt(1,6,1); t.bind(('',5001))
import select
while True:
    r,_,_=select.select([s,t],[],[])
    for x in r:
        d,a=x.recvfrom(999); x.sendto(b'r'+d,a)
