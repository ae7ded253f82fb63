#!/bin/bash
# The Arch wiki's port-knocking ruleset (recent lists SSH0, SSH1, SSH2 in user chains, --rcheck,
# --set, --remove, 8881 7777 9991 then ssh within 30 s), with a UDP knock opening port 80 for a
# whole subnet (recent --mask /24, /64 in rules6) for 3 s with --reap; traffic.py's clients knock
# in order, out of order and interrupted, and the reap removes the list's oldest entry (another
# subnet's) and the working one. IPv4 then IPv6, tcpdump -i any on the server, veth tx
# checksum offload off (OFFLOAD=off). Recorded as root on Linux 6.18, iptables 1.8.9 (nft).
# Namespaces hg-s (server) and hg-c.
cd "$(dirname "$0")"
HOSTNS=hg-s; A=hg-c; CAPIF=${CAPIF:-any}; OFFLOAD=${OFFLOAD-off}
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add t0 netns $HOSTNS address 02:00:00:00:09:01 type veth peer name a0 netns $A address 02:00:00:00:09:02
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0; done
  for s in 0 1; do ip -n $HOSTNS addr add 10.9.$s.1/24 dev t0; ip -n $HOSTNS addr add 2001:db8:$(printf %x $((9+s)))::1/64 dev t0 nodad; done
  for i in 2 3 4 5 6 7 8; do for s in 0 1; do ip -n $A addr add 10.9.$s.$i/24 dev a0; ip -n $A addr add 2001:db8:$(printf %x $((9+s)))::$i/64 dev a0 nodad; done; done
  ip -n $HOSTNS link set t0 up; ip -n $A link set a0 up
  [ -n "$OFFLOAD" ] && { nsx $A ethtool -K a0 tx $OFFLOAD; nsx $HOSTNS ethtool -K t0 tx $OFFLOAD; }
  nsx $HOSTNS python3 $LIB/guidesrv.py & SRV1=$!
  sleep 2
}
teardown() { kill $SRV1; delns $A $HOSTNS; }
traffic() { nsx $A python3 traffic.py 4; nsx $A python3 traffic.py 6; }
source ../lib/drv.sh
# drv.sh wrote one args file; the two cases replay the one capture
rm -f args; printf -- '--host-config\nhost.json\n--conntrack-start\nempty\n' > v4.args; printf -- 'rules=rules6\nkernel=kernel6.save\n' > v6.args; cat v4.args >> v6.args
