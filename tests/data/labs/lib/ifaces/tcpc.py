#!/usr/bin/python3
"""tcpc.py HOST PORT [n] [src]: n short TCP exchanges; prints result"""
import socket, sys
h, port = sys.argv[1], int(sys.argv[2]); n = int(sys.argv[3]) if len(sys.argv) > 3 else 1
src = sys.argv[4] if len(sys.argv) > 4 else None
for i in range(n):
    s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET); s.settimeout(0.6)
    if src: s.bind((src, 0))
    try:
        s.connect((h, port)); s.sendall(b'hi'); print(h, port, 'ok', s.recv(100))
    except Exception as e: print(h, port, 'fail', e)
    s.close()
