# source after lib.sh; creates $LAB-rc (198.51.100.2) -- $LAB-rr (wan0 198.51.100.1, lan0 10.9.0.1) -- $LAB-rs (10.9.0.2), LAB defaulting to hunt
P=${LAB:-hunt}; C=$P-rc; R=$P-rr; S=$P-rs
topo_up() {
delns $C $R $S
for n in $C $R $S; do mkns $n; nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add rc0 netns $C type veth peer name wan0 netns $R
ip link add lan0 netns $R type veth peer name rs0 netns $S
ip -n $C addr add 198.51.100.2/24 dev rc0
ip -n $R addr add 198.51.100.1/24 dev wan0
ip -n $R addr add 10.9.0.1/24 dev lan0
ip -n $S addr add 10.9.0.2/24 dev rs0
for x in "$C rc0" "$R wan0" "$R lan0" "$S rs0"; do set -- $x; ip -n $1 link set $2 up; done
ip -n $C route add 10.9.0.0/24 via 198.51.100.1
ip -n $S route add default via 10.9.0.1
nsx $R sysctl -qw net.ipv4.ip_forward=1
nsx $C $PY -c "import socket;s=socket.socket(2,2);s.sendto(b'a',('198.51.100.1',9))"; nsx $S $PY -c "import socket;s=socket.socket(2,2);s.sendto(b'a',('10.9.0.1',9))"
nsx $R $PY -c "import socket;s=socket.socket(2,2);s.sendto(b'a',('10.9.0.2',9));s.sendto(b'a',('198.51.100.2',9))"
sleep 1
}
topo_down() { delns $C $R $S; }
FWR="--router --iface-addr wan0=198.51.100.1/24 --iface-addr lan0=10.9.0.1/24 --format json --fail-on never"
