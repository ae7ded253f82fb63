import socket, time, subprocess
S='2001:db8:b::2'
def tcp(port, data=b'GET\r\n'):
    try:
        c=socket.create_connection((S,port),timeout=2); c.sendall(data); n=0
        while True:
            d=c.recv(65536)
            if not d: break
            n+=len(d)
        c.close(); print('tcp',port,'got',n)
    except Exception as e: print('tcp',port,e)
def udp(port, n, hops=None, wait=True):
    s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.settimeout(1)
    if hops: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, hops)
    try:
        s.sendto(b'u'*n,(S,port))
        if wait: print('udp',port,n,'reply',len(s.recv(65535)))
    except Exception as e: print('udp',port,n,e)
subprocess.run(['ping','-6','-c2','-i','0.2',S],capture_output=True)
subprocess.run(['ping','-6','-c1','-t1','-W1',S],capture_output=True)
subprocess.run(['ping','-6','-c1','-W1','2001:db8:b::1'],capture_output=True)
tcp(80); tcp(81); tcp(82)
udp(7000, 10)
udp(5001, 3000)          # fragments of 1448 > lan0 MTU 1280: PTB
udp(5000, 1400)          # now PMTU 1280 known: fragmented at 1280
udp(5001, 3000)
udp(5000, 100, hops=1, wait=False)
time.sleep(0.2)
tcp(80)
