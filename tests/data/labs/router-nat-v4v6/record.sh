#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-08); replayed with v4.args, v6.args.
# IPv4 and IPv6 NAT on one router with real sockets (traffic.py), the same rules in both families: DNAT to an
# address and port, DNAT into a FORWARD REJECT (port unreachable, tcp-reset: the errors leave translated back),
# REDIRECT to the router's own port 22, NETMAP both ways (198.51.100.64/28 <-> 10.9.0.0/28, 2001:db8:a::1:0/112 <->
# 2001:db8:b::/112), SNAT of two LAN hosts to the router's address with the same source port held at once (TCP, UDP) and
# the same ICMP echo id, MASQUERADE with a closed port's ICMP error and reset coming back through it.
# router czr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between czc (c0) and czs (s0,
# also 10.9.0.3-5, 2001:db8:b::3-5); tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=cz; export RLAB
lab_topo() {
  for n in $C $S; do nsx $n sysctl -qw net.ipv4.ip_local_port_range="50000 60000"; done
  for a in 3 4 5; do
    ip -n $S addr add 10.9.0.$a/24 dev s0; ip -n $S addr add 2001:db8:b::$a/64 dev s0 nodad
    ip -n $R neigh replace 10.9.0.$a lladdr 02:00:00:00:0b:02 dev lan0 nud permanent
    ip -n $R neigh replace 2001:db8:b::$a lladdr 02:00:00:00:0b:02 dev lan0 nud permanent
  done
  ip -n $C neigh replace 198.51.100.66 lladdr 02:00:00:00:0a:01 dev c0 nud permanent
  ip -n $C neigh replace 2001:db8:a::1:2 lladdr 02:00:00:00:0a:01 dev c0 nud permanent
  nsx $S python3 ../lib/serve6.py t:80 u:53 > /dev/null 2>&1 &
  nsx $C python3 ../lib/serve6.py t:80 u:53 > /dev/null 2>&1 &
  nsx $R python3 ../lib/serve6.py t:22 > /dev/null 2>&1 &
  sleep 3
}
source ../lib/rlab.sh
