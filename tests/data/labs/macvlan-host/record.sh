#!/bin/bash
# host with a macvlan (bridge mode) mv0 on h0: 203.0.113.1/24 on mv0 (MAC 02:00:00:00:00:11), 192.0.2.1/24 on h0.
# Kernel: frames to mv0's MAC arrive on h0; taps see them there, macvlan_handle_frame (rx_handler) moves them to mv0
# (RX_HANDLER_ANOTHER), IP receives them on mv0: iptables -i mv0. Outbound via mv0: dev_queue_xmit(mv0) -> macvlan_start_xmit -> dev_queue_xmit(h0).
cd "$(dirname "$0")"
MACVLAN=1; MACVLAN_MODE=${MODE:-bridge}
PRE='nsx $H sysctl -qw net.ipv4.conf.all.arp_ignore=1'
CAPS="h0.pcap:h0 mv0.pcap:mv0 any.pcap:any"
SRV_H="t:80 u:5000"; SRV_P="t:8080"
traffic() {
  nsx $P python3 ../lib/ifaces/tcpc.py 203.0.113.1 80 2
  nsx $P ping -c 2 -i 0.2 203.0.113.1
  nsx $P python3 ../lib/ifaces/udpc.py 203.0.113.1 5000 2     # mv0: no udp rule -> policy DROP
  nsx $P python3 ../lib/ifaces/tcpc.py 192.0.2.1 80 1
  nsx $P ping -c 2 -i 0.2 192.0.2.1
  nsx $P python3 ../lib/ifaces/udpc.py 192.0.2.1 5000 2       # h0: accepted
  nsx $H python3 ../lib/ifaces/tcpc.py 203.0.113.2 8080 1     # out via mv0
  sleep 0.3
}
source ../lib/ifaces/run.sh
python3 ../lib/mergepcapng.py h0.pcapng h0=h0.pcap
python3 ../lib/mergepcapng.py mv0.pcapng mv0=mv0.pcap
check h0 h0.pcapng --host-config host.json
check mv0 mv0.pcapng --host-config host.json
check any any.pcap --host-config host.json
