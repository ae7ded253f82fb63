# from krc: a TCP connection to 10.9.0.77:80 / [2001:db8:b::77]:80 and a UDP query to port 53 of the same, behind the
# router, which REDIRECTs / DNATs them to its own sockets (serve6.py, dual-stack: tcp 2200, udp 5300); the answers
# leave the router from the original destination (un-NATed in OUTPUT/POSTROUTING)
import socket, time
for fam, dst in ((socket.AF_INET, '10.9.0.77'), (socket.AF_INET6, '2001:db8:b::77')):
    s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(2); s.connect((dst, 80)); s.sendall(b'hello'); print(s.recv(100)); s.close()
    time.sleep(0.3)
    u = socket.socket(fam, socket.SOCK_DGRAM); u.settimeout(2); u.sendto(b'query', (dst, 53)); print(u.recvfrom(100)[0]); u.close()
    time.sleep(0.3)
