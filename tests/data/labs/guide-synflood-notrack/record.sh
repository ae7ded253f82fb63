#!/bin/bash
# Guide-style host firewall with the raw table's NOTRACK for DNS (INPUT and OUTPUT accept
# UNTRACKED), a syn_flood chain (`--syn -j syn_flood`, `limit --limit 10/s --limit-burst 5 -j
# RETURN`, DROP), the "locked out for a day" port-scan trap (`recent --rcheck --seconds 86400`,
# `--remove`, `--set` on port 139 with LOG), pings limited by `recent --update --seconds 1
# --hitcount 3`, and an OUTPUT `hashlimit --hashlimit-upto` on the web server's answers
# (rules6 adds `-m rt --rt-type 0` and ICMPv6 with hop limit 255); traffic.py's raw-socket SYN
# flood while a client fetches pages, queries, a scan of 139, one-request pings. IPv4 then IPv6,
# tcpdump -i any on the server. Recorded as root on Linux 6.18, iptables 1.8.9 (nft).
# Namespaces hg-s (server) and hg-c.
cd "$(dirname "$0")"
HOSTNS=hg-s; A=hg-c; CAPIF=${CAPIF:-any}
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add t0 netns $HOSTNS address 02:00:00:00:09:01 type veth peer name a0 netns $A address 02:00:00:00:09:02
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0; done
  ip -n $HOSTNS addr add 10.9.0.1/24 dev t0; ip -n $HOSTNS addr add 2001:db8:9::1/64 dev t0 nodad
  for i in 2 3 4 5 6 7 8; do ip -n $A addr add 10.9.0.$i/24 dev a0; ip -n $A addr add 2001:db8:9::$i/64 dev a0 nodad; done
  ip -n $HOSTNS link set t0 up; ip -n $A link set a0 up
  ip -n $A route add 224.0.0.0/4 dev a0
  [ -n "$OFFLOAD" ] && { nsx $A ethtool -K a0 tx $OFFLOAD; nsx $HOSTNS ethtool -K t0 tx $OFFLOAD; }
  nsx $HOSTNS python3 $LIB/guidesrv.py & SRV1=$!
  sleep 2
}
teardown() { kill $SRV1; delns $A $HOSTNS; }
traffic() { nsx $A python3 traffic.py 4; nsx $A python3 traffic.py 6; }
source ../lib/drv.sh
# drv.sh wrote one args file; the two cases replay the one capture
rm -f args; printf -- '--host-config\nhost.json\n--conntrack-start\nempty\n' > v4.args; printf -- 'rules=rules6\nkernel=kernel6.save\n' > v6.args; cat v4.args >> v6.args
