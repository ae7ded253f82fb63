#!/bin/bash
# a datagram dropped by -m length after an accepted one on the same UDP flow (and the same on TCP): the server's reply to the accepted one is sent
cd "$(dirname "$0")"; source ../lib/lib.sh; source ../lib/host.sh; H=hunt1a-h; P=hunt1a-p
host_up
nsx $H iptables-restore < rules
nsx $H python3 srv.py & SP=$!; sleep 0.3
start_tcpdump $H h0 capture.pcap
nsx $P python3 cl.py
sleep 0.5; nsx $H iptables-save -c > kernel.save
stop_tcpdump capture.pcap
host_cfg $H > host.json
kill $SP; delns $H $P
echo "$FW rules --pcap capture.pcap --host-config host.json --format json --fail-on never" > fwcheck.cmd
$FW rules --pcap capture.pcap --host-config host.json --format json --fail-on never > fw.json
python3 ../lib/cmp.py kernel.save fw.json
