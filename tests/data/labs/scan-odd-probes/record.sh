#!/bin/bash
# Odd probes against a stateful host, one case per source address (see focus.py): frames for
# another MAC (promiscuous capture), unicast IP to a broadcast or multicast MAC, 127.0.0.1
# arriving on t0, SYNs to broadcast and multicast addresses under REJECT tcp-reset, a malformed
# record-route option (the stack's parameter problem), and a spoofed broadcast source whose
# replies the host loops back to itself. Recorded as root on Linux 6.18, iptables 1.8.9 (nft).
cd "$(dirname "$0")"
traffic() { for i in $(seq 11 17); do ip -n $A addr add 10.9.0.$i/24 dev a0; done; sleep 0.5; nsx $A python3 $D/focus.py; }
SETTLE=0.5
source ../lib/hrun.sh
