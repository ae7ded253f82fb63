#!/bin/bash
# A kube-proxy (iptables mode) node, kube-proxy's own rule text: nat KUBE-SERVICES / KUBE-SVC-* / KUBE-SEP-* with
# statistic --mode random, KUBE-MARK-MASQ, KUBE-POSTROUTING (MASQUERADE --random-fully), KUBE-NODEPORTS, an
# externalTrafficPolicy: Local service's KUBE-EXT / KUBE-SVL; filter KUBE-FORWARD (--ctstate INVALID -j DROP),
# KUBE-FIREWALL, KUBE-SERVICES (a service without endpoints: REJECT), flannel's FORWARD accepts; the node's own INPUT
# and FORWARD policies DROP, OUTPUT drops INVALID. Topology: lib/kube.sh (node kp-h, cni0 with pods a b d, client kp-p).
# Services: web 10.96.0.10:80 -> a:8080 | b:8080 (random), NodePort 30080; api 10.96.0.20:443 -> a:8443 (one
# endpoint; a reaches it: hairpin); dns 10.96.0.53:53/udp -> d:5353; local 10.96.0.40:80 -> d:8080, NodePort 30081
# with externalTrafficPolicy: Local; empty 10.96.0.30:80, no endpoints.
# Traffic: client -> both NodePorts, pods -> ClusterIPs (one and two endpoints), a -> api (hairpin), b -> dns (UDP),
# the node -> web and dns, a -> empty, client -> kubelet's 10250 and a closed port, the client's stray RST and
# SYN|FIN to pod b (INVALID). Captured with tcpdump -i any and on h1..h4 (merged into ports.pcapng).
# Not a recorded_labs test: the random choices (statistic, --random-fully, the node's connections through nat
# OUTPUT's DNAT) leave verdicts uncertain; lab kube-proxy-single is its deterministic part.
cd "$(dirname "$0")"
source ../lib/kube.sh
CAPS="any.pcap:any h1.pcap:h1 h2.pcap:h2 h3.pcap:h3 h4.pcap:h4"
SRV_H="t:10250"
traffic() {
  nsx $P python3 ../lib/ifaces/tcpc.py 198.51.100.1 30080 4
  nsx $P python3 ../lib/ifaces/tcpc.py 198.51.100.1 30081 2
  nsx $V python3 ../lib/ifaces/tcpc.py 10.96.0.10 80 4
  nsx kp-w python3 ../lib/ifaces/tcpc.py 10.96.0.20 443 2
  nsx $V python3 ../lib/ifaces/tcpc.py 10.96.0.20 443 2
  nsx kp-w python3 ../lib/ifaces/udpc.py 10.96.0.53 53 2
  nsx $H python3 ../lib/ifaces/tcpc.py 10.96.0.10 80 2
  nsx $H python3 ../lib/ifaces/udpc.py 10.96.0.53 53 1
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
