#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-08); replayed with v4.args, v6.args.
# A router's ICMP redirects and conntrack. ip_forward sends the redirect (ip_rt_send_redirect -> icmp_send) before
# FORWARD, and icmp_glue_bits attaches the forwarded packet's connection (nf_ct_attach: RELATED, RELATED_REPLY for a
# packet of the original direction), unconfirmed for a connection's first packet: nf_conntrack_in leaves an attached
# connection alone, so the redirect is RELATED in raw, mangle, filter OUTPUT and POSTROUTING whatever FORWARD then does
# (accept, drop, reject) and CT --notrack cannot untrack it; an untracked packet's redirect is INVALID. No nat table
# here (rules have none: nf_nat would drop the redirect, lab router-redirect-nat). IPv6: ndisc_send_redirect attaches
# nothing, and conntrack calls a redirect (not an error type, not a valid new ICMPv6 type) INVALID.
# router rdr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between rdc (c0) and rds (s0);
# the client also holds 198.51.100.3-5 and 2001:db8:a::3; probes.py sends raw frames from rdc; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=rd; export NEIGH=1  # host.json lists the permanent neighbours: the IPv6 redirects carry the target link-layer option
lab_topo() {
  for a in 3 4 5; do ip -n $C addr add 198.51.100.$a/24 dev c0; ip -n $R neigh replace 198.51.100.$a lladdr 02:00:00:00:0a:02 dev wan0 nud permanent; done
  ip -n $C addr add 2001:db8:a::3/64 dev c0 nodad; ip -n $R neigh replace 2001:db8:a::3 lladdr 02:00:00:00:0a:02 dev wan0 nud permanent
  sleep 3  # the client's MLD reports for its new address, before the rules and the capture
}
source ../lib/rlab.sh
