#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with v4.args, v6.args.
# TEE's clones (nf_dup_ipv4 / nf_dup_ipv6): mangle PREROUTING clones echo requests, mangle FORWARD DNS queries, to a
# neighbour on lan0 (10.9.0.7, 2001:db8:b::7, a permanent neighbour entry with no host behind it). Each clone is sent
# with ip_local_out: untracked, it crosses raw, mangle and filter OUTPUT and mangle POSTROUTING (nat never: no
# connection), its TTL one less when made in PREROUTING; filter OUTPUT's policy drops the UDP clone. The capture
# shows the clones leaving lan0 beside the forwarded originals.
# router ter (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between tec (c0) and tes (s0);
# probes.py sends raw frames from tec; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=te
lab_topo() {
  ip -n $R neigh replace 10.9.0.7 lladdr 02:00:00:00:0b:07 dev lan0 nud permanent
  ip -n $R neigh replace 2001:db8:b::7 lladdr 02:00:00:00:0b:07 dev lan0 nud permanent
}
source ../lib/rlab.sh
