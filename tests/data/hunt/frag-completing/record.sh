#!/bin/bash
# A stateless host under iptables-nft: raw PREROUTING port rules against non-first fragments
# (nft_payload_fast_eval reads a later fragment's bytes as ports). Frames 1-2: UDP
# 10.9.0.31:52001 -> 10.9.0.1:53 in two fragments, the second (offset 32) carrying 9999 at its
# bytes 2-3: the kernel's raw PREROUTING `-p udp -m udp --dport 9999 -j DROP` drops it, the
# datagram never completes, and 30 s later the host sends ICMP 11/1 (frame 19). Recorded as
# root on Linux 6.18, iptables 1.8.9 (nft), with the scan lab's driver
# (tests/data/labs/lib/hrun.sh): `iptables-save -c` after the traffic is kernel.save.
cd "$(dirname "$0")"
traffic() { for i in 31 32 33; do ip -n $A addr add 10.9.0.$i/24 dev a0; done; sleep 0.5; nsx $A python3 $D/t.py; }
SETTLE=0.5
source ../../labs/lib/hrun.sh
