#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed by tests/recorded_labs.rs with args.
# The host ndH (t0 2001:db8:a::1/64 to the peer ndA, t1 2001:db8:f::1/64 to ndB) routes 2001:db8:9::/64 via 2001:db8:f::99
# on t1, a next hop no one holds. ndA sends it datagrams on t0 from 2001:db8:9::5: the host's answers (REJECT's and the
# stack's port unreachables) cross OUTPUT and POSTROUTING, wait for the gateway — the host solicits 2001:db8:f::99, not
# the source — and are dropped unsent when its entry fails, with no error (icmp6_send answers no ICMPv6 error).
cd "$(dirname "$0")"
HOSTNS=ndH; A=ndA; B=ndB; CAPIF=any
setup_topo() {
  delns $A $B $HOSTNS; mkns $A; mkns $B; mkns $HOSTNS
  for n in $A $B $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0; done
  ip link add t0 netns $HOSTNS address 02:00:00:00:0d:01 type veth peer name a0 netns $A address 02:00:00:00:0d:02
  ip link add t1 netns $HOSTNS address 02:00:00:00:0d:11 type veth peer name b0 netns $B address 02:00:00:00:0d:12
  ip -n $HOSTNS addr add 2001:db8:a::1/64 dev t0 nodad; ip -n $A addr add 2001:db8:a::2/64 dev a0 nodad
  ip -n $A addr add 2001:db8:9::5/128 dev a0 nodad
  ip -n $HOSTNS addr add 2001:db8:f::1/64 dev t1 nodad; ip -n $B addr add 2001:db8:f::2/64 dev b0 nodad
  for l in "$HOSTNS t0" "$HOSTNS t1" "$A a0" "$B b0"; do set -- $l; ip -n $1 link set $2 up; done
  ip -n $HOSTNS -6 route add 2001:db8:9::/64 via 2001:db8:f::99 dev t1
  ip -n $HOSTNS neigh replace 2001:db8:a::2 lladdr 02:00:00:00:0d:02 dev t0 nud permanent
  ip -n $A neigh replace 2001:db8:a::1 lladdr 02:00:00:00:0d:01 dev a0 nud permanent
  sleep 4  # the interfaces' link-local DAD and unsolicited MLD reports before the rules load
}
teardown() { delns $A $B $HOSTNS; }
traffic() {
  nsx $A python3 -c "
import socket,time
u=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); u.bind(('2001:db8:9::5',0))
for p in (5000,5001,5000,5001): u.sendto(b'x'*20,('2001:db8:a::1',p)); time.sleep(0.1)"
  nsx $A ping -6 -c 1 -W 1 2001:db8:a::1
}
SETTLE=4
FWARGS=""
source ../lib/drv.sh
(printf 'rules=rules6\nkernel=kernel6.save\n'; cat args) > args.new && mv args.new args
