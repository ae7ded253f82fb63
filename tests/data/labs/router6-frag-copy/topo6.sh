# source after lib.sh; hunt2-c6 (2001:db8:a::2) -- hunt2-r6 (wan0 2001:db8:a::1 / lan0 2001:db8:b::1, lan0 mtu 1280) -- hunt2-s6 (2001:db8:b::2)
C=hk34-c6; R=hk34-r6; S=hk34-s6
topo6_up() {
delns $C $R $S
for n in $C $R $S; do mkns $n
  nsx $n sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.default.addr_gen_mode=1 net.ipv6.conf.default.accept_ra=0
done
ip link add rc0 netns $C type veth peer name wan0 netns $R
ip link add lan0 netns $R type veth peer name rs0 netns $S
ip -n $R link set lan0 mtu 1280; ip -n $S link set rs0 mtu 1280
ip -n $C addr add 2001:db8:a::2/64 dev rc0 nodad
ip -n $C addr add fe80::2/64 dev rc0 nodad
ip -n $R addr add 2001:db8:a::1/64 dev wan0 nodad
ip -n $R addr add fe80::1/64 dev wan0 nodad
ip -n $R addr add 2001:db8:b::1/64 dev lan0 nodad
ip -n $R addr add fe80::1/64 dev lan0 nodad
ip -n $S addr add 2001:db8:b::2/64 dev rs0 nodad
ip -n $S addr add fe80::2/64 dev rs0 nodad
for x in "$C rc0" "$R wan0" "$R lan0" "$S rs0"; do set -- $x; ip -n $1 link set $2 up; done
ip -n $C -6 route add 2001:db8:b::/64 via 2001:db8:a::1
ip -n $S -6 route add default via 2001:db8:b::1
nsx $R sysctl -qw net.ipv6.conf.all.forwarding=1
sleep 1
nsx $C ping -6 -c1 -W1 2001:db8:b::2 >/dev/null; nsx $S ping -6 -c1 -W1 2001:db8:a::2 >/dev/null
nsx $R ping -6 -c1 -W1 2001:db8:a::2 >/dev/null; nsx $R ping -6 -c1 -W1 2001:db8:b::2 >/dev/null
sleep 1
}
topo6_down() { delns $C $R $S; }
