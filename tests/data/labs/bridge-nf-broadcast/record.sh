#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), br_netfilter loaded, bridge-nf-call-iptables=1 in the host's
# namespace. Broadcasts reaching the host through bridge ports: br0 (ports h0 -> p0 and h2 -> a "VM" v0 192.0.2.3)
# and br1 (a single port h1 -> p1, 198.51.100.1/24 moved from h1 to br1). The VM's `ping -b 192.0.2.255` is flooded to
# h0 first (br_flood: FORWARD and POSTROUTING, in and out by br0, which confirm its connection and bind its source NAT)
# then passed up; p1's `ping -b 198.51.100.255` on br1 has no other port: br_nf_local_in confirms the connection before
# IP's INPUT, so nat INPUT cannot bind it and walks both pings. Two UDP broadcasts from one socket to a port filter
# INPUT drops: the first's connection stays (confirmed at the bridge's LOCAL_IN), the second skips nat PREROUTING.
# Captured on the three ports (merged into ports.pcapng) and with tcpdump -i any.
cd "$(dirname "$0")"
NSP=bnb
BRIDGE=1
CAPS="any.pcap:any h0.pcap:h0 h1.pcap:h1 h2.pcap:h2"
SRV_H="u:5000"; SRV_P="u:5001"
PRE='nsx $H sysctl -qw net.bridge.bridge-nf-call-iptables=1; ip -n $H addr flush dev h1; ip -n $H link add br1 address 02:00:00:00:01:01 type bridge; ip -n $H link set h1 master br1; ip -n $H addr add 198.51.100.1/24 dev br1; ip -n $H link set br1 up; sleep 1'
traffic() {
  nsx $V ping -c 1 192.0.2.1
  nsx $V ping -b -c 2 -i 0.3 192.0.2.255
  nsx $P ping -b -c 2 -i 0.3 -I p1 198.51.100.255
  nsx $P python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(('198.51.100.2', 4444))
for i in range(2): s.sendto(b'bc', ('198.51.100.255', 9999)); time.sleep(0.2)
for i in range(2): s.sendto(b'bc', ('198.51.100.255', 5000)); time.sleep(0.2)"
  sleep 0.3
}
source ../lib/ifaces/run.sh
python3 ../lib/mergepcapng.py ports.pcapng h0=h0.pcap h1=h1.pcap h2=h2.pcap
check ports ports.pcapng --host-config host.json --router
check any any.pcap --host-config host.json --router
