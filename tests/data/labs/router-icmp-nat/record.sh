#!/bin/bash
# ICMP errors RELATED through DNAT/MASQUERADE: port unreachable, time exceeded, frag needed, errors from a closed client socket, unrelated errors
cd "$(dirname "$0")"
SRV_S="u:53 t:8080"; SRV_C="u:5353"
PRE='ip -n $R link set lan0 mtu 1000; ip -n $S link set rs0 mtu 1000'
traffic() {
  nsx $C python3 client.py c
  nsx $S python3 client.py s
}
source ../lib/rrun.sh
