#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), fail2ban 1.0.2's actions, by a kernel hunt (2026-12-07).
# fail2ban's iptables actions (action.d/iptables-multiport, -allports, -new, -multiport-log,
# -ipset (not -xt_recent-echo: README, Not yet modelled); f2b-actions.sh runs their actionstart and actionban commands by hand,
# for IPv4 and IPv6) over a host policy of INPUT DROP; 192.0.2.66 and 2001:db8:1::66 are
# banned. The peer sends lib/gentraffic.sh's traffic from its banned and unbanned addresses;
# tcpdump -i any. The ipsets are saved (ipset.save) for --ipset.
cd "$(dirname "$0")"
HOSTNS=swbh; A=swbp; CAPIF=any; X4=192.0.2.66; X6=2001:db8:1::66
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add eth0 netns $HOSTNS address 02:00:00:00:00:01 type veth peer name p0 netns $A address 02:00:00:00:00:02
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0; done
  ip -n $HOSTNS addr add 192.0.2.1/24 dev eth0; ip -n $HOSTNS addr add 2001:db8:1::1/64 dev eth0 nodad
  ip -n $A addr add 192.0.2.2/24 dev p0; ip -n $A addr add 2001:db8:1::2/64 dev p0 nodad
  ip -n $A addr add $X4/24 dev p0; ip -n $A addr add $X6/64 dev p0 nodad
  ip -n $HOSTNS link set eth0 up; ip -n $A link set p0 up
  sleep 2
  nsx $HOSTNS sh $D/f2b-actions.sh || echo ACTIONS FAILED
  nsx $HOSTNS iptables-save > rules; nsx $HOSTNS ip6tables-save > rules6; nsx $HOSTNS ipset save > ipset.save
  gen_up
}
teardown() { gen_down; delns $A $HOSTNS; }
traffic() { gen_traffic; }
FWARGS="--ipset ipset.save"
source ../lib/lib.sh; LIB=$(cd ../lib && pwd); source $LIB/gentraffic.sh
source ../lib/drv.sh
mv args v4.args; printf 'rules=rules6\nkernel=kernel6.save\n' | cat - v4.args > v6.args
