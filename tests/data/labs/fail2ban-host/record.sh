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
  gen_topo
  nsx $HOSTNS sh $D/f2b-actions.sh || echo ACTIONS FAILED
  nsx $HOSTNS iptables-save > rules; nsx $HOSTNS ip6tables-save > rules6; nsx $HOSTNS ipset save > ipset.save
  gen_up
}
FWARGS="--ipset ipset.save"
source ../lib/lib.sh; LIB=$(cd ../lib && pwd); source $LIB/gentraffic.sh
gen_record
