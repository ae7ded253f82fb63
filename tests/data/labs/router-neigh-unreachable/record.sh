#!/bin/bash
# A NAT router forwarding to neighbours on its WAN link that never answer ARP / neighbour discovery: the packets wait after POSTROUTING
# (MASQUERADEd, connection confirmed); the router's host / address unreachable (arp_error_report, ndisc_error_report) goes back to the LAN client translated, RELATED
# Recorded as root (Linux 6.18-era kernel, iptables nft) by a kernel hunt; topology in ../lib/topo_nat.sh, driver ../lib/natlab.sh; traffic.py roles csrv/ssrv
# (servers on the WAN host C and the LAN host S) and s/c (LAN client, WAN crafted frames). Captured on wan0 and lan0,
# merged into capture.pcapng naming both (args: v4.args, v6.args when rules6 exists).
cd "$(dirname "$0")"
source ../lib/natlab.sh
