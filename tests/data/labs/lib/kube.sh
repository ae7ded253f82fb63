# A kube-proxy node's topology for lib/ifaces/run.sh (source it first, then run.sh): sets NSP=kp, XNS, TOPO_UP, PRE.
# Node kp-h: uplink h1 198.51.100.1/24 (client kp-p p1 198.51.100.2, the node's default route; the client routes
# 10.244.0.0/24 via the node), bridge cni0 10.244.0.1/24 (02:00:00:00:00:01) with pods kp-v (a, 10.244.0.2),
# kp-w (b, 10.244.0.3), kp-x (d, 10.244.0.4) behind veths h2 h3 h4 in hairpin mode (kubelet's hairpin-veth), each
# pod's default route via 10.244.0.1; br_netfilter with bridge-nf-call-iptables=1 in the node, ip_forward=1.
# Pod servers (lib/serve.py): a t:8080 t:8443, b t:8080, d u:5353 t:8080; the node's own SRV_H (run.sh).
NSP=kp; XNS="kp-w kp-x"
kube_up() {
  delns $H $P $V $XNS
  mkns $H; mkns $P
  ip link add h1 netns $H address 02:00:00:00:01:01 type veth peer name p1 netns $P address 02:00:00:00:01:02
  for n in $H $P $V $XNS; do
    [ $n = $H ] || [ $n = $P ] || mkns $n
    nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip -n $H link add cni0 address 02:00:00:00:00:01 type bridge; ip -n $H addr add 10.244.0.1/24 dev cni0; ip -n $H link set cni0 up
  local i=2 n
  for n in $V $XNS; do
    ip link add h$i netns $H address 02:00:00:00:0$i:01 type veth peer name eth0 netns $n address 02:00:00:00:0$i:02
    ip -n $H link set h$i master cni0; ip -n $H link set h$i type bridge_slave hairpin on; ip -n $H link set h$i up
    ip -n $n addr add 10.244.0.$i/24 dev eth0; ip -n $n link set eth0 up; ip -n $n route add default via 10.244.0.1
    i=$((i+1))
  done
  ip -n $H addr add 198.51.100.1/24 dev h1; ip -n $P addr add 198.51.100.2/24 dev p1
  ip -n $H link set h1 up; ip -n $P link set p1 up
  ip -n $H route add default via 198.51.100.2; ip -n $P route add 10.244.0.0/24 via 198.51.100.1
  nsx $H sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
  sleep 2
}
TOPO_UP=kube_up
PRE='nsx $V python3 $D/../lib/serve.py t:8080 t:8443 & SRVA=$!; nsx kp-w python3 $D/../lib/serve.py t:8080 & SRVB=$!; nsx kp-x python3 $D/../lib/serve.py u:5353 t:8080 & SRVD=$!'
# the client's stray TCP segments to pod b that conntrack calls INVALID (an RST opening nothing, SYN|FIN)
kube_stray() {
  nsx $P python3 -c "
import sys; sys.path.insert(0, '$D/../lib'); import craft
craft.send('p1', '02:00:00:00:01:01', [craft.pkt4('198.51.100.2', '10.244.0.3', 6, sport=41000, dport=8080, flags='R', seq=5000),
                                      craft.pkt4('198.51.100.2', '10.244.0.3', 6, sport=41001, dport=8080, flags='SF', seq=6000)])"
}
