#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07): frames 43-46 are for a MAC neither t0 nor the macvlan owns (PACKET_OTHERHOST: the kernel drops them before PREROUTING).
# lab 2b: host tvT with t0 (10.13.0.1, veth to tvA) and a macvlan mv0 on t0 (bridge mode, own MAC, 10.14.0.5); capture on t0 (classic pcap, no --iface)
cd "$(dirname "$0")"
HOSTNS=tvT; A=tvA; CAPIF=t0
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add t0 netns $HOSTNS address 02:00:00:00:0d:01 type veth peer name a0 netns $A address 02:00:00:00:0d:02
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
  ip -n $HOSTNS link add mv0 link t0 address 02:00:00:00:0d:05 type macvlan mode bridge
  ip -n $HOSTNS addr add 10.13.0.1/24 dev t0; ip -n $HOSTNS addr add 10.14.0.5/24 dev mv0
  ip -n $A addr add 10.13.0.2/24 dev a0; ip -n $A addr add 10.14.0.2/24 dev a0
  ip -n $HOSTNS link set t0 up; ip -n $HOSTNS link set mv0 up; ip -n $A link set a0 up
  nsx $HOSTNS python3 $LIB/serve.py t:22 & SRV1=$!
}
teardown() { kill $SRV1; delns $A $HOSTNS; }
traffic() {
  nsx $A ping -c 2 -i 0.2 10.13.0.1; nsx $A ping -c 2 -i 0.2 10.14.0.5
  for h in 10.13.0.1 10.14.0.5; do
    nsx $A python3 -c "import socket;s=socket.create_connection(('$h',22));s.send(b'hi');print(s.recv(100));s.close()"
    nsx $A python3 -c "import socket;s=socket.socket();s.settimeout(1);print(s.connect_ex(('$h',25)))"
    nsx $A python3 -c "import socket;s=socket.socket(2,2);s.sendto(b'q',('$h',9999))"; sleep 1.1
  done
  # frames for another MAC (not the host's, not the macvlan's)
  IF=a0 TM=02:00:00:00:0d:01 nsx $A python3 -c "
import sys; sys.path.insert(0,'$D/../lib')
from odd import *
for d,h in (('02:00:00:00:0d:77','10.13.0.1'),('02:00:00:00:0d:77','10.14.0.5')):
    tx(T('10.13.0.2',h,25,53001),dmac=d,gap=0.2); tx(iph('10.13.0.2',h,1,icmp(8,0)),dmac=d,gap=0.2)
"
}
FWARGS=""
source ../lib/drv.sh
