#!/bin/bash
# Odd IP-level and ICMP traffic through a stateful router (probes.py): ICMP query types 13-18,
# types conntrack cannot track, TTL/hop limit 0 and 1 (the router's time exceeded; none about
# an ICMP error), IP options (record route and timestamp filled on the way, router alert,
# LSRR/SSRR refused), the router's other address and the LAN's directed broadcast, IPIP/GRE/6in4,
# ICMPv6 node information, private types, errors, routing header type 0 and hop-by-hop.
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07), with the
# router driver ../lib/rlab.sh (namespaces icc, icr, ics), captured on the router with -i any.
cd "$(dirname "$0")"
D=$(pwd); RLAB=ic
source ../lib/rlab.sh
