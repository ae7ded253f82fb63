#!/bin/bash
# SNAT to a port range / address range, MASQUERADE --random and --to-ports; conntrack tuple matches in FORWARD
cd "$(dirname "$0")"
SRV_C="t:8000 t:8001 u:5353 u:5354"
PRE='ip -n $R addr add 198.51.100.10/24 dev wan0; ip -n $R addr add 198.51.100.11/24 dev wan0; ip -n $R addr add 198.51.100.12/24 dev wan0; sleep 0.3'
traffic() {
  nsx $S python3 ../lib/tr.py u:198.51.100.2:5353 u:198.51.100.2:5353 t:198.51.100.2:8000 t:198.51.100.2:8001 u:198.51.100.2:5354 u:198.51.100.2:5354
  nsx $S ping -c2 -i0.2 -W1 198.51.100.2
}
source ../lib/rrun.sh
