#!/bin/bash
# a router between two VXLAN VTEPs (198.51.100.2 <-> 10.9.0.2, VNI 42, overlay 10.77.0.0/24): the overlay's outer UDP/4789 crosses FORWARD (INVALID drop first); real TCP over the overlay
D=$(cd $(dirname $0); pwd); cd $D
L=$D/../lib
source $L/lib.sh; LAB=${LAB:-hk37} source $L/topo_router.sh
topo_up
ip -n $C link add v0 type vxlan id 42 remote 10.9.0.2 local 198.51.100.2 dstport 4789 dev rc0
ip -n $S link add v0 type vxlan id 42 remote 198.51.100.2 local 10.9.0.2 dstport 4789 dev rs0
ip -n $C addr add 10.77.0.2/24 dev v0; ip -n $S addr add 10.77.0.1/24 dev v0
ip -n $C link set v0 up; ip -n $S link set v0 up
nsx $S python3 $L/bulk_srv.py h > srvs.log 2>&1 & S1=$!
sleep 0.5
nsx $R iptables-restore < rules
printf '{"addr": %s, "route": %s}\n' "$(nsx $R ip -j addr)" "$(nsx $R ip -j route)" > host.json
start_tcpdump $R any $D/capture.pcap ip; T1=$TD_PID
sleep 0.3
nsx $C python3 -c "
exec(open('$L/bulk_cli.py').read().split(\"if role=='p':\")[0])
dl(80, 300000); ul(22, 200000); udp(53, 2)
" 10.77.0.1 c > traffic.log 2>&1
nsx $C ping -c2 -i0.2 -W1 10.77.0.1 >> traffic.log 2>&1
sleep 0.5
nsx $R iptables-save -c > kernel.save
kill -INT $T1; wait $T1 2>/dev/null
kill $S1
topo_down
F=${FWCHECK:-fwcheck}
echo "$F rules --pcap capture.pcap --host-config host.json --router --conntrack-start empty --format json --fail-on never" > fwcheck.cmd
$F rules --pcap capture.pcap --host-config host.json --router --conntrack-start empty --format json --fail-on never > fw.json 2> fw.err
python3 $L/cmp.py kernel.save fw.json | tee cmp.txt | grep -E "FORWARD|DIFF|summary|uncertain|RESULT"
