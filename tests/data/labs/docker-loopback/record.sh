#!/bin/bash
# Docker's ruleset on a host, captured on lo only (tcpdump -i lo, Ethernet-framed, merged into a pcapng naming lo): the host connects to 127.0.0.1:8080 (the published port; nat OUTPUT excludes 127.0.0.0/8, nothing listens: RST) and to 127.0.0.1:22
D=$(cd "$(dirname "$0")"; pwd); cd $D; source ../lib/lib.sh
C=hunt1l-c; H=hunt1l-h; K=hunt1l-k; delns $C $H $K
for n in $C $H $K; do mkns $n; nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add c0 netns $C type veth peer name wan0 netns $H
ip link add eth0 netns $K type veth peer name vethd netns $H
ip -n $C addr add 198.51.100.2/24 dev c0; ip -n $H addr add 198.51.100.1/24 dev wan0
ip -n $H addr add 172.17.0.1/16 dev vethd; ip -n $K addr add 172.17.0.2/16 dev eth0
for x in "$C c0" "$H wan0" "$H vethd" "$K eth0"; do set -- $x; ip -n $1 link set $2 up; done
ip -n $K route add default via 172.17.0.1
nsx $H sysctl -qw net.ipv4.ip_forward=1
nsx $H iptables-restore < rules
nsx $K python3 ../lib/serve.py t:80 & S1=$!
nsx $H python3 ../lib/serve.py t:22 & S3=$!
sleep 0.5
start_tcpdump $H lo lo.pcap; P3=$TD_PID
nsx $H python3 cl.py t:127.0.0.1:8080 t:127.0.0.1:22
sleep 0.3
nsx $H iptables-save -c > kernel.save
kill -INT $P3; wait $P3 2>/dev/null
nsx $H sh -c 'printf "{\"addr\": %s, \"route\": %s}\n" "$(ip -j addr)" "$(ip -j route)"' > host.json
kill $S1 $S3; delns $C $H $K
python3 ../lib/mergepcapng.py capture.pcapng lo=lo.pcap
echo "--- router"; $FW rules --pcap capture.pcapng --host-config host.json --router --format json --fail-on never > fw.json; python3 ../lib/cmp.py kernel.save fw.json | grep -E 'DIFF|RESULT|summary'
echo "--- no --router"; $FW rules --pcap capture.pcapng --host-config host.json --format json --fail-on never > fw-norouter.json; python3 ../lib/cmp.py kernel.save fw-norouter.json | grep -E 'DIFF|RESULT|summary'
