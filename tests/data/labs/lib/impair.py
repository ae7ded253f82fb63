#!/usr/bin/python3
"""impair.py IF_A IF_B [key=value...]: a userspace netem (this kernel has no sch_netem) joining two
interfaces of one namespace, each frame from one side sent out the other, both ways, with
loss=P dup=P reorder=P (sent at once, skipping the delay) delay=MS jitter=MS corrupt=P (one bit
of the frame past the IP header flipped) hdr=P (one bit of the Ethernet or IP header) seed=N; P in percent. Endpoints must send frames no
bigger than the MTU with full checksums (ethtool -K DEV tx off tso off gso off)."""
import socket, select, sys, time, random, heapq
a, b = sys.argv[1], sys.argv[2]
o = dict(loss=0, dup=0, reorder=0, delay=0, jitter=0, corrupt=0, hdr=0, seed=1)
for kv in sys.argv[3:]:
    k, v = kv.split('='); o[k] = float(v)
rnd = random.Random(int(o['seed']))
def sk(i):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind((i, 0)); return s
sa, sb = sk(a), sk(b)
peer = {sa: sb, sb: sa}
q = []; n = 0; st = dict(rx=0, lost=0, dup=0, reord=0, corr=0)
def p(x): return rnd.random() * 100 < o[x]
while True:
    now = time.monotonic()
    while q and q[0][0] <= now:
        _, _, s, f = heapq.heappop(q)
        try: s.send(f)
        except OSError: pass
    to = max(0, q[0][0] - now) if q else 1.0
    r, _, _ = select.select([sa, sb], [], [], to)
    for s in r:
        try: f, addr = s.recvfrom(65535)
        except OSError: sys.exit(0)
        if addr[2] == socket.PACKET_OUTGOING: continue
        st['rx'] += 1
        if p('loss'): st['lost'] += 1; continue
        h = 54 if f[12:14] == b'\x86\xdd' else 34   # Ethernet and the IPv6 or IPv4 header
        if len(f) > h and p('corrupt'):
            i = h + rnd.randrange(len(f) - h); f = f[:i] + bytes([f[i] ^ (1 << rnd.randrange(8))]) + f[i+1:]; st['corr'] += 1
        if len(f) > h and p('hdr'):
            i = rnd.randrange(h); f = f[:i] + bytes([f[i] ^ (1 << rnd.randrange(8))]) + f[i+1:]; st['corr'] += 1
        copies = 2 if p('dup') else 1; st['dup'] += copies - 1
        for c in range(copies):
            if p('reorder'): d = 0; st['reord'] += 1
            else: d = max(0, o['delay'] + rnd.uniform(-o['jitter'], o['jitter'])) / 1000
            n += 1; heapq.heappush(q, (time.monotonic() + d, n, peer[s], f))
