# udp 5000: reply to each datagram 0.4 s later; tcp 80: reply to each recv 0.4 s later
import socket, threading, time
def udp():
    s=socket.socket(2,2); s.bind(('',5000))
    while True:
        d,a=s.recvfrom(4000)
        threading.Timer(0.4, lambda d=d,a=a: s.sendto(b'late:'+d[:10],a)).start()
def tcp():
    l=socket.socket(); l.setsockopt(1,2,1); l.bind(('',80)); l.listen(5)
    while True:
        c,_=l.accept()
        def h(c):
            while True:
                d=c.recv(4000)
                if not d: break
                time.sleep(0.4); c.sendall(b'late:'+d[:10])
            c.close()
        threading.Thread(target=h,args=(c,),daemon=True).start()
threading.Thread(target=udp,daemon=True).start(); threading.Thread(target=tcp,daemon=True).start()
threading.Event().wait()
