import socket, time
for h,f in (('10.9.0.1',2),('2001:db8:9::1',10)):
    for port in (80,443):
        s=socket.socket(f,1); s.settimeout(1.5)
        try: s.connect((h,port)); s.sendall(b'hello'); print(time.time(),h,port,s.recv(200),flush=True)
        except Exception as e: print(time.time(),h,port,e,flush=True)
        s.close()
