import socket, time
u=socket.socket(2,2); u.settimeout(1); u.connect(('192.0.2.1',5000))
u.send(b'small'); time.sleep(0.1); u.send(b'B'*600)     # the big one is dropped by INPUT
try: print('udp', u.recv(100))
except Exception as e: print('udp', e)
t=socket.create_connection(('192.0.2.1',80)); t.setsockopt(6,1,1)
t.sendall(b'small'); time.sleep(0.1); t.sendall(b'B'*600)  # big segment dropped; retransmitted (and dropped) later
t.settimeout(1.5)
try: print('tcp', t.recv(100))
except Exception as e: print('tcp', e)
t.close()
