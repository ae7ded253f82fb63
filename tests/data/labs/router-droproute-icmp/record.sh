#!/bin/bash
# Router whose routes to parts of 203.0.113.0/24 and 2001:db8:c::/64 are unreachable, prohibit, blackhole and throw (NOROUTE=1 otherwise): the stack answers unreachable (3/1, 1/0), prohibit (3/13, 1/1), throw (no route: 3/0, 1/0) and blackhole (nothing), each error RELATED
# Recorded as root (Linux 6.18-era kernel, iptables nft) by a kernel hunt; topology in ../lib/topo_nat.sh, driver ../lib/natlab.sh; traffic.py roles csrv/ssrv
# (servers on the WAN host C and the LAN host S) and s/c (LAN client, WAN crafted frames). Captured on wan0 and lan0,
# merged into capture.pcapng naming both (args: v4.args, v6.args when rules6 exists).
cd "$(dirname "$0")"
lab_topo() {
  for r in "unreachable 203.0.113.0/26" "prohibit 203.0.113.64/26" "blackhole 203.0.113.128/26" "throw 203.0.113.192/26"; do ip -n $R route add $r; done
  for r in "unreachable 2001:db8:c::/66" "prohibit 2001:db8:c:0:4000::/66" "blackhole 2001:db8:c:0:8000::/66" "throw 2001:db8:c:0:c000::/66"; do ip -n $R -6 route add $r; done
}
NOROUTE=1; source ../lib/natlab.sh
