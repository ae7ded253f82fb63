#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed by tests/recorded_labs.rs with v4.args and v6.args.
# The host pings, and opens a TCP connection to, a neighbour that never answers ARP / neighbour discovery: the packets wait in
# the neighbour queue after POSTROUTING (their connection confirmed) and are never sent; the stack's "host unreachable" /
# "address unreachable" to the host itself over lo (arp_error_report, ndisc_error_report) quotes each and is RELATED.
cd "$(dirname "$0")"
HOSTNS=nuS; A=nuA; CAPIF=any
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0; done
  ip link add t0 netns $HOSTNS address 02:00:00:00:0e:01 type veth peer name a0 netns $A address 02:00:00:00:0e:02
  ip -n $HOSTNS addr add 192.0.2.1/24 dev t0; ip -n $A addr add 192.0.2.2/24 dev a0
  ip -n $HOSTNS addr add 2001:db8:e::1/64 dev t0 nodad; ip -n $A addr add 2001:db8:e::2/64 dev a0 nodad
  ip -n $HOSTNS link set t0 up; ip -n $A link set a0 up
  sleep 4  # the interfaces' unsolicited MLD reports before the rules load
}
teardown() { delns $A $HOSTNS; }
traffic() {
  nsx $HOSTNS ping -c 2 -i 0.2 -W 4 192.0.2.9
  nsx $HOSTNS ping -6 -c 2 -i 0.2 -W 4 2001:db8:e::9
  for a in 192.0.2.9 2001:db8:e::9; do nsx $HOSTNS timeout 6 python3 -c "
import socket,sys
a=sys.argv[1]; s=socket.socket(socket.AF_INET6 if ':' in a else socket.AF_INET)
s.settimeout(5)
try: s.connect((a,80))
except Exception as e: print(a, e)" $a; done
}
SETTLE=2
FWARGS=""
source ../lib/drv.sh
mv args v4.args; (printf 'rules=rules6\nkernel=kernel6.save\n'; cat v4.args) > v6.args
