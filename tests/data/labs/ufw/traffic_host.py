import socket, time
s=socket.socket(); s.settimeout(1)
try: s.connect(('192.0.2.2',7000)); s.sendall(b'hi'); s.recv(10); s.close(); print('tcp7000 ok')
except Exception as e: print('tcp7000',e)
u=socket.socket(2,2); u.sendto(b'q',('192.0.2.2',53)); u.sendto(b'q',('192.0.2.2',7001)); time.sleep(0.3)
