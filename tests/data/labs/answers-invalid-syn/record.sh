#!/bin/bash
# an INVALID SYN|FIN and a SYN with a bad checksum dropped on an established connection: the server's later packets answer the accepted ones (they are sent)
cd "$(dirname "$0")"; source ../lib/lib.sh; source ../lib/host.sh; H=hunt1v-h; P=hunt1v-p
host_up
nsx $P iptables -A OUTPUT -p tcp --sport 40000:41999 --tcp-flags RST RST -j DROP
nsx $H iptables-restore < rules
nsx $H python3 ../lib/echo_halfclose.py & SP=$!; sleep 0.3
start_tcpdump $H h0 capture.pcap
for s in min_sf min_badsyn; do echo "== $s"; nsx $P python3 raw2.py $s; sleep 0.3; done
sleep 0.5; nsx $H iptables-save -c > kernel.save
stop_tcpdump capture.pcap
host_cfg $H > host.json
kill $SP; delns $H $P
$FW rules --pcap capture.pcap --host-config host.json --format json --fail-on never > fw.json
python3 ../lib/cmp.py kernel.save fw.json
