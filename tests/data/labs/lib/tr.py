# tr.py: client actions. usage: tr.py ACTION... ; ACTION = t:HOST:PORT[:payload] | u:HOST:PORT | sleep:SEC | h:HOST:PORT (http GET)
import socket, sys, time, os
SRC=os.environ.get('SRC'); TO=float(os.environ.get('TO','0.6'))
for a in sys.argv[1:]:
    p=a.split('/') if '/' in a else a.split(':')
    F=10 if len(p)>1 and ':' in p[1] else 2
    k=p[0]
    try:
        if k=='sleep': time.sleep(float(p[1])); continue
        if k=='U':
            socks=[]
            for i in range(int(p[3])):
                s=socket.socket(F,2); SRC and s.bind((SRC,0)); s.setblocking(False); socks.append(s)
                s.sendto(b'x'*(10+i),(p[1],int(p[2]))); time.sleep(float(p[4]))
            time.sleep(0.05); n=''
            for s in socks:
                try: s.recv(2000); n+='1'
                except Exception: n+='0'
            print(a,'replies',n); continue
        if k in('t','h'):
            s=socket.socket(F,1); s.settimeout(TO); SRC and s.bind((SRC,0)); s.connect((p[1],int(p[2])))
            if k=='h': s.sendall(b'GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8\r\n\r\n')
            else: s.sendall((p[3] if len(p)>3 else 'hello').encode())
            print(a, s.recv(200)); s.close()
        elif k=='u':
            s=socket.socket(F,2); s.settimeout(TO); SRC and s.bind((SRC,0)); s.sendto(b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01',(p[1],int(p[2])))
            print(a, s.recvfrom(2000)[0][:10])
    except Exception as e: print(a, 'ERR', e)
