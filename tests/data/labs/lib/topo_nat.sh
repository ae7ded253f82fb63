# NAT router topology: $C (WAN host c0 198.51.100.2 2001:db8:a::2, forwards to d0 203.0.113.1/24 2001:db8:c::1/64, unreachable 203.0.113.128/25)
# -- $R (wan0 198.51.100.1 2001:db8:a::1, lan0 10.9.0.1 2001:db8:b::1) -- $S (s0 10.9.0.2 10.9.0.3 2001:db8:b::2 2001:db8:b::3); d0 is a veth whose peer d1 (no address) is where C's forwarded packets go, to a neighbour MAC nobody has; static neighbours, fixed MACs
C=${NSP:-h4}c; R=${NSP:-h4}r; S=${NSP:-h4}s
topo_up() {
  delns $C $R $S
  for n in $C $R $S; do mkns $n; nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0; done
  for n in $R $C; do nsx $n sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1; done
  ip link add c0 netns $C address 02:00:00:00:0a:02 type veth peer name wan0 netns $R address 02:00:00:00:0a:01
  ip link add lan0 netns $R address 02:00:00:00:0b:01 type veth peer name s0 netns $S address 02:00:00:00:0b:02
  ip -n $C link add d0 type veth peer name d1; ip -n $C link set d1 up; ip -n $C link set d0 mtu ${D0MTU:-1280} up
  ip -n $C addr add 203.0.113.1/24 dev d0; ip -n $C addr add 2001:db8:c::1/64 dev d0 nodad
  ip -n $C route add unreachable 203.0.113.128/25; ip -n $C -6 route add unreachable 2001:db8:c:0:8000::/65
  ip -n $C addr add 198.51.100.2/24 dev c0; ip -n $C addr add 2001:db8:a::2/64 dev c0 nodad
  ip -n $R addr add 198.51.100.1/24 dev wan0; ip -n $R addr add 2001:db8:a::1/64 dev wan0 nodad
  ip -n $R addr add 10.9.0.1/24 dev lan0; ip -n $R addr add 2001:db8:b::1/64 dev lan0 nodad
  ip -n $S addr add 10.9.0.2/24 dev s0; ip -n $S addr add 10.9.0.3/24 dev s0
  ip -n $S addr add 2001:db8:b::2/64 dev s0 nodad; ip -n $S addr add 2001:db8:b::3/64 dev s0 nodad
  for x in "$C c0" "$R wan0" "$R lan0" "$S s0"; do set -- $x; ip -n $1 link set $2 up; done
  [ -n "$WANMTU" ] && { ip -n $R link set wan0 mtu $WANMTU; ip -n $C link set c0 mtu $WANMTU; }
  [ -z "$NOROUTE" ] && { ip -n $R route add 203.0.113.0/24 via 198.51.100.2; ip -n $R -6 route add 2001:db8:c::/64 via 2001:db8:a::2; }
  ip -n $S route add default via 10.9.0.1; ip -n $S -6 route add default via 2001:db8:b::1
  for x in "$C c0 198.51.100.1 0a:01" "$C c0 2001:db8:a::1 0a:01" "$R wan0 198.51.100.2 0a:02" "$R wan0 2001:db8:a::2 0a:02" \
           "$R lan0 10.9.0.2 0b:02" "$R lan0 10.9.0.3 0b:02" "$R lan0 2001:db8:b::2 0b:02" "$R lan0 2001:db8:b::3 0b:02" \
           "$S s0 10.9.0.1 0b:01" "$S s0 2001:db8:b::1 0b:01"; do
    set -- $x; ip -n $1 neigh replace $3 lladdr 02:00:00:00:$4 dev $2 nud permanent; done
  ip -n $C neigh replace 203.0.113.5 lladdr 02:00:00:00:0c:05 dev d0 nud permanent; ip -n $C neigh replace 2001:db8:c::5 lladdr 02:00:00:00:0c:05 dev d0 nud permanent
  sleep 2
}
