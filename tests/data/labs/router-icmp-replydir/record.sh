#!/bin/bash
# the router's ICMP errors about REPLY-direction packets of NATed connections: replies sent with TTL 1, a DF reply larger than lan0's MTU
cd "$(dirname "$0")"
PRE='ip -n $R link set lan0 mtu 1000; ip -n $S link set rs0 mtu 1000; nsx $S python3 resp.py 53:ttl1 & nsx $C python3 resp.py 5353:ttl1 5354:big &'
traffic() {
  nsx $C python3 ../lib/tr.py u:198.51.100.1:53 u:198.51.100.1:53
  nsx $S python3 ../lib/tr.py u:198.51.100.2:5353 u:198.51.100.2:5354 u:198.51.100.2:5354
}
source ../lib/rrun.sh
