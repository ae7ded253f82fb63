#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07): the host broadcasts (DHCP-like, NetBIOS-like, to 255.255.255.255 and its subnet broadcast); the kernel loops each copy back through POSTROUTING, PREROUTING and INPUT (ip_mc_output).
# lab 1: host's own IPv4 broadcasts (255.255.255.255 and subnet 10.9.0.255), DHCP/NetBIOS-like, with raw/mangle/nat tables, conntrack, recent; INPUT DROP
cd "$(dirname "$0")"
HOSTNS=tvT; A=tvA; CAPIF=t0
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add t0 netns $HOSTNS address 02:00:00:00:09:01 type veth peer name a0 netns $A address 02:00:00:00:09:02
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
  ip -n $HOSTNS addr add 10.9.0.1/24 dev t0; ip -n $A addr add 10.9.0.2/24 dev a0
  ip -n $HOSTNS link set t0 up; ip -n $A link set a0 up
  ip -n $HOSTNS route add default via 10.9.0.2; ip -n $A route add default via 10.9.0.1
  nsx $HOSTNS python3 $LIB/serve.py t:22 u:5353 & SRV1=$!
}
teardown() { kill $SRV1; delns $A $HOSTNS; }
traffic() {
  nsx $A python3 $D/bc.py peer & P=$!
  sleep 0.3
  nsx $HOSTNS python3 $D/bc.py host
  wait $P
  nsx $A python3 $D/bc.py peerbc
  # ordinary traffic
  nsx $HOSTNS ping -c 2 -i 0.2 10.9.0.2
  nsx $A ping -c 2 -i 0.2 10.9.0.1
  nsx $A ping -c 1 -b 10.9.0.255
  nsx $A python3 -c "import socket;s=socket.create_connection(('10.9.0.1',22));s.send(b'hi');print(s.recv(100));s.close()"
  nsx $A python3 -c "import socket;s=socket.socket(2,2);s.settimeout(1);s.sendto(b'q',('10.9.0.1',5353));print(s.recvfrom(100))"
  nsx $HOSTNS python3 $D/bc.py host
}
FWARGS="--iface t0"
source ../lib/drv.sh
