#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), br_netfilter loaded, bridge-nf-call-iptables=1 in the host's
# namespace. Host address 192.0.2.1 on br0 (ports h0 -> p0 192.0.2.2 and h2 -> a "VM" v0 192.0.2.3). p0 sends frames
# for the host's IP address but to link addresses no device of the host has: the VM's (learnt by the bridge: forwarded
# to h2) and an unknown one (flooded to h2). br_handle_frame_finish bridges them, never passes them up: PREROUTING,
# FORWARD and POSTROUTING (in and out by br0) see them, INPUT does not. Then ordinary traffic to the host (its link
# address) for contrast. Captured on the ports (merged into ports.pcapng).
cd "$(dirname "$0")"
NSP=bno
BRIDGE=1
CAPS="h0.pcap:h0 h2.pcap:h2"
SRV_H="t:80 u:5000"; SRV_P="t:8080"
PRE='nsx $H sysctl -qw net.bridge.bridge-nf-call-iptables=1; sleep 3'  # the host's own IGMP reports for br0 over before the rules
VS="env PYTHONPATH=$(pwd)/../lib python3 ../lib/ifaces/vsend.py p0"
traffic() {
  nsx $V ping -c 1 192.0.2.1
  nsx $P $VS 02:00:00:00:02:02 -/tcp/192.0.2.2/192.0.2.1/4000/80 -/udp/192.0.2.2/192.0.2.1/4001/5000
  nsx $P $VS 02:00:00:00:99:99 -/tcp/192.0.2.2/192.0.2.1/4100/80 -/udp/192.0.2.2/192.0.2.1/4101/5000
  nsx $P python3 ../lib/ifaces/tcpc.py 192.0.2.1 80 1
  nsx $P python3 ../lib/ifaces/udpc.py 192.0.2.1 5000 1
  sleep 0.3
}
source ../lib/ifaces/run.sh
python3 ../lib/mergepcapng.py ports.pcapng h0=h0.pcap h2=h2.pcap
check ports ports.pcapng --host-config host.json --router
