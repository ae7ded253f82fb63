#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with v4.args and v6.args.
# router kbr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between kbc (c0) and kbs (s0);
# Unicast IP to a remote host (and to the router, DNATed to a remote host) in frames for the L2 broadcast / multicast MAC:
# ip_forward / ip6_forward drop them (pkt_type != PACKET_HOST) after PREROUTING, before FORWARD, with no ICMP (TTL 1 too).
# probes.py sends raw frames from kbc; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=kb
source ../lib/rlab.sh
