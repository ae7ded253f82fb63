#!/bin/bash
# REJECT answers only packets whose transport checksum verifies (nf_send_unreach, nf_send_reset: nf_reject_verify_csum
# and nf_ip_checksum) — every protocol but GRE, ESP, AH, SCTP, UDP-Lite and a UDP checksum 0; for protocols other than
# TCP and UDP the sum has no pseudo-header, so an empty or all-zero payload verifies. The peer sends the frames of
# send.py through a router (h9b topology of ../lib/scan).
cd "$(dirname "$0")"
HA=192.0.2.1; PA=198.51.100.2; RMAC=02:00:00:00:01:fe
traffic() {
  nsx $P python3 ./send.py p0 $RMAC $PA $HA
}
source ../lib/scan/run.sh
