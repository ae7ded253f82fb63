#!/bin/bash
# Fragments with DF reassembled by conntrack (ip_frag_reasm keeps DF when the largest fragment had it, frag_max_size 1500) forwarded to a 1400-byte MTU: fragmentation needed before FORWARD
# Recorded as root (Linux 6.18-era kernel, iptables nft) by a kernel hunt; topology in ../lib/topo_nat.sh, driver ../lib/natlab.sh; traffic.py roles csrv/ssrv
# (servers on the WAN host C and the LAN host S) and s/c (LAN client, WAN crafted frames). Captured on wan0 and lan0,
# merged into capture.pcapng naming both (args: v4.args, v6.args when rules6 exists).
cd "$(dirname "$0")"
WANMTU=1400; source ../lib/natlab.sh
