#!/bin/bash
# ICMP error rate limit (per peer, icmp_ratelimit 1 s, burst 6) shared by the stack's own port unreachables and REJECT's.
# The peer sends 3 datagrams to udp/123 (accepted, no listener: the STACK answers port unreachable), then 6 to 33434..33439 (REJECT icmp-port-unreachable).
cd "$(dirname "$0")"
SRV_H="u:53"
HA=192.0.2.1; PA=198.51.100.2; RMAC=02:00:00:00:01:fe
traffic() {
  nsx $P python3 ../lib/scan/scan.py p0 $RMAC $PA $HA sport=40005 gap=0.003 udp:123,123,123,33434-33439
}
source ../lib/scan/run.sh
