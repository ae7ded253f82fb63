#!/bin/bash
# ufw-generated ruleset (IPv4) on a host namespace; real traffic; tcpdump -i any both ways
D=$(cd $(dirname $0); pwd); cd $D
source "$(dirname "$0")"/../lib/lib.sh; source "$D"/../lib/host.sh
host_up
nsx $H python3 $D/../lib/serve.py t:80 t:22 u:5000 & SRV1=$!
nsx $P python3 $D/../lib/serve.py t:7000 u:7001 & SRV2=$!
sleep 0.5
nsx $H iptables-restore < rules.v4
host_cfg > "$D"/../lib/host-h0.json
start_tcpdump $H any $D/capture.pcap
nsx $P python3 $D/traffic_peer.py > peer.log 2>&1
nsx $P ping -c3 -i0.2 -W1 192.0.2.1 >>peer.log
nsx $P ping -c2 -i0.2 -W1 -b 192.0.2.255 >>peer.log 2>&1
nsx $H python3 $D/traffic_host.py > host.log 2>&1
nsx $H ping -c2 -i0.2 -W1 192.0.2.2 >>host.log
sleep 0.5
stop_tcpdump $D/capture.pcap
nsx $H iptables-save -c > kernel.save
kill $SRV1 $SRV2
CMD="$FW rules.v4 --pcap capture.pcap --host-config ../lib/host-h0.json --format json --fail-on never"
echo "$CMD" > fwcheck.cmd
$CMD > fw.json 2> fw.err
python3 "$(dirname "$0")"/../lib/cmp.py kernel.save fw.json | tee cmp.txt
delns $H $P
