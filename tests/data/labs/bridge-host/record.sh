#!/bin/bash
# A host whose address is on a Linux bridge (br0, ports h0 -> peer p0 192.0.2.2 and h2 -> an idle "VM" namespace), as
# libvirt, Proxmox or a netplan bridge over the NIC set it up. IP and netfilter see the host's packets on br0
# (br_handle_frame -> br_pass_frame_up -> netif_receive_skb on br0; out: br_dev_xmit, then the port): `-i h0` never
# matches them. Captured on the port alone (h0.pcap, merged into a pcapng naming h0) and with tcpdump -i any (the port's
# copy and br0's copy of every frame).
cd "$(dirname "$0")"
BRIDGE=1
CAPS="any.pcap:any h0.pcap:h0"
SRV_H="t:80"; SRV_P="t:8080"
traffic() {
  nsx $P python3 ../lib/ifaces/tcpc.py 192.0.2.1 80 2
  nsx $P ping -c 2 -i 0.2 192.0.2.1
  nsx $P python3 ../lib/ifaces/tcpc.py 192.0.2.1 22 1     # INPUT policy DROP
  nsx $H python3 ../lib/ifaces/tcpc.py 192.0.2.2 8080 1
  sleep 0.3
}
source ../lib/ifaces/run.sh
python3 ../lib/mergepcapng.py h0.pcapng h0=h0.pcap
check port h0.pcapng --host-config host.json
check any any.pcap --host-config host.json
