#!/bin/bash
# a host with two interfaces: eth0 192.0.2.10/24 (peer hunt2-ha 192.0.2.1), eth1 203.0.113.10/24 (peer hunt2-hb 203.0.113.1)
cd "$(dirname "$0")"; source ../lib/lib.sh
A=hunt2-ha; H=hunt2-hh; B=hunt2-hb; delns $A $H $B
for n in $A $H $B; do mkns $n; nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add a0 netns $A type veth peer name eth0 netns $H
ip link add b0 netns $B type veth peer name eth1 netns $H
ip -n $A addr add 192.0.2.1/24 dev a0; ip -n $H addr add 192.0.2.10/24 dev eth0
ip -n $B addr add 203.0.113.1/24 dev b0; ip -n $H addr add 203.0.113.10/24 dev eth1
for x in "$A a0" "$H eth0" "$H eth1" "$B b0"; do set -- $x; ip -n $1 link set $2 up; done
ip -n $A route add 203.0.113.0/24 via 192.0.2.10; ip -n $B route add 192.0.2.0/24 via 203.0.113.10
nsx $A ping -c1 -W1 192.0.2.10 >/dev/null; nsx $B ping -c1 -W1 203.0.113.10 >/dev/null; sleep 0.3
nsx $H iptables-restore < rules.v4
nsx $H python3 srv.py & SP=$!; sleep 0.3
start_tcpdump $H eth0 eth0.pcap; P1=$TD_PID
start_tcpdump $H eth1 eth1.pcap; P2=$TD_PID
nsx $A python3 cli.py 192.0.2.10:5000 203.0.113.10:5000 203.0.113.10:5001 192.0.2.255:5000 203.0.113.255:5000 255.255.255.255:5001
nsx $B python3 cli.py 203.0.113.10:5000 192.0.2.10:5000 192.0.2.10:5001 203.0.113.255:5001 192.0.2.255:5001
nsx $A ping -c1 -W1 203.0.113.10 >/dev/null; nsx $B ping -c1 -W1 192.0.2.10 > /dev/null
sleep 0.3; nsx $H iptables-save -c > kernel.save
kill -INT $P1 $P2; wait $P1 $P2 2>/dev/null
printf '{"addr": %s, "route": %s}' "$(ip -n $H -j addr)" "$(ip -n $H -j route)" > host.json
kill $SP; delns $A $H $B
python3 ../lib/mergepcapng.py capture.pcapng eth0=eth0.pcap eth1=eth1.pcap
fwcheck rules.v4 --pcap capture.pcapng --host-config host.json --format json --fail-on never > fw.json
python3 ../lib/cmp.py kernel.save fw.json
fwcheck rules.v4 --pcap capture.pcapng --iface-addr eth0=192.0.2.10/24 --iface-addr eth1=203.0.113.10/24 --format json --fail-on never > fw2.json
python3 ../lib/cmp.py kernel.save fw2.json | tail -3
