#!/bin/bash
# fwcheck kernel hunt (2026-12-07): the host talks to itself over lo (127.0.0.1:80); raw OUTPUT gives the server's
# packets a conntrack template (CT --zone 6), in which they find no connection: INVALID, and nf_conntrack_in clears
# the skb's _nfct. Looped back, they meet raw PREROUTING's `-i lo -j CT --notrack`, which (no _nfct) makes them
# UNTRACKED in INPUT. Captured on lo. Recorded as root on Linux 6.18, iptables 1.8.9 (nft).
cd "$(dirname "$0")"
HOSTNS=h2T; A=h2A; CAPIF=lo
setup_topo() {
  delns $HOSTNS; mkns $HOSTNS
  nsx $HOSTNS sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  nsx $HOSTNS python3 $LIB/serve.py t:80 & SRV1=$!
  sleep 1
}
teardown() { kill $SRV1; delns $HOSTNS; }
traffic() { nsx $HOSTNS python3 -c "
import socket; s=socket.create_connection(('127.0.0.1',80),timeout=2); s.sendall(b'hello'); print(s.recv(100)); s.close()"; }
FWARGS="--iface lo --host 127.0.0.1"
source ../lib/drv.sh
