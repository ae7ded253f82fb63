#!/bin/bash
# Router without a route to 203.0.113.0/24 and 2001:db8:c::/64 (NOROUTE=1): the stack's ICMP unreachable for a forwarded packet is RELATED in OUTPUT (icmp_glue_bits / icmpv6_getfrag: nf_ct_attach), not INVALID
# Recorded as root (Linux 6.18-era kernel, iptables nft) by a kernel hunt; topology in ../lib/topo_nat.sh, driver ../lib/natlab.sh; traffic.py roles csrv/ssrv
# (servers on the WAN host C and the LAN host S) and s/c (LAN client, WAN crafted frames). Captured on wan0 and lan0,
# merged into capture.pcapng naming both (args: v4.args, v6.args when rules6 exists).
cd "$(dirname "$0")"
NOROUTE=1; source ../lib/natlab.sh
