# source after lib.sh. Namespaces $NSP-h, $NSP-p, $NSP-v (NSP defaults to h9a; a lab sets its own). Host $NSP-h: h0 192.0.2.1/24 (peer p0 192.0.2.2), h1 198.51.100.1/24 (peer p1 198.51.100.2)
# optional MACVLAN=1: host mv0 (macvlan bridge on h0, 02:00:00:00:00:11) 203.0.113.1/24; peer p0 has 203.0.113.2/24
NSP=${NSP:-h9a}; H=$NSP-h; P=$NSP-p; V=$NSP-v
# optional BRIDGE=1: br0 in the host with ports h0 and h2 (veth to namespace h9a-v, v0 192.0.2.3/24); 192.0.2.1/24 on br0
host_up() {
  delns $H $P $V
  mkns $H; mkns $P
  ip link add ${H0NAME:-h0} netns $H address 02:00:00:00:00:01 type veth peer name p0 netns $P address 02:00:00:00:00:02
  ip link add ${H1NAME:-h1} netns $H address 02:00:00:00:01:01 type veth peer name p1 netns $P address 02:00:00:00:01:02
  for n in $H $P; do nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
  if [ -n "$BRIDGE" ]; then
    mkns $V; ip link add h2 netns $H address 02:00:00:00:02:01 type veth peer name v0 netns $V address 02:00:00:00:02:02
    ip -n $H link add br0 type bridge ${BR_ARGS}; ip -n $H link set h0 master br0; ip -n $H link set h2 master br0
    ip -n $H addr add 192.0.2.1/24 dev br0; ip -n $H link set br0 up; ip -n $H link set h2 up
    ip -n $V addr add 192.0.2.3/24 dev v0; ip -n $V link set v0 up
  else
    ip -n $H addr add 192.0.2.1/24 dev ${H0NAME:-h0}
  fi
  ip -n $H addr add 198.51.100.1/24 dev ${H1NAME:-h1}
  ip -n $P addr add 192.0.2.2/24 dev p0; ip -n $P addr add 198.51.100.2/24 dev p1
  if [ -n "$MACVLAN" ]; then
    ip -n $H link add link h0 name mv0 address 02:00:00:00:00:11 type macvlan mode ${MACVLAN_MODE:-bridge}
    ip -n $H addr add 203.0.113.1/24 dev mv0; ip -n $H link set mv0 up
    ip -n $P addr add 203.0.113.2/24 dev p0
  fi
  ip -n $H link set ${H0NAME:-h0} up; ip -n $P link set p0 up; ip -n $H link set ${H1NAME:-h1} up; ip -n $P link set p1 up
  sleep 0.5
}
# the host's interfaces, routes, groups, and br_netfilter's bridge-nf-call-ip(6)tables (0 without the module)
host_cfg() { local ns=${1:-$H}; nsx $ns sh -c 'b=/proc/sys/net/bridge/bridge-nf-call; printf "{\"addr\": %s, \"route\": %s, \"maddr\": %s, \"sysctl\": {\"net.bridge.bridge-nf-call-iptables\": \"%s\", \"net.bridge.bridge-nf-call-ip6tables\": \"%s\"}}\n" "$(ip -j addr)" "$(ip -j route)" "$(ip -j maddr)" "$(cat ${b}-iptables 2>/dev/null || echo 0)" "$(cat ${b}-ip6tables 2>/dev/null || echo 0)"'; }
