#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with args.
# IPv6 packets for the router's lan0 link-local address arriving on wan0: ip6_route_input looks link-local
# destinations up on the input interface only (RT6_LOOKUP_F_IFACE), so they are not local but forwarded back out wan0
# (redirect first), and FORWARD decides.
# router klr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between klc (c0) and kls (s0);
# probes.py sends raw frames from klc; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=kl; FAM=6
source ../lib/rlab.sh
