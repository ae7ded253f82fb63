import socket, struct, time, sys
sys.path.insert(0,'../lib'); from craft import *
def udp(dst,port,n=10,ttl=None,df=False,close=False):
    s=socket.socket(2,2); s.settimeout(0.4)
    if ttl: s.setsockopt(0,2,ttl)
    if df: s.setsockopt(0,10,2)
    try:
        s.sendto(b'x'*n,(dst,port))
        if close: s.close(); return 'closed'
        return s.recvfrom(3000)[0][:8]
    except Exception as e: return repr(e)
def tcp(dst,port,ttl=None):
    s=socket.socket(); s.settimeout(0.5)
    if ttl: s.setsockopt(0,2,ttl)
    try: s.connect((dst,port)); s.send(b'hi'); return s.recv(100)
    except Exception as e: return repr(e)
a=sys.argv[1]
if a=='c':
    print('dnat closed udp', udp('198.51.100.1',54))          # server port 5400 closed -> port unreach via DNAT
    print('dnat udp ok', udp('198.51.100.1',53))
    print('fwd ttl1 udp', udp('10.9.0.2',53,ttl=1))            # time exceeded by router
    print('dnat ttl1 udp', udp('198.51.100.1',53,ttl=1))       # time exceeded for a DNATed packet
    print('dnat ttl1 tcp', tcp('198.51.100.1',80,ttl=1))
    print('dnat df big', udp('198.51.100.1',53,n=1400,df=True)) # frag needed (lan0 mtu 1000)
    print('dnat df big2', udp('198.51.100.1',53,n=1400,df=True))
    print('dnat close', udp('198.51.100.1',53,close=True))     # reply hits closed port -> client port unreach back through DNAT
    time.sleep(0.3)
    r=socket.socket(2,socket.SOCK_RAW,255)
    # unrelated ICMP errors: inner packet of no connection
    inner=pkt4('10.9.0.2','198.51.100.2',17,sport=53,dport=33333,pay=b'q')
    r.sendto(pkt4('198.51.100.2','10.9.0.2',1,itype=3,icode=3,pay=inner[:28]),('10.9.0.2',0))
    inner=pkt4('198.51.100.1','198.51.100.2',17,sport=53,dport=33334,pay=b'q')
    r.sendto(pkt4('198.51.100.2','198.51.100.1',1,itype=3,icode=3,pay=inner[:28]),('198.51.100.1',0))
    time.sleep(0.2)
if a=='s':
    print('masq closed udp', udp('198.51.100.2',5999))
    print('router ttl1', udp('198.51.100.2',5353,ttl=1))
    print('masq close', udp('198.51.100.2',5353,close=True))
