#!/usr/bin/python3
"""udpc.py HOST PORT [n]"""
import socket, sys
h, port = sys.argv[1], int(sys.argv[2]); n = int(sys.argv[3]) if len(sys.argv) > 3 else 1
s = socket.socket(10 if ":" in h else 2, 2); s.settimeout(0.3)
for i in range(n):
    s.sendto(b'ping%d' % i, (h, port))
    try: print(h, port, 'ok', s.recvfrom(100))
    except Exception as e: print(h, port, 'fail', e)
