# source after lib.sh. Host topology: hunt3-h (h0: 192.0.2.1/24, 2001:db8:1::1/64) -- hunt3-p (p0: 192.0.2.2/24, 2001:db8:1::2/64)
H=hunt3-h; P=hunt3-p
host_up() {
  delns $H $P
  mkns $H; mkns $P
  ip link add h0 netns $H address 02:00:00:00:00:01 type veth peer name p0 netns $P address 02:00:00:00:00:02
  for n in $H $P; do nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0; done
  ip -n $H addr add 192.0.2.1/24 dev h0; ip -n $H addr add 2001:db8:1::1/64 dev h0 nodad
  ip -n $P addr add 192.0.2.2/24 dev p0; ip -n $P addr add 2001:db8:1::2/64 dev p0 nodad
  ip -n $H link set h0 up; ip -n $P link set p0 up
  ip -n $P route add 224.0.0.0/4 dev p0; ip -n $P route add 255.255.255.255/32 dev p0; ip -n $P route add 203.0.113.0/24 via 192.0.2.1
  sleep 2.5
}
host_cfg() { local ns=${1:-$H}; nsx $ns sh -c 'printf "{\"addr\": %s, \"route\": %s, \"maddr\": %s}\n" "$(ip -j addr)" "$(python3 -c "import json,subprocess as s;print(json.dumps(json.loads(s.check_output([\"ip\",\"-j\",\"route\"]))+json.loads(s.check_output([\"ip\",\"-6\",\"-j\",\"route\"]))))")" "$(ip -j maddr)"'; }
