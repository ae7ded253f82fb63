#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with args.
# IPv6 blackhole / unreachable / prohibit routes on a router (`ip -j -6 route` prints them with "dev": "lo"):
# packets for them are discarded by the input route after PREROUTING (unreachable/prohibit with an ICMPv6 error).
# router kdr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between kdc (c0) and kds (s0);
# probes.py sends raw frames from kdc; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=kd; FAM=6
lab_topo() {
  ip -n $R -6 route add blackhole 2001:db8:dead::/48; ip -n $R -6 route add unreachable 2001:db8:beef::/48; ip -n $R -6 route add prohibit 2001:db8:cafe::/48
}
source ../lib/rlab.sh
