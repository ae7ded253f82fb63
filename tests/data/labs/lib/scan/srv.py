# srv.py: web (HTTP/1.1 keepalive, /big?n=BYTES, /small) on given tcp ports, DNS-like UDP responder on given udp ports
# usage: srv.py h:PORT ... u:PORT ... t:PORT (plain: close after banner)
import socket, threading, sys
def http(port):
    s=socket.socket(socket.AF_INET6 if False else 2); s.setsockopt(1,2,1); s.bind(('',port)); s.listen(100)
    while True:
        c,_=s.accept()
        def h(c):
            buf=b''
            try:
                while True:
                    while b'\r\n\r\n' not in buf:
                        d=c.recv(4096)
                        if not d: c.close(); return
                        buf+=d
                    req,buf=buf.split(b'\r\n\r\n',1)
                    path=req.split(b' ')[1].decode()
                    n=int(path.split('n=')[1]) if 'n=' in path else 100
                    close=b'Connection: close' in req
                    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n'%(n,b'Connection: close\r\n' if close else b'')+b'x'*n)
                    if close: c.close(); return
            except Exception: pass
            c.close()
        threading.Thread(target=h,args=(c,),daemon=True).start()
def tcp(port):
    s=socket.socket(); s.setsockopt(1,2,1); s.bind(('',port)); s.listen(100)
    while True:
        c,_=s.accept(); 
        try: c.sendall(b'hello\n'); c.close()
        except Exception: pass
def echo(port):
    s=socket.socket(); s.setsockopt(1,2,1); s.bind(('',port)); s.listen(100)
    while True:
        c,_=s.accept()
        def h(c):
            try:
                c.sendall(b'SSH-2.0-x\r\n')
                while True:
                    d=c.recv(4096)
                    if not d: break
                    c.sendall(d)
            except Exception: pass
            c.close()
        threading.Thread(target=h,args=(c,),daemon=True).start()
def dns(port):
    s=socket.socket(2,2); s.bind(('',port))
    while True:
        d,a=s.recvfrom(2000)
        s.sendto(d[:2]+b'\x81\x80'+d[4:]+b'\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01',a)
for a in sys.argv[1:]:
    p,port=a.split(':'); threading.Thread(target=dict(h=http,t=tcp,u=dns,e=echo)[p],args=(int(port),),daemon=True).start()
threading.Event().wait()
