#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft). A host (namespace cx-h) with a "container" (cx-p) behind the
# veth h0 and another (cx-v, behind h2), both veths ports of br0 (192.0.2.1), br_netfilter loaded with
# bridge-nf-call-iptables=1; veth offloads left on (tx-checksumming: every TCP/UDP segment a namespace's stack sends
# carries a CHECKSUM_PARTIAL checksum, the folded pseudo-header sum, "incorrect" in tcpdump). Traffic both ways
# (TCP, UDP, ping), REJECT with tcp-reset and icmp-port-unreachable in INPUT and FORWARD (to a frame bridged to cx-v),
# then really bad checksums sent by a packet socket (UDP, TCP SYN, ICMP echo: CHECKSUM_NONE, nf_conntrack_checksum=1):
# INVALID, dropped, no REJECT answer. Captured with tcpdump -i any (any.pcap) and on the ports (ports.pcapng).
cd "$(dirname "$0")"
NSP=cx
BRIDGE=1
CAPS="any.pcap:any h0.pcap:h0 h2.pcap:h2"
SRV_H="t:80 u:5000"; SRV_P="t:8080"
PRE='nsx $H sysctl -qw net.bridge.bridge-nf-call-iptables=1; nsx $P ethtool -k p0 | grep -E "^tx-checksumming|^rx-checksumming" > offload.txt; sleep 3'
bad() {  # bad DMAC DST PROTO DPORT: one frame from p0 whose transport checksum is wrong (not a partial one)
  nsx $P python3 -c "
import sys; sys.path.insert(0, '../lib')
from craft import pkt4, send
p = bytearray(pkt4('192.0.2.2', '$2', $3, sport=40000, dport=$4, pay=b'bad!'))
off = 20 + {17: 6, 6: 16, 1: 2}[$3]; p[off] ^= 0x55
send('p0', '$1', [bytes(p)])"
}
traffic() {
  nsx $P ping -c 1 192.0.2.1
  nsx $H ping -c 1 192.0.2.2
  nsx $P python3 ../lib/ifaces/tcpc.py 192.0.2.1 80 1
  nsx $P python3 ../lib/ifaces/udpc.py 192.0.2.1 5000 1
  nsx $H python3 ../lib/ifaces/tcpc.py 192.0.2.2 8080 1
  nsx $P python3 ../lib/ifaces/tcpc.py 192.0.2.1 81 1
  nsx $P python3 ../lib/ifaces/udpc.py 192.0.2.1 82 1
  sleep 1.1
  nsx $P python3 ../lib/ifaces/tcpc.py 192.0.2.3 81 1
  nsx $P python3 ../lib/ifaces/udpc.py 192.0.2.3 82 1
  sleep 1.1
  bad 02:00:00:00:00:01 192.0.2.1 17 82
  bad 02:00:00:00:00:01 192.0.2.1 6 81
  bad 02:00:00:00:00:01 192.0.2.1 1 0
  bad 02:00:00:00:02:02 192.0.2.3 17 82
  bad 02:00:00:00:02:02 192.0.2.3 6 81
  sleep 0.3
}
source ../lib/ifaces/run.sh
python3 ../lib/mergepcapng.py ports.pcapng h0=h0.pcap h2=h2.pcap
rm -f h0.pcap h2.pcap *.err
check ports ports.pcapng --host-config host.json --router
check any any.pcap --host-config host.json --router
