#!/bin/bash
# REJECT --reject-with tcp-reset in FORWARD: the kernel's RST (nf_send_reset) has the rejected packet's destination as source
# an egress anti-spoof OUTPUT (only the router's own addresses) drops it; MASQUERADE -s 10.9.0.0/24 sees it in nat POSTROUTING
cd "$(dirname "$0")"
SRV_S="t:8080"
traffic() {
  nsx $C python3 ../lib/tr.py t:10.9.0.2:22 t:10.9.0.2:22
  nsx $S python3 ../lib/tr.py t:198.51.100.2:23
}
source ../lib/rrun.sh
