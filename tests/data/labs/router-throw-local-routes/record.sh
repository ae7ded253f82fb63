#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with v4.args and v6.args.
# Main-table routes of type throw (no route: ICMP unreachable, never FORWARD) and local (AnyIP: INPUT), both families,
# beside a default route; `ip -j route` lists them with their "type".
# router ktr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between ktc (c0) and kts (s0);
# probes.py sends raw frames from ktc; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=kt
lab_topo() {
  ip -n $R route add default via 198.51.100.2 dev wan0; ip -n $R route add throw 198.18.0.0/15; ip -n $R route add local 192.0.2.0/25 dev lo table main
  ip -n $R -6 route add default via 2001:db8:a::2 dev wan0; ip -n $R -6 route add throw 2001:db8:f00::/48
}
source ../lib/rlab.sh
