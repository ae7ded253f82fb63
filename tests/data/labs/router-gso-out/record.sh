#!/bin/bash
# router; lan0 with tso off and tx-udp-segmentation off: the WAN client's TCP (TSO) and UDP (UDP_SEGMENT) super-packets cross FORWARD whole and are cut before lan0's tap
D=$(cd $(dirname $0); pwd); cd $D
L=$D/../lib
source $L/lib.sh; LAB=${LAB:-hk17} source $L/topo_router.sh
topo_up
nsx $R ethtool -K lan0 tso off tx-udp-segmentation off
nsx $S python3 $L/bulk_srv.py h > srvs.log 2>&1 & S1=$!
nsx $S python3 $D/gso.py x 5000 sink > sinks.log 2>&1 & S3=$!
sleep 0.5
nsx $R iptables-restore < rules
printf '{"addr": %s, "route": %s}\n' "$(nsx $R ip -j addr)" "$(nsx $R ip -j route)" > host.json
start_tcpdump $R any $D/capture.pcap ip; T1=$TD_PID
start_tcpdump $R wan0 $D/wan0.pcap; T2=$TD_PID
start_tcpdump $R lan0 $D/lan0.pcap; T3=$TD_PID
sleep 0.5
nsx $C python3 -c "
exec(open('$L/bulk_cli.py').read().split(\"if role=='p':\")[0])
ul(2222, 100000)
" 198.51.100.1 c > traffic.log 2>&1
nsx $C python3 $D/gso.py 198.51.100.1 5000 send >> traffic.log 2>&1
wait $S3; cat sinks.log >> traffic.log
sleep 0.3
nsx $R iptables-save -c > kernel.save
kill -INT $T1 $T2 $T3; wait $T1 $T2 $T3 2>/dev/null
kill $S1
topo_down
python3 $L/mergepcapng.py ifaces.pcapng wan0=wan0.pcap lan0=lan0.pcap
F=${FWCHECK:-fwcheck}
echo "$F rules --pcap capture.pcap --host-config host.json --router --conntrack-start empty --format json --fail-on never   # and --pcap ifaces.pcapng" > fwcheck.cmd
for c in capture.pcap ifaces.pcapng; do
$F rules --pcap $c --host-config host.json --router --conntrack-start empty --format json --fail-on never > fw.$c.json 2> fw.$c.err
python3 $L/cmp.py kernel.save fw.$c.json | tee cmp.$c.txt | grep -E "DIFF|summary|uncertain|RESULT"
done
