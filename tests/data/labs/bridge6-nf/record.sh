#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), br_netfilter loaded, bridge-nf-call-ip6tables=${BNF:-1} in the
# host's namespace; an ip6tables ruleset. Host addresses 2001:db8:1::1 on br0 (ports h0 -> p0 2001:db8:1::2 and
# h2 -> a "VM" v0 2001:db8:1::3) and 2001:db8:2::1 on h1 (-> p1 2001:db8:2::2), IPv6 forwarding on. p0 pings and
# connects to the host (its neighbour solicitation to the solicited-node group flooded to h2 and passed up), pings
# and connects to the VM through the bridge (FORWARD, -m physdev); REJECT --reject-with tcp-reset and
# icmp6-adm-prohibited in INPUT (to the host's ports 81, 82) and FORWARD (to the VM's, bridged); p0 sends a router
# advertisement to ff02::1; then the VM and p1 talk through the host's routing (in by br0 out by h1 and back), and
# REJECT answers those routed packets too. Captured on the ports and h1 (merged into ports.pcapng) and with
# tcpdump -i any; with BR0CAP=1 on br0 too, which tcpdump makes promiscuous (lab bridge6-nf-promisc).
cd "${OUT:-$(dirname "$0")}"  # bridge6-nf-off runs it with OUT=its directory, BNF=0
NSP=${NSP:-hb6}
BRIDGE=1; V6=1; IPT=ip6tables; SERVE=serve6.py; CUT=1  # CUT: the captures end when ip6tables-save read the counters
CAPS="any.pcap:any h0.pcap:h0 h1.pcap:h1 h2.pcap:h2${BR0CAP:+ br0.pcap:br0}"  # BR0CAP=1: br0 too (tcpdump makes it promiscuous)
SRV_H="t:80 u:5000"; SRV_P="t:8080 u:5001"
PRE='nsx $H sysctl -qw net.bridge.bridge-nf-call-ip6tables=${BNF:-1} net.bridge.bridge-nf-call-iptables=1 net.ipv6.conf.all.forwarding=1
  ip -n $H -6 addr flush dev h0; ip -n $H -6 addr flush dev h2  # ports without addresses of their own, as networkd and ifupdown leave them
  ip -n $V -6 route add 2001:db8:2::/64 via 2001:db8:1::1
  nsx $V python3 $D/../lib/serve6.py t:8080 u:5001 & SRV3=$!; sleep 4'  # the namespaces' own MLD reports over before the rules
ra() {  # a router advertisement from p0's link-local address to ff02::1 (lifetime 0: not a default router)
  nsx $P python3 -c "
import sys, socket; sys.path.insert(0, '../lib')
from craft import pkt6, send
ll = [l.split()[1].split('/')[0] for l in open('/dev/stdin') if 'fe80' in l][0]
send('p0', '33:33:00:00:00:01', [pkt6(ll, 'ff02::1', 58, hl=255, itype=134, icode=0, sport=64 << 8, dport=0, pay=bytes(8))])" \
  < <(ip -n $P -6 addr show dev p0 scope link)
}
traffic() {
  nsx $P ping -6 -c 2 -i 0.3 2001:db8:1::1
  nsx $P python3 ../lib/ifaces/tcpc.py 2001:db8:1::1 80 1
  nsx $P ping -6 -c 2 -i 0.3 2001:db8:1::3
  nsx $P python3 ../lib/ifaces/tcpc.py 2001:db8:1::3 8080 1
  nsx $P python3 ../lib/ifaces/tcpc.py 2001:db8:1::1 81 2
  nsx $P python3 ../lib/ifaces/tcpc.py 2001:db8:1::3 81 2
  nsx $P python3 ../lib/ifaces/udpc.py 2001:db8:1::1 82 1
  sleep 0.3
  nsx $P python3 ../lib/ifaces/udpc.py 2001:db8:1::3 82 1
  sleep 0.3
  ra
  nsx $H ping -6 -c 1 2001:db8:1::3
  ip -n $P -6 route add 2001:db8:1::3/128 via 2001:db8:2::1 dev p1  # p1 reaches the VM through the host's routing
  nsx $V ping -6 -c 2 -i 0.3 2001:db8:2::2
  nsx $V python3 ../lib/ifaces/tcpc.py 2001:db8:2::2 8080 1
  nsx $V python3 ../lib/ifaces/tcpc.py 2001:db8:2::2 81 1
  nsx $P python3 ../lib/ifaces/tcpc.py 2001:db8:1::3 81 1 2001:db8:2::2
  nsx $V python3 ../lib/ifaces/udpc.py 2001:db8:2::2 82 1
  sleep 0.3
  nsx $P python3 ../lib/ifaces/tcpc.py 2001:db8:1::3 8080 1 2001:db8:2::2
  sleep 0.3
}
source ../lib/ifaces/run.sh
kill $SRV3 2>/dev/null
python3 ../lib/mergepcapng.py ports.pcapng h0=h0.pcap h1=h1.pcap h2=h2.pcap ${BR0CAP:+br0=br0.pcap}
rm -f h0.pcap h1.pcap h2.pcap br0.pcap *.err save.time
check ports ports.pcapng --host-config host.json --router
check any any.pcap --host-config host.json --router
