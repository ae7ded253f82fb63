# Real sockets through the NAT router: run in the client namespace (WAN, 198.51.100.2, 2001:db8:a::2) with the server
# namespace's name as argv[1]; the LAN side's connections (sources .2-.5, b::2-b::5) run there ('lan' role).
import socket, struct, subprocess, sys, time, threading
V4 = dict(fam=socket.AF_INET, wan='198.51.100.1', netmap='198.51.100.66', cli='198.51.100.2', lan='10.9.0.')
V6 = dict(fam=socket.AF_INET6, wan='2001:db8:a::1', netmap='2001:db8:a::1:2', cli='2001:db8:a::2', lan='2001:db8:b::')
def tcp(f, dst, port, src='', sport=0, hold=0.0):
    s = socket.socket(f['fam'], socket.SOCK_STREAM); s.settimeout(2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if src or sport: s.bind((src, sport))
    try:
        s.connect((dst, port)); s.sendall(b'hello'); time.sleep(hold); s.recv(100)
    except OSError as e: print('tcp', src, dst, port, e)
    s.close(); time.sleep(0.3)
def udp(f, dst, port, src='', sport=0, n=1):
    s = socket.socket(f['fam'], socket.SOCK_DGRAM); s.settimeout(0.5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if src or sport: s.bind((src, sport))
    for i in range(n):
        s.sendto(b'dgram%d' % i, (dst, port))
        try: s.recvfrom(100)
        except OSError as e: print('udp', src, dst, port, e)
        time.sleep(0.2)
    s.close(); time.sleep(0.2)
def echo(f, dst, src, ident, n=2):
    # ICMP echo with a chosen identifier from a raw socket (two LAN hosts pinging with one id)
    v6 = f['fam'] == socket.AF_INET6
    s = socket.socket(f['fam'], socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP); s.settimeout(0.5)
    s.bind((src, 0))
    for seq in range(1, n + 1):
        body = struct.pack('!HH', ident, seq) + b'pingpong'
        hdr = struct.pack('!BBH', 128 if v6 else 8, 0, 0)
        if not v6:
            m = hdr + body; c = sum(struct.unpack('!%dH' % (len(m) // 2), m)); c = (c >> 16) + (c & 0xffff); c += c >> 16
            m = struct.pack('!BBH', 8, 0, ~c & 0xffff) + body
        else: m = hdr + body
        s.sendto(m, (dst, 0))
        time.sleep(0.3)
    s.close(); time.sleep(0.2)
def ping(dst, n=2):
    subprocess.run(['ping', '-c', str(n), '-i', '0.2', '-W', '1', dst], capture_output=True); time.sleep(0.2)
def wan(f):
    tcp(f, f['wan'], 8080); tcp(f, f['wan'], 8080)
    udp(f, f['wan'], 5353, n=2)
    udp(f, f['wan'], 5555); tcp(f, f['wan'], 5555)
    tcp(f, f['wan'], 2222)
    tcp(f, f['netmap'], 80); udp(f, f['netmap'], 53, n=2); ping(f['netmap'])
    udp(f, f['netmap'], 9999)
def lan(f):
    L = f['lan']; cli = f['cli']
    tcp(f, cli, 80, src=L + '2')
    # two hosts behind one SNAT address with one source port, the first still open when the second connects
    t = threading.Thread(target=tcp, args=(f, cli, 80), kwargs=dict(src=L + '3', sport=40000, hold=1.0)); t.start()
    time.sleep(0.3); tcp(f, cli, 80, src=L + '5', sport=40000); t.join()
    udp(f, cli, 53, src=L + '3', sport=40001, n=2); udp(f, cli, 53, src=L + '5', sport=40001, n=2)
    echo(f, cli, L + '3', 0x4242); echo(f, cli, L + '5', 0x4242)
    tcp(f, cli, 80, src=L + '4'); udp(f, cli, 9999, src=L + '4'); tcp(f, cli, 81, src=L + '4')
    ping(cli, 1)
if __name__ == '__main__':
    if sys.argv[1] == 'c':
        for f in (V4, V6):
            wan(f)
            subprocess.run(['ip', 'netns', 'exec', sys.argv[2], sys.executable, sys.argv[0], 'lan', '4' if f is V4 else '6'])
    else:
        lan(V4 if sys.argv[2] == '4' else V6)
