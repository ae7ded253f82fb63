#!/bin/bash
# The host's own multicast, looped back by the kernel (`ip_mc_output`, `ip6_finish_output2`):
# the host joined 239.1.1.1 and ff15::1 on t0 (IGMPv2 forced); it sends UDP to each with
# IP_MULTICAST_LOOP on (3 datagrams) and off (2), and to 239.2.2.2 / ff15::2, which it did not
# join (2 each); the peer sends an IGMPv2 general query (the host's report to 239.1.1.1 comes
# from no socket) and one datagram to 239.1.1.1. Recorded as root on Linux 6.18, iptables
# 1.8.9 (nft).
cd "$(dirname "$0")"
HOSTNS=tmH; A=tmA; CAPIF=t0
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add t0 netns $HOSTNS address 02:00:00:00:0a:01 type veth peer name a0 netns $A address 02:00:00:00:0a:02
  nsx $HOSTNS sysctl -qw net.ipv4.conf.t0.force_igmp_version=2 2>/dev/null || nsx $HOSTNS sysctl -qw net.ipv4.conf.all.force_igmp_version=2
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0; done
  ip -n $HOSTNS link set t0 up; ip -n $A link set a0 up
  nsx $HOSTNS sysctl -qw net.ipv4.conf.t0.force_igmp_version=2
  ip -n $HOSTNS addr add 10.9.0.1/24 dev t0; ip -n $A addr add 10.9.0.2/24 dev a0
  ip -n $HOSTNS addr add 2001:db8:9::1/64 dev t0 nodad; ip -n $A addr add 2001:db8:9::2/64 dev a0 nodad
  nsx $HOSTNS python3 $D/mc.py join & SRV1=$!
  sleep 2
}
teardown() { kill $SRV1; delns $A $HOSTNS; }
traffic() {
  nsx $HOSTNS python3 $D/mc.py host
  nsx $A python3 $D/mc.py query
}
SETTLE=1
FWARGS="--iface t0"
source ../lib/drv.sh
{ echo rules=rules; echo kernel=kernel.save; cat args; } > v4.args
{ echo rules=rules6; echo kernel=kernel6.save; cat args; } > v6.args
rm args
