#!/bin/bash
# reproduce: IPv6 router scenario
cd "$(dirname "$0")"; source ../lib/lib.sh; source topo6.sh
topo6_up
nsx $R ip6tables-restore < rules.v6
nsx $S python3 server.py > server.log 2>&1 & SP=$!
sleep 0.5
rm -f *.pcap
start_tcpdump $R wan0 wan0-in.pcap -Q in; P1=$TD_PID
start_tcpdump $R lan0 lan0-in.pcap -Q in; P2=$TD_PID
OWN='src host 2001:db8:a::1 or src host 2001:db8:b::1 or src host fe80::1'
start_tcpdump $R wan0 wan0-out.pcap -Q out $OWN; P3=$TD_PID
start_tcpdump $R lan0 lan0-out.pcap -Q out $OWN; P4=$TD_PID
nsx $C python3 client.py | tee client.log
sleep 0.5
nsx $R ip6tables-save -c > kernel.save
for p in $P1 $P2 $P3 $P4; do kill -INT $p; done; wait $P1 $P2 $P3 $P4 2>/dev/null
kill $SP
printf '{"addr": %s, "route": %s}' "$(ip -n $R -j addr)" "$(ip -n $R -j -6 route)" > host.json
python3 ../lib/mergepcapng.py capture.pcapng wan0=wan0-in.pcap lan0=lan0-in.pcap wan0=wan0-out.pcap lan0=lan0-out.pcap
nsx $R conntrack -L -f ipv6 2>/dev/null > conntrack.txt
topo6_down
$FW rules.v6 --pcap capture.pcapng --router --host-config host.json --format json --fail-on never > fw.json
python3 ../lib/cmp.py kernel.save fw.json
