import socket, sys, time, struct
sys.path.insert(0,'/tmp/hunt3/common'); import craft
H4='192.0.2.1'; HMAC='02:00:00:00:00:01'
def tcp(port, data=b'hello', to=0.6):
    s=socket.socket(); s.settimeout(to)
    try:
        s.connect((H4,port)); s.sendall(data); 
        try: s.recv(100)
        except Exception: pass
        s.close(); return 'ok'
    except Exception as e: return repr(e)
for i in range(3): print('80', tcp(80))
for i in range(8): print('22', tcp(22, to=0.4))
print('8080', tcp(8080, to=0.5))
print('445', tcp(445, to=0.5))
u=socket.socket(2,2); u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST,1)
for p in (53,137,138,5000): u.sendto(b'x'*20,(H4,p))
u.sendto(b'bcast',('192.0.2.255',9999)); u.sendto(b'bcast',('255.255.255.255',9999))
u.sendto(b'bcast137',('192.0.2.255',137))
u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('192.0.2.2'))
u.sendto(b'mdns',('224.0.0.251',5353)); u.sendto(b'ssdp',('239.255.255.250',1900)); u.sendto(b'other',('239.1.2.3',4000))
time.sleep(0.3)
fr=[craft.pkt4('0.0.0.0','255.255.255.255',17,sport=68,dport=67,pay=b'D'*240),
    craft.pkt4('192.0.2.2','192.0.2.1',17,sport=67,dport=68,pay=b'O'*240),
    craft.pkt4('192.0.2.2','203.0.113.9',17,sport=5555,dport=80,pay=b'notlocal'),
    craft.pkt4('192.0.2.2','203.0.113.9',6,sport=5556,dport=80),
    craft.pkt4('192.0.2.2','192.0.2.1',6,sport=5557,dport=80,flags='SA',seq=5,ack=77),
    craft.pkt4('192.0.2.2','192.0.2.1',6,sport=5558,dport=80,flags='R',seq=5),
    craft.pkt4('192.0.2.2','192.0.2.1',1,itype=13,icode=0,sport=1,dport=1,pay=b'\0'*12),
    craft.pkt4('192.0.2.2','192.0.2.1',1,itype=3,icode=3,pay=b'\0'*28),
    ]
craft.send('p0',HMAC,fr)
time.sleep(0.2)
