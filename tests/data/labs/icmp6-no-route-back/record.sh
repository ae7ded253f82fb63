#!/bin/bash
# REJECT (icmp6-adm-prohibited, tcp-reset) of packets from a source the host has no IPv6 route back to (no default route): the kernel sends nothing
cd "$(dirname "$0")"
FWARGS="-6 --conntrack-start empty"; FAM=6; SERVE=serve6.py; SRV_H=""; SRV_P=""; IFC=h0
PRE='ip -n $P addr add 2001:db8:77::5/128 dev p0 nodad; sleep 0.3'
traffic() {
  nsx $H ip -6 route get 2001:db8:77::5
  nsx $P python3 probe.py
  sleep 0.5
  nsx $H nstat -az Ip6OutNoRoutes Icmp6OutRateLimitHost Icmp6OutDestUnreachs
}
source ../lib/run.sh
