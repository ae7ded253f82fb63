# UDP responders: port:mode  (ttl1 = reply with TTL 1, big = reply 1400 bytes DF)
import socket, sys, threading
def run(port, mode):
    s=socket.socket(2,2); s.bind(('',port))
    if mode=='ttl1': s.setsockopt(0,2,1)
    if mode=='big': s.setsockopt(0,10,2)
    while True:
        d,a=s.recvfrom(2000)
        try: s.sendto(b'y'*1400 if mode=='big' else d, a)
        except Exception as e: print(e, flush=True)
for a in sys.argv[1:]:
    p,m=a.split(':'); threading.Thread(target=run,args=(int(p),m),daemon=True).start()
threading.Event().wait()
