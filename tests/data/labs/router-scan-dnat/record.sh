#!/bin/bash
# scans from the WAN client (raw socket: SYN, FIN, NULL, XMAS, ACK, UDP) against a stateful router with port forwards and REJECTs in INPUT and FORWARD
cd "$(dirname "$0")"
SRV_S="t:8080 t:22 u:53"
traffic() {
  nsx $C python3 scan.py
  sleep 0.3
}
source ../lib/rrun.sh
