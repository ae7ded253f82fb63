import socket, time
for a in ('192.0.2.2','2001:db8:1::2'):
    s=socket.socket(socket.AF_INET6 if ':' in a else 2); s.settimeout(1)
    try: s.connect((a,7000)); s.sendall(b'hi'); s.recv(10); s.close(); print('tcp7000 ok')
    except Exception as e: print('tcp7000',e)
    u=socket.socket(socket.AF_INET6 if ':' in a else 2,2); u.sendto(b'q',(a,7001)); u.sendto(b'q',(a,7002)); time.sleep(0.3)
