#!/bin/bash
# bridge6-nf's traffic and ruleset (bridge-nf-call-ip6tables=1) captured on br0 too: tcpdump -i br0 makes the bridge
# promiscuous, and br_nf_local_in then drops the connection of every group frame it passes up (nf_reset_ct): p0's
# neighbour solicitations for the host's address reach INPUT INVALID, `--ctstate INVALID -j DROP` drops them, and p0
# never reaches the host over IPv6 (its ping, its connections). Recorded by bridge6-nf/record.sh in this directory.
cd "$(dirname "$0")"
OUT=$(pwd) BR0CAP=1 NSP=hb6-p exec ../bridge6-nf/record.sh
