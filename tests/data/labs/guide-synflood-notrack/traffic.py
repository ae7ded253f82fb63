# Clients for guide-synflood-notrack (namespace hg-c; FAM 4 or 6): a SYN flood from raw sockets
# (40 SYNs 3 ms apart from one address) while a legitimate client fetches pages, DNS-like
# queries (NOTRACK: every one is UNTRACKED, one socket reused), a port scan of 139 (locked out
# a day, and its later connections dropped), pings in bursts (recent --hitcount 3 in 1 s),
# a big HTTP download (the OUTPUT hashlimit on port 80), a UDP probe of a closed port.
import socket, sys, time, random, subprocess, threading
sys.path.insert(0, '../lib')
from craft import l4
fam = int(sys.argv[1]); AF = 2 if fam == 4 else 10
def a(n): return '10.9.0.%d' % n if fam == 4 else '2001:db8:9::%d' % n
SRV = a(1)
def log(*x): print('%.3f' % time.time(), fam, *x, flush=True)
def http(src, path='x', big=False):
    s = socket.socket(AF, 1); s.settimeout(1.5); s.bind((src, 0))
    try:
        s.connect((SRV, 80)); n = 0
        s.sendall(b'GET /' + path.encode() + b' HTTP/1.1\r\nHost: x\r\n\r\n')
        n += len(s.recv(4000)); log('http', src, path, n)
    except Exception as e: log('http', src, path, 'ERR', e)
    s.close()
def syn(src, port, sport):
    s = socket.socket(AF, 3, 6)
    sa, da = socket.inet_pton(AF, src), socket.inet_pton(AF, SRV)
    s.bind((src, 0)); s.sendto(l4(6, sa, da, fam, sport=sport, dport=port, flags='S', seq=random.randrange(1 << 31)), (SRV, 0)); s.close()
def ping(src, n, i=0.1):
    subprocess.run(['ping', '-%d' % fam, '-c', str(n), '-i', str(i), '-W', '1', '-I', src, SRV], capture_output=True)
# DNS over NOTRACK: one socket, five queries, each answered
s = socket.socket(AF, 2); s.settimeout(0.5); s.bind((a(2), 0))
for i in range(5):
    s.sendto(b'\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x00\x00\x01\x00\x01', (SRV, 53))
    try: s.recvfrom(200)
    except Exception as e: log('dns', e)
s.close()
# the flood and a legitimate client during it
t = threading.Thread(target=lambda: [http(a(2), 'during%d' % i) or time.sleep(0.03) for i in range(4)])
t.start()
for i in range(40):
    syn(a(3), 80, 20000 + i); time.sleep(0.003)
t.join()
time.sleep(1)
http(a(2), 'after')
# a port scan of 139: locked out, then its web and ssh attempts dropped; another address fine
s = socket.socket(AF, 1); s.settimeout(0.3); s.bind((a(4), 0))
try: s.connect((SRV, 139))
except Exception as e: log('scan139', e)
s.close()
http(a(4), 'locked'); http(a(5), 'other')
# pings: a burst of 5 within a second (3rd on dropped), a pause, then 2
for i in range(5):  # five one-request pings 0.1 s apart: each NEW, the 4th and 5th over --hitcount 3
    ping(a(6), 1); time.sleep(0.1)
time.sleep(1.2); ping(a(6), 1); ping(a(6), 3, 0.2)
# a big page: many segments out through the OUTPUT hashlimit
http(a(2), 'big' * 1)
s = socket.socket(AF, 2); s.settimeout(0.3); s.bind((a(2), 0)); s.sendto(b'x', (SRV, 5555)); s.close()
time.sleep(0.3)
