#!/bin/bash
# 802.1Q/802.1ad tagged frames at a host with no VLAN device (this kernel has no CONFIG_VLAN_8021Q; a host with 8021q but
# no device for the VID takes the same path: vlan_do_receive finds no device). Kernel: __netif_receive_skb_core
# untags (skb_vlan_untag), VID != 0 -> pkt_type = PACKET_OTHERHOST -> ip_rcv_core drops before PREROUTING.
# VID 0 (priority tag) -> tag cleared, delivered on h0 as untagged.
cd "$(dirname "$0")"
CAPS="capture.pcap:h0"
HM=02:00:00:00:00:01; S=192.0.2.2; T=192.0.2.1
traffic() {
  nsx $P python3 ../lib/ifaces/vsend.py p0 $HM -/udp/$S/$T/4000/5000*3 8100:100/udp/$S/$T/4100/5000*3 8100:0/udp/$S/$T/4200/5000*3 \
     -/icmp/$S/$T/1000/1*2 8100:100/icmp/$S/$T/1100/1*2 8100:0/icmp/$S/$T/1200/1*2 \
     88a8:100/udp/$S/$T/4300/5000*2 8100:0,8100:100/udp/$S/$T/4400/5000*2 88a8:0/udp/$S/$T/4500/5000*2 8100:0,8100:0/udp/$S/$T/4600/5000*2 \
     8100:100/tcp/$S/$T/40000/80*2 8100:7/udp/$S/$T/4700/5000*2
  sleep 0.3
}
source ../lib/ifaces/run.sh
check h0 capture.pcap --host-config host.json --iface h0
