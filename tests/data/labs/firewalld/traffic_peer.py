import socket, sys, time
sys.path.insert(0,'/tmp/hunt3/common'); import craft
HMAC='02:00:00:00:00:01'
def tcp(addr,port, data=b'hello', to=0.6):
    s=socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET); s.settimeout(to)
    try:
        s.connect((addr,port)); s.sendall(data)
        try: s.recv(100)
        except Exception: pass
        s.close(); return 'ok'
    except Exception as e: return repr(e)
for a in ('192.0.2.1','2001:db8:1::1'):
    for p in (22,22,80,8080,8080,9999): print(a,p,tcp(a,p))
u=socket.socket(2,2); u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST,1)
for p in (53,5000): u.sendto(b'x'*20,('192.0.2.1',p))
u.sendto(b'bcast',('192.0.2.255',9999)); u.sendto(b'bcast',('255.255.255.255',9999))
u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('192.0.2.2'))
u.sendto(b'mdns',('224.0.0.251',5353))
u6=socket.socket(10,2)
u6.sendto(b'x'*20,('2001:db8:1::1',5000))
ifi=socket.if_nametoindex('p0')
u6.sendto(b'mdns6',('ff02::fb',5353,0,ifi)); u6.sendto(b'all',('ff02::1',9999,0,ifi))
time.sleep(0.3)
fr=[craft.pkt4('192.0.2.2','192.0.2.1',6,sport=5557,dport=22,flags='SA',seq=5,ack=77),
    craft.pkt4('192.0.2.2','192.0.2.1',1,itype=13,icode=0,sport=1,dport=1,pay=b'\0'*12),
    craft.pkt4('0.0.0.0','255.255.255.255',17,sport=68,dport=67,pay=b'D'*240),
    craft.pkt6('2001:db8:99::5','2001:db8:1::1',17,sport=4000,dport=22,pay=b'spoof'),
    craft.pkt6('2001:db8:99::5','2001:db8:1::1',58,itype=128,sport=7,dport=1,pay=b'spoofping'),
    craft.pkt6('fe80::ff:fe00:2','fe80::ff:fe00:1',17,sport=547,dport=546,pay=b'dhcp6'),
    craft.pkt6('fe80::ff:fe00:2','ff02::1',58,hl=255,itype=134,sport=0x4000,dport=0x0708,pay=b'\0'*8),
    craft.pkt6('2001:db8:1::2','2001:db8:1::1',6,sport=5558,dport=22,flags='SA',seq=5,ack=77),
    ]
craft.send('p0',HMAC,fr)
time.sleep(0.2)
