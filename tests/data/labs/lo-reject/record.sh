#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed by tests/recorded_labs.rs with v4.args and v6.args.
# labs 3+4: 127.0.0.1/::1 on t0, and REJECT for broadcast/multicast destinations and L2 broadcast/multicast frames (v4+v6)
cd "$(dirname "$0")"
HOSTNS=tvT; A=tvA; CAPIF=t0
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add t0 netns $HOSTNS address 02:00:00:00:0b:01 type veth peer name a0 netns $A address 02:00:00:00:0b:02
  ip -n $HOSTNS addr add 10.11.0.1/24 dev t0; ip -n $A addr add 10.11.0.2/24 dev a0
  ip -n $HOSTNS addr add fd00:11::1/64 dev t0 nodad; ip -n $A addr add fd00:11::2/64 dev a0 nodad
  for i in $(seq 11 18); do ip -n $A addr add 10.11.0.$i/24 dev a0; ip -n $A addr add fd00:11::$i/64 dev a0 nodad; done
  ip -n $HOSTNS link set t0 up; ip -n $A link set a0 up
  nsx $HOSTNS python3 $LIB/serve.py t:22 & SRV1=$!
  nsx $HOSTNS python3 -c "
import socket,struct,threading
a=socket.socket(2,2); a.setsockopt(1,2,1); a.bind(('',4444)); a.setsockopt(0,35,socket.inet_aton('239.1.1.1')+socket.inet_aton('10.11.0.1'))
b=socket.socket(10,2); b.setsockopt(41,26,1); b.bind(('',4444)); b.setsockopt(41,20,socket.inet_pton(10,'ff05::123')+struct.pack('@I',socket.if_nametoindex('t0')))
threading.Event().wait()" & SRV2=$!
  sleep 2
}
teardown() { kill $SRV1 $SRV2; delns $A $HOSTNS; }
traffic() {
  nsx $A ping -c 1 10.11.0.1; nsx $A ping -6 -c 1 fd00:11::1
  nsx $A python3 $D/probes.py
  nsx $A ping -c 1 -b 10.11.0.255; nsx $A ping -6 -c 1 -I a0 ff02::1
}
FWARGS="--iface t0"
source ../lib/drv.sh
