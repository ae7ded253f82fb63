import socket, threading, sys, struct
def serve(port, h):
    s=socket.socket(); s.setsockopt(1,2,1); s.bind(('',port)); s.listen(50)
    while True:
        c,a=s.accept(); threading.Thread(target=h,args=(c,),daemon=True).start()
def dl(c):   # "GET n\n" -> n bytes, then server closes first (shutdown WR), drain, close
    try:
        req=b''
        while not req.endswith(b'\n'):
            d=c.recv(100)
            if not d: break
            req+=d
        n=int(req.split()[1]) if req.startswith(b'GET') else 10
        c.sendall(b'x'*n); c.shutdown(socket.SHUT_WR)
        while c.recv(65536): pass
    except Exception as e: print('dl',e,flush=True)
    c.close()
def ul(c):   # read until EOF, answer with the count, close
    try:
        n=0
        while True:
            d=c.recv(65536)
            if not d: break
            n+=len(d)
        c.sendall(b'ok %d\n'%n)
    except Exception as e: print('ul',e,flush=True)
    c.close()
def u53():
    s=socket.socket(2,2); s.bind(('',53))
    while True:
        d,a=s.recvfrom(2000); s.sendto(d+b'!',a)
role=sys.argv[1]
if role=='h':
    threading.Thread(target=serve,args=(80,dl),daemon=True).start()
    threading.Thread(target=serve,args=(22,ul),daemon=True).start()
    threading.Thread(target=u53,daemon=True).start()
else:
    threading.Thread(target=serve,args=(7000,ul),daemon=True).start()
    threading.Thread(target=serve,args=(7001,dl),daemon=True).start()
threading.Event().wait()
