#!/bin/bash
# Odd IP-level and ICMP traffic at a stateful host (probes.py): ICMP query types 13-18 and types
# conntrack cannot track (no invmap entry, above 18), replies without a request, broadcasts,
# TTL 0/1, IP options (record route, timestamp, router alert, LSRR/SSRR, unknown), ICMP errors
# about the host's queries and replies, about an error, quoting fragments and options; IPIP,
# 6in4, GRE, ESP and protocols without a handler; ICMPv6 node information, private types, errors
# about errors, hop limit 0/1, next headers 4/41/47/59, routing header type 0, hop-by-hop; packets
# for other hosts (not a router): IPv6 without a route gets "no route" (ip6_pkt_discard), RELATED.
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); host icH
# (h0, and d1, a second veth to icP, with other addresses) -- veth -- icP (p0), captured with tcpdump -i any.
cd "$(dirname "$0")"
HOSTNS=icH; A=icP; CAPIF=any
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0; done
  ip link add h0 netns $HOSTNS address 02:00:00:00:0e:10 type veth peer name p0 netns $A address 02:00:00:00:0e:01
  ip link add d1 netns $HOSTNS address 02:00:00:00:0e:20 type veth peer name p1 netns $A address 02:00:00:00:0e:02
  ip -n $HOSTNS addr add 192.0.2.10/24 dev h0; ip -n $HOSTNS addr add 2001:db8:1::10/64 dev h0 nodad
  ip -n $HOSTNS addr add 203.0.113.10/24 dev d1; ip -n $HOSTNS addr add 2001:db8:2::10/64 dev d1 nodad
  ip -n $A addr add 192.0.2.1/24 dev p0; ip -n $A addr add 2001:db8:1::1/64 dev p0 nodad
  for x in "$HOSTNS h0" "$HOSTNS d1" "$A p0" "$A p1"; do set -- $x; ip -n $1 link set $2 up; done
  ip -n $HOSTNS route add 203.0.113.77/32 via 192.0.2.1; ip -n $HOSTNS -6 route add 2001:db8:4::/64 via 2001:db8:1::1
  for x in "$HOSTNS h0 192.0.2.1 0e:01" "$HOSTNS h0 2001:db8:1::1 0e:01" "$HOSTNS h0 192.0.2.99 0e:01" "$A p0 192.0.2.10 0e:10" "$A p0 2001:db8:1::10 0e:10"; do
    set -- $x; ip -n $1 neigh replace $3 lladdr 02:00:00:00:$4 dev $2 nud permanent; done
  sleep 2
}
teardown() { delns $A $HOSTNS; }
traffic() {
  nsx $HOSTNS python3 $D/probes.py own; sleep 0.3
  nsx $A python3 $D/probes.py all
  nsx $A hping3 -q -c 1 --icmp-ts 192.0.2.10; nsx $A hping3 -q -c 1 --icmp-addr 192.0.2.10
  nsx $A nmap -n -sn -PE -PP -PM --max-retries 0 192.0.2.10
  nsx $A nmap -n -sO -p 1,2,4,6,17,41,47,50,58,103,132,136,200 --max-retries 0 192.0.2.10
}
SETTLE=0.5
source ../lib/drv.sh
printf -- '--host-config\nhost.json\n--conntrack-start\nempty\n' > v4.args
printf -- 'rules=rules6\nkernel=kernel6.save\n--host-config\nhost.json\n--conntrack-start\nempty\n' > v6.args
rm -f args
