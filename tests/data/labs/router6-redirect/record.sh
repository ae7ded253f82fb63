#!/bin/bash
# Recorded as root on Linux 6.18, ip6tables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with args.
# An IPv6 router's redirects (ip6_forward -> ndisc_send_redirect, before FORWARD), on a router whose host.json lists its
# permanent neighbours (NEIGH=1): each redirect carries the target's link-layer address option first, so conntrack
# (nf_conntrack_icmpv6_redirect reads the first option only) calls it INVALID; it crosses raw, mangle and filter
# OUTPUT and POSTROUTING from the router's link-local address. Rate limits: 1*HZ per destination (ip6_forward) then
# per source (ndisc_send_redirect), burst 6 (inet_peer_xrlim_allow), sharing the peer's bucket with ICMPv6 errors
# (a REJECT's port unreachable to a source that just spent its tokens on redirects is refused). A gateway route via
# a global address sends none (target not link-local); via a link-local one names that gateway; an off-link source
# gets none; filter OUTPUT drops the redirects to one source (never captured: only the limits fwcheck follows count them).
# router rdr (wan0 2001:db8:a::1/64 fe80::ff:fe00:a01, lan0 2001:db8:b::1/64) between rdc (c0) and rds (s0); the
# client also holds 2001:db8:a::3-9; probes.py sends raw frames from rdc; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=rd; FAM=6; export NEIGH=1
lab_topo() {
  for a in 3 4 5 6 7 8 9; do ip -n $C addr add 2001:db8:a::$a/64 dev c0 nodad; ip -n $R neigh replace 2001:db8:a::$a lladdr 02:00:00:00:0a:02 dev wan0 nud permanent; done
  ip -n $R neigh replace fe80::ff:fe00:a02 lladdr 02:00:00:00:0a:02 dev wan0 nud permanent
  ip -n $R -6 route add 2001:db8:c::/64 via fe80::ff:fe00:a02 dev wan0
  ip -n $R -6 route add 2001:db8:d::/64 via 2001:db8:a::3 dev wan0
  ip -n $R -6 route add 2001:db8:e::/64 via 2001:db8:b::2 dev lan0
  sleep 3  # the client's MLD reports for its new addresses, before the rules and the capture
}
source ../lib/rlab.sh
