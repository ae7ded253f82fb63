#!/bin/bash
# bridge br0 (ports h0 -> P 192.0.2.2, h2 -> V 192.0.2.3), br_netfilter on: FORWARD with -m physdev
cd "$(dirname "$0")"
BRIDGE=1
FW=${FWCHECK:-fwcheck}
CAPS="any.pcap:any h0.pcap:h0 h2.pcap:h2 br0.pcap:br0"
SRV_H="t:80"; SRV_P="t:8080 u:6000"
PRE='nsx $H sysctl -w net.bridge.bridge-nf-call-iptables=1; nsx $V python3 ../../labs/lib/serve.py t:8080 t:9999 & SRV3=$!'
traffic() {
  nsx $P python3 ../../labs/lib/ifaces/tcpc.py 192.0.2.3 8080 2
  nsx $V python3 ../../labs/lib/ifaces/tcpc.py 192.0.2.2 8080 1
  nsx $P ping -c 2 -i 0.2 192.0.2.3
  nsx $V python3 ../../labs/lib/ifaces/udpc.py 192.0.2.2 6000 2
  nsx $P python3 ../../labs/lib/ifaces/tcpc.py 192.0.2.3 9999 1
  nsx $P python3 ../../labs/lib/ifaces/tcpc.py 192.0.2.1 80 1
  nsx $V python3 ../../labs/lib/ifaces/tcpc.py 192.0.2.1 80 1
  nsx $V ping -c 1 192.0.2.1
  nsx $H ping -c 1 192.0.2.3
  sleep 0.3
}
source ../../labs/lib/ifaces/run.sh
kill $SRV3 2>/dev/null
python3 ../../labs/lib/mergepcapng.py ports.pcapng h0=h0.pcap h2=h2.pcap
python3 ../../labs/lib/mergepcapng.py br0.pcapng br0=br0.pcap
check any any.pcap --host-config host.json --router
check ports ports.pcapng --host-config host.json --router
check br0 br0.pcapng --host-config host.json --router
