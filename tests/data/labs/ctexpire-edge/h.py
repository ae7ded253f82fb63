import socket,sys,time
T=float(sys.argv[1]); N=int(sys.argv[2])
socks=[]
for i in range(N):
    s=socket.socket(2,2); s.bind(('192.0.2.1',41000+i)); socks.append(s)
for i,s in enumerate(socks):
    while time.time()<T+i*0.08: time.sleep(0.0005)
    s.sendto(b'ping',('192.0.2.2',9))
