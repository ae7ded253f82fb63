#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), br_netfilter loaded, bridge-nf-call-iptables=0 in the host's
# namespace (as on a host without the module: libvirt, a plain `ip link add br0 type bridge`). Host address 192.0.2.1
# on br0 (ports h0 -> p0 192.0.2.2 and h2 -> a "VM" v0 192.0.2.3). br_nf_pre_routing, br_nf_forward_ip,
# br_nf_post_routing and br_nf_local_in return at once: frames p0 sends for the host's IP address to the VM's link
# address and to an unknown one, p0's SYN to the VM's port 81 (FORWARD REJECT) and the VM's ping to p0 are bridged
# through no iptables hook; REJECT's reset to p0's SYN to the host's port 81 goes through OUTPUT and POSTROUTING
# (nf_send_reset finds no bridge information); the VM's `ping -b` is passed up unflooded through FORWARD, nat INPUT
# binds its connection once (confirmed at INPUT's end, not at the bridge's LOCAL_IN); p0's two UDP broadcasts to a
# port filter INPUT drops leave no connection, so both cross nat PREROUTING; `--physdev-in h0` matches nothing.
# The driver writes the sysctl into host.json. Captured on the ports (merged into ports.pcapng) and with tcpdump -i any.
cd "$(dirname "$0")"
NSP=byo
BRIDGE=1
CAPS="any.pcap:any h0.pcap:h0 h2.pcap:h2"
SRV_H="t:80 u:5000"; SRV_P="t:8080"
PRE='nsx $H sysctl -qw net.bridge.bridge-nf-call-iptables=${BNF:-0}; sleep 3'  # the host's own IGMP reports for br0 over before the rules
VS="env PYTHONPATH=$(pwd)/../lib python3 ../lib/ifaces/vsend.py p0"
traffic() {
  nsx $V ping -c 1 192.0.2.1
  nsx $P $VS 02:00:00:00:02:02 -/tcp/192.0.2.2/192.0.2.1/4000/80 -/udp/192.0.2.2/192.0.2.1/4001/5000
  nsx $P $VS 02:00:00:00:99:99 -/tcp/192.0.2.2/192.0.2.1/4100/80 -/udp/192.0.2.2/192.0.2.1/4101/5000
  nsx $P python3 ../lib/ifaces/tcpc.py 192.0.2.1 80 1
  nsx $P python3 ../lib/ifaces/tcpc.py 192.0.2.1 81 2
  nsx $P python3 ../lib/ifaces/tcpc.py 192.0.2.3 81 1
  nsx $P python3 ../lib/ifaces/udpc.py 192.0.2.1 82 1
  nsx $V ping -c 1 192.0.2.2
  nsx $V ping -b -c 2 -i 0.3 192.0.2.255
  nsx $P python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(('192.0.2.2', 4444))
for i in range(2): s.sendto(b'bc', ('192.0.2.255', 9999)); time.sleep(0.2)"
  sleep 0.3
}
source ../lib/ifaces/run.sh
python3 ../lib/mergepcapng.py ports.pcapng h0=h0.pcap h2=h2.pcap
check ports ports.pcapng --host-config host.json --router
check any any.pcap --host-config host.json --router
