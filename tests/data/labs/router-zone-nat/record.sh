#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-08); replayed with v4.args, v6.args.
# Conntrack zones under NAT on a router, real sockets (traffic.py), the same rules in both families: two LAN hosts in
# zones 1 and 2 of their original direction only (CT --zone-orig) MASQUERADEd to the router's address with one source
# port held at once (TCP, UDP) and one ICMP echo id: their reply tuples share the default zone, so the second gets a
# port (id) the kernel picks, which its outgoing copy shows; a DNAT in zone 7 with the server's replies given zone 7 by
# their own template; a DNATed UDP flow whose reply direction is in zone 4 (CT --zone-reply): the server's answers,
# with no template, are in zone 0 and find no connection — each opens one of its own, MASQUERADEd on the way out.
# router czr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between czc (c0) and czs (s0,
# also 10.9.0.3 and .5, 2001:db8:b::3 and ::5); tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=cz; export RLAB
lab_topo() {
  for n in $C $S; do nsx $n sysctl -qw net.ipv4.ip_local_port_range="50000 60000"; done
  for a in 3 5; do
    ip -n $S addr add 10.9.0.$a/24 dev s0; ip -n $S addr add 2001:db8:b::$a/64 dev s0 nodad
    ip -n $R neigh replace 10.9.0.$a lladdr 02:00:00:00:0b:02 dev lan0 nud permanent
    ip -n $R neigh replace 2001:db8:b::$a lladdr 02:00:00:00:0b:02 dev lan0 nud permanent
  done
  nsx $S python3 ../lib/serve6.py t:80 u:53 > /dev/null 2>&1 &
  nsx $C python3 ../lib/serve6.py t:80 u:53 > /dev/null 2>&1 &
  sleep 3
}
source ../lib/rlab.sh
