# source after lib.sh. Router topology with userspace impairment (impair.py) on both links:
# $P-rc (rc0 198.51.100.2) -- $P-wa (x0|x1, impair.py) -- $P-rr (wan0 198.51.100.1, lan0 10.9.0.1)
# -- $P-wb (y0|y1, impair.py) -- $P-rs (rs0 10.9.0.2); P=${LAB:-ne}. IMPAIR: impair.py's options
# (both links, both ways). Offloads off on every end, so frames are whole and checksummed.
P=${LAB:-ne}; C=$P-rc; R=$P-rr; S=$P-rs; WA=$P-wa; WB=$P-wb
IMPAIR=${IMPAIR:-loss=5 reorder=25 dup=3 delay=5 jitter=5 corrupt=0.5 seed=1}
topo_up() {
delns $C $R $S $WA $WB
for n in $C $R $S $WA $WB; do mkns $n
  if [ -n "$IPV6" ] && [ $n != $WA ] && [ $n != $WB ]; then nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0
  else nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; fi; done
ip link add rc0 netns $C address 02:00:00:00:0a:02 type veth peer name x0 netns $WA
ip link add x1 netns $WA type veth peer name wan0 netns $R address 02:00:00:00:0a:01
ip link add lan0 netns $R address 02:00:00:00:0b:01 type veth peer name y0 netns $WB
ip link add y1 netns $WB type veth peer name rs0 netns $S address 02:00:00:00:0b:02
for x in "$C rc0" "$WA x0" "$WA x1" "$R wan0" "$R lan0" "$WB y0" "$WB y1" "$S rs0"; do set -- $x
  nsx $1 ethtool -K $2 tx off tso off gso off gro off >/dev/null 2>&1; ip -n $1 link set $2 up; done
ip -n $C addr add 198.51.100.2/24 dev rc0
ip -n $R addr add 198.51.100.1/24 dev wan0
ip -n $R addr add 10.9.0.1/24 dev lan0
ip -n $S addr add 10.9.0.2/24 dev rs0
ip -n $C route add 10.9.0.0/24 via 198.51.100.1
ip -n $S route add default via 10.9.0.1
nsx $R sysctl -qw net.ipv4.ip_forward=1
if [ -n "$IPV6" ]; then   # IPV6=1: 2001:db8:a::2 -- 2001:db8:a::1 | 2001:db8:b::1 -- 2001:db8:b::2, neighbours static
  nsx $R sysctl -qw net.ipv6.conf.all.forwarding=1
  ip -n $C addr add 2001:db8:a::2/64 dev rc0 nodad; ip -n $R addr add 2001:db8:a::1/64 dev wan0 nodad
  ip -n $R addr add 2001:db8:b::1/64 dev lan0 nodad; ip -n $S addr add 2001:db8:b::2/64 dev rs0 nodad
  ip -n $C -6 route add 2001:db8:b::/64 via 2001:db8:a::1; ip -n $S -6 route add default via 2001:db8:b::1
  for x in "$C rc0 2001:db8:a::1 0a:01" "$R wan0 2001:db8:a::2 0a:02" "$R lan0 2001:db8:b::2 0b:02" "$S rs0 2001:db8:b::1 0b:01"; do
    set -- $x; ip -n $1 neigh replace $3 lladdr 02:00:00:00:$4 dev $2 nud permanent; done
fi
# the router's own TCP sends one segment an skb (else OUTPUT counts GSO trains once: README)
ip -n $R link set wan0 gso_max_segs 1; ip -n $R link set lan0 gso_max_segs 1
nsx $WA python3 $(dirname "${BASH_SOURCE[0]}")/impair.py x0 x1 $IMPAIR & IMP1=$!
nsx $WB python3 $(dirname "${BASH_SOURCE[0]}")/impair.py y0 y1 $IMPAIR seed=2 & IMP2=$!
sleep 0.5
for x in "$C rc0 198.51.100.1" "$R wan0 198.51.100.2" "$R lan0 10.9.0.2" "$S rs0 10.9.0.1"; do set -- $x
  for i in 1 2 3 4 5; do nsx $1 ping -c1 -W1 $3 >/dev/null && break; done; done
sleep 1
}
topo_down() { kill $IMP1 $IMP2 2>/dev/null; delns $C $R $S $WA $WB; }
