#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with args.
# REJECT in INPUT for packets to the subnet-router anycast address: icmpv6_send and nf_send_reset6 answer from the
# anycast address itself (ipv6_chk_acast_addr_src), so the reply leaves with a source that is no unicast address of the router.
# router kar (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between kac (c0) and kas (s0);
# probes.py sends raw frames from kac; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=ka; FAM=6
source ../lib/rlab.sh
