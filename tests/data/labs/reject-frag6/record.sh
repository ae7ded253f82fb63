#!/bin/bash
# stateless ruleset (no conntrack: fragments are not reassembled before the rules): REJECT sees the FIRST fragment of big UDP datagrams / pings
cd "$(dirname "$0")"
FAM=6; HA=2001:db8:1::1; PA=2001:db8:2::2
traffic() {
  nsx $P python3 -c "
import socket,time
s=socket.socket(10,2)
for n in (100,3000,100,5000): s.sendto(b'u'*n,('$HA',33434)); time.sleep(0.05)
"
  nsx $P ping -6 -c2 -i0.2 -s 3000 -W1 $HA; nsx $P ping -6 -c1 -s 1200 -W1 $HA
  sleep 0.3
}
source ../lib/scan/run.sh
