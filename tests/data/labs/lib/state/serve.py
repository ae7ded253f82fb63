import socket, threading, sys
def tcpsrv(port):
    s=socket.socket(); s.setsockopt(1,2,1); s.bind(('',port)); s.listen(50)
    while True:
        c,_=s.accept()
        def h(c):
            try:
                d=c.recv(100); c.sendall(b'echo:'+d); c.close()
            except Exception: pass
        threading.Thread(target=h,args=(c,),daemon=True).start()
def udpecho(port):
    s=socket.socket(2,2); s.bind(('',port))
    while True:
        d,a=s.recvfrom(2000); s.sendto(d,a)
for a in sys.argv[1:]:
    p,port=a.split(':'); threading.Thread(target=tcpsrv if p=='t' else udpecho,args=(int(port),),daemon=True).start()
threading.Event().wait()
