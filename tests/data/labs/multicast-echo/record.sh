#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed by tests/recorded_labs.rs with v4.args and v6.args.
# Pings to ff02::1 (from the peer, and from the host) and to the subnet broadcast (icmp_echo_ignore_broadcasts=0): each answer
# comes from a unicast address the request was not sent to, so conntrack calls it INVALID (ff02::1 / 192.0.2.255 is the reply tuple's source)
cd "$(dirname "$0")"
HOSTNS=mpS; A=mpA; CAPIF=any
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add t0 netns $HOSTNS address 02:00:00:00:0d:01 type veth peer name a0 netns $A address 02:00:00:00:0d:02
  ip -n $HOSTNS addr add 192.0.2.1/24 dev t0; ip -n $A addr add 192.0.2.2/24 dev a0
  ip -n $HOSTNS addr add 2001:db8:d::1/64 dev t0 nodad; ip -n $A addr add 2001:db8:d::2/64 dev a0 nodad
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0; done
  nsx $HOSTNS sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
  ip -n $HOSTNS link set t0 up; ip -n $A link set a0 up
  sleep 4
}
teardown() { delns $A $HOSTNS; }
traffic() {
  nsx $A ping -6 -c 3 -i 0.3 ff02::1%a0
  nsx $A ping -c 3 -i 0.3 -b 192.0.2.255
  nsx $HOSTNS ping -6 -c 2 -i 0.3 ff02::1%t0
}
FWARGS=""
source ../lib/drv.sh
mv args v4.args; (printf 'rules=rules6\nkernel=kernel6.save\n'; cat v4.args) > v6.args
