#!/bin/bash
# a duplicate SYN dropped by a SYN hashlimit on a connection whose first SYN was let through: the SYN/ACK the server's timer resends and its later packets are sent
cd "$(dirname "$0")"; source ../lib/lib.sh; source ../lib/host.sh; H=hunt1s-h; P=hunt1s-p
host_up
nsx $P iptables -A OUTPUT -p tcp --sport 40000:43999 --tcp-flags RST RST -j DROP
nsx $H iptables-restore < rules
nsx $H python3 ../lib/echo_halfclose.py & SP=$!; sleep 0.3
start_tcpdump $H h0 capture.pcap
for s in dup_syn syn_on_est_dropped; do echo "== $s"; nsx $P python3 raw3.py $s; done
sleep 0.5; nsx $H iptables-save -c > kernel.save
stop_tcpdump capture.pcap
host_cfg $H > host.json
kill $SP; delns $H $P
echo "$FW rules --pcap capture.pcap --host-config host.json --format json --fail-on never" > fwcheck.cmd
$FW rules --pcap capture.pcap --host-config host.json --format json --fail-on never > fw.json
python3 ../lib/cmp.py kernel.save fw.json
