import socket, threading, sys
def tcp(port, n):
    s=socket.socket(socket.AF_INET6); s.setsockopt(1,2,1); s.bind(('::',port)); s.listen(8)
    while True:
        c,_=s.accept(); c.recv(100); c.sendall(b'y'*n); c.close()
def udp(port):
    s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(('::',port))
    while True:
        d,a=s.recvfrom(65535); s.sendto(d[:200],a)
for p,n in [(80,20000),(82,10)]: threading.Thread(target=tcp,args=(p,n),daemon=True).start()
for p in (5000,5001): threading.Thread(target=udp,args=(p,),daemon=True).start()
print("ready",flush=True)
threading.Event().wait()
