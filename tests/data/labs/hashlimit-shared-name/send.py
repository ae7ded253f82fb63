# send.py SRC PORT N GAP [LEN]: N udp datagrams from SRC to host:PORT
import socket, sys, time
src,port,n,gap=sys.argv[1],int(sys.argv[2]),int(sys.argv[3]),float(sys.argv[4]); ln=int(sys.argv[5]) if len(sys.argv)>5 else 20
s=socket.socket(2,2); s.bind((src,0))
for i in range(n): s.sendto(b'x'*ln,('192.0.2.1',port)); time.sleep(gap)
