#!/bin/bash
# minimal: router with link-local fe80::/64 on two interfaces; server pings the router's link-local address via lan0
cd "$(dirname "$0")"; source ../lib/lib.sh; source ../ipv6-router/topo6.sh
topo6_up
nsx $R ip6tables-restore < rules.v6
start_tcpdump $R wan0 wan0.pcap; P1=$TD_PID
start_tcpdump $R lan0 lan0.pcap; P2=$TD_PID
nsx $S ping -6 -c2 -i 0.2 fe80::1%rs0 | tail -2
nsx $C ping -6 -c1 fe80::1%rc0 | tail -1
sleep 0.3; nsx $R ip6tables-save -c > kernel.save
for p in $P1 $P2; do kill -INT $p; done; wait $P1 $P2 2>/dev/null
printf '{"addr": %s, "route": %s}' "$(ip -n $R -j addr)" "$(ip -n $R -j -6 route)" > host.json
topo6_down
python3 ../lib/mergepcapng.py capture.pcapng wan0=wan0.pcap lan0=lan0.pcap
echo "== --host-config"; fwcheck rules.v6 --pcap capture.pcapng --router --host-config host.json --format json --fail-on never > fw.json; python3 ../lib/cmp.py kernel.save fw.json
echo "== --iface-addr"; fwcheck rules.v6 --pcap capture.pcapng --router --iface-addr wan0=2001:db8:a::1/64 --iface-addr wan0=fe80::1/64 --iface-addr lan0=2001:db8:b::1/64 --iface-addr lan0=fe80::1/64 --mtu lan0=1280 --format json --fail-on never > fw2.json; python3 ../lib/cmp.py kernel.save fw2.json
