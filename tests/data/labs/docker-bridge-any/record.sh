#!/bin/bash
# Docker-like host: bridge br0 (192.0.2.1/24) with a container namespace (v0 192.0.2.3, default via 192.0.2.1) on port h2,
# uplink h1 198.51.100.1/24 (outside client p1 198.51.100.2); ip_forward=1, MASQUERADE out, DNAT 198.51.100.1:8080 -> container.
# p0 (also a bridge port, h0) carries no address here. Capture: tcpdump -i any (and h1 + br0 merged into a pcapng).
cd "$(dirname "$0")"
BRIDGE=1
CAPS="any.pcap:any h1.pcap:h1 br0.pcap:br0 h2.pcap:h2"
SRV_H="t:80"; SRV_P="t:8080 u:6000"
PRE='nsx $H sysctl -qw net.ipv4.ip_forward=1; ip -n $P addr flush dev p0; ip -n $V route add default via 192.0.2.1; nsx $V python3 ../lib/serve.py t:8080 & SRV3=$!'
traffic() {
  nsx $V python3 ../lib/ifaces/tcpc.py 198.51.100.2 8080 2
  nsx $V ping -c 2 -i 0.2 198.51.100.2
  nsx $V python3 ../lib/ifaces/udpc.py 198.51.100.2 6000 2
  nsx $P python3 ../lib/ifaces/tcpc.py 198.51.100.1 8080 2
  nsx $V ping -c 2 -i 0.2 192.0.2.1
  nsx $P ping -c 1 198.51.100.1
  sleep 0.3
}
source ../lib/ifaces/run.sh
kill $SRV3 2>/dev/null
python3 ../lib/mergepcapng.py h1br0.pcapng h1=h1.pcap br0=br0.pcap
check any any.pcap --host-config host.json --router
check h1br0 h1br0.pcapng --host-config host.json --router
