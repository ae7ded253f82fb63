#!/bin/bash
# nat added by a reload: A has no nat table (filter with conntrack, accepts udp 514); B closes 514 (NEW DROP) and redirects 514->5514, 6000->6001.
# flows: one-way udp to 514 (sink on 514 and 5514), echo udp to 6000/6001, one-way udp to 7000 (sink 7000/7001); new flows after the reload
cd "$(dirname "$0")"
SRV_H="s:514 s:5514 u:6000 u:6001 s:7000 s:7001"; SRV_P=""; RELOAD_AFTER=2.1
S="python3 ../lib/sess.py cli"
traffic() {
  nsx $P $S o 192.0.2.1 514 4 0.4 sys1 40514 &
  nsx $P $S u 192.0.2.1 6000 4 0.4 echo1 &
  nsx $P $S o 192.0.2.1 7000 4 0.4 o7000 47000 &
  sleep 2.6
  nsx $P $S o 192.0.2.1 514 1 0.4 sys2 40515 &
  nsx $P $S u 192.0.2.1 6000 1 0.4 echo2 &
  nsx $P $S o 192.0.2.1 7000 1 0.4 o7000b 47001 &
  wait
}
source ../lib/reload.sh
