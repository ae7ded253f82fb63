#!/bin/bash
# bridge6-nf's traffic and ruleset with bridge-nf-call-ip6tables=0 (bridge-nf-call-iptables left at 1): recorded by
# bridge6-nf/record.sh in this directory. br_nf_pre_routing and the other hooks return at once for IPv6 frames.
cd "$(dirname "$0")"
OUT=$(pwd) BNF=0 NSP=hb6-o exec ../bridge6-nf/record.sh
