#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), shorewall/shorewall6 5.2.8, by a kernel hunt (2026-12-07).
# The ruleset shorewall and shorewall6 write for their one-interface sample (shorewall/, shorewall6/:
# the sample with SSH, HTTP, DNS and Ping opened) on a host: helper CT templates in raw,
# conntrack, addrtype, hashlimit-limited LOG chains, tcpflags, smurfs, recent, REJECT chains.
# `shorewall start` runs in the host namespace and its tables are saved as rules/rules6, then
# lib/gentraffic.sh's traffic (connections, DNS-like UDP, pings, nmap scans), tcpdump -i any.
cd "$(dirname "$0")"
HOSTNS=swsh; A=swsp; CAPIF=any
setup_topo() {
  gen_topo
  if [ -z "$KEEP_RULES" ]; then
    nsx $HOSTNS shorewall start $D/shorewall > shorewall.log 2>&1 || echo SHOREWALL FAILED
    nsx $HOSTNS shorewall6 start $D/shorewall6 >> shorewall.log 2>&1 || echo SHOREWALL6 FAILED
    nsx $HOSTNS iptables-save > rules; nsx $HOSTNS ip6tables-save > rules6
  fi
  gen_up
}
source ../lib/lib.sh; LIB=$(cd ../lib && pwd); source $LIB/gentraffic.sh
gen_record
