#!/bin/bash
# IPv6 twin of icmp-rl-stack: 3 datagrams to udp/123 (accepted, no listener: the stack answers port unreachable), then 6 to 33434..33439 (REJECT icmp6-port-unreachable)
cd "$(dirname "$0")"
FAM=6; SERVE=serve6.py; SRV_H="u:53"
HA=2001:db8:1::1; PA=2001:db8:2::2; RMAC=02:00:00:00:01:fe
traffic() {
  nsx $P python3 ../lib/scan/scan.py p0 $RMAC $PA $HA sport=40005 gap=0.003 udp:123,123,123,33434-33439
}
source ../lib/scan/run.sh
