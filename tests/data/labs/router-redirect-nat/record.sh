#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-08); replayed with v4.args, v6.args.
# A router's ICMP redirects with a nat table loaded (the probes and filter rules of lab router-redirect-related). The
# redirect ip_forward sends before FORWARD carries the forwarded packet's connection (icmp_glue_bits -> nf_ct_attach:
# RELATED), and nf_nat_ipv4_local_fn (nat OUTPUT, priority -100) hands a RELATED ICMP error to
# nf_nat_icmp_reply_translation, which drops a redirect whose connection's NAT is not finished (a first packet: it
# has not reached POSTROUTING) or not null (DNAT): raw and mangle OUTPUT count it, filter OUTPUT and POSTROUTING never
# see it, the wire neither. A later packet of a confirmed connection bound to nothing has its redirect leave.
# IPv6 (ip6tables nat loaded): the redirect is INVALID, no connection, nat lets it by.
# router rdnr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between rdnc (c0) and rdns (s0);
# the client also holds 198.51.100.3-5 and 2001:db8:a::3; probes.py sends raw frames from rdnc; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=rdn
lab_topo() {
  for a in 3 4 5; do ip -n $C addr add 198.51.100.$a/24 dev c0; ip -n $R neigh replace 198.51.100.$a lladdr 02:00:00:00:0a:02 dev wan0 nud permanent; done
  ip -n $C addr add 2001:db8:a::3/64 dev c0 nodad; ip -n $R neigh replace 2001:db8:a::3 lladdr 02:00:00:00:0a:02 dev wan0 nud permanent
  sleep 3  # the client's MLD reports for its new address, before the rules and the capture
}
source ../lib/rlab.sh
