#!/bin/bash
# minimal: REJECT (icmp-port-unreachable) of UDP to the subnet broadcast and to 255.255.255.255: the kernel sends no ICMP error
cd "$(dirname "$0")"; source ../lib/lib.sh
A=hunt2-m5a; B=hunt2-m5b; delns $A $B; mkns $A; mkns $B
for n in $A $B; do nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add a0 netns $A type veth peer name eth0 netns $B
ip -n $A addr add 192.0.2.1/24 dev a0; ip -n $B addr add 192.0.2.2/24 dev eth0
ip -n $A link set a0 up; ip -n $B link set eth0 up; sleep 0.3
ip -n $A route add default dev a0
nsx $A ping -c1 192.0.2.2 >/dev/null
nsx $B iptables-restore < rules.v4
start_tcpdump $B eth0 b.pcap
nsx $A python3 -c "
import socket,time
u=socket.socket(2,2); u.setsockopt(1,6,1)
for d in ('192.0.2.255','255.255.255.255','192.0.2.2'): u.sendto(b'hi',(d,5001)); time.sleep(0.1)
"
sleep 0.3; nsx $B iptables-save -c > kernel.save; stop_tcpdump b.pcap
delns $A $B
python3 ../lib/mergepcapng.py capture.pcapng eth0=b.pcap
fwcheck rules.v4 --pcap capture.pcapng --host 192.0.2.2/24 --format json --fail-on never > fw.json
python3 ../lib/cmp.py kernel.save fw.json; grep '"packet"' fw.json
