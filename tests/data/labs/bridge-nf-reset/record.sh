#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), br_netfilter loaded, bridge-nf-call-iptables=1 in the host's
# namespace. Host address 192.0.2.1 on br0 (ports h0 -> p0 192.0.2.2 and h2 -> a "VM" v0 192.0.2.3). REJECT
# --reject-with tcp-reset in INPUT (p0 to the host's port 81) and in FORWARD (p0 to the VM's port 81, bridged): with
# br_netfilter, nf_send_reset sends the reset straight out of the port the SYN came in by (dev_queue_xmit), through
# neither OUTPUT nor POSTROUTING. REJECT's ICMP port unreachable (UDP to port 82, to the host and to the VM) goes
# through icmp_send and OUTPUT as usual. Captured on the ports (merged into ports.pcapng) and with tcpdump -i any.
cd "$(dirname "$0")"
NSP=bnr
BRIDGE=1
CAPS="any.pcap:any h0.pcap:h0 h2.pcap:h2"
SRV_H="t:80"; SRV_P="t:8080"
PRE='nsx $H sysctl -qw net.bridge.bridge-nf-call-iptables=1; sleep 3'  # the host's own IGMP reports for br0 over before the rules
traffic() {
  nsx $V ping -c 1 192.0.2.2
  nsx $P python3 ../lib/ifaces/tcpc.py 192.0.2.1 81 2
  nsx $P python3 ../lib/ifaces/tcpc.py 192.0.2.3 81 2
  nsx $P python3 ../lib/ifaces/udpc.py 192.0.2.1 82 1
  sleep 1.1
  nsx $P python3 ../lib/ifaces/udpc.py 192.0.2.3 82 1
  sleep 0.3
}
source ../lib/ifaces/run.sh
python3 ../lib/mergepcapng.py ports.pcapng h0=h0.pcap h2=h2.pcap
check ports ports.pcapng --host-config host.json --router
check any any.pcap --host-config host.json --router  # (any.args; the VM's ping on h2 uncertain: bridged or routed, a cooked header does not tell)
