#!/bin/bash
# minimal: IPv6 host, REJECT replies (tcp-reset, icmp6-adm-prohibited) through OUTPUT -p rules
cd "$(dirname "$0")"; source ../lib/lib.sh
A=hunt2-m1a; B=hunt2-m1b; delns $A $B; mkns $A; mkns $B
for n in $A $B; do nsx $n sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.default.addr_gen_mode=1; done
ip link add a0 netns $A type veth peer name eth0 netns $B
ip -n $A addr add 2001:db8:b::1/64 dev a0 nodad; ip -n $B addr add 2001:db8:b::2/64 dev eth0 nodad
ip -n $A link set a0 up; ip -n $B link set eth0 up; sleep 2
nsx $A ping -6 -c1 2001:db8:b::2 >/dev/null
nsx $B ip6tables-restore < r6
start_tcpdump $B eth0 b.pcap
nsx $A python3 -c "
import socket
try: socket.create_connection(('2001:db8:b::2',81),timeout=1)
except Exception as e: print(e)
s=socket.socket(10,2); s.sendto(b'x',('2001:db8:b::2',82))
"
sleep 0.3; nsx $B ip6tables-save -c > kernel.save; stop_tcpdump b.pcap
delns $A $B
python3 ../lib/mergepcapng.py capture.pcapng eth0=b.pcap
fwcheck r6 --pcap capture.pcapng --host 2001:db8:b::2 --format json --fail-on never > fw.json
python3 ../lib/cmp.py kernel.save fw.json
