# source after lib.sh. Namespaces $NSP-h, $NSP-p, $NSP-v (NSP defaults to h9a; a lab sets its own). Host $NSP-h: h0 192.0.2.1/24 (peer p0 192.0.2.2), h1 198.51.100.1/24 (peer p1 198.51.100.2)
# optional MACVLAN=1: host mv0 (macvlan bridge on h0, 02:00:00:00:00:11) 203.0.113.1/24; peer p0 has 203.0.113.2/24
NSP=${NSP:-h9a}; H=$NSP-h; P=$NSP-p; V=$NSP-v
# optional V6=1: IPv6 left on (no DAD, no RA), the addresses of 2001:db8:1::/64 and 2001:db8:2::/64 beside the IPv4 ones
# optional BRIDGE=1: br0 in the host with ports h0 and h2 (veth to namespace h9a-v, v0 192.0.2.3/24); 192.0.2.1/24 on br0
host_up() {
  delns $H $P $V
  mkns $H; mkns $P
  ip link add ${H0NAME:-h0} netns $H address 02:00:00:00:00:01 type veth peer name p0 netns $P address 02:00:00:00:00:02
  ip link add ${H1NAME:-h1} netns $H address 02:00:00:00:01:01 type veth peer name p1 netns $P address 02:00:00:00:01:02
  [ -n "$BRIDGE" ] && mkns $V
  for n in $H $P ${V6:+${BRIDGE:+$V}}; do nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.all.disable_ipv6=$([ -n "$V6" ] && echo 0 || echo 1) net.ipv6.conf.default.disable_ipv6=$([ -n "$V6" ] && echo 0 || echo 1); done
  # the veths above took accept_ra=1 from before the loop: no router solicitations in the capture
  [ -n "$V6" ] && { nsx $H sysctl -qw net.ipv6.conf.${H0NAME:-h0}.accept_ra=0 net.ipv6.conf.${H1NAME:-h1}.accept_ra=0; nsx $P sysctl -qw net.ipv6.conf.p0.accept_ra=0 net.ipv6.conf.p1.accept_ra=0; }
  if [ -n "$BRIDGE" ]; then
    ip link add h2 netns $H address 02:00:00:00:02:01 type veth peer name v0 netns $V address 02:00:00:00:02:02
    ip -n $H link add br0 type bridge ${BR_ARGS}; ip -n $H link set h0 master br0; ip -n $H link set h2 master br0
    ip -n $H addr add 192.0.2.1/24 dev br0; ip -n $H link set br0 up; ip -n $H link set h2 up
    ip -n $V addr add 192.0.2.3/24 dev v0; ip -n $V link set v0 up
  else
    ip -n $H addr add 192.0.2.1/24 dev ${H0NAME:-h0}
  fi
  ip -n $H addr add 198.51.100.1/24 dev ${H1NAME:-h1}
  ip -n $P addr add 192.0.2.2/24 dev p0; ip -n $P addr add 198.51.100.2/24 dev p1
  if [ -n "$V6" ]; then  # IPv6 too: 2001:db8:1::/64 where 192.0.2.0/24 is (br0 or h0), 2001:db8:2::/64 on h1
    local d0=${H0NAME:-h0}; [ -n "$BRIDGE" ] && d0=br0
    ip -n $H addr add 2001:db8:1::1/64 dev $d0; ip -n $H addr add 2001:db8:2::1/64 dev ${H1NAME:-h1}
    ip -n $P addr add 2001:db8:1::2/64 dev p0; ip -n $P addr add 2001:db8:2::2/64 dev p1
    [ -n "$BRIDGE" ] && ip -n $V addr add 2001:db8:1::3/64 dev v0
  fi
  if [ -n "$MACVLAN" ]; then
    ip -n $H link add link h0 name mv0 address 02:00:00:00:00:11 type macvlan mode ${MACVLAN_MODE:-bridge}
    ip -n $H addr add 203.0.113.1/24 dev mv0; ip -n $H link set mv0 up
    ip -n $P addr add 203.0.113.2/24 dev p0
  fi
  ip -n $H link set ${H0NAME:-h0} up; ip -n $P link set p0 up; ip -n $H link set ${H1NAME:-h1} up; ip -n $P link set p1 up
  sleep 0.5
}
# the host's interfaces, routes (with V6=1 IPv6's too), groups, and br_netfilter's bridge-nf-call-ip(6)tables (0 without the module)
host_cfg() { local ns=${1:-$H} r; r=$(nsx $ns ip -j route); [ -n "$V6" ] && r=$(printf '%s\n%s' "$r" "$(nsx $ns ip -6 -j route)" | python3 -c 'import json,sys; print(json.dumps([x for l in sys.stdin if l.strip() for x in json.loads(l)]))')
  R="$r" nsx $ns sh -c 'b=/proc/sys/net/bridge/bridge-nf-call; printf "{\"addr\": %s, \"route\": %s, \"maddr\": %s, \"sysctl\": {\"net.bridge.bridge-nf-call-iptables\": \"%s\", \"net.bridge.bridge-nf-call-ip6tables\": \"%s\"}}\n" "$(ip -j addr)" "$R" "$(ip -j maddr)" "$(cat ${b}-iptables 2>/dev/null || echo 0)" "$(cat ${b}-ip6tables 2>/dev/null || echo 0)"'; }
