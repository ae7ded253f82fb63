#!/bin/bash
# mark-based policy routing (a second uplink for one service): mangle OUTPUT `-o h0 ... -j MARK --set-mark 2`,
# `ip rule fwmark 2 table 100` sends the connection out of h1; CONNMARK keeps the mark on the whole connection
cd "$(dirname "$0")"
SERVE=scan/srv.py; SRV_H="h:80"
HA=192.0.2.1; LA=203.0.113.1; PA=198.51.100.2; XA=198.51.100.3
PRE='ip -n $L addr add 198.51.100.3/32 dev l0; ip -n $L route add 192.0.2.1/32 dev l0; nsx $H ip rule add fwmark 2 table 100; nsx $H ip route add default via 203.0.113.2 dev h1 table 100; nsx $L python3 $D/../lib/scan/srv.py h:8081 & LSRV=$!'
POST='kill $LSRV 2>/dev/null'
C=../lib/scan/cli.py
traffic() {
  nsx $H python3 $C web $XA 8081 /small,/big?n=5000      # marked, rerouted via h1
  nsx $H python3 $C web $PA 8081 /small                  # marked too, but table 100 sends it via L (no route there) 
  nsx $H ping -c 2 -W 0.3 $PA
}
source ../lib/scan/run.sh
