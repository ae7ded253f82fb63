# Real sockets through the router: run in the client namespace (WAN side, 198.51.100.2, 2001:db8:a::2) with the
# server namespace's name as argv[1]; the server side's own connections run there ('lan' role).
import socket, subprocess, sys, time, os
def tcp(fam, dst, port, sport=0, data=b'hello', tos=0):
    s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(2)
    if sport: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('', sport))
    try:
        s.connect((dst, port)); s.sendall(data); s.recv(100)
    except OSError as e: print('tcp', dst, port, e)
    s.close(); time.sleep(0.3)
def udp(fam, dst, port, sport=0, n=1, tos=None):
    s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(0.5)
    if sport: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('', sport))
    for i in range(n):
        t = tos[i] if tos else 0
        if fam == socket.AF_INET: s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, t)
        else: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, t)
        s.sendto(b'dgram%d' % i, (dst, port))
        try: s.recvfrom(100)
        except OSError as e: print('udp', dst, port, e)
        time.sleep(0.2)
    s.close(); time.sleep(0.2)
def ping(dst, n=2):
    subprocess.run(['ping', '-c', str(n), '-i', '0.2', '-W', '1', dst], capture_output=True); time.sleep(0.2)
def client(fam):
    srv = '10.9.0.2' if fam == socket.AF_INET else '2001:db8:b::2'
    tcp(fam, srv, 80); tcp(fam, srv, 80); tcp(fam, srv, 80, sport=40001)
    tcp(fam, srv, 8080, sport=40002); tcp(fam, srv, 8080)
    tcp(fam, srv, 8081, sport=40006)
    udp(fam, srv, 5001, n=2)
    udp(fam, srv, 5002, sport=40003, n=2)
    udp(fam, srv, 5003, sport=40004, n=3, tos=[0x20, 0, 0x20])
    udp(fam, srv, 53, sport=40005, n=2)
    ping(srv)
    tcp(fam, srv, 9)
    udp(fam, srv, 9999, n=1)
def lan(fam):
    cli = '198.51.100.2' if fam == socket.AF_INET else '2001:db8:a::2'
    tcp(fam, cli, 80); tcp(fam, cli, 80, sport=40010)
    udp(fam, cli, 53, sport=40011, n=2)
    ping(cli, 1)
role = sys.argv[1]
if role == 'c':
    for fam in (socket.AF_INET, socket.AF_INET6):
        client(fam)
        subprocess.run(['ip', 'netns', 'exec', sys.argv[2], 'python3', sys.argv[0], 'lan', str(int(fam))])
else:
    lan(socket.AddressFamily(int(sys.argv[2])))
