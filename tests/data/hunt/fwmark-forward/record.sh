#!/bin/bash
# router with two uplinks: wan0 (main default via C) and wan1 (table 100 via U), mangle PREROUTING marks new tcp/8081
# from the LAN, CONNMARK save/restore, `ip rule fwmark 2 table 100`: forwarded via wan1, MASQUERADE on each uplink
D=$(cd $(dirname $0); pwd); cd $D
source ../../labs/lib/lib.sh; LAB=fwm source ../../labs/lib/topo_router.sh; FW=${FWCHECK:-fwcheck}
U=fwm-ru
topo_up
delns $U; mkns $U; nsx $U sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link add wan1 netns $R type veth peer name ru0 netns $U
ip -n $R addr add 203.0.113.1/24 dev wan1; ip -n $U addr add 203.0.113.2/24 dev ru0
ip -n $R link set wan1 up; ip -n $U link set ru0 up
ip -n $C addr add 192.0.2.80/32 dev lo; ip -n $U addr add 192.0.2.80/32 dev lo
ip -n $R route add default via 198.51.100.2
nsx $R ip rule add fwmark 2 table 100; ip -n $R route add default via 203.0.113.2 dev wan1 table 100
nsx $C python3 ../../labs/lib/serve.py t:8080 t:8081 & S1=$!
nsx $U python3 ../../labs/lib/serve.py t:8080 t:8081 & S2=$!
nsx $S ping -c1 -W1 192.0.2.80 >/dev/null; nsx $R ping -c1 -W1 203.0.113.2 > /dev/null
sleep 0.5
nsx $R iptables-restore < rules
printf '{"addr": %s, "route": %s}\n' "$(nsx $R ip -j addr)" "$(nsx $R ip -j route)" > host.json
start_tcpdump $R any $D/capture.pcap ip; sleep 0.5
{ nsx $S python3 ../../labs/lib/ifaces/tcpc.py 192.0.2.80 8081 2; nsx $S python3 ../../labs/lib/ifaces/tcpc.py 192.0.2.80 8080 1; } > traffic.log 2>&1
sleep 0.5
nsx $R iptables-save -c > kernel.save
stop_tcpdump $D/capture.pcap
kill $S1 $S2; topo_down; delns $U
$FW rules --pcap capture.pcap --host-config host.json --router --format json --fail-on never > fw.json 2> fw.err
python3 ../../labs/lib/cmp.py kernel.save fw.json | grep -E "DIFF|RESULT|summary"
