#!/bin/bash
# firewalld (iptables backend) ruleset, IPv4 + IPv6 on a host namespace; tcpdump -i any both ways
D=$(cd $(dirname $0); pwd); cd $D
source "$(dirname "$0")"/../lib/lib.sh; source "$D"/../lib/host.sh
host_up
nsx $H python3 $D/../lib/serve.py t:80 t:22 u:5000 & SRV1=$!
nsx $P python3 $D/../lib/serve.py t:7000 u:7001 & SRV2=$!
sleep 0.5
nsx $H iptables-restore < rules.v4; nsx $H ip6tables-restore < rules.v6
host_cfg > "$D"/../lib/host-h0.json
start_tcpdump $H any $D/capture.pcap
nsx $P python3 $D/traffic_peer.py > peer.log 2>&1
nsx $P ping -c3 -i0.2 -W1 192.0.2.1 >>peer.log
nsx $P ping -c2 -i0.2 -W1 2001:db8:1::1 >>peer.log
nsx $P ping -c2 -i0.2 -W1 fe80::ff:fe00:1%p0 >>peer.log
nsx $P ping -c2 -i0.2 -W1 ff02::1%p0 >>peer.log
nsx $H python3 $D/traffic_host.py > host.log 2>&1
nsx $H ping -c2 -i0.2 -W1 192.0.2.2 >>host.log
nsx $H ping -c2 -i0.2 -W1 2001:db8:1::2 >>host.log
sleep 0.5
stop_tcpdump $D/capture.pcap
nsx $H iptables-save -c > kernel4.save; nsx $H ip6tables-save -c > kernel6.save
kill $SRV1 $SRV2
for f in 4 6; do
CMD="$FW rules.v$f --pcap capture.pcap --host-config ../lib/host-h0.json --format json --fail-on never"
echo "$CMD" >> fwcheck.cmd
$CMD > fw$f.json 2> fw$f.err
python3 "$(dirname "$0")"/../lib/cmp.py kernel$f.save fw$f.json > cmp$f.txt; grep -- "DIFF\|summary\|RESULT\|uncertain" cmp$f.txt
done
delns $H $P
