import socket, sys, time
dst, port, role = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if role == 'sink':
    s = socket.socket(2, 2); s.bind(('', port)); n = 0
    s.settimeout(3)
    try:
        while True:
            d, a = s.recvfrom(70000); n += 1
            if d.startswith(b'E'): s.sendto(b'e' * 100, a)
    except Exception: pass
    print('sink got', n, flush=True)
else:
    s = socket.socket(2, 2); s.setsockopt(17, 103, 1400)   # UDP_SEGMENT
    for i in range(3):
        s.sendto(b'E' + b'x' * 13999, (dst, port)); time.sleep(0.05)   # 10 segments each
    s.sendto(b'E' + b'y' * 999, (dst, port))                          # one plain
    print('sent', flush=True)
