import socket, sys, time
dst, role = sys.argv[1], sys.argv[2]
if role == 'sink':   # P: answer the first segment of each GSO datagram (starts with 'E') and every datagram on 5001
    s = socket.socket(2, 2); s.bind(('', 5000)); t = socket.socket(2, 2); t.bind(('', 5001))
    import select; n = 0; end = time.time() + 4
    while time.time() < end:
        r, _, _ = select.select([s, t], [], [], 0.2)
        for x in r:
            d, a = x.recvfrom(70000); n += 1
            if x is t or d.startswith(b'E'): x.sendto(b'e' * 100, a)
    print('sink got', n, flush=True)
elif role == 'send':  # H: 3 UDP_SEGMENT sends (gso_size 1400), then one plain datagram (case udp)
    s = socket.socket(2, 2); s.bind(('', 40000)); s.setsockopt(17, 103, 1400)   # UDP_SEGMENT
    s.settimeout(0.3)
    for n in (14000, 14000, 13500):   # 10, 10, 10 (last 900) segments
        s.sendto(b'E' + b'x' * (n - 1), (dst, 5000)); time.sleep(0.05)
    u = socket.socket(2, 2); u.bind(('', 40001)); u.settimeout(0.5)
    u.sendto(b'P' + b'y' * 999, (dst, 5001))
    got = 0
    for x in (s, s, s, u):
        try: x.recv(200); got += 1
        except Exception as e: pass
    print('sent; replies', got, flush=True)
else:                 # 'burst': 5 UDP_SEGMENT sends 30 ms apart, 0.4 s later one plain datagram (case udp-limit)
    s = socket.socket(2, 2); s.bind(('', 40000)); s.setsockopt(17, 103, 1400)   # UDP_SEGMENT
    for i in range(5):
        try: s.sendto(b'E' + b'x' * 13999, (dst, 5000)); print(time.time(), 'gso send', i, 'ok', flush=True)
        except Exception as e: print(time.time(), 'gso send', i, e, flush=True)
        time.sleep(0.03)
    time.sleep(0.4)
    u = socket.socket(2, 2); u.bind(('', 40001)); u.settimeout(0.5)
    try: u.sendto(b'P' + b'y' * 999, (dst, 5001)); print('plain ok', flush=True)
    except Exception as e: print('plain', e, flush=True)
    s.settimeout(0.3); got = 0
    for x in (s, s, s, s, s, u):
        try: x.recv(200); got += 1
        except Exception as e: pass
    print('replies', got, flush=True)
