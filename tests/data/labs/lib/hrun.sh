# The scan labs' topology for drv.sh (source from a lab's record.sh, cwd = the lab, after
# defining traffic(); rules in ./rules): tsA (a0 10.9.0.2/24, 10.9.0.3/24) -- veth -- tsT
# (t0 02:00:00:00:09:01, 10.9.0.1/24); servers in tsT: tcp 22 80 443, udp 53.
HOSTNS=tsT; A=tsA; CAPIF=t0
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add t0 netns $HOSTNS address 02:00:00:00:09:01 type veth peer name a0 netns $A address 02:00:00:00:09:02
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
  ip -n $HOSTNS addr add 10.9.0.1/24 dev t0; ip -n $A addr add 10.9.0.2/24 dev a0; ip -n $A addr add 10.9.0.3/24 dev a0
  ip -n $HOSTNS link set t0 up; ip -n $A link set a0 up
  nsx $HOSTNS python3 $LIB/serve.py t:22 t:80 t:443 u:53 & SRV1=$!
}
teardown() { kill $SRV1; delns $A $HOSTNS; }
source "$(dirname "${BASH_SOURCE[0]}")/drv.sh"
