#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with v4.args, v6.args (classic pcap, --iface wan0), v4named.args, v6named.args (pcapng).
# Captured on wan0 alone (Ethernet, tcpdump -i wan0): capture.pcap (args: --iface wan0) and the same frames in a pcapng
# naming wan0 (named.args). Frames for lan0's MAC arriving on wan0 are PACKET_OTHERHOST (eth_type_trans compares
# with wan0's address only) and dropped before PREROUTING; forwarded answers appear only as the router's outgoing
# copies on wan0 (source MAC wan0's), counted by the kernel when they came in on lan0.
# router kwr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between kwc (c0) and kws (s0);
# probes.py sends raw frames from kwc; tcpdump -i wan0 on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=kw
CAPIF=wan0
lab_capture() { python3 ../lib/mergepcapng.py capture.pcapng wan0=capture.pcap; }
lab_args() {
  printf -- "--pcap\ncapture.pcap\n--iface\nwan0\n$A" > v4.args; printf -- "rules=rules6\nkernel=kernel6.save\n--pcap\ncapture.pcap\n--iface\nwan0\n$A" > v6.args
  printf -- "$A" > v4named.args; printf -- "rules=rules6\nkernel=kernel6.save\n$A" > v6named.args
}
source ../lib/rlab.sh
