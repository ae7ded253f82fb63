#!/bin/bash
# IPv6 router, stateful FORWARD, no NAT: UDP datagrams of 3000/100/2000 bytes (fragmented by the client, MTU 1500 both sides) and their replies.
# nf_ct_frag6 reassembles; ip6_fragment refragments on output with a NEW fragment id (ipv6_select_ident); tcpdump -i any on the router
D=$(cd $(dirname $0); pwd); cd $D
L=$D/../lib
source $L/lib.sh; source $D/../ipv6-router/topo6.sh
topo6_up
ip -n $R link set lan0 mtu 1500; ip -n $S link set rs0 mtu 1500
nsx $S python3 $D/u.py srv > srv.log 2>&1 & S1=$!
sleep 0.5
nsx $R ip6tables-restore < rules
printf '{"addr": %s, "route": %s}' "$(ip -n $R -j addr)" "$(ip -n $R -j -6 route)" > host.json
start_tcpdump $R any $D/capture.pcap ip6; T1=$TD_PID
sleep 0.3
nsx $C python3 $D/u.py cli 2001:db8:b::2 > traffic.log 2>&1
sleep 0.5
nsx $R ip6tables-save -c > kernel.save
kill -INT $T1; wait $T1 2>/dev/null
kill $S1 2>/dev/null
topo6_down
F=${FWCHECK:-fwcheck}
echo "$F rules -6 --pcap capture.pcap --host-config host.json --router --conntrack-start empty --format json --fail-on never" > fwcheck.cmd
$F rules -6 --pcap capture.pcap --host-config host.json --router --conntrack-start empty --format json --fail-on never > fw.json 2> fw.err
python3 $L/cmp.py kernel.save fw.json | tee cmp.txt | grep -E "FORWARD|DIFF|summary|uncertain|RESULT"
