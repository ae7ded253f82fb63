#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed by tests/recorded_labs.rs.
# REJECT in INPUT of the host's own packets over lo (127.0.0.1, ::1, its own address): the reply crosses OUTPUT, POSTROUTING,
# PREROUTING and INPUT carrying the rejected packet's connection, kept over lo: RELATED at both ends, and the capture's copy is that one packet
cd "$(dirname "$0")"
HOSTNS=loS; A=loA; CAPIF=any
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add t0 netns $HOSTNS address 02:00:00:00:0c:01 type veth peer name a0 netns $A address 02:00:00:00:0c:02
  ip -n $HOSTNS addr add 192.0.2.1/24 dev t0; ip -n $A addr add 192.0.2.2/24 dev a0
  ip -n $HOSTNS addr add 2001:db8:c::1/64 dev t0 nodad; ip -n $A addr add 2001:db8:c::2/64 dev a0 nodad
  ip -n $HOSTNS link set t0 up; ip -n $A link set a0 up
  sleep 4  # the interfaces' unsolicited MLD reports before the rules load (they are not on lo)
}
teardown() { delns $A $HOSTNS; }
traffic() {
  for a in 127.0.0.1 192.0.2.1 ::1 2001:db8:c::1; do
    for p in 26 27; do nsx $HOSTNS timeout 2 python3 -c "
import socket,sys
a=sys.argv[1]; s=socket.socket(socket.AF_INET6 if ':' in a else socket.AF_INET)
s.settimeout(1)
try: s.connect((a,int(sys.argv[2])))
except Exception as e: print(a, sys.argv[2], e)" $a $p; done
    for p in 10; do nsx $HOSTNS python3 -c "
import socket,sys,time
a=sys.argv[1]; s=socket.socket(socket.AF_INET6 if ':' in a else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5); s.connect((a,int(sys.argv[2])))
try: s.send(b'x'); s.recv(10)
except Exception as e: print(a, sys.argv[2], e)" $a $p; done
  done
}
FWARGS=""
source ../lib/drv.sh
mv args v4.args; (printf 'rules=rules6\nkernel=kernel6.save\n'; cat v4.args) > v6.args
