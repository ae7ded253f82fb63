#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with args.
# A router forwarding a packet back out the interface it came in on, to a host on the sender's link, sends an ICMP
# redirect (ip_forward -> ip_rt_send_redirect, before FORWARD; send_redirects defaults to 1; no nat table here, so it
# leaves). The redirect sets the sender's inet_peer rate_last, so FORWARD's REJECT icmp-port-unreachable for the same
# packet finds no token in icmpv4_xrlim_allow and is not sent (nor counted in OUTPUT).
# router kqr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between kqc (c0) and kqs (s0);
# probes.py sends raw frames from kqc; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=kq; FAM=4
lab_topo() {
  # a second host on the wan link: 198.51.100.3 (the client namespace holds it too)
  ip -n $C addr add 198.51.100.3/24 dev c0; ip -n $R neigh replace 198.51.100.3 lladdr 02:00:00:00:0a:02 dev wan0 nud permanent
}
source ../lib/rlab.sh
