#!/bin/bash
# recent --seconds 1 boundary: pairs of packets 0.990..1.010 s apart (HZ=250: 4 ms jiffies); update+hitcount 2 triples
cd "$(dirname "$0")"
SRV_H="u:5000 u:5001"
PRE="ip -n fwlab-h route add 198.51.100.0/24 via 192.0.2.2"
traffic() { nsx $P python3 tr.py; }
source ../lib/run.sh
