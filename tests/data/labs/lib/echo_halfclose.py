# port 80: echo until EOF, then send "bye" and close (half-close test); port 82: reply and close first (server TIME_WAIT)
import socket, threading
def echo(port):
    s=socket.socket(); s.setsockopt(1,2,1); s.bind(('',port)); s.listen(50)
    while True:
        c,_=s.accept()
        def h(c):
            try:
                while True:
                    d=c.recv(1000)
                    if not d: break
                    c.sendall(b'echo:'+d)
                c.sendall(b'bye-after-half-close'); c.close()
            except Exception: pass
        threading.Thread(target=h,args=(c,),daemon=True).start()
def quick(port):
    s=socket.socket(); s.setsockopt(1,2,1); s.bind(('',port)); s.listen(50)
    while True:
        c,_=s.accept()
        try:
            d=c.recv(100); c.sendall(b'q:'+d); c.close()
        except Exception: pass
threading.Thread(target=echo,args=(80,),daemon=True).start()
threading.Thread(target=quick,args=(82,),daemon=True).start()
threading.Event().wait()
