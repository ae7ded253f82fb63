#!/bin/bash
# Lab kube-proxy-node's node (lib/kube.sh) and ruleset with nothing random: each service has one endpoint (no
# statistic --mode random) and KUBE-POSTROUTING's MASQUERADE has no --random-fully (kube-proxy on an iptables
# without it), so fwcheck must be certain of every packet. Traffic: client -> NodePort 30080 (masqueraded into cni0)
# and 30081 (externalTrafficPolicy: Local, not masqueraded), pod b -> web and api ClusterIPs, pod a -> api (hairpin:
# DNATed back to itself, masqueraded to 10.244.0.1), pod b -> dns (UDP), pod a -> the service without endpoints
# (filter KUBE-SERVICES' REJECT: its "port unreachable" goes through OUTPUT, RELATED, past `--ctstate INVALID -j
# DROP`), client -> kubelet's 10250 and a closed port, the client's stray RST and SYN|FIN to pod b (INVALID, dropped
# by KUBE-FORWARD). Captured with tcpdump -i any and on h1..h4 (merged into ports.pcapng).
# Kernel hunt: the SYN's copy on the pod's veth says PACKET_OTHERHOST (for cni0's link address, not the port's),
# which fwcheck took for "no ICMP errors to link-layer broadcast or other hosts": no "port unreachable", and the
# captured one judged alone, INVALID, dropped by OUTPUT — certain. br_handle_frame makes it PACKET_HOST.
cd "$(dirname "$0")"
source ../lib/kube.sh
CAPS="any.pcap:any h1.pcap:h1 h2.pcap:h2 h3.pcap:h3 h4.pcap:h4"
SRV_H="t:10250"
traffic() {
  nsx $P python3 ../lib/ifaces/tcpc.py 198.51.100.1 30080 2
  nsx $P python3 ../lib/ifaces/tcpc.py 198.51.100.1 30081 2
  nsx kp-w python3 ../lib/ifaces/tcpc.py 10.96.0.10 80 2
  nsx kp-w python3 ../lib/ifaces/tcpc.py 10.96.0.20 443 1
  nsx $V python3 ../lib/ifaces/tcpc.py 10.96.0.20 443 2
  nsx kp-w python3 ../lib/ifaces/udpc.py 10.96.0.53 53 2
  nsx $V python3 ../lib/ifaces/tcpc.py 10.96.0.30 80 1
  nsx $P python3 ../lib/ifaces/tcpc.py 198.51.100.1 10250 1
  nsx $P python3 ../lib/ifaces/tcpc.py 198.51.100.1 22 1
  kube_stray
  sleep 0.3
}
source ../lib/ifaces/run.sh
kill $SRVA $SRVB $SRVD 2>/dev/null
python3 ../lib/mergepcapng.py ports.pcapng h1=h1.pcap h2=h2.pcap h3=h3.pcap h4=h4.pcap
check any any.pcap --host-config host.json --router --conntrack-start empty
check ports ports.pcapng --host-config host.json --router --conntrack-start empty
