#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), shorewall/shorewall6 5.2.8, by a kernel hunt (2026-12-07).
# The ruleset shorewall and shorewall6 write for their one-interface sample (shorewall/, shorewall6/:
# the sample with SSH, HTTP, DNS and Ping opened) on a host: helper CT templates in raw,
# conntrack, addrtype, hashlimit-limited LOG chains, tcpflags, smurfs, recent, REJECT chains.
# `shorewall start` runs in the host namespace and its tables are saved as rules/rules6, then
# lib/gentraffic.sh's traffic (connections, DNS-like UDP, pings, nmap scans), tcpdump -i any.
cd "$(dirname "$0")"
HOSTNS=swsh; A=swsp; CAPIF=any
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add eth0 netns $HOSTNS address 02:00:00:00:00:01 type veth peer name p0 netns $A address 02:00:00:00:00:02
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0; done
  ip -n $HOSTNS addr add 192.0.2.1/24 dev eth0; ip -n $HOSTNS addr add 2001:db8:1::1/64 dev eth0 nodad
  ip -n $A addr add 192.0.2.2/24 dev p0; ip -n $A addr add 2001:db8:1::2/64 dev p0 nodad
  ip -n $HOSTNS link set eth0 up; ip -n $A link set p0 up
  sleep 2
  if [ -z "$KEEP_RULES" ]; then
    nsx $HOSTNS shorewall start $D/shorewall > shorewall.log 2>&1 || echo SHOREWALL FAILED
    nsx $HOSTNS shorewall6 start $D/shorewall6 >> shorewall.log 2>&1 || echo SHOREWALL6 FAILED
    nsx $HOSTNS iptables-save > rules; nsx $HOSTNS ip6tables-save > rules6
  fi
  gen_up
}
teardown() { gen_down; delns $A $HOSTNS; }
traffic() { gen_traffic; }
source ../lib/lib.sh; LIB=$(cd ../lib && pwd); source $LIB/gentraffic.sh
source ../lib/drv.sh
mv args v4.args; printf 'rules=rules6\nkernel=kernel6.save\n' | cat - v4.args > v6.args
