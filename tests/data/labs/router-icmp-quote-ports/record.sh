#!/bin/bash
# ICMP errors about a MASQUERADEd UDP flow quoting IP+8 (translated, forwarded) and IP+4 (ports only: conntrack RELATED, but nf_nat_icmp_reply_translation cannot rewrite an inner UDP header shorter than 8 bytes: NF_DROP in nat PREROUTING)
# Recorded as root (Linux 6.18-era kernel, iptables nft) by a kernel hunt; topology in ../lib/topo_nat.sh, driver ../lib/natlab.sh; traffic.py roles csrv/ssrv
# (servers on the WAN host C and the LAN host S) and s/c (LAN client, WAN crafted frames). Captured on wan0 and lan0,
# merged into capture.pcapng naming both (args: v4.args, v6.args when rules6 exists).
cd "$(dirname "$0")"
source ../lib/natlab.sh
