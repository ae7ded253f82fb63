#!/bin/bash
# A host H (gso-h, 192.0.2.1 on h0) whose output device cannot segment, so the kernel cuts its
# GSO packets in software after POSTROUTING (validate_xmit_skb), before the capture tap:
#   udp        three UDP_SEGMENT sends (gso_size 1400: 10 segments each), tx-udp-segmentation off;
#              OUTPUT: -m length --length 1501:65535 ACCEPT, then UDP DROP (kernel: 3 packets
#              accepted by the length rule, 41,584 bytes; DROP 0)
#   udp-limit  five sends 30 ms apart through -m limit --limit 5/sec --limit-burst 3 (two got
#              EPERM from sendto and never left)
#   tcp        a 200,000-byte upload, tso off, gso on; OUTPUT length rules, then ACCEPT
#              (kernel: 10 packets by the 1501:65535 rule, the capture shows 139 data segments)
# Each case: CASE.rules, the capture on h0 (CASE.pcap), iptables-save -c (CASE.save); host.json.
# Usage: record.sh udp|udp-limit|tcp   (as root; uses ../../labs/lib)
set -e
D=$(cd "$(dirname "$0")"; pwd); cd "$D"
L=$D/../../labs/lib
CASE=${1:?udp, udp-limit or tcp}
source $L/lib.sh; source $L/host.sh; H=gso-h; P=gso-p
host_up
case $CASE in
  tcp) nsx $H ethtool -K h0 tso off gso on ;;
  *) nsx $H ethtool -K h0 tx-udp-segmentation off ;;
esac
nsx $H iptables-restore < $CASE.rules
case $CASE in
  tcp) nsx $P python3 $L/bulk_srv.py p > /dev/null 2>&1 & SP=$! ;;
  udp*) nsx $P python3 $D/gso.py x sink & SP=$! ;;
esac
sleep 0.3
start_tcpdump $H h0 $D/$CASE.pcap; T1=$TD_PID
sleep 0.3
case $CASE in
  tcp) nsx $H python3 -c "
exec(open('$L/bulk_cli.py').read().split(\"if role=='p':\")[0])
ul(7000, 200000)
" 192.0.2.2 c ;;
  udp) nsx $H python3 $D/gso.py 192.0.2.2 send; wait $SP ;;
  udp-limit) nsx $H python3 $D/gso.py 192.0.2.2 burst; wait $SP ;;
esac
sleep 0.5
nsx $H iptables-save -c > $CASE.save
kill -INT $T1; wait $T1 2>/dev/null || true
printf '{"addr": %s, "route": %s}\n' "$(nsx $H ip -j addr)" "$(nsx $H ip -j route)" > host.json
kill $SP 2>/dev/null || true
delns $H $P
