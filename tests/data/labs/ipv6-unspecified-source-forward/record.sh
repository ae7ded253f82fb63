#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with args.
# IPv6 packets from the unspecified address :: routed to another interface: ip6_forward drops them before FORWARD
# (the "security critical" source-type test beside the link-local one), without an ICMPv6 error.
# router kur (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between kuc (c0) and kus (s0);
# probes.py sends raw frames from kuc; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=ku; FAM=6
source ../lib/rlab.sh
