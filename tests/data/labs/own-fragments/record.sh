#!/bin/bash
# Without conntrack, the host sends UDP datagrams larger than the MTU: OUTPUT judges each
# datagram whole (ip_fragment runs after POSTROUTING), the capture shows its fragments. The
# peer sends large datagrams too: PREROUTING sees fragments, INPUT the reassembled datagram.
cd "$(dirname "$0")"
traffic() {
  nsx $H python3 -c '
import socket,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
for n in (3000, 1000, 4000, 1400, 2000):
    s.sendto(b"x"*n, ("192.0.2.2", 7000)); time.sleep(0.05)
'
  nsx $P python3 -c '
import socket,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
for n in (3000, 500, 2500):
    s.sendto(b"y"*n, ("192.0.2.1", 7000)); time.sleep(0.05)
'
  sleep 0.3
}
IFC=h0
source ../lib/run.sh
