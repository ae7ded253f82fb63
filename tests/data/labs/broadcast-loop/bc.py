# broadcasts from the host: argv: mode
import socket, sys, time
def bsock(sport, dev=None):
    s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if dev: s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.bind(('0.0.0.0', sport)); return s
mode=sys.argv[1]
if mode=='host':
    # DHCP-like: 68 -> 255.255.255.255:67 bound to device, twice; then NetBIOS-like to subnet broadcast
    d=bsock(68,'t0')
    for i in range(3): d.sendto(b'DISCOVER'+bytes(240), ('255.255.255.255',67)); time.sleep(0.2)
    n=bsock(137)
    for i in range(2): n.sendto(b'NBNS'+bytes(46), ('10.9.0.255',137)); time.sleep(0.2)
    m=bsock(138)
    m.sendto(b'NBDGM'+bytes(100), ('10.9.0.255',138)); time.sleep(0.2)
    m.sendto(b'NBDGM'+bytes(100), ('255.255.255.255',138)); time.sleep(0.2)   # via default route
    e=bsock(0)
    e.sendto(b'x'*20, ('255.255.255.255',9)); time.sleep(0.2)
    e.sendto(b'y'*30, ('10.9.0.255',9)); time.sleep(0.2)
    # the wait for the peer's answer on 68 (socket d is listening)
    d.settimeout(1)
    try: print('got', d.recvfrom(2000))
    except Exception as ex: print('no answer', ex)
elif mode=='peer':
    # peer: dhcp-like server on 67 answering by broadcast to :68; and peer's own broadcasts
    s=bsock(67); s.settimeout(4)
    try:
        data,a=s.recvfrom(2000); print('peer got', a)
        s.sendto(b'OFFER'+bytes(240), ('255.255.255.255',68))
    except Exception as ex: print('peer none', ex)
elif mode=='peerbc':
    p=bsock(138)
    p.sendto(b'peer'+bytes(60), ('10.9.0.255',138)); time.sleep(0.2)
    p.sendto(b'peer'+bytes(60), ('255.255.255.255',138)); time.sleep(0.2)
    p.sendto(b'peer'+bytes(60), ('10.9.0.255',5000)); time.sleep(0.2)
