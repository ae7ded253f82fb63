#!/bin/bash
# Guide-style host firewall (rules, rules6) against real clients, one role per source address
# (../guide-bruteforce/traffic.py): an admin (mac+iprange ssh, http keep-alive, dns, ping), an ssh brute-forcer
# (recent --set/--update --hitcount 4 --rttl; SYN retransmissions; other TTLs), a web client
# with 6 then 3 concurrent keep-alive connections (connlimit above 3, tcp-reset), a dns burst
# (hashlimit above 10/s) and queries from ports below 1024, a fast ping and ten one-request pings 50 ms apart (limit 1/s burst 4),
# ICMP with TTL 1, a raw-socket scanner (SYN, FIN, NULL, XMAS, SYN+FIN, SYN+RST, ACK, UDP
# probes), a broadcast and a multicast datagram. IPv4 then IPv6, tcpdump -i any on the server
# (guide-bruteforce) or on its one device t0 (guide-bruteforce-port: a classic pcap that names no
# interface, Ethernet headers; CAPIF=t0).
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft). Namespaces hg-s (server) and hg-c.
cd "$(dirname "$0")"
HOSTNS=hg-s; A=hg-c; CAPIF=${CAPIF:-t0}
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
traffic() { nsx $A python3 ../guide-bruteforce/traffic.py 4; nsx $A python3 ../guide-bruteforce/traffic.py 6; }
source ../lib/drv.sh
# drv.sh wrote one args file; the two cases replay the one capture
rm -f args; printf -- '--host-config\nhost.json\n--conntrack-start\nempty\n' > v4.args; printf -- 'rules=rules6\nkernel=kernel6.save\n' > v6.args; cat v4.args >> v6.args
