#!/bin/bash
# IPv6 REJECT of datagrams without transport payload (nmap -6 -sO style: next header 253/59/... with payload length 0):
# the kernel sends no ICMPv6 error for them (nf_reject_ipv6.c reject6_csum_ok: thoff >= skb->len -> false);
# 7 empty datagrams (next header 253/59), then one UDP datagram with a header, which IS answered; then 8 empty back to back + 1 UDP
cd "$(dirname "$0")"
FAM=6; SERVE=serve6.py; SRV_H="u:53"
HA=2001:db8:1::1; PA=2001:db8:2::2; RMAC=02:00:00:00:01:fe
traffic() {
  # run 1: 7 empty datagrams 250 ms apart (the per-peer budget, 6 x 100 ms, stays full), then a UDP datagram
  for p in 253 253 59 253 253 253 253; do nsx $P python3 ../lib/scan/protoscan.py p0 $RMAC $PA $HA $p $p 0; done
  nsx $P python3 ../lib/scan/protoscan.py p0 $RMAC $PA $HA 17 17 0
  sleep 1
  # run 2: 8 empty datagrams (next header 246..253) back to back, then at once a UDP datagram: the kernel answers the UDP one
  EXTRA=17 nsx $P python3 ../lib/scan/protoscan.py p0 $RMAC $PA $HA 246 253 0.001
  sleep 0.3
}
source ../lib/scan/run.sh
