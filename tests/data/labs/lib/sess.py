# sess.py: long-lived TCP/UDP sessions with periodic data.
# server:  sess.py srv t:PORT | u:PORT ...      (TCP: echo each line; UDP: echo)
# client:  sess.py cli MODE HOST PORT DURATION INTERVAL [LABEL]
#   MODE t: client sends every INTERVAL, expects echo; p: server side pushes (client = passive echo);
#   MODE u: UDP send every INTERVAL, waits for echo
import socket, sys, time, threading
def log(*a): print('%.3f'%time.time(), *a, flush=True)
if sys.argv[1]=='srv':
    def tcpsrv(port, push):
        s=socket.socket(); s.setsockopt(1,2,1); s.bind(('',port)); s.listen(50)
        while True:
            c,a=s.accept()
            def h(c,a):
                try:
                    while True:
                        d=c.recv(1000)
                        if not d: break
                        c.sendall(b'echo:'+d)
                except Exception as e: log('srv',port,a,'ERR',e)
            threading.Thread(target=h,args=(c,a),daemon=True).start()
    def udpsrv(port):
        s=socket.socket(2,2); s.bind(('',port))
        while True:
            d,a=s.recvfrom(2000); s.sendto(d,a)
    def sink(port):
        s=socket.socket(2,2); s.bind(('',port))
        while True: s.recvfrom(2000)
    for x in sys.argv[2:]:
        p,port=x.split(':'); f={'t':lambda po: tcpsrv(po,False),'u':udpsrv,'s':sink}[p]
        threading.Thread(target=f,args=(int(port),),daemon=True).start()
    threading.Event().wait()
mode,host,port,dur,iv=sys.argv[2],sys.argv[3],int(sys.argv[4]),float(sys.argv[5]),float(sys.argv[6])
lab=sys.argv[7] if len(sys.argv)>7 else f'{mode}:{port}'
end=time.time()+dur
if mode=='t':
    s=socket.socket(); s.settimeout(3)
    try: s.connect((host,port))
    except Exception as e: log(lab,'connect ERR',e); sys.exit()
    log(lab,'connected',s.getsockname()); s.settimeout(iv*0.9); i=0
    while time.time()<end:
        i+=1
        try: s.sendall(b'line%d\n'%i)
        except Exception as e: log(lab,'send ERR',e); break
        try: log(lab,'got',s.recv(1000))
        except Exception as e: log(lab,'recv ERR',e)
        time.sleep(max(0,iv-0.0))
    s.close(); log(lab,'closed')
elif mode=='o':
    s=socket.socket(2,2); i=0
    if len(sys.argv)>8: s.bind(('',int(sys.argv[8])))
    while time.time()<end:
        i+=1; s.sendto(b'o%d'%i,(host,port)); time.sleep(iv)
    log(lab,'sent',i)
elif mode=='u':
    s=socket.socket(2,2); s.settimeout(iv*0.9); i=0
    while time.time()<end:
        i+=1; s.sendto(b'u%d'%i,(host,port))
        try: log(lab,'got',s.recv(1000))
        except Exception as e: log(lab,'recv ERR',e)
        time.sleep(iv)
