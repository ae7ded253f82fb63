# cli.py: traffic client. cli.py CMD HOST ARGS
import socket, sys, time, struct, random
cmd,host=sys.argv[1],sys.argv[2]; a=sys.argv[3:]
def log(*x): print('%.3f'%time.time(),*x,flush=True)
def get(port,paths,close_fin=True,rst=False,timeout=3):
    s=socket.socket(); s.settimeout(timeout)
    try: s.connect((host,port))
    except Exception as e: log('connect',port,e); return None
    s.sendall(b''.join(b'GET %s HTTP/1.1\r\nHost: x\r\n\r\n'%p.encode() for p in paths))  # pipelined
    want=len(paths); got=b''; t=time.time()
    # read until all responses
    total=0
    try:
        while True:
            d=s.recv(65536)
            if not d: break
            got+=d
            # count completed responses
            cnt=0; rest=got
            while b'\r\n\r\n' in rest:
                hdr,rest2=rest.split(b'\r\n\r\n',1); n=int(hdr.split(b'Content-Length: ')[1].split(b'\r\n')[0])
                if len(rest2)<n: break
                rest=rest2[n:]; cnt+=1
            if cnt>=want: break
    except Exception as e: log('recv',e)
    log('get',port,paths,len(got))
    if rst: s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii',1,0))
    s.close(); return len(got)
if cmd=='web':   # web PORT PATH,PATH,... [rst]
    get(int(a[0]),a[1].split(','),rst=len(a)>2 and a[2]=='rst')
elif cmd=='burst':   # burst PORT N HOLD : N connections opened quickly, held HOLD s
    ss=[]
    for i in range(int(a[1])):
        s=socket.socket(); s.settimeout(0.6)
        try: s.connect((host,int(a[0]))); ss.append(s); log('burst',i,'ok')
        except Exception as e: log('burst',i,e)
    time.sleep(float(a[2]))
    for s in ss:
        try: s.sendall(b'GET / HTTP/1.1\r\nConnection: close\r\n\r\n'); s.recv(1000)
        except Exception as e: log('burst close',e)
        s.close()
elif cmd=='dns':   # dns PORT N GAP
    s=socket.socket(2,2); s.settimeout(0.3)
    for i in range(int(a[1])):
        q=struct.pack('>HHHHHH',random.randrange(65536),0x0100,1,0,0,0)+b'\x03www\x07example\x03com\x00\x00\x01\x00\x01'
        s.sendto(q,(host,int(a[0])))
        try: s.recvfrom(1000); log('dns',i,'ok')
        except Exception as e: log('dns',i,e)
        time.sleep(float(a[2]))
elif cmd=='half':  # half-open scan: connect with 0 timeout... uses raw? -> just nonblocking connect then close w/ RST
    for p in map(int,a[0].split(',')):
        s=socket.socket(); s.setblocking(False)
        try: s.connect((host,p))
        except BlockingIOError: pass
        time.sleep(0.05); s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii',1,0)); s.close()
elif cmd=='chat':  # chat PORT N GAP: interactive session, N lines
    s=socket.socket(); s.settimeout(2)
    try:
        s.connect((host,int(a[0]))); s.recv(100)
        for i in range(int(a[1])):
            s.sendall(b'line %d\n'%i); s.recv(100); time.sleep(float(a[2]))
        log('chat ok')
    except Exception as e: log('chat',e)
    s.close()
elif cmd=='udp':  # udp PORT N GAP [SPORT]
    s=socket.socket(2,2); s.settimeout(0.2)
    if len(a)>3: s.bind(('',int(a[3])))
    for i in range(int(a[1])):
        s.sendto(b'hello %d'%i,(host,int(a[0])))
        try: s.recvfrom(1000); log('udp',a[0],i,'reply')
        except Exception as e: log('udp',a[0],i,e)
        time.sleep(float(a[2]))
elif cmd=='hold':  # hold PORT N MODE: N conns, each GET 'Connection: close' (server FINs first); client keeps the socket (CLOSE_WAIT);
                   # then 1 more connect; then close all by MODE fin|rst
    ss=[]
    def one(tag):
        s=socket.socket(); s.settimeout(0.5)
        try:
            s.connect((host,int(a[0]))); s.sendall(b'GET /small HTTP/1.1\r\nConnection: close\r\n\r\n')
            d=b''
            while True:
                x=s.recv(4096)
                if not x: break
                d+=x
            log(tag,'ok',len(d)); return s
        except Exception as e: log(tag,e); s.close(); return None
    for i in range(int(a[1])):
        s=one('hold %d'%i)
        if s: ss.append(s)
    time.sleep(0.05)
    s=one('extra'); s and s.close()
    for s in ss:
        if a[2]=='rst': s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii',1,0))
        s.close()
    time.sleep(0.05)
    s=one('after'); s and s.close()
elif cmd=='seq':   # seq PORT N GAP: N sequential short GETs, client closes
    for i in range(int(a[1])):
        s=socket.socket(); s.settimeout(0.3)
        try:
            s.connect((host,int(a[0]))); s.sendall(b'GET /small HTTP/1.1\r\n\r\n'); s.recv(1000); log('seq',i,'ok')
        except Exception as e: log('seq',i,e)
        s.close(); time.sleep(float(a[2]))
