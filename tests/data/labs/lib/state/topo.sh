# h9b topology: h9d-h host  h0 192.0.2.1/24 2001:db8:1::1/64 --- h9d-r router m0 192.0.2.254 2001:db8:1::fe | m1 198.51.100.254 2001:db8:2::fe --- h9d-p peer p0 198.51.100.2 2001:db8:2::2
#               host h1 203.0.113.1/24 2001:db8:3::1/64 --- h9d-l LAN peer l0 203.0.113.2/24 2001:db8:3::2/64
H=h9d-h; P=h9d-p; M=h9d-r; L=h9d-l
topo_up() {
  delns $H $P $M $L
  mkns $H; mkns $P; mkns $M; mkns $L
  ip link add h0 netns $H address 02:00:00:00:00:01 type veth peer name m0 netns $M address 02:00:00:00:00:fe
  ip link add p0 netns $P address 02:00:00:00:00:02 type veth peer name m1 netns $M address 02:00:00:00:01:fe
  ip link add h1 netns $H address 02:00:00:00:03:01 type veth peer name l0 netns $L address 02:00:00:00:03:02
  for n in $H $P $M $L; do nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0; done
  nsx $M sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ip -n $H addr add 192.0.2.1/24 dev h0; ip -n $H addr add 2001:db8:1::1/64 dev h0 nodad
  ip -n $H addr add 203.0.113.1/24 brd 203.0.113.255 dev h1; ip -n $H addr add 2001:db8:3::1/64 dev h1 nodad
  ip -n $M addr add 192.0.2.254/24 dev m0; ip -n $M addr add 2001:db8:1::fe/64 dev m0 nodad
  ip -n $M addr add 198.51.100.254/24 dev m1; ip -n $M addr add 2001:db8:2::fe/64 dev m1 nodad
  ip -n $P addr add 198.51.100.2/24 dev p0; ip -n $P addr add 2001:db8:2::2/64 dev p0 nodad
  ip -n $L addr add 203.0.113.2/24 brd 203.0.113.255 dev l0; ip -n $L addr add 2001:db8:3::2/64 dev l0 nodad
  for x in "$H h0" "$H h1" "$P p0" "$M m0" "$M m1" "$L l0"; do set -- $x; ip -n $1 link set $2 up; done
  ip -n $H route add default via 192.0.2.254; ip -n $H -6 route add default via 2001:db8:1::fe
  ip -n $P route add default via 198.51.100.254; ip -n $P -6 route add default via 2001:db8:2::fe
  ip -n $L route add 224.0.0.0/4 dev l0; ip -n $L route add 255.255.255.255/32 dev l0
  sleep 2.5
  nsx $H ping -c1 -W1 198.51.100.2 >/dev/null; nsx $H ping -6 -c1 -W1 2001:db8:2::2 >/dev/null
  nsx $H ping -c1 -W1 203.0.113.2 >/dev/null; nsx $H ping -6 -c1 -W1 2001:db8:3::2 >/dev/null
}
host_cfg() { local ns=${1:-$H}; nsx $ns sh -c 'printf "{\"addr\": %s, \"route\": %s, \"maddr\": %s}\n" "$(ip -j addr)" "$(python3 -c "import json,subprocess as s;print(json.dumps(json.loads(s.check_output([\"ip\",\"-j\",\"route\"]))+json.loads(s.check_output([\"ip\",\"-6\",\"-j\",\"route\"]))))")" "$(ip -j maddr)"'; }
